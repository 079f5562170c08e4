//! Models built around the model under test, for axioms that need a second, related model.
//!
//! Each wrapper runs the wrapped model's own forward pass (same hooks, same op rules), so
//! every method sees the wrapped model's layers and capabilities.

use explainer_core::{ForwardCtx, InputBatch, Model, ModelInfo, ProblemType, Result, TextEncoder};
use tch::{Device, Kind, Tensor};

/// The model with the token at `position` masked out (attention mask 0), which the adapter
/// contract says the model must ignore: the dummy token.
pub struct MaskedPosition<'a> {
    inner: &'a dyn Model,
    position: i64,
}

impl<'a> MaskedPosition<'a> {
    /// Masks `position` in every row.
    pub fn new(inner: &'a dyn Model, position: usize) -> Self {
        MaskedPosition { inner, position: position as i64 }
    }
}

impl Model for MaskedPosition<'_> {
    fn info(&self) -> &ModelInfo {
        self.inner.info()
    }
    fn encoder(&self) -> &dyn TextEncoder {
        self.inner.encoder()
    }
    fn device(&self) -> Device {
        self.inner.device()
    }
    fn kind(&self) -> Kind {
        self.inner.kind()
    }
    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let mask = input.attention_mask.f_mul_scalar(1)?;
        if self.position < mask.size2()?.1 {
            let _ = mask.f_select(1, self.position)?.f_fill_(0)?;
        }
        let masked = InputBatch {
            ids: input.ids.shallow_clone(),
            attention_mask: mask,
            type_ids: input.type_ids.shallow_clone(),
            lengths: input.lengths.clone(),
        };
        self.inner.forward(&masked, ctx)
    }
}

/// The model with one more output: `a · logit_i + b · logit_j`, for linearity. Its problem
/// type is regression, so the new output is that combination under either output kind.
pub struct ExtraLabel<'a> {
    inner: &'a dyn Model,
    info: ModelInfo,
    i: i64,
    j: i64,
    a: f64,
    b: f64,
}

impl<'a> ExtraLabel<'a> {
    /// Appends the label `a · logit_i + b · logit_j`.
    pub fn new(inner: &'a dyn Model, i: usize, j: usize, a: f64, b: f64) -> Self {
        let mut info = inner.info().clone();
        info.labels.push("axioms:linear-combination".into());
        info.problem = ProblemType::Regression;
        ExtraLabel { inner, info, i: i as i64, j: j as i64, a, b }
    }
}

impl Model for ExtraLabel<'_> {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn encoder(&self) -> &dyn TextEncoder {
        self.inner.encoder()
    }
    fn device(&self) -> Device {
        self.inner.device()
    }
    fn kind(&self) -> Kind {
        self.inner.kind()
    }
    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let logits = self.inner.forward(input, ctx)?;
        let mixed = logits
            .f_select(1, self.i)?
            .f_mul_scalar(self.a)?
            .f_add(&logits.f_select(1, self.j)?.f_mul_scalar(self.b)?)?
            .f_unsqueeze(1)?;
        Ok(Tensor::f_cat(&[&logits, &mixed], 1)?)
    }
}
