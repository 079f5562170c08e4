//! The training loop: AdamW with linear warm-up and decay, length-bucketed batches, token
//! dropout, every step deterministic for a given seed, thread count and CPU.

use std::path::{Path, PathBuf};
use std::time::Instant;

use explainer_core::rng::SplitMix64;
use explainer_core::{DefaultOps, Encoding, InputBatch, Model, ProblemType};
use explainer_corpus::{Message, Split, Task};
use explainer_transformers::{HfClassifier, LoadOptions};
use serde::Serialize;
use tch::{Kind, Reduction, Tensor};

use crate::evaluate::{Evaluation, evaluate};
use crate::{TrainError, task_labels, task_problem, vocab};

/// The encoder's sizes when training from scratch.
#[derive(Debug, Clone, Serialize)]
pub struct Architecture {
    /// Hidden width.
    pub hidden: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward width.
    pub intermediate: usize,
    /// Largest WordPiece vocabulary to train.
    pub vocab: usize,
    /// Position embeddings (the longest text in tokens).
    pub max_positions: usize,
}

impl Default for Architecture {
    fn default() -> Self {
        Architecture { hidden: 128, layers: 2, heads: 4, intermediate: 512, vocab: 4000, max_positions: 512 }
    }
}

/// Everything that fixes a training run (recorded in the folder's `training.json`).
#[derive(Debug, Clone, Serialize)]
pub struct TrainOptions {
    /// Which corpus task.
    #[serde(serialize_with = "task_name")]
    pub task: Task,
    /// The corpus seed (train/dev/test splits are generated from it).
    pub corpus_seed: u64,
    /// The seed of initialisation, shuffling and token dropout.
    pub seed: u64,
    /// Passes over the training split.
    pub epochs: usize,
    /// Texts per step.
    pub batch_size: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Share of the steps spent warming the learning rate up from 0.
    pub warmup: f64,
    /// Decoupled weight decay (not on biases and LayerNorm).
    pub weight_decay: f64,
    /// Probability that a non-special training token is replaced by `[MASK]`.
    pub token_dropout: f64,
    /// libtorch threads (fixed, so that the run is reproducible).
    pub threads: usize,
    /// transformers' `initializer_range`: the std of fresh weights.
    pub init_std: f64,
    /// Sizes when training from scratch.
    pub architecture: Architecture,
    /// A pretrained encoder folder to fine-tune instead (its tokenizer and weights).
    pub from: Option<PathBuf>,
    /// Train on the first N training messages only (for tests; `None`: all).
    pub train_limit: Option<usize>,
}

fn task_name<S: serde::Serializer>(task: &Task, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(task.name())
}

impl TrainOptions {
    /// The defaults for the small from-scratch model of `task`.
    pub fn scratch(task: Task) -> Self {
        TrainOptions {
            task,
            corpus_seed: explainer_corpus::DEFAULT_SEED,
            seed: 1,
            epochs: 25,
            batch_size: 32,
            lr: 1e-3,
            warmup: 0.06,
            weight_decay: 0.01,
            token_dropout: 0.1,
            threads: 2,
            init_std: 0.02,
            architecture: Architecture::default(),
            from: None,
            train_limit: None,
        }
    }

    /// The defaults for fine-tuning a pretrained encoder in `from`.
    pub fn fine_tune(task: Task, from: PathBuf) -> Self {
        TrainOptions {
            epochs: 6,
            lr: 1e-4,
            token_dropout: 0.0,
            from: Some(from),
            ..TrainOptions::scratch(task)
        }
    }
}

/// What a run did and measured.
#[derive(Debug, Clone)]
pub struct TrainReport {
    /// The folder written.
    pub dir: PathBuf,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Wall-clock seconds of the whole run.
    pub seconds: f64,
    /// Trainable parameters.
    pub parameters: i64,
    /// Mean training loss of each epoch.
    pub epoch_loss: Vec<f64>,
    /// Dev-split micro F1 after each epoch.
    pub dev_micro_f1: Vec<f64>,
    /// The parameters the starting folder lacked (all, from scratch; the head, fine-tuning).
    pub created: Vec<String>,
    /// The test split's evaluation of the saved model.
    pub test: Evaluation,
}

