//! Timing of exact DeepLift on one text, for comparison with Captum's DeepLift
//! (`scripts/bench/deeplift_vs_captum.py` runs both; `docs/benchmarks.md` has the results).
//!
//! ```sh
//! cargo run --release -p explainer-deeplift --example deeplift_bench -- \
//!   --model /tmp/explainer-bench/minilm-random --text-file /tmp/explainer-bench/text-minilm-random-66.txt \
//!   --labels all --threads 2 --iters 5 --profile 1
//! ```
//!
//! Loads the checkpoint folder with `HfClassifier::load`, tokenises the text file (trailing
//! whitespace removed), and explains it with [`DeepLift`] at the word embeddings: the `pad`
//! baseline (special tokens kept), the probability output, and `--labels first` (label 0) or
//! `--labels all` (every label, in one call). After `--warmup` untimed explanations (one by
//! default) it times `--iters` explanations and prints one JSON line with the times
//! (`mean_s`, `median_s`, `min_s`, `times_s`), the tokens, the labels explained, label 0's
//! per-token attributions (`label0_attributions`), every label's sum of attributions
//! (`sums`), `f_input`, `f_baseline` and `delta`, the token ids (`ids`) and the pad
//! baseline's (`reference_ids`), and the process's peak resident set size so far
//! (`vm_hwm_mb`).
//!
//! With `--profile 1` it also times the stages of the same work on the same paired batch of
//! two rows (input, then reference), with the same warmup and iterations; `profile` holds
//! each stage's median and minimum in seconds:
//!
//! - `explain_s`: the timed explanations above (the method end to end);
//! - `plain_forward_nograd_s`: one forward pass with the default ops, without a graph;
//! - `plain_forward_backward_s`: the same forward with the word embeddings kept for gradients,
//!   sigmoid, and one backward per explained label (ordinary gradients; what the method would
//!   cost if its rules were free);
//! - `composed_forward_backward_s`: the same with `ComposedOps` (LayerNorm composed from
//!   elementary ops, as the DeepLift rules compose it, but with ordinary gradients);
//! - `deeplift_forward_s`: the engine's two forward passes (the reference activation up to the
//!   layer, then the paired forward through `DeepLiftOps` and the sigmoid rule), no backward;
//! - `deeplift_forward_backward_s`: the same plus one backward per explained label (the
//!   engine's work without its bookkeeping: attributions, f64 sums, copying to `Vec`s);
//! - `per_label_forward_backward_s`: per explained label, a plain forward of the two rows and
//!   one backward (the shape of Captum's loop over labels, without Captum's hooks).

use std::path::PathBuf;
use std::time::Instant;

use explainer_baselines as _;
use explainer_core::hooks::run_to_layer;
use explainer_core::ops::ComposedOps;
use explainer_core::{
    Baseline, DefaultOps, Hooks, InputBatch, Model, OpRules, Output, Reference, Request, Target, Unary,
    explain, layer_names, registry,
};
use explainer_deeplift::{DEFAULT_MEMORY_BUDGET_MB, DeepLift, DeepLiftOps};
use explainer_transformers::HfClassifier;
use serde_json::json;
use tch::{Device, Tensor};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: deeplift_bench --model DIR --text-file F [--labels all|first] [--threads T] \
                     [--iters K] [--warmup W] [--memory-budget-mb M] [--profile 0|1]";

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
    threads: i32,
    iters: usize,
    warmup: usize,
    memory_budget_mb: usize,
    profile: bool,
}

fn parse_args() -> BoxResult<Args> {
    let mut model = None;
    let mut text_file = None;
    let mut labels = Labels::All;
    let mut threads = 2;
    let mut iters = 5;
    let mut warmup = 1;
    let mut memory_budget_mb = DEFAULT_MEMORY_BUDGET_MB;
    let mut profile = false;
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
            "--threads" => threads = i32::try_from(number()?)?,
            "--iters" => iters = number()?,
            "--warmup" => warmup = number()?,
            "--memory-budget-mb" => memory_budget_mb = number()?,
            "--profile" => profile = number()? != 0,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let model = model.ok_or(USAGE)?;
    let text_file = text_file.ok_or(USAGE)?;
    if threads < 1 || iters < 1 || memory_budget_mb < 1 {
        return Err(format!("need --threads, --iters and --memory-budget-mb ≥ 1\n{USAGE}").into());
    }
    Ok(Args { model, text_file, labels, threads, iters, warmup, memory_budget_mb, profile })
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

/// Peak resident set size of this process so far, in MiB (Linux only; `None` elsewhere).
fn vm_hwm_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Median and minimum time of `iters` calls of `f`, after `warmup` untimed calls.
fn stage_time(
    warmup: usize,
    iters: usize,
    mut f: impl FnMut() -> BoxResult<()>,
) -> BoxResult<serde_json::Value> {
    for _ in 0..warmup {
        f()?;
    }
    let mut times = Vec::with_capacity(iters);
    for _ in 0..iters {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64());
    }
    let (_, median, min) = seconds_stats(&times);
    Ok(json!({ "median": median, "min": min }))
}

/// A batch of id rows of one length (mask all ones, token types zero).
fn id_batch(rows: &[&[i64]], device: Device) -> BoxResult<InputBatch> {
    let n = rows.len() as i64;
    let width = rows.first().map_or(0, |r| r.len());
    let flat: Vec<i64> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    let ids = Tensor::from_slice(&flat).f_view([n, width as i64])?.f_to_device(device)?;
    Ok(InputBatch {
        attention_mask: ids.f_ones_like()?,
        type_ids: ids.f_zeros_like()?,
        ids,
        lengths: vec![width; rows.len()],
    })
}

