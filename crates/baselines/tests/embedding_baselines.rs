//! The embedding baselines: zero and average-embedding.

#![allow(clippy::unwrap_used)]

mod common;

use approx::assert_abs_diff_eq;
use common::{Wrapped, corpus_file, embedding_table, missing_file, rows};
use explainer_baselines::{AverageEmbedding, ZeroEmbedding, corpus_hash};
use explainer_core::{
    Baseline, Capabilities, Capability, DefaultOps, Encoding, Error, ErrorKind, Hooks, InputBatch, Model,
    Reference, layer_names,
};
use explainer_testing::{DEFAULT_WORDS, TinyClassifier};
use tch::{Kind, Tensor};

fn embeddings(baseline: &dyn Baseline, model: &dyn Model, input: &Encoding) -> Tensor {
    let mut references = baseline.references(model, input).unwrap();
    assert_eq!(references.len(), 1);
    let reference = references.remove(0);
    reference.check_len(input.len()).unwrap();
    match reference {
        Reference::Embeddings(t) => t,
        Reference::Ids(_) => panic!("an embedding baseline gave ids"),
    }
}

fn hidden() -> usize {
    TinyClassifier::default_multilabel().info().hidden_size
}

#[test]
fn zero_keeps_the_special_embeddings_and_zeroes_the_rest() {
    let model = TinyClassifier::default_multilabel();
    let table = embedding_table(&model);
    let input = model.encoder().encode("please verify your account now").unwrap();
    let reference = embeddings(&ZeroEmbedding::new(), &model, &input);
    assert_eq!(reference.size(), [input.len() as i64, hidden() as i64]);
    assert_eq!(reference.kind(), Kind::Float);
    assert!(!reference.requires_grad());
    for (i, row) in rows(&reference).iter().enumerate() {
        if input.special[i] {
            assert_eq!(row, &table[input.ids[i] as usize], "token {i}");
        } else {
            assert!(row.iter().all(|&v| v == 0.0), "token {i}: {row:?}");
        }
    }
}

