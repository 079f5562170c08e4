//! `explainer methods` and `explainer baselines`: the registries, for people and programs.

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
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no attribution methods are registered");
    }
    for e in registry::methods() {
        let options = fields(serde_json::to_value((e.default_config)())?, "method");
        println!("{}", e.name);
        println!("    {}", e.summary);
        println!(
            "    needs: {}; convergence delta: {}",
            e.requires,
            if e.has_convergence_delta { "yes" } else { "no" }
        );
        println!("    options (defaults): {}", options_line(&options));
    }
    Ok(())
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
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    if list.is_empty() {
        println!("no baseline providers are registered");
    }
    for e in registry::baselines() {
        let options = fields(serde_json::to_value((e.default_config)())?, "baseline");
        println!("{}", e.name);
        println!("    {}", e.summary);
        println!("    needs: {}", e.requires);
        println!("    options (defaults): {}", options_line(&options));
    }
    Ok(())
}
