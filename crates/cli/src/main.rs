//! `explainer`: explain the predictions of text classifiers.
//!
//! Today it has the smoke run (load a small model, print its label scores) and the registry
//! listings; `explain` and `batch` come with the attribution-method crates.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use explainer_core::{Model, registry};
use explainer_testing::{TinyClassifier, tiny_model_dir};
use explainer_transformers::HfClassifier;
// Plugin crates register their methods and baselines only when the binary names them.
use explainer_baselines as _;
use explainer_integrated_gradients as _;

#[derive(Parser)]
#[command(name = "explainer", version, about = "Explain the predictions of text classifiers.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load a small model and print its label scores for some texts (the set-up check).
    Smoke {
        /// A model folder: a Hugging Face checkpoint (BERT, DistilBERT, RoBERTa families) or a
        /// saved tiny test model. Default: the bundled tiny test model.
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
        /// Texts to score; a few sample texts when none are given.
        texts: Vec<String>,
    },
    /// List the registered attribution methods.
    Methods,
    /// List the registered baseline providers.
    Baselines,
}

const SAMPLES: &[&str] = &[
    "Please verify your account password now, or it will be closed.",
    "Thanks for the meeting tomorrow, the invoice is attached.",
    "You stupid idiot, I will hurt you.",
];

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("explainer: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Smoke { model, texts } => smoke(model, texts),
        Command::Methods => {
            let entries = registry::methods();
            if entries.is_empty() {
                println!("no attribution methods are registered yet");
            }
            for e in entries {
                println!("{:<28} {}  [needs: {}]", e.name, e.summary, e.requires);
            }
            Ok(())
        }
        Command::Baselines => {
            let entries = registry::baselines();
            if entries.is_empty() {
                println!("no baseline providers are registered yet");
            }
            for e in entries {
                println!("{:<28} {}", e.name, e.summary);
            }
            Ok(())
        }
    }
}

fn smoke(dir: Option<PathBuf>, texts: Vec<String>) -> Result<()> {
    let bundled = dir.is_none();
    let dir = dir.unwrap_or_else(tiny_model_dir);
    let model = load_model(&dir).with_context(|| format!("cannot load the model in {}", dir.display()))?;
    let model = model.as_ref();
    let info = model.info();
    println!("model {} from {}", info.name, dir.display());
    println!(
        "{} labels ({}, scores by {})",
        info.labels.len(),
        problem_name(info),
        info.problem.output_function()
    );
    if bundled {
        println!("(random weights: this checks the set-up, the scores mean nothing)");
    }
    let texts: Vec<String> =
        if texts.is_empty() { SAMPLES.iter().map(|s| s.to_string()).collect() } else { texts };
    let width = info.labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for text in &texts {
        let prediction = model.predict(text)?;
        println!();
        println!(
            "{text:?}{}",
            if prediction.truncated { "  (truncated to the model's maximum length)" } else { "" }
        );
        for ((label, score), logit) in
            prediction.labels.iter().zip(&prediction.scores).zip(&prediction.logits)
        {
            let bar = "█".repeat((score.clamp(0.0, 1.0) * 30.0).round() as usize);
            println!("  {label:<width$}  {score:.4}  (logit {logit:+.4})  {bar}");
        }
    }
    Ok(())
}

/// A model folder: the tiny test model when its config says so, else a Hugging Face checkpoint.
fn load_model(dir: &std::path::Path) -> Result<Box<dyn Model>> {
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap_or_default();
    if config.contains(&format!("\"{}\"", TinyClassifier::MODEL_TYPE)) {
        return Ok(Box::new(TinyClassifier::load(dir)?));
    }
    Ok(Box::new(HfClassifier::load(dir)?))
}

fn problem_name(info: &explainer_core::ModelInfo) -> &'static str {
    match info.problem {
        explainer_core::ProblemType::MultiLabel => "multi-label",
        explainer_core::ProblemType::MultiClass => "multi-class",
        explainer_core::ProblemType::Regression => "regression",
    }
}
