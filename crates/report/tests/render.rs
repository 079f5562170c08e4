//! The renderers: terminal colour and no-colour forms, Markdown escaping, HTML escaping and
//! self-containment.
#![allow(clippy::unwrap_used)]
#![allow(clippy::expect_used)]

mod common;

use common::*;
use explainer_report::{TerminalStyle, render_html, render_markdown, render_terminal};

#[test]
fn terminal_without_colour_has_no_escape_sequences() {
    let doc = sample_document();
    let out = render_terminal(&doc, &TerminalStyle { color: false, width: 80 });
    assert!(!out.contains('\x1b'), "{out}");
    for needle in
        ["toxic", "insult", "threat", "Σ attribution", "F(x)", "F(x₀)", "delta", "Café", "naïve", "🙂"]
    {
        assert!(out.contains(needle), "missing {needle:?} in\n{out}");
    }
    // The strongest words are marked with their attributions (🙂 +1.0 for toxic).
    assert!(out.contains("[🙂 +1.000]"), "{out}");
    assert!(out.contains("[語 -0.5000]"), "{out}");
    assert!(out.contains("[Café +0.3750]"), "{out}");
    assert!(!out.contains("[ok"), "words under 25% of the largest are not marked: {out}");
    // Scores in the predictions line: sigmoid(2) = 0.8808.
    assert!(out.contains("toxic 0.8808"), "{out}");
    assert!(out.contains("row-1"));
}

#[test]
fn terminal_with_colour_paints_words_by_sign() {
    let doc = sample_document();
    let out = render_terminal(&doc, &TerminalStyle { color: true, width: 80 });
    assert!(out.contains('\x1b'));
    // 🙂 is the strongest "for" word of toxic: full green; 語 is at −0.5 = half red.
    assert!(out.contains("\x1b[48;2;26;152;80m\x1b[38;2;255;255;255m🙂\x1b[0m"), "{out:?}");
    let half_red = "\x1b[48;2;235;152;147m";
    assert!(out.contains(&format!("{half_red}\x1b[38;2;0;0;0m語\x1b[0m")), "{out:?}");
    assert!(out.contains("legend"));
}

#[test]
fn terminal_never_passes_control_characters_through() {
    let mut doc = sample_document();
    doc.explanations[0].text = "a\x1b[2J\x1b]0;pwn\x07 b".into();
    doc.explanations[0].words.clear();
    doc.explanations[0].targets[0].label = "lab\x1b[31mel".into();
    doc.explanations[0].id = Some("\u{202e}di".into());
    doc.explanations[0].warnings.push("w\x1b[0m".into());
    for color in [false, true] {
        let out = render_terminal(&doc, &TerminalStyle { color, width: 80 });
        assert!(!out.contains("\x1b[2J") && !out.contains("\x1b]0") && !out.contains('\x07'));
        assert!(!out.contains("\x1b[31m") && !out.contains('\u{202e}'));
        assert!(out.contains("a\\u{1b}[2J"), "{out:?}");
        if !color {
            assert!(!out.contains('\x1b'));
        }
    }
}

#[test]
fn terminal_wraps_to_the_width() {
    let mut doc = sample_document();
    let text = "word ".repeat(60);
    doc.explanations[0].text = text.clone();
    doc.explanations[0].words.clear();
    let out = render_terminal(&doc, &TerminalStyle { color: false, width: 40 });
    let text_lines: Vec<&str> = out.lines().filter(|l| l.trim_start().starts_with("word")).collect();
    assert!(text_lines.len() >= 7, "{out}");
    for l in text_lines {
        assert!(l.chars().count() <= 40, "{l:?}");
    }
}

