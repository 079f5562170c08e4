//! ELECTRA, ModernBERT and DeBERTa-v2/v3 checkpoints against Hugging Face transformers
//! (fixtures written by scripts/fixtures/make_family_fixtures.py): tokens, offsets and word
//! ids; hidden states at every hook; the head's vector; logits and probabilities; padding; op
//! rules; and the configurations refused by name.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use explainer_core::ops::ComposedOps;
use explainer_core::{DefaultOps, Hooks, InputBatch, Model, ProblemType, layer_names, tensor_row};
use explainer_transformers::{EncoderConfig, HfClassifier, LoadOptions};
use tch::{Kind, Tensor};

const CHECKPOINTS: &[&str] = &[
    "electra-tiny-multilabel",
    "modernbert-tiny-multiclass",
    "modernbert-tiny-mean-multilabel",
    "deberta-v3-tiny-multiclass",
    "deberta-v2-tiny-multilabel",
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

fn values<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> T {
    serde_json::from_value(v.clone()).unwrap()
}

fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn tokens_offsets_and_word_ids_match_transformers() {
    for name in CHECKPOINTS {
        let model = HfClassifier::load(&fixture(name)).unwrap();
        let r = reference(name);
        for text in r.json["texts"].as_array().unwrap() {
            let at = format!("{name} text {} {:?}", text["index"], text["text"]);
            let e = model.encoder().encode(text["text"].as_str().unwrap()).unwrap();
            assert_eq!(e.ids, values::<Vec<i64>>(&text["input_ids"]), "ids: {at}");
            assert_eq!(e.tokens, values::<Vec<String>>(&text["tokens"]), "tokens: {at}");
            let offsets: Vec<(usize, usize)> = values(&text["offsets_utf8_bytes"]);
            assert_eq!(e.offsets, offsets, "offsets: {at}");
            assert_eq!(e.word_ids, values::<Vec<Option<usize>>>(&text["word_ids"]), "word ids: {at}");
            assert_eq!(e.truncated, text["truncated"].as_bool().unwrap(), "truncated: {at}");
            let special: Vec<bool> = e.word_ids.iter().map(Option::is_none).collect();
            assert_eq!(e.special, special, "special tokens: {at}");
        }
    }
}

#[test]
fn hidden_states_head_and_scores_match_transformers_within_1e_4() {
    for name in CHECKPOINTS {
        let model = HfClassifier::load(&fixture(name)).unwrap();
        let r = reference(name);
        let expected_problem = match r.json["problem_type"].as_str().unwrap() {
            "multi_label_classification" => ProblemType::MultiLabel,
            _ => ProblemType::MultiClass,
        };
        assert_eq!(model.info().problem, expected_problem, "{name}");
        let layers = model.config().layers;
        let (mut worst_hidden, mut worst_probability) = (0.0f64, 0.0f64);
        for text in r.json["texts"].as_array().unwrap() {
            let at = format!("{name} text {}", text["index"]);
            let encoding = model.encoder().encode(text["text"].as_str().unwrap()).unwrap();
            let input = InputBatch::single(&encoding, model.device()).unwrap();
            let mut hooks = Hooks::new();
            hooks.read(layer_names::EMBEDDINGS);
            for l in 0..layers {
                hooks.read(&layer_names::encoder(l));
            }
            hooks.read(layer_names::POOLER);
            let logits = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps)).unwrap();
            for (k, key) in text["tensors"]["hidden_states"].as_array().unwrap().iter().enumerate() {
                let layer =
                    if k == 0 { layer_names::EMBEDDINGS.to_string() } else { layer_names::encoder(k - 1) };
                let expected = &r.tensors[key.as_str().unwrap()];
                let got = hooks.get(&layer).unwrap().get(0);
                assert_eq!(got.size(), expected.size(), "{at} {layer}");
                let d = (&got - expected).abs().max().double_value(&[]);
                worst_hidden = worst_hidden.max(d);
                assert!(d <= 1e-4, "{at} {layer}: max |diff| {d:e}");
            }
            let head = &r.tensors[text["tensors"]["head"].as_str().unwrap()];
            let d = (&hooks.get(layer_names::POOLER).unwrap().get(0) - head).abs().max().double_value(&[]);
            assert!(d <= 1e-4, "{at} pooler: {d:e}");
            let d = max_diff(&tensor_row(&logits, 0).unwrap(), &values::<Vec<f64>>(&text["logits"]));
            assert!(d <= 1e-4, "{at} logits: {d:e}");
            let prediction = model.predict(text["text"].as_str().unwrap()).unwrap();
            let d = max_diff(&prediction.scores, &values::<Vec<f64>>(&text["probabilities"]));
            worst_probability = worst_probability.max(d);
            assert!(d <= 1e-4, "{at} probabilities: {d:e}");
        }
        eprintln!("{name}: worst hidden |diff| {worst_hidden:.2e}, probability {worst_probability:.2e}");
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
        let d = (&together - &r.tensors["batch.logits"]).abs().max().double_value(&[]);
        assert!(d <= 1e-4, "{name}: batch logits vs transformers' batch {d:e}");
        for (i, e) in encodings.iter().enumerate() {
            let alone = model.logits(&[e]).unwrap();
            let d = max_diff(&tensor_row(&alone, 0).unwrap(), &tensor_row(&together, i as i64).unwrap());
            assert!(d <= 1e-5, "{name} text {i}: alone vs in a batch {d:e}");
        }
    }
}

