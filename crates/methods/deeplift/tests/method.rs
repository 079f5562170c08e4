//! DeepLift and DeepLiftShap on the tiny model: every label from one paired forward, texts
//! batched without leaking, chunking, DeepLiftShap as the mean over draws, per-dimension
//! scores, and clear errors.

#![allow(clippy::unwrap_used)]

use std::cell::Cell;

use approx::assert_relative_eq;
use explainer_core::{
    Attribution, Baseline, Capabilities, Capability, Encoding, Error, ForwardCtx, InputBatch, Method, Model,
    ModelInfo, Output, Reference, Request, Result, Target, TextEncoder, explain, registry,
};
use explainer_deeplift::{DeepLift, DeepLiftShap};
use explainer_testing::TinyClassifier;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Non-special tokens replaced by `id + d` for draws d in `first..first + draws`.
#[derive(Debug, Serialize, Deserialize)]
struct Replace {
    id: i64,
    first: i64,
    draws: i64,
}

#[typetag::serde(name = "test-replace")]
impl Baseline for Replace {
    fn references(&self, _: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
        Ok((self.first..self.first + self.draws)
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

/// Counts forward passes, and can hide capabilities.
struct Counting {
    inner: TinyClassifier,
    info: ModelInfo,
    runs: Cell<usize>,
}

impl Counting {
    fn new(inner: TinyClassifier) -> Self {
        let info = inner.info().clone();
        Counting { inner, info, runs: Cell::new(0) }
    }
}

impl Model for Counting {
    fn info(&self) -> &ModelInfo {
        &self.info
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

fn request_run(
    model: &dyn Model,
    method: &dyn Method,
    texts: &[&str],
    target: Target,
    baseline: &dyn Baseline,
    per_dimension: bool,
) -> Result<Vec<Attribution>> {
    let encodings: Vec<Encoding> = texts.iter().map(|t| model.encoder().encode(t).unwrap()).collect();
    let request = Request {
        encodings: &encodings,
        target: &target,
        baseline,
        output: Output::Probability,
        per_dimension,
    };
    explain(method, model, &request)
}

fn run(
    model: &dyn Model,
    method: &dyn Method,
    texts: &[&str],
    target: Target,
    baseline: &dyn Baseline,
) -> Vec<Attribution> {
    request_run(model, method, texts, target, baseline, false).unwrap()
}

fn pad() -> Replace {
    Replace { id: 0, first: 0, draws: 1 }
}

fn assert_same(a: &Attribution, b: &Attribution, epsilon: f64) {
    assert_eq!(a.targets.len(), b.targets.len());
    for (x, y) in a.targets.iter().zip(&b.targets) {
        assert_eq!(x.label_index, y.label_index);
        assert_eq!(x.tokens.len(), y.tokens.len());
        for (p, q) in x.tokens.iter().zip(&y.tokens) {
            assert_relative_eq!(p, q, epsilon = epsilon);
        }
        assert_relative_eq!(x.f_input, y.f_input, epsilon = epsilon);
        assert_relative_eq!(x.f_baseline, y.f_baseline, epsilon = epsilon);
    }
}

#[test]
fn every_label_comes_from_one_paired_forward_and_equals_each_label_alone() {
    let model = Counting::new(f64_model());
    let all = run(&model, &DeepLift::default(), &TEXTS[..1], Target::All, &pad());
    // One forward that stops at the word embeddings for the reference, one paired forward.
    assert_eq!(model.runs.get(), 2);
    assert_eq!(all[0].targets.len(), model.info().labels.len());
    for (j, target) in all[0].targets.iter().enumerate() {
        let alone =
            run(&model, &DeepLift::default(), &TEXTS[..1], Target::Indices { indices: vec![j] }, &pad());
        assert_eq!(alone[0].targets.len(), 1);
        for (a, b) in target.tokens.iter().zip(&alone[0].targets[0].tokens) {
            assert_relative_eq!(a, b, epsilon = 1e-12);
        }
        assert!(target.tokens.iter().any(|v| v.abs() > 1e-6), "label {j} has no attribution at all");
    }
}

#[test]
fn several_texts_in_one_call_equal_each_text_alone() {
    let model = Counting::new(f64_model());
    let together = run(&model, &DeepLift::default(), TEXTS, Target::All, &pad());
    assert_eq!(model.runs.get(), 2, "all texts share one paired forward");
    for (i, text) in TEXTS.iter().enumerate() {
        let alone = run(&model, &DeepLift::default(), &[text], Target::All, &pad());
        assert_same(&together[i], &alone[0], 1e-12);
        assert_eq!(together[i].encoding.len(), alone[0].encoding.len());
    }
}

#[test]
fn a_small_memory_budget_chunks_without_changing_anything() {
    let model = Counting::new(f64_model());
    let whole = run(&model, &DeepLift::default(), TEXTS, Target::All, &Replace { id: 9, first: 0, draws: 3 });
    model.runs.set(0);
    let method = DeepLift { memory_budget_mb: 1, ..DeepLift::default() };
    let chunked = run(&model, &method, TEXTS, Target::All, &Replace { id: 9, first: 0, draws: 3 });
    assert!(model.runs.get() > 2, "the budget should force several chunks: {} forwards", model.runs.get());
    for (a, b) in whole.iter().zip(&chunked) {
        assert_same(a, b, 1e-12);
    }
}

#[test]
fn baseline_equal_to_input_gives_exact_zeros() {
    let model = f64_model();
    let result = run(&model, &DeepLift::default(), TEXTS, Target::All, &Same);
    for a in &result {
        for t in &a.targets {
            // Equal up to the row-dependent rounding of batched matrix products.
            assert_relative_eq!(t.f_input, t.f_baseline, epsilon = 1e-14);
            assert!(t.tokens.iter().all(|&v| v == 0.0), "{:?}", t.tokens);
        }
    }
}

#[test]
fn deeplift_shap_is_the_mean_of_deeplift_over_the_draws() {
    let model = f64_model();
    let shap = run(
        &model,
        &DeepLiftShap::default(),
        &TEXTS[..2],
        Target::All,
        &Replace { id: 9, first: 0, draws: 3 },
    );
    let singles: Vec<Vec<Attribution>> = (0..3)
        .map(|d| {
            run(
                &model,
                &DeepLift::default(),
                &TEXTS[..2],
                Target::All,
                &Replace { id: 9, first: d, draws: 1 },
            )
        })
        .collect();
    for (i, a) in shap.iter().enumerate() {
        assert_eq!(a.method, "deeplift-shap");
        for (j, t) in a.targets.iter().enumerate() {
            for (k, v) in t.tokens.iter().enumerate() {
                let mean = singles.iter().map(|s| s[i].targets[j].tokens[k]).sum::<f64>() / 3.0;
                assert_relative_eq!(*v, mean, epsilon = 1e-12);
            }
            let mean_baseline = singles.iter().map(|s| s[i].targets[j].f_baseline).sum::<f64>() / 3.0;
            assert_relative_eq!(t.f_baseline, mean_baseline, epsilon = 1e-12);
            assert!(t.token_spread.as_ref().unwrap().iter().any(|s| *s > 0.0));
            assert!(t.delta.unwrap().abs() < 1e-10 * (t.f_input - t.f_baseline).abs().max(1e-3));
        }
    }
}

#[test]
fn deeplift_shap_needs_several_draws() {
    let model = f64_model();
    let err =
        request_run(&model, &DeepLiftShap::default(), &TEXTS[..1], Target::All, &pad(), false).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
    assert!(err.to_string().contains("draws"), "{err}");
}

#[test]
fn per_dimension_scores_sum_to_the_token_scores() {
    let model = f64_model();
    let result = request_run(&model, &DeepLift::default(), &TEXTS[..1], Target::All, &pad(), true).unwrap();
    let hidden = model.info().hidden_size;
    for t in &result[0].targets {
        let dims = t.per_dimension.as_ref().unwrap();
        assert_eq!(dims.len(), t.tokens.len());
        for (row, total) in dims.iter().zip(&t.tokens) {
            assert_eq!(row.len(), hidden);
            assert_relative_eq!(row.iter().sum::<f64>(), *total, epsilon = 1e-12);
        }
    }
}

#[test]
fn f32_and_f64_agree() {
    let m32 = TinyClassifier::default_multilabel();
    let m64 = f64_model();
    let a = run(&m32, &DeepLift::default(), TEXTS, Target::All, &pad());
    let b = run(&m64, &DeepLift::default(), TEXTS, Target::All, &pad());
    for (x, y) in a.iter().zip(&b) {
        assert_same(x, y, 1e-5);
    }
}

#[test]
fn a_model_without_op_rules_is_a_clear_error() {
    let mut model = Counting::new(f64_model());
    model.info.capabilities = Capabilities::of(&[Capability::Forward, Capability::LayerHooks]);
    let err = request_run(&model, &DeepLift::default(), &TEXTS[..1], Target::All, &pad(), false).unwrap_err();
    assert!(matches!(err, Error::MissingCapability { capability: Capability::OpRules, .. }), "{err}");
    assert!(err.to_string().contains("op-rules"), "{err}");
}

#[test]
fn bad_layers_are_clear_errors() {
    let model = f64_model();
    let method = DeepLift { layer: "encoder.7".into(), ..DeepLift::default() };
    let err = request_run(&model, &method, &TEXTS[..1], Target::All, &pad(), false).unwrap_err();
    assert!(matches!(err, Error::UnknownName { kind: "layer", .. }), "{err}");
    let method = DeepLift { layer: "classifier".into(), ..DeepLift::default() };
    let err = request_run(&model, &method, &TEXTS[..1], Target::All, &pad(), false).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
    let method = DeepLift { layer: "pooler".into(), ..DeepLift::default() };
    let err = request_run(&model, &method, &TEXTS[..1], Target::All, &pad(), false).unwrap_err();
    assert!(err.to_string().contains("token dimension"), "{err}");
    let method = DeepLift { memory_budget_mb: 0, ..DeepLift::default() };
    let err = request_run(&model, &method, &TEXTS[..1], Target::All, &pad(), false).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
}

#[test]
fn baseline_of_another_length_is_a_clear_error() {
    #[derive(Debug, Serialize, Deserialize)]
    struct Short;
    #[typetag::serde(name = "test-short")]
    impl Baseline for Short {
        fn references(&self, _: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
            Ok(vec![Reference::Ids(input.ids[..1].to_vec())])
        }
    }
    let err =
        request_run(&f64_model(), &DeepLift::default(), &TEXTS[..1], Target::All, &Short, false).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err}");
}

#[test]
fn registered_and_configurable_by_name() {
    let names: Vec<&str> = registry::methods().iter().map(|e| e.name).collect();
    assert!(names.contains(&"deeplift") && names.contains(&"deeplift-shap"), "{names:?}");
    let method =
        registry::method("deeplift").unwrap().configure(serde_json::json!({"layer": "encoder.0"})).unwrap();
    let json = serde_json::to_string(&method).unwrap();
    assert!(json.contains("\"encoder.0\""), "{json}");
    let err = registry::method("deeplift")
        .unwrap()
        .configure(serde_json::json!({"layr": "encoder.0"}))
        .unwrap_err();
    assert!(err.to_string().contains("layr"), "{err}");
    let model = f64_model();
    let a = run(&model, method.as_ref(), &TEXTS[..1], Target::All, &pad());
    assert_eq!(a[0].layer, "encoder.0");
}
