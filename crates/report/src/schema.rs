//! The versioned JSON schema of explanations (`explainer.report/1`).
//!
//! A [`Document`] is what `explainer explain --format json` writes: one [`Run`] (who computed
//! what, with which model, method and baseline) and one [`Explanation`] per text. A [`Record`]
//! is one self-contained line of `explainer batch` output (JSON Lines): one explanation and a
//! compact [`RunStamp`] so that the line can be traced without the rest of the file.
//!
//! The field-by-field reference, the offsets convention and the compatibility policy are in
//! `docs/json-schema.md` at the repository root; keep the two in step.
//!
//! Offsets: every token and word carries both CHARACTER offsets (`start`/`end`, counted in
//! Unicode scalar values, what Python's `str` slicing and JavaScript's `Array.from(text)`
//! use) and BYTE offsets (`byte_start`/`byte_end`, into the UTF-8 text, what Rust slicing
//! uses). Both are half-open `[start, end)` into [`Explanation::text`], the ORIGINAL text.

use std::collections::BTreeMap;

use explainer_core::{Attribution, Encoding, Error, LayerSweep, Output, Prediction, ProblemType, Result};
use serde::{Deserialize, Serialize};

/// The schema identifier written in [`Document::schema`] and [`Record::schema`].
///
/// The number after the slash is bumped on every incompatible change (see
/// `docs/json-schema.md`, "Compatibility").
pub const SCHEMA_VERSION: &str = "explainer.report/1";

/// The name of the schema family, without its version: the part of [`SCHEMA_VERSION`] before
/// the slash.
pub const SCHEMA_NAME: &str = "explainer.report";

/// A whole report: the run and one explanation per text (`explainer explain --format json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    /// The schema identifier, [`SCHEMA_VERSION`].
    pub schema: String,
    /// How the explanations were computed: tool, model, method, baseline, target.
    pub run: Run,
    /// One explanation per input text, in input order.
    pub explanations: Vec<Explanation>,
}

impl Document {
    /// A document of the current schema version.
    pub fn new(run: Run, explanations: Vec<Explanation>) -> Self {
        Document { schema: SCHEMA_VERSION.to_owned(), run, explanations }
    }

    /// Reads a document from JSON, checking its schema identifier first, so that a file of
    /// another schema version is refused with a message naming both versions rather than a
    /// field-level serde error.
    pub fn from_json(json: &str) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::InvalidInput(format!("not a JSON report: {e}")))?;
        check_schema(value.get("schema"))?;
        serde_json::from_value(value)
            .map_err(|e| Error::InvalidInput(format!("malformed {SCHEMA_VERSION} report: {e}")))
    }
}

/// Checks a `schema` field against [`SCHEMA_VERSION`].
fn check_schema(schema: Option<&serde_json::Value>) -> Result<()> {
    match schema.and_then(serde_json::Value::as_str) {
        Some(SCHEMA_VERSION) => Ok(()),
        Some(other) => Err(Error::InvalidInput(format!(
            "report schema {other:?} is not supported: this build reads {SCHEMA_VERSION:?}"
        ))),
        None => Err(Error::InvalidInput(format!("no \"schema\" field: not an {SCHEMA_NAME} document"))),
    }
}

/// How a report was produced: the audit trail shared by all its explanations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The producing tool's name, e.g. `"explainer"`.
    pub tool: String,
    /// The producing tool's version, e.g. `"0.1.0"`.
    pub version: String,
    /// Versions of the components that shaped the numbers, by name (e.g. `explainer`,
    /// `libtorch`, `tokenizers`). Sorted by name in JSON.
    #[serde(default)]
    pub versions: BTreeMap<String, String>,
    /// When the run started, RFC 3339 in UTC (e.g. `"2026-11-24T12:00:00Z"`), as given by the
    /// caller.
    pub created: String,
    /// Wall-clock duration of the whole run in seconds (model loading included).
    pub duration_seconds: f64,
    /// The explained model.
    pub model: ModelRecord,
    /// The attribution method's configuration, exactly as serialised by its typetag config
    /// (`{"method": "<registry name>", …parameters}`), so that the run can be repeated.
    pub method: serde_json::Value,
    /// The baseline's configuration, as serialised by its typetag config
    /// (`{"baseline": "<registry name>", …parameters}`).
    pub baseline: serde_json::Value,
    /// The rule that chose the explained labels, in its text form (`predicted`, `all`,
    /// `above:0.3`, `labels:a,b`, `indices:0,2`).
    pub target: String,
    /// Which function of the logits was explained: `"probability"` or `"logit"`.
    pub output: Output,
    /// The layer the attributions were taken at (e.g. `embeddings.word`).
    pub layer: String,
    /// The device the model ran on: `"cpu"` or `"cuda:N"` (reports written before it was
    /// recorded read as `"cpu"`, the only device then).
    #[serde(default = "cpu")]
    pub device: String,
}

