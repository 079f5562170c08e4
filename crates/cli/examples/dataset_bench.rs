//! Times explaining a data set the way `explainer batch` does (texts sorted by length, given
//! to the method `--batch-size` at a time, every predicted label), warm and in-process, for
//! `scripts/bench/dataset_vs_captum.py`.
//!
//! ```sh
//! cargo run --release -p explainer-cli --example dataset_bench -- \
//!   --model /tmp/explainer-bench/minilm-6 --texts /tmp/explainer-bench/dataset-40.jsonl \
//!   --method '{"method":"layer-integrated-gradients","tolerance":1e-3}' --threads 2 \
//!   --attributions /tmp/explainer-bench/explainer-attributions.json
//! ```
//!
//! `--texts`: JSONL with a `text` field. `--method`: a method config (JSON, registry name in
//! `method`); the baseline is `pad` (special tokens kept). `--labels predicted` (default) or
//! `first` (label 0). After `--warmup` untimed explanations of the first text, times
//! `--iters` passes over the whole data set and prints one JSON line: the seconds of each pass,
//! the texts, labels and integration points explained, and the peak RSS. `--attributions FILE`
//! writes every label's per-token scores (of the last pass) for the cross-check.

use std::path::PathBuf;
use std::time::Instant;

use explainer_baselines as _;
use explainer_conductance as _;
use explainer_core::{Encoding, Method, Output, Target};
use explainer_deeplift as _;
use explainer_gradients as _;
use explainer_integrated_gradients as _;
use explainer_perturbation as _;
use explainer_pipeline::Setup;
use explainer_pipeline::configs::baseline_config;

type BoxResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: dataset_bench --model DIR --texts FILE.jsonl [--method JSON] [--labels predicted|first] \
                     [--threads T] [--batch-size N] [--warmup W] [--iters K] [--attributions FILE]";

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> BoxResult<()> {
    let mut model: Option<PathBuf> = None;
    let mut texts: Option<PathBuf> = None;
    let mut method = r#"{"method":"layer-integrated-gradients"}"#.to_owned();
    let mut first_label = false;
    let mut threads = 2i32;
    let mut batch_size = 8usize;
    let mut warmup = 1usize;
    let mut iters = 1usize;
    let mut attributions_out: Option<PathBuf> = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            return Ok(());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--model" => model = Some(PathBuf::from(value)),
            "--texts" => texts = Some(PathBuf::from(value)),
            "--method" => method = value,
            "--labels" => {
                first_label = match value.as_str() {
                    "predicted" => false,
                    "first" => true,
                    other => return Err(format!("--labels must be predicted or first, not {other:?}").into()),
                }
            }
            "--threads" => threads = value.parse()?,
            "--batch-size" => batch_size = value.parse()?,
            "--warmup" => warmup = value.parse()?,
            "--iters" => iters = value.parse()?,
            "--attributions" => attributions_out = Some(PathBuf::from(value)),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let model = model.ok_or(USAGE)?;
    let texts = texts.ok_or(USAGE)?;
    if batch_size == 0 || iters == 0 {
        return Err("--batch-size and --iters must be at least 1".into());
    }
    explainer_core::tch::set_num_threads(threads);
    let method: Box<dyn Method> = serde_json::from_str(&method)?;
    let target = if first_label { Target::Indices { indices: vec![0] } } else { Target::Predicted };
    let setup =
        Setup::new(Some(&model), method, baseline_config("pad", Vec::new())?, target, Output::Probability)?;
    let encoder = setup.model.encoder();
    let mut encodings: Vec<(usize, Encoding)> = Vec::new();
    for (i, line) in std::fs::read_to_string(&texts)?.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: serde_json::Value = serde_json::from_str(line)?;
        let text = record["text"].as_str().ok_or_else(|| format!("line {}: no text field", i + 1))?;
        encodings.push((i, encoder.encode(text)?));
    }
    if encodings.is_empty() {
        return Err("no texts".into());
    }
    for _ in 0..warmup {
        setup.explain(std::slice::from_ref(&encodings[0].1))?;
    }
    // As `explainer batch`: sorted by length (one window holds them all), groups of batch_size.
    let mut sorted = encodings.clone();
    sorted.sort_by_key(|(_, e)| e.len());
    let mut seconds = Vec::with_capacity(iters);
    let mut last = Vec::new();
    for _ in 0..iters {
        let started = Instant::now();
        last.clear();
        for group in sorted.chunks(batch_size) {
            let group_encodings: Vec<Encoding> = group.iter().map(|(_, e)| e.clone()).collect();
            let attributions = setup.explain(&group_encodings)?;
            last.extend(group.iter().map(|(i, _)| *i).zip(attributions));
        }
        seconds.push(started.elapsed().as_secs_f64());
    }
    last.sort_by_key(|(i, _)| *i);
    let labels: usize = last.iter().map(|(_, a)| a.targets.len()).sum();
    let points: usize = last.iter().flat_map(|(_, a)| a.targets.iter().map(|t| t.steps.unwrap_or(0))).sum();
    let warnings: usize = last.iter().map(|(_, a)| a.warnings.len()).sum();
    if let Some(path) = attributions_out {
        let records: Vec<serde_json::Value> = last
            .iter()
            .map(|(i, a)| {
                serde_json::json!({
                    "line": i,
                    "ids": a.encoding.ids,
                    "targets": a.targets.iter().map(|t| serde_json::json!({
                        "label": t.label_index, "tokens": t.tokens, "delta": t.delta,
                        "steps": t.steps, "error_estimate": t.error_estimate,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        std::fs::write(path, serde_json::to_string(&records)?)?;
    }
    println!(
        "{}",
        serde_json::json!({
            "seconds": seconds, "texts": last.len(), "labels": labels, "points": points,
            "warnings": warnings, "peak_rss_mb": peak_rss_mb(), "threads": threads, "batch_size": batch_size,
        })
    );
    Ok(())
}
