//! Plausibility: how well an attribution agrees with ground-truth rationales (ERASER,
//! DeYoung et al. 2020; ferret's definitions where it has them).
//!
//! Every function takes the **non-special** tokens only (the caller drops `[CLS]`/`[SEP]`, as
//! ferret's `remove_first_last` does): `scores` the attributions, `truth` whether each token
//! is in the rationale.

/// The tokens a rationale covers: for each token, whether its byte span `[start, end)`
/// overlaps one of the rationale's spans. `char_spans` are `[start, end)` in characters
/// (Unicode scalar values) of `text`, as in the corpus files; `offsets` are the tokens' byte
/// offsets, `(0, 0)` for special tokens (never in a rationale).
pub fn rationale_tokens(text: &str, char_spans: &[(usize, usize)], offsets: &[(usize, usize)]) -> Vec<bool> {
    let byte_spans: Vec<(usize, usize)> =
        char_spans.iter().map(|&(s, e)| (char_to_byte(text, s), char_to_byte(text, e))).collect();
    offsets.iter().map(|&(s, e)| e > s && byte_spans.iter().any(|&(rs, re)| s < re && rs < e)).collect()
}

/// The contiguous runs of rationale tokens for each span separately (the ground-truth spans
/// IOU-F1 matches against), as token index ranges `[start, end)` into `offsets`.
pub fn rationale_token_spans(
    text: &str,
    char_spans: &[(usize, usize)],
    offsets: &[(usize, usize)],
) -> Vec<(usize, usize)> {
    char_spans
        .iter()
        .filter_map(|&span| {
            let mask = rationale_tokens(text, &[span], offsets);
            let first = mask.iter().position(|&m| m)?;
            let last = mask.iter().rposition(|&m| m)?;
            Some((first, last + 1))
        })
        .collect()
}

fn char_to_byte(text: &str, chars: usize) -> usize {
    text.char_indices().nth(chars).map_or(text.len(), |(b, _)| b)
}

/// The indices of the `k` highest scores, highest first, keeping only positive scores when
/// `only_positive` (ferret's `_get_id_tokens_top_k`). Ties go to the lower index (numpy's
/// argsort leaves their order unspecified). Empty when nothing qualifies.
pub fn top_k(scores: &[f64], k: usize, only_positive: bool) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order.truncate(k);
    if only_positive {
        order.retain(|&i| scores[i] > 0.0);
    }
    order
}

/// The top-`k` hard rationale as a mask (ferret's `get_discrete_explanation_topK`).
pub fn top_k_mask(scores: &[f64], k: usize, only_positive: bool) -> Vec<bool> {
    let mut mask = vec![false; scores.len()];
    for i in top_k(scores, k, only_positive) {
        mask[i] = true;
    }
    mask
}

/// Token F1 of the top-`k` tokens against the rationale (ferret's `token_f1_plau` for one
/// instance; ERASER's token-level F1): 0 when no token qualifies or the rationale is empty.
pub fn token_f1(scores: &[f64], truth: &[bool], k: usize, only_positive: bool) -> f64 {
    let predicted = top_k_mask(scores, k, only_positive);
    let tp = predicted.iter().zip(truth).filter(|(p, t)| **p && **t).count() as f64;
    let pred_pos = predicted.iter().filter(|p| **p).count() as f64;
    let pos = truth.iter().filter(|t| **t).count() as f64;
    if tp == 0.0 || pred_pos == 0.0 || pos == 0.0 {
        return 0.0;
    }
    let (p, r) = (tp / pred_pos, tp / pos);
    2.0 * p * r / (p + r)
}

/// Token IOU of the top-`k` tokens with the rationale (ferret's `token_iou_plau`): |∩| / |∪|
/// of the two token sets, 0 when no token qualifies.
pub fn token_iou(scores: &[f64], truth: &[bool], k: usize, only_positive: bool) -> f64 {
    let predicted = top_k(scores, k, only_positive);
    if predicted.is_empty() {
        return 0.0;
    }
    let mask = top_k_mask(scores, k, only_positive);
    let inter = mask.iter().zip(truth).filter(|(p, t)| **p && **t).count() as f64;
    let union = mask.iter().zip(truth).filter(|(p, t)| **p || **t).count() as f64;
    if union == 0.0 { 0.0 } else { inter / union }
}

/// The contiguous runs of `true` in a mask, as `[start, end)` ranges.
pub fn runs(mask: &[bool]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, &m) in mask.iter().enumerate() {
        match (m, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, mask.len()));
    }
    out
}

