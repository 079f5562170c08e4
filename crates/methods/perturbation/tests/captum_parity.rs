//! The perturbation methods against Captum on Hugging Face fixture checkpoints (references
//! written offline by scripts/fixtures/make_captum_perturbation_fixtures.py; format in
//! tests/fixtures/README.md). Deterministic methods — Occlusion, FeatureAblation,
//! ShapleyValueSampling with Captum's own orders — within 1e-5 of the largest |attribution|
//! plus the f32 rounding of the outputs (Captum runs each perturbed input alone, we batch them;
//! see `allowed`). KernelSHAP with
//! every coalition enumerated gives the exact Shapley values (same bound). Sampled KernelSHAP
//! and LIME are compared statistically, within 4.5 standard errors measured over seeds.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::{Path, PathBuf};

use explainer_baselines as _;
use explainer_core::{
    Attribution, Baseline, Encoding, Method, Model, Output, Reference, Request, Target, explain, registry,
};
use explainer_perturbation::{
    FeatureAblation, Groups, KernelShap, Lime, Occlusion, ShapleyValueSampling, Unit,
};
use explainer_transformers::HfClassifier;
use serde_json::Value;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("captum-perturbation-"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "fixtures missing: {files:?}");
    files
}

fn checkpoint(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../transformers/tests/fixtures").join(name)
}

fn floats(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

struct Case {
    label: String,
    encoding: Encoding,
    target: Target,
    output: Output,
    json: Value,
}

fn cases() -> Vec<(HfClassifier, Vec<Case>)> {
    let pad: Box<dyn Baseline> = registry::baseline("pad").unwrap().configure(Value::Null).unwrap();
    fixtures()
        .into_iter()
        .map(|file| {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let name = doc["checkpoint"].as_str().unwrap().to_owned();
            let model = HfClassifier::load(&checkpoint(&name)).unwrap();
            let cases = doc["cases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let label = format!("{name} / {:?} / {}", c["text"].as_str().unwrap(), c["output"]);
                    let encoding = model.encoder().encode(c["text"].as_str().unwrap()).unwrap();
                    let ids: Vec<i64> = serde_json::from_value(c["input_ids"].clone()).unwrap();
                    assert_eq!(encoding.ids, ids, "{label}: tokenisation");
                    match &pad.references(&model, &encoding).unwrap()[0] {
                        Reference::Ids(r) => {
                            let want: Vec<i64> = serde_json::from_value(c["baseline_ids"].clone()).unwrap();
                            assert_eq!(r, &want, "{label}: baseline");
                        }
                        other => panic!("{label}: pad gave {other:?}"),
                    }
                    // Our words are the tokenizer's word ids, as transformers gives them.
                    let mask: Vec<Option<usize>> = serde_json::from_value(c["word_mask"].clone()).unwrap();
                    assert_eq!(
                        Groups::Words.features(&encoding).unwrap(),
                        Groups::Mask(mask).features(&encoding).unwrap(),
                        "{label}: words"
                    );
                    let output = if c["output"] == "logit" { Output::Logit } else { Output::Probability };
                    let target =
                        Target::Indices { indices: vec![c["label_index"].as_u64().unwrap() as usize] };
                    Case { label, encoding, target, output, json: c.clone() }
                })
                .collect();
            (model, cases)
        })
        .collect()
}

fn attribute(model: &dyn Model, method: &dyn Method, case: &Case) -> Attribution {
    let pad: Box<dyn Baseline> = registry::baseline("pad").unwrap().configure(Value::Null).unwrap();
    let encodings = [case.encoding.clone()];
    let request = Request {
        encodings: &encodings,
        target: &case.target,
        baseline: pad.as_ref(),
        output: case.output,
        per_dimension: false,
    };
    let mut a = explain(method, model, &request).unwrap();
    let a = a.remove(0);
    let want_f = case.json["f_input"].as_f64().unwrap();
    assert!((a.targets[0].f_input - want_f).abs() < 1e-6, "{}: F(x)", case.label);
    let want_f0 = case.json["f_baseline"].as_f64().unwrap();
    assert!((a.targets[0].f_baseline - want_f0).abs() < 1e-6, "{}: F(x0)", case.label);
    a
}

fn words(a: &Attribution) -> Vec<f64> {
    let t = &a.targets[0];
    Groups::Words
        .features(&a.encoding)
        .unwrap()
        .iter()
        .map(|w| w.iter().map(|&i| t.tokens[i]).sum())
        .collect()
}

/// max |ours − theirs| / max |theirs|.
fn relative(ours: &[f64], theirs: &[f64]) -> f64 {
    assert_eq!(ours.len(), theirs.len());
    let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
    ours.iter().zip(theirs).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / scale
}

/// The allowed |ours − theirs| per score: 1e-5 of the largest |score|, plus the f32 rounding of
/// the outputs the scores are differences of. Captum runs each perturbed input alone, we batch
/// them, so the same output may round differently: by up to κ·u·|F| each (u = 2⁻²⁴, κ = √hidden
/// × depth, `docs/axioms.md`), with the suite's safety factor 6, on |F(x)| + |F(x₀)|.
fn allowed(model: &dyn Model, a: &Attribution, theirs: &[f64]) -> f64 {
    let info = model.info();
    let kappa = (info.hidden_size as f64).sqrt() * info.layers.len() as f64;
    let u = f64::from(f32::EPSILON) / 2.0;
    let t = &a.targets[0];
    let scale = theirs.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    1e-5 * scale + 6.0 * kappa * u * (t.f_input.abs() + t.f_baseline.abs())
}

