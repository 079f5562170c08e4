//! Tokenised text: what a model's encoder produces and every method consumes.

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// One text after tokenisation, with everything needed to map scores back onto it.
///
/// All vectors have one entry per token, special tokens included.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// Token ids in the model's vocabulary.
    pub ids: Vec<i64>,
    /// Segment ids (BERT's token_type_ids); all zero for single texts.
    pub type_ids: Vec<i64>,
    /// The tokens as strings, for display.
    pub tokens: Vec<String>,
    /// Byte offsets `[start, end)` of each token in the ORIGINAL text; `(0, 0)` for special
    /// tokens that cover no text.
    pub offsets: Vec<(usize, usize)>,
    /// Index of the word each token belongs to; `None` for special tokens.
    pub word_ids: Vec<Option<usize>>,
    /// Whether each token is a special token (`[CLS]`, `[SEP]`, `<s>`, …).
    pub special: Vec<bool>,
    /// Whether the text was cut to fit the model's maximum length.
    pub truncated: bool,
}

impl Encoding {
    /// Number of tokens, special tokens included.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the encoding has no tokens at all.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Checks that every per-token vector has the same length.
    pub fn validate(&self) -> Result<()> {
        let n = self.ids.len();
        let lengths = [
            ("type_ids", self.type_ids.len()),
            ("tokens", self.tokens.len()),
            ("offsets", self.offsets.len()),
            ("word_ids", self.word_ids.len()),
            ("special", self.special.len()),
        ];
        for (name, len) in lengths {
            if len != n {
                return Err(Error::InvalidInput(format!("encoding has {n} ids but {len} {name}")));
            }
        }
        Ok(())
    }
}

/// The special tokens of a vocabulary, by id, where the vocabulary has them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialTokens {
    /// Padding token (`[PAD]`, `<pad>`).
    pub pad: Option<i64>,
    /// Unknown-word token (`[UNK]`, `<unk>`).
    pub unk: Option<i64>,
    /// Masking token (`[MASK]`, `<mask>`).
    pub mask: Option<i64>,
    /// Sequence start / classification token (`[CLS]`, `<s>`).
    pub cls: Option<i64>,
    /// Sequence end / separator token (`[SEP]`, `</s>`).
    pub sep: Option<i64>,
}

/// Turns text into an [`Encoding`] for one model.
pub trait TextEncoder {
    /// Tokenises one text. Texts longer than [`TextEncoder::max_len`] are truncated and
    /// marked [`Encoding::truncated`]; an empty text gives just the special tokens.
    fn encode(&self, text: &str) -> Result<Encoding>;

    /// Tokenises one text WITHOUT truncation, for splitting a long text into windows
    /// (`explainer_pipeline::long_text`). The default is [`TextEncoder::encode`]: an encoder
    /// that cannot do better still marks a long text [`Encoding::truncated`], and callers
    /// that need the whole text refuse it.
    fn encode_untruncated(&self, text: &str) -> Result<Encoding> {
        self.encode(text)
    }

    /// The vocabulary's special tokens.
    fn special_tokens(&self) -> &SpecialTokens;

    /// Number of entries in the vocabulary.
    fn vocab_size(&self) -> usize;

    /// The most tokens, special tokens included, that the model accepts in one text.
    fn max_len(&self) -> usize;

    /// The string form of a token id, when the vocabulary has it.
    fn id_to_token(&self, id: i64) -> Option<String>;
}
