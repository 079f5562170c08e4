//! Building explanations from core types (offsets, words, sums) and the JSON schema's round trips.
#![allow(clippy::unwrap_used)]
#![allow(clippy::expect_used)]

mod common;

use common::*;
use explainer_core::{ErrorKind, LayerSweep};
use explainer_report::{Document, Explanation, Record, SCHEMA_VERSION, render_json};

/// The characters `[start, end)` of `text`, counted in Unicode scalar values — computed
/// independently of the crate's byte→char conversion.
fn char_slice(text: &str, start: usize, end: usize) -> String {
    text.chars().skip(start).take(end - start).collect()
}

#[test]
fn tokens_get_character_offsets_for_accents_cjk_and_emoji() {
    let e = sample_explanation();
    let expected_chars =
        [(0, 0), (0, 2), (2, 4), (5, 7), (7, 10), (11, 12), (12, 13), (13, 14), (15, 16), (17, 19), (0, 0)];
    assert_eq!(e.tokens.len(), expected_chars.len());
    for (token, (&(start, end), tok)) in e.tokens.iter().zip(expected_chars.iter().zip(bert_tokens())) {
        assert_eq!((token.start, token.end), (start, end), "token {:?}", token.text);
        assert_eq!((token.byte_start, token.byte_end), tok.2, "byte offsets are kept");
        assert_eq!(token.id, tok.1);
        assert_eq!(token.text, tok.0);
        assert_eq!(token.special, tok.4);
        if !token.special {
            assert_eq!(char_slice(TEXT, token.start, token.end), TEXT[token.byte_start..token.byte_end]);
        }
    }
    assert_eq!(TEXT.chars().count(), 19);
    assert_eq!(TEXT.len(), 30);
}

#[test]
fn subwords_merge_into_words_and_specials_belong_to_none() {
    let e = sample_explanation();
    type WordRow<'a> = (&'a str, usize, usize, usize, usize, Vec<usize>);
    let words: Vec<WordRow> = e
        .words
        .iter()
        .map(|w| (w.text.as_str(), w.start, w.end, w.byte_start, w.byte_end, w.tokens.clone()))
        .collect();
    assert_eq!(
        words,
        vec![
            ("Café", 0, 4, 0, 5, vec![1, 2]),
            ("naïve", 5, 10, 6, 12, vec![3, 4]),
            ("日", 11, 12, 13, 16, vec![5]),
            ("本", 12, 13, 16, 19, vec![6]),
            ("語", 13, 14, 19, 22, vec![7]),
            ("🙂", 15, 16, 23, 27, vec![8]),
            ("ok", 17, 19, 28, 30, vec![9]),
        ]
    );
    for w in &e.words {
        assert_eq!(char_slice(TEXT, w.start, w.end), w.text);
        for &t in &w.tokens {
            assert_eq!(e.tokens[t].word, Some(w.index));
        }
    }
    assert_eq!(e.tokens[0].word, None);
    assert_eq!(e.tokens[10].word, None);
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
}

#[test]
fn word_attributions_are_sums_of_their_tokens() {
    let e = sample_explanation();
    let t = &e.targets[0];
    // By hand from BERT_ATTR: Café = 0.25 + 0.125, naïve = -0.25 - 0.0625, …
    assert_eq!(t.word_attributions, vec![0.375, -0.3125, 0.03125, 0.0, -0.5, 1.0, 0.0078125]);
    assert_eq!(t.token_attributions, BERT_ATTR.to_vec());
    let total: f64 = BERT_ATTR.iter().sum();
    assert!((t.attribution_total - total).abs() < 1e-15);
    let specials = BERT_ATTR[0] + BERT_ATTR[10];
    let words: f64 = t.word_attributions.iter().sum();
    assert!((words - (total - specials)).abs() < 1e-12);
    // The second target keeps its spread and sweep, and its own numbers.
    let t1 = &e.targets[1];
    assert_eq!(t1.label, "insult");
    assert_eq!(t1.word_attributions[0], -0.1875);
    assert_eq!(t1.token_spread.as_ref().unwrap().len(), 11);
    assert_eq!(t1.layer_sweep.as_ref().unwrap().layers, vec!["encoder.0", "encoder.1"]);
    assert_eq!(t1.steps, Some(50));
    assert_eq!(e.predictions.len(), 3);
    assert_eq!(e.predictions[2].label, "threat");
    assert_eq!(e.predictions[2].index, 2);
    assert_eq!(e.predictions[2].logit, -1.0);
}

