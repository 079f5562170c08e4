//! The path-integral engine shared by Integrated Gradients and Layer Integrated Gradients.
//!
//! For each text and each baseline draw (a *path*), the activation at the chosen layer is
//! interpolated between the baseline's `a₀` and the input's `a₁`:
//! `a(α) = a₀ + α (a₁ − a₀)`. The model runs once on a batch of (path, step) rows with that
//! activation put in place by a replace hook; then, for each label to explain, ONE backward
//! pass over the kept graph gives ∂F_label/∂a at every row. Weighted by the quadrature
//! weights and summed over steps, that is the integrated gradient
//! `IG = Σₖ wₖ ∂F/∂a(αₖ)`; with `multiply_by_inputs` the attribution is `(a₁ − a₀) ⊙ IG`
//! (Captum's `LayerIntegratedGradients`). Rows are chunked to stay within a memory budget.

use explainer_core::{
    Attribution, DefaultOps, Encoding, Error, Hooks, InputBatch, Model, Output, Reference, Request, Result,
    Rule, TargetAttribution, layer_names, support, tensor_row,
};
use tch::{Device, Kind, Tensor};

/// What the engine needs to know about one run.
#[derive(Debug, Clone)]
pub(crate) struct Settings<'a> {
    pub method: &'a str,
    pub layer: &'a str,
    pub rule: Rule,
    pub n_steps: usize,
    pub multiply_by_inputs: bool,
    pub memory_budget_mb: usize,
    /// Adaptive nested Clenshaw–Curtis integration instead of the fixed rule.
    pub adaptive: Option<Adaptive>,
}

/// The adaptive mode's settings (see [`adaptive_integral`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Adaptive {
    /// Per-token error estimate allowed, relative to the largest |attribution| of the label;
    /// also the largest |delta| allowed, in the explained output's units.
    pub tolerance: f64,
    /// The most integrand evaluations (points) per path.
    pub max_steps: usize,
}

/// The first adaptive level: 16 intervals, 17 points (levels 4 and 8 are its subsets, so the
/// first estimate needs no extra point).
const FIRST_LEVEL: usize = 16;

/// A fixed-step run warns when |delta| exceeds this fraction of |F(x) − F(x₀)| ...
const LARGE_DELTA: f64 = 1e-2;
/// ... and this absolute floor (float32 rounding of outputs ≤ 1 is ~1e-7; a delta below 1e-6
/// says nothing about the integral).
const DELTA_FLOOR: f64 = 1e-6;

/// One text's inputs and baselines, ready for interpolation.
struct Prepared {
    /// Index of the text in the request.
    text: usize,
    /// Real tokens of the text.
    len: usize,
    /// Label indices to explain.
    targets: Vec<usize>,
    /// Scores of the input (after the output function), per label.
    scores: Vec<f64>,
    /// The explained output F on the input, per label.
    f_input: Vec<f64>,
    /// The explained output F on each baseline draw, per label.
    f_baselines: Vec<Vec<f64>>,
}

/// The model's explained output per label for a batch (probability or logit).
fn explained(model: &dyn Model, logits: &Tensor, output: Output) -> Result<Tensor> {
    support::explained_output(model, logits, output)
}

/// Pads rows of ids to `width` with `pad`.
fn id_rows(rows: &[&[i64]], width: usize, pad: i64, device: Device) -> Result<Tensor> {
    let mut flat = vec![pad; rows.len() * width];
    for (r, ids) in rows.iter().enumerate() {
        flat[r * width..r * width + ids.len()].copy_from_slice(ids);
    }
    Ok(Tensor::from_slice(&flat).f_view([rows.len() as i64, width as i64])?.f_to_device(device)?)
}

fn mask_rows(lens: &[usize], width: usize, device: Device) -> Result<Tensor> {
    let mut flat = vec![0i64; lens.len() * width];
    for (r, &len) in lens.iter().enumerate() {
        flat[r * width..r * width + len].fill(1);
    }
    Ok(Tensor::from_slice(&flat).f_view([lens.len() as i64, width as i64])?.f_to_device(device)?)
}