#[test]
fn markdown_escapes_table_cells_and_text() {
    let doc = hostile_document();
    let md = render_markdown(&doc);
    // Outside code fences (where text is shown literally) no raw HTML may appear.
    let mut outside = String::new();
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|&c| c == '`').collect();
        match &fence {
            None if ticks.len() >= 3 => fence = Some(ticks),
            Some(open) if line.trim_end() == open.as_str() => fence = None,
            None => {
                outside.push_str(line);
                outside.push('\n');
            }
            Some(_) => {}
        }
    }
    assert!(fence.is_none(), "unclosed code fence");
    assert!(!outside.to_lowercase().contains("<script"), "{outside}");
    assert!(!outside.to_lowercase().contains("<img"), "{outside}");
    assert!(md.contains("```json\n{\n  \"method\": \"m<script>"), "configs are shown verbatim in fences");
    assert!(md.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{md}");
    // The label "insult|`x`": pipe and backticks escaped, so every table row keeps its cells.
    assert!(md.contains("insult\\|\\`x\\`"), "{md}");
    // Every row of a table has as many cell separators as its header row.
    let mut header: Option<usize> = None;
    for line in md.lines() {
        if !line.starts_with('|') {
            header = None;
            continue;
        }
        let separators = line.match_indices('|').filter(|(i, _)| !line[..*i].ends_with('\\')).count();
        match header {
            None => header = Some(separators),
            Some(h) => assert_eq!(separators, h, "row {line:?}"),
        }
        assert!([3, 5, 6].contains(&separators), "row with {separators} cell separators: {line}");
    }
    // Config values go in code fences, which nothing inside can close.
    assert!(md.contains("```json\n"));
}

#[test]
fn markdown_reports_numbers_and_top_words() {
    let md = render_markdown(&sample_document());
    assert!(md.contains("| toxic | 0 | 0\\.8808 |") || md.contains("| toxic | 0 | 0.8808 |"), "{md}");
    assert!(md.contains("| for | 🙂 | 15–16 | +1.000 |"), "{md}");
    assert!(md.contains("| against | 語 | 13–14 | -0.5000 |"), "{md}");
    assert!(md.contains("sha256:abab"));
    assert!(md.contains("## Audit trail"));
}

/// The tag names and attribute names of an HTML string, by a small independent scanner:
/// `<name attr="…" attr='…' attr=… >`, skipping comments and the text inside `<style>`.
fn tags_and_attributes(html: &str) -> Vec<(String, Vec<String>)> {
    let bytes = html.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        i += 1;
        if html[i..].starts_with("!DOCTYPE") {
            i += 8;
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        if closing {
            i += 1;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric()) {
            i += 1;
        }
        let name = html[start..i].to_ascii_lowercase();
        let mut attrs = Vec::new();
        loop {
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i >= bytes.len() || bytes[i] == b'>' {
                i += 1;
                break;
            }
            let a = i;
            while i < bytes.len() && !b"=> \t\n".contains(&bytes[i]) {
                i += 1;
            }
            attrs.push(html[a..i].to_ascii_lowercase());
            if bytes.get(i) == Some(&b'=') {
                i += 1;
                match bytes.get(i) {
                    Some(&q @ (b'"' | b'\'')) => {
                        i += 1;
                        while i < bytes.len() && bytes[i] != q {
                            i += 1;
                        }
                        i += 1;
                    }
                    _ => {
                        while i < bytes.len() && !b"> \t\n".contains(&bytes[i]) {
                            i += 1;
                        }
                    }
                }
            }
        }
        if name == "style" && !closing {
            // Skip the style sheet's text.
            i = html[i..].find("</style>").map_or(bytes.len(), |k| i + k);
        }
        out.push((name, attrs));
    }
    out
}

#[test]
fn html_escapes_every_string_from_the_document() {
    let doc = hostile_document();
    let html = render_html(&doc);
    let lower = html.to_lowercase();
    assert!(!lower.contains("<script"), "a script tag got through");
    assert!(!lower.contains("<img"), "an img tag got through");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"));
    // Only the renderer's own tags and attributes exist.
    let allowed_tags = [
        "html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "h4", "p", "b", "i",
        "ol", "ul", "li", "a", "section", "div", "table", "thead", "tbody", "tr", "th", "td", "span", "dl",
        "dt", "dd", "details", "summary", "pre", "code", "footer",
    ];
    let allowed_attrs = [
        "dir",
        "lang",
        "charset",
        "http-equiv",
        "content",
        "name",
        "class",
        "id",
        "href",
        "title",
        "colspan",
    ];
    let tags = tags_and_attributes(&html);
    assert!(tags.len() > 100, "{} tags: {tags:?}", tags.len());
    for (name, attrs) in &tags {
        assert!(allowed_tags.contains(&name.as_str()), "unexpected tag <{name}>");
        for a in attrs {
            assert!(allowed_attrs.contains(&a.as_str()), "unexpected attribute {a:?} on <{name}>");
        }
    }
    // Each hostile field shows up escaped: label, id, model path and name, configs, warning,
    // layer names, versions, tokens.
    for needle in [
        "toxic&lt;script&gt;",
        "id&lt;script&gt;",
        "/models/&lt;script&gt;",
        "name&lt;script&gt;",
        "warning &lt;script&gt;",
        "encoder.0&lt;script&gt;",
        "layer&lt;script&gt;",
        "labels:&lt;script&gt;",
        "[SEP]&lt;script&gt;",
        "v&lt;script&gt;",
        // The JSON config: quotes inside escaped too.
        "&quot;note&quot;: &quot;&lt;script&gt;",
    ] {
        assert!(html.contains(needle), "missing escaped {needle:?}");
    }
    // Quotes are escaped in attributes: the hostile value's `"'` cannot end a title="…".
    assert!(html.contains("&gt;&quot;&#39;&amp;"));
}

