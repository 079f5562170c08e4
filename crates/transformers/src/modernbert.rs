//! ModernBERT's encoder: token embeddings and a norm (no positions), then pre-norm layers with
//! rotary attention — global or sliding-window local, each with its own θ — and a GeGLU MLP,
//! then the final norm.
//!
//! Mirrors transformers' `modeling_modernbert.py` (`ModernBertEmbeddings`,
//! `ModernBertAttention` with `apply_rotary_pos_emb`, `ModernBertMLP`, `ModernBertEncoderLayer`,
//! `ModernBertModel`; eager attention). The first layer's attention norm is the identity, as
//! there. Rotary cos/sin depend on positions only, so rotating q and k is linear; the
//! non-linear and multiplicative ops — QKᵀ, softmax, attention·V, the MLP's activation and
//! GeGLU's product `act(input) · gate`, every LayerNorm — go through the op rules.

use explainer_core::{ForwardCtx, InputBatch, Result, layer_names};
use tch::{Kind, Tensor};

use crate::config::{EncoderConfig, ModernBertOptions};
use crate::parts::{Dense, LayerNorm, key_mask_bias, most_negative};
use crate::weights::Weights;

/// One ModernBERT layer.
#[derive(Debug)]
struct Layer {
    /// `None` in layer 0 (transformers' `nn.Identity`).
    attn_norm: Option<LayerNorm>,
    wqkv: Dense,
    wo: Dense,
    mlp_norm: LayerNorm,
    wi: Dense,
    mlp_wo: Dense,
    /// Sliding-window (local) attention rather than global.
    local: bool,
}

/// ModernBERT's embeddings, layers and final norm.
#[derive(Debug)]
pub(crate) struct ModernBertEncoder {
    config: EncoderConfig,
    options: ModernBertOptions,
    word: Tensor,
    norm: LayerNorm,
    layers: Vec<Layer>,
    final_norm: LayerNorm,
    kind: Kind,
}

impl ModernBertEncoder {
    /// The name of the word-embedding table under the encoder's prefix.
    pub(crate) const WORD_EMBEDDINGS: &'static str = "embeddings.tok_embeddings.weight";

