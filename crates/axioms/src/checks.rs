//! One check per axiom: run the method on a generated case and measure how far the axiom is
//! from holding.

use explainer_core::{
    Attribution, Axiom, Baseline, Encoding, Error, Method, Model, Output, Reference, Request, Result, Target,
    TargetAttribution, TextEncoder, Tolerance, explain,
};
use serde::{Deserialize, Serialize};
use tch::Kind;

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
///
/// For sensitivity the roles turn around: `deviation` is the largest magnitude that still
/// counts as zero (the rounding floor of the changed token's attribution) and `allowed` that
/// attribution's |A_k|, so `deviation / allowed` says how close the token came to looking
/// like zero.
#[derive(Debug, Clone, Copy)]
pub struct Measure {
    /// The deviation from the axiom, in the output's units.
    pub deviation: f64,
    /// What the claim's tolerance allows for this case.
    pub allowed: f64,
    /// The axiom's scale in this case (|ΔF|, or the largest |attribution|).
    pub scale: f64,
    /// The case's attribution mass Σ|A| (where the claim has a mass part).
    pub mass: f64,
    /// R: the magnitude of the quantities the check adds up (see `magnitude_of`).
    pub magnitude: f64,
    /// u: the unit roundoff of the model's float kind.
    pub unit_roundoff: f64,
    /// κ = √(hidden size) × depth of the model.
    pub growth: f64,
}

impl Measure {
    /// Nothing to measure (e.g. the outputs did not change, so sensitivity says nothing).
    pub fn vacuous() -> Self {
        Measure {
            deviation: 0.0,
            allowed: 0.0,
            scale: 0.0,
            mass: 0.0,
            magnitude: 0.0,
            unit_roundoff: 0.0,
            growth: 0.0,
        }
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

    /// The rounding unit of this case, κ × u × R.
    pub fn unit_rounding(&self) -> f64 {
        self.growth * self.unit_roundoff * self.magnitude
    }

    /// deviation / (κ × u × R): the deviation in rounding units (∞ when R is 0 and the
    /// deviation is not).
    pub fn in_rounding_units(&self) -> f64 {
        let unit = self.unit_rounding();
        if self.deviation == 0.0 {
            0.0
        } else if unit == 0.0 {
            f64::INFINITY
        } else {
            self.deviation / unit
        }
    }
}

/// What R, the rounding magnitude, is for each axiom (M_i = Σ_d |a_i,d| is token i's
/// per-dimension attribution mass; |a_i| when a method returns no per-dimension scores).
pub fn magnitude_of(axiom: Axiom) -> &'static str {
    match axiom {
        Axiom::Completeness | Axiom::LayerConservation => "Σᵢ Mᵢ + |F(x)| + |F(x₀)|",
        Axiom::Sensitivity => "M_k of the changed token (the gate on ΔF: Σᵢ Mᵢ + |F(x)| + |F(x₀)|)",
        Axiom::DummyToken => "maxᵢ Mᵢ",
        Axiom::Symmetry => "Σᵢ Mᵢ + |F(x)| + |F(x₀)|",
        Axiom::Linearity => "Σ over i, j (weighted |a|, |b|) and the mix of Σᵢ Mᵢ + |F(x)| + |F(x₀)|",
        Axiom::ImplementationInvariance => "Σᵢ Mᵢ + |F(x)| + |F(x₀)| of both models",
        Axiom::BaselineIdentity => "|F(x)| + |F(x₀)|",
        Axiom::BatchInvariance | Axiom::Determinism => "Σᵢ Mᵢ + |F(x)| + |F(x₀)| of both runs",
    }
}

/// u and κ of a model: the unit roundoff of its float kind and √(hidden size) × depth (its
/// listed layers).
#[derive(Debug, Clone, Copy)]
struct Rounding {
    u: f64,
    kappa: f64,
}

impl Rounding {
    fn of(model: &dyn Model) -> Self {
        let u = match model.kind() {
            Kind::Double => f64::EPSILON / 2.0,
            Kind::Half => 2f64.powi(-11),
            Kind::BFloat16 => 2f64.powi(-8),
            _ => f64::from(f32::EPSILON) / 2.0,
        };
        let info = model.info();
        let kappa = (info.hidden_size.max(1) as f64).sqrt() * info.layers.len().max(1) as f64;
        Rounding { u, kappa }
    }

    /// A measure of `deviation` against `tolerance` with this case's scale, mass and R.
    fn measure(
        &self,
        tolerance: Tolerance,
        deviation: f64,
        scale: f64,
        mass: f64,
        magnitude: f64,
    ) -> Measure {
        let allowed = tolerance.allowed_all(scale, mass, self.kappa * self.u * magnitude);
        Measure { deviation, allowed, scale, mass, magnitude, unit_roundoff: self.u, growth: self.kappa }
    }
}

/// Token i's per-dimension attribution mass Σ_d |a_i,d| (|a_i| without per-dimension scores).
fn token_mass(t: &TargetAttribution, i: usize) -> f64 {
    match t.per_dimension.as_ref().and_then(|rows| rows.get(i)) {
        Some(row) => row.iter().map(|v| v.abs()).sum(),
        None => t.tokens.get(i).map_or(0.0, |v| v.abs()),
    }
}

/// |F(x)| + |F(x₀)|: attributions below u × the output are below what the output resolves.
fn outputs(t: &TargetAttribution) -> f64 {
    t.f_input.abs() + t.f_baseline.abs()
}

fn total_mass(t: &TargetAttribution) -> f64 {
    (0..t.tokens.len()).map(|i| token_mass(t, i)).sum()
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
        per_dimension: true,
    };
    explain(method, model, &request)
}

