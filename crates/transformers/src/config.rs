//! `config.json` of a Hugging Face checkpoint, read into one shape for every architecture.
//!
//! Mirrors the fields transformers reads in `BertConfig`, `DistilBertConfig`, `RobertaConfig`
//! (`transformers/models/*/configuration_*.py`); DistilBERT's differently named fields
//! (`dim`, `n_layers`, `n_heads`, `hidden_dim`, `activation`) map onto the same ones.
//! ELECTRA (`ElectraConfig`: `embedding_size`), ModernBERT (`ModernBertConfig`) and
//! DeBERTa-v2/v3 (`DebertaV2Config`) add their own settings in [`ModernBertOptions`] and
//! [`DebertaOptions`].

use std::collections::BTreeMap;
use std::path::Path;

use explainer_core::{Error, ProblemType, Result, Unary};
use serde::Deserialize;

/// The architecture families this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// BERT (also MiniLM and other checkpoints with BERT's parameter names).
    Bert,
    /// DistilBERT.
    DistilBert,
    /// RoBERTa, XLM-RoBERTa, CamemBERT.
    Roberta,
    /// ELECTRA (the discriminator): BERT's layers after an embeddings projection.
    Electra,
    /// ModernBERT: rotary, pre-norm, GeGLU, alternating global and local attention.
    ModernBert,
    /// DeBERTa-v2 and v3: disentangled relative-position attention.
    DebertaV2,
}

/// The `model_type` values this crate accepts, with their family.
pub const SUPPORTED_MODEL_TYPES: &[(&str, Family)] = &[
    ("bert", Family::Bert),
    ("distilbert", Family::DistilBert),
    ("roberta", Family::Roberta),
    ("xlm-roberta", Family::Roberta),
    ("camembert", Family::Roberta),
    ("electra", Family::Electra),
    ("modernbert", Family::ModernBert),
    ("deberta-v2", Family::DebertaV2),
];

/// `model_type`s that are recognised but deliberately refused, with the reason.
const REFUSED_MODEL_TYPES: &[(&str, &str)] = &[(
    "deberta",
    "DeBERTa v1 (model_type \"deberta\") is not supported: its attention and relative positions differ \
     from DeBERTa-v2/v3 (\"deberta-v2\"), which is",
)];

/// How ModernBERT's head pools the last hidden states (`classifier_pooling`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The first token.
    Cls,
    /// The mean over the real (unmasked) tokens.
    Mean,
}

/// ModernBERT's settings (`ModernBertConfig`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModernBertOptions {
    /// Rotary θ of the global-attention layers.
    pub global_rope_theta: f64,
    /// Rotary θ of the local (sliding-window) layers.
    pub local_rope_theta: f64,
    /// The local window: a token sees those at most `local_attention / 2` positions away.
    pub local_attention: usize,
    /// Per layer: whether it attends locally (`layer_types` `"sliding_attention"`, or, in
    /// configs written before transformers 5, `l % global_attn_every_n_layers != 0`).
    pub local_layers: Vec<bool>,
    /// Whether `Wqkv` and the attention's `Wo` have biases.
    pub attention_bias: bool,
    /// Whether the MLP's `Wi` and `Wo` have biases.
    pub mlp_bias: bool,
    /// Whether the LayerNorms have biases.
    pub norm_bias: bool,
    /// The head's pooling.
    pub pooling: Pooling,
    /// Whether the head's dense layer has a bias.
    pub classifier_bias: bool,
    /// The head's non-linearity.
    pub classifier_activation: Unary,
}

/// DeBERTa-v2/v3's settings (`DebertaV2Config`).
#[derive(Debug, Clone, PartialEq)]
pub struct DebertaOptions {
    /// Whether attention has the relative-position terms at all.
    pub relative_attention: bool,
    /// `max_relative_positions` (the config's, or `max_position_embeddings` when below 1).
    pub max_relative_positions: i64,
    /// `position_buckets` (≤ 0: no log-bucketing).
    pub position_buckets: i64,
    /// Content-to-position term.
    pub c2p: bool,
    /// Position-to-content term.
    pub p2c: bool,
    /// Whether the position projections reuse the query and key projections.
    pub share_att_key: bool,
    /// Whether the relative embeddings are LayerNorm'ed (`norm_rel_ebd` has `layer_norm`).
    pub norm_rel_ebd: bool,
    /// Whether absolute position embeddings are added to the input.
    pub position_biased_input: bool,
    /// The context pooler's non-linearity (`pooler_hidden_act`).
    pub pooler_activation: Unary,
}

