//! A seeded generator of a synthetic corpus of compliance-style messages (chat lines, e-mails,
//! trade notes) with ground-truth rationales, for training and checking explained classifiers.
//!
//! Two tasks: [`Task::Compliance`] (multi-label, [`COMPLIANCE_LABELS`]) and
//! [`Task::BusinessLine`] (multi-class, [`BUSINESS_LINES`]). Every message carries, per label,
//! the character spans of the words that cause it, recorded while the text is composed.
//! Output depends only on the seed: the PRNG is our own SplitMix64.

mod business;
mod compliance;
mod rng;
mod template;
mod vocab;

use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::rng::{fnv1a, mix64};
use crate::template::Gen;

/// The corpus format and generator version.
pub const CORPUS_VERSION: &str = "synthetic-compliance/1";

/// The seed of the committed data.
pub const DEFAULT_SEED: u64 = 20261201;

/// Multi-label task labels, in id order (these become the model's id2label).
pub const COMPLIANCE_LABELS: [&str; 7] = [
    "personal_data",
    "insider_information",
    "bribery",
    "harassment",
    "market_manipulation",
    "confidentiality_breach",
    "off_channel",
];

/// Multi-class task classes (business line a message is about), in id order.
pub const BUSINESS_LINES: [&str; 10] = [
    "Retail Banking",
    "Commercial Lending",
    "Investment Banking",
    "Asset Management & Custody Banks",
    "Insurance",
    "Payments & Cards",
    "Trading & Markets",
    "Wealth Management",
    "Real Estate",
    "Energy & Commodities",
];

/// The message channels.
pub const CHANNELS: [&str; 3] = ["chat", "email", "trade_note"];

/// The tags a message may carry, in the order they are listed.
pub const TAGS: [&str; 4] = ["distractor", "negation", "long", "multi"];

/// A classification task of the corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Task {
    /// Multi-label compliance risks ([`COMPLIANCE_LABELS`]).
    Compliance,
    /// Multi-class business line ([`BUSINESS_LINES`]).
    BusinessLine,
}

impl Task {
    /// Both tasks.
    pub const ALL: [Task; 2] = [Task::Compliance, Task::BusinessLine];

    /// The task's name: `compliance` or `business-line` (also its data folder).
    pub fn name(self) -> &'static str {
        match self {
            Task::Compliance => "compliance",
            Task::BusinessLine => "business-line",
        }
    }

    /// The task's labels in id order.
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            Task::Compliance => &COMPLIANCE_LABELS,
            Task::BusinessLine => &BUSINESS_LINES,
        }
    }

    /// True for the multi-label task.
    pub fn is_multi_label(self) -> bool {
        self == Task::Compliance
    }
}

/// A split of a task's corpus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Split {
    /// Training data.
    Train,
    /// Development (validation) data.
    Dev,
    /// Held-out test data.
    Test,
}

impl Split {
    /// All splits, in generation order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Dev, Split::Test];

    /// The split's name: `train`, `dev` or `test` (also its file stem).
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }
}

/// One message with its labels and ground-truth rationales.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Unique id, e.g. `compliance-test-00042`.
    pub id: String,
    /// The message text.
    pub text: String,
    /// Label names in id order; exactly one for the multi-class task.
    pub labels: Vec<String>,
    /// Per label in `labels`: sorted half-open character (Unicode scalar) spans `[start, end)`
    /// of the words that cause the label.
    pub rationales: BTreeMap<String, Vec<[usize; 2]>>,
    /// `chat`, `email` or `trade_note`.
    pub channel: String,
    /// Any of `distractor`, `negation`, `long`, `multi`.
    pub tags: Vec<String>,
}

/// A corpus file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CorpusError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A line is not a JSON message.
    #[error("{}:{line}: not a corpus message: {source}", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The cause.
        source: serde_json::Error,
    },
}

/// The number of messages of a split.
pub fn split_size(task: Task, split: Split) -> usize {
    match (task, split) {
        (Task::Compliance, Split::Train) => 4000,
        (Task::Compliance, Split::Dev) => 500,
        (Task::Compliance, Split::Test) => 1000,
        (Task::BusinessLine, Split::Train) => 3000,
        (Task::BusinessLine, Split::Dev) => 400,
        (Task::BusinessLine, Split::Test) => 800,
    }
}

/// The seed of one (task, split), derived from the corpus seed and the names.
fn split_seed(seed: u64, task: Task, split: Split) -> u64 {
    let name = format!("{CORPUS_VERSION}/{}/{}", task.name(), split.name());
    mix64(seed ^ mix64(fnv1a(&name)))
}

