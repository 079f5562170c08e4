//! The perturbation methods on models that offer nothing but a forward pass: exact answers on
//! a linear bag-of-words model (where every method must recover the weights), exact Shapley
//! values by brute force on the tiny model, KernelSHAP's sampled estimate against them within
//! its measured standard error, batching, deletion, several draws, and clear errors.

#![allow(clippy::unwrap_used)] // test helpers may panic

use explainer_core::{
    Attribution, Baseline, Capabilities, Capability, Encoding, ForwardCtx, InputBatch, Method, Model,
    ModelInfo, Output, Reference, Request, Result, Target, TextEncoder, explain, registry,
};
use explainer_perturbation::{
    FeatureAblation, Groups, Hierarchy, KernelShap, Lime, Occlusion, PartitionShap, Replacement,
    ShapleyValueSampling, Unit,
};
use explainer_testing::{SplitMix64, TinyClassifier};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

/// Non-special tokens replaced by `id + d` in draw d.
#[derive(Debug, Serialize, Deserialize)]
struct Replace {
    id: i64,
    draws: i64,
}

#[typetag::serde(name = "perturbation-test-replace")]
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

/// An embedding baseline (which token replacement cannot use).
#[derive(Debug, Serialize, Deserialize)]
struct Embedded;

#[typetag::serde(name = "perturbation-test-embedded")]
impl Baseline for Embedded {
    fn references(&self, _: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
        Ok(vec![Reference::Embeddings(Tensor::zeros([input.len() as i64, 16], (Kind::Float, Device::Cpu)))])
    }
}

/// The input itself.
#[derive(Debug, Serialize, Deserialize)]
struct Itself;

#[typetag::serde(name = "perturbation-test-itself")]
impl Baseline for Itself {
    fn references(&self, _: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
        Ok(vec![Reference::Ids(input.ids.clone())])
    }
}

fn pad() -> Replace {
    Replace { id: 0, draws: 1 }
}

/// A model that offers a forward pass and nothing else: no layers, no hooks, and a forward
/// that ignores the context it is given.
struct Opaque {
    inner: TinyClassifier,
    info: ModelInfo,
}

impl Opaque {
    fn new(inner: TinyClassifier) -> Self {
        let mut info = inner.info().clone();
        info.capabilities = Capabilities::of(&[Capability::Forward]);
        info.layers.clear();
        info.name = "opaque".into();
        Opaque { inner, info }
    }
}

impl Model for Opaque {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn encoder(&self) -> &dyn TextEncoder {
        self.inner.encoder()
    }
    fn device(&self) -> Device {
        Device::Cpu
    }
    fn kind(&self) -> Kind {
        self.inner.kind()
    }
    fn forward(&self, input: &InputBatch, _: &mut ForwardCtx<'_>) -> Result<Tensor> {
        self.inner.forward(input, &mut ForwardCtx::plain())
    }
}

/// logit_l = Σ_t w[id_t, l] over the real tokens: every method's scores are exact here.
struct BagOfWords {
    inner: TinyClassifier,
    info: ModelInfo,
    weights: Tensor,
}

impl BagOfWords {
    fn new() -> Self {
        let inner = TinyClassifier::default_multilabel();
        let mut info = inner.info().clone();
        info.capabilities = Capabilities::of(&[Capability::Forward]);
        info.layers.clear();
        let vocab = inner.encoder().vocab_size();
        let labels = info.labels.len();
        let mut rng = SplitMix64::new(11);
        let w: Vec<f64> = (0..vocab * labels).map(|_| rng.normal()).collect();
        let weights = Tensor::from_slice(&w).view([vocab as i64, labels as i64]);
        BagOfWords { inner, info, weights }
    }

    fn weight(&self, id: i64, label: usize) -> f64 {
        self.weights.double_value(&[id, label as i64])
    }
}

