//! A plugin that exists to test the registries: a deliberately trivial method that spreads
//! F(x) − F(x₀) evenly over the non-special tokens, and a baseline that replaces every
//! non-special token by `[PAD]`. It goes through every part of the plugin contract (inventory
//! entries, typetag configs, capabilities, targets, baselines, outputs) in a few lines.
//!
//! Both register through `explainer_core::register_method!` / `register_baseline!`.
//!
//! It is not linked into the CLI: only the integration tests use it.

use explainer_core::{
    Attribution, Encoding, Error, Model, Output, Reference, Request, Result, TargetAttribution, tensor_row,
};
use serde::{Deserialize, Serialize};

/// Spreads the output change evenly over the non-special tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvenSpread {
    /// Multiplies every attribution (1 keeps completeness; anything else breaks it, on
    /// purpose, for tests of checks that must catch that).
    #[serde(default = "one")]
    pub scale: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for EvenSpread {
    fn default() -> Self {
        EvenSpread { scale: 1.0 }
    }
}

explainer_core::register_method! {
    name: "fixture-even-spread",
    config: EvenSpread,
    summary: "Test fixture: spreads F(x) − F(x₀) evenly over the tokens.",
    requires: [Forward],
    convergence_delta: true,
    impl {
        fn validate(&self) -> Result<()> {
            if self.scale.is_finite() {
                Ok(())
            } else {
                Err(Error::InvalidConfig(format!("scale must be finite, not {}", self.scale)))
            }
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            let info = model.info();
            let mut results = Vec::new();
            for encoding in request.encodings {
                let logits = model.logits(&[encoding])?;
                let scores = tensor_row(&info.problem.scores(&logits)?, 0)?;
                let explained = match request.output {
                    Output::Probability => scores.clone(),
                    Output::Logit => tensor_row(&logits, 0)?,
                };
                let references = request.baseline.references(model, encoding)?;
                let mut reference_outputs = vec![0.0; info.labels.len()];
                for reference in &references {
                    reference.check_len(encoding.len())?;
                    let Reference::Ids(ids) = reference else {
                        return Err(Error::InvalidConfig("fixture-even-spread needs token-id baselines".into()));
                    };
                    let baseline = Encoding { ids: ids.clone(), ..encoding.clone() };
                    let logits = model.logits(&[&baseline])?;
                    let out = match request.output {
                        Output::Probability => tensor_row(&info.problem.scores(&logits)?, 0)?,
                        Output::Logit => tensor_row(&logits, 0)?,
                    };
                    for (sum, value) in reference_outputs.iter_mut().zip(out) {
                        *sum += value / references.len() as f64;
                    }
                }
                let free: Vec<usize> = (0..encoding.len()).filter(|&i| !encoding.special[i]).collect();
                let targets = request
                    .target
                    .resolve(info, &scores)?
                    .into_iter()
                    .map(|label| {
                        let change = explained[label] - reference_outputs[label];
                        let mut tokens = vec![0.0; encoding.len()];
                        for &i in &free {
                            tokens[i] = self.scale * change / free.len() as f64;
                        }
                        let total: f64 = tokens.iter().sum();
                        TargetAttribution {
                            label_index: label,
                            label: info.labels[label].clone(),
                            score: scores[label],
                            tokens,
                            token_spread: None,
                            per_dimension: None,
                            f_input: explained[label],
                            f_baseline: reference_outputs[label],
                            delta: Some(total - change),
                            steps: None,
                            error_estimate: None,
                            layer_sweep: None,
                        }
                    })
                    .collect();
                results.push(Attribution {
                    method: self.typetag_name().into(),
                    baseline: request.baseline.typetag_name().into(),
                    layer: "tokens".into(),
                    output: request.output,
                    encoding: encoding.clone(),
                    targets,
                    warnings: Vec::new(),
                });
            }
            Ok(results)
        }
    }
}

/// Every non-special token replaced by the vocabulary's padding token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllPad {}

explainer_core::register_baseline! {
    name: "fixture-all-pad",
    config: AllPad,
    summary: "Test fixture: every non-special token replaced by [PAD].",
    requires: [],
    impl {
        fn references(&self, model: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
            let pad = model
                .encoder()
                .special_tokens()
                .pad
                .ok_or_else(|| Error::InvalidConfig("the vocabulary has no padding token".into()))?;
            let ids = input
                .ids
                .iter()
                .zip(&input.special)
                .map(|(&id, &special)| if special { id } else { pad })
                .collect();
            Ok(vec![Reference::Ids(ids)])
        }
    }
}
