//! The conformance suite on the registered methods (Integrated Gradients, Layer IG, DeepLift,
//! DeepLiftShap, the conductances), on random tiny models in f32 and f64, on every Hugging Face
//! fixture checkpoint and on random Hugging Face checkpoints drawn by proptest, and proof that
//! it fails a method that claims an axiom it breaks (with the margin to the honest methods).

#![allow(clippy::unwrap_used)]

use explainer_axioms::{Report, Subject, SuiteOptions, Verdict, run_suite, strategies};
use explainer_core::{
    Attribution, Axiom, Capabilities, Claim, Method, Model, Request, Result, Tolerance, explain,
};
use explainer_deeplift::DeepLift;
use explainer_testing::TinyClassifier;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde::{Deserialize, Serialize};
// The plugins whose claims the suite checks.
use explainer_conductance as _;
use explainer_deeplift as _;
use explainer_gradients as _;
use explainer_integrated_gradients as _;
use explainer_perturbation as _;

fn options(cases: u32) -> SuiteOptions {
    SuiteOptions { cases, ..SuiteOptions::default() }
}

fn assert_passes(report: &Report) {
    assert!(report.passed(), "{}", report.to_markdown());
}

/// A tiny model, its twin with permuted hidden units, position-blind.
fn subject_models(double: bool, seed: u64) -> (TinyClassifier, TinyClassifier) {
    let mut runner = TestRunner::deterministic();
    let mut model = strategies::tiny_models(double).new_tree(&mut runner).unwrap().current();
    for _ in 0..seed {
        model = strategies::tiny_models(double).new_tree(&mut runner).unwrap().current();
    }
    let config = explainer_testing::TinyConfig { positions: false, ..model.config().clone() };
    let mut blind = TinyClassifier::new(config).unwrap();
    if double {
        blind = blind.to_kind(tch::Kind::Double).unwrap();
    }
    let inner = blind.config().inner as i64;
    let permutation: Vec<i64> = (0..inner).rev().collect();
    let twin = blind.with_permuted_inner_units(&permutation).unwrap();
    (blind, twin)
}

