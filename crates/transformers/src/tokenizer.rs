//! Tokenizers for Hugging Face checkpoints, as explainer [`TextEncoder`]s.
//!
//! [`HfTokenizer`] wraps the Rust `tokenizers` crate. It loads, in order of preference, a
//! checkpoint's `tokenizer.json`, a WordPiece `vocab.txt` (built as transformers'
//! `BertTokenizerFast` builds it) or a byte-level BPE `vocab.json` + `merges.txt` (as
//! `RobertaTokenizerFast` builds it). Whatever the file says about padding and truncation is
//! switched off; the tokenizer truncates every text on the right to [`TextEncoder::max_len`]
//! tokens, special tokens included, and reports it in [`Encoding::truncated`].
//!
//! Special tokens are named by `special_tokens_map.json` / `tokenizer_config.json` next to the
//! tokenizer files when present (as transformers reads them), else by their usual strings.
//!
//! Every problem with a file is an [`Error::File`] naming it; a panic inside the `tokenizers`
//! crate (some malformed `tokenizer.json` files make it panic while loading) is caught and
//! turned into an error too.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use explainer_core::{Encoding, Error, Result, SpecialTokens, TextEncoder};
use serde_json::{Map, Value};
use tokenizers::decoders::byte_level::ByteLevel;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::bpe::{BPE, Merges, Vocab};
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::roberta::RobertaProcessing;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{
    AddedToken, PostProcessor, Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy,
};

use crate::config::Family;

const TOKENIZER_JSON: &str = "tokenizer.json";
const VOCAB_TXT: &str = "vocab.txt";
const VOCAB_JSON: &str = "vocab.json";
const MERGES_TXT: &str = "merges.txt";
const TOKENIZER_CONFIG: &str = "tokenizer_config.json";
const SPECIAL_TOKENS_MAP: &str = "special_tokens_map.json";

/// Which tokenizer family to build when there is no tokenizer.json.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenizerKind {
    /// BERT-style WordPiece from `vocab.txt`.
    WordPiece,
    /// RoBERTa-style byte-level BPE from `vocab.json` + `merges.txt`.
    ByteLevelBpe,
    /// SentencePiece (DeBERTa-v2/v3): only from `tokenizer.json`; `spm.model` is not read.
    SentencePiece,
}

impl From<Family> for TokenizerKind {
    /// BERT, DistilBERT and ELECTRA use WordPiece, the RoBERTa family and ModernBERT
    /// byte-level BPE, DeBERTa-v2/v3 SentencePiece.
    fn from(family: Family) -> Self {
        match family {
            Family::Bert | Family::DistilBert | Family::Electra => TokenizerKind::WordPiece,
            Family::Roberta | Family::ModernBert => TokenizerKind::ByteLevelBpe,
            Family::DebertaV2 => TokenizerKind::SentencePiece,
        }
    }
}

/// How [`HfTokenizer::from_dir`] builds a tokenizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizerOptions {
    /// The family to build from `vocab.txt` or `vocab.json` + `merges.txt` when the directory
    /// has no `tokenizer.json` (a `tokenizer.json` describes itself).
    pub kind: TokenizerKind,
    /// The most tokens per text, special tokens included; longer texts are truncated.
    pub max_len: usize,
    /// Lower-case (and strip accents) for WordPiece from `vocab.txt`; `None`: the
    /// `do_lower_case` of `tokenizer_config.json`, else `true`. Ignored for other files.
    pub lowercase: Option<bool>,
}

impl TokenizerOptions {
    /// Options for `kind` and `max_len`, with `lowercase` taken from the checkpoint.
    pub fn new(kind: TokenizerKind, max_len: usize) -> Self {
        TokenizerOptions { kind, max_len, lowercase: None }
    }
}

/// A Hugging Face tokenizer as an explainer `TextEncoder`.
pub struct HfTokenizer {
    tokenizer: Tokenizer,
    /// The same tokenizer without truncation, for long-text windows.
    untruncated: Tokenizer,
    special: SpecialTokens,
    max_len: usize,
    vocab_size: usize,
    source: PathBuf,
}

impl fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HfTokenizer")
            .field("source", &self.source)
            .field("max_len", &self.max_len)
            .field("vocab_size", &self.vocab_size)
            .field("special", &self.special)
            .finish_non_exhaustive()
    }
}

