//! Integrated Gradients and Layer Integrated Gradients, as Captum defines them, for every
//! label at once.
//!
//! - `layer-integrated-gradients` ([`LayerIntegratedGradients`]): integrates the gradient of
//!   the explained output with respect to the activation of a named layer (default: the word
//!   embeddings, as transformers-interpret does) along the straight path from the baseline's
//!   activation to the input's; with `multiply_by_inputs`, multiplies by their difference
//!   (Captum's `LayerIntegratedGradients`). Per-token scores sum over the hidden dimension.
//! - `integrated-gradients` ([`IntegratedGradients`]): the same on the input (word)
//!   embeddings — Integrated Gradients for a text model, whose inputs are its embeddings.
//!
//! Every result carries F(x), F(baseline) and the convergence delta
//! Σ attributions − (F(x) − F(baseline)). All requested labels come from ONE forward pass per
//! chunk of interpolation steps (one backward per label over the kept graph), where Captum
//! and transformers-interpret run the whole integral once per label. Chunks are sized from a
//! memory budget. With `tolerance`, nested Clenshaw–Curtis rules refine (reusing every point)
//! until the error estimate and the delta are within it (see
//! [`LayerIntegratedGradients::tolerance`]).

mod engine;

use explainer_core::{
    Attribution, Axiom, Claim, Error, Model, ROUNDING_FACTOR, Request, Result, Rule, Tolerance, layer_names,
};
use serde::{Deserialize, Serialize};

/// The default memory budget for the activations of one chunk of interpolation rows, in MiB.
/// At 6 GiB a 512-token BERT-base explanation runs in chunks of ~7 rows on a 24 GiB machine.
pub const DEFAULT_MEMORY_BUDGET_MB: usize = 6 * 1024;

/// Layer Integrated Gradients.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LayerIntegratedGradients {
    /// The layer whose activation is interpolated (`embeddings.word`, `embeddings`,
    /// `encoder.N`); it must have a token dimension.
    pub layer: String,
    /// Number of interpolation points (Captum's `n_steps`).
    pub n_steps: usize,
    /// Quadrature rule (Captum's `method`): `gauss_legendre` (default), `riemann_left`,
    /// `riemann_right`, `riemann_middle`, `riemann_trapezoid`, or `trapezoid`.
    pub rule: Rule,
    /// Multiply the integrated gradient by (input − baseline) activation (Captum's default).
    pub multiply_by_inputs: bool,
    /// Memory for one chunk of interpolation rows, in MiB; the chunk size follows from it.
    pub memory_budget_mb: usize,
    /// Packed batches: the interpolation rows of several texts of similar length share
    /// forward and backward passes while the pack holds at most this many token rows
    /// (rows × padded length) and fits the memory budget; 0 (default): one text per pass.
    /// Results equal one-at-a-time up to float rounding. On 2 CPU threads packing saved
    /// nothing (docs/benchmarks.md): a text's own 50 rows already fill the matrix products;
    /// it is meant for accelerators, where small batches leave the device idle.
    pub pack_token_rows: usize,
    /// Adaptive mode. With the default rule (`gauss_legendre`): nested Clenshaw–Curtis rules
    /// from 17 points, doubling and reusing every evaluated point, until every token's error
    /// estimate is at most `tolerance` × the label's largest |attribution| and every |delta| is
    /// at most `tolerance` (in the explained output's units), or the next level would pass
    /// `max_steps` (`n_steps` is not used). With a Riemann rule: `n_steps` doubles, each round
    /// recomputed, until the attributions move by at most `tolerance`. Results report the
    /// points used (`steps`) and `error_estimate` (absolute, in the output's units).
    pub tolerance: Option<f64>,
    /// Upper bound on the steps of the adaptive mode.
    pub max_steps: usize,
}

impl Default for LayerIntegratedGradients {
    fn default() -> Self {
        LayerIntegratedGradients {
            layer: layer_names::WORD_EMBEDDINGS.to_owned(),
            n_steps: 50,
            rule: Rule::GaussLegendre,
            multiply_by_inputs: true,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
            pack_token_rows: 0,
            tolerance: None,
            max_steps: 1024,
        }
    }
}

