//! The command line: subcommands and their flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::batch::input::InputFormat;
use crate::batch::shard::Shard;
use crate::options::{MethodArgs, TargetArgs};
use crate::output::ColorChoice;

/// The flags that `--spec` fixes (a spec names its model, method, baseline and target).
const SPEC_FIXES: [&str; 14] = [
    "model",
    "method",
    "steps",
    "tolerance",
    "layer",
    "rule",
    "method_options",
    "baseline",
    "draws",
    "seed",
    "baseline_options",
    "labels",
    "threshold",
    "output_kind",
];

/// `explainer`: explain the predictions of text classifiers.
#[derive(Debug, Parser)]
#[command(name = "explainer", version, about = "Explain the predictions of text classifiers.")]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Explain one text: which tokens drove the model's scores.
    Explain(ExplainArgs),
    /// Explain many texts from JSONL or CSV, one JSONL record per text (streams; resumable).
    Batch(BatchArgs),
    /// Write a spec file: the model (with its hash), method, baseline and target, to rerun.
    Export(ExportArgs),
    /// List the registered attribution methods with their options.
    Methods(ListArgs),
    /// List the registered baseline providers with their options.
    Baselines(ListArgs),
    /// Check every registered method's axiom claims on a model (docs/axioms.md); exit 1 when
    /// one fails.
    Conform(crate::conform::ConformArgs),
    /// Score methods × baselines on a data file: faithfulness, plausibility against
    /// rationales, randomisation check, a random control row (docs/evaluation.md).
    Evaluate(crate::evaluate::EvaluateArgs),
    /// Load a small model and print its label scores for some texts (the set-up check).
    Smoke {
        /// A model folder: a Hugging Face checkpoint (BERT, DistilBERT, RoBERTa families) or a
        /// saved tiny test model. Default: the bundled model.
        #[arg(long, value_name = "DIR")]
        model: Option<PathBuf>,
        /// Texts to score; a few sample texts when none are given.
        texts: Vec<String>,
    },
}

/// `--long-text`: what to do with a text longer than the model's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LongTextChoice {
    /// Cut the text at the model's maximum length (the rest is not explained; a warning says so).
    Truncate,
    /// Explain overlapping windows of the model's length and map them back onto the whole text.
    Windows,
}

/// Long-text flags of `explain` and `batch`.
#[derive(Debug, Args)]
pub struct LongTextArgs {
    /// Texts longer than the model's window: truncate (with a warning), or windows — every
    /// overlapping window explained, attributions averaged back onto the whole text. Default:
    /// the spec entry's `long_text`, else truncate.
    #[arg(long, value_enum)]
    pub long_text: Option<LongTextChoice>,
    /// With --long-text windows: tokens between the starts of consecutive windows (default:
    /// half a window).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub stride: Option<u32>,
}

impl LongTextArgs {
    /// The pipeline's setting: the flags over `fallback` (a spec entry's setting, else
    /// truncate); `--stride` without the windows mode is an error.
    pub fn setting(
        &self,
        fallback: explainer_pipeline::long_text::LongText,
    ) -> anyhow::Result<explainer_pipeline::long_text::LongText> {
        use explainer_pipeline::long_text::{LongText, LongTextMode};
        let fallback_windows = fallback.mode == LongTextMode::Windows;
        match (self.long_text, self.stride) {
            (Some(LongTextChoice::Truncate), Some(_)) => {
                anyhow::bail!("--stride sets the step between windows: it needs --long-text windows")
            }
            (None, Some(_)) if !fallback_windows => {
                anyhow::bail!("--stride sets the step between windows: it needs --long-text windows")
            }
            (Some(LongTextChoice::Truncate), None) => Ok(LongText::default()),
            // The spec's stride stays unless --stride replaces it.
            (Some(LongTextChoice::Windows), stride) => {
                let spec_stride = if fallback_windows { fallback.stride } else { None };
                Ok(LongText::windows(stride.map(|s| s as usize).or(spec_stride)))
            }
            (None, None) => Ok(fallback),
            (None, Some(stride)) => Ok(LongText::windows(Some(stride as usize))),
        }
    }
}