/// A batch whose row r is text `texts[r]` of `encodings`, padded to `width`.
fn batch_of(encodings: &[&Encoding], width: usize, pad: i64, device: Device) -> Result<InputBatch> {
    let ids: Vec<&[i64]> = encodings.iter().map(|e| e.ids.as_slice()).collect();
    let types: Vec<&[i64]> = encodings.iter().map(|e| e.type_ids.as_slice()).collect();
    let lens: Vec<usize> = encodings.iter().map(|e| e.len()).collect();
    Ok(InputBatch {
        ids: id_rows(&ids, width, pad, device)?,
        attention_mask: mask_rows(&lens, width, device)?,
        type_ids: id_rows(&types, width, 0, device)?,
        lengths: lens,
    })
}

/// How many interpolation rows fit in the memory budget at this width (a BERT-like encoder
/// keeps ~18 hidden-sized vectors per token and layer, plus the attention scores and
/// probabilities; see [`support::activation_bytes_per_row`]).
pub(crate) fn rows_per_chunk(model: &dyn Model, tokens: usize, budget_mb: usize) -> usize {
    support::rows_in_budget(support::activation_bytes_per_row(model, tokens, 18, 3), budget_mb)
}

/// Runs the method over every text of `request`.
pub(crate) fn explain(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &Settings<'_>,
) -> Result<Vec<Attribution>> {
    let info = model.info();
    info.check_layer(settings.layer)?;
    if settings.layer == layer_names::CLASSIFIER {
        return Err(Error::InvalidConfig(format!(
            "{}: the layer must come before the classifier, not be it",
            settings.method
        )));
    }
    let quadrature = settings.rule.points(settings.n_steps)?;
    let encoder = model.encoder();
    let pad = encoder.special_tokens().pad.unwrap_or(0);
    let device = model.device();
    support::check_encodings(request)?;

    let mut results: Vec<Option<Attribution>> = (0..request.encodings.len()).map(|_| None).collect();
    // Texts in order of length, so that a padded group wastes little.
    let mut order: Vec<usize> = (0..request.encodings.len()).collect();
    order.sort_by_key(|&i| request.encodings[i].len());
    for text in order {
        // One text at a time keeps the per-text memory small and every text's result
        // independent of its neighbours; its baseline draws and steps share the batches.
        let attribution = explain_text(model, request, settings, &quadrature, text, pad, device)?;
        results[text] = Some(attribution);
    }
    results.into_iter().map(|r| r.ok_or_else(|| Error::Internal("a text was not explained".into()))).collect()
}