fn cpu() -> String {
    "cpu".to_owned()
}

/// The identity of the explained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    /// Where the model was loaded from, as given by the user (a folder or file path, or a
    /// built-in name).
    pub path: String,
    /// The model's display name.
    pub name: String,
    /// A content hash of the model's files, `"sha256:<64 lowercase hex digits>"`, computed by
    /// the CLI (see its `model_hash`): two reports with equal hashes used the same weights,
    /// configuration and tokenizer.
    pub hash: String,
    /// How logits become scores: `"multi_label_classification"` (sigmoid),
    /// `"single_label_classification"` (softmax) or `"regression"` (identity).
    pub problem: ProblemType,
    /// The label names, in logit order (index i is logit i).
    pub labels: Vec<String>,
}

/// The explanation of one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// The caller's identifier of the text (a batch row id), when it has one.
    #[serde(default)]
    pub id: Option<String>,
    /// The ORIGINAL text, exactly as given; every offset points into it.
    pub text: String,
    /// Whether the text was cut to the model's maximum length: tokens (and therefore words)
    /// then cover only its beginning, and the attributions say nothing about the rest.
    pub truncated: bool,
    /// The model's output on the text: every label, in logit order.
    pub predictions: Vec<LabelScore>,
    /// The tokens the model saw, special tokens included, in order.
    pub tokens: Vec<Token>,
    /// The words of the text: non-special tokens merged into the spans a reader sees.
    pub words: Vec<Word>,
    /// One entry per explained label, in the order the target rule gave them.
    pub targets: Vec<TargetReport>,
    /// Things the reader should know: truncation, adjusted offsets, method caveats.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// When the text was longer than the model's window and explained in overlapping windows
    /// (`--long-text windows`): the windows, how the document's scores and attributions were
    /// formed from them, and which window drove each label. Absent (not `null`) otherwise, so
    /// that reports of texts that fit are unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub windows: Option<LongTextReport>,
}

/// How a long text was explained in windows (see `explainer_pipeline::long_text`).
///
/// Token attributions of the document are the mean over the windows that contain each token;
/// the document's scores are the maximum over windows (`score_rule` `"max"`, multi-label) or
/// the mean of the windows' scores (`"mean"`, multi-class and regression). Completeness holds
/// per window (each [`WindowTarget::delta`]), not for the averaged document attributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LongTextReport {
    /// Tokens per window, special tokens included (the model's maximum length).
    pub window_tokens: usize,
    /// Tokens between the starts of consecutive windows.
    pub stride: usize,
    /// How the document's score of a label is formed from the windows': `"max"` or `"mean"`.
    pub score_rule: String,
    /// The windows, in text order.
    pub windows: Vec<WindowReport>,
    /// For each explained label (in the order of [`Explanation::targets`]): the window that
    /// drove its document score (the maximum, or the largest share of the mean).
    pub drivers: Vec<WindowDriver>,
}

/// One window of a long text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowReport {
    /// Position in [`LongTextReport::windows`].
    pub index: usize,
    /// The first document token of the window (an index into [`Explanation::tokens`]); the
    /// window also holds the document's leading and trailing special tokens.
    pub token_start: usize,
    /// One past the window's last document token.
    pub token_end: usize,
    /// Start of the text the window covers, in characters.
    pub start: usize,
    /// End of the text the window covers, in characters (exclusive).
    pub end: usize,
    /// Start in bytes.
    pub byte_start: usize,
    /// End in bytes (exclusive).
    pub byte_end: usize,
    /// The window's own explanation of each explained label.
    pub targets: Vec<WindowTarget>,
}

/// One label's explanation on one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowTarget {
    /// The label's name.
    pub label: String,
    /// The label's index in the logits.
    pub label_index: usize,
    /// The model's score for the label on the window.
    pub score: f64,
    /// Σ the window's token attributions.
    pub attribution_total: f64,
    /// F(x) on the window.
    pub f_input: f64,
    /// F(x₀) on the window.
    pub f_baseline: f64,
    /// The window's convergence delta Σ attributions − (F(x) − F(x₀)), for methods with one.
    pub delta: Option<f64>,
}