#[test]
fn every_registered_claim_holds_on_random_tiny_models_in_f32_and_f64() {
    for (double, seed) in [(true, 0), (false, 1)] {
        let (model, twin) = subject_models(double, seed);
        let subject = Subject::new(&model).with_twin(&twin).position_blind();
        let report = run_suite(&subject, &options(SuiteOptions::default().cases));
        println!("{}", report.to_markdown());
        assert_passes(&report);
        // Every axiom the methods claim was really checked, none skipped on this subject.
        assert!(report.rows.iter().all(|r| r.verdict == Verdict::Pass), "{}", report.to_markdown());
        for method in ["deeplift", "deeplift-shap"] {
            let row = report.row(method, Axiom::Completeness).unwrap();
            assert!(row.cases > 0);
        }
        // Layer IG claims completeness only in adaptive mode.
        assert!(report.row("layer-integrated-gradients", Axiom::Completeness).is_none());
        assert!(
            report.row("deeplift", Axiom::ImplementationInvariance).is_none(),
            "DeepLift does not claim it"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    /// Random models from the strategy (with position embeddings: symmetry is skipped there).
    #[test]
    fn claims_hold_on_models_drawn_by_proptest(model in strategies::tiny_models(true)) {
        let report = run_suite(&Subject::new(&model), &options(3));
        prop_assert!(report.passed(), "{}", report.to_markdown());
        let symmetry = report.row("deeplift", Axiom::Symmetry).unwrap();
        prop_assert!(matches!(symmetry.verdict, Verdict::Skipped(_)));
    }
}

/// Every committed Hugging Face fixture checkpoint (BERT, DistilBERT, RoBERTa, XLM-R;
/// multi-label and multi-class), f32, DeepLift and Layer IG.
#[test]
fn adaptive_layer_integrated_gradients_claims_and_keeps_completeness() {
    let (model, twin) = subject_models(false, 3);
    let adaptive = explainer_integrated_gradients::LayerIntegratedGradients {
        n_steps: 16,
        tolerance: Some(1e-4),
        ..Default::default()
    };
    let packed = explainer_integrated_gradients::LayerIntegratedGradients {
        pack_token_rows: 1 << 20,
        ..adaptive.clone()
    };
    let methods: Vec<Box<dyn Method>> = vec![Box::new(adaptive), Box::new(packed)];
    let subject = Subject::new(&model).with_twin(&twin).position_blind();
    let report =
        run_suite(&subject, &SuiteOptions { cases: 4, methods: Some(methods), ..SuiteOptions::default() });
    assert_passes(&report);
    let row = report.row("layer-integrated-gradients", Axiom::Completeness).unwrap();
    assert_eq!(row.verdict, Verdict::Pass);
    // 1e-4 of quadrature, plus the rounding bound κ·u·R (κ ≈ 24, u = 6e-8, R ≈ 1 here).
    assert!(row.allowed > 1e-4 && row.allowed <= 1.5e-4, "{}", row.bound);
}

#[test]
fn the_suite_holds_on_every_hugging_face_fixture_checkpoint() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../transformers/tests/fixtures");
    let mut dirs: Vec<_> = std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.retain(|d| d.join("model.safetensors").exists());
    dirs.sort();
    assert!(dirs.len() >= 6);
    for dir in dirs {
        let model = explainer_transformers::HfClassifier::load(&dir).unwrap();
        let methods: Vec<Box<dyn Method>> = vec![
            Box::new(DeepLift::default()),
            Box::new(explainer_integrated_gradients::LayerIntegratedGradients::default()),
        ];
        let options = SuiteOptions { cases: 2, methods: Some(methods), ..SuiteOptions::default() };
        let report = run_suite(&Subject::new(&model), &options);
        assert_passes(&report);
        println!(
            "{}: {} claims pass",
            dir.display(),
            report.rows.iter().filter(|r| r.verdict == Verdict::Pass).count()
        );
    }
}

/// The conductance sweep, claiming layer conservation within 5 % of each layer's attribution
/// mass: true with many steps, false with two (conductance's sum converges as O(1/n)).
#[derive(Debug, Serialize, Deserialize)]
struct ConservingSweep {
    n_steps: usize,
}

#[typetag::serde(name = "test-conserving-sweep")]
impl Method for ConservingSweep {
    fn requires(&self) -> Capabilities {
        explainer_conductance::ConductanceSweep::default().requires()
    }
    fn has_convergence_delta(&self) -> bool {
        true
    }
    fn claims(&self) -> Vec<Claim> {
        vec![Claim::new(Axiom::LayerConservation, Tolerance::new(0.0, 1e-9).plus_mass(5e-2))]
    }
    fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
        let sweep = explainer_conductance::ConductanceSweep { n_steps: self.n_steps, ..Default::default() };
        explain(&sweep, model, request)
    }
}

#[test]
fn layer_conservation_is_checked_on_every_layer_of_a_sweep() {
    let model = TinyClassifier::default_multilabel().to_kind(tch::Kind::Double).unwrap();
    let methods: Vec<Box<dyn Method>> =
        vec![Box::new(ConservingSweep { n_steps: 256 }), Box::new(ConservingSweep { n_steps: 2 })];
    let options =
        SuiteOptions { cases: 3, methods: Some(methods), max_shrink_iters: 16, ..SuiteOptions::default() };
    let report = run_suite(&Subject::new(&model), &options);
    println!("{}", report.to_markdown());
    let verdicts: Vec<&Verdict> = report.rows.iter().map(|r| &r.verdict).collect();
    assert_eq!(verdicts, [&Verdict::Pass, &Verdict::Fail], "{}", report.to_markdown());
    // Layer conservation with a method that returns no sweep is a failure, not a pass.
    #[derive(Debug, Serialize, Deserialize)]
    struct NoSweep;
    #[typetag::serde(name = "test-no-sweep")]
    impl Method for NoSweep {
        fn requires(&self) -> Capabilities {
            DeepLift::default().requires()
        }
        fn has_convergence_delta(&self) -> bool {
            true
        }
        fn claims(&self) -> Vec<Claim> {
            vec![Claim::new(Axiom::LayerConservation, Tolerance::new(1e-4, 1e-6))]
        }
        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            explain(&DeepLift::default(), model, request)
        }
    }
    let options =
        SuiteOptions { cases: 2, methods: Some(vec![Box::new(NoSweep)]), ..SuiteOptions::default() };
    let report = run_suite(&Subject::new(&model), &options);
    assert!(!report.passed());
    assert!(report.rows[0].counterexample.as_deref().unwrap().contains("no layer sweep"));
}

