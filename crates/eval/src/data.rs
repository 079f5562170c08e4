//! Evaluation data: JSONL records with a text, its labels and, per label, ground-truth
//! rationale spans (the corpus format, `data/README.md`).

use std::collections::BTreeMap;
use std::path::Path;

use explainer_core::{Error, Result};
use serde::Deserialize;

/// One evaluation text.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The record's id (`id`, else `line N`).
    pub id: String,
    /// The text.
    pub text: String,
    /// The gold labels, when the record names them.
    pub labels: Option<Vec<String>>,
    /// Per label, `[start, end)` rationale spans in characters; `None` when the record has no
    /// `rationales` field.
    pub rationales: Option<BTreeMap<String, Vec<(usize, usize)>>>,
}

#[derive(Deserialize)]
struct Raw {
    id: Option<serde_json::Value>,
    text: Option<String>,
    labels: Option<Vec<String>>,
    rationales: Option<BTreeMap<String, Vec<(usize, usize)>>>,
}

/// A data file, read whole.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The records, in file order (blank lines skipped).
    pub records: Vec<Record>,
}

impl Dataset {
    /// Reads a JSONL file: one object per line with `text` (required), `id`, `labels` and
    /// `rationales` (optional). A line that is not such an object is an error naming its
    /// line number; at most `limit` records are read.
    pub fn read(path: &Path, limit: Option<usize>) -> Result<Dataset> {
        let content = std::fs::read_to_string(path)
            .map_err(|e| Error::file(path, format!("cannot read the data file: {e}")))?;
        Self::parse(&content, limit)
            .map_err(|(line, problem)| Error::file(path, format!("line {line}: {problem}")))
    }

    /// Parses JSONL content; an error carries the 1-based line number and the problem.
    pub fn parse(content: &str, limit: Option<usize>) -> std::result::Result<Dataset, (usize, String)> {
        let mut records = Vec::new();
        for (i, line) in content.lines().enumerate() {
            if limit.is_some_and(|l| records.len() >= l) {
                break;
            }
            let number = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let raw: Raw = serde_json::from_str(line)
                .map_err(|e| (number, format!("not a JSON object with text, labels and rationales ({e})")))?;
            let Some(text) = raw.text else {
                return Err((number, "the record has no \"text\" field".into()));
            };
            if let Some(rationales) = &raw.rationales {
                let chars = text.chars().count();
                for (label, spans) in rationales {
                    for &(s, e) in spans {
                        if s > e || e > chars {
                            return Err((
                                number,
                                format!(
                                    "rationale span [{s}, {e}) of label {label:?} is outside the text ({chars} characters)"
                                ),
                            ));
                        }
                    }
                }
            }
            let id = match raw.id {
                Some(serde_json::Value::String(s)) => s,
                Some(other) => other.to_string(),
                None => format!("line {number}"),
            };
            records.push(Record { id, text, labels: raw.labels, rationales: raw.rationales });
        }
        Ok(Dataset { records })
    }

    /// Whether any record carries rationales (the plausibility metrics need them).
    pub fn has_rationales(&self) -> bool {
        self.records.iter().any(|r| r.rationales.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_corpus_format_and_names_bad_lines() {
        let ok = "{\"id\":\"a\",\"text\":\"move to WhatsApp\",\"labels\":[\"off_channel\"],\"rationales\":{\"off_channel\":[[8,16]]}}\n\n{\"text\":\"hi\"}\n";
        let data = Dataset::parse(ok, None).unwrap();
        assert_eq!(data.records.len(), 2);
        assert_eq!(data.records[0].rationales.as_ref().unwrap()["off_channel"], vec![(8, 16)]);
        assert_eq!(data.records[1].id, "line 3");
        assert!(data.has_rationales());
        let bad = "{\"text\":\"a\"}\n{\"text\": oops}\n";
        assert_eq!(Dataset::parse(bad, None).unwrap_err().0, 2);
        let no_text = "{\"id\":1}\n";
        assert_eq!(
            Dataset::parse(no_text, None).unwrap_err(),
            (1, "the record has no \"text\" field".into())
        );
        let outside = "{\"text\":\"ab\",\"rationales\":{\"x\":[[0,3]]}}\n";
        assert!(Dataset::parse(outside, None).unwrap_err().1.contains("outside the text"));
        assert_eq!(Dataset::parse(ok, Some(1)).unwrap().records.len(), 1);
        assert!(!Dataset::parse("{\"text\":\"hi\"}", None).unwrap().has_rationales());
    }
}
