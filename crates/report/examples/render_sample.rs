//! Renders the hand-made sample document of the tests in every format, for a look:
//!
//! ```sh
//! cargo run -p explainer-report --example render_sample -- terminal   # or: plain, html, markdown, json
//! cargo run -p explainer-report --example render_sample -- html hostile > /tmp/report.html
//! cargo run -p explainer-report --example render_sample -- json small   # docs/json-schema.md's example
//! ```
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use explainer_report::{TerminalStyle, render_html, render_json, render_markdown, render_terminal};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut doc = common::sample_document();
    if args.iter().any(|a| a == "small") {
        doc = common::small_document();
    }
    if args.iter().any(|a| a == "hostile") {
        let mut hostile = common::hostile_document();
        hostile.explanations.insert(0, doc.explanations.remove(0));
        doc = hostile;
    }
    let out = match args.first().map(String::as_str).unwrap_or("terminal") {
        "html" => render_html(&doc),
        "markdown" => render_markdown(&doc),
        "json" => render_json(&doc),
        "plain" => render_terminal(&doc, &TerminalStyle { color: false, width: 80 }),
        _ => render_terminal(&doc, &TerminalStyle { color: true, width: 80 }),
    };
    print!("{out}");
}
