//! The terminal report.
//!
//! With colour: each word of the original text on a 24-bit background, green for evidence
//! for the label, red against, scaled by the label's largest |word attribution|. Without
//! colour: no escape sequence at all; the strongest words are marked `[word +0.12]` in the
//! text. In both forms: the predictions, Σ attribution, F(x), F(x₀), delta, the top words.
//!
//! Control characters in the document (an ESC in a hostile text could drive the terminal)
//! are always shown as `\u{…}`, as are bidirectional-override characters.

use std::fmt::Write as _;

use super::{
    LEVELS, Piece, config_name, level, level_dark, level_rgb, max_abs, num, pieces, signed, top_words,
};
use crate::schema::{Document, Explanation, TargetReport};

/// How to render for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalStyle {
    /// Whether to use ANSI colours (24-bit backgrounds). The CLI turns it off when `NO_COLOR`
    /// is set or stdout is not a terminal. Without colour the output has no escape sequence.
    pub color: bool,
    /// The line width to wrap the text to, in terminal columns (at least 20 is used).
    pub width: usize,
}

impl Default for TerminalStyle {
    /// No colour, 100 columns.
    fn default() -> Self {
        TerminalStyle { color: false, width: 100 }
    }
}

/// How many words per side the top-words lines list.
const TOP: usize = 5;
/// Without colour, words whose |attribution| is at least this share of the label's largest
/// are marked in the text.
const MARK_SHARE: f64 = 0.25;
/// Indentation of the text block.
const INDENT: usize = 2;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

/// Makes a string safe to print: control characters (ESC, CR, …; tab and newline kept only
/// where `keep_newlines`) and bidirectional controls become visible `\u{…}` escapes.
fn sanitize(s: &str, keep_newlines: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let bidi = matches!(u32::from(c), 0x202A..=0x202E | 0x2066..=0x2069 | 0x200E | 0x200F | 0x061C);
        if keep_newlines && c == '\n' {
            out.push(c);
        } else if c == '\t' {
            out.push(' ');
        } else if c.is_control() || bidi {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Display width of a character in a terminal: 0 for combining marks and zero-width
/// characters, 2 for East Asian wide characters and most emoji, 1 otherwise (an
/// approximation of `wcwidth` without tables).
fn char_width(c: char) -> usize {
    match u32::from(c) {
        0x0300..=0x036F | 0x200B..=0x200D | 0xFE00..=0xFE0F | 0x20D0..=0x20FF => 0,
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x1F300..=0x1F64F
        | 0x1F900..=0x1F9FF
        | 0x1FA70..=0x1FAFF
        | 0x20000..=0x3FFFD => 2,
        _ => 1,
    }
}

fn str_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Text laid out in lines of at most `width` columns (words longer than a line overflow).
struct Wrapper {
    out: String,
    width: usize,
    column: usize,
}

impl Wrapper {
    fn new(width: usize) -> Self {
        let mut out = String::new();
        out.push_str(&" ".repeat(INDENT));
        Wrapper { out, width, column: INDENT }
    }

    fn newline(&mut self) {
        self.out.push('\n');
        self.out.push_str(&" ".repeat(INDENT));
        self.column = INDENT;
    }

    /// Appends an unbreakable atom shown as `shown` (escape codes included) of `cols` columns.
    fn atom(&mut self, shown: &str, cols: usize) {
        if self.column + cols > self.width && self.column > INDENT {
            self.newline();
        }
        self.out.push_str(shown);
        self.column += cols;
    }

    /// Appends plain text, breaking at spaces and honouring newlines.
    fn plain(&mut self, text: &str, prefix: &str, suffix: &str) {
        for (k, line) in text.split('\n').enumerate() {
            if k > 0 {
                self.newline();
            }
            for (j, chunk) in line.split(' ').enumerate() {
                if j > 0 && self.column > INDENT && self.column < self.width {
                    self.out.push(' ');
                    self.column += 1;
                }
                if !chunk.is_empty() {
                    self.atom(&format!("{prefix}{chunk}{suffix}"), str_width(chunk));
                }
            }
        }
    }
}

/// The document as a readable terminal report.
pub fn render_terminal(document: &Document, style: &TerminalStyle) -> String {
    let width = style.width.max(20);
    let run = &document.run;
    let paint = Paint { color: style.color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} · model {} ({}) · {} · baseline {} · output {}",
        paint.bold(&sanitize(&format!("{} {}", run.tool, run.version), false)),
        sanitize(&run.model.name, false),
        sanitize(&short_hash(&run.model.hash), false),
        sanitize(&config_name(&run.method, "method"), false),
        sanitize(&config_name(&run.baseline, "baseline"), false),
        match run.output {
            explainer_core::Output::Probability => "probability",
            explainer_core::Output::Logit => "logit",
        }
    );
    for (n, e) in document.explanations.iter().enumerate() {
        write_explanation(&mut out, n, e, document.explanations.len(), width, paint);
    }
    out
}

fn short_hash(hash: &str) -> String {
    match hash.char_indices().nth(19) {
        Some((cut, _)) => format!("{}…", &hash[..cut]),
        None => hash.to_owned(),
    }
}

/// ANSI styling that collapses to nothing without colour.
#[derive(Clone, Copy)]
struct Paint {
    color: bool,
}

impl Paint {
    fn bold(self, s: &str) -> String {
        if self.color { format!("{BOLD}{s}{RESET}") } else { s.to_owned() }
    }

    fn dim(self, s: &str) -> String {
        if self.color { format!("{DIM}{s}{RESET}") } else { s.to_owned() }
    }

    /// The escape sequence that starts a colour step's background (and a readable foreground).
    fn level_start(self, level: i32) -> String {
        if !self.color || level == 0 {
            return String::new();
        }
        let (r, g, b) = level_rgb(level);
        let fg = if level_dark(level) { "255;255;255" } else { "0;0;0" };
        format!("\x1b[48;2;{r};{g};{b}m\x1b[38;2;{fg}m")
    }

    fn level_end(self, level: i32) -> &'static str {
        if self.color && level != 0 { RESET } else { "" }
    }
}

