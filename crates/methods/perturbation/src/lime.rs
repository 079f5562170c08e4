//! LIME (Ribeiro et al. 2016) for text: random coalitions of features, weighted by an
//! exponential kernel of their cosine distance to the input, and a weighted ridge fit with an
//! intercept; the scores are the fit's coefficients.

use explainer_core::rng::SplitMix64;
use explainer_core::{Attribution, Encoding, Error, Model, Request, Result};
use serde::{Deserialize, Serialize};

use crate::engine::{self, Estimator, Game, Replacement, Scores};
use crate::kernel_shap::subset;
use crate::{DEFAULT_MEMORY_BUDGET_MB, Groups, claims, linalg};

/// LIME over groups of tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Lime {
    /// The features: `tokens`, `words` (default), `phrases`, `sentences` or `{"mask": […]}`.
    pub groups: Groups,
    /// Perturbed samples per text and reference, the input itself included (as the `lime`
    /// package does).
    pub n_samples: usize,
    /// Seed of the samples (the same seed gives the same draws on every text).
    pub seed: u64,
    /// σ of the kernel exp(−d²/σ²), d the cosine distance between a sample's on/off vector and
    /// the input's all-ones vector (0.25 = the `lime` package's width 25 on distances × 100).
    pub kernel_width: f64,
    /// Ridge penalty α on the coefficients (not on the intercept); `lime` uses 1.
    pub ridge: f64,
    /// What takes the place of a switched-off feature.
    pub replace_with: Replacement,
    /// Memory for one batch of perturbed inputs, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for Lime {
    fn default() -> Self {
        Lime {
            groups: Groups::Words,
            n_samples: 500,
            seed: 0,
            kernel_width: 0.25,
            ridge: 1.0,
            replace_with: Replacement::Baseline,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

impl Lime {
    /// The registry name.
    pub const NAME: &'static str = "lime";

    fn check(&self) -> Result<()> {
        engine::check_budget(Self::NAME, self.memory_budget_mb)?;
        if self.n_samples < 2 {
            return Err(Error::InvalidConfig("lime: n_samples must be at least 2".into()));
        }
        if !(self.kernel_width.is_finite() && self.kernel_width > 0.0) {
            return Err(Error::InvalidConfig(format!(
                "lime: kernel_width must be a positive number, not {}",
                self.kernel_width
            )));
        }
        if !(self.ridge.is_finite() && self.ridge >= 0.0) {
            return Err(Error::InvalidConfig(format!("lime: ridge must be ≥ 0, not {}", self.ridge)));
        }
        Ok(())
    }

    /// The kernel weight of a sample keeping `kept` of `m` features.
    pub fn weight(&self, kept: usize, m: usize) -> f64 {
        let d = if kept == 0 { 1.0 } else { 1.0 - (kept as f64 / m as f64).sqrt() };
        (-(d * d) / (self.kernel_width * self.kernel_width)).exp()
    }
}

impl Estimator for Lime {
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

    fn estimate(&self, game: &mut Game<'_>, labels: &[usize], _: &[f64], _: &[f64]) -> Result<Scores> {
        let n = game.len();
        let mut scores = vec![vec![0.0; n]; labels.len()];
        let players: Vec<usize> = (0..n).filter(|&f| !game.is_null(f)).collect();
        let m = players.len();
        if m == 0 {
            return Ok(Scores { scores });
        }
        // The input, then samples switching off a uniform number 1..=m of uniform features.
        let mut rng = SplitMix64::new(self.seed);
        let mut samples: Vec<Vec<bool>> = vec![vec![true; m]];
        while samples.len() < self.n_samples {
            let off = 1 + rng.below(m as u64) as usize;
            samples.push(subset(&mut rng, m, m - off));
        }
        let full: Vec<Vec<bool>> = samples
            .iter()
            .map(|on| {
                let mut all = vec![true; n];
                for (k, &p) in players.iter().enumerate() {
                    all[p] = on[k];
                }
                all
            })
            .collect();
        let values = game.values(&full)?;
        let weights: Vec<f64> =
            samples.iter().map(|on| self.weight(on.iter().filter(|&&b| b).count(), m)).collect();
        let total: f64 = weights.iter().sum();
        // Centre z and y by their weighted means (the intercept), then ridge on the rest.
        let mean_z: Vec<f64> = (0..m)
            .map(|j| {
                samples.iter().zip(&weights).map(|(on, w)| w * f64::from(u8::from(on[j]))).sum::<f64>()
                    / total
            })
            .collect();
        let mut a = vec![vec![0.0; m]; m];
        let mut b = vec![vec![0.0; m]; labels.len()];
        for (t, &label) in labels.iter().enumerate() {
            let mean_y = values.iter().zip(&weights).map(|(v, w)| w * v[label]).sum::<f64>() / total;
            for ((on, w), value) in samples.iter().zip(&weights).zip(&values) {
                let y = value[label] - mean_y;
                for i in 0..m {
                    b[t][i] += w * (f64::from(u8::from(on[i])) - mean_z[i]) * y;
                }
            }
        }
        for (on, w) in samples.iter().zip(&weights) {
            let x: Vec<f64> = (0..m).map(|j| f64::from(u8::from(on[j])) - mean_z[j]).collect();
            for i in 0..m {
                for j in 0..m {
                    a[i][j] += w * x[i] * x[j];
                }
            }
        }
        for (i, row) in a.iter_mut().enumerate() {
            row[i] += self.ridge;
        }
        let phi = linalg::solve(a, b).ok_or_else(|| {
            Error::InvalidConfig(format!(
                "lime: the {} samples do not determine the scores of the text's {m} features; raise n_samples or ridge",
                samples.len()
            ))
        })?;
        for (t, x) in phi.iter().enumerate() {
            for (j, v) in x.iter().enumerate() {
                scores[t][players[j]] = *v;
            }
        }
        Ok(Scores { scores })
    }
}

explainer_core::register_method! {
    name: Lime::NAME,
    config: Lime,
    summary: "LIME: weighted ridge fit of random group coalitions under an exponential cosine kernel, seeded (forward only).",
    requires: [Forward],
    convergence_delta: false,
    impl {
        fn claims(&self) -> Vec<explainer_core::Claim> {
            claims::regression(self.replace_with, false)
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
