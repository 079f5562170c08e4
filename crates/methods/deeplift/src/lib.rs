//! Exact DeepLift and DeepLiftShap for transformers: completeness to float precision.
//!
//! - `deeplift` ([`DeepLift`]): the rescale rule on element-wise non-linearities and the
//!   exact Shapley split on products of two activations (QKᵀ, attention·V, LayerNorm's
//!   normalisation, softmax's division), with softmax shifted at one index shared by the
//!   input and its reference (see [`rules`]). The sum of the attributions equals
//!   F(x) − F(x₀) up to float rounding, on every label and any baseline, for probabilities
//!   (sigmoid, softmax) as well as logits. Captum's DeepLift only overrides a few activation
//!   modules and misses that sum on transformers.
//! - `deeplift-shap` ([`DeepLiftShap`]): DeepLift averaged over several references (the
//!   draws of a baseline such as `random-tokens`), complete against the mean of the
//!   references' outputs.
//!
//! Both explain every requested label from ONE paired forward pass (inputs and references as
//! rows of one batch, several texts together) and one backward pass per label. The model must
//! route its ops through [`explainer_core::OpRules`] (capability `op-rules`).

mod engine;
pub mod rules;

use explainer_core::{
    Attribution, Axiom, Capabilities, Capability, Claim, Error, Method, MethodEntry, Model, Request, Result,
    Tolerance, layer_names,
};
use serde::{Deserialize, Serialize};

pub use rules::DeepLiftOps;

/// The default memory budget for the activations of one chunk of paired rows, in MiB.
pub const DEFAULT_MEMORY_BUDGET_MB: usize = 6 * 1024;

const NEEDS: Capabilities =
    Capabilities::of(&[Capability::Forward, Capability::LayerHooks, Capability::OpRules]);

/// Exact DeepLift (rescale rule, Shapley split for products).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeepLift {
    /// The layer attributed to: `embeddings.word` (default), `embeddings` or `encoder.N`.
    pub layer: String,
    /// Multiply the multipliers by (input − reference) activation (Captum's default); without
    /// it the result is the multipliers themselves and carries no delta.
    pub multiply_by_inputs: bool,
    /// Memory for one chunk of paired rows, in MiB; the chunk size follows from it.
    pub memory_budget_mb: usize,
}

impl Default for DeepLift {
    fn default() -> Self {
        DeepLift {
            layer: layer_names::WORD_EMBEDDINGS.to_owned(),
            multiply_by_inputs: true,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

/// DeepLiftShap: exact DeepLift averaged over a baseline's draws.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeepLiftShap {
    /// The layer attributed to.
    pub layer: String,
    /// Multiply by (input − reference) activation.
    pub multiply_by_inputs: bool,
    /// Memory for one chunk of paired rows, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for DeepLiftShap {
    fn default() -> Self {
        let d = DeepLift::default();
        DeepLiftShap {
            layer: d.layer,
            multiply_by_inputs: d.multiply_by_inputs,
            memory_budget_mb: d.memory_budget_mb,
        }
    }
}

/// What exact DeepLift guarantees, with tolerances that hold in f32. Completeness: within
/// 1e-4 of |F(x) − F(x₀)|, plus 1e-5 for the f32 forward's own rounding of F(x) − F(x₀)
/// (see docs/methods/deeplift.md). Not implementation invariance: DeepLift's rules see the
/// network's structure, not only its function (Sundararajan et al. 2017, §2).
fn claims(multiply_by_inputs: bool) -> Vec<Claim> {
    let mut claims = vec![
        Claim::new(Axiom::Sensitivity, Tolerance::new(0.0, 1e-9)),
        Claim::new(Axiom::DummyToken, Tolerance::new(1e-7, 1e-9)),
        Claim::new(Axiom::Symmetry, Tolerance::new(1e-5, 1e-9)),
        Claim::new(Axiom::Linearity, Tolerance::new(1e-4, 1e-7)),
        Claim::new(Axiom::BaselineIdentity, Tolerance::new(0.0, 1e-12)),
        Claim::new(Axiom::BatchInvariance, Tolerance::new(1e-4, 1e-7)),
        Claim::new(Axiom::Determinism, Tolerance::EXACT),
    ];
    if multiply_by_inputs {
        claims.push(Claim::new(Axiom::Completeness, Tolerance::new(1e-4, 1e-5)));
    } else {
        // Multipliers alone: neither complete nor zero at the baseline.
        claims.retain(|c| matches!(c.axiom, Axiom::Linearity | Axiom::BatchInvariance | Axiom::Determinism));
    }
    claims
}

fn check(name: &str, memory_budget_mb: usize) -> Result<()> {
    if memory_budget_mb == 0 {
        return Err(Error::InvalidConfig(format!("{name}: memory_budget_mb must be positive")));
    }
    Ok(())
}

#[typetag::serde(name = "deeplift")]
impl Method for DeepLift {
    fn requires(&self) -> Capabilities {
        NEEDS
    }

    fn has_convergence_delta(&self) -> bool {
        true
    }

    fn claims(&self) -> Vec<Claim> {
        claims(self.multiply_by_inputs)
    }

    fn validate(&self) -> Result<()> {
        check("deeplift", self.memory_budget_mb)
    }

    fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
        engine::explain(
            model,
            request,
            &engine::Settings {
                method: "deeplift",
                layer: &self.layer,
                multiply_by_inputs: self.multiply_by_inputs,
                memory_budget_mb: self.memory_budget_mb,
                needs_draws: false,
            },
        )
    }
}

#[typetag::serde(name = "deeplift-shap")]
impl Method for DeepLiftShap {
    fn requires(&self) -> Capabilities {
        NEEDS
    }

    fn has_convergence_delta(&self) -> bool {
        true
    }

    fn claims(&self) -> Vec<Claim> {
        claims(self.multiply_by_inputs)
    }

    fn validate(&self) -> Result<()> {
        check("deeplift-shap", self.memory_budget_mb)
    }

    fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
        engine::explain(
            model,
            request,
            &engine::Settings {
                method: "deeplift-shap",
                layer: &self.layer,
                multiply_by_inputs: self.multiply_by_inputs,
                memory_budget_mb: self.memory_budget_mb,
                needs_draws: true,
            },
        )
    }
}

explainer_core::inventory::submit! {
    MethodEntry {
        name: "deeplift",
        summary: "Exact DeepLift for transformers (rescale + Shapley product rules): Σ attributions = F(x) − F(x₀) to float precision; every label from one paired forward.",
        requires: NEEDS,
        has_convergence_delta: true,
        default_config: || Box::new(DeepLift::default()),
    }
}

explainer_core::inventory::submit! {
    MethodEntry {
        name: "deeplift-shap",
        summary: "Exact DeepLift averaged over a baseline's draws (e.g. random-tokens), complete against the mean reference output.",
        requires: NEEDS,
        has_convergence_delta: true,
        default_config: || Box::new(DeepLiftShap::default()),
    }
}