/// `--device`: where the model computes.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// Where the model computes: cpu, cuda (the first GPU) or cuda:N. Needs a libtorch with
    /// CUDA and its libraries (`EXPLAINER_CUDA=1 bash scripts/libtorch.sh`) for a GPU.
    #[arg(long, value_name = "DEVICE", default_value = "cpu")]
    pub device: String,
}

impl DeviceArgs {
    /// The parsed device (not yet checked for availability: loading the model does that).
    pub fn device(&self) -> anyhow::Result<explainer_core::tch::Device> {
        Ok(explainer_core::device::parse(&self.device)?)
    }
}

/// `--format` of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable report for the terminal (coloured when it is one).
    Text,
    /// The JSON document (docs/json-schema.md).
    Json,
    /// A self-contained HTML page.
    Html,
    /// Markdown.
    Markdown,
}

/// `explainer explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The text to explain; `-` reads it from standard input.
    #[arg(value_name = "TEXT", conflicts_with = "file")]
    pub text: Option<String>,
    /// Read the text from a file (UTF-8).
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// The model folder (a Hugging Face checkpoint or a tiny test model). Default: the bundled model.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Method and baseline.
    #[command(flatten)]
    pub method: MethodArgs,
    /// Labels and output.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Long texts.
    #[command(flatten)]
    pub long_text: LongTextArgs,
    /// Device.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Colour the text format: auto (a terminal, NO_COLOR unset or empty), always, never.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Run an entry point of a spec file (its model, method, baseline and target).
    #[arg(long, value_name = "FILE", conflicts_with_all = SPEC_FIXES)]
    pub spec: Option<PathBuf>,
    /// The spec's entry point to run (default: the first).
    #[arg(long, value_name = "NAME", requires = "spec")]
    pub entry: Option<String>,
}

/// `explainer batch`.
#[derive(Debug, Args)]
pub struct BatchArgs {
    /// The input file (JSONL or CSV); `-` or nothing reads standard input.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// The input format; default: from the extension (`.csv` → csv, else jsonl).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// The field (JSONL) or column (CSV) holding the id; a record without one gets its line number.
    #[arg(long, value_name = "NAME", default_value = "id")]
    pub id_field: String,
    /// The field (JSONL) or column (CSV) holding the text.
    #[arg(long, value_name = "NAME", default_value = "text")]
    pub text_field: String,
    /// Write JSONL records to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Continue a run: skip ids already in the --output file (a torn last line is cut off).
    #[arg(long, requires = "output")]
    pub resume: bool,
    /// Replace an existing --output file (without it, an existing non-empty file is refused).
    #[arg(long, requires = "output", conflicts_with = "resume")]
    pub overwrite: bool,
    /// Explain only shard I of N (0-based): the records whose input position mod N is I.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Stop at the first malformed line or failed record (exit 1) instead of skipping it.
    #[arg(long)]
    pub strict: bool,
    /// Records read ahead and sorted by token length before explaining.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub window: u32,
    /// Texts given to the method in one call (of similar length).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch_size: u32,
    /// The model folder. Default: the bundled model.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Method and baseline.
    #[command(flatten)]
    pub method: MethodArgs,
    /// Labels and output.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Long texts.
    #[command(flatten)]
    pub long_text: LongTextArgs,
    /// Device.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Run an entry point of a spec file (its model, method, baseline and target).
    #[arg(long, value_name = "FILE", conflicts_with_all = SPEC_FIXES)]
    pub spec: Option<PathBuf>,
    /// The spec's entry point to run (default: the first).
    #[arg(long, value_name = "NAME", requires = "spec")]
    pub entry: Option<String>,
}

/// `explainer export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The spec's name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The model folder. Default: the bundled model.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Method and baseline.
    #[command(flatten)]
    pub method: MethodArgs,
    /// Labels and output.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Long texts (written into the entry point).
    #[command(flatten)]
    pub long_text: LongTextArgs,
    /// The name of the entry point written.
    #[arg(long = "entry", value_name = "NAME", default_value = "default")]
    pub entry: String,
    /// Write the spec to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `explainer methods` / `explainer baselines`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print JSON (a list of entries with name, summary, requires, options).
    #[arg(long)]
    pub json: bool,
}
