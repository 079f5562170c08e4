//! Quadrature rules on [0, 1] for path methods (Integrated Gradients, Conductance).
//!
//! The rules are Captum's (`captum/attr/_utils/approximation_methods.py`), so that the same
//! rule and step count give the same interpolation points and weights:
//!
//! | rule | points αₖ | weights wₖ |
//! |---|---|---|
//! | `gauss_legendre` | ½(1 + xₖ), xₖ the n Gauss–Legendre nodes on [−1, 1], ascending | ½ × Gauss–Legendre weight |
//! | `riemann_left` | linspace(0, 1 − 1/n, n) | 1/n |
//! | `riemann_right` | linspace(1/n, 1, n) | 1/n |
//! | `riemann_middle` | linspace(1/2n, 1 − 1/2n, n) | 1/n |
//! | `riemann_trapezoid` | linspace(0, 1, n) | 1/n, halved at both ends |
//! | `trapezoid` | linspace(0, 1, n) | 1/(n−1), halved at both ends |
//!
//! Captum's `riemann_trapezoid` weights sum to (n − 1)/n, not 1: the points are 1/(n − 1)
//! apart but weighted 1/n, so it underestimates every integral by the factor (n − 1)/n. It is
//! kept as Captum defines it for parity; `trapezoid` is the textbook composite rule.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// A quadrature rule on [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Gauss–Legendre (Captum's default): exact for polynomials of degree ≤ 2n − 1.
    #[default]
    GaussLegendre,
    /// Left Riemann sum.
    RiemannLeft,
    /// Right Riemann sum.
    RiemannRight,
    /// Midpoint rule.
    RiemannMiddle,
    /// Captum's trapezoid rule (weights sum to (n − 1)/n; see the module docs).
    RiemannTrapezoid,
    /// The composite trapezoid rule (weights sum to 1).
    Trapezoid,
}

/// Interpolation points and their weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Quadrature {
    /// Points αₖ in [0, 1], ascending.
    pub alphas: Vec<f64>,
    /// Weights wₖ (Captum's "step sizes").
    pub weights: Vec<f64>,
}

impl Quadrature {
    /// Σ wₖ f(αₖ).
    pub fn integrate(&self, f: impl Fn(f64) -> f64) -> f64 {
        self.alphas.iter().zip(&self.weights).map(|(&a, &w)| w * f(a)).sum()
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.alphas.len()
    }

    /// Whether there are no points.
    pub fn is_empty(&self) -> bool {
        self.alphas.is_empty()
    }
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 6] = [
        Rule::GaussLegendre,
        Rule::RiemannLeft,
        Rule::RiemannRight,
        Rule::RiemannMiddle,
        Rule::RiemannTrapezoid,
        Rule::Trapezoid,
    ];

    /// The rule's name here (also its serialised form).
    pub fn name(self) -> &'static str {
        match self {
            Rule::GaussLegendre => "gauss_legendre",
            Rule::RiemannLeft => "riemann_left",
            Rule::RiemannRight => "riemann_right",
            Rule::RiemannMiddle => "riemann_middle",
            Rule::RiemannTrapezoid => "riemann_trapezoid",
            Rule::Trapezoid => "trapezoid",
        }
    }

    /// Captum's `method` string for this rule, when Captum has it.
    pub fn captum_name(self) -> Option<&'static str> {
        match self {
            Rule::GaussLegendre => Some("gausslegendre"),
            Rule::Trapezoid => None,
            other => Some(other.name()),
        }
    }

    /// The fewest points the rule accepts (Captum: 1 for Gauss–Legendre, 2 for Riemann).
    pub fn min_points(self) -> usize {
        match self {
            Rule::GaussLegendre => 1,
            _ => 2,
        }
    }

    /// The rule's `n` points and weights on [0, 1].
    pub fn points(self, n: usize) -> Result<Quadrature> {
        if n < self.min_points() {
            return Err(Error::InvalidConfig(format!(
                "the {} rule needs at least {} step(s), got {n}",
                self.name(),
                self.min_points()
            )));
        }
        let nf = n as f64;
        let quadrature = match self {
            Rule::GaussLegendre => {
                let (nodes, weights) = gauss_legendre(n);
                Quadrature {
                    alphas: nodes.iter().map(|x| 0.5 * (1.0 + x)).collect(),
                    weights: weights.iter().map(|w| 0.5 * w).collect(),
                }
            }
            Rule::RiemannLeft => {
                Quadrature { alphas: linspace(0.0, 1.0 - 1.0 / nf, n), weights: vec![1.0 / nf; n] }
            }
            Rule::RiemannRight => {
                Quadrature { alphas: linspace(1.0 / nf, 1.0, n), weights: vec![1.0 / nf; n] }
            }
            Rule::RiemannMiddle => Quadrature {
                alphas: linspace(1.0 / (2.0 * nf), 1.0 - 1.0 / (2.0 * nf), n),
                weights: vec![1.0 / nf; n],
            },
            Rule::RiemannTrapezoid => {
                let mut weights = vec![1.0 / nf; n];
                weights[0] /= 2.0;
                weights[n - 1] /= 2.0;
                Quadrature { alphas: linspace(0.0, 1.0, n), weights }
            }
            Rule::Trapezoid => {
                let h = 1.0 / (nf - 1.0);
                let mut weights = vec![h; n];
                weights[0] /= 2.0;
                weights[n - 1] /= 2.0;
                Quadrature { alphas: linspace(0.0, 1.0, n), weights }
            }
        };
        Ok(quadrature)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rule {
    type Err = Error;

    /// Accepts this crate's names, Captum's (`gausslegendre`) and hyphens for underscores.
    fn from_str(s: &str) -> Result<Self> {
        let wanted = s.trim().to_lowercase().replace('-', "_");
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == wanted || r.captum_name() == Some(wanted.as_str()))
            .ok_or_else(|| {
                Error::unknown_name(
                    "quadrature rule",
                    s,
                    Rule::ALL.iter().map(|r| r.name().to_owned()).collect(),
                )
            })
    }
}

