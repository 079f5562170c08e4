//! `explainer explain` run as a binary: every output format, every text source, `--output`,
//! labels and output kinds checked against the model's own scores, colour, and one clear
//! line plus a non-zero exit for every bad argument.

#![allow(clippy::unwrap_used)]
#![allow(clippy::expect_used)]

mod common;

use common::{explainer, explainer_in, fails, json, ok, stderr, stdout};

const TEXT: &str = "please verify your account password now";

/// The label scores that `explainer smoke` prints for TEXT (4 decimals), by label.
fn smoke_scores() -> Vec<(String, f64)> {
    let out = ok(&explainer(&["smoke", TEXT]));
    out.lines()
        .filter_map(|l| {
            let mut parts = l.split_whitespace();
            let label = parts.next()?;
            let score: f64 = parts.next()?.parse().ok()?;
            l.contains("(logit").then(|| (label.to_owned(), score))
        })
        .collect()
}

fn explain_json(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["explain", TEXT, "--steps", "16", "--format", "json"];
    args.extend_from_slice(extra);
    json(&ok(&explainer(&args)))
}

#[test]
fn json_report_carries_the_run_and_matches_the_models_scores() {
    let doc = explain_json(&[]);
    assert_eq!(doc["schema"], "explainer.report/1");
    let run = &doc["run"];
    assert_eq!(run["tool"], "explainer");
    assert_eq!(run["method"]["method"], "layer-integrated-gradients");
    assert_eq!(run["method"]["n_steps"], 16);
    assert_eq!(run["baseline"]["baseline"], "pad");
    assert_eq!(run["target"], "predicted");
    assert_eq!(run["output"], "probability");
    assert_eq!(run["layer"], "embeddings.word");
    // The libtorch the binary links (torch 2.13.0's, from scripts/libtorch.sh).
    let libtorch = run["versions"]["libtorch"].as_str().unwrap();
    assert!(libtorch.starts_with("2.13."), "{libtorch}");
    let hash = run["model"]["hash"].as_str().unwrap();
    assert!(hash.starts_with("sha256:") && hash.len() == 7 + 64, "{hash}");
    let created = run["created"].as_str().unwrap();
    assert!(created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T', "{created}");

    let explanation = &doc["explanations"][0];
    assert_eq!(explanation["text"], TEXT);
    // The predictions are the scores `smoke` prints (an independent run of the model).
    let smoke = smoke_scores();
    assert_eq!(smoke.len(), 5);
    for (label, score) in &smoke {
        let p = explanation["predictions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["label"] == label.as_str())
            .unwrap();
        assert!((p["score"].as_f64().unwrap() - score).abs() < 6e-5, "{label}: {p} vs {score}");
    }
    // The explained labels are the predicted ones: scores ≥ 0.5, else the arg-max.
    let mut predicted: Vec<&str> = smoke.iter().filter(|(_, s)| *s >= 0.5).map(|(l, _)| l.as_str()).collect();
    if predicted.is_empty() {
        let best = smoke.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        predicted.push(&best.0);
    }
    let targets = explanation["targets"].as_array().unwrap();
    let explained: Vec<&str> = targets.iter().map(|t| t["label"].as_str().unwrap()).collect();
    assert_eq!(explained, predicted);
    for t in targets {
        // F(x) is the label's probability, and the attributions add up to F(x) − F(x₀).
        let label = t["label"].as_str().unwrap();
        let score = smoke.iter().find(|(l, _)| l == label).unwrap().1;
        assert!((t["f_input"].as_f64().unwrap() - score).abs() < 6e-5);
        let total: f64 =
            t["token_attributions"].as_array().unwrap().iter().map(|a| a.as_f64().unwrap()).sum();
        let gap = total - (t["f_input"].as_f64().unwrap() - t["f_baseline"].as_f64().unwrap());
        assert!(gap.abs() < 1e-3, "completeness gap {gap} for {label}");
    }
}

#[test]
fn labels_threshold_and_output_kind_choose_what_is_explained() {
    let labels = |doc: &serde_json::Value| -> Vec<String> {
        doc["explanations"][0]["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["label"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = explain_json(&["--labels", "all"]);
    assert_eq!(labels(&all), ["fraud", "spam", "threat", "insult", "pii"]);
    assert_eq!(all["run"]["target"], "all");
    let named = explain_json(&["--labels", "threat,fraud"]);
    assert_eq!(labels(&named), ["threat", "fraud"]);
    let above = explain_json(&["--threshold", "0"]);
    assert_eq!(labels(&above).len(), 5);
    assert_eq!(above["run"]["target"], "above:0");

    let logit = explain_json(&["--labels", "spam", "--output-kind", "logit"]);
    assert_eq!(logit["run"]["output"], "logit");
    let explanation = &logit["explanations"][0];
    let spam = explanation["predictions"].as_array().unwrap().iter().find(|p| p["label"] == "spam").unwrap();
    let f_input = explanation["targets"][0]["f_input"].as_f64().unwrap();
    assert!(
        (f_input - spam["logit"].as_f64().unwrap()).abs() < 1e-4,
        "F(x) {f_input} is not the logit {spam}"
    );
}

#[test]
fn method_and_baseline_options_reach_the_configs() {
    let doc = explain_json(&[
        "--method",
        "integrated-gradients",
        "--rule",
        "riemann_trapezoid",
        "--method-option",
        "multiply_by_inputs=false",
        "--baseline",
        "random-tokens",
        "--draws",
        "2",
        "--seed",
        "9",
    ]);
    let run = &doc["run"];
    assert_eq!(run["method"]["method"], "integrated-gradients");
    assert_eq!(run["method"]["rule"], "riemann_trapezoid");
    assert_eq!(run["method"]["multiply_by_inputs"], false);
    assert_eq!(
        run["baseline"],
        serde_json::json!({"baseline": "random-tokens", "draws": 2, "seed": 9, "source": "vocabulary"})
    );
}

#[test]
fn text_from_stdin_and_from_a_file_and_output_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = "wire the money to this bank account\nimmediately";
    let from_stdin = json(&ok(&explainer_in(
        None,
        &["explain", "-", "--steps", "4", "--format", "json"],
        Some(text.as_bytes()),
    )));
    assert_eq!(from_stdin["explanations"][0]["text"], text);

    let file = dir.path().join("input.txt");
    std::fs::write(&file, text).unwrap();
    let target = dir.path().join("report.json");
    let out = explainer(&[
        "explain",
        "--file",
        file.to_str().unwrap(),
        "--steps",
        "4",
        "--format",
        "json",
        "--output",
        target.to_str().unwrap(),
    ]);
    assert!(ok(&out).is_empty(), "--output writes nothing to stdout");
    let written = json(&std::fs::read_to_string(&target).unwrap());
    assert_eq!(written["explanations"][0]["text"], text);
    assert_eq!(written["explanations"][0]["targets"], from_stdin["explanations"][0]["targets"]);
    // The atomic write leaves no temporary file behind.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn html_markdown_and_text_formats() {
    let html = ok(&explainer(&["explain", TEXT, "--steps", "4", "--format", "html"]));
    assert!(html.to_ascii_lowercase().contains("<html"), "{html}");
    assert!(html.contains("password"));
    let markdown = ok(&explainer(&["explain", TEXT, "--steps", "4", "--format", "markdown"]));
    assert!(markdown.contains("password") && markdown.contains('|'), "{markdown}");
    // Piped stdout: no colour by default; --color always forces it.
    let plain = ok(&explainer(&["explain", TEXT, "--steps", "4"]));
    assert!(plain.contains("password"), "{plain}");
    assert!(!plain.contains('\x1b'), "colour escapes on a pipe:\n{plain}");
    let colored = ok(&explainer(&["explain", TEXT, "--steps", "4", "--color", "always"]));
    assert!(colored.contains("\x1b["), "no colour with --color always");
}

#[test]
fn bad_arguments_give_one_clear_line_and_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let missing = missing.to_str().unwrap();
    let cases: &[(&[&str], i32, &[&str])] = &[
        (&["explain", "hi", "--model", "/no/such/model"], 1, &["cannot load the model in /no/such/model"]),
        (
            &["explain", "hi", "--method", "layer-integrated-gradient"],
            1,
            &["unknown method", "did you mean \"layer-integrated-gradients\""],
        ),
        (&["explain", "hi", "--baseline", "pads"], 1, &["unknown baseline", "did you mean \"pad\""]),
        (&["explain", "hi", "--draws", "3"], 1, &["baseline \"pad\" has no option \"draws\"", "--draws"]),
        (
            &["explain", "hi", "--method", "integrated-gradients", "--layer", "encoder.0"],
            1,
            &["has no option \"layer\"", "n_steps"],
        ),
        (
            &["explain", "hi", "--method-option", "n_step=3"],
            1,
            &["no option \"n_step\"", "did you mean \"n_steps\""],
        ),
        (&["explain", "hi", "--method-option", "n_steps"], 1, &["expected KEY=VALUE"]),
        (&["explain", "hi", "--steps", "0"], 1, &["at least 1 step"]),
        (&["explain", "hi", "--rule", "simpson"], 1, &["unknown variant `simpson`"]),
        (&["explain", "hi", "--labels", "frauds"], 1, &["unknown label \"frauds\"", "fraud, spam"]),
        (&["explain", "hi", "--labels", "fraud", "--threshold", "0.2"], 1, &["--threshold"]),
        (&["explain", "hi", "--layer", "encoder.7"], 1, &["unknown layer \"encoder.7\""]),
        (&["explain", "   "], 1, &["the text is empty"]),
        (&["explain"], 1, &["no text to explain"]),
        (&["explain", "--file", missing], 1, &["cannot read", "missing.txt"]),
        (&["explain", "hi", "--format", "pdf"], 2, &["pdf", "possible values"]),
        (&["explain", "hi", "--frobnicate"], 2, &["--frobnicate"]),
        (
            &["explain", "hi", "--spec", "s.yaml", "--method", "integrated-gradients"],
            2,
            &["cannot be used with"],
        ),
        (&["batch", "--shard", "3/2"], 2, &["--shard", "below the shard count"]),
        (&["batch", "--resume"], 2, &["--output"]),
        (&["explain", "hi", "--device", "gpu"], 1, &["unknown device \"gpu\"", "cpu, cuda or cuda:N"]),
        // No GPU here: libtorch sees none; on a GPU machine the tiny test model refuses it.
        // Either way one line that points back to the CPU.
        (&["explain", "hi", "--device", "cuda:0"], 1, &["--device cpu"]),
        (&["batch", "--device", "cuda:7"], 1, &["--device cpu"]),
    ];
    for (args, code, snippets) in cases {
        let out = explainer(args);
        let line = fails(&out, *code, snippets);
        eprintln!("{args:?} → {line}");
    }
    // Empty stdin is an empty text too.
    let out = explainer_in(None, &["explain", "-"], Some(b"  \n"));
    fails(&out, 1, &["the text is empty"]);
    assert!(stderr(&out).len() < 300);
    assert!(stdout(&out).is_empty());
}

#[test]
fn device_cpu_is_the_default() {
    assert_eq!(explain_json(&["--device", "cpu"])["explanations"], explain_json(&[])["explanations"]);
}

#[test]
fn a_corrupt_model_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::copy_tiny(dir.path());
    std::fs::write(model.join("model.safetensors"), b"not weights").unwrap();
    fails(
        &explainer(&["explain", "hi", "--model", model.to_str().unwrap()]),
        1,
        &["cannot load the model in"],
    );
    std::fs::write(model.join("config.json"), b"{ broken").unwrap();
    fails(
        &explainer(&["explain", "hi", "--model", model.to_str().unwrap()]),
        1,
        &["cannot load the model in"],
    );
}