/// Token IOU of two spans `[start, end)` (a span with `end <= start` is empty, as Python's
/// `range` is).
fn span_iou(a: (usize, usize), b: (usize, usize)) -> f64 {
    let inter = a.1.min(b.1).saturating_sub(a.0.max(b.0)) as f64;
    let union = (a.1.saturating_sub(a.0) + b.1.saturating_sub(b.0)) as f64 - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// ERASER's IOU-F1 for one instance: the predicted spans are the contiguous runs of the
/// top-`k` tokens, scored by [`span_iou_f1`] against the ground-truth spans.
pub fn iou_f1(
    scores: &[f64],
    truth_spans: &[(usize, usize)],
    k: usize,
    only_positive: bool,
    threshold: f64,
) -> f64 {
    span_iou_f1(&runs(&top_k_mask(scores, k, only_positive)), truth_spans, threshold)
}

/// ERASER's IOU-F1 (`partial_match_score` of `rationale_benchmark/metrics.py`) for one
/// instance, given token spans `[start, end)`: a predicted span is a true positive when its
/// best token IOU with a ground-truth span is at least `threshold` (ERASER: 0.5); precision is
/// the true positives over the predicted spans, recall over the ground-truth spans, each side
/// counted as a set (a repeated span counts once), and the result their F1 (0 when either is 0).
///
/// One departure: ERASER's recall exceeds 1 when several predicted spans match one true span
/// (the count is of predicted spans), and its F1 then exceeds 1; here recall is capped at 1.
/// That needs a threshold below 0.5 or predicted spans that touch, so [`iou_f1`]'s runs at
/// ERASER's 0.5 never reach it (`tests/eraser_parity.rs`).
pub fn span_iou_f1(predicted: &[(usize, usize)], truth_spans: &[(usize, usize)], threshold: f64) -> f64 {
    let distinct = |spans: &[(usize, usize)]| {
        let mut v = spans.to_vec();
        v.sort_unstable();
        v.dedup();
        v
    };
    let (predicted, truth) = (distinct(predicted), distinct(truth_spans));
    if predicted.is_empty() || truth.is_empty() {
        return 0.0;
    }
    let best = |p: (usize, usize)| truth.iter().map(|&t| span_iou(p, t)).fold(0.0, f64::max);
    let hits = predicted.iter().filter(|&&p| best(p) >= threshold).count() as f64;
    let (p, r) = (hits / predicted.len() as f64, (hits / truth.len() as f64).min(1.0));
    if p == 0.0 || r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
}

/// The area under the precision–recall curve of the attributions as soft scores of the
/// rationale (ferret's `auprc_plau`: negative scores clipped to 0 when `only_positive`, then
/// scikit-learn's `precision_recall_curve` without dropped thresholds and `auc`'s trapezoid).
/// `None` when the rationale is empty (recall is undefined).
pub fn auprc(scores: &[f64], truth: &[bool], only_positive: bool) -> Option<f64> {
    let total_pos = truth.iter().filter(|t| **t).count();
    if total_pos == 0 {
        return None;
    }
    let soft: Vec<f64> =
        scores.iter().map(|&s| if only_positive && (s <= 0.0 || s.is_nan()) { 0.0 } else { s }).collect();
    let mut order: Vec<usize> = (0..soft.len()).collect();
    order.sort_by(|&a, &b| soft[b].total_cmp(&soft[a]));
    // One point per distinct threshold, highest first, then the (recall 0, precision 1) end.
    let mut points = vec![(0.0f64, 1.0f64)];
    let (mut tp, mut fp) = (0usize, 0usize);
    for (pos, &i) in order.iter().enumerate() {
        if truth[i] {
            tp += 1
        } else {
            fp += 1
        }
        let last_of_threshold = order.get(pos + 1).is_none_or(|&j| soft[j] != soft[i]);
        if last_of_threshold {
            points.push((tp as f64 / total_pos as f64, tp as f64 / (tp + fp) as f64));
        }
    }
    Some(points.windows(2).map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn char_spans_map_to_tokens_through_byte_offsets() {
        // "é" is two bytes: the span of "bad" in characters is [6, 9), in bytes [7, 10).
        let text = "héllo bad day";
        let offsets = [(0, 0), (0, 6), (7, 10), (11, 14), (0, 0)];
        assert_eq!(rationale_tokens(text, &[(6, 9)], &offsets), vec![false, false, true, false, false]);
        assert_eq!(rationale_token_spans(text, &[(6, 13)], &offsets), vec![(2, 4)]);
    }

    #[test]
    fn hand_computed_cases() {
        // scores: top-2 positive = tokens 1 and 3; truth = {1, 2}.
        let scores = [0.1, 0.9, -0.3, 0.5];
        let truth = [false, true, true, false];
        // tp 1, predicted 2, positive 2: P = R = 0.5, F1 = 0.5.
        assert_eq!(token_f1(&scores, &truth, 2, true), 0.5);
        // ∩ = {1}, ∪ = {1, 2, 3}.
        assert!((token_iou(&scores, &truth, 2, true) - 1.0 / 3.0).abs() < 1e-15);
        // Predicted spans [1,2), [3,4); truth span [1,3): IOU 1/2 and 0 → P = 1/2, R = 1, F1 = 2/3.
        assert!((iou_f1(&scores, &[(1, 3)], 2, true, 0.5) - 2.0 / 3.0).abs() < 1e-15);
        // Only negative scores: nothing qualifies.
        assert_eq!(token_f1(&[-1.0, -2.0], &[true, false], 2, true), 0.0);
        // AUPRC: clipped scores [0.1, 0.9, 0, 0.5]; order 1 (T), 3 (F), 0 (F), 2 (T):
        // points (0,1) (.5,1) (.5,.5) (.5,1/3) (1,.5): area .5·1 + .5·(1/3+.5)/2 = 0.7083…
        let a = auprc(&scores, &truth, true).unwrap();
        assert!((a - (0.5 + 0.5 * (1.0 / 3.0 + 0.5) / 2.0)).abs() < 1e-15, "{a}");
        assert_eq!(auprc(&scores, &[false; 4], true), None);
    }
}
