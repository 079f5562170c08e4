//! A tiny hand-written classifier with the shape of a transformer, in plain tch.
//!
//! Embeddings → one single-head self-attention block → one gated feed-forward block → masked
//! mean pooling → tanh pooler → linear head. Small enough to build in microseconds, yet it has
//! every kind of op a real encoder has: an embedding lookup, LayerNorm, a product of two
//! activations (QKᵀ, attention·V, and the GELU·sigmoid gate), softmax, GELU, sigmoid, tanh,
//! and a linear head. Every non-linear or multiplicative op runs through the op rules and
//! every named layer through the hooks.

use std::collections::BTreeMap;
use std::path::Path;

use explainer_core::rng::SplitMix64;
use explainer_core::{
    Capabilities, Error, ForwardCtx, InputBatch, LayerInfo, Model, ModelInfo, ProblemType, Result,
    TextEncoder, Unary, layer_names,
};
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::tokenizer::WordTokenizer;

/// The tiny model's configuration, stored as `config.json` beside its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TinyConfig {
    /// Always `"explainer-tiny"`; tells loaders what this directory holds.
    pub model_type: String,
    /// The vocabulary's words (after the five special tokens).
    pub words: Vec<String>,
    /// Label names, in logit order.
    pub labels: Vec<String>,
    /// How logits become scores.
    pub problem_type: ProblemType,
    /// Embedding width.
    pub hidden: usize,
    /// Width of the gated feed-forward block.
    pub inner: usize,
    /// Most tokens per text, special tokens included (also the number of positions).
    pub max_len: usize,
    /// Whether position embeddings are added (without them the model is order-blind).
    pub positions: bool,
    /// Seed of the deterministic initialisation.
    pub seed: u64,
}

/// The model's default words: enough to say something about payments, spam and threats.
pub const DEFAULT_WORDS: &[&str] = &[
    "the",
    "a",
    "to",
    "and",
    "of",
    "is",
    "was",
    "your",
    "you",
    "we",
    "i",
    "it",
    "this",
    "please",
    "now",
    "payment",
    "refunded",
    "refund",
    "twice",
    "wire",
    "transfer",
    "money",
    "send",
    "account",
    "password",
    "verify",
    "click",
    "link",
    "free",
    "prize",
    "winner",
    "urgent",
    "immediately",
    "bank",
    "card",
    "invoice",
    "attached",
    "review",
    "meeting",
    "tomorrow",
    "thanks",
    "report",
    "hello",
    "world",
    "great",
    "job",
    "kill",
    "hurt",
    "threat",
    "stupid",
    "idiot",
    "love",
    "hate",
    "call",
    "me",
    "at",
    "number",
    "address",
    "ssn",
];

/// The model's default labels (multi-label).
pub const DEFAULT_LABELS: &[&str] = &["fraud", "spam", "threat", "insult", "pii"];

impl Default for TinyConfig {
    fn default() -> Self {
        TinyConfig {
            model_type: TinyClassifier::MODEL_TYPE.into(),
            words: DEFAULT_WORDS.iter().map(|w| w.to_string()).collect(),
            labels: DEFAULT_LABELS.iter().map(|w| w.to_string()).collect(),
            problem_type: ProblemType::MultiLabel,
            hidden: 16,
            inner: 24,
            max_len: 32,
            positions: true,
            seed: 7,
        }
    }
}

/// Parameter names and shapes, in a fixed order.
fn parameter_shapes(c: &TinyConfig) -> Vec<(&'static str, Vec<i64>)> {
    let v = (c.words.len() + crate::tokenizer::SPECIALS.len()) as i64;
    let (d, h, l, p) = (c.hidden as i64, c.inner as i64, c.labels.len() as i64, c.max_len as i64);
    vec![
        ("embeddings.word", vec![v, d]),
        ("embeddings.position", vec![p, d]),
        ("embeddings.norm.weight", vec![d]),
        ("embeddings.norm.bias", vec![d]),
        ("attention.query.weight", vec![d, d]),
        ("attention.query.bias", vec![d]),
        ("attention.key.weight", vec![d, d]),
        ("attention.key.bias", vec![d]),
        ("attention.value.weight", vec![d, d]),
        ("attention.value.bias", vec![d]),
        ("gate.up.weight", vec![h, d]),
        ("gate.up.bias", vec![h]),
        ("gate.gate.weight", vec![h, d]),
        ("gate.gate.bias", vec![h]),
        ("gate.down.weight", vec![d, h]),
        ("gate.down.bias", vec![d]),
        ("pooler.weight", vec![d, d]),
        ("pooler.bias", vec![d]),
        ("classifier.weight", vec![l, d]),
        ("classifier.bias", vec![l]),
    ]
}

