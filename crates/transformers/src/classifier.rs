//! `*ForSequenceClassification` checkpoints as explainer [`Model`]s.

use std::path::{Path, PathBuf};

use explainer_core::{
    Capabilities, Error, ForwardCtx, InputBatch, LayerInfo, Model, ModelInfo, Result, TextEncoder, Unary,
    layer_names,
};
use tch::{Device, Kind, Tensor};

use crate::config::{EncoderConfig, Family, Pooling};
use crate::deberta::DebertaEncoder;
use crate::encoder::{Encoder, Linear, activate, first_token};
use crate::modernbert::ModernBertEncoder;
use crate::parts::{Dense, LayerNorm};
use crate::tokenizer::{HfTokenizer, TokenizerKind, TokenizerOptions};
use crate::weights::Weights;

/// The layers before the head: the shared post-LN encoder, or a family's own.
#[derive(Debug)]
enum Backbone {
    /// BERT, DistilBERT, RoBERTa, ELECTRA.
    Shared(Encoder),
    /// ModernBERT.
    ModernBert(ModernBertEncoder),
    /// DeBERTa-v2/v3.
    Deberta(DebertaEncoder),
}

impl Backbone {
    /// The name of the word-embedding table under the encoder prefix (to find the prefix).
    fn word_embeddings(family: Family) -> &'static str {
        match family {
            Family::ModernBert => ModernBertEncoder::WORD_EMBEDDINGS,
            Family::DebertaV2 => DebertaEncoder::WORD_EMBEDDINGS,
            _ => "embeddings.word_embeddings.weight",
        }
    }

    fn load(weights: &Weights, config: &EncoderConfig, prefix: &str, kind: Kind) -> Result<Self> {
        Ok(match config.family {
            Family::ModernBert => {
                Backbone::ModernBert(ModernBertEncoder::load(weights, config, prefix, kind)?)
            }
            Family::DebertaV2 => Backbone::Deberta(DebertaEncoder::load(weights, config, prefix, kind)?),
            _ => Backbone::Shared(Encoder::load(weights, config, prefix, kind)?),
        })
    }

    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        match self {
            Backbone::Shared(encoder) => encoder.forward(input, ctx),
            Backbone::ModernBert(encoder) => encoder.forward(input, ctx),
            Backbone::Deberta(encoder) => encoder.forward(input, ctx),
        }
    }
}

/// The classification head, as transformers defines it for each family.
#[derive(Debug)]
enum Head {
    /// BERT: `tanh(pooler.dense(h[CLS]))`, then `classifier`.
    Bert { pooler: Linear, classifier: Linear },
    /// DistilBERT: `relu(pre_classifier(h[CLS]))`, then `classifier`.
    DistilBert { pre_classifier: Linear, classifier: Linear },
    /// RoBERTa: `tanh(classifier.dense(h[<s>]))`, then `classifier.out_proj`.
    Roberta { dense: Linear, out_proj: Linear },
    /// ELECTRA: `gelu(classifier.dense(h[CLS]))`, then `classifier.out_proj`.
    Electra { dense: Linear, out_proj: Linear },
    /// ModernBERT: `head.norm(act(head.dense(pool(h))))` (pool: first token or masked mean),
    /// then `classifier`.
    ModernBert { pooling: Pooling, dense: Dense, activation: Unary, norm: LayerNorm, classifier: Dense },
    /// DeBERTa-v2: `act(pooler.dense(h[CLS]))` (`ContextPooler`), then `classifier`.
    Deberta { dense: Linear, activation: Unary, classifier: Linear },
}

/// How to load a checkpoint.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// The float kind to compute in (f32 by default; f64 for exactness checks).
    pub kind: Kind,
    /// For training: create the parameters the folder lacks (all of them when it has no
    /// weights file) with transformers' BERT initialisation at this standard deviation
    /// (`initializer_range`), instead of refusing the folder. `None` (the default) refuses.
    pub init_missing: Option<f64>,
    /// Where the parameters live and the model computes (`Device::Cpu` by default; checked
    /// with [`explainer_core::device::check`] before anything is read).
    pub device: Device,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { kind: Kind::Float, init_missing: None, device: Device::Cpu }
    }
}

