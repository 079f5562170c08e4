//! One check per axiom: run the method on a generated case and measure how far the axiom is
//! from holding.

use explainer_core::{
    Attribution, Axiom, Baseline, Encoding, Error, Method, Model, Output, Reference, Request, Result, Target,
    TextEncoder, explain,
};
use serde::{Deserialize, Serialize};

use crate::Subject;
use crate::wrappers::{ExtraLabel, MaskedPosition};

/// One generated case: a text as token ids (specials included), reference draws, the
/// positions some axioms single out, neighbours for batches and linear-combination weights.
#[derive(Debug, Clone)]
pub struct Case {
    /// The input's ids, special tokens included.
    pub ids: Vec<i64>,
    /// Two reference draws of the same length (special tokens kept).
    pub references: Vec<Vec<i64>>,
    /// A non-first, non-special position (the changed token, the dummy token, the first of
    /// the symmetric pair).
    pub position: usize,
    /// Another non-first, non-special position (the second of the symmetric pair).
    pub other: usize,
    /// Two more texts for batch invariance, with their references.
    pub neighbours: Vec<(Vec<i64>, Vec<Vec<i64>>)>,
    /// A replacement id for the sensitivity check.
    pub replacement: i64,
    /// Weights of the linearity check.
    pub mix: (f64, f64),
}

/// How far one case is from the axiom: it holds when `deviation ≤ allowed`.
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    /// The deviation from the axiom, in the output's units.
    pub deviation: f64,
    /// What the claim's tolerance allows for this case.
    pub allowed: f64,
}

impl Measure {
    fn holds(deviation: f64, allowed: f64) -> Self {
        Measure { deviation, allowed }
    }

    /// Nothing to measure (e.g. the outputs did not change, so sensitivity says nothing).
    pub fn vacuous() -> Self {
        Measure { deviation: 0.0, allowed: 0.0 }
    }

    /// deviation / allowed (0 when both are 0).
    pub fn ratio(&self) -> f64 {
        if self.deviation == 0.0 {
            0.0
        } else if self.allowed == 0.0 {
            f64::INFINITY
        } else {
            self.deviation / self.allowed
        }
    }
}

/// References looked up by the input's ids (a text not in the table is an internal error).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct FixedReferences(pub Vec<(Vec<i64>, Vec<Vec<i64>>)>);

#[typetag::serde(name = "axioms-fixed-references")]
impl Baseline for FixedReferences {
    fn references(&self, _: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
        let (_, refs) =
            self.0.iter().find(|(ids, _)| *ids == input.ids).ok_or_else(|| {
                Error::Internal("the conformance suite has no reference for this text".into())
            })?;
        Ok(refs.iter().map(|r| Reference::Ids(r.clone())).collect())
    }
}

/// An encoding of raw ids: tokens from the vocabulary, no offsets.
pub(crate) fn encoding(encoder: &dyn TextEncoder, ids: &[i64]) -> Encoding {
    let specials = encoder.special_tokens();
    let special: Vec<bool> =
        ids.iter().map(|id| Some(*id) == specials.cls || Some(*id) == specials.sep).collect();
    let mut word = 0;
    let word_ids = special
        .iter()
        .map(|s| {
            if *s {
                None
            } else {
                word += 1;
                Some(word - 1)
            }
        })
        .collect();
    Encoding {
        tokens: ids.iter().map(|id| encoder.id_to_token(*id).unwrap_or_else(|| format!("#{id}"))).collect(),
        type_ids: vec![0; ids.len()],
        offsets: vec![(0, 0); ids.len()],
        word_ids,
        special,
        truncated: false,
        ids: ids.to_vec(),
    }
}