fn explain_text(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &Settings<'_>,
    quadrature: &explainer_core::Quadrature,
    text: usize,
    pad: i64,
    device: Device,
) -> Result<Attribution> {
    let info = model.info();
    let encoding = &request.encodings[text];
    let len = encoding.len();
    let layer = settings.layer;

    // The input: scores, targets, explained output, and its activation a₁ at the layer.
    let input = batch_of(&[encoding], len, pad, device)?;
    let mut hooks = Hooks::new();
    hooks.read(layer);
    let logits = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps))?;
    let a1 = hooks.get(layer)?.shallow_clone();
    if a1.dim() < 3 {
        return Err(Error::InvalidConfig(format!(
            "{}: layer {layer:?} has no token dimension (shape {:?}); choose an embeddings or encoder layer",
            settings.method,
            a1.size()
        )));
    }
    let scores = tensor_row(&info.problem.scores(&logits)?, 0)?;
    let f_input = tensor_row(&explained(model, &logits, request.output)?, 0)?;
    let targets = request.target.resolve(info, &scores)?;

    // The baselines: their activations a₀ at the layer and their outputs.
    let references = request.baseline.references(model, encoding)?;
    if references.is_empty() {
        return Err(Error::InvalidConfig("the baseline produced no reference".into()));
    }
    let paths = references.len();
    let mut baseline_rows: Vec<Encoding> = Vec::with_capacity(paths);
    let mut embedding_rows: Vec<(usize, Tensor)> = Vec::new();
    for (p, reference) in references.iter().enumerate() {
        reference.check_len(len)?;
        match reference {
            Reference::Ids(ids) => baseline_rows.push(Encoding { ids: ids.clone(), ..encoding.clone() }),
            Reference::Embeddings(e) => {
                baseline_rows.push(encoding.clone());
                embedding_rows.push((p, e.f_to_kind(model.kind())?.f_to_device(device)?));
            }
        }
    }
    let refs: Vec<&Encoding> = baseline_rows.iter().collect();
    let baseline_batch = batch_of(&refs, len, pad, device)?;
    let mut hooks = Hooks::new();
    if !embedding_rows.is_empty() {
        let rows = embedding_rows.iter().map(|(p, e)| (*p as i64, e.shallow_clone())).collect::<Vec<_>>();
        hooks.replace(layer_names::WORD_EMBEDDINGS, move |lookup| {
            let out = lookup.f_detach()?.f_contiguous()?.f_mul_scalar(1.0)?;
            for (p, e) in &rows {
                out.f_get(*p)?.f_copy_(e)?;
            }
            Ok(out)
        });
    }
    let a0 = explainer_core::hooks::run_to_layer(model, &baseline_batch, hooks, layer)?; // [paths, len, …]
    // F(x₀) is the output at the START of the integration path: the baseline's activation at
    // the layer with everything else from the input (positions, token types, mask). That is
    // what the attributions sum towards. Captum instead runs the baseline ids through the
    // whole model; for RoBERTa, whose position ids depend on `ids != pad`, the two differ and
    // Captum's delta never closes (see docs/methods/integrated-gradients.md).
    let mut hooks = Hooks::new();
    hooks.start_at(layer, a0.shallow_clone());
    let start_logits = tch::no_grad(|| model.run(&input.repeat(paths)?, Some(&mut hooks), &DefaultOps))?;
    let baseline_out = explained(model, &start_logits, request.output)?;
    let f_baselines: Vec<Vec<f64>> =
        (0..paths as i64).map(|p| tensor_row(&baseline_out, p)).collect::<Result<_>>()?;
    let prepared = Prepared { text, len, targets, scores, f_input, f_baselines };

    let a1 = a1.f_expand_as(&a0)?; // the same input for every path
    let difference = a1.f_sub(&a0)?; // [paths, len, …]
    let chunk = rows_per_chunk(model, len, settings.memory_budget_mb);
    let path = PathIntegral {
        model,
        output: request.output,
        layer,
        input: &input,
        a0: &a0,
        difference: &difference,
        targets: &prepared.targets,
        chunk,
    };
    let outcome = match settings.adaptive {
        None => fixed_integral(&path, quadrature)?,
        Some(adaptive) => adaptive_integral(&path, &prepared, settings.multiply_by_inputs, adaptive)?,
    };
    assemble(model, request, settings, &prepared, encoding, &difference, outcome)
}

/// One text's straight-line paths (one per baseline draw) at the layer, ready to evaluate.
struct PathIntegral<'a> {
    model: &'a dyn Model,
    output: Output,
    layer: &'a str,
    /// The input, one row.
    input: &'a InputBatch,
    /// The baselines' activations `[paths, len, …]`.
    a0: &'a Tensor,
    /// `a₁ − a₀`, `[paths, len, …]`.
    difference: &'a Tensor,
    targets: &'a [usize],
    /// Rows per forward pass.
    chunk: usize,
}

/// What an integration gives: per target, the integrated gradient `[paths, len, …]` (f64),
/// the points used per path, the error estimate, and warnings.
struct Outcome {
    integrated: Vec<Tensor>,
    steps: usize,
    error_estimates: Option<Vec<f64>>,
    warnings: Vec<String>,
}

