//! The gradient family against Captum's `Saliency`, `InputXGradient`,
//! `LayerGradientXActivation`, `GradientShap` and `NoiseTunnel` on two Hugging Face fixture
//! checkpoints (references written offline by
//! scripts/fixtures/make_captum_gradient_fixtures.py, which also records every random draw
//! Captum made; the random methods replay them here).
//!
//! Bound: per token, 1e-5 × the largest |attribution| of the case. Both sides compute the same
//! f32 operations (a forward pass, one backward pass, one product per element) on the same
//! weights; what differs is the order of summation inside libtorch's kernels (our batch of
//! rows vs Captum's), whose effect on a gradient is a few units of f32 rounding
//! (u = 6e-8) times the growth through the network — √hidden × depth ≈ √32 × 6 ≈ 34 here — so
//! ~2e-6 relative, under 1e-5. The 1e-5 is the bound.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::{Path, PathBuf};

use explainer_core::{
    Attribution, Baseline, Encoding, Method, Model, Output, Reference, Request, Result, Target, explain,
};
use explainer_gradients::{
    Draws, GradientShap, InputXGradient, LayerGradientXActivation, NoiseTunnel, NoiseType, Saliency,
};
use explainer_transformers::HfClassifier;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// The fixture's references, given as ids (pad and unk, special tokens kept).
#[derive(Debug, Serialize, Deserialize)]
struct Fixed {
    ids: Vec<Vec<i64>>,
}

#[typetag::serde(name = "test-fixed-references")]
impl Baseline for Fixed {
    fn references(&self, _: &dyn Model, _: &Encoding) -> Result<Vec<Reference>> {
        Ok(self.ids.iter().map(|ids| Reference::Ids(ids.clone())).collect())
    }
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("captum-gradients-"))
        .collect();
    files.sort();
    files
}

fn checkpoint(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../transformers/tests/fixtures").join(name)
}

