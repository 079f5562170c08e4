//! Feature Ablation: each feature alone is switched off; its score is the output's drop
//! (Captum's `FeatureAblation` with a feature mask).

use explainer_core::{Attribution, Encoding, Model, Request, Result};
use serde::{Deserialize, Serialize};

use crate::engine::{self, Estimator, Game, Replacement, Scores};
use crate::{DEFAULT_MEMORY_BUDGET_MB, Groups, claims};

/// Feature Ablation over groups of tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureAblation {
    /// The features: `tokens`, `words` (default), `phrases`, `sentences` or `{"mask": […]}`.
    pub groups: Groups,
    /// What takes the place of an ablated feature.
    pub replace_with: Replacement,
    /// Memory for one batch of perturbed inputs, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for FeatureAblation {
    fn default() -> Self {
        FeatureAblation {
            groups: Groups::Words,
            replace_with: Replacement::Baseline,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

impl FeatureAblation {
    /// The registry name.
    pub const NAME: &'static str = "feature-ablation";
}

impl Estimator for FeatureAblation {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn features(&self, encoding: &Encoding) -> Result<Vec<Vec<usize>>> {
        self.groups.features(encoding)
    }

    fn replacement(&self) -> Replacement {
        self.replace_with
    }

    fn budget_mb(&self) -> usize {
        self.memory_budget_mb
    }

    fn complete(&self) -> bool {
        false
    }

    fn estimate(&self, game: &mut Game<'_>, labels: &[usize], f_input: &[f64], _: &[f64]) -> Result<Scores> {
        let m = game.len();
        let coalitions: Vec<Vec<bool>> = (0..m).map(|f| (0..m).map(|g| g != f).collect()).collect();
        let values = game.values(&coalitions)?;
        let scores =
            labels.iter().map(|&label| values.iter().map(|v| f_input[label] - v[label]).collect()).collect();
        Ok(Scores { scores })
    }
}

explainer_core::register_method! {
    name: FeatureAblation::NAME,
    config: FeatureAblation,
    summary: "Feature Ablation: the output's drop when one group (token, word, phrase, sentence, mask) alone is replaced or deleted (forward only).",
    requires: [Forward],
    convergence_delta: false,
    impl {
        fn claims(&self) -> Vec<explainer_core::Claim> {
            claims::perturbation(self.replace_with, self.groups == Groups::Tokens)
        }

        fn validate(&self) -> Result<()> {
            engine::check_budget(Self::NAME, self.memory_budget_mb)
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            engine::check_budget(Self::NAME, self.memory_budget_mb)?;
            engine::explain(self, model, request)
        }
    }
}