fn write_explanation(out: &mut String, n: usize, e: &Explanation, total: usize, width: usize, paint: Paint) {
    let mut title = format!("text {}/{}", n + 1, total);
    if let Some(id) = &e.id {
        let _ = write!(title, " · id {}", sanitize(id, false));
    }
    if e.truncated {
        title.push_str(" · TRUNCATED");
    }
    let rule = "─".repeat(width.saturating_sub(str_width(&title) + 4).min(60));
    let _ = writeln!(out, "\n{}", paint.bold(&format!("── {title} {rule}")));

    // Predictions, highest score first.
    let mut predictions: Vec<_> = e.predictions.iter().collect();
    predictions.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.index.cmp(&b.index)));
    out.push_str("predictions:");
    let mut column = 12;
    for (k, p) in predictions.into_iter().enumerate() {
        let explained = e.targets.iter().any(|t| t.label_index == p.index);
        let item =
            format!("{} {}{}", sanitize(&p.label, false), num(p.score), if explained { " ●" } else { "" });
        let cols = str_width(&item) + 2;
        if column + cols > width {
            out.push_str("\n            ");
            column = 12;
        }
        out.push_str(if k == 0 { " " } else { "  " });
        out.push_str(&if explained { paint.bold(&item) } else { item });
        column += cols;
    }
    out.push_str(&paint.dim("   (● explained)"));
    out.push('\n');

    for w in &e.warnings {
        let _ = writeln!(out, "{} {}", paint.bold("warning:"), sanitize(w, false));
    }
    for line in super::window_lines(e) {
        let _ = writeln!(out, "{}", paint.dim(&sanitize(&line, false)));
    }
    for t in &e.targets {
        write_target(out, e, t, width, paint);
    }
    if e.targets.is_empty() {
        out.push_str("no label explained (the target rule picked none)\n");
    }
}

