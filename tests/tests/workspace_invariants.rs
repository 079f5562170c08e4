//! Architecture invariants that the compiler does not check (see docs/ARCHITECTURE.md).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The `[workspace] members` of the root manifest.
fn members() -> Vec<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap_or_default();
    let start = manifest.find("members = [").map(|i| i + "members = [".len()).unwrap_or(0);
    let end = manifest[start..].find(']').map(|i| i + start).unwrap_or(start);
    manifest[start..end]
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_owned())
        .filter(|m| !m.is_empty())
        .collect()
}

/// Every package that links libtorch (depends on tch or on explainer-core) must bake in the
/// rpath, or its binaries and tests exit with "libtorch_cpu.so: cannot open" outside `make`.
#[test]
fn every_package_that_links_libtorch_uses_the_rpath_build_script() {
    let members = members();
    assert!(members.len() >= 4, "could not read the workspace members: {members:?}");
    for member in members {
        let path = root().join(&member).join("Cargo.toml");
        let manifest = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let links_torch = manifest.contains("\ntch") || manifest.contains("explainer-core");
        if !links_torch {
            continue;
        }
        assert!(
            manifest.contains("rpath_build.rs\""),
            "{member}: add `build = \"…/scripts/rpath_build.rs\"` to [package] (see docs/ARCHITECTURE.md)"
        );
        assert!(
            manifest.contains("torch-sys.workspace = true"),
            "{member}: add `torch-sys.workspace = true` to [dependencies] so the build script learns the libtorch path"
        );
    }
}

/// Method crates depend on core only: never on another method, the transformers crate or the CLI.
#[test]
fn method_crates_depend_on_core_only() {
    for member in members().iter().filter(|m| m.starts_with("crates/methods/")) {
        let manifest = std::fs::read_to_string(root().join(member).join("Cargo.toml")).unwrap_or_default();
        let deps = manifest.split("[dependencies]").nth(1).unwrap_or("").split("\n[").next().unwrap_or("");
        for line in deps.lines().filter(|l| l.starts_with("explainer-")) {
            assert!(
                line.starts_with("explainer-core"),
                "{member} depends on {line}: a method crate depends on core only"
            );
        }
    }
}