/// Trains a classifier for `options.task` and writes the Hugging Face folder `out`
/// (`config.json`, `tokenizer.json`, `tokenizer_config.json`, `model.safetensors`,
/// `training.json`). The model card is written by the caller (`crate::card`), which knows the
/// command line. `log` receives progress lines.
///
/// Fresh weights are drawn from libtorch's global generator after `tch::manual_seed`, so two
/// runs in one process must not overlap.
pub fn train(
    options: &TrainOptions,
    out: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<TrainReport, TrainError> {
    let start = Instant::now();
    tch::set_num_threads(options.threads as i32);
    tch::manual_seed(options.seed as i64);
    std::fs::create_dir_all(out).map_err(|e| TrainError::file(out, format!("cannot create: {e}")))?;
    // The old checksums describe files this run replaces.
    let _ = std::fs::remove_file(out.join(explainer_transformers::checksums::CHECKSUMS));
    let mut train_split = explainer_corpus::generate(options.task, Split::Train, options.corpus_seed);
    train_split.truncate(options.train_limit.unwrap_or(usize::MAX));
    let dev_split = explainer_corpus::generate(options.task, Split::Dev, options.corpus_seed);
    let test_split = explainer_corpus::generate(options.task, Split::Test, options.corpus_seed);
    log(&format!(
        "corpus {} seed {}: {} train, {} dev, {} test messages",
        explainer_corpus::CORPUS_VERSION,
        options.corpus_seed,
        train_split.len(),
        dev_split.len(),
        test_split.len()
    ));
    let labels = task_labels(options.task);
    match &options.from {
        None => write_scratch_folder(options, &train_split, &labels, out, log)?,
        Some(from) => write_fine_tune_folder(options, from, &labels, out)?,
    }
    // From scratch there is no model.safetensors (an old one was removed): every parameter
    // is created; fine-tuning creates the head only.
    let model = HfClassifier::load_with(
        out,
        &LoadOptions { kind: Kind::Float, init_missing: Some(options.init_std), ..LoadOptions::default() },
    )?;
    let created = model.created_parameters().to_vec();
    let mut params: Vec<Tensor> = model.parameters().into_iter().map(|(_, t)| t).collect();
    for p in &params {
        let _ = p.f_set_requires_grad(true)?;
    }
    let parameters: i64 = params.iter().map(|p| p.numel() as i64).sum();
    log(&format!("{parameters} parameters ({} created fresh)", created.len()));

    let problem = model.info().problem;
    let special = model.encoder().special_tokens().clone();
    let pad = special.pad.unwrap_or(0);
    let mask = special.mask.or(special.unk).unwrap_or(0);
    let encodings: Vec<Encoding> =
        train_split.iter().map(|m| model.encoder().encode(&m.text)).collect::<Result<_, _>>()?;
    let targets: Vec<Vec<usize>> = train_split
        .iter()
        .map(|m| m.labels.iter().map(|l| model.info().label_index(l)).collect::<Result<_, _>>())
        .collect::<Result<_, _>>()?;

    let batches_per_epoch = encodings.len().div_ceil(options.batch_size);
    let total = batches_per_epoch * options.epochs;
    let warmup = ((total as f64) * options.warmup).ceil().max(1.0) as usize;
    let mut adam = AdamW::new(&params, options.weight_decay)?;
    let mut rng = SplitMix64::new(options.seed ^ 0x005e_ed0f_7a1e);
    let (mut epoch_loss, mut dev_micro_f1) = (Vec::new(), Vec::new());
    let mut step = 0;
    for epoch in 0..options.epochs {
        let mut loss_sum = 0.0;
        for batch in bucketed_batches(&encodings, options.batch_size, &mut rng) {
            let rows: Vec<Encoding> = batch
                .iter()
                .map(|&i| dropout(&encodings[i], options.token_dropout, mask, &mut rng))
                .collect();
            let refs: Vec<&Encoding> = rows.iter().collect();
            let input = InputBatch::pad(&refs, pad, model.device())?;
            let logits = model.run(&input, None, &DefaultOps)?;
            let loss = loss(problem, &logits, batch.iter().map(|&i| &targets[i]), labels.len())?;
            loss_sum += loss.f_double_value(&[])?;
            for p in params.iter_mut() {
                p.zero_grad();
            }
            loss.f_backward()?;
            let lr = if step < warmup {
                options.lr * (step + 1) as f64 / warmup as f64
            } else {
                options.lr * (total - step) as f64 / (total - warmup).max(1) as f64
            };
            tch::no_grad(|| adam.step(&params, lr))?;
            step += 1;
        }
        epoch_loss.push(loss_sum / batches_per_epoch as f64);
        let dev = tch::no_grad(|| evaluate(&model, &dev_split))?;
        dev_micro_f1.push(dev.quality.micro_f1());
        log(&format!(
            "epoch {}/{}: loss {:.4}, dev micro F1 {:.4}, macro F1 {:.4} ({:.0} s)",
            epoch + 1,
            options.epochs,
            loss_sum / batches_per_epoch as f64,
            dev.quality.micro_f1(),
            dev.quality.macro_f1(),
            start.elapsed().as_secs_f64()
        ));
    }
    model.save_weights(&out.join("model.safetensors"))?;
    drop(model);
    // Evaluate what was saved, loaded as any user loads it.
    let saved = HfClassifier::load(out)?;
    let test = evaluate(&saved, &test_split)?;
    log(&format!(
        "test: micro F1 {:.4}, macro F1 {:.4}, exact match {:.4}",
        test.quality.micro_f1(),
        test.quality.macro_f1(),
        test.quality.exact_match()
    ));
    let report = TrainReport {
        dir: out.to_path_buf(),
        steps: step,
        seconds: start.elapsed().as_secs_f64(),
        parameters,
        epoch_loss,
        dev_micro_f1,
        created,
        test,
    };
    write_json(&out.join("training.json"), &training_record(options, &report))?;
    Ok(report)
}

/// The loss: binary cross-entropy on logits (multi-label), cross-entropy (multi-class).
fn loss<'a>(
    problem: ProblemType,
    logits: &Tensor,
    targets: impl Iterator<Item = &'a Vec<usize>>,
    labels: usize,
) -> Result<Tensor, TrainError> {
    let targets: Vec<&Vec<usize>> = targets.collect();
    Ok(match problem {
        ProblemType::MultiClass => {
            let ids: Vec<i64> = targets.iter().map(|t| t.first().copied().unwrap_or(0) as i64).collect();
            logits.f_log_softmax(-1, Kind::Float)?.f_nll_loss::<Tensor>(
                &Tensor::from_slice(&ids),
                None,
                Reduction::Mean,
                -100,
            )?
        }
        _ => {
            let mut dense = vec![0f32; targets.len() * labels];
            for (row, t) in targets.iter().enumerate() {
                for &l in t.iter() {
                    dense[row * labels + l] = 1.0;
                }
            }
            let dense = Tensor::from_slice(&dense).f_view([targets.len() as i64, labels as i64])?;
            logits.f_binary_cross_entropy_with_logits::<Tensor>(&dense, None, None, Reduction::Mean)?
        }
    })
}