fn run(
    method: &dyn Method,
    model: &dyn Model,
    texts: &[(Vec<i64>, Vec<Vec<i64>>)],
    output: Output,
) -> Result<Vec<Attribution>> {
    let encodings: Vec<Encoding> = texts.iter().map(|(ids, _)| encoding(model.encoder(), ids)).collect();
    let baseline = FixedReferences(texts.to_vec());
    let request = Request {
        encodings: &encodings,
        target: &Target::All,
        baseline: &baseline,
        output,
        per_dimension: false,
    };
    explain(method, model, &request)
}

fn largest(a: &Attribution) -> f64 {
    a.targets.iter().flat_map(|t| t.tokens.iter()).fold(0.0, |m, v| m.max(v.abs()))
}

/// The worst token difference between two attributions of the same text and labels, and the
/// largest |attribution| of the first.
fn difference(a: &Attribution, b: &Attribution) -> Result<(f64, f64)> {
    if a.targets.len() != b.targets.len() {
        return Err(Error::Internal("the two runs explained different labels".into()));
    }
    let mut worst = 0.0f64;
    for (x, y) in a.targets.iter().zip(&b.targets) {
        if x.tokens.len() != y.tokens.len() {
            return Err(Error::Internal("the two runs have different token counts".into()));
        }
        for (p, q) in x.tokens.iter().zip(&y.tokens) {
            worst = worst.max((p - q).abs());
        }
    }
    Ok((worst, largest(a)))
}

fn worst(measures: impl IntoIterator<Item = Measure>) -> Measure {
    measures.into_iter().fold(Measure::vacuous(), |w, m| if m.ratio() > w.ratio() { m } else { w })
}

fn one_result(mut results: Vec<Attribution>) -> Result<Attribution> {
    if results.len() == 1 {
        Ok(results.remove(0))
    } else {
        Err(Error::Internal(format!("one text gave {} results", results.len())))
    }
}

