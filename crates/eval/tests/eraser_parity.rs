//! explainer-eval's IOU-F1 against ERASER's own scorer (`partial_match_score` of
//! `rationale_benchmark/metrics.py`, jayded/eraserbenchmark), which
//! `scripts/fixtures/make_eraser_iou_fixtures.py` ran on 206 instances (6 by hand, 200 seeded
//! random: touching, overlapping and repeated spans, empty sides) at thresholds 0.25, 0.5,
//! 0.75 and 1 and wrote to `tests/fixtures/eraser_iou_f1.json`.
//!
//! Both sides compute the same few ratios of small integers and one F1 in f64, so they agree
//! to a few units of rounding: |ours − ERASER| ≤ 8u with u = 2⁻⁵³ (each of P, R and F1's three
//! operations rounds once, relative error ≤ 5u on a value ≤ 1).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use explainer_eval::plausibility::{iou_f1, runs, span_iou_f1};
use serde_json::Value;

fn spans(v: &Value) -> Vec<(usize, usize)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| (s[0].as_u64().unwrap() as usize, s[1].as_u64().unwrap() as usize))
        .collect()
}

fn reference() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/eraser_iou_f1.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn f1(p: f64, r: f64) -> f64 {
    if p == 0.0 || r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

#[test]
fn iou_f1_matches_erasers_partial_match_score() {
    let reference = reference();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 206);
    let tol = 8.0 * f64::EPSILON / 2.0;
    let (mut compared, mut capped, mut positive) = (0, 0, 0);
    for (n, case) in cases.iter().enumerate() {
        let (predicted, truth) = (spans(&case["predicted"]), spans(&case["truth"]));
        for (threshold, eraser) in case["eraser"].as_object().unwrap() {
            let threshold: f64 = threshold.parse().unwrap();
            let (p, r, want) = (
                eraser["p"].as_f64().unwrap(),
                eraser["r"].as_f64().unwrap(),
                eraser["f1"].as_f64().unwrap(),
            );
            let got = span_iou_f1(&predicted, &truth, threshold);
            if r > 1.0 {
                // ERASER's recall counts predicted spans; here it is capped at 1 (documented).
                assert!(
                    (got - f1(p, 1.0)).abs() <= tol,
                    "case {n} at {threshold}: {got} vs capped {}",
                    f1(p, 1.0)
                );
                assert!(want > got, "case {n}: ERASER's F1 {want} above the capped one");
                capped += 1;
            } else {
                assert!((got - want).abs() <= tol, "case {n} {case} at {threshold}: {got} vs ERASER {want}");
                compared += 1;
            }
            if want > 0.0 {
                positive += 1;
            }
        }
    }
    // The fixture reaches both branches, and enough cases score above 0 to test something.
    assert_eq!(compared + capped, 4 * 206);
    assert!(capped >= 1 && positive >= 100, "capped {capped}, positive {positive}");
}

#[test]
fn runs_at_erasers_threshold_never_reach_the_cap() {
    // `iou_f1`'s predicted spans are the runs of the top-k mask, separated by at least one
    // token, so at a threshold ≥ 0.5 at most one of them can match a true span and ERASER's
    // recall stays ≤ 1: there, `iou_f1` is ERASER's number without the cap.
    let reference = reference();
    let mut runs_cases = 0;
    for (n, case) in reference["cases"].as_array().unwrap().iter().enumerate() {
        let len = case["n"].as_u64().unwrap() as usize;
        let mut predicted = spans(&case["predicted"]);
        predicted.sort_unstable();
        predicted.dedup();
        let mut mask = vec![false; len];
        for &(s, e) in &predicted {
            mask[s..e].iter_mut().for_each(|m| *m = true);
        }
        if runs(&mask) != predicted {
            continue;
        }
        runs_cases += 1;
        // Scores whose positive top-k is exactly the mask: `iou_f1` scores those runs.
        let scores: Vec<f64> =
            mask.iter().enumerate().map(|(t, &m)| if m { 1.0 + t as f64 } else { -1.0 }).collect();
        let k = mask.iter().filter(|m| **m).count();
        let truth = spans(&case["truth"]);
        for (threshold, eraser) in case["eraser"].as_object().unwrap() {
            let threshold: f64 = threshold.parse().unwrap();
            if threshold < 0.5 {
                continue;
            }
            assert!(
                eraser["r"].as_f64().unwrap() <= 1.0,
                "case {n} at {threshold}: ERASER's recall above 1 on runs"
            );
            let got = iou_f1(&scores, &truth, k, true, threshold);
            assert!((got - eraser["f1"].as_f64().unwrap()).abs() <= 8.0 * f64::EPSILON / 2.0, "case {n}");
        }
    }
    assert!(runs_cases >= 100, "only {runs_cases} cases have runs as predictions");
}

#[test]
fn the_bundled_test_split_has_no_touching_gold_spans() {
    // docs/evaluation.md says the table's IOU-F1 does not depend on how recall counts matches
    // (predicted or gold spans): that holds when no label's gold token spans touch or overlap,
    // for then a top-k run matches at most one gold span and a gold span at most one run.
    use explainer_core::Model;
    use explainer_eval::Dataset;
    use explainer_eval::faithfulness::content_positions;
    use explainer_eval::plausibility::rationale_token_spans;

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = explainer_transformers::HfClassifier::load(&root.join("models/compliance-minibert")).unwrap();
    let data = Dataset::read(&root.join("data/compliance/test.jsonl"), None).unwrap();
    let mut labels = 0;
    for record in &data.records {
        let encoding = model.encoder().encode(&record.text).unwrap();
        let offsets: Vec<(usize, usize)> =
            content_positions(&encoding.special).iter().map(|&i| encoding.offsets[i]).collect();
        for (label, char_spans) in record.rationales.iter().flatten() {
            let mut gold = rationale_token_spans(&record.text, char_spans, &offsets);
            gold.sort_unstable();
            for w in gold.windows(2) {
                assert!(
                    w[0].1 < w[1].0,
                    "{} / {label}: gold spans {:?} and {:?} touch",
                    record.id,
                    w[0],
                    w[1]
                );
            }
            labels += 1;
        }
    }
    assert!(labels >= 1000, "{labels} labelled instances");
}
