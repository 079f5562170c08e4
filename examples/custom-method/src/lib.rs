//! A new attribution method written outside the workspace's method crates, the way a user
//! would: **leave-one-out** (occlusion of one token at a time).
//!
//! For every token i, the attribution is how much the explained output drops when token i
//! alone is replaced by its baseline token: A_i = F(x) − F(x with x_i ← x₀_i). With several
//! baseline draws, A_i is the mean over draws (and the spread is reported). A token equal to
//! its baseline gets exactly 0, so special tokens, which baselines keep, get 0.
//!
//! It needs nothing but a forward pass and token-id baselines (`pad`, `unk`, `mask`,
//! `random-tokens`); one batched forward per chunk of occluded copies. It does not promise
//! completeness (Σ A ≠ F(x) − F(x₀) once tokens interact), so it reports no convergence delta
//! and does not claim it; it claims what the conformance suite checks in
//! `tests/conformance.rs`. Walk-through: `docs/writing-a-method.md`.
//!
//! ```
//! use explainer_core::{Method, registry};
//! use explainer_example_custom_method::LeaveOneOut;
//!
//! let entry = registry::method("leave-one-out")?;
//! let config = entry.configure(serde_json::json!({"max_batch": 8}))?;
//! assert_eq!(config.typetag_name(), "leave-one-out");
//! assert!(!LeaveOneOut::default().has_convergence_delta());
//! # Ok::<(), explainer_core::Error>(())
//! ```

use explainer_core::support::{check_encodings, explained_output, truncation_warning};
use explainer_core::{
    Attribution, Axiom, Claim, Encoding, Error, Model, Reference, Request, Result, TargetAttribution,
    Tolerance, tensor_row,
};
use serde::{Deserialize, Serialize};

/// The absolute allowance, in the explained output's units, for the float rounding of the
/// two outputs an attribution is the difference of: about κ·u·|F| each (u = 2⁻²⁴ in f32,
/// κ = √hidden × depth the growth through the network), 1e-5 at κ·|F| ≈ 170. On the tiny test
/// models the worst deviation measured in 256 cases per claim is 3.1e-8; sensitivity reads
/// the allowance as the largest score that still counts as zero.
pub const OUTPUT_ROUNDING: f64 = 1e-5;

/// Leave-one-out: each token's attribution is the output's drop when that token alone takes
/// its baseline value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaveOneOut {
    /// At most this many texts (the input and its occluded copies) per forward pass.
    pub max_batch: usize,
}

impl Default for LeaveOneOut {
    fn default() -> Self {
        LeaveOneOut { max_batch: 64 }
    }
}

explainer_core::register_method! {
    name: "leave-one-out",
    config: LeaveOneOut,
    summary: "Leave-one-out (example plugin): the output's drop when one token alone takes its baseline value.",
    requires: [Forward],
    convergence_delta: false,
    impl {
        /// Leave-one-out only compares outputs of whole inputs, so every claim holds up to
        /// float rounding; and as an attribution is the difference of two outputs, that
        /// rounding is absolute, in the output's units ([`OUTPUT_ROUNDING`]), not relative to
        /// the attributions (which may be near zero while the outputs are not).
        fn claims(&self) -> Vec<Claim> {
            let rounding = Tolerance::new(0.0, OUTPUT_ROUNDING);
            vec![
                Claim::new(Axiom::Sensitivity, rounding),
                Claim::new(Axiom::DummyToken, rounding),
                Claim::new(Axiom::Symmetry, rounding),
                Claim::new(Axiom::Linearity, rounding),
                Claim::new(Axiom::ImplementationInvariance, rounding),
                Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT),
                Claim::new(Axiom::BatchInvariance, rounding),
                Claim::new(Axiom::Determinism, Tolerance::EXACT),
            ]
        }

        fn validate(&self) -> Result<()> {
            if self.max_batch == 0 {
                return Err(Error::InvalidConfig("leave-one-out: max_batch must be positive".into()));
            }
            Ok(())
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            check_encodings(request)?;
            let mut results = Vec::with_capacity(request.encodings.len());
            for (text, encoding) in request.encodings.iter().enumerate() {
                let mut result = self.explain_one(model, request, encoding)?;
                result.warnings.extend(truncation_warning(model, encoding, text));
                results.push(result);
            }
            Ok(results)
        }
    }
}

