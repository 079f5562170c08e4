//! Helpers every method engine needs, for the built-in methods and for plugin authors:
//! the explained output, request checks, memory-budget chunking, truncation warnings.

use tch::{Kind, Tensor};

use crate::{Encoding, Error, Model, Output, Request, Result};

/// The explained function of a batch's logits: the model's scores (sigmoid, softmax or
/// identity, by problem type) for [`Output::Probability`], the logits for [`Output::Logit`].
pub fn explained_output(model: &dyn Model, logits: &Tensor, output: Output) -> Result<Tensor> {
    match output {
        Output::Probability => model.info().problem.scores(logits),
        Output::Logit => Ok(logits.shallow_clone()),
    }
}

/// Checks that every text of the request is well formed and has at least one token.
pub fn check_encodings(request: &Request<'_>) -> Result<()> {
    for (i, e) in request.encodings.iter().enumerate() {
        e.validate()?;
        if e.is_empty() {
            return Err(Error::InvalidInput(format!("text {i} has no tokens")));
        }
    }
    Ok(())
}

/// Estimated bytes of activations one batch row of `tokens` tokens keeps for its backward
/// pass in a BERT-like encoder: `per_token_vectors` hidden-sized vectors per token and layer
/// (18 for a plain forward; more for rules that compose ops) plus `attention_maps` heads ×
/// tokens maps per token and layer (heads ≈ hidden / 64). Measured on BERT-base at 512
/// tokens, 18 / 3 overestimates by about 1.8× (docs/benchmarks.md): on the safe side.
pub fn activation_bytes_per_row(
    model: &dyn Model,
    tokens: usize,
    per_token_vectors: usize,
    attention_maps: usize,
) -> usize {
    let info = model.info();
    let layers = info.layers.iter().filter(|l| l.name.starts_with("encoder.")).count().max(1) + 1;
    let hidden = info.hidden_size.max(1);
    let heads = (hidden / 64).max(1);
    let element = if model.kind() == Kind::Double { 8 } else { 4 };
    element * tokens * layers * (per_token_vectors * hidden + attention_maps * heads * tokens)
}

/// How many rows of `tokens` tokens fit in `budget_mb` MiB at `bytes_per_row` each (at least
/// one).
pub fn rows_in_budget(bytes_per_row: usize, budget_mb: usize) -> usize {
    (budget_mb.saturating_mul(1 << 20) / bytes_per_row.max(1)).max(1)
}

/// The warning a result carries when its text was cut to the model's maximum length.
pub fn truncation_warning(model: &dyn Model, encoding: &Encoding, text: usize) -> Option<String> {
    encoding.truncated.then(|| {
        format!(
            "text {text} was truncated to the model's maximum of {} tokens; the rest was not explained",
            model.encoder().max_len()
        )
    })
}
