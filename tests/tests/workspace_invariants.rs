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

/// The package name of a member (`name = "…"` in its manifest).
fn package_name(member: &str) -> String {
    let manifest = std::fs::read_to_string(root().join(member).join("Cargo.toml")).unwrap_or_default();
    manifest
        .lines()
        .find_map(|l| l.strip_prefix("name = \""))
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{member}: no package name"))
        .to_owned()
}

/// Every crate under `crates/methods/`, as (member path, package name).
fn method_crates() -> Vec<(String, String)> {
    let methods: Vec<(String, String)> = members()
        .into_iter()
        .filter(|m| m.starts_with("crates/methods/"))
        .map(|m| {
            let name = package_name(&m);
            (m, name)
        })
        .collect();
    // Every folder under crates/methods/ is a member, so none escapes the checks.
    let folders = std::fs::read_dir(root().join("crates/methods")).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        methods.len(),
        folders,
        "a folder under crates/methods/ is not a workspace member: {methods:?}"
    );
    assert!(methods.len() >= 3, "{methods:?}");
    methods
}

fn cargo(args: &[&str]) -> std::process::Output {
    std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cargo {args:?}: {e}"))
}

/// Method crates depend on core only — never on another method, the transformers crate or
/// the CLI — directly or through anything they depend on: the normal dependency tree of each
/// (`cargo tree -e normal`, so dev-dependencies are allowed) holds no explainer crate but core.
#[test]
fn method_crates_depend_on_core_only() {
    for (member, package) in method_crates() {
        let out = cargo(&[
            "tree",
            "--offline",
            "-p",
            &package,
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ]);
        assert!(out.status.success(), "cargo tree -p {package}: {}", String::from_utf8_lossy(&out.stderr));
        let tree = String::from_utf8_lossy(&out.stdout);
        let ours: std::collections::BTreeSet<&str> = tree
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|name| *name == "explainer" || name.starts_with("explainer-"))
            .collect();
        let expected: std::collections::BTreeSet<&str> = [package.as_str(), "explainer-core"].into();
        assert_eq!(ours, expected, "{member}: a method crate's dependency tree holds explainer-core only");
    }
}

/// Each method crate builds on its own, with only the features its own manifest asks of its
/// dependencies (`cargo build -p <crate>`): a missing feature that a workspace build hides
/// through feature unification fails here. Runs in the shared target folder, so after the
/// first run (about a minute: a few dependencies are built in a second feature set) it costs
/// a fingerprint check per crate, about a second.
#[test]
fn method_crates_build_on_their_own() {
    for (member, package) in method_crates() {
        let out = cargo(&["build", "--offline", "-p", &package]);
        assert!(
            out.status.success(),
            "{member}: `cargo build -p {package}` fails on its own:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
