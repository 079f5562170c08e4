//! Faithfulness: does the model's score move the way the attribution says it should?
//!
//! - [`aopc`]: comprehensiveness and sufficiency as the area over the perturbation curve
//!   (ERASER, DeYoung et al. 2020), with ferret's defaults ([`Removal::ferret`]) or ERASER's
//!   bins ([`Removal::eraser`]);
//! - [`tau_loo`]: Kendall's τ-b between the attributions and leave-one-out occlusion;
//! - [`infidelity`]: Captum's infidelity (Yeh et al. 2019) with a token-level perturbation;
//! - [`sensitivity_max`]: Captum's sensitivity-max from attributions of perturbed inputs.
//!
//! Every function takes the whole input (`ids`, special tokens included) and one attribution
//! per token; special tokens (`special[i]`) are never removed, ranked or correlated — ferret's
//! `remove_first_last` — and are kept in every modified input. Removal deletes tokens (ferret's
//! `remove_tokens: True`), at the id level (ferret decodes the ids to text and re-tokenises;
//! see `docs/evaluation.md`).

use explainer_core::Result;
use explainer_core::rng::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::plausibility::top_k;
use crate::scorer::Scorer;
use crate::stats::kendall_tau_b;

/// How the AOPC metrics build their rationales: the fractions of the (non-special) tokens
/// to remove, and whether only positively attributed tokens are ever removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Removal {
    /// Fractions in (0, 1]; each gives a rationale of the top ⌊fraction · n⌋ tokens.
    pub fractions: Vec<f64>,
    /// Take only tokens with a positive attribution (ferret's `only_pos`, default true).
    pub only_positive: bool,
}

impl Removal {
    /// ferret's defaults: 10 %, 20 %, …, 100 % (`np.arange(0.1, 1.1, 0.1)`, reproduced to
    /// the bit: 0.1 + i · 0.1), positive tokens only.
    pub fn ferret() -> Self {
        Removal { fractions: (0..10).map(|i| 0.1 + i as f64 * 0.1).collect(), only_positive: true }
    }

    /// ERASER's bins: 1 %, 5 %, 10 %, 20 %, 50 %, positive tokens only.
    pub fn eraser() -> Self {
        Removal { fractions: vec![0.01, 0.05, 0.1, 0.2, 0.5], only_positive: true }
    }
}

impl Default for Removal {
    fn default() -> Self {
        Removal::ferret()
    }
}

/// Comprehensiveness and sufficiency of one attribution for one label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Aopc {
    /// mean over the rationales of p(x) − p(x without the rationale): higher is better.
    pub comprehensiveness: f64,
    /// mean over the rationales of p(x) − p(the rationale alone): lower is better.
    pub sufficiency: f64,
    /// How many distinct rationales were averaged (0: no token qualified; then ferret's
    /// defaults 0 and 1 are returned).
    pub rationales: usize,
}

/// Positions of the non-special tokens.
pub fn content_positions(special: &[bool]) -> Vec<usize> {
    special.iter().enumerate().filter(|(_, s)| !**s).map(|(i, _)| i).collect()
}

/// The distinct rationales of `removal` (ferret: a rationale equal to the previous one is
/// skipped), as indices into the content tokens.
pub fn rationales(content_scores: &[f64], removal: &Removal) -> Vec<Vec<usize>> {
    let n = content_scores.len();
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut last: Option<Vec<usize>> = None;
    for &fraction in &removal.fractions {
        let v = (fraction * n as f64) as usize;
        if v == 0 || v > n {
            continue;
        }
        let top = top_k(content_scores, v, removal.only_positive);
        if top.is_empty() {
            continue;
        }
        let mut set = top.clone();
        set.sort_unstable();
        if last.as_ref() == Some(&set) {
            continue;
        }
        last = Some(set.clone());
        out.push(set);
    }
    out
}

/// AOPC comprehensiveness and sufficiency of `attributions` for `label` (ferret's
/// `aopc_compr` / `aopc_suff` with `removal`).
pub fn aopc(
    scorer: &mut dyn Scorer,
    ids: &[i64],
    special: &[bool],
    attributions: &[f64],
    label: usize,
    removal: &Removal,
) -> Result<Aopc> {
    let content = content_positions(special);
    let content_scores: Vec<f64> = content.iter().map(|&i| attributions[i]).collect();
    let sets = rationales(&content_scores, removal);
    if sets.is_empty() {
        return Ok(Aopc { comprehensiveness: 0.0, sufficiency: 1.0, rationales: 0 });
    }
    let mut inputs = vec![ids.to_vec()];
    for set in &sets {
        let removed: Vec<usize> = set.iter().map(|&c| content[c]).collect();
        inputs.push(ids.iter().enumerate().filter(|(i, _)| !removed.contains(i)).map(|(_, &t)| t).collect());
    }
    for set in &sets {
        let kept: Vec<usize> = set.iter().map(|&c| content[c]).collect();
        inputs.push(
            ids.iter()
                .enumerate()
                .filter(|(i, _)| special[*i] || kept.contains(i))
                .map(|(_, &t)| t)
                .collect(),
        );
    }
    let scores = scorer.label_scores(&inputs, label)?;
    let full = scores[0];
    let k = sets.len();
    let comprehensiveness = scores[1..=k].iter().map(|s| full - s).sum::<f64>() / k as f64;
    let sufficiency = scores[k + 1..].iter().map(|s| full - s).sum::<f64>() / k as f64;
    Ok(Aopc { comprehensiveness, sufficiency, rationales: k })
}

