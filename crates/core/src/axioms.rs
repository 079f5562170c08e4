//! The axioms an attribution method can guarantee, and the claims methods make about them.
//!
//! A method lists its [`Claim`]s through [`crate::Method::claims`]: which axioms it
//! guarantees and how closely. The conformance suite (`explainer-axioms`) checks every claim of
//! every registered method on random models, texts and baselines, and fails when one does not
//! hold. Formulas and sources: `docs/axioms.md`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A property of attributions, from the attribution literature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Axiom {
    /// Σ attributions = F(x) − F(x₀) (Sundararajan et al. 2017; "summation-to-delta",
    /// Shrikumar et al. 2017; "local accuracy", Lundberg & Lee 2017).
    Completeness,
    /// Input and baseline differ in one token and the outputs differ: that token's attribution
    /// is non-zero (sensitivity (a), Sundararajan et al. 2017).
    Sensitivity,
    /// A token the model provably ignores (masked out) gets zero (dummy / null player;
    /// Sundararajan et al. 2017, Lundberg & Lee 2017 "missingness").
    DummyToken,
    /// Two interchangeable tokens with equal input and baseline values get equal attributions
    /// (symmetry preservation, Sundararajan et al. 2017).
    Symmetry,
    /// Attributions of a·F₁ + b·F₂ are a·A₁ + b·A₂ (linearity, Sundararajan et al. 2017).
    Linearity,
    /// Two functionally equal models get equal attributions (Sundararajan et al. 2017).
    ImplementationInvariance,
    /// Input = baseline gives all-zero attributions.
    BaselineIdentity,
    /// A text's attributions do not depend on padding or on its neighbours in a batch.
    BatchInvariance,
    /// The same config, seed and input give the same attributions.
    Determinism,
    /// At every layer of a layer sweep, the attributions sum to F(x) − F(x₀) (conductance's
    /// conservation, Dhamdhere et al. 2018).
    LayerConservation,
}

impl Axiom {
    /// Every axiom, in declaration order.
    pub const ALL: [Axiom; 10] = [
        Axiom::Completeness,
        Axiom::Sensitivity,
        Axiom::DummyToken,
        Axiom::Symmetry,
        Axiom::Linearity,
        Axiom::ImplementationInvariance,
        Axiom::BaselineIdentity,
        Axiom::BatchInvariance,
        Axiom::Determinism,
        Axiom::LayerConservation,
    ];

    /// The stable name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Axiom::Completeness => "completeness",
            Axiom::Sensitivity => "sensitivity",
            Axiom::DummyToken => "dummy-token",
            Axiom::Symmetry => "symmetry",
            Axiom::Linearity => "linearity",
            Axiom::ImplementationInvariance => "implementation-invariance",
            Axiom::BaselineIdentity => "baseline-identity",
            Axiom::BatchInvariance => "batch-invariance",
            Axiom::Determinism => "determinism",
            Axiom::LayerConservation => "layer-conservation",
        }
    }
}

impl fmt::Display for Axiom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How far a check may deviate: `absolute + relative × scale + of_mass × Σ|A|`, where the
/// scale is the axiom's natural size (|F(x) − F(x₀)| for completeness and layer conservation,
/// the largest |attribution| of the case for the others) and Σ|A| the case's total attribution
/// mass (a path method's quadrature error grows with the path's variation, which Σ|A| tracks,
/// not with its end-to-end change). Sensitivity reads `absolute` as the smallest magnitude that
/// counts as non-zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// Allowed deviation relative to the scale.
    pub relative: f64,
    /// Allowed deviation in the output's units.
    pub absolute: f64,
    /// Allowed deviation relative to the total attribution mass Σ|A| (0 for most claims).
    #[serde(default)]
    pub of_mass: f64,
}

impl Tolerance {
    /// No deviation at all.
    pub const EXACT: Tolerance = Tolerance { relative: 0.0, absolute: 0.0, of_mass: 0.0 };

    /// A tolerance relative to the axiom's scale, plus an absolute part.
    pub const fn new(relative: f64, absolute: f64) -> Self {
        Tolerance { relative, absolute, of_mass: 0.0 }
    }

    /// The same tolerance, plus `of_mass` × the total attribution mass Σ|A|.
    pub const fn plus_mass(self, of_mass: f64) -> Self {
        Tolerance { of_mass, ..self }
    }

    /// The allowed deviation at `scale` (for claims without a mass part).
    pub fn allowed(&self, scale: f64) -> f64 {
        self.absolute + self.relative * scale.abs()
    }

    /// The allowed deviation at `scale` for a case whose attributions total `mass` = Σ|A|.
    pub fn allowed_with_mass(&self, scale: f64, mass: f64) -> f64 {
        self.allowed(scale) + self.of_mass * mass.abs()
    }
}

/// A method's promise: `axiom` holds within `tolerance`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Claim {
    /// The axiom.
    pub axiom: Axiom,
    /// How closely.
    pub tolerance: Tolerance,
}

impl Claim {
    /// A claim.
    pub const fn new(axiom: Axiom, tolerance: Tolerance) -> Self {
        Claim { axiom, tolerance }
    }
}