/// Measures `axiom` for `method` on `case` with the claim's tolerance.
pub fn measure(
    axiom: Axiom,
    tolerance: explainer_core::Tolerance,
    method: &dyn Method,
    subject: &Subject<'_>,
    case: &Case,
) -> Result<Measure> {
    let model = subject.model;
    let texts = vec![(case.ids.clone(), case.references.clone())];
    match axiom {
        Axiom::Completeness => {
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            Ok(worst(a.targets.iter().map(|t| {
                let change = t.f_input - t.f_baseline;
                let mass: f64 = t.tokens.iter().map(|v| v.abs()).sum();
                Measure::holds((t.total() - change).abs(), tolerance.allowed_with_mass(change, mass))
            })))
        }
        Axiom::LayerConservation => {
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            let mut measures = Vec::new();
            for t in &a.targets {
                let sweep = t.layer_sweep.as_ref().ok_or_else(|| {
                    Error::InvalidConfig(
                        "the method claims layer conservation but returned no layer sweep".into(),
                    )
                })?;
                let change = t.f_input - t.f_baseline;
                for (l, _) in sweep.layers.iter().enumerate() {
                    let column = sweep.scores.iter().map(|row| row.get(l).copied().unwrap_or(0.0));
                    let (total, mass) = column.fold((0.0, 0.0), |(s, m), v| (s + v, m + v.abs()));
                    let allowed = tolerance.allowed_with_mass(change, mass);
                    measures.push(Measure::holds((total - change).abs(), allowed));
                }
            }
            Ok(worst(measures))
        }
        Axiom::Sensitivity => {
            // The reference is the input with one token changed.
            let mut reference = case.ids.clone();
            reference[case.position] = case.replacement;
            if reference == case.ids {
                return Ok(Measure::vacuous());
            }
            let texts = vec![(case.ids.clone(), vec![reference.clone(), reference])];
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            Ok(worst(a.targets.iter().map(|t| {
                let change = t.f_input - t.f_baseline;
                // Only a change well above the float noise says anything.
                if change.abs() <= 1e-4 {
                    return Measure::vacuous();
                }
                let score = t.tokens[case.position].abs();
                if score > tolerance.absolute {
                    Measure::vacuous()
                } else {
                    Measure::holds(change.abs(), 0.0)
                }
            })))
        }
        Axiom::DummyToken => {
            let masked = MaskedPosition::new(model, case.position);
            let a = one_result(run(method, &masked, &texts, Output::Probability)?)?;
            let scale = largest(&a);
            Ok(worst(
                a.targets
                    .iter()
                    .map(|t| Measure::holds(t.tokens[case.position].abs(), tolerance.allowed(scale))),
            ))
        }
        Axiom::Symmetry => {
            if !subject.position_blind {
                return Err(Error::InvalidConfig(
                    "symmetry needs a position-blind model (Subject::position_blind)".into(),
                ));
            }
            let (p, q) = (case.position, case.other);
            if p == q {
                return Ok(Measure::vacuous());
            }
            let mut ids = case.ids.clone();
            ids[q] = ids[p];
            let references: Vec<Vec<i64>> = case
                .references
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r[q] = r[p];
                    r
                })
                .collect();
            let a = one_result(run(method, model, &[(ids, references)], Output::Probability)?)?;
            let scale = largest(&a);
            Ok(worst(
                a.targets
                    .iter()
                    .map(|t| Measure::holds((t.tokens[p] - t.tokens[q]).abs(), tolerance.allowed(scale))),
            ))
        }
        Axiom::Linearity => {
            let labels = model.info().labels.len();
            let (i, j) = (case.position % labels, case.other % labels);
            let (wa, wb) = case.mix;
            let mixed = ExtraLabel::new(model, i, j, wa, wb);
            let a = one_result(run(method, &mixed, &texts, Output::Logit)?)?;
            let find = |label: usize| {
                a.targets
                    .iter()
                    .find(|t| t.label_index == label)
                    .ok_or_else(|| Error::Internal(format!("label {label} was not explained")))
            };
            let (ti, tj, tm) = (find(i)?, find(j)?, find(labels)?);
            let mut measures = Vec::new();
            for k in 0..tm.tokens.len() {
                let expected = wa * ti.tokens[k] + wb * tj.tokens[k];
                let scale = (wa * ti.tokens[k]).abs() + (wb * tj.tokens[k]).abs();
                measures.push(Measure::holds((tm.tokens[k] - expected).abs(), tolerance.allowed(scale)));
            }
            Ok(worst(measures))
        }
        Axiom::ImplementationInvariance => {
            let twin = subject.twin.ok_or_else(|| {
                Error::InvalidConfig("implementation invariance needs a functionally equal twin model".into())
            })?;
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            let b = one_result(run(method, twin, &texts, Output::Probability)?)?;
            let (diff, scale) = difference(&a, &b)?;
            Ok(Measure::holds(diff, tolerance.allowed(scale)))
        }
        Axiom::BaselineIdentity => {
            let texts = vec![(case.ids.clone(), vec![case.ids.clone(), case.ids.clone()])];
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            Ok(Measure::holds(largest(&a), tolerance.allowed(0.0)))
        }
        Axiom::BatchInvariance => {
            let alone = one_result(run(method, model, &texts, Output::Probability)?)?;
            // Neighbours (of other lengths: one shorter or longer, so padding is exercised).
            let batch = vec![case.neighbours[0].clone(), texts[0].clone(), case.neighbours[1].clone()];
            let results = run(method, model, &batch, Output::Probability)?;
            let together = results.get(1).ok_or_else(|| Error::Internal("a batch text is missing".into()))?;
            let (diff, scale) = difference(&alone, together)?;
            Ok(Measure::holds(diff, tolerance.allowed(scale)))
        }
        Axiom::Determinism => {
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            let b = one_result(run(method, model, &texts, Output::Probability)?)?;
            let (diff, scale) = difference(&a, &b)?;
            Ok(Measure::holds(diff, tolerance.allowed(scale)))
        }
    }
}
