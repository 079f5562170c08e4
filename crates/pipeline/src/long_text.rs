//! Texts longer than the model's window: truncate them (the default, with a warning), or
//! explain overlapping windows and map the attributions back onto the whole document.
//!
//! `windows` tokenises the whole text ([`TextEncoder::encode_untruncated`]), and cuts its
//! tokens between the leading and trailing special tokens (`[CLS]` … `[SEP]`) into windows of
//! `max_len − specials` tokens whose starts are `stride` tokens apart (the last window is
//! aligned to the document's end, so every window is full and every token is in at least one).
//! Each window gets the special tokens again and is explained as a text of its own — all
//! windows in one method call, so their rows are packed together in the method's chunks.
//!
//! - **Attributions**: a document token's attribution is the **mean over the windows that
//!   contain it** (a special token: over all windows). Every window's attributions keep their
//!   own completeness (Σ = F(window) − F(baseline of the window) + the window's delta); the
//!   averaged document attributions carry no completeness of their own, so the document
//!   target's `delta` is `null` and each window's delta is in [`LongTextReport::windows`].
//! - **Document score**: multi-label — per label, the **maximum over the windows** (a flag is
//!   raised when any part of the text raises it); multi-class and regression — the **mean of
//!   the windows' probabilities** (outputs). The labels to explain are chosen by the target
//!   rule from these document scores; the window that drove each label's score (the one with
//!   the maximum, or the largest share of the mean) is named in the report.
//!   F(x) and F(x₀) of the document target follow the same rule over the windows.

use explainer_core::{
    Attribution, Encoding, Error, Prediction, ProblemType, Result, Target, TargetAttribution,
};
use explainer_report::{Explanation, LongTextReport, WindowDriver, WindowReport, WindowTarget};
use serde::{Deserialize, Serialize};

use crate::Setup;

/// How a text longer than the model's window is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LongTextMode {
    /// Cut the text at the model's maximum length (the rest is not seen; a warning says so).
    #[default]
    Truncate,
    /// Explain overlapping windows of the model's length and map them back (module docs).
    Windows,
}

/// The long-text setting: the mode and, for windows, the step between window starts. In a
/// spec file's entry point: `long_text: {mode: windows, stride: 64}` (absent: truncate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongText {
    /// Truncate or windows.
    #[serde(default)]
    pub mode: LongTextMode,
    /// Tokens between the starts of consecutive windows (consecutive windows overlap by the
    /// window's text tokens minus this); `None`: half a window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stride: Option<usize>,
}

impl LongText {
    /// Windows with the given stride (`None`: half a window).
    pub fn windows(stride: Option<usize>) -> LongText {
        LongText { mode: LongTextMode::Windows, stride }
    }

    /// Checks what can be checked before the first text: a stride is at least 1 and needs the
    /// windows mode. (Whether it fits the model's window is checked on a long text.)
    pub fn validate(&self) -> Result<()> {
        match (self.mode, self.stride) {
            (_, Some(0)) => Err(Error::InvalidConfig(
                "the long-text stride must be at least 1 token (it is the step between window starts)".into(),
            )),
            (LongTextMode::Truncate, Some(_)) => Err(Error::InvalidConfig(
                "a long-text stride sets the step between windows: it needs the windows mode, not truncate"
                    .into(),
            )),
            _ => Ok(()),
        }
    }
}

/// A text explained: the attribution and prediction a report is built from, and the windows
/// when the text was explained in windows.
#[derive(Debug, Clone)]
pub struct Explained {
    /// The attribution over the whole (or truncated) text.
    pub attribution: Attribution,
    /// The model's output on the text (for windows: the document scores).
    pub prediction: Prediction,
    /// The windows, when the text needed more than one.
    pub windows: Option<LongTextReport>,
}

impl Explained {
    /// The report of this text.
    pub fn explanation(&self, id: Option<String>, text: &str) -> Result<Explanation> {
        let explanation = Explanation::new(id, text, &self.prediction, &self.attribution)?;
        Ok(match &self.windows {
            Some(w) => explanation.with_windows(w.clone())?,
            None => explanation,
        })
    }
}