#[test]
fn html_is_self_contained_and_has_a_strict_policy() {
    let html = render_html(&sample_document());
    let lower = html.to_lowercase();
    for forbidden in
        ["http://", "https://", "//fonts", "@import", "url(", "src=", "<link", "<script", "<iframe"]
    {
        assert!(!lower.contains(forbidden), "the report contains {forbidden:?}");
    }
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("default-src 'none'"));
    assert!(html.contains("script-src 'none'"));
    assert!(html.contains("style-src 'sha256-"));
    assert!(!html.contains("unsafe-inline"));
    assert!(!html.contains(" style=\""), "inline style attributes would need 'unsafe-inline'");
    // Per label: the sections, scores, Σ, delta, the words with token detail, the heatmap.
    assert!(html.contains("Label “toxic”"));
    assert!(html.contains("Label “insult”"));
    assert!(html.contains("Attribution by layer"));
    assert!(html.contains("encoder.1"));
    assert!(html.contains("title=\"word 1: naïve (chars 5–10)&#10;attribution -0.3125 (against)"));
    assert!(html.contains("token #4 &quot;##ïve&quot; id 4: -0.06250"));
    assert!(html.contains("Audit trail"));
    assert!(html.contains("sha256:abab"));
    assert!(html.contains("&quot;n_steps&quot;: 50"));
}

#[test]
fn renderers_survive_inconsistent_documents() {
    let mut doc = sample_document();
    let e = &mut doc.explanations[0];
    e.words[0].byte_end = 1000;
    e.words[1].byte_start = 3; // inside "é"
    e.targets[0].word_attributions.truncate(1);
    e.targets[0].token_attributions.clear();
    e.targets[1].layer_sweep.as_mut().unwrap().scores.truncate(2);
    e.tokens.truncate(3);
    e.truncated = true;
    let _ = render_html(&doc);
    let _ = render_markdown(&doc);
    let _ = render_terminal(&doc, &TerminalStyle { color: true, width: 0 });
    let _ = render_terminal(&doc, &TerminalStyle { color: false, width: usize::MAX });
}

#[test]
fn truncated_text_is_marked_as_not_seen() {
    // Only "Café naïve" was tokenised; the rest of the text was cut.
    let tokens: Vec<Tok> = bert_tokens().into_iter().take(5).collect();
    let labels = labels();
    let attr =
        attribution(encoding(&tokens, true), vec![target(0, "toxic", 0.9, &[0.0, 1.0, 0.5, -0.5, 0.25])]);
    let e = explainer_report::Explanation::new(None, TEXT, &prediction(&labels), &attr).unwrap();
    assert!(e.truncated);
    assert!(e.warnings.iter().any(|w| w.contains("first 10 characters")), "{:?}", e.warnings);
    let doc = explainer_report::Document::new(run(labels), vec![e]);
    let html = render_html(&doc);
    assert!(
        html.contains(
            "<span class=\"unseen\" title=\"not seen by the model (truncated)\"> 日本語 🙂 ok</span>"
        ),
        "{html}"
    );
    let plain = render_terminal(&doc, &TerminalStyle { color: false, width: 80 });
    assert!(plain.contains("[…not seen: truncated]"), "{plain}");
    assert!(!plain.contains("日本語"), "{plain}");
    assert!(plain.contains("TRUNCATED"));
    assert!(render_markdown(&doc).contains("**Truncated:**"));
}
