//! Layer Conductance, Neuron Conductance and the all-layer sweep, as Captum defines them.
//!
//! All three interpolate the **input word embeddings** (`embeddings.word`) on the straight
//! path from the baseline's `x₀` to the input's `x`, `x(α) = x₀ + α (x − x₀)`, as Captum does
//! when its inputs are the embeddings, and look at a hidden layer `y = y(x(α))` on the way:
//!
//! - `layer-conductance` ([`LayerConductance`]): Captum's `LayerConductance`. With the rule's
//!   `n_steps + 1` points α₀ < … < αₙ, the conductance of hidden unit `j` is
//!   `Σₖ₌₀ⁿ⁻¹ (yⱼ(αₖ₊₁) − yⱼ(αₖ)) · ∂F/∂yⱼ(αₖ)` (a Riemann–Stieltjes sum of ∫ ∂F/∂yⱼ dyⱼ).
//!   Per token: summed over the hidden units. Sums to F(x) − F(x₀) up to the quadrature error.
//! - `neuron-conductance` ([`NeuronConductance`]): Captum's `NeuronConductance`. For one unit
//!   `yₙ` of a layer (a token index and a hidden index), the conductance of `yₙ` through each
//!   input embedding dimension `i`:
//!   `(xᵢ − x₀ᵢ) · Σₖ wₖ ∂F/∂yₙ(αₖ) · ∂yₙ/∂xᵢ(αₖ)`; its sum over the inputs is the unit's total
//!   conductance Cₙ = ∫ ∂F/∂yₙ dyₙ, which is what F(x), F(x₀) and the delta describe here.
//! - `conductance-sweep` ([`ConductanceSweep`]): Layer Conductance at every encoder layer (and
//!   the embeddings output) from ONE set of interpolation passes: every layer is kept in the
//!   same forward pass, and one backward pass per label gives ∂F/∂y at all of them; the result
//!   fills [`explainer_core::TargetAttribution::layer_sweep`] (tokens × layers).
//!
//! All requested labels come from one forward pass per chunk of interpolation rows (one
//! backward pass per label over the kept graph); chunks are sized from a memory budget; sums
//! are accumulated in f64; several baseline draws are averaged and their spread reported.
//! See `docs/methods/conductance.md` for the formulas, the points used and the limits.

mod engine;

use explainer_core::{
    Attribution, Axiom, Claim, Error, Model, ROUNDING_FACTOR, Request, Result, Rule, Tolerance,
};
use serde::{Deserialize, Serialize};

/// The default memory budget for the activations of one chunk of interpolation rows, in MiB
/// (the same as Integrated Gradients': a 512-token BERT-base text runs in chunks of ~7 rows).
pub const DEFAULT_MEMORY_BUDGET_MB: usize = 6 * 1024;

/// The layer Layer Conductance and Neuron Conductance look at by default: the output of the
/// first encoder layer, which every encoder model has.
pub const DEFAULT_LAYER: &str = "encoder.0";

/// Layer Conductance (Captum's `LayerConductance`) at one named layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LayerConductance {
    /// The layer whose conductance is computed (`embeddings`, `encoder.N`, …); it must have a
    /// token dimension. Default: `encoder.0`.
    pub layer: String,
    /// Captum's `n_steps`: the sum runs over `n_steps` differences of `n_steps + 1` points.
    pub n_steps: usize,
    /// Where the `n_steps + 1` points lie (Captum's `method`): `gauss_legendre` (default),
    /// `riemann_left`, `riemann_right`, `riemann_middle`, `riemann_trapezoid`, `trapezoid`.
    /// Only the rule's points are used, never its weights.
    pub rule: Rule,
    /// Memory for one chunk of interpolation rows, in MiB; the chunk size follows from it.
    pub memory_budget_mb: usize,
}

