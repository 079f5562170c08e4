//! Features compile only what they name: `cargo tree -e normal,features` of the facade with a
//! feature set lists no explainer crate beyond those the features enable. And every feature
//! is documented in the crate's feature table.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(manifest_dir());
    command
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo tree -p explainer -e normal,features` with `args` (feature flags): every package
/// that would be compiled, and the features enabled on our own crates as `crate/feature`.
fn tree(args: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = cargo()
        .args(["tree", "--offline", "-p", "explainer", "-e", "normal,features", "--prefix", "none"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut packages = BTreeSet::new();
    let mut features = BTreeSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(name), Some(second)) = (words.next(), words.next()) else { continue };
        if second == "feature" {
            if name.starts_with("explainer") {
                features.insert(format!("{name}/{}", words.next().unwrap_or("").trim_matches('"')));
            }
        } else {
            packages.insert(name.to_owned());
        }
    }
    (packages, features)
}

fn ours(packages: &BTreeSet<String>) -> BTreeSet<&str> {
    packages.iter().map(String::as_str).filter(|p| *p == "explainer" || p.starts_with("explainer-")).collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

#[test]
fn integrated_gradients_and_bert_compile_nothing_else() {
    let (packages, features) = tree(&["--no-default-features", "--features", "integrated-gradients,bert"]);
    assert_eq!(
        ours(&packages),
        set(&[
            "explainer",
            "explainer-baselines",
            "explainer-core",
            "explainer-integrated-gradients",
            "explainer-transformers"
        ])
    );
    // Each of those crates with its default features, nothing more.
    assert!(features.contains("explainer-integrated-gradients/default"), "{features:?}");
    assert!(features.contains("explainer-transformers/default"), "{features:?}");
    assert!(!features.iter().any(|f| f.starts_with("explainer-deeplift")), "{features:?}");
}

#[test]
fn no_features_compile_core_only() {
    let (packages, features) = tree(&["--no-default-features"]);
    assert_eq!(ours(&packages), set(&["explainer", "explainer-core"]));
    assert_eq!(features, ["explainer-core/default".to_owned()].into(), "{features:?}");
    // Not even the tokenizers of the transformers crate.
    assert!(!packages.contains("tokenizers"), "{packages:?}");
}

#[test]
fn the_default_is_every_method_and_model_the_report_and_the_pipeline_but_not_the_suite() {
    let (packages, _) = tree(&[]);
    assert_eq!(
        ours(&packages),
        set(&[
            "explainer",
            "explainer-baselines",
            "explainer-conductance",
            "explainer-core",
            "explainer-deeplift",
            "explainer-gradients",
            "explainer-integrated-gradients",
            "explainer-perturbation",
            "explainer-pipeline",
            "explainer-report",
            // The pipeline loads saved tiny test models like any folder.
            "explainer-testing",
            "explainer-transformers",
        ])
    );
    let (packages, _) = tree(&["--no-default-features", "--features", "axioms"]);
    assert!(ours(&packages).contains("explainer-axioms"), "{packages:?}");
    assert!(!ours(&packages).contains("explainer-deeplift"), "{packages:?}");
    let (packages, _) = tree(&["--no-default-features", "--features", "eval"]);
    assert_eq!(ours(&packages), set(&["explainer", "explainer-core", "explainer-eval"]));
}

/// Every feature of Cargo.toml is in the table of src/lib.rs; every optional part is in
/// `FEATURES` when on.
#[test]
fn every_feature_is_documented() {
    let manifest = std::fs::read_to_string(manifest_dir().join("Cargo.toml")).unwrap();
    let section = manifest.split("[features]").nth(1).unwrap().split("\n[").next().unwrap();
    let names: Vec<&str> = section
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(" = ").map(|(name, _)| name.trim()))
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    let docs = std::fs::read_to_string(Path::new(&manifest_dir()).join("src/lib.rs")).unwrap();
    for name in names {
        assert!(
            docs.contains(&format!("//! | `{name}` |")) || name == "default",
            "{name} is not in the feature table"
        );
        if name != "default" && name != "full" {
            assert!(docs.contains(&format!("\"{name}\"")), "{name} is missing from FEATURES");
        }
    }
}
