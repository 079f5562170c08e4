//! Spec files: a named, reproducible explanation set-up (model + hash, and entry points of
//! method, baseline, target rule and output kind), written by `explainer export` and run by
//! `explainer explain --spec`.
//!
//! ```yaml
//! spec_version: 1
//! name: fraud-audit
//! explainer_version: 0.1.0
//! model:
//!   path: /models/fraud
//!   hash: sha256:…
//! entry_points:
//! - name: default
//!   method: {method: layer-integrated-gradients, n_steps: 50, …}
//!   baseline: {baseline: pad}
//!   target: {rule: predicted}
//!   output: probability
//!   long_text: {mode: windows, stride: 64}   # optional; absent: truncate
//! ```
//!
//! Method and baseline configs are the typetag serialisations of the configs (the `method` /
//! `baseline` field is the registry name); loading deserialises them through the registry,
//! which validates them. A relative model path is resolved against the spec file's folder.

use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::{Context, PipelineError, Result};
use explainer_core::{Baseline, Method, Output, Target, registry};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::long_text::LongText;
use crate::model_hash::model_hash_cached;

/// The spec format version this binary writes and reads.
pub const SPEC_VERSION: u32 = 1;

/// A spec file, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    /// The spec format version ([`SPEC_VERSION`]).
    pub spec_version: u32,
    /// The spec's name.
    pub name: String,
    /// The explainer version that wrote it.
    pub explainer_version: String,
    /// The model folder and its hash.
    pub model: SpecModel,
    /// The named set-ups; `explain --spec` runs the first unless `--entry` names another.
    pub entry_points: Vec<EntryPoint>,
}

/// The model a spec is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecModel {
    /// The model folder (relative paths are relative to the spec file's folder).
    pub path: PathBuf,
    /// `sha256:<hex>` of the model files (see `model_hash.rs`).
    pub hash: String,
}

/// One entry point, as stored: configs kept as JSON-like values until loaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryPoint {
    /// The entry's name, for `--entry`.
    pub name: String,
    /// The method config (`method: NAME` plus its fields).
    #[serde(serialize_with = "method_first")]
    pub method: Value,
    /// The baseline config (`baseline: NAME` plus its fields).
    #[serde(serialize_with = "baseline_first")]
    pub baseline: Value,
    /// Which labels to explain: `{rule: predicted}`, `{rule: above, threshold: 0.3}`,
    /// `{rule: labels, labels: [a, b]}`, `{rule: indices, indices: [0]}`, `{rule: all}`, or the
    /// same as a string (`predicted`, `above:0.3`, `labels:a,b`, …).
    pub target: TargetValue,
    /// `probability` or `logit`.
    #[serde(default)]
    pub output: Output,
    /// Texts longer than the model's window: `{mode: truncate}` (the default when absent) or
    /// `{mode: windows, stride: N}` (stride optional: half a window).
    #[serde(default)]
    pub long_text: LongText,
}

/// A target rule in a spec: structured, or its string form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TargetValue {
    /// `{rule: …}`: the serde form of [`Target`].
    Rule(Target),
    /// `predicted`, `above:0.3`, …: the string form.
    Text(String),
}

/// An entry point ready to run.
#[derive(Debug)]
pub struct Resolved {
    /// The model folder (absolute or relative to the working directory).
    pub model_dir: PathBuf,
    /// The model hash, checked against the folder.
    pub model_hash: String,
    /// The method.
    pub method: Box<dyn Method>,
    /// The baseline.
    pub baseline: Box<dyn Baseline>,
    /// The target rule.
    pub target: Target,
    /// The explained output.
    pub output: Output,
    /// The long-text setting.
    pub long_text: LongText,
}

/// Serialises a config object with its tag field first (then the others by name), so that
/// a spec reads `method: NAME` before the method's options.
fn tag_first<S: serde::Serializer>(value: &Value, tag: &str, serializer: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let Value::Object(map) = value else { return value.serialize(serializer) };
    let mut out = serializer.serialize_map(Some(map.len()))?;
    if let Some(name) = map.get(tag) {
        out.serialize_entry(tag, name)?;
    }
    for (k, v) in map.iter().filter(|(k, _)| k.as_str() != tag) {
        out.serialize_entry(k, v)?;
    }
    out.end()
}

fn method_first<S: serde::Serializer>(value: &Value, serializer: S) -> Result<S::Ok, S::Error> {
    tag_first(value, "method", serializer)
}

