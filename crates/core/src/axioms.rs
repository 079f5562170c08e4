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

/// How far a check may deviate:
/// `absolute + relative × scale + of_mass × Σ|A| + rounding × κ × u × R`.
///
/// The scale is the axiom's natural size (|F(x) − F(x₀)| for completeness and layer
/// conservation), Σ|A| the case's total attribution mass (a path method's quadrature error
/// grows with the path's variation, which Σ|A| tracks). The last part is the float rounding
/// bound: u is the unit roundoff of the model's float kind (2⁻²⁴ in f32, 2⁻⁵³ in f64),
/// κ = √(hidden size) × depth (the model's listed layers) the growth of rounding through a
/// network of that width and depth, and R the magnitude of every quantity the check adds up,
/// measured on the case (the attributions' per-dimension mass, |F(x)| + |F(x₀)|; each axiom's
/// R is in `docs/axioms.md`). `rounding` is the safety factor over that first-order estimate.
/// Sensitivity reads the same bound as the largest magnitude that still counts as zero.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    /// Allowed deviation relative to the scale.
    pub relative: f64,
    /// Allowed deviation in the output's units.
    pub absolute: f64,
    /// Allowed deviation relative to the total attribution mass Σ|A| (0 for most claims).
    #[serde(default)]
    pub of_mass: f64,
    /// Safety factor of the float-rounding bound κ × u × R (0: no rounding allowed, the
    /// method computes the axiom exactly).
    #[serde(default)]
    pub rounding: f64,
}

impl Tolerance {
    /// No deviation at all.
    pub const EXACT: Tolerance = Tolerance { relative: 0.0, absolute: 0.0, of_mass: 0.0, rounding: 0.0 };

    /// A tolerance relative to the axiom's scale, plus an absolute part.
    pub const fn new(relative: f64, absolute: f64) -> Self {
        Tolerance { relative, absolute, of_mass: 0.0, rounding: 0.0 }
    }

    /// Only float rounding: `factor × κ × u × R` (see the type's documentation).
    pub const fn rounding(factor: f64) -> Self {
        Tolerance { rounding: factor, ..Tolerance::EXACT }
    }

    /// The same tolerance, plus `of_mass` × the total attribution mass Σ|A|.
    pub const fn plus_mass(self, of_mass: f64) -> Self {
        Tolerance { of_mass, ..self }
    }

    /// The same tolerance, plus the float-rounding bound with safety factor `factor`.
    pub const fn plus_rounding(self, factor: f64) -> Self {
        Tolerance { rounding: factor, ..self }
    }

    /// The allowed deviation at `scale` (for claims without a mass or rounding part).
    pub fn allowed(&self, scale: f64) -> f64 {
        self.absolute + self.relative * scale.abs()
    }

    /// The allowed deviation at `scale` for a case whose attributions total `mass` = Σ|A|.
    pub fn allowed_with_mass(&self, scale: f64, mass: f64) -> f64 {
        self.allowed(scale) + self.of_mass * mass.abs()
    }

    /// Everything allowed: `scale`, `mass` as above, and the rounding bound `κ × u × R`
    /// (`unit_rounding`, computed by the checker from the model and the case).
    pub fn allowed_all(&self, scale: f64, mass: f64, unit_rounding: f64) -> f64 {
        self.allowed_with_mass(scale, mass) + self.rounding * unit_rounding.abs()
    }
}

/// The safety factor of the built-in rounding claims: how many κ × u × R a claim allows
/// (derived and measured in `docs/axioms.md`).
pub const ROUNDING_FACTOR: f64 = 6.0;

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
