//! The conductance engine: one text at a time, every label from one forward pass per chunk.
//!
//! For each text and each baseline draw (a *path*), the input word embeddings are
//! interpolated between the baseline's `x₀` and the input's `x`, `x(α) = x₀ + α (x − x₀)`, and
//! put in place at `embeddings.word` by a replace hook; everything else (positions, token
//! types, attention mask) comes from the input. The model runs once on a batch of
//! (path, point) rows, keeping the activation of the chosen layer(s); then ONE backward pass
//! per label over the kept graph gives ∂F/∂y at every row and every kept layer.
//!
//! Layer Conductance (Captum's `LayerConductance._attribute`) takes the rule's `n + 1` points
//! and sums `(y(αₖ₊₁) − y(αₖ)) ⊙ ∂F/∂y(αₖ)` for k < n. Rows are chunked to stay within a memory
//! budget; the difference across a chunk boundary uses the activation and gradient of the previous chunk's
//! last row, carried over. Nothing below the first kept layer needs a gradient: the
//! interpolated embeddings do not require one, so the first kept activation becomes a leaf
//! and backward passes stop there.
//!
//! Neuron Conductance (Captum's `NeuronConductance._attribute`) takes the rule's `n` points and
//! weights and sums `wₖ ∂F/∂yₙ(αₖ) ∂yₙ/∂x(αₖ)`, times `x − x₀`: one backward pass per label to the
//! layer (for ∂F/∂yₙ) and one, shared by every label, from the unit to the embeddings.

use explainer_core::{
    Attribution, DefaultOps, Encoding, Error, Hooks, InputBatch, LayerSweep, Model, Output, Quadrature,
    Reference, Request, Result, Rule, TargetAttribution, hooks::run_to_layer, layer_names, support,
    tensor_row,
};

use tch::{Device, Kind, Tensor};

const WORD: &str = layer_names::WORD_EMBEDDINGS;

/// Settings of Layer Conductance at one layer or a sweep of layers.
#[derive(Debug, Clone)]
pub(crate) struct LayerSettings<'a> {
    pub method: &'a str,
    /// The layers, in forward order (one unless `sweep`).
    pub layers: Vec<String>,
    /// Whether to fill `layer_sweep`.
    pub sweep: bool,
    pub rule: Rule,
    pub n_steps: usize,
    pub memory_budget_mb: usize,
}

/// Settings of Neuron Conductance.
#[derive(Debug, Clone)]
pub(crate) struct NeuronSettings<'a> {
    pub method: &'a str,
    pub layer: &'a str,
    pub token: usize,
    pub unit: usize,
    pub rule: Rule,
    pub n_steps: usize,
    pub multiply_by_inputs: bool,
    pub memory_budget_mb: usize,
}

/// The layers of a sweep: the given ones in forward order, or `embeddings` and every encoder
/// layer.
pub(crate) fn sweep_layers(model: &dyn Model, wanted: &[String]) -> Result<Vec<String>> {
    let info = model.info();
    for layer in wanted {
        info.check_layer(layer)?;
    }
    let layers: Vec<String> = info
        .layers
        .iter()
        .map(|l| l.name.clone())
        .filter(|name| {
            if wanted.is_empty() {
                name == layer_names::EMBEDDINGS || name.starts_with("encoder.")
            } else {
                wanted.contains(name)
            }
        })
        .collect();
    if layers.is_empty() {
        return Err(Error::InvalidConfig(format!(
            "conductance-sweep: model {:?} has no `embeddings` or `encoder.N` layer to sweep; name the layers",
            info.name
        )));
    }
    Ok(layers)
}

/// One text's input, targets, outputs and path ends, ready for interpolation.
struct Prepared {
    /// The input as a batch of one, unpadded.
    input: InputBatch,
    /// Label indices to explain.
    targets: Vec<usize>,
    /// Scores of the input (after the output function), per label.
    scores: Vec<f64>,
    /// The explained output F on the input, per label.
    f_input: Vec<f64>,
    /// F at the start of each path (baseline word embeddings, the rest from the input).
    f_baselines: Vec<Vec<f64>>,
    /// The input's word embeddings, `[1, len, hidden]`.
    x1: Tensor,
    /// Each path's baseline word embeddings, `[paths, len, hidden]`.
    x0: Tensor,
    /// Each watched layer's activation on the input, `[1, len, …]`.
    y_input: Vec<Tensor>,
    /// Each watched layer's activation at each path's start, `[paths, len, …]`.
    y_start: Vec<Tensor>,
}

