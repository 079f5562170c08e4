//! The random-tokens baseline.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;

use common::{Wrapped, corpus_file, missing_file};
use explainer_baselines::{RandomTokens, TokenSource};
use explainer_core::{Baseline, Encoding, Error, Model, Reference, registry};
use explainer_testing::TinyClassifier;

use explainer_baselines as _;

fn draws(baseline: &RandomTokens, model: &dyn Model, input: &Encoding) -> Vec<Vec<i64>> {
    let references = baseline.references(model, input).unwrap();
    assert_eq!(references.len(), baseline.draws);
    references
        .into_iter()
        .map(|r| {
            r.check_len(input.len()).unwrap();
            match r {
                Reference::Ids(ids) => ids,
                Reference::Embeddings(_) => panic!("random-tokens gave embeddings"),
            }
        })
        .collect()
}

const TEXT: &str = "please send the invoice to your bank account now";

#[test]
fn draws_replace_ordinary_tokens_by_ordinary_tokens() {
    let model = TinyClassifier::default_multilabel();
    let vocab = model.encoder().vocab_size() as i64;
    let input = model.encoder().encode(TEXT).unwrap();
    let all = draws(&RandomTokens::default(), &model, &input);
    assert_eq!(all.len(), 10);
    for ids in &all {
        for (i, &id) in ids.iter().enumerate() {
            if input.special[i] {
                assert_eq!(id, input.ids[i]);
            } else {
                assert!((5..vocab).contains(&id), "token {i} drew {id}");
            }
        }
    }
    // Ten draws of ten tokens from 59 words are not all alike.
    assert!(all.windows(2).any(|w| w[0] != w[1]));
}

#[test]
fn draws_are_uniform_over_the_ordinary_vocabulary() {
    let model = TinyClassifier::default_multilabel();
    let vocab = model.encoder().vocab_size();
    let input = model.encoder().encode(TEXT).unwrap();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for ids in draws(&RandomTokens::new(600, 3), &model, &input) {
        for (i, id) in ids.into_iter().enumerate() {
            if !input.special[i] {
                *counts.entry(id).or_default() += 1;
            }
        }
    }
    // 5400 draws (600 × 9 tokens) over 59 words: about 92 each.
    assert_eq!(counts.len(), vocab - 5);
    for (&id, &count) in &counts {
        assert!((50..160).contains(&count), "id {id} drawn {count} times");
    }
}

