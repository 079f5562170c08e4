//! proptest strategies: cases (texts, references, positions) for any model, and random small
//! test models.

use explainer_core::{Model, ProblemType};
use explainer_testing::{TinyClassifier, TinyConfig};
use proptest::collection::vec;
use proptest::prelude::*;
use tch::Kind;

use crate::checks::Case;

/// The most non-special tokens a generated text has.
pub const MAX_BODY: usize = 8;

/// What a case may contain for one model: the ids that are not special tokens, and the
/// special tokens a text starts and ends with.
#[derive(Debug, Clone)]
struct Space {
    ordinary: Vec<i64>,
    cls: Option<i64>,
    sep: Option<i64>,
    max_body: usize,
}

impl Space {
    fn of(model: &dyn Model) -> Self {
        let encoder = model.encoder();
        let s = encoder.special_tokens().clone();
        let specials = [s.pad, s.unk, s.mask, s.cls, s.sep];
        let ordinary: Vec<i64> =
            (0..encoder.vocab_size() as i64).filter(|id| !specials.contains(&Some(*id))).collect();
        let room =
            encoder.max_len().saturating_sub(usize::from(s.cls.is_some()) + usize::from(s.sep.is_some()));
        Space { ordinary, cls: s.cls, sep: s.sep, max_body: room.clamp(2, MAX_BODY) }
    }

    fn text(&self, body: &[usize]) -> Vec<i64> {
        let mut ids = Vec::with_capacity(body.len() + 2);
        ids.extend(self.cls);
        ids.extend(body.iter().map(|&i| self.ordinary[i % self.ordinary.len()]));
        ids.extend(self.sep);
        ids
    }

    /// Position of body token `k` in the text.
    fn position(&self, k: usize) -> usize {
        k + usize::from(self.cls.is_some())
    }
}

/// Cases for `model`: 2 … 8 ordinary tokens between the model's `[CLS]`/`[SEP]` (when it has
/// them), two reference draws (special tokens kept), two positions after the first token, two
/// neighbour texts of other lengths, a replacement token and two linear-combination weights.
/// They shrink towards short texts and low ids.
pub fn cases(model: &dyn Model) -> impl Strategy<Value = Case> + use<> {
    let space = Space::of(model);
    let n = space.ordinary.len().max(1);
    let max_body = space.max_body;
    let text = move || (vec(0..n, 1..=max_body), vec(vec(0..n, max_body), 2));
    (
        vec(0..n, 2..=max_body),
        vec(vec(0..n, max_body), 2),
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        text(),
        text(),
        0..n,
        (-2.0f64..2.0, -2.0f64..2.0),
    )
        .prop_map(move |(body, refs, p, q, first, second, replacement, mix)| {
            let len = body.len();
            let with = |body: &[usize], refs: &[Vec<usize>]| -> (Vec<i64>, Vec<Vec<i64>>) {
                (space.text(body), refs.iter().map(|r| space.text(&r[..body.len()])).collect())
            };
            // Neighbours never have the case's length (so padding is exercised, and their
            // ids never equal the case's).
            let other_length = |(mut b, r): (Vec<usize>, Vec<Vec<usize>>)| {
                if b.len() == len {
                    if len > 1 {
                        b.pop();
                    } else {
                        b.push(0);
                    }
                }
                with(&b, &r)
            };
            let (ids, references) = with(&body, &refs);
            Case {
                ids,
                references,
                // Positions among body tokens 1..len (never the text's first token).
                position: space.position(1 + p.index(len - 1)),
                other: space.position(1 + q.index(len - 1)),
                neighbours: vec![other_length(first), other_length(second)],
                replacement: space.ordinary[replacement % space.ordinary.len()],
                mix,
            }
        })
}

/// Random small test models: the tiny classifier with a random seed, width, problem type
/// and with or without position embeddings, in f64 (`double`) or f32.
pub fn tiny_models(double: bool) -> impl Strategy<Value = TinyClassifier> {
    (any::<u64>(), prop::sample::select(vec![8usize, 12, 16]), any::<bool>(), any::<bool>()).prop_map(
        move |(seed, hidden, multiclass, positions)| {
            let config = TinyConfig {
                seed,
                hidden,
                inner: hidden + 4,
                positions,
                problem_type: if multiclass { ProblemType::MultiClass } else { ProblemType::MultiLabel },
                ..TinyConfig::default()
            };
            let model =
                TinyClassifier::new(config).unwrap_or_else(|e| unreachable!("a valid tiny config: {e}"));
            if double {
                model.to_kind(Kind::Double).unwrap_or_else(|e| unreachable!("f64 conversion: {e}"))
            } else {
                model
            }
        },
    )
}
