//! explainer-baselines: the reference inputs ("baselines") attribution methods measure a
//! text against, each a serialisable config registered in
//! [`explainer_core::registry`] under a stable name.
//!
//! | name | what it builds | needs |
//! |---|---|---|
//! | `pad` | token ids: every non-special token → the pad id; `[CLS]`/`[SEP]` (`<s>`/`</s>`) kept — transformers-interpret's reference | nothing |
//! | `unk` | token ids: every non-special token → the unk id, special tokens kept | nothing |
//! | `mask` | token ids: every non-special token → the mask id, special tokens kept | nothing |
//! | `zero` | word embeddings: zeros at non-special tokens, special tokens' own embeddings (option `keep_special`, default true) | layer hooks |
//! | `average-embedding` | word embeddings: the mean word embedding of a corpus file's non-special tokens at non-special tokens, specials kept (`corpus`, `keep_special`) | layer hooks |
//! | `random-tokens` | `draws` (default 10) token-id references: every non-special token drawn from the vocabulary or a corpus's token frequencies, seeded (`draws`, `seed`, `source`) | nothing |
//!
//! Every reference has exactly the input's length ([`Reference::check_len`]), and the
//! special tokens (those marked in [`explainer_core::Encoding::special`]) stay in place.
//!
//! **Embedding references** ([`Reference::Embeddings`]) are `[tokens, hidden]` tensors in the
//! model's kind ([`Model::kind`], f32 unless converted) on its device ([`Model::device`]),
//! detached (no gradient), contiguous. They replace the lookup at the layer `embeddings.word`
//! ([`explainer_core::layer_names::WORD_EMBEDDINGS`]), before positions and segments are
//! added; the special tokens' rows are exactly what the model's own lookup produces there.
//!
//! **Corpus files** (`average-embedding`, `random-tokens` with `{"corpus": …}`) are UTF-8, one
//! representative text per line, blank lines skipped. What is derived from them is cached
//! in-process per (SHA-256 of the file's bytes, model name, vocabulary size[, hidden size]);
//! [`corpus_hash`] gives the hash for reports. A missing or empty corpus is an
//! [`explainer_core::Error::File`] naming the path.
//!
//! A binary or test that needs these entries must name the crate (`use explainer_baselines as
//! _;`), or the linker drops them.
//!
//! [`Reference::check_len`]: explainer_core::Reference::check_len
//! [`Reference::Embeddings`]: explainer_core::Reference::Embeddings
//! [`Model::kind`]: explainer_core::Model::kind
//! [`Model::device`]: explainer_core::Model::device

mod average;
mod corpus;
mod embed;
mod random;
mod token;
mod zero;

pub use average::{AverageEmbedding, CorpusMean};
pub use corpus::corpus_hash;
pub use random::{RandomTokens, TokenSource};
pub use token::{MaskBaseline, PadBaseline, UnkBaseline};
pub use zero::ZeroEmbedding;

/// The registry names of this crate's baselines, sorted.
pub const NAMES: [&str; 6] = ["average-embedding", "mask", "pad", "random-tokens", "unk", "zero"];

/// `true`, for `#[serde(default = …)]`.
fn yes() -> bool {
    true
}