/// DeepLift with every attribution scaled: completeness breaks, but it still claims it.
#[derive(Debug, Serialize, Deserialize)]
struct Inflated {
    factor: f64,
}

#[typetag::serde(name = "test-inflated-deeplift")]
impl Method for Inflated {
    fn requires(&self) -> Capabilities {
        DeepLift::default().requires()
    }
    fn has_convergence_delta(&self) -> bool {
        true
    }
    fn claims(&self) -> Vec<Claim> {
        vec![
            // The bounds DeepLift itself claims: a looser bound must not hide the violation.
            Claim::new(Axiom::Completeness, Tolerance::rounding(explainer_deeplift::COMPLETENESS_ROUNDING)),
            Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT),
        ]
    }
    fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
        let mut results = explain(&DeepLift::default(), model, request)?;
        for a in &mut results {
            for t in &mut a.targets {
                t.tokens.iter_mut().for_each(|v| *v *= self.factor);
            }
        }
        Ok(results)
    }
}

/// Spreads F(x) − F(x₀) evenly over the tokens (complete) and claims the dummy axiom, which
/// an even spread breaks.
#[derive(Debug, Serialize, Deserialize)]
struct EvenSpreadClaimingDummy;

#[typetag::serde(name = "test-even-spread-dummy")]
impl Method for EvenSpreadClaimingDummy {
    fn requires(&self) -> Capabilities {
        DeepLift::default().requires()
    }
    fn has_convergence_delta(&self) -> bool {
        true
    }
    fn claims(&self) -> Vec<Claim> {
        vec![
            Claim::new(Axiom::Completeness, Tolerance::rounding(explainer_deeplift::COMPLETENESS_ROUNDING)),
            Claim::new(Axiom::DummyToken, Tolerance::EXACT),
        ]
    }
    fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
        let mut results = explain(&DeepLift::default(), model, request)?;
        for a in &mut results {
            for t in &mut a.targets {
                let n = t.tokens.len() as f64;
                let total: f64 = t.tokens.iter().sum();
                t.tokens.iter_mut().for_each(|v| *v = total / n);
            }
        }
        Ok(results)
    }
}

