//! The machinery every perturbation method shares: per text and per reference draw, a
//! *game* whose players are the text's features and whose value of a coalition is the
//! explained output (every label) on the text with the features outside the coalition
//! replaced by the reference's tokens (or deleted). Perturbed inputs are deduplicated by their
//! token ids and run in batches sized from the memory budget; every label comes from the same
//! forward passes. The methods turn values into per-feature scores; this module averages them
//! over reference draws and spreads each feature's score evenly over its tokens.

use std::collections::HashMap;

use explainer_core::{
    Attribution, Encoding, Error, Model, Output, Reference, Request, Result, TargetAttribution, support,
    tch::Kind, tensor_row,
};
use serde::{Deserialize, Serialize};

/// What takes the place of a feature that is switched off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Replacement {
    /// The baseline's token ids at the feature's positions (pad, unk, mask, random-tokens or
    /// any registered token-id baseline); the default.
    #[default]
    Baseline,
    /// The feature's tokens are deleted; the text gets shorter (special tokens stay). The
    /// baseline is not used; F(x₀) is the output with every feature deleted.
    Delete,
}

/// Per-token vectors one perturbed row holds at once in a forward pass without gradients
/// (one layer's activations and FFN are live at a time; `activation_bytes_per_row` multiplies
/// by the depth, which covers the FFN's 4 × hidden and the residual stream).
const PER_TOKEN_VECTORS: usize = 1;
/// Attention maps per token and layer held without gradients.
const ATTENTION_MAPS: usize = 1;

/// One text, one reference: the features, and the value of any coalition of them.
pub(crate) struct Game<'a> {
    model: &'a dyn Model,
    output: Output,
    budget_mb: usize,
    encoding: &'a Encoding,
    /// The reference's ids, or `None` to delete switched-off features.
    reference: Option<Vec<i64>>,
    /// Token positions of each feature.
    pub features: Vec<Vec<usize>>,
    /// Explained output (every label) by token ids of the perturbed input.
    cache: HashMap<Vec<i64>, Vec<f64>>,
    /// How many forward rows were run (distinct perturbed inputs).
    pub evaluated: usize,
    /// Warnings a method adds to the text's result (e.g. an approximation it fell back to).
    pub warnings: Vec<String>,
}

