//! `TextEncoder::encode_untruncated` with the fixtures' real Hugging Face tokenizers (WordPiece,
//! byte-level BPE, SentencePiece Unigram) on texts longer than the model's window, against
//! transformers' own untruncated encodings (`tokenizer(text, truncation=False)`, written by
//! scripts/fixtures/make_untruncated_fixtures.py): the same ids, tokens, byte offsets and word
//! ids, and `encode` is its first `max_len − 1` tokens plus the final special token.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::Path;

use explainer_core::TextEncoder;
use explainer_transformers::HfTokenizer;
use serde::Deserialize;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

#[derive(Deserialize)]
struct Reference {
    checkpoints: Vec<Checkpoint>,
}

#[derive(Deserialize)]
struct Checkpoint {
    checkpoint: String,
    max_length: usize,
    texts: Vec<Text>,
}

#[derive(Deserialize)]
struct Text {
    name: String,
    text: String,
    input_ids: Vec<i64>,
    tokens: Vec<String>,
    offsets_utf8_bytes: Vec<(usize, usize)>,
    word_ids: Vec<Option<usize>>,
}

#[test]
fn untruncated_encodings_equal_the_tokenizers_own_on_texts_longer_than_the_window() {
    let path = Path::new(FIXTURES).join("untruncated.json");
    let reference: Reference = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(reference.checkpoints.len(), 3, "WordPiece, byte-level BPE and Unigram");
    for checkpoint in &reference.checkpoints {
        let dir = Path::new(FIXTURES).join(&checkpoint.checkpoint);
        let tokenizer =
            HfTokenizer::from_tokenizer_json(&dir.join("tokenizer.json"), checkpoint.max_length).unwrap();
        assert_eq!(tokenizer.max_len(), checkpoint.max_length);
        for want in &checkpoint.texts {
            let at = format!("{} / {}", checkpoint.checkpoint, want.name);
            let got = tokenizer.encode_untruncated(&want.text).unwrap();
            got.validate().unwrap();
            assert!(got.len() > tokenizer.max_len(), "{at}: the text must be longer than the window");
            assert!(!got.truncated, "{at}");
            assert_eq!(got.ids, want.input_ids, "{at}: ids");
            assert_eq!(got.tokens, want.tokens, "{at}: tokens");
            assert_eq!(got.word_ids, want.word_ids, "{at}: word ids");
            assert_eq!(got.offsets, want.offsets_utf8_bytes, "{at}: byte offsets");
            // The offsets slice the original text on character boundaries, the special tokens
            // (no word) at (0, 0) and only at the two ends.
            for (i, &(start, end)) in got.offsets.iter().enumerate() {
                assert!(want.text.get(start..end).is_some(), "{at}: token {i} at {start}..{end}");
                assert_eq!(got.special[i], got.word_ids[i].is_none(), "{at}: token {i}");
            }
            let specials: Vec<usize> = (0..got.len()).filter(|&i| got.special[i]).collect();
            assert_eq!(specials, [0, got.len() - 1], "{at}");
            // The ordinary encoding is the same text cut to the window, its last special kept.
            let cut = tokenizer.encode(&want.text).unwrap();
            assert!(cut.truncated, "{at}");
            assert_eq!(cut.len(), tokenizer.max_len(), "{at}");
            let n = tokenizer.max_len() - 1;
            assert_eq!(cut.ids[..n], got.ids[..n], "{at}");
            assert_eq!(cut.offsets[..n], got.offsets[..n], "{at}");
            assert_eq!(cut.ids.last(), got.ids.last(), "{at}");
        }
    }
}
