//! The gradient family on the tiny model: gradients against central finite differences (f64),
//! every label from one forward pass, GradientSHAP's estimator against its expectation,
//! NoiseTunnel's statistics, draws that do not depend on the batch, and clear errors.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::cell::Cell;

use explainer_core::{
    Attribution, Baseline, Capabilities, Capability, DefaultOps, Encoding, ForwardCtx, Hooks, InputBatch,
    Method, Model, ModelInfo, Output, Reference, Request, Result, Target, TextEncoder, explain, registry,
};
use explainer_gradients::{
    GradientShap, InputXGradient, LayerGradientXActivation, NoiseTunnel, NoiseType, Saliency,
};
use explainer_testing::TinyClassifier;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Non-special tokens replaced by `id + d` in draw d.
#[derive(Debug, Serialize, Deserialize)]
struct Replace {
    id: i64,
    draws: i64,
}

#[typetag::serde(name = "test-gradients-replace")]
impl Baseline for Replace {
    fn references(&self, _: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
        Ok((0..self.draws)
            .map(|d| {
                Reference::Ids(
                    input
                        .ids
                        .iter()
                        .zip(&input.special)
                        .map(|(&i, &s)| if s { i } else { self.id + d })
                        .collect(),
                )
            })
            .collect())
    }
}

/// Counts forward passes.
struct Counting {
    inner: TinyClassifier,
    runs: Cell<usize>,
}

impl Model for Counting {
    fn info(&self) -> &ModelInfo {
        self.inner.info()
    }
    fn encoder(&self) -> &dyn TextEncoder {
        self.inner.encoder()
    }
    fn device(&self) -> Device {
        self.inner.device()
    }
    fn kind(&self) -> Kind {
        self.inner.kind()
    }
    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        self.runs.set(self.runs.get() + 1);
        self.inner.forward(input, ctx)
    }
}

const TEXTS: &[&str] = &[
    "Please verify your account password now, the payment was refunded twice.",
    "hello world",
    "send the wire transfer immediately or you will be hurt, idiot",
];

fn f64_model() -> TinyClassifier {
    TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap()
}

fn run_with(
    model: &dyn Model,
    method: &dyn Method,
    texts: &[&str],
    target: Target,
    baseline: &dyn Baseline,
    per_dimension: bool,
) -> Vec<Attribution> {
    let encodings: Vec<Encoding> = texts.iter().map(|t| model.encoder().encode(t).unwrap()).collect();
    let request = Request {
        encodings: &encodings,
        target: &target,
        baseline,
        output: Output::Probability,
        per_dimension,
    };
    explain(method, model, &request).unwrap()
}

fn run(model: &dyn Model, method: &dyn Method, texts: &[&str], target: Target) -> Vec<Attribution> {
    run_with(model, method, texts, target, &Replace { id: 0, draws: 1 }, false)
}

/// The direction the finite differences shift each token's activation along (not along 1:
/// LayerNorm after the word embeddings ignores that direction, so its derivative is 0).
fn direction(width: usize) -> Vec<f64> {
    (0..width).map(|d| ((d * 7) % 5) as f64 - 2.0).collect()
}

/// Σ_d v_d ∂F_label/∂a[token, d] at `layer` by central differences along v (`direction`):
/// (F(a + h·v_token) − F(a − h·v_token)) / 2h.
fn directional_derivatives(
    model: &TinyClassifier,
    text: &str,
    layer: &str,
    label: i64,
    width: usize,
) -> Vec<f64> {
    let encoding = model.encoder().encode(text).unwrap();
    let input = InputBatch::single(&encoding, model.device()).unwrap();
    let h = 1e-5;
    let v = Tensor::from_slice(&direction(width)).to_kind(model.kind());
    (0..encoding.len() as i64)
        .map(|token| {
            let f = |sign: f64| {
                let mut hooks = Hooks::new();
                let step = v.f_mul_scalar(sign * h).unwrap();
                hooks.replace(layer, move |a| {
                    let shifted = a.f_detach()?.f_mul_scalar(1.0)?;
                    let _ = shifted.f_get(0)?.f_get(token)?.f_add_(&step)?;
                    Ok(shifted)
                });
                let logits = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps)).unwrap();
                let p = model.info().problem.scores(&logits).unwrap();
                p.double_value(&[0, label])
            };
            (f(1.0) - f(-1.0)) / (2.0 * h)
        })
        .collect()
}

