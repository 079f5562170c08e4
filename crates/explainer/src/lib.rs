//! explainer: explains text-classifier predictions with attribution methods, for the people
//! who must audit them.
//!
//! This is the facade. Depend on it with the features you need and nothing else is
//! compiled:
//!
//! ```toml
//! explainer = { version = "0.1", default-features = false, features = ["integrated-gradients", "bert"] }
//! ```
//!
//! | feature | what it brings | crate | default |
//! |---|---|---|---|
//! | `integrated-gradients` | `layer-integrated-gradients`, `integrated-gradients` ([`methods::integrated_gradients`]) | explainer-integrated-gradients | yes |
//! | `deeplift` | `deeplift`, `deeplift-shap` ([`methods::deeplift`]) | explainer-deeplift | yes |
//! | `conductance` | `layer-conductance`, `neuron-conductance`, `conductance-sweep` ([`methods::conductance`]) | explainer-conductance | yes |
//! | `gradients` | `saliency`, `input-x-gradient`, `layer-gradient-x-activation`, `gradient-shap`, `noise-tunnel` ([`methods::gradients`]) | explainer-gradients | yes |
//! | `perturbation` | `occlusion`, `feature-ablation`, `shapley-value-sampling`, `kernel-shap`, `lime`, `partition-shap`: forward only ([`methods::perturbation`]) | explainer-perturbation | yes |
//! | `baselines` | `pad`, `unk`, `mask`, `zero`, `average-embedding`, `random-tokens` ([`baselines`]); every method feature turns it on | explainer-baselines | yes |
//! | `bert` | BERT checkpoints ([`transformers`]) | explainer-transformers | yes |
//! | `distilbert` | DistilBERT checkpoints ([`transformers`]) | explainer-transformers | yes |
//! | `roberta` | RoBERTa, XLM-R and CamemBERT checkpoints ([`transformers`]) | explainer-transformers | yes |
//! | `report` | the JSON schema and the HTML, Markdown and terminal reports ([`report`]) | explainer-report | yes |
//! | `pipeline` | model folders, hashes, configs by registry name, spec files and the named explainers ([`explainers`], [`Explainer`]: the notebook flow); brings `bert` and `report` | explainer-pipeline | yes |
//! | `axioms` | the axiom-conformance suite (`explainer::conformance`); brings explainer-transformers and explainer-testing | explainer-axioms | no |
//! | `eval` | faithfulness and plausibility metrics, the methods × baselines evaluation (`explainer::eval`) | explainer-eval | no |
//! | `full` | all of the above | | no |
//!
//! Every supported family lives in one crate, explainer-transformers, so `bert`,
//! `distilbert` and `roberta` each turn that whole crate on: any of them loads any supported
//! checkpoint — BERT, DistilBERT, RoBERTa, XLM-R, CamemBERT, ELECTRA, ModernBERT and
//! DeBERTa-v2/v3 (`docs/models.md`).
//!
//! Everything of `explainer-core` is re-exported at the root ([`Model`], [`Method`],
//! [`Baseline`], [`explain`], [`registry`], [`register_method!`], …); note that
//! [`axioms`](mod@axioms) is core's module of axiom and claim types, and the suite that checks
//! them is `explainer::conformance` (feature `axioms`).
//!
//! **Plugins are linked for you.** Methods and baselines register themselves through
//! `inventory`, and Rust drops a crate nobody references at link time, entries and all. This
//! crate references every plugin crate its features enable, so with a feature on, its
//! methods are in [`registry`] — in your binary, your tests and your doc-tests:
//!
//! ```
//! let names: Vec<&str> = explainer::registry::methods().iter().map(|e| e.name).collect();
//! # #[cfg(feature = "integrated-gradients")]
//! assert!(names.contains(&"layer-integrated-gradients"));
//! # #[cfg(feature = "deeplift")]
//! assert!(names.contains(&"deeplift"));
//! # #[cfg(feature = "baselines")]
//! assert!(explainer::registry::baseline("pad").is_ok());
//! ```
//!
//! Explaining a Hugging Face checkpoint (features `integrated-gradients` and `bert`):
//!
//! ```no_run
//! # #[cfg(all(feature = "integrated-gradients", feature = "bert"))]
//! # fn main() -> explainer::Result<()> {
//! use explainer::{Model as _, Output, Request, Target, explain};
//! use explainer::baselines::PadBaseline;
//! use explainer::methods::integrated_gradients::LayerIntegratedGradients;
//! use explainer::transformers::HfClassifier;
//!
//! let model = HfClassifier::load(std::path::Path::new("models/compliance-minibert"))?;
//! let encoding = model.encoder().encode("please wire the funds today")?;
//! let request = Request {
//!     encodings: std::slice::from_ref(&encoding),
//!     target: &Target::Predicted,
//!     baseline: &PadBaseline::default(),
//!     output: Output::Probability,
//!     per_dimension: false,
//! };
//! let attributions = explain(&LayerIntegratedGradients::default(), &model, &request)?;
//! println!("{:?}", attributions[0].targets[0].tokens);
//! # Ok(())
//! # }
//! # #[cfg(not(all(feature = "integrated-gradients", feature = "bert")))]
//! # fn main() {}
//! ```

