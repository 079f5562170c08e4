//! The DeepLift op rules: every non-linear or multiplicative op computed on paired rows.
//!
//! A DeepLift forward pass runs a batch of `2R` rows: rows `0..R` are the inputs, rows
//! `R..2R` their references, in the same order. Linear ops (additions, linear layers, means,
//! reshapes) act on each row alone, so the difference Δ = input − reference passes through
//! them exactly. The non-linear and multiplicative ops go through [`DeepLiftOps`], which
//! computes their values as usual and gives them a gradient equal to the DeepLift
//! multiplier, so that one backward pass returns the multipliers of the whole network:
//!
//! - an element-wise `y = f(x)` gets the secant `m = Δy/Δx` (the rescale rule), computed in
//!   f64, in closed form where one exists (`rsqrt`, `reciprocal`), falling back to the
//!   derivative at the midpoint `f'((x + x₀)/2)` where |Δx| is too small for the quotient;
//! - a product of two activations gets the exact split
//!   `Δ(ab) = Δa·(b + b₀)/2 + (a + a₀)/2·Δb` (element-wise, or as a matrix product);
//! - softmax is `exp(s) · 1/Σexp(s)` with each row shifted by its score at one index `j*`
//!   shared by the input and its reference, chosen as near the top of both rows as possible
//!   (the shift is a linear selection, so it is attributed exactly); then no exponential
//!   overflows and both sums are at least 1;
//! - LayerNorm is composed from those rules (its provided [`OpRules::layer_norm`]).
//!
//! Each value is computed as `value.detach() + M · (x − x.detach())`: the forward value is
//! the op's, the gradient is the multiplier `M`, and only the input rows carry gradients
//! (references are constants; multipliers read them detached). Because every op's
//! linearisation is exact, Δy = M·Δx op by op, the chain rule gives
//! Σ multipliers · Δ(layer) = F(x) − F(x₀) up to float rounding: completeness by
//! construction.

use explainer_core::{Error, OpRules, Result, Unary};
use tch::{Kind, Tensor};

/// Where the secant quotient is replaced by the midpoint derivative: |Δx| below this times
/// `1 + |x| + |x₀|`. In f64 the quotient is then accurate to ~1e-10 and the midpoint
/// derivative's error (~f'''·Δx²/24) is below 1e-12.
const SECANT_FLOOR: f64 = 1e-6;

/// Softmax indices whose shortfall is within this (relative) of the least one are tied for
/// the shift index j* (see [`DeepLiftOps::softmax`]).
const TIE: f64 = 1e-6;

/// The DeepLift rules for a forward pass of `2 × pairs` rows (inputs, then references).
#[derive(Debug, Clone, Copy)]
pub struct DeepLiftOps {
    pairs: i64,
}

impl DeepLiftOps {
    /// Rules for a batch of `pairs` inputs followed by their `pairs` references.
    pub fn new(pairs: usize) -> Self {
        DeepLiftOps { pairs: pairs as i64 }
    }

    fn check(&self, x: &Tensor) -> Result<()> {
        let first = x.size().first().copied().unwrap_or(0);
        if first == 2 * self.pairs {
            Ok(())
        } else {
            Err(Error::Internal(format!(
                "the DeepLift rules got a tensor of shape {:?}; its first dimension must be the batch of {} paired rows (a model must route only activations through its op rules)",
                x.size(),
                2 * self.pairs
            )))
        }
    }

    /// The input half and the reference half, detached.
    fn halves(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check(x)?;
        let d = x.f_detach()?;
        Ok((d.f_narrow(0, 0, self.pairs)?, d.f_narrow(0, self.pairs, self.pairs)?))
    }

    /// `(x + x₀)/2` for both halves: the value a product's other factor is multiplied by.
    fn midpoint(&self, x: &Tensor) -> Result<Tensor> {
        let (a, b) = self.halves(x)?;
        let mid = a.f_add(&b)?.f_mul_scalar(0.5)?;
        Ok(Tensor::f_cat(&[&mid, &mid], 0)?)
    }
}

/// `x − x.detach()`: zero in value, identity in gradient.
fn zero_with_gradient(x: &Tensor) -> Result<Tensor> {
    Ok(x.f_sub(&x.f_detach()?)?)
}

