//! The `inventory` registries of methods and baselines.
//!
//! A plugin crate registers an entry with `inventory::submit!`:
//!
//! ```ignore
//! inventory::submit! {
//!     explainer_core::MethodEntry {
//!         name: "my-method",
//!         summary: "One line saying what it does.",
//!         requires: Capabilities::of(&[Capability::LayerHooks]),
//!         has_convergence_delta: true,
//!         default_config: || Box::new(MyMethod::default()),
//!     }
//! }
//! ```
//!
//! The entry's `name` must equal the config type's typetag name (`#[typetag::serde(name =
//! "my-method")]`), so that a config file naming the method deserialises into it.
//!
//! Rust drops a crate nobody references at link time, and its entries with it: a binary or
//! test that needs a plugin must name it, e.g. `use explainer_deeplift as _;`.

use serde_json::Value;

use crate::{Baseline, Capabilities, Error, Method, Result};

/// A registered attribution method.
#[derive(Debug)]
pub struct MethodEntry {
    /// The registry name; also the config's typetag name.
    pub name: &'static str,
    /// One line saying what the method computes.
    pub summary: &'static str,
    /// What the model must offer.
    pub requires: Capabilities,
    /// Whether results carry a convergence delta.
    pub has_convergence_delta: bool,
    /// The method with its default configuration.
    pub default_config: fn() -> Box<dyn Method>,
}

inventory::collect!(MethodEntry);

/// A registered baseline provider.
#[derive(Debug)]
pub struct BaselineEntry {
    /// The registry name; also the config's typetag name.
    pub name: &'static str,
    /// One line saying what reference it builds.
    pub summary: &'static str,
    /// What the model must offer.
    pub requires: Capabilities,
    /// The baseline with its default configuration.
    pub default_config: fn() -> Box<dyn Baseline>,
}

inventory::collect!(BaselineEntry);

/// Every registered method, sorted by name.
pub fn methods() -> Vec<&'static MethodEntry> {
    let mut all: Vec<_> = inventory::iter::<MethodEntry>.into_iter().collect();
    all.sort_by_key(|e| e.name);
    all
}

/// Every registered baseline, sorted by name.
pub fn baselines() -> Vec<&'static BaselineEntry> {
    let mut all: Vec<_> = inventory::iter::<BaselineEntry>.into_iter().collect();
    all.sort_by_key(|e| e.name);
    all
}

/// The method registered as `name`; an unknown name is an error listing the known ones.
pub fn method(name: &str) -> Result<&'static MethodEntry> {
    let all = methods();
    all.iter()
        .find(|e| e.name == name)
        .copied()
        .ok_or_else(|| Error::unknown_name("method", name, all.iter().map(|e| e.name.to_owned()).collect()))
}

/// The baseline registered as `name`; an unknown name is an error listing the known ones.
pub fn baseline(name: &str) -> Result<&'static BaselineEntry> {
    let all = baselines();
    all.iter()
        .find(|e| e.name == name)
        .copied()
        .ok_or_else(|| Error::unknown_name("baseline", name, all.iter().map(|e| e.name.to_owned()).collect()))
}

impl MethodEntry {
    /// The method configured by `options` (a JSON object of its config fields; missing
    /// fields take their defaults where the config allows).
    pub fn configure(&self, options: Value) -> Result<Box<dyn Method>> {
        let tagged = tag("method", self.name, options)?;
        let method: Box<dyn Method> = serde_json::from_value(tagged)
            .map_err(|e| Error::InvalidConfig(format!("method {:?}: {e}", self.name)))?;
        method.validate()?;
        Ok(method)
    }
}

impl BaselineEntry {
    /// The baseline configured by `options` (a JSON object of its config fields).
    pub fn configure(&self, options: Value) -> Result<Box<dyn Baseline>> {
        let tagged = tag("baseline", self.name, options)?;
        serde_json::from_value(tagged)
            .map_err(|e| Error::InvalidConfig(format!("baseline {:?}: {e}", self.name)))
    }
}

fn tag(field: &str, name: &str, options: Value) -> Result<Value> {
    let mut map = match options {
        Value::Null => serde_json::Map::new(),
        Value::Object(map) => map,
        other => {
            return Err(Error::InvalidConfig(format!(
                "{field} {name:?}: options must be an object of fields, not {other}"
            )));
        }
    };
    map.insert(field.to_owned(), Value::String(name.to_owned()));
    Ok(Value::Object(map))
}

/// Checks the registries' invariants: no name registered twice, and every entry's default
/// config serialises under the entry's name. Returns one line per problem.
pub fn check_registries() -> Vec<String> {
    let mut problems = Vec::new();
    let method_names: Vec<&str> = methods().iter().map(|e| e.name).collect();
    let baseline_names: Vec<&str> = baselines().iter().map(|e| e.name).collect();
    for (kind, names) in [("method", &method_names), ("baseline", &baseline_names)] {
        for pair in names.windows(2) {
            if pair[0] == pair[1] {
                problems.push(format!("{kind} {:?} is registered twice", pair[0]));
            }
        }
    }
    for entry in methods() {
        let config = (entry.default_config)();
        if config.typetag_name() != entry.name {
            problems.push(format!(
                "method {:?} has a config whose typetag name is {:?}",
                entry.name,
                config.typetag_name()
            ));
        }
        if config.requires() != entry.requires {
            problems
                .push(format!("method {:?}: the entry and the config declare different needs", entry.name));
        }
    }
    for entry in baselines() {
        let config = (entry.default_config)();
        if config.typetag_name() != entry.name {
            problems.push(format!(
                "baseline {:?} has a config whose typetag name is {:?}",
                entry.name,
                config.typetag_name()
            ));
        }
    }
    problems
}