impl HfTokenizer {
    /// Loads from a checkpoint directory: `tokenizer.json` if present; else the files of
    /// `options.kind` (`vocab.txt` for WordPiece, `vocab.json` + `merges.txt` for byte-level
    /// BPE). Missing files → [`Error::File`] naming the directory and the files looked for.
    pub fn from_dir(dir: &Path, options: &TokenizerOptions) -> Result<Self> {
        if !dir.is_dir() {
            let problem = if dir.exists() { "is not a directory" } else { "does not exist" };
            return Err(Error::file(dir, format!("{problem}; expected a checkpoint directory")));
        }
        let tokenizer_json = dir.join(TOKENIZER_JSON);
        if tokenizer_json.is_file() {
            return Self::from_tokenizer_json(&tokenizer_json, options.max_len);
        }
        let present = |name: &str| dir.join(name).is_file();
        match options.kind {
            TokenizerKind::WordPiece if present(VOCAB_TXT) => {
                let lowercase = match options.lowercase {
                    Some(lowercase) => lowercase,
                    None => DirConfig::load(dir)?.bool("do_lower_case")?.unwrap_or(true),
                };
                return Self::from_wordpiece_vocab(&dir.join(VOCAB_TXT), lowercase, options.max_len);
            }
            TokenizerKind::ByteLevelBpe if present(VOCAB_JSON) && present(MERGES_TXT) => {
                return Self::from_bpe_files(&dir.join(VOCAB_JSON), &dir.join(MERGES_TXT), options.max_len);
            }
            _ => {}
        }
        let (wanted, family) = match options.kind {
            TokenizerKind::WordPiece => ("vocab.txt (WordPiece)", "WordPiece"),
            TokenizerKind::ByteLevelBpe => ("vocab.json + merges.txt (byte-level BPE)", "byte-level BPE"),
            TokenizerKind::SentencePiece => (
                "nothing else (a SentencePiece spm.model is not read: write tokenizer.json with \
                 `AutoTokenizer.from_pretrained(dir).save_pretrained(dir)`)",
                "SentencePiece",
            ),
        };
        let mut problem = format!("no tokenizer found: looked for {TOKENIZER_JSON}, then {wanted}");
        let found: Vec<&str> =
            [VOCAB_TXT, VOCAB_JSON, MERGES_TXT].into_iter().filter(|f| present(f)).collect();
        if !found.is_empty() {
            problem.push_str(&format!(
                "; found only {}, which cannot build the {family} tokenizer this model needs",
                found.join(" and ")
            ));
        }
        Err(Error::file(dir, problem))
    }

