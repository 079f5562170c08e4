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

/// [`model_hash`], computed once per folder state and remembered: in this process, and across
/// processes in a cache folder (`$EXPLAINER_CACHE/model-hashes`, else
/// `$XDG_CACHE_HOME/explainer/model-hashes`, else `~/.cache/explainer/model-hashes`).
///
/// The cache key is, for every hashed file: its name, size, modification and status-change
/// times (nanoseconds), inode and device. Any write to a file changes its status-change time
/// (which no user-space call can set back), so an edited folder never hits a stale entry. As
/// git does for its index, a folder with a file changed in the last 2 seconds is not cached
/// (a write in the same clock tick as the stat could go unseen), nor one that changed while it
/// was hashed. The cache is an optimisation only: any cache error falls back to hashing, and
/// `EXPLAINER_NO_HASH_CACHE=1` switches it off. On a BERT-base folder this saves ~1 s per run.
pub fn model_hash_cached(dir: &Path) -> Result<String> {
    if std::env::var_os("EXPLAINER_NO_HASH_CACHE").is_some_and(|v| v == "1") {
        return model_hash(dir);
    }
    model_hash_cached_in(dir, cache_dir().as_deref())
}

/// [`model_hash_cached`] with the cache folder given (`None`: remembered in this process only).
pub fn model_hash_cached_in(dir: &Path, cache: Option<&Path>) -> Result<String> {
    let Some(before) = folder_state(dir) else { return model_hash(dir) };
    let key = format!("{}\n{before}", dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()).display());
    let memo = MEMO.get_or_init(Default::default);
    if let Some(hash) = memo.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(hash);
    }
    let file = cache.map(|d| d.join(hex(&Sha256::digest(key.as_bytes()))));
    if let Some(stored) = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok()) {
        // The entry repeats the whole key: a digest collision cannot return another folder's hash.
        if let Some((hash, stored_key)) = stored.split_once('\n') {
            if stored_key == key && hash.starts_with("sha256:") && hash.len() == 71 {
                remember(&key, hash);
                return Ok(hash.to_owned());
            }
        }
    }
    let hash = model_hash(dir)?;
    let unchanged = folder_state(dir).as_deref() == Some(before.as_str());
    if unchanged && !recently_changed(dir) {
        remember(&key, &hash);
        if let Some(file) = file {
            store(&file, &format!("{hash}\n{key}"));
        }
    }
    Ok(hash)
}

static MEMO: std::sync::OnceLock<std::sync::Mutex<std::collections::HashMap<String, String>>> =
    std::sync::OnceLock::new();

fn remember(key: &str, hash: &str) {
    if let Ok(mut memo) = MEMO.get_or_init(Default::default).lock() {
        memo.insert(key.to_owned(), hash.to_owned());
    }
}

/// One line per hashed file: name, size, mtime, ctime, inode, device (`None` if any stat fails).
fn folder_state(dir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let mut lines = Vec::new();
    for path in hashed_files(dir).ok()? {
        let m = std::fs::metadata(&path).ok()?;
        let name = path.file_name()?.to_str()?;
        lines.push(format!(
            "{name}\t{}\t{}.{:09}\t{}.{:09}\t{}\t{}",
            m.len(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            m.ino(),
            m.dev()
        ));
    }
    Some(lines.join("\n"))
}

/// Whether a hashed file was modified or changed status in the last 2 seconds.
fn recently_changed(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(i64::MAX);
    hashed_files(dir).map_or(true, |files| {
        files.iter().any(|p| std::fs::metadata(p).map_or(true, |m| now - m.mtime().max(m.ctime()) < 2))
    })
}

/// The cache folder of [`model_hash_cached`].
fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("EXPLAINER_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("explainer")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("explainer")))?;
    Some(base.join("model-hashes"))
}

/// Writes the entry atomically (temporary file, then rename); errors are ignored.
fn store(file: &Path, contents: &str) {
    let Some(parent) = file.parent() else { return };
    if std::fs::create_dir_all(parent).is_err() {
        return;
    }
    let temporary = parent.join(format!(
        ".{}.{}",
        std::process::id(),
        file.file_name().and_then(|n| n.to_str()).unwrap_or("entry")
    ));
    if std::fs::write(&temporary, contents).is_ok() && std::fs::rename(&temporary, file).is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
}