#[test]
fn a_method_claiming_an_axiom_it_breaks_fails_the_suite_with_a_shrunk_counterexample() {
    let model = TinyClassifier::default_multilabel().to_kind(tch::Kind::Double).unwrap();
    let methods: Vec<Box<dyn Method>> = vec![
        Box::new(Inflated { factor: 1.01 }),
        Box::new(EvenSpreadClaimingDummy),
        Box::new(DeepLift::default()),
    ];
    let report = run_suite(
        &Subject::new(&model),
        &SuiteOptions { cases: 8, methods: Some(methods), max_shrink_iters: 64, ..SuiteOptions::default() },
    );
    println!("{}", report.to_markdown());
    assert!(!report.passed());
    let broken = report.row("test-inflated-deeplift", Axiom::Completeness).unwrap();
    assert_eq!(broken.verdict, Verdict::Fail);
    assert!(broken.worst_deviation > broken.allowed);
    let example = broken.counterexample.as_deref().unwrap();
    assert!(example.contains("deviation") && example.contains("ids"), "{example}");
    // Shrunk: proptest reduces the text towards the fewest tokens that still fail.
    let ids: Vec<i64> = example
        .split("ids [")
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap()
        .split(", ")
        .map(|v| v.parse().unwrap())
        .collect();
    let body = &ids[1..ids.len() - 1];
    assert!(body.len() <= 3, "not shrunk: {example}");
    // What it does not break still passes.
    assert_eq!(report.row("test-inflated-deeplift", Axiom::BaselineIdentity).unwrap().verdict, Verdict::Pass);
    assert_eq!(report.row("test-even-spread-dummy", Axiom::Completeness).unwrap().verdict, Verdict::Pass);
    assert_eq!(report.row("test-even-spread-dummy", Axiom::DummyToken).unwrap().verdict, Verdict::Fail);
    // The honest method beside them passes.
    assert!(report.rows.iter().filter(|r| r.method == "deeplift").all(|r| r.verdict != Verdict::Fail));
    // The Markdown and JSON forms say so.
    assert!(report.to_markdown().contains("**FAIL**"));
    let back: Report = serde_json::from_str(&report.to_json()).unwrap();
    for (a, b) in back.rows.iter().zip(&report.rows) {
        assert_eq!((&a.method, a.axiom, &a.verdict, a.cases), (&b.method, b.axiom, &b.verdict, b.cases));
        assert_eq!(a.counterexample, b.counterexample);
    }
}

/// Models per family of the random-checkpoint property: `PROPTEST_CASES` models in all (spread
/// over the families, at least one each), else 2 per family (14 models).
fn checkpoint_cases_per_family() -> u32 {
    let families = explainer_axioms::checkpoints::MODEL_TYPES.len() as u32;
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .map_or(2, |n| n.div_ceil(families).max(1))
}

/// The worst deviation in rounding units of each (method, axiom) over every model drawn.
static HONEST_WORST: std::sync::Mutex<Vec<(String, Axiom, f64, String)>> = std::sync::Mutex::new(Vec::new());

fn record(report: &Report, spec: &str) {
    let mut worst = HONEST_WORST.lock().unwrap();
    for r in &report.rows {
        if r.axiom == Axiom::Sensitivity {
            continue;
        }
        match worst.iter_mut().find(|(m, a, _, _)| *m == r.method && *a == r.axiom) {
            Some(entry) if entry.2 < r.rounding_units => {
                entry.2 = r.rounding_units;
                entry.3 = spec.to_owned();
            }
            Some(_) => {}
            None => worst.push((r.method.clone(), r.axiom, r.rounding_units, spec.to_owned())),
        }
    }
}

