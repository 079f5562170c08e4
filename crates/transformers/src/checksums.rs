//! `SHA256SUMS` in a model folder: the SHA-256 of each file as it was written, in the format
//! of coreutils' `sha256sum` (`<hex>  <file name>` per line). The bundled models carry one, so
//! a file changed or damaged after training is named before any number is computed.

use std::path::Path;

use explainer_core::{Error, Result};
use sha2::{Digest, Sha256};

/// The checksum file's name.
pub const CHECKSUMS: &str = "SHA256SUMS";

/// Checks every file listed in `dir/SHA256SUMS`, when the folder has one; a missing or
/// changed file is an error naming it and saying how the folder can be restored.
pub fn verify(dir: &Path) -> Result<()> {
    let list = dir.join(CHECKSUMS);
    if !list.is_file() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&list).map_err(|e| Error::file(&list, format!("cannot read: {e}")))?;
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let Some((hex, name)) = line.split_once("  ") else {
            return Err(Error::file(&list, format!("line {} is not `<sha256>  <file>`", n + 1)));
        };
        let name = name.trim_start_matches('*');
        if name.contains('/') || name.contains("..") {
            return Err(Error::file(&list, format!("line {}: {name:?} is not a plain file name", n + 1)));
        }
        let file = dir.join(name);
        let restore = "the folder was changed since it was written: restore it (for a bundled model, \
                       `git checkout -- <folder>`, or retrain it with the command in its README.md)";
        let bytes =
            std::fs::read(&file).map_err(|e| Error::file(&file, format!("cannot read ({e}); {restore}")))?;
        if format!("{:x}", Sha256::digest(&bytes)) != hex.trim().to_ascii_lowercase() {
            return Err(Error::file(&file, format!("does not match its SHA-256 in {CHECKSUMS}; {restore}")));
        }
    }
    Ok(())
}

/// Writes `dir/SHA256SUMS` for `files` (names inside `dir`).
pub fn write(dir: &Path, files: &[&str]) -> Result<()> {
    let mut out = String::new();
    for name in files {
        let file = dir.join(name);
        let bytes = std::fs::read(&file).map_err(|e| Error::file(&file, format!("cannot read: {e}")))?;
        out.push_str(&format!("{:x}  {name}\n", Sha256::digest(&bytes)));
    }
    let list = dir.join(CHECKSUMS);
    std::fs::write(&list, out).map_err(|e| Error::file(&list, format!("cannot write: {e}")))
}
