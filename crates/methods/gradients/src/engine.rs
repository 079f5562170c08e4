//! The gradient engine shared by every method of the family.
//!
//! For one text it runs the model on a batch of *rows*: the input itself (plain gradients), the
//! input with noise added to its word embeddings (NoiseTunnel), or points between a baseline
//! draw and the (noisy) input (GradientSHAP). The word embeddings of each row are put in place
//! by a replace hook at `embeddings.word`; the activation at the attributed layer is kept, and
//! for each label ONE backward pass over the batch gives ∂F_label/∂activation at every row.
//! Each row's attribution is the gradient (absolute or signed), or the gradient times the
//! layer's activation, or times (input − baseline); the engine accumulates their sum and sum
//! of squares over the rows (Captum's NoiseTunnel statistics) in f64 and each row's per-token
//! total (for the spread over draws). Rows are chunked to stay within a memory budget.

use explainer_core::hooks::run_to_layer;
use explainer_core::rng::SplitMix64;
use explainer_core::{
    Attribution, DefaultOps, Encoding, Error, Hooks, InputBatch, Model, Reference, Request, Result,
    TargetAttribution, layer_names, support, tensor_row,
};
use tch::{Device, Kind, Tensor};

use crate::Draws;

/// What multiplies the gradient of each row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Multiplier {
    /// The gradient itself.
    Gradient,
    /// The gradient's absolute value (Captum's `Saliency(abs=True)`).
    AbsGradient,
    /// The gradient times the activation at the layer (Input × Gradient at the word
    /// embeddings, Layer Gradient × Activation elsewhere).
    Activation,
    /// The gradient times (row input − baseline draw) at the word embeddings (GradientSHAP).
    InputMinusBaseline,
}

/// How the rows' attributions are combined (Captum's NoiseTunnel types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    /// The mean over rows (SmoothGrad; the expected-gradients estimator).
    Mean,
    /// The mean of the squares (SmoothGrad²).
    MeanSquare,
    /// The mean of the squares minus the square of the mean (VarGrad).
    Variance,
}

/// Where each row's word embeddings come from.
#[derive(Debug)]
pub(crate) enum Rows {
    /// One row: the input as it is.
    Plain,
    /// The input's word embeddings plus each noise draw `[samples, tokens, hidden]`.
    Noise(Tensor),
    /// GradientSHAP draws given by the caller.
    Shap(Draws),
    /// `samples` noise draws N(0, stdev²) from the text's seeded stream.
    SeededNoise { seed: u64, samples: usize, stdev: f64 },
    /// `samples` GradientSHAP draws from the text's seeded stream.
    SeededShap { seed: u64, samples: usize, stdev: f64 },
}

/// The seed of one text's draws: `seed` mixed with its token ids, so that a text gets the
/// same draws alone or in any batch, at any position.
pub(crate) fn text_seed(seed: u64, ids: &[i64]) -> u64 {
    let mut state = SplitMix64::new(seed).next_u64();
    for &id in ids {
        state = SplitMix64::new(state ^ id as u64).next_u64();
    }
    state
}

/// `count × shape` standard normal draws times `stdev`, as a tensor of `kind`.
fn normal_draws(
    rng: &mut SplitMix64,
    count: usize,
    shape: &[i64],
    stdev: f64,
    model: &dyn Model,
) -> Result<Tensor> {
    let mut dims = vec![count as i64];
    dims.extend_from_slice(shape);
    let n: i64 = dims.iter().product();
    let values: Vec<f64> = (0..n).map(|_| rng.normal() * stdev).collect();
    Ok(Tensor::from_slice(&values)
        .f_view(dims.as_slice())?
        .f_to_kind(model.kind())?
        .f_to_device(model.device())?)
}

impl Rows {
    /// Turns seeded draws into explicit ones for a text with word embeddings of `shape`
    /// `[tokens, hidden]` and `references` baseline draws.
    fn resolve(
        self,
        encoding: &Encoding,
        shape: &[i64],
        references: usize,
        model: &dyn Model,
    ) -> Result<Rows> {
        Ok(match self {
            Rows::SeededNoise { seed, samples, stdev } => {
                let mut rng = SplitMix64::new(text_seed(seed, &encoding.ids));
                Rows::Noise(normal_draws(&mut rng, samples, shape, stdev, model)?)
            }
            Rows::SeededShap { seed, samples, stdev } => {
                let mut rng = SplitMix64::new(text_seed(seed, &encoding.ids));
                let mut draws = Draws {
                    references: Vec::with_capacity(samples),
                    alphas: Vec::with_capacity(samples),
                    noise: None,
                };
                for _ in 0..samples {
                    draws.references.push(rng.below(references as u64) as usize);
                    draws.alphas.push(rng.uniform());
                }
                if stdev > 0.0 {
                    draws.noise = Some(normal_draws(&mut rng, samples, shape, stdev, model)?);
                }
                Rows::Shap(draws)
            }
            other => other,
        })
    }

