//! The gradient family, as Captum defines it, for every label at once.
//!
//! - `saliency` ([`Saliency`]): ∂F/∂e at the word embeddings e, absolute (Captum's default) or
//!   signed, summed over the hidden dimension per token.
//! - `input-x-gradient` ([`InputXGradient`]): e ⊙ ∂F/∂e.
//! - `layer-gradient-x-activation` ([`LayerGradientXActivation`]): a ⊙ ∂F/∂a at any named
//!   layer with a token dimension (or the gradient alone).
//! - `gradient-shap` ([`GradientShap`]): the expected-gradients estimator — per sample a
//!   baseline draw x₀, Gaussian noise ε on the input's word embeddings and α ~ U(0, 1); the
//!   attribution is the mean of (x + ε − x₀) ⊙ ∂F/∂e at α(x + ε) + (1 − α)x₀. Its delta
//!   Σ A − (F(x) − mean F(x₀)) is zero only in expectation; `error_estimate` is the
//!   estimator's standard error of Σ A.
//! - `noise-tunnel` ([`NoiseTunnel`]): SmoothGrad, SmoothGrad² or VarGrad over noisy copies of
//!   the input's word embeddings, wrapping another registered gradient method by its config.
//!
//! Each text runs as ONE batch of rows (the noisy copies or samples, chunked by a memory
//! budget) and ONE backward pass per requested label; the plain methods need a single forward
//! pass, whose output also gives the scores. Random draws come from
//! [`explainer_core::rng::SplitMix64`] seeded with the config's seed and the text's token ids, so a
//! text gets the same draws alone or in a batch; [`GradientShap::explain_with_draws`] and
//! [`NoiseTunnel::explain_with_noise`] take the draws from the caller instead (the Captum
//! parity tests supply Captum's).

mod engine;

use explainer_core::{
    Attribution, Axiom, Claim, Error, Method, Model, ROUNDING_FACTOR, Request, Result, Tolerance,
    layer_names, support,
};
use serde::{Deserialize, Serialize};
use tch::Tensor;

use engine::{Combine, Multiplier, Plan, Rows};

/// The default memory budget for the activations of one chunk of rows, in MiB.
pub const DEFAULT_MEMORY_BUDGET_MB: usize = 6 * 1024;

/// Saliency: the gradient of the explained output at the word embeddings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Saliency {
    /// Take |∂F/∂e| per dimension before summing over the hidden dimension (Captum's
    /// default); `false` gives the signed gradient's sum.
    pub abs: bool,
}

impl Default for Saliency {
    fn default() -> Self {
        Saliency { abs: true }
    }
}

impl Saliency {
    /// The registry name.
    pub const NAME: &'static str = "saliency";
}

/// Input × Gradient: the word embeddings times the gradient there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputXGradient {}

impl InputXGradient {
    /// The registry name.
    pub const NAME: &'static str = "input-x-gradient";
}

/// Layer Gradient × Activation at a named layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LayerGradientXActivation {
    /// The layer (`embeddings.word`, `embeddings` — the default —, `encoder.N`); it must have
    /// a token dimension.
    pub layer: String,
    /// Multiply the gradient by the layer's activation (Captum's default); without it the
    /// result is the layer gradient.
    pub multiply_by_inputs: bool,
}

impl Default for LayerGradientXActivation {
    fn default() -> Self {
        LayerGradientXActivation { layer: layer_names::EMBEDDINGS.to_owned(), multiply_by_inputs: true }
    }
}

impl LayerGradientXActivation {
    /// The registry name.
    pub const NAME: &'static str = "layer-gradient-x-activation";
}

/// GradientSHAP: expected gradients over a baseline's draws, with Gaussian input noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GradientShap {
    /// Samples per text (Captum's `n_samples`, default 5).
    pub n_samples: usize,
    /// Standard deviation of the Gaussian noise added to the input's word embeddings
    /// (Captum's `stdevs`, default 0).
    pub stdevs: f64,
    /// Seed of the draws (mixed with each text's token ids).
    pub seed: u64,
    /// Multiply the gradient by (input + noise − baseline) (Captum's default); without it the
    /// result is the mean gradient and carries no delta.
    pub multiply_by_inputs: bool,
    /// Memory for one chunk of rows, in MiB; the chunk size follows from it.
    pub memory_budget_mb: usize,
}

