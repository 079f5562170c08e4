//! A user's own tch classifier, written with `tch::nn` as tch users usually write models,
//! made explainable by implementing [`Model`].
//!
//! What it takes:
//! 1. call `ctx.layer(NAME, activation)` at every layer you list in `ModelInfo::layers`,
//! 2. compute every non-linear or multiplicative op through `ctx.ops()`,
//! 3. declare in `ModelInfo::capabilities` what your forward pass honours,
//! 4. keep padding from changing a text's result (mask it out).
//!
//! Linear maps (`nn::Linear`, sums, means) need nothing special.

use explainer_core::{
    Capabilities, ForwardCtx, InputBatch, LayerInfo, Model, ModelInfo, ProblemType, Result, TextEncoder,
    Unary, layer_names,
};
use explainer_testing::WordTokenizer;
use tch::nn::{self, Module};
use tch::{Device, Kind, Tensor};

/// Embedding → tanh(linear) · sigmoid(linear) per token → masked mean → linear head.
pub struct BagOfGatedWords {
    _store: nn::VarStore,
    embedding: nn::Embedding,
    value: nn::Linear,
    gate: nn::Linear,
    head: nn::Linear,
    tokenizer: WordTokenizer,
    info: ModelInfo,
}

impl BagOfGatedWords {
    /// A randomly initialised model (seeded through libtorch) over `words` and `labels`.
    pub fn new(words: &[&str], labels: &[&str], hidden: i64, seed: i64) -> Result<Self> {
        tch::manual_seed(seed);
        let store = nn::VarStore::new(Device::Cpu);
        let root = store.root();
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let tokenizer = WordTokenizer::new(&words, 64)?;
        let vocab = tokenizer.vocab_size() as i64;
        let embedding = nn::embedding(&root / "embedding", vocab, hidden, Default::default());
        let value = nn::linear(&root / "value", hidden, hidden, Default::default());
        let gate = nn::linear(&root / "gate", hidden, hidden, Default::default());
        let head = nn::linear(&root / "head", hidden, labels.len() as i64, Default::default());
        let mut store = store;
        // Attribution needs gradients with respect to activations, never parameters.
        store.freeze();
        let info = ModelInfo {
            name: "bag-of-gated-words".into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            problem: ProblemType::MultiLabel,
            capabilities: Capabilities::ALL,
            layers: vec![
                LayerInfo::new(layer_names::WORD_EMBEDDINGS, "word embeddings [batch, tokens, hidden]"),
                LayerInfo::new("encoder.0", "gated token features [batch, tokens, hidden]"),
                LayerInfo::new(layer_names::POOLER, "masked mean [batch, hidden]"),
                LayerInfo::new(layer_names::CLASSIFIER, "logits [batch, labels]"),
            ],
            hidden_size: hidden as usize,
        };
        Ok(BagOfGatedWords { _store: store, embedding, value, gate, head, tokenizer, info })
    }
}

impl Model for BagOfGatedWords {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn encoder(&self) -> &dyn TextEncoder {
        &self.tokenizer
    }

    fn device(&self) -> Device {
        Device::Cpu
    }

    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let ops = ctx.ops();
        let x = ctx.layer(layer_names::WORD_EMBEDDINGS, self.embedding.forward(&input.ids))?;
        let v = ops.unary(Unary::Tanh, &self.value.forward(&x))?;
        let g = ops.unary(Unary::Sigmoid, &self.gate.forward(&x))?;
        let h = ctx.layer("encoder.0", ops.mul(&v, &g)?)?;
        let mask = input.attention_mask.f_to_kind(Kind::Float)?.f_unsqueeze(-1)?;
        let count = mask.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Float)?.f_clamp_min(1.0)?;
        let mean = h.f_mul(&mask)?.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Float)?.f_div(&count)?;
        let pooled = ctx.layer(layer_names::POOLER, mean)?;
        ctx.layer(layer_names::CLASSIFIER, self.head.forward(&pooled))
    }
}