fn assert_close(model: &dyn Model, a: &Attribution, ours: &[f64], theirs: &[f64], what: &str) {
    let bound = allowed(model, a, theirs);
    let worst = ours.iter().zip(theirs).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(
        worst <= bound,
        "{what}: {worst:.2e} > {bound:.2e} ({:.2e} of the largest |score|)",
        relative(ours, theirs)
    );
}

#[test]
fn occlusion_ablation_and_shapley_sampling_match_captum() {
    let mut checked = 0;
    for (model, cases) in cases() {
        for case in &cases {
            for occ in case.json["occlusion"].as_array().unwrap() {
                let method = Occlusion {
                    unit: Unit::Tokens,
                    window: occ["window"].as_u64().unwrap() as usize,
                    stride: occ["stride"].as_u64().unwrap() as usize,
                    ..Default::default()
                };
                let a = attribute(&model, &method, case);
                let what = format!("{}: occlusion {:?}", case.label, (method.window, method.stride));
                assert_close(&model, &a, &a.targets[0].tokens, &floats(&occ["tokens"]), &what);
                checked += 1;
            }
            let a = attribute(&model, &FeatureAblation::default(), case);
            let what = format!("{}: feature ablation", case.label);
            assert_close(&model, &a, &words(&a), &floats(&case.json["feature_ablation"]), &what);
            let svs = &case.json["shapley_value_sampling"];
            let method = ShapleyValueSampling {
                permutations: Some(serde_json::from_value(svs["permutations"].clone()).unwrap()),
                ..Default::default()
            };
            let a = attribute(&model, &method, case);
            let what = format!("{}: shapley value sampling", case.label);
            assert_close(&model, &a, &words(&a), &floats(&svs["words"]), &what);
            assert!(a.targets[0].delta.unwrap().abs() < 1e-9, "{}: delta", case.label);
            checked += 2;
        }
    }
    assert!(checked >= 30, "{checked}");
}

#[test]
fn enumerated_kernel_shap_gives_the_exact_shapley_values() {
    for (model, cases) in cases() {
        for case in &cases {
            let exact = floats(&case.json["exact_shapley"]);
            let method = KernelShap { n_samples: 1 << exact.len(), ..Default::default() };
            let a = attribute(&model, &method, case);
            assert_close(
                &model,
                &a,
                &words(&a),
                &exact,
                &format!("{}: kernel-shap vs exact Shapley", case.label),
            );
        }
    }
}

/// Per word: the mean and standard deviation of `runs` (one row per seed).
fn mean_and_sd(runs: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
    let k = runs.len() as f64;
    let m = runs[0].len();
    let mean: Vec<f64> = (0..m).map(|f| runs.iter().map(|r| r[f]).sum::<f64>() / k).collect();
    let sd = (0..m)
        .map(|f| (runs.iter().map(|r| (r[f] - mean[f]).powi(2)).sum::<f64>() / (k - 1.0)).sqrt())
        .collect();
    (mean, sd)
}

#[test]
fn sampled_kernel_shap_and_lime_agree_with_their_references_statistically() {
    const SEEDS: u64 = 6;
    for (model, cases) in cases() {
        for (i, case) in cases.iter().filter(|c| c.json.get("captum_lime").is_some()).enumerate() {
            // KernelSHAP at 256 sampled coalitions against the exact Shapley values: the mean of
            // SEEDS runs within 4.5 standard errors (sd / √SEEDS) plus the f32 bound.
            let exact = floats(&case.json["exact_shapley"]);
            let runs: Vec<Vec<f64>> = (0..SEEDS)
                .map(|seed| {
                    words(&attribute(
                        &model,
                        &KernelShap { n_samples: 256, seed, ..Default::default() },
                        case,
                    ))
                })
                .collect();
            let (mean, sd) = mean_and_sd(&runs);
            let probe = attribute(&model, &KernelShap::default(), case);
            let rounding = allowed(&model, &probe, &exact);
            for f in 0..exact.len() {
                let allowed = 4.5 * sd[f] / (SEEDS as f64).sqrt() + rounding;
                assert!(
                    (mean[f] - exact[f]).abs() <= allowed,
                    "{}: kernel-shap word {f}: {} vs {} (allowed {allowed:.2e})",
                    case.label,
                    mean[f],
                    exact[f]
                );
            }
            if i > 0 {
                continue; // LIME (3000 samples a run) on the first text of each checkpoint only: test time
            }
            // LIME against Captum's LimeBase with the same kernel, sampling, ridge and sample count:
            // two independent draws of the same estimator, so their difference has variance
            // sd² (1 + 1/SEEDS) against our mean.
            let lime = &case.json["captum_lime"];
            let theirs = floats(&lime["words"]);
            let runs: Vec<Vec<f64>> = (0..SEEDS)
                .map(|seed| {
                    let method = Lime {
                        n_samples: lime["n_samples"].as_u64().unwrap() as usize,
                        kernel_width: lime["kernel_width"].as_f64().unwrap(),
                        ridge: lime["ridge"].as_f64().unwrap(),
                        seed,
                        ..Default::default()
                    };
                    words(&attribute(&model, &method, case))
                })
                .collect();
            let (mean, sd) = mean_and_sd(&runs);
            for f in 0..theirs.len() {
                let allowed = 4.5 * sd[f] * (1.0 + 1.0 / SEEDS as f64).sqrt() + rounding;
                assert!(
                    (mean[f] - theirs[f]).abs() <= allowed,
                    "{}: lime word {f}: {} vs Captum {} (allowed {allowed:.2e})",
                    case.label,
                    mean[f],
                    theirs[f]
                );
            }
        }
    }
}
