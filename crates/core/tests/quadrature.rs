//! Quadrature rules against integrals with known values, and against Captum's definitions.

#![allow(clippy::unwrap_used)] // test helpers may panic

use approx::assert_relative_eq;
use explainer_core::{Error, Rule};
use proptest::prelude::*;

fn integral(rule: Rule, n: usize, f: impl Fn(f64) -> f64) -> f64 {
    rule.points(n).unwrap().integrate(f)
}

#[test]
fn gauss_legendre_closed_forms() {
    let q = Rule::GaussLegendre.points(1).unwrap();
    assert_eq!((q.alphas.clone(), q.weights.clone()), (vec![0.5], vec![1.0]));

    let q = Rule::GaussLegendre.points(2).unwrap();
    let r = 0.5 / 3f64.sqrt();
    assert_relative_eq!(q.alphas[0], 0.5 - r, epsilon = 1e-16);
    assert_relative_eq!(q.alphas[1], 0.5 + r, epsilon = 1e-16);
    assert_relative_eq!(q.weights[0], 0.5, epsilon = 1e-16);

    // Five points: nodes 0, ±⅓√(5 ∓ 2√(10/7)); weights 128/225, (322 ± 13√70)/900.
    let q = Rule::GaussLegendre.points(5).unwrap();
    let inner = (5.0 - 2.0 * (10.0f64 / 7.0).sqrt()).sqrt() / 3.0;
    let outer = (5.0 + 2.0 * (10.0f64 / 7.0).sqrt()).sqrt() / 3.0;
    let nodes = [-outer, -inner, 0.0, inner, outer];
    let w_inner = (322.0 + 13.0 * 70f64.sqrt()) / 900.0;
    let w_outer = (322.0 - 13.0 * 70f64.sqrt()) / 900.0;
    let weights = [w_outer, w_inner, 128.0 / 225.0, w_inner, w_outer];
    for i in 0..5 {
        assert_relative_eq!(q.alphas[i], 0.5 * (1.0 + nodes[i]), epsilon = 1e-15);
        assert_relative_eq!(q.weights[i], 0.5 * weights[i], epsilon = 1e-15);
    }
}

#[test]
fn gauss_legendre_is_exact_for_polynomials_up_to_degree_2n_minus_1() {
    for n in [1, 2, 3, 7, 20, 50] {
        for degree in 0..2 * n {
            let got = integral(Rule::GaussLegendre, n, |x| x.powi(degree as i32));
            assert_relative_eq!(got, 1.0 / (degree as f64 + 1.0), max_relative = 1e-13);
        }
    }
}

#[test]
fn gauss_legendre_points_are_ordered_symmetric_and_weights_sum_to_one() {
    for n in [1, 2, 3, 4, 10, 50, 51, 128, 300] {
        let q = Rule::GaussLegendre.points(n).unwrap();
        assert_eq!(q.len(), n);
        assert!(q.alphas.windows(2).all(|w| w[0] < w[1]), "n = {n}: ascending");
        assert!(q.alphas.iter().all(|&a| a > 0.0 && a < 1.0));
        for i in 0..n {
            assert_eq!(q.alphas[i] + q.alphas[n - 1 - i], 1.0, "n = {n}: symmetric");
            assert_eq!(q.weights[i], q.weights[n - 1 - i]);
        }
        assert_relative_eq!(q.weights.iter().sum::<f64>(), 1.0, max_relative = 1e-13);
    }
}

#[test]
fn smooth_integrals_converge_at_the_expected_rates() {
    let e1 = std::f64::consts::E - 1.0; // ∫₀¹ eˣ dx
    assert_relative_eq!(integral(Rule::GaussLegendre, 8, f64::exp), e1, max_relative = 1e-15);
    // ∫₀¹ 1/(1+x²) dx = π/4.
    let pi4 = std::f64::consts::FRAC_PI_4;
    assert_relative_eq!(
        integral(Rule::GaussLegendre, 20, |x| 1.0 / (1.0 + x * x)),
        pi4,
        max_relative = 1e-15
    );

    // Midpoint and composite trapezoid: error ~ f'(1) − f'(0) over 24n² and 12(n−1)².
    for n in [10, 50, 200] {
        let nf = n as f64;
        let mid = integral(Rule::RiemannMiddle, n, f64::exp);
        assert_relative_eq!(mid - e1, -e1 / (24.0 * nf * nf), max_relative = 1e-2);
        let trap = integral(Rule::Trapezoid, n, f64::exp);
        assert_relative_eq!(trap - e1, e1 / (12.0 * (nf - 1.0).powi(2)), max_relative = 1e-2);
    }
}