impl Model for BagOfWords {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn encoder(&self) -> &dyn TextEncoder {
        self.inner.encoder()
    }
    fn device(&self) -> Device {
        Device::Cpu
    }
    fn kind(&self) -> Kind {
        Kind::Double
    }
    fn forward(&self, input: &InputBatch, _: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let rows = Tensor::f_embedding(&self.weights, &input.ids, -1, false, false)?;
        let mask = input.attention_mask.f_to_kind(Kind::Double)?.f_unsqueeze(-1)?;
        Ok(rows.f_mul(&mask)?.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double)?)
    }
}

const TEXTS: &[&str] = &[
    "please verify your account password now the payment was refunded twice",
    "hello world",
    "send the wire transfer immediately or you will be hurt idiot",
];

fn run_with(
    model: &dyn Model,
    method: &dyn Method,
    texts: &[&str],
    target: Target,
    baseline: &dyn Baseline,
    output: Output,
) -> Result<Vec<Attribution>> {
    let encodings: Vec<Encoding> = texts.iter().map(|t| model.encoder().encode(t).unwrap()).collect();
    let request = Request { encodings: &encodings, target: &target, baseline, output, per_dimension: false };
    explain(method, model, &request)
}

fn run(model: &dyn Model, method: &dyn Method, texts: &[&str], target: Target) -> Vec<Attribution> {
    run_with(model, method, texts, target, &pad(), Output::Probability).unwrap()
}

fn all_methods() -> Vec<Box<dyn Method>> {
    vec![
        Box::new(Occlusion::default()),
        Box::new(FeatureAblation::default()),
        Box::new(ShapleyValueSampling::default()),
        Box::new(KernelShap::default()),
        Box::new(Lime::default()),
        Box::new(PartitionShap::default()),
    ]
}

#[test]
fn every_method_is_registered_forward_only() {
    assert!(registry::check_registries().is_empty(), "{:?}", registry::check_registries());
    for name in explainer_perturbation::NAMES {
        let entry = registry::method(name).unwrap();
        assert_eq!(entry.requires, Capabilities::of(&[Capability::Forward]), "{name}");
        let config = entry.configure(serde_json::json!({"memory_budget_mb": 64})).unwrap();
        assert_eq!(config.typetag_name(), name);
    }
    let mask = registry::method("feature-ablation")
        .unwrap()
        .configure(serde_json::json!({"groups": {"mask": [null, 0, 0, 1, null]}, "replace_with": "delete"}))
        .unwrap();
    let json = serde_json::to_value(&mask).unwrap();
    assert_eq!(json["groups"]["mask"], serde_json::json!([null, 0, 0, 1, null]));
}

#[test]
fn every_method_runs_on_a_model_with_nothing_but_a_forward_pass() {
    let model = Opaque::new(TinyClassifier::default_multilabel());
    for method in all_methods() {
        let results = run(&model, method.as_ref(), TEXTS, Target::All);
        assert_eq!(results.len(), TEXTS.len());
        for (a, text) in results.iter().zip(TEXTS) {
            assert_eq!(a.targets.len(), 5, "{}", a.method);
            let encoding = model.encoder().encode(text).unwrap();
            for t in &a.targets {
                assert_eq!(t.tokens.len(), encoding.len());
                assert!(t.tokens.iter().all(|v| v.is_finite()));
                // Special tokens are never perturbed; only occlusion's windows over them
                // (Captum's semantics) give them their neighbours' drops.
                if a.method != "occlusion" {
                    assert_eq!(t.tokens[0], 0.0, "{}", a.method);
                    assert_eq!(*t.tokens.last().unwrap(), 0.0, "{}", a.method);
                }
                assert!(t.tokens.iter().any(|v| *v != 0.0), "{}: all zero", a.method);
                assert_eq!(t.delta.is_some(), method.has_convergence_delta());
                if let Some(delta) = t.delta {
                    assert!(delta.abs() < 1e-12, "{}: delta {delta}", a.method);
                }
            }
        }
    }
}

