//! Batch input: JSONL or CSV records, one text each, read as a stream.
//!
//! A *record* is a non-blank JSONL line or a CSV data row. Records are numbered from 0 in
//! input order (the index `--shard` uses); each also keeps its 1-based line number in the
//! input for messages and as the default id.

use std::io::BufRead;

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde_json::Value;

/// `--format` of the batch input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

impl InputFormat {
    /// The format's name for messages.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Jsonl => "JSONL",
            InputFormat::Csv => "CSV",
        }
    }

    /// The format of a file by its extension: `.csv` is CSV, anything else JSONL.
    pub fn from_path(path: &std::path::Path) -> InputFormat {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => InputFormat::Csv,
            _ => InputFormat::Jsonl,
        }
    }
}

/// Where the id and the text are in each record.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The id field or column (missing → the record's line number).
    pub id: String,
    /// The text field or column.
    pub text: String,
}

/// One record of the input.
#[derive(Debug, Clone)]
pub struct InputRecord {
    /// 0-based position among the input's records.
    pub index: u64,
    /// 1-based line number in the input where the record starts.
    pub line: u64,
    /// The record's id (the id field, else the line number).
    pub id: String,
    /// The text to explain.
    pub text: String,
}

/// What reading one record gave.
#[derive(Debug)]
pub enum Item {
    /// A usable record.
    Record(InputRecord),
    /// A record that cannot be used: its position and what is wrong.
    Malformed {
        /// 0-based position among the input's records.
        index: u64,
        /// 1-based line number.
        line: u64,
        /// What is wrong, for the message.
        problem: String,
    },
}

impl Item {
    /// The record's 0-based position in the input.
    pub fn index(&self) -> u64 {
        match self {
            Item::Record(r) => r.index,
            Item::Malformed { index, .. } => *index,
        }
    }
}

/// A stream of [`Item`]s; I/O errors end it with an error.
pub enum Reader<'a> {
    /// JSONL lines.
    Jsonl {
        /// The input.
        input: Box<dyn BufRead + 'a>,
        /// Field names.
        fields: Fields,
        /// Lines read so far.
        line: u64,
        /// Records read so far.
        index: u64,
    },
    /// CSV rows.
    Csv {
        /// The CSV reader.
        reader: Box<csv::Reader<Box<dyn BufRead + 'a>>>,
        /// Column of the text.
        text_col: usize,
        /// Column of the id, if the header has one.
        id_col: Option<usize>,
        /// Records read so far.
        index: u64,
    },
}

impl<'a> Reader<'a> {
    /// A reader of `format` over `input`. For CSV, reads the header now: a header without
    /// the text column is an error naming the columns it has.
    pub fn new(input: Box<dyn BufRead + 'a>, format: InputFormat, fields: Fields) -> Result<Self> {
        Ok(match format {
            InputFormat::Jsonl => Reader::Jsonl { input, fields, line: 0, index: 0 },
            InputFormat::Csv => {
                let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
                let headers = reader.headers().context("cannot read the CSV header")?.clone();
                let find = |name: &str| headers.iter().position(|h| h.trim() == name);
                let Some(text_col) = find(&fields.text) else {
                    let columns: Vec<&str> = headers.iter().collect();
                    bail!(
                        "the CSV header has no column {:?} (set --text-field); its columns: {}",
                        fields.text,
                        columns.join(", ")
                    );
                };
                Reader::Csv { reader: Box::new(reader), text_col, id_col: find(&fields.id), index: 0 }
            }
        })
    }

    /// The next item, `None` at the end of the input.
    pub fn next_item(&mut self) -> Result<Option<Item>> {
        match self {
            Reader::Jsonl { input, fields, line, index } => {
                let mut buf = Vec::new();
                loop {
                    buf.clear();
                    let n = input.read_until(b'\n', &mut buf).context("cannot read the input")?;
                    if n == 0 {
                        return Ok(None);
                    }
                    *line += 1;
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let item = parse_json_line(&buf, fields, *index, *line);
                    *index += 1;
                    return Ok(Some(item));
                }
            }
            Reader::Csv { reader, text_col, id_col, index } => {
                let mut record = csv::StringRecord::new();
                let position = reader.position().clone();
                match reader.read_record(&mut record) {
                    Ok(false) => Ok(None),
                    Ok(true) => {
                        let line = record.position().map(|p| p.line()).unwrap_or(position.line());
                        let this = *index;
                        *index += 1;
                        let Some(text) = record.get(*text_col) else {
                            return Ok(Some(Item::Malformed {
                                index: this,
                                line,
                                problem: "the row has no text column".into(),
                            }));
                        };
                        let id = id_col
                            .and_then(|c| record.get(c))
                            .map(str::trim)
                            .filter(|id| !id.is_empty())
                            .map(str::to_owned)
                            .unwrap_or_else(|| line.to_string());
                        Ok(Some(Item::Record(InputRecord { index: this, line, id, text: text.to_owned() })))
                    }
                    Err(e) => {
                        let line = e.position().map(|p| p.line()).unwrap_or(position.line() + 1);
                        match e.kind() {
                            csv::ErrorKind::Io(_) => {
                                Err(anyhow::Error::new(e).context("cannot read the input"))
                            }
                            _ => {
                                let this = *index;
                                *index += 1;
                                Ok(Some(Item::Malformed { index: this, line, problem: csv_problem(&e) }))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn csv_problem(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("bad CSV row: {len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "bad CSV row: not valid UTF-8".into(),
        _ => format!("bad CSV row: {e}"),
    }
}

fn parse_json_line(bytes: &[u8], fields: &Fields, index: u64, line: u64) -> Item {
    let malformed = |problem: String| Item::Malformed { index, line, problem };
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(_) => return malformed("not valid UTF-8".into()),
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return malformed(format!("not valid JSON: {e}")),
    };
    let Value::Object(map) = value else {
        return malformed("not a JSON object".into());
    };
    let text = match map.get(&fields.text) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return malformed(format!("the {:?} field is not a string but {other}", fields.text)),
        None => return malformed(format!("no {:?} field (set --text-field)", fields.text)),
    };
    let id = match map.get(&fields.id) {
        None | Some(Value::Null) => line.to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return malformed(format!("the {:?} field is not a string or number but {other}", fields.id));
        }
    };
    Item::Record(InputRecord { index, line, id, text })
}
