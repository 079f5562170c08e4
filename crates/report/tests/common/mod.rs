//! Hand-made encodings, predictions, attributions and documents shared by the report tests.
#![allow(dead_code)]

use std::collections::BTreeMap;

use explainer_core::{Attribution, Encoding, LayerSweep, Output, Prediction, ProblemType, TargetAttribution};
use explainer_report::{Document, Explanation, ModelRecord, Run};

/// "Café naïve 日本語 🙂 ok": 19 characters, 30 bytes.
pub const TEXT: &str = "Café naïve 日本語 🙂 ok";

/// A hostile text: the script would set the title, the image handler would set an attribute;
/// the markers (PWNED, owned) only appear if the code RUNS (the text holds 'PW'+'NED').
pub const HOSTILE: &str = "<script>document.title='PW'+'NED'</script><img src=x onerror=\"document.body.setAttribute('data-x','ow'+'ned')\"> hi";

/// One token of a hand-made encoding: (token, id, byte offsets, word id, special).
pub type Tok = (&'static str, i64, (usize, usize), Option<usize>, bool);

/// A BERT-like WordPiece encoding of [`TEXT`].
pub fn bert_tokens() -> Vec<Tok> {
    vec![
        ("[CLS]", 101, (0, 0), None, true),
        ("ca", 1, (0, 2), Some(0), false),
        ("##fé", 2, (2, 5), Some(0), false),
        ("na", 3, (6, 8), Some(1), false),
        ("##ïve", 4, (8, 12), Some(1), false),
        ("日", 5, (13, 16), Some(2), false),
        ("本", 6, (16, 19), Some(3), false),
        ("語", 7, (19, 22), Some(4), false),
        ("🙂", 8, (23, 27), Some(5), false),
        ("ok", 9, (28, 30), Some(6), false),
        ("[SEP]", 102, (0, 0), None, true),
    ]
}

/// Attributions for [`bert_tokens`] (specials non-zero on purpose).
pub const BERT_ATTR: [f64; 11] =
    [0.5, 0.25, 0.125, -0.25, -0.0625, 0.03125, 0.0, -0.5, 1.0, 0.0078125, -0.015625];

pub fn encoding(tokens: &[Tok], truncated: bool) -> Encoding {
    Encoding {
        ids: tokens.iter().map(|t| t.1).collect(),
        type_ids: vec![0; tokens.len()],
        tokens: tokens.iter().map(|t| t.0.to_owned()).collect(),
        offsets: tokens.iter().map(|t| t.2).collect(),
        word_ids: tokens.iter().map(|t| t.3).collect(),
        special: tokens.iter().map(|t| t.4).collect(),
        truncated,
    }
}

pub fn labels() -> Vec<String> {
    vec!["toxic".into(), "insult".into(), "threat".into()]
}

pub fn prediction(labels: &[String]) -> Prediction {
    let logits: Vec<f64> = (0..labels.len()).map(|i| 2.0 - 1.5 * i as f64).collect();
    Prediction {
        labels: labels.to_vec(),
        scores: logits.iter().map(|l| 1.0 / (1.0 + (-l).exp())).collect(),
        logits,
        truncated: false,
    }
}

pub fn target(label_index: usize, label: &str, score: f64, tokens: &[f64]) -> TargetAttribution {
    let total: f64 = tokens.iter().sum();
    TargetAttribution {
        label_index,
        label: label.to_owned(),
        score,
        tokens: tokens.to_vec(),
        token_spread: None,
        per_dimension: None,
        f_input: score,
        f_baseline: score - total - 1e-4,
        delta: Some(1e-4),
        steps: Some(50),
        error_estimate: None,
        layer_sweep: None,
    }
}

pub fn attribution(encoding: Encoding, targets: Vec<TargetAttribution>) -> Attribution {
    Attribution {
        method: "layer-integrated-gradients".into(),
        baseline: "pad".into(),
        layer: "embeddings.word".into(),
        output: Output::Probability,
        encoding,
        targets,
        warnings: vec![],
    }
}

pub fn run(labels: Vec<String>) -> Run {
    let mut versions = BTreeMap::new();
    versions.insert("explainer".to_owned(), "0.1.0".to_owned());
    versions.insert("libtorch".to_owned(), "2.13.0".to_owned());
    Run {
        tool: "explainer".into(),
        version: "0.1.0".into(),
        versions,
        created: "2026-11-24T12:00:00Z".into(),
        duration_seconds: 1.25,
        model: ModelRecord {
            path: "/models/tiny".into(),
            name: "tiny".into(),
            hash: format!("sha256:{}", "ab".repeat(32)),
            problem: ProblemType::MultiLabel,
            labels,
        },
        method: serde_json::json!({
            "method": "layer-integrated-gradients",
            "layer": "embeddings.word",
            "n_steps": 50,
            "rule": "gauss_legendre",
            "multiply_by_inputs": true,
            "memory_budget_mb": 6144,
            "pack_token_rows": 0,
            "tolerance": null,
            "max_steps": 1024
        }),
        baseline: serde_json::json!({"baseline": "pad"}),
        target: "predicted".into(),
        output: Output::Probability,
        layer: "embeddings.word".into(),
        device: "cpu".into(),
    }
}

/// The explanation of [`TEXT`] for labels 0 and 1 (label 1 with a layer sweep and spread).
pub fn sample_explanation() -> Explanation {
    let labels = labels();
    let pred = prediction(&labels);
    let neg: Vec<f64> = BERT_ATTR.iter().map(|a| -a / 2.0).collect();
    let mut t1 = target(1, "insult", pred.scores[1], &neg);
    t1.token_spread = Some(vec![0.01; BERT_ATTR.len()]);
    t1.layer_sweep = Some(LayerSweep {
        layers: vec!["encoder.0".into(), "encoder.1".into()],
        scores: (0..BERT_ATTR.len()).map(|i| vec![neg[i] * 0.5, neg[i]]).collect(),
        deltas: vec![1e-3, 2e-4],
    });
    let attr = attribution(
        encoding(&bert_tokens(), false),
        vec![target(0, "toxic", pred.scores[0], &BERT_ATTR), t1],
    );
    Explanation::new(Some("row-1".into()), TEXT, &pred, &attr).unwrap()
}

/// A document with the sample explanation.
pub fn sample_document() -> Document {
    Document::new(run(labels()), vec![sample_explanation()])
}

/// A document whose every string field carries hostile HTML: the text, label names, the id,
/// config values, the model path and name, warnings, tokens and layer names.
pub fn hostile_document() -> Document {
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";
    let labels: Vec<String> = vec![format!("toxic{evil}"), "insult|`x`".into()];
    let text = HOSTILE;
    // One token per whitespace-separated chunk.
    let mut toks = vec![("[CLS]".to_owned(), (0usize, 0usize), None, true)];
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c == ' ', start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                let w = toks.len() - 1;
                toks.push((text[s..i].to_owned(), (s, i), Some(w), false));
                start = None;
            }
            _ => {}
        }
    }
    toks.push((format!("[SEP]{evil}"), (0, 0), None, true));
    let encoding = Encoding {
        ids: (0..toks.len() as i64).collect(),
        type_ids: vec![0; toks.len()],
        tokens: toks.iter().map(|t| t.0.clone()).collect(),
        offsets: toks.iter().map(|t| t.1).collect(),
        word_ids: toks.iter().map(|t| t.2).collect(),
        special: toks.iter().map(|t| t.3).collect(),
        truncated: false,
    };
    let n = toks.len();
    let attrs: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 0.3 } else { -0.2 }).collect();
    let pred = prediction(&labels);
    let mut t0 = target(0, &labels[0], pred.scores[0], &attrs);
    t0.layer_sweep = Some(LayerSweep {
        layers: vec![format!("encoder.0{evil}")],
        scores: attrs.iter().map(|a| vec![*a]).collect(),
        deltas: vec![0.0],
    });
    let t1 = target(1, &labels[1], pred.scores[1], &attrs);
    let mut attr = attribution(encoding, vec![t0, t1]);
    attr.warnings.push(format!("warning {evil}"));
    let explanation = Explanation::new(Some(format!("id{evil}")), text, &pred, &attr).unwrap();
    let mut run = run(labels);
    run.model.path = format!("/models/{evil}");
    run.model.name = format!("name{evil}");
    run.method = serde_json::json!({"method": format!("m{evil}"), "note": evil});
    run.baseline = serde_json::json!({"baseline": evil});
    run.target = format!("labels:{evil}");
    run.layer = format!("layer{evil}");
    run.versions.insert(format!("v{evil}"), evil.to_owned());
    Document::new(run, vec![explanation])
}