#[test]
fn on_a_linear_model_every_method_recovers_the_weights_exactly() {
    let model = BagOfWords::new();
    let text = TEXTS[0];
    let encoding = model.encoder().encode(text).unwrap();
    let methods: Vec<Box<dyn Method>> = vec![
        Box::new(Occlusion { window: 1, ..Occlusion::default() }),
        Box::new(FeatureAblation { groups: Groups::Tokens, ..FeatureAblation::default() }),
        Box::new(ShapleyValueSampling { n_samples: 3, ..ShapleyValueSampling::default() }),
        // 11 words: 2046 coalitions > 64, so this samples.
        Box::new(KernelShap { n_samples: 64, ..KernelShap::default() }),
        Box::new(Lime { n_samples: 200, ridge: 0.0, ..Lime::default() }),
        // Owen values of a linear model are its Shapley values (shap's docs); 13 tokens expand
        // fully within the default budget.
        Box::new(PartitionShap::default()),
    ];
    for method in methods {
        let a = &run_with(&model, method.as_ref(), &[text], Target::All, &pad(), Output::Logit).unwrap()[0];
        for t in &a.targets {
            for (i, v) in t.tokens.iter().enumerate() {
                let expected = if encoding.special[i] {
                    0.0
                } else {
                    model.weight(encoding.ids[i], t.label_index) - model.weight(0, t.label_index)
                };
                assert!((v - expected).abs() < 1e-9, "{} token {i}: {v} vs {expected}", a.method);
            }
        }
    }
}

/// Exact Shapley values of the words of `text` by enumerating every coalition.
fn brute_force_shapley(model: &dyn Model, encoding: &Encoding, label: usize) -> Vec<f64> {
    let words = Groups::Words.features(encoding).unwrap();
    let m = words.len();
    let value = |bits: usize| {
        let mut e = encoding.clone();
        for (f, tokens) in words.iter().enumerate() {
            if bits >> f & 1 == 0 {
                for &t in tokens {
                    e.ids[t] = 0;
                }
            }
        }
        let logits = model.logits(&[&e]).unwrap();
        model.info().problem.scores(&logits).unwrap().double_value(&[0, label as i64])
    };
    let values: Vec<f64> = (0..1usize << m).map(value).collect();
    let factorial = |n: usize| (1..=n).map(|k| k as f64).product::<f64>();
    let mut phi = vec![0.0; m];
    for (f, p) in phi.iter_mut().enumerate() {
        for bits in 0..1usize << m {
            if bits >> f & 1 == 1 {
                continue;
            }
            let s = bits.count_ones() as usize;
            let w = factorial(s) * factorial(m - s - 1) / factorial(m);
            *p += w * (values[bits | 1 << f] - values[bits]);
        }
    }
    phi
}

fn word_scores(a: &Attribution, label: usize) -> Vec<f64> {
    let t = a.targets.iter().find(|t| t.label_index == label).unwrap();
    Groups::Words
        .features(&a.encoding)
        .unwrap()
        .iter()
        .map(|w| w.iter().map(|&i| t.tokens[i]).sum())
        .collect()
}

fn permutations(m: usize) -> Vec<Vec<usize>> {
    if m == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for p in permutations(m - 1) {
        for i in 0..=p.len() {
            let mut q = p.clone();
            q.insert(i, m - 1);
            out.push(q);
        }
    }
    out
}

#[test]
fn enumerated_kernel_shap_and_all_orders_give_the_exact_shapley_values() {
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let text = "verify your account password now";
    let encoding = model.encoder().encode(text).unwrap();
    let kernel = &run(&model, &KernelShap::default(), &[text], Target::All)[0];
    let orders = ShapleyValueSampling { permutations: Some(permutations(5)), ..Default::default() };
    let sampling = &run(&model, &orders, &[text], Target::All)[0];
    for label in 0..5 {
        let exact = brute_force_shapley(&model, &encoding, label);
        for (name, a) in [("kernel-shap", kernel), ("shapley-value-sampling", sampling)] {
            for (got, want) in word_scores(a, label).iter().zip(&exact) {
                assert!((got - want).abs() < 1e-12, "{name} label {label}: {got} vs {want}");
            }
        }
    }
}

