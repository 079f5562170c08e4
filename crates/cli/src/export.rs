//! `explainer export`: write a spec file from the command-line flags (model, method, baseline,
//! target, output kind, long-text setting).

use anyhow::Result;

use crate::args::ExportArgs;

/// Builds the spec (configs checked, model loaded and hashed) and writes it as YAML.
pub fn run(args: ExportArgs) -> Result<()> {
    // The set-up checks the configs, loads and hashes the model, and checks that the labels
    // exist and the model offers what the method needs; the spec is only written then.
    let setup = crate::options::setup(
        args.model.as_deref(),
        &args.method,
        &args.target,
        explainer_core::tch::Device::Cpu,
    )?
    .with_long_text(args.long_text.setting(Default::default())?)?;
    let spec = setup.to_spec(&args.name, &args.entry)?;
    let yaml = spec.to_yaml()?;
    match args.output {
        Some(path) => crate::output::write_atomic(&path, yaml.as_bytes()),
        None => crate::output::print_stdout(&yaml),
    }
}
