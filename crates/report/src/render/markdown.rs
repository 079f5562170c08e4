//! The Markdown report (GitHub-flavoured: tables, no raw HTML from the document).

use std::fmt::Write as _;

use super::{config_name, num, pretty_json, problem_name, signed, top_words};
use crate::schema::{Document, Explanation};

/// How many words per side ("for", "against") the top-words tables list.
const TOP: usize = 5;

/// Escapes text for inline Markdown or a table cell: the characters Markdown gives a meaning
/// to inside a line (`\\` `` ` `` `*` `_` `[` `]` `|` `~` `!` `#`) are backslash-escaped
/// (`|` included, so cells stay cells), `<`, `>` and `&` become character references (no raw
/// HTML, no autolinks), and line breaks become spaces (a table row is one line). Control
/// characters are shown as `\u{…}`.
pub fn escape(s: &str) -> String {
    escape_inner(s, false)
}

/// [`escape`] for text that starts a line (the quoted text): a leading `-`, `+`, `=`, `>` or
/// `1.`/`1)` is escaped too, so that no list, heading or nested quote starts.
pub fn escape_line(s: &str) -> String {
    escape_inner(s, true)
}

fn escape_inner(s: &str, line_start: bool) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    let mut at_start = line_start;
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' | '#' => {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' | '.' | ')'
                if at_start || (line_start && matches!(c, '.' | ')') && leading_number(&out)) =>
            {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
        if !c.is_whitespace() {
            at_start = false;
        }
    }
    out
}

/// Whether `s` is all ASCII digits (a `1.` or `1)` after it would start an ordered list).
fn leading_number(s: &str) -> bool {
    let s = s.trim_start();
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Code that goes in a fenced block: the fence is made longer than any backtick run inside.
fn fenced(code: &str, info: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in code.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}{info}\n{code}\n{fence}\n")
}

/// The document as a compact Markdown report: per text, the predictions table and, per
/// explained label, its numbers and top words; then the audit trail.
pub fn render_markdown(document: &Document) -> String {
    let run = &document.run;
    let mut md = String::new();
    let _ = writeln!(md, "# Explanation report\n");
    let _ = writeln!(
        md,
        "Model **{}** · method **{}** · baseline **{}** · output {} · {}\n",
        escape(&run.model.name),
        escape(&config_name(&run.method, "method")),
        escape(&config_name(&run.baseline, "baseline")),
        escape(output_name(run.output)),
        escape(&run.created)
    );
    md.push_str(
        "Positive attributions push the label's score up (evidence for the label), negative ones push it down.\n\n",
    );
    for (n, e) in document.explanations.iter().enumerate() {
        write_explanation(&mut md, n, e);
    }

    md.push_str("## Audit trail\n\n| field | value |\n|---|---|\n");
    let m = &run.model;
    let mut row = |name: &str, value: &str| {
        let _ = writeln!(md, "| {} | {} |", escape(name), escape(value));
    };
    row("schema", &document.schema);
    row("tool", &format!("{} {}", run.tool, run.version));
    row("created (UTC)", &run.created);
    row("duration", &format!("{} s", num(run.duration_seconds)));
    row("model name", &m.name);
    row("model path", &m.path);
    row("model hash", &m.hash);
    row("problem type", &format!("{} ({})", problem_name(m.problem), m.problem.output_function()));
    row("labels", &m.labels.join(", "));
    row("target rule", &run.target);
    row("explained output", output_name(run.output));
    row("layer", &run.layer);
    for (name, version) in &run.versions {
        row(&format!("version: {name}"), version);
    }
    md.push_str("\nMethod configuration:\n\n");
    md.push_str(&fenced(&pretty_json(&run.method), "json"));
    md.push_str("\nBaseline configuration:\n\n");
    md.push_str(&fenced(&pretty_json(&run.baseline), "json"));
    md
}

fn output_name(output: explainer_core::Output) -> &'static str {
    match output {
        explainer_core::Output::Probability => "probability",
        explainer_core::Output::Logit => "logit",
    }
}

fn write_explanation(md: &mut String, n: usize, e: &Explanation) {
    match &e.id {
        Some(id) => {
            let _ = writeln!(md, "## Text {} (id {})\n", n + 1, escape(id));
        }
        None => {
            let _ = writeln!(md, "## Text {}\n", n + 1);
        }
    }
    // The text as a block quote, line by line.
    for line in e.text.split('\n') {
        let _ = writeln!(md, "> {}", escape_line(line));
    }
    md.push('\n');
    if e.truncated {
        md.push_str("**Truncated:** only the beginning of the text was seen by the model.\n\n");
    }
    for w in &e.warnings {
        let _ = writeln!(md, "- **Warning:** {}", escape(w));
    }
    if !e.warnings.is_empty() {
        md.push('\n');
    }
    let windows = super::window_lines(e);
    for line in &windows {
        let _ = writeln!(md, "- {}", escape(line));
    }
    if !windows.is_empty() {
        md.push('\n');
    }
    md.push_str("| label | index | score | logit | explained |\n|---|---:|---:|---:|:---:|\n");
    for p in &e.predictions {
        let explained = e.targets.iter().any(|t| t.label_index == p.index);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} |",
            escape(&p.label),
            p.index,
            num(p.score),
            signed(p.logit),
            if explained { "yes" } else { "" }
        );
    }
    md.push('\n');
    for t in &e.targets {
        let _ = writeln!(md, "### {} (score {})\n", escape(&t.label), num(t.score));
        let delta = t.delta.map_or("n/a".to_owned(), signed);
        let _ = writeln!(
            md,
            "Σ attribution {} · F(x) {} · F(x₀) {} · delta {}{}{}\n",
            signed(t.attribution_total),
            num(t.f_input),
            num(t.f_baseline),
            delta,
            t.steps.map_or(String::new(), |s| format!(" · {s} steps")),
            t.error_estimate.map_or(String::new(), |x| format!(" · error estimate {}", num(x)))
        );
        let (pos, neg) = top_words(t, TOP);
        if pos.is_empty() && neg.is_empty() {
            md.push_str("No word has a non-zero attribution.\n\n");
            continue;
        }
        md.push_str("| | word | chars | attribution |\n|---|---|---:|---:|\n");
        for (side, list) in [("for", &pos), ("against", &neg)] {
            for &w in list {
                let Some(word) = e.words.get(w) else { continue };
                let a = t.word_attributions.get(w).copied().unwrap_or(0.0);
                let _ = writeln!(
                    md,
                    "| {side} | {} | {}–{} | {} |",
                    escape(&word.text),
                    word.start,
                    word.end,
                    signed(a)
                );
            }
        }
        md.push('\n');
        if let Some(sweep) = &t.layer_sweep {
            let _ = writeln!(
                md,
                "Layer sweep over {} layers (deltas: {}); see the JSON or HTML report for the tokens × layers matrix.\n",
                sweep.layers.len(),
                sweep.deltas.iter().map(|d| signed(*d)).collect::<Vec<_>>().join(", ")
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fences_outgrow_backticks() {
        assert_eq!(fenced("a ```` b", ""), "`````\na ```` b\n`````\n");
        assert_eq!(fenced("{}", "json"), "```json\n{}\n```\n");
    }
}
