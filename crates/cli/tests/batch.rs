//! `explainer batch` run as a binary: JSONL and CSV in, one record per line out, streaming
//! through stdin/stdout, resume after a kill (torn last line), shards that cover every record
//! exactly once, malformed lines reported with their line number (or fatal with --strict).

#![allow(clippy::unwrap_used)]
#![allow(clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{explainer, explainer_in, fails, json, stderr};

const TEXTS: [&str; 7] = [
    "verify your password now",
    "the invoice is attached",
    "send the money to this account immediately please",
    "you won a free prize",
    "the payment was refunded twice",
    "click the link",
    "we will wire the transfer to the bank today and send the card",
];

fn jsonl_input() -> String {
    TEXTS.iter().enumerate().map(|(i, t)| format!("{{\"id\": \"r{i}\", \"text\": {t:?}}}\n")).collect()
}

/// Parses batch output: each line a record; returns id → record, asserting ids are unique.
fn records(output: &str) -> BTreeMap<String, serde_json::Value> {
    let mut map = BTreeMap::new();
    for line in output.lines() {
        let record = json(line);
        assert_eq!(record["schema"], "explainer.report/1");
        let id = record["id"].as_str().unwrap().to_owned();
        assert_eq!(record["explanation"]["id"], id.as_str());
        assert!(map.insert(id.clone(), record).is_none(), "id {id} written twice");
    }
    map
}

fn run_batch(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    let mut all = vec!["batch", "--steps", "4"];
    all.extend_from_slice(args);
    explainer_in(Some(dir), &all, stdin)
}

#[test]
fn jsonl_from_stdin_to_stdout_one_record_per_text() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_batch(dir.path(), &["--window", "3", "--batch-size", "2"], Some(jsonl_input().as_bytes()));
    assert!(out.status.success(), "{}", stderr(&out));
    let got = records(&String::from_utf8(out.stdout.clone()).unwrap());
    assert_eq!(got.len(), TEXTS.len());
    for (i, text) in TEXTS.iter().enumerate() {
        let r = &got[&format!("r{i}")];
        assert_eq!(r["explanation"]["text"], *text);
        assert_eq!(r["run"]["model_hash"].as_str().unwrap().len(), 7 + 64);
        assert_eq!(r["run"]["method"]["n_steps"], 4);
        assert!(!r["explanation"]["targets"].as_array().unwrap().is_empty());
    }
    // Batched by length or not, each record equals the one-text `explain` of its text.
    let single = json(&common::ok(&explainer(&["explain", TEXTS[2], "--steps", "4", "--format", "json"])));
    assert_eq!(got["r2"]["explanation"]["targets"], single["explanations"][0]["targets"]);
    let summary = stderr(&out);
    assert!(summary.contains("7 explained, 0 skipped as already done, 0 failed, 0 malformed"), "{summary}");
    assert_eq!(summary.lines().count(), 1, "only the summary on a non-terminal stderr:\n{summary}");
}