/// Every claim of every registered method, on random checkpoints of every family — BERT,
/// DistilBERT, RoBERTa, XLM-R, ELECTRA, ModernBERT, DeBERTa-v2/v3 — in f32 (odd widths, 1–5
/// heads, 1–2 layers, vocabularies 40–700, 1–8 labels, multi-label and multi-class,
/// initializer ranges 0.02–0.5), two cases per claim. Each family gets its share of the models
/// (its own proptest run, so a failure is shrunk within the family); the same models on every
/// run (PROPTEST_RNG_SEED changes them).
#[test]
fn every_claim_holds_on_random_hugging_face_checkpoints() {
    let seed: u64 = std::env::var("PROPTEST_RNG_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x18);
    let mut failures = Vec::new();
    for (f, family) in explainer_axioms::checkpoints::MODEL_TYPES.iter().enumerate() {
        let config = ProptestConfig {
            cases: checkpoint_cases_per_family(),
            max_shrink_iters: 32,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(seed.wrapping_add(f as u64)),
            ..ProptestConfig::default()
        };
        let mut runner = TestRunner::new(config);
        let result = runner.run(&explainer_axioms::checkpoints::hf_specs_of(family), |spec| {
            prop_assert_eq!(spec.model_type, *family);
            let checkpoint = spec.build().unwrap();
            let model = checkpoint.model().unwrap();
            let started = std::time::Instant::now();
            let report = run_suite(
                &Subject::new(model),
                &SuiteOptions { cases: 2, max_shrink_iters: 16, ..SuiteOptions::default() },
            );
            // Every failure must be the open one (docs/axioms.md#open); it is printed, not hidden.
            let failed: Vec<&explainer_axioms::Row> = report.rows.iter().filter(|r| r.verdict == Verdict::Fail).collect();
            let unexpected: Vec<&&explainer_axioms::Row> = failed.iter().filter(|r| !open_deeplift_completeness(r)).collect();
            prop_assert!(unexpected.is_empty(), "{spec:?}\n{}", report.to_markdown());
            for r in &failed {
                println!(
                    "OPEN (docs/axioms.md#open): {} / {} fails on {spec:?}: {:.3e} > {:.3e} ({:.0} κ·u·R)",
                    r.method, r.axiom, r.worst_deviation, r.allowed, r.rounding_units
                );
                OPEN_FAILURES.lock().unwrap().push(format!("{} / {} on {spec:?}", r.method, r.axiom));
            }
            // The claim of the issue is checked on every model, and holds exactly.
            let identity = report.row("layer-conductance", Axiom::BaselineIdentity).unwrap();
            prop_assert_eq!(&identity.verdict, &Verdict::Pass);
            prop_assert_eq!(identity.worst_deviation, 0.0);
            record(&report, &format!("{spec:?}"));
            let worst = HONEST_WORST.lock().unwrap();
            let (m, a, units, worst_spec) = worst.iter().fold(&worst[0], |w, e| if e.2 > w.2 { e } else { w });
            println!(
                "{spec:?}: passed in {:.1} s; worst honest so far: {m} / {a}: {units:.3} κ·u·R on {worst_spec}",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        });
        if let Err(e) = result {
            failures.push(format!("{family}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    let open = OPEN_FAILURES.lock().unwrap();
    println!("the open DeepLift failures (docs/axioms.md#open), {} rows:\n{}", open.len(), open.join("\n"));
}

/// Packed batches (`pack_token_rows`): the rows of the batch-invariance check's three texts of
/// different lengths share passes, padded; every claim, batch invariance included, must hold
/// on a random checkpoint of every family. (The adaptive rule packed is checked on the tiny
/// models: on these draws it can need more than its default 513 points, where its
/// completeness claim ends — docs/axioms.md#open.)
#[test]
fn packed_layer_integrated_gradients_keeps_every_claim_on_random_checkpoints() {
    let mut failures = Vec::new();
    for (f, family) in explainer_axioms::checkpoints::MODEL_TYPES.iter().enumerate() {
        let config = ProptestConfig {
            cases: 1,
            max_shrink_iters: 8,
            failure_persistence: None,
            rng_seed: proptest::test_runner::RngSeed::Fixed(0x17_u64.wrapping_add(f as u64)),
            ..ProptestConfig::default()
        };
        let mut runner = TestRunner::new(config);
        let result = runner.run(&explainer_axioms::checkpoints::hf_specs_of(family), |spec| {
            let checkpoint = spec.build().unwrap();
            let model = checkpoint.model().unwrap();
            let packed = explainer_integrated_gradients::LayerIntegratedGradients {
                pack_token_rows: 1 << 20,
                ..Default::default()
            };
            let methods: Vec<Box<dyn Method>> = vec![Box::new(packed)];
            let report = run_suite(
                &Subject::new(model),
                &SuiteOptions {
                    cases: 2,
                    max_shrink_iters: 8,
                    methods: Some(methods),
                    ..SuiteOptions::default()
                },
            );
            prop_assert!(report.passed(), "{spec:?}\n{}", report.to_markdown());
            let batch = report.row("layer-integrated-gradients", Axiom::BatchInvariance).unwrap();
            prop_assert_eq!(&batch.verdict, &Verdict::Pass);
            Ok(())
        });
        if let Err(e) = result {
            failures.push(format!("{family}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// The one known failure the random draws may show: DeepLift's (and DeepLiftShap's) two
/// claims bounded by the empirical 64·κ·u·R — completeness and batch invariance — on
/// large-weight models, where f32 rounding is amplified far beyond it (exact in f64 up to its
/// rounding; docs/axioms.md#open). Reported in the test's output and kept as ignored failing
/// tests; every other claim must hold.
fn open_deeplift_completeness(row: &explainer_axioms::Row) -> bool {
    matches!(row.method.as_str(), "deeplift" | "deeplift-shap")
        && matches!(row.axiom, Axiom::Completeness | Axiom::BatchInvariance)
}

/// The open failures met by the random draws (printed at the end).
static OPEN_FAILURES: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

fn spec_of(
    model_type: &'static str,
    heads: usize,
    head_width: usize,
    vocab: usize,
    labels: usize,
) -> explainer_axioms::checkpoints::HfSpec {
    explainer_axioms::checkpoints::HfSpec {
        model_type,
        heads,
        head_width,
        layers: 2,
        intermediate: 4 * heads * head_width,
        activation: "gelu",
        vocab,
        extra_rows: 0,
        labels,
        multi_label: false,
        init_std: 0.02,
        seed: 15,
    }
}

/// The two checkpoints of issue 15: a BERT with hidden 48, 3 heads and 7 labels, and a RoBERTa
/// with a byte-level BPE vocabulary of 600. The old bound (1e-12 absolute) failed Layer
/// Conductance's baseline identity there with 1.2e-8; the engine now returns exact zeros.
#[test]
fn the_checkpoints_of_the_issue_pass_every_claim() {
    for spec in [spec_of("bert", 3, 16, 300, 7), spec_of("roberta", 2, 16, 600, 3)] {
        let checkpoint = spec.build().unwrap();
        let report = run_suite(&Subject::new(checkpoint.model().unwrap()), &options(4));
        assert_passes(&report);
        let identity = report.row("layer-conductance", Axiom::BaselineIdentity).unwrap();
        assert_eq!((&identity.verdict, identity.worst_deviation), (&Verdict::Pass, 0.0), "{spec:?}");
        assert!(report.to_markdown().contains("0 (exact)"));
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert!(json["rows"][0]["bound"].as_str().is_some_and(|b| !b.is_empty()));
    }
}

/// The deliberately wrong methods on random checkpoints in f32, beside the honest DeepLift:
/// the wrong ones fail on every model, and the smallest wrong deviation is far above the
/// largest honest one (both in units of κ·u·R).
#[test]
fn wrong_methods_fail_on_random_checkpoints_with_a_margin_over_the_honest_ones() {
    let mut runner = TestRunner::deterministic();
    let (mut honest, mut wrong, mut inflated_fails) = (0.0f64, f64::INFINITY, 0);
    let models = 5;
    for _ in 0..models {
        let spec = explainer_axioms::checkpoints::hf_specs().new_tree(&mut runner).unwrap().current();
        let checkpoint = spec.build().unwrap();
        let methods: Vec<Box<dyn Method>> = vec![
            Box::new(Inflated { factor: 1.01 }),
            Box::new(EvenSpreadClaimingDummy),
            Box::new(DeepLift::default()),
        ];
        let report = run_suite(
            &Subject::new(checkpoint.model().unwrap()),
            &SuiteOptions {
                cases: 8,
                methods: Some(methods),
                max_shrink_iters: 16,
                ..SuiteOptions::default()
            },
        );
        // An exact claim catches the even spread on every model.
        let dummy = report.row("test-even-spread-dummy", Axiom::DummyToken).unwrap();
        assert_eq!(dummy.verdict, Verdict::Fail, "{spec:?}\n{}", report.to_markdown());
        assert!(dummy.counterexample.as_deref().unwrap().contains("ids"));
        // A 1 % inflation is caught wherever 1 % of F(x) − F(x₀) is above the rounding bound.
        let inflated = report.row("test-inflated-deeplift", Axiom::Completeness).unwrap();
        let bound = explainer_deeplift::COMPLETENESS_ROUNDING;
        if inflated.verdict == Verdict::Fail {
            inflated_fails += 1;
            wrong = wrong.min(inflated.rounding_units);
        } else {
            assert!(inflated.rounding_units <= bound);
        }
        for r in report.rows.iter().filter(|r| r.method == "deeplift" && r.axiom == Axiom::Completeness) {
            assert_ne!(r.verdict, Verdict::Fail, "{spec:?}\n{}", report.to_markdown());
            honest = honest.max(r.rounding_units);
        }
        println!(
            "{spec:?}: honest completeness {:.3}, inflated {:.3} ({:?}), even spread {:.3e} κ·u·R",
            report.row("deeplift", Axiom::Completeness).unwrap().rounding_units,
            inflated.rounding_units,
            inflated.verdict,
            dummy.rounding_units
        );
    }
    println!("completeness: largest honest {honest:.3} κ·u·R, smallest failing wrong {wrong:.3} κ·u·R");
    assert!(inflated_fails * 2 > models, "the inflation was caught on {inflated_fails} of {models} models");
    assert!(
        honest < explainer_deeplift::COMPLETENESS_ROUNDING
            && wrong > explainer_deeplift::COMPLETENESS_ROUNDING
    );
}

/// Fixed checkpoints of the new families — ELECTRA (embeddings narrower than the hidden size),
/// ModernBERT with cls and with mean pooling (rotary, global + local attention, GeGLU) and
/// DeBERTa-v3-style relative attention — beside the random draws, so that the same models are
/// checked on every run whatever the seed. Every registered method's claims are checked on one
/// of them (the methods dealt out in turn: each model's suite costs what one random draw does;
/// all of them on every family is the random property's job).
#[test]
fn the_new_families_pass_every_claim() {
    let mut mean = spec_of("modernbert", 2, 8, 120, 3);
    mean.seed = 15; // odd seed: mean pooling, biases on (seed % 3 == 0)
    let mut cls = spec_of("modernbert", 2, 8, 120, 3);
    cls.seed = 16; // even seed: cls pooling, no biases
    let specs = [spec_of("electra", 2, 8, 60, 3), cls, mean, spec_of("deberta-v2", 2, 8, 60, 3)];
    let mut shares: Vec<Vec<Box<dyn Method>>> = specs.iter().map(|_| Vec::new()).collect();
    for (m, method) in explainer_axioms::registered_methods().into_iter().enumerate() {
        shares[m % specs.len()].push(method);
    }
    assert!(shares.iter().all(|s| !s.is_empty()), "every model gets methods");
    for (spec, share) in specs.iter().zip(shares) {
        let checkpoint = spec.build().unwrap();
        let names: Vec<String> = share.iter().map(|m| m.typetag_name().to_owned()).collect();
        let options = SuiteOptions { cases: 2, methods: Some(share), ..SuiteOptions::default() };
        let report = run_suite(&Subject::new(checkpoint.model().unwrap()), &options);
        assert_passes(&report);
        println!("{spec:?}: {} claims pass ({})", report.rows.len(), names.join(", "));
    }
}

/// The perturbation family's non-default configs, whose claims differ from the defaults':
/// single-token features add symmetry, deletion keeps only what survives it, Partition SHAP's
/// exact mode adds linearity and implementation invariance.
#[test]
fn perturbation_claims_hold_for_single_token_features_and_deletion() {
    use explainer_perturbation::{
        FeatureAblation, Groups, KernelShap, Occlusion, PartitionShap, Replacement, ShapleyValueSampling,
    };
    let (model, twin) = subject_models(false, 2);
    let methods: Vec<Box<dyn Method>> = vec![
        Box::new(Occlusion { window: 1, ..Default::default() }),
        Box::new(FeatureAblation { groups: Groups::Tokens, ..Default::default() }),
        Box::new(ShapleyValueSampling { groups: Groups::Tokens, ..Default::default() }),
        Box::new(FeatureAblation { replace_with: Replacement::Delete, ..Default::default() }),
        Box::new(KernelShap { replace_with: Replacement::Delete, ..Default::default() }),
        Box::new(PartitionShap { exact: true, max_evals: 20_000, ..Default::default() }),
        Box::new(PartitionShap { replace_with: Replacement::Delete, ..Default::default() }),
    ];
    let subject = Subject::new(&model).with_twin(&twin).position_blind();
    let report =
        run_suite(&subject, &SuiteOptions { cases: 4, methods: Some(methods), ..SuiteOptions::default() });
    assert_passes(&report);
    let exact = report.row("partition-shap", Axiom::Linearity).unwrap();
    assert_eq!(exact.verdict, Verdict::Pass, "partition-shap (exact): linearity");
    for method in ["occlusion", "feature-ablation"] {
        assert_eq!(report.row(method, Axiom::Symmetry).unwrap().verdict, Verdict::Pass, "{method}");
        assert!(report.row(method, Axiom::DummyToken).is_none(), "{method}: dummy-token is not claimed");
    }
}

/// Open (docs/axioms.md#open): the random draws over every family found models on which
/// DeepLift's f32 completeness misses its empirical 64·κ·u·R bound by far, whatever the
/// activation: a BERT (std 0.398; worst 5.2e-1, 36,289 κ·u·R; the shrunk case 2.5e-3 against
/// 7.7e-4 allowed; in f64 the same weights give 4.8e-11) and a ModernBERT (std 0.455; worst
/// 10.6, 133,181 κ·u·R, on probabilities; the shrunk case 80.6 against 0.12; in f64 2.1e-7).
/// The rules are exact in exact arithmetic; f32 rounding is amplified ~1e9× beyond what κ and R
/// see. Kept as failing cases to fix, not as passing tests: the claim is not loosened for them.
#[test]
#[ignore = "open: DeepLift's f32 completeness bound fails on these models (docs/axioms.md#open)"]
fn deeplift_completeness_on_the_models_the_random_draws_found() {
    let bert = explainer_axioms::checkpoints::HfSpec {
        model_type: "bert",
        heads: 5,
        head_width: 11,
        layers: 1,
        intermediate: 55,
        activation: "gelu",
        vocab: 436,
        extra_rows: 37,
        labels: 1,
        multi_label: true,
        init_std: 0.398,
        seed: 15361994651386213370,
    };
    let modernbert = explainer_axioms::checkpoints::HfSpec {
        model_type: "modernbert",
        heads: 5,
        head_width: 8,
        layers: 1,
        intermediate: 43,
        activation: "tanh",
        vocab: 362,
        extra_rows: 3,
        labels: 2,
        multi_label: false,
        init_std: 0.455,
        seed: 6974886838808555784,
    };
    let cases = [
        (
            bert,
            vec![2, 246, 20, 94, 134, 54, 3],
            vec![vec![2, 208, 69, 127, 136, 32, 3], vec![2, 385, 100, 355, 173, 157, 3]],
        ),
        (
            modernbert,
            vec![0, 16, 18, 79, 111, 2],
            vec![vec![0, 173, 58, 106, 113, 2], vec![0, 319, 83, 295, 144, 2]],
        ),
    ];
    let mut failures = Vec::new();
    for (spec, ids, references) in cases {
        let checkpoint = spec.build().unwrap();
        let neighbour = (ids[..3].iter().chain(ids.last()).copied().collect::<Vec<i64>>(), Vec::new());
        let case = explainer_axioms::Case {
            ids,
            references,
            position: 2,
            other: 3,
            neighbours: vec![neighbour],
            replacement: 5,
            mix: (0.18329590047372465, 1.1434698489637338),
        };
        let tolerance = Tolerance::rounding(explainer_deeplift::COMPLETENESS_ROUNDING);
        let subject = Subject::new(checkpoint.model().unwrap());
        let m =
            explainer_axioms::measure(Axiom::Completeness, tolerance, &DeepLift::default(), &subject, &case)
                .unwrap();
        if m.deviation > m.allowed {
            failures.push(format!("{spec:?}: deviation {:.3e} > allowed {:.3e}", m.deviation, m.allowed));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
