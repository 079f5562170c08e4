//! Command-line flags → method and baseline configs, target rule and output kind.
//!
//! The mapping is generic: a method or baseline is looked up in the registry by name, its
//! default config is serialised to JSON, the options given on the command line are merged
//! into that object, and the result is deserialised through the registry (typetag), which
//! validates it. The convenience flags are nothing but names for config fields:
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

use anyhow::{Result, anyhow, bail};
use clap::{Args, ValueEnum};
use explainer_core::registry;
use explainer_core::{Baseline, Method, Output, Target};
use serde_json::{Map, Value};

/// The method in use when `--method` is not given.
pub const DEFAULT_METHOD: &str = "layer-integrated-gradients";
/// The baseline in use when `--baseline` is not given.
pub const DEFAULT_BASELINE: &str = "pad";

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

/// One option to set: the field, its value, and the flag that gave it (for messages).
struct Setting {
    key: String,
    value: Value,
    flag: String,
}

/// `KEY=VALUE` → a setting; VALUE is parsed as JSON, else taken as a string.
fn parse_option(raw: &str, flag: &str) -> Result<Setting> {
    let Some((key, value)) = raw.split_once('=') else {
        bail!("{flag} {raw:?}: expected KEY=VALUE");
    };
    let key = key.trim();
    if key.is_empty() {
        bail!("{flag} {raw:?}: the option name is empty");
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok(Setting { key: key.to_owned(), value, flag: format!("{flag} {raw}") })
}

fn convenience(key: &str, flag: &str, value: Option<Value>) -> Option<Setting> {
    value.map(|value| Setting { key: key.to_owned(), value, flag: flag.to_owned() })
}

/// The default config's fields as a JSON object, without the tag.
fn default_fields(config: Value, tag: &str) -> Result<Map<String, Value>> {
    match config {
        Value::Object(mut map) => {
            map.remove(tag);
            Ok(map)
        }
        other => {
            Err(anyhow!("internal error (please report): a default {tag} config is not an object: {other}"))
        }
    }
}

/// Merges `settings` into `fields`, checking each key against the known fields; `accepts`
/// tries a key that the defaults do not show (an optional field skipped when unset).
fn merge(
    kind: &str,
    name: &str,
    mut fields: Map<String, Value>,
    settings: Vec<Setting>,
    accepts: impl Fn(&Map<String, Value>) -> bool,
) -> Result<Map<String, Value>> {
    let known: Vec<String> = fields.keys().cloned().collect();
    for s in settings {
        if !fields.contains_key(&s.key) {
            let mut trial = fields.clone();
            trial.insert(s.key.clone(), s.value.clone());
            if !accepts(&trial) {
                let list = if known.is_empty() {
                    "it has no options".to_owned()
                } else {
                    format!("its options are: {}", known.join(", "))
                };
                let suggestion = explainer_core::names::closest(&s.key, known.iter().map(String::as_str))
                    .map(|k| format!(" (did you mean {k:?}?)"))
                    .unwrap_or_default();
                bail!("{kind} {name:?} has no option {:?}{suggestion} (given by {}); {list}", s.key, s.flag);
            }
        }
        fields.insert(s.key, s.value);
    }
    Ok(fields)
}

impl MethodArgs {
    /// The method config: the registry's default for `--method` with the options merged in.
    pub fn method(&self) -> Result<Box<dyn Method>> {
        let entry = registry::method(&self.method)?;
        let defaults = serde_json::to_value((entry.default_config)())?;
        let mut settings: Vec<Setting> = [
            convenience("n_steps", "--steps", self.steps.map(Value::from)),
            convenience("tolerance", "--tolerance", self.tolerance.map(Value::from)),
            convenience("layer", "--layer", self.layer.clone().map(Value::from)),
            convenience("rule", "--rule", self.rule.clone().map(Value::from)),
        ]
        .into_iter()
        .flatten()
        .collect();
        for raw in &self.method_options {
            settings.push(parse_option(raw, "--method-option")?);
        }
        let fields = merge("method", entry.name, default_fields(defaults, "method")?, settings, |trial| {
            entry.configure(Value::Object(trial.clone())).is_ok()
        })?;
        Ok(entry.configure(Value::Object(fields))?)
    }

    /// The baseline config: the registry's default for `--baseline` with the options merged in.
    pub fn baseline(&self) -> Result<Box<dyn Baseline>> {
        let entry = registry::baseline(&self.baseline)?;
        let defaults = serde_json::to_value((entry.default_config)())?;
        let mut settings: Vec<Setting> = [
            convenience("draws", "--draws", self.draws.map(Value::from)),
            convenience("seed", "--seed", self.seed.map(Value::from)),
        ]
        .into_iter()
        .flatten()
        .collect();
        for raw in &self.baseline_options {
            settings.push(parse_option(raw, "--baseline-option")?);
        }
        let fields =
            merge("baseline", entry.name, default_fields(defaults, "baseline")?, settings, |trial| {
                entry.configure(Value::Object(trial.clone())).is_ok()
            })?;
        Ok(entry.configure(Value::Object(fields))?)
    }
}

impl TargetArgs {
    /// The target rule from `--labels` and `--threshold`.
    pub fn target(&self) -> Result<Target> {
        if let Some(threshold) = self.threshold {
            if !threshold.is_finite() {
                bail!("--threshold must be a finite number, not {threshold}");
            }
            return match self.labels.as_deref().map(str::trim) {
                None | Some("predicted") | Some("all") => Ok(Target::Above { threshold }),
                Some(other) => {
                    bail!(
                        "--threshold {threshold} goes with --labels predicted or all, not with --labels {other}"
                    )
                }
            };
        }
        let Some(labels) = self.labels.as_deref().map(str::trim) else { return Ok(Target::Predicted) };
        if labels.is_empty() {
            bail!("--labels is empty: give predicted, all or label names");
        }
        if labels == "predicted" || labels == "all" || labels.contains(':') {
            return Ok(labels.parse::<Target>()?);
        }
        let names: Vec<String> =
            labels.split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
        if names.is_empty() {
            bail!("--labels {labels:?} names no label");
        }
        Ok(Target::Labels { labels: names })
    }

    /// The explained output.
    pub fn output(&self) -> Output {
        self.output_kind.into()
    }
}