impl DebertaOptions {
    /// Rows of relative embeddings used: `2 × position_buckets`, or `2 × max_relative_positions`.
    pub fn span(&self) -> i64 {
        if self.position_buckets > 0 { self.position_buckets } else { self.max_relative_positions }
    }
}

/// The raw fields of `config.json` that matter here (others are ignored).
#[derive(Debug, Deserialize)]
struct RawConfig {
    model_type: Option<String>,
    architectures: Option<Vec<String>>,
    hidden_size: Option<usize>,
    dim: Option<usize>,
    num_hidden_layers: Option<usize>,
    n_layers: Option<usize>,
    num_attention_heads: Option<usize>,
    n_heads: Option<usize>,
    intermediate_size: Option<usize>,
    hidden_dim: Option<usize>,
    hidden_act: Option<String>,
    activation: Option<String>,
    max_position_embeddings: Option<usize>,
    type_vocab_size: Option<usize>,
    layer_norm_eps: Option<f64>,
    vocab_size: Option<usize>,
    pad_token_id: Option<i64>,
    id2label: Option<BTreeMap<String, String>>,
    num_labels: Option<usize>,
    problem_type: Option<String>,
    sinusoidal_pos_embds: Option<bool>,
    position_embedding_type: Option<String>,
    embedding_size: Option<usize>,
    // ModernBERT
    hidden_activation: Option<String>,
    norm_eps: Option<f64>,
    norm_bias: Option<bool>,
    global_rope_theta: Option<f64>,
    local_rope_theta: Option<f64>,
    local_attention: Option<usize>,
    global_attn_every_n_layers: Option<usize>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    classifier_pooling: Option<String>,
    classifier_bias: Option<bool>,
    classifier_activation: Option<String>,
    rope_scaling: Option<serde_json::Value>,
    rope_parameters: Option<serde_json::Value>,
    layer_types: Option<Vec<String>>,
    // DeBERTa-v2
    relative_attention: Option<bool>,
    max_relative_positions: Option<i64>,
    position_buckets: Option<i64>,
    pos_att_type: Option<serde_json::Value>,
    share_att_key: Option<bool>,
    norm_rel_ebd: Option<String>,
    position_biased_input: Option<bool>,
    pooler_hidden_act: Option<String>,
    pooler_hidden_size: Option<usize>,
    conv_kernel_size: Option<usize>,
    attention_head_size: Option<usize>,
}

/// An encoder-classifier configuration, the same shape for every family.
#[derive(Debug, Clone, PartialEq)]
pub struct EncoderConfig {
    /// The `model_type` as written in config.json.
    pub model_type: String,
    /// Which implementation runs it.
    pub family: Family,
    /// Width of the hidden states.
    pub hidden: usize,
    /// Number of encoder layers.
    pub layers: usize,
    /// Number of attention heads.
    pub heads: usize,
    /// Width of the feed-forward block.
    pub intermediate: usize,
    /// The feed-forward non-linearity.
    pub activation: Unary,
    /// Rows of the position-embedding table.
    pub max_positions: usize,
    /// Rows of the token-type table (0: none, as in DistilBERT).
    pub type_vocab: usize,
    /// LayerNorm epsilon.
    pub eps: f64,
    /// Rows of the word-embedding table.
    pub vocab_size: usize,
    /// The padding id (RoBERTa's position ids depend on it).
    pub pad_token_id: i64,
    /// Label names in logit order (`id2label`, or `LABEL_i`).
    pub labels: Vec<String>,
    /// How logits become scores.
    pub problem: ProblemType,
    /// Width of the word embeddings (ELECTRA's and DeBERTa's `embedding_size`; else `hidden`).
    pub embedding_size: usize,
    /// ModernBERT's own settings (for that family only).
    pub modernbert: Option<ModernBertOptions>,
    /// DeBERTa-v2's own settings (for that family only).
    pub deberta: Option<DebertaOptions>,
}

impl EncoderConfig {
    /// The most tokens one text may have, special tokens included.
    pub fn max_tokens(&self) -> usize {
        match self.family {
            // RoBERTa's positions start after the padding index: 0..=pad are never used.
            Family::Roberta => self.max_positions.saturating_sub(self.pad_token_id as usize + 1),
            _ => self.max_positions,
        }
    }