/// The derivative of `op` at `x` (f64).
fn derivative(op: Unary, x: &Tensor) -> Result<Tensor> {
    Ok(match op {
        Unary::Gelu => {
            // Φ(x) + x φ(x)
            let cdf = x
                .f_mul_scalar(std::f64::consts::FRAC_1_SQRT_2)?
                .f_erf()?
                .f_add_scalar(1.0)?
                .f_mul_scalar(0.5)?;
            let pdf = x
                .f_square()?
                .f_mul_scalar(-0.5)?
                .f_exp()?
                .f_mul_scalar(1.0 / (2.0 * std::f64::consts::PI).sqrt())?;
            cdf.f_add(&x.f_mul(&pdf)?)?
        }
        Unary::GeluTanh => {
            let k = (2.0 / std::f64::consts::PI).sqrt();
            let c = 0.044715;
            let x2 = x.f_square()?;
            let u = x.f_add(&x.f_mul(&x2)?.f_mul_scalar(c)?)?.f_mul_scalar(k)?;
            let t = u.f_tanh()?;
            let left = t.f_add_scalar(1.0)?.f_mul_scalar(0.5)?;
            let sech2 = t.f_square()?.f_neg()?.f_add_scalar(1.0)?;
            let inner = x2.f_mul_scalar(3.0 * c)?.f_add_scalar(1.0)?.f_mul_scalar(k)?;
            left.f_add(&x.f_mul(&sech2)?.f_mul(&inner)?.f_mul_scalar(0.5)?)?
        }
        Unary::Relu => x.f_gt(0.0)?.f_to_kind(Kind::Double)?,
        Unary::Tanh => x.f_tanh()?.f_square()?.f_neg()?.f_add_scalar(1.0)?,
        Unary::Sigmoid => {
            let s = x.f_sigmoid()?;
            s.f_mul(&s.f_neg()?.f_add_scalar(1.0)?)?
        }
        Unary::Silu => {
            let s = x.f_sigmoid()?;
            s.f_mul(&x.f_mul(&s.f_neg()?.f_add_scalar(1.0)?)?.f_add_scalar(1.0)?)?
        }
        Unary::Exp => x.f_exp()?,
        Unary::Rsqrt => x.f_rsqrt()?.f_pow_tensor_scalar(3.0)?.f_mul_scalar(-0.5)?,
        Unary::Reciprocal => x.f_square()?.f_reciprocal()?.f_neg()?,
        other => {
            return Err(Error::Internal(format!("no DeepLift derivative for op {}", other.name())));
        }
    })
}

/// The rescale multiplier `(f(a) − f(b)) / (a − b)` in f64, element-wise.
pub fn multiplier(op: Unary, a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let a = a.f_to_kind(Kind::Double)?;
    let b = b.f_to_kind(Kind::Double)?;
    let d = a.f_sub(&b)?;
    let mid = a.f_add(&b)?.f_mul_scalar(0.5)?;
    let at_mid = derivative(op, &mid)?;
    let scale = a.f_abs()?.f_add(&b.f_abs()?)?.f_add_scalar(1.0)?;
    let wide = d.f_abs()?.f_gt_tensor(&scale.f_mul_scalar(SECANT_FLOOR)?)?;
    let secant = match op {
        // Closed forms without cancellation, valid where both arguments are positive
        // (LayerNorm's variances, softmax's sums):
        // (a^-½ − b^-½)/(a − b) = −1 / (√a √b (√a + √b)),  (1/a − 1/b)/(a − b) = −1/(ab).
        Unary::Rsqrt => {
            let (ra, rb) = (a.f_sqrt()?, b.f_sqrt()?);
            let closed = ra.f_mul(&rb)?.f_mul(&ra.f_add(&rb)?)?.f_reciprocal()?.f_neg()?;
            let positive = a.f_gt(0.0)?.f_logical_and(&b.f_gt(0.0)?)?;
            return Ok(closed.f_where_self(&positive, &generic_secant(op, &a, &b, &d, &wide, &at_mid)?)?);
        }
        Unary::Reciprocal => {
            let closed = a.f_mul(&b)?.f_reciprocal()?.f_neg()?;
            let positive = a.f_mul(&b)?.f_gt(0.0)?;
            return Ok(closed.f_where_self(&positive, &generic_secant(op, &a, &b, &d, &wide, &at_mid)?)?);
        }
        _ => generic_secant(op, &a, &b, &d, &wide, &at_mid)?,
    };
    Ok(secant)
}