fn floats(v: &serde_json::Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

fn noise(case: &serde_json::Value, len: usize, hidden: usize) -> Tensor {
    let values: Vec<f32> = serde_json::from_value(case["draw_noise"].clone()).unwrap();
    let samples = values.len() / (len * hidden);
    Tensor::from_slice(&values).view([samples as i64, len as i64, hidden as i64])
}

const BOUND: f64 = 1e-5;

#[test]
fn every_gradient_method_matches_captum_on_the_fixture_checkpoints() {
    let files = fixtures();
    assert_eq!(files.len(), 2, "Captum fixtures missing: {files:?}");
    let mut checked = 0;
    for file in files {
        let reference: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let name = reference["checkpoint"].as_str().unwrap();
        let model = HfClassifier::load(&checkpoint(name)).unwrap();
        let encoding = model.encoder().encode(reference["text"].as_str().unwrap()).unwrap();
        let ids: Vec<i64> = serde_json::from_value(reference["input_ids"].clone()).unwrap();
        assert_eq!(encoding.ids, ids, "{name}: tokenisation");
        let baseline = Fixed { ids: serde_json::from_value(reference["reference_ids"].clone()).unwrap() };
        let hidden = reference["hidden_size"].as_u64().unwrap() as usize;
        let len = encoding.len();
        let encodings = [encoding];
        let mut worst = 0.0f64;
        for case in reference["cases"].as_array().unwrap() {
            let label = case["label_index"].as_u64().unwrap() as usize;
            let target = Target::Indices { indices: vec![label] };
            let output = if case["output"] == "logit" { Output::Logit } else { Output::Probability };
            let request = Request {
                encodings: &encodings,
                target: &target,
                baseline: &baseline,
                output,
                per_dimension: true,
            };
            let what = format!("{name} / {}", case["name"].as_str().unwrap());
            let ours: Vec<Attribution> = match case["method"].as_str().unwrap() {
                "saliency" => explain(&Saliency { abs: case["abs"].as_bool().unwrap() }, &model, &request),
                "input-x-gradient" => explain(&InputXGradient {}, &model, &request),
                "layer-gradient-x-activation" => explain(
                    &LayerGradientXActivation {
                        layer: case["layer"].as_str().unwrap().to_owned(),
                        multiply_by_inputs: case["multiply_by_inputs"].as_bool().unwrap(),
                    },
                    &model,
                    &request,
                ),
                "gradient-shap" => {
                    let draws = Draws {
                        references: serde_json::from_value(case["draw_references"].clone()).unwrap(),
                        alphas: floats(&case["draw_alphas"]),
                        noise: Some(noise(case, len, hidden)),
                    };
                    GradientShap::default().explain_with_draws(&model, &request, vec![draws])
                }
                "noise-tunnel" => {
                    let inner: Box<dyn Method> = serde_json::from_value(case["inner"].clone()).unwrap();
                    let nt_type: NoiseType = serde_json::from_value(case["nt_type"].clone()).unwrap();
                    let tunnel = NoiseTunnel { inner, nt_type, ..NoiseTunnel::default() };
                    tunnel.explain_with_noise(&model, &request, vec![noise(case, len, hidden)])
                }
                other => panic!("unknown method {other}"),
            }
            .unwrap();
            let got = &ours[0].targets[0];
            let expected = floats(&case["attributions"]);
            assert_eq!(got.tokens.len(), expected.len(), "{what}");
            // Rounding in a token's sum over the hidden dimension is relative to the sum of the
            // |terms| (docs/axioms.md), not to the result: signed saliency at the word
            // embeddings of a BERT-family model sums to ~0 by an identity (LayerNorm ignores a
            // shift along 1, so Σ_d ∂F/∂e_d = 0), leaving only rounding. The scale is the
            // larger of the largest |attribution| and the largest per-token Σ_d |a_d|.
            let mass = got
                .per_dimension
                .as_ref()
                .unwrap()
                .iter()
                .map(|row| row.iter().map(|v| v.abs()).sum::<f64>())
                .fold(0.0f64, f64::max);
            let largest = expected.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            // Every token score is a sum over hidden dimensions, so its rounding is relative to
            // the per-token mass Σ_d |a_d| for every method (MKL's summation order differs by CPU
            // kind), and equals the largest |attribution| when no terms cancel.
            let scale = largest.max(mass).max(1e-30);
            let diff = got.tokens.iter().zip(&expected).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(diff <= BOUND * scale, "{what}: max |diff| {diff:e} vs largest |attribution| {scale:e}");
            worst = worst.max(diff / scale);
            if let Some(f_input) = case.get("f_input") {
                assert!((got.f_input - f_input.as_f64().unwrap()).abs() <= 1e-6, "{what}: F(x)");
                let refs = floats(&case["f_references"]);
                let f_baseline = refs.iter().sum::<f64>() / refs.len() as f64;
                assert!((got.f_baseline - f_baseline).abs() <= 1e-6, "{what}: F(x0)");
            }
            if case["method"] == "gradient-shap" {
                let delta = got.delta.unwrap();
                assert!((delta - got.completeness_gap()).abs() <= 1e-12, "{what}: delta");
                assert!(got.error_estimate.unwrap() > 0.0, "{what}: standard error");
                assert!(got.token_spread.is_some(), "{what}: spread over draws");
            } else {
                assert!(got.delta.is_none(), "{what}: no delta");
            }
            checked += 1;
        }
        eprintln!("{name}: worst |diff| / largest |attribution| = {worst:.2e}");
    }
    assert!(checked >= 60, "only {checked} cases");
}

/// Captum's draws are f32; ours for the same case in f64 give the same numbers to f32
/// rounding, so the f32 engine is not hiding a kind mismatch.
#[test]
fn noise_kinds_are_converted_to_the_models() {
    let files = fixtures();
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    let model = HfClassifier::load(&checkpoint(reference["checkpoint"].as_str().unwrap())).unwrap();
    let encoding = model.encoder().encode(reference["text"].as_str().unwrap()).unwrap();
    let baseline = Fixed { ids: serde_json::from_value(reference["reference_ids"].clone()).unwrap() };
    let case = reference["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["method"] == "noise-tunnel")
        .unwrap()
        .clone();
    let hidden = reference["hidden_size"].as_u64().unwrap() as usize;
    let f32_noise = noise(&case, encoding.len(), hidden);
    let f64_noise = f32_noise.to_kind(Kind::Double);
    let target = Target::Indices { indices: vec![0] };
    let encodings = [encoding];
    let request = Request {
        encodings: &encodings,
        target: &target,
        baseline: &baseline,
        output: Output::Probability,
        per_dimension: false,
    };
    let tunnel = NoiseTunnel::default();
    let a = tunnel.explain_with_noise(&model, &request, vec![f32_noise]).unwrap();
    let b = tunnel.explain_with_noise(&model, &request, vec![f64_noise]).unwrap();
    assert_eq!(a[0].targets[0].tokens, b[0].targets[0].tokens);
}
