//! Scores of modified inputs: what the faithfulness metrics query.

use explainer_core::{Encoding, Model, Result};

/// The model's scores (after its output function: sigmoid for multi-label, softmax for
/// multi-class) on token-id sequences, one row of label scores per sequence.
///
/// A sequence is a complete input, special tokens included (e.g. the text with some tokens
/// deleted). Implemented by [`ModelScorer`]; tests use closures ([`FnScorer`]).
pub trait Scorer {
    /// One row of label scores per sequence.
    fn scores(&mut self, inputs: &[Vec<i64>]) -> Result<Vec<Vec<f64>>>;

    /// The score of label `label` for each sequence.
    fn label_scores(&mut self, inputs: &[Vec<i64>], label: usize) -> Result<Vec<f64>> {
        Ok(self.scores(inputs)?.into_iter().map(|row| row.get(label).copied().unwrap_or(f64::NAN)).collect())
    }
}

/// A [`Scorer`] over a [`Model`]: sequences are padded into batches of `batch_size` and run
/// without gradients; segment ids are all 0 (single texts).
pub struct ModelScorer<'a> {
    model: &'a dyn Model,
    batch_size: usize,
    /// How many sequences were scored (for reports of the work done).
    pub calls: usize,
}

impl<'a> ModelScorer<'a> {
    /// A scorer of `model`, 64 sequences per forward pass.
    pub fn new(model: &'a dyn Model) -> Self {
        ModelScorer { model, batch_size: 64, calls: 0 }
    }
}

/// The encoding of a bare id sequence (no offsets or token strings: the model reads ids only).
pub fn bare_encoding(ids: &[i64]) -> Encoding {
    let n = ids.len();
    Encoding {
        ids: ids.to_vec(),
        type_ids: vec![0; n],
        tokens: vec![String::new(); n],
        offsets: vec![(0, 0); n],
        word_ids: vec![None; n],
        special: vec![false; n],
        truncated: false,
    }
}

impl Scorer for ModelScorer<'_> {
    fn scores(&mut self, inputs: &[Vec<i64>]) -> Result<Vec<Vec<f64>>> {
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(self.batch_size.max(1)) {
            let encodings: Vec<Encoding> = chunk.iter().map(|ids| bare_encoding(ids)).collect();
            let refs: Vec<&Encoding> = encodings.iter().collect();
            for p in self.model.predictions(&refs)? {
                out.push(p.scores);
            }
            self.calls += chunk.len();
        }
        Ok(out)
    }
}

/// A [`Scorer`] from a closure (a fixed score function, for tests and hand-computed cases).
pub struct FnScorer<F>(pub F);

impl<F: FnMut(&[i64]) -> Vec<f64>> Scorer for FnScorer<F> {
    fn scores(&mut self, inputs: &[Vec<i64>]) -> Result<Vec<Vec<f64>>> {
        Ok(inputs.iter().map(|ids| (self.0)(ids)).collect())
    }
}
