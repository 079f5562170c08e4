//! The model adapter: what a classifier must offer to be explained.

use std::fmt;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::hooks::Hooks;
use crate::ops::{DefaultOps, OpRules};
use crate::text::{Encoding, TextEncoder};
use crate::{Error, Result};

/// What the model's outputs mean, which fixes how logits become scores.
///
/// The serialised names are Hugging Face's `problem_type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemType {
    /// Independent labels: scores are `sigmoid(logits)`.
    #[serde(rename = "multi_label_classification")]
    MultiLabel,
    /// One label out of many: scores are `softmax(logits)`.
    #[serde(rename = "single_label_classification")]
    MultiClass,
    /// Real-valued outputs: scores are the logits themselves.
    Regression,
}

impl ProblemType {
    /// Applies the output function (sigmoid, softmax over the last dimension, identity).
    pub fn scores(self, logits: &Tensor) -> Result<Tensor> {
        Ok(match self {
            ProblemType::MultiLabel => logits.f_sigmoid()?,
            ProblemType::MultiClass => logits.f_softmax(-1, logits.kind())?,
            ProblemType::Regression => logits.shallow_clone(),
        })
    }

    /// The name of the output function, for reports.
    pub fn output_function(self) -> &'static str {
        match self {
            ProblemType::MultiLabel => "sigmoid",
            ProblemType::MultiClass => "softmax",
            ProblemType::Regression => "identity",
        }
    }
}

/// One thing a model can do for a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Computes logits from token ids (every model).
    Forward,
    /// Lets gradients flow back to the input (word) embeddings.
    InputGradients,
    /// Runs named layers through [`Hooks`], which may read, replace or keep activations.
    LayerHooks,
    /// Routes every non-linear and multiplicative op through [`OpRules`].
    OpRules,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 4] =
        [Capability::Forward, Capability::InputGradients, Capability::LayerHooks, Capability::OpRules];

    const fn bit(self) -> u8 {
        1 << self as u8
    }

    /// The capability's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Forward => "forward",
            Capability::InputGradients => "input-gradients",
            Capability::LayerHooks => "layer-hooks",
            Capability::OpRules => "op-rules",
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of [`Capability`]s: what a model offers, or what a method needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Capabilities(u8);

impl Capabilities {
    /// The empty set.
    pub const NONE: Capabilities = Capabilities(0);
    /// Everything: what a fully hooked model (the HF encoders, the test model) offers.
    pub const ALL: Capabilities = Capabilities::of(&Capability::ALL);

    /// The set of the given capabilities.
    pub const fn of(capabilities: &[Capability]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < capabilities.len() {
            bits |= capabilities[i].bit();
            i += 1;
        }
        Capabilities(bits)
    }

    /// Whether `capability` is in the set.
    pub const fn contains(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    /// The set with `capability` added.
    pub const fn with(self, capability: Capability) -> Self {
        Capabilities(self.0 | capability.bit())
    }

    /// The capabilities in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// The first capability of `needed` that this set lacks.
    pub fn first_missing(self, needed: Capabilities) -> Option<Capability> {
        needed.iter().find(|c| !self.contains(*c))
    }
}

impl fmt::Display for Capabilities {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.iter().map(Capability::name).collect();
        if names.is_empty() { f.write_str("nothing") } else { f.write_str(&names.join(", ")) }
    }
}

impl Serialize for Capabilities {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for Capabilities {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let list = Vec::<Capability>::deserialize(deserializer)?;
        Ok(Capabilities::of(&list))
    }
}

/// A named point in the forward pass where a hook can act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// The name hooks use, e.g. `embeddings.word`, `encoder.3`, `classifier`.
    pub name: String,
    /// What the activation there is, with its shape, for `explainer layers`-style listings.
    pub description: String,
}

impl LayerInfo {
    /// A layer entry.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        LayerInfo { name: name.into(), description: description.into() }
    }
}

/// Conventional layer names. A model need not have all of them, but where it has the
/// thing, it uses this name, so that methods and users can rely on them across models.
pub mod layer_names {
    /// The word (token) embedding lookup, before positions and segments are added:
    /// `[batch, tokens, hidden]`. Integrated Gradients and DeepLift attribute here by default.
    pub const WORD_EMBEDDINGS: &str = "embeddings.word";
    /// The full embeddings output (after positions, segments, LayerNorm): `[batch, tokens, hidden]`.
    pub const EMBEDDINGS: &str = "embeddings";
    /// The pooled sequence representation fed to the classification head: `[batch, hidden]`.
    pub const POOLER: &str = "pooler";
    /// The logits: `[batch, labels]`.
    pub const CLASSIFIER: &str = "classifier";

    /// The output of encoder layer `i` (0-based): `[batch, tokens, hidden]`.
    pub fn encoder(i: usize) -> String {
        format!("encoder.{i}")
    }
}

