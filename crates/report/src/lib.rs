//! Renders explanations: the versioned JSON schema, self-contained HTML reports, Markdown and
//! terminal output.
//!
//! - [`schema`]: the serde types of the JSON schema ([`SCHEMA_VERSION`]): a [`Document`] per
//!   `explain` run, a [`Record`] per line of `batch` output, built from core's types with
//!   [`Explanation::new`]. The reference is `docs/json-schema.md`.
//! - [`render_json`], [`render_html`], [`render_markdown`], [`render_terminal`]: one
//!   [`Document`] → one string. Renderers never fail and never panic: they read only the
//!   document and tolerate inconsistent ones (missing entries are shown as absent).

pub mod render;
pub mod schema;

pub use render::html::render_html;
pub use render::markdown::render_markdown;
pub use render::terminal::{TerminalStyle, render_terminal};
pub use schema::{
    Document, Explanation, LabelScore, LongTextReport, ModelRecord, Record, Run, RunStamp, SCHEMA_NAME,
    SCHEMA_VERSION, TargetReport, Token, WindowDriver, WindowReport, WindowTarget, Word,
};

/// The document as pretty-printed JSON (two-space indentation, a final newline), the form
/// `explainer explain --format json` writes.
///
/// Numbers are written in the shortest form that reads back to the same `f64`.
pub fn render_json(document: &Document) -> String {
    let mut out = serde_json::to_string_pretty(document).unwrap_or_else(|e| {
        // Serialising plain data into a String cannot fail; keep the no-panic promise anyway.
        format!("{{\"error\": {:?}}}", e.to_string())
    });
    out.push('\n');
    out
}

/// One [`Record`] as a single JSON line (no newline inside, a final newline), the form
/// `explainer batch` writes to JSON Lines output.
pub fn render_record(record: &Record) -> String {
    let mut out =
        serde_json::to_string(record).unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()));
    out.push('\n');
    out
}
