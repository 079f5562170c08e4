//! explainer-eval's infidelity and sensitivity-max against Captum 0.9's own
//! `captum.metrics.infidelity` / `sensitivity_max` (`scripts/fixtures/make_captum_metric_fixtures.py`
//! wrote `tests/fixtures/captum_metrics.json`), on the ferret fixture model and cases.
//!
//! Infidelity: Captum ran on the token-presence vector with the perturbations explainer-eval
//! draws (the script ports its SplitMix64 stream and pins it), so the two differ only by the
//! probabilities of two f32 implementations, each within p_tol = c·κ·u·R (ferret_parity.rs).
//! Each sample's error e = Iᵀφ − Δp moves by at most 2·p_tol, so its square by at most
//! 4·p_tol·(|e| + p_tol), with |e| ≤ √(samples × infidelity): that is the bound. Sensitivity-max
//! is Captum's formula on fixed vectors: equal up to f64 rounding.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use explainer_core::{Model, ROUNDING_FACTOR};
use explainer_eval::ModelScorer;
use explainer_eval::faithfulness::{InfidelityOptions, infidelity, sensitivity_max};
use explainer_transformers::HfClassifier;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn load() -> (HfClassifier, Value) {
    let model = HfClassifier::load(&fixtures().join("ferret")).unwrap();
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("captum_metrics.json")).unwrap())
            .unwrap();
    (model, reference)
}

#[test]
fn infidelity_and_sensitivity_max_match_captum() {
    let (model, reference) = load();
    let info = model.info();
    let layers = info.layers.iter().filter(|l| l.name.starts_with("encoder.")).count() as f64;
    let kappa = (info.hidden_size as f64).sqrt() * layers;
    let u = f32::EPSILON as f64 / 2.0;
    let options = InfidelityOptions {
        samples: reference["samples"].as_u64().unwrap() as usize,
        probability: reference["probability"].as_f64().unwrap(),
        seed: reference["seed"].as_u64().unwrap(),
    };
    let pad = reference["pad_id"].as_i64().unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for (n, case) in cases.iter().enumerate() {
        let ids: Vec<i64> = case["ids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
        let special: Vec<bool> = (0..ids.len()).map(|i| i == 0 || i + 1 == ids.len()).collect();
        let target = case["target"].as_u64().unwrap() as usize;
        let scores = floats(&case["scores"]);
        let encoding = model.encoder().encode(case["text"].as_str().unwrap()).unwrap();
        assert_eq!(encoding.ids, ids, "case {n}: the same tokenisation as transformers");
        assert_eq!(encoding.special, special);
        let logits = model.logits(&[&encoding]).unwrap();
        let p_tol = ROUNDING_FACTOR * kappa * u * (1.0 + logits.abs().max().double_value(&[]));

        let mut scorer = ModelScorer::new(&model);
        let got = infidelity(&mut scorer, &ids, &special, &scores, target, pad, &options).unwrap().unwrap();
        let want = case["infidelity"].as_f64().unwrap();
        let allowed = 4.0 * p_tol * ((options.samples as f64 * want).sqrt() + p_tol) + 1e-12;
        assert!(
            (got - want).abs() <= allowed,
            "case {n}: infidelity {got} vs Captum {want}, allowed {allowed:e}"
        );

        let perturbed: Vec<Vec<f64>> =
            case["perturbed_scores"].as_array().unwrap().iter().map(floats).collect();
        let got = sensitivity_max(&scores, &perturbed).unwrap();
        let want = case["sensitivity_max"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "case {n}: sensitivity-max {got} vs Captum {want}"
        );
    }
}

/// The check can fail: other perturbations (another seed) miss Captum's infidelity on some case.
#[test]
fn other_perturbations_miss_captum() {
    let (model, reference) = load();
    let mut misses = 0;
    for case in reference["cases"].as_array().unwrap() {
        let ids: Vec<i64> = case["ids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
        let special: Vec<bool> = (0..ids.len()).map(|i| i == 0 || i + 1 == ids.len()).collect();
        let options = InfidelityOptions { seed: 1, ..InfidelityOptions::default() };
        let mut scorer = ModelScorer::new(&model);
        let got = infidelity(
            &mut scorer,
            &ids,
            &special,
            &floats(&case["scores"]),
            case["target"].as_u64().unwrap() as usize,
            0,
            &options,
        )
        .unwrap()
        .unwrap();
        if (got - case["infidelity"].as_f64().unwrap()).abs() > 1e-3 {
            misses += 1;
        }
    }
    assert!(misses >= 5, "only {misses} of 10 cases moved");
}