impl LeaveOneOut {
    /// The explained outputs (one row per text, one column per label) of `texts`, in chunks
    /// of at most `max_batch`.
    fn outputs(&self, model: &dyn Model, request: &Request<'_>, texts: &[Encoding]) -> Result<Vec<Vec<f64>>> {
        let mut rows = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(self.max_batch) {
            let refs: Vec<&Encoding> = chunk.iter().collect();
            let logits = model.logits(&refs)?;
            let explained = explained_output(model, &logits, request.output)?;
            for row in 0..chunk.len() {
                rows.push(tensor_row(&explained, row as i64)?);
            }
        }
        Ok(rows)
    }

    fn explain_one(
        &self,
        model: &dyn Model,
        request: &Request<'_>,
        encoding: &Encoding,
    ) -> Result<Attribution> {
        let info = model.info();
        let logits = model.logits(&[encoding])?;
        let scores = tensor_row(&info.problem.scores(&logits)?, 0)?;
        let labels = request.target.resolve(info, &scores)?;
        let references = request.baseline.references(model, encoding)?;
        if references.is_empty() {
            return Err(Error::InvalidConfig("leave-one-out: the baseline gave no reference".into()));
        }
        let n = encoding.len();
        // Per draw: F(x₀) and, per token, F(x) − F(x with x_i ← x₀_i) for every label.
        let mut draws: Vec<(Vec<f64>, Vec<Vec<f64>>)> = Vec::with_capacity(references.len());
        let mut f_input = Vec::new();
        for reference in &references {
            reference.check_len(n)?;
            let Reference::Ids(ids) = reference else {
                return Err(Error::InvalidConfig(format!(
                    "leave-one-out needs a token-id baseline (pad, unk, mask, random-tokens), not {:?}",
                    request.baseline.typetag_name()
                )));
            };
            // Row 0: the input; row 1: the reference; then one copy per token that differs.
            let changed: Vec<usize> = (0..n).filter(|&i| ids[i] != encoding.ids[i]).collect();
            let mut texts = vec![encoding.clone(), Encoding { ids: ids.clone(), ..encoding.clone() }];
            for &i in &changed {
                let mut occluded = encoding.clone();
                occluded.ids[i] = ids[i];
                texts.push(occluded);
            }
            let outputs = self.outputs(model, request, &texts)?;
            let mut drops = vec![vec![0.0; n]; info.labels.len()];
            for (k, &i) in changed.iter().enumerate() {
                for (label, drop) in drops.iter_mut().enumerate() {
                    drop[i] = outputs[0][label] - outputs[k + 2][label];
                }
            }
            f_input = outputs[0].clone();
            draws.push((outputs[1].clone(), drops));
        }
        let count = draws.len() as f64;
        let targets = labels
            .into_iter()
            .map(|label| {
                let mean: Vec<f64> =
                    (0..n).map(|i| draws.iter().map(|(_, d)| d[label][i]).sum::<f64>() / count).collect();
                let spread = (draws.len() > 1).then(|| {
                    (0..n)
                        .map(|i| {
                            let var = draws.iter().map(|(_, d)| (d[label][i] - mean[i]).powi(2)).sum::<f64>();
                            (var / count).sqrt()
                        })
                        .collect()
                });
                TargetAttribution {
                    label_index: label,
                    label: info.labels[label].clone(),
                    score: scores[label],
                    tokens: mean,
                    token_spread: spread,
                    per_dimension: None,
                    f_input: f_input[label],
                    f_baseline: draws.iter().map(|(f0, _)| f0[label]).sum::<f64>() / count,
                    delta: None,
                    steps: None,
                    error_estimate: None,
                    layer_sweep: None,
                }
            })
            .collect();
        Ok(Attribution {
            method: "leave-one-out".into(),
            baseline: request.baseline.typetag_name().into(),
            layer: "tokens".into(),
            output: request.output,
            encoding: encoding.clone(),
            targets,
            warnings: Vec::new(),
        })
    }
}