    fn count(&self) -> Result<usize> {
        Ok(match self {
            Rows::Plain => 1,
            Rows::Noise(noise) => noise.size().first().copied().unwrap_or(0) as usize,
            Rows::Shap(draws) => {
                if draws.references.len() != draws.alphas.len() {
                    return Err(Error::InvalidInput(format!(
                        "GradientSHAP draws: {} references but {} coefficients",
                        draws.references.len(),
                        draws.alphas.len()
                    )));
                }
                draws.references.len()
            }
            Rows::SeededNoise { samples, .. } | Rows::SeededShap { samples, .. } => *samples,
        })
    }
}

/// What one run of the engine computes for one text.
#[derive(Debug)]
pub(crate) struct Plan<'a> {
    /// The registry name, for messages and the result.
    pub method: &'a str,
    /// The layer whose activation the gradient is taken at.
    pub layer: &'a str,
    /// What multiplies each row's gradient.
    pub multiplier: Multiplier,
    /// How the rows combine.
    pub combine: Combine,
    /// The rows to run.
    pub rows: Rows,
    /// Whether the result reports Σ A − (F(x) − F(x₀)) (GradientSHAP).
    pub delta: bool,
    /// Memory for one chunk of rows, in MiB.
    pub memory_budget_mb: usize,
}

/// Checks the layer before any work.
pub(crate) fn check_layer(model: &dyn Model, method: &str, layer: &str) -> Result<()> {
    model.info().check_layer(layer)?;
    if layer == layer_names::CLASSIFIER || layer == layer_names::POOLER {
        return Err(Error::InvalidConfig(format!(
            "{method}: layer {layer:?} has no token dimension; choose an embeddings or encoder layer"
        )));
    }
    Ok(())
}

/// Pads rows of ids to `width` with `pad`.
fn id_rows(rows: &[&[i64]], width: usize, pad: i64, device: Device) -> Result<Tensor> {
    let mut flat = vec![pad; rows.len() * width];
    for (r, ids) in rows.iter().enumerate() {
        flat[r * width..r * width + ids.len()].copy_from_slice(ids);
    }
    Ok(Tensor::from_slice(&flat).f_view([rows.len() as i64, width as i64])?.f_to_device(device)?)
}

/// A batch of encodings of one length (no padding).
fn batch_of(encodings: &[&Encoding], device: Device) -> Result<InputBatch> {
    let width = encodings.first().map_or(0, |e| e.len());
    let ids: Vec<&[i64]> = encodings.iter().map(|e| e.ids.as_slice()).collect();
    let types: Vec<&[i64]> = encodings.iter().map(|e| e.type_ids.as_slice()).collect();
    let lens: Vec<usize> = encodings.iter().map(|e| e.len()).collect();
    let mask = vec![1i64; encodings.len() * width];
    Ok(InputBatch {
        ids: id_rows(&ids, width, 0, device)?,
        attention_mask: Tensor::from_slice(&mask)
            .f_view([encodings.len() as i64, width as i64])?
            .f_to_device(device)?,
        type_ids: id_rows(&types, width, 0, device)?,
        lengths: lens,
    })
}

/// The word embeddings of every reference of the request's baseline for `encoding`
/// `[references, tokens, hidden]`, and the explained output at each (the references' word
/// embeddings with everything else from the input: the start of GradientSHAP's paths).
pub(crate) struct References {
    /// `[references, tokens, hidden]` word embeddings.
    pub embeddings: Tensor,
    /// The explained output per reference, per label.
    pub outputs: Vec<Vec<f64>>,
}