fn baseline_first<S: serde::Serializer>(value: &Value, serializer: S) -> Result<S::Ok, S::Error> {
    tag_first(value, "baseline", serializer)
}

/// A method config as stored in a spec: its typetag serialisation.
pub fn method_value(method: &dyn Method) -> Result<Value> {
    Ok(serde_json::to_value(method)?)
}

/// A baseline config as stored in a spec: its typetag serialisation.
pub fn baseline_value(baseline: &dyn Baseline) -> Result<Value> {
    Ok(serde_json::to_value(baseline)?)
}

/// Splits `{tag: NAME, fields…}` into the name and the fields.
fn split_tag(value: &Value, tag: &str, entry: &str) -> Result<(String, Value)> {
    let Value::Object(map) = value else {
        bail!("entry {entry:?}: `{tag}` must be a mapping with a `{tag}: NAME` field, not {value}");
    };
    let mut map = map.clone();
    match map.remove(tag) {
        Some(Value::String(name)) => Ok((name, Value::Object(map))),
        Some(other) => bail!("entry {entry:?}: `{tag}.{tag}` must be a name, not {other}"),
        None => bail!("entry {entry:?}: the {tag} config has no `{tag}: NAME` field"),
    }
}

/// Deserialises a stored method config through the registry (typetag), validated.
pub fn load_method(value: &Value, entry: &str) -> Result<Box<dyn Method>> {
    let (name, fields) = split_tag(value, "method", entry)?;
    let method = registry::method(&name)?.configure(fields).with_context(|| format!("entry {entry:?}"))?;
    Ok(method)
}

/// Deserialises a stored baseline config through the registry (typetag).
pub fn load_baseline(value: &Value, entry: &str) -> Result<Box<dyn Baseline>> {
    let (name, fields) = split_tag(value, "baseline", entry)?;
    let baseline =
        registry::baseline(&name)?.configure(fields).with_context(|| format!("entry {entry:?}"))?;
    Ok(baseline)
}

impl TargetValue {
    /// The target rule.
    pub fn target(&self) -> Result<Target> {
        match self {
            TargetValue::Rule(t) => Ok(t.clone()),
            TargetValue::Text(s) => Ok(s.parse()?),
        }
    }
}

impl SpecFile {
    /// The spec as YAML text, with a comment header saying how to add entry points.
    pub fn to_yaml(&self) -> Result<String> {
        let body = serde_norway::to_string(self)?;
        Ok(format!(
            "# explainer spec file: run with `explainer explain --spec THIS_FILE [--entry NAME] TEXT`.\n\
             # To add an entry point, copy an item of `entry_points`, give it a new `name` and edit\n\
             # its method, baseline, target or output (`explainer methods` / `explainer baselines`\n\
             # list the names and options). Do not edit `model.hash`: it guards the model files.\n{body}"
        ))
    }

