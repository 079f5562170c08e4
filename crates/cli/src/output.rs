//! Writing results: atomic files, colour and width decisions, timestamps.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;

/// Writes `text` to standard output. A reader that went away (`explainer methods | head`) ends
/// the output quietly, as Unix tools do; any other write error is reported.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset or empty.
    Auto,
    /// Always colour (ANSI escapes), even into a file or pipe.
    Always,
    /// Never colour.
    Never,
}

impl ColorChoice {
    /// Whether to colour output written to stdout (`to_file`: it goes to `--output` instead).
    pub fn use_color(self, to_file: bool) -> bool {
        self.decide(to_file, std::env::var_os("NO_COLOR").as_deref(), std::io::stdout().is_terminal())
    }

    /// The decision, given the environment: `NO_COLOR`'s value and whether stdout is a terminal.
    fn decide(self, to_file: bool, no_color: Option<&std::ffi::OsStr>, stdout_is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            // https://no-color.org: a NO_COLOR that is present and not empty disables colour.
            ColorChoice::Auto => !to_file && stdout_is_terminal && no_color.is_none_or(|v| v.is_empty()),
        }
    }
}

/// The width to lay terminal output out in: the terminal's, else `COLUMNS`, else 100.
pub fn terminal_width() -> usize {
    if let Some((_, cols)) = console::Term::stdout().size_checked() {
        return usize::from(cols).max(40);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c >= 40)
        .unwrap_or(100)
}

/// Writes `contents` to `path` atomically: into a temporary file in the same folder, synced,
/// then renamed over `path`. A reader never sees a half-written file; on failure `path` is
/// untouched.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let what = || format!("cannot write {}", path.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", path.file_name().and_then(|n| n.to_str()).unwrap_or("explainer")))
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(what)?;
    tmp.write_all(contents).with_context(what)?;
    tmp.as_file().sync_all().with_context(what)?;
    tmp.persist(path).map_err(|e| e.error).with_context(what)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::ColorChoice;

    #[test]
    fn colour_follows_the_terminal_no_color_and_the_flag() {
        let auto = ColorChoice::Auto;
        assert!(auto.decide(false, None, true));
        assert!(auto.decide(false, Some(OsStr::new("")), true), "an empty NO_COLOR does not count");
        assert!(!auto.decide(false, Some(OsStr::new("1")), true));
        assert!(!auto.decide(false, None, false), "not a terminal");
        assert!(!auto.decide(true, None, true), "into a file");
        assert!(ColorChoice::Always.decide(true, Some(OsStr::new("1")), false));
        assert!(!ColorChoice::Never.decide(false, None, true));
    }
}