fn assert_close(got: &[f64], want: &[f64], relative: f64, what: &str) {
    let scale = want.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-300);
    for (a, b) in got.iter().zip(want) {
        assert!((a - b).abs() <= relative * scale, "{what}: {a} vs {b} (scale {scale:e})");
    }
}

/// Σ_d v_d a[token][d] per token.
fn along(per_dimension: &[Vec<f64>]) -> Vec<f64> {
    let v = direction(per_dimension[0].len());
    per_dimension.iter().map(|row| row.iter().zip(&v).map(|(a, b)| a * b).sum()).collect()
}

#[test]
fn gradients_match_finite_differences_at_every_layer() {
    let model = f64_model();
    let pad = Replace { id: 0, draws: 1 };
    // h = 1e-5: truncation error ~h²·F‴ ≈ 1e-10, cancellation ~1e-16 / 1e-5 = 1e-11.
    for layer in ["embeddings.word", "embeddings", "encoder.0", "encoder.1"] {
        let method = LayerGradientXActivation { layer: layer.into(), multiply_by_inputs: false };
        let label = Target::Indices { indices: vec![1] };
        let ours = run_with(&model, &method, &TEXTS[..1], label, &pad, true);
        assert_eq!(ours[0].layer, layer);
        for t in &ours[0].targets {
            let dims = t.per_dimension.as_ref().unwrap();
            // Tokens are the per-dimension sums, up to rounding relative to Σ|terms| (at the
            // word embeddings, before a LayerNorm, they cancel to ~0: Σ_d ∂F/∂e_d = 0).
            for (token, row) in t.tokens.iter().zip(dims) {
                let mass: f64 = row.iter().map(|v| v.abs()).sum();
                assert!((token - row.iter().sum::<f64>()).abs() <= 1e-12 * mass, "{layer}: token sum");
            }
            let fd = directional_derivatives(&model, TEXTS[0], layer, t.label_index as i64, dims[0].len());
            assert_close(&along(dims), &fd, 1e-6, layer);
        }
    }
    let signed = run_with(
        &model,
        &Saliency { abs: false },
        &TEXTS[..1],
        Target::Indices { indices: vec![2] },
        &pad,
        true,
    );
    let dims = signed[0].targets[0].per_dimension.as_ref().unwrap();
    let fd = directional_derivatives(&model, TEXTS[0], "embeddings.word", 2, dims[0].len());
    assert_close(&along(dims), &fd, 1e-6, "signed saliency");
}

#[test]
fn abs_saliency_is_the_l1_norm_and_input_x_gradient_the_word_layer_product() {
    let model = f64_model();
    let pad = Replace { id: 0, draws: 1 };
    let signed = run_with(&model, &Saliency { abs: false }, &TEXTS[..1], Target::All, &pad, true);
    let abs = run_with(&model, &Saliency::default(), &TEXTS[..1], Target::All, &pad, true);
    for (s, a) in signed[0].targets.iter().zip(&abs[0].targets) {
        for (rs, ra) in s.per_dimension.as_ref().unwrap().iter().zip(a.per_dimension.as_ref().unwrap()) {
            let l1: f64 = rs.iter().map(|v| v.abs()).sum();
            assert!(ra.iter().all(|v| *v >= 0.0));
            assert!((ra.iter().sum::<f64>() - l1).abs() <= 1e-12 * l1.max(1e-300));
        }
        assert!(a.delta.is_none() && a.token_spread.is_none());
    }
    let ixg = run(&model, &InputXGradient {}, &TEXTS[..1], Target::All);
    let layer = LayerGradientXActivation { layer: "embeddings.word".into(), multiply_by_inputs: true };
    let lgxa = run(&model, &layer, &TEXTS[..1], Target::All);
    assert_eq!(ixg[0].targets, lgxa[0].targets);
    assert_eq!(ixg[0].method, "input-x-gradient");
}