/// The model's explained output per label for a batch (probability or logit).
fn explained(model: &dyn Model, logits: &Tensor, output: Output) -> Result<Tensor> {
    support::explained_output(model, logits, output)
}

/// How many interpolation rows fit in the memory budget at this length (the estimate of the
/// Integrated Gradients engine; see [`support::activation_bytes_per_row`]).
pub(crate) fn rows_per_chunk(model: &dyn Model, tokens: usize, budget_mb: usize) -> usize {
    support::rows_in_budget(support::activation_bytes_per_row(model, tokens, 18, 3), budget_mb)
}

/// Checks that every text is well formed and has tokens.
fn check_texts(request: &Request<'_>) -> Result<()> {
    support::check_encodings(request)
}

fn check_layer(model: &dyn Model, method: &str, layer: &str) -> Result<()> {
    model.info().check_layer(layer)?;
    if layer == layer_names::CLASSIFIER || layer == layer_names::POOLER {
        return Err(Error::InvalidConfig(format!(
            "{method}: layer {layer:?} has no token dimension; choose an embeddings or encoder layer"
        )));
    }
    Ok(())
}

/// The word embeddings of `ids` (the input's other fields): the lookup at `embeddings.word`,
/// without running the rest of the model (`run_to_layer` stops the pass right after it).
fn word_embeddings(model: &dyn Model, encoding: &Encoding, ids: &[i64]) -> Result<Tensor> {
    let baseline = Encoding { ids: ids.to_vec(), ..encoding.clone() };
    let batch = InputBatch::single(&baseline, model.device())?;
    run_to_layer(model, &batch, Hooks::new(), WORD)
}

/// Reads the word embeddings and `layers` on the input and on the path starts, in one pass.
fn prepare(
    model: &dyn Model,
    request: &Request<'_>,
    method: &str,
    text: usize,
    layers: &[&str],
) -> Result<Prepared> {
    let info = model.info();
    let encoding = &request.encodings[text];
    let len = encoding.len();
    let device = model.device();
    let input = InputBatch::single(encoding, device)?;

    // The baselines' word embeddings x₀, [paths, len, hidden].
    let references = request.baseline.references(model, encoding)?;
    if references.is_empty() {
        return Err(Error::InvalidConfig("the baseline produced no reference".into()));
    }
    let paths = references.len();
    let mut rows: Vec<Tensor> = Vec::with_capacity(paths);
    for reference in &references {
        reference.check_len(len)?;
        match reference {
            Reference::Ids(ids) => rows.push(word_embeddings(model, encoding, ids)?),
            Reference::Embeddings(e) => {
                let e = e.f_to_kind(model.kind())?.f_to_device(device)?;
                if e.dim() != 2 || e.size()[1] != info.hidden_size as i64 {
                    return Err(Error::InvalidInput(format!(
                        "the baseline's embeddings have shape {:?}, not [{len}, {}]",
                        e.size(),
                        info.hidden_size
                    )));
                }
                rows.push(e.f_unsqueeze(0)?);
            }
        }
    }
    let x0 = Tensor::f_cat(&rows, 0)?;

    // One pass over 1 + paths copies of the input: row 0 is the input (scores, targets, F(x),
    // x, y(x)); row 1 + p is path p's START, the baseline's word embeddings with everything
    // else from the input (F(x₀), y(x₀); see docs/ARCHITECTURE.md, "F(x₀) is the output at
    // the start of the integration path").
    let mut hooks = Hooks::new();
    let starts = x0.shallow_clone();
    hooks.replace(WORD, move |lookup| {
        let starts = starts.f_to_kind(lookup.kind())?;
        Ok(Tensor::f_cat(&[lookup.f_narrow(0, 0, 1)?, starts], 0)?)
    });
    hooks.read(WORD);
    for layer in layers {
        hooks.read(layer);
    }
    let logits = tch::no_grad(|| model.run(&input.repeat(1 + paths)?, Some(&mut hooks), &DefaultOps))?;
    let x1 = hooks.get(WORD)?.f_narrow(0, 0, 1)?;
    let mut y_input = Vec::with_capacity(layers.len());
    let mut y_start = Vec::with_capacity(layers.len());
    for layer in layers {
        let y = hooks.get(layer)?;
        if y.dim() < 3 {
            return Err(Error::InvalidConfig(format!(
                "{method}: layer {layer:?} has no token dimension (shape {:?}); choose an embeddings or encoder layer",
                y.size()
            )));
        }
        y_input.push(y.f_narrow(0, 0, 1)?);
        y_start.push(y.f_narrow(0, 1, paths as i64)?);
    }
    let scores = tensor_row(&info.problem.scores(&logits.f_narrow(0, 0, 1)?)?, 0)?;
    let out = explained(model, &logits, request.output)?;
    let f_input = tensor_row(&out, 0)?;
    let targets = request.target.resolve(info, &scores)?;
    let f_baselines = (1..=paths as i64).map(|p| tensor_row(&out, p)).collect::<Result<_>>()?;
    Ok(Prepared { input, targets, scores, f_input, f_baselines, x1, x0, y_input, y_start })
}