/// The window that drove a label's document score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowDriver {
    /// The label's name.
    pub label: String,
    /// The label's index in the logits.
    pub label_index: usize,
    /// The index of the window in [`LongTextReport::windows`].
    pub window: usize,
}

/// One label's output on the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelScore {
    /// The label's name.
    pub label: String,
    /// The label's index in the logits.
    pub index: usize,
    /// The score after the model's output function (sigmoid, softmax or identity).
    pub score: f64,
    /// The raw logit.
    pub logit: f64,
}

/// One token of the model's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Token {
    /// Position in the model's input (0 is the first token, usually `[CLS]`/`<s>`).
    pub index: usize,
    /// The token id in the model's vocabulary.
    pub id: i64,
    /// The token as a string (the vocabulary's form, e.g. `##ing`, `Ġthe`, `[CLS]`).
    pub text: String,
    /// Start of the token's span in the original text, in characters (Unicode scalar
    /// values), inclusive. `0` for special tokens.
    pub start: usize,
    /// End of the token's span in characters, exclusive. `0` for special tokens.
    pub end: usize,
    /// Start of the span in bytes of the UTF-8 text, inclusive.
    pub byte_start: usize,
    /// End of the span in bytes, exclusive.
    pub byte_end: usize,
    /// Whether this is a special token (`[CLS]`, `[SEP]`, `<s>`, …), which covers no text.
    pub special: bool,
    /// The index in [`Explanation::words`] of the word this token belongs to; `None` for
    /// special tokens.
    #[serde(default)]
    pub word: Option<usize>,
}

/// One word of the text: the span of one or more consecutive sub-word tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    /// Position in [`Explanation::words`].
    pub index: usize,
    /// The word as it appears in the original text (`text[byte_start..byte_end]`).
    pub text: String,
    /// Start in characters, inclusive.
    pub start: usize,
    /// End in characters, exclusive.
    pub end: usize,
    /// Start in bytes, inclusive.
    pub byte_start: usize,
    /// End in bytes, exclusive.
    pub byte_end: usize,
    /// The indices in [`Explanation::tokens`] of the word's tokens, ascending.
    pub tokens: Vec<usize>,
}

/// The attribution of one explained label.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetReport {
    /// The label's name.
    pub label: String,
    /// The label's index in the logits.
    pub label_index: usize,
    /// The model's score for the label (after the output function).
    pub score: f64,
    /// Σ token attributions (special tokens included), as computed from `token_attributions`.
    pub attribution_total: f64,
    /// One attribution per token, aligned with [`Explanation::tokens`]; positive values push
    /// the explained output up ("for" the label), negative ones down ("against").
    pub token_attributions: Vec<f64>,
    /// One attribution per word, aligned with [`Explanation::words`]: the sum of its tokens'
    /// attributions. Special tokens belong to no word, so Σ words = Σ tokens − Σ specials.
    pub word_attributions: Vec<f64>,
    /// With several baseline draws: each token's standard deviation over the draws.
    #[serde(default)]
    pub token_spread: Option<Vec<f64>>,
    /// F(x): the explained output (see [`Run::output`]) on the input.
    pub f_input: f64,
    /// F(x₀): the explained output on the baseline (the mean over draws, with several).
    pub f_baseline: f64,
    /// The convergence delta Σ attributions − (F(x) − F(x₀)), for methods that have one.
    #[serde(default)]
    pub delta: Option<f64>,
    /// Integration steps used, for path methods.
    #[serde(default)]
    pub steps: Option<usize>,
    /// An estimate of the quadrature error, where the method computes one.
    #[serde(default)]
    pub error_estimate: Option<f64>,
    /// For layer sweeps: per-token attributions at several layers (rows aligned with
    /// [`Explanation::tokens`]), with each layer's completeness delta.
    #[serde(default)]
    pub layer_sweep: Option<LayerSweep>,
}

/// One self-contained line of `explainer batch` output (JSON Lines).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The schema identifier, [`SCHEMA_VERSION`].
    pub schema: String,
    /// The row's identifier (the input's id column, or its 1-based line number).
    pub id: String,
    /// Enough of the run to trace the line on its own.
    pub run: RunStamp,
    /// The explanation of the row's text.
    pub explanation: Explanation,
}

