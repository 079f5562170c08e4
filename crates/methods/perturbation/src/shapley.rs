//! Shapley Value Sampling: features are switched on one by one in random orders, starting
//! from the baseline; a feature's score is its mean marginal contribution (Captum's
//! `ShapleyValueSampling`, Castro et al. 2009). Each order telescopes to F(x) − F(x₀), so the
//! scores are complete whatever the number of orders.

use explainer_core::rng::SplitMix64;
use explainer_core::{Attribution, Encoding, Error, Model, Request, Result};
use serde::{Deserialize, Serialize};

use crate::engine::{self, Estimator, Game, Replacement, Scores};
use crate::{DEFAULT_MEMORY_BUDGET_MB, Groups, claims};

/// Shapley Value Sampling over groups of tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShapleyValueSampling {
    /// The features: `tokens`, `words` (default), `phrases`, `sentences` or `{"mask": […]}`.
    pub groups: Groups,
    /// Number of random feature orders (Captum's `n_samples`, default 25).
    pub n_samples: usize,
    /// Seed of the orders (the same seed gives the same orders on every text).
    pub seed: u64,
    /// Fixed orders instead of random ones: each a permutation of the feature indices
    /// 0..n (as Captum draws with `torch.randperm`); `n_samples` and `seed` are then unused.
    pub permutations: Option<Vec<Vec<usize>>>,
    /// What takes the place of a switched-off feature.
    pub replace_with: Replacement,
    /// Memory for one batch of perturbed inputs, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for ShapleyValueSampling {
    fn default() -> Self {
        ShapleyValueSampling {
            groups: Groups::Words,
            n_samples: 25,
            seed: 0,
            permutations: None,
            replace_with: Replacement::Baseline,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

impl ShapleyValueSampling {
    /// The registry name.
    pub const NAME: &'static str = "shapley-value-sampling";

    fn check(&self) -> Result<()> {
        engine::check_budget(Self::NAME, self.memory_budget_mb)?;
        match &self.permutations {
            Some(p) if p.is_empty() => {
                Err(Error::InvalidConfig("shapley-value-sampling: permutations is empty".into()))
            }
            None if self.n_samples == 0 => {
                Err(Error::InvalidConfig("shapley-value-sampling: n_samples must be positive".into()))
            }
            _ => Ok(()),
        }
    }

    /// The feature orders for `m` features.
    fn orders(&self, m: usize) -> Result<Vec<Vec<usize>>> {
        if let Some(fixed) = &self.permutations {
            for (k, p) in fixed.iter().enumerate() {
                let mut seen = vec![false; m];
                let ok = p.len() == m && p.iter().all(|&f| f < m && !std::mem::replace(&mut seen[f], true));
                if !ok {
                    return Err(Error::InvalidInput(format!(
                        "shapley-value-sampling: permutation {k} is not an order of the text's {m} features (0..{m})"
                    )));
                }
            }
            return Ok(fixed.clone());
        }
        let mut rng = SplitMix64::new(self.seed);
        Ok((0..self.n_samples)
            .map(|_| {
                let mut order: Vec<usize> = (0..m).collect();
                for i in (1..m).rev() {
                    order.swap(i, rng.below(i as u64 + 1) as usize);
                }
                order
            })
            .collect())
    }
}

impl Estimator for ShapleyValueSampling {
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
        true
    }

    fn estimate(&self, game: &mut Game<'_>, labels: &[usize], _: &[f64], f_empty: &[f64]) -> Result<Scores> {
        let m = game.len();
        let orders = self.orders(m)?;
        // Every prefix of every order (the empty and the full prefix are cached already).
        let mut coalitions = Vec::with_capacity(orders.len() * m);
        for order in &orders {
            let mut on = vec![false; m];
            for &f in order {
                on[f] = true;
                coalitions.push(on.clone());
            }
        }
        let values = game.values(&coalitions)?;
        let mut scores = vec![vec![0.0; m]; labels.len()];
        for (k, order) in orders.iter().enumerate() {
            let mut previous = f_empty;
            for (step, &f) in order.iter().enumerate() {
                let value = &values[k * m + step];
                for (t, &label) in labels.iter().enumerate() {
                    scores[t][f] += value[label] - previous[label];
                }
                previous = value.as_slice();
            }
        }
        let count = orders.len() as f64;
        for s in &mut scores {
            for v in s.iter_mut() {
                *v /= count;
            }
        }
        Ok(Scores { scores })
    }
}

explainer_core::register_method! {
    name: ShapleyValueSampling::NAME,
    config: ShapleyValueSampling,
    summary: "Shapley Value Sampling: mean marginal contribution of each group over seeded random orders; complete (forward only).",
    requires: [Forward],
    convergence_delta: true,
    impl {
        fn claims(&self) -> Vec<explainer_core::Claim> {
            claims::shapley_sampling(self.replace_with)
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