/// `[rows, 1, 1, …]` (rank `rank`) view of per-row values.
fn per_row(values: &[f64], rank: usize, kind: Kind, device: Device) -> Result<Tensor> {
    let mut shape = vec![values.len() as i64];
    shape.extend(std::iter::repeat_n(1, rank.saturating_sub(1)));
    Ok(Tensor::from_slice(values).f_to_kind(kind)?.f_to_device(device)?.f_view(shape.as_slice())?)
}

/// The interpolated word embeddings of rows `start..end` (path-major over `alphas`).
fn interpolate(prepared: &Prepared, alphas: &[f64], start: usize, end: usize) -> Result<(Tensor, Tensor)> {
    let steps = alphas.len();
    let device = prepared.x0.device();
    let path_of: Vec<i64> = (start..end).map(|r| (r / steps) as i64).collect();
    let alpha: Vec<f64> = (start..end).map(|r| alphas[r % steps]).collect();
    let path_index = Tensor::from_slice(&path_of).f_to_device(device)?;
    let a = per_row(&alpha, 3, prepared.x0.kind(), device)?;
    let x0 = prepared.x0.f_index_select(0, &path_index)?;
    let x1 = prepared.x1.f_expand_as(&x0)?;
    let x = x0.f_add(&x1.f_sub(&x0)?.f_mul(&a)?)?.f_detach()?;
    Ok((x, path_index))
}

/// Per path: 1 when its start differs from the input's word embeddings, 0 when it is
/// bit-for-bit the input (a path of one point, along which nothing changes).
fn moving_paths(prepared: &Prepared) -> Result<Vec<f64>> {
    let paths = prepared.x0.size()[0];
    let x1 = prepared.x1.f_get(0)?;
    (0..paths).map(|p| Ok(if prepared.x0.f_get(p)?.f_equal(&x1)? { 0.0 } else { 1.0 })).collect()
}

/// `rows` rows: `carry` (the previous row of the first), then `values` without its last row.
fn shifted(carry: &Tensor, values: &Tensor) -> Result<Tensor> {
    let rows = values.size()[0];
    if rows == 1 {
        return Ok(carry.shallow_clone());
    }
    Ok(Tensor::f_cat(&[carry.shallow_clone(), values.f_narrow(0, 0, rows - 1)?], 0)?)
}

/// The per-token (and per-unit) sums of `[paths, len, …]` f64 attributions, averaged over paths.
struct Reduced {
    tokens: Vec<f64>,
    spread: Option<Vec<f64>>,
    per_dimension: Option<Vec<Vec<f64>>>,
}

