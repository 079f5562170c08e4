//! The zero-embedding baseline: word embeddings of zeros at the non-special tokens.

use explainer_core::{Encoding, Model, Reference, Result};
use serde::{Deserialize, Serialize};
use tch::Tensor;

use crate::embed;

/// Word embeddings of zeros at every non-special token; the special tokens keep their own
/// word embeddings unless `keep_special` is false (then they are zero too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZeroEmbedding {
    /// Whether special tokens (`[CLS]`, `[SEP]`, …) keep their own word embeddings (default true).
    #[serde(default = "crate::yes")]
    pub keep_special: bool,
}

impl ZeroEmbedding {
    /// The registry name.
    pub const NAME: &'static str = "zero";

    /// Zeros at the non-special tokens, special tokens kept.
    pub fn new() -> Self {
        ZeroEmbedding { keep_special: true }
    }

    /// Zeros everywhere (`keep_special: false`) or at the non-special tokens only (`true`).
    pub fn with_keep_special(keep_special: bool) -> Self {
        ZeroEmbedding { keep_special }
    }
}

impl Default for ZeroEmbedding {
    fn default() -> Self {
        Self::new()
    }
}

explainer_core::register_baseline! {
    name: ZeroEmbedding::NAME,
    config: ZeroEmbedding,
    summary: "Word embeddings of zeros at the non-special tokens; special tokens keep their own embeddings.",
    requires: [LayerHooks],
    impl {
        fn references(&self, model: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
            embed::require(model, self)?;
            let zero = Tensor::f_zeros([model.info().hidden_size as i64], (model.kind(), model.device()))?;
            Ok(vec![Reference::Embeddings(embed::fill_non_special(model, input, &zero, self.keep_special)?)])
        }
    }
}
