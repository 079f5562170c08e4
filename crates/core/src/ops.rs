//! Op rules: the functions every non-linear or multiplicative op of a model runs through.
//!
//! The default rules ([`DefaultOps`]) compute the ops. A method that needs to change how an
//! op is differentiated — exact DeepLift replaces each op by one whose gradient is the
//! DeepLift multiplier — supplies its own [`OpRules`]. Linear ops (additions, linear layers,
//! means, reshapes) need no rule: every method treats them alike.

use tch::Tensor;

use crate::Result;

/// An element-wise non-linearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Unary {
    /// GELU with the exact erf form (`hidden_act = "gelu"`).
    Gelu,
    /// GELU with the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    GeluTanh,
    /// max(x, 0).
    Relu,
    /// tanh(x).
    Tanh,
    /// 1 / (1 + exp(−x)).
    Sigmoid,
    /// x · sigmoid(x).
    Silu,
    /// exp(x).
    Exp,
    /// 1 / √x.
    Rsqrt,
    /// 1 / x.
    Reciprocal,
}

impl Unary {
    /// The op's name, as in reports.
    pub fn name(self) -> &'static str {
        match self {
            Unary::Gelu => "gelu",
            Unary::GeluTanh => "gelu_tanh",
            Unary::Relu => "relu",
            Unary::Tanh => "tanh",
            Unary::Sigmoid => "sigmoid",
            Unary::Silu => "silu",
            Unary::Exp => "exp",
            Unary::Rsqrt => "rsqrt",
            Unary::Reciprocal => "reciprocal",
        }
    }

    /// Computes the op.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        Ok(match self {
            Unary::Gelu => x.f_gelu("none")?,
            Unary::GeluTanh => x.f_gelu("tanh")?,
            Unary::Relu => x.f_relu()?,
            Unary::Tanh => x.f_tanh()?,
            Unary::Sigmoid => x.f_sigmoid()?,
            Unary::Silu => x.f_silu()?,
            Unary::Exp => x.f_exp()?,
            Unary::Rsqrt => x.f_rsqrt()?,
            Unary::Reciprocal => x.f_reciprocal()?,
        })
    }
}

/// The rules through which a model computes its non-linear and multiplicative ops.
pub trait OpRules {
    /// A name for messages.
    fn name(&self) -> &str;

    /// Whether these are the plain computing rules (no capability is needed to use them).
    fn is_default(&self) -> bool {
        false
    }

    /// An element-wise non-linearity.
    fn unary(&self, op: Unary, x: &Tensor) -> Result<Tensor>;

    /// The element-wise (broadcasting) product of two activations.
    fn mul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor>;

    /// The (batched) matrix product of two activations, e.g. QKᵀ or attention·V.
    fn matmul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor>;

    /// Softmax along `dim`.
    fn softmax(&self, x: &Tensor, dim: i64) -> Result<Tensor>;

    /// LayerNorm over the last dimension: `(x − mean) · rsqrt(var + eps) · weight + bias`.
    ///
    /// The provided version composes it from [`OpRules::mul`] and [`Unary::Rsqrt`], so a rule
    /// set that overrides those sees LayerNorm's normalisation; [`DefaultOps`] uses the fused
    /// kernel, which is what PyTorch models run.
    fn layer_norm(&self, x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
        compose_layer_norm(self, x, weight, bias, eps)
    }
}

/// LayerNorm built from op rules: centring and the mean of squares are linear given the
/// product `c · c`; the normalisation is the product of `c` with `rsqrt(var + eps)`.
pub fn compose_layer_norm<R: OpRules + ?Sized>(
    rules: &R,
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> Result<Tensor> {
    let centred = x.f_sub(&x.f_mean_dim(-1, true, x.kind())?)?;
    let variance = rules.mul(&centred, &centred)?.f_mean_dim(-1, true, x.kind())?;
    let inverse_std = rules.unary(Unary::Rsqrt, &variance.f_add_scalar(eps)?)?;
    let normalised = rules.mul(&centred, &inverse_std)?;
    Ok(normalised.f_mul(weight)?.f_add(bias)?)
}

/// The plain rules: compute each op as PyTorch does.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultOps;

impl OpRules for DefaultOps {
    fn name(&self) -> &str {
        "default"
    }

    fn is_default(&self) -> bool {
        true
    }

    fn unary(&self, op: Unary, x: &Tensor) -> Result<Tensor> {
        op.apply(x)
    }

    fn mul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(a.f_mul(b)?)
    }

    fn matmul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        Ok(a.f_matmul(b)?)
    }

    fn softmax(&self, x: &Tensor, dim: i64) -> Result<Tensor> {
        Ok(x.f_softmax(dim, x.kind())?)
    }

    fn layer_norm(&self, x: &Tensor, weight: &Tensor, bias: &Tensor, eps: f64) -> Result<Tensor> {
        let width = x.size().last().copied().unwrap_or(0);
        Ok(x.f_layer_norm([width], Some(weight), Some(bias), eps, false)?)
    }
}

/// Rules that compute exactly as [`DefaultOps`] but do not claim to be the default, so the
/// model must declare the op-rules capability to run them; for tests and as a template.
#[derive(Debug, Clone, Copy, Default)]
pub struct ComposedOps;

impl OpRules for ComposedOps {
    fn name(&self) -> &str {
        "composed"
    }

    fn unary(&self, op: Unary, x: &Tensor) -> Result<Tensor> {
        DefaultOps.unary(op, x)
    }

    fn mul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        DefaultOps.mul(a, b)
    }

    fn matmul(&self, a: &Tensor, b: &Tensor) -> Result<Tensor> {
        DefaultOps.matmul(a, b)
    }

    fn softmax(&self, x: &Tensor, dim: i64) -> Result<Tensor> {
        // exp(x − max) / Σ exp(x − max), with the division as a product of activations.
        let shifted = x.f_sub(&x.f_amax([dim], true)?.f_detach()?)?;
        let e = self.unary(Unary::Exp, &shifted)?;
        let total = e.f_sum_dim_intlist([dim].as_slice(), true, x.kind())?;
        self.mul(&e, &self.unary(Unary::Reciprocal, &total)?)
    }
}