fn largest(a: &Attribution) -> f64 {
    a.targets.iter().flat_map(|t| t.tokens.iter()).fold(0.0, |m, v| m.max(v.abs()))
}

/// Token by token, label by label: |A − B| against R = M_k(A) + M_k(B), the worst case.
fn compare(rounding: &Rounding, tolerance: Tolerance, a: &Attribution, b: &Attribution) -> Result<Measure> {
    if a.targets.len() != b.targets.len() {
        return Err(Error::Internal("the two runs explained different labels".into()));
    }
    let scale = largest(a);
    let mut measures = Vec::new();
    for (x, y) in a.targets.iter().zip(&b.targets) {
        if x.tokens.len() != y.tokens.len() {
            return Err(Error::Internal("the two runs have different token counts".into()));
        }
        // Attention mixes every token into every gradient: a token's rounding is relative
        // to the whole text's mass, not its own.
        let magnitude = total_mass(x) + total_mass(y) + outputs(x) + outputs(y);
        for (p, q) in x.tokens.iter().zip(&y.tokens) {
            measures.push(rounding.measure(tolerance, (p - q).abs(), scale, 0.0, magnitude));
        }
    }
    Ok(worst(measures))
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
    tolerance: Tolerance,
    method: &dyn Method,
    subject: &Subject<'_>,
    case: &Case,
) -> Result<Measure> {
    let model = subject.model;
    let rounding = Rounding::of(model);
    let texts = vec![(case.ids.clone(), case.references.clone())];
    match axiom {
        Axiom::Completeness => {
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            Ok(worst(a.targets.iter().map(|t| {
                let change = t.f_input - t.f_baseline;
                let mass: f64 = t.tokens.iter().map(|v| v.abs()).sum();
                let magnitude = total_mass(t) + t.f_input.abs() + t.f_baseline.abs();
                rounding.measure(tolerance, (t.total() - change).abs(), change, mass, magnitude)
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
                    let magnitude = mass + t.f_input.abs() + t.f_baseline.abs();
                    measures.push(rounding.measure(
                        tolerance,
                        (total - change).abs(),
                        change,
                        mass,
                        magnitude,
                    ));
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
                // Only a change above the rounding of F(x) − F(x₀) and of the attributions
                // says anything.
                let gate = rounding.measure(
                    tolerance,
                    0.0,
                    0.0,
                    0.0,
                    total_mass(t) + t.f_input.abs() + t.f_baseline.abs(),
                );
                if change.abs() <= 2.0 * gate.allowed {
                    return Measure::vacuous();
                }
                // The largest |A_k| that still counts as zero, against |A_k|.
                let floor = rounding.measure(tolerance, 0.0, 0.0, 0.0, token_mass(t, case.position));
                Measure { deviation: floor.allowed, allowed: t.tokens[case.position].abs(), ..floor }
            })))
        }
        Axiom::DummyToken => {
            let masked = MaskedPosition::new(model, case.position);
            let a = one_result(run(method, &masked, &texts, Output::Probability)?)?;
            let scale = largest(&a);
            Ok(worst(a.targets.iter().map(|t| {
                let magnitude = (0..t.tokens.len()).map(|i| token_mass(t, i)).fold(0.0, f64::max);
                rounding.measure(tolerance, t.tokens[case.position].abs(), scale, 0.0, magnitude)
            })))
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
            Ok(worst(a.targets.iter().map(|t| {
                let magnitude = total_mass(t) + outputs(t);
                rounding.measure(tolerance, (t.tokens[p] - t.tokens[q]).abs(), scale, 0.0, magnitude)
            })))
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
                let magnitude = wa.abs() * (total_mass(ti) + outputs(ti))
                    + wb.abs() * (total_mass(tj) + outputs(tj))
                    + total_mass(tm)
                    + outputs(tm);
                measures.push(rounding.measure(
                    tolerance,
                    (tm.tokens[k] - expected).abs(),
                    scale,
                    0.0,
                    magnitude,
                ));
            }
            Ok(worst(measures))
        }
        Axiom::ImplementationInvariance => {
            let twin = subject.twin.ok_or_else(|| {
                Error::InvalidConfig("implementation invariance needs a functionally equal twin model".into())
            })?;
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            let b = one_result(run(method, twin, &texts, Output::Probability)?)?;
            compare(&Rounding::of(model), tolerance, &a, &b)
        }
        Axiom::BaselineIdentity => {
            let texts = vec![(case.ids.clone(), vec![case.ids.clone(), case.ids.clone()])];
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            Ok(worst(a.targets.iter().map(|t| {
                let largest = t.tokens.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                rounding.measure(tolerance, largest, 0.0, 0.0, t.f_input.abs() + t.f_baseline.abs())
            })))
        }
        Axiom::BatchInvariance => {
            let alone = one_result(run(method, model, &texts, Output::Probability)?)?;
            // Neighbours (of other lengths: one shorter or longer, so padding is exercised).
            let batch = vec![case.neighbours[0].clone(), texts[0].clone(), case.neighbours[1].clone()];
            let results = run(method, model, &batch, Output::Probability)?;
            let together = results.get(1).ok_or_else(|| Error::Internal("a batch text is missing".into()))?;
            compare(&rounding, tolerance, &alone, together)
        }
        Axiom::Determinism => {
            let a = one_result(run(method, model, &texts, Output::Probability)?)?;
            let b = one_result(run(method, model, &texts, Output::Probability)?)?;
            compare(&rounding, tolerance, &a, &b)
        }
    }
}