impl<'a> Game<'a> {
    /// The text being explained.
    pub fn encoding(&self) -> &Encoding {
        self.encoding
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether switching feature `f` off changes nothing (its tokens equal the reference's):
    /// its value in every game is exactly 0 (a null player).
    pub fn is_null(&self, f: usize) -> bool {
        match &self.reference {
            Some(r) => self.features[f].iter().all(|&t| r[t] == self.encoding.ids[t]),
            None => false,
        }
    }

    /// The perturbed text: the features with `on[f]` keep the input's tokens.
    fn perturbed(&self, on: &[bool]) -> Encoding {
        match &self.reference {
            Some(r) => {
                let mut e = self.encoding.clone();
                for (f, tokens) in self.features.iter().enumerate() {
                    if !on[f] {
                        for &t in tokens {
                            e.ids[t] = r[t];
                        }
                    }
                }
                e
            }
            None => {
                let mut keep = vec![true; self.encoding.len()];
                for (f, tokens) in self.features.iter().enumerate() {
                    if !on[f] {
                        for &t in tokens {
                            keep[t] = self.encoding.special[t];
                        }
                    }
                }
                let e = self.encoding;
                let pick = |i: &usize| keep[*i];
                let idx: Vec<usize> = (0..e.len()).filter(pick).collect();
                Encoding {
                    ids: idx.iter().map(|&i| e.ids[i]).collect(),
                    type_ids: idx.iter().map(|&i| e.type_ids[i]).collect(),
                    tokens: idx.iter().map(|&i| e.tokens[i].clone()).collect(),
                    offsets: idx.iter().map(|&i| e.offsets[i]).collect(),
                    word_ids: idx.iter().map(|&i| e.word_ids[i]).collect(),
                    special: idx.iter().map(|&i| e.special[i]).collect(),
                    truncated: e.truncated,
                }
            }
        }
    }

    /// The explained output, every label, of each coalition (`on[f]`: feature f keeps the
    /// input's tokens). Distinct inputs are run once, in batches within the memory budget.
    pub fn values(&mut self, coalitions: &[Vec<bool>]) -> Result<Vec<Vec<f64>>> {
        let inputs: Vec<Encoding> = coalitions.iter().map(|on| self.perturbed(on)).collect();
        let mut pending: Vec<&Encoding> = Vec::new();
        let mut queued: HashMap<&[i64], ()> = HashMap::new();
        for e in &inputs {
            if e.ids.is_empty() {
                return Err(Error::InvalidInput(
                    "deleting the text's features leaves no token (the text has no special tokens); use replace_with: baseline".into(),
                ));
            }
            if !self.cache.contains_key(&e.ids) && queued.insert(e.ids.as_slice(), ()).is_none() {
                pending.push(e);
            }
        }
        // Longest first, so that a padded batch (deletion) wastes little.
        pending.sort_by_key(|e| std::cmp::Reverse(e.len()));
        let mut start = 0;
        while start < pending.len() {
            let width = pending[start].len();
            let per_row =
                support::activation_bytes_per_row(self.model, width, PER_TOKEN_VECTORS, ATTENTION_MAPS);
            let rows = support::rows_in_budget(per_row, self.budget_mb);
            let end = (start + rows).min(pending.len());
            let chunk = &pending[start..end];
            let logits = self.model.logits(chunk)?;
            let out = support::explained_output(self.model, &logits, self.output)?
                .f_to_kind(Kind::Double)?
                .f_contiguous()?;
            let labels = out.size().get(1).copied().unwrap_or(0) as usize;
            let flat = Vec::<f64>::try_from(&out.f_flatten(0, -1)?)?;
            if flat.len() != labels * chunk.len() {
                return Err(Error::Internal("a batch gave the wrong number of outputs".into()));
            }
            for (r, e) in chunk.iter().enumerate() {
                self.cache.insert(e.ids.clone(), flat[r * labels..(r + 1) * labels].to_vec());
            }
            self.evaluated += chunk.len();
            start = end;
        }
        inputs
            .iter()
            .map(|e| {
                self.cache
                    .get(&e.ids)
                    .cloned()
                    .ok_or_else(|| Error::Internal("a perturbed input was not run".into()))
            })
            .collect()
    }

    /// The value of every feature off (the reference, or everything deleted).
    pub fn empty(&mut self) -> Result<Vec<f64>> {
        let n = self.len();
        Ok(self.values(&[vec![false; n]])?.remove(0))
    }
}

/// What a method computed for one game: a score per feature for each explained label.
pub(crate) struct Scores {
    /// `scores[t][f]`: feature f's score for the t-th explained label.
    pub scores: Vec<Vec<f64>>,
}

/// How a method runs: its features and its estimator.
pub(crate) trait Estimator {
    /// The registry name, for results and messages.
    fn name(&self) -> &'static str;
    /// The features of a text.
    fn features(&self, encoding: &Encoding) -> Result<Vec<Vec<usize>>>;
    /// What replaces a switched-off feature.
    fn replacement(&self) -> Replacement;
    /// The memory budget for one batch of perturbed inputs, in MiB.
    fn budget_mb(&self) -> usize;
    /// Whether the scores sum to F(x) − F(x₀) (results then carry the delta).
    fn complete(&self) -> bool;
    /// The scores of the features of `game` for `labels`; `f_input` and `f_empty` are the
    /// values of the full and the empty coalition (every label).
    fn estimate(
        &self,
        game: &mut Game<'_>,
        labels: &[usize],
        f_input: &[f64],
        f_empty: &[f64],
    ) -> Result<Scores>;
}

/// Explains every text of `request` with `method`.
pub(crate) fn explain(
    method: &dyn Estimator,
    model: &dyn Model,
    request: &Request<'_>,
) -> Result<Vec<Attribution>> {
    support::check_encodings(request)?;
    request.encodings.iter().enumerate().map(|(i, e)| explain_text(method, model, request, i, e)).collect()
}

fn explain_text(
    method: &dyn Estimator,
    model: &dyn Model,
    request: &Request<'_>,
    text: usize,
    encoding: &Encoding,
) -> Result<Attribution> {
    let info = model.info();
    let n = encoding.len();
    let logits = model.logits(&[encoding])?;
    let scores = tensor_row(&info.problem.scores(&logits)?, 0)?;
    let f_input = tensor_row(&support::explained_output(model, &logits, request.output)?, 0)?;
    let labels = request.target.resolve(info, &scores)?;
    let features = method.features(encoding)?;

    let references: Vec<Option<Vec<i64>>> = match method.replacement() {
        Replacement::Delete => vec![None],
        Replacement::Baseline => {
            let refs = request.baseline.references(model, encoding)?;
            if refs.is_empty() {
                return Err(Error::InvalidConfig(format!(
                    "{}: the baseline gave no reference",
                    method.name()
                )));
            }
            refs.into_iter()
                .map(|r| {
                    r.check_len(n)?;
                    match r {
                        Reference::Ids(ids) => Ok(Some(ids)),
                        Reference::Embeddings(_) => Err(Error::InvalidConfig(format!(
                            "{} replaces tokens by the baseline's token ids, but baseline {:?} gives embeddings; use a token baseline (pad, unk, mask, random-tokens) or replace_with: delete",
                            method.name(),
                            request.baseline.typetag_name()
                        ))),
                    }
                })
                .collect::<Result<_>>()?
        }
    };

    // Per draw: F(x₀) (every label) and per-feature scores per explained label.
    let mut draws: Vec<(Vec<f64>, Vec<Vec<f64>>)> = Vec::with_capacity(references.len());
    let mut method_warnings: Vec<String> = Vec::new();
    for reference in references {
        let mut game = Game {
            model,
            output: request.output,
            budget_mb: method.budget_mb(),
            encoding,
            reference,
            features: features.clone(),
            cache: HashMap::new(),
            evaluated: 0,
            warnings: Vec::new(),
        };
        game.cache.insert(encoding.ids.clone(), f_input.clone());
        let f_empty = game.empty()?;
        let Scores { scores: per_feature } = method.estimate(&mut game, &labels, &f_input, &f_empty)?;
        for w in game.warnings.drain(..) {
            if !method_warnings.contains(&w) {
                method_warnings.push(w);
            }
        }
        // Spread each feature's score evenly over its tokens.
        let per_token: Vec<Vec<f64>> = per_feature
            .iter()
            .map(|s| {
                let mut tokens = vec![0.0; n];
                for (f, positions) in features.iter().enumerate() {
                    let share = s[f] / positions.len() as f64;
                    for &t in positions {
                        tokens[t] += share;
                    }
                }
                tokens
            })
            .collect();
        draws.push((f_empty, per_token));
    }

    let count = draws.len() as f64;
    let targets = labels
        .iter()
        .enumerate()
        .map(|(k, &label)| {
            let mean: Vec<f64> =
                (0..n).map(|i| draws.iter().map(|(_, d)| d[k][i]).sum::<f64>() / count).collect();
            let spread = (draws.len() > 1).then(|| {
                (0..n)
                    .map(|i| {
                        let ss = draws.iter().map(|(_, d)| (d[k][i] - mean[i]).powi(2)).sum::<f64>();
                        (ss / (count - 1.0)).sqrt()
                    })
                    .collect()
            });
            let f_baseline = draws.iter().map(|(f0, _)| f0[label]).sum::<f64>() / count;
            let total: f64 = mean.iter().sum();
            TargetAttribution {
                label_index: label,
                label: info.labels[label].clone(),
                score: scores[label],
                tokens: mean,
                token_spread: spread,
                per_dimension: None,
                f_input: f_input[label],
                f_baseline,
                delta: method.complete().then(|| total - (f_input[label] - f_baseline)),
                steps: None,
                error_estimate: None,
                layer_sweep: None,
            }
        })
        .collect();
    // Perturbation scores whole tokens: a request for per-dimension scores gets none.
    let mut warnings: Vec<String> = support::truncation_warning(model, encoding, text).into_iter().collect();
    warnings.extend(method_warnings);
    Ok(Attribution {
        method: method.name().to_owned(),
        baseline: match method.replacement() {
            Replacement::Baseline => request.baseline.typetag_name().to_owned(),
            Replacement::Delete => "delete".to_owned(),
        },
        layer: "tokens".to_owned(),
        output: request.output,
        encoding: encoding.clone(),
        targets,
        warnings,
    })
}

/// Checks a memory budget.
pub(crate) fn check_budget(name: &str, budget_mb: usize) -> Result<()> {
    if budget_mb == 0 {
        return Err(Error::InvalidConfig(format!("{name}: memory_budget_mb must be positive")));
    }
    Ok(())
}
