//! Timing of Layer Integrated Gradients on one text, for comparison with Captum
//! (`scripts/bench/lig_vs_captum.py` runs both; `docs/benchmarks.md` has the results).
//!
//! ```sh
//! cargo run --release -p explainer-integrated-gradients --example lig_bench -- \
//!   --model /tmp/explainer-bench/bert-base-random --text-file /tmp/explainer-bench/text-66.txt \
//!   --labels all --steps 50 --threads 2 --iters 3
//! ```
//!
//! Loads the checkpoint folder with `HfClassifier::load`, tokenises the text file (trailing
//! whitespace removed), and explains it with [`LayerIntegratedGradients`] at the word
//! embeddings: `--steps` Gauss–Legendre points, the `pad` baseline (special tokens kept), the
//! probability output, and `--labels first` (label 0) or `--labels all` (every label, in one
//! call). After `--warmup` untimed explanations (default 1) it times `--iters` explanations and
//! prints one JSON line with the times (`mean_s`, `median_s`, `min_s`, `times_s`), the tokens,
//! the labels explained, the steps, the memory budget and the chunk size the engine's estimate
//! gives, label 0's per-token attributions (`label0_attributions`, for the cross-check with
//! Captum), every label's `f_input`, `f_baseline` and `delta`, the token ids (`ids`), and the
//! process's peak resident set size so far (`vm_hwm_mb`, from `/proc/self/status`).

use std::path::PathBuf;
use std::time::Instant;

use explainer_baselines as _;
use explainer_core::{Baseline, Model, Output, Request, Target, explain, registry};
use explainer_integrated_gradients::{DEFAULT_MEMORY_BUDGET_MB, LayerIntegratedGradients};
use explainer_transformers::HfClassifier;
use serde_json::json;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: lig_bench --model DIR --text-file F [--labels all|first] [--steps N] \
                     [--threads T] [--iters K] [--warmup W] [--memory-budget-mb M] [--tolerance X] [--layer NAME]";

/// Which labels to explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Labels {
    First,
    All,
}

/// Command-line settings.
struct Args {
    model: PathBuf,
    text_file: PathBuf,
    labels: Labels,
    steps: usize,
    threads: i32,
    iters: usize,
    warmup: usize,
    memory_budget_mb: usize,
    tolerance: Option<f64>,
    layer: String,
}

fn parse_args() -> BoxResult<Args> {
    let mut model = None;
    let mut text_file = None;
    let mut labels = Labels::All;
    let mut steps = 50;
    let mut threads = 2;
    let mut iters = 3;
    let mut warmup = 1;
    let mut memory_budget_mb = DEFAULT_MEMORY_BUDGET_MB;
    let mut tolerance = None;
    let mut layer = explainer_core::layer_names::WORD_EMBEDDINGS.to_owned();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag} {value:?}: {e}"));
        match flag.as_str() {
            "--model" => model = Some(PathBuf::from(&value)),
            "--text-file" => text_file = Some(PathBuf::from(&value)),
            "--labels" => {
                labels = match value.as_str() {
                    "all" => Labels::All,
                    "first" => Labels::First,
                    other => return Err(format!("--labels must be all or first, not {other:?}").into()),
                }
            }
            "--steps" => steps = number()?,
            "--threads" => threads = i32::try_from(number()?)?,
            "--iters" => iters = number()?,
            "--warmup" => warmup = number()?,
            "--memory-budget-mb" => memory_budget_mb = number()?,
            "--tolerance" => {
                tolerance = Some(value.parse::<f64>().map_err(|e| format!("{flag} {value:?}: {e}"))?)
            }
            "--layer" => layer = value.clone(),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let model = model.ok_or(USAGE)?;
    let text_file = text_file.ok_or(USAGE)?;
    if threads < 1 || iters < 1 || steps < 1 || memory_budget_mb < 1 {
        return Err(format!("need --threads, --iters, --steps and --memory-budget-mb ≥ 1\n{USAGE}").into());
    }
    Ok(Args { model, text_file, labels, steps, threads, iters, warmup, memory_budget_mb, tolerance, layer })
}

/// Mean, median and minimum of the times.
fn seconds_stats(times: &[f64]) -> (f64, f64, f64) {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let mean = sorted.iter().sum::<f64>() / n as f64;
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    (mean, median, sorted[0])
}

