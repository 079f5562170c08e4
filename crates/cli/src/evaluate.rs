//! `explainer evaluate`: the methods × baselines table of faithfulness and plausibility
//! metrics on a data file (docs/evaluation.md). Parsing and printing only: the work is
//! `explainer_eval::evaluate`, model loading and configs are `explainer_pipeline`'s.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use explainer_core::registry;
use explainer_eval::{Candidate, Dataset, EvalOptions, RandomizedModel, Removal, render};
use explainer_pipeline::configs::{Setting, baseline_config, method_config};
use explainer_pipeline::models::{load_model_on, model_dir};
use explainer_pipeline::randomize::randomized_models_on;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::write_atomic;

/// `--format` of `evaluate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalFormat {
    /// Aligned columns for the terminal.
    Text,
    /// The report as JSON (every number, per-label means, the options).
    Json,
    /// A self-contained HTML page.
    Html,
    /// A Markdown table.
    Markdown,
}

/// `--removal` of `evaluate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RemovalChoice {
    /// ferret's defaults: 10 %, 20 %, …, 100 % of the tokens.
    Ferret,
    /// ERASER's bins: 1, 5, 10, 20, 50 %.
    Eraser,
}

/// `explainer evaluate`.
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The model folder (default: the bundled model).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// The data: JSONL with `text`, and `labels` / `rationales` (character spans per label)
    /// for the plausibility columns, e.g. data/compliance/test.jsonl.
    #[arg(long, value_name = "FILE", required_unless_present = "merge")]
    pub data: Option<PathBuf>,
    /// Instead of evaluating: merge the JSON tables of earlier runs that differ only in
    /// --methods / --baselines (e.g. one process per method, scripts/eval/grid.sh) into one
    /// table, written in --format.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with = "data")]
    pub merge: Vec<PathBuf>,
    /// Methods to evaluate (registry names, comma-separated); default: every registered
    /// method the model can run.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub methods: Vec<String>,
    /// Baselines to evaluate (comma-separated); default: every registered baseline.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub baselines: Vec<String>,
    /// Evaluate only the first N texts.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Integration steps of every method that has `n_steps`.
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Draws of the random-tokens baseline (its `draws`).
    #[arg(long, value_name = "K")]
    pub draws: Option<u64>,
    /// The AOPC removal fractions.
    #[arg(long, value_enum, default_value = "ferret")]
    pub removal: RemovalChoice,
    /// Size of the top-k hard rationale (token F1, token IOU, IOU-F1).
    #[arg(long, value_name = "K", default_value_t = 5)]
    pub top_k: usize,
    /// Perturbed inputs per text for sensitivity-max (0: skip it).
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub sensitivity_samples: usize,
    /// Texts for the parameter-randomisation check (0: skip it).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub randomization_texts: usize,
    /// Bootstrap resamples for the confidence intervals.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub bootstrap: usize,
    /// Seed of the bootstrap, the control row and the perturbations.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
    /// The corpus of the average-embedding baseline (one text per line); default: the
    /// evaluated texts themselves.
    #[arg(long, value_name = "FILE")]
    pub corpus: Option<PathBuf>,
    /// Leave out the random-attribution control row.
    #[arg(long)]
    pub no_control: bool,
    /// Device.
    #[command(flatten)]
    pub device: crate::args::DeviceArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: EvalFormat,
    /// Write to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// A method config with `n_steps` set when the method has it.
fn method_with_steps(name: &str, steps: Option<u64>) -> Result<Box<dyn explainer_core::Method>> {
    if let Some(steps) = steps {
        if let Ok(m) = method_config(name, vec![Setting::new("n_steps", steps, "--steps")]) {
            return Ok(m);
        }
    }
    Ok(method_config(name, Vec::new())?)
}

