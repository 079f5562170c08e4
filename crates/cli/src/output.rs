//! Writing results: atomic files, colour and width decisions, timestamps.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::ValueEnum;

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

/// The current time as RFC 3339 UTC with seconds, e.g. `2026-11-24T12:06:38Z`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    rfc3339(secs)
}

/// Seconds since the Unix epoch as RFC 3339 UTC.
pub fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::{ColorChoice, rfc3339};

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

    #[test]
    fn rfc3339_matches_known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // `date -u -d @951782400` (a leap day) and `date -u -d @1795000000`.
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_000_000), "2026-11-18T11:06:40Z");
        assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