/// The rows per chunk the engine's memory estimate gives (a copy of `bytes_per_row` and
/// `rows_per_chunk` in `src/engine.rs`, for the report only; the engine does not use this).
fn estimated_chunk_rows(model: &dyn Model, tokens: usize, budget_mb: usize) -> (usize, usize) {
    let info = model.info();
    let layers = info.layers.iter().filter(|l| l.name.starts_with("encoder.")).count().max(1) + 1;
    let hidden = info.hidden_size.max(1);
    let heads = (hidden / 64).max(1);
    let per_row = 4 * tokens * layers * (18 * hidden + 3 * heads * tokens);
    let rows = (budget_mb.saturating_mul(1 << 20) / per_row.max(1)).max(1);
    (per_row, rows)
}

/// Peak resident set size of this process so far, in MiB (Linux only; `None` elsewhere).
fn vm_hwm_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lig_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> BoxResult<()> {
    let args = parse_args()?;
    tch::set_num_threads(args.threads);

    let load_start = Instant::now();
    let model = HfClassifier::load(&args.model)?;
    let load_s = load_start.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&args.text_file)
        .map_err(|e| format!("cannot read {}: {e}", args.text_file.display()))?;
    let encoding = model.encoder().encode(text.trim_end())?;
    if encoding.truncated {
        return Err(format!(
            "the text of {} has more than the model's {} tokens",
            args.text_file.display(),
            model.encoder().max_len()
        )
        .into());
    }
    let tokens = encoding.len();
    let ids = encoding.ids.clone();

    let pad: Box<dyn Baseline> = registry::baseline("pad")?.configure(serde_json::Value::Null)?;
    let target = match args.labels {
        Labels::First => Target::Indices { indices: vec![0] },
        Labels::All => Target::All,
    };
    let method = LayerIntegratedGradients {
        n_steps: args.steps,
        memory_budget_mb: args.memory_budget_mb,
        tolerance: args.tolerance,
        layer: args.layer.clone(),
        ..Default::default()
    };
    let encodings = [encoding];
    let request = Request {
        encodings: &encodings,
        target: &target,
        baseline: pad.as_ref(),
        output: Output::Probability,
        per_dimension: false,
    };

    for _ in 0..args.warmup {
        explain(&method, &model, &request)?;
    }
    let mut times = Vec::with_capacity(args.iters);
    let mut last = None;
    for _ in 0..args.iters {
        let start = Instant::now();
        let result = explain(&method, &model, &request)?;
        times.push(start.elapsed().as_secs_f64());
        last = Some(result);
    }
    let attribution = last.and_then(|mut r| r.pop()).ok_or("no attribution returned")?;
    let label0 =
        attribution.targets.iter().find(|t| t.label_index == 0).ok_or("label 0 was not explained")?;
    let (mean, median, min) = seconds_stats(&times);
    let (bytes_per_row, chunk_rows) = estimated_chunk_rows(&model, tokens, args.memory_budget_mb);
    let line = json!({
        "impl": "explainer",
        "model": args.model.display().to_string(),
        "threads": args.threads,
        "tokens": tokens,
        "labels": attribution.targets.iter().map(|t| t.label_index).collect::<Vec<_>>(),
        "labels_explained": attribution.targets.len(),
        "steps": args.steps,
        "tolerance": args.tolerance,
        "layer": args.layer,
        "steps_used": attribution.targets.iter().map(|t| t.steps).collect::<Vec<_>>(),
        "error_estimates": attribution.targets.iter().map(|t| t.error_estimate).collect::<Vec<_>>(),
        "attributions": attribution.targets.iter().map(|t| t.tokens.clone()).collect::<Vec<_>>(),
        "warmup": args.warmup,
        "iters": args.iters,
        "memory_budget_mb": args.memory_budget_mb,
        "estimated_bytes_per_row": bytes_per_row,
        "estimated_chunk_rows": chunk_rows.min(args.steps),
        "load_s": load_s,
        "mean_s": mean,
        "median_s": median,
        "min_s": min,
        "times_s": times,
        "ids": ids,
        "label0_attributions": label0.tokens,
        "f_input": attribution.targets.iter().map(|t| t.f_input).collect::<Vec<_>>(),
        "f_baseline": attribution.targets.iter().map(|t| t.f_baseline).collect::<Vec<_>>(),
        "deltas": attribution.targets.iter().map(|t| t.delta).collect::<Vec<_>>(),
        "warnings": attribution.warnings,
        "vm_hwm_mb": vm_hwm_mb(),
    });
    println!("{line}");
    Ok(())
}
