//! Named explainers: the seed notebook's flow as a library API.
//!
//! The notebook reads
//!
//! ```python
//! explainer = lm_classifier_explainer['classify'](model, tokenizer)
//! explainer(text)                      # word attributions for the predicted class
//! explainer.predicted_class_name
//! explainer(text, class_name="Asset Management & Custody Banks")
//! explainer.visualize()
//! ```
//!
//! and in Rust:
//!
//! ```no_run
//! # fn main() -> explainer_pipeline::Result<()> {
//! use explainer_pipeline::WordAttributions;
//! // The binary must link the method and baseline plugins, e.g. through the `explainer`
//! // facade, or `use explainer_integrated_gradients as _; use explainer_baselines as _;`.
//! let mut explainer = explainer_pipeline::explainers::get("classify")?.build_from_dir("models/business-line-minibert")?;
//! let words = explainer.explain("The custody fees on the fund went up")?.word_attributions();
//! println!("{:?} {words:?}", explainer.predicted_class_name());
//! explainer.explain_class("The custody fees on the fund went up", "Asset Management & Custody Banks")?;
//! std::fs::write("report.html", explainer.visualize()?)?;
//! # Ok(()) }
//! ```
//!
//! An entry point names a method and a baseline from the registries; `inventory::submit!` of
//! an [`ExplainerEntry`] adds one. [`Explainer::from_spec`] builds the same object from a spec
//! file written by `explainer export`.
//!
//! Texts longer than the model's window are truncated (with a warning) unless the explainer is
//! told to explain them in overlapping windows ([`crate::long_text`], the CLI's
//! `--long-text windows`):
//!
//! ```no_run
//! # fn main() -> explainer_pipeline::Result<()> {
//! use explainer_pipeline::long_text::LongText;
//! let mut explainer = explainer_pipeline::explainers::get("classify")?
//!     .build_from_dir("models/compliance-minibert")?
//!     .with_long_text(LongText::windows(Some(128)))?;
//! let e_mail = std::fs::read_to_string("long-e-mail.txt")?;
//! let explanation = explainer.explain(&e_mail)?;
//! // Document-level attributions over the whole text, and the windows that produced them.
//! if let Some(windows) = &explanation.windows {
//!     println!("{} windows, document score by {}", windows.windows.len(), windows.score_rule);
//! }
//! # Ok(()) }
//! ```

use std::path::Path;

use explainer_core::{Baseline, Method, Model, Output, Target};
use explainer_report::{Document, Explanation, render_html};

use crate::configs::{DEFAULT_BASELINE, DEFAULT_METHOD, baseline_config, method_config};
use crate::error::{PipelineError, Result};
use crate::long_text::{LongText, explain_text_for};
use crate::run_record::run_record;
use crate::setup::Setup;
use crate::spec::SpecFile;

/// A named explainer: which method and baseline (registry names) it runs.
#[derive(Debug)]
pub struct ExplainerEntry {
    /// The name `get` finds it by.
    pub name: &'static str,
    /// One line saying what it is for.
    pub summary: &'static str,
    /// The method's registry name (its default config).
    pub method: &'static str,
    /// The baseline's registry name (its default config).
    pub baseline: &'static str,
}

inventory::collect!(ExplainerEntry);

inventory::submit! {
    ExplainerEntry {
        name: "classify",
        summary: "word attributions for a text classifier's prediction: Layer Integrated Gradients \
                  at the word embeddings from an all-[PAD] baseline (special tokens kept)",
        method: DEFAULT_METHOD,
        baseline: DEFAULT_BASELINE,
    }
}

/// Every registered explainer, sorted by name.
pub fn all() -> Vec<&'static ExplainerEntry> {
    let mut entries: Vec<&'static ExplainerEntry> = inventory::iter::<ExplainerEntry>.into_iter().collect();
    entries.sort_by_key(|e| e.name);
    entries
}

/// The explainer registered as `name`; an unknown name is an error listing the known ones.
pub fn get(name: &str) -> Result<&'static ExplainerEntry> {
    let entries = all();
    entries.iter().copied().find(|e| e.name == name).ok_or_else(|| {
        let names: Vec<&str> = entries.iter().map(|e| e.name).collect();
        let suggestion = explainer_core::names::closest(name, names.iter().copied())
            .map(|s| format!(" (did you mean {s:?}?)"))
            .unwrap_or_default();
        PipelineError::msg(format!(
            "no explainer {name:?}{suggestion}; the explainers are: {}",
            names.join(", ")
        ))
    })
}

impl ExplainerEntry {
    /// The explainer for the model folder `dir` (a Hugging Face checkpoint or a tiny test model).
    pub fn build_from_dir(&self, dir: impl AsRef<Path>) -> Result<Explainer> {
        let (method, baseline) = self.configs()?;
        let setup = Setup::new(Some(dir.as_ref()), method, baseline, Target::Predicted, Output::Probability)?;
        Ok(Explainer { setup, last: None })
    }

    /// The explainer for a model already loaded (a user's own tch model behind the adapter
    /// trait, say); reports name it by `ModelInfo::name` and carry no folder hash.
    pub fn build(&self, model: Box<dyn Model>) -> Result<Explainer> {
        let (method, baseline) = self.configs()?;
        let setup = Setup::from_model(model, method, baseline, Target::Predicted, Output::Probability)?;
        Ok(Explainer { setup, last: None })
    }

    /// The entry's method and baseline: their registry defaults.
    fn configs(&self) -> Result<(Box<dyn Method>, Box<dyn Baseline>)> {
        Ok((method_config(self.method, Vec::new())?, baseline_config(self.baseline, Vec::new())?))
    }
}