#[test]
fn every_declared_layer_is_reached_once_and_composed_rules_agree_in_f64() {
    for name in CHECKPOINTS {
        let model = HfClassifier::load_with(
            &fixture(name),
            &LoadOptions { kind: Kind::Double, ..LoadOptions::default() },
        )
        .unwrap();
        let names: Vec<String> = model.info().layers.iter().map(|l| l.name.clone()).collect();
        let mut expected =
            vec![layer_names::WORD_EMBEDDINGS.to_string(), layer_names::EMBEDDINGS.to_string()];
        expected.extend((0..model.config().layers).map(layer_names::encoder));
        expected.extend([layer_names::POOLER.to_string(), layer_names::CLASSIFIER.to_string()]);
        assert_eq!(names, expected, "{name}");
        // Long enough for ModernBERT's local windows and DeBERTa's log buckets to matter.
        let text = "Crème brûlée, wait... what?! The payment was refunded twice and the bank flagged it.";
        let encoding = model.encoder().encode(text).unwrap();
        assert!(encoding.len() > 20, "{name}: {} tokens", encoding.len());
        let input = InputBatch::single(&encoding, model.device()).unwrap();
        let mut hooks = Hooks::new();
        for layer in &names {
            hooks.read(layer);
        }
        let plain = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps)).unwrap();
        for layer in &names {
            assert_eq!(hooks.visits(layer), 1, "{name} {layer}");
        }
        let composed = tch::no_grad(|| model.run(&input, None, &ComposedOps)).unwrap();
        let d = (&plain - &composed).abs().max().double_value(&[]);
        assert!(d <= 1e-10, "{name}: composed rules differ by {d:e}");
        let r = reference(name);
        let t0 = &r.json["texts"][0];
        let p = model.predict(t0["text"].as_str().unwrap()).unwrap();
        assert!(max_diff(&p.logits, &values::<Vec<f64>>(&t0["logits"])) <= 1e-4, "{name} f64");
    }
}

#[test]
fn word_embedding_width_is_the_models_embedding_size() {
    // ELECTRA and this DeBERTa-v2 have embedding_size < hidden_size: baselines build
    // word-embedding references of `hidden_size` (the word embeddings' width).
    for (name, width) in [("electra-tiny-multilabel", 16), ("deberta-v2-tiny-multilabel", 24)] {
        let model = HfClassifier::load(&fixture(name)).unwrap();
        assert_eq!(model.info().hidden_size, width, "{name}");
        let encoding = model.encoder().encode("refunded twice").unwrap();
        let input = InputBatch::single(&encoding, model.device()).unwrap();
        let mut hooks = Hooks::new();
        hooks.read(layer_names::WORD_EMBEDDINGS);
        let _ = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps)).unwrap();
        assert_eq!(hooks.get(layer_names::WORD_EMBEDDINGS).unwrap().size()[2], width as i64, "{name}");
    }
}

fn config_with(name: &str, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let text = std::fs::read_to_string(fixture(name).join("config.json")).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    edit(json.as_object_mut().unwrap());
    json.to_string()
}

#[test]
fn unsupported_configurations_are_refused_by_name() {
    let cases: Vec<(String, &str)> = vec![
        (
            config_with("deberta-v3-tiny-multiclass", |m| {
                m.insert("model_type".into(), "deberta".into());
            }),
            "DeBERTa v1 (model_type \"deberta\") is not supported",
        ),
        (
            config_with("electra-tiny-multilabel", |m| {
                m.insert("model_type".into(), "funnel".into());
            }),
            "model_type \"funnel\" is not supported; supported model types: bert, distilbert, roberta, \
             xlm-roberta, camembert, electra, modernbert, deberta-v2",
        ),
        (
            config_with("deberta-v2-tiny-multilabel", |m| {
                m.insert("conv_kernel_size".into(), 3.into());
            }),
            "conv_kernel_size 3",
        ),
        (
            config_with("deberta-v2-tiny-multilabel", |m| {
                m.insert("pos_att_type".into(), "c2p|p2p".into());
            }),
            "pos_att_type \"p2p\" is not supported",
        ),
        (
            config_with("modernbert-tiny-multiclass", |m| {
                m.insert("classifier_pooling".into(), "max".into());
            }),
            "classifier_pooling \"max\"",
        ),
        (
            config_with("modernbert-tiny-multiclass", |m| {
                m.insert("layer_types".into(), serde_json::json!(["full_attention"]));
            }),
            "layer_types has 1 entries but num_hidden_layers is 3",
        ),
        (
            config_with("modernbert-tiny-multiclass", |m| {
                let p = m.get_mut("rope_parameters").unwrap();
                p["full_attention"]["rope_type"] = "yarn".into();
            }),
            "rope_type \"yarn\" is not supported",
        ),
    ];
    for (text, expected) in cases {
        let error = EncoderConfig::parse(&text).unwrap_err();
        assert!(error.contains(expected), "{error:?} should contain {expected:?}");
    }
}

#[test]
fn configs_written_before_transformers_5_are_read_too() {
    // Older ModernBERT configs name the attention pattern and the rotary θs directly.
    let text = config_with("modernbert-tiny-multiclass", |m| {
        m.remove("layer_types");
        m.remove("rope_parameters");
        m.insert("global_attn_every_n_layers".into(), 2.into());
        m.insert("global_rope_theta".into(), 160000.0.into());
        m.insert("local_rope_theta".into(), 10000.0.into());
    });
    let old = EncoderConfig::parse(&text).unwrap();
    let new = EncoderConfig::load(&fixture("modernbert-tiny-multiclass").join("config.json")).unwrap();
    assert_eq!(old.modernbert, new.modernbert);
    let options = new.modernbert.unwrap();
    assert_eq!(options.local_layers, [false, true, false]);
    assert_eq!((options.global_rope_theta, options.local_rope_theta), (160000.0, 10000.0));
}
