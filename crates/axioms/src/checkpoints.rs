//! Random Hugging Face checkpoints: a folder with `config.json` and a tokenizer, written the way
//! transformers writes them, loaded natively with freshly drawn weights.
//!
//! [`hf_specs`] draws architectures the fixtures never had — BERT, DistilBERT, RoBERTa, XLM-R,
//! ELECTRA (embeddings narrower than the hidden size), ModernBERT (global and local rotary
//! attention, GeGLU, cls or mean pooling) and DeBERTa-v2/v3 (relative attention, log buckets);
//! odd hidden sizes, 1 … 5 heads, 1 or 2 layers, vocabularies of 40 … 700 entries
//! (WordPiece `vocab.txt`, byte-level BPE `vocab.json` + `merges.txt`, or a SentencePiece
//! Unigram `tokenizer.json`), 1 … 8 labels,
//! multi-label or multi-class, initializer ranges 0.02 … 0.5 — and [`HfSpec::build`] turns one
//! into an [`HfClassifier`] whose weights depend only on the spec's seed.

use std::fmt;
use std::path::{Path, PathBuf};

use explainer_core::{Error, Result};
use explainer_transformers::{HfClassifier, LoadOptions};
use proptest::prelude::*;
use tch::{Kind, Tensor};

/// The architecture families a spec can name, with the `model_type` transformers writes.
pub const MODEL_TYPES: [&str; 7] =
    ["bert", "distilbert", "roberta", "xlm-roberta", "electra", "modernbert", "deberta-v2"];

/// The activations a spec can name (`hidden_act` / DistilBERT's `activation`).
pub const ACTIVATIONS: [&str; 5] = ["gelu", "gelu_new", "relu", "tanh", "silu"];

/// A random encoder-classifier architecture and the seed of its weights.
#[derive(Clone, PartialEq)]
pub struct HfSpec {
    /// `model_type` (one of [`MODEL_TYPES`]).
    pub model_type: &'static str,
    /// Attention heads.
    pub heads: usize,
    /// Width of one head (hidden = heads × head width).
    pub head_width: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Width of the feed-forward block.
    pub intermediate: usize,
    /// The feed-forward activation (one of [`ACTIVATIONS`]).
    pub activation: &'static str,
    /// Entries of the tokenizer's vocabulary.
    pub vocab: usize,
    /// Rows of the word-embedding table beyond the tokenizer's entries.
    pub extra_rows: usize,
    /// Output labels.
    pub labels: usize,
    /// Multi-label (sigmoid) rather than multi-class (softmax).
    pub multi_label: bool,
    /// `initializer_range`: weights are drawn from N(0, std²).
    pub init_std: f64,
    /// Seed of the weights.
    pub seed: u64,
}

impl HfSpec {
    /// The hidden size.
    pub fn hidden(&self) -> usize {
        self.heads * self.head_width
    }

    /// Whether the tokenizer is byte-level BPE (RoBERTa, XLM-R, ModernBERT).
    fn roberta(&self) -> bool {
        self.model_type.contains("roberta") || self.model_type == "modernbert"
    }