impl Record {
    /// A record of the current schema version, stamped with `run`'s identity.
    pub fn new(id: impl Into<String>, run: &Run, explanation: Explanation) -> Self {
        Record { schema: SCHEMA_VERSION.to_owned(), id: id.into(), run: RunStamp::from(run), explanation }
    }

    /// Reads one JSON Lines record, checking its schema identifier first.
    pub fn from_json(json: &str) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| Error::InvalidInput(format!("not a JSON record: {e}")))?;
        check_schema(value.get("schema"))?;
        serde_json::from_value(value)
            .map_err(|e| Error::InvalidInput(format!("malformed {SCHEMA_VERSION} record: {e}")))
    }
}

/// A compact run identity carried by every [`Record`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStamp {
    /// The producing tool's name ([`Run::tool`]).
    pub tool: String,
    /// The producing tool's version ([`Run::version`]).
    pub version: String,
    /// When the run started, RFC 3339 UTC ([`Run::created`]): lines of one run share it.
    pub created: String,
    /// The model's display name ([`ModelRecord::name`]).
    pub model: String,
    /// The model's content hash, `"sha256:<hex>"` ([`ModelRecord::hash`]).
    pub model_hash: String,
    /// The method's typetag config ([`Run::method`]).
    pub method: serde_json::Value,
    /// The baseline's typetag config ([`Run::baseline`]).
    pub baseline: serde_json::Value,
    /// The target rule's text form ([`Run::target`]).
    pub target: String,
    /// Which function of the logits was explained ([`Run::output`]).
    pub output: Output,
    /// The attribution layer ([`Run::layer`]).
    pub layer: String,
}

impl From<&Run> for RunStamp {
    fn from(run: &Run) -> Self {
        RunStamp {
            tool: run.tool.clone(),
            version: run.version.clone(),
            created: run.created.clone(),
            model: run.model.name.clone(),
            model_hash: run.model.hash.clone(),
            method: run.method.clone(),
            baseline: run.baseline.clone(),
            target: run.target.clone(),
            output: run.output,
            layer: run.layer.clone(),
        }
    }
}

