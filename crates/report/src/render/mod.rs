//! The renderers and what they share: number formatting, the diverging colour scale, rankings.

pub mod html;
pub mod markdown;
pub mod terminal;

use crate::schema::{Explanation, TargetReport};

/// Number of colour steps on each side of zero in the diverging scale.
pub(crate) const LEVELS: i32 = 10;

/// The "for" end of the diverging scale (green), as RGB.
const FOR_RGB: (f64, f64, f64) = (26.0, 152.0, 80.0);
/// The "against" end of the diverging scale (red), as RGB.
const AGAINST_RGB: (f64, f64, f64) = (215.0, 48.0, 39.0);

/// The colour step of `value` on a scale whose ends are ±`scale`: an integer in
/// `-LEVELS..=LEVELS`, negative for "against", 0 for (nearly) nothing or a zero scale.
pub(crate) fn level(value: f64, scale: f64) -> i32 {
    if scale.is_nan() || scale <= 0.0 || !value.is_finite() || !scale.is_finite() {
        return 0;
    }
    let t = (value / scale).clamp(-1.0, 1.0);
    // The cast is exact: |t · LEVELS| ≤ LEVELS after rounding.
    (t * f64::from(LEVELS)).round() as i32
}

/// The background colour of a colour step: white at 0, blending to green (positive) or red
/// (negative) at ±`LEVELS`.
pub(crate) fn level_rgb(level: i32) -> (u8, u8, u8) {
    let t = f64::from(level.unsigned_abs().min(LEVELS.unsigned_abs())) / f64::from(LEVELS);
    let end = if level >= 0 { FOR_RGB } else { AGAINST_RGB };
    let mix = |c: f64| (255.0 + (c - 255.0) * t).round().clamp(0.0, 255.0) as u8;
    (mix(end.0), mix(end.1), mix(end.2))
}

/// Whether text on the background of this step should be white (dark backgrounds).
pub(crate) fn level_dark(level: i32) -> bool {
    level.abs() >= 7
}

/// The largest |value| of a slice of finite values (0 when there is none).
pub(crate) fn max_abs(values: &[f64]) -> f64 {
    values.iter().filter(|v| v.is_finite()).fold(0.0_f64, |m, v| m.max(v.abs()))
}

/// A number for people: four significant digits, scientific notation for very small or
/// large magnitudes. The JSON keeps every digit; this is for reading.
pub(crate) fn num(x: f64) -> String {
    if x == 0.0 {
        return "0".to_owned();
    }
    if !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor();
    if !(-3.0..6.0).contains(&magnitude) {
        return format!("{x:.3e}");
    }
    // 4 significant digits: 3 − magnitude decimals (0 ≤ decimals ≤ 6 here).
    let decimals = (3.0 - magnitude).clamp(0.0, 6.0) as usize;
    format!("{x:.decimals$}")
}

/// [`num`] with an explicit sign (`+0.1234`, `−` written as ASCII `-`).
pub(crate) fn signed(x: f64) -> String {
    let s = num(x);
    if x > 0.0 { format!("+{s}") } else { s }
}

/// The words of an explanation ranked by one target's attribution: the `k` strongest "for"
/// (descending) and the `k` strongest "against" (most negative first), as word indices.
pub(crate) fn top_words(target: &TargetReport, k: usize) -> (Vec<usize>, Vec<usize>) {
    let scored: Vec<(usize, f64)> =
        target.word_attributions.iter().copied().enumerate().filter(|(_, a)| a.is_finite()).collect();
    let mut pos: Vec<(usize, f64)> = scored.iter().copied().filter(|&(_, a)| a > 0.0).collect();
    let mut neg: Vec<(usize, f64)> = scored.iter().copied().filter(|&(_, a)| a < 0.0).collect();
    pos.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    neg.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    (pos.into_iter().take(k).map(|p| p.0).collect(), neg.into_iter().take(k).map(|p| p.0).collect())
}

