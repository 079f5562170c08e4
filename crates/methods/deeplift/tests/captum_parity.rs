//! Parity with Captum where Captum's DeepLift is exact: a network whose only non-linearities
//! are the activation modules Captum overrides (Tanh, ReLU, Sigmoid) and that has no product
//! of activations. There both apply the rescale rule, so DeepLift and DeepLiftShap must agree
//! to float64 rounding. Fixture: scripts/fixtures/make_captum_deeplift_fixtures.py.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use explainer_core::{
    Baseline, Capabilities, Encoding, ForwardCtx, InputBatch, LayerInfo, Model, ModelInfo, Output,
    ProblemType, Reference, Request, Result, SpecialTokens, Target, TextEncoder, Unary, explain, layer_names,
};
use explainer_deeplift::{DeepLift, DeepLiftShap};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tch::{Device, Kind, Tensor};

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/captum-deeplift-mlp.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn tensor(v: &Value) -> Tensor {
    fn flatten(v: &Value, out: &mut Vec<f64>, shape: &mut Vec<i64>, depth: usize) {
        match v {
            Value::Array(items) => {
                if shape.len() == depth {
                    shape.push(items.len() as i64);
                }
                for item in items {
                    flatten(item, out, shape, depth + 1);
                }
            }
            other => out.push(other.as_f64().unwrap()),
        }
    }
    let (mut values, mut shape) = (Vec::new(), Vec::new());
    flatten(v, &mut values, &mut shape, 0);
    Tensor::from_slice(&values).reshape(shape.as_slice())
}

/// No text encoding: the test builds encodings from ids.
struct IdsOnly(SpecialTokens);

impl TextEncoder for IdsOnly {
    fn encode(&self, _: &str) -> Result<Encoding> {
        unreachable!("the parity test builds its encodings from ids")
    }
    fn special_tokens(&self) -> &SpecialTokens {
        &self.0
    }
    fn vocab_size(&self) -> usize {
        12
    }
    fn max_len(&self) -> usize {
        64
    }
    fn id_to_token(&self, id: i64) -> Option<String> {
        Some(id.to_string())
    }
}

/// The fixture's MLP behind the model adapter (f64).
struct Mlp {
    info: ModelInfo,
    encoder: IdsOnly,
    w: BTreeMap<String, Tensor>,
}

impl Mlp {
    fn new(f: &Value) -> Self {
        let w = f["weights"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), tensor(v))).collect();
        let labels = (0..f["labels"].as_u64().unwrap()).map(|i| format!("label{i}")).collect();
        Mlp {
            info: ModelInfo {
                name: "captum-mlp".into(),
                labels,
                problem: ProblemType::MultiLabel,
                capabilities: Capabilities::ALL,
                layers: vec![
                    LayerInfo::new(layer_names::WORD_EMBEDDINGS, "word embeddings"),
                    LayerInfo::new(layer_names::CLASSIFIER, "logits"),
                ],
                hidden_size: f["hidden"].as_u64().unwrap() as usize,
            },
            encoder: IdsOnly(SpecialTokens {
                pad: Some(0),
                cls: Some(1),
                sep: Some(2),
                ..SpecialTokens::default()
            }),
            w,
        }
    }
    fn linear(&self, x: &Tensor, name: &str) -> Tensor {
        x.linear(&self.w[&format!("{name}.weight")], Some(&self.w[&format!("{name}.bias")]))
    }
}

impl Model for Mlp {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn encoder(&self) -> &dyn TextEncoder {
        &self.encoder
    }
    fn device(&self) -> Device {
        Device::Cpu
    }
    fn kind(&self) -> Kind {
        Kind::Double
    }
    fn forward(&self, input: &InputBatch, ctx: &mut ForwardCtx<'_>) -> Result<Tensor> {
        let ops = ctx.ops();
        let word = Tensor::f_embedding(&self.w["embeddings.weight"], &input.ids, -1, false, false)?;
        let word = ctx.layer(layer_names::WORD_EMBEDDINGS, word)?;
        let h = ops.unary(Unary::Tanh, &self.linear(&word, "dense"))?;
        let mask = input.attention_mask.to_kind(Kind::Double).unsqueeze(-1);
        let pooled = (h * &mask).sum_dim_intlist([1i64].as_slice(), false, Kind::Double)
            / mask.sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
        let z = ops.unary(Unary::Relu, &self.linear(&pooled, "hidden"))?;
        ctx.layer(layer_names::CLASSIFIER, self.linear(&z, "classifier"))
    }
}