fn references(
    model: &dyn Model,
    request: &Request<'_>,
    encoding: &Encoding,
    input: &InputBatch,
) -> Result<References> {
    let device = model.device();
    let refs = request.baseline.references(model, encoding)?;
    if refs.is_empty() {
        return Err(Error::InvalidConfig("the baseline produced no reference".into()));
    }
    let mut rows: Vec<Encoding> = Vec::with_capacity(refs.len());
    let mut given: Vec<(i64, Tensor)> = Vec::new();
    for (p, reference) in refs.iter().enumerate() {
        reference.check_len(encoding.len())?;
        match reference {
            Reference::Ids(ids) => rows.push(Encoding { ids: ids.clone(), ..encoding.clone() }),
            Reference::Embeddings(e) => {
                rows.push(encoding.clone());
                given.push((p as i64, e.f_to_kind(model.kind())?.f_to_device(device)?));
            }
        }
    }
    let encodings: Vec<&Encoding> = rows.iter().collect();
    let batch = batch_of(&encodings, device)?;
    let mut hooks = Hooks::new();
    if !given.is_empty() {
        hooks.replace(layer_names::WORD_EMBEDDINGS, move |lookup| {
            let out = lookup.f_detach()?.f_contiguous()?.f_mul_scalar(1.0)?;
            for (p, e) in &given {
                out.f_get(*p)?.f_copy_(e)?;
            }
            Ok(out)
        });
    }
    let embeddings = run_to_layer(model, &batch, hooks, layer_names::WORD_EMBEDDINGS)?;
    let mut hooks = Hooks::new();
    hooks.replace_with(layer_names::WORD_EMBEDDINGS, embeddings.shallow_clone());
    let logits = tch::no_grad(|| model.run(&input.repeat(refs.len())?, Some(&mut hooks), &DefaultOps))?;
    let out = support::explained_output(model, &logits, request.output)?;
    let outputs = (0..refs.len() as i64).map(|p| tensor_row(&out, p)).collect::<Result<_>>()?;
    Ok(References { embeddings, outputs })
}

/// Sums over the rows of one label.
struct Accumulator {
    /// Σ over rows of the per-dimension attribution `[tokens, features]` (f64).
    sum: Tensor,
    /// Σ over rows of its square (f64).
    sum_sq: Tensor,
    /// Per row, its per-token totals.
    row_tokens: Vec<Vec<f64>>,
}

impl Accumulator {
    fn new(shape: &[i64], device: Device) -> Result<Self> {
        Ok(Accumulator {
            sum: Tensor::f_zeros(shape, (Kind::Double, device))?,
            sum_sq: Tensor::f_zeros(shape, (Kind::Double, device))?,
            row_tokens: Vec::new(),
        })
    }

    /// Adds a chunk `[rows, tokens, features]` of per-dimension attributions.
    fn add(&mut self, chunk: &Tensor) -> Result<()> {
        let chunk = chunk.f_to_kind(Kind::Double)?;
        self.sum = self.sum.f_add(&chunk.f_sum_dim_intlist([0i64].as_slice(), false, Kind::Double)?)?;
        self.sum_sq = self.sum_sq.f_add(&chunk.f_square()?.f_sum_dim_intlist(
            [0i64].as_slice(),
            false,
            Kind::Double,
        )?)?;
        let totals = chunk.f_sum_dim_intlist([2i64].as_slice(), false, Kind::Double)?;
        for r in 0..totals.size()[0] {
            self.row_tokens.push(tensor_row(&totals, r)?);
        }
        Ok(())
    }
}

/// The per-dimension attribution of a chunk: the gradient times the plan's multiplier,
/// flattened to `[rows, tokens, features]`.
fn attribute(
    plan: &Plan<'_>,
    grad: &Tensor,
    activation: &Tensor,
    difference: Option<&Tensor>,
) -> Result<Tensor> {
    let per_dim = match plan.multiplier {
        Multiplier::Gradient => grad.shallow_clone(),
        Multiplier::AbsGradient => grad.f_abs()?,
        Multiplier::Activation => grad.f_mul(activation)?,
        Multiplier::InputMinusBaseline => match difference {
            Some(d) => grad.f_mul(d)?,
            None => return Err(Error::Internal("no input − baseline difference for GradientSHAP".into())),
        },
    };
    Ok(per_dim.f_flatten(2, -1)?)
}