pub use explainer_core::*;

/// The attribution-method families enabled by features (one crate each).
pub mod methods {
    /// Integrated Gradients and Layer Integrated Gradients (feature `integrated-gradients`).
    #[cfg(feature = "integrated-gradients")]
    pub use explainer_integrated_gradients as integrated_gradients;

    /// DeepLift and DeepLiftShap (feature `deeplift`).
    #[cfg(feature = "deeplift")]
    pub use explainer_deeplift as deeplift;

    /// Layer Conductance, Neuron Conductance and the layer sweep (feature `conductance`).
    #[cfg(feature = "conductance")]
    pub use explainer_conductance as conductance;

    /// Saliency, Input × Gradient, Layer Gradient × Activation, GradientSHAP, NoiseTunnel
    /// (feature `gradients`).
    #[cfg(feature = "gradients")]
    pub use explainer_gradients as gradients;

    /// Occlusion, Feature Ablation, Shapley Value Sampling, KernelSHAP, LIME and Partition
    /// SHAP (feature `perturbation`): they need nothing but a forward pass.
    #[cfg(feature = "perturbation")]
    pub use explainer_perturbation as perturbation;
}

/// The baseline providers (feature `baselines`, on with every method feature).
#[cfg(feature = "baselines")]
pub use explainer_baselines as baselines;

/// Hugging Face checkpoints of every supported family (features `bert`, `distilbert`,
/// `roberta`: one shared crate; see the feature table).
#[cfg(any(feature = "bert", feature = "distilbert", feature = "roberta"))]
pub use explainer_transformers as transformers;

/// The JSON schema and the HTML, Markdown and terminal reports (feature `report`).
#[cfg(feature = "report")]
pub use explainer_report as report;

/// Model folders, hashes, configs, spec files and run set-ups (feature `pipeline`).
#[cfg(feature = "pipeline")]
pub use explainer_pipeline as pipeline;

/// The named explainers of the notebook flow: `explainers::get("classify")?.build_from_dir(dir)?`
/// (feature `pipeline`).
#[cfg(feature = "pipeline")]
pub use explainer_pipeline::{Explainer, WordAttributions, explainers};

/// The axiom-conformance suite (feature `axioms`).
#[cfg(feature = "axioms")]
pub use explainer_axioms as conformance;

/// Faithfulness and plausibility metrics and the methods × baselines evaluation (feature
/// `eval`).
#[cfg(feature = "eval")]
pub use explainer_eval as eval;

/// The features this build of the facade was compiled with, in the order of the table above.
pub const FEATURES: &[&str] = &[
    #[cfg(feature = "integrated-gradients")]
    "integrated-gradients",
    #[cfg(feature = "deeplift")]
    "deeplift",
    #[cfg(feature = "conductance")]
    "conductance",
    #[cfg(feature = "gradients")]
    "gradients",
    #[cfg(feature = "perturbation")]
    "perturbation",
    #[cfg(feature = "baselines")]
    "baselines",
    #[cfg(feature = "bert")]
    "bert",
    #[cfg(feature = "distilbert")]
    "distilbert",
    #[cfg(feature = "roberta")]
    "roberta",
    #[cfg(feature = "report")]
    "report",
    #[cfg(feature = "pipeline")]
    "pipeline",
    #[cfg(feature = "axioms")]
    "axioms",
    #[cfg(feature = "eval")]
    "eval",
];