/// A model with a method and a baseline, explaining one text at a time. Each call returns the
/// explanation (the JSON schema's `Explanation`) and keeps a copy for
/// [`Explainer::predicted_class_name`] and [`Explainer::visualize`].
pub struct Explainer {
    setup: Setup,
    last: Option<Document>,
}

impl std::fmt::Debug for Explainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Explainer")
            .field("model", &self.setup.model.info().name)
            .field("method", &self.setup.method.typetag_name())
            .field("baseline", &self.setup.baseline.typetag_name())
            .finish()
    }
}

impl Explainer {
    /// The explainer of a spec file's entry point (the first when `entry` is `None`): its
    /// model (hash checked), method, baseline, target rule and output.
    pub fn from_spec(path: impl AsRef<Path>, entry: Option<&str>) -> Result<Explainer> {
        Ok(Explainer { setup: Setup::from_spec(path.as_ref(), entry)?, last: None })
    }

    /// The explainer as a spec file (what `explainer export` writes); see [`Setup::to_spec`].
    /// [`Explainer::from_spec`] builds the same explainer back.
    pub fn to_spec(&self, name: &str, entry: &str) -> Result<SpecFile> {
        self.setup.to_spec(name, entry)
    }

    /// The same explainer with another long-text setting: `LongText::windows(stride)` explains
    /// a text longer than the model's window in overlapping windows and returns document-level
    /// attributions with the windows in [`Explanation::windows`]; the default truncates. A
    /// stride of 0 (or a stride with truncate) is an error.
    pub fn with_long_text(self, long_text: LongText) -> Result<Explainer> {
        Ok(Explainer { setup: self.setup.with_long_text(long_text)?, last: self.last })
    }

    /// The long-text setting (from [`Explainer::with_long_text`] or the spec's entry point).
    pub fn long_text(&self) -> LongText {
        self.setup.long_text
    }

    /// The model.
    pub fn model(&self) -> &dyn Model {
        self.setup.model.as_ref()
    }

    /// The label names, in logit order.
    pub fn class_names(&self) -> &[String] {
        &self.setup.model.info().labels
    }

    /// Explains the predicted class (multi-class) or the predicted labels (multi-label; the
    /// best one when none reaches 0.5) — or, built from a spec, its target rule. A text longer
    /// than the model's window is truncated or explained in windows ([`Explainer::with_long_text`]).
    pub fn explain(&mut self, text: &str) -> Result<Explanation> {
        let target = self.setup.target.clone();
        self.run(text, &target)
    }

    /// Explains the label named `class_name`; an unknown name is an error listing the known
    /// ones, with a "did you mean".
    pub fn explain_class(&mut self, text: &str, class_name: &str) -> Result<Explanation> {
        self.setup.model.info().label_index(class_name)?;
        self.run(text, &Target::Labels { labels: vec![class_name.to_owned()] })
    }

    /// Explains every label (for a multi-label model: each label's own evidence).
    pub fn explain_all(&mut self, text: &str) -> Result<Explanation> {
        self.run(text, &Target::All)
    }

    /// The highest-scoring label of the last text explained (`None` before the first).
    pub fn predicted_class_name(&self) -> Option<&str> {
        let explanation = self.last_explanation()?;
        explanation.predictions.iter().max_by(|a, b| a.score.total_cmp(&b.score)).map(|p| p.label.as_str())
    }

    /// The last explanation (`None` before the first).
    pub fn last_explanation(&self) -> Option<&Explanation> {
        self.last.as_ref().and_then(|d| d.explanations.first())
    }

    /// The last explanation as a self-contained HTML page (no script, strict CSP).
    pub fn visualize(&self) -> Result<String> {
        let document = self
            .last
            .as_ref()
            .ok_or_else(|| PipelineError::msg("nothing to visualise yet: explain a text first"))?;
        Ok(render_html(document))
    }

    /// Writes [`Explainer::visualize`] to `path`.
    pub fn visualize_to(&self, path: impl AsRef<Path>) -> Result<()> {
        let html = self.visualize()?;
        std::fs::write(path.as_ref(), html)
            .map_err(|e| PipelineError::msg(format!("cannot write {}: {e}", path.as_ref().display())))
    }

    /// The last run as the JSON document of `docs/json-schema.md`.
    pub fn last_document(&self) -> Option<&Document> {
        self.last.as_ref()
    }

    fn run(&mut self, text: &str, target: &Target) -> Result<Explanation> {
        if text.trim().is_empty() {
            return Err(PipelineError::msg("the text is empty: there is nothing to explain"));
        }
        let explained = explain_text_for(&self.setup, text, &self.setup.long_text, target)?;
        let explanation = explained.explanation(None, text)?;
        let run = run_record(&self.setup, &explained.attribution.layer)?;
        self.last = Some(Document::new(run, vec![explanation.clone()]));
        Ok(explanation)
    }
}

/// Word-level views of an explanation, the seed notebook's `explainer(text)` result.
pub trait WordAttributions {
    /// `(word, attribution)` of the first explained label, in text order.
    fn word_attributions(&self) -> Vec<(String, f64)>;
}

impl WordAttributions for Explanation {
    fn word_attributions(&self) -> Vec<(String, f64)> {
        let Some(target) = self.targets.first() else { return Vec::new() };
        self.words.iter().map(|w| w.text.clone()).zip(target.word_attributions.iter().copied()).collect()
    }
}