impl Explanation {
    /// Builds the explanation of `text` from the model's prediction and a method's attribution.
    ///
    /// - tokens: the encoding's byte offsets are converted to character offsets; an offset that
    ///   falls inside a multi-byte character is widened to the enclosing character boundaries
    ///   and reported in [`Explanation::warnings`];
    /// - words: consecutive non-special tokens with the same word id (and segment) form a word;
    ///   tokens without a word id join the previous such token when their spans touch;
    ///   special tokens belong to no word;
    /// - targets: word attribution = Σ of its tokens' attributions.
    ///
    /// Errors (never panics) when the pieces do not fit together: per-token vectors of
    /// different lengths, offsets beyond the end of the text or reversed (the encoding is not
    /// of this text), prediction and attribution of different label counts, non-finite
    /// numbers (an audit file must not carry NaN or ∞), layer sweeps of the wrong shape.
    pub fn new(
        id: Option<String>,
        text: &str,
        prediction: &Prediction,
        attribution: &Attribution,
    ) -> Result<Explanation> {
        let encoding = &attribution.encoding;
        encoding.validate()?;
        let mut warnings = Vec::new();
        let tokens = build_tokens(text, encoding, &mut warnings)?;
        let (tokens, words) = build_words(text, encoding, tokens)?;

        let count = prediction.labels.len();
        if prediction.logits.len() != count || prediction.scores.len() != count {
            return Err(Error::InvalidInput(format!(
                "prediction has {count} labels, {} logits and {} scores",
                prediction.logits.len(),
                prediction.scores.len()
            )));
        }
        let predictions = (0..count)
            .map(|i| {
                let label = &prediction.labels[i];
                finite(prediction.scores[i], || format!("the score of label {label:?}"))?;
                finite(prediction.logits[i], || format!("the logit of label {label:?}"))?;
                Ok(LabelScore {
                    label: label.clone(),
                    index: i,
                    score: prediction.scores[i],
                    logit: prediction.logits[i],
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let targets = attribution
            .targets
            .iter()
            .map(|t| {
                if t.label_index >= count {
                    return Err(Error::InvalidInput(format!(
                        "attribution of label index {} but the prediction has {count} labels",
                        t.label_index
                    )));
                }
                let what = |field: &str| format!("{field} of label {:?}", t.label);
                if t.tokens.len() != tokens.len() {
                    return Err(Error::InvalidInput(format!(
                        "label {:?} has {} token attributions for {} tokens",
                        t.label,
                        t.tokens.len(),
                        tokens.len()
                    )));
                }
                for (i, &a) in t.tokens.iter().enumerate() {
                    finite(a, || format!("token {i}'s {}", what("attribution")))?;
                }
                for (name, value) in [("the score", t.score), ("F(x)", t.f_input), ("F(x₀)", t.f_baseline)]
                {
                    finite(value, || what(name))?;
                }
                for (name, value) in [("the delta", t.delta), ("the error estimate", t.error_estimate)] {
                    if let Some(v) = value {
                        finite(v, || what(name))?;
                    }
                }
                if let Some(spread) = &t.token_spread {
                    if spread.len() != tokens.len() {
                        return Err(Error::InvalidInput(format!(
                            "{} has {} entries for {} tokens",
                            what("the token spread"),
                            spread.len(),
                            tokens.len()
                        )));
                    }
                    for (i, &s) in spread.iter().enumerate() {
                        finite(s, || format!("token {i}'s {}", what("spread")))?;
                    }
                }
                if let Some(sweep) = &t.layer_sweep {
                    check_sweep(sweep, tokens.len(), &what("the layer sweep"))?;
                }
                let word_attributions =
                    words.iter().map(|w| w.tokens.iter().map(|&i| t.tokens[i]).sum()).collect();
                Ok(TargetReport {
                    label: t.label.clone(),
                    label_index: t.label_index,
                    score: t.score,
                    attribution_total: t.tokens.iter().sum(),
                    token_attributions: t.tokens.clone(),
                    word_attributions,
                    token_spread: t.token_spread.clone(),
                    f_input: t.f_input,
                    f_baseline: t.f_baseline,
                    delta: t.delta,
                    steps: t.steps,
                    error_estimate: t.error_estimate,
                    layer_sweep: t.layer_sweep.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let truncated = encoding.truncated || prediction.truncated;
        let mut all_warnings = attribution.warnings.clone();
        if truncated && !all_warnings.iter().any(|w| w.contains("truncat")) {
            all_warnings.push(format!(
                "the text was truncated to the model's maximum length: only its first {} characters were \
                 seen and explained",
                words.last().map_or(0, |w| w.end)
            ));
        }
        all_warnings.extend(warnings);
        Ok(Explanation {
            id,
            text: text.to_owned(),
            truncated,
            predictions,
            tokens,
            words,
            targets,
            warnings: all_warnings,
            windows: None,
        })
    }

    /// The explanation with the windows it was computed from (a long text explained in
    /// windows); checks that their numbers are finite.
    pub fn with_windows(mut self, windows: LongTextReport) -> Result<Self> {
        for w in &windows.windows {
            for t in &w.targets {
                let what = |name: &str| format!("window {}'s {name} for label {:?}", w.index, t.label);
                for (name, value) in [
                    ("score", t.score),
                    ("attribution total", t.attribution_total),
                    ("F(x)", t.f_input),
                    ("F(x₀)", t.f_baseline),
                ] {
                    finite(value, || what(name))?;
                }
                if let Some(d) = t.delta {
                    finite(d, || what("delta"))?;
                }
            }
        }
        self.windows = Some(windows);
        Ok(self)
    }

    /// The prediction of label `index`, when present.
    pub fn prediction(&self, index: usize) -> Option<&LabelScore> {
        self.predictions.iter().find(|p| p.index == index)
    }
}

/// An error unless `value` is finite.
fn finite(value: f64, what: impl FnOnce() -> String) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "{} is {value}: the model or method produced a non-finite number, which a report cannot carry",
            what()
        )))
    }
}

fn check_sweep(sweep: &LayerSweep, tokens: usize, what: &str) -> Result<()> {
    let layers = sweep.layers.len();
    if sweep.scores.len() != tokens {
        return Err(Error::InvalidInput(format!(
            "{what} has {} rows for {tokens} tokens",
            sweep.scores.len()
        )));
    }
    if let Some(row) = sweep.scores.iter().position(|r| r.len() != layers) {
        return Err(Error::InvalidInput(format!(
            "{what}: row {row} has {} columns for {layers} layers",
            sweep.scores[row].len()
        )));
    }
    if sweep.deltas.len() != layers {
        return Err(Error::InvalidInput(format!(
            "{what} has {} deltas for {layers} layers",
            sweep.deltas.len()
        )));
    }
    for v in sweep.scores.iter().flatten().chain(&sweep.deltas) {
        finite(*v, || what.to_owned())?;
    }
    Ok(())
}

/// Maps byte offsets of `text` to character offsets.
struct CharIndex<'a> {
    text: &'a str,
    /// `starts[k]` = byte offset of character k; one extra entry `text.len()` at the end.
    starts: Vec<usize>,
}

impl<'a> CharIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
        starts.push(text.len());
        CharIndex { text, starts }
    }