/// Runs the evaluation and prints or writes the table.
pub fn run(args: EvaluateArgs) -> Result<()> {
    if !args.merge.is_empty() {
        let mut reports = Vec::with_capacity(args.merge.len());
        for path in &args.merge {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the evaluation table {}", path.display()))?;
            let report: explainer_eval::EvalReport = serde_json::from_str(&text).with_context(|| {
                format!("{} is not an `explainer evaluate --format json` table", path.display())
            })?;
            reports.push(report);
        }
        return write_report(&explainer_eval::merge(reports)?, &args);
    }
    let Some(data_path) = args.data.as_deref() else {
        anyhow::bail!("--data FILE is needed (or --merge FILE…)");
    };
    let dir = model_dir(args.model.as_deref());
    let device = args.device.device()?;
    let model = load_model_on(&dir, device)?;
    let limit = args.limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    let data = Dataset::read(data_path, limit)?;
    if !data.has_rationales() {
        eprintln!(
            "explainer: {} has no \"rationales\" field: computing the faithfulness metrics only; the plausibility \
             columns need ground-truth rationale spans per label (see data/README.md)",
            data_path.display()
        );
    }
    let info = model.info();
    let method_names: Vec<String> = if args.methods.is_empty() {
        registry::methods()
            .iter()
            .filter(|e| info.capabilities.first_missing(e.requires).is_none())
            .map(|e| e.name.to_owned())
            .collect()
    } else {
        args.methods.clone()
    };
    let baseline_names: Vec<String> = if args.baselines.is_empty() {
        registry::baselines().iter().map(|e| e.name.to_owned()).collect()
    } else {
        args.baselines.clone()
    };
    // average-embedding needs a corpus: the given one, else the evaluated texts.
    let corpus_file = match &args.corpus {
        Some(_) => None,
        None => {
            let mut file = tempfile::NamedTempFile::new().context("cannot write a temporary corpus file")?;
            for r in &data.records {
                writeln!(file, "{}", r.text.replace(['\n', '\r'], " "))
                    .context("cannot write the corpus file")?;
            }
            file.flush().context("cannot write the corpus file")?;
            Some(file)
        }
    };
    let corpus_path: PathBuf = match (&args.corpus, &corpus_file) {
        (Some(p), _) => p.clone(),
        (None, Some(f)) => f.path().to_path_buf(),
        (None, None) => PathBuf::new(),
    };
    let mut candidates = Vec::new();
    for m in &method_names {
        registry::method(m)?;
    }
    for b in &baseline_names {
        registry::baseline(b)?;
    }
    for m in &method_names {
        for b in &baseline_names {
            let mut settings = Vec::new();
            if let Some(draws) = args.draws
                && b == "random-tokens"
            {
                settings.push(Setting::new("draws", draws, "--draws"));
            }
            if b == "average-embedding" {
                settings.push(Setting::new("corpus", corpus_path.display().to_string(), "--corpus"));
            }
            let baseline = baseline_config(b, settings)?;
            candidates.push(Candidate::Pair { method: method_with_steps(m, args.steps)?, baseline });
        }
    }
    if !args.no_control {
        candidates.push(Candidate::RandomControl);
    }
    let randomized: Vec<RandomizedModel> = if args.randomization_texts == 0 {
        Vec::new()
    } else {
        match randomized_models_on(&dir, args.seed, device) {
            Ok(models) => models.into_iter().map(|(stage, model)| RandomizedModel { stage, model }).collect(),
            Err(e) => {
                eprintln!("explainer: the parameter-randomisation check is skipped: {e}");
                Vec::new()
            }
        }
    };
    let options = EvalOptions {
        removal: match args.removal {
            RemovalChoice::Ferret => Removal::ferret(),
            RemovalChoice::Eraser => Removal::eraser(),
        },
        top_k: args.top_k,
        sensitivity_samples: args.sensitivity_samples,
        randomization_texts: args.randomization_texts,
        bootstrap: args.bootstrap,
        seed: args.seed,
        ..EvalOptions::default()
    };
    let mut progress = ProgressReport::new((candidates.len() * data.records.len()) as u64);
    let report =
        explainer_eval::evaluate(model.as_ref(), &data, &candidates, &randomized, &options, &mut |p| {
            progress.update(p);
        })?;
    progress.finish();
    drop(corpus_file);
    write_report(&report, &args)
}

