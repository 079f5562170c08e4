//! The average-embedding baseline: the mean word embedding of a corpus at the non-special
//! tokens, computed once per (corpus, model) and cached in-process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use explainer_core::{DefaultOps, Encoding, Error, Hooks, InputBatch, Model, Reference, Result, layer_names};
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use crate::corpus::{self, Corpus};
use crate::embed;

/// How many corpus texts go through the model in one forward pass.
const BATCH: usize = 32;

/// The mean word embedding of a corpus under one model.
#[derive(Debug, Clone, PartialEq)]
pub struct CorpusMean {
    /// SHA-256 of the corpus file's bytes (hex), for reports.
    pub corpus_hash: String,
    /// How many texts (non-blank lines) the corpus has.
    pub texts: usize,
    /// How many non-special tokens were averaged.
    pub tokens: usize,
    /// The mean word embedding, `hidden` values, accumulated in f64.
    pub mean: Vec<f64>,
}

impl CorpusMean {
    /// The mean as a `[hidden]` tensor in `model`'s kind on its device.
    pub fn to_tensor(&self, model: &dyn Model) -> Result<Tensor> {
        Ok(Tensor::from_slice(&self.mean).f_to_kind(model.kind())?.f_to_device(model.device())?)
    }
}

/// What a cached mean is keyed by: the corpus bytes and the model's identity and shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    corpus_hash: String,
    model: String,
    vocab_size: usize,
    hidden_size: usize,
}

type Cache = Mutex<HashMap<Key, Arc<CorpusMean>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// The mean word embedding of a corpus file (one representative text per line, blank lines
/// skipped) at every non-special token; the special tokens keep their own word embeddings
/// unless `keep_special` is false (then they get the mean too).
///
/// The mean runs over every non-special token of every corpus text, tokenised with the
/// model's encoder. It is computed once per process for each (SHA-256 of the file's bytes,
/// model name, vocabulary size, hidden size) and cached; editing the file changes the hash.
/// A relative `corpus` path is resolved against the working directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AverageEmbedding {
    /// The corpus file: UTF-8, one representative text per line.
    pub corpus: PathBuf,
    /// Whether special tokens (`[CLS]`, `[SEP]`, …) keep their own word embeddings (default true).
    #[serde(default = "crate::yes")]
    pub keep_special: bool,
}

impl AverageEmbedding {
    /// The registry name.
    pub const NAME: &'static str = "average-embedding";

    /// The corpus path of the registry's default config: a placeholder, to be replaced.
    pub const PLACEHOLDER_CORPUS: &'static str = "corpus.txt";

    /// The mean embedding of the texts in `corpus`, special tokens kept.
    pub fn new(corpus: impl Into<PathBuf>) -> Self {
        AverageEmbedding { corpus: corpus.into(), keep_special: true }
    }

    /// The same baseline with `keep_special` set.
    pub fn with_keep_special(mut self, keep_special: bool) -> Self {
        self.keep_special = keep_special;
        self
    }

    /// The SHA-256 (hex) of a corpus file's bytes, as recorded in the cache key.
    pub fn corpus_hash(path: &Path) -> Result<String> {
        corpus::corpus_hash(path)
    }

    /// How many corpus means this process has cached (all corpora and models).
    pub fn cache_len() -> usize {
        cache().lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    /// The corpus mean under `model`: from the cache, or computed (and cached) on first use.
    pub fn corpus_mean(&self, model: &dyn Model) -> Result<Arc<CorpusMean>> {
        embed::require(model, self)?;
        let corpus = Corpus::read(&self.corpus)?;
        let key = Key {
            corpus_hash: corpus.hash.clone(),
            model: model.info().name.clone(),
            vocab_size: model.encoder().vocab_size(),
            hidden_size: model.info().hidden_size,
        };
        if let Some(hit) = cache().lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&key) {
            return Ok(Arc::clone(hit));
        }
        // Computed outside the lock: two threads may both compute a new key; both get the
        // same numbers and the first insert wins.
        let mean = Arc::new(compute(model, &corpus)?);
        let mut map = cache().lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(Arc::clone(map.entry(key).or_insert(mean)))
    }
}

/// Runs the corpus through the model in batches and averages the word embeddings of the
/// non-special tokens, in f64 on the CPU.
fn compute(model: &dyn Model, corpus: &Corpus) -> Result<CorpusMean> {
    let encodings = corpus.encode(model)?;
    let pad = model.encoder().special_tokens().pad.unwrap_or(0);
    let hidden = model.info().hidden_size;
    let mut sum = vec![0.0f64; hidden];
    let mut tokens = 0usize;
    for chunk in encodings.chunks(BATCH) {
        let refs: Vec<&Encoding> = chunk.iter().collect();
        let batch = InputBatch::pad(&refs, pad, model.device())?;
        let width = refs.iter().map(|e| e.len()).max().unwrap_or(0);
        // 1 at the real, non-special tokens; 0 at special tokens and padding.
        let mut weights = vec![0.0f64; refs.len() * width];
        for (row, encoding) in refs.iter().enumerate() {
            for (col, &special) in encoding.special.iter().enumerate() {
                if !special {
                    weights[row * width + col] = 1.0;
                    tokens += 1;
                }
            }
        }
        let mut hooks = Hooks::new();
        hooks.read(layer_names::WORD_EMBEDDINGS);
        let _logits = tch::no_grad(|| model.run(&batch, Some(&mut hooks), &DefaultOps))?;
        let words = hooks
            .get(layer_names::WORD_EMBEDDINGS)?
            .f_to_device(embed::ACCUMULATE.1)?
            .f_to_kind(Kind::Double)?;
        if words.size() != [refs.len() as i64, width as i64, hidden as i64] {
            return Err(Error::Internal(format!(
                "model {:?} gave word embeddings of shape {:?} for a batch of {} texts of {width} tokens; \
                 its hidden size is {hidden}",
                model.info().name,
                words.size(),
                refs.len()
            )));
        }
        let weights = Tensor::from_slice(&weights).f_reshape([refs.len() as i64, width as i64, 1])?;
        let batch_sum =
            words.f_mul(&weights)?.f_sum_dim_intlist([0i64, 1].as_slice(), false, Kind::Double)?;
        for (total, value) in sum.iter_mut().zip(Vec::<f64>::try_from(&batch_sum)?) {
            *total += value;
        }
    }
    if tokens == 0 {
        return Err(corpus.no_tokens());
    }
    let mean = sum.into_iter().map(|s| s / tokens as f64).collect();
    Ok(CorpusMean { corpus_hash: corpus.hash.clone(), texts: encodings.len(), tokens, mean })
}

explainer_core::register_baseline! {
    name: AverageEmbedding::NAME,
    config: AverageEmbedding,
    summary: "The mean word embedding of a corpus file at the non-special tokens; special tokens keep their own.",
    requires: [LayerHooks],
    default: AverageEmbedding::new(AverageEmbedding::PLACEHOLDER_CORPUS),
    impl {
        fn references(&self, model: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
            let mean = self.corpus_mean(model)?.to_tensor(model)?;
            Ok(vec![Reference::Embeddings(embed::fill_non_special(model, input, &mean, self.keep_special)?)])
        }
    }
}
