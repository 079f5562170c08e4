//! Shared helpers of the embedding baselines.

use explainer_core::{Baseline, DefaultOps, Encoding, Hooks, InputBatch, Model, Result, layer_names};
use tch::{Device, Kind, Tensor};

/// Checks that the model offers what `baseline` needs, naming both when it does not.
pub(crate) fn require(model: &dyn Model, baseline: &dyn Baseline) -> Result<()> {
    model.info().require(&format!("baseline {:?}", baseline.typetag_name()), baseline.requires())
}

/// The word embeddings of one text, `[tokens, hidden]` in the model's kind on its device,
/// read at `embeddings.word` without a gradient graph.
pub(crate) fn word_embeddings(model: &dyn Model, input: &Encoding) -> Result<Tensor> {
    let batch = InputBatch::single(input, model.device())?;
    let mut hooks = Hooks::new();
    hooks.read(layer_names::WORD_EMBEDDINGS);
    let _logits = tch::no_grad(|| model.run(&batch, Some(&mut hooks), &DefaultOps))?;
    let embeddings = hooks.get(layer_names::WORD_EMBEDDINGS)?.f_get(0)?;
    Ok(embeddings.f_to_kind(model.kind())?.f_contiguous()?)
}

/// A `[tokens, 1]` boolean column, true at the special tokens, on `device`.
pub(crate) fn special_column(input: &Encoding, device: Device) -> Result<Tensor> {
    Ok(Tensor::from_slice(&input.special).f_reshape([input.len() as i64, 1])?.f_to_device(device)?)
}

/// `[0, hidden]`: the (empty) embeddings reference of a text without tokens.
pub(crate) fn empty(model: &dyn Model) -> Result<Tensor> {
    Ok(Tensor::f_zeros([0, model.info().hidden_size as i64], (model.kind(), model.device()))?)
}

/// The reference: `fill` (broadcast to `[tokens, hidden]`) at the non-special tokens, and at
/// the special tokens their own word embeddings when `keep_special`, else `fill` too.
pub(crate) fn fill_non_special(
    model: &dyn Model,
    input: &Encoding,
    fill: &Tensor,
    keep_special: bool,
) -> Result<Tensor> {
    input.validate()?;
    let (kind, device) = (model.kind(), model.device());
    let hidden = model.info().hidden_size as i64;
    if input.is_empty() {
        return empty(model);
    }
    let fill = fill.f_to_kind(kind)?.f_to_device(device)?;
    if !keep_special || !input.special.iter().any(|&s| s) {
        return Ok(fill.f_expand([input.len() as i64, hidden], false)?.f_contiguous()?);
    }
    let own = word_embeddings(model, input)?;
    let fill = fill.f_expand_as(&own)?;
    Ok(own.f_where_self(&special_column(input, device)?, &fill)?.f_contiguous()?)
}

/// Kind used to accumulate means: f64, on the CPU (some devices have no f64).
pub(crate) const ACCUMULATE: (Kind, Device) = (Kind::Double, Device::Cpu);