/// A piece of the original text, for renderers that walk it in order.
pub(crate) enum Piece<'a> {
    /// Text between (or around) words.
    Gap(&'a str),
    /// A word: its index in [`Explanation::words`] and its text.
    Word(usize, &'a str),
    /// Text after the last token that the model never saw (truncation).
    Unseen(&'a str),
}

/// Splits the original text into gaps and words, in order. Tolerates inconsistent documents
/// (overlapping or out-of-range word spans): whatever cannot be placed is shown as a gap.
pub(crate) fn pieces(explanation: &Explanation) -> Vec<Piece<'_>> {
    let text = explanation.text.as_str();
    let mut out = Vec::new();
    let mut cursor = 0;
    for (i, word) in explanation.words.iter().enumerate() {
        let (start, end) = (word.byte_start.max(cursor), word.byte_end);
        let (Some(gap), Some(body)) = (text.get(cursor..start), text.get(start..end.max(start))) else {
            continue;
        };
        if !gap.is_empty() {
            out.push(Piece::Gap(gap));
        }
        if !body.is_empty() {
            out.push(Piece::Word(i, body));
            cursor = end;
        } else {
            cursor = start;
        }
    }
    // The model saw text up to the end of its last non-special token.
    let seen_end =
        explanation.tokens.iter().filter(|t| !t.special).map(|t| t.byte_end).max().unwrap_or(0).max(cursor);
    let rest = text.get(cursor..).unwrap_or("");
    if explanation.truncated {
        let split = seen_end.saturating_sub(cursor).min(rest.len());
        if let (Some(tail_seen), Some(unseen)) = (rest.get(..split), rest.get(split..)) {
            if !tail_seen.is_empty() {
                out.push(Piece::Gap(tail_seen));
            }
            if !unseen.is_empty() {
                out.push(Piece::Unseen(unseen));
            }
            return out;
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Gap(rest));
    }
    out
}

/// Pretty JSON of a config value (never fails).
pub(crate) fn pretty_json(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
}

/// The method or baseline's registry name from its typetag config (`{"method": "…", …}`), or
/// the compact JSON when it has none.
pub(crate) fn config_name(value: &serde_json::Value, tag: &str) -> String {
    match value.get(tag).and_then(serde_json::Value::as_str) {
        Some(name) => name.to_owned(),
        None => match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

/// The problem type in words, for reports.
pub(crate) fn problem_name(p: explainer_core::ProblemType) -> &'static str {
    match p {
        explainer_core::ProblemType::MultiLabel => "multi-label classification",
        explainer_core::ProblemType::MultiClass => "multi-class classification",
        explainer_core::ProblemType::Regression => "regression",
    }
}

/// Plain-text lines that explain a long text's windows (escape them for each format): how
/// the document was formed from its windows, and which window drove each label's score.
pub(crate) fn window_lines(explanation: &Explanation) -> Vec<String> {
    let Some(w) = &explanation.windows else {
        return Vec::new();
    };
    let rule = match w.score_rule.as_str() {
        "max" => "the maximum over the windows (multi-label)",
        "mean" => "the mean of the windows' scores",
        other => other,
    };
    let mut lines = vec![format!(
        "long text: explained in {} overlapping windows of {} tokens (stride {}); a label's document score is {}; \
         a token's attribution is the mean over the windows that contain it; completeness holds per window",
        w.windows.len(),
        w.window_tokens,
        w.stride,
        rule
    )];
    for d in &w.drivers {
        let Some(win) = w.windows.get(d.window) else { continue };
        let target = win.targets.iter().find(|t| t.label_index == d.label_index);
        let detail = target.map_or(String::new(), |t| {
            let delta = t.delta.map_or("—".to_owned(), signed);
            format!(
                ": window score {}, F(x) − F(x₀) = {}, delta {delta}",
                num(t.score),
                signed(t.f_input - t.f_baseline)
            )
        });
        lines.push(format!(
            "{}: score driven by window {} (characters {}–{}){detail}",
            d.label,
            d.window + 1,
            win.start,
            win.end
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_symmetric_and_bounded() {
        assert_eq!(level(1.0, 1.0), LEVELS);
        assert_eq!(level(-5.0, 1.0), -LEVELS);
        assert_eq!(level(0.26, 1.0), 3);
        assert_eq!(level(-0.26, 1.0), -3);
        assert_eq!(level(1.0, 0.0), 0);
        assert_eq!(level(f64::NAN, 1.0), 0);
        assert_eq!(level_rgb(0), (255, 255, 255));
        assert_eq!(level_rgb(LEVELS), (26, 152, 80));
        assert_eq!(level_rgb(-LEVELS), (215, 48, 39));
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.123456), "0.1235");
        assert_eq!(num(12.3456), "12.35");
        assert_eq!(num(-0.0012346), "-0.001235");
        assert_eq!(num(1.5e-7), "1.500e-7");
        assert_eq!(signed(0.5), "+0.5000");
        assert_eq!(signed(-0.5), "-0.5000");
    }
}