    /// The character index of a byte offset on a character boundary (≤ `text.len()`).
    fn char_at(&self, byte: usize) -> usize {
        self.starts.partition_point(|&b| b < byte)
    }

    /// The largest character boundary ≤ `byte` (which must be ≤ `text.len()`).
    fn floor(&self, byte: usize) -> usize {
        let mut b = byte.min(self.text.len());
        while !self.text.is_char_boundary(b) {
            b -= 1;
        }
        b
    }

    /// The smallest character boundary ≥ `byte` (which must be ≤ `text.len()`).
    fn ceil(&self, byte: usize) -> usize {
        let mut b = byte.min(self.text.len());
        while !self.text.is_char_boundary(b) {
            b += 1;
        }
        b
    }
}

fn build_tokens(text: &str, encoding: &Encoding, warnings: &mut Vec<String>) -> Result<Vec<Token>> {
    let index = CharIndex::new(text);
    let mut widened = Vec::new();
    let tokens = (0..encoding.len())
        .map(|i| {
            let special = encoding.special[i];
            let (bs, be) = encoding.offsets[i];
            if bs > be || be > text.len() {
                return Err(Error::InvalidInput(format!(
                    "token {i} ({:?}) has byte offsets ({bs}, {be}) outside a text of {} bytes: the encoding \
                     is not of this text",
                    encoding.tokens[i],
                    text.len()
                )));
            }
            let (byte_start, byte_end) = (index.floor(bs), index.ceil(be));
            if !special && (byte_start, byte_end) != (bs, be) {
                widened.push(format!("{i} ({bs}, {be}) → ({byte_start}, {byte_end})"));
            }
            Ok(Token {
                index: i,
                id: encoding.ids[i],
                text: encoding.tokens[i].clone(),
                start: index.char_at(byte_start),
                end: index.char_at(byte_end),
                byte_start,
                byte_end,
                special,
                word: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if !widened.is_empty() {
        warnings.push(format!(
            "token offsets inside a multi-byte character were widened to whole characters: token {}",
            widened.join(", token ")
        ));
    }
    Ok(tokens)
}

fn build_words(text: &str, encoding: &Encoding, mut tokens: Vec<Token>) -> Result<(Vec<Token>, Vec<Word>)> {
    let mut words: Vec<Word> = Vec::new();
    // The (segment, word id) key of the word being built, or `None` for a word of tokens that
    // have no word id.
    let mut current: Option<Option<(i64, usize)>> = None;
    let mut previous_end = 0;
    for (i, token) in tokens.iter_mut().enumerate() {
        if token.special {
            current = None;
            continue;
        }
        let key = encoding.word_ids[i].map(|w| (encoding.type_ids[i], w));
        let joins = match (current, key) {
            (Some(Some(a)), Some(b)) => a == b,
            (Some(None), None) => previous_end == token.byte_start,
            _ => false,
        };
        let last = if joins { words.last_mut() } else { None };
        if let Some(word) = last {
            word.byte_start = word.byte_start.min(token.byte_start);
            word.byte_end = word.byte_end.max(token.byte_end);
            word.tokens.push(i);
        } else {
            words.push(Word {
                index: words.len(),
                text: String::new(),
                start: 0,
                end: 0,
                byte_start: token.byte_start,
                byte_end: token.byte_end,
                tokens: vec![i],
            });
        }
        current = Some(key);
        previous_end = token.byte_end;
        token.word = Some(words.len() - 1);
    }
    let index = CharIndex::new(text);
    for word in &mut words {
        // Bounds and boundaries were checked in `build_tokens`; `get` keeps this panic-free.
        word.text = text
            .get(word.byte_start..word.byte_end)
            .ok_or_else(|| {
                Error::Internal(format!(
                    "word span {}..{} is not on character boundaries",
                    word.byte_start, word.byte_end
                ))
            })?
            .to_owned();
        word.start = index.char_at(word.byte_start);
        word.end = index.char_at(word.byte_end);
    }
    Ok((tokens, words))
}