#[test]
fn sampled_kernel_shap_is_unbiased_within_its_standard_error() {
    // 9 words: 510 coalitions, of which each run samples 40. Over 24 seeds, the mean must lie
    // within 4.5 standard errors (measured across the seeds) of the exact values; the
    // estimator's bias is O(1/n) and far smaller.
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let text = "please verify your account password now the payment was";
    let encoding = model.encoder().encode(text).unwrap();
    let label = 0;
    let exact = brute_force_shapley(&model, &encoding, label);
    let runs: Vec<Vec<f64>> = (0..24)
        .map(|seed| {
            let method = KernelShap { n_samples: 40, seed, ..Default::default() };
            word_scores(&run(&model, &method, &[text], Target::Indices { indices: vec![label] })[0], label)
        })
        .collect();
    let k = runs.len() as f64;
    for (f, want) in exact.iter().enumerate() {
        let mean = runs.iter().map(|r| r[f]).sum::<f64>() / k;
        let var = runs.iter().map(|r| (r[f] - mean).powi(2)).sum::<f64>() / (k - 1.0);
        let se = (var / k).sqrt();
        assert!(se > 0.0, "feature {f}: no spread, so no sampling happened");
        assert!((mean - want).abs() <= 4.5 * se + 1e-12, "feature {f}: mean {mean}, exact {want}, se {se}");
    }
}

#[test]
fn every_label_comes_from_the_same_passes_and_matches_single_label_runs() {
    let model = TinyClassifier::default_multilabel();
    for method in all_methods() {
        let all = run(&model, method.as_ref(), &TEXTS[..1], Target::All);
        for label in [1usize, 3] {
            let one = run(&model, method.as_ref(), &TEXTS[..1], Target::Indices { indices: vec![label] });
            assert_eq!(one[0].targets[0], all[0].targets[label], "{}", method.typetag_name());
        }
    }
}

#[test]
fn batch_size_does_not_change_the_result() {
    let model = TinyClassifier::default_multilabel();
    for method in all_methods() {
        let big = run(&model, method.as_ref(), TEXTS, Target::All);
        let mut json = serde_json::to_value(&method).unwrap();
        json["memory_budget_mb"] = serde_json::json!(1);
        let small: Box<dyn Method> = serde_json::from_value(json).unwrap();
        let small = run(&model, small.as_ref(), TEXTS, Target::All);
        for (a, b) in big.iter().zip(&small) {
            for (x, y) in a.targets.iter().zip(&b.targets) {
                for (p, q) in x.tokens.iter().zip(&y.tokens) {
                    assert!((p - q).abs() < 1e-6, "{}: {p} vs {q}", a.method);
                }
            }
        }
    }
}

#[test]
fn occlusion_averages_the_windows_that_cover_a_token() {
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let text = "send the wire transfer now";
    let encoding = model.encoder().encode(text).unwrap();
    let n = encoding.len(); // 7 with [CLS] and [SEP]
    let method = Occlusion { window: 3, stride: 2, ..Default::default() };
    let a = &run(&model, &method, &[text], Target::Indices { indices: vec![2] })[0];
    let output = |e: &Encoding| {
        let logits = model.logits(&[e]).unwrap();
        model.info().problem.scores(&logits).unwrap().double_value(&[0, 2])
    };
    let full = output(&encoding);
    // Windows start at 0, 2, 4 (ceil((7 − 3) / 2) + 1 = 3), each 3 tokens.
    let mut sum = vec![0.0; n];
    let mut count = vec![0.0; n];
    for start in [0usize, 2, 4] {
        let mut e = encoding.clone();
        for i in start..(start + 3).min(n) {
            if !e.special[i] {
                e.ids[i] = 0;
            }
        }
        let drop = full - output(&e);
        for i in start..(start + 3).min(n) {
            sum[i] += drop;
            count[i] += 1.0;
        }
    }
    for i in 0..n {
        let want = sum[i] / count[i];
        assert!((a.targets[0].tokens[i] - want).abs() < 1e-12, "token {i}");
    }
    // Words as units: a window of two words.
    let words = Occlusion { unit: Unit::Words, window: 2, stride: 1, ..Default::default() };
    assert!(run(&model, &words, &[text], Target::All)[0].targets[0].tokens.iter().any(|v| *v != 0.0));
}

