//! Saving and loading the tiny model, and the committed copy the smoke run uses.

#![allow(clippy::unwrap_used)] // test helpers may panic

use explainer_core::{ErrorKind, Model};
use explainer_testing::{TinyClassifier, tiny_model_dir};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("explainer-testing-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn the_committed_model_is_the_default_model() {
    let saved = TinyClassifier::load(&tiny_model_dir()).unwrap();
    let fresh = TinyClassifier::default_multilabel();
    assert_eq!(saved.config(), fresh.config());
    let e = fresh.encoder().encode("verify your password").unwrap();
    assert!(saved.logits(&[&e]).unwrap().equal(&fresh.logits(&[&e]).unwrap()));
}

#[test]
fn save_then_load_round_trips() {
    let dir = scratch("roundtrip");
    let model = TinyClassifier::default_multiclass();
    model.save(&dir).unwrap();
    let loaded = TinyClassifier::load(&dir).unwrap();
    let e = model.encoder().encode("send money").unwrap();
    assert!(loaded.logits(&[&e]).unwrap().equal(&model.logits(&[&e]).unwrap()));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn missing_or_corrupt_files_name_the_file() {
    let dir = scratch("broken");
    let err = TinyClassifier::load(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User);
    assert!(err.to_string().contains("config.json: cannot read"), "{err}");

    TinyClassifier::default_multilabel().save(&dir).unwrap();
    let weights = dir.join("model.safetensors");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let err = TinyClassifier::load(&dir).unwrap_err();
    assert!(err.to_string().contains("model.safetensors: not a readable safetensors file"), "{err}");

    std::fs::write(dir.join("config.json"), "{\"model_type\": 3}").unwrap();
    let err = TinyClassifier::load(&dir).unwrap_err();
    assert!(err.to_string().contains("config.json: not a tiny-model config"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn batched_predictions_equal_one_text_at_a_time() {
    let model = explainer_testing::TinyClassifier::default_multilabel();
    let texts = ["please verify your account password now", "hello"];
    let encodings: Vec<_> = texts.iter().map(|t| model.encoder().encode(t).unwrap()).collect();
    let refs: Vec<_> = encodings.iter().collect();
    let batched = model.predictions(&refs).unwrap();
    assert_eq!(batched.len(), 2);
    for (text, p) in texts.iter().zip(&batched) {
        let alone = model.predict(text).unwrap();
        assert_eq!(alone.labels, p.labels);
        for (a, b) in alone.scores.iter().zip(&p.scores) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}
