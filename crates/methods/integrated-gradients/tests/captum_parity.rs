//! Layer Integrated Gradients against Captum's `LayerIntegratedGradients` on the Hugging
//! Face fixture checkpoints (references written offline by scripts/fixtures/make_captum_fixtures.py):
//! same baseline (the file's: pad, or mask for DeBERTa-v3, special tokens kept), target,
//! n_steps and rule, probability or logit output. Per-token attributions within 1e-4 of the
//! largest |attribution|, same delta.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::{Path, PathBuf};

use explainer_baselines as _;
use explainer_core::{Baseline, Encoding, Model, Output, Request, Rule, Target, explain, registry};
use explainer_integrated_gradients::LayerIntegratedGradients;
use explainer_transformers::HfClassifier;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn checkpoint(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../transformers/tests/fixtures").join(name)
}

fn ints(v: &serde_json::Value) -> Vec<i64> {
    serde_json::from_value(v.clone()).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

fn captum_rule(method: &str) -> Rule {
    method.parse().unwrap()
}

/// The baseline a fixture file was made with (`"baseline"`: `pad` or `mask`), from the registry.
fn baseline_of(reference: &serde_json::Value) -> Box<dyn Baseline> {
    let name = reference["baseline"].as_str().unwrap();
    registry::baseline(name).unwrap().configure(serde_json::Value::Null).unwrap()
}

#[test]
fn lig_matches_captum_on_every_fixture_checkpoint() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("captum-lig-"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "Captum fixtures missing: {files:?}");
    let mut cases = 0;
    let mut baselines = std::collections::BTreeSet::new();
    for file in files {
        let reference: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let name = reference["checkpoint"].as_str().unwrap();
        let baseline = baseline_of(&reference);
        baselines.insert(format!("{name}: {}", baseline.typetag_name()));
        let model = HfClassifier::load(&checkpoint(name)).unwrap();
        let mut worst = 0.0f64;
        for case in reference["cases"].as_array().unwrap() {
            if case.get("batch").is_some() || case["text"].is_array() {
                continue; // the multi-text case is checked below
            }
            let label = format!("{name} / {}", case["name"].as_str().unwrap_or("?"));
            let encoding: Encoding = model.encoder().encode(case["text"].as_str().unwrap()).unwrap();
            assert_eq!(encoding.ids, ints(&case["input_ids"]), "{label}: tokenisation");
            // Our baseline is the one Captum was given.
            match &baseline.references(&model, &encoding).unwrap()[0] {
                explainer_core::Reference::Ids(ids) => {
                    assert_eq!(ids, &ints(&case["baseline_ids"]), "{label}: baseline")
                }
                other => panic!("{label}: the baseline gave {other:?}"),
            }
            let method = LayerIntegratedGradients {
                n_steps: case["n_steps"].as_u64().unwrap() as usize,
                rule: captum_rule(case["method"].as_str().unwrap()),
                ..Default::default()
            };
            let output = if case["output"] == "logit" { Output::Logit } else { Output::Probability };
            let target = Target::Indices { indices: vec![case["label_index"].as_u64().unwrap() as usize] };
            let per_dimension = case.get("attributions_per_dim").is_some();
            let encodings = [encoding];
            let request = Request {
                encodings: &encodings,
                target: &target,
                baseline: baseline.as_ref(),
                output,
                per_dimension,
            };
            let ours = &explain(&method, &model, &request).unwrap()[0].targets[0];

            let expected = floats(&case["attributions"]);
            let scale = expected.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-12);
            let diff = ours.tokens.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(diff <= 1e-4 * scale, "{label}: max |diff| {diff:e} vs largest |attribution| {scale:e}");
            worst = worst.max(diff / scale);

            // F(x₀) is the output at the path's start (the baseline's word embeddings, the
            // input's positions). Captum's own F(baseline) runs the baseline ids through the
            // model; for BERT and DistilBERT they are the same, for RoBERTa (position ids from
            // `ids != pad`) they differ and Captum's delta cannot close. We compare with the
            // path start, recorded by the fixture script, and so with Captum's delta wherever
            // Captum's is well defined.
            let f_in = case["f_input"].as_f64().unwrap();
            let f_start = case["f_path_start"].as_f64().unwrap();
            let f_captum = case["f_baseline"].as_f64().unwrap();
            if reference["model_type"] != "roberta" {
                assert!(
                    (f_start - f_captum).abs() <= 1e-6,
                    "{label}: path start {f_start} vs F(baseline) {f_captum}"
                );
            }
            assert!((ours.f_input - f_in).abs() <= 1e-5, "{label}: F(x) {} vs {f_in}", ours.f_input);
            assert!(
                (ours.f_baseline - f_start).abs() <= 1e-5,
                "{label}: F(x0) {} vs {f_start}",
                ours.f_baseline
            );
            let sum = case["sum_attributions"].as_f64().unwrap();
            let delta = sum - (f_in - f_start);
            let ours_delta = ours.delta.unwrap();
            assert!(
                (ours_delta - delta).abs() <= 1e-5 + 1e-4 * (f_in - f_start).abs(),
                "{label}: delta {ours_delta:e} vs Captum's {delta:e}"
            );
            if let Some(dims) = case.get("attributions_per_dim") {
                let expected: Vec<Vec<f64>> = serde_json::from_value(dims.clone()).unwrap();
                let got = ours.per_dimension.as_ref().unwrap();
                let scale = expected.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
                for (row, want) in got.iter().zip(&expected) {
                    for (a, b) in row.iter().zip(want) {
                        assert!((a - b).abs() <= 1e-4 * scale, "{label}: per-dimension {a} vs {b}");
                    }
                }
            }
            cases += 1;
        }
        eprintln!("{name}: worst |diff| / largest |attribution| = {worst:.2e}");
    }
    assert!(cases >= 30, "only {cases} cases checked");
    // DeBERTa-v3 (no absolute positions) with the mask baseline: the pad path is degenerate.
    assert!(baselines.contains("deberta-v3-tiny-multiclass: mask"), "{baselines:?}");
}