/// The facts about a model that methods, targets and reports need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// A name for messages and reports (the model directory's name, or the type's).
    pub name: String,
    /// Label names, in logit order.
    pub labels: Vec<String>,
    /// How logits become scores.
    pub problem: ProblemType,
    /// What the model lets methods do.
    pub capabilities: Capabilities,
    /// The hookable layers, in forward order.
    pub layers: Vec<LayerInfo>,
    /// Width of the word embeddings.
    pub hidden_size: usize,
}

impl ModelInfo {
    /// Index of a label by name; an unknown name is an error listing the labels.
    pub fn label_index(&self, label: &str) -> Result<usize> {
        self.labels.iter().position(|l| l == label).ok_or_else(|| Error::unknown_label(label, &self.labels))
    }

    /// Checks that the model offers everything `needed`; `consumer` names who asks.
    pub fn require(&self, consumer: &str, needed: Capabilities) -> Result<()> {
        match self.capabilities.first_missing(needed) {
            None => Ok(()),
            Some(capability) => Err(Error::MissingCapability {
                consumer: consumer.to_owned(),
                model: self.name.clone(),
                capability,
                offered: self.capabilities,
            }),
        }
    }

    /// Checks that `layer` is one of the model's hookable layers.
    pub fn check_layer(&self, layer: &str) -> Result<()> {
        if self.layers.iter().any(|l| l.name == layer) {
            Ok(())
        } else {
            Err(Error::unknown_name("layer", layer, self.layers.iter().map(|l| l.name.clone()).collect()))
        }
    }
}

/// Token ids of several texts, padded to one length, on the model's device.
#[derive(Debug)]
pub struct InputBatch {
    /// Token ids, `[batch, tokens]`, int64.
    pub ids: Tensor,
    /// 1 for real tokens, 0 for padding, `[batch, tokens]`, int64.
    pub attention_mask: Tensor,
    /// Segment ids, `[batch, tokens]`, int64.
    pub type_ids: Tensor,
    /// Each text's number of real tokens.
    pub lengths: Vec<usize>,
}

impl InputBatch {
    /// Pads `encodings` on the right with `pad_id` into one batch on `device`.
    pub fn pad(encodings: &[&Encoding], pad_id: i64, device: Device) -> Result<Self> {
        if encodings.is_empty() {
            return Err(Error::InvalidInput("a batch needs at least one text".into()));
        }
        for e in encodings {
            e.validate()?;
        }
        let width = encodings.iter().map(|e| e.len()).max().unwrap_or(0);
        let rows = encodings.len();
        let mut ids = vec![pad_id; rows * width];
        let mut mask = vec![0i64; rows * width];
        let mut types = vec![0i64; rows * width];
        for (r, e) in encodings.iter().enumerate() {
            let row = r * width;
            ids[row..row + e.len()].copy_from_slice(&e.ids);
            types[row..row + e.len()].copy_from_slice(&e.type_ids);
            mask[row..row + e.len()].fill(1);
        }
        let shape = [rows as i64, width as i64];
        let make = |v: &[i64]| -> Result<Tensor> {
            Ok(Tensor::from_slice(v).f_reshape(shape)?.f_to_device(device)?)
        };
        Ok(InputBatch {
            ids: make(&ids)?,
            attention_mask: make(&mask)?,
            type_ids: make(&types)?,
            lengths: encodings.iter().map(|e| e.len()).collect(),
        })
    }

    /// The ids of one unpadded text as a batch of one.
    pub fn single(encoding: &Encoding, device: Device) -> Result<Self> {
        Self::pad(&[encoding], 0, device)
    }

    /// Number of texts in the batch.
    pub fn rows(&self) -> usize {
        self.lengths.len()
    }

    /// The same rows repeated `times` times (row i of the result is row i % rows): the
    /// batch for interpolation steps or paired input/reference rows.
    pub fn repeat(&self, times: usize) -> Result<Self> {
        let t = times as i64;
        Ok(InputBatch {
            ids: self.ids.f_repeat([t, 1])?,
            attention_mask: self.attention_mask.f_repeat([t, 1])?,
            type_ids: self.type_ids.f_repeat([t, 1])?,
            lengths: (0..times).flat_map(|_| self.lengths.iter().copied()).collect(),
        })
    }
}

/// The context a forward pass runs in: the layer hooks and the op rules.
///
/// A model calls [`ForwardCtx::layer`] at each named layer and computes every non-linear
/// or multiplicative op through [`ForwardCtx::ops`].
pub struct ForwardCtx<'a> {
    hooks: Option<&'a mut Hooks>,
    ops: &'a dyn OpRules,
}

impl<'a> ForwardCtx<'a> {
    /// A context with the given hooks and op rules.
    pub fn new(hooks: Option<&'a mut Hooks>, ops: &'a dyn OpRules) -> Self {
        ForwardCtx { hooks, ops }
    }

