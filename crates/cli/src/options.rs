//! Command-line flags → method and baseline configs, target rule and output kind.
//!
//! The mapping itself is `explainer_pipeline::configs` (registry defaults with options merged
//! in, validated by the registry). The convenience flags are nothing but names for config
//! fields:
//!
//! | flag | config field | of |
//! |---|---|---|
//! | `--steps N` | `n_steps` | the method |
//! | `--tolerance X` | `tolerance` | the method |
//! | `--layer NAME` | `layer` | the method |
//! | `--rule NAME` | `rule` | the method |
//! | `--draws K` | `draws` | the baseline |
//! | `--seed S` | `seed` | the baseline |
//!
//! and `--method-option KEY=VALUE` / `--baseline-option KEY=VALUE` set any field (VALUE is
//! parsed as JSON, else taken as a string). A field the chosen method or baseline does not
//! have is an error naming the fields it has.

use anyhow::Result;
use clap::{Args, ValueEnum};
use explainer_core::{Baseline, Method, Output, Target};
use explainer_pipeline::Setup;
use explainer_pipeline::configs::{
    DEFAULT_BASELINE, DEFAULT_METHOD, Setting, baseline_config, method_config, target_rule,
};

/// Flags choosing and configuring the method and the baseline.
#[derive(Debug, Clone, Args)]
pub struct MethodArgs {
    /// The attribution method, by registry name (`explainer methods` lists them).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_METHOD)]
    pub method: String,
    /// The method's number of integration steps (config field `n_steps`).
    #[arg(long, value_name = "N")]
    pub steps: Option<u64>,
    /// Adaptive integration: the tolerance to reach (config field `tolerance`).
    #[arg(long, value_name = "X")]
    pub tolerance: Option<f64>,
    /// The layer to attribute at, e.g. `embeddings.word`, `encoder.3` (config field `layer`).
    #[arg(long, value_name = "NAME")]
    pub layer: Option<String>,
    /// The quadrature rule, e.g. `gauss_legendre`, `riemann_trapezoid` (config field `rule`).
    #[arg(long, value_name = "NAME")]
    pub rule: Option<String>,
    /// Any method option, KEY=VALUE (VALUE as JSON, else a string); repeatable.
    #[arg(long = "method-option", value_name = "KEY=VALUE")]
    pub method_options: Vec<String>,
    /// The baseline (reference input), by registry name (`explainer baselines` lists them).
    #[arg(long, value_name = "NAME", default_value = DEFAULT_BASELINE)]
    pub baseline: String,
    /// The baseline's number of random draws (config field `draws`).
    #[arg(long, value_name = "K")]
    pub draws: Option<u64>,
    /// The baseline's random seed (config field `seed`).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Any baseline option, KEY=VALUE (VALUE as JSON, else a string); repeatable.
    #[arg(long = "baseline-option", value_name = "KEY=VALUE")]
    pub baseline_options: Vec<String>,
}

/// Flags choosing which labels and which output are explained.
#[derive(Debug, Clone, Args)]
pub struct TargetArgs {
    /// Which labels to explain: `predicted`, `all`, label names `NAME,NAME…`, or a rule
    /// `above:X`, `labels:A,B`, `indices:0,2`. Default: predicted.
    #[arg(long, value_name = "WHICH")]
    pub labels: Option<String>,
    /// Explain every label whose score is at least X (with `--labels predicted|all` or alone).
    #[arg(long, value_name = "X")]
    pub threshold: Option<f64>,
    /// Explain the probability (after sigmoid/softmax) or the raw logit.
    #[arg(long = "output-kind", value_enum, value_name = "KIND", default_value = "probability")]
    pub output_kind: OutputKind,
}

/// `--output-kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputKind {
    /// The score after the model's output function.
    Probability,
    /// The raw logit.
    Logit,
}

impl From<OutputKind> for Output {
    fn from(kind: OutputKind) -> Self {
        match kind {
            OutputKind::Probability => Output::Probability,
            OutputKind::Logit => Output::Logit,
        }
    }
}

impl MethodArgs {
    /// The method config: the registry's default for `--method` with the options merged in.
    pub fn method(&self) -> Result<Box<dyn Method>> {
        let mut settings: Vec<Setting> = [
            self.steps.map(|v| Setting::new("n_steps", v, "--steps")),
            self.tolerance.map(|v| Setting::new("tolerance", v, "--tolerance")),
            self.layer.clone().map(|v| Setting::new("layer", v, "--layer")),
            self.rule.clone().map(|v| Setting::new("rule", v, "--rule")),
        ]
        .into_iter()
        .flatten()
        .collect();
        for raw in &self.method_options {
            settings.push(Setting::parse(raw, "--method-option")?);
        }
        Ok(method_config(&self.method, settings)?)
    }

    /// The baseline config: the registry's default for `--baseline` with the options merged in.
    pub fn baseline(&self) -> Result<Box<dyn Baseline>> {
        let mut settings: Vec<Setting> = [
            self.draws.map(|v| Setting::new("draws", v, "--draws")),
            self.seed.map(|v| Setting::new("seed", v, "--seed")),
        ]
        .into_iter()
        .flatten()
        .collect();
        for raw in &self.baseline_options {
            settings.push(Setting::parse(raw, "--baseline-option")?);
        }
        Ok(baseline_config(&self.baseline, settings)?)
    }
}

impl TargetArgs {
    /// The target rule from `--labels` and `--threshold`.
    pub fn target(&self) -> Result<Target> {
        Ok(target_rule(self.labels.as_deref(), self.threshold)?)
    }

    /// The explained output.
    pub fn output(&self) -> Output {
        self.output_kind.into()
    }
}

/// The run set-up from the flags: configs first (fast errors), then the model.
pub fn setup(
    model: Option<&std::path::Path>,
    methods: &MethodArgs,
    targets: &TargetArgs,
    device: explainer_core::tch::Device,
) -> Result<Setup> {
    let (method, baseline, target) = (methods.method()?, methods.baseline()?, targets.target()?);
    Ok(Setup::new_on(model, method, baseline, target, targets.output(), device)?)
}