/// Runs `plan` on text `text` of the request.
pub(crate) fn explain_text(
    model: &dyn Model,
    request: &Request<'_>,
    text: usize,
    plan: Plan<'_>,
) -> Result<Attribution> {
    let info = model.info();
    let device = model.device();
    let encoding = &request.encodings[text];
    let len = encoding.len();
    let layer = plan.layer;
    let input = batch_of(&[encoding], device)?;
    let refs = references(model, request, encoding, &input)?;
    let embedding_shape = refs.embeddings.size()[1..].to_vec();
    let plan =
        Plan { rows: plan.rows.resolve(encoding, &embedding_shape, refs.outputs.len(), model)?, ..plan };
    let rows = plan.rows.count()?;
    if rows == 0 {
        return Err(Error::InvalidConfig(format!("{}: at least one sample is needed", plan.method)));
    }

    let mut accumulators: Vec<Accumulator> = Vec::new();
    let (scores, f_input, targets) = if let Rows::Plain = plan.rows {
        // One pass: the forward that gives the scores keeps the graph for the gradients.
        let mut hooks = Hooks::new();
        hooks.keep(layer);
        let logits = model.run(&input, Some(&mut hooks), &DefaultOps)?;
        let detached = logits.f_detach()?;
        let scores = tensor_row(&info.problem.scores(&detached)?, 0)?;
        let out = support::explained_output(model, &logits, request.output)?;
        let f_input = tensor_row(&out.f_detach()?, 0)?;
        let targets = request.target.resolve(info, &scores)?;
        let activation = hooks.get(layer)?.f_detach()?;
        check_token_dimension(plan.method, layer, &activation)?;
        for (t, &label) in targets.iter().enumerate() {
            let selected = out.f_select(1, label as i64)?.f_sum(out.kind())?;
            let grad = hooks.gradients(&selected, &[layer], t + 1 < targets.len())?.remove(0);
            let chunk = attribute(&plan, &grad, &activation, None)?;
            let mut acc = Accumulator::new(&chunk.size()[1..], device)?;
            acc.add(&chunk)?;
            accumulators.push(acc);
        }
        (scores, f_input, targets)
    } else {
        // A clean forward for the scores and the input's word embeddings, then the rows.
        let mut hooks = Hooks::new();
        hooks.read(layer_names::WORD_EMBEDDINGS);
        let logits = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps))?;
        let x = hooks.get(layer_names::WORD_EMBEDDINGS)?.shallow_clone(); // [1, len, hidden]
        let scores = tensor_row(&info.problem.scores(&logits)?, 0)?;
        let f_input = tensor_row(&support::explained_output(model, &logits, request.output)?, 0)?;
        let targets = request.target.resolve(info, &scores)?;
        let (row_inputs, differences) = row_inputs(&plan.rows, &x, &refs.embeddings, model, rows)?;
        let chunk_rows = support::rows_in_budget(
            support::activation_bytes_per_row(model, len, 18, 3),
            plan.memory_budget_mb,
        )
        .min(rows);
        let mut start = 0;
        while start < rows {
            let n = chunk_rows.min(rows - start);
            let values = row_inputs.f_narrow(0, start as i64, n as i64)?.f_detach()?;
            let difference =
                differences.as_ref().map(|d| d.f_narrow(0, start as i64, n as i64)).transpose()?;
            let mut hooks = Hooks::new();
            hooks.replace_with(layer_names::WORD_EMBEDDINGS, values);
            hooks.keep(layer);
            let logits = model.run(&input.repeat(n)?, Some(&mut hooks), &DefaultOps)?;
            let out = support::explained_output(model, &logits, request.output)?;
            let activation = hooks.get(layer)?.f_detach()?;
            check_token_dimension(plan.method, layer, &activation)?;
            for (t, &label) in targets.iter().enumerate() {
                let selected = out.f_select(1, label as i64)?.f_sum(out.kind())?;
                let grad = hooks.gradients(&selected, &[layer], t + 1 < targets.len())?.remove(0);
                let chunk = attribute(&plan, &grad, &activation, difference.as_ref())?;
                if accumulators.len() <= t {
                    accumulators.push(Accumulator::new(&chunk.size()[1..], device)?);
                }
                accumulators[t].add(&chunk)?;
            }
            start += n;
        }
        (scores, f_input, targets)
    };

    let count = rows as f64;
    let mut results = Vec::with_capacity(targets.len());
    for (acc, &label) in accumulators.iter().zip(&targets) {
        let mean = acc.sum.f_div_scalar(count)?;
        let combined = match plan.combine {
            Combine::Mean => mean,
            Combine::MeanSquare => acc.sum_sq.f_div_scalar(count)?,
            Combine::Variance => acc.sum_sq.f_div_scalar(count)?.f_sub(&mean.f_square()?)?,
        }; // [len, features]
        let token_totals = combined.f_sum_dim_intlist([1i64].as_slice(), false, Kind::Double)?;
        let tokens = Vec::<f64>::try_from(&token_totals.f_contiguous()?)?;
        let per_dimension = if request.per_dimension {
            Some((0..len as i64).map(|i| tensor_row(&combined, i)).collect::<Result<Vec<_>>>()?)
        } else {
            None
        };
        // The spread of each token's per-row attribution over the draws.
        let token_spread = (rows > 1 && plan.combine == Combine::Mean).then(|| {
            (0..len)
                .map(|i| {
                    let values: Vec<f64> = acc.row_tokens.iter().map(|r| r[i]).collect();
                    std_dev(&values)
                })
                .collect::<Vec<f64>>()
        });
        let f_baseline = refs.outputs.iter().map(|f| f[label]).sum::<f64>() / refs.outputs.len() as f64;
        let total: f64 = tokens.iter().sum();
        // The estimator's standard error on Σ A: the spread of the rows' totals / √n.
        let error_estimate = (plan.delta && rows > 1).then(|| {
            let totals: Vec<f64> = acc.row_tokens.iter().map(|r| r.iter().sum()).collect();
            std_dev(&totals) / count.sqrt()
        });
        results.push(TargetAttribution {
            label_index: label,
            label: info.labels[label].clone(),
            score: scores[label],
            tokens,
            token_spread,
            per_dimension,
            f_input: f_input[label],
            f_baseline,
            delta: plan.delta.then(|| total - (f_input[label] - f_baseline)),
            steps: None,
            error_estimate,
            layer_sweep: None,
        });
    }
    Ok(Attribution {
        method: plan.method.to_owned(),
        baseline: request.baseline.typetag_name().to_owned(),
        layer: layer.to_owned(),
        output: request.output,
        encoding: encoding.clone(),
        targets: results,
        warnings: support::truncation_warning(model, encoding, text).into_iter().collect(),
    })
}