/// The Clenshaw–Curtis rule with `intervals + 1` points on [0, 1] (`intervals` ≥ 1): points
/// αⱼ = sin²(jπ / 2N) = ½(1 − cos(jπ/N)), ascending, with the interpolatory weights that make it
/// exact for polynomials of degree ≤ N (Clenshaw & Curtis 1960; Trefethen, "Is Gauss
/// quadrature better than Clenshaw–Curtis?", SIAM Review 2008).
///
/// The rules are **nested**: the points of `N` are the even-indexed points of `2N`, bit for bit
/// (each point is computed from the reduced fraction j/N, and the upper half is 1 − its mirror),
/// so an adaptive integrator that doubles `N` reuses every point it has evaluated.
pub fn clenshaw_curtis(intervals: usize) -> Result<Quadrature> {
    if intervals == 0 {
        return Err(Error::InvalidConfig(
            "the Clenshaw–Curtis rule needs at least 1 interval (2 points)".into(),
        ));
    }
    let n = intervals;
    let alphas = (0..=n).map(|j| clenshaw_curtis_point(j, n)).collect();
    let nf = n as f64;
    let weights = (0..=n)
        .map(|j| {
            let mut s = 0.0;
            for m in 1..=n / 2 {
                let b = if 2 * m == n { 1.0 } else { 2.0 };
                let mf = m as f64;
                s += b / (4.0 * mf * mf - 1.0) * (2.0 * mf * j as f64 * std::f64::consts::PI / nf).cos();
            }
            let c = if j == 0 || j == n { 1.0 } else { 2.0 };
            0.5 * c / nf * (1.0 - s)
        })
        .collect();
    Ok(Quadrature { alphas, weights })
}

/// Point j of the (N + 1)-point Clenshaw–Curtis rule on [0, 1], from the reduced fraction
/// j/N so that nested rules share points exactly; symmetric: α(j) + α(N − j) = 1.
pub fn clenshaw_curtis_point(j: usize, n: usize) -> f64 {
    if 2 * j > n {
        return 1.0 - clenshaw_curtis_point(n - j, n);
    }
    if 2 * j == n {
        return 0.5; // sin²(π/4) rounds to 0.4999…
    }
    let g = gcd(j, n);
    let (p, q) = (j / g.max(1), n / g.max(1));
    let s = (std::f64::consts::PI * p as f64 / (2.0 * q as f64)).sin();
    s * s
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// `n` evenly spaced points from `start` to `end` inclusive (numpy's linspace: the last
/// point is exactly `end`).
fn linspace(start: f64, end: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (end - start) / (n - 1) as f64;
    let mut points: Vec<f64> = (0..n).map(|i| start + step * i as f64).collect();
    points[n - 1] = end;
    points
}

/// Gauss–Legendre nodes (ascending) and weights on [−1, 1].
///
/// Newton's iteration on Pₙ from the Tricomi-style initial guess cos(π(k + ¾)/(n + ½)), the
/// recurrence (k+1)Pₖ₊₁ = (2k+1)xPₖ − kPₖ₋₁ for values, and wₖ = 2 / ((1 − x²) Pₙ'(x)²). The
/// nodes are symmetrised, as numpy's `leggauss` does, so αₖ + αₙ₋₁₋ₖ = 1 exactly.
fn gauss_legendre(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut nodes = vec![0.0; n];
    let mut weights = vec![0.0; n];
    let nf = n as f64;
    for k in 0..n.div_ceil(2) {
        // The k-th largest root.
        let mut x = (std::f64::consts::PI * (k as f64 + 0.75) / (nf + 0.5)).cos();
        let mut derivative = 0.0;
        for _ in 0..100 {
            let (p, dp) = legendre(n, x);
            derivative = dp;
            let dx = p / dp;
            x -= dx;
            if dx.abs() <= 1e-16 * x.abs().max(1.0) {
                break;
            }
        }
        let (_, dp) = legendre(n, x);
        if dp.is_finite() {
            derivative = dp;
        }
        let w = 2.0 / ((1.0 - x * x) * derivative * derivative);
        nodes[n - 1 - k] = x;
        nodes[k] = -x;
        weights[n - 1 - k] = w;
        weights[k] = w;
    }
    if n % 2 == 1 {
        nodes[n / 2] = 0.0;
    }
    (nodes, weights)
}

/// Pₙ(x) and Pₙ'(x).
fn legendre(n: usize, x: f64) -> (f64, f64) {
    let (mut p_prev, mut p) = (1.0, x);
    if n == 0 {
        return (1.0, 0.0);
    }
    for k in 1..n {
        let kf = k as f64;
        let next = ((2.0 * kf + 1.0) * x * p - kf * p_prev) / (kf + 1.0);
        p_prev = p;
        p = next;
    }
    let derivative = n as f64 * (x * p - p_prev) / (x * x - 1.0);
    (p, derivative)
}
