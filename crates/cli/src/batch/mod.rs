//! `explainer batch`: many texts from JSONL or CSV, one JSONL [`Record`] per text, streamed.
//!
//! The input is read in windows of `--window` records; each window's texts are sorted by
//! token length and given to the method in groups of `--batch-size`, and each finished
//! record is written at once (one write + flush per line). Output lines are therefore in
//! window order, not exactly input order; every line carries its id. `--resume` keys on
//! ids, so it is correct whatever order a killed run wrote its lines in.
//!
//! Errors that would hit every record (an unknown layer, label or option, a model that lacks
//! a capability, a missing corpus file) stop the run; errors of one record (an empty text,
//! a text the method cannot explain) are reported with the record's line and id, counted,
//! and skipped (or stop the run with `--strict`).

pub mod input;
pub mod output;
pub mod shard;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, IsTerminal};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use explainer_core::{Attribution, Encoding, Prediction};
use explainer_report::{Explanation, Record, Run, render_record};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use self::input::{Fields, InputFormat, InputRecord, Item, Reader};
use self::output::{Resumed, Sink};
use crate::args::BatchArgs;
use crate::exit;
use explainer_pipeline::Setup;
use explainer_pipeline::long_text::{self, LongText, LongTextMode};
use explainer_pipeline::run_record::run_record;
use explainer_report::LongTextReport;

/// Counts for the summary.
#[derive(Debug, Default)]
struct Stats {
    explained: u64,
    resumed: u64,
    failed: u64,
    malformed: u64,
    other_shards: u64,
    duplicates: u64,
}

/// The running state of a batch: set-up, output, progress, counts.
struct Batch<'a> {
    setup: &'a Setup,
    sink: Sink,
    run: Option<Run>,
    progress: ProgressBar,
    stats: Stats,
    strict: bool,
    batch_size: usize,
    long_text: LongText,
}

/// Runs `batch`; returns the exit code ([`exit::PARTIAL`] when records failed or lines were
/// malformed).
pub fn run(args: BatchArgs) -> Result<u8> {
    let started = Instant::now();
    let device = args.device.device()?;
    let setup = match &args.spec {
        Some(spec) => Setup::from_spec_on(spec, args.entry.as_deref(), device)?,
        None => crate::options::setup(args.model.as_deref(), &args.method, &args.target, device)?,
    };
    let input_path = args.input.as_deref().filter(|p| *p != Path::new("-"));
    let format =
        args.format.unwrap_or_else(|| input_path.map(InputFormat::from_path).unwrap_or(InputFormat::Jsonl));
    let source: Box<dyn BufRead> = match input_path {
        Some(path) => Box::new(BufReader::new(
            std::fs::File::open(path)
                .with_context(|| format!("cannot open the input file {}", path.display()))?,
        )),
        None => {
            if std::io::stdin().is_terminal() {
                eprintln!(
                    "explainer: reading {} records from standard input (end with Ctrl-D)",
                    format.name()
                );
            }
            Box::new(BufReader::new(std::io::stdin()))
        }
    };
    if let (Some(input), Some(output)) = (input_path, args.output.as_deref()) {
        if let (Ok(a), Ok(b)) = (input.canonicalize(), output.canonicalize()) {
            if a == b {
                bail!("the output file {} is the input file", output.display());
            }
        }
    }
    let fields = Fields { id: args.id_field.clone(), text: args.text_field.clone() };
    let mut reader = Reader::new(source, format, fields)?;
    let (sink, resumed) = match &args.output {
        Some(path) => output::open(path, args.resume, args.overwrite)?,
        None => (Sink::Stdout(std::io::stdout()), Resumed::default()),
    };
    if let Some(path) = &args.output {
        if resumed.torn_bytes > 0 {
            eprintln!(
                "explainer: cut off a torn last line ({} bytes) of {} left by an interrupted run",
                resumed.torn_bytes,
                path.display()
            );
        }
        if args.resume {
            eprintln!("explainer: resuming: {} records already in {}", resumed.lines, path.display());
        }
    }
    let progress = progress_bar(input_path, format, args.shard);
    let mut batch = Batch {
        setup: &setup,
        sink,
        run: None,
        progress,
        stats: Stats::default(),
        strict: args.strict,
        batch_size: args.batch_size as usize,
        long_text: args.long_text.setting(setup.long_text)?,
    };
    let mut seen: HashSet<String> = HashSet::new();
    let window_size = args.window as usize;
    let mut done = false;
    while !done {
        let mut window: Vec<InputRecord> = Vec::with_capacity(window_size);
        while window.len() < window_size {
            let Some(item) = reader.next_item()? else {
                done = true;
                break;
            };
            if args.shard.is_some_and(|s| !s.owns(item.index())) {
                batch.stats.other_shards += 1;
                continue;
            }
            match item {
                Item::Malformed { line, problem, .. } => {
                    batch.stats.malformed += 1;
                    batch.progress.inc(1);
                    if batch.strict {
                        // The records read before the bad line are still explained and written.
                        batch.window(std::mem::take(&mut window))?;
                        bail!("line {line}: {problem} (stopped by --strict)");
                    }
                    batch.warn(&format!("line {line}: {problem}; skipped"));
                }
                Item::Record(record) => {
                    if resumed.done.contains(&record.id) {
                        batch.stats.resumed += 1;
                        batch.progress.inc(1);
                        continue;
                    }
                    if !seen.insert(record.id.clone()) {
                        batch.stats.duplicates += 1;
                        batch.warn(&format!(
                            "line {}: id {:?} was seen before; both records are explained, but ids should be unique \
                             for --resume",
                            record.line, record.id
                        ));
                    }
                    window.push(record);
                }
            }
        }
        batch.window(window)?;
    }
    batch.sink.finish()?;
    batch.progress.finish_and_clear();
    let stats = &batch.stats;
    let elapsed = started.elapsed().as_secs_f64();
    let mut summary = format!(
        "explainer: batch: {} explained, {} skipped as already done, {} failed, {} malformed",
        stats.explained, stats.resumed, stats.failed, stats.malformed
    );
    if let Some(shard) = args.shard {
        summary.push_str(&format!(", {} left to other shards (shard {shard})", stats.other_shards));
    }
    if stats.duplicates > 0 {
        summary.push_str(&format!(", {} duplicate ids", stats.duplicates));
    }
    let rate = if elapsed > 0.0 { stats.explained as f64 / elapsed } else { 0.0 };
    summary.push_str(&format!("; {elapsed:.1} s, {rate:.2} records/s"));
    eprintln!("{summary}");
    Ok(if stats.failed > 0 || stats.malformed > 0 { exit::PARTIAL } else { exit::OK })
}