#[test]
fn byte_level_bpe_pieces_of_one_emoji_form_one_word() {
    // RoBERTa-style: the emoji is two byte-level tokens with the same offsets; a leading-space
    // token "Ġok" whose offsets exclude the space.
    let text = "hi 🙂 ok";
    let tokens: Vec<Tok> = vec![
        ("<s>", 0, (0, 0), None, true),
        ("hi", 10, (0, 2), Some(0), false),
        ("ĠðŁ", 11, (3, 7), Some(1), false),
        ("ĻĤ", 12, (3, 7), Some(1), false),
        ("Ġok", 13, (8, 10), Some(2), false),
        ("</s>", 2, (0, 0), None, true),
    ];
    let labels = labels();
    let pred = prediction(&labels);
    let attr = attribution(
        encoding(&tokens, false),
        vec![target(0, "toxic", 0.9, &[0.0, 1.0, 0.25, 0.5, -2.0, 0.0])],
    );
    let e = Explanation::new(None, text, &pred, &attr).unwrap();
    let w: Vec<(&str, usize, usize)> = e.words.iter().map(|w| (w.text.as_str(), w.start, w.end)).collect();
    assert_eq!(w, vec![("hi", 0, 2), ("🙂", 3, 4), ("ok", 5, 7)]);
    assert_eq!(e.words[1].tokens, vec![2, 3]);
    assert_eq!(e.targets[0].word_attributions, vec![1.0, 0.75, -2.0]);
}

#[test]
fn tokens_without_word_ids_merge_when_their_spans_touch() {
    let text = "unbelievable news";
    let tokens: Vec<Tok> = vec![
        ("[CLS]", 0, (0, 0), None, true),
        ("un", 1, (0, 2), None, false),
        ("believ", 2, (2, 8), None, false),
        ("able", 3, (8, 12), None, false),
        ("news", 4, (13, 17), None, false),
        ("[SEP]", 5, (0, 0), None, true),
    ];
    let labels = labels();
    let attr = attribution(
        encoding(&tokens, false),
        vec![target(2, "threat", 0.1, &[0.0, 1.0, 2.0, 4.0, 8.0, 0.0])],
    );
    let e = Explanation::new(None, text, &prediction(&labels), &attr).unwrap();
    let w: Vec<&str> = e.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(w, vec!["unbelievable", "news"]);
    assert_eq!(e.targets[0].word_attributions, vec![7.0, 8.0]);
}

#[test]
fn word_ids_restart_per_segment_and_specials_split_words() {
    // A pair encoding: word ids restart at 0 in the second segment.
    let text = "ab cd";
    let mut enc = encoding(
        &[
            ("[CLS]", 0, (0, 0), None, true),
            ("ab", 1, (0, 2), Some(0), false),
            ("[SEP]", 2, (0, 0), None, true),
            ("cd", 3, (3, 5), Some(0), false),
            ("[SEP]", 2, (0, 0), None, true),
        ],
        false,
    );
    enc.type_ids = vec![0, 0, 0, 1, 1];
    let labels = labels();
    let attr = attribution(enc, vec![target(0, "toxic", 0.9, &[0.0, 1.0, 0.0, 2.0, 0.0])]);
    let e = Explanation::new(None, text, &prediction(&labels), &attr).unwrap();
    assert_eq!(e.words.len(), 2);
    assert_eq!(e.targets[0].word_attributions, vec![1.0, 2.0]);
}

#[test]
fn offsets_inside_a_character_are_widened_with_a_warning() {
    // Byte 3 is inside "é" (bytes 3..5): the token is widened to the whole character.
    let tokens: Vec<Tok> = vec![("[CLS]", 0, (0, 0), None, true), ("caf", 1, (0, 4), Some(0), false)];
    let labels = labels();
    let attr = attribution(encoding(&tokens, true), vec![target(0, "toxic", 0.9, &[0.0, 1.0])]);
    let e = Explanation::new(None, TEXT, &prediction(&labels), &attr).unwrap();
    assert_eq!((e.tokens[1].byte_start, e.tokens[1].byte_end), (0, 5));
    assert_eq!((e.tokens[1].start, e.tokens[1].end), (0, 4));
    assert_eq!(e.words[0].text, "Café");
    assert!(e.truncated);
    assert!(e.warnings.iter().any(|w| w.contains("widened")), "{:?}", e.warnings);
    assert!(e.warnings.iter().any(|w| w.contains("truncated")), "{:?}", e.warnings);
}