impl PathIntegral<'_> {
    /// Evaluates ∂F/∂a at the rows `(path, α)`, in chunks; `sink(first_row, target, grad)`
    /// receives each chunk's gradients `[rows, len, …]` in the model's kind.
    fn evaluate(
        &self,
        rows: &[(usize, f64)],
        mut sink: impl FnMut(usize, usize, Tensor) -> Result<()>,
    ) -> Result<()> {
        let device = self.model.device();
        let rank = self.a0.dim();
        let mut start = 0;
        while start < rows.len() {
            let end = (start + self.chunk.max(1)).min(rows.len());
            let n = end - start;
            let path_of: Vec<i64> = rows[start..end].iter().map(|&(p, _)| p as i64).collect();
            let alpha: Vec<f64> = rows[start..end].iter().map(|&(_, a)| a).collect();
            let path_index = Tensor::from_slice(&path_of).f_to_device(device)?;
            let mut broadcast = vec![n as i64];
            broadcast.extend(std::iter::repeat_n(1, rank - 1));
            let alpha_t = Tensor::from_slice(&alpha)
                .f_to_kind(self.model.kind())?
                .f_to_device(device)?
                .f_view(broadcast.as_slice())?;
            let interpolated = self
                .a0
                .f_index_select(0, &path_index)?
                .f_add(&self.difference.f_index_select(0, &path_index)?.f_mul(&alpha_t)?)?
                .f_detach()?;
            let batch = self.input.repeat(n)?;
            let mut hooks = Hooks::new();
            // The forward starts at the layer: nothing below it is computed per row.
            hooks.start_at(self.layer, interpolated);
            hooks.keep(self.layer);
            let logits = self.model.run(&batch, Some(&mut hooks), &DefaultOps)?;
            let out = explained(self.model, &logits, self.output)?;
            for (t, &label) in self.targets.iter().enumerate() {
                let keep_graph = t + 1 < self.targets.len();
                let selected = out.f_select(1, label as i64)?.f_sum(out.kind())?;
                let grad = hooks.gradients(&selected, &[self.layer], keep_graph)?.remove(0);
                sink(start, t, grad)?;
            }
            start = end;
        }
        Ok(())
    }
}

/// The fixed rule: rows (path, step), path-major, weighted and summed in f64 chunk by chunk.
fn fixed_integral(path: &PathIntegral<'_>, quadrature: &explainer_core::Quadrature) -> Result<Outcome> {
    let device = path.model.device();
    let steps = quadrature.len();
    let paths = path.a0.size()[0] as usize;
    let shape = path.a0.size();
    let rank = shape.len();
    let rows: Vec<(usize, f64)> =
        (0..paths * steps).map(|r| (r / steps, quadrature.alphas[r % steps])).collect();
    let mut integrated: Vec<Tensor> = path
        .targets
        .iter()
        .map(|_| Tensor::f_zeros(&shape, (Kind::Double, device)))
        .collect::<std::result::Result<_, _>>()?;
    path.evaluate(&rows, |first, t, grad| {
        let n = grad.size()[0] as usize;
        let path_of: Vec<i64> = (first..first + n).map(|r| (r / steps) as i64).collect();
        let weight: Vec<f64> = (first..first + n).map(|r| quadrature.weights[r % steps]).collect();
        let mut broadcast = vec![n as i64];
        broadcast.extend(std::iter::repeat_n(1, rank - 1));
        let weight_t = Tensor::from_slice(&weight).f_to_device(device)?.f_view(broadcast.as_slice())?;
        let path_index = Tensor::from_slice(&path_of).f_to_device(device)?;
        let weighted = grad.f_to_kind(Kind::Double)?.f_mul(&weight_t)?;
        integrated[t] = integrated[t].f_index_add(0, &path_index, &weighted)?;
        Ok(())
    })?;
    Ok(Outcome { integrated, steps, error_estimates: None, warnings: Vec::new() })
}