/// Leave-one-out occlusion of every non-special token: p(x) − p(x without token i).
pub fn leave_one_out(
    scorer: &mut dyn Scorer,
    ids: &[i64],
    special: &[bool],
    label: usize,
) -> Result<Vec<f64>> {
    let content = content_positions(special);
    let mut inputs = vec![ids.to_vec()];
    for &c in &content {
        inputs.push(ids.iter().enumerate().filter(|(i, _)| *i != c).map(|(_, &t)| t).collect());
    }
    let scores = scorer.label_scores(&inputs, label)?;
    Ok(scores[1..].iter().map(|s| scores[0] - s).collect())
}

/// Kendall's τ-b between the non-special attributions and leave-one-out occlusion (ferret's
/// `taucorr_loo`); `None` when either is constant (scipy gives NaN).
pub fn tau_loo(
    scorer: &mut dyn Scorer,
    ids: &[i64],
    special: &[bool],
    attributions: &[f64],
    label: usize,
) -> Result<Option<f64>> {
    let loo = leave_one_out(scorer, ids, special, label)?;
    let content: Vec<f64> = content_positions(special).iter().map(|&i| attributions[i]).collect();
    Ok(kendall_tau_b(&loo, &content))
}

/// The perturbation [`infidelity`] draws: each non-special token is replaced by
/// `replacement` with probability `probability` (at least one token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InfidelityOptions {
    /// Perturbations per attribution (Captum's `n_perturb_samples`, default 10).
    pub samples: usize,
    /// Probability that a token is replaced.
    pub probability: f64,
    /// Seed of the draws.
    pub seed: u64,
}

impl Default for InfidelityOptions {
    fn default() -> Self {
        InfidelityOptions { samples: 10, probability: 0.25, seed: 0 }
    }
}

/// Captum's infidelity, `E_I[(Iᵀφ − (f(x) − f(x − I)))²]` without normalisation, with I the
/// replacement of a random token subset S by `replacement` (the pad id): Iᵀφ is then Σ_{i∈S} φᵢ
/// for token-level attributions (exact for attributions against that same reference). Lower
/// is better.
pub fn infidelity(
    scorer: &mut dyn Scorer,
    ids: &[i64],
    special: &[bool],
    attributions: &[f64],
    label: usize,
    replacement: i64,
    options: &InfidelityOptions,
) -> Result<Option<f64>> {
    let content = content_positions(special);
    if content.is_empty() || options.samples == 0 {
        return Ok(None);
    }
    let mut rng = SplitMix64::new(options.seed);
    let mut inputs = vec![ids.to_vec()];
    let mut dots = Vec::with_capacity(options.samples);
    for _ in 0..options.samples {
        let mut subset: Vec<usize> =
            content.iter().copied().filter(|_| rng.uniform() < options.probability).collect();
        if subset.is_empty() {
            subset.push(content[rng.below(content.len() as u64) as usize]);
        }
        let mut perturbed = ids.to_vec();
        for &i in &subset {
            perturbed[i] = replacement;
        }
        dots.push(subset.iter().map(|&i| attributions[i]).sum::<f64>());
        inputs.push(perturbed);
    }
    let scores = scorer.label_scores(&inputs, label)?;
    let sum: f64 = dots.iter().zip(&scores[1..]).map(|(d, s)| (d - (scores[0] - s)).powi(2)).sum();
    Ok(Some(sum / options.samples as f64))
}