fn generic_secant(
    op: Unary,
    a: &Tensor,
    b: &Tensor,
    d: &Tensor,
    wide: &Tensor,
    at_mid: &Tensor,
) -> Result<Tensor> {
    let safe_d = d.f_where_scalarother(wide, 1.0)?;
    let quotient = op.apply(a)?.f_sub(&op.apply(b)?)?.f_div(&safe_d)?;
    Ok(quotient.f_where_self(wide, at_mid)?)
}

impl OpRules for DeepLiftOps {
    fn name(&self) -> &str {
        "deeplift"
    }

    fn unary(&self, op: Unary, x: &Tensor) -> Result<Tensor> {
        let value = op.apply(&x.f_detach()?)?;
        if !x.requires_grad() {
            self.check(x)?;
            return Ok(value);
        }
        let (a, b) = self.halves(x)?;
        let m = multiplier(op, &a, &b)?.f_to_kind(x.kind())?;
        let m = Tensor::f_cat(&[&m, &m], 0)?;
        Ok(value.f_add(&m.f_mul(&zero_with_gradient(x)?)?)?)
    }

    fn mul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let value = a.f_detach()?.f_mul(&b.f_detach()?)?;
        let mut out = value;
        if a.requires_grad() {
            out = out.f_add(&zero_with_gradient(a)?.f_mul(&self.midpoint(b)?)?)?;
        } else {
            self.check(a)?;
        }
        if b.requires_grad() {
            out = out.f_add(&self.midpoint(a)?.f_mul(&zero_with_gradient(b)?)?)?;
        } else {
            self.check(b)?;
        }
        Ok(out)
    }

    fn matmul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        let value = a.f_detach()?.f_matmul(&b.f_detach()?)?;
        let mut out = value;
        if a.requires_grad() {
            out = out.f_add(&zero_with_gradient(a)?.f_matmul(&self.midpoint(b)?)?)?;
        } else {
            self.check(a)?;
        }
        if b.requires_grad() {
            out = out.f_add(&self.midpoint(a)?.f_matmul(&zero_with_gradient(b)?)?)?;
        } else {
            self.check(b)?;
        }
        Ok(out)
    }

    fn softmax(&self, x: &Tensor, dim: i64) -> Result<Tensor> {
        let (a, b) = self.halves(x)?;
        // j*: the index whose score is nearest the top of BOTH rows (the smallest of the two
        // shortfalls' maximum). Shifting both rows by their score there keeps every exponent
        // at most that shortfall, and the sums at least exp(0) = 1. Indices tied for j*
        // (equal tokens in equal places of input and reference) share the shift equally, so
        // that interchangeable tokens keep equal attributions: the shift is then the mean of
        // the tied scores, still a fixed linear selection, still ≤ that shortfall below the
        // top, and some tied score is ≥ the mean, so the sums stay ≥ 1.
        let short_a = a.f_amax([dim], true)?.f_sub(&a)?;
        let short_b = b.f_amax([dim], true)?.f_sub(&b)?;
        let shortfall = short_a.f_maximum(&short_b)?.f_to_kind(Kind::Double)?;
        let least = shortfall.f_amin([dim], true)?;
        let slack = least.f_abs()?.f_add_scalar(1.0)?.f_mul_scalar(TIE)?;
        let tied = shortfall.f_le_tensor(&least.f_add(&slack)?)?.f_to_kind(x.kind())?;
        let weights = tied.f_div(&tied.f_sum_dim_intlist([dim].as_slice(), true, x.kind())?)?;
        let weights = Tensor::f_cat(&[&weights, &weights], 0)?;
        let shift = x.f_mul(&weights)?.f_sum_dim_intlist([dim].as_slice(), true, x.kind())?;
        let shifted = x.f_sub(&shift)?;
        let e = self.unary(Unary::Exp, &shifted)?;
        let total = e.f_sum_dim_intlist([dim].as_slice(), true, x.kind())?;
        let inverse = self.unary(Unary::Reciprocal, &total)?;
        self.mul(&e, &inverse)
    }
}