/// A progress bar with rate and ETA on stderr, or a hidden one when stderr is not a terminal.
fn progress_bar(input: Option<&Path>, format: InputFormat, shard: Option<shard::Shard>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let total = input.and_then(|p| estimate_records(p, format)).map(|total| match shard {
        Some(s) => (total + s.count - 1 - s.index) / s.count,
        None => total,
    });
    let bar = match total {
        Some(total) => {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} records  {per_sec}  elapsed {elapsed}  ETA {eta}",
            ) {
                bar.set_style(style);
            }
            bar
        }
        None => {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} {pos} records  {per_sec}  elapsed {elapsed}")
            {
                bar.set_style(style);
            }
            bar
        }
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The number of records in an input file, counted by lines (CSV: minus the header; quoted
/// fields spanning lines make it an over-estimate): for the progress bar only.
fn estimate_records(path: &Path, format: InputFormat) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    let mut count = 0u64;
    for line in BufReader::new(file).split(b'\n') {
        if !line.ok()?.iter().all(u8::is_ascii_whitespace) {
            count += 1;
        }
    }
    Some(match format {
        InputFormat::Jsonl => count,
        InputFormat::Csv => count.saturating_sub(1),
    })
}

/// Whether an error would hit every record alike (a configuration problem): such errors
/// stop the run instead of failing records one by one.
fn is_config_error(e: &explainer_core::Error) -> bool {
    use explainer_core::Error as E;
    matches!(
        e,
        E::UnknownName { .. }
            | E::UnknownLabel { .. }
            | E::LabelIndexOutOfRange { .. }
            | E::MissingCapability { .. }
            | E::InvalidConfig(_)
            | E::File { .. }
    )
}

