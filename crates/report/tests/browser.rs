//! The HTML report in a real browser: Debian's headless Chromium loads it from a file, and
//! we check the rendered DOM (labels, scores, words present; the hostile text's script and
//! event handler did NOT run) and a screenshot.
//!
//! The browser is `$EXPLAINER_CHROMIUM`, else `/usr/bin/chromium`; without either the tests
//! fail and say to run `scripts/chromium.sh`. Each browser run is killed after 60 s.
//! `EXPLAINER_REPORT_KEEP=<dir>` keeps the HTML, DOM dumps and screenshot there for a look.
#![allow(clippy::unwrap_used)]
#![allow(clippy::expect_used)]

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::*;
use explainer_report::{Document, render_html};

const TIMEOUT: Duration = Duration::from_secs(60);

fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("EXPLAINER_CHROMIUM") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "EXPLAINER_CHROMIUM={} does not exist; run scripts/chromium.sh to install Chromium",
            path.display()
        );
        return path;
    }
    let default = PathBuf::from("/usr/bin/chromium");
    assert!(
        default.is_file(),
        "no Chromium for the HTML report test: /usr/bin/chromium is missing and EXPLAINER_CHROMIUM is not set. \
         Run scripts/chromium.sh (it installs Debian's chromium package and prints its path)."
    );
    default
}

/// A fresh temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("explainer-report-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs headless Chromium on `page` with `extra` arguments; returns (stdout, stderr). Panics on
/// failure or after [`TIMEOUT`] (the browser is killed).
fn run_chromium(dir: &Path, page: &Path, extra: &[String]) -> (String, String) {
    let profile = dir.join(format!("profile-{}", extra.join("").len()));
    std::fs::create_dir_all(&profile).unwrap();
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(format!("file://{}", page.display()))
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", chromium().display()));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {TIMEOUT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (out, err) = (out_reader.join().unwrap(), err_reader.join().unwrap());
    assert!(status.success(), "chromium failed ({status}):\n{err}");
    (out, err)
}

fn keep(name: &str, from: &Path) {
    if let Some(dir) = std::env::var_os("EXPLAINER_REPORT_KEEP") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(from, dir.join(name)).unwrap();
    }
}

/// The sample explanation and the hostile one in one document (the hostile run's configs).
fn document() -> Document {
    let mut doc = hostile_document();
    doc.explanations.insert(0, sample_explanation());
    doc
}

#[test]
fn the_report_renders_and_hostile_text_does_not_run() {
    let dir = TempDir::new("dom");
    let page = dir.0.join("report.html");
    let doc = document();
    std::fs::write(&page, render_html(&doc)).unwrap();
    keep("report.html", &page);
    let (dom, log) = run_chromium(&dir.0, &page, &["--dump-dom".to_owned()]);
    std::fs::write(dir.0.join("dom.html"), &dom).unwrap();
    keep("dom.html", &dir.0.join("dom.html"));

    // The browser parsed our page: our title and sections are in the DOM.
    assert!(dom.contains("<title>Explanation report · name&lt;script&gt;"), "{dom}");
    assert!(dom.contains("id=\"text-1-label-1\"") && dom.contains("id=\"text-2-label-2\""));
    // Labels, scores and words of the sample text.
    for needle in ["Label “toxic”", "Label “insult”", "0.8808", "Café", "naïve", "日", "🙂", "Audit trail"]
    {
        assert!(dom.contains(needle), "{needle:?} missing from the rendered DOM");
    }
    // The hostile text is there as text...
    assert!(dom.contains("&lt;script&gt;document.title='PW'+'NED'&lt;/script&gt;"), "{dom}");
    // ... and neither its script nor its onerror handler ran, nor was any element created.
    assert!(!dom.contains("PWNED"), "the hostile script ran");
    assert!(!dom.contains("owned"), "the hostile event handler ran");
    assert!(!dom.to_lowercase().contains("<script"), "a script element exists");
    assert!(!dom.to_lowercase().contains("<img"), "an img element exists");
    // The style sheet's CSP hash is right (a wrong one makes Chromium log a violation).
    assert!(!log.contains("Content Security Policy"), "CSP violation:\n{log}");
}

#[test]
fn the_detection_works_on_an_unescaped_page() {
    // Control: the same hostile text pasted raw into a page without a policy DOES run, so
    // the absence of the markers above means something.
    let dir = TempDir::new("control");
    let page = dir.0.join("raw.html");
    std::fs::write(
        &page,
        format!("<!DOCTYPE html><html><head><title>raw</title></head><body><p>{HOSTILE}</p></body></html>"),
    )
    .unwrap();
    let (dom, _) = run_chromium(&dir.0, &page, &["--dump-dom".to_owned()]);
    assert!(dom.contains("<title>PWNED</title>"), "{dom}");
    assert!(dom.contains("data-x=\"owned\""), "{dom}");
}

#[test]
fn a_wrong_style_hash_is_reported_by_the_browser() {
    // Control for the CSP check above: break the style sheet after hashing.
    let dir = TempDir::new("csp");
    let page = dir.0.join("bad-hash.html");
    let html = render_html(&sample_document()).replacen("<style>", "<style>b{color:red}", 1);
    std::fs::write(&page, html).unwrap();
    let (_, log) = run_chromium(&dir.0, &page, &["--dump-dom".to_owned()]);
    assert!(log.contains("Content Security Policy"), "no CSP violation logged:\n{log}");
}

#[test]
fn the_report_screenshots_to_a_png() {
    let dir = TempDir::new("shot");
    let page = dir.0.join("report.html");
    std::fs::write(&page, render_html(&document())).unwrap();
    let png = dir.0.join("report.png");
    run_chromium(
        &dir.0,
        &page,
        &[
            format!("--screenshot={}", png.display()),
            "--window-size=1200,900".to_owned(),
            "--hide-scrollbars".to_owned(),
        ],
    );
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    keep("report.png", &png);
    assert!(bytes.len() > 10_000, "a {}-byte PNG is too small to show the report", bytes.len());
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    assert_eq!(&bytes[12..16], b"IHDR");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 900));
}
