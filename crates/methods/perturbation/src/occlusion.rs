//! Occlusion: a window slides over the text; each unit's score is the mean output drop over
//! the windows that cover it (Captum's `Occlusion`).

use explainer_core::{Attribution, Encoding, Error, Model, Request, Result};
use serde::{Deserialize, Serialize};

use crate::engine::{self, Estimator, Game, Replacement, Scores};
use crate::{DEFAULT_MEMORY_BUDGET_MB, Unit, claims};

/// Occlusion with a sliding window over tokens or words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Occlusion {
    /// What the window slides over: `tokens` (every position, special tokens included, as
    /// Captum on the ids) or `words`.
    pub unit: Unit,
    /// Units per window (Captum's `sliding_window_shapes`); a text with fewer units is
    /// occluded as one window.
    pub window: usize,
    /// Units the window moves by (Captum's `strides`); at most `window`, so that every unit is
    /// covered.
    pub stride: usize,
    /// What takes the place of occluded tokens.
    pub replace_with: Replacement,
    /// Memory for one batch of perturbed inputs, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for Occlusion {
    fn default() -> Self {
        Occlusion {
            unit: Unit::Tokens,
            window: 3,
            stride: 1,
            replace_with: Replacement::Baseline,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

impl Occlusion {
    /// The registry name.
    pub const NAME: &'static str = "occlusion";

    fn check(&self) -> Result<()> {
        engine::check_budget(Self::NAME, self.memory_budget_mb)?;
        if self.window == 0 || self.stride == 0 {
            return Err(Error::InvalidConfig("occlusion: window and stride must be positive".into()));
        }
        if self.stride > self.window {
            return Err(Error::InvalidConfig(format!(
                "occlusion: the stride ({}) must not exceed the window ({}), or units between windows are never occluded",
                self.stride, self.window
            )));
        }
        Ok(())
    }
}

impl Estimator for Occlusion {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn features(&self, encoding: &Encoding) -> Result<Vec<Vec<usize>>> {
        Ok(self.unit.units(encoding))
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
        let units = game.len();
        let mut scores = vec![vec![0.0; units]; labels.len()];
        if units == 0 {
            return Ok(Scores { scores });
        }
        let window = self.window.min(units);
        // Captum: ceil((units − window) / stride) + 1 windows starting at k · stride, the last
        // cut at the end of the text.
        let shifts = (units - window).div_ceil(self.stride) + 1;
        let spans: Vec<(usize, usize)> =
            (0..shifts).map(|k| (k * self.stride, (k * self.stride + window).min(units))).collect();
        let coalitions: Vec<Vec<bool>> =
            spans.iter().map(|&(a, b)| (0..units).map(|u| u < a || u >= b).collect()).collect();
        let values = game.values(&coalitions)?;
        let mut covered = vec![0usize; units];
        for (&(a, b), value) in spans.iter().zip(&values) {
            for u in a..b {
                covered[u] += 1;
                for (t, &label) in labels.iter().enumerate() {
                    scores[t][u] += f_input[label] - value[label];
                }
            }
        }
        for s in &mut scores {
            for (u, v) in s.iter_mut().enumerate() {
                *v /= covered[u].max(1) as f64;
            }
        }
        Ok(Scores { scores })
    }
}

explainer_core::register_method! {
    name: Occlusion::NAME,
    config: Occlusion,
    summary: "Occlusion: a window of tokens or words slides over the text; each scores the mean output drop of the windows covering it (forward only).",
    requires: [Forward],
    convergence_delta: false,
    impl {
        fn claims(&self) -> Vec<explainer_core::Claim> {
            let single = self.unit == Unit::Tokens && self.window == 1;
            claims::perturbation(self.replace_with, single)
        }

        fn validate(&self) -> Result<()> {
            self.check()
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            self.check()?;
            engine::explain(self, model, request)
        }
    }
}
