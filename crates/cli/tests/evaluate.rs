//! `explainer evaluate`: the methods × baselines table on a few texts of the bundled model's
//! test split, and its bad-input messages.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn explainer() -> Command {
    Command::new(env!("CARGO_BIN_EXE_explainer"))
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/compliance/sample.jsonl")
}

#[test]
fn a_small_table_on_the_bundled_model_with_the_control_row() {
    let out = explainer()
        .args(["evaluate", "--data"])
        .arg(sample())
        .args([
            "--limit",
            "4",
            "--methods",
            "layer-integrated-gradients",
            "--baselines",
            "pad,zero",
            "--steps",
            "8",
            "--bootstrap",
            "100",
            "--randomization-texts",
            "1",
            "--sensitivity-samples",
            "1",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // stderr is a pipe here: no bar, but one plain progress line per finished row.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("evaluate: 4/12 texts×rows (33 %) · layer-integrated-gradients / pad done")
            && stderr.contains("evaluate: 8/12 texts×rows (67 %) · layer-integrated-gradients / zero done")
            && stderr.contains("evaluate: 12/12 texts×rows (100 %) · random / - done"),
        "{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["texts"], 4);
    assert_eq!(report["output_function"], "sigmoid");
    let rows = report["rows"].as_array().unwrap();
    let names: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r["method"].as_str().unwrap().to_owned(), r["baseline"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        names,
        [("layer-integrated-gradients", "pad"), ("layer-integrated-gradients", "zero"), ("random", "-")]
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let lig = &rows[0];
    // The explained labels of 4 texts: every metric has values, with an interval around the mean.
    for key in ["comprehensiveness", "sufficiency", "tau_loo", "infidelity", "token_f1", "iou_f1", "auprc"] {
        let s = &lig["metrics"][key];
        let mean = s["mean"].as_f64().unwrap_or_else(|| panic!("{key}: {s}"));
        let (lo, hi) = (s["ci"][0].as_f64().unwrap(), s["ci"][1].as_f64().unwrap());
        assert!(lo <= mean + 1e-12 && mean <= hi + 1e-12, "{key}: {mean} outside [{lo}, {hi}]");
    }
    // LIG with a pad baseline on the trained model beats random attributions on
    // comprehensiveness and on token F1 (the rationale words carry the labels).
    let control = &rows[2];
    let m = |row: &serde_json::Value, key: &str| row["metrics"][key]["mean"].as_f64().unwrap();
    assert!(m(lig, "comprehensiveness") > m(control, "comprehensiveness"));
    assert!(m(lig, "token_f1") > m(control, "token_f1"));
    // LIG reports its convergence delta; the control has none.
    assert!(lig["completeness_delta"]["mean"].as_f64().unwrap() >= 0.0);
    assert!(control.get("completeness_delta").is_none());
    // The randomisation check ran every stage.
    let stages = report["randomization_stages"].as_array().unwrap();
    assert_eq!(stages[0], "classifier");
    assert!(lig["randomization"][stages[0].as_str().unwrap()]["n"].as_u64().unwrap() > 0);

    // The same table as Markdown, HTML and text.
    for (format, needle) in [("markdown", "| method | baseline |"), ("html", "<table>"), ("text", "compr ↑")]
    {
        let out = explainer()
            .args(["evaluate", "--data"])
            .arg(sample())
            .args([
                "--limit",
                "2",
                "--methods",
                "layer-integrated-gradients",
                "--baselines",
                "pad",
                "--steps",
                "8",
            ])
            .args([
                "--bootstrap",
                "20",
                "--randomization-texts",
                "0",
                "--sensitivity-samples",
                "0",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(needle) && text.contains("random"), "{format}: {text}");
    }
}

#[test]
fn data_without_rationales_gives_faithfulness_only_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.jsonl");
    std::fs::write(
        &path,
        "{\"id\":\"a\",\"text\":\"Send me the client's passport number, then move this to WhatsApp.\"}\n",
    )
    .unwrap();
    let out = explainer()
        .args(["evaluate", "--data"])
        .arg(&path)
        .args([
            "--methods",
            "layer-integrated-gradients",
            "--baselines",
            "pad",
            "--steps",
            "8",
            "--bootstrap",
            "20",
        ])
        .args(["--randomization-texts", "0", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("faithfulness metrics only") && stderr.contains("rationale"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let row = &report["rows"][0];
    assert!(row["metrics"]["comprehensiveness"]["mean"].is_f64());
    assert!(row["metrics"]["token_f1"]["mean"].is_null());
    assert!(report["notes"][0].as_str().unwrap().contains("plausibility"));
}

#[test]
fn a_malformed_line_is_named_by_its_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.jsonl");
    std::fs::write(&path, "{\"text\":\"fine\"}\n{\"text\":\"fine too\"}\n{\"text\": broken\n").unwrap();
    let out = explainer().args(["evaluate", "--data"]).arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.jsonl") && stderr.contains("line 3"), "{stderr}");
}

/// One process per method, merged: the same rows as one run over both methods, one control row.
#[test]
fn tables_of_one_method_each_merge_into_the_table_of_both() {
    let dir = tempfile::tempdir().unwrap();
    let run = |methods: &str, file: &str| {
        let path = dir.path().join(file);
        let out = explainer()
            .args(["evaluate", "--data"])
            .arg(sample())
            .args(["--limit", "2", "--methods", methods, "--baselines", "pad", "--steps", "4"])
            .args(["--bootstrap", "20", "--randomization-texts", "0", "--sensitivity-samples", "0"])
            .args(["--format", "json", "-o"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        path
    };
    let (a, b) = (run("saliency", "a.json"), run("input-x-gradient", "b.json"));
    let both = run("saliency,input-x-gradient", "both.json");
    let out = explainer().args(["evaluate", "--format", "json", "--merge"]).arg(&a).arg(&b).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut merged: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(both).unwrap()).unwrap();
    // Seconds per text are measured, not computed: they differ between runs.
    for doc in [&mut expected, &mut merged] {
        for row in doc["rows"].as_array_mut().unwrap() {
            row["seconds_per_text"] = 0.0.into();
        }
    }
    assert_eq!(merged, expected);

    // A table of other texts is refused, naming what differs.
    let other = dir.path().join("other.json");
    let out = explainer()
        .args(["evaluate", "--data"])
        .arg(sample())
        .args(["--limit", "3", "--methods", "saliency", "--baselines", "pad", "--bootstrap", "20"])
        .args(["--randomization-texts", "0", "--sensitivity-samples", "0", "--format", "json", "-o"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = explainer().args(["evaluate", "--merge"]).arg(&a).arg(&other).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("differs from report 0 in the texts"), "{stderr}");
}