/// The sample standard deviation (n − 1), 0 for one value.
fn std_dev(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 2 {
        return 0.0;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
}

fn check_token_dimension(method: &str, layer: &str, activation: &Tensor) -> Result<()> {
    if activation.dim() < 3 {
        return Err(Error::InvalidConfig(format!(
            "{method}: layer {layer:?} has no token dimension (shape {:?}); choose an embeddings or encoder layer",
            activation.size()
        )));
    }
    Ok(())
}

/// Each row's word embeddings `[rows, len, hidden]`, and for GradientSHAP each row's
/// (x + ε) − x₀.
fn row_inputs(
    rows: &Rows,
    x: &Tensor,
    baselines: &Tensor,
    model: &dyn Model,
    count: usize,
) -> Result<(Tensor, Option<Tensor>)> {
    let kind = model.kind();
    let check_noise = |noise: &Tensor| -> Result<Tensor> {
        let mut want = vec![count as i64];
        want.extend_from_slice(&x.size()[1..]);
        if noise.size() != want {
            return Err(Error::InvalidInput(format!(
                "noise of shape {:?} for word embeddings of shape {want:?}",
                noise.size()
            )));
        }
        Ok(noise.f_to_kind(kind)?.f_to_device(model.device())?)
    };
    match rows {
        Rows::Plain => Ok((x.shallow_clone(), None)),
        Rows::Noise(noise) => Ok((x.f_add(&check_noise(noise)?)?, None)),
        Rows::SeededNoise { .. } | Rows::SeededShap { .. } => {
            Err(Error::Internal("seeded draws reached the engine unresolved".into()))
        }
        Rows::Shap(Draws { references, alphas, noise }) => {
            let n_refs = baselines.size()[0];
            if let Some(&bad) = references.iter().find(|&&r| r as i64 >= n_refs) {
                return Err(Error::InvalidInput(format!(
                    "GradientSHAP draw names reference {bad}, but the baseline gave {n_refs}"
                )));
            }
            let expanded = x.f_expand([count as i64, x.size()[1], x.size()[2]], false)?;
            let inputs = match noise {
                Some(noise) => expanded.f_add(&check_noise(noise)?)?,
                None => expanded.f_contiguous()?,
            };
            let index: Vec<i64> = references.iter().map(|&r| r as i64).collect();
            let index = Tensor::from_slice(&index).f_to_device(model.device())?;
            let chosen = baselines.f_index_select(0, &index)?;
            let alpha = Tensor::from_slice(alphas).f_to_kind(kind)?.f_to_device(model.device())?.f_view([
                count as i64,
                1,
                1,
            ])?;
            // Captum's _scale_input: α·input + (1 − α)·baseline.
            let scaled = alpha.f_mul(&inputs)?.f_add(&alpha.f_neg()?.f_add_scalar(1.0)?.f_mul(&chosen)?)?;
            let difference = inputs.f_sub(&chosen)?;
            Ok((scaled, Some(difference)))
        }
    }
}