/// The tiny classifier: a [`Model`] with every capability.
pub struct TinyClassifier {
    config: TinyConfig,
    info: ModelInfo,
    tokenizer: WordTokenizer,
    params: BTreeMap<String, Tensor>,
    kind: Kind,
}

impl std::fmt::Debug for TinyClassifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TinyClassifier").field("config", &self.config).field("kind", &self.kind).finish()
    }
}

impl TinyClassifier {
    /// The `model_type` in the tiny model's `config.json`.
    pub const MODEL_TYPE: &'static str = "explainer-tiny";

    /// A model with weights drawn deterministically from `config.seed` (the same on every
    /// machine and thread: no libtorch RNG is involved).
    pub fn new(config: TinyConfig) -> Result<Self> {
        let mut rng = SplitMix64::new(config.seed);
        let mut params = BTreeMap::new();
        for (name, shape) in parameter_shapes(&config) {
            let numel: i64 = shape.iter().product();
            let values: Vec<f32> = if name.ends_with("norm.weight") {
                (0..numel).map(|_| 1.0 + 0.1 * rng.normal() as f32).collect()
            } else {
                let scale = if name.starts_with("embeddings") {
                    1.0
                } else {
                    1.0 / (shape[shape.len() - 1] as f64).sqrt()
                };
                (0..numel).map(|_| (scale * rng.normal()) as f32).collect()
            };
            params.insert(name.to_owned(), Tensor::from_slice(&values).f_reshape(&shape)?);
        }
        Self::from_parts(config, params)
    }

    /// A multi-label model with the default configuration.
    pub fn default_multilabel() -> Self {
        Self::new(TinyConfig::default()).unwrap_or_else(|e| unreachable!("the default config is valid: {e}"))
    }

    /// A multi-class model with the default words and four labels.
    pub fn default_multiclass() -> Self {
        let config = TinyConfig {
            labels: ["billing", "support", "sales", "other"].iter().map(|s| s.to_string()).collect(),
            problem_type: ProblemType::MultiClass,
            seed: 11,
            ..TinyConfig::default()
        };
        Self::new(config).unwrap_or_else(|e| unreachable!("the multi-class config is valid: {e}"))
    }

    fn from_parts(config: TinyConfig, params: BTreeMap<String, Tensor>) -> Result<Self> {
        if config.model_type != Self::MODEL_TYPE {
            return Err(Error::InvalidConfig(format!(
                "model_type {:?} is not {:?}",
                config.model_type,
                Self::MODEL_TYPE
            )));
        }
        if config.labels.is_empty() || config.hidden == 0 || config.inner == 0 {
            return Err(Error::InvalidConfig("the tiny model needs labels and non-zero widths".into()));
        }
        for (name, shape) in parameter_shapes(&config) {
            let Some(t) = params.get(name) else {
                return Err(Error::InvalidConfig(format!("parameter {name} is missing")));
            };
            if t.size() != shape {
                return Err(Error::InvalidConfig(format!(
                    "parameter {name} has shape {:?}, the config implies {shape:?}",
                    t.size()
                )));
            }
        }
        let tokenizer = WordTokenizer::new(&config.words, config.max_len)?;
        let d = config.hidden;
        let info = ModelInfo {
            name: "explainer-tiny".into(),
            labels: config.labels.clone(),
            problem: config.problem_type,
            capabilities: Capabilities::ALL,
            layers: vec![
                LayerInfo::new(
                    layer_names::WORD_EMBEDDINGS,
                    format!("word embedding lookup [batch, tokens, {d}]"),
                ),
                LayerInfo::new(
                    layer_names::EMBEDDINGS,
                    format!("embeddings + positions, LayerNorm [batch, tokens, {d}]"),
                ),
                LayerInfo::new("encoder.0", format!("after the self-attention block [batch, tokens, {d}]")),
                LayerInfo::new(
                    "encoder.1",
                    format!("after the gated feed-forward block [batch, tokens, {d}]"),
                ),
                LayerInfo::new(layer_names::POOLER, format!("tanh of the masked mean [batch, {d}]")),
                LayerInfo::new(layer_names::CLASSIFIER, format!("logits [batch, {}]", config.labels.len())),
            ],
            hidden_size: d,
        };
        Ok(TinyClassifier { config, info, tokenizer, params, kind: Kind::Float })
    }