/// Renders the table in `--format` to `--output` or standard output.
fn write_report(report: &explainer_eval::EvalReport, args: &EvaluateArgs) -> Result<()> {
    let text = match args.format {
        EvalFormat::Text => render::terminal(report),
        EvalFormat::Json => render::json(report) + "\n",
        EvalFormat::Html => render::html(report),
        EvalFormat::Markdown => render::markdown(report),
    };
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write the table to {}", path.display()))?,
        None => crate::output::print_stdout(&text)?,
    }
    Ok(())
}

/// How often a progress line is written when stderr is not a terminal.
const PROGRESS_LINE_EVERY: Duration = Duration::from_secs(60);

/// Progress on stderr: a bar with the ETA when stderr is a terminal; otherwise (a log file, a
/// grid script) one plain line per finished row and at most one a minute in between, so a
/// long run's log still says how far it is.
enum ProgressReport {
    /// stderr is a terminal.
    Bar(ProgressBar),
    /// stderr is a file or a pipe.
    Lines {
        /// Units (text × row) in all.
        total: u64,
        /// When the run started.
        start: Instant,
        /// When the last line was written.
        last_line: Instant,
        /// The row of the last update.
        row: String,
        /// Units done at the last update.
        done: u64,
    },
}

impl ProgressReport {
    fn new(total: u64) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} texts×rows  elapsed {elapsed}  ETA {eta}  {msg}",
            ) {
                bar.set_style(style);
            }
            // Redraw each second, so elapsed time moves while one slow text runs.
            bar.enable_steady_tick(Duration::from_secs(1));
            return Self::Bar(bar);
        }
        let now = Instant::now();
        Self::Lines { total, start: now, last_line: now, row: String::new(), done: 0 }
    }

    fn update(&mut self, p: &explainer_eval::Progress) {
        match self {
            Self::Bar(bar) => {
                bar.set_position(p.done as u64);
                bar.set_message(p.row.clone());
            }
            Self::Lines { total, start, last_line, row, done } => {
                let finished_row = !row.is_empty() && *row != p.row;
                if finished_row {
                    eprintln!("{}", progress_line(&format!("{row} done"), *done, *total, start.elapsed()));
                    *last_line = Instant::now();
                } else if last_line.elapsed() >= PROGRESS_LINE_EVERY {
                    eprintln!("{}", progress_line(&p.row, p.done as u64, *total, start.elapsed()));
                    *last_line = Instant::now();
                }
                row.clone_from(&p.row);
                *done = p.done as u64;
            }
        }
    }

    fn finish(self) {
        match self {
            Self::Bar(bar) => bar.finish_and_clear(),
            Self::Lines { total, start, row, done, .. } => {
                if !row.is_empty() {
                    eprintln!("{}", progress_line(&format!("{row} done"), done, total, start.elapsed()));
                }
            }
        }
    }
}

/// One plain progress line: `evaluate: 105/700 texts×rows (15 %) · ROW · elapsed 12 s · ETA 68 s`
/// (the ETA assumes the remaining units take as long on average as the ones done).
fn progress_line(row: &str, done: u64, total: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let percent = if total > 0 { 100.0 * done as f64 / total as f64 } else { 100.0 };
    let eta = if done > 0 && total >= done {
        format!("{:.0} s", secs / done as f64 * (total - done) as f64)
    } else {
        "unknown".to_string()
    };
    format!("evaluate: {done}/{total} texts×rows ({percent:.0} %) · {row} · elapsed {secs:.0} s · ETA {eta}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_line_gives_share_and_a_linear_eta() {
        let line = progress_line("saliency / pad", 105, 700, Duration::from_secs(12));
        assert_eq!(line, "evaluate: 105/700 texts×rows (15 %) · saliency / pad · elapsed 12 s · ETA 68 s");
    }

    #[test]
    fn progress_line_before_the_first_unit_has_no_eta() {
        let line = progress_line("lime / unk", 0, 10, Duration::from_secs(3));
        assert!(line.ends_with("ETA unknown"), "{line}");
        assert!(line.contains("(0 %)"), "{line}");
    }
}
