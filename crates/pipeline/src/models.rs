//! Loading a model folder: the bundled default, the tiny test model, or a Hugging Face
//! checkpoint.

use std::path::{Path, PathBuf};

use crate::error::{Context, Result};
use explainer_core::tch::Device;
use explainer_core::{Model, ProblemType};
use explainer_testing::TinyClassifier;
use explainer_transformers::{HfClassifier, LoadOptions};

/// The model folder to use: `--model DIR`, or the bundled default.
pub fn model_dir(dir: Option<&Path>) -> PathBuf {
    dir.map(Path::to_path_buf).unwrap_or_else(default_model_dir)
}

/// The folder of the bundled models (`models/` of the repository).
pub fn bundled_models_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..").join("models");
    dir.canonicalize().unwrap_or(dir)
}

/// The model used when `--model` is not given: the folder in the environment variable
/// `EXPLAINER_MODEL` when set, else the bundled default model.
pub fn default_model_dir() -> PathBuf {
    match std::env::var_os(MODEL_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => bundled_default_dir(),
    }
}

/// The environment variable naming the default model folder.
pub const MODEL_ENV: &str = "EXPLAINER_MODEL";

/// The bundled default model: the multi-label compliance classifier trained by
/// `explainer-train` (`models/compliance-minibert`, see its README.md).
pub fn bundled_default_dir() -> PathBuf {
    bundled_models_dir().join(DEFAULT_MODEL)
}

/// The default model's folder name under `models/`.
pub const DEFAULT_MODEL: &str = "compliance-minibert";

/// A model folder: the tiny test model when its config says so, else a Hugging Face checkpoint.
pub fn load_model(dir: &Path) -> Result<Box<dyn Model>> {
    load_model_on(dir, Device::Cpu)
}

/// [`load_model`] onto `device` (checked first: a missing GPU is its own error, not a model
/// folder's). The tiny test model computes on the CPU only.
pub fn load_model_on(dir: &Path, device: Device) -> Result<Box<dyn Model>> {
    explainer_core::device::check(device)?;
    let load = || -> Result<Box<dyn Model>> {
        if !dir.is_dir() {
            crate::bail!("no such folder");
        }
        let config = std::fs::read_to_string(dir.join("config.json")).unwrap_or_default();
        if config.contains(&format!("\"{}\"", TinyClassifier::MODEL_TYPE)) {
            if device != Device::Cpu {
                crate::bail!("the tiny test model computes on the CPU only; use --device cpu");
            }
            return Ok(Box::new(TinyClassifier::load(dir)?));
        }
        Ok(Box::new(HfClassifier::load_with(dir, &LoadOptions { device, ..LoadOptions::default() })?))
    };
    let bundled = dir == bundled_default_dir();
    load().with_context(|| {
        if bundled {
            format!(
                "cannot load the bundled model in {} (restore it with `git checkout -- models/{DEFAULT_MODEL}`, \
                 or retrain it with the command in its README.md; or pass --model DIR)",
                dir.display()
            )
        } else {
            format!("cannot load the model in {}", dir.display())
        }
    })
}

/// The Hugging Face name of a problem type (as in `config.json`'s `problem_type`).
pub fn problem_name(problem: ProblemType) -> &'static str {
    match problem {
        ProblemType::MultiLabel => "multi-label",
        ProblemType::MultiClass => "multi-class",
        ProblemType::Regression => "regression",
    }
}