fn reduce(per_dim: &Tensor, per_dimension: bool) -> Result<Reduced> {
    let paths = per_dim.size()[0];
    let flat = per_dim.f_flatten(2, -1)?; // [paths, len, features]
    let per_token = flat.f_sum_dim_intlist([2i64].as_slice(), false, Kind::Double)?; // [paths, len]
    let mean = per_token.f_mean_dim([0i64].as_slice(), false, Kind::Double)?;
    let tokens = Vec::<f64>::try_from(&mean.f_contiguous()?)?;
    let spread = if paths > 1 {
        let std = per_token.f_std_dim([0i64].as_slice(), true, false)?;
        Some(Vec::<f64>::try_from(&std.f_contiguous()?)?)
    } else {
        None
    };
    let per_dimension = if per_dimension {
        let mean = flat.f_mean_dim([0i64].as_slice(), false, Kind::Double)?;
        let rows = (0..mean.size()[0])
            .map(|i| Ok(Vec::<f64>::try_from(&mean.f_get(i)?.f_contiguous()?)?))
            .collect::<Result<_>>()?;
        Some(rows)
    } else {
        None
    };
    Ok(Reduced { tokens, spread, per_dimension })
}

fn warnings(model: &dyn Model, encoding: &Encoding, text: usize) -> Vec<String> {
    support::truncation_warning(model, encoding, text).into_iter().collect()
}

/// Runs `each` over the texts, shortest first, and returns the results in request order.
fn per_text(
    request: &Request<'_>,
    mut each: impl FnMut(usize) -> Result<Attribution>,
) -> Result<Vec<Attribution>> {
    check_texts(request)?;
    let mut results: Vec<Option<Attribution>> = (0..request.encodings.len()).map(|_| None).collect();
    let mut order: Vec<usize> = (0..request.encodings.len()).collect();
    order.sort_by_key(|&i| request.encodings[i].len());
    for text in order {
        results[text] = Some(each(text)?);
    }
    results.into_iter().map(|r| r.ok_or_else(|| Error::Internal("a text was not explained".into()))).collect()
}

// ------------------------------------------------------------------------------------------
// Layer Conductance and the sweep
// ------------------------------------------------------------------------------------------

/// Layer Conductance at `settings.layers` for every text of `request`.
pub(crate) fn layer_conductance(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &LayerSettings<'_>,
) -> Result<Vec<Attribution>> {
    for layer in &settings.layers {
        check_layer(model, settings.method, layer)?;
    }
    // Captum: alphas_func(n_steps + 1); only the points, never the weights.
    let points = settings.rule.points(settings.n_steps + 1)?;
    per_text(request, |text| layer_text(model, request, settings, &points, text))
}

