//! `explainer-corpus`: writes the synthetic corpus (both tasks, all splits, samples) as JSONL.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use explainer_corpus::{CORPUS_VERSION, DEFAULT_SEED, Split, Task, generate, write_jsonl};

/// Writes DIR/{compliance,business-line}/{train,dev,test,sample}.jsonl.
#[derive(Parser, Debug)]
#[command(name = "explainer-corpus", version, about)]
struct Args {
    /// Output folder.
    #[arg(long, default_value = "data")]
    out: PathBuf,
    /// Corpus seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
}

/// How many test messages go into `sample.jsonl`.
const SAMPLE: usize = 20;

fn run(args: &Args) -> std::io::Result<()> {
    println!("{CORPUS_VERSION}, seed {}", args.seed);
    for task in Task::ALL {
        let dir = args.out.join(task.name());
        std::fs::create_dir_all(&dir)?;
        for split in Split::ALL {
            let messages = generate(task, split, args.seed);
            let path = dir.join(format!("{}.jsonl", split.name()));
            write_jsonl(&path, &messages)?;
            println!("wrote {} ({} messages)", path.display(), messages.len());
            if split == Split::Test {
                let path = dir.join("sample.jsonl");
                let sample = &messages[..SAMPLE.min(messages.len())];
                write_jsonl(&path, sample)?;
                println!("wrote {} ({} messages)", path.display(), sample.len());
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("explainer-corpus: {e}");
            ExitCode::FAILURE
        }
    }
}