#[test]
fn zero_without_keep_special_is_all_zeros_and_runs_nothing() {
    let model = Wrapped::new("zero-all");
    let input = model.encoder().encode("hello world").unwrap();
    let reference = embeddings(&ZeroEmbedding::with_keep_special(false), &model, &input);
    assert_eq!(reference.size(), [4, hidden() as i64]);
    assert_eq!(reference.abs().sum(Kind::Double).double_value(&[]), 0.0);
    assert_eq!(model.forwards.get(), 0);
    let json =
        serde_json::to_string(&(Box::new(ZeroEmbedding::with_keep_special(false)) as Box<dyn Baseline>))
            .unwrap();
    assert_eq!(json, r#"{"baseline":"zero","keep_special":false}"#);
    let default: Box<dyn Baseline> = serde_json::from_str(r#"{"baseline":"zero"}"#).unwrap();
    assert_eq!(serde_json::to_string(&default).unwrap(), r#"{"baseline":"zero","keep_special":true}"#);
}

#[test]
fn embedding_references_follow_the_models_kind() {
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let table = embedding_table(&model);
    let input = model.encoder().encode("free prize").unwrap();
    let reference = embeddings(&ZeroEmbedding::new(), &model, &input);
    assert_eq!(reference.kind(), Kind::Double);
    assert_eq!(rows(&reference)[0], table[2]);

    let corpus = corpus_file("kind.txt", "free prize\nwire money now\n");
    let reference = embeddings(&AverageEmbedding::new(&corpus), &model, &input);
    assert_eq!(reference.kind(), Kind::Double);
}

#[test]
fn a_zero_reference_replaces_the_word_embeddings() {
    // What a method does with it: feed it at embeddings.word, batch of one.
    let model = TinyClassifier::default_multilabel();
    let input = model.encoder().encode("click the link").unwrap();
    let reference = embeddings(&ZeroEmbedding::new(), &model, &input);
    let mut hooks = Hooks::new();
    hooks.replace_with(layer_names::WORD_EMBEDDINGS, reference.unsqueeze(0));
    let batch = InputBatch::single(&input, model.device()).unwrap();
    let logits = tch::no_grad(|| model.run(&batch, Some(&mut hooks), &DefaultOps)).unwrap();
    assert_eq!(logits.size(), [1, model.info().labels.len() as i64]);
    assert_eq!(hooks.visits(layer_names::WORD_EMBEDDINGS), 1);
}

#[test]
fn embedding_baselines_need_layer_hooks() {
    let needs = Capabilities::of(&[Capability::LayerHooks]);
    assert_eq!(ZeroEmbedding::new().requires(), needs);
    assert_eq!(AverageEmbedding::new("x.txt").requires(), needs);
    let model =
        TinyClassifier::default_multilabel().with_capabilities(Capabilities::of(&[Capability::Forward]));
    let input = model.encoder().encode("hello").unwrap();
    let corpus = corpus_file("hooks.txt", "hello world\n");
    for baseline in [&ZeroEmbedding::new() as &dyn Baseline, &AverageEmbedding::new(&corpus)] {
        let err = baseline.references(&model, &input).unwrap_err();
        match &err {
            Error::MissingCapability { consumer, capability: Capability::LayerHooks, .. } => {
                assert!(consumer.contains(baseline.typetag_name()), "{err}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The mean over the non-special tokens of every non-blank line, from the embedding table.
fn hand_mean(model: &TinyClassifier, text: &str) -> Vec<f64> {
    let table = embedding_table(model);
    let mut sum = vec![0.0; table[0].len()];
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let e = model.encoder().encode(line).unwrap();
        for (&id, &special) in e.ids.iter().zip(&e.special) {
            if !special {
                for (s, v) in sum.iter_mut().zip(&table[id as usize]) {
                    *s += v;
                }
                count += 1;
            }
        }
    }
    sum.iter().map(|s| s / count as f64).collect()
}

#[test]
fn the_average_embedding_is_the_corpus_mean_with_specials_kept() {
    let model = TinyClassifier::default_multilabel();
    let table = embedding_table(&model);
    // Blank and whitespace-only lines are skipped; unknown words count (as [UNK]).
    let text = "Your payment was refunded twice.\n\n   \nclick this link now\nhello xyzzy world\n";
    let corpus = corpus_file("average.txt", text);
    let expected = hand_mean(&model, text);

    let mean = AverageEmbedding::new(&corpus).corpus_mean(&model).unwrap();
    assert_eq!(mean.texts, 3);
    assert_eq!(mean.tokens, 6 + 4 + 3);
    assert_eq!(mean.corpus_hash, corpus_hash(&corpus).unwrap());
    for (a, b) in mean.mean.iter().zip(&expected) {
        assert_abs_diff_eq!(*a, *b, epsilon = 1e-12);
    }

    let input = model.encoder().encode("send money immediately").unwrap();
    let reference = embeddings(&AverageEmbedding::new(&corpus), &model, &input);
    assert_eq!(reference.size(), [5, hidden() as i64]);
    assert_eq!(reference.kind(), Kind::Float);
    for (i, row) in rows(&reference).iter().enumerate() {
        let want = if input.special[i] { &table[input.ids[i] as usize] } else { &expected };
        for (a, b) in row.iter().zip(want) {
            assert_abs_diff_eq!(*a, *b, epsilon = 1e-6);
        }
    }

    // Without keep_special every row is the mean.
    let reference = embeddings(&AverageEmbedding::new(&corpus).with_keep_special(false), &model, &input);
    for row in rows(&reference) {
        for (a, b) in row.iter().zip(&expected) {
            assert_abs_diff_eq!(*a, *b, epsilon = 1e-6);
        }
    }
}

#[test]
fn a_corpus_longer_than_one_batch_is_padded_without_changing_the_mean() {
    let model = TinyClassifier::default_multilabel();
    // 75 lines of 1 to 12 words: three batches, every one padded.
    let text: String = (0..75)
        .map(|i| {
            let n = 1 + (i * 7) % 12;
            let words: Vec<&str> =
                (0..n).map(|j| DEFAULT_WORDS[(i * 13 + j * 5) % DEFAULT_WORDS.len()]).collect();
            words.join(" ") + "\n"
        })
        .collect();
    let corpus = corpus_file("batches.txt", &text);
    let mean = AverageEmbedding::new(&corpus).corpus_mean(&model).unwrap();
    assert_eq!(mean.texts, 75);
    for (a, b) in mean.mean.iter().zip(hand_mean(&model, &text)) {
        assert_abs_diff_eq!(*a, b, epsilon = 1e-12);
    }
}

#[test]
fn the_corpus_mean_is_computed_once_per_corpus_and_model() {
    let model = Wrapped::new("cache-counting");
    let text = "the invoice is attached\nplease review the report\n";
    let corpus = corpus_file("cache.txt", text);
    let baseline = AverageEmbedding::new(&corpus);
    let input = model.encoder().encode("thanks").unwrap();

    let first = embeddings(&baseline, &model, &input);
    // One batch for the corpus, one pass for the input's special embeddings.
    assert_eq!(model.forwards.get(), 2);
    assert!(AverageEmbedding::cache_len() >= 1);

    let second = embeddings(&baseline, &model, &input);
    assert_eq!(model.forwards.get(), 3, "the second call re-ran the corpus");
    assert!(first.equal(&second));
    baseline.corpus_mean(&model).unwrap();
    assert_eq!(model.forwards.get(), 3);

    // The same config deserialised elsewhere hits the same cache.
    let json = serde_json::json!({"baseline": "average-embedding", "corpus": corpus});
    let again: Box<dyn Baseline> = serde_json::from_value(json).unwrap();
    again.references(&model, &input).unwrap();
    assert_eq!(model.forwards.get(), 4);

    // Another model name is another entry.
    let other = Wrapped::new("cache-counting-2");
    baseline.corpus_mean(&other).unwrap();
    assert_eq!(other.forwards.get(), 1);

    // Editing the file changes its hash, so the mean is recomputed.
    let before = corpus_hash(&corpus).unwrap();
    std::fs::write(&corpus, format!("{text}great job\n")).unwrap();
    assert_ne!(corpus_hash(&corpus).unwrap(), before);
    let mean = baseline.corpus_mean(&model).unwrap();
    assert_eq!(model.forwards.get(), 5);
    assert_eq!(mean.texts, 3);
}

#[test]
fn the_corpus_hash_is_the_sha256_of_the_bytes() {
    let corpus = corpus_file("hash.txt", "hello world\n");
    let hash = AverageEmbedding::corpus_hash(&corpus).unwrap();
    assert_eq!(hash, "a948904f2f0f479b8f8197694b30184b0d2ed1c1cd2a1ec0fb85d299a192a447");
    assert_eq!(corpus_hash(&corpus).unwrap(), hash);
}

#[test]
fn a_missing_or_empty_corpus_is_a_file_error_naming_it() {
    let model = TinyClassifier::default_multilabel();
    let input = model.encoder().encode("hello").unwrap();
    let missing = missing_file("no-such-corpus.txt");
    let empty = corpus_file("empty.txt", "");
    let blank = corpus_file("blank.txt", "\n   \n\t\n");
    for path in [&missing, &empty, &blank] {
        let err = AverageEmbedding::new(path).references(&model, &input).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::User);
        match &err {
            Error::File { path: named, .. } => assert_eq!(named, path),
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    }
    let err = AverageEmbedding::new(&empty).references(&model, &input).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    let err = AverageEmbedding::corpus_hash(&missing).unwrap_err();
    assert!(matches!(err, Error::File { .. }), "{err:?}");

    let binary = corpus_file("binary.txt", "");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let err = AverageEmbedding::new(&binary).references(&model, &input).unwrap_err();
    assert!(matches!(err, Error::File { .. }) && err.to_string().contains("UTF-8"), "{err}");
}

#[test]
fn the_average_embedding_config_round_trips_and_needs_a_corpus() {
    let baseline: Box<dyn Baseline> = Box::new(AverageEmbedding::new("texts/corpus.txt"));
    let json = serde_json::to_string(&baseline).unwrap();
    assert_eq!(json, r#"{"baseline":"average-embedding","corpus":"texts/corpus.txt","keep_special":true}"#);
    let back: Box<dyn Baseline> =
        serde_json::from_str(r#"{"baseline":"average-embedding","corpus":"texts/corpus.txt"}"#).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    let err = serde_json::from_str::<Box<dyn Baseline>>(r#"{"baseline":"average-embedding"}"#).unwrap_err();
    assert!(err.to_string().contains("corpus"), "{err}");
}