    /// The `config.json` transformers would write for this architecture.
    pub fn config_json(&self) -> serde_json::Value {
        let labels: serde_json::Map<String, serde_json::Value> =
            (0..self.labels).map(|i| (i.to_string(), format!("label_{i}").into())).collect();
        let problem =
            if self.multi_label { "multi_label_classification" } else { "single_label_classification" };
        let vocab_size = self.vocab + self.extra_rows;
        let mut config = if self.model_type == "modernbert" {
            // Layers 0, 2 global, 1 local (a window of ±2); θs far apart; pooling by seed.
            serde_json::json!({
                "architectures": ["ModernBertForSequenceClassification"],
                "model_type": "modernbert",
                "hidden_size": self.hidden(),
                "num_hidden_layers": self.layers,
                "num_attention_heads": self.heads,
                "intermediate_size": self.intermediate,
                "hidden_activation": self.activation,
                "max_position_embeddings": 42,
                "vocab_size": vocab_size,
                "pad_token_id": 1,
                "norm_eps": 1e-5,
                "norm_bias": self.seed % 3 == 0,
                "attention_bias": self.seed % 3 == 0,
                "mlp_bias": self.seed % 3 == 0,
                "global_attn_every_n_layers": 2,
                "local_attention": 4,
                "global_rope_theta": 160000.0,
                "local_rope_theta": 10000.0,
                "classifier_pooling": if self.seed % 2 == 0 { "cls" } else { "mean" },
                "initializer_range": self.init_std,
            })
        } else if self.model_type == "deberta-v2" {
            // DeBERTa-v3's attention: shared keys, both terms, LayerNorm'ed log-bucketed
            // relative embeddings, no absolute positions.
            serde_json::json!({
                "architectures": ["DebertaV2ForSequenceClassification"],
                "model_type": "deberta-v2",
                "hidden_size": self.hidden(),
                "num_hidden_layers": self.layers,
                "num_attention_heads": self.heads,
                "intermediate_size": self.intermediate,
                "hidden_act": self.activation,
                "max_position_embeddings": 42,
                "type_vocab_size": 0,
                "layer_norm_eps": 1e-7,
                "vocab_size": vocab_size,
                "pad_token_id": 0,
                "relative_attention": true,
                "max_relative_positions": -1,
                "position_buckets": 8,
                "pos_att_type": ["p2c", "c2p"],
                "share_att_key": true,
                "norm_rel_ebd": "layer_norm",
                "position_biased_input": false,
                "initializer_range": self.init_std,
            })
        } else if self.model_type == "distilbert" {
            serde_json::json!({
                "architectures": ["DistilBertForSequenceClassification"],
                "model_type": "distilbert",
                "dim": self.hidden(),
                "n_layers": self.layers,
                "n_heads": self.heads,
                "hidden_dim": self.intermediate,
                "activation": self.activation,
                "max_position_embeddings": 40,
                "vocab_size": vocab_size,
                "pad_token_id": 0,
                "sinusoidal_pos_embds": false,
                "initializer_range": self.init_std,
            })
        } else {
            let (architecture, pad, types, eps) = if self.model_type == "electra" {
                ("ElectraForSequenceClassification", 0, 2, 1e-12)
            } else if self.roberta() {
                (
                    if self.model_type == "roberta" {
                        "RobertaForSequenceClassification"
                    } else {
                        "XLMRobertaForSequenceClassification"
                    },
                    1,
                    1,
                    1e-5,
                )
            } else {
                ("BertForSequenceClassification", 0, 2, 1e-12)
            };
            serde_json::json!({
                "architectures": [architecture],
                "model_type": self.model_type,
                "hidden_size": self.hidden(),
                "num_hidden_layers": self.layers,
                "num_attention_heads": self.heads,
                "intermediate_size": self.intermediate,
                "hidden_act": self.activation,
                "max_position_embeddings": 42,
                "type_vocab_size": types,
                "layer_norm_eps": eps,
                "vocab_size": vocab_size,
                "pad_token_id": pad,
                "position_embedding_type": "absolute",
                "initializer_range": self.init_std,
            })
        };
        if self.model_type == "electra" {
            // ELECTRA's embeddings are narrower than its hidden states (embeddings_project).
            config["embedding_size"] = self.hidden().div_ceil(2).into();
        }
        config["id2label"] = serde_json::Value::Object(labels);
        config["problem_type"] = problem.into();
        config
    }

