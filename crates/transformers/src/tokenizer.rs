//! Tokenizers for Hugging Face checkpoints (being written).

/// A Hugging Face tokenizer as an explainer `TextEncoder`.
#[derive(Debug)]
pub struct HfTokenizer;