    /// Reads and checks `config.json`; every problem is an error naming the file.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
        Self::parse(&text).map_err(|problem| Error::file(path, problem))
    }

    /// Parses the text of a `config.json`; the error is a readable problem description.
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let raw: RawConfig =
            serde_json::from_str(text).map_err(|e| format!("not a valid config.json: {e}"))?;
        let model_type = raw.model_type.clone().ok_or("has no \"model_type\"")?;
        let supported = || SUPPORTED_MODEL_TYPES.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ");
        if let Some((_, why)) = REFUSED_MODEL_TYPES.iter().find(|(n, _)| *n == model_type) {
            return Err(format!("{why}; supported model types: {}", supported()));
        }
        let family = SUPPORTED_MODEL_TYPES
            .iter()
            .find(|(n, _)| *n == model_type)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                format!("model_type {model_type:?} is not supported; supported model types: {}", supported())
            })?;
        if let Some(architectures) = &raw.architectures
            && let Some(a) = architectures.first()
            && !a.ends_with("ForSequenceClassification")
            && !a.ends_with("Model")
        {
            return Err(format!(
                "architecture {a:?} is not a sequence classifier (expected *ForSequenceClassification)"
            ));
        }
        let need = |value: Option<usize>, names: &str| -> std::result::Result<usize, String> {
            match value {
                Some(0) => Err(format!("{names} must be positive")),
                Some(v) => Ok(v),
                None => Err(format!("is missing {names}")),
            }
        };
        let (hidden, layers, heads, intermediate, act) = match family {
            Family::DistilBert => (
                need(raw.dim.or(raw.hidden_size), "\"dim\"")?,
                need(raw.n_layers.or(raw.num_hidden_layers), "\"n_layers\"")?,
                need(raw.n_heads.or(raw.num_attention_heads), "\"n_heads\"")?,
                need(raw.hidden_dim.or(raw.intermediate_size), "\"hidden_dim\"")?,
                raw.activation.clone().unwrap_or_else(|| "gelu".into()),
            ),
            _ => (
                need(raw.hidden_size, "\"hidden_size\"")?,
                need(raw.num_hidden_layers, "\"num_hidden_layers\"")?,
                need(raw.num_attention_heads, "\"num_attention_heads\"")?,
                need(raw.intermediate_size, "\"intermediate_size\"")?,
                match family {
                    Family::ModernBert => raw.hidden_activation.clone().unwrap_or_else(|| "gelu".into()),
                    _ => raw.hidden_act.clone().unwrap_or_else(|| "gelu".into()),
                },
            ),
        };
        if hidden % heads != 0 {
            return Err(format!("hidden size {hidden} is not divisible by the {heads} attention heads"));
        }
        if family == Family::ModernBert && (hidden / heads) % 2 != 0 {
            return Err(format!(
                "the attention head width {} (hidden_size {hidden} / {heads} heads) is odd: ModernBERT's \
                 rotary embeddings rotate pairs of dimensions",
                hidden / heads
            ));
        }
        let activation = activation(&act)?;
        if raw.sinusoidal_pos_embds == Some(true) {
            return Err("sinusoidal position embeddings are not supported".into());
        }
        if let Some(kind) = &raw.position_embedding_type
            && kind != "absolute"
        {
            return Err(format!("position_embedding_type {kind:?} is not supported (only \"absolute\")"));
        }
        let labels = labels(raw.id2label.as_ref(), raw.num_labels)?;
        let problem = match raw.problem_type.as_deref() {
            Some("multi_label_classification") => ProblemType::MultiLabel,
            Some("single_label_classification") => ProblemType::MultiClass,
            Some("regression") => ProblemType::Regression,
            Some(other) => {
                return Err(format!(
                    "problem_type {other:?} is not one of multi_label_classification, single_label_classification, regression"
                ));
            }
            // transformers decides at training time; one output means regression there.
            None if labels.len() == 1 => ProblemType::Regression,
            None => ProblemType::MultiClass,
        };
        let pad_token_id = raw.pad_token_id.unwrap_or(match family {
            Family::Roberta => 1,
            Family::ModernBert => 50283,
            _ => 0,
        });
        let embedding_size = match family {
            Family::Electra => need(raw.embedding_size.or(Some(128)), "\"embedding_size\"")?,
            Family::DebertaV2 => need(raw.embedding_size.or(Some(hidden)), "\"embedding_size\"")?,
            _ => hidden,
        };
        let modernbert = match family {
            Family::ModernBert => Some(modernbert_options(&raw, layers)?),
            _ => None,
        };
        let deberta = match family {
            Family::DebertaV2 => Some(deberta_options(&raw, hidden, heads)?),
            _ => None,
        };
        Ok(EncoderConfig {
            model_type,
            family,
            hidden,
            layers,
            heads,
            intermediate,
            activation,
            max_positions: need(raw.max_position_embeddings, "\"max_position_embeddings\"")?,
            type_vocab: match family {
                Family::DistilBert | Family::ModernBert => 0,
                Family::DebertaV2 => raw.type_vocab_size.unwrap_or(0),
                _ => raw.type_vocab_size.unwrap_or(2),
            },
            eps: match family {
                Family::ModernBert => raw.norm_eps.unwrap_or(1e-5),
                Family::Roberta => raw.layer_norm_eps.unwrap_or(1e-5),
                Family::DebertaV2 => raw.layer_norm_eps.unwrap_or(1e-7),
                _ => raw.layer_norm_eps.unwrap_or(1e-12),
            },
            vocab_size: need(raw.vocab_size, "\"vocab_size\"")?,
            pad_token_id,
            labels,
            problem,
            embedding_size,
            modernbert,
            deberta,
        })
    }
}

