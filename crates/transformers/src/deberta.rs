//! DeBERTa-v2/v3's encoder: embeddings (absolute positions only when `position_biased_input`,
//! an optional `embed_proj`), then post-LN layers of disentangled self-attention — content
//! scores plus content-to-position (c2p) and position-to-content (p2c) terms read from shared
//! relative-position embeddings at log-bucketed distances.
//!
//! Mirrors transformers' `modeling_deberta_v2.py` (`DebertaV2Embeddings`,
//! `DisentangledSelfAttention` with `disentangled_attention_bias`, `build_relative_position`,
//! `make_log_bucket_position`, `DebertaV2Encoder.get_rel_embedding`, `DebertaV2Layer`). The
//! relative-position keys and queries are projections of a parameter table, so the c2p and
//! p2c terms are products of one activation with a constant — linear, no rule needed; QKᵀ,
//! the softmax, attention·V, the feed-forward activation and every LayerNorm go through the
//! op rules.

use explainer_core::{Error, ForwardCtx, InputBatch, Result, layer_names};
use tch::{Kind, Tensor};

use crate::config::{DebertaOptions, EncoderConfig};
use crate::parts::{Dense, LayerNorm, key_mask_bias};
use crate::weights::Weights;

/// One DeBERTa-v2 layer.
#[derive(Debug)]
struct Layer {
    query: Dense,
    key: Dense,
    value: Dense,
    /// `pos_key_proj` (c2p without `share_att_key`).
    pos_key: Option<Dense>,
    /// `pos_query_proj` (p2c without `share_att_key`).
    pos_query: Option<Dense>,
    output: Dense,
    attention_norm: LayerNorm,
    up: Dense,
    down: Dense,
    output_norm: LayerNorm,
}

/// DeBERTa-v2's embeddings and layers.
#[derive(Debug)]
pub(crate) struct DebertaEncoder {
    config: EncoderConfig,
    options: DebertaOptions,
    word: Tensor,
    position: Option<Tensor>,
    token_type: Option<Tensor>,
    projection: Option<Dense>,
    norm: LayerNorm,
    /// The relative-position embeddings, LayerNorm'ed when `norm_rel_ebd` says so, first
    /// `2 × span` rows (a constant).
    relative: Option<Tensor>,
    layers: Vec<Layer>,
    kind: Kind,
}

impl DebertaEncoder {
    /// The name of the word-embedding table under the encoder's prefix.
    pub(crate) const WORD_EMBEDDINGS: &'static str = "embeddings.word_embeddings.weight";

