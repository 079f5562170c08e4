//! The training loop on a tiny architecture and a slice of the corpus: it learns, and the same
//! options give the same bytes (the reproducibility the model cards promise).

use std::sync::Mutex;

use explainer_corpus::Task;
use explainer_train::{Architecture, TrainOptions, train};

/// `train` seeds libtorch's global generator: runs in one process must not overlap.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn tiny(task: Task) -> TrainOptions {
    TrainOptions {
        epochs: 3,
        lr: 3e-3,
        threads: 1,
        train_limit: Some(192),
        architecture: Architecture {
            hidden: 16,
            layers: 1,
            heads: 2,
            intermediate: 32,
            vocab: 400,
            max_positions: 512,
        },
        ..TrainOptions::scratch(task)
    }
}

#[test]
fn training_twice_gives_the_same_bytes_and_the_loss_falls() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let base = std::env::temp_dir().join(format!("explainer-train-{}", std::process::id()));
    let (a, b) = (base.join("a"), base.join("b"));
    let options = tiny(Task::Compliance);
    let ra = train(&options, &a, &mut |_| {}).unwrap();
    let rb = train(&options, &b, &mut |_| {}).unwrap();
    for file in ["model.safetensors", "tokenizer.json", "vocab.txt", "config.json"] {
        assert_eq!(
            std::fs::read(a.join(file)).unwrap(),
            std::fs::read(b.join(file)).unwrap(),
            "{file} differs"
        );
    }
    assert_eq!(ra.epoch_loss, rb.epoch_loss);
    assert!(ra.epoch_loss[2] < ra.epoch_loss[0], "{:?}", ra.epoch_loss);
    assert_eq!(ra.steps, 3 * 192 / 32);
    assert_eq!(ra.created.len(), 5 + 16 + 4, "every parameter created fresh: {:?}", ra.created);
    // The folder is a checkpoint like any other: loaded back, it scores the test split.
    assert_eq!(
        ra.test.quality.texts,
        explainer_corpus::split_size(Task::Compliance, explainer_corpus::Split::Test)
    );
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_multi_class_folder_says_so() {
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("explainer-train-mc-{}", std::process::id()));
    let options = TrainOptions { epochs: 1, ..tiny(Task::BusinessLine) };
    train(&options, &dir, &mut |_| {}).unwrap();
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["problem_type"], "single_label_classification");
    assert_eq!(config["id2label"]["3"], "Asset Management & Custody Banks");
    std::fs::remove_dir_all(&dir).unwrap();
}