fn layer_text(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &LayerSettings<'_>,
    points: &Quadrature,
    text: usize,
) -> Result<Attribution> {
    let info = model.info();
    let encoding = &request.encodings[text];
    let len = encoding.len();
    let layers: Vec<&str> = settings.layers.iter().map(String::as_str).collect();
    let prepared = prepare(model, request, settings.method, text, &layers)?;
    let device = model.device();
    let paths = prepared.f_baselines.len();
    let steps = points.len(); // n + 1
    let labels = prepared.targets.len();

    // acc[label][layer]: Σ (y(αₖ₊₁) − y(αₖ)) ⊙ ∂F/∂y(αₖ), [paths, len, …] in f64.
    let mut acc: Vec<Vec<Tensor>> = Vec::with_capacity(labels);
    for _ in 0..labels {
        let row = prepared
            .y_start
            .iter()
            .map(|y| Tensor::f_zeros(y.size().as_slice(), (Kind::Double, device)))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        acc.push(row);
    }
    // The previous chunk's last row: y per layer, ∂F/∂y per label and layer, [1, len, …] f64.
    let mut carry_y: Vec<Tensor> = prepared
        .y_input
        .iter()
        .map(|y| Tensor::f_zeros(y.size().as_slice(), (Kind::Double, device)))
        .collect::<std::result::Result<_, _>>()?;
    let mut carry_g: Vec<Vec<Tensor>> =
        (0..labels).map(|_| carry_y.iter().map(Tensor::shallow_clone).collect()).collect();

    let total_rows = paths * steps;
    let chunk = rows_per_chunk(model, len, settings.memory_budget_mb).min(total_rows);
    let mut start = 0;
    while start < total_rows && labels > 0 {
        let end = (start + chunk).min(total_rows);
        let rows = end - start;
        let (x, path_index) = interpolate(&prepared, &points.alphas, start, end)?;
        let batch = prepared.input.repeat(rows)?;
        let mut hooks = Hooks::new();
        hooks.replace_with(WORD, x);
        for layer in &layers {
            hooks.keep(layer);
        }
        let logits = model.run(&batch, Some(&mut hooks), &DefaultOps)?;
        let out = explained(model, &logits, request.output)?;
        // Row r (point k = r mod (n+1)) adds (y(αₖ) − y(αₖ₋₁)) ⊙ ∂F/∂y(αₖ₋₁) when k ≥ 1; the
        // previous row may be the previous chunk's last.
        let first_point: Vec<f64> = (start..end).map(|r| f64::from(u8::from(r % steps >= 1))).collect();
        let mut differences = Vec::with_capacity(layers.len());
        for (l, layer) in layers.iter().enumerate() {
            let y = hooks.get(layer)?.f_detach()?.f_to_kind(Kind::Double)?;
            let mask = per_row(&first_point, y.dim(), Kind::Double, device)?;
            let previous = shifted(&carry_y[l], &y)?;
            differences.push(y.f_sub(&previous)?.f_mul(&mask)?);
            carry_y[l] = y.f_narrow(0, rows as i64 - 1, 1)?;
        }
        for (t, &label) in prepared.targets.iter().enumerate() {
            let keep_graph = t + 1 < labels;
            let selected = out.f_select(1, label as i64)?.f_sum(out.kind())?;
            let grads = hooks.gradients(&selected, &layers, keep_graph)?;
            for (l, (grad, dy)) in grads.iter().zip(&differences).enumerate() {
                let g = grad.f_to_kind(Kind::Double)?;
                let contribution = dy.f_mul(&shifted(&carry_g[t][l], &g)?)?;
                acc[t][l] = acc[t][l].f_index_add(0, &path_index, &contribution)?;
                carry_g[t][l] = g.f_narrow(0, rows as i64 - 1, 1)?;
            }
        }
        start = end;
    }

    // A path whose start is the input itself has every point equal: each difference
    // y(αₖ₊₁) − y(αₖ) is zero in exact arithmetic, but rows of one batch may round
    // differently (blocked matrix products), which leaves noise of ~u·|y|·|∂F/∂y|. The
    // maths gives exact zeros there, so the engine returns them.
    let moving = moving_paths(&prepared)?;
    let mut targets = Vec::with_capacity(labels);
    for (t, &label) in prepared.targets.iter().enumerate() {
        let f_input = prepared.f_input[label];
        let f_baseline = prepared.f_baselines.iter().map(|f| f[label]).sum::<f64>() / paths as f64;
        let change = f_input - f_baseline;
        let mut columns = Vec::with_capacity(layers.len());
        for (l, per_dim) in acc[t].iter().enumerate() {
            let per_dim = per_dim.f_mul(&per_row(&moving, per_dim.dim(), Kind::Double, device)?)?;
            columns.push(reduce(&per_dim, request.per_dimension && l == 0)?);
        }
        let layer_sweep = if settings.sweep {
            let scores = (0..len).map(|i| columns.iter().map(|c| c.tokens[i]).collect()).collect();
            let deltas = columns.iter().map(|c| c.tokens.iter().sum::<f64>() - change).collect();
            Some(LayerSweep { layers: settings.layers.clone(), scores, deltas })
        } else {
            None
        };
        let first = columns.swap_remove(0);
        let total: f64 = first.tokens.iter().sum();
        targets.push(TargetAttribution {
            label_index: label,
            label: info.labels[label].clone(),
            score: prepared.scores[label],
            tokens: first.tokens,
            token_spread: first.spread,
            per_dimension: first.per_dimension,
            f_input,
            f_baseline,
            delta: Some(total - change),
            steps: Some(settings.n_steps),
            error_estimate: None,
            layer_sweep,
        });
    }
    Ok(Attribution {
        method: settings.method.to_owned(),
        baseline: request.baseline.typetag_name().to_owned(),
        layer: settings.layers[0].clone(),
        output: request.output,
        encoding: encoding.clone(),
        targets,
        warnings: warnings(model, encoding, text),
    })
}