    /// The same model computing in `kind` (e.g. `Kind::Double` for f64 checks).
    pub fn to_kind(&self, kind: Kind) -> Result<Self> {
        let mut params = BTreeMap::new();
        for (name, t) in &self.params {
            params.insert(name.clone(), t.f_to_kind(kind)?);
        }
        let mut model = Self::from_parts(self.config.clone(), params)?;
        model.kind = kind;
        Ok(model)
    }

    /// A functionally equal model with another implementation: the units of the gated
    /// feed-forward block permuted by `permutation` (a permutation of `0..inner`). For
    /// implementation-invariance checks.
    pub fn with_permuted_inner_units(&self, permutation: &[i64]) -> Result<Self> {
        let mut sorted = permutation.to_vec();
        sorted.sort_unstable();
        if sorted != (0..self.config.inner as i64).collect::<Vec<_>>() {
            return Err(Error::InvalidInput(format!(
                "not a permutation of 0..{}: {permutation:?}",
                self.config.inner
            )));
        }
        let index = Tensor::from_slice(permutation);
        let mut params = BTreeMap::new();
        for (name, t) in &self.params {
            let permuted = match name.as_str() {
                "gate.up.weight" | "gate.up.bias" | "gate.gate.weight" | "gate.gate.bias" => {
                    t.f_index_select(0, &index)?
                }
                "gate.down.weight" => t.f_index_select(1, &index)?,
                _ => t.shallow_clone(),
            };
            params.insert(name.clone(), permuted);
        }
        let mut model = Self::from_parts(self.config.clone(), params)?;
        model.kind = self.kind;
        Ok(model)
    }

    /// The same model declaring only `capabilities` (to test what methods do with models that
    /// offer less).
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.info.capabilities = capabilities;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &TinyConfig {
        &self.config
    }

    /// A parameter by name (see the source for the names).
    pub fn parameter(&self, name: &str) -> Option<&Tensor> {
        self.params.get(name)
    }

    /// Writes `config.json` and `model.safetensors` into `dir` (created if missing).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, format!("cannot create: {e}")))?;
        let config = serde_json::to_string_pretty(&self.config)
            .map_err(|e| Error::Internal(format!("config does not serialise: {e}")))?;
        let config_path = dir.join("config.json");
        std::fs::write(&config_path, config + "\n")
            .map_err(|e| Error::file(&config_path, format!("cannot write: {e}")))?;
        let named: Vec<(&str, Tensor)> = self
            .params
            .iter()
            .map(|(n, t)| Ok((n.as_str(), t.f_to_kind(Kind::Float)?)))
            .collect::<Result<_>>()?;
        Tensor::write_safetensors(&named, dir.join("model.safetensors"))?;
        Ok(())
    }

    /// Loads a model saved by [`TinyClassifier::save`]; a missing or malformed file is an
    /// error naming it.
    pub fn load(dir: &Path) -> Result<Self> {
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| Error::file(&config_path, format!("cannot read: {e}")))?;
        let config: TinyConfig = serde_json::from_str(&text)
            .map_err(|e| Error::file(&config_path, format!("not a tiny-model config: {e}")))?;
        let weights_path = dir.join("model.safetensors");
        if !weights_path.is_file() {
            return Err(Error::file(&weights_path, "missing"));
        }
        let tensors = Tensor::read_safetensors(&weights_path)
            .map_err(|e| Error::file(&weights_path, format!("not a readable safetensors file: {e}")))?;
        let params: BTreeMap<String, Tensor> = tensors.into_iter().collect();
        Self::from_parts(config, params).map_err(|e| Error::file(&weights_path, e.to_string()))
    }

    fn p(&self, name: &str) -> Result<&Tensor> {
        self.params.get(name).ok_or_else(|| Error::Internal(format!("parameter {name} is missing")))
    }

    fn linear(&self, x: &Tensor, name: &str) -> Result<Tensor> {
        let w = self.p(&format!("{name}.weight"))?;
        let b = self.p(&format!("{name}.bias"))?;
        Ok(x.f_linear(w, Some(b))?)
    }
}