/// A `hidden_act`-style name as a [`Unary`].
fn activation(name: &str) -> std::result::Result<Unary, String> {
    Ok(match name {
        "gelu" => Unary::Gelu,
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Unary::GeluTanh,
        "relu" => Unary::Relu,
        "tanh" => Unary::Tanh,
        "silu" | "swish" => Unary::Silu,
        other => {
            return Err(format!("activation {other:?} is not supported (gelu, gelu_new, relu, tanh, silu)"));
        }
    })
}

/// ModernBERT's fields, with `ModernBertConfig`'s defaults: transformers 5 writes
/// `layer_types` and `rope_parameters`, earlier versions `global_attn_every_n_layers` and
/// `global_rope_theta` / `local_rope_theta`; both are read.
fn modernbert_options(raw: &RawConfig, layers: usize) -> std::result::Result<ModernBertOptions, String> {
    if let Some(scaling) = &raw.rope_scaling
        && !scaling.is_null()
    {
        return Err(format!("rope_scaling {scaling} is not supported (only plain rotary embeddings)"));
    }
    let pooling = match raw.classifier_pooling.as_deref().unwrap_or("cls") {
        "cls" => Pooling::Cls,
        "mean" => Pooling::Mean,
        other => return Err(format!("classifier_pooling {other:?} is not one of \"cls\", \"mean\"")),
    };
    let local_layers = match &raw.layer_types {
        Some(types) => {
            if types.len() != layers {
                return Err(format!(
                    "layer_types has {} entries but num_hidden_layers is {layers}",
                    types.len()
                ));
            }
            types
                .iter()
                .map(|t| match t.as_str() {
                    "sliding_attention" => Ok(true),
                    "full_attention" => Ok(false),
                    other => Err(format!(
                        "layer_types entry {other:?} is not one of \"full_attention\", \"sliding_attention\""
                    )),
                })
                .collect::<std::result::Result<Vec<_>, _>>()?
        }
        None => {
            let every = raw.global_attn_every_n_layers.unwrap_or(3);
            if every == 0 {
                return Err("global_attn_every_n_layers must be positive".into());
            }
            (0..layers).map(|l| l % every != 0).collect()
        }
    };
    // rope_parameters: {"full_attention": {"rope_type": "default", "rope_theta": θ}, ...}.
    let theta = |kind: &str| -> std::result::Result<Option<f64>, String> {
        let Some(entry) = raw.rope_parameters.as_ref().and_then(|p| p.get(kind)) else {
            return Ok(None);
        };
        if let Some(t) = entry.get("rope_type").and_then(|t| t.as_str())
            && t != "default"
        {
            return Err(format!(
                "rope_parameters.{kind}.rope_type {t:?} is not supported (only \"default\")"
            ));
        }
        Ok(entry.get("rope_theta").and_then(serde_json::Value::as_f64))
    };
    let global = theta("full_attention")?.or(raw.global_rope_theta).unwrap_or(160_000.0);
    let local = theta("sliding_attention")?.or(raw.local_rope_theta).unwrap_or(10_000.0);
    Ok(ModernBertOptions {
        global_rope_theta: global,
        local_rope_theta: local,
        local_attention: raw.local_attention.unwrap_or(128),
        local_layers,
        attention_bias: raw.attention_bias.unwrap_or(false),
        mlp_bias: raw.mlp_bias.unwrap_or(false),
        norm_bias: raw.norm_bias.unwrap_or(false),
        pooling,
        classifier_bias: raw.classifier_bias.unwrap_or(false),
        classifier_activation: activation(raw.classifier_activation.as_deref().unwrap_or("gelu"))?,
    })
}