/// Generates a split deterministically. Dev and test texts never equal a train text (test
/// texts never equal a dev text either), and no text repeats inside a split.
pub fn generate(task: Task, split: Split, seed: u64) -> Vec<Message> {
    let mut taken = HashSet::new();
    for earlier in Split::ALL {
        if earlier == split {
            break;
        }
        let texts: Vec<String> =
            generate_one(task, earlier, seed, &taken).into_iter().map(|m| m.text).collect();
        taken.extend(texts);
    }
    generate_one(task, split, seed, &taken)
}

fn generate_one(task: Task, split: Split, seed: u64, taken: &HashSet<String>) -> Vec<Message> {
    let n = split_size(task, split);
    let mut g = Gen::new(split_seed(seed, task, split));
    let mut seen: HashSet<String> = HashSet::with_capacity(n);
    let mut out = Vec::with_capacity(n);
    match task {
        Task::Compliance => {
            let none = n * 30 / 100;
            let multi = n * 25 / 100;
            let mut plan: Vec<compliance::Kind> = (0..n)
                .map(|i| {
                    if i < none {
                        compliance::Kind::None
                    } else if i < none + multi {
                        compliance::Kind::Multi
                    } else {
                        compliance::Kind::Single
                    }
                })
                .collect();
            g.rng.shuffle(&mut plan);
            for (i, kind) in plan.into_iter().enumerate() {
                let d = unique(&mut g, &seen, taken, |g| compliance::message(g, kind), |d| &mut d.text);
                seen.insert(d.text.clone());
                out.push(finish(task, split, i, d.text, &d.labels, d.spans, d.channel, &d.tags));
            }
        }
        Task::BusinessLine => {
            let mut plan: Vec<usize> = (0..n).map(|i| i % BUSINESS_LINES.len()).collect();
            g.rng.shuffle(&mut plan);
            for (i, line) in plan.into_iter().enumerate() {
                let d = unique(&mut g, &seen, taken, |g| business::message(g, line), |d| &mut d.text);
                seen.insert(d.text.clone());
                out.push(finish(task, split, i, d.text, &[line], d.spans, d.channel, &d.tags));
            }
        }
    }
    out
}

/// Draws until the text is new; after many tries, makes it new with a reference suffix.
fn unique<D>(
    g: &mut Gen,
    seen: &HashSet<String>,
    taken: &HashSet<String>,
    mut make: impl FnMut(&mut Gen) -> D,
    text: impl Fn(&mut D) -> &mut String,
) -> D {
    let fresh = |t: &String| !seen.contains(t) && !taken.contains(t);
    let mut d = make(g);
    for _ in 0..1000 {
        if fresh(text(&mut d)) {
            return d;
        }
        d = make(g);
    }
    let mut n = 0u64;
    loop {
        let t = text(&mut d);
        let candidate = format!("{t} (ref {n})");
        if fresh(&candidate) {
            *t = candidate;
            return d;
        }
        n += 1;
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    task: Task,
    split: Split,
    index: usize,
    text: String,
    labels: &[usize],
    spans: Vec<(usize, [usize; 2])>,
    channel: &str,
    tags: &[&str],
) -> Message {
    let names = task.labels();
    let mut rationales: BTreeMap<String, Vec<[usize; 2]>> = BTreeMap::new();
    for (label, span) in spans {
        if labels.contains(&label) {
            rationales.entry(names[label].to_owned()).or_default().push(span);
        }
    }
    for spans in rationales.values_mut() {
        spans.sort_unstable();
        spans.dedup();
    }
    let mut sorted = labels.to_vec();
    sorted.sort_unstable();
    Message {
        id: format!("{}-{}-{index:05}", task.name(), split.name()),
        text,
        labels: sorted.into_iter().map(|l| names[l].to_owned()).collect(),
        rationales,
        channel: channel.to_owned(),
        tags: TAGS.iter().filter(|t| tags.contains(t)).map(|t| (*t).to_owned()).collect(),
    }
}

/// Writes messages as JSON Lines: one object per line, fields in declaration order, `\n` ends.
pub fn write_jsonl(path: &Path, messages: &[Message]) -> std::io::Result<()> {
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    for m in messages {
        serde_json::to_writer(&mut w, m)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

/// Reads a JSON Lines file written by [`write_jsonl`]; blank lines are skipped.
pub fn read_jsonl(path: &Path) -> Result<Vec<Message>, CorpusError> {
    let io = |source| CorpusError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut out = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let m = serde_json::from_str(&line).map_err(|source| CorpusError::Parse {
            path: path.to_path_buf(),
            line: i + 1,
            source,
        })?;
        out.push(m);
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