#[test]
fn riemann_rules_match_captum_definitions() {
    let n = 4;
    let q = Rule::RiemannLeft.points(n).unwrap();
    assert_eq!(q.alphas, [0.0, 0.25, 0.5, 0.75]);
    assert_eq!(q.weights, [0.25; 4]);
    let q = Rule::RiemannRight.points(n).unwrap();
    assert_eq!(q.alphas, [0.25, 0.5, 0.75, 1.0]);
    let q = Rule::RiemannMiddle.points(n).unwrap();
    assert_eq!(q.alphas, [0.125, 0.375, 0.625, 0.875]);
    let q = Rule::RiemannTrapezoid.points(n).unwrap();
    assert_relative_eq!(q.alphas[1], 1.0 / 3.0, epsilon = 1e-16);
    assert_eq!(q.alphas[3], 1.0);
    assert_eq!(q.weights, [0.125, 0.25, 0.25, 0.125]);

    // Exact values of ∫₀¹ x dx = ½ under each rule with n points.
    for n in [2usize, 5, 50] {
        let nf = n as f64;
        let x = |x: f64| x;
        assert_relative_eq!(integral(Rule::RiemannLeft, n, x), (nf - 1.0) / (2.0 * nf), max_relative = 1e-14);
        assert_relative_eq!(
            integral(Rule::RiemannRight, n, x),
            (nf + 1.0) / (2.0 * nf),
            max_relative = 1e-14
        );
        assert_relative_eq!(integral(Rule::RiemannMiddle, n, x), 0.5, max_relative = 1e-14);
        assert_relative_eq!(integral(Rule::Trapezoid, n, x), 0.5, max_relative = 1e-14);
        // Captum's trapezoid weights sum to (n − 1)/n, so it returns (n − 1)/n × ½.
        assert_relative_eq!(
            integral(Rule::RiemannTrapezoid, n, x),
            (nf - 1.0) / (2.0 * nf),
            max_relative = 1e-14
        );
        assert_relative_eq!(
            integral(Rule::RiemannTrapezoid, n, |_| 1.0),
            (nf - 1.0) / nf,
            max_relative = 1e-14
        );
    }
}

#[test]
fn too_few_steps_is_a_config_error() {
    assert!(matches!(Rule::GaussLegendre.points(0), Err(Error::InvalidConfig(_))));
    for rule in
        [Rule::RiemannLeft, Rule::RiemannRight, Rule::RiemannMiddle, Rule::RiemannTrapezoid, Rule::Trapezoid]
    {
        let err = rule.points(1).unwrap_err();
        assert!(err.to_string().contains("at least 2"), "{err}");
    }
}

#[test]
fn rules_parse_from_our_names_and_captums() {
    assert_eq!("gausslegendre".parse::<Rule>().unwrap(), Rule::GaussLegendre);
    assert_eq!("gauss-legendre".parse::<Rule>().unwrap(), Rule::GaussLegendre);
    assert_eq!("riemann_trapezoid".parse::<Rule>().unwrap(), Rule::RiemannTrapezoid);
    for rule in Rule::ALL {
        assert_eq!(rule.to_string().parse::<Rule>().unwrap(), rule);
        let json = serde_json::to_string(&rule).unwrap();
        assert_eq!(json, format!("\"{}\"", rule.name()));
        assert_eq!(serde_json::from_str::<Rule>(&json).unwrap(), rule);
    }
    let err = "riemann_midle".parse::<Rule>().unwrap_err();
    assert!(err.to_string().contains("did you mean \"riemann_middle\""), "{err}");
}

proptest! {
    /// Gauss–Legendre with n points integrates any polynomial of degree ≤ 2n − 1 exactly.
    #[test]
    fn gauss_legendre_random_polynomials(n in 1usize..12, coefficients in prop::collection::vec(-10.0f64..10.0, 1..24)) {
        let degree = coefficients.len().min(2 * n);
        let c = &coefficients[..degree];
        let exact: f64 = c.iter().enumerate().map(|(k, a)| a / (k as f64 + 1.0)).sum();
        let got = integral(Rule::GaussLegendre, n, |x| c.iter().rev().fold(0.0, |acc, a| acc * x + a));
        let scale: f64 = c.iter().map(|a| a.abs()).sum::<f64>().max(1.0);
        prop_assert!((got - exact).abs() <= 1e-13 * scale, "n={n} got={got} exact={exact}");
    }
}

#[test]
fn clenshaw_curtis_is_exact_to_degree_n_nested_and_symmetric() {
    use explainer_core::quadrature::{clenshaw_curtis, clenshaw_curtis_point};
    assert!(clenshaw_curtis(0).is_err());
    for n in [1usize, 2, 4, 8, 16, 32, 64, 128] {
        let q = clenshaw_curtis(n).unwrap();
        assert_eq!(q.len(), n + 1);
        assert_eq!(q.alphas[0], 0.0);
        assert_eq!(q.alphas[n], 1.0);
        assert!(q.alphas.windows(2).all(|w| w[0] < w[1]), "ascending at {n}");
        assert!(q.weights.iter().all(|&w| w > 0.0), "positive weights at {n}");
        for j in 0..=n {
            assert_eq!(q.alphas[j] + q.alphas[n - j], 1.0, "symmetric at {n}, {j}");
        }
        // Exact for every monomial of degree ≤ n: ∫₀¹ x^d dx = 1/(d + 1).
        for d in 0..=n as i32 {
            let got = q.integrate(|x| x.powi(d));
            assert!((got - 1.0 / (d as f64 + 1.0)).abs() < 1e-13, "n {n}, degree {d}: {got}");
        }
        // Not exact beyond (even n: degree n + 1 is still exact by symmetry, so check n + 2;
        // small n only, where that error is far above rounding).
        if (2..=8).contains(&n) {
            let d = n as i32 + 2;
            assert!((q.integrate(|x| x.powi(d)) - 1.0 / (d as f64 + 1.0)).abs() > 1e-12, "n {n}");
        }
        // Nested: the points of n are the even points of 2n, bit for bit.
        let finer = clenshaw_curtis(2 * n).unwrap();
        for j in 0..=n {
            assert_eq!(finer.alphas[2 * j].to_bits(), q.alphas[j].to_bits(), "nesting at {n}, {j}");
            assert_eq!(clenshaw_curtis_point(2 * j, 2 * n).to_bits(), clenshaw_curtis_point(j, n).to_bits());
        }
    }
}
