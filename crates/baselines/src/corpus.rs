//! Corpus files shared by the corpus-based providers: one representative text per line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use explainer_core::{Encoding, Error, Model, Result};
use sha2::{Digest, Sha256};

/// The SHA-256 of a corpus file's bytes, as 64 lower-case hex digits: what reports record
/// to identify the corpus a reference was built from. A missing or unreadable file is an
/// [`Error::File`] naming it.
pub fn corpus_hash(path: &Path) -> Result<String> {
    Ok(hash_bytes(&read_bytes(path)?))
}

/// The file's bytes; a missing or unreadable file is an error naming it.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read the corpus file: {e}")))
}

/// Hex SHA-256 of `bytes`.
pub(crate) fn hash_bytes(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// A corpus file read into memory.
#[derive(Debug)]
pub(crate) struct Corpus {
    /// Where it was read from, for messages.
    pub(crate) path: PathBuf,
    /// SHA-256 of its bytes.
    pub(crate) hash: String,
    /// The bytes, parsed lazily into texts (only on a cache miss).
    bytes: Vec<u8>,
}

impl Corpus {
    /// Reads and hashes the file.
    pub(crate) fn read(path: &Path) -> Result<Self> {
        let bytes = read_bytes(path)?;
        let hash = hash_bytes(&bytes);
        Ok(Corpus { path: path.to_path_buf(), hash, bytes })
    }

    /// The non-blank lines; a file that is not UTF-8 or has no text is an error naming it.
    pub(crate) fn texts(&self) -> Result<Vec<&str>> {
        let text = std::str::from_utf8(&self.bytes).map_err(|e| {
            Error::file(
                &self.path,
                format!("the corpus file is not UTF-8 text ({e}); one text per line expected"),
            )
        })?;
        let texts: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
        if texts.is_empty() {
            return Err(Error::file(
                &self.path,
                "the corpus file is empty: it needs at least one non-blank line (one representative text per line)",
            ));
        }
        Ok(texts)
    }

    /// Every text tokenised with the model's encoder.
    pub(crate) fn encode(&self, model: &dyn Model) -> Result<Vec<Encoding>> {
        let encoder = model.encoder();
        self.texts()?
            .into_iter()
            .enumerate()
            .map(|(line, text)| {
                encoder.encode(text).map_err(|e| {
                    Error::file(
                        &self.path,
                        format!("text {} of the corpus cannot be tokenised: {e}", line + 1),
                    )
                })
            })
            .collect()
    }

    /// The error for a corpus whose texts hold no usable (non-special) token.
    pub(crate) fn no_tokens(&self) -> Error {
        Error::file(
            &self.path,
            "the corpus texts contain no ordinary tokens once special tokens are left out; add representative texts",
        )
    }
}