/// Captum run on three texts padded into one batch; we explain them in one call.
#[test]
fn several_texts_in_one_call_match_captums_padded_batch() {
    let file = fixtures().join("captum-lig-bert-tiny-multilabel.json");
    let reference: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let model = HfClassifier::load(&checkpoint("bert-tiny-multilabel")).unwrap();
    let cases: Vec<&serde_json::Value> =
        reference["cases"].as_array().unwrap().iter().filter(|c| c.get("batch").is_some()).collect();
    assert_eq!(cases.len(), 3);
    let encodings: Vec<Encoding> =
        cases.iter().map(|c| model.encoder().encode(c["text"].as_str().unwrap()).unwrap()).collect();
    let pad = registry::baseline("pad").unwrap().configure(serde_json::Value::Null).unwrap();
    let target = Target::Indices { indices: vec![cases[0]["label_index"].as_u64().unwrap() as usize] };
    let request = Request {
        encodings: &encodings,
        target: &target,
        baseline: pad.as_ref(),
        output: Output::Probability,
        per_dimension: false,
    };
    let ours = explain(&LayerIntegratedGradients::default(), &model, &request).unwrap();
    for (case, attribution) in cases.iter().zip(&ours) {
        let expected = floats(&case["attributions"]);
        let scale = expected.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        for (a, b) in attribution.targets[0].tokens.iter().zip(&expected) {
            assert!((a - b).abs() <= 1e-4 * scale, "{}: {a} vs {b}", case["name"]);
        }
    }
}

/// The adaptive mode against Captum's 300-step Gauss–Legendre integrals (the fixtures' many-step
/// cases, every label of each checkpoint): at every tolerance the result is within 3 × it and the
/// reported error estimate is honest, i.e. the true error is at most 3 × the estimate, up to a
/// floor of 1e-5 × the largest |attribution| for Captum's own float32 accumulation over 300 steps
/// (≈ √300 × 6e-8 per sum, times the cancellation between steps).
#[test]
fn adaptive_mode_is_within_its_tolerance_of_captum_many_step_integrals() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let file = entry.unwrap().path();
        if !file.file_name().unwrap().to_string_lossy().starts_with("captum-lig-") {
            continue;
        }
        let reference: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let name = reference["checkpoint"].as_str().unwrap();
        let model = HfClassifier::load(&checkpoint(name)).unwrap();
        let baseline = baseline_of(&reference);
        for case in reference["cases"].as_array().unwrap() {
            if case["n_steps"].as_u64() != Some(300)
                || case["method"] != "gausslegendre"
                || case["text"].is_array()
            {
                continue;
            }
            let encodings = [model.encoder().encode(case["text"].as_str().unwrap()).unwrap()];
            let output = if case["output"] == "logit" { Output::Logit } else { Output::Probability };
            let target = Target::Indices { indices: vec![case["label_index"].as_u64().unwrap() as usize] };
            let expected = floats(&case["attributions"]);
            let scale = expected.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-12);
            for tolerance in [1e-2, 1e-3, 1e-4] {
                let method = LayerIntegratedGradients { tolerance: Some(tolerance), ..Default::default() };
                let request = Request {
                    encodings: &encodings,
                    target: &target,
                    baseline: baseline.as_ref(),
                    output,
                    per_dimension: false,
                };
                let result = explain(&method, &model, &request).unwrap();
                let ours = &result[0].targets[0];
                let truth = ours.tokens.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
                let estimate = ours.error_estimate.unwrap();
                let floor = 1e-5 * scale;
                let label = format!("{name} / {} / tol {tolerance}", case["name"]);
                assert!(
                    truth <= 3.0 * estimate + floor,
                    "{label}: true error {truth:.3e} vs estimate {estimate:.3e}"
                );
                if result[0].warnings.is_empty() {
                    assert!(
                        truth <= 3.0 * tolerance * scale + floor, // honest to a factor 3 (distilbert-tiny uses part of it)
                        "{label}: true error {truth:.3e}, scale {scale:.3e}"
                    );
                } else {
                    // Not converged within max_steps (distilbert-tiny at 1e-4): it must say so.
                    let warning = &result[0].warnings[0];
                    assert!(warning.contains("stopped at max_steps"), "{label}: {warning}");
                }
                eprintln!(
                    "{label}: {} points, estimate {:.2e}, true {:.2e} (relative to the largest |attribution|)",
                    ours.steps.unwrap(),
                    estimate / scale,
                    truth / scale
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 3 * 3, "too few many-step cases: {checked}");
}
