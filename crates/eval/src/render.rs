//! The evaluation table as terminal text, Markdown, HTML and JSON.
//!
//! Every cell is `mean [lo, hi]` (the bootstrap interval); `–` where a metric has no value
//! (e.g. plausibility without rationales). Non-finite numbers never appear.

use std::fmt::Write as _;

use crate::evaluate::{EvalReport, METRICS, Row, Summary};

fn number(x: f64) -> String {
    if !x.is_finite() {
        "–".to_owned()
    } else if x != 0.0 && (x.abs() < 1e-3 || x.abs() >= 1e4) {
        format!("{x:.2e}")
    } else {
        format!("{x:.3}")
    }
}

/// A summary as `mean [lo, hi]`, or `–`.
pub fn cell(summary: Option<&Summary>) -> String {
    match summary.and_then(|s| s.mean.map(|m| (m, s.ci))) {
        None => "–".to_owned(),
        Some((m, Some((lo, hi)))) => format!("{} [{}, {}]", number(m), number(lo), number(hi)),
        Some((m, None)) => number(m),
    }
}

/// The column headers: method, baseline, each metric, |δ|, seconds per text, one per
/// randomisation stage.
pub fn headers(report: &EvalReport) -> Vec<String> {
    let mut h = vec!["method".to_owned(), "baseline".to_owned()];
    h.extend(METRICS.iter().map(|m| m.header.to_owned()));
    h.push("|δ| ↓".to_owned());
    h.push("s/text".to_owned());
    h.extend(report.randomization_stages.iter().map(|s| format!("ρ rand {s} ↓")));
    h
}

/// One row's cells, in [`headers`] order.
pub fn cells(report: &EvalReport, row: &Row) -> Vec<String> {
    let mut c = vec![row.method.clone(), row.baseline.clone()];
    if let Some(why) = &row.skipped {
        c.push(format!("not run: {why}"));
        return c;
    }
    c.extend(METRICS.iter().map(|m| cell(row.metrics.get(m.key))));
    c.push(cell(row.completeness_delta.as_ref()));
    c.push(format!("{:.4}", row.seconds_per_text));
    c.extend(report.randomization_stages.iter().map(|s| cell(row.randomization.get(s))));
    c
}

fn preamble(report: &EvalReport) -> Vec<String> {
    let mut lines = vec![
        format!(
            "model {} · output {} · {} texts · {} predicted (text, label) pairs for faithfulness · {} rationale pairs for plausibility",
            report.model,
            report.output_function,
            report.texts,
            report.faithfulness_pairs,
            report.plausibility_pairs
        ),
        format!(
            "cells: mean over labels of per-label means, [{:.0} % bootstrap interval over texts, {} resamples]; ↑ higher is better, ↓ lower",
            report.options.level * 100.0,
            report.options.bootstrap
        ),
    ];
    lines.extend(report.notes.iter().map(|n| format!("note: {n}")));
    for row in report.rows.iter().filter(|r| r.failed.is_some()) {
        if let Some((n, why)) = &row.failed {
            lines.push(format!("note: {} / {}: {n} text(s) failed: {why}", row.method, row.baseline));
        }
    }
    lines
}

/// Plain text for the terminal: aligned columns.
pub fn terminal(report: &EvalReport) -> String {
    let mut out = String::new();
    for l in preamble(report) {
        let _ = writeln!(out, "{l}");
    }
    let _ = writeln!(out);
    let header = headers(report);
    let body: Vec<Vec<String>> = report.rows.iter().map(|r| cells(report, r)).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &body {
        for (i, c) in r.iter().enumerate() {
            if i < widths.len() && !(r.len() < header.len() && i == r.len() - 1) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
    }
    let line = |cells: &[String]| -> String {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            let pad = w.saturating_sub(c.chars().count());
            let _ = write!(s, "{c}{}  ", " ".repeat(pad));
        }
        s.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(&header));
    for r in &body {
        let _ = writeln!(out, "{}", line(r));
    }
    out
}

fn md_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;").replace('\n', " ")
}

/// A Markdown table (GitHub flavour) with the preamble as a list.
pub fn markdown(report: &EvalReport) -> String {
    let mut out = String::new();
    for l in preamble(report) {
        let _ = writeln!(out, "- {}", md_escape(&l));
    }
    let _ = writeln!(out);
    let header = headers(report);
    let _ = writeln!(out, "| {} |", header.iter().map(|h| md_escape(h)).collect::<Vec<_>>().join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
    for r in &report.rows {
        let mut c: Vec<String> = cells(report, r).iter().map(|c| md_escape(c)).collect();
        c.resize(header.len(), String::new());
        let _ = writeln!(out, "| {} |", c.join(" | "));
    }
    out
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A self-contained HTML page (no script, inline style only).
pub fn html(report: &EvalReport) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>explainer evaluate</title><style>body{font-family:sans-serif;margin:2em}\
         table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}\
         td:nth-child(-n+2),th:nth-child(-n+2){text-align:left}tr.control{background:#f3f3f3}</style></head><body>\n\
         <h1>explainer evaluate</h1>\n<ul>\n",
    );
    for l in preamble(report) {
        let _ = writeln!(out, "<li>{}</li>", html_escape(&l));
    }
    out.push_str("</ul>\n<table>\n<tr>");
    let header = headers(report);
    for h in &header {
        let _ = write!(out, "<th>{}</th>", html_escape(h));
    }
    out.push_str("</tr>\n");
    for r in &report.rows {
        let class = if r.method == "random" { " class=\"control\"" } else { "" };
        let _ = write!(out, "<tr{class}>");
        let c = cells(report, r);
        let last = c.len();
        for (i, v) in c.iter().enumerate() {
            let span = if i + 1 == last && last < header.len() { header.len() - i } else { 1 };
            let _ = write!(out, "<td colspan=\"{span}\">{}</td>", html_escape(v));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

/// The report as pretty JSON (non-finite numbers are `null`).
pub fn json(report: &EvalReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