/// Batches of similar length: the texts shuffled, cut into pools of 50 batches, each pool
/// sorted by length and cut into batches, the batches shuffled.
fn bucketed_batches(encodings: &[Encoding], size: usize, rng: &mut SplitMix64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..encodings.len()).collect();
    shuffle(&mut order, rng);
    let mut batches = Vec::new();
    for pool in order.chunks(size * 50) {
        let mut pool = pool.to_vec();
        pool.sort_by_key(|&i| encodings[i].len());
        batches.extend(pool.chunks(size).map(<[usize]>::to_vec));
    }
    shuffle(&mut batches, rng);
    batches
}

fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// The encoding with each non-special token replaced by `mask` with probability `p`.
fn dropout(encoding: &Encoding, p: f64, mask: i64, rng: &mut SplitMix64) -> Encoding {
    let mut out = encoding.clone();
    if p > 0.0 {
        for (id, special) in out.ids.iter_mut().zip(&encoding.special) {
            if !special && rng.uniform() < p {
                *id = mask;
            }
        }
    }
    out
}

/// AdamW (Loshchilov & Hutter), as `torch.optim.AdamW` with β = (0.9, 0.999), ε = 1e-8, and
/// the gradient's global norm clipped at 1.
struct AdamW {
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    decay: Vec<f64>,
    t: i32,
}

