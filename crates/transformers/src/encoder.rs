//! The transformer encoder shared by BERT, DistilBERT, RoBERTa and ELECTRA: embeddings, then
//! post-LN layers of self-attention and a feed-forward block.
//!
//! Mirrors transformers' `modeling_bert.py` (`BertEmbeddings`, `BertSelfAttention`,
//! `BertLayer`), `modeling_distilbert.py` (`Embeddings`, `TransformerBlock`) and
//! `modeling_roberta.py` (`RobertaEmbeddings` with its padding-aware position ids). The three
//! compute the same layer; only parameter names and the embeddings differ. ELECTRA
//! (`modeling_electra.py`) is BERT with embeddings of `embedding_size` projected to the hidden
//! size by `embeddings_project` (the `embeddings` hook sees the projected output, what
//! transformers reports as `hidden_states[0]`).
//!
//! Every non-linear or multiplicative op goes through the op rules (GELU, softmax, QKᵀ,
//! attention·V, LayerNorm's normalisation) and every named layer through the hooks.

use explainer_core::{ForwardCtx, InputBatch, OpRules, Result, Unary, layer_names};
use tch::{Kind, Tensor};

use crate::config::{EncoderConfig, Family};
use crate::weights::Weights;

/// A linear layer `x Wᵀ + b` with PyTorch's `[out, in]` weight layout.
#[derive(Debug)]
pub(crate) struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    pub(crate) fn load(weights: &Weights, name: &str, out: usize, input: usize) -> Result<Self> {
        Ok(Linear {
            weight: weights.get(&format!("{name}.weight"), &[out as i64, input as i64])?,
            bias: weights.get(&format!("{name}.bias"), &[out as i64])?,
        })
    }

    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.f_linear(&self.weight, Some(&self.bias))?)
    }
}

