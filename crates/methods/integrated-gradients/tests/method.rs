//! Layer Integrated Gradients on the tiny model: completeness, every label at once, chunking,
//! several texts, baselines with several draws, adaptive steps, and clear errors.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::cell::Cell;

use approx::assert_relative_eq;
use explainer_core::{
    Attribution, Baseline, Capabilities, Capability, Encoding, Error, ForwardCtx, InputBatch, Method, Model,
    ModelInfo, Output, Reference, Request, Result, Rule, Target, TextEncoder, explain,
};
use explainer_integrated_gradients::{IntegratedGradients, LayerIntegratedGradients};
use explainer_testing::TinyClassifier;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Non-special tokens replaced by `id`, `draws` times (draw d uses id + d).
#[derive(Debug, Serialize, Deserialize)]
struct Replace {
    id: i64,
    draws: i64,
}

#[typetag::serde(name = "test-replace")]
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

/// The input itself.
#[derive(Debug, Serialize, Deserialize)]
struct Same;

#[typetag::serde(name = "test-same")]
impl Baseline for Same {
    fn references(&self, _: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
        Ok(vec![Reference::Ids(input.ids.clone())])
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

fn run(
    model: &dyn Model,
    method: &dyn Method,
    texts: &[&str],
    target: Target,
    baseline: &dyn Baseline,
) -> Vec<Attribution> {
    let encodings: Vec<Encoding> = texts.iter().map(|t| model.encoder().encode(t).unwrap()).collect();
    let request = Request {
        encodings: &encodings,
        target: &target,
        baseline,
        output: Output::Probability,
        per_dimension: false,
    };
    explain(method, model, &request).unwrap()
}

fn pad() -> Replace {
    Replace { id: 0, draws: 1 }
}

#[test]
fn completeness_closes_as_the_steps_grow() {
    let model = f64_model();
    let mut previous = f64::INFINITY;
    for n in [4, 16, 64] {
        let method = LayerIntegratedGradients { n_steps: n, ..Default::default() };
        let result = run(&model, &method, &TEXTS[..1], Target::All, &pad());
        let worst = result[0].targets.iter().map(|t| t.delta.unwrap().abs()).fold(0.0, f64::max);
        for t in &result[0].targets {
            assert_relative_eq!(t.delta.unwrap(), t.completeness_gap(), epsilon = 1e-12);
            assert!(t.f_input != t.f_baseline);
        }
        assert!(worst < previous, "n={n}: {worst} not below {previous}");
        previous = worst;
    }
    assert!(previous < 1e-8, "Gauss–Legendre 64 on a smooth path: {previous}");
}

#[test]
fn every_label_at_once_equals_each_label_alone_and_costs_one_forward_per_chunk() {
    let model = Counting { inner: f64_model(), runs: Cell::new(0) };
    let method = LayerIntegratedGradients::default();
    let all = run(&model, &method, &TEXTS[..1], Target::All, &pad());
    // input, baseline activation, path start F(x₀), and ONE chunk of 50 steps for 5 labels
    assert_eq!(model.runs.get(), 4);
    for (j, target) in all[0].targets.iter().enumerate() {
        let alone = run(&model, &method, &TEXTS[..1], Target::Indices { indices: vec![j] }, &pad());
        assert_eq!(alone[0].targets.len(), 1);
        for (a, b) in target.tokens.iter().zip(&alone[0].targets[0].tokens) {
            assert_relative_eq!(a, b, epsilon = 1e-12);
        }
    }
}

#[test]
fn chunking_from_the_memory_budget_changes_nothing() {
    let model = Counting { inner: f64_model(), runs: Cell::new(0) };
    let big = run(&model, &LayerIntegratedGradients::default(), &TEXTS[..1], Target::All, &pad());
    let runs_big = model.runs.replace(0);
    // 1 MiB holds only a few rows of even this tiny model at this length.
    let small = LayerIntegratedGradients { memory_budget_mb: 1, ..Default::default() };
    let chunked = run(&model, &small, &TEXTS[..1], Target::All, &pad());
    assert!(model.runs.get() > runs_big, "{} chunks vs {runs_big}", model.runs.get());
    for (a, b) in big[0].targets.iter().zip(&chunked[0].targets) {
        for (x, y) in a.tokens.iter().zip(&b.tokens) {
            assert_relative_eq!(x, y, epsilon = 1e-12);
        }
    }
}

#[test]
fn several_texts_in_one_call_equal_each_text_alone() {
    let model = TinyClassifier::default_multilabel();
    let method = LayerIntegratedGradients::default();
    let together = run(&model, &method, TEXTS, Target::All, &pad());
    assert_eq!(together.len(), TEXTS.len());
    for (i, text) in TEXTS.iter().enumerate() {
        let alone = run(&model, &method, &[text], Target::All, &pad());
        assert_eq!(together[i].encoding, alone[0].encoding);
        for (a, b) in together[i].targets.iter().zip(&alone[0].targets) {
            for (x, y) in a.tokens.iter().zip(&b.tokens) {
                assert!((x - y).abs() <= 1e-6, "text {i}: {x} vs {y}");
            }
        }
    }
}

/// Texts of similar length with the same labels: their interpolation rows share passes.
const SIMILAR: &[&str] = &[
    "the wire transfer was refunded twice today",
    "send the account password now please",
    "the payment was sent to the old account",
    "please verify the wire transfer now",
];

#[test]
fn packed_texts_share_passes_and_equal_each_text_alone() {
    let model = Counting { inner: f64_model(), runs: Cell::new(0) };
    let fixed = LayerIntegratedGradients { pack_token_rows: 1 << 20, ..Default::default() };
    let adaptive = LayerIntegratedGradients { tolerance: Some(1e-4), ..fixed.clone() };
    let draws = Replace { id: 3, draws: 3 };
    for (method, baseline) in [(&fixed, &pad()), (&adaptive, &pad()), (&fixed, &draws), (&adaptive, &draws)] {
        model.runs.set(0);
        let together = run(&model, method, SIMILAR, Target::All, baseline);
        let runs_together = model.runs.replace(0);
        let mut runs_alone = 0;
        for (i, text) in SIMILAR.iter().enumerate() {
            let alone = run(&model, method, &[text], Target::All, baseline);
            runs_alone += model.runs.replace(0);
            assert_eq!(together[i].encoding, alone[0].encoding);
            for (a, b) in together[i].targets.iter().zip(&alone[0].targets) {
                assert_eq!(a.label_index, b.label_index);
                assert_eq!(a.steps, b.steps, "text {i}: the adaptive mode stops where it stops alone");
                for (x, y) in a.tokens.iter().zip(&b.tokens) {
                    assert!((x - y).abs() <= 1e-12, "text {i}: {x} vs {y}");
                }
                assert!((a.delta.unwrap() - b.delta.unwrap()).abs() <= 1e-12);
                match (a.error_estimate, b.error_estimate) {
                    (Some(x), Some(y)) => assert!((x - y).abs() <= 1e-12 * (1.0 + y)),
                    (None, None) => {}
                    other => panic!("text {i}: error estimates {other:?}"),
                }
                assert_eq!(a.token_spread.is_some(), b.token_spread.is_some());
            }
        }
        // Three preparing passes per text either way; the integral's passes are shared.
        assert!(
            runs_together < runs_alone,
            "{method:?}: {runs_together} passes together, {runs_alone} one at a time"
        );
        if method.tolerance.is_none() {
            assert_eq!(runs_together, 3 * SIMILAR.len() + 1, "one pass of every text's rows");
        }
    }
}

#[test]
fn packing_in_float32_stays_within_rounding() {
    // f32: the padded, larger products round differently; the bound is 1e-6.
    let model = TinyClassifier::default_multilabel();
    let method = LayerIntegratedGradients { pack_token_rows: 1 << 20, ..Default::default() };
    let together = run(&model, &method, SIMILAR, Target::All, &pad());
    for (i, text) in SIMILAR.iter().enumerate() {
        let alone = run(&model, &method, &[text], Target::All, &pad());
        for (a, b) in together[i].targets.iter().zip(&alone[0].targets) {
            for (x, y) in a.tokens.iter().zip(&b.tokens) {
                assert!((x - y).abs() <= 1e-6, "text {i}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn integrated_gradients_is_lig_at_the_word_embeddings() {
    let model = f64_model();
    let ig = run(&model, &IntegratedGradients::default(), &TEXTS[..1], Target::Predicted, &pad());
    let lig = run(&model, &LayerIntegratedGradients::default(), &TEXTS[..1], Target::Predicted, &pad());
    assert_eq!(ig[0].targets, lig[0].targets);
    assert_eq!(ig[0].method, "integrated-gradients");
}

#[test]
fn deeper_layers_and_other_rules_keep_completeness() {
    let model = f64_model();
    for layer in ["embeddings", "encoder.0", "encoder.1"] {
        for rule in [Rule::GaussLegendre, Rule::RiemannMiddle, Rule::Trapezoid] {
            let method =
                LayerIntegratedGradients { layer: layer.into(), rule, n_steps: 200, ..Default::default() };
            let result = run(&model, &method, &TEXTS[..1], Target::All, &pad());
            assert_eq!(result[0].layer, layer);
            for t in &result[0].targets {
                let scale = (t.f_input - t.f_baseline).abs().max(1e-3);
                assert!(t.delta.unwrap().abs() <= 1e-3 * scale, "{layer} {rule}: delta {}", t.delta.unwrap());
            }
        }
    }
}

#[test]
fn a_baseline_equal_to_the_input_gives_zeros() {
    let model = f64_model();
    let result = run(&model, &LayerIntegratedGradients::default(), &TEXTS[..1], Target::All, &Same);
    for t in &result[0].targets {
        assert!(t.tokens.iter().all(|&x| x == 0.0), "{:?}", t.tokens);
        assert_eq!(t.f_input, t.f_baseline);
    }
}

#[test]
fn several_baseline_draws_are_averaged_with_their_spread() {
    let model = f64_model();
    let method = LayerIntegratedGradients::default();
    let three = run(
        &model,
        &method,
        &TEXTS[..1],
        Target::Indices { indices: vec![0] },
        &Replace { id: 10, draws: 3 },
    );
    let t = &three[0].targets[0];
    let mut mean = vec![0.0; t.tokens.len()];
    let mut f0 = 0.0;
    for d in 0..3 {
        let one = run(
            &model,
            &method,
            &TEXTS[..1],
            Target::Indices { indices: vec![0] },
            &Replace { id: 10 + d, draws: 1 },
        );
        for (m, x) in mean.iter_mut().zip(&one[0].targets[0].tokens) {
            *m += x / 3.0;
        }
        f0 += one[0].targets[0].f_baseline / 3.0;
    }
    for (a, b) in t.tokens.iter().zip(&mean) {
        assert_relative_eq!(a, b, epsilon = 1e-10);
    }
    assert_relative_eq!(t.f_baseline, f0, epsilon = 1e-12);
    let spread = t.token_spread.as_ref().unwrap();
    assert_eq!(spread[0], 0.0, "[CLS] is never replaced");
    assert!(spread[1] > 0.0);
}

#[test]
fn adaptive_mode_reaches_its_tolerance_and_says_so() {
    let model = f64_model();
    let method = LayerIntegratedGradients { tolerance: Some(1e-7), ..Default::default() };
    let result = run(&model, &method, &TEXTS[..1], Target::All, &pad());
    for t in &result[0].targets {
        let steps = t.steps.unwrap();
        // Nested Clenshaw–Curtis levels: 17, 33, 65, … points.
        assert!([17, 33, 65, 129, 257, 513].contains(&steps), "{steps}");
        let scale = t.tokens.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(t.error_estimate.unwrap() <= 1e-7 * scale);
        assert!(t.delta.unwrap().abs() <= 1e-7);
    }
    assert!(result[0].warnings.is_empty(), "{:?}", result[0].warnings);
    // Capped: the largest level within max_steps = 4 has 3 points.
    let capped = LayerIntegratedGradients { max_steps: 4, tolerance: Some(1e-12), ..Default::default() };
    let result = run(&model, &capped, &TEXTS[..1], Target::All, &pad());
    assert_eq!(result[0].targets[0].steps, Some(3));
    assert!(result[0].warnings[0].contains("stopped at max_steps = 4"), "{:?}", result[0].warnings);
    // Riemann rules keep the doubling mode (each round recomputed).
    let riemann = LayerIntegratedGradients {
        rule: Rule::RiemannMiddle,
        n_steps: 2,
        max_steps: 8,
        tolerance: Some(1e-12),
        ..Default::default()
    };
    let result = run(&model, &riemann, &TEXTS[..1], Target::All, &pad());
    assert_eq!(result[0].targets[0].steps, Some(8));
}

/// The adaptive error estimate is honest: the true error (against a 512-point Gauss–Legendre
/// integral, exact to f64 rounding here) is never more than 3 × the estimate, and within the
/// tolerance, at every tolerance, label, text and layer. The estimate is also not useless:
/// it stays within 1e4 × the true error where that error is above rounding.
#[test]
fn adaptive_error_estimate_bounds_the_true_error() {
    let model = f64_model();
    let mut checked = 0;
    for layer in ["embeddings.word", "encoder.0"] {
        let reference = LayerIntegratedGradients { layer: layer.into(), n_steps: 512, ..Default::default() };
        let exact = run(&model, &reference, TEXTS, Target::All, &pad());
        for tolerance in [1e-2, 1e-3, 1e-4, 1e-6] {
            let method = LayerIntegratedGradients {
                layer: layer.into(),
                tolerance: Some(tolerance),
                ..Default::default()
            };
            let got = run(&model, &method, TEXTS, Target::All, &pad());
            for (a, b) in got.iter().zip(&exact) {
                for (ta, tb) in a.targets.iter().zip(&b.targets) {
                    let scale = tb.tokens.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    let truth =
                        ta.tokens.iter().zip(&tb.tokens).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
                    let estimate = ta.error_estimate.unwrap();
                    let floor = 1e-12 * scale.max(1.0);
                    assert!(
                        truth <= 3.0 * estimate + floor,
                        "{layer} tol {tolerance}: true error {truth:.3e} > 3 × estimate {estimate:.3e}"
                    );
                    assert!(truth <= tolerance * scale + floor, "{layer} tol {tolerance}: {truth:.3e}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 2 * 4 * TEXTS.len());
}

/// A fixed-step run whose delta is large against F(x) − F(x₀) says so and points to the
/// adaptive mode; a converged one does not.
#[test]
fn a_fixed_run_with_a_large_delta_warns() {
    let model = f64_model();
    let coarse = LayerIntegratedGradients { n_steps: 1, ..Default::default() };
    let result = run(&model, &coarse, &TEXTS[..1], Target::All, &pad());
    let large = result[0].targets.iter().any(|t| {
        t.delta.unwrap().abs() > 1e-2 * (t.f_input - t.f_baseline).abs() && t.delta.unwrap().abs() > 1e-6
    });
    assert!(large, "the 1-step run should be off: {:?}", result[0].targets);
    assert!(
        result[0].warnings.iter().any(|w| w.contains("has not converged") && w.contains("--tolerance")),
        "{:?}",
        result[0].warnings
    );
    let fine = LayerIntegratedGradients { n_steps: 200, ..Default::default() };
    let result = run(&model, &fine, &TEXTS[..1], Target::All, &pad());
    assert!(result[0].warnings.is_empty(), "{:?}", result[0].warnings);
}

#[test]
fn per_dimension_scores_sum_to_the_token_scores() {
    let model = f64_model();
    let encodings = vec![model.encoder().encode(TEXTS[1]).unwrap()];
    let request = Request {
        encodings: &encodings,
        target: &Target::Predicted,
        baseline: &pad(),
        output: Output::Logit,
        per_dimension: true,
    };
    let result = explain(&LayerIntegratedGradients::default(), &model, &request).unwrap();
    let t = &result[0].targets[0];
    let dims = t.per_dimension.as_ref().unwrap();
    assert_eq!(dims.len(), t.tokens.len());
    for (row, total) in dims.iter().zip(&t.tokens) {
        assert_eq!(row.len(), model.info().hidden_size);
        assert_relative_eq!(row.iter().sum::<f64>(), *total, epsilon = 1e-12);
    }
    assert_eq!(result[0].output, Output::Logit);
}

#[test]
fn misuse_is_a_clear_error() {
    let model = TinyClassifier::default_multilabel();
    let encodings = vec![model.encoder().encode(TEXTS[0]).unwrap()];
    let request = Request {
        encodings: &encodings,
        target: &Target::All,
        baseline: &pad(),
        output: Output::Probability,
        per_dimension: false,
    };

    let forward_only =
        TinyClassifier::default_multilabel().with_capabilities(Capabilities::of(&[Capability::Forward]));
    let err = explain(&LayerIntegratedGradients::default(), &forward_only, &request).unwrap_err();
    assert!(matches!(err, Error::MissingCapability { capability: Capability::LayerHooks, .. }), "{err}");
    assert!(err.to_string().starts_with("method \"layer-integrated-gradients\" needs layer-hooks"), "{err}");

    let bad = LayerIntegratedGradients { layer: "encoder.9".into(), ..Default::default() };
    let err = explain(&bad, &model, &request).unwrap_err();
    assert!(err.to_string().contains("unknown layer \"encoder.9\""), "{err}");

    let pooled = LayerIntegratedGradients { layer: "pooler".into(), ..Default::default() };
    let err = explain(&pooled, &model, &request).unwrap_err();
    assert!(err.to_string().contains("has no token dimension"), "{err}");

    for bad in [
        LayerIntegratedGradients { n_steps: 0, ..Default::default() },
        LayerIntegratedGradients { rule: Rule::RiemannLeft, n_steps: 1, ..Default::default() },
        LayerIntegratedGradients { memory_budget_mb: 0, ..Default::default() },
        LayerIntegratedGradients { tolerance: Some(-1.0), ..Default::default() },
    ] {
        let err = explain(&bad, &model, &request).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
    }

    // A baseline whose length differs from the input's.
    #[derive(Debug, Serialize, Deserialize)]
    struct Short;
    #[typetag::serde(name = "test-short")]
    impl Baseline for Short {
        fn references(&self, _: &dyn Model, _: &Encoding) -> Result<Vec<Reference>> {
            Ok(vec![Reference::Ids(vec![2, 3])])
        }
    }
    let request = Request { baseline: &Short, ..request };
    let err = explain(&LayerIntegratedGradients::default(), &model, &request).unwrap_err();
    assert!(err.to_string().contains("the baseline has 2 tokens but the input has"), "{err}");
}

#[test]
fn configs_round_trip_and_are_registered() {
    use explainer_core::registry;
    let lig = registry::method("layer-integrated-gradients").unwrap();
    let method = lig
        .configure(serde_json::json!({"layer": "encoder.0", "n_steps": 20, "rule": "riemann_trapezoid"}))
        .unwrap();
    let json = serde_json::to_value(&method).unwrap();
    assert_eq!(json["method"], "layer-integrated-gradients");
    assert_eq!(json["rule"], "riemann_trapezoid");
    let back: Box<dyn Method> = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), json);
    assert!(registry::method("integrated-gradients").is_ok());
    let err = lig.configure(serde_json::json!({"steps": 20})).unwrap_err();
    assert!(err.to_string().contains("unknown field `steps`"), "{err}");
    assert!(registry::check_registries().is_empty(), "{:?}", registry::check_registries());
}
