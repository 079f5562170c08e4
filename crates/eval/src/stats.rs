//! Small statistics: means, rank correlations (Kendall τ-b, Spearman ρ) and the percentile
//! bootstrap.

use explainer_core::rng::SplitMix64;

/// The mean of the finite values, `None` when there is none.
pub fn mean(values: &[f64]) -> Option<f64> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() { None } else { Some(finite.iter().sum::<f64>() / finite.len() as f64) }
}

/// Kendall's τ-b of two equally long series (ties handled as scipy's `kendalltau`, its
/// default variant): `None` when either series is constant or they have fewer than two
/// points.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let (mut concordant, mut discordant, mut ties_x, mut ties_y) = (0i64, 0i64, 0i64, 0i64);
    for i in 0..n {
        for j in i + 1..n {
            let dx = x[i] - x[j];
            let dy = y[i] - y[j];
            match (dx == 0.0, dy == 0.0) {
                (true, true) => {}
                (true, false) => ties_x += 1,
                (false, true) => ties_y += 1,
                (false, false) => {
                    if (dx > 0.0) == (dy > 0.0) {
                        concordant += 1
                    } else {
                        discordant += 1
                    }
                }
            }
        }
    }
    let denom =
        (((concordant + discordant + ties_x) as f64) * ((concordant + discordant + ties_y) as f64)).sqrt();
    if denom == 0.0 { None } else { Some((concordant - discordant) as f64 / denom) }
}

/// Average ranks (1-based; ties get the mean of their ranks), as scipy's `rankdata`.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut out = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]] == x[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// Pearson's correlation; `None` when either series is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx).powi(2);
        syy += (y[i] - my).powi(2);
    }
    if sxx == 0.0 || syy == 0.0 { None } else { Some(sxy / (sxx * syy).sqrt()) }
}

/// Spearman's ρ: Pearson's correlation of the average ranks (scipy's `spearmanr`).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&ranks(x), &ranks(y))
}

/// A percentile-bootstrap confidence interval: `statistic` over `resamples` resamples (with
/// replacement) of `units` indices, seeded; returns the `(1 − level)/2` and `(1 + level)/2`
/// quantiles of the statistics that are defined. `None` when no resample gives a value.
pub fn bootstrap_ci(
    units: usize,
    resamples: usize,
    level: f64,
    seed: u64,
    statistic: impl Fn(&[usize]) -> Option<f64>,
) -> Option<(f64, f64)> {
    if units == 0 || resamples == 0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let mut stats = Vec::with_capacity(resamples);
    let mut sample = vec![0usize; units];
    for _ in 0..resamples {
        for s in sample.iter_mut() {
            *s = rng.below(units as u64) as usize;
        }
        if let Some(v) = statistic(&sample).filter(|v| v.is_finite()) {
            stats.push(v);
        }
    }
    if stats.is_empty() {
        return None;
    }
    stats.sort_by(f64::total_cmp);
    let q = |p: f64| -> f64 {
        // Linear interpolation between order statistics (numpy's default "linear").
        let pos = p * (stats.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        stats[lo] + (stats[hi] - stats[lo]) * (pos - lo as f64)
    };
    Some((q((1.0 - level) / 2.0), q((1.0 + level) / 2.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values from scipy.stats (1.x): kendalltau([1,2,3,4,5],[3,1,2,5,4]) = 0.4,
    // kendalltau([1,1,2,3],[1,2,2,3]) = 0.7999999999999999 (tau-b with ties),
    // spearmanr([1,2,3,4,5],[5,6,7,8,7]) = 0.8207826816681233.
    #[test]
    fn rank_correlations_match_scipy() {
        let t = kendall_tau_b(&[1., 2., 3., 4., 5.], &[3., 1., 2., 5., 4.]).unwrap();
        assert!((t - 0.4).abs() < 1e-12);
        let t = kendall_tau_b(&[1., 1., 2., 3.], &[1., 2., 2., 3.]).unwrap();
        assert!((t - 0.8).abs() < 1e-12);
        let r = spearman(&[1., 2., 3., 4., 5.], &[5., 6., 7., 8., 7.]).unwrap();
        assert!((r - 0.8207826816681233).abs() < 1e-12);
        assert_eq!(kendall_tau_b(&[1., 1., 1.], &[1., 2., 3.]), None);
        assert_eq!(ranks(&[3., 1., 3., 2.]), vec![3.5, 1.0, 3.5, 2.0]);
    }

    #[test]
    fn bootstrap_brackets_the_mean_and_is_seeded() {
        let data: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let stat = |idx: &[usize]| mean(&idx.iter().map(|&i| data[i]).collect::<Vec<_>>());
        let (lo, hi) = bootstrap_ci(50, 500, 0.95, 7, stat).unwrap();
        assert!(lo < 24.5 && 24.5 < hi, "{lo} {hi}");
        // The standard error of the mean is 14.43/√50 ≈ 2.04: the 95 % interval is ≈ ±4.
        assert!(hi - lo > 4.0 && hi - lo < 12.0, "{lo} {hi}");
        assert_eq!(bootstrap_ci(50, 500, 0.95, 7, stat), Some((lo, hi)));
    }
}
