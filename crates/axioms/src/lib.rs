//! explainer-axioms: the axiom-conformance suite.
//!
//! Every registered method declares the axioms it guarantees, with a tolerance
//! ([`explainer_core::Method::claims`]). [`run_suite`] checks every claim of every method on a
//! model — the suite's own random test models, or yours — over random texts, baselines and
//! positions generated with proptest, and returns a [`Report`]: axiom × method, pass or fail,
//! the worst deviation seen, the cases tried, and on failure proptest's shrunk
//! counter-example. A new plugin is covered the moment it registers.
//!
//! ```ignore
//! let report = explainer_axioms::run_suite(&Subject::new(&my_model), &SuiteOptions::default());
//! println!("{}", report.to_markdown());
//! assert!(report.passed());
//! ```
//!
//! Axioms, formulas and sources: `docs/axioms.md`.

pub mod checkpoints;
mod checks;
mod report;
pub mod strategies;
pub mod wrappers;

use std::cell::{Cell, RefCell};

use explainer_core::{Axiom, Method, Model, registry};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

pub use checks::{Case, Measure, measure};
pub use report::{Report, Row, Verdict};

/// The model under test, and what the suite may assume about it.
#[derive(Clone, Copy)]
pub struct Subject<'a> {
    /// The model.
    pub model: &'a dyn Model,
    /// A functionally equal model with another implementation (permuted hidden units, a
    /// linear layer split in two, …): enables the implementation-invariance check.
    pub twin: Option<&'a dyn Model>,
    /// Whether the model ignores token positions (no position embeddings), so that two equal
    /// tokens are interchangeable: enables the symmetry check.
    pub position_blind: bool,
}

impl<'a> Subject<'a> {
    /// A model with no twin, not position-blind.
    pub fn new(model: &'a dyn Model) -> Self {
        Subject { model, twin: None, position_blind: false }
    }

    /// The same subject with a functionally equal twin.
    pub fn with_twin(self, twin: &'a dyn Model) -> Self {
        Subject { twin: Some(twin), ..self }
    }

    /// The same subject, declared position-blind.
    pub fn position_blind(self) -> Self {
        Subject { position_blind: true, ..self }
    }
}

/// How much to try, and on which methods.
pub struct SuiteOptions {
    /// Generated cases per claim (default: `PROPTEST_CASES`, else 4).
    pub cases: u32,
    /// Seed of the case generator (the same seed gives the same cases).
    pub seed: u64,
    /// The methods to check; `None` means every registered method with its default config.
    pub methods: Option<Vec<Box<dyn Method>>>,
    /// At most this many shrinking steps per failed claim (default 256).
    pub max_shrink_iters: u32,
}

impl Default for SuiteOptions {
    fn default() -> Self {
        let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(4);
        SuiteOptions { cases, seed: 0x5eed, methods: None, max_shrink_iters: 256 }
    }
}

/// Every registered method, with its default configuration.
pub fn registered_methods() -> Vec<Box<dyn Method>> {
    registry::methods().iter().map(|e| (e.default_config)()).collect()
}

/// Checks every claim of every method on `subject`.
pub fn run_suite(subject: &Subject<'_>, options: &SuiteOptions) -> Report {
    let owned;
    let methods: &[Box<dyn Method>] = match &options.methods {
        Some(m) => m,
        None => {
            owned = registered_methods();
            &owned
        }
    };
    let info = subject.model.info();
    let mut rows = Vec::new();
    let mut names = Vec::new();
    for method in methods {
        let name = method.typetag_name().to_owned();
        names.push(name.clone());
        let claims = method.claims();
        let missing = info.require(&format!("method {name:?}"), method.requires()).err();
        for claim in claims {
            let skip = match (&missing, claim.axiom) {
                (Some(e), _) => Some(e.to_string()),
                (None, Axiom::Symmetry) if !subject.position_blind => {
                    Some("needs a position-blind model (Subject::position_blind)".to_owned())
                }
                (None, Axiom::ImplementationInvariance) if subject.twin.is_none() => {
                    Some("needs a functionally equal twin model (Subject::with_twin)".to_owned())
                }
                _ => None,
            };
            if let Some(reason) = skip {
                rows.push(Row::skipped(&name, claim, reason));
                continue;
            }
            rows.push(check_claim(subject, method.as_ref(), &name, claim, options));
        }
    }
    Report { model: info.name.clone(), cases_per_claim: options.cases, methods: names, rows }
}

fn check_claim(
    subject: &Subject<'_>,
    method: &dyn Method,
    name: &str,
    claim: explainer_core::Claim,
    options: &SuiteOptions,
) -> Row {
    let config = Config {
        cases: options.cases,
        max_shrink_iters: options.max_shrink_iters,
        failure_persistence: None,
        ..Config::default()
    };
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&options.seed.to_le_bytes());
    seed[8] = claim.axiom as u8;
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let tried = Cell::new(0u32);
    let worst = Cell::new(Measure::vacuous());
    let last_error = RefCell::new(None::<String>);
    let strategy = strategies::cases(subject.model);
    let result = runner.run(&strategy, |case| {
        tried.set(tried.get() + 1);
        match measure(claim.axiom, claim.tolerance, method, subject, &case) {
            Ok(m) => {
                let first = worst.get().growth == 0.0 && m.growth != 0.0;
                if first || m.ratio() > worst.get().ratio() || m.deviation.is_nan() {
                    worst.set(m);
                }
                if m.deviation.is_nan() || m.deviation > m.allowed {
                    Err(TestCaseError::fail(format!(
                        "deviation {:.3e} > allowed {:.3e}",
                        m.deviation, m.allowed
                    )))
                } else {
                    Ok(())
                }
            }
            Err(e) => {
                *last_error.borrow_mut() = Some(e.to_string());
                Err(TestCaseError::fail(format!("the method failed: {e}")))
            }
        }
    });
    let worst = worst.get();
    match result {
        Ok(()) => Row::new(name, claim, Verdict::Pass, tried.get(), worst, None),
        Err(TestError::Fail(reason, case)) => {
            let example = format!(
                "{reason}; ids {:?}, references {:?}, position {}, other {}, replacement {}, mix {:?}",
                case.ids, case.references, case.position, case.other, case.replacement, case.mix
            );
            Row::new(name, claim, Verdict::Fail, tried.get(), worst, Some(example))
        }
        Err(TestError::Abort(reason)) => {
            let why = last_error.borrow().clone().unwrap_or_else(|| reason.to_string());
            Row::new(name, claim, Verdict::Fail, tried.get(), worst, Some(format!("aborted: {why}")))
        }
    }
}
