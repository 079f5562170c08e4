//! Timing of Occlusion, Feature Ablation (word groups) and KernelSHAP on one text, for
//! comparison with Captum (`scripts/bench/perturbation_vs_captum.py` runs both;
//! `docs/benchmarks.md` has the results).
//!
//! ```sh
//! cargo run --release -p explainer-perturbation --example perturbation_bench -- \
//!   --model models/compliance-minibert --text-file /tmp/text.txt --method occlusion \
//!   --labels first --threads 2 --iters 3
//! ```
//!
//! Loads the folder with `HfClassifier::load`, tokenises the text file (trailing whitespace
//! removed) and explains it with the `pad` baseline and the probability output: `occlusion`
//! (tokens, `--window`, stride 1), `feature-ablation` (words) or `kernel-shap` (words,
//! `--n-samples`, seed 0). After `--warmup` untimed runs it times `--iters` runs and prints one
//! JSON line: the times (`median_s`, `min_s`, `mean_s`, `times_s`), `load_s`, the token ids and
//! label 0's per-token attributions (for the cross-check with Captum).

use std::path::PathBuf;
use std::time::Instant;

use explainer_baselines as _;
use explainer_core::{Baseline, Method, Model, Output, Request, Target, explain, registry};
use explainer_perturbation::{FeatureAblation, KernelShap, Occlusion};
use explainer_transformers::HfClassifier;
use serde_json::json;

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

const USAGE: &str = "usage: perturbation_bench --model DIR --text-file F --method occlusion|feature-ablation|kernel-shap \
                     [--labels first|all] [--window W] [--n-samples N] [--threads T] [--iters K] [--warmup W]";

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("perturbation_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> BoxResult<()> {
    let started = Instant::now();
    let (mut model_dir, mut text_file, mut method_name) = (None, None, None);
    let (mut all_labels, mut window, mut n_samples, mut threads, mut iters, mut warmup) =
        (false, 3usize, 512usize, 2i32, 3usize, 1usize);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let number = || value.parse::<usize>().map_err(|e| format!("{flag} {value:?}: {e}"));
        match flag.as_str() {
            "--model" => model_dir = Some(PathBuf::from(&value)),
            "--text-file" => text_file = Some(PathBuf::from(&value)),
            "--method" => method_name = Some(value.clone()),
            "--labels" => all_labels = value == "all",
            "--window" => window = number()?,
            "--n-samples" => n_samples = number()?,
            "--threads" => threads = i32::try_from(number()?)?,
            "--iters" => iters = number()?.max(1),
            "--warmup" => warmup = number()?,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    let (model_dir, text_file, method_name) =
        (model_dir.ok_or(USAGE)?, text_file.ok_or(USAGE)?, method_name.ok_or(USAGE)?);
    tch::set_num_threads(threads);
    let load = Instant::now();
    let model = HfClassifier::load(&model_dir)?;
    let load_s = load.elapsed().as_secs_f64();
    let text = std::fs::read_to_string(&text_file)?;
    let encoding = model.encoder().encode(text.trim_end())?;
    let method: Box<dyn Method> = match method_name.as_str() {
        "occlusion" => Box::new(Occlusion { window, stride: 1, ..Default::default() }),
        "feature-ablation" => Box::new(FeatureAblation::default()),
        "kernel-shap" => Box::new(KernelShap { n_samples, ..Default::default() }),
        other => return Err(format!("unknown method {other:?}\n{USAGE}").into()),
    };
    let pad: Box<dyn Baseline> = registry::baseline("pad")?.configure(serde_json::Value::Null)?;
    let target = if all_labels { Target::All } else { Target::Indices { indices: vec![0] } };
    let encodings = [encoding.clone()];
    let request = Request {
        encodings: &encodings,
        target: &target,
        baseline: pad.as_ref(),
        output: Output::Probability,
        per_dimension: false,
    };
    for _ in 0..warmup {
        explain(method.as_ref(), &model, &request)?;
    }
    let mut times = Vec::with_capacity(iters);
    let mut last = None;
    for _ in 0..iters {
        let t = Instant::now();
        last = Some(explain(method.as_ref(), &model, &request)?);
        times.push(t.elapsed().as_secs_f64());
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let attribution = last.ok_or("no run")?.remove(0);
    println!(
        "{}",
        json!({
            "method": method_name,
            "tokens": encoding.len(),
            "labels": attribution.targets.len(),
            "threads": threads,
            "median_s": median,
            "min_s": sorted[0],
            "mean_s": times.iter().sum::<f64>() / times.len() as f64,
            "times_s": times,
            "load_s": load_s,
            "ids": encoding.ids,
            "label0_attributions": attribution.targets[0].tokens,
            "process_s": started.elapsed().as_secs_f64(),
        })
    );
    Ok(())
}
