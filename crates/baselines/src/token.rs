//! Token-id baselines: every non-special token replaced by one special id (`[PAD]`, `[UNK]`,
//! `[MASK]`), special tokens kept in place — the reference transformers-interpret builds.

use explainer_core::{Encoding, Error, Model, Reference, Result, SpecialTokens};
use serde::{Deserialize, Serialize};

/// `input`'s ids with every non-special token replaced by `id`.
pub(crate) fn replace_non_special(input: &Encoding, id: i64) -> Result<Vec<i64>> {
    input.validate()?;
    Ok(input.ids.iter().zip(&input.special).map(|(&own, &special)| if special { own } else { id }).collect())
}

/// The id a token baseline replaces with; a vocabulary without it is an error saying what
/// to use instead.
fn token_id(
    model: &dyn Model,
    baseline: &str,
    what: &str,
    pick: fn(&SpecialTokens) -> Option<i64>,
) -> Result<i64> {
    pick(model.encoder().special_tokens()).ok_or_else(|| {
        Error::InvalidConfig(format!(
            "baseline {baseline:?}: the vocabulary of model {:?} has no {what} token; choose another baseline \
             (\"pad\", \"unk\", \"mask\", \"zero\" or \"random-tokens\")",
            model.info().name
        ))
    })
}

/// Every non-special token replaced by the vocabulary's padding token (`[PAD]`, `<pad>`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PadBaseline {}

impl PadBaseline {
    /// The registry name.
    pub const NAME: &'static str = "pad";

    /// The pad baseline (it has no options).
    pub fn new() -> Self {
        PadBaseline {}
    }
}

explainer_core::register_baseline! {
    name: PadBaseline::NAME,
    config: PadBaseline,
    summary: "Every non-special token replaced by the padding token; [CLS]/[SEP] kept (transformers-interpret's reference).",
    requires: [],
    impl {
        fn references(&self, model: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
            let id = token_id(model, Self::NAME, "padding", |s| s.pad)?;
            Ok(vec![Reference::Ids(replace_non_special(input, id)?)])
        }
    }
}

/// Every non-special token replaced by the vocabulary's unknown-word token (`[UNK]`, `<unk>`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnkBaseline {}

impl UnkBaseline {
    /// The registry name.
    pub const NAME: &'static str = "unk";

    /// The unk baseline (it has no options).
    pub fn new() -> Self {
        UnkBaseline {}
    }
}

explainer_core::register_baseline! {
    name: UnkBaseline::NAME,
    config: UnkBaseline,
    summary: "Every non-special token replaced by the unknown-word token; special tokens kept.",
    requires: [],
    impl {
        fn references(&self, model: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
            let id = token_id(model, Self::NAME, "unknown-word", |s| s.unk)?;
            Ok(vec![Reference::Ids(replace_non_special(input, id)?)])
        }
    }
}

/// Every non-special token replaced by the vocabulary's mask token (`[MASK]`, `<mask>`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskBaseline {}

impl MaskBaseline {
    /// The registry name.
    pub const NAME: &'static str = "mask";

    /// The mask baseline (it has no options).
    pub fn new() -> Self {
        MaskBaseline {}
    }
}

explainer_core::register_baseline! {
    name: MaskBaseline::NAME,
    config: MaskBaseline,
    summary: "Every non-special token replaced by the mask token; special tokens kept.",
    requires: [],
    impl {
        fn references(&self, model: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
            let id = token_id(model, Self::NAME, "mask", |s| s.mask)?;
            Ok(vec![Reference::Ids(replace_non_special(input, id)?)])
        }
    }
}