/// One window: the document tokens `[start, end)` between the special tokens it repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First document token of the window (after the leading special tokens).
    pub start: usize,
    /// One past its last document token.
    pub end: usize,
}

/// The windows over an encoding with `prefix` leading and `suffix` trailing special tokens:
/// `body` = tokens per window between them, starts `stride` apart, the last one aligned to
/// the end. Errors when `stride` is 0 or larger than `body` (tokens would be skipped).
pub fn spans(len: usize, prefix: usize, suffix: usize, body: usize, stride: usize) -> Result<Vec<Span>> {
    if body == 0 {
        return Err(Error::InvalidConfig("the model's window has no room for text tokens".into()));
    }
    if stride == 0 || stride > body {
        return Err(Error::InvalidConfig(format!(
            "--stride must be between 1 and the window's {body} text tokens, got {stride} (a larger stride would skip tokens)"
        )));
    }
    let last = len.saturating_sub(suffix);
    if last <= prefix + body {
        return Ok(vec![Span { start: prefix, end: last }]);
    }
    let mut out = Vec::new();
    let mut start = prefix;
    while start + body < last {
        out.push(Span { start, end: start + body });
        start += stride;
    }
    out.push(Span { start: last - body, end: last });
    Ok(out)
}

/// Leading and trailing special tokens of an encoding.
fn special_ends(e: &Encoding) -> (usize, usize) {
    let prefix = e.special.iter().take_while(|&&s| s).count();
    let suffix = if prefix == e.len() { 0 } else { e.special.iter().rev().take_while(|&&s| s).count() };
    (prefix, suffix)
}

/// The encoding of one window: the document's special ends around its tokens `span`.
fn window_encoding(doc: &Encoding, prefix: usize, suffix: usize, span: Span) -> Encoding {
    let picks: Vec<usize> =
        (0..prefix).chain(span.start..span.end).chain(doc.len() - suffix..doc.len()).collect();
    Encoding {
        ids: picks.iter().map(|&i| doc.ids[i]).collect(),
        type_ids: picks.iter().map(|&i| doc.type_ids[i]).collect(),
        tokens: picks.iter().map(|&i| doc.tokens[i].clone()).collect(),
        offsets: picks.iter().map(|&i| doc.offsets[i]).collect(),
        word_ids: picks.iter().map(|&i| doc.word_ids[i]).collect(),
        special: picks.iter().map(|&i| doc.special[i]).collect(),
        truncated: false,
    }
}

/// Explains one text with `setup`, truncating or in windows as `long_text` says. A text that
/// fits the model is explained as a whole either way (no windows in the result).
pub fn explain_text(setup: &Setup, text: &str, long_text: &LongText) -> Result<Explained> {
    explain_text_for(setup, text, long_text, &setup.target)
}

/// [`explain_text`] for another target rule than the set-up's (a named class, every label).
pub fn explain_text_for(
    setup: &Setup,
    text: &str,
    long_text: &LongText,
    target: &Target,
) -> Result<Explained> {
    long_text.validate()?;
    let model = setup.model.as_ref();
    let encoding = model.encoder().encode(text)?;
    if long_text.mode == LongTextMode::Truncate || !encoding.truncated {
        return explain_whole(setup, encoding, target);
    }
    let doc = model.encoder().encode_untruncated(text)?;
    explain_windows_for(setup, text, doc, long_text.stride, target)
}

/// The ordinary path: one encoding, one attribution, its prediction.
fn explain_whole(setup: &Setup, encoding: Encoding, target: &Target) -> Result<Explained> {
    let attribution = setup
        .explain_for(std::slice::from_ref(&encoding), target)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("the method returned no attribution".into()))?;
    let prediction = setup
        .model
        .predictions(&[&attribution.encoding])?
        .pop()
        .ok_or_else(|| Error::Internal("no prediction".into()))?;
    Ok(Explained { attribution, prediction, windows: None })
}

/// Windows over a whole-text encoding `doc` (module docs).
pub fn explain_windows(setup: &Setup, text: &str, doc: Encoding, stride: Option<usize>) -> Result<Explained> {
    explain_windows_for(setup, text, doc, stride, &setup.target)
}

