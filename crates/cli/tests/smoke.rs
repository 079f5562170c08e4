//! The `explainer` binary: the smoke run on the bundled model and on a Hugging Face folder,
//! and one clear line on stderr with a non-zero exit for a bad folder.

use std::path::Path;
use std::process::Command;

fn explainer(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_explainer"))
        .args(args)
        .env_remove("EXPLAINER_MODEL")
        .output()
        .unwrap_or_else(|e| panic!("cannot run: {e}"))
}

#[test]
fn smoke_prints_every_label_of_the_bundled_model() {
    let out = explainer(&["smoke", "verify your password now"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/compliance-minibert/config.json");
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(config).unwrap()).unwrap();
    let labels = config["id2label"].as_object().unwrap();
    assert_eq!(labels.len(), 7);
    for label in labels.values() {
        let label = label.as_str().unwrap();
        assert!(stdout.contains(&format!("  {label} ")), "{label} missing in\n{stdout}");
    }
    assert!(stdout.contains("compliance-minibert") && !stdout.contains("random weights"), "{stdout}");
}

#[test]
fn smoke_on_the_tiny_test_model_says_its_scores_mean_nothing() {
    let tiny = explainer_testing::tiny_model_dir();
    let out = explainer(&["smoke", "--model", tiny.to_str().unwrap(), "verify your password now"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for label in explainer_testing::DEFAULT_LABELS {
        assert!(stdout.contains(&format!("  {label} ")), "{label} missing in\n{stdout}");
    }
    assert!(stdout.contains("random weights"), "{stdout}");
}

#[test]
fn smoke_loads_a_hugging_face_checkpoint() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../transformers/tests/fixtures/distilbert-tiny-multiclass");
    let out =
        explainer(&["smoke", "--model", dir.to_str().unwrap_or_default(), "The payment was refunded twice."]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("3 labels (multi-class, scores by softmax)"), "{stdout}");
    for label in ["negative", "neutral", "positive"] {
        assert!(stdout.contains(label), "{stdout}");
    }
}

#[test]
fn a_bad_model_folder_is_one_clear_line_and_a_failure() {
    let out = explainer(&["smoke", "--model", "/no/such/model"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("explainer: cannot load the model in /no/such/model"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn the_registered_methods_and_baselines_are_listed() {
    let out = explainer(&["methods"]);
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in ["layer-integrated-gradients", "integrated-gradients"] {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "{name} missing in\n{stdout}");
    }
    let out = explainer(&["baselines"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in ["pad", "unk", "mask", "zero", "average-embedding", "random-tokens"] {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "{name} missing in\n{stdout}");
    }
}