fn write_target(out: &mut String, e: &Explanation, t: &TargetReport, width: usize, paint: Paint) {
    let scale = max_abs(&t.word_attributions);
    let _ = writeln!(
        out,
        "\n{} {}",
        paint.bold(&format!("▶ {} (score {})", sanitize(&t.label, false), num(t.score))),
        paint.dim(&format!("label index {}", t.label_index))
    );
    let _ = writeln!(
        out,
        "  Σ attribution {} · F(x) {} · F(x₀) {} · F(x)−F(x₀) {} · delta {}{}",
        signed(t.attribution_total),
        num(t.f_input),
        num(t.f_baseline),
        signed(t.f_input - t.f_baseline),
        t.delta.map_or("n/a".to_owned(), signed),
        t.steps.map_or(String::new(), |s| format!(" · {s} steps"))
    );

    // The original text.
    let mut wrap = Wrapper::new(width);
    for piece in pieces(e) {
        match piece {
            Piece::Gap(s) => wrap.plain(&sanitize(s, true), "", ""),
            Piece::Unseen(s) => {
                if paint.color {
                    wrap.plain(&sanitize(s, true), DIM, RESET);
                } else {
                    wrap.atom("[…not seen: truncated]", 22);
                }
            }
            Piece::Word(i, s) => {
                let a = t.word_attributions.get(i).copied().unwrap_or(0.0);
                let body = sanitize(s, false).replace('\n', " ");
                if paint.color {
                    let l = level(a, scale);
                    wrap.atom(
                        &format!("{}{body}{}", paint.level_start(l), paint.level_end(l)),
                        str_width(&body),
                    );
                } else if scale > 0.0 && a.abs() >= MARK_SHARE * scale {
                    let shown = format!("[{body} {}]", signed(a));
                    let cols = str_width(&shown);
                    wrap.atom(&shown, cols);
                } else {
                    wrap.atom(&body, str_width(&body));
                }
            }
        }
    }
    out.push_str(wrap.out.trim_end());
    out.push('\n');

    // Legend.
    if paint.color {
        out.push_str("  legend: against ");
        out.push_str(&format!("−{} ", num(scale)));
        for l in (-LEVELS..=LEVELS).step_by(2) {
            let start = paint.level_start(l);
            if start.is_empty() {
                out.push_str("  ");
            } else {
                let _ = write!(out, "{start}  {RESET}");
            }
        }
        let _ = writeln!(out, " +{} for   (scale: largest |word attribution|)", num(scale));
    } else {
        let _ = writeln!(
            out,
            "  legend: [word +x] marks words with |attribution| ≥ {:.0}% of the largest ({}); + for, − against",
            MARK_SHARE * 100.0,
            num(scale)
        );
    }

    // Top words.
    let (pos, neg) = top_words(t, TOP);
    for (side, list) in [("for:    ", &pos), ("against:", &neg)] {
        let items: Vec<String> = list
            .iter()
            .filter_map(|&w| {
                let word = e.words.get(w)?;
                let a = t.word_attributions.get(w).copied().unwrap_or(0.0);
                let l = level(a, scale);
                Some(format!(
                    "{}{}{} {}",
                    paint.level_start(l),
                    sanitize(&word.text, false),
                    paint.level_end(l),
                    signed(a)
                ))
            })
            .collect();
        let _ = writeln!(
            out,
            "  top {side} {}",
            if items.is_empty() { "—".to_owned() } else { items.join(", ") }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_shows_controls() {
        assert_eq!(sanitize("a\u{1b}[2Jb", false), "a\\u{1b}[2Jb");
        assert_eq!(sanitize("x\u{202e}y", false), "x\\u{202e}y");
        assert_eq!(sanitize("a\nb", true), "a\nb");
        assert_eq!(sanitize("a\nb", false), "a\\u{a}b");
    }

    #[test]
    fn widths() {
        assert_eq!(str_width("abc"), 3);
        assert_eq!(str_width("日本"), 4);
        assert_eq!(str_width("e\u{301}"), 1);
        assert_eq!(str_width("🙂"), 2);
    }
}