/// Adaptive integration on nested Clenshaw–Curtis rules, reusing every evaluated point.
///
/// Level N has the N + 1 points αⱼ = sin²(jπ/2N); the points of N are those of 2N with even j
/// (bit for bit), so doubling N evaluates only the N new points. The first level is 16 (17
/// points; the levels 4 and 8 are subsets of it). After each level, per label and token, the
/// differences D₁ = |I_{N/2} − I_{N/4}| and D₂ = |I_N − I_{N/2}| (maxima over tokens) give the
/// estimate of I_N's error E = D₂ · min(1, √(D₂ / D₁)). D₂ measures the error of I_{N/2}; a rule
/// converging at a steady rate shrinks it by D₂/D₁ per doubling (geometric convergence of an
/// analytic integrand, error ∝ ρ^{−N}, shrinks it faster still). The square root allows the
/// rate per doubling to halve (in log) from one level to the next, as Clenshaw–Curtis's does at
/// its "kink" (Trefethen 2008), where it falls from Gauss-like ρ^{−2N} to ρ^{−N}: on the real
/// MiniLM, D₂ · D₂/D₁ alone fell 3.2× short of the true error once. E is never less than
/// |delta| / tokens (completeness is a true lower bound on the summed error). It stops
/// when, for every label, E ≤ tolerance × the largest |attribution| and |delta| ≤ tolerance, or
/// when the next level would exceed `max_steps` points (then it warns).
fn adaptive_integral(
    path: &PathIntegral<'_>,
    prepared: &Prepared,
    multiply_by_inputs: bool,
    adaptive: Adaptive,
) -> Result<Outcome> {
    let paths = path.a0.size()[0] as usize;
    let targets = prepared.targets.len();
    let difference = path.difference.f_to_kind(Kind::Double)?;
    // The largest level whose points fit in max_steps, and the first level.
    let mut top = 1usize;
    while 2 * top < adaptive.max_steps {
        top *= 2;
    }
    let mut level = FIRST_LEVEL.min(top);
    // Evaluated points: (j at level `finest`) → per target the gradient [paths, len, …] and
    // the per-token integrand (mean over paths) for the estimates.
    let mut grads: Vec<Vec<Tensor>> = (0..targets).map(|_| Vec::new()).collect(); // [target][point]
    let mut integrand: Vec<Vec<Vec<f64>>> = vec![Vec::new(); targets]; // [target][point][token]
    let mut alphas: Vec<f64> = Vec::new(); // per stored point, in storage order
    let mut index_at: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    loop {
        // The points of this level not evaluated yet.
        let rule = explainer_core::quadrature::clenshaw_curtis(level)?;
        let new: Vec<f64> =
            rule.alphas.iter().copied().filter(|a| !index_at.contains_key(&a.to_bits())).collect();
        let rows: Vec<(usize, f64)> = new.iter().flat_map(|&a| (0..paths).map(move |p| (p, a))).collect();
        let mut round: Vec<Vec<Tensor>> = (0..targets).map(|_| Vec::new()).collect();
        path.evaluate(&rows, |_, t, grad| {
            round[t].push(grad);
            Ok(())
        })?;
        for (t, chunks) in round.into_iter().enumerate() {
            let all = Tensor::f_cat(&chunks, 0)?; // [new · paths, len, …], point-major
            let mut shape = all.size();
            shape[0] = paths as i64;
            shape.insert(0, new.len() as i64);
            let all = all.f_view(shape.as_slice())?; // [new, paths, len, …]
            for k in 0..new.len() {
                let g = all.f_get(k as i64)?; // [paths, len, …]
                let g64 = g.f_to_kind(Kind::Double)?;
                let per_dim = if multiply_by_inputs { g64.f_mul(&difference)? } else { g64 };
                let per_token = per_dim
                    .f_flatten(2, -1)?
                    .f_sum_dim_intlist([2i64].as_slice(), false, Kind::Double)?
                    .f_mean_dim([0i64].as_slice(), false, Kind::Double)?;
                integrand[t].push(Vec::<f64>::try_from(&per_token.f_contiguous()?)?);
                grads[t].push(g);
            }
        }
        for &a in &new {
            index_at.insert(a.to_bits(), alphas.len());
            alphas.push(a);
        }

        // Per-token integrals at N, N/2, N/4 from the stored points.
        let integral = |t: usize, n: usize| -> Result<Vec<f64>> {
            let rule = explainer_core::quadrature::clenshaw_curtis(n)?;
            let mut sum = vec![0.0; prepared.len];
            for (a, w) in rule.alphas.iter().zip(&rule.weights) {
                let i = *index_at
                    .get(&a.to_bits())
                    .ok_or_else(|| Error::Internal(format!("Clenshaw–Curtis point {a} was not evaluated")))?;
                for (s, v) in sum.iter_mut().zip(&integrand[t][i]) {
                    *s += w * v;
                }
            }
            Ok(sum)
        };
        let max_diff =
            |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f64, f64::max);
        let mut estimates = Vec::with_capacity(targets);
        let mut converged = true;
        let mut worst = (0.0f64, 0.0f64); // (relative estimate, |delta|)
        for (t, &label) in prepared.targets.iter().enumerate() {
            let fine = integral(t, level)?;
            let (d1, d2) = if level >= 4 {
                let mid = integral(t, level / 2)?;
                let coarse = integral(t, level / 4)?;
                (max_diff(&mid, &coarse), max_diff(&fine, &mid))
            } else {
                (0.0, f64::INFINITY)
            };
            let f_baseline = prepared.f_baselines.iter().map(|f| f[label]).sum::<f64>() / paths as f64;
            let delta = fine.iter().sum::<f64>() - (prepared.f_input[label] - f_baseline);
            let mut estimate = if d1 > 0.0 { d2 * (d2 / d1).sqrt().min(1.0) } else { d2 };
            estimate = estimate.max(delta.abs() / prepared.len as f64);
            let scale = fine.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let relative = if scale > 0.0 {
                estimate / scale
            } else if estimate > 0.0 {
                f64::INFINITY
            } else {
                0.0
            };
            converged &= relative <= adaptive.tolerance && delta.abs() <= adaptive.tolerance;
            worst = (worst.0.max(relative), worst.1.max(delta.abs()));
            estimates.push(estimate);
        }
        let next_fits = level < top;
        if converged || !next_fits {
            let mut warnings = Vec::new();
            if !converged {
                warnings.push(format!(
                    "adaptive integration stopped at max_steps = {}: {} points, error estimate {:.3e} of the largest |attribution|, worst |delta| {:.3e}, tolerance {:.3e}",
                    adaptive.max_steps,
                    level + 1,
                    worst.0,
                    worst.1,
                    adaptive.tolerance
                ));
            }
            // The attribution: the level's weights over the stored gradients, in f64.
            let rule = explainer_core::quadrature::clenshaw_curtis(level)?;
            let mut integrated = Vec::with_capacity(targets);
            for grads_t in &grads {
                let mut sum: Option<Tensor> = None;
                for (a, w) in rule.alphas.iter().zip(&rule.weights) {
                    let i = *index_at.get(&a.to_bits()).ok_or_else(|| {
                        Error::Internal(format!("Clenshaw–Curtis point {a} was not evaluated"))
                    })?;
                    let term = grads_t[i].f_to_kind(Kind::Double)?.f_mul_scalar(*w)?;
                    sum = Some(match sum {
                        None => term,
                        Some(s) => s.f_add(&term)?,
                    });
                }
                integrated.push(sum.ok_or_else(|| Error::Internal("an empty rule".into()))?);
            }
            return Ok(Outcome { integrated, steps: level + 1, error_estimates: Some(estimates), warnings });
        }
        level *= 2;
    }
}