    /// Loads a `tokenizer.json`, with padding and truncation switched off and this crate's
    /// truncation to `max_len` tokens (special tokens included) switched on. Special tokens
    /// are named by the `tokenizer_config.json` / `special_tokens_map.json` beside it, if any.
    pub fn from_tokenizer_json(path: &Path, max_len: usize) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::file(path, "is empty"));
        }
        let tokenizer = match catch_unwind(AssertUnwindSafe(|| Tokenizer::from_bytes(&bytes))) {
            Ok(Ok(tokenizer)) => tokenizer,
            Ok(Err(e)) => return Err(Error::file(path, format!("is not a valid tokenizer.json: {e}"))),
            Err(panic) => {
                return Err(Error::file(
                    path,
                    format!(
                        "is not a valid tokenizer.json (the tokenizers library panicked on it: {})",
                        panic_message(panic.as_ref())
                    ),
                ));
            }
        };
        let config = DirConfig::load(parent_dir(path))?;
        Self::finish(tokenizer, &config, max_len, path)
    }

    /// Builds BERT's WordPiece tokenizer from a `vocab.txt` (one token per line, line number =
    /// id) as transformers' `BertTokenizerFast` does: BertNormalizer (clean text, Chinese
    /// characters split, accents stripped when lower-casing), BertPreTokenizer, WordPiece
    /// (`##`, at most 100 characters per word), `[CLS] $A [SEP]`.
    ///
    /// `tokenizer_config.json` / `special_tokens_map.json` beside the file may rename the
    /// special tokens and set `strip_accents` / `tokenize_chinese_chars`.
    pub fn from_wordpiece_vocab(path: &Path, lowercase: bool, max_len: usize) -> Result<Self> {
        let text = read_utf8(path)?;
        if text.trim().is_empty() {
            return Err(Error::file(path, "is empty; expected one token per line"));
        }
        // As `WordPiece::read_file` (what transformers ends up calling): one token per line,
        // trailing whitespace removed, a later duplicate line wins.
        let mut vocab: Vocab = Vocab::default();
        for (index, line) in text.lines().enumerate() {
            let id = u32::try_from(index).map_err(|_| Error::file(path, "has more than 2^32 lines"))?;
            vocab.insert(line.trim_end().to_owned(), id);
        }
        let config = DirConfig::load(parent_dir(path))?;
        let names = SpecialNames::read(&config, Defaults::WORDPIECE)?;
        for (what, token) in
            [("unknown-word (unk_token)", &names.unk), ("cls_token", &names.cls), ("sep_token", &names.sep)]
        {
            let name = token.as_ref().map_or("", |t| t.content.as_str());
            if !vocab.contains_key(name) {
                return Err(Error::file(path, format!("has no {what} token {name:?}")));
            }
        }
        let unk = names.unk.as_ref().map(|t| t.content.clone()).unwrap_or_default();
        let model = WordPiece::builder()
            .vocab(vocab)
            .unk_token(unk)
            .continuing_subword_prefix("##".to_owned())
            .max_input_chars_per_word(100)
            .build()
            .map_err(|e| Error::file(path, format!("cannot build a WordPiece model: {e}")))?;

        // strip_accents null (the default) means "follow lowercase".
        let strip_accents = config.bool("strip_accents")?;
        let chinese = config.bool("tokenize_chinese_chars")?.unwrap_or(true);
        let mut tokenizer = Tokenizer::new(model);
        tokenizer
            .with_normalizer(Some(BertNormalizer::new(true, chinese, strip_accents, lowercase)))
            .map_err(|e| Error::file(path, format!("cannot set up the normalizer: {e}")))?;
        tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
        tokenizer.with_decoder(Some(WordPieceDecoder::new("##".to_owned(), true)));
        let cls = names.content(&names.cls);
        let sep = names.content(&names.sep);
        let template = bert_template(cls, id_of(&tokenizer, cls)?, sep, id_of(&tokenizer, sep)?)
            .map_err(|e| Error::file(path, format!("cannot build the [CLS] … [SEP] template: {e}")))?;
        tokenizer.with_post_processor(Some(template));
        tokenizer
            .add_special_tokens(names.added_tokens())
            .map_err(|e| Error::file(path, format!("cannot add the special tokens: {e}")))?;
        Self::finish(tokenizer, &config, max_len, path)
    }

    /// Builds RoBERTa's byte-level BPE tokenizer from `vocab.json` (`{token: id}`) and
    /// `merges.txt` (optional `#version` line, then one `a b` merge per line, by priority) as
    /// transformers' `RobertaTokenizerFast` does: ByteLevel pre-tokenizer (no prefix space,
    /// trimmed offsets), BPE, ByteLevel decoder, `<s> … </s>`.
    ///
    /// `tokenizer_config.json` / `special_tokens_map.json` beside `vocab.json` may rename the
    /// special tokens and set `add_prefix_space` / `trim_offsets`.
    pub fn from_bpe_files(vocab_json: &Path, merges_txt: &Path, max_len: usize) -> Result<Self> {
        let vocab = read_bpe_vocab(vocab_json)?;
        let merges = read_merges(merges_txt, &vocab, vocab_json)?;
        let config = DirConfig::load(parent_dir(vocab_json))?;
        let names = SpecialNames::read(&config, Defaults::BPE)?;
        for (what, token) in [("cls_token", &names.cls), ("sep_token", &names.sep)] {
            let name = names.content(token);
            if !vocab.contains_key(name) {
                return Err(Error::file(vocab_json, format!("has no {what} token {name:?}")));
            }
        }
        let add_prefix_space = config.bool("add_prefix_space")?.unwrap_or(false);
        let trim_offsets = config.bool("trim_offsets")?.unwrap_or(true);
        let model = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .continuing_subword_prefix(String::new())
            .end_of_word_suffix(String::new())
            .fuse_unk(false)
            .build()
            .map_err(|e| Error::file(merges_txt, format!("cannot build the BPE model: {e}")))?;
        let mut tokenizer = Tokenizer::new(model);
        // transformers: `pre_tokenizers.ByteLevel(add_prefix_space=...)`, whose trim_offsets
        // and use_regex default to true, and a default `decoders.ByteLevel()`.
        tokenizer.with_pre_tokenizer(Some(ByteLevel::new(add_prefix_space, true, true)));
        tokenizer.with_decoder(Some(ByteLevel::default()));
        let cls = names.content(&names.cls);
        let sep = names.content(&names.sep);
        let processor = RobertaProcessing::new(
            (sep.to_owned(), id_of(&tokenizer, sep)?),
            (cls.to_owned(), id_of(&tokenizer, cls)?),
        )
        .trim_offsets(trim_offsets)
        .add_prefix_space(add_prefix_space);
        tokenizer.with_post_processor(Some(processor));
        tokenizer
            .add_special_tokens(names.added_tokens())
            .map_err(|e| Error::file(vocab_json, format!("cannot add the special tokens: {e}")))?;
        Self::finish(tokenizer, &config, max_len, vocab_json)
    }

    /// The file the tokenizer was loaded from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The wrapped `tokenizers` tokenizer (padding off, truncation to [`TextEncoder::max_len`]).
    pub fn inner(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Switches padding off, sets our truncation, resolves the special tokens.
    fn finish(mut tokenizer: Tokenizer, config: &DirConfig, max_len: usize, source: &Path) -> Result<Self> {
        let added = tokenizer.get_post_processor().map_or(0, |p| p.added_tokens(false));
        if max_len <= added {
            return Err(Error::InvalidConfig(format!(
                "max_len {max_len} is too small for {}: it adds {added} special tokens to every text, \
                 so max_len must be at least {}",
                source.display(),
                added + 1
            )));
        }
        tokenizer.with_padding(None);
        let mut untruncated = tokenizer.clone();
        untruncated
            .with_truncation(None)
            .map_err(|e| Error::InvalidConfig(format!("cannot switch truncation off: {e}")))?;
        // Right side, longest first, no stride: what transformers does with
        // `truncation=True, max_length=max_len`. The tokenizers crate subtracts the special
        // tokens the post-processor adds before cutting, so `max_len` counts them.
        let truncation = TruncationParams {
            direction: TruncationDirection::Right,
            max_length: max_len,
            strategy: TruncationStrategy::LongestFirst,
            stride: 0,
        };
        tokenizer
            .with_truncation(Some(truncation))
            .map_err(|e| Error::InvalidConfig(format!("cannot truncate to max_len {max_len}: {e}")))?;
        let special = resolve_special_tokens(&tokenizer, config)?;
        let vocab_size = tokenizer.get_vocab_size(true);
        Ok(HfTokenizer { tokenizer, untruncated, special, max_len, vocab_size, source: source.to_owned() })
    }
}

