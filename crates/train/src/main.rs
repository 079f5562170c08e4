//! `explainer-train`: trains the bundled models and evaluates any classifier on a corpus split.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use explainer_corpus::Task;
use explainer_train::card::{CardText, MISTAKES_SHOWN, PROBES, write_card};
use explainer_train::{TrainOptions, evaluate, train};
use explainer_transformers::HfClassifier;
use sha2::{Digest, Sha256};

/// Train the bundled classifiers on the synthetic corpus, or evaluate a classifier.
#[derive(Debug, Parser)]
#[command(name = "explainer-train", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The corpus task.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum TaskArg {
    /// Multi-label compliance risks.
    Compliance,
    /// Multi-class business line.
    BusinessLine,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train a model and write its Hugging Face folder with a model card.
    Model {
        /// The corpus task.
        #[arg(long, value_enum)]
        task: TaskArg,
        /// The folder to write (created; its files are replaced).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Fine-tune this pretrained BERT encoder folder instead of training from scratch.
        #[arg(long, value_name = "DIR")]
        from: Option<PathBuf>,
        /// Passes over the training split (default: 25 from scratch, 6 fine-tuning).
        #[arg(long)]
        epochs: Option<usize>,
        /// The training seed.
        #[arg(long)]
        seed: Option<u64>,
        /// libtorch threads.
        #[arg(long)]
        threads: Option<usize>,
        /// Peak learning rate (default: 1e-3 from scratch, 1e-4 fine-tuning).
        #[arg(long)]
        lr: Option<f64>,
        /// Probability that a training token is replaced by [MASK] (default 0.1 from scratch, 0 fine-tuning).
        #[arg(long)]
        token_dropout: Option<f64>,
        /// AdamW's decoupled weight decay.
        #[arg(long)]
        weight_decay: Option<f64>,
        /// The model card's opening paragraph.
        #[arg(long)]
        summary: Option<String>,
    },
    /// Evaluate a classifier folder on a labelled corpus split (JSONL).
    Evaluate {
        /// The model folder.
        #[arg(long, value_name = "DIR")]
        model: PathBuf,
        /// The labelled JSONL split.
        #[arg(long, value_name = "FILE")]
        data: PathBuf,
        /// Mistakes to list in full.
        #[arg(long, default_value_t = MISTAKES_SHOWN)]
        shown: usize,
    },
}

fn main() {
    if let Err(e) = run() {
        eprintln!("explainer-train: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    match Cli::parse().command {
        Command::Model {
            task,
            out,
            from,
            epochs,
            seed,
            threads,
            lr,
            token_dropout,
            weight_decay,
            summary,
        } => {
            let task = match task {
                TaskArg::Compliance => Task::Compliance,
                TaskArg::BusinessLine => Task::BusinessLine,
            };
            let mut options = match &from {
                Some(from) => TrainOptions::fine_tune(task, from.clone()),
                None => TrainOptions::scratch(task),
            };
            options.epochs = epochs.unwrap_or(options.epochs);
            options.seed = seed.unwrap_or(options.seed);
            options.threads = threads.unwrap_or(options.threads);
            options.lr = lr.unwrap_or(options.lr);
            options.token_dropout = token_dropout.unwrap_or(options.token_dropout);
            options.weight_decay = weight_decay.unwrap_or(options.weight_decay);
            if !(0.0..1.0).contains(&options.token_dropout) {
                bail!("--token-dropout must be in [0, 1)");
            }
            if options.epochs == 0 || options.threads == 0 {
                bail!("--epochs and --threads must be at least 1");
            }
            let mut log = |line: &str| {
                eprintln!("{line}");
                let _ = std::io::stderr().flush();
            };
            let report = train(&options, &out, &mut log)?;
            let weights = out.join("model.safetensors");
            let bytes =
                std::fs::read(&weights).with_context(|| format!("cannot read {}", weights.display()))?;
            let sha = format!("{:x}", Sha256::digest(&bytes));
            let command = std::iter::once("cargo run --release -p explainer-train --".to_string())
                .chain(std::env::args().skip(1).map(|a| shell_word(&a)))
                .collect::<Vec<_>>()
                .join(" ");
            let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let summary = summary.unwrap_or_else(|| default_summary(task, from.is_some()));
            let text = CardText {
                name,
                summary,
                command,
                weights_sha256: sha.clone(),
                path: out.display().to_string(),
            };
            let probes_file = PathBuf::from("data").join(PROBES);
            let probes = match task {
                Task::Compliance if probes_file.is_file() => {
                    let saved = HfClassifier::load(&out)?;
                    Some(evaluate(&saved, &explainer_corpus::read_jsonl(&probes_file)?)?)
                }
                _ => None,
            };
            write_card(&out, &text, &options, &report, probes.as_ref())?;
            let mut files = vec!["config.json", "model.safetensors", "tokenizer.json"];
            files.extend(
                ["tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]
                    .into_iter()
                    .filter(|f| out.join(f).is_file()),
            );
            explainer_transformers::checksums::write(&out, &files)?;
            println!(
                "wrote {} ({} steps, {:.0} s, model.safetensors sha256 {sha})",
                out.display(),
                report.steps,
                report.seconds
            );
            Ok(())
        }
        Command::Evaluate { model, data, shown } => {
            let classifier =
                HfClassifier::load(&model).with_context(|| format!("cannot load {}", model.display()))?;
            let messages = explainer_corpus::read_jsonl(&data)?;
            let evaluation = evaluate(&classifier, &messages)?;
            println!("{}", evaluation.markdown(shown));
            Ok(())
        }
    }
}

fn default_summary(task: Task, fine_tuned: bool) -> String {
    let what = match task {
        Task::Compliance => {
            "A multi-label classifier of compliance risks in workplace messages (chat lines, e-mails, \
             trade notes): each of seven labels is scored on its own by a sigmoid"
        }
        Task::BusinessLine => {
            "A multi-class classifier of the business line a workplace message is about: one of ten \
             classes, scored by a softmax"
        }
    };
    let how = if fine_tuned { "fine-tuned from a pretrained encoder" } else { "trained from scratch" };
    format!("{what}; {how} on explainer's synthetic corpus. It is one of the models bundled with explainer.")
}

/// An argument quoted for a POSIX shell when it needs it.
fn shell_word(arg: &str) -> String {
    if !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:".contains(c)) {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}
