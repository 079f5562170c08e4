//! The conformance suite on the plugin: every axiom leave-one-out claims holds, on random
//! texts and token-id baselines, on a tiny classifier with positions and on a position-blind
//! one (where symmetry is checked too). This is the test a method author copies.

#![allow(clippy::unwrap_used)] // test helpers may panic

use explainer_axioms::{Subject, SuiteOptions, Verdict, run_suite};
use explainer_core::Method;
use explainer_example_custom_method::LeaveOneOut;
use explainer_testing::{TinyClassifier, TinyConfig};

fn check(subject: &Subject<'_>) -> explainer_axioms::Report {
    // `methods: None` would check every registered method: here that is leave-one-out only,
    // the one plugin this test links.
    let options =
        SuiteOptions { methods: Some(vec![Box::new(LeaveOneOut::default())]), ..SuiteOptions::default() };
    let report = run_suite(subject, &options);
    println!("{}", report.to_markdown());
    assert!(report.passed(), "{}", report.to_markdown());
    report
}

#[test]
fn every_claim_holds_on_a_tiny_classifier() {
    let model = TinyClassifier::default_multilabel();
    let report = check(&Subject::new(&model));
    for claim in LeaveOneOut::default().claims() {
        let row = report.row("leave-one-out", claim.axiom).unwrap();
        match claim.axiom {
            explainer_core::Axiom::Symmetry | explainer_core::Axiom::ImplementationInvariance => {
                assert!(matches!(row.verdict, Verdict::Skipped(_)), "{:?}", row.verdict)
            }
            _ => {
                assert_eq!(row.verdict, Verdict::Pass, "{}", claim.axiom);
                assert!(row.cases > 0, "{}", claim.axiom);
            }
        }
    }
}

#[test]
fn symmetry_holds_on_a_position_blind_classifier() {
    let model = TinyClassifier::new(TinyConfig { positions: false, ..TinyConfig::default() }).unwrap();
    let report = check(&Subject::new(&model).position_blind());
    let row = report.row("leave-one-out", explainer_core::Axiom::Symmetry).unwrap();
    assert_eq!(row.verdict, Verdict::Pass);
    assert!(row.cases > 0);
}