#[test]
fn draws_are_deterministic_given_the_seed() {
    let model = TinyClassifier::default_multilabel();
    let input = model.encoder().encode(TEXT).unwrap();
    let baseline = RandomTokens::new(5, 42);
    let first = draws(&baseline, &model, &input);
    // Other calls in between, and another instance of the model, change nothing.
    draws(&RandomTokens::new(7, 1), &model, &input);
    let other_model = TinyClassifier::default_multilabel();
    assert_eq!(draws(&baseline, &other_model, &input), first);
    let from_json: Box<dyn Baseline> =
        serde_json::from_str(r#"{"baseline":"random-tokens","draws":5,"seed":42}"#).unwrap();
    let again: Vec<Vec<i64>> = from_json
        .references(&model, &input)
        .unwrap()
        .into_iter()
        .map(|r| match r {
            Reference::Ids(ids) => ids,
            Reference::Embeddings(_) => unreachable!(),
        })
        .collect();
    assert_eq!(again, first);
    // More draws extend the same stream.
    assert_eq!(draws(&RandomTokens::new(8, 42), &model, &input)[..5], first[..]);
    // Another seed gives other draws.
    assert_ne!(draws(&RandomTokens::new(5, 43), &model, &input), first);
}

#[test]
fn markers_in_the_vocabulary_are_never_drawn() {
    // The vocabulary shows ids 5 and 6 as special markers although they are not declared.
    let model = Wrapped::new("markers").with_token(5, "[unused0]").with_token(6, "<extra_id_0>");
    let input = model.encoder().encode(TEXT).unwrap();
    for ids in draws(&RandomTokens::new(300, 9), &model, &input) {
        assert!(ids.iter().all(|&id| id != 5 && id != 6 && id != 0 && id != 1 && id != 4));
    }
}

#[test]
fn corpus_draws_follow_the_token_frequencies() {
    let model = TinyClassifier::default_multilabel();
    let vocabulary = model.encoder().encode("payment refund").unwrap().ids;
    let (payment, refund) = (vocabulary[1], vocabulary[2]);
    // [UNK] (xyzzy) and the special tokens are never drawn.
    let corpus = corpus_file("frequencies.txt", "payment payment\n\npayment refund xyzzy\n");
    let baseline = RandomTokens::from_corpus(400, 5, &corpus);
    let input = model.encoder().encode(TEXT).unwrap();
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for ids in draws(&baseline, &model, &input) {
        for (i, id) in ids.into_iter().enumerate() {
            if input.special[i] {
                assert_eq!(id, input.ids[i]);
            } else {
                *counts.entry(id).or_default() += 1;
            }
        }
    }
    assert_eq!(counts.len(), 2, "{counts:?}");
    let total: usize = counts.values().sum();
    assert_eq!(total, 400 * (input.len() - 2));
    let share = counts[&payment] as f64 / total as f64;
    assert!((0.70..0.80).contains(&share), "payment share {share}");
    assert!(counts[&refund] > 0);
    assert_eq!(draws(&baseline, &model, &input)[0], draws(&baseline, &model, &input)[0]);
}

#[test]
fn corpus_errors_name_the_file() {
    let model = TinyClassifier::default_multilabel();
    let input = model.encoder().encode(TEXT).unwrap();
    let missing = missing_file("no-such-frequencies.txt");
    let empty = corpus_file("frequencies-empty.txt", "\n\n");
    let unknown = corpus_file("frequencies-unknown.txt", "xyzzy plugh\n");
    for path in [&missing, &empty, &unknown] {
        let err = RandomTokens::from_corpus(3, 0, path).references(&model, &input).unwrap_err();
        match &err {
            Error::File { path: named, .. } => assert_eq!(named, path),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn zero_draws_is_an_invalid_config() {
    let model = TinyClassifier::default_multilabel();
    let input = model.encoder().encode(TEXT).unwrap();
    let err = RandomTokens::new(0, 0).references(&model, &input).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
    assert!(RandomTokens::new(0, 0).validate().is_err());
    assert!(RandomTokens::new(1, 0).validate().is_ok());

    let err =
        serde_json::from_str::<Box<dyn Baseline>>(r#"{"baseline":"random-tokens","draws":0}"#).unwrap_err();
    assert!(err.to_string().contains("draws must be at least 1"), "{err}");
    let err =
        registry::baseline("random-tokens").unwrap().configure(serde_json::json!({"draws": 0})).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err:?}");
}

#[test]
fn the_config_serialises_with_its_source() {
    let baseline: Box<dyn Baseline> = Box::new(RandomTokens::default());
    assert_eq!(
        serde_json::to_string(&baseline).unwrap(),
        r#"{"baseline":"random-tokens","draws":10,"seed":0,"source":"vocabulary"}"#
    );
    let baseline: Box<dyn Baseline> = Box::new(RandomTokens::from_corpus(3, 7, "texts.txt"));
    let json = serde_json::to_string(&baseline).unwrap();
    assert_eq!(json, r#"{"baseline":"random-tokens","draws":3,"seed":7,"source":{"corpus":"texts.txt"}}"#);
    let back: Box<dyn Baseline> = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);

    let configured = registry::baseline("random-tokens")
        .unwrap()
        .configure(serde_json::json!({"seed": 3, "source": {"corpus": "a.txt"}}))
        .unwrap();
    let value = serde_json::to_value(&configured).unwrap();
    assert_eq!(value["draws"], 10);
    assert_eq!(value["source"]["corpus"], "a.txt");
    assert_eq!(TokenSource::default(), TokenSource::Vocabulary);
    assert!(
        serde_json::from_str::<Box<dyn Baseline>>(r#"{"baseline":"random-tokens","source":"corpus"}"#)
            .is_err()
    );
}
