//! Loading a model folder: the bundled default, the tiny test model, or a Hugging Face
//! checkpoint.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use explainer_core::{Model, ProblemType};
use explainer_testing::{TinyClassifier, tiny_model_dir};
use explainer_transformers::HfClassifier;

/// The model folder to use: `--model DIR`, or the bundled default.
pub fn model_dir(dir: Option<&Path>) -> PathBuf {
    dir.map(Path::to_path_buf).unwrap_or_else(default_model_dir)
}

/// The bundled default model. Until a real one ships, the tiny test model (random weights:
/// its scores mean nothing, it exercises the pipeline).
pub fn default_model_dir() -> PathBuf {
    tiny_model_dir()
}

/// A model folder: the tiny test model when its config says so, else a Hugging Face checkpoint.
pub fn load_model(dir: &Path) -> Result<Box<dyn Model>> {
    let load = || -> Result<Box<dyn Model>> {
        if !dir.is_dir() {
            anyhow::bail!("no such folder");
        }
        let config = std::fs::read_to_string(dir.join("config.json")).unwrap_or_default();
        if config.contains(&format!("\"{}\"", TinyClassifier::MODEL_TYPE)) {
            return Ok(Box::new(TinyClassifier::load(dir)?));
        }
        Ok(Box::new(HfClassifier::load(dir)?))
    };
    load().with_context(|| format!("cannot load the model in {}", dir.display()))
}

/// The Hugging Face name of a problem type (as in `config.json`'s `problem_type`).
pub fn problem_name(problem: ProblemType) -> &'static str {
    match problem {
        ProblemType::MultiLabel => "multi-label",
        ProblemType::MultiClass => "multi-class",
        ProblemType::Regression => "regression",
    }
}
