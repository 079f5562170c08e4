//! Test support for explainer: a tiny hand-written classifier with real layers, and its
//! word-level tokenizer, both implementing the core traits.
//!
//! Other crates use it in their tests (`explainer-testing` as a dev-dependency); the
//! `explainer smoke` command loads the copy saved under `crates/testing/assets/tiny/`.

mod model;
mod tokenizer;

/// The workspace's one seeded generator, re-exported from core (`explainer_core::rng`).
pub use explainer_core::rng::SplitMix64;
pub use model::{DEFAULT_LABELS, DEFAULT_WORDS, TinyClassifier, TinyConfig};
pub use tokenizer::{SPECIALS, WordTokenizer};

/// The folder holding the saved tiny model that the smoke run loads.
pub fn tiny_model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets").join("tiny")
}
