//! The self-contained HTML report.
//!
//! One file, no network access of any kind: the style sheet is inline and there is no script,
//! no font, no image. A strict Content-Security-Policy (`default-src 'none'`, the style sheet
//! allowed by its SHA-256 hash, `script-src 'none'`) backs up the escaping: every string that
//! comes from a text, a model, a config or the caller goes through [`escape`], which is safe
//! both in element content and in quoted attribute values. Word colours are CSS classes (no
//! `style` attributes), so the policy needs no `'unsafe-inline'`.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

use super::{
    LEVELS, Piece, config_name, level, level_dark, level_rgb, max_abs, num, pieces, pretty_json,
    problem_name, signed, top_words,
};
use crate::schema::{Document, Explanation, TargetReport};

/// Escapes text for HTML element content and for quoted attribute values: `&`, `<`, `>`,
/// `"` and `'` become character references; control characters other than tab and newline
/// become U+FFFD-free visible `\u{…}` escapes so that nothing invisible hides in the report.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

/// [`escape`] for an attribute value, with newlines kept as character references so that
/// tooltips show them as line breaks.
fn attr(s: &str) -> String {
    escape(s).replace('\n', "&#10;").replace('\t', "&#9;")
}

/// The class of a colour step: `n10`…`n1`, `z0`, `p1`…`p10`.
fn level_class(level: i32) -> String {
    match level {
        0 => "z0".to_owned(),
        l if l > 0 => format!("p{l}"),
        l => format!("n{}", -l),
    }
}

/// How many words per side ("for", "against") the top-words table lists.
const TOP: usize = 8;

/// The report's style sheet (its SHA-256 goes into the Content-Security-Policy).
/// The Content-Security-Policy source hash of an inline style sheet: standard Base64 (with
/// padding) of its SHA-256 digest, as CSP Level 2 defines `'sha256-…'`.
fn csp_hash(css: &str) -> String {
    BASE64.encode(Sha256::digest(css.as_bytes()))
}

