//! A WordPiece vocabulary trained on the corpus with the `tokenizers` crate, saved as the
//! `tokenizer.json` that transformers' `BertTokenizerFast` writes (uncased BERT pipeline).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::bert::BertProcessing;
use tokenizers::{
    AddedToken, Normalizer, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer, Tokenizer,
};

use crate::TrainError;

/// The special tokens, in id order: BERT's names, so `[PAD]` is id 0 as `pad_token_id` says.
pub const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Learns an uncased WordPiece vocabulary of at most `size` entries from `texts` and writes it
/// as `vocab.txt` and `tokenizer.json` into `dir` (no padding, no truncation: the model's
/// loader truncates). Returns the vocabulary size.
///
/// Texts are normalised and split into words by the `tokenizers` crate's BERT normaliser and
/// pre-tokeniser (the pipeline the saved tokenizer runs), then [`learn_merges`] builds the
/// vocabulary. The `tokenizers` crate's own `WordPieceTrainer` is not used: it keeps its
/// counts in hash maps with random per-process seeds, so two runs on the same texts give
/// different vocabularies (measured: 61 of ~3,400 entries differ), and the weights trained
/// on them differ too.
pub fn train_wordpiece(texts: &[&str], size: usize, dir: &Path) -> Result<usize, TrainError> {
    let err = |e: tokenizers::Error| TrainError::Tokenizer(e.to_string());
    let normalizer = BertNormalizer::new(true, true, None, true);
    let mut words: BTreeMap<String, u64> = BTreeMap::new();
    for text in texts {
        let mut pre = PreTokenizedString::from(*text);
        pre.normalize(|n| normalizer.normalize(n)).map_err(err)?;
        BertPreTokenizer.pre_tokenize(&mut pre).map_err(err)?;
        for (word, _, _) in pre.get_splits(OffsetReferential::Normalized, OffsetType::Char) {
            *words.entry(word.to_owned()).or_default() += 1;
        }
    }
    let mut vocab: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
    vocab.extend(learn_merges(&words, size.saturating_sub(SPECIAL_TOKENS.len()), MIN_FREQUENCY));
    let vocab_txt = dir.join("vocab.txt");
    let mut text = vocab.join("\n");
    text.push('\n');
    std::fs::write(&vocab_txt, text)
        .map_err(|e| TrainError::file(&vocab_txt, format!("cannot write: {e}")))?;

    let model = WordPiece::from_file(&vocab_txt.to_string_lossy())
        .unk_token("[UNK]".into())
        .continuing_subword_prefix("##".into())
        .max_input_chars_per_word(100)
        .build()
        .map_err(err)?;
    let mut tokenizer = Tokenizer::new(model);
    tokenizer.with_normalizer(Some(normalizer)).map_err(err)?;
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    tokenizer.add_special_tokens(SPECIAL_TOKENS.iter().map(|t| AddedToken::from(*t, true))).map_err(err)?;
    let id = |token: &str| {
        tokenizer
            .token_to_id(token)
            .ok_or_else(|| TrainError::Tokenizer(format!("no {token} in the vocabulary")))
    };
    let (cls, sep) = (id("[CLS]")?, id("[SEP]")?);
    tokenizer.with_post_processor(Some(BertProcessing::new(("[SEP]".into(), sep), ("[CLS]".into(), cls))));
    tokenizer.with_decoder(Some(WordPieceDecoder::new("##".into(), true)));
    tokenizer.save(dir.join("tokenizer.json"), true).map_err(err)?;
    Ok(tokenizer.get_vocab_size(true))
}

/// A pair must occur this often to be merged (as the `tokenizers` trainer's `min_frequency`).
const MIN_FREQUENCY: u64 = 2;

