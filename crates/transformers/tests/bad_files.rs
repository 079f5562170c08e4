//! Bad checkpoint files give a clear error naming the file and the problem, never a panic:
//! missing files, corrupt or truncated safetensors, unsupported model types, wrong shapes.
//! Also: sharded checkpoints load like single files.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::{Path, PathBuf};

use explainer_core::{DefaultOps, ErrorKind, ForwardCtx, InputBatch};
use explainer_transformers::{Encoder, EncoderConfig, Weights};
use proptest::prelude::*;
use tch::{Kind, Tensor};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("explainer-transformers-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn config_text(name: &str) -> String {
    std::fs::read_to_string(fixture(name).join("config.json")).unwrap()
}

fn with(text: &str, edit: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) -> String {
    let mut json: serde_json::Value = serde_json::from_str(text).unwrap();
    edit(json.as_object_mut().unwrap());
    json.to_string()
}

#[test]
fn configs_of_every_fixture_parse() {
    for (name, layers, labels) in [
        ("bert-tiny-multilabel", 2, 5),
        ("distilbert-small-multilabel", 3, 8),
        ("roberta-tiny-multilabel", 2, 5),
        ("xlm-roberta-tiny-multiclass", 2, 3),
    ] {
        let c = EncoderConfig::parse(&config_text(name)).unwrap();
        assert_eq!((c.layers, c.labels.len()), (layers, labels), "{name}");
    }
    let c = EncoderConfig::parse(&config_text("roberta-tiny-multilabel")).unwrap();
    assert_eq!(c.max_tokens(), 64, "RoBERTa loses padding_idx + 1 positions");
    assert_eq!(c.eps, 1e-5);
    let c = EncoderConfig::parse(&config_text("distilbert-tiny-multiclass")).unwrap();
    assert_eq!((c.eps, c.type_vocab), (1e-12, 0));
}

#[test]
fn config_problems_are_named() {
    let bert = config_text("bert-tiny-multilabel");
    let cases: Vec<(String, &str)> = vec![
        (
            with(&bert, |m| drop(m.insert("model_type".into(), "gpt2".into()))),
            "model_type \"gpt2\" is not supported; supported model types: bert, distilbert, roberta, xlm-roberta, camembert",
        ),
        (with(&bert, |m| drop(m.remove("model_type"))), "has no \"model_type\""),
        (with(&bert, |m| drop(m.remove("hidden_size"))), "is missing \"hidden_size\""),
        (
            with(&bert, |m| drop(m.insert("num_attention_heads".into(), 5.into()))),
            "not divisible by the 5 attention heads",
        ),
        (
            with(&bert, |m| drop(m.insert("problem_type".into(), "ranking".into()))),
            "problem_type \"ranking\"",
        ),
        (
            with(&bert, |m| drop(m.insert("hidden_act".into(), "mish".into()))),
            "activation \"mish\" is not supported",
        ),
        (
            with(&bert, |m| drop(m.insert("architectures".into(), serde_json::json!(["BertForMaskedLM"])))),
            "not a sequence classifier",
        ),
        (
            with(&bert, |m| drop(m.insert("id2label".into(), serde_json::json!({"0": "a", "7": "b"})))),
            "id2label has 2 entries but index 7",
        ),
        (with(&bert, |m| drop(m.insert("hidden_size".into(), "wide".into()))), "not a valid config.json"),
        ("{".into(), "not a valid config.json"),
        ("[]".into(), "not a valid config.json"),
    ];
    for (text, expected) in cases {
        let problem = EncoderConfig::parse(&text).unwrap_err();
        assert!(problem.contains(expected), "{problem:?} should contain {expected:?}");
    }
    // Labels default as transformers does; no problem_type with one label means regression.
    let c = EncoderConfig::parse(&with(&bert, |m| {
        m.remove("id2label");
        m.remove("label2id");
        m.remove("problem_type");
        m.insert("num_labels".into(), 1.into());
    }))
    .unwrap();
    assert_eq!(c.labels, ["LABEL_0"]);
    assert_eq!(c.problem, explainer_core::ProblemType::Regression);

    let dir = scratch("config-missing");
    let err = EncoderConfig::load(&dir.join("config.json")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User);
    assert!(err.to_string().contains("config.json: cannot read"), "{err}");
}