/// The small document of `docs/json-schema.md`'s example: "Ça va? 🙂", one explained label.
pub fn small_document() -> Document {
    let text = "Ça va? 🙂";
    let tokens: Vec<Tok> = vec![
        ("[CLS]", 101, (0, 0), None, true),
        ("ça", 4560, (0, 3), Some(0), false),
        ("va", 2175, (4, 6), Some(1), false),
        ("?", 1029, (6, 7), Some(2), false),
        ("[UNK]", 100, (8, 12), Some(3), false),
        ("[SEP]", 102, (0, 0), None, true),
    ];
    let labels: Vec<String> = vec!["fraud".into(), "spam".into()];
    let pred = Prediction {
        labels: labels.clone(),
        logits: vec![1.25, -2.0],
        scores: vec![0.7772998611746911, 0.11920292202211755],
        truncated: false,
    };
    let attrs = [0.0, 0.375, -0.125, 0.0625, 0.25, 0.0];
    let t = TargetAttribution {
        label_index: 0,
        label: "fraud".into(),
        score: pred.scores[0],
        tokens: attrs.to_vec(),
        token_spread: None,
        per_dimension: None,
        f_input: 0.7772998611746911,
        f_baseline: 0.2146,
        delta: Some(0.5625 - (0.7772998611746911 - 0.2146)),
        steps: Some(50),
        error_estimate: None,
        layer_sweep: None,
    };
    let attr = attribution(encoding(&tokens, false), vec![t]);
    let e = Explanation::new(Some("msg-0042".into()), text, &pred, &attr).unwrap();
    let mut run = run(labels);
    run.duration_seconds = 0.84;
    run.model.path = "models/fraud-bert".into();
    run.model.name = "fraud-bert".into();
    run.model.hash = "sha256:3f1c0e5b9a7d2c4e6f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6".into();
    Document::new(run, vec![e])
}