// ------------------------------------------------------------------------------------------
// Neuron Conductance
// ------------------------------------------------------------------------------------------

/// Neuron Conductance for every text of `request`.
pub(crate) fn neuron_conductance(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &NeuronSettings<'_>,
) -> Result<Vec<Attribution>> {
    check_layer(model, settings.method, settings.layer)?;
    let quadrature = settings.rule.points(settings.n_steps)?;
    per_text(request, |text| neuron_text(model, request, settings, &quadrature, text))
}

/// The unit's value `[rows]` in a `[rows, len, hidden]` activation.
fn unit_of(y: &Tensor, token: usize, unit: usize) -> Result<Tensor> {
    Ok(y.f_select(1, token as i64)?.f_select(1, unit as i64)?)
}

fn neuron_text(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &NeuronSettings<'_>,
    quadrature: &Quadrature,
    text: usize,
) -> Result<Attribution> {
    let info = model.info();
    let encoding = &request.encodings[text];
    let len = encoding.len();
    let layer = settings.layer;
    let prepared = prepare(model, request, settings.method, text, &[layer])?;
    let shape = prepared.y_input[0].size();
    if shape.len() != 3 {
        return Err(Error::InvalidConfig(format!(
            "{}: layer {layer:?} has shape {shape:?}; a unit is selected by (token, unit) in a [tokens, hidden] layer",
            settings.method
        )));
    }
    if settings.token >= len {
        return Err(Error::InvalidInput(format!(
            "{}: token {} is out of range: text {text} has {len} tokens (0..{len})",
            settings.method, settings.token
        )));
    }
    let width = shape[2] as usize;
    if settings.unit >= width {
        return Err(Error::InvalidConfig(format!(
            "{}: unit {} is out of range: layer {layer:?} has {width} hidden units (0..{width})",
            settings.method, settings.unit
        )));
    }
    let device = model.device();
    let paths = prepared.f_baselines.len();
    let steps = quadrature.len();
    let labels = prepared.targets.len();
    let (token, unit) = (settings.token, settings.unit);

    // integrated[label]: Σₖ wₖ ∂F/∂yₙ(αₖ) ∂yₙ/∂x(αₖ), [paths, len, hidden] in f64.
    let x_shape = prepared.x0.size();
    let mut integrated: Vec<Tensor> = (0..labels)
        .map(|_| Tensor::f_zeros(x_shape.as_slice(), (Kind::Double, device)))
        .collect::<std::result::Result<_, _>>()?;
    // The unit's value and each label's ∂F/∂yₙ at every (path, point), for the total Cₙ.
    let mut unit_values = vec![0.0f64; paths * steps];
    let mut unit_grads = vec![vec![0.0f64; paths * steps]; labels];

    let total_rows = paths * steps;
    let chunk = rows_per_chunk(model, len, settings.memory_budget_mb).min(total_rows);
    let mut start = 0;
    while start < total_rows && labels > 0 {
        let end = (start + chunk).min(total_rows);
        let rows = end - start;
        let (mut x, path_index) = interpolate(&prepared, &quadrature.alphas, start, end)?;
        let x = x.f_requires_grad_(true)?;
        let batch = prepared.input.repeat(rows)?;
        let mut hooks = Hooks::new();
        hooks.replace_with(WORD, x);
        hooks.keep(WORD);
        hooks.keep(layer);
        let logits = model.run(&batch, Some(&mut hooks), &DefaultOps)?;
        let out = explained(model, &logits, request.output)?;
        let y_unit = unit_of(hooks.get(layer)?, token, unit)?; // [rows]
        let values = Vec::<f64>::try_from(&y_unit.f_detach()?.f_to_kind(Kind::Double)?)?;
        unit_values[start..end].copy_from_slice(&values);
        // ∂F/∂yₙ per label (backward passes that stop at the layer), then ∂yₙ/∂x once.
        let mut coefficients = Vec::with_capacity(labels);
        for (t, &label) in prepared.targets.iter().enumerate() {
            let selected = out.f_select(1, label as i64)?.f_sum(out.kind())?;
            let grad = hooks.gradients(&selected, &[layer], true)?.remove(0);
            let g = Vec::<f64>::try_from(&unit_of(&grad, token, unit)?.f_to_kind(Kind::Double)?)?;
            unit_grads[t][start..end].copy_from_slice(&g);
            let c: Vec<f64> = (start..end).zip(&g).map(|(r, g)| quadrature.weights[r % steps] * g).collect();
            coefficients.push(c);
        }
        let dy_dx = hooks.gradients(&y_unit.f_sum(y_unit.kind())?, &[WORD], false)?.remove(0);
        let dy_dx = dy_dx.f_to_kind(Kind::Double)?;
        for (t, c) in coefficients.iter().enumerate() {
            let weighted = dy_dx.f_mul(&per_row(c, 3, Kind::Double, device)?)?;
            integrated[t] = integrated[t].f_index_add(0, &path_index, &weighted)?;
        }
        start = end;
    }

    let difference = prepared.x1.f_expand_as(&prepared.x0)?.f_sub(&prepared.x0)?.f_to_kind(Kind::Double)?;
    let y_in = unit_of(&prepared.y_input[0], token, unit)?.f_to_kind(Kind::Double)?.f_double_value(&[0])?;
    let y_start =
        Vec::<f64>::try_from(&unit_of(&prepared.y_start[0], token, unit)?.f_to_kind(Kind::Double)?)?;
    let mut targets = Vec::with_capacity(labels);
    for (t, &label) in prepared.targets.iter().enumerate() {
        let per_dim = if settings.multiply_by_inputs {
            integrated[t].f_mul(&difference)?
        } else {
            integrated[t].shallow_clone()
        };
        let reduced = reduce(&per_dim, request.per_dimension)?;
        // Cₙ = ∫ ∂F/∂yₙ dyₙ by an independent sum over the same rows: the trapezoid
        // Riemann–Stieltjes sum over 0, α₀ … αₘ₋₁, 1 (one-sided at the two end segments).
        let mut total = 0.0;
        for p in 0..paths {
            let ys = &unit_values[p * steps..(p + 1) * steps];
            let gs = &unit_grads[t][p * steps..(p + 1) * steps];
            total += stieltjes(y_start[p], ys, gs, y_in);
        }
        let conductance = total / paths as f64;
        let sum: f64 = reduced.tokens.iter().sum();
        targets.push(TargetAttribution {
            label_index: label,
            label: info.labels[label].clone(),
            score: prepared.scores[label],
            tokens: reduced.tokens,
            token_spread: reduced.spread,
            per_dimension: reduced.per_dimension,
            // The explained quantity is the unit's total conductance Cₙ (F's share that flows
            // through the unit), not F's change: F(x) := Cₙ, F(x₀) := 0.
            f_input: conductance,
            f_baseline: 0.0,
            delta: settings.multiply_by_inputs.then_some(sum - conductance),
            steps: Some(settings.n_steps),
            error_estimate: None,
            layer_sweep: None,
        });
    }
    let mut warnings = warnings(model, encoding, text);
    warnings.push(format!(
        "neuron conductance of unit {unit} at token {token} of layer {layer:?}: f_input is the unit's total \
         conductance, f_baseline is 0, and the model's score for the label is in `score`"
    ));
    Ok(Attribution {
        method: settings.method.to_owned(),
        baseline: request.baseline.typetag_name().to_owned(),
        layer: WORD.to_owned(),
        output: request.output,
        encoding: encoding.clone(),
        targets,
        warnings,
    })
}

/// ∫ g dy over a path from the points' values `ys` and gradients `gs` (ascending α), with
/// `y_start` at α = 0 and `y_end` at α = 1: the trapezoid rule on the inner segments, the
/// nearest gradient on the two end segments.
fn stieltjes(y_start: f64, ys: &[f64], gs: &[f64], y_end: f64) -> f64 {
    let (Some(&first), Some(&last)) = (ys.first(), ys.last()) else {
        return 0.0;
    };
    let mut total = (first - y_start) * gs[0];
    for k in 0..ys.len() - 1 {
        total += (ys[k + 1] - ys[k]) * 0.5 * (gs[k] + gs[k + 1]);
    }
    total + (y_end - last) * gs[gs.len() - 1]
}
