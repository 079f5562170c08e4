//! The model hash: one SHA-256 over the files of a model folder that decide its outputs.
//!
//! Hashed files (top level of the folder only), in byte-wise sorted name order:
//!
//! - `config.json`;
//! - weights: every `*.safetensors` file and `model.safetensors.index.json` (sharded weights);
//! - tokenizer files: `tokenizer.json`, `tokenizer_config.json`, `special_tokens_map.json`,
//!   `added_tokens.json`, `vocab.txt`, `vocab.json`, `merges.txt`, and any `*.model`
//!   (SentencePiece).
//!
//! Each file contributes `u64 LE length of its name ‖ name (UTF-8) ‖ u64 LE length of its
//! bytes ‖ its bytes`, so no two different folders give the same byte stream. Other files
//! (README, training args, …) do not count: editing them keeps the hash. The result is written
//! `sha256:<64 lowercase hex digits>`.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::bail;
use crate::error::{Context, Result};
use sha2::{Digest, Sha256};

/// Tokenizer and config files that are hashed when present.
const NAMED: &[&str] = &[
    "config.json",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
];

/// Whether a file of the model folder counts towards the hash.
pub fn is_hashed(name: &str) -> bool {
    NAMED.contains(&name) || name.ends_with(".safetensors") || name.ends_with(".model")
}

/// The files of `dir` that the hash covers, sorted by name.
pub fn hashed_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read the model folder {}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read the model folder {}", dir.display()))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if is_hashed(&name) && entry.path().is_file() {
            files.push(entry.path());
        }
    }
    files.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    if files.is_empty() {
        bail!(
            "the model folder {} has no model files (config.json, *.safetensors, tokenizer files)",
            dir.display()
        );
    }
    Ok(files)
}

/// `sha256:<hex>` over the model folder's relevant files (see the module docs).
pub fn model_hash(dir: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    for path in hashed_files(dir)? {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let mut file = File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let len = file.metadata().with_context(|| format!("cannot read {}", path.display()))?.len();
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update(len.to_le_bytes());
        let mut read = 0u64;
        loop {
            let n = file.read(&mut buffer).with_context(|| format!("cannot read {}", path.display()))?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            read += n as u64;
        }
        if read != len {
            bail!("{} changed while it was being hashed", path.display());
        }
    }
    Ok(format!("sha256:{}", hex(&hasher.finalize())))
}

/// Lowercase hex digits of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
