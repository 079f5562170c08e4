//! The bundled default model from the command line: `explain` and `batch` without `--model`
//! explain a real trained prediction, and the default can be moved with `EXPLAINER_MODEL`.

#![allow(clippy::unwrap_used)]

mod common;

use common::{explainer_bundled, fails, json, ok};

const INSIDER: &str = "Keep this quiet: the merger with Redwood is announced Monday, buy before the news.";

#[test]
fn explain_defaults_to_the_bundled_multi_label_model() {
    let doc = json(&ok(&explainer_bundled(&["explain", INSIDER, "--steps", "16", "--format", "json"])));
    let run = &doc["run"];
    assert_eq!(run["model"]["name"], "compliance-minibert", "{run}");
    let explanation = &doc["explanations"][0];
    let targets = explanation["targets"].as_array().unwrap();
    // The predicted labels of a trained model: insider information, and nothing else here.
    let labels: Vec<&str> = targets.iter().map(|t| t["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["insider_information"], "{explanation}");
    let target = &targets[0];
    assert!(target["score"].as_f64().unwrap() > 0.9, "{target}");
    // Its explanation: F(x) − F(x₀) is what the attributions share out, up to the delta.
    let (fx, fx0, delta) = (
        target["f_input"].as_f64().unwrap(),
        target["f_baseline"].as_f64().unwrap(),
        target["delta"].as_f64().unwrap(),
    );
    let total = target["attribution_total"].as_f64().unwrap();
    assert!((total - (fx - fx0) - delta).abs() < 1e-6, "{target}");
    // The word carrying the most attribution is one a reviewer would point at.
    let words: Vec<&str> =
        explanation["words"].as_array().unwrap().iter().map(|w| w["text"].as_str().unwrap()).collect();
    let scores: Vec<f64> =
        target["word_attributions"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let top = (0..words.len()).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap();
    assert!(["quiet", "merger", "announced", "buy"].contains(&words[top]), "top word {:?}", words[top]);
}

#[test]
fn batch_defaults_to_the_bundled_model_too() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(&input, format!("{{\"id\": \"a\", \"text\": {INSIDER:?}}}\n")).unwrap();
    let out = ok(&explainer_bundled(&["batch", "--steps", "8", "--input", input.to_str().unwrap()]));
    let record = json(out.lines().next().unwrap());
    assert_eq!(record["id"], "a");
    assert!(out.contains("insider_information"), "{out}");
    assert!(out.contains("compliance-minibert"), "{out}");
}

#[test]
fn explainer_model_moves_the_default_and_a_missing_folder_is_named() {
    let out = common::run_with_env(&["explain", "hi"], &[("EXPLAINER_MODEL", "/no/such/model")]);
    fails(&out, 1, &["cannot load the model in /no/such/model"]);
}