impl Default for GradientShap {
    fn default() -> Self {
        GradientShap {
            n_samples: 5,
            stdevs: 0.0,
            seed: 0,
            multiply_by_inputs: true,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

impl GradientShap {
    /// The registry name.
    pub const NAME: &'static str = "gradient-shap";
}

/// Explicit GradientSHAP draws for one text (Captum's draws, in the parity tests).
#[derive(Debug)]
pub struct Draws {
    /// Per sample, the index of the baseline reference drawn.
    pub references: Vec<usize>,
    /// Per sample, the interpolation coefficient α in [0, 1].
    pub alphas: Vec<f64>,
    /// The noise added to the input's word embeddings, `[samples, tokens, hidden]` (none: 0).
    pub noise: Option<Tensor>,
}

/// Captum's NoiseTunnel types.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoiseType {
    /// The mean of the noisy attributions (SmoothGrad).
    #[default]
    Smoothgrad,
    /// The mean of their squares (SmoothGrad²).
    SmoothgradSq,
    /// Their variance, mean of squares − square of the mean (VarGrad).
    Vargrad,
}

/// NoiseTunnel: another gradient method's attributions over noisy copies of the input.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseTunnel {
    /// The wrapped method's config, e.g. `{"method": "saliency", "abs": true}`; one of
    /// `saliency`, `input-x-gradient`, `layer-gradient-x-activation`.
    pub inner: Box<dyn Method>,
    /// How the noisy attributions combine (Captum's `nt_type`).
    pub nt_type: NoiseType,
    /// Noisy copies per text (Captum's `nt_samples`; Captum's default is 5).
    pub nt_samples: usize,
    /// Standard deviation of the Gaussian noise on the word embeddings (Captum's `stdevs`,
    /// whose default 1.0 drowns word embeddings of typical scale ~0.05; ours is 0.1).
    pub stdevs: f64,
    /// Seed of the noise (mixed with each text's token ids).
    pub seed: u64,
    /// Memory for one chunk of rows, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for NoiseTunnel {
    fn default() -> Self {
        NoiseTunnel {
            inner: Box::new(Saliency::default()),
            nt_type: NoiseType::Smoothgrad,
            nt_samples: 10,
            stdevs: 0.1,
            seed: 0,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

impl NoiseTunnel {
    /// The registry name.
    pub const NAME: &'static str = "noise-tunnel";
}

/// The methods a NoiseTunnel can wrap (they take a noisy input).
pub const NOISE_TUNNEL_WRAPS: [&str; 3] =
    [Saliency::NAME, InputXGradient::NAME, LayerGradientXActivation::NAME];

/// A gradient method that runs on (noisy copies of) its input: its layer and multiplier.
#[derive(Debug, Clone)]
struct Gradient {
    layer: String,
    multiplier: Multiplier,
}

impl Saliency {
    fn gradient(&self) -> Gradient {
        let multiplier = if self.abs { Multiplier::AbsGradient } else { Multiplier::Gradient };
        Gradient { layer: layer_names::WORD_EMBEDDINGS.to_owned(), multiplier }
    }
}

impl InputXGradient {
    fn gradient(&self) -> Gradient {
        Gradient { layer: layer_names::WORD_EMBEDDINGS.to_owned(), multiplier: Multiplier::Activation }
    }
}

impl LayerGradientXActivation {
    fn gradient(&self) -> Gradient {
        let multiplier = if self.multiply_by_inputs { Multiplier::Activation } else { Multiplier::Gradient };
        Gradient { layer: self.layer.clone(), multiplier }
    }
}

/// Runs `plan(text)` on every text of the request, in order.
fn run_texts<'a>(
    model: &dyn Model,
    request: &Request<'_>,
    method: &str,
    layer: &str,
    mut plan: impl FnMut(usize) -> Result<Plan<'a>>,
) -> Result<Vec<Attribution>> {
    support::check_encodings(request)?;
    engine::check_layer(model, method, layer)?;
    (0..request.encodings.len()).map(|text| engine::explain_text(model, request, text, plan(text)?)).collect()
}

fn explain_plain(
    model: &dyn Model,
    request: &Request<'_>,
    method: &str,
    gradient: &Gradient,
) -> Result<Vec<Attribution>> {
    run_texts(model, request, method, &gradient.layer, |_| {
        Ok(Plan {
            method,
            layer: &gradient.layer,
            multiplier: gradient.multiplier,
            combine: Combine::Mean,
            rows: Rows::Plain,
            delta: false,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        })
    })
}

/// The claims of a gradient taken at a point that does not depend on the baseline: what the
/// chain rule gives exactly (a masked token's gradient is a product with exact zeros) or up
/// to rounding. No completeness, sensitivity or baseline identity: a gradient is local
/// (Sundararajan et al. 2017, §2.1, show gradients break sensitivity).
fn gradient_claims(linear: bool) -> Vec<Claim> {
    let r = Tolerance::rounding(ROUNDING_FACTOR);
    let mut claims = vec![
        Claim::new(Axiom::DummyToken, Tolerance::EXACT),
        Claim::new(Axiom::Symmetry, r),
        Claim::new(Axiom::ImplementationInvariance, r),
        Claim::new(Axiom::BatchInvariance, r),
        Claim::new(Axiom::Determinism, Tolerance::EXACT),
    ];
    if linear {
        claims.push(Claim::new(Axiom::Linearity, r));
    }
    claims
}

fn check_budget(name: &str, memory_budget_mb: usize) -> Result<()> {
    if memory_budget_mb == 0 {
        return Err(Error::InvalidConfig(format!("{name}: memory_budget_mb must be positive")));
    }
    Ok(())
}

fn check_samples(name: &str, field: &str, samples: usize, stdevs: f64) -> Result<()> {
    if samples == 0 {
        return Err(Error::InvalidConfig(format!("{name}: {field} must be at least 1")));
    }
    if !(stdevs.is_finite() && stdevs >= 0.0) {
        return Err(Error::InvalidConfig(format!(
            "{name}: stdevs must be a finite number ≥ 0, not {stdevs}"
        )));
    }
    Ok(())
}

explainer_core::register_method! {
    name: Saliency::NAME,
    config: Saliency,
    summary: "Saliency (Captum): |∂F/∂e| (or signed) at the word embeddings, summed per token; one forward, one backward per label.",
    requires: [Forward, LayerHooks],
    convergence_delta: false,
    impl {
        fn claims(&self) -> Vec<Claim> {
            gradient_claims(!self.abs)
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            explain_plain(model, request, Saliency::NAME, &self.gradient())
        }
    }
}

explainer_core::register_method! {
    name: InputXGradient::NAME,
    config: InputXGradient,
    summary: "Input × Gradient (Captum): word embeddings ⊙ ∂F/∂e, summed per token; one forward, one backward per label.",
    requires: [Forward, LayerHooks],
    convergence_delta: false,
    impl {
        fn claims(&self) -> Vec<Claim> {
            gradient_claims(true)
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            explain_plain(model, request, InputXGradient::NAME, &self.gradient())
        }
    }
}

explainer_core::register_method! {
    name: LayerGradientXActivation::NAME,
    config: LayerGradientXActivation,
    summary: "Layer Gradient × Activation (Captum) at any named layer: activation ⊙ ∂F/∂activation, summed per token.",
    requires: [Forward, LayerHooks],
    convergence_delta: false,
    impl {
        fn claims(&self) -> Vec<Claim> {
            gradient_claims(true)
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            explain_plain(model, request, LayerGradientXActivation::NAME, &self.gradient())
        }
    }
}

impl GradientShap {
    /// What GradientSHAP guarantees for any draws. Completeness holds only in expectation over
    /// the draws (E[Σ A] = F(x) − E F(x₀) without noise), so it is not claimed; the delta and
    /// its standard error are reported. The draws depend on the text and the seed only, so
    /// the deterministic claims hold for the fixed draws. Without noise, a token equal in the
    /// input and every reference gets (x − x₀) = 0 exactly (baseline identity), and symmetric
    /// tokens see the same draws.
    fn axiom_claims(&self) -> Vec<Claim> {
        let r = Tolerance::rounding(ROUNDING_FACTOR);
        let mut claims = vec![
            Claim::new(Axiom::DummyToken, Tolerance::EXACT),
            Claim::new(Axiom::Linearity, r),
            Claim::new(Axiom::ImplementationInvariance, r),
            Claim::new(Axiom::BatchInvariance, r),
            Claim::new(Axiom::Determinism, Tolerance::EXACT),
        ];
        if self.stdevs == 0.0 {
            claims.push(Claim::new(Axiom::Symmetry, r));
            if self.multiply_by_inputs {
                claims.push(Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT));
            }
        }
        claims
    }

    fn check(&self) -> Result<()> {
        check_samples(Self::NAME, "n_samples", self.n_samples, self.stdevs)?;
        check_budget(Self::NAME, self.memory_budget_mb)
    }

    fn multiplier(&self) -> Multiplier {
        if self.multiply_by_inputs { Multiplier::InputMinusBaseline } else { Multiplier::Gradient }
    }

    /// GradientSHAP with the caller's draws, one [`Draws`] per text (the config's `n_samples`,
    /// `stdevs` and `seed` are not used); checks the config and the model's capabilities
    /// first, as [`explainer_core::explain`] does.
    pub fn explain_with_draws(
        &self,
        model: &dyn Model,
        request: &Request<'_>,
        draws: Vec<Draws>,
    ) -> Result<Vec<Attribution>> {
        self.check()?;
        model.info().require(&format!("method {:?}", Self::NAME), self.requires())?;
        if draws.len() != request.encodings.len() {
            return Err(Error::InvalidInput(format!(
                "{} draws for {} texts",
                draws.len(),
                request.encodings.len()
            )));
        }
        let mut draws = draws.into_iter();
        let multiplier = self.multiplier();
        run_texts(model, request, Self::NAME, layer_names::WORD_EMBEDDINGS, |_| {
            let d = draws.next().ok_or_else(|| Error::Internal("draws ran out".into()))?;
            Ok(self.plan(multiplier, Rows::Shap(d)))
        })
    }

    fn plan(&self, multiplier: Multiplier, rows: Rows) -> Plan<'static> {
        Plan {
            method: Self::NAME,
            layer: layer_names::WORD_EMBEDDINGS,
            multiplier,
            combine: Combine::Mean,
            rows,
            delta: self.multiply_by_inputs,
            memory_budget_mb: self.memory_budget_mb,
        }
    }
}

explainer_core::register_method! {
    name: GradientShap::NAME,
    config: GradientShap,
    summary: "GradientSHAP (Captum): expected gradients over a baseline's draws plus Gaussian input noise; delta and its standard error reported.",
    requires: [Forward, LayerHooks],
    convergence_delta: true,
    config_delta: |config| config.multiply_by_inputs,
    impl {
        fn claims(&self) -> Vec<Claim> {
            self.axiom_claims()
        }

        fn validate(&self) -> Result<()> {
            self.check()
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            let multiplier = self.multiplier();
            let rows = || Rows::SeededShap { seed: self.seed, samples: self.n_samples, stdev: self.stdevs };
            run_texts(model, request, Self::NAME, layer_names::WORD_EMBEDDINGS, |_| Ok(self.plan(multiplier, rows())))
        }
    }
}

impl NoiseTunnel {
    /// The wrapped method, resolved from its config: only the methods that take a noisy
    /// input ([`NOISE_TUNNEL_WRAPS`]).
    fn gradient(&self) -> Result<Gradient> {
        let name = self.inner.typetag_name();
        let value = serde_json::to_value(&self.inner)
            .map_err(|e| Error::InvalidConfig(format!("{}: the inner method's config: {e}", Self::NAME)))?;
        let serde_json::Value::Object(mut fields) = value else {
            return Err(Error::InvalidConfig(format!(
                "{}: the inner method's config is not an object",
                Self::NAME
            )));
        };
        fields.remove("method");
        let fields = serde_json::Value::Object(fields);
        let bad = |e: serde_json::Error| Error::InvalidConfig(format!("{}: inner {name:?}: {e}", Self::NAME));
        match name {
            Saliency::NAME => Ok(serde_json::from_value::<Saliency>(fields).map_err(bad)?.gradient()),
            InputXGradient::NAME => {
                Ok(serde_json::from_value::<InputXGradient>(fields).map_err(bad)?.gradient())
            }
            LayerGradientXActivation::NAME => {
                Ok(serde_json::from_value::<LayerGradientXActivation>(fields).map_err(bad)?.gradient())
            }
            other => Err(Error::InvalidConfig(format!(
                "{}: cannot wrap {other:?}: it does not take a noisy input; wrap one of {}",
                Self::NAME,
                NOISE_TUNNEL_WRAPS.join(", ")
            ))),
        }
    }

