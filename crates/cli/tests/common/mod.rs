//! Helpers for the binary tests: run `explainer`, check one-line errors.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Runs `explainer` with `args` (no stdin), NO_COLOR unset, the tiny test model as the
/// default model (`EXPLAINER_MODEL`): these tests check the command line, not a model.
pub fn explainer(args: &[&str]) -> Output {
    explainer_in(None, args, None)
}

/// Runs `explainer` with `args` and the real default: the bundled model.
pub fn explainer_bundled(args: &[&str]) -> Output {
    run(None, args, None, false)
}

/// Runs `explainer` in `dir` (or the current folder) with `args`, feeding `stdin` if given,
/// the tiny test model as the default model.
pub fn explainer_in(dir: Option<&Path>, args: &[&str], stdin: Option<&[u8]>) -> Output {
    run(dir, args, stdin, true)
}

/// Runs `explainer` with `args` and extra environment variables (the tiny model as default
/// unless they set `EXPLAINER_MODEL`).
pub fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_explainer"));
    cmd.args(args).env_remove("NO_COLOR").env("EXPLAINER_MODEL", tiny_dir()).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap_or_else(|e| panic!("cannot run explainer: {e}"))
}

fn run(dir: Option<&Path>, args: &[&str], stdin: Option<&[u8]>, tiny_default: bool) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_explainer"));
    cmd.args(args).env_remove("NO_COLOR").stdout(Stdio::piped()).stderr(Stdio::piped());
    if tiny_default {
        cmd.env("EXPLAINER_MODEL", tiny_dir());
    } else {
        cmd.env_remove("EXPLAINER_MODEL");
    }
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot run explainer: {e}"));
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "exit {:?}, stderr:\n{}", out.status.code(), stderr(out));
    stdout(out)
}

/// Asserts the failure shape: the exit code, ONE line on stderr starting `explainer: ` and
/// containing every snippet, nothing on stdout, no panic. Returns the line.
pub fn fails(out: &Output, code: i32, snippets: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr:\n{err}");
    assert_eq!(err.lines().count(), 1, "expected one line on stderr, got:\n{err}");
    assert!(err.starts_with("explainer: "), "{err}");
    assert!(!err.contains("panicked") && !err.contains("RUST_BACKTRACE"), "{err}");
    for s in snippets {
        assert!(err.contains(s), "{s:?} missing in: {err}");
    }
    assert!(out.stdout.is_empty(), "stdout not empty: {}", stdout(out));
    err
}

/// The bundled tiny model's folder.
pub fn tiny_dir() -> PathBuf {
    explainer_testing::tiny_model_dir()
}

/// A copy of the tiny model's folder in `dir`.
pub fn copy_tiny(dir: &Path) -> PathBuf {
    let target = dir.join("tiny-copy");
    std::fs::create_dir_all(&target).unwrap();
    for entry in std::fs::read_dir(tiny_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), target.join(entry.file_name())).unwrap();
    }
    target
}

/// Parses a JSON document.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}
