//! `--long-text` on the command line (the tiny model reads 32 tokens): `truncate` stays the
//! default and warns; `windows` explains the whole text, in `explain` and `batch`, and says
//! so in every format.

#![allow(clippy::unwrap_used)]
#![allow(clippy::expect_used)]

mod common;

use common::{explainer, explainer_in, fails, json, ok};

/// 75 words: more than two windows of the tiny model's 30 text tokens.
fn long_text() -> String {
    let words = "please send the money now or we will call you at this number and your account is not safe";
    let mut text = String::new();
    for k in 0..4 {
        text.push_str(words);
        text.push_str(if k == 3 { " final words here" } else { " " });
    }
    text
}

#[test]
fn windows_cover_the_whole_text_and_name_the_driving_window() {
    let text = long_text();
    let out = ok(&explainer(&[
        "explain",
        &text,
        "--method",
        "deeplift",
        "--labels",
        "all",
        "--long-text",
        "windows",
        "--stride",
        "10",
        "--format",
        "json",
    ]));
    let e = &json(&out)["explanations"][0];
    assert_eq!(e["truncated"], false);
    assert_eq!(e["words"].as_array().unwrap().len(), text.split_whitespace().count());
    let windows = &e["windows"];
    assert_eq!(windows["window_tokens"], 32);
    assert_eq!(windows["stride"], 10);
    assert_eq!(windows["score_rule"], "max");
    let list = windows["windows"].as_array().unwrap();
    assert!(list.len() >= 3, "{} windows", list.len());
    assert_eq!(list.last().unwrap()["end"].as_u64().unwrap() as usize, text.chars().count());
    let targets = e["targets"].as_array().unwrap();
    assert_eq!(windows["drivers"].as_array().unwrap().len(), targets.len());
    for t in targets {
        assert!(t["delta"].is_null());
        let i = t["label_index"].as_u64().unwrap();
        let best = list
            .iter()
            .map(|w| {
                w["targets"].as_array().unwrap().iter().find(|x| x["label_index"] == i).unwrap()["score"]
                    .as_f64()
                    .unwrap()
            })
            .fold(f64::MIN, f64::max);
        assert_eq!(t["score"].as_f64().unwrap(), best, "multi-label: the max over windows");
    }
    let terminal = ok(&explainer(&["explain", &text, "--method", "deeplift", "--long-text", "windows"]));
    assert!(terminal.contains("overlapping windows") && terminal.contains("driven by window"), "{terminal}");
    assert!(terminal.contains("final") && !terminal.contains("TRUNCATED"), "{terminal}");
}

#[test]
fn truncate_is_the_default_and_a_stride_needs_windows() {
    let text = long_text();
    let e = json(&ok(&explainer(&["explain", &text, "--method", "deeplift", "--format", "json"])));
    let e = &e["explanations"][0];
    assert_eq!(e["truncated"], true);
    assert!(e.get("windows").is_none());
    let out = explainer(&["explain", &text, "--stride", "5"]);
    fails(&out, 1, &["--stride", "--long-text windows"]);
    let out = explainer(&["explain", &text, "--long-text", "windows", "--stride", "31"]);
    fails(&out, 1, &["--stride must be between 1 and the window's 30 text tokens"]);
}

#[test]
fn batch_explains_long_records_in_windows() {
    let text = long_text();
    let input = format!(
        "{}\n{}\n",
        serde_json::json!({"id": "short", "text": "send the money now"}),
        serde_json::json!({"id": "long", "text": text})
    );
    let out = explainer_in(
        None,
        &["batch", "--method", "deeplift", "--long-text", "windows"],
        Some(input.as_bytes()),
    );
    let stdout = ok(&out);
    let records: Vec<serde_json::Value> = stdout.lines().map(json).collect();
    assert_eq!(records.len(), 2);
    for r in &records {
        let windows = r["explanation"].get("windows");
        assert_eq!(windows.is_some(), r["id"] == "long", "{}", r["id"]);
        assert_eq!(r["explanation"]["truncated"], false);
    }
}

#[test]
fn a_spec_file_carries_the_long_text_setting_and_the_flags_override_it() {
    let text = long_text();
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("long.yaml");
    let spec = spec.to_str().unwrap();
    let export = ["export", "long-mails", "--method", "deeplift", "--long-text", "windows", "--stride", "7"];
    assert!(ok(&explainer(&[&export[..], &["--output", spec]].concat())).is_empty());
    let yaml = std::fs::read_to_string(spec).unwrap();
    assert!(
        yaml.contains("long_text:") && yaml.contains("mode: windows") && yaml.contains("stride: 7"),
        "{yaml}"
    );
    let explain = |extra: &[&str]| {
        let args = [&["explain", "--spec", spec, &text, "--format", "json"][..], extra].concat();
        json(&ok(&explainer(&args)))["explanations"][0].clone()
    };
    // The spec's setting, then the flags over it.
    let e = explain(&[]);
    assert_eq!((e["truncated"].clone(), e["windows"]["stride"].clone()), (false.into(), 7.into()));
    assert_eq!(explain(&["--stride", "9"])["windows"]["stride"], 9);
    assert_eq!(explain(&["--long-text", "windows"])["windows"]["stride"], 7, "the spec's stride stays");
    let e = explain(&["--long-text", "truncate"]);
    assert_eq!(e["truncated"], true);
    assert!(e.get("windows").is_none());
    fails(&explainer(&["export", "x", "--stride", "3"]), 1, &["--stride", "--long-text windows"]);
}
