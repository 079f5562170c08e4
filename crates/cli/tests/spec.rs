//! Spec files run as a binary: export → explain --spec reproduces the same configs and
//! numbers; a tampered model is refused showing both hashes; unknown entries, malformed YAML
//! and other versions are one clear line. The model hash is recomputed here independently,
//! from its description in docs/cli.md.

#![allow(clippy::unwrap_used)]
#![allow(clippy::expect_used)]

mod common;

use std::path::Path;

use common::{copy_tiny, explainer, explainer_in, fails, json, ok};
use sha2::{Digest, Sha256};

const TEXT: &str = "send the money to this account now";

/// The documented model hash: SHA-256 over (name length, name, size, bytes) of the hashed
/// files (config, weights, tokenizer files) in name order.
fn documented_hash(dir: &Path) -> String {
    const NAMED: [&str; 9] = [
        "config.json",
        "model.safetensors.index.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "special_tokens_map.json",
        "added_tokens.json",
        "vocab.txt",
        "vocab.json",
        "merges.txt",
    ];
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| NAMED.contains(&n.as_str()) || n.ends_with(".safetensors") || n.ends_with(".model"))
        .collect();
    names.sort();
    let mut h = Sha256::new();
    for name in names {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(&bytes);
    }
    format!("sha256:{}", h.finalize().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// A copy of a folder's files in `dir`.
fn copy_dir(from: &Path, dir: &Path) -> std::path::PathBuf {
    let target = dir.join("model");
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
    }
    target
}

#[test]
fn the_hash_of_a_hugging_face_folder_covers_its_tokenizer_and_not_other_files() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../transformers/tests/fixtures/distilbert-tiny-multiclass");
    let dir = tempfile::tempdir().unwrap();
    let model = copy_dir(&fixture, dir.path());
    let report = |model: &Path| {
        json(&ok(&explainer(&[
            "explain",
            "The payment was refunded twice.",
            "--model",
            model.to_str().unwrap(),
            "--steps",
            "4",
            "--labels",
            "all",
            "--format",
            "json",
        ])))
    };
    let first = report(&model);
    assert_eq!(first["run"]["model"]["hash"], documented_hash(&model).as_str());
    assert_eq!(first["run"]["model"]["labels"], serde_json::json!(["negative", "neutral", "positive"]));
    assert_eq!(first["explanations"][0]["targets"].as_array().unwrap().len(), 3);
    // reference.json is not a model file: editing it keeps the hash.
    std::fs::write(model.join("reference.json"), "{}").unwrap();
    assert_eq!(report(&model)["run"]["model"]["hash"], first["run"]["model"]["hash"]);
    // tokenizer_config.json is: editing it changes the hash.
    let config = std::fs::read_to_string(model.join("tokenizer_config.json")).unwrap();
    std::fs::write(model.join("tokenizer_config.json"), format!("{config}\n")).unwrap();
    let after = report(&model);
    assert_ne!(after["run"]["model"]["hash"], first["run"]["model"]["hash"]);
    assert_eq!(after["run"]["model"]["hash"], documented_hash(&model).as_str());
}

