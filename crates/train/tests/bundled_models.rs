//! The committed bundled models: their cards' figures are what the models really score on the
//! committed test splits, transformers computes the same probabilities, and a damaged folder
//! is named, not silently used.

use std::path::{Path, PathBuf};

use explainer_core::Model;
use explainer_train::card::{PROBES, card_figures, figures};
use explainer_train::evaluate;
use explainer_transformers::HfClassifier;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// (model folder, corpus task).
const BUNDLED: [(&str, &str); 2] =
    [("compliance-minibert", "compliance"), ("business-line-minibert", "business-line")];

fn load(name: &str) -> HfClassifier {
    HfClassifier::load(&root().join("models").join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn cards_state_the_figures_a_re_evaluation_gives() {
    for (name, task) in BUNDLED {
        let model = load(name);
        let messages =
            explainer_corpus::read_jsonl(&root().join("data").join(task).join("test.jsonl")).unwrap();
        let evaluation = evaluate(&model, &messages).unwrap();
        let probes = (task == "compliance").then(|| {
            evaluate(&model, &explainer_corpus::read_jsonl(&root().join("data").join(PROBES)).unwrap())
                .unwrap()
        });
        let card = std::fs::read_to_string(root().join("models").join(name).join("README.md")).unwrap();
        let stated = figures(&card).unwrap_or_else(|| panic!("{name}: the card has no figures block"));
        assert_eq!(
            stated,
            card_figures(&evaluation, probes.as_ref()).trim(),
            "{name}: the card's figures differ from a re-evaluation on data/{task}/test.jsonl; \
             rerun the training command in models/{name}/README.md"
        );
        // The quality bar, on the synthetic test split.
        assert!(evaluation.quality.micro_f1() >= 0.95, "{name}: micro F1 {}", evaluation.quality.micro_f1());
    }
}

#[test]
fn the_default_model_is_multi_label_and_the_other_multi_class() {
    let compliance = load("compliance-minibert");
    assert_eq!(compliance.info().problem, explainer_core::ProblemType::MultiLabel);
    assert_eq!(compliance.info().labels, explainer_train::task_labels(explainer_corpus::Task::Compliance));
    let business = load("business-line-minibert");
    assert_eq!(business.info().problem, explainer_core::ProblemType::MultiClass);
    assert_eq!(business.info().labels, explainer_train::task_labels(explainer_corpus::Task::BusinessLine));
}

/// The reference run of `scripts/fixtures/make_bundled_model_fixtures.py` (transformers, default
/// attention, f32).
#[test]
fn transformers_gives_the_same_ids_and_probabilities() {
    for (name, _) in BUNDLED {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format!("transformers-{name}.json"));
        let fixture: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let model = load(name);
        let labels: Vec<String> = serde_json::from_value(fixture["labels"].clone()).unwrap();
        assert_eq!(labels, model.info().labels, "{name}");
        let mut worst = 0f64;
        for case in fixture["cases"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let ids: Vec<i64> = serde_json::from_value(case["ids"].clone()).unwrap();
            let encoding = model.encoder().encode(text).unwrap();
            assert_eq!(encoding.ids, ids, "{name}: token ids of {text:?}");
            let expected: Vec<f64> = serde_json::from_value(case["probabilities"].clone()).unwrap();
            let logits: Vec<f64> = serde_json::from_value(case["logits"].clone()).unwrap();
            let prediction = model.predictions(&[&encoding]).unwrap().remove(0);
            for ((p, q), z) in prediction.scores.iter().zip(&expected).zip(&logits) {
                // Both sides compute in f32 with different summation orders (sdpa, fused
                // kernels): each logit carries a rounding error of a few ulps of the
                // magnitudes summed into it. A probability moves by at most |Δlogit|/4
                // (sigmoid) or |Δlogit|/2 (softmax); 64 ulps of (1 + |logit|) bounds Δlogit
                // with room for the depth of the network.
                let bound = 64.0 * f32::EPSILON as f64 * (1.0 + z.abs());
                worst = worst.max((p - q).abs() / bound);
                assert!(
                    (p - q).abs() <= bound,
                    "{name}: {text:?}: {p} vs transformers {q} (bound {bound:.2e})"
                );
            }
        }
        eprintln!("{name}: worst probability gap {worst:.3} of its bound");
    }
}

#[test]
fn an_altered_bundled_file_is_named_with_how_to_restore_it() {
    let tmp = std::env::temp_dir().join(format!("explainer-bundled-{}", std::process::id()));
    let copy = tmp.join("compliance-minibert");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(root().join("models/compliance-minibert")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    assert!(HfClassifier::load(&copy).is_ok());
    // One flipped byte deep in the weights: still a valid safetensors file, different numbers.
    let weights = copy.join("model.safetensors");
    let mut bytes = std::fs::read(&weights).unwrap();
    let at = bytes.len() - 7;
    bytes[at] ^= 0x40;
    std::fs::write(&weights, &bytes).unwrap();
    let message = HfClassifier::load(&copy).unwrap_err().to_string();
    assert!(message.contains("model.safetensors") && message.contains("SHA256SUMS"), "{message}");
    assert!(message.contains("restore"), "{message}");
    std::fs::remove_file(&weights).unwrap();
    let message = HfClassifier::load(&copy).unwrap_err().to_string();
    assert!(message.contains("model.safetensors") && message.contains("cannot read"), "{message}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