    fn check(&self) -> Result<()> {
        self.gradient()?;
        check_samples(Self::NAME, "nt_samples", self.nt_samples, self.stdevs)?;
        check_budget(Self::NAME, self.memory_budget_mb)
    }

    fn combine(&self) -> Combine {
        match self.nt_type {
            NoiseType::Smoothgrad => Combine::Mean,
            NoiseType::SmoothgradSq => Combine::MeanSquare,
            NoiseType::Vargrad => Combine::Variance,
        }
    }

    /// What survives the noise: with the same draws for the same text, SmoothGrad (a mean)
    /// keeps the wrapped method's linearity, implementation invariance, batch invariance,
    /// dummy and determinism claims; the squares of SmoothGrad² and VarGrad keep only the
    /// exact ones (0² = 0, and the same draws give the same numbers). The noise differs per
    /// token, so symmetry is not kept.
    fn axiom_claims(&self) -> Vec<Claim> {
        let keep: &[Axiom] = match self.nt_type {
            NoiseType::Smoothgrad => &[
                Axiom::DummyToken,
                Axiom::Linearity,
                Axiom::ImplementationInvariance,
                Axiom::BatchInvariance,
                Axiom::Determinism,
            ],
            NoiseType::SmoothgradSq | NoiseType::Vargrad => &[Axiom::DummyToken, Axiom::Determinism],
        };
        if self.gradient().is_err() {
            return Vec::new();
        }
        self.inner.claims().into_iter().filter(|c| keep.contains(&c.axiom)).collect()
    }

