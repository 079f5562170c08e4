//! The perturbation family: attribution by switching parts of the text off and watching the
//! output, on any model that has a forward pass (no gradients, hooks or op rules needed).
//!
//! - `occlusion` ([`Occlusion`]): a window of tokens or words slides over the text (Captum's
//!   `Occlusion`); each unit scores the mean output drop of the windows covering it.
//! - `feature-ablation` ([`FeatureAblation`]): each group alone is switched off (Captum's
//!   `FeatureAblation`); groups are tokens, words, phrases, sentences or a user's mask
//!   ([`Groups`]).
//! - `shapley-value-sampling` ([`ShapleyValueSampling`]): mean marginal contributions over
//!   seeded random (or given) feature orders (Captum's `ShapleyValueSampling`); complete.
//! - `kernel-shap` ([`KernelShap`]): the Shapley-kernel weighted fit with efficiency enforced
//!   by the constraint (`shap`'s `KernelExplainer`); exact Shapley values on short texts.
//! - `lime` ([`Lime`]): a weighted ridge fit under an exponential cosine kernel.
//! - `partition-shap` ([`PartitionShap`]): Owen values over `shap`'s word hierarchy of the
//!   tokens (`shap`'s `PartitionExplainer` with its Text masker); exact when `max_evals` allows
//!   the full expansion, else shap's budgeted approximation; complete either way.
//!
//! A switched-off feature takes the baseline's token ids (`pad`, `unk`, `mask`,
//! `random-tokens`, any token-id baseline; several draws are averaged and their spread
//! reported) or is deleted ([`Replacement`]). Each text's perturbed inputs are deduplicated by
//! their ids and run in batches sized from a memory budget; every explained label comes from
//! the same forward passes. A feature's score is spread evenly over its tokens, so that a
//! word's tokens sum to the word's score. Methods: `docs/methods/perturbation.md`.

mod ablation;
mod engine;
mod features;
mod hierarchy;
mod kernel_shap;
mod lime;
mod linalg;
mod occlusion;
mod partition;
mod shapley;

pub use ablation::FeatureAblation;
pub use engine::Replacement;
pub use features::{Groups, Unit};
pub use hierarchy::{partition_tree, text_tokens};
pub use kernel_shap::KernelShap;
pub use lime::Lime;
pub use occlusion::Occlusion;
pub use partition::{Hierarchy, PartitionShap};
pub use shapley::ShapleyValueSampling;

/// The registry names of this crate's methods, sorted.
pub const NAMES: [&str; 6] =
    ["feature-ablation", "kernel-shap", "lime", "occlusion", "partition-shap", "shapley-value-sampling"];

/// The default memory budget for one batch of perturbed inputs, in MiB (no gradients are
/// kept, so a batch row costs about one layer's activations).
pub const DEFAULT_MEMORY_BUDGET_MB: usize = 2 * 1024;

/// The claims of the family, derived in `docs/methods/perturbation.md#guarantees`.
mod claims {
    use explainer_core::{Axiom, Claim, ROUNDING_FACTOR, Tolerance};

    use crate::Replacement;

    /// Every score is a difference of two outputs of whole inputs (or a mean of such), so
    /// claims hold up to the float rounding of those outputs.
    fn rounding() -> Tolerance {
        Tolerance::rounding(ROUNDING_FACTOR)
    }

    /// What holds whatever the replacement: the same inputs give the same batches.
    fn always() -> Vec<Claim> {
        vec![Claim::new(Axiom::Determinism, Tolerance::EXACT), Claim::new(Axiom::BatchInvariance, rounding())]
    }

    /// Occlusion and Feature Ablation: `single` when every token is its own feature (symmetry
    /// holds per feature, so per token only then).
    ///
    /// Not claimed: dummy-token. A token the model ignores scores F(x) − F(x′) for two inputs
    /// that differ only there, i.e. the rounding of the outputs, κ·u·|F| (1.2e-7 measured),
    /// while the suite's dummy bound scales with the attributions (R = maxᵢ Mᵢ), which may be
    /// far smaller than |F|.
    pub(crate) fn perturbation(replace: Replacement, single: bool) -> Vec<Claim> {
        let mut claims = always();
        if replace == Replacement::Baseline {
            claims.extend([
                Claim::new(Axiom::Sensitivity, rounding()),
                Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT),
                Claim::new(Axiom::Linearity, rounding()),
                Claim::new(Axiom::ImplementationInvariance, rounding()),
            ]);
            if single {
                claims.push(Claim::new(Axiom::Symmetry, rounding()));
            }
        }
        claims
    }

    /// Shapley Value Sampling: each order telescopes, so completeness holds for any number of
    /// orders; sampled orders are not symmetric; dummy-token as for [`perturbation`].
    pub(crate) fn shapley_sampling(replace: Replacement) -> Vec<Claim> {
        let mut claims = always();
        claims.push(Claim::new(Axiom::Completeness, rounding()));
        if replace == Replacement::Baseline {
            claims.extend([
                Claim::new(Axiom::Sensitivity, rounding()),
                Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT),
                Claim::new(Axiom::Linearity, rounding()),
                Claim::new(Axiom::ImplementationInvariance, rounding()),
            ]);
        }
        claims
    }

    /// Partition SHAP: every node's change is split among its children, so completeness holds
    /// in both modes; baseline identity (every change is exactly 0) and sensitivity (with one
    /// token changed, every item holding it carries the whole change with a positive weight)
    /// too. Only the full expansion (`exact`) is a fixed linear combination of outputs: the
    /// budgeted queue's order depends on the outputs, so linearity and implementation
    /// invariance are claimed only then. Batch invariance holds in both: each text's queue sees
    /// the same outputs whatever its neighbours. Not claimed: symmetry (a hierarchy is not
    /// symmetric across groups; flat over tokens it is, but the suite's texts of up to 30
    /// tokens are beyond its 2^m evaluations); dummy-token, as for [`perturbation`].
    pub(crate) fn owen(replace: Replacement, exact: bool) -> Vec<Claim> {
        let mut claims = always();
        claims.push(Claim::new(Axiom::Completeness, rounding()));
        if replace == Replacement::Baseline {
            claims.extend([
                Claim::new(Axiom::Sensitivity, rounding()),
                Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT),
            ]);
            if exact {
                claims.extend([
                    Claim::new(Axiom::Linearity, rounding()),
                    Claim::new(Axiom::ImplementationInvariance, rounding()),
                ]);
            }
        }
        claims
    }

    /// KernelSHAP (`complete`) and LIME: fits whose conditioning has no a-priori bound claim
    /// only what does not pass through the fit's rounding.
    pub(crate) fn regression(replace: Replacement, complete: bool) -> Vec<Claim> {
        let mut claims = vec![Claim::new(Axiom::Determinism, Tolerance::EXACT)];
        if complete {
            claims.push(Claim::new(Axiom::Completeness, rounding()));
        }
        if replace == Replacement::Baseline {
            claims.push(Claim::new(Axiom::BaselineIdentity, Tolerance::EXACT));
            if complete {
                claims.push(Claim::new(Axiom::Sensitivity, rounding()));
            }
        }
        claims
    }
}