/// Sigmoid probabilities of a plain forward of `batch` (with `ops`), word embeddings kept,
/// then one backward per label.
fn plain_forward_backward(
    model: &dyn Model,
    batch: &InputBatch,
    ops: &dyn OpRules,
    labels: &[usize],
) -> BoxResult<()> {
    let mut hooks = Hooks::new();
    hooks.keep(layer_names::WORD_EMBEDDINGS);
    let logits = model.run(batch, Some(&mut hooks), ops)?;
    let out = logits.f_sigmoid()?;
    for (k, &label) in labels.iter().enumerate() {
        let objective = out.f_narrow(0, 0, 1)?.f_select(1, label as i64)?.f_sum(out.kind())?;
        let grad = hooks.gradients(&objective, &[layer_names::WORD_EMBEDDINGS], k + 1 < labels.len())?;
        drop(grad);
    }
    Ok(())
}

/// The engine's forward passes (reference activation, then the paired forward through the
/// DeepLift rules and the sigmoid rule) and, with `backward`, one backward per label.
fn deeplift_passes(
    model: &dyn Model,
    input: &[i64],
    reference: &[i64],
    labels: &[usize],
    backward: bool,
) -> BoxResult<()> {
    let device = model.device();
    let layer = layer_names::WORD_EMBEDDINGS;
    let a0 = run_to_layer(model, &id_batch(&[reference], device)?, Hooks::new(), layer)?.f_detach()?;
    let batch = id_batch(&[input, input], device)?;
    let mut hooks = Hooks::new();
    hooks.replace(layer, move |activation| Ok(Tensor::f_cat(&[&activation.f_narrow(0, 0, 1)?, &a0], 0)?));
    hooks.keep(layer);
    let ops = DeepLiftOps::new(1);
    let logits = model.run(&batch, Some(&mut hooks), &ops)?;
    let out = ops.unary(Unary::Sigmoid, &logits)?;
    if backward {
        for (k, &label) in labels.iter().enumerate() {
            let objective = out.f_narrow(0, 0, 1)?.f_select(1, label as i64)?.f_sum(out.kind())?;
            let grad = hooks.gradients(&objective, &[layer], k + 1 < labels.len())?;
            drop(grad);
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("deeplift_bench: {e}");
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
    let reference_ids = match pad.references(&model, &encoding)?.into_iter().next() {
        Some(Reference::Ids(r)) => r,
        _ => return Err("the pad baseline did not give one id reference".into()),
    };
    let target = match args.labels {
        Labels::First => Target::Indices { indices: vec![0] },
        Labels::All => Target::All,
    };
    let method = DeepLift { memory_budget_mb: args.memory_budget_mb, ..Default::default() };
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
    let labels: Vec<usize> = attribution.targets.iter().map(|t| t.label_index).collect();
    let (mean, median, min) = seconds_stats(&times);

    let profile = if args.profile {
        let device = model.device();
        let paired = id_batch(&[&ids, &reference_ids], device)?;
        let (w, n) = (args.warmup, args.iters);
        let nograd = stage_time(w, n, || {
            let _logits = tch::no_grad(|| model.run(&paired, None, &DefaultOps))?;
            Ok(())
        })?;
        let plain = stage_time(w, n, || plain_forward_backward(&model, &paired, &DefaultOps, &labels))?;
        let composed = stage_time(w, n, || plain_forward_backward(&model, &paired, &ComposedOps, &labels))?;
        let dl_forward = stage_time(w, n, || deeplift_passes(&model, &ids, &reference_ids, &labels, false))?;
        let dl_both = stage_time(w, n, || deeplift_passes(&model, &ids, &reference_ids, &labels, true))?;
        let per_label = stage_time(w, n, || {
            for &label in &labels {
                plain_forward_backward(&model, &paired, &DefaultOps, &[label])?;
            }
            Ok(())
        })?;
        Some(json!({
            "explain_s": json!({ "median": median, "min": min }),
            "plain_forward_nograd_s": nograd,
            "plain_forward_backward_s": plain,
            "composed_forward_backward_s": composed,
            "deeplift_forward_s": dl_forward,
            "deeplift_forward_backward_s": dl_both,
            "per_label_forward_backward_s": per_label,
        }))
    } else {
        None
    };

    let line = json!({
        "impl": "explainer",
        "model": args.model.display().to_string(),
        "threads": args.threads,
        "tokens": tokens,
        "labels": labels,
        "labels_explained": attribution.targets.len(),
        "warmup": args.warmup,
        "iters": args.iters,
        "memory_budget_mb": args.memory_budget_mb,
        "load_s": load_s,
        "mean_s": mean,
        "median_s": median,
        "min_s": min,
        "times_s": times,
        "ids": ids,
        "reference_ids": reference_ids,
        "label0_attributions": label0.tokens,
        "sums": attribution.targets.iter().map(|t| t.tokens.iter().sum::<f64>()).collect::<Vec<_>>(),
        "f_input": attribution.targets.iter().map(|t| t.f_input).collect::<Vec<_>>(),
        "f_baseline": attribution.targets.iter().map(|t| t.f_baseline).collect::<Vec<_>>(),
        "deltas": attribution.targets.iter().map(|t| t.delta).collect::<Vec<_>>(),
        "warnings": attribution.warnings,
        "profile": profile,
        "vm_hwm_mb": vm_hwm_mb(),
    });
    println!("{line}");
    Ok(())
}
