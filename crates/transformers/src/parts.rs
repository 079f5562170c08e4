//! Building blocks of the encoders written beside the shared one (ModernBERT, DeBERTa-v2):
//! linear layers and LayerNorms whose bias may be absent, as those families configure them.

use explainer_core::{OpRules, Result};
use tch::{Kind, Tensor};

use crate::weights::Weights;

/// A linear layer `x Wᵀ (+ b)` with PyTorch's `[out, in]` weight layout.
#[derive(Debug)]
pub(crate) struct Dense {
    weight: Tensor,
    bias: Option<Tensor>,
}

impl Dense {
    /// Loads `{name}.weight` and, when `bias`, `{name}.bias`.
    pub(crate) fn load(weights: &Weights, name: &str, out: usize, input: usize, bias: bool) -> Result<Self> {
        Ok(Dense {
            weight: weights.get(&format!("{name}.weight"), &[out as i64, input as i64])?,
            bias: if bias { Some(weights.get(&format!("{name}.bias"), &[out as i64])?) } else { None },
        })
    }

    /// Applies the layer (linear: no op rule needed).
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_linear(&self.weight, self.bias.as_ref())?)
    }
}

/// LayerNorm over the last dimension, with or without a bias.
#[derive(Debug)]
pub(crate) struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    /// Loads `{name}.weight` and, when `bias`, `{name}.bias` (else a zero bias, which is
    /// what `nn.LayerNorm(bias=False)` computes).
    pub(crate) fn load(
        weights: &Weights,
        name: &str,
        width: usize,
        eps: f64,
        bias: bool,
        kind: Kind,
    ) -> Result<Self> {
        let weight = weights.get(&format!("{name}.weight"), &[width as i64])?;
        let bias = if bias {
            weights.get(&format!("{name}.bias"), &[width as i64])?
        } else {
            Tensor::f_zeros([width as i64], (kind, weight.device()))?
        };
        Ok(LayerNorm { weight, bias, eps })
    }

    /// Normalises an activation through the op rules.
    pub(crate) fn forward(&self, ops: &dyn OpRules, x: &Tensor) -> Result<Tensor> {
        ops.layer_norm(x, &self.weight, &self.bias, self.eps)
    }

    /// Normalises a constant (a parameter table): plain arithmetic, no rule involved.
    pub(crate) fn forward_constant(&self, x: &Tensor) -> Result<Tensor> {
        let width = x.size().last().copied().unwrap_or(0);
        Ok(x.f_layer_norm([width], Some(&self.weight), Some(&self.bias), self.eps, false)?)
    }
}

/// The additive key mask `[rows, 1, 1, tokens]`: 0 at real tokens, the kind's most negative
/// value at padding (as transformers' `_prepare_4d_attention_mask`).
pub(crate) fn key_mask_bias(attention_mask: &Tensor, kind: Kind) -> Result<Tensor> {
    let (rows, tokens) = attention_mask.size2()?;
    let min = most_negative(kind);
    Ok(attention_mask
        .f_to_kind(kind)?
        .f_neg()?
        .f_add_scalar(1.0)?
        .f_mul_scalar(min)?
        .f_view([rows, 1, 1, tokens])?)
}

/// The most negative finite value of a float kind (`torch.finfo(dtype).min`).
pub(crate) fn most_negative(kind: Kind) -> f64 {
    if kind == Kind::Double { f64::MIN } else { f32::MIN as f64 }
}
