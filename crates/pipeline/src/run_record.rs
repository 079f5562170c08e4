//! The run record of a report: tool, versions, model identity, method, baseline, target.

use std::collections::BTreeMap;

use crate::error::Result;
use explainer_report::{ModelRecord, Run};

use crate::setup::Setup;

/// The tool name written in reports.
pub const TOOL: &str = "explainer";

/// The run record for `setup`, with the attribution layer and the duration so far.
pub fn run_record(setup: &Setup, layer: &str) -> Result<Run> {
    let info = setup.model.info();
    let mut versions = BTreeMap::new();
    versions.insert("explainer".to_owned(), env!("CARGO_PKG_VERSION").to_owned());
    // Set by scripts/rpath_build.rs from the libtorch the binary was linked against.
    let libtorch = option_env!("EXPLAINER_LIBTORCH_VERSION").unwrap_or("unknown");
    versions.insert("libtorch".to_owned(), libtorch.to_owned());
    Ok(Run {
        tool: TOOL.to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        versions,
        created: setup.created.clone(),
        duration_seconds: setup.started.elapsed().as_secs_f64(),
        model: ModelRecord {
            path: setup.model_dir.display().to_string(),
            name: info.name.clone(),
            hash: setup.model_hash.clone(),
            problem: info.problem,
            labels: info.labels.clone(),
        },
        method: serde_json::to_value(setup.method.as_ref())?,
        baseline: serde_json::to_value(setup.baseline.as_ref())?,
        target: setup.target.to_string(),
        output: setup.output,
        layer: layer.to_owned(),
        device: explainer_core::device::name(setup.model.device()),
    })
}
