//! `explainer export`: write a spec file from the command-line flags.

use anyhow::Result;

use crate::args::ExportArgs;
use explainer_pipeline::model_hash::model_hash;
use explainer_pipeline::models::{load_model, model_dir};
use explainer_pipeline::spec::{
    EntryPoint, SPEC_VERSION, SpecFile, SpecModel, TargetValue, baseline_value, method_value,
};

/// Builds the spec (configs checked, model loaded and hashed) and writes it as YAML.
pub fn run(args: ExportArgs) -> Result<()> {
    let method = args.method.method()?;
    let baseline = args.method.baseline()?;
    let target = args.target.target()?;
    let dir = model_dir(args.model.as_deref());
    // Loading checks the folder is a model and the labels exist; the spec is only written then.
    let model = load_model(&dir)?;
    let info = model.info();
    target.resolve(info, &vec![0.0; info.labels.len()])?;
    info.require(&format!("method {:?}", method.typetag_name()), method.requires())?;
    let hash = model_hash(&dir)?;
    let path = dir.canonicalize().or_else(|_| std::path::absolute(&dir)).unwrap_or(dir);
    let spec = SpecFile {
        spec_version: SPEC_VERSION,
        name: args.name,
        explainer_version: env!("CARGO_PKG_VERSION").to_owned(),
        model: SpecModel { path, hash },
        entry_points: vec![EntryPoint {
            name: args.entry,
            method: method_value(method.as_ref())?,
            baseline: baseline_value(baseline.as_ref())?,
            target: TargetValue::Rule(target),
            output: args.target.output(),
        }],
    };
    let yaml = spec.to_yaml()?;
    match args.output {
        Some(path) => crate::output::write_atomic(&path, yaml.as_bytes()),
        None => {
            print!("{yaml}");
            Ok(())
        }
    }
}