impl AdamW {
    fn new(params: &[Tensor], weight_decay: f64) -> Result<Self, TrainError> {
        let zeros = |p: &Tensor| p.f_zeros_like();
        Ok(AdamW {
            m: params.iter().map(zeros).collect::<Result<_, _>>()?,
            v: params.iter().map(zeros).collect::<Result<_, _>>()?,
            // No decay on biases and LayerNorm scales (the 1-D parameters), as BERT's recipe.
            decay: params.iter().map(|p| if p.dim() > 1 { weight_decay } else { 0.0 }).collect(),
            t: 0,
        })
    }

    fn step(&mut self, params: &[Tensor], lr: f64) -> Result<(), TrainError> {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        self.t += 1;
        let grads: Vec<Tensor> = params.iter().map(Tensor::grad).collect();
        let mut norm2 = 0.0;
        for g in grads.iter().filter(|g| g.defined()) {
            norm2 += g.f_square()?.f_sum(Kind::Double)?.f_double_value(&[])?;
        }
        let clip = if norm2.sqrt() > 1.0 { 1.0 / norm2.sqrt() } else { 1.0 };
        let (c1, c2) = (1.0 - B1.powi(self.t), 1.0 - B2.powi(self.t));
        for (i, (p, g)) in params.iter().zip(&grads).enumerate() {
            if !g.defined() {
                continue;
            }
            let g = g.f_mul_scalar(clip)?;
            let _ = self.m[i].f_mul_scalar_(B1)?.f_add_(&g.f_mul_scalar(1.0 - B1)?)?;
            let _ = self.v[i].f_mul_scalar_(B2)?.f_add_(&g.f_square()?.f_mul_scalar(1.0 - B2)?)?;
            let denom = self.v[i].f_div_scalar(c2)?.f_sqrt()?.f_add_scalar(EPS)?;
            let update = self.m[i].f_div_scalar(c1)?.f_div(&denom)?;
            let mut p = p.shallow_clone();
            if self.decay[i] > 0.0 {
                let _ = p.f_mul_scalar_(1.0 - lr * self.decay[i])?;
            }
            let _ = p.f_sub_(&update.f_mul_scalar(lr)?)?;
        }
        Ok(())
    }
}