/// A Hugging Face sequence classifier (BERT, DistilBERT, RoBERTa, ELECTRA, ModernBERT and
/// DeBERTa-v2 families) with its tokenizer.
#[derive(Debug)]
pub struct HfClassifier {
    dir: PathBuf,
    config: EncoderConfig,
    encoder: Backbone,
    head: Head,
    tokenizer: HfTokenizer,
    info: ModelInfo,
    kind: Kind,
    /// Where the parameters live.
    device: Device,
    /// Every parameter by its name in the folder's weights, the tensors the model computes with.
    parameters: Vec<(String, Tensor)>,
    /// The parameters the folder lacked and `init_missing` created.
    created: Vec<String>,
    /// The encoder's name prefix in the folder's weights ("bert.", or "" for a bare encoder).
    prefix: &'static str,
}

impl HfClassifier {
    /// Loads the checkpoint in `dir`: `config.json`, `model.safetensors` (or shards) and the
    /// tokenizer files.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with(dir, &LoadOptions::default())
    }

    /// Loads with explicit options.
    pub fn load_with(dir: &Path, options: &LoadOptions) -> Result<Self> {
        if !dir.is_dir() {
            return Err(Error::file(dir, "is not a directory (expected a Hugging Face checkpoint folder)"));
        }
        explainer_core::device::check(options.device)?;
        crate::checksums::verify(dir)?;
        let config = EncoderConfig::load(&dir.join("config.json"))?;
        let has_weights =
            dir.join("model.safetensors").is_file() || dir.join("model.safetensors.index.json").is_file();
        let weights = match options.init_missing {
            Some(std) if !has_weights => Weights::empty(options.kind).init_missing(std),
            Some(std) => Weights::load(dir, options.kind)?.init_missing(std),
            None => Weights::load(dir, options.kind)?,
        }
        .on(options.device);
        let prefixes = Encoder::prefixes(config.family);
        let probe = Backbone::word_embeddings(config.family);
        let prefix = weights
            .prefix_for(probe, prefixes)
            .or(options.init_missing.map(|_| prefixes[0]))
            .ok_or_else(|| {
                let file = weights
                    .file_of("")
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| dir.join("model.safetensors"));
                Error::file(
                    file,
                    format!(
                        "has no word embeddings for model_type {:?} (looked for {})",
                        config.model_type,
                        Encoder::prefixes(config.family)
                            .iter()
                            .map(|p| format!("{p}{probe}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })?;
        let encoder = Backbone::load(&weights, &config, prefix, options.kind)?;
        let (h, labels) = (config.hidden, config.labels.len());
        let head = match config.family {
            Family::Bert => Head::Bert {
                pooler: Linear::load(&weights, &format!("{prefix}pooler.dense"), h, h)?,
                classifier: Linear::load(&weights, "classifier", labels, h)?,
            },
            Family::DistilBert => Head::DistilBert {
                pre_classifier: Linear::load(&weights, "pre_classifier", h, h)?,
                classifier: Linear::load(&weights, "classifier", labels, h)?,
            },
            Family::Roberta => Head::Roberta {
                dense: Linear::load(&weights, "classifier.dense", h, h)?,
                out_proj: Linear::load(&weights, "classifier.out_proj", labels, h)?,
            },
            Family::Electra => Head::Electra {
                dense: Linear::load(&weights, "classifier.dense", h, h)?,
                out_proj: Linear::load(&weights, "classifier.out_proj", labels, h)?,
            },
            Family::ModernBert => {
                let o = config
                    .modernbert
                    .as_ref()
                    .ok_or_else(|| Error::Internal("ModernBERT without its options".into()))?;
                Head::ModernBert {
                    pooling: o.pooling,
                    dense: Dense::load(&weights, "head.dense", h, h, o.classifier_bias)?,
                    activation: o.classifier_activation,
                    norm: LayerNorm::load(&weights, "head.norm", h, config.eps, o.norm_bias, options.kind)?,
                    classifier: Dense::load(&weights, "classifier", labels, h, true)?,
                }
            }
            Family::DebertaV2 => Head::Deberta {
                dense: Linear::load(&weights, "pooler.dense", h, h)?,
                activation: config
                    .deberta
                    .as_ref()
                    .map(|o| o.pooler_activation)
                    .ok_or_else(|| Error::Internal("DeBERTa-v2 without its options".into()))?,
                classifier: Linear::load(&weights, "classifier", labels, h)?,
            },
        };
        let tokenizer = HfTokenizer::from_dir(
            dir,
            &TokenizerOptions {
                kind: TokenizerKind::from(config.family),
                max_len: config.max_tokens(),
                lowercase: None,
            },
        )?;
        if tokenizer.vocab_size() > config.vocab_size {
            return Err(Error::file(
                dir.join("tokenizer.json"),
                format!(
                    "the tokenizer has {} entries but the word embeddings have {} rows: tokenizer and weights do not belong together",
                    tokenizer.vocab_size(),
                    config.vocab_size
                ),
            ));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| config.model_type.clone());
        let info = ModelInfo {
            name,
            labels: config.labels.clone(),
            problem: config.problem,
            capabilities: Capabilities::ALL,
            layers: layers(&config),
            hidden_size: config.embedding_size,
        };
        Ok(HfClassifier {
            dir: dir.to_path_buf(),
            config,
            encoder,
            head,
            tokenizer,
            info,
            kind: options.kind,
            device: options.device,
            parameters: weights.handed_out(),
            created: weights.created(),
            prefix,
        })
    }

    /// Every parameter under its canonical Hugging Face name (a bare encoder's names get the
    /// family's prefix, e.g. `bert.`), sharing storage and autograd state with the model: a
    /// trainer sets `requires_grad` on them and updates them in place.
    pub fn parameters(&self) -> Vec<(String, Tensor)> {
        let canonical = Encoder::prefixes(self.config.family)[0];
        let encoder_part: &[&str] = match self.config.family {
            Family::ModernBert => &["embeddings.", "layers.", "final_norm."],
            Family::DebertaV2 => &["embeddings.", "encoder."],
            Family::Electra => &["embeddings.", "embeddings_project.", "encoder."],
            _ => &["embeddings.", "encoder.", "transformer.", "pooler."],
        };
        self.parameters
            .iter()
            .map(|(name, tensor)| {
                let name = if self.prefix.is_empty() && encoder_part.iter().any(|p| name.starts_with(p)) {
                    format!("{canonical}{name}")
                } else {
                    name.clone()
                };
                (name, tensor.shallow_clone())
            })
            .collect()
    }

    /// The parameters the folder lacked, created by [`LoadOptions::init_missing`].
    pub fn created_parameters(&self) -> &[String] {
        &self.created
    }

    /// Writes every parameter to `path` as safetensors (canonical names, detached f32 or the
    /// model's kind), the `model.safetensors` of a Hugging Face folder.
    pub fn save_weights(&self, path: &Path) -> Result<()> {
        let named: Vec<(String, Tensor)> = self
            .parameters()
            .into_iter()
            .map(|(n, t)| Ok((n, t.f_detach()?.f_to_device(Device::Cpu)?.f_contiguous()?)))
            .collect::<Result<_>>()?;
        Tensor::write_safetensors(&named, path)
            .map_err(|e| Error::file(path, format!("cannot write the weights: {e}")))
    }

    /// The checkpoint folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The parsed configuration.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// The shared post-LN encoder (embeddings and layers, without the head) of the BERT,
    /// DistilBERT, RoBERTa and ELECTRA families; `None` for ModernBERT and DeBERTa-v2, which
    /// have their own.
    pub fn encoder_stack(&self) -> Option<&Encoder> {
        match &self.encoder {
            Backbone::Shared(encoder) => Some(encoder),
            _ => None,
        }
    }
}

/// The head's final linear layer, applied to the pooled vector.
type LastLayer<'a> = dyn Fn(&Tensor) -> Result<Tensor> + 'a;

/// The hookable layers of a checkpoint, in forward order.
fn layers(config: &EncoderConfig) -> Vec<LayerInfo> {
    let h = config.hidden;
    let mut layers = vec![
        LayerInfo::new(layer_names::WORD_EMBEDDINGS, format!("word embedding lookup [batch, tokens, {h}]")),
        LayerInfo::new(
            layer_names::EMBEDDINGS,
            format!("embeddings after positions and LayerNorm [batch, tokens, {h}]"),
        ),
    ];
    for l in 0..config.layers {
        layers.push(LayerInfo::new(
            layer_names::encoder(l),
            format!("output of encoder layer {l} [batch, tokens, {h}]"),
        ));
    }
    let pooled = match config.family {
        Family::Bert => "tanh(pooler.dense(h[CLS]))",
        Family::DistilBert => "relu(pre_classifier(h[CLS]))",
        Family::Roberta => "tanh(classifier.dense(h[<s>]))",
        Family::Electra => "gelu(classifier.dense(h[CLS]))",
        Family::ModernBert => match config.modernbert.as_ref().map(|o| o.pooling) {
            Some(Pooling::Mean) => "head.norm(act(head.dense(mean of h over the real tokens)))",
            _ => "head.norm(act(head.dense(h[CLS])))",
        },
        Family::DebertaV2 => "act(pooler.dense(h[CLS]))",
    };
    layers
        .push(LayerInfo::new(layer_names::POOLER, format!("{pooled}, the classifier's input [batch, {h}]")));
    layers.push(LayerInfo::new(layer_names::CLASSIFIER, format!("logits [batch, {}]", config.labels.len())));
    layers
}

impl Model for HfClassifier {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn encoder(&self) -> &dyn TextEncoder {
        &self.tokenizer
    }

    fn device(&self) -> Device {
        self.device
    }

    fn kind(&self) -> Kind {
        self.kind
    }

    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let (_, tokens) = input.ids.size2()?;
        if tokens as usize > self.config.max_tokens() {
            return Err(Error::InvalidInput(format!(
                "{tokens} tokens exceed the model's maximum of {}",
                self.config.max_tokens()
            )));
        }
        let hidden = self.encoder.forward(input, ctx)?;
        let first = first_token(&hidden)?;
        let ops = ctx.ops();
        let (pooled, last): (Tensor, &LastLayer<'_>) = match &self.head {
            Head::Bert { pooler, classifier } => {
                (activate(ops, Unary::Tanh, &pooler.forward(&first)?)?, &|x| classifier.forward(x))
            }
            Head::DistilBert { pre_classifier, classifier } => {
                (activate(ops, Unary::Relu, &pre_classifier.forward(&first)?)?, &|x| classifier.forward(x))
            }
            Head::Roberta { dense, out_proj } => {
                (activate(ops, Unary::Tanh, &dense.forward(&first)?)?, &|x| out_proj.forward(x))
            }
            Head::Electra { dense, out_proj } => {
                (activate(ops, Unary::Gelu, &dense.forward(&first)?)?, &|x| out_proj.forward(x))
            }
            Head::ModernBert { pooling, dense, activation, norm, classifier } => {
                let pooled = match pooling {
                    Pooling::Cls => first,
                    Pooling::Mean => {
                        // Σ over real tokens / their count: linear (the mask is constant).
                        let mask = input.attention_mask.f_to_kind(hidden.kind())?;
                        let total = hidden.f_mul(&mask.f_unsqueeze(-1)?)?.f_sum_dim_intlist(
                            [1i64].as_slice(),
                            false,
                            hidden.kind(),
                        )?;
                        total.f_div(&mask.f_sum_dim_intlist([1i64].as_slice(), true, hidden.kind())?)?
                    }
                };
                let activated = activate(ops, *activation, &dense.forward(&pooled)?)?;
                (norm.forward(ops, &activated)?, &|x| classifier.forward(x))
            }
            Head::Deberta { dense, activation, classifier } => {
                (activate(ops, *activation, &dense.forward(&first)?)?, &|x| classifier.forward(x))
            }
        };
        let pooled = ctx.layer(layer_names::POOLER, pooled)?;
        ctx.layer(layer_names::CLASSIFIER, last(&pooled)?)
    }
}