    /// A context with no hooks and the default op rules: a plain forward pass.
    pub fn plain() -> ForwardCtx<'static> {
        ForwardCtx { hooks: None, ops: &DefaultOps }
    }

    /// Passes the activation at `layer` through the hooks; returns what flows on.
    pub fn layer(&mut self, layer: &str, activation: Tensor) -> Result<Tensor> {
        match self.hooks.as_deref_mut() {
            Some(hooks) => hooks.visit(layer, activation),
            None => Ok(activation),
        }
    }

    /// Where the forward pass may start: the layer and value of [`Hooks::start_at`]. A model
    /// may then skip the work before that layer, provided no hook sits at an earlier layer
    /// ([`ForwardCtx::hooked`]), and must still pass the value through
    /// [`ForwardCtx::layer`] at that layer. Models that ignore it compute the same result.
    pub fn start(&self) -> Option<(String, Tensor)> {
        self.hooks.as_deref()?.start().map(|(layer, value)| (layer.to_owned(), value.shallow_clone()))
    }

    /// Whether a hook sits at `layer`.
    pub fn hooked(&self, layer: &str) -> bool {
        self.hooks.as_deref().is_some_and(|h| h.layers().any(|l| l == layer))
    }

    /// The op rules every non-linear and multiplicative op must go through.
    pub fn ops(&self) -> &'a dyn OpRules {
        self.ops
    }
}

/// A text classifier that explainer can explain: the model adapter.
///
/// Implement [`Model::info`], [`Model::encoder`], [`Model::device`] and [`Model::forward`];
/// everything else is provided. In `forward`, call [`ForwardCtx::layer`] at every layer
/// listed in [`ModelInfo::layers`] and compute every non-linear or multiplicative op through
/// [`ForwardCtx::ops`]; declare in [`ModelInfo::capabilities`] only what the forward pass
/// really honours.
pub trait Model {
    /// Labels, problem type, capabilities and hookable layers.
    fn info(&self) -> &ModelInfo;

    /// The tokenizer that matches the model's vocabulary.
    fn encoder(&self) -> &dyn TextEncoder;

    /// Where the model's parameters live.
    fn device(&self) -> Device;

    /// Logits `[batch, labels]` for a batch, running layers through `ctx`.
    ///
    /// Padding must never change a text's logits. Methods call [`Model::run`], which checks
    /// hooks and capabilities first; implementations need not repeat those checks.
    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor>;

    /// The floating-point kind of the model's activations (f32 unless converted).
    fn kind(&self) -> Kind {
        Kind::Float
    }

    /// Runs a forward pass after checking that every hooked layer exists and that the model
    /// offers layer hooks (when hooks are given) and op rules (when non-default rules are).
    fn run(&self, input: &InputBatch, hooks: Option<&mut Hooks>, ops: &dyn OpRules) -> Result<Tensor> {
        let info = self.info();
        if let Some(hooks) = hooks.as_deref() {
            if !hooks.is_empty() {
                info.require("layer hooks", Capabilities::of(&[Capability::LayerHooks]))?;
            }
            for layer in hooks.layers() {
                info.check_layer(layer)?;
            }
        }
        if !ops.is_default() {
            info.require(&format!("op rules {:?}", ops.name()), Capabilities::of(&[Capability::OpRules]))?;
        }
        let mut ctx = ForwardCtx::new(hooks, ops);
        self.forward(input, &mut ctx)
    }

    /// Encodes texts, pads them into one batch and returns their logits `[texts, labels]`,
    /// without building a gradient graph.
    fn logits(&self, encodings: &[&Encoding]) -> Result<Tensor> {
        let pad = self.encoder().special_tokens().pad.unwrap_or(0);
        let batch = InputBatch::pad(encodings, pad, self.device())?;
        tch::no_grad(|| self.run(&batch, None, &DefaultOps))
    }

    /// Tokenises one text and returns its scores per label (sigmoid, softmax or identity of
    /// the logits, by problem type).
    fn predict(&self, text: &str) -> Result<Prediction> {
        let encoding = self.encoder().encode(text)?;
        let mut predictions = self.predictions(&[&encoding])?;
        predictions.pop().ok_or_else(|| Error::Internal("one text gave no prediction".into()))
    }

    /// The predictions for already tokenised texts, from one batched forward pass.
    fn predictions(&self, encodings: &[&Encoding]) -> Result<Vec<Prediction>> {
        let logits = self.logits(encodings)?;
        let scores = self.info().problem.scores(&logits)?;
        let info = self.info();
        encodings
            .iter()
            .enumerate()
            .map(|(row, encoding)| {
                Ok(Prediction {
                    labels: info.labels.clone(),
                    logits: tensor_row(&logits, row as i64)?,
                    scores: tensor_row(&scores, row as i64)?,
                    truncated: encoding.truncated,
                })
            })
            .collect()
    }
}

/// A model's output on one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Label names, in logit order.
    pub labels: Vec<String>,
    /// The raw logits.
    pub logits: Vec<f64>,
    /// The scores after the output function.
    pub scores: Vec<f64>,
    /// Whether the text was truncated to the model's maximum length.
    pub truncated: bool,
}

/// Row `row` of a 2-D tensor as f64 values.
pub fn tensor_row(t: &Tensor, row: i64) -> Result<Vec<f64>> {
    let r = t.f_get(row)?.f_to_kind(Kind::Double)?.f_contiguous()?;
    Ok(Vec::<f64>::try_from(&r)?)
}
