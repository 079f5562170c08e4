//! Timing of Layer Conductance (one layer or the all-layer sweep) on one text, for comparison
//! with Captum (`scripts/bench/conductance_vs_captum.py` runs both; `docs/benchmarks.md` has
//! the results).
//!
//! ```sh
//! cargo run --release -p explainer-conductance --example conductance_bench -- \
//!   --model /tmp/explainer-bench/bert-base-random --text-file /tmp/explainer-bench/text-bert-base-random-66.txt \
//!   --mode layer --layer encoder.3 --labels first --steps 50 --threads 2 --iters 3
//! ```
//!
//! Loads the checkpoint folder with `HfClassifier::load`, tokenises the text file (trailing
//! whitespace removed) and explains it with `--mode layer` ([`LayerConductance`] at
//! `--layer`) or `--mode sweep` ([`ConductanceSweep`]: the embeddings and every encoder layer):
//! `--steps` Gauss–Legendre steps, the `pad` baseline, the probability output, `--labels first`
//! (label 0) or `--labels all`. After `--warmup` untimed runs (default 1) it times `--iters`
//! runs and prints one JSON line: the times (`median_s`, `min_s`, `mean_s`, `times_s`), the
//! token ids, label 0's per-token attributions at `--layer` (for the sweep: its column), every
//! label's delta at that layer, and the peak resident set size (`vm_hwm_mb`).

use std::path::PathBuf;
use std::time::Instant;

use explainer_baselines as _;
use explainer_conductance::{ConductanceSweep, LayerConductance};
use explainer_core::{Baseline, Method, Model, Output, Request, Target, explain, registry};
use explainer_transformers::HfClassifier;
use serde_json::json;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: conductance_bench --model DIR --text-file F [--mode layer|sweep] [--layer L] \
                     [--labels all|first] [--steps N] [--threads T] [--iters K] [--warmup W]";

/// Command-line settings.
struct Args {
    model: PathBuf,
    text_file: PathBuf,
    sweep: bool,
    layer: String,
    all_labels: bool,
    steps: usize,
    threads: i32,
    iters: usize,
    warmup: usize,
}

fn parse_args() -> BoxResult<Args> {
    let mut args = Args {
        model: PathBuf::new(),
        text_file: PathBuf::new(),
        sweep: false,
        layer: "encoder.3".into(),
        all_labels: false,
        steps: 50,
        threads: 2,
        iters: 3,
        warmup: 1,
    };
    let (mut model, mut text) = (None, None);
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
            "--text-file" => text = Some(PathBuf::from(&value)),
            "--mode" => {
                args.sweep = match value.as_str() {
                    "layer" => false,
                    "sweep" => true,
                    other => return Err(format!("--mode must be layer or sweep, not {other:?}").into()),
                }
            }
            "--layer" => args.layer = value.clone(),
            "--labels" => {
                args.all_labels = match value.as_str() {
                    "all" => true,
                    "first" => false,
                    other => return Err(format!("--labels must be all or first, not {other:?}").into()),
                }
            }
            "--steps" => args.steps = number()?,
            "--threads" => args.threads = i32::try_from(number()?)?,
            "--iters" => args.iters = number()?,
            "--warmup" => args.warmup = number()?,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    args.model = model.ok_or(USAGE)?;
    args.text_file = text.ok_or(USAGE)?;
    if args.threads < 1 || args.iters < 1 || args.steps < 1 {
        return Err(format!("need --threads, --iters and --steps ≥ 1\n{USAGE}").into());
    }
    Ok(args)
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

/// Peak resident set size of this process so far, in MiB (Linux only).
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
            eprintln!("conductance_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> BoxResult<()> {
    let args = parse_args()?;
    tch::set_num_threads(args.threads);
    let model = HfClassifier::load(&args.model)?;
    let text = std::fs::read_to_string(&args.text_file)
        .map_err(|e| format!("cannot read {}: {e}", args.text_file.display()))?;
    let encoding = model.encoder().encode(text.trim_end())?;
    let tokens = encoding.len();
    let ids = encoding.ids.clone();
    let pad: Box<dyn Baseline> = registry::baseline("pad")?.configure(serde_json::Value::Null)?;
    let target = if args.all_labels { Target::All } else { Target::Indices { indices: vec![0] } };
    let method: Box<dyn Method> = if args.sweep {
        Box::new(ConductanceSweep { n_steps: args.steps, ..Default::default() })
    } else {
        Box::new(LayerConductance { layer: args.layer.clone(), n_steps: args.steps, ..Default::default() })
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
        explain(method.as_ref(), &model, &request)?;
    }
    let mut times = Vec::with_capacity(args.iters);
    let mut last = None;
    for _ in 0..args.iters {
        let start = Instant::now();
        let result = explain(method.as_ref(), &model, &request)?;
        times.push(start.elapsed().as_secs_f64());
        last = Some(result);
    }
    let attribution = last.and_then(|mut r| r.pop()).ok_or("no attribution returned")?;
    // The column and deltas at --layer (for the sweep too).
    let column = |t: &explainer_core::TargetAttribution| -> BoxResult<(Vec<f64>, f64)> {
        match &t.layer_sweep {
            None => Ok((t.tokens.clone(), t.delta.unwrap_or(f64::NAN))),
            Some(s) => {
                let l =
                    s.layers.iter().position(|x| *x == args.layer).ok_or("--layer is not in the sweep")?;
                Ok((s.scores.iter().map(|row| row[l]).collect(), s.deltas[l]))
            }
        }
    };
    let label0 =
        attribution.targets.iter().find(|t| t.label_index == 0).ok_or("label 0 was not explained")?;
    let (label0_attributions, _) = column(label0)?;
    let deltas: Vec<f64> =
        attribution.targets.iter().map(|t| column(t).map(|c| c.1)).collect::<BoxResult<_>>()?;
    let (mean, median, min) = seconds_stats(&times);
    let line = json!({
        "impl": "explainer",
        "mode": if args.sweep { "sweep" } else { "layer" },
        "layer": args.layer,
        "swept_layers": label0.layer_sweep.as_ref().map(|s| s.layers.clone()),
        "model": args.model.display().to_string(),
        "threads": args.threads,
        "tokens": tokens,
        "labels": attribution.targets.iter().map(|t| t.label_index).collect::<Vec<_>>(),
        "steps": args.steps,
        "mean_s": mean,
        "median_s": median,
        "min_s": min,
        "times_s": times,
        "ids": ids,
        "label0_attributions": label0_attributions,
        "deltas": deltas,
        "vm_hwm_mb": vm_hwm_mb(),
    });
    println!("{line}");
    Ok(())
}