#[test]
fn csv_with_configurable_fields_and_line_number_ids() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "key,body,other\nk1,\"verify, your password\",x\n,\"the invoice\nis attached\",y\nk3,click the link,z\n";
    std::fs::write(dir.path().join("in.csv"), csv).unwrap();
    let out = run_batch(
        dir.path(),
        &["--input", "in.csv", "--id-field", "key", "--text-field", "body", "--output", "out.jsonl"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let got = records(&std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap());
    let ids: Vec<&str> = got.keys().map(String::as_str).collect();
    // The row without a key gets its line number (it starts on line 3).
    assert_eq!(ids, ["3", "k1", "k3"]);
    assert_eq!(got["3"]["explanation"]["text"], "the invoice\nis attached");
    assert_eq!(got["k1"]["explanation"]["text"], "verify, your password");
    // A header without the text column is one clear error.
    let out = run_batch(dir.path(), &["--input", "in.csv"], None);
    fails(&out, 1, &["no column \"text\"", "key, body, other"]);
}

#[test]
fn resume_after_a_kill_keeps_each_id_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), jsonl_input()).unwrap();
    let full = run_batch(dir.path(), &["--input", "in.jsonl", "--output", "full.jsonl"], None);
    assert!(full.status.success(), "{}", stderr(&full));
    let reference = std::fs::read_to_string(dir.path().join("full.jsonl")).unwrap();
    let lines: Vec<&str> = reference.lines().collect();
    assert_eq!(lines.len(), TEXTS.len());

    // A killed run: three complete lines, then half of the fourth (no newline).
    let torn = &lines[3][..lines[3].len() / 2];
    let partial = format!("{}\n{}\n{}\n{torn}", lines[0], lines[1], lines[2]);
    std::fs::write(dir.path().join("out.jsonl"), &partial).unwrap();
    let done_before: Vec<String> =
        lines[..3].iter().map(|l| json(l)["id"].as_str().unwrap().to_owned()).collect();

    // Without --resume an existing output is refused, untouched.
    fails(&run_batch(dir.path(), &["--input", "in.jsonl", "--output", "out.jsonl"], None), 1, &["--resume"]);
    assert_eq!(std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap(), partial);

    let out = run_batch(dir.path(), &["--input", "in.jsonl", "--output", "out.jsonl", "--resume"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(log.contains("torn last line"), "{log}");
    assert!(log.contains("4 explained, 3 skipped as already done"), "{log}");
    let text = std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap();
    assert!(text.ends_with('\n'));
    let got = records(&text); // every line parses, no id twice
    assert_eq!(got.len(), TEXTS.len());
    // The first three lines are the old ones, byte for byte; the rest are new.
    assert!(text.starts_with(&format!("{}\n{}\n{}\n", lines[0], lines[1], lines[2])));
    let new_ids: Vec<String> =
        text.lines().skip(3).map(|l| json(l)["id"].as_str().unwrap().to_owned()).collect();
    assert!(new_ids.iter().all(|id| !done_before.contains(id)));
    // Resuming a finished run does nothing.
    let again = run_batch(dir.path(), &["--input", "in.jsonl", "--output", "out.jsonl", "--resume"], None);
    assert!(stderr(&again).contains("0 explained, 7 skipped"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(dir.path().join("out.jsonl")).unwrap(), text);
}

#[test]
fn two_shards_cover_every_record_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.jsonl"), jsonl_input()).unwrap();
    let mut seen = BTreeMap::new();
    for shard in ["0/2", "1/2"] {
        let out = run_batch(dir.path(), &["--input", "in.jsonl", "--shard", shard], None);
        assert!(out.status.success(), "{}", stderr(&out));
        let got = records(&String::from_utf8(out.stdout).unwrap());
        assert!(!got.is_empty());
        for id in got.keys() {
            assert!(seen.insert(id.clone(), shard).is_none(), "{id} in two shards");
        }
    }
    let expected: Vec<String> = (0..TEXTS.len()).map(|i| format!("r{i}")).collect();
    assert_eq!(seen.keys().cloned().collect::<Vec<_>>(), expected);
    // Record k goes to shard k mod 2.
    for (k, id) in expected.iter().enumerate() {
        assert_eq!(seen[id], if k % 2 == 0 { "0/2" } else { "1/2" });
    }
}

#[test]
fn malformed_lines_are_reported_with_their_line_number_or_stop_a_strict_run() {
    let dir = tempfile::tempdir().unwrap();
    let input = "{\"id\": \"a\", \"text\": \"verify your password\"}\n\
                 {\"id\": \"b\", \"text\": \n\
                 \n\
                 {\"id\": \"c\", \"body\": \"no text field\"}\n\
                 {\"id\": \"d\", \"text\": \"  \"}\n\
                 {\"id\": \"e\", \"text\": \"click the link\"}\n";
    let out = run_batch(dir.path(), &[], Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let got = records(&String::from_utf8(out.stdout.clone()).unwrap());
    assert_eq!(got.keys().collect::<Vec<_>>(), ["a", "e"]);
    let log = stderr(&out);
    assert!(log.contains("line 2: not valid JSON"), "{log}");
    assert!(log.contains("line 4: no \"text\" field"), "{log}");
    assert!(log.contains("line 5 (id \"d\"): the text is empty"), "{log}");
    assert!(log.contains("2 explained, 0 skipped as already done, 1 failed, 2 malformed"), "{log}");

    let out = run_batch(dir.path(), &["--strict"], Some(input.as_bytes()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("line 2: not valid JSON") && err.contains("--strict"), "{err}");
    assert!(!err.contains("line 4"), "a strict run stops at the first bad line: {err}");
    // What came before the bad line is explained and written.
    assert_eq!(records(&String::from_utf8(out.stdout).unwrap()).keys().collect::<Vec<_>>(), ["a"]);

    // A bad CSV row is reported the same way.
    let csv = "id,text\n1,verify your password\n2,too,many,fields\n3,click the link\n";
    let out = run_batch(dir.path(), &["--format", "csv"], Some(csv.as_bytes()));
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("line 3: bad CSV row"), "{}", stderr(&out));
    assert_eq!(records(&String::from_utf8(out.stdout).unwrap()).len(), 2);
}

#[test]
fn batch_input_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    fails(
        &run_batch(dir.path(), &["--input", "missing.jsonl"], None),
        1,
        &["cannot open the input file missing.jsonl"],
    );
    fails(
        &run_batch(dir.path(), &["--labels", "nope"], Some(b"{\"text\": \"x\"}\n")),
        1,
        &["unknown label \"nope\""],
    );
    std::fs::write(dir.path().join("in.jsonl"), "{\"text\": \"x\"}\n").unwrap();
    fails(
        &run_batch(dir.path(), &["--input", "in.jsonl", "--output", "./in.jsonl", "--overwrite"], None),
        1,
        &["is the input file"],
    );
    assert_eq!(std::fs::read_to_string(dir.path().join("in.jsonl")).unwrap(), "{\"text\": \"x\"}\n");
    // A line of the output file that is not a record is not silently dropped.
    std::fs::write(dir.path().join("out.jsonl"), "garbage\n").unwrap();
    fails(
        &run_batch(dir.path(), &["--output", "out.jsonl", "--resume"], Some(b"{\"text\": \"x\"}\n")),
        1,
        &["line 1 of the output file", "not an explainer record"],
    );
}

#[test]
fn a_run_killed_mid_way_resumes_to_every_id_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let input: String = (0..40)
        .map(|i| format!("{{\"id\": {i}, \"text\": \"{}\"}}\n", TEXTS[i % TEXTS.len()].repeat(1 + i % 3)))
        .collect();
    std::fs::write(dir.path().join("in.jsonl"), input).unwrap();
    let out_path = dir.path().join("out.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_explainer"))
        .args(["batch", "--steps", "4", "--window", "4", "--input", "in.jsonl", "--output", "out.jsonl"])
        .env("EXPLAINER_MODEL", common::tiny_dir())
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // SIGKILL once a few records are out: no chance to clean up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_to_string(&out_path).map(|t| t.lines().count()).unwrap_or(0) < 3
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = std::fs::read_to_string(&out_path).unwrap();
    let done = before.lines().filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()).count();
    assert!(done >= 3);

    let out = run_batch(
        dir.path(),
        &["--window", "4", "--input", "in.jsonl", "--output", "out.jsonl", "--resume"],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("skipped as already done"), "{}", stderr(&out));
    let got = records(&std::fs::read_to_string(&out_path).unwrap());
    let expected: Vec<String> = (0..40).map(|i| i.to_string()).collect();
    let mut ids: Vec<String> = got.keys().cloned().collect();
    ids.sort_by_key(|id| id.parse::<u32>().unwrap());
    assert_eq!(ids, expected);
}