/// DeBERTa-v2's fields, with `DebertaV2Config`'s defaults (and those its modules assume).
fn deberta_options(
    raw: &RawConfig,
    hidden: usize,
    heads: usize,
) -> std::result::Result<DebertaOptions, String> {
    if let Some(k) = raw.conv_kernel_size
        && k > 0
    {
        return Err(format!(
            "conv_kernel_size {k} (DeBERTa-v2's convolution layer, as in deberta-v2-xlarge) is not supported"
        ));
    }
    if let Some(size) = raw.attention_head_size
        && size * heads != hidden
    {
        return Err(format!(
            "attention_head_size {size} × {heads} heads ≠ hidden_size {hidden} is not supported"
        ));
    }
    if let Some(size) = raw.pooler_hidden_size
        && size != hidden
    {
        return Err(format!("pooler_hidden_size {size} ≠ hidden_size {hidden} is not supported"));
    }
    let types: Vec<String> = match &raw.pos_att_type {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => {
            s.to_lowercase().split('|').map(|t| t.trim().to_owned()).collect()
        }
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|t| {
                t.as_str().map(str::to_owned).ok_or_else(|| format!("pos_att_type entry {t} is not a string"))
            })
            .collect::<std::result::Result<_, _>>()?,
        Some(other) => return Err(format!("pos_att_type {other} is neither a string nor a list")),
    };
    if let Some(t) = types.iter().find(|t| !["c2p", "p2c"].contains(&t.as_str())) {
        return Err(format!("pos_att_type {t:?} is not supported (c2p, p2c)"));
    }
    let max_rel = raw.max_relative_positions.unwrap_or(-1);
    let max_relative_positions =
        if max_rel < 1 { raw.max_position_embeddings.unwrap_or(512) as i64 } else { max_rel };
    let norm = raw.norm_rel_ebd.as_deref().unwrap_or("none").to_lowercase();
    let options = DebertaOptions {
        relative_attention: raw.relative_attention.unwrap_or(false),
        max_relative_positions,
        position_buckets: raw.position_buckets.unwrap_or(-1),
        c2p: types.iter().any(|t| t == "c2p"),
        p2c: types.iter().any(|t| t == "p2c"),
        share_att_key: raw.share_att_key.unwrap_or(false),
        norm_rel_ebd: norm.split('|').any(|t| t.trim() == "layer_norm"),
        position_biased_input: raw.position_biased_input.unwrap_or(true),
        pooler_activation: activation(raw.pooler_hidden_act.as_deref().unwrap_or("gelu"))?,
    };
    if options.relative_attention && options.position_buckets > 0 && options.position_buckets < 2 {
        return Err("position_buckets must be at least 2 (or ≤ 0 for none)".into());
    }
    Ok(options)
}

/// Label names from `id2label` (keys "0".."n-1"), or `LABEL_i` for `num_labels` (default 2).
fn labels(
    id2label: Option<&BTreeMap<String, String>>,
    num_labels: Option<usize>,
) -> std::result::Result<Vec<String>, String> {
    let Some(map) = id2label else {
        return Ok((0..num_labels.unwrap_or(2)).map(|i| format!("LABEL_{i}")).collect());
    };
    let mut labels = vec![None; map.len()];
    for (key, name) in map {
        let index: usize = key.parse().map_err(|_| format!("id2label key {key:?} is not an index"))?;
        let slot = labels
            .get_mut(index)
            .ok_or_else(|| format!("id2label has {} entries but index {index}", map.len()))?;
        *slot = Some(name.clone());
    }
    if let Some(n) = num_labels
        && n != labels.len()
    {
        return Err(format!("num_labels is {n} but id2label has {} entries", labels.len()));
    }
    if labels.is_empty() {
        return Err("id2label is empty".into());
    }
    Ok(labels.into_iter().map(|l| l.unwrap_or_default()).collect())
}