    fn run(
        &self,
        model: &dyn Model,
        request: &Request<'_>,
        noise: Option<Vec<Tensor>>,
    ) -> Result<Vec<Attribution>> {
        self.check()?;
        let gradient = self.gradient()?;
        if let Some(noise) = &noise {
            if noise.len() != request.encodings.len() {
                return Err(Error::InvalidInput(format!(
                    "{} noise tensors for {} texts",
                    noise.len(),
                    request.encodings.len()
                )));
            }
        }
        let mut noise = noise.map(|n| n.into_iter());
        let combine = self.combine();
        run_texts(model, request, Self::NAME, &gradient.layer, |_| {
            let rows = match noise.as_mut() {
                Some(given) => {
                    Rows::Noise(given.next().ok_or_else(|| Error::Internal("noise ran out".into()))?)
                }
                None => Rows::SeededNoise { seed: self.seed, samples: self.nt_samples, stdev: self.stdevs },
            };
            Ok(Plan {
                method: Self::NAME,
                layer: &gradient.layer,
                multiplier: gradient.multiplier,
                combine,
                rows,
                delta: false,
                memory_budget_mb: self.memory_budget_mb,
            })
        })
    }

    /// NoiseTunnel with the caller's noise, one `[samples, tokens, hidden]` tensor per text
    /// (`nt_samples`, `stdevs` and `seed` are not used); checks the config and the model's
    /// capabilities first.
    pub fn explain_with_noise(
        &self,
        model: &dyn Model,
        request: &Request<'_>,
        noise: Vec<Tensor>,
    ) -> Result<Vec<Attribution>> {
        model.info().require(&format!("method {:?}", Self::NAME), self.requires())?;
        self.run(model, request, Some(noise))
    }
}

explainer_core::register_method! {
    name: NoiseTunnel::NAME,
    config: NoiseTunnel,
    summary: "NoiseTunnel (Captum): SmoothGrad, SmoothGrad² or VarGrad of a wrapped gradient method over noisy word embeddings.",
    requires: [Forward, LayerHooks],
    convergence_delta: false,
    impl {
        fn claims(&self) -> Vec<Claim> {
            self.axiom_claims()
        }

        fn validate(&self) -> Result<()> {
            self.check()
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            self.run(model, request, None)
        }
    }
}