#[test]
fn every_label_comes_from_one_gradient_pass_and_equals_each_label_alone() {
    let model = Counting { inner: f64_model(), runs: Cell::new(0) };
    let all = run(&model, &InputXGradient {}, &TEXTS[..1], Target::All);
    // the reference's word embeddings (a pass stopped there), F(x₀), and ONE pass with graph
    assert_eq!(model.runs.get(), 3);
    assert_eq!(all[0].targets.len(), model.info().labels.len());
    for (j, target) in all[0].targets.iter().enumerate() {
        let alone = run(&model, &InputXGradient {}, &TEXTS[..1], Target::Indices { indices: vec![j] });
        assert_eq!(alone[0].targets[0].tokens, target.tokens);
    }
    // NoiseTunnel: the same two, a clean forward for the scores, ONE pass for all samples.
    model.runs.set(0);
    let tunnel = NoiseTunnel { nt_samples: 8, ..NoiseTunnel::default() };
    run(&model, &tunnel, &TEXTS[..1], Target::All);
    assert_eq!(model.runs.get(), 4);
}

#[test]
fn chunking_from_the_memory_budget_changes_nothing() {
    let model = Counting { inner: f64_model(), runs: Cell::new(0) };
    let many = GradientShap { n_samples: 300, stdevs: 0.01, ..GradientShap::default() };
    let big = run(&model, &many, &TEXTS[..1], Target::All);
    let runs_big = model.runs.replace(0);
    let small = GradientShap { memory_budget_mb: 1, ..many };
    let chunked = run(&model, &small, &TEXTS[..1], Target::All);
    assert!(model.runs.get() > runs_big, "{} passes vs {runs_big}", model.runs.get());
    for (a, b) in big[0].targets.iter().zip(&chunked[0].targets) {
        assert_close(&a.tokens, &b.tokens, 1e-12, "chunked");
    }
}

#[test]
fn gradient_shap_is_complete_in_expectation_within_its_standard_error() {
    let model = f64_model();
    let baseline = Replace { id: 0, draws: 3 };
    for (samples, seed) in [(400, 0), (400, 7)] {
        let method = GradientShap { n_samples: samples, seed, ..GradientShap::default() };
        let result = run_with(&model, &method, &TEXTS[..1], Target::All, &baseline, false);
        for t in &result[0].targets {
            let se = t.error_estimate.unwrap();
            let delta = t.delta.unwrap();
            assert!((delta - t.completeness_gap()).abs() < 1e-12);
            assert!(se > 0.0 && se < (t.f_input - t.f_baseline).abs().max(1e-6), "se {se}");
            // E[Σ A] = F(x) − mean F(x₀) exactly (uniform α, uniform draws, no noise): the
            // mean of 400 draws lies within 4.5 standard errors but with probability ~7e-6.
            assert!(delta.abs() <= 4.5 * se, "seed {seed}: delta {delta:e} vs standard error {se:e}");
            assert_eq!(t.token_spread.as_ref().unwrap().len(), t.tokens.len());
        }
    }
    // Another seed, other draws.
    let a = run_with(&model, &GradientShap::default(), &TEXTS[..1], Target::All, &baseline, false);
    let b = run_with(
        &model,
        &GradientShap { seed: 1, ..GradientShap::default() },
        &TEXTS[..1],
        Target::All,
        &baseline,
        false,
    );
    assert_ne!(a[0].targets[0].tokens, b[0].targets[0].tokens);
    // Without multiply_by_inputs: mean gradients, no delta.
    let plain = GradientShap { multiply_by_inputs: false, ..GradientShap::default() };
    assert!(!plain.has_convergence_delta());
    let r = run_with(&model, &plain, &TEXTS[..1], Target::All, &baseline, false);
    assert!(r[0].targets.iter().all(|t| t.delta.is_none()));
}

#[test]
fn a_texts_draws_do_not_depend_on_its_neighbours() {
    let model = TinyClassifier::default_multilabel();
    let baseline = Replace { id: 0, draws: 2 };
    let methods: Vec<Box<dyn Method>> = vec![
        Box::new(GradientShap { stdevs: 0.05, ..GradientShap::default() }),
        Box::new(NoiseTunnel::default()),
    ];
    for method in &methods {
        let together = run_with(&model, method.as_ref(), TEXTS, Target::All, &baseline, false);
        for (i, text) in TEXTS.iter().enumerate() {
            let alone = run_with(&model, method.as_ref(), &[text], Target::All, &baseline, false);
            assert_eq!(together[i].targets, alone[0].targets, "{} text {i}", method.typetag_name());
        }
    }
}