    /// Loads the encoder; `prefix` is `model.` in a `ModernBertForSequenceClassification`.
    pub(crate) fn load(weights: &Weights, config: &EncoderConfig, prefix: &str, kind: Kind) -> Result<Self> {
        let options = config
            .modernbert
            .clone()
            .ok_or_else(|| explainer_core::Error::Internal("ModernBERT without its options".into()))?;
        let (h, i, eps) = (config.hidden, config.intermediate, config.eps);
        let p = |name: &str| format!("{prefix}{name}");
        let norm = |name: &str| LayerNorm::load(weights, &p(name), h, eps, options.norm_bias, kind);
        let word = weights.get(&p(Self::WORD_EMBEDDINGS), &[config.vocab_size as i64, h as i64])?;
        let embeddings_norm = norm("embeddings.norm")?;
        let mut layers = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let n = |name: &str| format!("layers.{l}.{name}");
            layers.push(Layer {
                attn_norm: if l == 0 { None } else { Some(norm(&n("attn_norm"))?) },
                wqkv: Dense::load(weights, &p(&n("attn.Wqkv")), 3 * h, h, options.attention_bias)?,
                wo: Dense::load(weights, &p(&n("attn.Wo")), h, h, options.attention_bias)?,
                mlp_norm: norm(&n("mlp_norm"))?,
                wi: Dense::load(weights, &p(&n("mlp.Wi")), 2 * i, h, options.mlp_bias)?,
                mlp_wo: Dense::load(weights, &p(&n("mlp.Wo")), h, i, options.mlp_bias)?,
                local: options.local_layers.get(l).copied().unwrap_or(false),
            });
        }
        let final_norm = norm("final_norm")?;
        Ok(ModernBertEncoder {
            config: config.clone(),
            options,
            word,
            norm: embeddings_norm,
            layers,
            final_norm,
            kind,
        })
    }

    /// Rotary `(cos, sin)` `[tokens, head_width]` for θ, computed in f32 as transformers does
    /// (`inv_freq = 1 / θ^(2k/d)`, `emb = cat(freqs, freqs)`), then cast to the model's kind.
    fn rotary(
        &self,
        theta: f64,
        tokens: i64,
        head_width: i64,
        device: tch::Device,
    ) -> Result<(Tensor, Tensor)> {
        let options = (Kind::Float, device);
        let exponents =
            Tensor::f_arange_start_step(0, head_width, 2, options)?.f_div_scalar(head_width as f64)?;
        let inv_freq = Tensor::f_pow_scalar(theta, &exponents)?.f_reciprocal()?;
        let positions = Tensor::f_arange(tokens, options)?.f_unsqueeze(-1)?;
        let freqs = positions.f_mul(&inv_freq.f_unsqueeze(0)?)?;
        let emb = Tensor::f_cat(&[&freqs, &freqs], -1)?;
        Ok((emb.f_cos()?.f_to_kind(self.kind)?, emb.f_sin()?.f_to_kind(self.kind)?))
    }

    /// The last hidden states after the final norm `[batch, tokens, hidden]`, running the hooks
    /// at `embeddings.word`, `embeddings` and `encoder.0` … `encoder.{N-1}` (each layer's
    /// output before the final norm, what transformers reports as `hidden_states`).
    pub(crate) fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let ops = ctx.ops();
        let (rows, tokens) = input.ids.size2()?;
        let word = Tensor::f_embedding(&self.word, &input.ids, -1, false, false)?;
        let word = ctx.layer(layer_names::WORD_EMBEDDINGS, word)?;
        let x = self.norm.forward(ops, &word)?;
        let mut x = ctx.layer(layer_names::EMBEDDINGS, x)?;

        // Global: padding keys masked. Local: also keys more than local_attention / 2 away.
        let global_bias = key_mask_bias(&input.attention_mask, self.kind)?;
        let local_bias = if self.layers.iter().any(|l| l.local) {
            let positions = Tensor::f_arange(tokens, (Kind::Int64, input.ids.device()))?;
            let distance = positions.f_unsqueeze(1)?.f_sub(&positions.f_unsqueeze(0)?)?.f_abs()?;
            let outside =
                distance.f_gt(self.options.local_attention as i64 / 2)?.f_view([1, 1, tokens, tokens])?;
            // Only real queries get the window: a padding query far from every real token
            // would have a fully masked row (transformers' softmax makes it uniform; paired op
            // rules would divide 0 by 0). Padding rows' outputs are read by nothing.
            let real_query = input.attention_mask.f_ne(0)?.f_view([rows, 1, tokens, 1])?;
            Some(
                global_bias
                    .f_expand([rows, 1, tokens, tokens], false)?
                    .f_masked_fill(&outside.f_logical_and(&real_query)?, most_negative(self.kind))?,
            )
        } else {
            None
        };

        let heads = self.config.heads as i64;
        let width = self.config.hidden as i64;
        let head_width = width / heads;
        let scale = 1.0 / (head_width as f64).sqrt();
        let half = head_width / 2;
        let global_rotary =
            self.rotary(self.options.global_rope_theta, tokens, head_width, input.ids.device())?;
        let local_rotary =
            self.rotary(self.options.local_rope_theta, tokens, head_width, input.ids.device())?;
        // q·cos + rotate_half(q)·sin, rotate_half(q) = cat(−q₂, q₁): linear in q.
        let rotate = |t: &Tensor, (cos, sin): &(Tensor, Tensor)| -> Result<Tensor> {
            let first = t.f_narrow(-1, 0, half)?;
            let second = t.f_narrow(-1, half, head_width - half)?;
            let rotated = Tensor::f_cat(&[&second.f_neg()?, &first], -1)?;
            Ok(t.f_mul(cos)?.f_add(&rotated.f_mul(sin)?)?)
        };
        let intermediate = self.config.intermediate as i64;
        for (l, layer) in self.layers.iter().enumerate() {
            let normed = match &layer.attn_norm {
                Some(norm) => norm.forward(ops, &x)?,
                None => x.shallow_clone(),
            };
            // Wqkv's output is [q | k | v], each heads × head_width.
            let qkv = layer.wqkv.forward(&normed)?.f_view([rows, tokens, 3, heads, head_width])?;
            let part = |i: i64| -> Result<Tensor> { Ok(qkv.f_select(2, i)?.f_transpose(1, 2)?) };
            let rotary = if layer.local { &local_rotary } else { &global_rotary };
            let q = rotate(&part(0)?, rotary)?.f_mul_scalar(scale)?;
            let k = rotate(&part(1)?, rotary)?;
            let v = part(2)?;
            let bias = match (&local_bias, layer.local) {
                (Some(local), true) => local,
                _ => &global_bias,
            };
            let scores = ops.matmul(&q, &k.f_transpose(-1, -2)?)?.f_add(bias)?;
            let probabilities = ops.softmax(&scores, -1)?;
            let attended = ops.matmul(&probabilities, &v)?;
            let merged = attended.f_transpose(1, 2)?.f_contiguous()?.f_view([rows, tokens, width])?;
            x = x.f_add(&layer.wo.forward(&merged)?)?;
            // GeGLU: Wi's output is [input | gate]; act(input) · gate.
            let up = layer.wi.forward(&layer.mlp_norm.forward(ops, &x)?)?;
            let activated = ops.unary(self.config.activation, &up.f_narrow(-1, 0, intermediate)?)?;
            let gated = ops.mul(&activated, &up.f_narrow(-1, intermediate, intermediate)?)?;
            x = x.f_add(&layer.mlp_wo.forward(&gated)?)?;
            x = ctx.layer(&layer_names::encoder(l), x)?;
        }
        self.final_norm.forward(ops, &x)
    }
}