/// The fixture's references, looked up by the input's ids.
#[derive(Debug, Serialize, Deserialize)]
struct Given(Vec<(Vec<i64>, Vec<Vec<i64>>)>);

#[typetag::serde(name = "test-given")]
impl Baseline for Given {
    fn references(&self, _: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
        let (_, refs) = self.0.iter().find(|(ids, _)| *ids == input.ids).unwrap();
        Ok(refs.iter().map(|r| Reference::Ids(r.clone())).collect())
    }
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|i| i.as_i64().unwrap()).collect()
}

fn encoding(ids: Vec<i64>) -> Encoding {
    let n = ids.len();
    Encoding {
        special: ids.iter().map(|&i| i == 1 || i == 2).collect(),
        tokens: ids.iter().map(|i| i.to_string()).collect(),
        type_ids: vec![0; n],
        offsets: vec![(0, 0); n],
        word_ids: (0..n).map(Some).collect(),
        truncated: false,
        ids,
    }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

#[test]
fn deeplift_and_deeplift_shap_match_captum_on_a_rescale_only_network() {
    let f = fixture();
    let model = Mlp::new(&f);
    let cases = f["cases"].as_array().unwrap();
    let encodings: Vec<Encoding> = cases.iter().map(|c| encoding(ids(&c["ids"]))).collect();
    let pads = Given(cases.iter().map(|c| (ids(&c["ids"]), vec![ids(&c["pad_ids"])])).collect());
    let draws = Given(
        cases
            .iter()
            .map(|c| (ids(&c["ids"]), c["draws"].as_array().unwrap().iter().map(ids).collect()))
            .collect(),
    );
    // All three texts in one call: padded together, explained by one paired forward.
    let request = |baseline: &'static dyn Baseline| Request {
        encodings: &encodings,
        target: &Target::All,
        baseline,
        output: Output::Probability,
        per_dimension: true,
    };
    let pads: &'static Given = Box::leak(Box::new(pads));
    let draws: &'static Given = Box::leak(Box::new(draws));
    let ours = explain(&DeepLift::default(), &model, &request(pads)).unwrap();
    let ours_shap = explain(&DeepLiftShap::default(), &model, &request(draws)).unwrap();
    let mut worst = 0.0f64;
    for (i, case) in cases.iter().enumerate() {
        for (label, reference) in case["deeplift"].as_array().unwrap().iter().enumerate() {
            let t = &ours[i].targets[label];
            for (a, b) in t.tokens.iter().zip(floats(&reference["tokens"])) {
                worst = worst.max((a - b).abs());
            }
            let dims = t.per_dimension.as_ref().unwrap();
            for (row, expected) in dims.iter().zip(reference["per_dimension"].as_array().unwrap()) {
                for (a, b) in row.iter().zip(floats(expected)) {
                    worst = worst.max((a - b).abs());
                }
            }
            assert!((t.f_input - case["f_input"][label].as_f64().unwrap()).abs() < 1e-12);
            assert!((t.f_baseline - case["f_pad"][label].as_f64().unwrap()).abs() < 1e-12);
            let s = &ours_shap[i].targets[label];
            for (a, b) in s.tokens.iter().zip(floats(&case["deeplift_shap"][label]["tokens"])) {
                worst = worst.max((a - b).abs());
            }
            assert!((s.f_baseline - case["f_draws_mean"][label].as_f64().unwrap()).abs() < 1e-12);
        }
    }
    println!("worst |ours − Captum| over tokens and hidden units: {worst:.2e}");
    assert!(worst < 1e-10, "{worst}");
}