    /// Writes the folder (`config.json` and the tokenizer files, no weights) into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, format!("cannot create: {e}")))?;
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|e| Error::file(&path, format!("cannot write: {e}")))
        };
        let json = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
        write("config.json", json(&self.config_json()))?;
        if self.model_type == "deberta-v2" {
            write("tokenizer.json", json(&unigram_tokenizer(self.vocab)))?;
        } else if self.roberta() {
            let (vocab, merges) = bpe_vocabulary(self.vocab);
            let map: serde_json::Map<String, serde_json::Value> =
                vocab.iter().enumerate().map(|(i, t)| (t.clone(), i.into())).collect();
            write("vocab.json", json(&serde_json::Value::Object(map)))?;
            let mut text = String::from("#version: 0.2\n");
            for (a, b) in merges {
                text.push_str(&format!("{a} {b}\n"));
            }
            write("merges.txt", text)?;
        } else {
            let mut text = wordpiece_vocabulary(self.vocab).join("\n");
            text.push('\n');
            write("vocab.txt", text)?;
            write("tokenizer_config.json", json(&serde_json::json!({ "do_lower_case": true })))?;
        }
        Ok(())
    }

    /// Writes the folder under the system's temporary directory and loads it in f32 with
    /// weights drawn from this spec's seed (BERT's init: N(0, std²) for every matrix, LayerNorm
    /// ones, biases zeros). The folder is removed when the checkpoint is dropped.
    pub fn build(&self) -> Result<HfCheckpoint> {
        let dir = std::env::temp_dir().join(format!(
            "explainer-axioms-{}-{}-{:016x}",
            std::process::id(),
            self.model_type,
            self.fingerprint()
        ));
        let mut checkpoint = HfCheckpoint { spec: self.clone(), dir: dir.clone(), model: None };
        self.write(&dir)?;
        let model = HfClassifier::load_with(
            &dir,
            &LoadOptions { kind: Kind::Float, init_missing: Some(self.init_std), ..LoadOptions::default() },
        )?;
        // Redraw every matrix from the spec's own generator: libtorch's global generator is
        // shared by every test thread, this one is not.
        let mut rng = SplitMix(self.seed);
        let _guard = tch::no_grad_guard();
        for (_, tensor) in model.parameters() {
            if tensor.dim() < 2 {
                continue;
            }
            let n = tensor.numel();
            let values: Vec<f32> = (0..n).map(|_| (rng.normal() * self.init_std) as f32).collect();
            let fresh = Tensor::from_slice(&values).f_view(tensor.size().as_slice())?;
            let mut target = tensor.shallow_clone();
            target.f_copy_(&fresh)?;
        }
        checkpoint.model = Some(model);
        Ok(checkpoint)
    }

    fn fingerprint(&self) -> u64 {
        let text = format!("{self:?}");
        text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
    }
}

impl fmt::Debug for HfSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} hidden {} ({} heads × {}), {} layers, ffn {} {}, vocab {}+{}, {} labels {}, init std {:.3}, seed {}",
            self.model_type,
            self.hidden(),
            self.heads,
            self.head_width,
            self.layers,
            self.intermediate,
            self.activation,
            self.vocab,
            self.extra_rows,
            self.labels,
            if self.multi_label { "multi-label" } else { "multi-class" },
            self.init_std,
            self.seed
        )
    }
}

/// A random checkpoint on disk and the model loaded from it (the folder goes with it).
pub struct HfCheckpoint {
    /// What was drawn.
    pub spec: HfSpec,
    /// The folder (config.json, tokenizer files).
    pub dir: PathBuf,
    model: Option<HfClassifier>,
}

impl HfCheckpoint {
    /// The loaded model.
    pub fn model(&self) -> Result<&HfClassifier> {
        self.model.as_ref().ok_or_else(|| Error::Internal("the checkpoint was not loaded".into()))
    }
}