impl Default for LayerConductance {
    fn default() -> Self {
        LayerConductance {
            layer: DEFAULT_LAYER.to_owned(),
            n_steps: 50,
            rule: Rule::GaussLegendre,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

/// Layer Conductance at several layers at once, from one set of interpolation passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConductanceSweep {
    /// The layers to sweep, each with a token dimension. Empty (the default): `embeddings`
    /// (when the model has it) and every `encoder.N`, in forward order. Given layers are
    /// put in forward order; duplicates are dropped.
    pub layers: Vec<String>,
    /// Captum's `n_steps` (see [`LayerConductance::n_steps`]).
    pub n_steps: usize,
    /// Where the points lie (see [`LayerConductance::rule`]).
    pub rule: Rule,
    /// Memory for one chunk of interpolation rows, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for ConductanceSweep {
    fn default() -> Self {
        let single = LayerConductance::default();
        ConductanceSweep {
            layers: Vec::new(),
            n_steps: single.n_steps,
            rule: single.rule,
            memory_budget_mb: single.memory_budget_mb,
        }
    }
}

/// Neuron Conductance (Captum's `NeuronConductance`): one unit's conductance, attributed to
/// the input tokens.
///
/// The unit is selected in a `[tokens, hidden]` layer (`embeddings`, `encoder.N`) by
/// `token` (0-based position in the tokenised text, special tokens included: `[CLS]` is 0)
/// and `unit` (0-based hidden index): Captum's `neuron_selector = (token, unit)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NeuronConductance {
    /// The layer of the unit. Default: `encoder.0`.
    pub layer: String,
    /// The unit's token position (must be below every explained text's length).
    pub token: usize,
    /// The unit's hidden index (must be below the layer's width).
    pub unit: usize,
    /// Number of quadrature points (Captum's `n_steps`).
    pub n_steps: usize,
    /// Quadrature rule, points and weights. Default `gauss_legendre`; Captum's
    /// `NeuronConductance` defaults to `riemann_trapezoid`.
    pub rule: Rule,
    /// Multiply by (input − baseline) embeddings (Captum's default). Without it, the result
    /// is the integrated gradient, which has no completeness delta.
    pub multiply_by_inputs: bool,
    /// Memory for one chunk of interpolation rows, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for NeuronConductance {
    fn default() -> Self {
        NeuronConductance {
            layer: DEFAULT_LAYER.to_owned(),
            token: 0,
            unit: 0,
            n_steps: 50,
            rule: Rule::GaussLegendre,
            multiply_by_inputs: true,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

/// The most steps a config may ask for (each step is a forward row; far beyond any use).
pub const MAX_STEPS: usize = 100_000;

fn check_common(
    name: &str,
    n_steps: usize,
    rule: Rule,
    points: usize,
    memory_budget_mb: usize,
) -> Result<()> {
    if n_steps == 0 {
        return Err(Error::InvalidConfig(format!("{name}: n_steps must be at least 1, got 0")));
    }
    if n_steps > MAX_STEPS {
        return Err(Error::InvalidConfig(format!(
            "{name}: n_steps must be at most {MAX_STEPS}, got {n_steps}"
        )));
    }
    rule.points(points)?;
    if memory_budget_mb == 0 {
        return Err(Error::InvalidConfig(format!("{name}: memory_budget_mb must be positive")));
    }
    Ok(())
}

/// What layer conductance (one layer or the sweep) guarantees, with f32 tolerances. Not
/// completeness or layer conservation: the Riemann–Stieltjes sum converges only as O(1/n) with
/// no a-priori bound on a given model (the delta of every layer is reported instead); not
/// sensitivity or implementation invariance, which are statements about input attributions.
fn layer_claims() -> Vec<Claim> {
    let r = Tolerance::rounding(ROUNDING_FACTOR);
    vec![
        Claim::new(Axiom::DummyToken, Tolerance::EXACT),
        Claim::new(Axiom::Symmetry, r),
        Claim::new(Axiom::Linearity, r),
        Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT),
        Claim::new(Axiom::BatchInvariance, r),
        Claim::new(Axiom::Determinism, Tolerance::EXACT),
    ]
}

impl LayerConductance {
    /// The registry (and typetag) name.
    pub const NAME: &'static str = "layer-conductance";
}

impl ConductanceSweep {
    /// The registry (and typetag) name.
    pub const NAME: &'static str = "conductance-sweep";
}

impl NeuronConductance {
    /// The registry (and typetag) name.
    pub const NAME: &'static str = "neuron-conductance";
}

explainer_core::register_method! {
    name: LayerConductance::NAME,
    config: LayerConductance,
    summary: "Layer Conductance (Captum-exact) at a named layer, per token and per hidden unit; every label from one forward per chunk.",
    requires: [Forward, LayerHooks],
    convergence_delta: true,
    impl {
        fn claims(&self) -> Vec<Claim> {
            layer_claims()
        }

        fn validate(&self) -> Result<()> {
            check_common(
                Self::NAME,
                self.n_steps,
                self.rule,
                self.n_steps.saturating_add(1),
                self.memory_budget_mb,
            )
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            self.validate()?;
            let settings = engine::LayerSettings {
                method: Self::NAME,
                layers: vec![self.layer.clone()],
                sweep: false,
                rule: self.rule,
                n_steps: self.n_steps,
                memory_budget_mb: self.memory_budget_mb,
            };
            engine::layer_conductance(model, request, &settings)
        }
    }
}

explainer_core::register_method! {
    name: ConductanceSweep::NAME,
    config: ConductanceSweep,
    summary: "Layer Conductance at the embeddings and every encoder layer from one set of passes: a tokens × layers map.",
    requires: [Forward, LayerHooks],
    convergence_delta: true,
    impl {
        fn claims(&self) -> Vec<Claim> {
            layer_claims()
        }

        fn validate(&self) -> Result<()> {
            check_common(
                Self::NAME,
                self.n_steps,
                self.rule,
                self.n_steps.saturating_add(1),
                self.memory_budget_mb,
            )
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            self.validate()?;
            let layers = engine::sweep_layers(model, &self.layers)?;
            let settings = engine::LayerSettings {
                method: Self::NAME,
                layers,
                sweep: true,
                rule: self.rule,
                n_steps: self.n_steps,
                memory_budget_mb: self.memory_budget_mb,
            };
            engine::layer_conductance(model, request, &settings)
        }
    }
}

explainer_core::register_method! {
    name: NeuronConductance::NAME,
    config: NeuronConductance,
    summary: "Neuron Conductance (Captum-exact): one hidden unit's conductance attributed to the input tokens.",
    requires: [Forward, LayerHooks],
    convergence_delta: true,
    config_delta: |config| config.multiply_by_inputs,
    impl {
        fn claims(&self) -> Vec<Claim> {
            // The unit's conductance through each input token: linear in F, zero at the baseline,
            // zero for a token the unit cannot see (a masked one; the unit sits at `token`).
            let r = Tolerance::rounding(ROUNDING_FACTOR);
            let mut claims = vec![
                Claim::new(Axiom::Linearity, r),
                Claim::new(Axiom::BatchInvariance, r),
                Claim::new(Axiom::Determinism, Tolerance::EXACT),
            ];
            if self.multiply_by_inputs {
                claims.push(Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT));
                if self.token == 0 {
                    claims.push(Claim::new(Axiom::DummyToken, Tolerance::EXACT));
                }
            }
            claims
        }

        fn validate(&self) -> Result<()> {
            check_common(Self::NAME, self.n_steps, self.rule, self.n_steps, self.memory_budget_mb)
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            self.validate()?;
            let settings = engine::NeuronSettings {
                method: Self::NAME,
                layer: &self.layer,
                token: self.token,
                unit: self.unit,
                rule: self.rule,
                n_steps: self.n_steps,
                multiply_by_inputs: self.multiply_by_inputs,
                memory_budget_mb: self.memory_budget_mb,
            };
            engine::neuron_conductance(model, request, &settings)
        }
    }
}