/// WordPiece vocabulary learning as the `tokenizers` crate's trainer does it (byte-pair merges
/// over word counts, continuation pieces marked `##`), deterministic: the alphabet in sorted
/// order, then at each step the most frequent adjacent pair is merged, ties broken by the
/// pair's strings. Stops at `size` entries or when no pair occurs `min_frequency` times.
pub fn learn_merges(words: &BTreeMap<String, u64>, size: usize, min_frequency: u64) -> Vec<String> {
    let mut symbols: Vec<String> = Vec::new();
    let mut index: HashMap<String, u32> = HashMap::new();
    let mut intern = |s: String, symbols: &mut Vec<String>| -> u32 {
        *index.entry(s.clone()).or_insert_with(|| {
            symbols.push(s);
            (symbols.len() - 1) as u32
        })
    };
    // The alphabet: every word-initial character and every "##" continuation, sorted.
    let alphabet: BTreeSet<String> = words
        .keys()
        .flat_map(|w| {
            w.chars().enumerate().map(|(i, c)| if i == 0 { c.to_string() } else { format!("##{c}") })
        })
        .collect();
    for a in alphabet {
        intern(a, &mut symbols);
    }
    let mut split: Vec<(Vec<u32>, u64)> = words
        .iter()
        .map(|(w, &n)| {
            let pieces = w
                .chars()
                .enumerate()
                .map(|(i, c)| index_of(&symbols, &if i == 0 { c.to_string() } else { format!("##{c}") }))
                .collect();
            (pieces, n)
        })
        .collect();
    let mut vocab: Vec<String> = symbols.clone();
    while vocab.len() < size {
        let mut counts: HashMap<(u32, u32), u64> = HashMap::new();
        for (pieces, n) in &split {
            for pair in pieces.windows(2) {
                *counts.entry((pair[0], pair[1])).or_default() += n;
            }
        }
        let best = counts.into_iter().filter(|(_, n)| *n >= min_frequency).max_by(|(p, n), (q, m)| {
            n.cmp(m).then_with(|| {
                (&symbols[q.0 as usize], &symbols[q.1 as usize])
                    .cmp(&(&symbols[p.0 as usize], &symbols[p.1 as usize]))
            })
        });
        let Some(((a, b), _)) = best else { break };
        let merged = format!("{}{}", symbols[a as usize], symbols[b as usize].trim_start_matches("##"));
        let known = symbols.len();
        let id = intern(merged.clone(), &mut symbols);
        if id as usize == known {
            vocab.push(merged);
        }
        for (pieces, _) in split.iter_mut() {
            let mut i = 0;
            while i + 1 < pieces.len() {
                if pieces[i] == a && pieces[i + 1] == b {
                    pieces[i] = id;
                    pieces.remove(i + 1);
                }
                i += 1;
            }
        }
    }
    vocab.truncate(size);
    vocab
}

fn index_of(symbols: &[String], s: &str) -> u32 {
    symbols.iter().position(|x| x == s).unwrap_or(0) as u32
}

/// `tokenizer_config.json` for transformers' `AutoTokenizer` (a fast BERT tokenizer, uncased).
pub fn tokenizer_config(max_len: usize) -> serde_json::Value {
    serde_json::json!({
        "tokenizer_class": "BertTokenizerFast",
        "do_lower_case": true,
        "model_max_length": max_len,
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "cls_token": "[CLS]",
        "sep_token": "[SEP]",
        "mask_token": "[MASK]",
        "clean_up_tokenization_spaces": true
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook byte-pair example (Sennrich et al. 2016), with WordPiece's `##` marks:
    /// counts computed by hand give "##e ##s" and "##s ##t" 9 each (a tie, broken by the
    /// strings: "##e" sorts first), then "##es ##t" 9, then "##o ##w" 7 (tied with "l ##o").
    #[test]
    fn merges_follow_the_counts_computed_by_hand() {
        let words: BTreeMap<String, u64> = [("low", 5), ("lower", 2), ("newest", 6), ("widest", 3)]
            .into_iter()
            .map(|(w, n)| (w.into(), n))
            .collect();
        let vocab = learn_merges(&words, 14, 2);
        let alphabet = ["##d", "##e", "##i", "##o", "##r", "##s", "##t", "##w", "l", "n", "w"];
        assert_eq!(&vocab[..11], alphabet);
        assert_eq!(&vocab[11..], ["##es", "##est", "##ow"]);
        // A pair below min_frequency is never merged; the alphabet alone when none reaches it.
        assert_eq!(learn_merges(&words, 100, 100).len(), alphabet.len());
    }

    #[test]
    fn the_saved_tokenizer_is_the_same_every_time_and_splits_unknown_words() {
        let texts = ["the passport number is here", "passports and numbers", "the number of the passport"];
        let dirs =
            [std::env::temp_dir().join("explainer-vocab-a"), std::env::temp_dir().join("explainer-vocab-b")];
        for dir in &dirs {
            std::fs::create_dir_all(dir).unwrap();
            train_wordpiece(&texts, 60, dir).unwrap();
        }
        let read = |d: &Path| std::fs::read(d.join("tokenizer.json")).unwrap();
        assert_eq!(read(&dirs[0]), read(&dirs[1]));
        let tokenizer = Tokenizer::from_file(dirs[0].join("tokenizer.json")).unwrap();
        let encoding = tokenizer.encode("Passport NUMBERS!", true).unwrap();
        let tokens = encoding.get_tokens();
        assert_eq!(tokens.first().map(String::as_str), Some("[CLS]"));
        assert_eq!(tokens.last().map(String::as_str), Some("[SEP]"));
        assert!(tokens.iter().any(|t| t.starts_with("##")), "{tokens:?}");
        for dir in &dirs {
            std::fs::remove_dir_all(dir).unwrap();
        }
    }
}
