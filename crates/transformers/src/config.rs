//! `config.json` of a Hugging Face checkpoint, read into one shape for every architecture.
//!
//! Mirrors the fields transformers reads in `BertConfig`, `DistilBertConfig`, `RobertaConfig`
//! (`transformers/models/*/configuration_*.py`); DistilBERT's differently named fields
//! (`dim`, `n_layers`, `n_heads`, `hidden_dim`, `activation`) map onto the same ones.

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
}

/// The `model_type` values this crate accepts, with their family.
pub const SUPPORTED_MODEL_TYPES: &[(&str, Family)] = &[
    ("bert", Family::Bert),
    ("distilbert", Family::DistilBert),
    ("roberta", Family::Roberta),
    ("xlm-roberta", Family::Roberta),
    ("camembert", Family::Roberta),
];

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
                raw.hidden_act.clone().unwrap_or_else(|| "gelu".into()),
            ),
        };
        if hidden % heads != 0 {
            return Err(format!("hidden size {hidden} is not divisible by the {heads} attention heads"));
        }
        let activation = match act.as_str() {
            "gelu" => Unary::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Unary::GeluTanh,
            "relu" => Unary::Relu,
            "tanh" => Unary::Tanh,
            "silu" | "swish" => Unary::Silu,
            other => {
                return Err(format!(
                    "activation {other:?} is not supported (gelu, gelu_new, relu, tanh, silu)"
                ));
            }
        };
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
        let pad_token_id = raw.pad_token_id.unwrap_or(if family == Family::Roberta { 1 } else { 0 });
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
                Family::DistilBert => 0,
                _ => raw.type_vocab_size.unwrap_or(2),
            },
            eps: raw.layer_norm_eps.unwrap_or(match family {
                Family::Roberta => 1e-5,
                _ => 1e-12,
            }),
            vocab_size: need(raw.vocab_size, "\"vocab_size\"")?,
            pad_token_id,
            labels,
            problem,
        })
    }
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
