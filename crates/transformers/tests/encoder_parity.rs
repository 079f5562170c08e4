//! The encoder's hidden states against Hugging Face transformers' (fixtures written by
//! scripts/fixtures/make_transformers_fixtures.py), from the reference token ids.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::{Path, PathBuf};

use explainer_core::{DefaultOps, ForwardCtx, Hooks, InputBatch, layer_names};
use explainer_transformers::{Encoder, EncoderConfig, Weights};
use tch::{Kind, Tensor};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

const CHECKPOINTS: &[&str] = &[
    "bert-tiny-multilabel",
    "bert-small-multiclass",
    "distilbert-tiny-multiclass",
    "distilbert-small-multilabel",
    "roberta-tiny-multilabel",
    "xlm-roberta-tiny-multiclass",
];

fn ids_batch(text: &serde_json::Value) -> InputBatch {
    let ids: Vec<i64> = serde_json::from_value(text["input_ids"].clone()).unwrap();
    let n = ids.len() as i64;
    let types: Vec<i64> = text
        .get("token_type_ids")
        .and_then(|t| serde_json::from_value(t.clone()).ok())
        .unwrap_or(vec![0; ids.len()]);
    InputBatch {
        ids: Tensor::from_slice(&ids).view([1, n]),
        attention_mask: Tensor::ones([1, n], (Kind::Int64, tch::Device::Cpu)),
        type_ids: Tensor::from_slice(&types).view([1, n]),
        lengths: vec![ids.len()],
    }
}

#[test]
fn hidden_states_match_transformers_within_1e_4() {
    for name in CHECKPOINTS {
        let dir = fixture(name);
        let config = EncoderConfig::load(&dir.join("config.json")).unwrap();
        let weights = Weights::load(&dir, Kind::Float).unwrap();
        let prefix = weights
            .prefix_for("embeddings.word_embeddings.weight", &["bert.", "distilbert.", "roberta."])
            .unwrap();
        let encoder = Encoder::load(&weights, &config, prefix, Kind::Float).unwrap();
        let reference: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
        let tensors: std::collections::HashMap<String, Tensor> =
            Tensor::read_safetensors(dir.join("reference.safetensors")).unwrap().into_iter().collect();
        let mut worst = 0.0f64;
        for text in reference["texts"].as_array().unwrap() {
            let input = ids_batch(text);
            let mut hooks = Hooks::new();
            hooks.read(layer_names::EMBEDDINGS);
            for l in 0..config.layers {
                hooks.read(&layer_names::encoder(l));
            }
            let mut ctx = ForwardCtx::new(Some(&mut hooks), &DefaultOps);
            let _ = tch::no_grad(|| encoder.forward(&input, &mut ctx)).unwrap();
            for (k, key) in text["tensors"]["hidden_states"].as_array().unwrap().iter().enumerate() {
                let expected = &tensors[key.as_str().unwrap()];
                let layer =
                    if k == 0 { layer_names::EMBEDDINGS.to_string() } else { layer_names::encoder(k - 1) };
                let got = hooks.get(&layer).unwrap().get(0);
                assert_eq!(got.size(), expected.size(), "{name} {key}");
                let diff = (&got - expected).abs().max().double_value(&[]);
                worst = worst.max(diff);
                assert!(diff <= 1e-4, "{name} text {} {layer}: max |diff| {diff}", text["index"]);
            }
        }
        eprintln!("{name}: worst hidden-state |diff| {worst:.2e}");
    }
}