/// Turns integrated gradients into per-target attributions, averaged over baseline draws.
fn assemble(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &Settings<'_>,
    prepared: &Prepared,
    encoding: &Encoding,
    difference: &Tensor,
    outcome: Outcome,
) -> Result<Attribution> {
    let Outcome { integrated, steps, error_estimates, warnings: mut integration_warnings } = outcome;
    let info = model.info();
    let paths = prepared.f_baselines.len();
    let difference = difference.f_to_kind(Kind::Double)?;
    let mut targets = Vec::with_capacity(prepared.targets.len());
    for (t, &label) in prepared.targets.iter().enumerate() {
        let per_dim = if settings.multiply_by_inputs {
            integrated[t].f_mul(&difference)?
        } else {
            integrated[t].shallow_clone()
        }; // [paths, len, …]
        let flat = per_dim.f_flatten(2, -1)?; // [paths, len, features]
        let per_token = flat.f_sum_dim_intlist([2i64].as_slice(), false, Kind::Double)?; // [paths, len]
        let mean = per_token.f_mean_dim([0i64].as_slice(), false, Kind::Double)?;
        let tokens: Vec<f64> =
            Vec::<f64>::try_from(&mean.f_narrow(0, 0, prepared.len as i64)?.f_contiguous()?)?;
        let token_spread = if paths > 1 {
            let std = per_token.f_std_dim([0i64].as_slice(), true, false)?;
            Some(Vec::<f64>::try_from(&std.f_contiguous()?)?)
        } else {
            None
        };
        let per_dimension = if request.per_dimension {
            let mean = flat.f_mean_dim([0i64].as_slice(), false, Kind::Double)?;
            let rows: Vec<Vec<f64>> = (0..prepared.len as i64)
                .map(|i| Ok(Vec::<f64>::try_from(&mean.f_get(i)?.f_contiguous()?)?))
                .collect::<Result<_>>()?;
            Some(rows)
        } else {
            None
        };
        let f_input = prepared.f_input[label];
        let f_baseline = prepared.f_baselines.iter().map(|f| f[label]).sum::<f64>() / paths as f64;
        let total: f64 = tokens.iter().sum();
        targets.push(TargetAttribution {
            label_index: label,
            label: info.labels[label].clone(),
            score: prepared.scores[label],
            tokens,
            token_spread,
            per_dimension,
            f_input,
            f_baseline,
            delta: Some(total - (f_input - f_baseline)),
            steps: Some(steps),
            error_estimate: error_estimates.as_ref().map(|e| e[t]),
            layer_sweep: None,
        });
    }
    let mut warnings: Vec<String> =
        support::truncation_warning(model, encoding, prepared.text).into_iter().collect();
    warnings.append(&mut integration_warnings);
    if settings.adaptive.is_none() {
        warnings.extend(large_delta_warning(&targets, steps));
    }
    Ok(Attribution {
        method: settings.method.to_owned(),
        baseline: request.baseline.typetag_name().to_owned(),
        layer: settings.layer.to_owned(),
        output: request.output,
        encoding: encoding.clone(),
        targets,
        warnings,
    })
}

/// The warning of a fixed-step run whose integral has not converged: some label's |delta| is
/// more than 1 % of |F(x) − F(x₀)| (and above float rounding).
fn large_delta_warning(targets: &[TargetAttribution], steps: usize) -> Option<String> {
    let worst = targets
        .iter()
        .filter_map(|t| {
            let change = (t.f_input - t.f_baseline).abs();
            let delta = t.delta?.abs();
            (delta > DELTA_FLOOR && delta > LARGE_DELTA * change).then_some((t, delta, change))
        })
        .max_by(|a, b| (a.1 / a.2.max(f64::MIN_POSITIVE)).total_cmp(&(b.1 / b.2.max(f64::MIN_POSITIVE))))?;
    let (t, delta, change) = worst;
    Some(format!(
        "the {steps}-step integral has not converged for label {:?}: |delta| = {delta:.3e} against |F(x) - F(x0)| = {change:.3e}; \
         ask for an accuracy instead (--tolerance 1e-3, config field `tolerance`), which adds points until the error estimate and the delta are within it",
        t.label
    ))
}