impl HfTokenizer {
    /// Encodes `text` with `tokenizer` (ours, truncating or not).
    fn encode_with(&self, tokenizer: &Tokenizer, text: &str) -> Result<Encoding> {
        // Last resort: nothing found in testing makes `encode` panic, but a panic inside the
        // tokenizers crate must not take the caller down.
        let encoded = catch_unwind(AssertUnwindSafe(|| tokenizer.encode(text, true)))
            .map_err(|panic| {
                Error::Internal(format!(
                    "the tokenizers library panicked while tokenizing a text with {}: {}",
                    self.source.display(),
                    panic_message(panic.as_ref())
                ))
            })?
            .map_err(|e| Error::file(&self.source, format!("cannot tokenize the text: {e}")))?;

        let special: Vec<bool> = encoded.get_special_tokens_mask().iter().map(|&m| m != 0).collect();
        let offsets = encoded
            .get_offsets()
            .iter()
            .zip(&special)
            .map(|(&span, &is_special)| if is_special { (0, 0) } else { char_span(text, span) })
            .collect();
        let encoding = Encoding {
            ids: encoded.get_ids().iter().map(|&id| i64::from(id)).collect(),
            type_ids: encoded.get_type_ids().iter().map(|&t| i64::from(t)).collect(),
            tokens: encoded.get_tokens().to_vec(),
            offsets,
            word_ids: encoded.get_word_ids().iter().map(|w| w.map(|w| w as usize)).collect(),
            special,
            truncated: !encoded.get_overflowing().is_empty(),
        };
        encoding.validate()?;
        Ok(encoding)
    }
}

