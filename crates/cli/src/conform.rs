//! `explainer conform`: the axiom-conformance suite on a model folder (docs/axioms.md).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use explainer_axioms::{Subject, SuiteOptions, run_suite};
use explainer_core::{Method, registry};

use crate::exit;
use crate::output::write_atomic;
use explainer_pipeline::models::{load_model, model_dir};

/// `--format` of `conform`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConformFormat {
    /// An axiom × method table, then one line per claim and the counter-examples.
    Markdown,
    /// The report as JSON.
    Json,
}

/// `explainer conform`.
#[derive(Debug, Args)]
pub struct ConformArgs {
    /// The model folder (default: the bundled model).
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Check only these methods (registry names, default configs); default: every registered
    /// method.
    #[arg(long = "method", value_name = "NAME")]
    pub methods: Vec<String>,
    /// Generated cases per claim (default: PROPTEST_CASES, else 4).
    #[arg(long, value_name = "N")]
    pub cases: Option<u32>,
    /// Seed of the case generator.
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// A functionally equal model with another implementation (e.g. permuted hidden units):
    /// enables the implementation-invariance check.
    #[arg(long, value_name = "DIR")]
    pub twin: Option<PathBuf>,
    /// Declare the model position-blind (equal tokens are interchangeable): enables symmetry.
    #[arg(long)]
    pub position_blind: bool,
    /// Report format.
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: ConformFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs the suite; exit 0 when every checked claim holds, 1 when one fails.
pub fn run(args: ConformArgs) -> Result<u8> {
    let dir = model_dir(args.model.as_deref());
    let model = load_model(&dir)?;
    let methods: Option<Vec<Box<dyn Method>>> = if args.methods.is_empty() {
        None
    } else {
        Some(
            args.methods
                .iter()
                .map(|name| Ok((registry::method(name)?.default_config)()))
                .collect::<Result<_>>()?,
        )
    };
    let mut options = SuiteOptions { methods, ..SuiteOptions::default() };
    if let Some(cases) = args.cases {
        anyhow::ensure!(cases > 0, "--cases must be at least 1");
        options.cases = cases;
    }
    if let Some(seed) = args.seed {
        options.seed = seed;
    }
    let twin = args.twin.as_deref().map(load_model).transpose()?;
    let mut subject = Subject::new(model.as_ref());
    if let Some(twin) = &twin {
        subject = subject.with_twin(twin.as_ref());
    }
    if args.position_blind {
        subject = subject.position_blind();
    }
    let report = run_suite(&subject, &options);
    let text = match args.format {
        ConformFormat::Markdown => report.to_markdown(),
        ConformFormat::Json => report.to_json() + "\n",
    };
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes())
            .with_context(|| format!("cannot write the report to {}", path.display()))?,
        None => crate::output::print_stdout(&text)?,
    }
    let failed: Vec<String> = report.failures().map(|r| format!("{} / {}", r.method, r.axiom)).collect();
    if failed.is_empty() {
        Ok(exit::OK)
    } else {
        eprintln!("explainer: {} claim(s) do not hold: {}", failed.len(), failed.join(", "));
        Ok(exit::ERROR)
    }
}