/// Integrated Gradients on the input (word) embeddings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegratedGradients {
    /// Number of interpolation points.
    pub n_steps: usize,
    /// Quadrature rule.
    pub rule: Rule,
    /// Multiply by (input − baseline) embeddings.
    pub multiply_by_inputs: bool,
    /// Memory for one chunk of interpolation rows, in MiB.
    pub memory_budget_mb: usize,
    /// Packed batches (see [`LayerIntegratedGradients::pack_token_rows`]).
    pub pack_token_rows: usize,
    /// Adaptive mode tolerance (see [`LayerIntegratedGradients::tolerance`]).
    pub tolerance: Option<f64>,
    /// Upper bound on the steps of the adaptive mode.
    pub max_steps: usize,
}

impl Default for IntegratedGradients {
    fn default() -> Self {
        let lig = LayerIntegratedGradients::default();
        IntegratedGradients {
            n_steps: lig.n_steps,
            rule: lig.rule,
            multiply_by_inputs: lig.multiply_by_inputs,
            memory_budget_mb: lig.memory_budget_mb,
            pack_token_rows: lig.pack_token_rows,
            tolerance: None,
            max_steps: lig.max_steps,
        }
    }
}

impl From<&IntegratedGradients> for LayerIntegratedGradients {
    fn from(ig: &IntegratedGradients) -> Self {
        LayerIntegratedGradients {
            layer: layer_names::WORD_EMBEDDINGS.to_owned(),
            n_steps: ig.n_steps,
            rule: ig.rule,
            multiply_by_inputs: ig.multiply_by_inputs,
            memory_budget_mb: ig.memory_budget_mb,
            pack_token_rows: ig.pack_token_rows,
            tolerance: ig.tolerance,
            max_steps: ig.max_steps,
        }
    }
}

