//! `explainer methods` and `explainer baselines`: the registries, for people and programs.

use std::fmt::Write as _;

use anyhow::Result;
use explainer_core::registry;
use serde_json::{Map, Value, json};

/// A config's fields without its tag, e.g. `n_steps = 50`.
fn fields(config: Value, tag: &str) -> Map<String, Value> {
    match config {
        Value::Object(mut map) => {
            map.remove(tag);
            map
        }
        _ => Map::new(),
    }
}

fn options_line(options: &Map<String, Value>) -> String {
    if options.is_empty() {
        return "none".to_owned();
    }
    options.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
}

/// Prints the registered methods: name, summary, what they need, options with defaults.
pub fn methods(as_json: bool) -> Result<()> {
    let mut list = Vec::new();
    for e in registry::methods() {
        let options = fields(serde_json::to_value((e.default_config)())?, "method");
        list.push(json!({
            "name": e.name,
            "summary": e.summary,
            "requires": e.requires.iter().map(|c| c.name()).collect::<Vec<_>>(),
            "has_convergence_delta": e.has_convergence_delta,
            "options": options,
        }));
    }
    if as_json {
        return crate::output::print_stdout(&(serde_json::to_string_pretty(&list)? + "\n"));
    }
    let mut out = String::new();
    if list.is_empty() {
        let _ = writeln!(out, "no attribution methods are registered");
    }
    for e in registry::methods() {
        let options = fields(serde_json::to_value((e.default_config)())?, "method");
        let _ = writeln!(out, "{}", e.name);
        let _ = writeln!(out, "    {}", e.summary);
        let _ = writeln!(
            out,
            "    needs: {}; convergence delta: {}",
            e.requires,
            if e.has_convergence_delta { "yes" } else { "no" }
        );
        let _ = writeln!(out, "    options (defaults): {}", options_line(&options));
    }
    crate::output::print_stdout(&out)
}

/// Prints the registered baselines: name, summary, what they need, options with defaults.
pub fn baselines(as_json: bool) -> Result<()> {
    let mut list = Vec::new();
    for e in registry::baselines() {
        let options = fields(serde_json::to_value((e.default_config)())?, "baseline");
        list.push(json!({
            "name": e.name,
            "summary": e.summary,
            "requires": e.requires.iter().map(|c| c.name()).collect::<Vec<_>>(),
            "options": options,
        }));
    }
    if as_json {
        return crate::output::print_stdout(&(serde_json::to_string_pretty(&list)? + "\n"));
    }
    let mut out = String::new();
    if list.is_empty() {
        let _ = writeln!(out, "no baseline providers are registered");
    }
    for e in registry::baselines() {
        let options = fields(serde_json::to_value((e.default_config)())?, "baseline");
        let _ = writeln!(out, "{}", e.name);
        let _ = writeln!(out, "    {}", e.summary);
        let _ = writeln!(out, "    needs: {}", e.requires);
        let _ = writeln!(out, "    options (defaults): {}", options_line(&options));
    }
    crate::output::print_stdout(&out)
}
