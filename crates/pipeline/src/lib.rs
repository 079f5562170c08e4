//! explainer-pipeline: what the `explainer` CLI and a library user share.
//!
//! - [`models`]: loading a model folder (a Hugging Face checkpoint or a tiny test model), the
//!   bundled default and `EXPLAINER_MODEL`;
//! - [`model_hash`]: the SHA-256 identity of a model folder for audit records;
//! - [`configs`]: method and baseline configs by registry name with options merged in, and
//!   target rules;
//! - [`spec`]: spec files (a model with its hash and named entry points of configs);
//! - [`setup`]: a checked run set-up, and [`run_record`] its record in a report;
//! - [`randomize`]: re-initialised copies of a model for the parameter-randomisation check;
//! - [`explainers`]: named explainers (`classify`), the seed notebook's flow as an API;
//! - [`long_text`]: texts longer than the model's window: truncate, or explain overlapping windows.
//!
//! This crate finds methods and baselines through the registries: the binary that uses it
//! must link the plugin crates (the `explainer` facade or the CLI do).

pub mod clock;
pub mod configs;
mod error;
pub mod explainers;
pub mod long_text;
pub mod model_hash;
pub mod models;
pub mod randomize;
pub mod run_record;
pub mod setup;
pub mod spec;

pub use error::{Context, PipelineError, Result};
pub use explainers::{Explainer, ExplainerEntry, WordAttributions};
pub use setup::Setup;

// The unit tests look methods and baselines up in the registries.
#[cfg(test)]
use {
    explainer_baselines as _, explainer_conductance as _, explainer_deeplift as _,
    explainer_integrated_gradients as _,
};
