//! The token-id baselines: pad, unk and mask.

#![allow(clippy::unwrap_used)]

mod common;

use common::Wrapped;
use explainer_baselines::{MaskBaseline, PadBaseline, UnkBaseline};
use explainer_core::{Baseline, Encoding, Error, ErrorKind, Model, Reference, SpecialTokens};
use explainer_testing::{DEFAULT_WORDS, TinyClassifier};
use proptest::prelude::*;

fn ids(baseline: &dyn Baseline, model: &dyn Model, input: &Encoding) -> Vec<i64> {
    let mut references = baseline.references(model, input).unwrap();
    assert_eq!(references.len(), 1);
    let reference = references.remove(0);
    reference.check_len(input.len()).unwrap();
    match reference {
        Reference::Ids(ids) => ids,
        Reference::Embeddings(_) => panic!("a token baseline gave embeddings"),
    }
}

#[test]
fn pad_unk_and_mask_replace_every_ordinary_token_and_keep_the_specials() {
    let model = TinyClassifier::default_multilabel();
    let input = model.encoder().encode("Your payment was refunded twice, xyzzy!").unwrap();
    assert_eq!(input.ids.first(), Some(&2));
    assert_eq!(input.ids.last(), Some(&3));
    let n = input.len();
    for (baseline, id) in [
        (&PadBaseline::new() as &dyn Baseline, 0),
        (&UnkBaseline::new() as &dyn Baseline, 1),
        (&MaskBaseline::new() as &dyn Baseline, 4),
    ] {
        let got = ids(baseline, &model, &input);
        // transformers-interpret: [cls] + [ref_token_id] * len(text_ids) + [sep].
        let mut expected = vec![2];
        expected.extend(std::iter::repeat_n(id, n - 2));
        expected.push(3);
        assert_eq!(got, expected, "{}", baseline.typetag_name());
    }
}

#[test]
fn specials_in_the_middle_stay_where_they_are() {
    // A sentence pair: [CLS] a b [SEP] c [SEP].
    let model = TinyClassifier::default_multilabel();
    let input = Encoding {
        ids: vec![2, 10, 11, 3, 12, 3],
        type_ids: vec![0, 0, 0, 0, 1, 1],
        tokens: ["[CLS]", "a", "b", "[SEP]", "c", "[SEP]"].iter().map(|s| s.to_string()).collect(),
        offsets: vec![(0, 0), (0, 1), (2, 3), (0, 0), (4, 5), (0, 0)],
        word_ids: vec![None, Some(0), Some(1), None, Some(2), None],
        special: vec![true, false, false, true, false, true],
        truncated: false,
    };
    assert_eq!(ids(&PadBaseline::new(), &model, &input), [2, 0, 0, 3, 0, 3]);
    assert_eq!(ids(&MaskBaseline::new(), &model, &input), [2, 4, 4, 3, 4, 3]);
}

#[test]
fn an_empty_text_keeps_only_its_specials() {
    let model = TinyClassifier::default_multilabel();
    let input = model.encoder().encode("").unwrap();
    assert_eq!(ids(&PadBaseline::new(), &model, &input), [2, 3]);
}

#[test]
fn a_vocabulary_without_the_token_is_a_clear_error() {
    let input = TinyClassifier::default_multilabel().encoder().encode("hello world").unwrap();
    let model = Wrapped::new("no-specials").with_specials(SpecialTokens {
        pad: None,
        unk: None,
        mask: None,
        cls: Some(2),
        sep: Some(3),
    });
    for (baseline, what) in [
        (&PadBaseline::new() as &dyn Baseline, "padding"),
        (&UnkBaseline::new() as &dyn Baseline, "unknown-word"),
        (&MaskBaseline::new() as &dyn Baseline, "mask"),
    ] {
        let err = baseline.references(&model, &input).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::User);
        let message = err.to_string();
        assert!(message.contains(&format!("has no {what} token")), "{message}");
        assert!(message.contains("\"no-specials\""), "{message}");
        assert!(message.contains(&format!("baseline {:?}", baseline.typetag_name())), "{message}");
    }
}

#[test]
fn a_malformed_encoding_is_refused() {
    let model = TinyClassifier::default_multilabel();
    let mut input = model.encoder().encode("hello world").unwrap();
    input.special.pop();
    let err = PadBaseline::new().references(&model, &input).unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
}

#[test]
fn configs_serialise_as_their_name_alone() {
    for (baseline, json) in [
        (Box::new(PadBaseline::new()) as Box<dyn Baseline>, r#"{"baseline":"pad"}"#),
        (Box::new(UnkBaseline::new()) as Box<dyn Baseline>, r#"{"baseline":"unk"}"#),
        (Box::new(MaskBaseline::new()) as Box<dyn Baseline>, r#"{"baseline":"mask"}"#),
    ] {
        assert_eq!(serde_json::to_string(&baseline).unwrap(), json);
        let back: Box<dyn Baseline> = serde_json::from_str(json).unwrap();
        assert_eq!(back.typetag_name(), baseline.typetag_name());
    }
}

proptest! {
    #[test]
    fn references_match_the_input_token_for_token(words in proptest::collection::vec(0usize..DEFAULT_WORDS.len() + 3, 0..40)) {
        let model = TinyClassifier::default_multilabel();
        // Indices past the word list become unknown words.
        let text: Vec<&str> = words.iter().map(|&i| DEFAULT_WORDS.get(i).copied().unwrap_or("qqq")).collect();
        let input = model.encoder().encode(&text.join(" ")).unwrap();
        for baseline in [&PadBaseline::new() as &dyn Baseline, &UnkBaseline::new(), &MaskBaseline::new()] {
            let got = ids(baseline, &model, &input);
            prop_assert_eq!(got.len(), input.len());
            for (i, (&g, &own)) in got.iter().zip(&input.ids).enumerate() {
                if input.special[i] {
                    prop_assert_eq!(g, own);
                } else {
                    prop_assert!(g == 0 || g == 1 || g == 4);
                }
            }
        }
    }
}