impl Model for TinyClassifier {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn encoder(&self) -> &dyn TextEncoder {
        &self.tokenizer
    }

    fn device(&self) -> Device {
        Device::Cpu
    }

    fn kind(&self) -> Kind {
        self.kind
    }

    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let ops = ctx.ops();
        let (_, tokens) = input.ids.size2()?;
        if tokens as usize > self.config.max_len {
            return Err(Error::InvalidInput(format!(
                "{tokens} tokens exceed the model's maximum of {}",
                self.config.max_len
            )));
        }
        let mask = input.attention_mask.f_to_kind(self.kind)?; // [B, T]

        // Embeddings.
        let word = Tensor::f_embedding(self.p("embeddings.word")?, &input.ids, -1, false, false)?;
        let word = ctx.layer(layer_names::WORD_EMBEDDINGS, word)?;
        let mut x = word;
        if self.config.positions {
            x = x.f_add(&self.p("embeddings.position")?.f_narrow(0, 0, tokens)?)?;
        }
        let x =
            ops.layer_norm(&x, self.p("embeddings.norm.weight")?, self.p("embeddings.norm.bias")?, 1e-5)?;
        let x = ctx.layer(layer_names::EMBEDDINGS, x)?;

        // Single-head self-attention with a residual connection; padded keys are masked out.
        let scale = 1.0 / (self.config.hidden as f64).sqrt();
        let q = self.linear(&x, "attention.query")?.f_mul_scalar(scale)?;
        let k = self.linear(&x, "attention.key")?;
        let v = self.linear(&x, "attention.value")?;
        let scores = ops.matmul(&q, &k.f_transpose(1, 2)?)?; // [B, T, T]
        let min = if self.kind == Kind::Double { f64::MIN } else { f32::MIN as f64 };
        let bias = mask.f_neg()?.f_add_scalar(1.0)?.f_mul_scalar(min)?.f_unsqueeze(1)?; // [B, 1, T]
        let weights = ops.softmax(&scores.f_add(&bias)?, -1)?;
        let attended = ops.matmul(&weights, &v)?;
        let x = ctx.layer("encoder.0", x.f_add(&attended)?)?;

        // Gated feed-forward block: GELU(up) · sigmoid(gate), projected back, residual.
        let up = ops.unary(Unary::Gelu, &self.linear(&x, "gate.up")?)?;
        let gate = ops.unary(Unary::Sigmoid, &self.linear(&x, "gate.gate")?)?;
        let x = x.f_add(&self.linear(&ops.mul(&up, &gate)?, "gate.down")?)?;
        let x = ctx.layer("encoder.1", x)?;

        // Masked mean over real tokens (a linear map: the mask is data, not an activation).
        let m = mask.f_unsqueeze(-1)?;
        let summed = x.f_mul(&m)?.f_sum_dim_intlist([1i64].as_slice(), false, self.kind)?;
        let count = m.f_sum_dim_intlist([1i64].as_slice(), false, self.kind)?.f_clamp_min(1.0)?;
        let mean = summed.f_div(&count)?;
        let pooled = ops.unary(Unary::Tanh, &self.linear(&mean, "pooler")?)?;
        let pooled = ctx.layer(layer_names::POOLER, pooled)?;

        let logits = self.linear(&pooled, "classifier")?;
        ctx.layer(layer_names::CLASSIFIER, logits)
    }
}