impl TextEncoder for HfTokenizer {
    fn encode(&self, text: &str) -> Result<Encoding> {
        self.encode_with(&self.tokenizer, text)
    }

    fn encode_untruncated(&self, text: &str) -> Result<Encoding> {
        self.encode_with(&self.untruncated, text)
    }
    fn special_tokens(&self) -> &SpecialTokens {
        &self.special
    }

    fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    fn max_len(&self) -> usize {
        self.max_len
    }

    fn id_to_token(&self, id: i64) -> Option<String> {
        u32::try_from(id).ok().and_then(|id| self.tokenizer.id_to_token(id))
    }
}

/// A byte span made safe to slice `text` with: inside the text, on character boundaries
/// (widened to whole characters). The tokenizers crate's spans already are; this only guards.
fn char_span(text: &str, (start, end): (usize, usize)) -> (usize, usize) {
    let end = end.min(text.len());
    let mut start = start.min(end);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = end;
    while !text.is_char_boundary(end) {
        end += 1;
    }
    (start, end)
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

fn read_utf8(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|e| Error::file(path, format!("cannot read: {e}")))?;
    String::from_utf8(bytes).map_err(|e| {
        Error::file(
            path,
            format!("is not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// At most 60 characters of `s`, for error messages.
fn shorten(s: &str) -> String {
    match s.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_owned(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn read_bpe_vocab(path: &Path) -> Result<Vocab> {
    let text = read_utf8(path)?;
    if text.trim().is_empty() {
        return Err(Error::file(path, "is empty; expected a JSON object {token: id}"));
    }
    let value: Value =
        serde_json::from_str(&text).map_err(|e| Error::file(path, format!("is not valid JSON: {e}")))?;
    let Value::Object(entries) = value else {
        return Err(Error::file(
            path,
            format!("must be a JSON object mapping each token to its id, found {}", json_kind(&value)),
        ));
    };
    if entries.is_empty() {
        return Err(Error::file(path, "has no tokens"));
    }
    let mut vocab = Vocab::default();
    for (token, id) in entries {
        let Some(id) = id.as_u64().and_then(|id| u32::try_from(id).ok()) else {
            return Err(Error::file(
                path,
                format!(
                    "token {:?} has id {}, expected an integer from 0 to 2^32-1",
                    shorten(&token),
                    shorten(&id.to_string())
                ),
            ));
        };
        vocab.insert(token, id);
    }
    Ok(vocab)
}

/// Reads `merges.txt` as the tokenizers crate's `BPE::read_file` does (lines starting with
/// `#version` skipped, each other line two tokens separated by one space), except that blank
/// lines are skipped, and checks every merge against the vocabulary so that errors name a line.
fn read_merges(path: &Path, vocab: &Vocab, vocab_path: &Path) -> Result<Merges> {
    let text = read_utf8(path)?;
    let mut merges = Merges::new();
    for (index, line) in text.lines().enumerate() {
        if line.starts_with("#version") || line.trim().is_empty() {
            continue;
        }
        let line_no = index + 1;
        let (a, b) = match line.split(' ').collect::<Vec<_>>()[..] {
            [a, b] if !a.is_empty() && !b.is_empty() => (a, b),
            _ => {
                return Err(Error::file(
                    path,
                    format!(
                        "line {line_no}: expected two tokens separated by one space, found {:?}",
                        shorten(line)
                    ),
                ));
            }
        };
        let merged = format!("{a}{b}");
        for token in [a, b, merged.as_str()] {
            if !vocab.contains_key(token) {
                return Err(Error::file(
                    path,
                    format!(
                        "line {line_no}: merge {:?} needs {:?}, which is not in {}",
                        shorten(line),
                        shorten(token),
                        vocab_path.display()
                    ),
                ));
            }
        }
        merges.push((a.to_owned(), b.to_owned()));
    }
    Ok(merges)
}

/// `[CLS]:0 $A:0 [SEP]:0` and its pair form, built through serde so that any token string
/// works (the template string syntax cannot hold spaces or colons).
fn bert_template(cls: &str, cls_id: u32, sep: &str, sep_id: u32) -> serde_json::Result<TemplateProcessing> {
    let special =
        |id: &str, type_id: u32| serde_json::json!({"SpecialToken": {"id": id, "type_id": type_id}});
    let sequence = |id: &str, type_id: u32| serde_json::json!({"Sequence": {"id": id, "type_id": type_id}});
    let mut tokens = Map::new();
    tokens.insert(cls.to_owned(), serde_json::json!({"id": cls, "ids": [cls_id], "tokens": [cls]}));
    tokens.insert(sep.to_owned(), serde_json::json!({"id": sep, "ids": [sep_id], "tokens": [sep]}));
    serde_json::from_value(serde_json::json!({
        "type": "TemplateProcessing",
        "single": [special(cls, 0), sequence("A", 0), special(sep, 0)],
        "pair": [special(cls, 0), sequence("A", 0), special(sep, 0), sequence("B", 1), special(sep, 1)],
        "special_tokens": tokens,
    }))
}

fn id_of(tokenizer: &Tokenizer, token: &str) -> Result<u32> {
    tokenizer
        .token_to_id(token)
        .ok_or_else(|| Error::Internal(format!("special token {token:?} vanished from the vocabulary")))
}

/// `special_tokens_map.json` and `tokenizer_config.json` of a directory, in that order of
/// precedence (transformers lets the map override the config).
#[derive(Debug, Default)]
struct DirConfig {
    files: Vec<(PathBuf, Map<String, Value>)>,
}

impl DirConfig {
    fn load(dir: &Path) -> Result<Self> {
        let mut files = Vec::new();
        for name in [SPECIAL_TOKENS_MAP, TOKENIZER_CONFIG] {
            let path = dir.join(name);
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(Error::file(&path, format!("cannot read: {e}"))),
            };
            match serde_json::from_str(&text) {
                Ok(Value::Object(map)) => files.push((path, map)),
                Ok(other) => {
                    return Err(Error::file(
                        &path,
                        format!("must be a JSON object, found {}", json_kind(&other)),
                    ));
                }
                Err(e) => return Err(Error::file(&path, format!("is not valid JSON: {e}"))),
            }
        }
        Ok(DirConfig { files })
    }

    /// The first non-null value of `key`, with the file it came from.
    fn get(&self, key: &str) -> Option<(&Path, &Value)> {
        self.files.iter().find_map(|(path, map)| match map.get(key) {
            None | Some(Value::Null) => None,
            Some(value) => Some((path.as_path(), value)),
        })
    }

    fn bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some((_, Value::Bool(b))) => Ok(Some(*b)),
            Some((path, other)) => Err(Error::file(
                path,
                format!("`{key}` must be true, false or null, found {}", json_kind(other)),
            )),
        }
    }

    /// A special token given as a string or as an object with `"content"` (and optional
    /// `lstrip`, `rstrip`, `single_word`, `normalized`).
    fn token(&self, key: &str) -> Result<Option<AddedToken>> {
        match self.get(key) {
            None => Ok(None),
            Some((path, value)) => parse_added_token(value).map(Some).map_err(|found| {
                Error::file(
                    path,
                    format!("`{key}` must be a string or an object with \"content\", found {found}"),
                )
            }),
        }
    }

    fn token_list(&self, key: &str) -> Result<Vec<AddedToken>> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some((path, Value::Array(items))) => items
                .iter()
                .map(|item| {
                    parse_added_token(item).map_err(|found| {
                        Error::file(
                            path,
                            format!("`{key}` must list strings or objects with \"content\", found {found}"),
                        )
                    })
                })
                .collect(),
            Some((path, other)) => {
                Err(Error::file(path, format!("`{key}` must be a list, found {}", json_kind(other))))
            }
        }
    }
}

fn parse_added_token(value: &Value) -> std::result::Result<AddedToken, &'static str> {
    match value {
        Value::String(content) => Ok(AddedToken::from(content.clone(), true)),
        Value::Object(fields) => {
            let Some(Value::String(content)) = fields.get("content") else {
                return Err("an object without a string \"content\"");
            };
            let flag =
                |name: &str, default: bool| fields.get(name).and_then(Value::as_bool).unwrap_or(default);
            Ok(AddedToken::from(content.clone(), true)
                .lstrip(flag("lstrip", false))
                .rstrip(flag("rstrip", false))
                .single_word(flag("single_word", false))
                .normalized(flag("normalized", false)))
        }
        other => Err(json_kind(other)),
    }
}

/// The usual special-token strings of a family.
struct Defaults {
    bos: Option<&'static str>,
    eos: Option<&'static str>,
    unk: &'static str,
    sep: &'static str,
    pad: &'static str,
    cls: &'static str,
    mask: &'static str,
}

impl Defaults {
    const WORDPIECE: Defaults = Defaults {
        bos: None,
        eos: None,
        unk: "[UNK]",
        sep: "[SEP]",
        pad: "[PAD]",
        cls: "[CLS]",
        mask: "[MASK]",
    };
    const BPE: Defaults = Defaults {
        bos: Some("<s>"),
        eos: Some("</s>"),
        unk: "<unk>",
        sep: "</s>",
        pad: "<pad>",
        cls: "<s>",
        mask: "<mask>",
    };
}

/// The special tokens a tokenizer built from vocabulary files registers, transformers' way.
struct SpecialNames {
    bos: Option<AddedToken>,
    eos: Option<AddedToken>,
    unk: Option<AddedToken>,
    sep: Option<AddedToken>,
    pad: Option<AddedToken>,
    cls: Option<AddedToken>,
    mask: Option<AddedToken>,
    additional: Vec<AddedToken>,
}

impl SpecialNames {
    fn read(config: &DirConfig, defaults: Defaults) -> Result<Self> {
        let pick = |key: &str, default: Option<&str>| -> Result<Option<AddedToken>> {
            Ok(config.token(key)?.or_else(|| default.map(|d| AddedToken::from(d.to_owned(), true))))
        };
        Ok(SpecialNames {
            bos: pick("bos_token", defaults.bos)?,
            eos: pick("eos_token", defaults.eos)?,
            unk: pick("unk_token", Some(defaults.unk))?,
            sep: pick("sep_token", Some(defaults.sep))?,
            pad: pick("pad_token", Some(defaults.pad))?,
            cls: pick("cls_token", Some(defaults.cls))?,
            mask: pick("mask_token", Some(defaults.mask))?,
            additional: config.token_list("additional_special_tokens")?,
        })
    }

    fn content<'a>(&self, token: &'a Option<AddedToken>) -> &'a str {
        token.as_ref().map_or("", |t| t.content.as_str())
    }

    /// In transformers' order (bos, eos, unk, sep, pad, cls, mask, additional), each once.
    fn added_tokens(&self) -> Vec<AddedToken> {
        let mut out: Vec<AddedToken> = Vec::new();
        let named = [&self.bos, &self.eos, &self.unk, &self.sep, &self.pad, &self.cls, &self.mask];
        for token in named.into_iter().flatten().chain(&self.additional) {
            if !out.iter().any(|t| t.content == token.content) {
                out.push(token.clone());
            }
        }
        out
    }
}

/// Special tokens by id: the configured string when the files name one, else the usual
/// strings of both families.
fn resolve_special_tokens(tokenizer: &Tokenizer, config: &DirConfig) -> Result<SpecialTokens> {
    let mut cache: HashMap<String, Option<i64>> = HashMap::new();
    let mut find = |key: &str, usual: &[&str]| -> Result<Option<i64>> {
        let configured = config.token(key)?.map(|t| t.content);
        let mut lookup = |name: &str| {
            *cache.entry(name.to_owned()).or_insert_with(|| tokenizer.token_to_id(name).map(i64::from))
        };
        if let Some(name) = configured {
            if let Some(id) = lookup(&name) {
                return Ok(Some(id));
            }
        }
        Ok(usual.iter().find_map(|name| lookup(name)))
    };
    Ok(SpecialTokens {
        pad: find("pad_token", &["[PAD]", "<pad>"])?,
        unk: find("unk_token", &["[UNK]", "<unk>"])?,
        mask: find("mask_token", &["[MASK]", "<mask>"])?,
        cls: find("cls_token", &["[CLS]", "<s>"])?,
        sep: find("sep_token", &["[SEP]", "</s>"])?,
    })
}