#[test]
fn inconsistent_inputs_are_errors_not_panics() {
    let labels = labels();
    let pred = prediction(&labels);
    let check = |tokens: Vec<Tok>, attrs: Vec<f64>, text: &str, needle: &str| {
        let attr = attribution(encoding(&tokens, false), vec![target(0, "toxic", 0.9, &attrs)]);
        let err = Explanation::new(None, text, &pred, &attr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::User);
        assert!(err.to_string().contains(needle), "{err} does not mention {needle:?}");
    };
    // Beyond the end of the text, reversed, and far out of range.
    check(vec![("x", 1, (0, 31), Some(0), false)], vec![1.0], TEXT, "outside a text of 30 bytes");
    check(vec![("x", 1, (5, 2), Some(0), false)], vec![1.0], TEXT, "outside");
    check(vec![("x", 1, (usize::MAX, usize::MAX), Some(0), false)], vec![1.0], TEXT, "outside");
    check(vec![("x", 1, (0, 1), Some(0), false)], vec![1.0], "", "outside a text of 0 bytes");
    // Attribution count ≠ token count.
    check(vec![("x", 1, (0, 1), Some(0), false)], vec![1.0, 2.0], TEXT, "2 token attributions for 1 tokens");
    // Non-finite numbers.
    check(vec![("x", 1, (0, 1), Some(0), false)], vec![f64::NAN], TEXT, "non-finite");
    check(vec![("x", 1, (0, 1), Some(0), false)], vec![f64::INFINITY], TEXT, "non-finite");

    // Encoding vectors of different lengths.
    let mut enc = encoding(&[("x", 1, (0, 1), Some(0), false)], false);
    enc.special.push(true);
    let attr = attribution(enc, vec![target(0, "toxic", 0.9, &[1.0])]);
    assert!(Explanation::new(None, TEXT, &pred, &attr).is_err());

    // Label index beyond the prediction, and a layer sweep of the wrong shape.
    let enc = encoding(&[("x", 1, (0, 1), Some(0), false)], false);
    let attr = attribution(enc.clone(), vec![target(7, "nope", 0.9, &[1.0])]);
    assert!(Explanation::new(None, TEXT, &pred, &attr).is_err());
    let mut t = target(0, "toxic", 0.9, &[1.0]);
    t.layer_sweep = Some(LayerSweep {
        layers: vec!["a".into(), "b".into()],
        scores: vec![vec![1.0]],
        deltas: vec![0.0, 0.0],
    });
    let err = Explanation::new(None, TEXT, &pred, &attribution(enc.clone(), vec![t])).unwrap_err();
    assert!(err.to_string().contains("1 columns for 2 layers"), "{err}");
    let mut t = target(0, "toxic", 0.9, &[1.0]);
    t.token_spread = Some(vec![]);
    assert!(Explanation::new(None, TEXT, &pred, &attribution(enc, vec![t])).is_err());

    // Prediction with mismatched vectors.
    let mut bad = pred.clone();
    bad.scores.pop();
    let attr = attribution(encoding(&[("x", 1, (0, 1), Some(0), false)], false), vec![]);
    assert!(Explanation::new(None, TEXT, &bad, &attr).is_err());
}

#[test]
fn arbitrary_offsets_never_panic() {
    // Every (start, end) pair over a text with multi-byte characters, special or not.
    let text = "é日🙂a";
    let labels = labels();
    let pred = prediction(&labels);
    for start in 0..=text.len() + 2 {
        for end in 0..=text.len() + 2 {
            for special in [false, true] {
                let tokens: Vec<Tok> = vec![("t", 1, (start, end), Some(0), special)];
                let attr = attribution(encoding(&tokens, false), vec![target(0, "toxic", 0.5, &[1.0])]);
                match Explanation::new(None, text, &pred, &attr) {
                    Ok(e) => {
                        assert!(start <= end && end <= text.len());
                        let t = &e.tokens[0];
                        assert!(text.is_char_boundary(t.byte_start) && text.is_char_boundary(t.byte_end));
                        assert!(t.byte_start <= start && t.byte_end >= end);
                        assert_eq!(char_slice(text, t.start, t.end), text[t.byte_start..t.byte_end]);
                        for w in &e.words {
                            assert_eq!(char_slice(text, w.start, w.end), w.text);
                        }
                    }
                    Err(_) => assert!(start > end || end > text.len()),
                }
            }
        }
    }
}