    /// Loads the encoder; `prefix` is `deberta.` in a `DebertaV2ForSequenceClassification`.
    pub(crate) fn load(weights: &Weights, config: &EncoderConfig, prefix: &str, kind: Kind) -> Result<Self> {
        let options =
            config.deberta.clone().ok_or_else(|| Error::Internal("DeBERTa-v2 without its options".into()))?;
        let (h, i, e, eps) = (config.hidden, config.intermediate, config.embedding_size, config.eps);
        let p = |name: &str| format!("{prefix}{name}");
        let word = weights.get(&p(Self::WORD_EMBEDDINGS), &[config.vocab_size as i64, e as i64])?;
        let position =
            if options.position_biased_input {
                Some(weights.get(
                    &p("embeddings.position_embeddings.weight"),
                    &[config.max_positions as i64, e as i64],
                )?)
            } else {
                None
            };
        let token_type =
            if config.type_vocab > 0 {
                Some(weights.get(
                    &p("embeddings.token_type_embeddings.weight"),
                    &[config.type_vocab as i64, e as i64],
                )?)
            } else {
                None
            };
        let projection =
            if e != h { Some(Dense::load(weights, &p("embeddings.embed_proj"), h, e, false)?) } else { None };
        let norm = LayerNorm::load(weights, &p("embeddings.LayerNorm"), h, eps, true, kind)?;
        let span = options.span();
        let relative = if options.relative_attention {
            let table = weights.get(&p("encoder.rel_embeddings.weight"), &[2 * span, h as i64])?;
            let table = if options.norm_rel_ebd {
                LayerNorm::load(weights, &p("encoder.LayerNorm"), h, eps, true, kind)?
                    .forward_constant(&table)?
            } else {
                table
            };
            Some(table)
        } else {
            None
        };
        let separate = options.relative_attention && !options.share_att_key;
        let mut layers = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let n = |name: &str| p(&format!("encoder.layer.{l}.{name}"));
            let dense =
                |name: &str, out: usize, input: usize| Dense::load(weights, &n(name), out, input, true);
            layers.push(Layer {
                query: dense("attention.self.query_proj", h, h)?,
                key: dense("attention.self.key_proj", h, h)?,
                value: dense("attention.self.value_proj", h, h)?,
                pos_key: if separate && options.c2p {
                    Some(dense("attention.self.pos_key_proj", h, h)?)
                } else {
                    None
                },
                pos_query: if separate && options.p2c {
                    Some(dense("attention.self.pos_query_proj", h, h)?)
                } else {
                    None
                },
                output: dense("attention.output.dense", h, h)?,
                attention_norm: LayerNorm::load(
                    weights,
                    &n("attention.output.LayerNorm"),
                    h,
                    eps,
                    true,
                    kind,
                )?,
                up: dense("intermediate.dense", i, h)?,
                down: dense("output.dense", h, i)?,
                output_norm: LayerNorm::load(weights, &n("output.LayerNorm"), h, eps, true, kind)?,
            });
        }
        Ok(DebertaEncoder {
            config: config.clone(),
            options,
            word,
            position,
            token_type,
            projection,
            norm,
            relative,
            layers,
            kind,
        })
    }

    /// Relative positions `[tokens, tokens]` (query − key), log-bucketed when
    /// `position_buckets > 0` (transformers' `make_log_bucket_position`, computed with the
    /// same f32 tensor ops so bucket edges agree).
    fn relative_positions(&self, tokens: i64, device: tch::Device) -> Result<Tensor> {
        let ids = Tensor::f_arange(tokens, (Kind::Int64, device))?;
        let relative = ids.f_unsqueeze(1)?.f_sub(&ids.f_unsqueeze(0)?)?;
        let (buckets, max_position) = (self.options.position_buckets, self.options.max_relative_positions);
        if buckets <= 0 || max_position <= 0 {
            return Ok(relative);
        }
        let mid = buckets / 2;
        let sign = relative.f_sign()?;
        let inside = relative.f_lt(mid)?.f_logical_and(&relative.f_gt(-mid)?)?;
        let absolute = relative.f_abs()?.f_masked_fill(&inside, mid - 1)?;
        // torch.log(torch.tensor((max_position - 1) / mid)): an f32 tensor.
        let log_denominator = Tensor::from_slice(&[((max_position - 1) as f64 / mid as f64) as f32])
            .f_to_device(device)?
            .f_log()?;
        let log_position = absolute
            .f_to_kind(Kind::Float)?
            .f_div_scalar(mid as f64)?
            .f_log()?
            .f_div(&log_denominator)?
            .f_mul_scalar((mid - 1) as f64)?
            .f_ceil()?
            .f_add_scalar(mid as f64)?;
        let bucketed = relative
            .f_to_kind(Kind::Float)?
            .f_where_self(&absolute.f_le(mid)?, &log_position.f_mul(&sign.f_to_kind(Kind::Float)?)?)?;
        Ok(bucketed.f_to_kind(Kind::Int64)?)
    }

    /// The last hidden states `[batch, tokens, hidden]`, running the hooks at
    /// `embeddings.word`, `embeddings` and `encoder.0` … `encoder.{N-1}`.
    pub(crate) fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let ops = ctx.ops();
        let (rows, tokens) = input.ids.size2()?;
        let word = Tensor::f_embedding(&self.word, &input.ids, -1, false, false)?;
        let word = ctx.layer(layer_names::WORD_EMBEDDINGS, word)?;
        let mut x = word.shallow_clone();
        if let Some(position) = &self.position {
            let positions = Tensor::f_arange(tokens, (Kind::Int64, input.ids.device()))?.f_unsqueeze(0)?;
            x = x.f_add(&Tensor::f_embedding(position, &positions, -1, false, false)?)?;
        }
        if let Some(types) = &self.token_type {
            x = x.f_add(&Tensor::f_embedding(types, &input.type_ids, -1, false, false)?)?;
        }
        if let Some(projection) = &self.projection {
            x = projection.forward(&x)?;
        }
        let mask = input.attention_mask.f_to_kind(self.kind)?;
        // Padding rows are zeroed (a product with a constant mask: linear).
        let x = self.norm.forward(ops, &x)?.f_mul(&mask.f_unsqueeze(-1)?)?;
        let mut x = ctx.layer(layer_names::EMBEDDINGS, x)?;

        // transformers masks query-and-key pairs (`get_attention_mask`), so a padding query's
        // row is all masked. Masking the keys only gives every real token the same scores
        // (its padded keys are masked either way) and never a fully masked row, on which
        // paired op rules (DeepLift's softmax) would divide 0 by 0; padding rows' outputs are
        // read by nothing.
        let bias = key_mask_bias(&input.attention_mask, self.kind)?;

        let heads = self.config.heads as i64;
        let width = self.config.hidden as i64;
        let head_width = width / heads;
        let o = &self.options;
        let factor = 1 + i64::from(o.c2p) + i64::from(o.p2c);
        // transformers: sqrt(head_width · factor) as an f32 tensor.
        let scale = f64::from(((head_width * factor) as f32).sqrt());
        let split = |t: Tensor, len: i64, batch: i64| -> Result<Tensor> {
            Ok(t.f_view([batch, len, heads, head_width])?.f_transpose(1, 2)?)
        };
        let span = o.span();
        let (c2p_index, p2c_index) = match &self.relative {
            Some(_) => {
                let relative = self.relative_positions(tokens, input.ids.device())?;
                let c2p = relative.f_add_scalar(span)?.f_clamp(0, 2 * span - 1)?;
                let p2c = relative.f_neg()?.f_add_scalar(span)?.f_clamp(0, 2 * span - 1)?;
                let expand = |t: Tensor| -> Result<Tensor> {
                    Ok(t.f_view([1, 1, tokens, tokens])?.f_expand([rows, heads, tokens, tokens], false)?)
                };
                (Some(expand(c2p)?), Some(expand(p2c)?))
            }
            None => (None, None),
        };
        for (l, layer) in self.layers.iter().enumerate() {
            let q = split(layer.query.forward(&x)?, tokens, rows)?;
            let k = split(layer.key.forward(&x)?, tokens, rows)?;
            let v = split(layer.value.forward(&x)?, tokens, rows)?;
            let mut scores = ops.matmul(&q, &k.f_transpose(-1, -2)?.f_div_scalar(scale)?)?;
            if let Some(relative) = &self.relative {
                let project = |own: &Option<Dense>, shared: &Dense| -> Result<Tensor> {
                    let dense = own.as_ref().unwrap_or(shared);
                    Ok(dense
                        .forward(relative)?
                        .f_view([1, 2 * span, heads, head_width])?
                        .f_transpose(1, 2)?)
                };
                if let Some(index) = &c2p_index
                    && o.c2p
                {
                    // [rows, heads, q, 2·span] at index relative(q, k) + span.
                    let pos_key = project(&layer.pos_key, &layer.key)?;
                    let c2p = q.f_matmul(&pos_key.f_transpose(-1, -2)?)?.f_gather(-1, index, false)?;
                    scores = scores.f_add(&c2p.f_div_scalar(scale)?)?;
                }
                if let Some(index) = &p2c_index
                    && o.p2c
                {
                    // [rows, heads, k, 2·span] at index −relative(k, q) + span, transposed.
                    let pos_query = project(&layer.pos_query, &layer.query)?;
                    let p2c = k
                        .f_matmul(&pos_query.f_transpose(-1, -2)?)?
                        .f_gather(-1, index, false)?
                        .f_transpose(-1, -2)?;
                    scores = scores.f_add(&p2c.f_div_scalar(scale)?)?;
                }
            }
            let probabilities = ops.softmax(&scores.f_add(&bias)?, -1)?;
            let attended = ops.matmul(&probabilities, &v)?;
            let merged = attended.f_transpose(1, 2)?.f_contiguous()?.f_view([rows, tokens, width])?;
            let h = layer.attention_norm.forward(ops, &x.f_add(&layer.output.forward(&merged)?)?)?;
            let inner = ops.unary(self.config.activation, &layer.up.forward(&h)?)?;
            let out = layer.output_norm.forward(ops, &h.f_add(&layer.down.forward(&inner)?)?)?;
            x = ctx.layer(&layer_names::encoder(l), out)?;
        }
        Ok(x)
    }
}