/// [`explain_windows`] for another target rule than the set-up's.
pub fn explain_windows_for(
    setup: &Setup,
    text: &str,
    doc: Encoding,
    stride: Option<usize>,
    target: &Target,
) -> Result<Explained> {
    let model = setup.model.as_ref();
    let info = model.info();
    let max_len = model.encoder().max_len();
    if doc.truncated {
        return Err(Error::InvalidInput(format!(
            "--long-text windows needs the whole text's tokens, but the model {:?}'s tokenizer truncates every \
             text to {max_len} tokens; use --long-text truncate with this model",
            info.name
        )));
    }
    doc.validate()?;
    let (prefix, suffix) = special_ends(&doc);
    let body = max_len.saturating_sub(prefix + suffix);
    let stride = stride.unwrap_or((body / 2).max(1));
    let spans = spans(doc.len(), prefix, suffix, body, stride)?;
    let windows: Vec<Encoding> = spans.iter().map(|&s| window_encoding(&doc, prefix, suffix, s)).collect();

    // Document scores from one forward over every window, then the labels to explain.
    let refs: Vec<&Encoding> = windows.iter().collect();
    let predictions = model.predictions(&refs)?;
    let n = windows.len() as f64;
    let labels = info.labels.len();
    let multi_label = info.problem == ProblemType::MultiLabel;
    let mut scores = vec![0.0; labels];
    let mut logits = vec![0.0; labels];
    let mut drivers = vec![0usize; labels];
    for l in 0..labels {
        let column: Vec<f64> = predictions.iter().map(|p| p.scores[l]).collect();
        let best = argmax(&column);
        drivers[l] = best;
        if multi_label {
            scores[l] = column[best];
            logits[l] = predictions[best].logits[l];
        } else {
            scores[l] = column.iter().sum::<f64>() / n;
            logits[l] = match info.problem {
                // softmax(ln p̄) = p̄: logits whose output function gives the document scores.
                ProblemType::MultiClass => scores[l].max(f64::MIN_POSITIVE).ln(),
                _ => scores[l],
            };
        }
    }
    let indices = target.resolve(info, &scores)?;
    let chosen = Target::Indices { indices: indices.clone() };
    let attributions = setup.explain_for(&windows, &chosen)?;
    if attributions.len() != windows.len() || attributions.iter().any(|a| a.targets.len() != indices.len()) {
        return Err(Error::Internal("the method returned the wrong number of window attributions".into()));
    }

    // Map back: mean over the windows that hold each document token.
    let mut cover = vec![0usize; doc.len()];
    let positions: Vec<Vec<usize>> = spans
        .iter()
        .map(|s| (0..prefix).chain(s.start..s.end).chain(doc.len() - suffix..doc.len()).collect())
        .collect();
    for p in &positions {
        for &i in p {
            cover[i] += 1;
        }
    }
    let mut targets = Vec::with_capacity(indices.len());
    for (t, &label) in indices.iter().enumerate() {
        let mean_over = |f: &dyn Fn(&TargetAttribution) -> Vec<f64>| -> Vec<f64> {
            let mut sum = vec![0.0; doc.len()];
            for (a, p) in attributions.iter().zip(&positions) {
                for (&i, v) in p.iter().zip(f(&a.targets[t])) {
                    sum[i] += v;
                }
            }
            sum.iter().zip(&cover).map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 }).collect()
        };
        let per_window: Vec<&TargetAttribution> = attributions.iter().map(|a| &a.targets[t]).collect();
        let tokens = mean_over(&|ta| ta.tokens.clone());
        let token_spread = per_window
            .iter()
            .all(|ta| ta.token_spread.is_some())
            .then(|| mean_over(&|ta| ta.token_spread.clone().unwrap_or_default()));
        let aggregate = |f: &dyn Fn(&TargetAttribution) -> f64| -> f64 {
            if multi_label {
                f(per_window[drivers[label]])
            } else {
                per_window.iter().map(|ta| f(ta)).sum::<f64>() / n
            }
        };
        targets.push(TargetAttribution {
            label_index: label,
            label: info.labels[label].clone(),
            score: scores[label],
            tokens,
            token_spread,
            per_dimension: None,
            f_input: aggregate(&|ta| ta.f_input),
            f_baseline: aggregate(&|ta| ta.f_baseline),
            delta: None,
            steps: per_window.first().and_then(|ta| ta.steps),
            error_estimate: per_window.iter().filter_map(|ta| ta.error_estimate).reduce(f64::max),
            layer_sweep: None,
        });
    }

    let char_at = |byte: usize| text.get(..byte).map_or(0, |s| s.chars().count());
    let window_reports: Vec<WindowReport> = spans
        .iter()
        .zip(&attributions)
        .zip(&predictions)
        .enumerate()
        .map(|(w, ((span, a), p))| {
            let (byte_start, byte_end) = text_bytes(&doc, *span);
            WindowReport {
                index: w,
                token_start: span.start,
                token_end: span.end,
                start: char_at(byte_start),
                end: char_at(byte_end),
                byte_start,
                byte_end,
                targets: a
                    .targets
                    .iter()
                    .map(|ta| WindowTarget {
                        label: ta.label.clone(),
                        label_index: ta.label_index,
                        score: p.scores[ta.label_index],
                        attribution_total: ta.total(),
                        f_input: ta.f_input,
                        f_baseline: ta.f_baseline,
                        delta: ta.delta,
                    })
                    .collect(),
            }
        })
        .collect();
    let report = LongTextReport {
        window_tokens: max_len,
        stride,
        score_rule: if multi_label { "max".into() } else { "mean".into() },
        windows: window_reports,
        drivers: indices
            .iter()
            .map(|&l| WindowDriver { label: info.labels[l].clone(), label_index: l, window: drivers[l] })
            .collect(),
    };
    let mut warnings: Vec<String> = Vec::new();
    for a in &attributions {
        for w in &a.warnings {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
    }
    let first = &attributions[0];
    let attribution = Attribution {
        method: first.method.clone(),
        baseline: first.baseline.clone(),
        layer: first.layer.clone(),
        output: first.output,
        encoding: doc,
        targets,
        warnings,
    };
    let prediction = Prediction { labels: info.labels.clone(), logits, scores, truncated: false };
    Ok(Explained { attribution, prediction, windows: Some(report) })
}

