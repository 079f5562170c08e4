//! `explainer`: explain the predictions of text classifiers.
//!
//! Subcommands: `explain` (one text), `batch` (JSONL/CSV streams, resumable, shardable),
//! `export` (spec files), `methods` / `baselines` (the registries), `conform` (the axiom
//! suite), `evaluate` (the methods × baselines metrics table), `smoke` (the set-up check).
//! See docs/cli.md for every option and the exit codes.

mod args;
mod batch;
mod conform;
mod evaluate;
mod explain;
mod export;
mod listing;
mod options;
mod output;
mod smoke;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind as ClapErrorKind;
use explainer_core::ErrorKind;
// Plugin crates register their methods and baselines only when the binary names them.
use explainer_baselines as _;
use explainer_conductance as _;
use explainer_deeplift as _;
use explainer_gradients as _;
use explainer_integrated_gradients as _;
use explainer_perturbation as _;

use crate::args::{Cli, Command};

/// Exit codes (docs/cli.md).
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// A user error: bad argument value, file, model, spec, label; or `--strict` stopped a batch.
    pub const ERROR: u8 = 1;
    /// The command line itself is wrong: unknown flag, missing value, conflicting flags.
    pub const USAGE: u8 = 2;
    /// A batch ran to the end but some records failed or some lines were malformed.
    pub const PARTIAL: u8 = 3;
    /// An internal failure (a bug, or libtorch failed): please report.
    pub const INTERNAL: u8 = 4;
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("explainer: {}", one_line(&format!("{e:#}")));
            let internal = e.chain().any(|c| {
                c.downcast_ref::<explainer_core::Error>().is_some_and(|e| e.kind() == ErrorKind::Internal)
                    || c.downcast_ref::<explainer_pipeline::PipelineError>()
                        .is_some_and(|e| e.kind() == ErrorKind::Internal)
            });
            ExitCode::from(if internal { exit::INTERNAL } else { exit::ERROR })
        }
    }
}

/// Help and version go to stdout as clap prints them; any other parse error is one line.
fn usage_error(e: clap::Error) -> ExitCode {
    match e.kind() {
        ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(exit::USAGE)
        }
        _ => {
            // clap's message, its details (possible values, the missing argument, a tip) folded
            // onto one line, without the usage block.
            let rendered = e.render().to_string();
            let message: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .map(|l| l.trim().trim_start_matches("error: "))
                .filter(|l| !l.is_empty())
                .collect();
            let message =
                if message.is_empty() { "invalid command line".to_owned() } else { message.join(" ") };
            eprintln!("explainer: {message} (see explainer --help)");
            ExitCode::from(exit::USAGE)
        }
    }
}

/// Folds a message onto one line (library messages are already one line; this is a guard).
fn one_line(message: &str) -> String {
    message.split('\n').map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ")
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Explain(args) => explain::run(args).map(|()| exit::OK),
        Command::Batch(args) => batch::run(args),
        Command::Export(args) => export::run(args).map(|()| exit::OK),
        Command::Methods(args) => listing::methods(args.json).map(|()| exit::OK),
        Command::Baselines(args) => listing::baselines(args.json).map(|()| exit::OK),
        Command::Conform(args) => conform::run(args),
        Command::Evaluate(args) => evaluate::run(args).map(|()| exit::OK),
        Command::Smoke { model, texts } => smoke::run(model, texts).map(|()| exit::OK),
    }
}
