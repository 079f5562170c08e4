//! What a method returns: attributions per explained label.

use serde::{Deserialize, Serialize};

use crate::Encoding;

/// Which function of the logits is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Output {
    /// The score after the model's output function (sigmoid for multi-label, softmax for
    /// multi-class, identity for regression). The default, as a probability is what a
    /// reviewer reads.
    #[default]
    Probability,
    /// The raw logit.
    Logit,
}

/// The attribution of one label's output to the tokens of one text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetAttribution {
    /// The label's index in the logits.
    pub label_index: usize,
    /// The label's name.
    pub label: String,
    /// The model's score for the label on the text (after the output function).
    pub score: f64,
    /// One attribution per token (summed over the hidden dimension), special tokens included.
    pub tokens: Vec<f64>,
    /// With several baseline draws: the standard deviation of each token's attribution over
    /// the draws.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_spread: Option<Vec<f64>>,
    /// On request: the attribution of every hidden unit, `tokens × hidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_dimension: Option<Vec<Vec<f64>>>,
    /// F(x): the explained output on the input.
    pub f_input: f64,
    /// F(x₀): the explained output on the baseline (the mean over draws, with several).
    pub f_baseline: f64,
    /// The convergence delta Σ attributions − (F(x) − F(x₀)), for methods that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delta: Option<f64>,
    /// Integration steps used, for path methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// An estimate of the quadrature error, where the method computes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_estimate: Option<f64>,
    /// For layer sweeps (conductance of every encoder layer): how importance moves through
    /// the network, one column per layer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer_sweep: Option<LayerSweep>,
}

/// Per-token attributions at several layers for one label: a tokens × layers matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerSweep {
    /// The layer names, in forward order (the matrix's columns).
    pub layers: Vec<String>,
    /// `scores[token][layer]`: the token's attribution (summed over hidden units) at each layer.
    pub scores: Vec<Vec<f64>>,
    /// Each layer's completeness delta Σ_tokens scores − (F(x) − F(x₀)).
    pub deltas: Vec<f64>,
}

impl TargetAttribution {
    /// Σ attributions over the tokens.
    pub fn total(&self) -> f64 {
        self.tokens.iter().sum()
    }

    /// Σ attributions − (F(x) − F(x₀)), recomputed from the fields.
    pub fn completeness_gap(&self) -> f64 {
        self.total() - (self.f_input - self.f_baseline)
    }
}

/// The explanation of one text by one method.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attribution {
    /// The registry name of the method.
    pub method: String,
    /// The registry name of the baseline.
    pub baseline: String,
    /// The layer the attributions are taken at.
    pub layer: String,
    /// Which function of the logits was explained.
    pub output: Output,
    /// The tokenised text, with offsets into the original.
    pub encoding: Encoding,
    /// One entry per explained label.
    pub targets: Vec<TargetAttribution>,
    /// Things the reader should know (e.g. the text was truncated).
    #[serde(default)]
    pub warnings: Vec<String>,
}
