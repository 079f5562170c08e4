//! The corpus contract: determinism, valid rationales, disjoint splits, distributions, I/O,
//! and that the committed data is what the generator writes.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use explainer_corpus::{
    BUSINESS_LINES, COMPLIANCE_LABELS, CorpusError, DEFAULT_SEED, Message, Split, Task, generate, read_jsonl,
    split_size, write_jsonl,
};

/// Every split of both tasks with the default seed, generated once.
fn corpus() -> &'static Vec<(Task, Split, Vec<Message>)> {
    static CORPUS: OnceLock<Vec<(Task, Split, Vec<Message>)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut v = Vec::new();
        for task in Task::ALL {
            for split in Split::ALL {
                v.push((task, split, generate(task, split, DEFAULT_SEED)));
            }
        }
        v
    })
}

fn split(task: Task, split: Split) -> &'static [Message] {
    corpus().iter().find(|(t, s, _)| *t == task && *s == split).map(|(_, _, m)| m.as_slice()).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corpus-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn jsonl_bytes(name: &str, messages: &[Message]) -> Vec<u8> {
    let path = tmp(name);
    write_jsonl(&path, messages).unwrap();
    std::fs::read(&path).unwrap()
}

fn share(messages: &[Message], pred: impl Fn(&Message) -> bool) -> f64 {
    messages.iter().filter(|m| pred(m)).count() as f64 / messages.len() as f64
}

#[test]
fn generation_is_deterministic_and_seeded() {
    for task in Task::ALL {
        let a = jsonl_bytes("det-a.jsonl", split(task, Split::Test));
        let b = jsonl_bytes("det-b.jsonl", &generate(task, Split::Test, DEFAULT_SEED));
        assert!(a == b, "{}: two generations differ", task.name());
        let other = generate(task, Split::Test, DEFAULT_SEED + 1);
        let texts: HashSet<&str> = split(task, Split::Test).iter().map(|m| m.text.as_str()).collect();
        let same = other.iter().filter(|m| texts.contains(m.text.as_str())).count();
        assert!(same < other.len() / 10, "{}: another seed gives {same} identical texts", task.name());
    }
}

#[test]
fn sizes_and_ids() {
    for (task, s, messages) in corpus() {
        assert_eq!(messages.len(), split_size(*task, *s));
        for (i, m) in messages.iter().enumerate() {
            assert_eq!(m.id, format!("{}-{}-{i:05}", task.name(), s.name()));
        }
    }
}

#[test]
fn rationales_are_valid_spans_of_present_labels() {
    for (task, _, messages) in corpus() {
        let names = task.labels();
        for m in messages {
            let chars: Vec<char> = m.text.chars().collect();
            let ids: Vec<usize> = m
                .labels
                .iter()
                .map(|l| {
                    names.iter().position(|n| n == l).unwrap_or_else(|| panic!("{}: unknown label {l}", m.id))
                })
                .collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "{}: labels not in id order", m.id);
            if !task.is_multi_label() {
                assert_eq!(m.labels.len(), 1, "{}", m.id);
                assert!(!m.tags.iter().any(|t| t == "multi" || t == "negation"), "{}", m.id);
            }
            let keys: Vec<&String> = m.rationales.keys().collect();
            let mut labels: Vec<&String> = m.labels.iter().collect();
            labels.sort();
            assert_eq!(keys, labels, "{}: one rationale entry per present label", m.id);
            let mut all: Vec<[usize; 2]> = Vec::new();
            for (label, spans) in &m.rationales {
                assert!(!spans.is_empty(), "{}: no span for {label}", m.id);
                assert!(spans.windows(2).all(|w| w[0][1] <= w[1][0]), "{}: spans unsorted/overlapping", m.id);
                for &[a, b] in spans {
                    assert!(a < b && b <= chars.len(), "{}: span {a}..{b} outside the text", m.id);
                    assert!(
                        !chars[a].is_whitespace() && !chars[b - 1].is_whitespace(),
                        "{}: untrimmed span",
                        m.id
                    );
                    all.push([a, b]);
                }
            }
            all.sort_unstable();
            assert!(
                all.windows(2).all(|w| w[0][1] <= w[1][0]),
                "{}: spans of different labels overlap",
                m.id
            );
            if m.labels.is_empty() {
                assert!(m.rationales.is_empty(), "{}", m.id);
            }
            assert!(["chat", "email", "trade_note"].contains(&m.channel.as_str()), "{}", m.id);
            let words = m.text.split_whitespace().count();
            if m.tags.iter().any(|t| t == "long") {
                assert!((120..=300).contains(&words) && chars.len() <= 2000, "{}: {words} words", m.id);
            } else {
                assert!((6..=80).contains(&words), "{}: {words} words", m.id);
            }
            if task.is_multi_label() {
                assert_eq!(m.tags.iter().any(|t| t == "multi"), m.labels.len() >= 2, "{}", m.id);
                if m.tags.iter().any(|t| t == "negation") && m.labels.is_empty() {
                    assert!(m.rationales.is_empty());
                }
            } else {
                let n: usize = m.rationales.values().map(Vec::len).sum();
                assert!((1..=3).contains(&n), "{}: {n} cue phrases", m.id);
            }
        }
    }
}

