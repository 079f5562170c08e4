//! explainer-core: the types every explainer crate shares.
//!
//! - [`Model`]: the model adapter — tokenised input → logits, with labels, a problem type,
//!   named layers run through [`Hooks`] and non-linear/multiplicative ops run through
//!   [`OpRules`], and declared [`Capabilities`].
//! - [`Method`] and [`Baseline`]: attribution methods and reference inputs, configs
//!   serialisable through typetag, registered in the `inventory` registries of [`registry`].
//! - [`Target`]: which labels to explain. [`Attribution`]: what a method returns.
//! - [`device`]: `cpu` / `cuda:N`, parsed and checked.
//! - [`quadrature`]: Captum's integration rules. [`Error`]: the one error type.
//!
//! See `docs/ARCHITECTURE.md` at the repository root for how the crates fit together.

mod attribution;
pub mod axioms;
pub mod device;
mod error;
pub mod hooks;
mod method;
mod model;
pub mod names;
pub mod ops;
pub mod quadrature;
pub mod registry;
pub mod rng;
pub mod support;
mod target;
mod text;

pub use attribution::{Attribution, LayerSweep, Output, TargetAttribution};
pub use axioms::{Axiom, Claim, ROUNDING_FACTOR, Tolerance};
pub use error::{Error, ErrorKind, Result};
pub use hooks::Hooks;
pub use method::{Baseline, Method, Reference, Request, explain};
pub use model::{
    Capabilities, Capability, ForwardCtx, InputBatch, LayerInfo, Model, ModelInfo, Prediction, ProblemType,
    layer_names, tensor_row,
};
pub use ops::{DefaultOps, OpRules, Unary};
pub use quadrature::{Quadrature, Rule};
pub use registry::{BaselineEntry, MethodEntry};
pub use target::Target;
pub use text::{Encoding, SpecialTokens, TextEncoder};

// Re-exported so plugin crates use the same versions as core.
pub use inventory;
pub use serde_json;
pub use tch;
pub use typetag;
