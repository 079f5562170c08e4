//! Method and baseline configs by registry name with options merged in, and target rules.
//!
//! The mapping is generic: a method or baseline is looked up in the registry by name, its
//! default config is serialised to JSON, the given options are merged into that object, and
//! the result is deserialised through the registry (typetag), which validates it. An option
//! the chosen method or baseline does not have is an error naming the options it has.

use explainer_core::registry;
use explainer_core::{Baseline, Method, Target};
use serde_json::{Map, Value};

use crate::bail;
use crate::error::{PipelineError, Result};

/// The method used when none is named.
pub const DEFAULT_METHOD: &str = "layer-integrated-gradients";
/// The baseline used when none is named.
pub const DEFAULT_BASELINE: &str = "pad";

/// One option to set: the config field, its value, and where it came from (for messages,
/// e.g. `--steps` or `--method-option n_steps=8`).
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// The config field.
    pub key: String,
    /// Its value.
    pub value: Value,
    /// What gave it, for messages.
    pub source: String,
}

impl Setting {
    /// A setting of `key` to `value`, given by `source`.
    pub fn new(key: impl Into<String>, value: impl Into<Value>, source: impl Into<String>) -> Self {
        Setting { key: key.into(), value: value.into(), source: source.into() }
    }

    /// `KEY=VALUE` → a setting; VALUE is parsed as JSON, else taken as a string. `source`
    /// names where it came from (`--method-option`).
    pub fn parse(raw: &str, source: &str) -> Result<Setting> {
        let Some((key, value)) = raw.split_once('=') else {
            bail!("{source} {raw:?}: expected KEY=VALUE");
        };
        let key = key.trim();
        if key.is_empty() {
            bail!("{source} {raw:?}: the option name is empty");
        }
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        Ok(Setting { key: key.to_owned(), value, source: format!("{source} {raw}") })
    }
}

/// The default config's fields as a JSON object, without the tag.
fn default_fields(config: Value, tag: &str) -> Result<Map<String, Value>> {
    match config {
        Value::Object(mut map) => {
            map.remove(tag);
            Ok(map)
        }
        other => Err(PipelineError::msg(format!(
            "internal error (please report): a default {tag} config is not an object: {other}"
        ))),
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
                bail!(
                    "{kind} {name:?} has no option {:?}{suggestion} (given by {}); {list}",
                    s.key,
                    s.source
                );
            }
        }
        fields.insert(s.key, s.value);
    }
    Ok(fields)
}

/// The method registered as `name`: its default config with `settings` merged in.
pub fn method_config(name: &str, settings: Vec<Setting>) -> Result<Box<dyn Method>> {
    let entry = registry::method(name)?;
    let defaults = serde_json::to_value((entry.default_config)())?;
    let fields = merge("method", entry.name, default_fields(defaults, "method")?, settings, |trial| {
        entry.configure(Value::Object(trial.clone())).is_ok()
    })?;
    Ok(entry.configure(Value::Object(fields))?)
}

/// The baseline registered as `name`: its default config with `settings` merged in.
pub fn baseline_config(name: &str, settings: Vec<Setting>) -> Result<Box<dyn Baseline>> {
    let entry = registry::baseline(name)?;
    let defaults = serde_json::to_value((entry.default_config)())?;
    let fields = merge("baseline", entry.name, default_fields(defaults, "baseline")?, settings, |trial| {
        entry.configure(Value::Object(trial.clone())).is_ok()
    })?;
    Ok(entry.configure(Value::Object(fields))?)
}

/// The target rule from a labels choice (`predicted`, `all`, label names `A,B`, or a rule
/// `above:X`, `labels:A,B`, `indices:0,2`; default predicted) and a threshold (every label
/// scoring at least X, with `predicted`, `all` or alone).
pub fn target_rule(labels: Option<&str>, threshold: Option<f64>) -> Result<Target> {
    if let Some(threshold) = threshold {
        if !threshold.is_finite() {
            bail!("--threshold must be a finite number, not {threshold}");
        }
        return match labels.map(str::trim) {
            None | Some("predicted") | Some("all") => Ok(Target::Above { threshold }),
            Some(other) => {
                bail!(
                    "--threshold {threshold} goes with --labels predicted or all, not with --labels {other}"
                )
            }
        };
    }
    let Some(labels) = labels.map(str::trim) else { return Ok(Target::Predicted) };
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
