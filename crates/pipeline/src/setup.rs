//! The set-up of a run, from flags or from a spec file: model, method, baseline, target,
//! output kind, long-text handling, and the model's hash for the run record.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::Result;
use explainer_core::tch::Device;
use explainer_core::{Attribution, Baseline, Encoding, Method, Model, Output, Request, Target};

use crate::clock::now_rfc3339;
use crate::error::PipelineError;
use crate::long_text::LongText;
use crate::model_hash::model_hash_cached;
use crate::models::{load_model_on, model_dir};
use crate::spec::{EntryPoint, SPEC_VERSION, SpecFile, SpecModel, TargetValue, baseline_value, method_value};

/// The model hash recorded for a model loaded in memory rather than from a folder.
pub const IN_MEMORY: &str = "none (a model loaded in memory, not from a folder)";

/// Everything a run needs, checked.
pub struct Setup {
    /// The model folder.
    pub model_dir: PathBuf,
    /// The loaded model.
    pub model: Box<dyn Model>,
    /// `sha256:<hex>` of the model files.
    pub model_hash: String,
    /// The method.
    pub method: Box<dyn Method>,
    /// The baseline.
    pub baseline: Box<dyn Baseline>,
    /// The target rule.
    pub target: Target,
    /// The explained output.
    pub output: Output,
    /// Texts longer than the model's window: truncate (the default) or windows
    /// ([`crate::long_text`]).
    pub long_text: LongText,
    /// When the run started (for the run record's duration).
    pub started: Instant,
    /// When the run started, RFC 3339 UTC.
    pub created: String,
}

impl Setup {
    /// From built configs (see [`crate::configs`]) and a model folder (`None`: the default
    /// model, see [`crate::models::default_model_dir`]): the model is loaded and hashed, and
    /// everything that can be checked before the first text is.
    pub fn new(
        model: Option<&Path>,
        method: Box<dyn Method>,
        baseline: Box<dyn Baseline>,
        target: Target,
        output: Output,
    ) -> Result<Setup> {
        Setup::new_on(model, method, baseline, target, output, Device::Cpu)
    }

    /// [`Setup::new`] with the model on `device` (`cpu`, `cuda:N`; see
    /// [`explainer_core::device`]).
    pub fn new_on(
        model: Option<&Path>,
        method: Box<dyn Method>,
        baseline: Box<dyn Baseline>,
        target: Target,
        output: Output,
        device: Device,
    ) -> Result<Setup> {
        let started = Instant::now();
        let created = now_rfc3339();
        let dir = model_dir(model);
        let loaded = load_model_on(&dir, device)?;
        let hash = model_hash_cached(&dir)?;
        let setup = Setup {
            model_dir: dir,
            model: loaded,
            model_hash: hash,
            method,
            baseline,
            target,
            output,
            long_text: LongText::default(),
            started,
            created,
        };
        setup.precheck()?;
        Ok(setup)
    }

    /// From a model already loaded (no folder: the run record names it by its info and
    /// carries no hash).
    pub fn from_model(
        model: Box<dyn Model>,
        method: Box<dyn Method>,
        baseline: Box<dyn Baseline>,
        target: Target,
        output: Output,
    ) -> Result<Setup> {
        let setup = Setup {
            model_dir: PathBuf::new(),
            model,
            model_hash: IN_MEMORY.to_owned(),
            method,
            baseline,
            target,
            output,
            long_text: LongText::default(),
            started: Instant::now(),
            created: now_rfc3339(),
        };
        setup.precheck()?;
        Ok(setup)
    }

    /// From an entry point of a spec file (the first unless `entry` names one): the model
    /// hash is checked before the model is loaded.
    pub fn from_spec(path: &Path, entry: Option<&str>) -> Result<Setup> {
        Setup::from_spec_on(path, entry, Device::Cpu)
    }

    /// [`Setup::from_spec`] with the model on `device`.
    pub fn from_spec_on(path: &Path, entry: Option<&str>, device: Device) -> Result<Setup> {
        let started = Instant::now();
        let created = now_rfc3339();
        let spec = SpecFile::read(path)?;
        let resolved = spec.resolve(path, entry)?;
        let loaded = load_model_on(&resolved.model_dir, device)?;
        let setup = Setup {
            model_dir: resolved.model_dir,
            model: loaded,
            model_hash: resolved.model_hash,
            method: resolved.method,
            baseline: resolved.baseline,
            target: resolved.target,
            output: resolved.output,
            long_text: resolved.long_text,
            started,
            created,
        };
        setup.precheck()?;
        Ok(setup)
    }

    /// The same set-up with another long-text setting; a stride of 0 is an error.
    pub fn with_long_text(mut self, long_text: LongText) -> Result<Setup> {
        long_text.validate()?;
        self.long_text = long_text;
        Ok(self)
    }

    /// Checks what can be checked before the first text: the method's config and needs, the
    /// baseline's needs, and named labels or indices against the model.
    fn precheck(&self) -> Result<()> {
        let info = self.model.info();
        self.method.validate()?;
        info.require(&format!("method {:?}", self.method.typetag_name()), self.method.requires())?;
        info.require(&format!("baseline {:?}", self.baseline.typetag_name()), self.baseline.requires())?;
        self.target.resolve(info, &vec![0.0; info.labels.len()])?;
        self.long_text.validate()?;
        Ok(())
    }

    /// The set-up as a spec file (what `explainer export` writes): the model folder (made
    /// absolute) and its hash, and one entry point `entry` with the method, baseline, target
    /// rule, output and long-text setting. A model loaded in memory has no folder to name: that is an error.
    pub fn to_spec(&self, name: &str, entry: &str) -> Result<SpecFile> {
        if self.model_hash == IN_MEMORY {
            return Err(PipelineError::msg(
                "a model loaded in memory has no folder for a spec file to name: build the explainer from a folder",
            ));
        }
        let dir = &self.model_dir;
        let path = dir.canonicalize().or_else(|_| std::path::absolute(dir)).unwrap_or_else(|_| dir.clone());
        Ok(SpecFile {
            spec_version: SPEC_VERSION,
            name: name.to_owned(),
            explainer_version: env!("CARGO_PKG_VERSION").to_owned(),
            model: SpecModel { path, hash: self.model_hash.clone() },
            entry_points: vec![EntryPoint {
                name: entry.to_owned(),
                method: method_value(self.method.as_ref())?,
                baseline: baseline_value(self.baseline.as_ref())?,
                target: TargetValue::Rule(self.target.clone()),
                output: self.output,
                long_text: self.long_text,
            }],
        })
    }

    /// Explains a group of encoded texts, one attribution per text, in order.
    pub fn explain(&self, encodings: &[Encoding]) -> explainer_core::Result<Vec<Attribution>> {
        self.explain_for(encodings, &self.target)
    }

    /// Explains a group of encoded texts for another target rule than the set-up's.
    pub fn explain_for(
        &self,
        encodings: &[Encoding],
        target: &Target,
    ) -> explainer_core::Result<Vec<Attribution>> {
        let request = Request {
            encodings,
            target,
            baseline: self.baseline.as_ref(),
            output: self.output,
            per_dimension: false,
        };
        explainer_core::explain(self.method.as_ref(), self.model.as_ref(), &request)
    }
}
