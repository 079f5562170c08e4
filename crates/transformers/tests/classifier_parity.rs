//! Whole checkpoints, text in, scores out, against Hugging Face transformers (fixtures from
//! scripts/fixtures/make_transformers_fixtures.py): tokens, logits, probabilities, the head's
//! pooled vector, padding, op rules, and the errors of a mismatched folder.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use explainer_core::ops::ComposedOps;
use explainer_core::{DefaultOps, ErrorKind, Hooks, InputBatch, Model, ProblemType, tensor_row};
use explainer_transformers::{HfClassifier, LoadOptions};
use tch::{Kind, Tensor};

const CHECKPOINTS: &[&str] = &[
    "bert-tiny-multilabel",
    "bert-small-multiclass",
    "distilbert-tiny-multiclass",
    "distilbert-small-multilabel",
    "roberta-tiny-multilabel",
    "xlm-roberta-tiny-multiclass",
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

struct Reference {
    json: serde_json::Value,
    tensors: HashMap<String, Tensor>,
}

fn reference(name: &str) -> Reference {
    let dir = fixture(name);
    Reference {
        json: serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap(),
        tensors: Tensor::read_safetensors(dir.join("reference.safetensors")).unwrap().into_iter().collect(),
    }
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn text_to_scores_matches_transformers_within_1e_4() {
    for name in CHECKPOINTS {
        let model = HfClassifier::load(&fixture(name)).unwrap();
        let r = reference(name);
        assert_eq!(model.info().labels.len(), r.json["num_labels"].as_u64().unwrap() as usize);
        let expected_problem = match r.json["problem_type"].as_str().unwrap() {
            "multi_label_classification" => ProblemType::MultiLabel,
            _ => ProblemType::MultiClass,
        };
        assert_eq!(model.info().problem, expected_problem, "{name}");
        let mut worst = 0.0f64;
        for text in r.json["texts"].as_array().unwrap() {
            let label = format!("{name} text {}", text["index"]);
            let encoding = model.encoder().encode(text["text"].as_str().unwrap()).unwrap();
            let ids: Vec<i64> = serde_json::from_value(text["input_ids"].clone()).unwrap();
            assert_eq!(encoding.ids, ids, "{label}: token ids");
            assert_eq!(encoding.truncated, text["truncated"].as_bool().unwrap(), "{label}");

            let prediction = model.predict(text["text"].as_str().unwrap()).unwrap();
            let d_logits = max_diff(&prediction.logits, &floats(&text["logits"]));
            let d_probs = max_diff(&prediction.scores, &floats(&text["probabilities"]));
            assert!(
                d_logits <= 1e-4 && d_probs <= 1e-4,
                "{label}: logits {d_logits:e}, probabilities {d_probs:e}"
            );
            worst = worst.max(d_logits);

            // The head's pooled vector, read through the `pooler` hook.
            let head = r.json["head_tensor"].as_str().unwrap();
            let expected = &r.tensors[text["tensors"][head].as_str().unwrap()];
            let input = InputBatch::single(&encoding, model.device()).unwrap();
            let mut hooks = Hooks::new();
            hooks.read("pooler");
            let _ = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps)).unwrap();
            let got = hooks.get("pooler").unwrap().get(0);
            let d = (&got - expected).abs().max().double_value(&[]);
            assert!(d <= 1e-4, "{label}: {head} {d:e}");
        }
        eprintln!("{name}: worst logit |diff| {worst:.2e}");
    }
}

#[test]
fn a_padded_batch_gives_each_text_its_own_result() {
    for name in CHECKPOINTS {
        let model = HfClassifier::load(&fixture(name)).unwrap();
        let r = reference(name);
        let texts: Vec<&str> =
            r.json["texts"].as_array().unwrap().iter().map(|t| t["text"].as_str().unwrap()).collect();
        let encodings: Vec<_> = texts.iter().map(|t| model.encoder().encode(t).unwrap()).collect();
        let refs: Vec<_> = encodings.iter().collect();
        let together = model.logits(&refs).unwrap();
        let expected = &r.tensors["batch.logits"];
        let d = (&together - expected).abs().max().double_value(&[]);
        assert!(d <= 1e-4, "{name}: batch logits vs transformers' batch {d:e}");
        for (i, e) in encodings.iter().enumerate() {
            let alone = model.logits(&[e]).unwrap();
            let d = max_diff(&tensor_row(&alone, 0).unwrap(), &tensor_row(&together, i as i64).unwrap());
            assert!(d <= 1e-5, "{name} text {i}: alone vs in a batch {d:e}");
        }
    }
}

#[test]
fn every_declared_layer_is_reached_and_composed_rules_agree() {
    for name in ["bert-tiny-multilabel", "distilbert-tiny-multiclass", "roberta-tiny-multilabel"] {
        let model = HfClassifier::load_with(
            &fixture(name),
            &LoadOptions { kind: Kind::Double, ..LoadOptions::default() },
        )
        .unwrap();
        let encoding = model.encoder().encode("Crème brûlée, wait... what?!").unwrap();
        let input = InputBatch::single(&encoding, model.device()).unwrap();
        let mut hooks = Hooks::new();
        for layer in &model.info().layers {
            hooks.read(&layer.name);
        }
        let plain = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps)).unwrap();
        for layer in &model.info().layers {
            assert_eq!(hooks.visits(&layer.name), 1, "{name} {}", layer.name);
        }
        // LayerNorm and softmax composed from op rules compute the same function (f64).
        let composed = tch::no_grad(|| model.run(&input, None, &ComposedOps)).unwrap();
        let d = (&plain - &composed).abs().max().double_value(&[]);
        assert!(d <= 1e-10, "{name}: composed rules differ by {d:e}");
        // And the f64 model agrees with transformers' f32 logits.
        let r = reference(name);
        let t0 = &r.json["texts"][0];
        let p = model.predict(t0["text"].as_str().unwrap()).unwrap();
        assert!(max_diff(&p.logits, &floats(&t0["logits"])) <= 1e-4, "{name} f64");
    }
}

#[test]
fn mismatched_or_incomplete_folders_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("explainer-hf-{}-mismatch", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let bert = fixture("bert-tiny-multilabel");
    for f in ["config.json", "model.safetensors"] {
        std::fs::copy(bert.join(f), dir.join(f)).unwrap();
    }
    // No tokenizer files at all.
    let err = HfClassifier::load(&dir).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User);
    assert!(err.to_string().contains(&dir.display().to_string()), "{err}");

    // A tokenizer from another model whose vocabulary is larger than the embeddings.
    std::fs::copy(fixture("roberta-tiny-multilabel").join("tokenizer.json"), dir.join("tokenizer.json"))
        .unwrap();
    let err = HfClassifier::load(&dir).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("the tokenizer has 503 entries but the word embeddings have 400 rows"),
        "{message}"
    );

    let err = HfClassifier::load(&dir.join("nope")).unwrap_err();
    assert!(err.to_string().contains("is not a directory"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
