//! `partition-shap` against the `shap` library's `PartitionExplainer` with its `Text` masker
//! on Hugging Face fixture checkpoints (references written offline by
//! scripts/fixtures/make_shap_partition_fixtures.py; format in tests/fixtures/README.md):
//! the hierarchy (shap's `partition_tree`, rule by rule on hand-written token strings and on the
//! fixtures' texts), the exact Owen values (every node expanded) and shap's budgeted
//! approximation (`max_evals` 40), every label, within the derived bound of `allowed`.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::{Path, PathBuf};

use explainer_baselines as _;
use explainer_core::{
    Attribution, Baseline, Encoding, Method, Model, Output, Reference, Request, Target, explain, registry,
};
use explainer_perturbation::{PartitionShap, partition_tree, text_tokens};
use explainer_transformers::HfClassifier;
use serde_json::Value;

fn fixtures() -> Vec<(HfClassifier, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("shap-partition-") && name != "shap-partition-tokens.json"
        })
        .collect();
    files.sort();
    assert!(files.len() >= 2, "fixtures missing: {files:?}");
    files
        .into_iter()
        .map(|file| {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let name = doc["checkpoint"].as_str().unwrap();
            let folder =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../transformers/tests/fixtures").join(name);
            (HfClassifier::load(&folder).unwrap(), doc)
        })
        .collect()
}

/// shap's clustering rows `[left, right, height, size]` → the merges.
fn merges(clustering: &Value) -> Vec<(usize, usize)> {
    clustering
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row[0].as_f64().unwrap() as usize, row[1].as_f64().unwrap() as usize))
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap()
}

/// Per token, per label.
fn matrix(v: &Value) -> Vec<Vec<f64>> {
    serde_json::from_value(v.clone()).unwrap()
}

#[test]
fn the_hierarchy_is_shaps_partition_tree() {
    for (model, doc) in fixtures() {
        // The merge rules, one by one, on token strings that reach all of them.
        for tree in doc["partition_trees"].as_array().unwrap() {
            let tokens = strings(&tree["tokens"]);
            assert_eq!(partition_tree(&tokens), merges(&tree["clustering"]), "{tokens:?}");
        }
        // The token strings rebuilt from an encoding, and the tree over them.
        for case in doc["cases"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let encoding = model.encoder().encode(text).unwrap();
            let ids: Vec<i64> = serde_json::from_value(case["input_ids"].clone()).unwrap();
            assert_eq!(encoding.ids, ids, "{text}: tokenisation");
            let ours = text_tokens(&encoding);
            let theirs = strings(&case["tokens"]);
            // Lowercasing tokenizers lose the case shap reads from the text (documented).
            let lower = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
            assert_eq!(lower(&ours), lower(&theirs), "{text}: token strings");
            assert_eq!(partition_tree(&ours), merges(&case["clustering"]), "{text}: tree");
        }
    }
}

/// Sentencepiece (DeBERTa-v3: offsets include a word's leading space) and byte-level BPE
/// (RoBERTa): the token strings and the tree as shap's Text masker builds them.
#[test]
fn the_hierarchy_follows_shap_on_other_sub_word_schemes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("tests/fixtures/shap-partition-tokens.json")).unwrap(),
    )
    .unwrap();
    let checkpoints = doc["checkpoints"].as_object().unwrap();
    assert!(checkpoints.len() >= 2);
    for (name, cases) in checkpoints {
        let model = HfClassifier::load(&dir.join("../../transformers/tests/fixtures").join(name)).unwrap();
        for case in cases.as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let encoding = model.encoder().encode(text).unwrap();
            let ids: Vec<i64> = serde_json::from_value(case["input_ids"].clone()).unwrap();
            assert_eq!(encoding.ids, ids, "{name} {text}: tokenisation");
            let ours = text_tokens(&encoding);
            let lower = |v: &[String]| v.iter().map(|s| s.to_lowercase()).collect::<Vec<_>>();
            assert_eq!(lower(&ours), lower(&strings(&case["tokens"])), "{name} {text}: token strings");
            assert_eq!(partition_tree(&ours), merges(&case["clustering"]), "{name} {text}: tree");
        }
    }
}

fn attribute(model: &dyn Model, method: &dyn Method, encoding: &Encoding, case: &Value) -> Attribution {
    let mask: Box<dyn Baseline> = registry::baseline("mask").unwrap().configure(Value::Null).unwrap();
    match &mask.references(model, encoding).unwrap()[0] {
        Reference::Ids(r) => {
            let want: Vec<i64> = serde_json::from_value(case["baseline_ids"].clone()).unwrap();
            assert_eq!(r, &want, "shap's masked input is the mask baseline");
        }
        other => panic!("mask gave {other:?}"),
    }
    let encodings = [encoding.clone()];
    let output = if case["output"] == "logit" { Output::Logit } else { Output::Probability };
    let request = Request {
        encodings: &encodings,
        target: &Target::All,
        baseline: mask.as_ref(),
        output,
        per_dimension: false,
    };
    explain(method, model, &request).unwrap().remove(0)
}