/// The byte span of the text a window's tokens cover.
fn text_bytes(doc: &Encoding, span: Span) -> (usize, usize) {
    let covered: Vec<(usize, usize)> =
        (span.start..span.end).filter(|&i| !doc.special[i]).map(|i| doc.offsets[i]).collect();
    let start = covered.iter().map(|o| o.0).min().unwrap_or(0);
    let end = covered.iter().map(|o| o.1).max().unwrap_or(0);
    (start, end)
}

/// Index of the largest value (the first of equal ones); 0 for an empty slice.
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_cover_every_token_with_full_windows() {
        // 2 specials + 23 text tokens, windows of 8 text tokens, stride 5.
        let s = spans(25, 1, 1, 8, 5).unwrap();
        assert_eq!(
            s,
            vec![
                Span { start: 1, end: 9 },
                Span { start: 6, end: 14 },
                Span { start: 11, end: 19 },
                Span { start: 16, end: 24 }
            ]
        );
        for len in 2..60 {
            for stride in 1..=8 {
                let s = spans(len, 1, 1, 8, stride).unwrap();
                let mut seen = vec![0; len];
                for w in &s {
                    assert!(w.end - w.start <= 8);
                    for c in &mut seen[w.start..w.end] {
                        *c += 1;
                    }
                }
                assert!(seen[1..len - 1].iter().all(|&c| c > 0), "len {len} stride {stride}");
                if len - 2 > 8 {
                    assert!(s.iter().all(|w| w.end - w.start == 8));
                }
            }
        }
    }

    #[test]
    fn a_stride_that_skips_tokens_is_refused() {
        assert!(spans(40, 1, 1, 8, 9).is_err());
        assert!(spans(40, 1, 1, 8, 0).is_err());
        assert!(spans(40, 1, 1, 0, 1).is_err());
    }
}