impl LayerIntegratedGradients {
    /// The axioms Integrated Gradients guarantees (Sundararajan et al. 2017), with tolerances
    /// that hold in f32. Completeness holds only up to the quadrature error, which has no
    /// a-priori bound at a fixed step count (the conformance suite found deltas of a quarter of
    /// the attribution mass at 50 Gauss–Legendre steps on a random DistilBERT), so it is claimed
    /// only in adaptive mode: within `tolerance` (plus 1e-6), as long as `max_steps` suffices
    /// (a result that stopped at `max_steps` says so in its warnings). Every result reports its
    /// delta either way.
    fn axiom_claims(&self) -> Vec<Claim> {
        let r = Tolerance::rounding(ROUNDING_FACTOR);
        let mut claims = vec![
            Claim::new(Axiom::Sensitivity, r),
            Claim::new(Axiom::DummyToken, Tolerance::EXACT),
            Claim::new(Axiom::Symmetry, r),
            Claim::new(Axiom::Linearity, r),
            Claim::new(Axiom::ImplementationInvariance, r),
            Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT),
            Claim::new(Axiom::BatchInvariance, r),
            Claim::new(Axiom::Determinism, Tolerance::EXACT),
        ];
        if let Some(t) = self.tolerance {
            claims
                .push(Claim::new(Axiom::Completeness, Tolerance::new(0.0, t).plus_rounding(ROUNDING_FACTOR)));
        }
        claims
    }

    fn check(&self, name: &str) -> Result<()> {
        self.rule.points(self.n_steps)?;
        if self.memory_budget_mb == 0 {
            return Err(Error::InvalidConfig(format!("{name}: memory_budget_mb must be positive")));
        }
        if let Some(t) = self.tolerance {
            if !(t.is_finite() && t > 0.0) {
                return Err(Error::InvalidConfig(format!(
                    "{name}: tolerance must be a positive number, not {t}"
                )));
            }
            if self.rule == Rule::GaussLegendre && self.max_steps < 2 {
                return Err(Error::InvalidConfig(format!(
                    "{name}: max_steps ({}) must be at least 2 (the adaptive rule's first points are α = 0 and 1)",
                    self.max_steps
                )));
            }
            if self.rule != Rule::GaussLegendre && self.max_steps < self.n_steps {
                return Err(Error::InvalidConfig(format!(
                    "{name}: max_steps ({}) is below n_steps ({})",
                    self.max_steps, self.n_steps
                )));
            }
        }
        Ok(())
    }

    fn run(&self, name: &str, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
        self.check(name)?;
        let settings = |n_steps| engine::Settings {
            method: name,
            layer: &self.layer,
            rule: self.rule,
            n_steps,
            multiply_by_inputs: self.multiply_by_inputs,
            memory_budget_mb: self.memory_budget_mb,
            pack_token_rows: self.pack_token_rows,
            adaptive: None,
        };
        let Some(tolerance) = self.tolerance else {
            return engine::explain(model, request, &settings(self.n_steps));
        };
        if self.rule == Rule::GaussLegendre {
            // Nested Clenshaw–Curtis levels that reuse every point (engine::adaptive_integral).
            let adaptive = engine::Adaptive { tolerance, max_steps: self.max_steps };
            return engine::explain(
                model,
                request,
                &engine::Settings { adaptive: Some(adaptive), ..settings(self.n_steps) },
            );
        }
        // Riemann rules: double the steps until the attributions stop moving and the deltas close
        // (not nested: each round recomputes).
        let mut steps = self.n_steps;
        let mut previous = engine::explain(model, request, &settings(steps))?;
        loop {
            let next_steps = (steps * 2).min(self.max_steps);
            if next_steps == steps {
                return Ok(previous);
            }
            let mut next = engine::explain(model, request, &settings(next_steps))?;
            let mut change = 0.0f64;
            let mut worst_delta = 0.0f64;
            for (a, b) in previous.iter().zip(&mut next) {
                for (ta, tb) in a.targets.iter().zip(&mut b.targets) {
                    let moved =
                        ta.tokens.iter().zip(&tb.tokens).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
                    tb.error_estimate = Some(moved);
                    change = change.max(moved);
                    worst_delta = worst_delta.max(tb.delta.unwrap_or(0.0).abs());
                }
            }
            if (change <= tolerance && worst_delta <= tolerance) || next_steps == self.max_steps {
                if change > tolerance || worst_delta > tolerance {
                    for a in &mut next {
                        a.warnings.push(format!(
                            "adaptive integration stopped at max_steps = {}: last change {change:.3e}, worst |delta| {worst_delta:.3e}, tolerance {tolerance:.3e}",
                            self.max_steps
                        ));
                    }
                }
                return Ok(next);
            }
            previous = next;
            steps = next_steps;
        }
    }
}

explainer_core::register_method! {
    name: "layer-integrated-gradients",
    config: LayerIntegratedGradients,
    summary: "Layer Integrated Gradients (Captum-exact) at any named layer; every label from one forward per chunk.",
    requires: [Forward, LayerHooks],
    convergence_delta: true,
    impl {
        fn claims(&self) -> Vec<Claim> {
            self.axiom_claims()
        }

        fn validate(&self) -> Result<()> {
            self.check("layer-integrated-gradients")
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            self.run("layer-integrated-gradients", model, request)
        }
    }
}

explainer_core::register_method! {
    name: "integrated-gradients",
    config: IntegratedGradients,
    summary: "Integrated Gradients on the input (word) embeddings; every label from one forward per chunk.",
    requires: [Forward, LayerHooks],
    convergence_delta: true,
    impl {
        fn claims(&self) -> Vec<Claim> {
            LayerIntegratedGradients::from(self).axiom_claims()
        }

        fn validate(&self) -> Result<()> {
            LayerIntegratedGradients::from(self).check("integrated-gradients")
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            LayerIntegratedGradients::from(self).run("integrated-gradients", model, request)
        }
    }
}