/// The allowed |ours − shap's| per score: the crate's parity criterion, 1e-5 of the largest
/// |score|, plus the f32 rounding of the outputs. Each Owen value is Σ w (F(S ∪ i) − F(S)) over
/// queue items whose weights total at most 1 (2^-d each for the 2^d items reaching depth d;
/// spreading an unexpanded group's credit divides it by its size), and the two implementations
/// batch the same input differently, so each output may round differently by up to 6κu|F(S)|
/// (κ = √hidden × depth, `docs/axioms.md`): 2 · 6κu · max_S |F(S)| in all, with max_S |F(S)| the
/// largest output shap evaluated.
fn allowed(model: &dyn Model, theirs: &[Vec<f64>], case: &Value) -> f64 {
    let info = model.info();
    let kappa = (info.hidden_size as f64).sqrt() * info.layers.len() as f64;
    let u = f64::from(f32::EPSILON) / 2.0;
    let scale = theirs.iter().flatten().fold(0.0f64, |m, v| m.max(v.abs()));
    1e-5 * scale + 12.0 * kappa * u * case["max_abs_output"].as_f64().unwrap()
}

/// The largest |ours − theirs| over tokens and labels.
fn worst(a: &Attribution, theirs: &[Vec<f64>]) -> f64 {
    let mut worst = 0.0f64;
    for (i, row) in theirs.iter().enumerate() {
        for (label, want) in row.iter().enumerate() {
            worst = worst.max((a.targets[label].tokens[i] - want).abs());
        }
    }
    worst
}

#[test]
fn exact_and_budgeted_owen_values_match_shap() {
    let mut checked = 0;
    for (model, doc) in fixtures() {
        for case in doc["cases"].as_array().unwrap() {
            let text = case["text"].as_str().unwrap();
            let encoding = model.encoder().encode(text).unwrap();
            let what = format!("{} / {text:?} / {}", doc["checkpoint"], case["output"]);
            let f_input: Vec<f64> = serde_json::from_value(case["f_input"].clone()).unwrap();
            let f_baseline: Vec<f64> = serde_json::from_value(case["f_baseline"].clone()).unwrap();

            let exact = PartitionShap { max_evals: 100_000, exact: true, ..Default::default() };
            let a = attribute(&model, &exact, &encoding, case);
            assert_eq!(a.targets.len(), f_input.len());
            assert!(a.warnings.is_empty(), "{what}: {:?}", a.warnings);
            for (t, target) in a.targets.iter().enumerate() {
                // Two f32 forward passes whose kernels sum in different orders (MKL's paths differ by
                // CPU kind). 64 f32 ulps of the score's magnitude is a chosen margin, not a derived
                // one: the widest gap seen was 9 ulps (1.08e-6 on a logit of 1.56, AMD EPYC).
                let f32_close =
                    |a: f64, b: f64| (a - b).abs() < 64.0 * f64::from(f32::EPSILON) * b.abs().max(1.0);
                assert!(
                    f32_close(target.f_input, f_input[t]),
                    "{what}: F(x) {} vs {}",
                    target.f_input,
                    f_input[t]
                );
                assert!(f32_close(target.f_baseline, f_baseline[t]), "{what}: F(x0)");
                assert!(target.delta.unwrap().abs() < 1e-12, "{what}: efficiency");
            }
            let theirs = matrix(&case["exact"]);
            let bound = allowed(&model, &theirs, case);
            let exact_error = worst(&a, &theirs);
            assert!(exact_error <= bound, "{what}: exact Owen values {exact_error:.2e} > {bound:.2e}");

            let budgeted = PartitionShap {
                max_evals: case["budget_max_evals"].as_u64().unwrap() as usize,
                batch_size: case["budget_batch_size"].as_u64().unwrap() as usize,
                ..Default::default()
            };
            let b = attribute(&model, &budgeted, &encoding, case);
            assert!(b.warnings.iter().any(|w| w.contains("max_evals")), "{what}: no budget warning");
            assert!(b.targets.iter().all(|t| t.delta.unwrap().abs() < 1e-12), "{what}: budgeted efficiency");
            let theirs_b = matrix(&case["budget"]);
            let bound_b = allowed(&model, &theirs_b, case);
            let budget_error = worst(&b, &theirs_b);
            assert!(budget_error <= bound_b, "{what}: budgeted {budget_error:.2e} > {bound_b:.2e}");
            // The comparison can fail: the budgeted values are far from the exact ones.
            assert!(worst(&b, &theirs) > 10.0 * bound, "{what}: the budget changed nothing");
            println!("{what}: exact {exact_error:.2e}, budgeted {budget_error:.2e} (bound {bound:.2e})");
            checked += 1;
        }
    }
    assert!(checked >= 6, "{checked}");
}
