//! Helpers shared by the integration tests: corpus files and a wrapper model that counts
//! forward passes and can change the vocabulary's special tokens.

#![allow(dead_code, clippy::unwrap_used)] // not every test file uses every helper

use std::cell::Cell;
use std::path::PathBuf;

use explainer_core::{
    Encoding, ForwardCtx, InputBatch, Model, ModelInfo, Result, SpecialTokens, TextEncoder,
};
use explainer_testing::{TinyClassifier, WordTokenizer};
use tch::{Device, Kind, Tensor};

/// A file under the test's scratch directory holding `text`; `name` must be unique per test.
pub fn corpus_file(name: &str, text: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explainer-baselines");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A path that does not exist.
pub fn missing_file(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("explainer-baselines").join(name);
    let _ = std::fs::remove_file(&path);
    path
}

/// The tiny model's word-embedding table as f64 rows.
pub fn embedding_table(model: &TinyClassifier) -> Vec<Vec<f64>> {
    let table = model.parameter("embeddings.word").unwrap().to_kind(Kind::Double);
    let (rows, _) = table.size2().unwrap();
    (0..rows).map(|r| Vec::<f64>::try_from(&table.get(r)).unwrap()).collect()
}

/// A 2-D tensor as f64 rows.
pub fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    let t = t.to_kind(Kind::Double);
    let (n, _) = t.size2().unwrap();
    (0..n).map(|r| Vec::<f64>::try_from(&t.get(r)).unwrap()).collect()
}

/// An encoder that delegates to the tiny tokenizer but may report other special tokens and
/// rename vocabulary entries.
pub struct Encoder {
    inner: WordTokenizer,
    specials: SpecialTokens,
    renamed: Vec<(i64, String)>,
}

impl TextEncoder for Encoder {
    fn encode(&self, text: &str) -> Result<Encoding> {
        self.inner.encode(text)
    }

    fn special_tokens(&self) -> &SpecialTokens {
        &self.specials
    }

    fn vocab_size(&self) -> usize {
        self.inner.vocab_size()
    }

    fn max_len(&self) -> usize {
        self.inner.max_len()
    }

    fn id_to_token(&self, id: i64) -> Option<String> {
        match self.renamed.iter().find(|(i, _)| *i == id) {
            Some((_, token)) => Some(token.clone()),
            None => self.inner.id_to_token(id),
        }
    }
}

/// The tiny model behind a wrapper that counts forward passes and rows.
pub struct Wrapped {
    pub inner: TinyClassifier,
    pub info: ModelInfo,
    pub encoder: Encoder,
    pub forwards: Cell<usize>,
    pub rows: Cell<usize>,
}

impl Wrapped {
    /// The default multi-label tiny model, named `name` (so caches keyed by model name do
    /// not see other tests' entries).
    pub fn new(name: &str) -> Self {
        Self::from_model(TinyClassifier::default_multilabel(), name)
    }

    /// `model` wrapped and named `name`.
    pub fn from_model(model: TinyClassifier, name: &str) -> Self {
        let config = model.config().clone();
        let specials = model.encoder().special_tokens().clone();
        let mut info = model.info().clone();
        info.name = name.to_owned();
        Wrapped {
            encoder: Encoder {
                inner: WordTokenizer::new(&config.words, config.max_len).unwrap(),
                specials,
                renamed: Vec::new(),
            },
            inner: model,
            info,
            forwards: Cell::new(0),
            rows: Cell::new(0),
        }
    }

    /// The same model reporting `specials` as its vocabulary's special tokens.
    pub fn with_specials(mut self, specials: SpecialTokens) -> Self {
        self.encoder.specials = specials;
        self
    }

    /// The same model whose vocabulary shows `token` for `id`.
    pub fn with_token(mut self, id: i64, token: &str) -> Self {
        self.encoder.renamed.push((id, token.to_owned()));
        self
    }
}

impl Model for Wrapped {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn encoder(&self) -> &dyn TextEncoder {
        &self.encoder
    }

    fn device(&self) -> Device {
        self.inner.device()
    }

    fn kind(&self) -> Kind {
        self.inner.kind()
    }

    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        self.forwards.set(self.forwards.get() + 1);
        self.rows.set(self.rows.get() + input.rows());
        self.inner.forward(input, ctx)
    }
}
