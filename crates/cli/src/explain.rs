//! `explainer explain`: one text → a report (terminal, JSON, HTML or Markdown).

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use explainer_report::{Document, TerminalStyle, render_html, render_json, render_markdown, render_terminal};

use crate::args::{ExplainArgs, Format};
use crate::output::{terminal_width, write_atomic};
use explainer_pipeline::Setup;
use explainer_pipeline::run_record::run_record;

/// The text to explain: the argument, `--file`, or standard input for `-`.
fn read_text(args: &ExplainArgs) -> Result<String> {
    let text = match (&args.text, &args.file) {
        (_, Some(path)) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        (Some(t), None) if t == "-" => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                eprintln!("explainer: reading the text from standard input (end with Ctrl-D)");
            }
            let mut text = String::new();
            stdin.lock().read_to_string(&mut text).context("cannot read the text from standard input")?;
            text
        }
        (Some(t), None) => t.clone(),
        (None, None) => {
            bail!("no text to explain: give it as an argument, with --file FILE, or - to read standard input")
        }
    };
    if text.trim().is_empty() {
        bail!("the text is empty: there is nothing to explain");
    }
    Ok(text)
}

/// Runs `explain`.
pub fn run(args: ExplainArgs) -> Result<()> {
    let text = read_text(&args)?;
    let device = args.device.device()?;
    let setup = match &args.spec {
        Some(spec) => Setup::from_spec_on(spec, args.entry.as_deref(), device)?,
        None => crate::options::setup(args.model.as_deref(), &args.method, &args.target, device)?,
    };
    let long_text = args.long_text.setting(setup.long_text)?;
    let explained = explainer_pipeline::long_text::explain_text(&setup, &text, &long_text)?;
    let explanation = explained.explanation(None, &text)?;
    let attribution = &explained.attribution;
    let run = run_record(&setup, &attribution.layer)?;
    let document = Document::new(run, vec![explanation]);
    let rendered = match args.format {
        Format::Text => {
            let style =
                TerminalStyle { color: args.color.use_color(args.output.is_some()), width: terminal_width() };
            render_terminal(&document, &style)
        }
        Format::Json => render_json(&document),
        Format::Html => render_html(&document),
        Format::Markdown => render_markdown(&document),
    };
    match &args.output {
        Some(path) => write_atomic(path, rendered.as_bytes()),
        None => crate::output::print_stdout(&rendered),
    }
}