fn yaml(path: &Path) -> serde_json::Value {
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn export_then_explain_with_the_spec_reproduces_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let model = copy_tiny(dir.path());
    let spec = dir.path().join("audit.yaml");
    let flags = [
        "--model",
        model.to_str().unwrap(),
        "--method",
        "integrated-gradients",
        "--steps",
        "6",
        "--rule",
        "riemann_middle",
        "--baseline",
        "random-tokens",
        "--draws",
        "2",
        "--seed",
        "5",
        "--labels",
        "spam,fraud",
        "--output-kind",
        "logit",
    ];
    let mut export = vec!["export", "fraud-audit", "--output", spec.to_str().unwrap()];
    export.extend_from_slice(&flags);
    assert!(ok(&explainer(&export)).is_empty());

    let stored = yaml(&spec);
    assert_eq!(stored["spec_version"], 1);
    assert_eq!(stored["name"], "fraud-audit");
    assert_eq!(stored["explainer_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(stored["model"]["hash"], documented_hash(&model).as_str());
    let entry = &stored["entry_points"][0];
    assert_eq!(entry["name"], "default");
    assert_eq!(entry["target"], serde_json::json!({"rule": "labels", "labels": ["spam", "fraud"]}));
    assert_eq!(entry["output"], "logit");

    // The configs the spec runs with are those the flags give, and so are the numbers.
    let mut direct = vec!["explain", TEXT, "--format", "json"];
    direct.extend_from_slice(&flags);
    let direct = json(&ok(&explainer(&direct)));
    let from_spec =
        json(&ok(&explainer(&["explain", "--spec", spec.to_str().unwrap(), TEXT, "--format", "json"])));
    for field in ["method", "baseline", "target", "output", "layer"] {
        assert_eq!(from_spec["run"][field], direct["run"][field], "{field}");
    }
    assert_eq!(from_spec["run"]["method"], entry["method"]);
    assert_eq!(from_spec["run"]["baseline"], entry["baseline"]);
    assert_eq!(from_spec["run"]["model"]["hash"], entry_hash(&stored));
    assert_eq!(from_spec["explanations"][0]["targets"], direct["explanations"][0]["targets"]);
    let labels: Vec<&str> = from_spec["explanations"][0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["spam", "fraud"]);

    // A hand-added entry point (the documented way) runs by name; unknown names list them.
    let mut text = std::fs::read_to_string(&spec).unwrap();
    text.push_str("- name: quick\n  method:\n    method: layer-integrated-gradients\n    n_steps: 3\n  baseline:\n    baseline: unk\n  target: all\n");
    std::fs::write(&spec, text).unwrap();
    let quick = json(&ok(&explainer(&[
        "explain",
        "--spec",
        spec.to_str().unwrap(),
        "--entry",
        "quick",
        TEXT,
        "--format",
        "json",
    ])));
    assert_eq!(quick["run"]["method"]["n_steps"], 3);
    assert_eq!(quick["run"]["baseline"]["baseline"], "unk");
    assert_eq!(quick["run"]["target"], "all");
    assert_eq!(quick["explanations"][0]["targets"].as_array().unwrap().len(), 5);
    fails(
        &explainer(&["explain", "--spec", spec.to_str().unwrap(), "--entry", "quik", TEXT]),
        1,
        &["no entry point \"quik\"", "did you mean \"quick\"", "default, quick"],
    );
}

fn entry_hash(stored: &serde_json::Value) -> serde_json::Value {
    stored["model"]["hash"].clone()
}

#[test]
fn a_tampered_model_is_refused_with_both_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let model = copy_tiny(dir.path());
    let spec = dir.path().join("s.yaml");
    ok(&explainer(&[
        "export",
        "s",
        "--model",
        model.to_str().unwrap(),
        "--steps",
        "4",
        "--output",
        spec.to_str().unwrap(),
    ]));
    let before = documented_hash(&model);
    // Flip one byte of the weights (the file still loads: the last byte is tensor data).
    let weights = model.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&weights, bytes).unwrap();
    let after = documented_hash(&model);
    assert_ne!(before, after);
    fails(
        &explainer(&["explain", "--spec", spec.to_str().unwrap(), TEXT]),
        1,
        &["changed since the spec was written", &before, &after],
    );
    // A file the hash does not cover changes nothing.
    let dir2 = tempfile::tempdir().unwrap();
    let model2 = copy_tiny(dir2.path());
    let spec2 = dir2.path().join("s.yaml");
    ok(&explainer(&[
        "export",
        "s",
        "--model",
        model2.to_str().unwrap(),
        "--steps",
        "4",
        "--output",
        spec2.to_str().unwrap(),
    ]));
    std::fs::write(model2.join("README.md"), "notes").unwrap();
    ok(&explainer(&["explain", "--spec", spec2.to_str().unwrap(), TEXT, "--format", "json"]));
}

#[test]
fn a_relative_model_path_is_relative_to_the_spec_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = copy_tiny(dir.path());
    let hash = documented_hash(&model);
    let spec = format!(
        "spec_version: 1\nname: rel\nexplainer_version: 0.1.0\nmodel:\n  path: tiny-copy\n  hash: {hash}\nentry_points:\n- name: e\n  method: {{method: layer-integrated-gradients, n_steps: 2}}\n  baseline: {{baseline: pad}}\n  target: above:0.0\n"
    );
    std::fs::create_dir(dir.path().join("work")).unwrap();
    std::fs::write(dir.path().join("rel.yaml"), spec).unwrap();
    // Run from another folder: the path is taken relative to the spec, not the working dir.
    let out = explainer_in(
        Some(&dir.path().join("work")),
        &["explain", "--spec", "../rel.yaml", TEXT, "--format", "json"],
        None,
    );
    let doc = json(&ok(&out));
    assert_eq!(doc["run"]["target"], "above:0");
    assert_eq!(doc["run"]["model"]["hash"], hash.as_str());
}

#[test]
fn bad_spec_files_are_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let good = dir.path().join("good.yaml");
    ok(&explainer(&["export", "g", "--output", good.to_str().unwrap()]));
    let good = std::fs::read_to_string(&good).unwrap();
    let cases: Vec<(String, Vec<String>)> = vec![
        (write("broken.yaml", "spec_version: [1\n"), vec!["is not a valid spec".into()]),
        (
            write("typo.yaml", &good.replace("entry_points:", "entry_point:")),
            vec!["is not a valid spec".into()],
        ),
        (
            write("v9.yaml", &good.replace("spec_version: 1", "spec_version: 9")),
            vec!["spec_version 9".into()],
        ),
        (
            write(
                "method.yaml",
                &good.replace("method: layer-integrated-gradients", "method: layer-integrated-gradient"),
            ),
            vec!["unknown method".into(), "did you mean".into()],
        ),
        (write("option.yaml", &good.replace("n_steps:", "n_stepz:")), vec!["unknown field `n_stepz`".into()]),
        (
            write("nomodel.yaml", &good.replace("path: /", "path: /no/such/")),
            vec!["model folder".into(), "does not exist".into()],
        ),
        (
            dir.path().join("absent.yaml").to_str().unwrap().to_owned(),
            vec!["cannot read the spec file".into()],
        ),
    ];
    for (path, snippets) in &cases {
        let snippets: Vec<&str> = snippets.iter().map(String::as_str).collect();
        let line = fails(&explainer(&["explain", "--spec", path, TEXT]), 1, &snippets);
        eprintln!("{path}: {line}");
    }
}
