//! Batch output: JSONL records, one whole line per write, and resuming a killed run.
//!
//! Every record is written as ONE `write` of the complete line (newline included) followed
//! by a flush, so a run killed at any moment leaves whole lines plus, at worst, one torn
//! last line without its newline. `--resume` cuts such a tail off before appending, and
//! counts as done only ids whose line is complete.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// Where records go.
pub enum Sink {
    /// A file opened for appending.
    File {
        /// The file.
        file: File,
        /// Its path, for messages.
        path: PathBuf,
    },
    /// Standard output.
    Stdout(std::io::Stdout),
}

impl Sink {
    /// Writes one record line in ONE write, then flushes. `line` must hold no newline but an
    /// optional final one (which is added when missing).
    pub fn write_line(&mut self, line: &str) -> Result<()> {
        let body = line.strip_suffix('\n').unwrap_or(line);
        if body.contains('\n') {
            bail!("internal error (please report): a record line holds a newline");
        }
        let mut buf = Vec::with_capacity(body.len() + 1);
        buf.extend_from_slice(body.as_bytes());
        buf.push(b'\n');
        match self {
            Sink::File { file, path } => {
                file.write_all(&buf).with_context(|| format!("cannot write {}", path.display()))?;
                file.flush().with_context(|| format!("cannot write {}", path.display()))
            }
            Sink::Stdout(out) => {
                let mut lock = out.lock();
                lock.write_all(&buf).context("cannot write to standard output")?;
                lock.flush().context("cannot write to standard output")
            }
        }
    }

    /// Syncs a file to disk at the end of a run.
    pub fn finish(&mut self) -> Result<()> {
        match self {
            Sink::File { file, path } => {
                file.sync_all().with_context(|| format!("cannot write {}", path.display()))
            }
            Sink::Stdout(out) => out.flush().context("cannot write to standard output"),
        }
    }
}

/// What resuming found in an existing output file.
#[derive(Debug, Default)]
pub struct Resumed {
    /// Ids of the complete records already written.
    pub done: HashSet<String>,
    /// Complete lines found.
    pub lines: usize,
    /// Bytes of a torn last line that were cut off.
    pub torn_bytes: u64,
}

/// Opens the output file. Without `resume`, an existing non-empty file is refused unless
/// `overwrite`; with `resume`, a torn last line is cut off and the ids of the complete
/// records are returned.
pub fn open(path: &Path, resume: bool, overwrite: bool) -> Result<(Sink, Resumed)> {
    let exists_nonempty = std::fs::metadata(path).map(|m| m.len() > 0).unwrap_or(false);
    if !resume {
        if exists_nonempty && !overwrite {
            bail!(
                "the output file {} already exists; use --resume to continue it or --overwrite to replace it",
                path.display()
            );
        }
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .with_context(|| format!("cannot create the output file {}", path.display()))?;
        return Ok((Sink::File { file, path: path.to_owned() }, Resumed::default()));
    }
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open the output file {}", path.display()))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .with_context(|| format!("cannot read the output file {}", path.display()))?;
    let complete = bytes.iter().rposition(|&b| b == b'\n').map(|p| p + 1).unwrap_or(0);
    let torn_bytes = (bytes.len() - complete) as u64;
    if torn_bytes > 0 {
        file.set_len(complete as u64)
            .with_context(|| format!("cannot repair the output file {}", path.display()))?;
        file.seek(SeekFrom::End(0))?;
    }
    let mut resumed = Resumed { torn_bytes, ..Resumed::default() };
    for (i, line) in bytes[..complete].split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let id = std::str::from_utf8(line).ok().and_then(|l| serde_json::from_str::<Value>(l).ok()).and_then(
            |v| match v.get("id") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
        );
        let Some(id) = id else {
            bail!(
                "line {} of the output file {} is not an explainer record; move the file away or repair it before resuming",
                i + 1,
                path.display()
            );
        };
        resumed.lines += 1;
        resumed.done.insert(id);
    }
    Ok((Sink::File { file, path: path.to_owned() }, resumed))
}