#[test]
fn splits_are_disjoint_and_duplicate_free() {
    for task in Task::ALL {
        let mut seen: HashSet<&str> = HashSet::new();
        for s in Split::ALL {
            let here: HashSet<&str> = split(task, s).iter().map(|m| m.text.as_str()).collect();
            assert_eq!(here.len(), split(task, s).len(), "{} {}: duplicate texts", task.name(), s.name());
            let overlap = here.intersection(&seen).count();
            assert_eq!(overlap, 0, "{} {}: {overlap} texts also in an earlier split", task.name(), s.name());
            seen.extend(here);
        }
    }
}

#[test]
fn compliance_distribution() {
    let test = split(Task::Compliance, Split::Test);
    for label in COMPLIANCE_LABELS {
        let p = share(test, |m| m.labels.iter().any(|l| l == label));
        assert!(p >= 0.10, "{label}: {p:.3}");
    }
    assert!(share(test, |m| m.labels.is_empty()) >= 0.20);
    assert!(share(test, |m| m.labels.len() >= 2) >= 0.15);
    let tag = |t: &str| share(test, |m| m.tags.iter().any(|x| x == t));
    assert!(tag("distractor") >= 0.05, "distractor {}", tag("distractor"));
    assert!(tag("negation") >= 0.05, "negation {}", tag("negation"));
    assert!(tag("long") >= 0.04, "long {}", tag("long"));
    for channel in ["chat", "email", "trade_note"] {
        assert!(share(test, |m| m.channel == channel) >= 0.10, "{channel}");
    }
}

#[test]
fn business_line_distribution() {
    let test = split(Task::BusinessLine, Split::Test);
    for line in BUSINESS_LINES {
        let p = share(test, |m| m.labels == [line]);
        assert!((0.07..=0.13).contains(&p), "{line}: {p:.3}");
    }
    assert!(share(test, |m| m.tags.iter().any(|t| t == "distractor")) >= 0.05);
    assert!(share(test, |m| m.tags.iter().any(|t| t == "long")) >= 0.03);
}

#[test]
fn jsonl_round_trip_and_errors() {
    for task in Task::ALL {
        let messages = split(task, Split::Dev);
        let path = tmp(&format!("round-trip-{}.jsonl", task.name()));
        write_jsonl(&path, messages).unwrap();
        assert_eq!(read_jsonl(&path).unwrap(), messages);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n') && !text.contains('\r'));
        assert!(text.lines().next().unwrap().starts_with("{\"id\":"));
    }
    let path = tmp("broken.jsonl");
    let good = serde_json::to_string(&split(Task::Compliance, Split::Test)[0]).unwrap();
    std::fs::write(&path, format!("{good}\n{good}\n{{\"id\": \"x\", \"text\": \n")).unwrap();
    let err = read_jsonl(&path).unwrap_err();
    assert!(matches!(err, CorpusError::Parse { line: 3, .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("broken.jsonl") && msg.contains(":3:"), "{msg}");
    let missing = read_jsonl(&tmp("no-such-file.jsonl")).unwrap_err();
    assert!(missing.to_string().contains("no-such-file.jsonl"));
}

#[test]
fn committed_data_matches_the_generator() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    for task in Task::ALL {
        let test = split(task, Split::Test);
        for (file, messages) in [("test.jsonl", test), ("sample.jsonl", &test[..20])] {
            let path = data.join(task.name()).join(file);
            let Ok(committed) = std::fs::read(&path) else { continue };
            let fresh = jsonl_bytes(&format!("committed-{}-{file}", task.name()), messages);
            assert!(
                committed == fresh,
                "{} differs from the generator's output; rerun `cargo run -p explainer-corpus -- --out data` \
                 from the repo root and commit the result",
                path.display()
            );
        }
    }
}