impl Drop for HfCheckpoint {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Random architectures of every family in [`MODEL_TYPES`]. Shrinks towards BERT, one head of
/// width 1, one layer, small vocabularies and few labels.
pub fn hf_specs() -> impl Strategy<Value = HfSpec> {
    specs(0..MODEL_TYPES.len())
}

/// Random architectures of one family (`model_type`, one of [`MODEL_TYPES`]; an unknown name
/// draws BERT): what [`hf_specs`] draws, the family fixed, so that a test can give every family
/// its share of the models.
pub fn hf_specs_of(model_type: &str) -> impl Strategy<Value = HfSpec> + use<> {
    specs(Just(MODEL_TYPES.iter().position(|t| *t == model_type).unwrap_or(0)))
}

/// The draw behind [`hf_specs`] and [`hf_specs_of`], the family's index from `family`. Layers
/// are 1 or 2: every layer kind of every family (ModernBERT's global layer 0 and local layer 1)
/// is in a 2-layer model, and the suite's run time grows with the depth.
fn specs(family: impl Strategy<Value = usize>) -> impl Strategy<Value = HfSpec> {
    (
        (family, 1usize..=5, 1usize..=16, 1usize..=2, 0usize..=300),
        (0..ACTIVATIONS.len(), 40usize..=700, 0usize..=64, 1usize..=8, any::<bool>()),
        (0.02f64..=0.5, any::<u64>()),
    )
        .prop_map(
            |(
                (family, heads, head_width, layers, ffn),
                (activation, vocab, extra_rows, labels, multi_label),
                (init_std, seed),
            )| {
                let model_type = MODEL_TYPES[family];
                // ModernBERT's rotary embeddings need an even head width.
                let head_width =
                    if model_type == "modernbert" { head_width.div_ceil(2) * 2 } else { head_width };
                let hidden = heads * head_width;
                HfSpec {
                    model_type,
                    heads,
                    head_width,
                    layers,
                    // hidden … 4·hidden + 3, odd widths included.
                    intermediate: hidden + ffn % (3 * hidden + 4),
                    activation: ACTIVATIONS[activation],
                    // Byte-level BPE has at least its 100 base entries.
                    vocab: if model_type.contains("roberta") || model_type == "modernbert" {
                        vocab.max(100)
                    } else {
                        vocab
                    },
                    extra_rows,
                    // Softmax over one label is constant: multi-class needs two.
                    labels: if multi_label { labels } else { labels.max(2) },
                    multi_label,
                    init_std,
                    seed,
                }
            },
        )
}

/// `[PAD] [UNK] [CLS] [SEP] [MASK]`, letters and digits, their `##` continuations, then
/// made-up words: exactly `size` entries (at least the five specials).
fn wordpiece_vocabulary(size: usize) -> Vec<String> {
    let mut vocab: Vec<String> = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"].map(String::from).to_vec();
    let chars: Vec<char> = ('a'..='z').chain('0'..='9').collect();
    vocab.extend(chars.iter().map(|c| c.to_string()));
    vocab.extend(chars.iter().map(|c| format!("##{c}")));
    let mut i = 0;
    while vocab.len() < size {
        let word: String = [chars[i % 26], chars[(i / 26) % 26], chars[(i / 676) % 26]].iter().collect();
        vocab.push(format!("{word}{i}"));
        i += 1;
    }
    vocab.truncate(size.max(5));
    vocab
}

/// RoBERTa's specials, the printable ASCII bytes and `Ġ` (the space), then merges of
/// `Ġ`+letter and letter pairs: exactly `size` entries (at least the 100 base ones) and the
/// merges that make them.
fn bpe_vocabulary(size: usize) -> (Vec<String>, Vec<(String, String)>) {
    let mut vocab: Vec<String> = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"].map(String::from).to_vec();
    vocab.extend((33u8..=126).map(|b| char::from(b).to_string()));
    vocab.push("\u{120}".to_owned());
    let letters: Vec<String> = ('a'..='z').map(|c| c.to_string()).collect();
    let mut pairs: Vec<(String, String)> =
        letters.iter().map(|l| ("\u{120}".to_owned(), l.clone())).collect();
    for a in &letters {
        for b in &letters {
            pairs.push((a.clone(), b.clone()));
        }
    }
    let mut merges = Vec::new();
    for (a, b) in pairs {
        if vocab.len() >= size {
            break;
        }
        vocab.push(format!("{a}{b}"));
        merges.push((a, b));
    }
    (vocab, merges)
}

/// A SentencePiece Unigram `tokenizer.json` as DeBERTa-v2/v3 ships it (transformers'
/// `DebertaV2Tokenizer`: its normaliser, `Metaspace`, `[CLS] $A [SEP]`) over the pieces of
/// [`wordpiece_vocabulary`] read SentencePiece-style (`x` → `▁x`, `##x` → `x`), the longer
/// pieces scored likelier: exactly `size` entries (at least the five specials).
fn unigram_tokenizer(size: usize) -> serde_json::Value {
    let pieces = wordpiece_vocabulary(size);
    let vocab: Vec<serde_json::Value> = pieces
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i < 5 {
                serde_json::json!([p, 0.0])
            } else {
                let piece = p.strip_prefix("##").map_or_else(|| format!("\u{2581}{p}"), str::to_owned);
                serde_json::json!([piece, -10.0 + p.trim_start_matches('#').len() as f64])
            }
        })
        .collect();
    let specials: Vec<serde_json::Value> = pieces
        .iter()
        .take(5)
        .enumerate()
        .map(|(id, content)| {
            serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let metaspace = serde_json::json!({"type": "Metaspace", "replacement": "\u{2581}", "prepend_scheme": "always", "split": true});
    serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": specials,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"Regex": "\\s{2,}|[\\n\\r\\t]"}, "content": " "},
            {"type": "NFC"},
            {"type": "Strip", "strip_left": false, "strip_right": true}
        ]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [metaspace.clone()]},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}
            }
        },
        "decoder": metaspace,
        "model": {"type": "Unigram", "unk_id": 1, "vocab": vocab, "byte_fallback": false}
    })
}

/// A small seeded generator (SplitMix64) with Box–Muller normals.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}