#[test]
fn weight_problems_name_the_file_and_tensor() {
    let dir = scratch("weights");
    let err = Weights::load(&dir, Kind::Float).unwrap_err();
    assert!(
        err.to_string().contains("has neither model.safetensors nor model.safetensors.index.json"),
        "{err}"
    );

    std::fs::write(dir.join("pytorch_model.bin"), b"pickle").unwrap();
    let err = Weights::load(&dir, Kind::Float).unwrap_err();
    assert!(err.to_string().contains("pytorch_model.bin: PyTorch pickle checkpoints are not read"), "{err}");

    let bytes = std::fs::read(fixture("bert-tiny-multilabel").join("model.safetensors")).unwrap();
    std::fs::write(dir.join("model.safetensors"), &bytes[..bytes.len() - 100]).unwrap();
    let err = Weights::load(&dir, Kind::Float).unwrap_err();
    assert!(err.to_string().contains("model.safetensors: not a readable safetensors file"), "{err}");

    let weights = Weights::load(&fixture("bert-tiny-multilabel"), Kind::Float).unwrap();
    let err = weights.get("bert.pooler.dense.weight", &[32, 31]).unwrap_err();
    assert!(
        err.to_string()
            .contains("tensor \"bert.pooler.dense.weight\" has shape [32, 32], the config implies [32, 31]"),
        "{err}"
    );
    let err = weights.get("bert.pooler.dense.wieght", &[32, 32]).unwrap_err();
    assert!(err.to_string().contains("has no tensor \"bert.pooler.dense.wieght\" (the closest name there is \"bert.pooler.dense.weight\")"), "{err}");

    // A config whose sizes disagree with the weights: the wrong shape is named.
    let mut config = EncoderConfig::parse(&config_text("bert-tiny-multilabel")).unwrap();
    config.vocab_size += 1;
    let err = Encoder::load(&weights, &config, "bert.", Kind::Float).unwrap_err();
    assert!(
        err.to_string()
            .contains("word_embeddings.weight\" has shape [400, 32], the config implies [401, 32]"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn last_hidden(dir: &Path, input: &InputBatch) -> Tensor {
    let config = EncoderConfig::load(&dir.join("config.json")).unwrap();
    let weights = Weights::load(dir, Kind::Float).unwrap();
    let encoder = Encoder::load(&weights, &config, "distilbert.", Kind::Float).unwrap();
    tch::no_grad(|| encoder.forward(input, &mut ForwardCtx::new(None, &DefaultOps))).unwrap()
}

#[test]
fn sharded_checkpoints_load_like_single_files() {
    let source = fixture("distilbert-tiny-multiclass");
    let dir = scratch("sharded");
    std::fs::copy(source.join("config.json"), dir.join("config.json")).unwrap();
    let tensors = Tensor::read_safetensors(source.join("model.safetensors")).unwrap();
    let (first, second): (Vec<_>, Vec<_>) = tensors.into_iter().enumerate().partition(|(i, _)| i % 2 == 0);
    let mut map = serde_json::Map::new();
    for (file, part) in
        [("model-00001-of-00002.safetensors", first), ("model-00002-of-00002.safetensors", second)]
    {
        let named: Vec<(String, Tensor)> = part.into_iter().map(|(_, t)| t).collect();
        for (name, _) in &named {
            map.insert(name.clone(), file.into());
        }
        Tensor::write_safetensors(&named, dir.join(file)).unwrap();
    }
    let index = serde_json::json!({"metadata": {}, "weight_map": map});
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();

    let ids = Tensor::from_slice(&[2i64, 70, 117, 105, 3]).view([1, 5]);
    let input =
        InputBatch { attention_mask: ids.ones_like(), type_ids: ids.zeros_like(), ids, lengths: vec![5] };
    assert!(last_hidden(&dir, &input).equal(&last_hidden(&source, &input)));

    std::fs::remove_file(dir.join("model-00002-of-00002.safetensors")).unwrap();
    let err = Weights::load(&dir, Kind::Float).unwrap_err();
    assert!(
        err.to_string()
            .contains("model-00002-of-00002.safetensors: missing (listed in model.safetensors.index.json)"),
        "{err}"
    );
    std::fs::write(dir.join("model.safetensors.index.json"), r#"{"weight_map": {"a": "../../etc/passwd"}}"#)
        .unwrap();
    let err = Weights::load(&dir, Kind::Float).unwrap_err();
    assert!(err.to_string().contains("is not a plain file name"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A corrupted config.json is parsed or refused, never a panic.
    #[test]
    fn corrupted_configs_never_panic(cut in 0usize..2000, flips in prop::collection::vec((0usize..2000, any::<u8>()), 0..8)) {
        let mut bytes = config_text("roberta-tiny-multilabel").into_bytes();
        for (at, byte) in flips {
            let n = bytes.len();
            bytes[at % n] = byte;
        }
        bytes.truncate(cut.min(bytes.len()));
        let _ = EncoderConfig::parse(&String::from_utf8_lossy(&bytes));
    }

    /// A corrupted or truncated safetensors file loads or is refused with an error naming it,
    /// never a panic.
    #[test]
    fn corrupted_safetensors_never_panic(cut in 0usize..300_000, flips in prop::collection::vec((0usize..600, any::<u8>()), 0..6)) {
        let mut bytes = std::fs::read(fixture("bert-tiny-multilabel").join("model.safetensors")).unwrap();
        for (at, byte) in flips {
            // Mostly the header (the first bytes), where corruption matters.
            let n = bytes.len();
            bytes[at % n] = byte;
        }
        bytes.truncate(cut.min(bytes.len()));
        let dir = scratch(&format!("fuzz-{cut}"));
        std::fs::write(dir.join("model.safetensors"), &bytes).unwrap();
        if let Err(e) = Weights::load(&dir, Kind::Float) {
            prop_assert!(e.to_string().contains("model.safetensors"), "{}", e);
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
