//! The attribution-method and baseline traits.

use std::fmt;

use tch::Tensor;

use crate::{Attribution, Capabilities, Claim, Encoding, Error, Model, Output, Result, Target};

/// What to explain: texts, labels, baseline, and which output.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The tokenised texts, explained independently (a method may batch them).
    pub encodings: &'a [Encoding],
    /// Which labels to explain, resolved per text.
    pub target: &'a Target,
    /// The reference input.
    pub baseline: &'a dyn Baseline,
    /// Probability (default) or logit.
    pub output: Output,
    /// Whether to return per-hidden-unit attributions too.
    pub per_dimension: bool,
}

/// An attribution method with its configuration, serialisable through typetag.
///
/// A method config serialises as a JSON/YAML object whose `method` field is the registry
/// name, e.g. `{"method": "integrated-gradients", "n_steps": 50}`. Register it with
/// [`crate::MethodEntry`].
#[typetag::serde(tag = "method")]
pub trait Method: fmt::Debug + Send + Sync {
    /// What the model must offer for this method to run.
    fn requires(&self) -> Capabilities;

    /// Whether results carry a convergence (completeness) delta.
    fn has_convergence_delta(&self) -> bool;

    /// The axioms this configuration guarantees and how closely (none by default). The
    /// conformance suite (`explainer-axioms`) checks every claim of every registered method;
    /// claim only what holds for f32 models of any architecture the method accepts.
    fn claims(&self) -> Vec<Claim> {
        Vec::new()
    }

    /// Checks the configuration (e.g. a positive step count); called before explaining.
    fn validate(&self) -> Result<()> {
        Ok(())
    }

    /// Explains every text of the request, one [`Attribution`] per text, in order.
    ///
    /// Call it through [`explain`], which checks the model's capabilities first.
    fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>>;
}

/// Runs `method` on `model` after checking its config and that the model offers what the
/// method needs; the entry point for every caller.
pub fn explain(method: &dyn Method, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
    method.validate()?;
    model.info().require(&format!("method {:?}", method.typetag_name()), method.requires())?;
    if request.encodings.is_empty() {
        return Err(Error::InvalidInput("no text to explain".into()));
    }
    method.explain(model, request)
}

/// A reference input a method measures the input against.
#[derive(Debug)]
pub enum Reference {
    /// Token ids, one per input token (the same length as the input).
    Ids(Vec<i64>),
    /// Word embeddings `[tokens, hidden]`, replacing the lookup at `embeddings.word`.
    Embeddings(Tensor),
}

impl Reference {
    /// Checks that the reference has one entry per input token.
    pub fn check_len(&self, input_len: usize) -> Result<()> {
        let len = match self {
            Reference::Ids(ids) => ids.len(),
            Reference::Embeddings(t) => t.size().first().copied().unwrap_or(0) as usize,
        };
        if len == input_len {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "the baseline has {len} tokens but the input has {input_len}; a baseline must match the input's length"
            )))
        }
    }
}

/// A baseline provider with its configuration, serialisable through typetag.
///
/// Serialises with a `baseline` field holding the registry name, e.g. `{"baseline": "pad"}`.
/// Register it with [`crate::BaselineEntry`].
#[typetag::serde(tag = "baseline")]
pub trait Baseline: fmt::Debug + Send + Sync {
    /// What the model must offer (embedding baselines need layer hooks).
    fn requires(&self) -> Capabilities {
        Capabilities::NONE
    }

    /// The reference input(s) for one text: one, or k draws whose attributions a method
    /// averages.
    fn references(&self, model: &dyn Model, input: &Encoding) -> Result<Vec<Reference>>;
}
