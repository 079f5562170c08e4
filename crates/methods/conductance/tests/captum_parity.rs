//! Layer Conductance, Neuron Conductance and the sweep against Captum's `LayerConductance` and
//! `NeuronConductance` on the Hugging Face fixture checkpoints (references written offline by
//! scripts/fixtures/make_captum_conductance_fixtures.py): the `pad` baseline, the same target,
//! rule, step count and output. Per-token attributions within 1e-4 of the largest
//! |attribution|; F(x), F(x₀) and Captum's delta within float32 rounding.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::{Path, PathBuf};

use explainer_baselines as _;
use explainer_conductance::{ConductanceSweep, LayerConductance, NeuronConductance};
use explainer_core::{
    Baseline, Encoding, Method, Model, Output, Reference, Request, Rule, Target, TargetAttribution, explain,
    registry,
};
use explainer_transformers::HfClassifier;
use serde_json::Value;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("captum-conductance-"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "Captum fixtures missing: {files:?}");
    files
}

fn checkpoint(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../transformers/tests/fixtures").join(name)
}

fn floats(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

fn usize_of(v: &Value) -> usize {
    v.as_u64().unwrap() as usize
}

fn explain_one(
    model: &HfClassifier,
    method: &dyn Method,
    encoding: &Encoding,
    label: usize,
    output: Output,
    per_dimension: bool,
) -> TargetAttribution {
    let pad: Box<dyn Baseline> = registry::baseline("pad").unwrap().configure(Value::Null).unwrap();
    let target = Target::Indices { indices: vec![label] };
    let encodings = [encoding.clone()];
    let request =
        Request { encodings: &encodings, target: &target, baseline: pad.as_ref(), output, per_dimension };
    explain(method, model, &request).unwrap().remove(0).targets.remove(0)
}

/// max |a − b| / max |b|.
fn relative_gap(ours: &[f64], expected: &[f64]) -> f64 {
    assert_eq!(ours.len(), expected.len());
    let scale = expected.iter().fold(0.0f64, |m, x| m.max(x.abs())).max(1e-12);
    ours.iter().zip(expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max) / scale
}

#[test]
fn layer_and_neuron_conductance_match_captum() {
    let mut cases = 0;
    let mut worst_overall = 0.0f64;
    for file in fixtures() {
        let reference: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let name = reference["checkpoint"].as_str().unwrap();
        let model = HfClassifier::load(&checkpoint(name)).unwrap();
        let pad: Box<dyn Baseline> = registry::baseline("pad").unwrap().configure(Value::Null).unwrap();
        let (mut worst_layer, mut worst_neuron) = (0.0f64, 0.0f64);
        for text in reference["texts"].as_array().unwrap() {
            let encoding = model.encoder().encode(text["text"].as_str().unwrap()).unwrap();
            let ids: Vec<i64> = serde_json::from_value(text["input_ids"].clone()).unwrap();
            assert_eq!(encoding.ids, ids, "{name}: tokenisation");
            match &pad.references(&model, &encoding).unwrap()[0] {
                Reference::Ids(ids) => {
                    assert_eq!(
                        ids,
                        &serde_json::from_value::<Vec<i64>>(text["baseline_ids"].clone()).unwrap()
                    )
                }
                other => panic!("{name}: pad gave {other:?}"),
            }
            for case in text["cases"].as_array().unwrap() {
                let layer = case["layer"].as_str().unwrap().to_owned();
                let rule: Rule = case["method"].as_str().unwrap().parse().unwrap();
                let n_steps = usize_of(&case["n_steps"]);
                let label = usize_of(&case["label_index"]);
                let output = if case["output"] == "logit" { Output::Logit } else { Output::Probability };
                let what = format!(
                    "{name} / {} / {} {layer} {}-{n_steps} label {label} {}",
                    text["name"], case["kind"], case["method"], case["output"]
                );
                let expected = floats(&case["attributions"]);
                if case["kind"] == "layer" {
                    let method = LayerConductance { layer, n_steps, rule, ..Default::default() };
                    let per_dim = case.get("attributions_per_dim").is_some();
                    let ours = explain_one(&model, &method, &encoding, label, output, per_dim);
                    let gap = relative_gap(&ours.tokens, &expected);
                    assert!(gap <= 1e-4, "{what}: max |diff| / largest |attribution| = {gap:e}");
                    worst_layer = worst_layer.max(gap);
                    let (f_in, f_base) =
                        (case["f_input"].as_f64().unwrap(), case["f_baseline"].as_f64().unwrap());
                    assert!((ours.f_input - f_in).abs() <= 1e-5, "{what}: F(x) {} vs {f_in}", ours.f_input);
                    assert!(
                        (ours.f_baseline - f_base).abs() <= 1e-5,
                        "{what}: F(x0) {} vs {f_base}",
                        ours.f_baseline
                    );
                    let delta = case["delta"].as_f64().unwrap();
                    let d = ours.delta.unwrap();
                    assert!(
                        (d - delta).abs() <= 1e-5 + 1e-4 * (f_in - f_base).abs(),
                        "{what}: delta {d:e} vs {delta:e}"
                    );
                    if let Some(dims) = case.get("attributions_per_dim") {
                        let expected: Vec<f64> = dims.as_array().unwrap().iter().flat_map(floats).collect();
                        let got: Vec<f64> = ours.per_dimension.unwrap().into_iter().flatten().collect();
                        let gap = relative_gap(&got, &expected);
                        assert!(gap <= 1e-4, "{what}: per-dimension gap {gap:e}");
                    }
                } else {
                    let method = NeuronConductance {
                        layer,
                        token: usize_of(&case["token"]),
                        unit: usize_of(&case["unit"]),
                        n_steps,
                        rule,
                        ..Default::default()
                    };
                    let ours = explain_one(&model, &method, &encoding, label, output, false);
                    let gap = relative_gap(&ours.tokens, &expected);
                    assert!(gap <= 1e-4, "{what}: max |diff| / largest |attribution| = {gap:e}");
                    worst_neuron = worst_neuron.max(gap);
                    // Our f_input is the unit's total conductance by an independent sum; its
                    // delta is the quadrature gap between the two sums.
                    let sum = case["sum_attributions"].as_f64().unwrap();
                    assert!(
                        (ours.tokens.iter().sum::<f64>() - sum).abs() <= 1e-4 * sum.abs().max(1e-3),
                        "{what}"
                    );
                }
                cases += 1;
            }
        }
        eprintln!(
            "{name}: worst |diff| / largest |attribution|: layer {worst_layer:.2e}, neuron {worst_neuron:.2e}"
        );
        worst_overall = worst_overall.max(worst_layer).max(worst_neuron);
    }
    eprintln!("{cases} cases, worst relative gap {worst_overall:.2e}");
    assert!(cases >= 150, "only {cases} cases checked");
}

/// The sweep's columns are Captum's Layer Conductance at each layer (Gauss–Legendre 50,
/// every label), from one call.
#[test]
fn the_sweep_matches_captum_layer_by_layer() {
    for file in fixtures() {
        let reference: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let name = reference["checkpoint"].as_str().unwrap();
        let model = HfClassifier::load(&checkpoint(name)).unwrap();
        let layers: Vec<String> = serde_json::from_value(reference["layers"].clone()).unwrap();
        let text = &reference["texts"][1];
        let encoding = model.encoder().encode(text["text"].as_str().unwrap()).unwrap();
        let pad: Box<dyn Baseline> = registry::baseline("pad").unwrap().configure(Value::Null).unwrap();
        let encodings = [encoding];
        let request = Request {
            encodings: &encodings,
            target: &Target::All,
            baseline: pad.as_ref(),
            output: Output::Probability,
            per_dimension: false,
        };
        let swept = explain(&ConductanceSweep::default(), &model, &request).unwrap().remove(0);
        let mut checked = 0;
        for t in &swept.targets {
            let sweep = t.layer_sweep.as_ref().unwrap();
            assert_eq!(sweep.layers, layers, "{name}: embeddings and every encoder layer");
            for case in text["cases"].as_array().unwrap() {
                if case["kind"] != "layer"
                    || case["method"] != "gausslegendre"
                    || case["n_steps"] != 50
                    || usize_of(&case["label_index"]) != t.label_index
                {
                    continue;
                }
                let l = sweep.layers.iter().position(|x| x == case["layer"].as_str().unwrap()).unwrap();
                let column: Vec<f64> = sweep.scores.iter().map(|row| row[l]).collect();
                let gap = relative_gap(&column, &floats(&case["attributions"]));
                assert!(gap <= 1e-4, "{name} {} label {}: gap {gap:e}", case["layer"], t.label_index);
                let delta = case["delta"].as_f64().unwrap();
                assert!(
                    (sweep.deltas[l] - delta).abs() <= 1e-5,
                    "{name}: delta {} vs {delta}",
                    sweep.deltas[l]
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 3 * model.info().labels.len(), "{name}");
    }
}