    /// Parses a spec file; a malformed file is an error naming it.
    pub fn read(path: &Path) -> Result<SpecFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the spec file {}", path.display()))?;
        let spec: SpecFile = serde_norway::from_str(&text).map_err(|e| {
            PipelineError::msg(format!("the spec file {} is not a valid spec: {e}", path.display()))
        })?;
        if spec.spec_version != SPEC_VERSION {
            bail!(
                "the spec file {} has spec_version {}; this explainer reads version {SPEC_VERSION}",
                path.display(),
                spec.spec_version
            );
        }
        if spec.entry_points.is_empty() {
            bail!("the spec file {} has no entry points", path.display());
        }
        Ok(spec)
    }

    /// The names of the entry points.
    pub fn entry_names(&self) -> Vec<&str> {
        self.entry_points.iter().map(|e| e.name.as_str()).collect()
    }

    /// Resolves an entry (the first when `entry` is `None`): checks the model hash and
    /// deserialises the configs. `spec_path` anchors a relative model path.
    pub fn resolve(&self, spec_path: &Path, entry: Option<&str>) -> Result<Resolved> {
        let chosen = match entry {
            None => &self.entry_points[0],
            Some(name) => self.entry_points.iter().find(|e| e.name == name).ok_or_else(|| {
                let names = self.entry_names();
                let suggestion = explainer_core::names::closest(name, names.iter().copied())
                    .map(|s| format!(" (did you mean {s:?}?)"))
                    .unwrap_or_default();
                PipelineError::msg(format!(
                    "the spec file {} has no entry point {name:?}{suggestion}; its entry points: {}",
                    spec_path.display(),
                    names.join(", ")
                ))
            })?,
        };
        let model_dir = if self.model.path.is_absolute() {
            self.model.path.clone()
        } else {
            spec_path.parent().unwrap_or(Path::new("")).join(&self.model.path)
        };
        if !model_dir.is_dir() {
            bail!("the spec's model folder {} does not exist", model_dir.display());
        }
        let actual = model_hash_cached(&model_dir)?;
        if actual != self.model.hash {
            bail!(
                "the model files in {} changed since the spec was written: the spec has {}, the folder now hashes to {actual}",
                model_dir.display(),
                self.model.hash
            );
        }
        let name = &chosen.name;
        chosen.long_text.validate().with_context(|| format!("entry {name:?}"))?;
        Ok(Resolved {
            model_dir,
            model_hash: actual,
            method: load_method(&chosen.method, name)?,
            baseline: load_baseline(&chosen.baseline, name)?,
            target: chosen.target.target().with_context(|| format!("entry {name:?}"))?,
            output: chosen.output,
            long_text: chosen.long_text,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use explainer_core::registry;
    use serde_json::json;

    use super::*;

    /// Every registered method and baseline, with defaults and with edited options, survives
    /// spec → YAML → spec → typetag configs unchanged.
    #[test]
    fn every_registered_config_round_trips_through_a_spec() {
        let model = explainer_testing::tiny_model_dir();
        let mut entries = Vec::new();
        for m in registry::methods() {
            for b in registry::baselines() {
                entries.push(EntryPoint {
                    name: format!("{}+{}", m.name, b.name),
                    method: method_value((m.default_config)().as_ref()).unwrap(),
                    baseline: baseline_value((b.default_config)().as_ref()).unwrap(),
                    target: TargetValue::Rule(Target::Above { threshold: 0.1 + 0.2 }),
                    output: Output::Logit,
                    long_text: LongText::default(),
                });
            }
        }
        let edited_method = registry::method("layer-integrated-gradients")
            .unwrap()
            .configure(json!({"n_steps": 7, "tolerance": 1e-4, "layer": "encoder.1", "rule": "riemann_left"}))
            .unwrap();
        let edited_baseline = registry::baseline("random-tokens")
            .unwrap()
            .configure(
                json!({"draws": 3, "seed": 12345678901234u64, "source": {"corpus": "texts/corpus.txt"}}),
            )
            .unwrap();
        entries.push(EntryPoint {
            name: "edited".into(),
            method: method_value(edited_method.as_ref()).unwrap(),
            baseline: baseline_value(edited_baseline.as_ref()).unwrap(),
            target: TargetValue::Rule(Target::Labels { labels: vec!["spam".into(), "fraud, etc".into()] }),
            output: Output::Probability,
            long_text: LongText::windows(Some(7)),
        });
        assert!(entries.len() > 2 * 6, "the registries are linked");
        let spec = SpecFile {
            spec_version: SPEC_VERSION,
            name: "round-trip".into(),
            explainer_version: "0.1.0".into(),
            model: SpecModel { path: model.clone(), hash: crate::model_hash::model_hash(&model).unwrap() },
            entry_points: entries,
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spec.yaml");
        std::fs::write(&path, spec.to_yaml().unwrap()).unwrap();
        let read = SpecFile::read(&path).unwrap();
        assert_eq!(read, spec);
        for entry in &spec.entry_points {
            let method = load_method(&entry.method, &entry.name).unwrap();
            let baseline = load_baseline(&entry.baseline, &entry.name).unwrap();
            assert_eq!(method_value(method.as_ref()).unwrap(), entry.method, "{}", entry.name);
            assert_eq!(baseline_value(baseline.as_ref()).unwrap(), entry.baseline, "{}", entry.name);
        }
        let resolved = read.resolve(&path, Some("edited")).unwrap();
        assert_eq!(
            method_value(resolved.method.as_ref()).unwrap(),
            method_value(edited_method.as_ref()).unwrap()
        );
        assert_eq!(resolved.target, Target::Labels { labels: vec!["spam".into(), "fraud, etc".into()] });
        assert_eq!(resolved.output, Output::Probability);
        assert_eq!(resolved.long_text, LongText::windows(Some(7)));
        let first = read.resolve(&path, None).unwrap();
        assert_eq!(first.target, Target::Above { threshold: 0.1 + 0.2 });
        assert_eq!(first.output, Output::Logit);
        assert_eq!(first.long_text, LongText::default());
    }
}
