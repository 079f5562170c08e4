//! explainer-eval: which attribution method and which baseline to trust, on evidence.
//!
//! - [`faithfulness`]: AOPC comprehensiveness and sufficiency (ERASER; ferret's defaults or
//!   ERASER's bins), Kendall τ with leave-one-out occlusion, Captum's infidelity and
//!   sensitivity-max;
//! - [`plausibility`]: agreement with ground-truth rationales — token F1 and token IOU of the
//!   top-k tokens, ERASER's IOU-F1, AUPRC;
//! - [`evaluate()`]: the methods × baselines table over a data file ([`data`]): every metric
//!   per label with the model's own output function (sigmoid for multi-label, softmax for
//!   multi-class), averaged over labels, with a bootstrap interval, the time per text, the
//!   completeness delta, the parameter-randomisation check (Adebayo et al. 2018) and a
//!   random-attribution control row;
//! - [`render`]: the table as terminal text, Markdown, HTML and JSON.
//!
//! Depends on explainer-core only; methods and baselines come from the registries, so every
//! method linked into the binary joins the table. Definitions, and where they differ from
//! ferret and ERASER: `docs/evaluation.md`.

pub mod data;
pub mod evaluate;
pub mod faithfulness;
pub mod plausibility;
pub mod render;
pub mod scorer;
pub mod stats;

pub use data::{Dataset, Record};
pub use evaluate::{
    Candidate, EvalOptions, EvalReport, METRICS, Progress, RandomizedModel, Row, Summary, evaluate, merge,
};
pub use faithfulness::{Aopc, InfidelityOptions, Removal};
pub use scorer::{FnScorer, ModelScorer, Scorer};