#[test]
fn deletion_shortens_the_text_and_shapley_stays_complete() {
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let method = ShapleyValueSampling { replace_with: Replacement::Delete, ..Default::default() };
    let a = &run(&model, &method, &TEXTS[..1], Target::All)[0];
    assert_eq!(a.baseline, "delete");
    // F(x₀) is the output on "[CLS] [SEP]".
    let empty = model.encoder().encode("").unwrap();
    let f0 = model.predictions(&[&empty]).unwrap().remove(0).scores;
    for t in &a.targets {
        assert!((t.f_baseline - f0[t.label_index]).abs() < 1e-12);
        assert!(t.delta.unwrap().abs() < 1e-12);
    }
    let ablation = FeatureAblation { replace_with: Replacement::Delete, ..Default::default() };
    let b = &run(&model, &ablation, &TEXTS[..1], Target::All)[0];
    assert!(b.targets[0].tokens.iter().any(|v| *v != 0.0));
}

#[test]
fn several_draws_are_averaged_with_their_spread() {
    let model = TinyClassifier::default_multilabel();
    let draws = Replace { id: 0, draws: 3 };
    let a =
        &run_with(&model, &FeatureAblation::default(), &TEXTS[..1], Target::All, &draws, Output::Probability)
            .unwrap()[0];
    let singles: Vec<Attribution> = (0..3)
        .map(|d| {
            let one = Replace { id: d, draws: 1 };
            run_with(&model, &FeatureAblation::default(), &TEXTS[..1], Target::All, &one, Output::Probability)
                .unwrap()
                .remove(0)
        })
        .collect();
    for (k, t) in a.targets.iter().enumerate() {
        assert!(t.token_spread.is_some());
        for i in 0..t.tokens.len() {
            let mean = singles.iter().map(|s| s.targets[k].tokens[i]).sum::<f64>() / 3.0;
            assert!((t.tokens[i] - mean).abs() < 1e-9);
        }
    }
}

#[test]
fn bad_configs_and_inputs_are_clear_errors() {
    let model = TinyClassifier::default_multilabel();
    let err =
        run_with(&model, &Occlusion::default(), &TEXTS[..1], Target::All, &Embedded, Output::Probability)
            .unwrap_err();
    assert!(err.to_string().contains("token baseline"), "{err}");
    let err = Occlusion { window: 2, stride: 3, ..Default::default() }.validate().unwrap_err();
    assert!(err.to_string().contains("stride"), "{err}");
    let mask = FeatureAblation { groups: Groups::Mask(vec![Some(0); 3]), ..Default::default() };
    let err = run_with(&model, &mask, &TEXTS[..1], Target::All, &pad(), Output::Probability).unwrap_err();
    assert!(err.to_string().contains("feature mask"), "{err}");
    let orders = ShapleyValueSampling { permutations: Some(vec![vec![0, 0]]), ..Default::default() };
    let err = run_with(&model, &orders, &TEXTS[1..2], Target::All, &pad(), Output::Probability).unwrap_err();
    assert!(err.to_string().contains("permutation 0"), "{err}");
    assert!(Lime { kernel_width: 0.0, ..Default::default() }.validate().is_err());
    assert!(KernelShap { n_samples: 1, ..Default::default() }.validate().is_err());
    let err = registry::method("occlusion").unwrap().configure(serde_json::json!({"windw": 2})).unwrap_err();
    assert!(err.to_string().contains("windw"), "{err}");
}