fn style_sheet() -> String {
    let mut css = String::from(
        "\
:root{--fg:#1d2430;--muted:#5b6575;--line:#d8dde5;--bg:#ffffff;--panel:#f6f8fa;--warn:#fff4d6;--warnline:#e0b44c}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Noto Sans\",sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:1.55em;margin:0 0 4px}
h2{font-size:1.25em;margin:32px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:1.08em;margin:22px 0 8px}
.sub{color:var(--muted);margin:0 0 12px}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,\"Liberation Mono\",monospace;font-size:.88em}
pre{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow:auto;white-space:pre-wrap;word-break:break-word}
table{border-collapse:collapse;margin:6px 0 12px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.toc{margin:8px 0 0;padding-left:20px}
.warnings{background:var(--warn);border:1px solid var(--warnline);border-radius:6px;padding:8px 12px;margin:10px 0}
.warnings ul{margin:4px 0 0;padding-left:20px}
.target{border:1px solid var(--line);border-radius:8px;padding:4px 16px 12px;margin:16px 0;background:#fff}
.target h3 .score{font-weight:400;color:var(--muted)}
.stats{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:4px 16px;margin:6px 0 10px}
.stats div{display:flex;justify-content:space-between;border-bottom:1px dotted var(--line)}
.stats dt{color:var(--muted)}
.stats dd{margin:0;font-variant-numeric:tabular-nums}
.text{font-size:1.12em;line-height:2.05;white-space:pre-wrap;word-break:break-word;background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin:8px 0}
.w{border-radius:3px;padding:1px 1px;cursor:help;unicode-bidi:isolate}
.w:hover{outline:2px solid #333}
.unseen{color:#8a93a3;text-decoration:line-through dotted}
.legend{display:flex;align-items:center;gap:6px;flex-wrap:wrap;color:var(--muted);font-size:.9em;margin:6px 0}
.legend .bar{display:inline-flex;border:1px solid var(--line)}
.legend .bar span{display:inline-block;width:16px;height:14px}
.heatwrap{overflow-x:auto}
.bar-cell{display:inline-block;height:10px;background:#4a78c2;vertical-align:middle;margin-right:6px}
.explained{font-weight:600}
.heat td{padding:2px 6px;font-size:.82em;text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.heat td.tok{text-align:left;font-family:ui-monospace,Menlo,Consolas,monospace}
.heat th{font-size:.8em}
.special{color:var(--muted)}
details{margin:8px 0}
summary{cursor:pointer;color:#2b4f8a}
table.audit{width:100%;table-layout:fixed}
table.audit td:first-child{width:220px;color:var(--muted);word-break:break-word}
table.audit td{word-break:break-all}
footer{margin-top:32px;color:var(--muted);font-size:.85em}
@media print{.target{break-inside:avoid}details{display:block}summary{display:none}}
",
    );
    for l in -LEVELS..=LEVELS {
        let (r, g, b) = level_rgb(l);
        let fg = if level_dark(l) { "#ffffff" } else { "#1d2430" };
        let _ = writeln!(css, ".{}{{background:#{r:02x}{g:02x}{b:02x};color:{fg}}}", level_class(l));
    }
    for w in 0..=20 {
        let _ = writeln!(css, ".b{w}{{width:{}px}}", w * 6);
    }
    css
}

/// The document as one self-contained HTML page.
///
/// For each text: the predictions; for each explained label a section with its score,
/// Σ attribution, F(x), F(x₀), the convergence delta, the original text with word-level
/// highlights (token detail on hover), the top words, the token table and, for layer sweeps,
/// the tokens × layers heatmap. Then the audit trail: model path and hash, method and baseline
/// configs, versions, date, duration. Everything from the document is escaped.
pub fn render_html(document: &Document) -> String {
    let css = style_sheet();
    let hash = csp_hash(&css);
    let run = &document.run;
    let method = config_name(&run.method, "method");
    let baseline = config_name(&run.baseline, "baseline");
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'sha256-{hash}'; \
         script-src 'none'; img-src 'none'; font-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"{tool} {version}\">\n\
         <title>Explanation report · {model}</title>\n<style>{css}</style>\n</head>\n<body>\n<main>\n",
        tool = attr(&run.tool),
        version = attr(&run.version),
        model = escape(&run.model.name),
    );
    let _ = write!(
        h,
        "<h1>Explanation report</h1>\n<p class=\"sub\">Model <b>{}</b> · method <b>{}</b> · baseline <b>{}</b> · \
         explaining the {} · {} text{} · {}</p>\n",
        escape(&run.model.name),
        escape(&method),
        escape(&baseline),
        match run.output {
            explainer_core::Output::Probability => "probability",
            explainer_core::Output::Logit => "logit",
        },
        document.explanations.len(),
        if document.explanations.len() == 1 { "" } else { "s" },
        escape(&run.created),
    );
    h.push_str(
        "<p class=\"sub\">Green words push the explained label's score up (evidence <i>for</i> the label), red \
         words push it down (<i>against</i>); colour strength is relative to the strongest word of that label. \
         Hover a word for its tokens, ids and attributions.</p>\n",
    );
    if document.explanations.len() > 1 {
        h.push_str("<ol class=\"toc\">\n");
        for (n, e) in document.explanations.iter().enumerate() {
            let _ =
                writeln!(h, "<li><a href=\"#text-{}\">{}</a></li>", n + 1, escape(&explanation_title(n, e)));
        }
        h.push_str("</ol>\n");
    }
    for (n, explanation) in document.explanations.iter().enumerate() {
        write_explanation(&mut h, n, explanation);
    }
    write_audit(&mut h, document);
    let _ = write!(
        h,
        "<footer>Schema <code>{}</code> · generated by {} {}. This file is self-contained and loads nothing from \
         the network.</footer>\n</main>\n</body>\n</html>\n",
        escape(&document.schema),
        escape(&run.tool),
        escape(&run.version)
    );
    h
}

fn explanation_title(n: usize, e: &Explanation) -> String {
    match &e.id {
        Some(id) => format!("Text {} · id {id}", n + 1),
        None => format!("Text {}", n + 1),
    }
}

fn write_explanation(h: &mut String, n: usize, e: &Explanation) {
    let _ = writeln!(h, "<section class=\"explanation\" id=\"text-{}\">", n + 1);
    let _ = writeln!(h, "<h2>{}</h2>", escape(&explanation_title(n, e)));
    if e.truncated || !e.warnings.is_empty() {
        h.push_str("<div class=\"warnings\"><b>Warnings</b><ul>\n");
        if e.truncated && !e.warnings.iter().any(|w| w.contains("truncat")) {
            h.push_str("<li>The text was truncated: struck-through text was not seen by the model.</li>\n");
        }
        for w in &e.warnings {
            let _ = writeln!(h, "<li>{}</li>", escape(w));
        }
        h.push_str("</ul></div>\n");
    }
    let windows = super::window_lines(e);
    if !windows.is_empty() {
        h.push_str("<div class=\"windows\"><b>Long text</b><ul>\n");
        for line in &windows {
            let _ = writeln!(h, "<li>{}</li>", escape(line));
        }
        h.push_str("</ul></div>\n");
    }

    // Predictions.
    h.push_str(
        "<h3>Predictions</h3>\n<table class=\"predictions\"><thead><tr><th>label</th><th class=\"num\">index</th>\
         <th>score</th><th class=\"num\">logit</th><th>explained</th></tr></thead><tbody>\n",
    );
    for p in &e.predictions {
        let explained = e.targets.iter().position(|t| t.label_index == p.index);
        // Bar widths are classes (b0…b20), not style attributes, to keep the CSP strict.
        let width = if p.score.is_finite() { (p.score.clamp(0.0, 1.0) * 20.0).round() as u32 } else { 0 };
        let _ = writeln!(
            h,
            "<tr{}><td>{}</td><td class=\"num\">{}</td><td class=\"num\"><span class=\"bar-cell b{}\" \
             title=\"{}\"></span>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            if explained.is_some() { " class=\"explained\"" } else { "" },
            escape(&p.label),
            p.index,
            width,
            attr(&format!("score {}", p.score)),
            num(p.score),
            signed(p.logit),
            match explained {
                Some(k) => format!("<a href=\"#text-{}-label-{}\">yes ↓</a>", n + 1, k + 1),
                None => String::new(),
            }
        );
    }
    h.push_str("</tbody></table>\n");

    for (k, target) in e.targets.iter().enumerate() {
        write_target(h, n, k, e, target);
    }
    if e.targets.is_empty() {
        h.push_str(
            "<p class=\"sub\">No label was explained for this text (the target rule picked none).</p>\n",
        );
    }
    h.push_str("</section>\n");
}

fn write_target(h: &mut String, n: usize, k: usize, e: &Explanation, t: &TargetReport) {
    let scale = max_abs(&t.word_attributions);
    let _ = writeln!(h, "<section class=\"target\" id=\"text-{}-label-{}\">", n + 1, k + 1);
    let _ = writeln!(
        h,
        "<h3>Label “{}” <span class=\"score\">(index {}) · score {}</span></h3>",
        escape(&t.label),
        t.label_index,
        num(t.score)
    );
    h.push_str("<dl class=\"stats\">\n");
    let mut stat = |name: &str, value: String, title: String| {
        let _ =
            writeln!(h, "<div title=\"{}\"><dt>{}</dt><dd>{}</dd></div>", attr(&title), name, escape(&value));
    };
    stat("score", num(t.score), format!("{}", t.score));
    stat("Σ attribution", signed(t.attribution_total), format!("{}", t.attribution_total));
    stat("F(x)", num(t.f_input), format!("F(x) = {}", t.f_input));
    stat("F(x₀)", num(t.f_baseline), format!("F(x₀) = {}", t.f_baseline));
    let gap = t.f_input - t.f_baseline;
    stat("F(x) − F(x₀)", signed(gap), format!("{gap}"));
    match t.delta {
        Some(d) => stat("delta", signed(d), format!("Σ attribution − (F(x) − F(x₀)) = {d}")),
        None => stat("delta", "n/a".into(), "the method has no completeness delta".into()),
    }
    if let Some(s) = t.steps {
        stat("steps", s.to_string(), "integration steps".into());
    }
    if let Some(err) = t.error_estimate {
        stat("error estimate", num(err), format!("{err}"));
    }
    h.push_str("</dl>\n");

    write_legend(h, scale);

    // The original text, word by word.
    h.push_str("<div class=\"text\" dir=\"auto\">");
    for piece in pieces(e) {
        match piece {
            Piece::Gap(s) => h.push_str(&escape(s)),
            Piece::Unseen(s) => {
                let _ = write!(
                    h,
                    "<span class=\"unseen\" title=\"not seen by the model (truncated)\">{}</span>",
                    escape(s)
                );
            }
            Piece::Word(i, s) => {
                let a = t.word_attributions.get(i).copied().unwrap_or(0.0);
                let _ = write!(
                    h,
                    "<span class=\"w {}\" title=\"{}\">{}</span>",
                    level_class(level(a, scale)),
                    attr(&word_tooltip(e, t, i, a)),
                    escape(s)
                );
            }
        }
    }
    h.push_str("</div>\n");

    // Top words.
    let (pos, neg) = top_words(t, TOP);
    h.push_str(
        "<table class=\"top\"><thead><tr><th>top words for</th><th class=\"num\">attribution</th>\
                <th>top words against</th><th class=\"num\">attribution</th></tr></thead><tbody>\n",
    );
    for row in 0..pos.len().max(neg.len()) {
        h.push_str("<tr>");
        for list in [&pos, &neg] {
            match list.get(row).and_then(|&w| e.words.get(w).map(|word| (w, word))) {
                Some((w, word)) => {
                    let a = t.word_attributions.get(w).copied().unwrap_or(0.0);
                    let _ = write!(
                        h,
                        "<td><span class=\"w {}\">{}</span> <span class=\"sub\">chars {}–{}</span></td><td class=\"num\">{}</td>",
                        level_class(level(a, scale)),
                        escape(&word.text),
                        word.start,
                        word.end,
                        signed(a)
                    );
                }
                None => h.push_str("<td></td><td></td>"),
            }
        }
        h.push_str("</tr>\n");
    }
    if pos.is_empty() && neg.is_empty() {
        h.push_str("<tr><td colspan=\"4\">no word has a non-zero attribution</td></tr>\n");
    }
    h.push_str("</tbody></table>\n");

    // Token table.
    let token_scale = max_abs(&t.token_attributions);
    let _ = write!(
        h,
        "<details><summary>All {} tokens (special tokens included)</summary>\n<table class=\"tokens\"><thead><tr>\
         <th class=\"num\">#</th><th>token</th><th class=\"num\">id</th><th class=\"num\">chars</th><th class=\"num\">word</th>\
         <th class=\"num\">attribution</th>{}</tr></thead><tbody>\n",
        e.tokens.len(),
        if t.token_spread.is_some() { "<th class=\"num\">spread (sd)</th>" } else { "" }
    );
    for (i, token) in e.tokens.iter().enumerate() {
        let a = t.token_attributions.get(i).copied().unwrap_or(0.0);
        let _ = write!(
            h,
            "<tr{}><td class=\"num\">{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num {}\">{}</td>",
            if token.special { " class=\"special\"" } else { "" },
            token.index,
            escape(&token.text),
            token.id,
            if token.special { "—".to_owned() } else { format!("{}–{}", token.start, token.end) },
            token.word.map_or("—".to_owned(), |w| w.to_string()),
            level_class(level(a, token_scale)),
            signed(a)
        );
        if let Some(spread) = &t.token_spread {
            let _ = write!(h, "<td class=\"num\">{}</td>", spread.get(i).map_or(String::new(), |s| num(*s)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></details>\n");

    if let Some(sweep) = &t.layer_sweep {
        write_heatmap(h, e, sweep);
    }
    h.push_str("</section>\n");
}

fn word_tooltip(e: &Explanation, t: &TargetReport, w: usize, a: f64) -> String {
    let mut tip = String::new();
    if let Some(word) = e.words.get(w) {
        let _ = writeln!(tip, "word {}: {} (chars {}–{})", w, word.text, word.start, word.end);
        let _ = writeln!(tip, "attribution {} ({})", signed(a), if a >= 0.0 { "for" } else { "against" });
        for &ti in &word.tokens {
            if let Some(token) = e.tokens.get(ti) {
                let ta = t.token_attributions.get(ti).copied().unwrap_or(0.0);
                let _ = writeln!(tip, "  token #{} {:?} id {}: {}", ti, token.text, token.id, signed(ta));
            }
        }
    }
    tip.trim_end().to_owned()
}

fn write_legend(h: &mut String, scale: f64) {
    h.push_str("<div class=\"legend\"><span>against</span><span>");
    let _ = write!(h, "−{}", num(scale));
    h.push_str("</span><span class=\"bar\">");
    for l in -LEVELS..=LEVELS {
        let _ = write!(h, "<span class=\"{}\"></span>", level_class(l));
    }
    let _ = writeln!(
        h,
        "</span><span>+{}</span><span>for</span><span>· scale: the largest |word attribution| of this label</span></div>",
        num(scale)
    );
}

fn write_heatmap(h: &mut String, e: &Explanation, sweep: &explainer_core::LayerSweep) {
    let all: Vec<f64> = sweep.scores.iter().flatten().copied().collect();
    let scale = max_abs(&all);
    let _ = write!(
        h,
        "<h4>Attribution by layer (tokens × layers)</h4>\n<p class=\"sub\">Each cell is the token's attribution \
         at that layer; colours share one scale (±{}).</p>\n<div class=\"heatwrap\"><table class=\"heat\">\
         <thead><tr><th>token</th>",
        num(scale)
    );
    for layer in &sweep.layers {
        let _ = write!(h, "<th>{}</th>", escape(layer));
    }
    h.push_str("</tr></thead><tbody>\n");
    for (i, row) in sweep.scores.iter().enumerate() {
        let token = e.tokens.get(i);
        let _ = write!(
            h,
            "<tr><td class=\"tok{}\">{}</td>",
            if token.is_some_and(|t| t.special) { " special" } else { "" },
            escape(token.map_or("?", |t| t.text.as_str()))
        );
        for (j, v) in row.iter().enumerate() {
            let layer = sweep.layers.get(j).map_or("?", String::as_str);
            let _ = write!(
                h,
                "<td class=\"{}\" title=\"{}\">{}</td>",
                level_class(level(*v, scale)),
                attr(&format!("{} at {layer}: {v}", token.map_or("?", |t| t.text.as_str()))),
                signed(*v)
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("<tr><th>delta</th>");
    for d in &sweep.deltas {
        let _ = write!(h, "<td>{}</td>", signed(*d));
    }
    h.push_str("</tr>\n</tbody></table></div>\n");
}

fn write_audit(h: &mut String, document: &Document) {
    let run = &document.run;
    let m = &run.model;
    h.push_str(
        "<section class=\"audit\" id=\"audit\">\n<h2>Audit trail</h2>\n<table class=\"audit\"><tbody>\n",
    );
    let mut row = |name: &str, value: &str| {
        let _ = writeln!(h, "<tr><td>{}</td><td class=\"mono\">{}</td></tr>", escape(name), escape(value));
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
    row(
        "explained output",
        match run.output {
            explainer_core::Output::Probability => "probability",
            explainer_core::Output::Logit => "logit",
        },
    );
    row("layer", &run.layer);
    for (name, version) in &run.versions {
        row(&format!("version: {name}"), version);
    }
    h.push_str("</tbody></table>\n");
    let _ = write!(
        h,
        "<h3>Method configuration</h3>\n<pre>{}</pre>\n<h3>Baseline configuration</h3>\n<pre>{}</pre>\n</section>\n",
        escape(&pretty_json(&run.method)),
        escape(&pretty_json(&run.baseline))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_content_and_attributes() {
        assert_eq!(
            escape("<a href='x' title=\"y\">&</a>"),
            "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(attr("a\nb"), "a&#10;b");
    }

    #[test]
    fn csp_hashes_are_base64_of_sha256() {
        // Python: base64.b64encode(hashlib.sha256(s).digest()).
        assert_eq!(csp_hash(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(csp_hash("abc"), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
        assert_eq!(csp_hash("body{color:red}"), "FcQqt3aNlV7AZnGV4zkQRVeCeJOxbMPnQSx258L803E=");
    }
}
