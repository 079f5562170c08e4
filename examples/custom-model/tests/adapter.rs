//! The custom model honours the adapter contract: hooks reach every declared layer, padding
//! changes nothing, and gradients flow to the word embeddings.

#![allow(clippy::unwrap_used)] // test helpers may panic

use explainer_core::{DefaultOps, Hooks, InputBatch, Model};
use explainer_example_custom_model::BagOfGatedWords;
use tch::Kind;

fn model() -> BagOfGatedWords {
    BagOfGatedWords::new(&["wire", "money", "now", "hello", "world"], &["fraud", "spam", "other"], 8, 3)
        .unwrap()
}

#[test]
fn every_declared_layer_is_reached_once() {
    let model = model();
    let e = model.encoder().encode("wire money now").unwrap();
    let input = InputBatch::single(&e, model.device()).unwrap();
    let mut hooks = Hooks::new();
    for layer in &model.info().layers {
        hooks.read(&layer.name);
    }
    let _ = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps)).unwrap();
    for layer in &model.info().layers {
        assert_eq!(hooks.visits(&layer.name), 1, "{}", layer.name);
    }
}

#[test]
fn padding_changes_nothing() {
    let model = model();
    let a = model.encoder().encode("hello").unwrap();
    let b = model.encoder().encode("hello world wire money now").unwrap();
    let alone = model.logits(&[&a]).unwrap();
    let padded = model.logits(&[&b, &a]).unwrap();
    assert!(alone.get(0).allclose(&padded.get(1), 1e-6, 1e-6, false));
}

#[test]
fn gradients_reach_the_word_embeddings_and_not_the_parameters() {
    let model = model();
    let e = model.encoder().encode("wire money").unwrap();
    let input = InputBatch::single(&e, model.device()).unwrap();
    let mut hooks = Hooks::new();
    hooks.keep("embeddings.word");
    let out = model.run(&input, Some(&mut hooks), &DefaultOps).unwrap();
    let grad = hooks.gradients(&out.get(0).get(0), &["embeddings.word"], false).unwrap();
    assert!(grad[0].abs().sum(Kind::Double).double_value(&[]) > 0.0);
}