#[test]
fn input_equal_to_the_baseline_scores_exactly_zero() {
    let model = TinyClassifier::default_multilabel();
    let text = TEXTS[0];
    let encoding = model.encoder().encode(text).unwrap();
    for method in all_methods() {
        let a = &run_with(&model, method.as_ref(), &[text], Target::All, &Itself, Output::Probability)
            .unwrap()[0];
        assert_eq!(a.encoding, encoding);
        for t in &a.targets {
            assert!(t.tokens.iter().all(|v| *v == 0.0), "{}", a.method);
        }
    }
}

#[test]
fn partition_shap_over_a_flat_hierarchy_gives_the_exact_shapley_values() {
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let text = "verify your account password now";
    let encoding = model.encoder().encode(text).unwrap();
    let flat = PartitionShap { hierarchy: Hierarchy::Flat(Groups::Words), ..Default::default() };
    let a = &run(&model, &flat, &[text], Target::All)[0];
    let tree = &run(&model, &PartitionShap::default(), &[text], Target::All)[0];
    let mut largest_gap = 0.0f64;
    for label in 0..5 {
        let exact = brute_force_shapley(&model, &encoding, label);
        for (got, want) in word_scores(a, label).iter().zip(&exact) {
            assert!((got - want).abs() < 1e-12, "flat label {label}: {got} vs {want}");
        }
        // shap's tree groups the words, which changes the values on a model with interactions.
        for (got, want) in word_scores(tree, label).iter().zip(&exact) {
            largest_gap = largest_gap.max((got - want).abs());
        }
    }
    assert!(largest_gap > 1e-6, "the hierarchy changed nothing: {largest_gap:.2e}");
}

#[test]
fn partition_shap_is_efficient_exact_or_budgeted_and_refuses_what_it_cannot_do() {
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let text = TEXTS[0];
    let exact = &run(&model, &PartitionShap::default(), &[text], Target::All)[0];
    assert!(exact.warnings.is_empty(), "{:?}", exact.warnings);
    let budgeted = PartitionShap { max_evals: 30, ..Default::default() };
    let b = &run(&model, &budgeted, &[text], Target::All)[0];
    assert!(b.warnings.iter().any(|w| w.contains("max_evals = 30")), "{:?}", b.warnings);
    for (x, y) in exact.targets.iter().zip(&b.targets) {
        assert!(x.delta.unwrap().abs() < 1e-12 && y.delta.unwrap().abs() < 1e-12);
        let gap = x.tokens.iter().zip(&y.tokens).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        assert!(gap > 1e-6, "the budget changed nothing");
    }
    let strict = PartitionShap { max_evals: 30, exact: true, ..Default::default() };
    let err = run_with(&model, &strict, &[text], Target::All, &pad(), Output::Probability).unwrap_err();
    assert!(err.to_string().contains("max_evals = 30"), "{err}");
    let flat = PartitionShap { hierarchy: Hierarchy::Flat(Groups::Words), ..Default::default() };
    let err = run_with(&model, &flat, &[text], Target::All, &pad(), Output::Probability).unwrap_err();
    assert!(err.to_string().contains("coarser groups"), "{err}");
    assert!(PartitionShap { max_evals: 1, ..Default::default() }.validate().is_err());
    assert!(PartitionShap { batch_size: 0, ..Default::default() }.validate().is_err());
    let config = registry::method("partition-shap")
        .unwrap()
        .configure(serde_json::json!({"hierarchy": {"flat": "sentences"}, "max_evals": 64}))
        .unwrap();
    assert_eq!(serde_json::to_value(&config).unwrap()["hierarchy"], serde_json::json!({"flat": "sentences"}));
}