impl Batch<'_> {
    /// Prints a message on stderr without tearing the progress bar.
    fn warn(&self, message: &str) {
        self.progress.suspend(|| eprintln!("explainer: {message}"));
    }

    /// A record that cannot be explained: reported and counted, or the end with `--strict`.
    fn fail(&mut self, record: &InputRecord, problem: &str) -> Result<()> {
        self.stats.failed += 1;
        self.progress.inc(1);
        let message = format!("line {} (id {:?}): {problem}", record.line, record.id);
        if self.strict {
            bail!("{message} (stopped by --strict)");
        }
        self.warn(&format!("{message}; skipped"));
        Ok(())
    }

    /// Explains one window: encodes, sorts by length, explains in groups, writes each record.
    fn window(&mut self, records: Vec<InputRecord>) -> Result<()> {
        let encoder = self.setup.model.encoder();
        let mut ready: Vec<(InputRecord, Encoding)> = Vec::with_capacity(records.len());
        for record in records {
            if record.text.trim().is_empty() {
                self.fail(&record, "the text is empty")?;
                continue;
            }
            match encoder.encode(&record.text) {
                Ok(encoding) if encoding.truncated && self.long_text.mode == LongTextMode::Windows => {
                    // A long text: its windows are explained together, on their own.
                    let explained = encoder.encode_untruncated(&record.text).and_then(|doc| {
                        long_text::explain_windows(self.setup, &record.text, doc, self.long_text.stride)
                    });
                    match explained {
                        Ok(x) => {
                            self.finish(&record, &x.attribution, Some(x.prediction), x.windows.as_ref())?
                        }
                        Err(e) if is_config_error(&e) => return Err(e.into()),
                        Err(e) => self.fail(&record, &e.to_string())?,
                    }
                }
                Ok(encoding) => ready.push((record, encoding)),
                Err(e) => self.fail(&record, &e.to_string())?,
            }
        }
        ready.sort_by_key(|(_, e)| e.len());
        let mut pending = ready.into_iter().peekable();
        while pending.peek().is_some() {
            let group: Vec<(InputRecord, Encoding)> = pending.by_ref().take(self.batch_size).collect();
            let encodings: Vec<Encoding> = group.iter().map(|(_, e)| e.clone()).collect();
            match self.setup.explain(&encodings) {
                Ok(attributions) if attributions.len() == group.len() => {
                    // Every label's score for the whole group from one forward pass.
                    let encodings: Vec<&Encoding> = attributions.iter().map(|a| &a.encoding).collect();
                    let predictions = self.setup.model.predictions(&encodings)?;
                    for (((record, _), attribution), prediction) in
                        group.iter().zip(&attributions).zip(predictions)
                    {
                        self.finish(record, attribution, Some(prediction), None)?;
                    }
                }
                Ok(_) => bail!(
                    "internal error (please report): the method returned the wrong number of attributions"
                ),
                Err(e) if is_config_error(&e) => return Err(e.into()),
                Err(e) if group.len() == 1 => self.fail(&group[0].0, &e.to_string())?,
                Err(_) => {
                    // Find the record(s) at fault: explain the group's texts one at a time.
                    for (record, encoding) in &group {
                        match self.setup.explain(std::slice::from_ref(encoding)) {
                            Ok(attributions) => match attributions.first() {
                                Some(a) => self.finish(record, a, None, None)?,
                                None => self.fail(record, "the method returned no attribution")?,
                            },
                            Err(e) if is_config_error(&e) => return Err(e.into()),
                            Err(e) => self.fail(record, &e.to_string())?,
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Builds a finished record's line and writes it; `prediction` when the caller has it,
    /// else computed from the attribution's encoding (no second tokenisation).
    fn finish(
        &mut self,
        record: &InputRecord,
        attribution: &Attribution,
        prediction: Option<Prediction>,
        windows: Option<&LongTextReport>,
    ) -> Result<()> {
        let built = (|| -> Result<String> {
            let prediction = match prediction {
                Some(p) => p,
                None => self
                    .setup
                    .model
                    .predictions(&[&attribution.encoding])?
                    .pop()
                    .context("internal error (please report): no prediction")?,
            };
            let mut explanation =
                Explanation::new(Some(record.id.clone()), &record.text, &prediction, attribution)?;
            if let Some(w) = windows {
                explanation = explanation.with_windows(w.clone())?;
            }
            let run = match &mut self.run {
                Some(run) => run,
                slot => slot.insert(run_record(self.setup, &attribution.layer)?),
            };
            if run.layer != attribution.layer {
                run.layer.clone_from(&attribution.layer);
            }
            Ok(render_record(&Record::new(record.id.clone(), run, explanation)))
        })();
        match built {
            Ok(line) => {
                self.sink.write_line(&line)?;
                self.stats.explained += 1;
                self.progress.inc(1);
                Ok(())
            }
            Err(e) => self.fail(record, &format!("{e:#}")),
        }
    }
}
