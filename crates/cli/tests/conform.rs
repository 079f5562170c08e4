//! `explainer conform`: the axiom suite from the command line.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn explainer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_explainer"))
}

#[test]
fn conform_on_the_bundled_model_passes_and_writes_markdown_or_json() {
    let out = explainer().args(["conform", "--cases", "2"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("| completeness |") && stdout.contains("deeplift"), "{stdout}");
    assert!(stdout.contains("Every checked claim holds."), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    let out = explainer()
        .args(["conform", "--cases", "2", "--method", "deeplift", "--format", "json", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let rows = report["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["method"] == "deeplift"));
    assert!(rows.iter().any(|r| r["axiom"] == "completeness" && r["verdict"] == "pass"));
}

#[test]
fn a_twin_model_enables_implementation_invariance() {
    let dir = tempfile::tempdir().unwrap();
    let model = explainer_testing::TinyClassifier::default_multilabel();
    let inner = model.config().inner as i64;
    let permutation: Vec<i64> = (0..inner).rev().collect();
    model.with_permuted_inner_units(&permutation).unwrap().save(dir.path()).unwrap();
    let out = explainer()
        .args([
            "conform",
            "--model",
            explainer_testing::tiny_model_dir().to_str().unwrap(),
            "--cases",
            "2",
            "--method",
            "layer-integrated-gradients",
            "--format",
            "json",
            "--twin",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["axiom"] == "implementation-invariance")
        .unwrap()
        .clone();
    assert_eq!(row["verdict"], "pass", "{row}");
}

#[test]
fn conform_errors_are_one_line() {
    for (args, expected) in [
        (vec!["conform", "--method", "deeplfit"], "did you mean"),
        (vec!["conform", "--cases", "0"], "--cases"),
        (vec!["conform", "--model", "/nonexistent/model"], "cannot load the model"),
        (vec!["conform", "--twin", "/nonexistent/twin"], "cannot load the model"),
    ] {
        let out = explainer().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}