#[test]
fn noise_tunnel_statistics_without_noise_are_the_inner_methods() {
    let model = f64_model();
    let pad = Replace { id: 0, draws: 1 };
    let inner = run_with(&model, &InputXGradient {}, &TEXTS[..1], Target::All, &pad, true);
    for nt_type in [NoiseType::Smoothgrad, NoiseType::SmoothgradSq, NoiseType::Vargrad] {
        let tunnel = NoiseTunnel {
            inner: Box::new(InputXGradient {}),
            nt_type,
            stdevs: 0.0,
            nt_samples: 3,
            ..NoiseTunnel::default()
        };
        let got = run_with(&model, &tunnel, &TEXTS[..1], Target::All, &pad, true);
        for (g, i) in got[0].targets.iter().zip(&inner[0].targets) {
            let want: Vec<f64> = match nt_type {
                NoiseType::Smoothgrad => i.tokens.clone(),
                NoiseType::SmoothgradSq => {
                    i.per_dimension.as_ref().unwrap().iter().map(|r| r.iter().map(|v| v * v).sum()).collect()
                }
                NoiseType::Vargrad => vec![0.0; i.tokens.len()],
            };
            let scale = want.iter().chain(&i.tokens).fold(0.0f64, |m, x| m.max(x.abs()));
            for (a, b) in g.tokens.iter().zip(&want) {
                assert!((a - b).abs() <= 1e-12 * scale, "{nt_type:?}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn configs_round_trip_through_the_registry_and_bad_ones_are_clear_errors() {
    use explainer_gradients as _;
    assert!(registry::check_registries().is_empty(), "{:?}", registry::check_registries());
    for name in
        ["saliency", "input-x-gradient", "layer-gradient-x-activation", "gradient-shap", "noise-tunnel"]
    {
        let entry = registry::method(name).unwrap();
        let config = (entry.default_config)();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["method"], name);
        let back: Box<dyn Method> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        assert!(!config.claims().iter().any(|c| c.axiom == explainer_core::Axiom::Completeness), "{name}");
    }
    let tunnel = registry::method("noise-tunnel").unwrap();
    let vargrad = tunnel
        .configure(serde_json::json!({"inner": {"method": "layer-gradient-x-activation", "layer": "encoder.0"}, "nt_type": "vargrad"}))
        .unwrap();
    assert_eq!(serde_json::to_value(&vargrad).unwrap()["inner"]["layer"], "encoder.0");
    let message = |options| tunnel.configure(options).unwrap_err().to_string();
    let nested = message(serde_json::json!({"inner": {"method": "gradient-shap"}}));
    assert!(
        nested.contains("cannot wrap \"gradient-shap\"") && nested.contains("saliency, input-x-gradient"),
        "{nested}"
    );
    let typo = message(serde_json::json!({"inner": {"method": "salency"}}));
    assert!(typo.contains("salency"), "{typo}");
    let zero = message(serde_json::json!({"nt_samples": 0}));
    assert!(zero.contains("nt_samples"), "{zero}");
    let shap = registry::method("gradient-shap").unwrap();
    let negative = shap.configure(serde_json::json!({"stdevs": -1.0})).unwrap_err().to_string();
    assert!(negative.contains("stdevs"), "{negative}");

    let model = TinyClassifier::default_multilabel();
    let encodings = [model.encoder().encode("hello world").unwrap()];
    let pad = Replace { id: 0, draws: 1 };
    let request = Request {
        encodings: &encodings,
        target: &Target::All,
        baseline: &pad,
        output: Output::Logit,
        per_dimension: false,
    };
    for layer in ["pooler", "classifier", "encoder.9"] {
        let method = LayerGradientXActivation { layer: layer.into(), multiply_by_inputs: true };
        let err = explain(&method, &model, &request).unwrap_err().to_string();
        assert!(err.contains(layer), "{layer}: {err}");
    }
    let forward_only =
        TinyClassifier::default_multilabel().with_capabilities(Capabilities::of(&[Capability::Forward]));
    let err = explain(&Saliency::default(), &forward_only, &request).unwrap_err().to_string();
    assert!(err.contains("layer-hooks") && err.contains("saliency"), "{err}");
}
