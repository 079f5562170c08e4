//! explainer-eval's metrics against ferret-xai 0.4.2's own evaluators, on a tiny random BERT
//! (softmax, ferret's assumption) with fixed attribution vectors and rationales
//! (`scripts/fixtures/make_ferret_fixtures.py` wrote `tests/fixtures/ferret/`).
//!
//! Tolerances. Probabilities come from two f32 implementations of the same graph (PyTorch in
//! transformers, tch here), so each differs by at most the rounding bound c·κ·u·R of the
//! axiom suite (`docs/axioms.md`: c = 6, κ = √hidden × layers, u = 2⁻²⁴, R = 1 + max |logit|);
//! an AOPC value is a mean of differences of two probabilities: 2 × that bound. τ-LOO, token
//! F1, token IOU and AUPRC are functions of rankings and sets: equal up to f64 rounding
//! (1e-12), as long as no two leave-one-out values are closer than the probability bound (the
//! fixture records their smallest gap, checked below).

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use explainer_core::{Model, ROUNDING_FACTOR};
use explainer_eval::faithfulness::{Removal, aopc, tau_loo};
use explainer_eval::plausibility::{auprc, token_f1, token_iou};
use explainer_eval::{ModelScorer, Scorer};
use explainer_transformers::HfClassifier;
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ferret")
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn metrics_match_ferret() {
    let model = HfClassifier::load(&fixture()).unwrap();
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("reference.json")).unwrap()).unwrap();
    let info = model.info();
    let layers = info.layers.iter().filter(|l| l.name.starts_with("encoder.")).count() as f64;
    let kappa = (info.hidden_size as f64).sqrt() * layers;
    let u = f32::EPSILON as f64 / 2.0;
    let k = reference["top_k_rationale"].as_u64().unwrap() as usize;
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 10);
    for (n, case) in cases.iter().enumerate() {
        let text = case["text"].as_str().unwrap();
        let encoding = model.encoder().encode(text).unwrap();
        let ids: Vec<i64> = case["ids"].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect();
        assert_eq!(encoding.ids, ids, "case {n}: the same tokenisation as transformers");
        let target = case["target"].as_u64().unwrap() as usize;
        let scores = floats(&case["scores"]);
        let rationale: Vec<bool> =
            case["rationale"].as_array().unwrap().iter().map(|x| x.as_i64() == Some(1)).collect();
        let logits = model.logits(&[&encoding]).unwrap();
        let max_logit = logits.abs().max().double_value(&[]);
        let tol_p = ROUNDING_FACTOR * kappa * u * (1.0 + max_logit);
        let mut scorer = ModelScorer::new(&model);
        let p = scorer.label_scores(std::slice::from_ref(&ids), target).unwrap()[0];
        let want = case["probability"].as_f64().unwrap();
        assert!((p - want).abs() <= tol_p, "case {n}: p {p} vs {want}, allowed {tol_p:e}");

        for (removal, suffix) in [(Removal::ferret(), ""), (Removal::eraser(), "_eraser")] {
            let a = aopc(&mut scorer, &ids, &encoding.special, &scores, target, &removal).unwrap();
            for (got, key) in [(a.comprehensiveness, "comprehensiveness"), (a.sufficiency, "sufficiency")] {
                let want = case[format!("{key}{suffix}")].as_f64().unwrap();
                assert!((got - want).abs() <= 2.0 * tol_p, "case {n} {key}{suffix}: {got} vs ferret {want}");
            }
        }
        assert!(
            case["loo_min_gap"].as_f64().unwrap() > 4.0 * tol_p,
            "case {n}: near-tied leave-one-out values"
        );
        let tau = tau_loo(&mut scorer, &ids, &encoding.special, &scores, target).unwrap().unwrap();
        let want = case["tau_loo"].as_f64().unwrap();
        assert!((tau - want).abs() <= 1e-12, "case {n} tau-LOO: {tau} vs ferret {want}");

        let content = &scores[1..scores.len() - 1];
        let truth = &rationale[1..rationale.len() - 1];
        let checks = [
            ("token_f1", token_f1(content, truth, k, true)),
            ("token_iou", token_iou(content, truth, k, true)),
            ("auprc", auprc(content, truth, true).unwrap()),
        ];
        for (key, got) in checks {
            let want = case[key].as_f64().unwrap();
            assert!((got - want).abs() <= 1e-12, "case {n} {key}: {got} vs ferret {want}");
        }
    }
}

/// The check can fail: a wrong removal rule (all tokens instead of positive ones only) misses
/// ferret's numbers on some case.
#[test]
fn a_wrong_rule_misses_ferret() {
    let model = HfClassifier::load(&fixture()).unwrap();
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture().join("reference.json")).unwrap()).unwrap();
    let mut misses = 0;
    for case in reference["cases"].as_array().unwrap() {
        let encoding = model.encoder().encode(case["text"].as_str().unwrap()).unwrap();
        let wrong = Removal { only_positive: false, ..Removal::ferret() };
        let mut scorer = ModelScorer::new(&model);
        let target = case["target"].as_u64().unwrap() as usize;
        let a = aopc(&mut scorer, &encoding.ids, &encoding.special, &floats(&case["scores"]), target, &wrong)
            .unwrap();
        if (a.comprehensiveness - case["comprehensiveness"].as_f64().unwrap()).abs() > 1e-4 {
            misses += 1;
        }
    }
    assert!(misses >= 5, "only {misses} of 10 cases tell the rules apart");
}