#[test]
fn document_round_trips_through_json() {
    let doc = sample_document();
    let json = render_json(&doc);
    assert!(json.ends_with('\n'));
    let back: Document = serde_json::from_str(&json).unwrap();
    assert_eq!(back, doc);
    assert_eq!(Document::from_json(&json).unwrap(), doc);
    // The field names a consumer relies on (docs/json-schema.md).
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["schema"], "explainer.report/1");
    assert_eq!(v["run"]["model"]["problem"], "multi_label_classification");
    assert_eq!(v["run"]["model"]["hash"], format!("sha256:{}", "ab".repeat(32)));
    assert_eq!(v["run"]["output"], "probability");
    assert_eq!(v["run"]["method"]["n_steps"], 50);
    assert_eq!(v["run"]["versions"]["libtorch"], "2.13.0");
    let e = &v["explanations"][0];
    assert_eq!(e["id"], "row-1");
    assert_eq!(e["tokens"][2]["text"], "##fé");
    assert_eq!(e["tokens"][2]["start"], 2);
    assert_eq!(e["tokens"][2]["end"], 4);
    assert_eq!(e["tokens"][2]["byte_end"], 5);
    assert_eq!(e["tokens"][0]["word"], serde_json::Value::Null);
    assert_eq!(e["words"][1]["text"], "naïve");
    assert_eq!(e["targets"][0]["word_attributions"][0], 0.375);
    assert_eq!(e["targets"][0]["delta"], 1e-4);
    assert_eq!(e["targets"][0]["error_estimate"], serde_json::Value::Null);
    assert_eq!(e["targets"][1]["layer_sweep"]["layers"][1], "encoder.1");
    assert_eq!(e["predictions"][0]["label"], "toxic");
    // Every number survives exactly (shortest round-trip formatting).
    let scores: Vec<f64> = doc.explanations[0].predictions.iter().map(|p| p.score).collect();
    let back_scores: Vec<f64> = back.explanations[0].predictions.iter().map(|p| p.score).collect();
    assert_eq!(
        scores.iter().map(|s| s.to_bits()).collect::<Vec<_>>(),
        back_scores.iter().map(|s| s.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
fn record_is_one_self_contained_line_and_round_trips() {
    let doc = sample_document();
    let record = Record::new("row-1", &doc.run, doc.explanations[0].clone());
    let line = explainer_report::render_record(&record);
    assert_eq!(line.matches('\n').count(), 1, "one JSON line");
    assert!(line.ends_with('\n'));
    let back: Record = serde_json::from_str(&line).unwrap();
    assert_eq!(back, record);
    assert_eq!(Record::from_json(line.trim_end()).unwrap(), record);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["schema"], SCHEMA_VERSION);
    assert_eq!(v["id"], "row-1");
    assert_eq!(v["run"]["model_hash"], doc.run.model.hash);
    assert_eq!(v["run"]["version"], "0.1.0");
    assert_eq!(v["run"]["method"]["method"], "layer-integrated-gradients");
    assert_eq!(v["run"]["baseline"]["baseline"], "pad");
    assert_eq!(v["run"]["target"], "predicted");
    assert_eq!(v["run"]["output"], "probability");
    assert_eq!(v["explanation"]["text"], TEXT);
}

#[test]
fn other_schema_versions_are_refused_clearly() {
    let mut v: serde_json::Value = serde_json::to_value(sample_document()).unwrap();
    v["schema"] = "explainer.report/2".into();
    let err = Document::from_json(&v.to_string()).unwrap_err();
    assert!(err.to_string().contains("explainer.report/2"), "{err}");
    assert!(err.to_string().contains(SCHEMA_VERSION), "{err}");
    let err = Document::from_json("{}").unwrap_err();
    assert!(err.to_string().contains("schema"), "{err}");
    assert!(Document::from_json("not json").is_err());
    // Unknown fields (a later minor addition) are ignored; missing optional ones default.
    v["schema"] = SCHEMA_VERSION.into();
    v["future_field"] = 1.into();
    v["explanations"][0]["targets"][0].as_object_mut().unwrap().remove("layer_sweep");
    v["explanations"][0].as_object_mut().unwrap().remove("warnings");
    let doc = Document::from_json(&v.to_string()).unwrap();
    assert_eq!(doc.explanations[0].targets[0].layer_sweep, None);
}

#[test]
fn every_f64_reads_back_bit_for_bit() {
    // serde_json's default float parser is off by one ulp on some inputs (0.11920292202211755
    // read back as …56); the report enables its exact parser. 20 000 pseudo-random doubles
    // of every magnitude, through the real render/read path.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut values = vec![0.11920292202211755, 0.7772998611746911, f64::MIN_POSITIVE, f64::MAX, -0.0, 5e-324];
    while values.len() < 20_000 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let v = f64::from_bits(state);
        if v.is_finite() {
            values.push(v);
        }
    }
    let mut doc = sample_document();
    doc.explanations[0].targets[0].token_attributions = values.clone();
    let back = Document::from_json(&render_json(&doc)).unwrap();
    let got = &back.explanations[0].targets[0].token_attributions;
    for (a, b) in values.iter().zip(got) {
        assert_eq!(a.to_bits(), b.to_bits(), "{a:e} read back as {b:e}");
    }
}
