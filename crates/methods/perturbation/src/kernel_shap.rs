//! KernelSHAP (Lundberg & Lee 2017): a weighted linear fit of the coalition values with the
//! Shapley kernel weights, constrained so that the scores sum to F(x) − F(x₀) (efficiency),
//! as the `shap` library's `KernelExplainer` fits it. With few enough features every coalition
//! is enumerated and the fit gives the exact Shapley values.

use explainer_core::rng::SplitMix64;
use explainer_core::{Attribution, Encoding, Error, Model, Request, Result};
use serde::{Deserialize, Serialize};

use crate::engine::{self, Estimator, Game, Replacement, Scores};
use crate::{DEFAULT_MEMORY_BUDGET_MB, Groups, claims, linalg};

/// KernelSHAP over groups of tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KernelShap {
    /// The features: `tokens`, `words` (default), `phrases`, `sentences` or `{"mask": […]}`.
    pub groups: Groups,
    /// Coalitions evaluated per text and reference. When a text has m features that matter
    /// and 2^m − 2 ≤ n_samples, every coalition is enumerated instead (exact Shapley values).
    pub n_samples: usize,
    /// Seed of the sampled coalitions (the same seed gives the same draws on every text).
    pub seed: u64,
    /// What takes the place of a switched-off feature.
    pub replace_with: Replacement,
    /// Memory for one batch of perturbed inputs, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for KernelShap {
    fn default() -> Self {
        KernelShap {
            groups: Groups::Words,
            n_samples: 512,
            seed: 0,
            replace_with: Replacement::Baseline,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

/// A uniformly drawn subset of `k` of `0..m`, as a mask.
pub(crate) fn subset(rng: &mut SplitMix64, m: usize, k: usize) -> Vec<bool> {
    let mut items: Vec<usize> = (0..m).collect();
    let mut on = vec![false; m];
    for i in 0..k.min(m) {
        let j = i + rng.below((m - i) as u64) as usize;
        items.swap(i, j);
        on[items[i]] = true;
    }
    on
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

impl KernelShap {
    /// The registry name.
    pub const NAME: &'static str = "kernel-shap";

    fn check(&self) -> Result<()> {
        engine::check_budget(Self::NAME, self.memory_budget_mb)?;
        if self.n_samples < 2 {
            return Err(Error::InvalidConfig("kernel-shap: n_samples must be at least 2".into()));
        }
        Ok(())
    }

    /// Coalitions of `m` players (`true`: kept) with their weights: every proper non-empty
    /// coalition with the Shapley kernel weight when they fit in `n_samples`, else draws with
    /// sizes from the kernel's size distribution, each paired with its complement, weight 1.
    fn coalitions(&self, m: usize) -> Vec<(Vec<bool>, f64)> {
        if m < 30 && (1usize << m) - 2 <= self.n_samples {
            return (1..(1usize << m) - 1)
                .map(|bits| {
                    let on: Vec<bool> = (0..m).map(|i| bits >> i & 1 == 1).collect();
                    let s = on.iter().filter(|&&b| b).count();
                    let weight = (m - 1) as f64 / (binomial(m, s) * (s * (m - s)) as f64);
                    (on, weight)
                })
                .collect();
        }
        // P(size s) ∝ (m − 1) / (s (m − s)), s = 1 … m − 1.
        let weights: Vec<f64> = (1..m).map(|s| 1.0 / (s * (m - s)) as f64).collect();
        let total: f64 = weights.iter().sum();
        let mut rng = SplitMix64::new(self.seed);
        let mut out = Vec::with_capacity(self.n_samples);
        while out.len() < self.n_samples {
            let mut u = rng.uniform() * total;
            let mut size = m - 1;
            for (i, w) in weights.iter().enumerate() {
                if u < *w {
                    size = i + 1;
                    break;
                }
                u -= w;
            }
            let on = subset(&mut rng, m, size);
            let complement: Vec<bool> = on.iter().map(|b| !b).collect();
            out.push((on, 1.0));
            if out.len() < self.n_samples {
                out.push((complement, 1.0));
            }
        }
        out
    }
}

impl Estimator for KernelShap {
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

    fn estimate(
        &self,
        game: &mut Game<'_>,
        labels: &[usize],
        f_input: &[f64],
        f_empty: &[f64],
    ) -> Result<Scores> {
        let n = game.len();
        let mut scores = vec![vec![0.0; n]; labels.len()];
        // Null players (tokens equal to the reference's) have Shapley value 0 exactly; the fit
        // is over the others.
        let players: Vec<usize> = (0..n).filter(|&f| !game.is_null(f)).collect();
        let m = players.len();
        let change: Vec<f64> = labels.iter().map(|&l| f_input[l] - f_empty[l]).collect();
        if m == 0 {
            return Ok(Scores { scores });
        }
        if m == 1 {
            for (t, c) in change.iter().enumerate() {
                scores[t][players[0]] = *c;
            }
            return Ok(Scores { scores });
        }
        let draws = self.coalitions(m);
        let full: Vec<Vec<bool>> = draws
            .iter()
            .map(|(on, _)| {
                let mut all = vec![true; n];
                for (k, &p) in players.iter().enumerate() {
                    all[p] = on[k];
                }
                all
            })
            .collect();
        let values = game.values(&full)?;
        // Efficiency eliminates the last player: φ_last = Δ − Σ_{j<last} φ_j, so
        // y − z_last Δ = Σ_j (z_j − z_last) φ_j, a weighted least-squares fit in m − 1 unknowns.
        let k = m - 1;
        let mut a = vec![vec![0.0; k]; k];
        let mut b = vec![vec![0.0; k]; labels.len()];
        for ((on, w), value) in draws.iter().zip(&values) {
            let last = f64::from(u8::from(on[k]));
            let x: Vec<f64> = (0..k).map(|j| f64::from(u8::from(on[j])) - last).collect();
            for i in 0..k {
                if x[i] == 0.0 {
                    continue;
                }
                for j in 0..k {
                    a[i][j] += w * x[i] * x[j];
                }
            }
            for (t, &label) in labels.iter().enumerate() {
                let y = value[label] - f_empty[label] - last * change[t];
                for i in 0..k {
                    b[t][i] += w * x[i] * y;
                }
            }
        }
        let phi = linalg::solve(a, b).ok_or_else(|| {
            Error::InvalidConfig(format!(
                "kernel-shap: the {} coalitions drawn do not determine the scores of the text's {m} features; raise n_samples or use coarser groups",
                draws.len()
            ))
        })?;
        for (t, x) in phi.iter().enumerate() {
            let mut rest = change[t];
            for (j, v) in x.iter().enumerate() {
                scores[t][players[j]] = *v;
                rest -= v;
            }
            scores[t][players[k]] = rest;
        }
        Ok(Scores { scores })
    }
}

explainer_core::register_method! {
    name: KernelShap::NAME,
    config: KernelShap,
    summary: "KernelSHAP: Shapley-kernel weighted fit of group coalitions, efficiency enforced; exact on short texts (forward only).",
    requires: [Forward],
    convergence_delta: true,
    impl {
        fn claims(&self) -> Vec<explainer_core::Claim> {
            claims::regression(self.replace_with, true)
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