/// LayerNorm parameters.
#[derive(Debug)]
struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl Norm {
    fn load(weights: &Weights, name: &str, width: usize, eps: f64) -> Result<Self> {
        Ok(Norm {
            weight: weights.get(&format!("{name}.weight"), &[width as i64])?,
            bias: weights.get(&format!("{name}.bias"), &[width as i64])?,
            eps,
        })
    }

    fn forward(&self, ops: &dyn OpRules, x: &Tensor) -> Result<Tensor> {
        ops.layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

/// One encoder layer.
#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    output: Linear,
    attention_norm: Norm,
    up: Linear,
    down: Linear,
    output_norm: Norm,
}

/// Embeddings and encoder layers of one checkpoint.
#[derive(Debug)]
pub struct Encoder {
    config: EncoderConfig,
    word: Tensor,
    position: Tensor,
    token_type: Option<Tensor>,
    norm: Norm,
    /// ELECTRA's `embeddings_project` (`embedding_size` → `hidden_size`), when they differ.
    projection: Option<Linear>,
    layers: Vec<Layer>,
    kind: Kind,
}

impl Encoder {
    /// The parameter-name prefixes tried for each family, in order (MiniLM-style BERT
    /// checkpoints saved as a bare `BertModel` have none).
    pub(crate) fn prefixes(family: Family) -> &'static [&'static str] {
        match family {
            Family::Bert => &["bert.", ""],
            Family::DistilBert => &["distilbert.", ""],
            Family::Roberta => &["roberta.", ""],
            Family::Electra => &["electra.", ""],
            Family::ModernBert => &["model.", ""],
            Family::DebertaV2 => &["deberta.", ""],
        }
    }

    /// Loads the embeddings and layers; `prefix` is the name prefix found in the checkpoint.
    pub fn load(weights: &Weights, config: &EncoderConfig, prefix: &str, kind: Kind) -> Result<Self> {
        let (h, i, e) = (config.hidden, config.intermediate, config.embedding_size);
        let p = |name: &str| format!("{prefix}{name}");
        let word =
            weights.get(&p("embeddings.word_embeddings.weight"), &[config.vocab_size as i64, e as i64])?;
        let position = weights
            .get(&p("embeddings.position_embeddings.weight"), &[config.max_positions as i64, e as i64])?;
        let token_type =
            if config.type_vocab > 0 {
                Some(weights.get(
                    &p("embeddings.token_type_embeddings.weight"),
                    &[config.type_vocab as i64, e as i64],
                )?)
            } else {
                None
            };
        let norm = Norm::load(weights, &p("embeddings.LayerNorm"), e, config.eps)?;
        let projection =
            if e != h { Some(Linear::load(weights, &p("embeddings_project"), h, e)?) } else { None };
        let mut layers = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let layer = match config.family {
                Family::DistilBert => {
                    let n = |name: &str| p(&format!("transformer.layer.{l}.{name}"));
                    Layer {
                        query: Linear::load(weights, &n("attention.q_lin"), h, h)?,
                        key: Linear::load(weights, &n("attention.k_lin"), h, h)?,
                        value: Linear::load(weights, &n("attention.v_lin"), h, h)?,
                        output: Linear::load(weights, &n("attention.out_lin"), h, h)?,
                        attention_norm: Norm::load(weights, &n("sa_layer_norm"), h, config.eps)?,
                        up: Linear::load(weights, &n("ffn.lin1"), i, h)?,
                        down: Linear::load(weights, &n("ffn.lin2"), h, i)?,
                        output_norm: Norm::load(weights, &n("output_layer_norm"), h, config.eps)?,
                    }
                }
                _ => {
                    let n = |name: &str| p(&format!("encoder.layer.{l}.{name}"));
                    Layer {
                        query: Linear::load(weights, &n("attention.self.query"), h, h)?,
                        key: Linear::load(weights, &n("attention.self.key"), h, h)?,
                        value: Linear::load(weights, &n("attention.self.value"), h, h)?,
                        output: Linear::load(weights, &n("attention.output.dense"), h, h)?,
                        attention_norm: Norm::load(weights, &n("attention.output.LayerNorm"), h, config.eps)?,
                        up: Linear::load(weights, &n("intermediate.dense"), i, h)?,
                        down: Linear::load(weights, &n("output.dense"), h, i)?,
                        output_norm: Norm::load(weights, &n("output.LayerNorm"), h, config.eps)?,
                    }
                }
            };
            layers.push(layer);
        }
        Ok(Encoder { config: config.clone(), word, position, token_type, norm, projection, layers, kind })
    }

    /// Rows of the word-embedding table.
    pub fn vocab_rows(&self) -> usize {
        self.config.vocab_size
    }

    /// Position ids `[batch, tokens]`: 0..n for BERT and DistilBERT; for RoBERTa
    /// `pad + 1 + i` on real tokens and `pad` on padding (transformers'
    /// `create_position_ids_from_input_ids`).
    fn position_ids(&self, ids: &Tensor) -> Result<Tensor> {
        let (rows, tokens) = ids.size2()?;
        Ok(match self.config.family {
            Family::Roberta => {
                let pad = self.config.pad_token_id;
                let real = ids.f_ne(pad)?.f_to_kind(Kind::Int64)?;
                real.f_cumsum(1, Kind::Int64)?.f_mul(&real)?.f_add_scalar(pad)?
            }
            _ => Tensor::f_arange(tokens, (Kind::Int64, ids.device()))?
                .f_unsqueeze(0)?
                .f_expand([rows, tokens], false)?,
        })
    }

    /// The last hidden states `[batch, tokens, hidden]`, running the hooks at
    /// `embeddings.word`, `embeddings` and `encoder.0` … `encoder.{N-1}`.
    pub fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let ops = ctx.ops();
        let (rows, tokens) = input.ids.size2()?;
        // A fixed value at `embeddings` or `encoder.k` (Hooks::start_at) with no hook below it:
        // start there, skipping the work whose result the value replaces.
        let start = self.start_layer(ctx);
        let (mut x, first) = match start {
            Some((name, first, value)) => (ctx.layer(&name, value)?, first),
            None => (self.embed(input, ctx)?, 0),
        };
        // Additive key mask: 0 for real tokens, the most negative float for padding.
        let min = if self.kind == Kind::Double { f64::MIN } else { f32::MIN as f64 };
        let mask = input.attention_mask.f_to_kind(self.kind)?;
        let bias = mask.f_neg()?.f_add_scalar(1.0)?.f_mul_scalar(min)?.f_view([rows, 1, 1, tokens])?;

        let heads = self.config.heads as i64;
        let width = self.config.hidden as i64;
        let head_width = width / heads;
        let scale = 1.0 / (head_width as f64).sqrt();
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.f_view([rows, tokens, heads, head_width])?.f_transpose(1, 2)?)
        };
        for (l, layer) in self.layers.iter().enumerate().skip(first) {
            let q = split(layer.query.forward(&x)?.f_mul_scalar(scale)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let scores = ops.matmul(&q, &k.f_transpose(-1, -2)?)?.f_add(&bias)?;
            let probabilities = ops.softmax(&scores, -1)?;
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

impl Encoder {
    /// The embeddings: word lookup (hooked at `embeddings.word`), positions, token types,
    /// LayerNorm (hooked at `embeddings`).
    fn embed(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let ops = ctx.ops();
        let positions = self.position_ids(&input.ids)?;
        let word = Tensor::f_embedding(&self.word, &input.ids, -1, false, false)?;
        let word = ctx.layer(layer_names::WORD_EMBEDDINGS, word)?;
        let mut x = word.f_add(&Tensor::f_embedding(&self.position, &positions, -1, false, false)?)?;
        if let Some(types) = &self.token_type {
            x = x.f_add(&Tensor::f_embedding(types, &input.type_ids, -1, false, false)?)?;
        }
        let mut x = self.norm.forward(ops, &x)?;
        if let Some(projection) = &self.projection {
            x = projection.forward(&x)?;
        }
        ctx.layer(layer_names::EMBEDDINGS, x)
    }

    /// Where the forward pass can start (layer name, index of the first layer still to run,
    /// value), from [`ForwardCtx::start`], when no hook sits below that layer.
    fn start_layer(&self, ctx: &ForwardCtx<'_>) -> Option<(String, usize, Tensor)> {
        let (name, value) = ctx.start()?;
        let first = if name == layer_names::EMBEDDINGS {
            0
        } else {
            let k: usize = name.strip_prefix("encoder.")?.parse().ok()?;
            if k >= self.layers.len() {
                return None;
            }
            k + 1
        };
        let below = [layer_names::WORD_EMBEDDINGS, layer_names::EMBEDDINGS]
            .into_iter()
            .map(str::to_owned)
            .chain((0..first.saturating_sub(1)).map(layer_names::encoder))
            .filter(|l| *l != name);
        for layer in below {
            if ctx.hooked(&layer) {
                return None;
            }
        }
        Some((name, first, value))
    }
}

/// The first token's hidden state `[batch, hidden]` ([CLS] / <s>), which every head reads.
pub(crate) fn first_token(hidden: &Tensor) -> Result<Tensor> {
    Ok(hidden.f_select(1, 0)?)
}

/// A head's non-linearity applied through the op rules.
pub(crate) fn activate(ops: &dyn OpRules, op: Unary, x: &Tensor) -> Result<Tensor> {
    ops.unary(op, x)
}