/// The folder of a from-scratch run: a vocabulary trained on the training split, config.json.
fn write_scratch_folder(
    options: &TrainOptions,
    train_split: &[Message],
    labels: &[String],
    out: &Path,
    log: &mut dyn FnMut(&str),
) -> Result<(), TrainError> {
    let a = &options.architecture;
    if a.heads == 0 || a.hidden % a.heads != 0 {
        return Err(TrainError::Invalid(format!(
            "hidden {} is not a multiple of heads {}",
            a.hidden, a.heads
        )));
    }
    let _ = std::fs::remove_file(out.join("model.safetensors"));
    let texts: Vec<&str> = train_split.iter().map(|m| m.text.as_str()).collect();
    let vocab_size = vocab::train_wordpiece(&texts, a.vocab, out)?;
    log(&format!("WordPiece vocabulary: {vocab_size} entries"));
    write_json(&out.join("tokenizer_config.json"), &vocab::tokenizer_config(a.max_positions))?;
    let config = serde_json::json!({
        "architectures": ["BertForSequenceClassification"],
        "model_type": "bert",
        "hidden_size": a.hidden,
        "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads,
        "intermediate_size": a.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": null,
        "max_position_embeddings": a.max_positions,
        "type_vocab_size": 2,
        "vocab_size": vocab_size,
        "initializer_range": options.init_std,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    });
    write_json(&out.join("config.json"), &with_labels(config, labels, options.task))
}

/// The folder of a fine-tuning run: the pretrained config with the task's labels, its
/// tokenizer files and weights (the head is created fresh).
fn write_fine_tune_folder(
    options: &TrainOptions,
    from: &Path,
    labels: &[String],
    out: &Path,
) -> Result<(), TrainError> {
    let read = |name: &str| {
        std::fs::read_to_string(from.join(name)).map_err(|e| TrainError::file(&from.join(name), e))
    };
    let config: serde_json::Value = serde_json::from_str(&read("config.json")?)
        .map_err(|e| TrainError::file(&from.join("config.json"), e))?;
    let mut config = with_labels(config, labels, options.task);
    config["architectures"] = serde_json::json!(["BertForSequenceClassification"]);
    write_json(&out.join("config.json"), &config)?;
    let mut tokenizer: serde_json::Value = serde_json::from_str(&read("tokenizer.json")?)
        .map_err(|e| TrainError::file(&from.join("tokenizer.json"), e))?;
    // sentence-transformers ships padding and truncation switched on; a classifier's
    // tokenizer pads nothing and the loader truncates.
    tokenizer["padding"] = serde_json::Value::Null;
    tokenizer["truncation"] = serde_json::Value::Null;
    write_json(&out.join("tokenizer.json"), &tokenizer)?;
    for name in ["tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "model.safetensors"] {
        if from.join(name).is_file() {
            std::fs::copy(from.join(name), out.join(name))
                .map_err(|e| TrainError::file(&out.join(name), e))?;
        }
    }
    Ok(())
}

/// `config` with `id2label`, `label2id` and `problem_type` for `task`.
fn with_labels(mut config: serde_json::Value, labels: &[String], task: Task) -> serde_json::Value {
    let id2label: serde_json::Map<String, serde_json::Value> =
        labels.iter().enumerate().map(|(i, l)| (i.to_string(), l.clone().into())).collect();
    let label2id: serde_json::Map<String, serde_json::Value> =
        labels.iter().enumerate().map(|(i, l)| (l.clone(), i.into())).collect();
    config["id2label"] = id2label.into();
    config["label2id"] = label2id.into();
    config["problem_type"] = match task_problem(task) {
        ProblemType::MultiLabel => "multi_label_classification",
        ProblemType::MultiClass => "single_label_classification",
        ProblemType::Regression => "regression",
    }
    .into();
    config
}

fn training_record(options: &TrainOptions, report: &TrainReport) -> serde_json::Value {
    serde_json::json!({
        "options": options,
        "corpus_version": explainer_corpus::CORPUS_VERSION,
        "steps": report.steps,
        "seconds": (report.seconds * 10.0).round() / 10.0,
        "parameters": report.parameters,
        "epoch_loss": report.epoch_loss,
        "dev_micro_f1": report.dev_micro_f1,
        "created_parameters": report.created.len(),
        "libtorch_threads": options.threads,
    })
}

/// Writes pretty JSON with a final newline.
pub(crate) fn write_json(path: &Path, value: &impl Serialize) -> Result<(), TrainError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| TrainError::file(path, e))?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| TrainError::file(path, format!("cannot write: {e}")))
}
