//! Interpretable features: which tokens are switched on and off together.

use explainer_core::{Encoding, Error, Result};
use serde::{Deserialize, Serialize};

/// How the tokens of a text are grouped into the features a method perturbs together.
///
/// Special tokens (`[CLS]`, `[SEP]`, …) are never part of a feature unless a user's mask puts
/// them in one; they keep their input value and get attribution 0. Serialised as `"tokens"`,
/// `"words"`, `"phrases"`, `"sentences"` or `{"mask": [0, 0, 1, null, …]}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Groups {
    /// Every non-special token on its own.
    Tokens,
    /// The tokens of one word (from the tokenizer's word ids, i.e. its offsets), the default.
    #[default]
    Words,
    /// Runs of words up to and including a phrase-ending punctuation token (`,` `;` `:` and
    /// the sentence ends), or the end of the text.
    Phrases,
    /// Runs of words up to and including a sentence-ending punctuation token (`.` `!` `?`), or
    /// the end of the text.
    Sentences,
    /// A user's feature mask: one entry per token (special tokens included), the feature index
    /// of the token or `null` for a token that is never perturbed. Feature indices must be
    /// 0, 1, …, n − 1, each used at least once; the mask must have the text's token count.
    Mask(Vec<Option<usize>>),
}

impl Groups {
    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Groups::Tokens => "tokens",
            Groups::Words => "words",
            Groups::Phrases => "phrases",
            Groups::Sentences => "sentences",
            Groups::Mask(_) => "mask",
        }
    }

    /// The features of `encoding`: each a non-empty, increasing list of token positions; no
    /// position is in two features.
    pub fn features(&self, encoding: &Encoding) -> Result<Vec<Vec<usize>>> {
        let n = encoding.len();
        match self {
            Groups::Tokens => Ok((0..n).filter(|&i| !encoding.special[i]).map(|i| vec![i]).collect()),
            Groups::Words => Ok(words(encoding)),
            Groups::Phrases => Ok(runs(encoding, &[",", ";", ":", ".", "!", "?"])),
            Groups::Sentences => Ok(runs(encoding, &[".", "!", "?"])),
            Groups::Mask(mask) => {
                if mask.len() != n {
                    return Err(Error::InvalidInput(format!(
                        "the feature mask has {} entries but the text has {n} tokens (special tokens included); give one feature index or null per token",
                        mask.len()
                    )));
                }
                let count = mask.iter().flatten().max().map_or(0, |m| m + 1);
                let mut features = vec![Vec::new(); count];
                for (i, m) in mask.iter().enumerate() {
                    if let Some(m) = m {
                        features[*m].push(i);
                    }
                }
                if let Some(missing) = features.iter().position(Vec::is_empty) {
                    return Err(Error::InvalidInput(format!(
                        "the feature mask uses indices up to {} but not {missing}; number features 0, 1, …, n − 1",
                        count - 1
                    )));
                }
                Ok(features)
            }
        }
    }
}

/// Non-special tokens grouped by word id (a token without a word id is its own feature).
fn words(encoding: &Encoding) -> Vec<Vec<usize>> {
    let mut features: Vec<Vec<usize>> = Vec::new();
    let mut last: Option<usize> = None;
    for i in 0..encoding.len() {
        if encoding.special[i] {
            last = None;
            continue;
        }
        match (encoding.word_ids[i], last) {
            (Some(w), Some(l)) if w == l => {
                if let Some(f) = features.last_mut() {
                    f.push(i);
                }
            }
            (w, _) => {
                features.push(vec![i]);
                last = w;
            }
        }
    }
    features
}

/// The token's text without sub-word markers (`##`, `Ġ`, `▁`).
pub(crate) fn bare(token: &str) -> &str {
    token.trim_start_matches("##").trim_start_matches('Ġ').trim_start_matches('▁').trim()
}

/// Words merged into runs that end at a word made only of one of `ends`.
fn runs(encoding: &Encoding, ends: &[&str]) -> Vec<Vec<usize>> {
    let mut features: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for word in words(encoding) {
        let text: String = word.iter().map(|&i| bare(&encoding.tokens[i])).collect();
        current.extend(&word);
        if ends.contains(&text.as_str()) {
            features.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        features.push(current);
    }
    features
}

/// The units occlusion slides its window over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Token positions, special tokens included (as Captum's `Occlusion` on the ids; a window
    /// over a special token leaves it in place).
    #[default]
    Tokens,
    /// Words (special tokens excluded).
    Words,
}

impl Unit {
    /// The units of `encoding`, in order.
    pub fn units(self, encoding: &Encoding) -> Vec<Vec<usize>> {
        match self {
            Unit::Tokens => (0..encoding.len()).map(|i| vec![i]).collect(),
            Unit::Words => words(encoding),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoding(tokens: &[&str], words: &[Option<usize>]) -> Encoding {
        let n = tokens.len();
        Encoding {
            ids: (0..n as i64).collect(),
            type_ids: vec![0; n],
            tokens: tokens.iter().map(|t| t.to_string()).collect(),
            offsets: vec![(0, 0); n],
            word_ids: words.to_vec(),
            special: words.iter().map(Option::is_none).collect(),
            truncated: false,
        }
    }

    #[test]
    fn groups_follow_words_phrases_and_sentences() {
        let e = encoding(
            &["[CLS]", "wire", "##d", "now", ",", "please", ".", "thanks", "[SEP]"],
            &[None, Some(0), Some(0), Some(1), Some(2), Some(3), Some(4), Some(5), None],
        );
        assert_eq!(Groups::Tokens.features(&e).unwrap().len(), 7);
        assert_eq!(
            Groups::Words.features(&e).unwrap(),
            vec![vec![1, 2], vec![3], vec![4], vec![5], vec![6], vec![7]]
        );
        assert_eq!(Groups::Phrases.features(&e).unwrap(), vec![vec![1, 2, 3, 4], vec![5, 6], vec![7]]);
        assert_eq!(Groups::Sentences.features(&e).unwrap(), vec![vec![1, 2, 3, 4, 5, 6], vec![7]]);
        let mask = Groups::Mask(vec![None, Some(1), Some(1), Some(0), None, None, None, Some(0), None]);
        assert_eq!(mask.features(&e).unwrap(), vec![vec![3, 7], vec![1, 2]]);
        assert!(Groups::Mask(vec![Some(0)]).features(&e).is_err());
        let gap = Groups::Mask(vec![None, Some(2), None, None, None, None, None, Some(0), None]);
        assert!(gap.features(&e).unwrap_err().to_string().contains("not 1"));
        assert_eq!(Unit::Tokens.units(&e).len(), 9);
        assert_eq!(Unit::Words.units(&e).len(), 6);
    }
}