/// Captum's sensitivity-max: max over perturbed inputs of ‖φ(x̃) − φ(x)‖₂ / ‖φ(x)‖₂ (Captum
/// divides by the input explanation's norm where it is positive). `None` without perturbed
/// attributions or when ‖φ(x)‖ = 0. Lower is better.
pub fn sensitivity_max(attributions: &[f64], perturbed: &[Vec<f64>]) -> Option<f64> {
    let norm = attributions.iter().map(|a| a * a).sum::<f64>().sqrt();
    if perturbed.is_empty() || norm == 0.0 {
        return None;
    }
    perturbed
        .iter()
        .map(|p| p.iter().zip(attributions).map(|(a, b)| (a - b).powi(2)).sum::<f64>().sqrt() / norm)
        .max_by(f64::total_cmp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scorer::FnScorer;

    /// A fixed score function: sigmoid of the sum of per-id weights (ids 0 and 1 are the
    /// special tokens and weigh nothing).
    fn linear(ids: &[i64]) -> Vec<f64> {
        let w = [0.0, 0.0, 2.0, -1.0, 0.5, 1.0];
        let z: f64 = ids.iter().map(|&i| w[i as usize]).sum();
        vec![1.0 / (1.0 + (-z).exp())]
    }

    fn sig(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    #[test]
    fn ferret_fractions_reproduce_numpy_arange() {
        let f = Removal::ferret().fractions;
        // np.arange(0.1, 1.1, 0.1) = [0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6,
        // 0.7000000000000001, 0.8, 0.9, 1.0]
        assert_eq!(f[2], 0.30000000000000004);
        assert_eq!(f[6], 0.7000000000000001);
        assert_eq!(f[9], 1.0);
    }

    #[test]
    fn aopc_by_hand() {
        // [CLS] 2 3 4 5 [SEP]; attributions rank 2 > 5 > 4 > 3 (3 negative).
        let ids = [0, 2, 3, 4, 5, 1];
        let special = [true, false, false, false, false, true];
        let attr = [9.0, 0.8, -0.2, 0.1, 0.5, 9.0];
        let removal = Removal { fractions: vec![0.25, 0.5, 0.75, 1.0], only_positive: true };
        // n = 4: top 1 {2}, top 2 {2, 5}, top 3 {2, 5, 4}, top 4 → positive only {2, 5, 4}
        // (the same set: skipped).
        let sets = rationales(&[0.8, -0.2, 0.1, 0.5], &removal);
        assert_eq!(sets, vec![vec![0], vec![0, 3], vec![0, 2, 3]]);
        let mut scorer = FnScorer(linear);
        let a = aopc(&mut scorer, &ids, &special, &attr, 0, &removal).unwrap();
        let full = sig(2.5);
        let comp = ((full - sig(0.5)) + (full - sig(-0.5)) + (full - sig(-1.0))) / 3.0;
        let suff = ((full - sig(2.0)) + (full - sig(3.0)) + (full - sig(3.5))) / 3.0;
        assert!((a.comprehensiveness - comp).abs() < 1e-15);
        assert!((a.sufficiency - suff).abs() < 1e-15);
        assert_eq!(a.rationales, 3);
        // Nothing positive: ferret's defaults.
        let none =
            aopc(&mut scorer, &ids, &special, &[0.0, -1.0, -1.0, -1.0, -1.0, 0.0], 0, &removal).unwrap();
        assert_eq!((none.comprehensiveness, none.sufficiency, none.rationales), (0.0, 1.0, 0));
    }

    #[test]
    fn tau_loo_is_one_for_the_occlusion_itself() {
        let ids = [0, 2, 3, 4, 5, 1];
        let special = [true, false, false, false, false, true];
        let mut scorer = FnScorer(linear);
        let loo = leave_one_out(&mut scorer, &ids, &special, 0).unwrap();
        let mut attr = vec![0.0];
        attr.extend(&loo);
        attr.push(0.0);
        assert_eq!(tau_loo(&mut scorer, &ids, &special, &attr, 0).unwrap(), Some(1.0));
        let reversed: Vec<f64> = attr.iter().map(|a| -a).collect();
        assert_eq!(tau_loo(&mut scorer, &ids, &special, &reversed, 0).unwrap(), Some(-1.0));
    }

    #[test]
    fn infidelity_is_zero_for_an_exact_additive_explanation() {
        // A linear score (no sigmoid) replaced-by-0-weight id: φᵢ = wᵢ is exact.
        let w = [0.0, 0.0, 2.0, -1.0, 0.5, 1.0];
        let mut scorer = FnScorer(|ids: &[i64]| vec![ids.iter().map(|&i| w[i as usize]).sum::<f64>()]);
        let ids = [0, 2, 3, 4, 5, 1];
        let special = [true, false, false, false, false, true];
        let exact = [0.0, 2.0, -1.0, 0.5, 1.0, 0.0];
        let opts = InfidelityOptions::default();
        let v = infidelity(&mut scorer, &ids, &special, &exact, 0, 0, &opts).unwrap().unwrap();
        assert!(v.abs() < 1e-24, "{v}");
        let wrong = [0.0, 1.0, 1.0, 1.0, 1.0, 0.0];
        assert!(infidelity(&mut scorer, &ids, &special, &wrong, 0, 0, &opts).unwrap().unwrap() > 0.1);
    }

    #[test]
    fn sensitivity_by_hand() {
        // ‖(0, 1) − (3, 4)‖ … base (3, 4) has norm 5; differences (0, 1) and (3, 0).
        let s = sensitivity_max(&[3.0, 4.0], &[vec![3.0, 5.0], vec![6.0, 4.0]]).unwrap();
        assert!((s - 0.6).abs() < 1e-15);
        assert_eq!(sensitivity_max(&[0.0, 0.0], &[vec![1.0, 1.0]]), None);
    }
}
