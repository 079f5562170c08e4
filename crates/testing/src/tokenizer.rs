//! A word-level tokenizer for the tiny test model.

use explainer_core::{Encoding, Error, Result, SpecialTokens, TextEncoder};

/// The special tokens, in vocabulary order (ids 0–4).
pub const SPECIALS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Splits text into words (runs of alphanumeric characters) and single punctuation marks,
/// looks them up lower-cased in a fixed vocabulary, and wraps them in `[CLS]` … `[SEP]`.
#[derive(Debug, Clone)]
pub struct WordTokenizer {
    vocab: Vec<String>,
    specials: SpecialTokens,
    max_len: usize,
}

impl WordTokenizer {
    /// A tokenizer over `SPECIALS` followed by `words`, accepting `max_len` tokens.
    pub fn new(words: &[String], max_len: usize) -> Result<Self> {
        if max_len < 2 {
            return Err(Error::InvalidConfig(format!("max_len must be at least 2, got {max_len}")));
        }
        let mut vocab: Vec<String> = SPECIALS.iter().map(|s| s.to_string()).collect();
        vocab.extend(words.iter().map(|w| w.to_lowercase()));
        Ok(WordTokenizer {
            vocab,
            specials: SpecialTokens { pad: Some(0), unk: Some(1), cls: Some(2), sep: Some(3), mask: Some(4) },
            max_len,
        })
    }

    fn lookup(&self, word: &str) -> i64 {
        let lower = word.to_lowercase();
        self.vocab
            .iter()
            .skip(SPECIALS.len())
            .position(|v| *v == lower)
            .map_or(1, |i| (i + SPECIALS.len()) as i64)
    }
}

/// Byte spans of the words and punctuation marks of `text`.
fn pieces(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            start.get_or_insert(i);
            continue;
        }
        if let Some(s) = start.take() {
            spans.push((s, i));
        }
        if !c.is_whitespace() {
            spans.push((i, i + c.len_utf8()));
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

impl WordTokenizer {
    /// The encoding of `text` with at most `room` words between `[CLS]` and `[SEP]`.
    fn encode_with_room(&self, text: &str, room: usize) -> Encoding {
        let spans = pieces(text);
        let truncated = spans.len() > room;
        let kept = &spans[..spans.len().min(room)];
        let mut encoding = Encoding {
            ids: vec![2],
            type_ids: vec![0],
            tokens: vec!["[CLS]".into()],
            offsets: vec![(0, 0)],
            word_ids: vec![None],
            special: vec![true],
            truncated,
        };
        for (word, &(s, e)) in kept.iter().enumerate() {
            let id = self.lookup(&text[s..e]);
            encoding.ids.push(id);
            encoding.type_ids.push(0);
            encoding.tokens.push(self.vocab[id as usize].clone());
            encoding.offsets.push((s, e));
            encoding.word_ids.push(Some(word));
            encoding.special.push(false);
        }
        encoding.ids.push(3);
        encoding.type_ids.push(0);
        encoding.tokens.push("[SEP]".into());
        encoding.offsets.push((0, 0));
        encoding.word_ids.push(None);
        encoding.special.push(true);
        encoding
    }
}

impl TextEncoder for WordTokenizer {
    fn encode(&self, text: &str) -> Result<Encoding> {
        Ok(self.encode_with_room(text, self.max_len - 2))
    }

    fn encode_untruncated(&self, text: &str) -> Result<Encoding> {
        Ok(self.encode_with_room(text, usize::MAX))
    }

    fn special_tokens(&self) -> &SpecialTokens {
        &self.specials
    }

    fn vocab_size(&self) -> usize {
        self.vocab.len()
    }

    fn max_len(&self) -> usize {
        self.max_len
    }

    fn id_to_token(&self, id: i64) -> Option<String> {
        usize::try_from(id).ok().and_then(|i| self.vocab.get(i)).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_point_into_the_original_text() {
        let t = WordTokenizer::new(&["crème".into(), "brûlée".into()], 16).unwrap();
        let text = "Crème  brûlée, 東京!";
        let e = t.encode(text).unwrap();
        let shown: Vec<&str> = e.offsets.iter().map(|&(s, x)| &text[s..x]).collect();
        assert_eq!(shown, ["", "Crème", "brûlée", ",", "東京", "!", ""]);
        assert_eq!(e.ids[1..3], [5, 6]);
        assert_eq!(e.ids[4], 1, "unknown word maps to [UNK]");
        assert!(!e.truncated);
    }

    #[test]
    fn empty_and_long_texts() {
        let t = WordTokenizer::new(&[], 4).unwrap();
        assert_eq!(t.encode("").unwrap().ids, [2, 3]);
        let e = t.encode("a b c d").unwrap();
        assert_eq!(e.len(), 4);
        assert!(e.truncated);
    }
}
