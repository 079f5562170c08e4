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
}

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
    hooks.read(layer);
    let _ = tch::no_grad(|| model.run(&baseline_batch, Some(&mut hooks), &DefaultOps))?;
    let a0 = hooks.get(layer)?.shallow_clone(); // [paths, len, …]
    // F(x₀) is the output at the START of the integration path: the baseline's activation at
    // the layer with everything else from the input (positions, token types, mask). That is
    // what the attributions sum towards. Captum instead runs the baseline ids through the
    // whole model; for RoBERTa, whose position ids depend on `ids != pad`, the two differ and
    // Captum's delta never closes (see docs/methods/integrated-gradients.md).
    let mut hooks = Hooks::new();
    hooks.replace_with(layer, a0.shallow_clone());
    let start_logits = tch::no_grad(|| model.run(&input.repeat(paths)?, Some(&mut hooks), &DefaultOps))?;
    let baseline_out = explained(model, &start_logits, request.output)?;
    let f_baselines: Vec<Vec<f64>> =
        (0..paths as i64).map(|p| tensor_row(&baseline_out, p)).collect::<Result<_>>()?;
    let prepared = Prepared { text, len, targets, scores, f_input, f_baselines };

    // Interpolation rows (path, step), path-major, in chunks within the memory budget.
    let steps = quadrature.len();
    let total_rows = paths * steps;
    let chunk = rows_per_chunk(model, len, settings.memory_budget_mb).min(total_rows);
    let a1 = a1.f_expand_as(&a0)?; // the same input for every path
    let difference = a1.f_sub(&a0)?; // [paths, len, …]
    let activation_shape = a0.size();
    let mut integrated: Vec<Tensor> = prepared
        .targets
        .iter()
        .map(|_| Tensor::f_zeros(&activation_shape, (Kind::Double, device)))
        .collect::<std::result::Result<_, _>>()?;
    let rank = activation_shape.len();
    let mut start = 0;
    while start < total_rows {
        let end = (start + chunk).min(total_rows);
        let rows = end - start;
        let path_of: Vec<i64> = (start..end).map(|r| (r / steps) as i64).collect();
        let alpha: Vec<f64> = (start..end).map(|r| quadrature.alphas[r % steps]).collect();
        let weight: Vec<f64> = (start..end).map(|r| quadrature.weights[r % steps]).collect();
        let path_index = Tensor::from_slice(&path_of).f_to_device(device)?;
        let mut broadcast = vec![rows as i64];
        broadcast.extend(std::iter::repeat_n(1, rank - 1));
        let alpha_t = Tensor::from_slice(&alpha)
            .f_to_kind(model.kind())?
            .f_to_device(device)?
            .f_view(broadcast.as_slice())?;
        let weight_t = Tensor::from_slice(&weight).f_to_device(device)?.f_view(broadcast.as_slice())?;
        let interpolated = a0
            .f_index_select(0, &path_index)?
            .f_add(&difference.f_index_select(0, &path_index)?.f_mul(&alpha_t)?)?
            .f_detach()?;
        let batch = input.repeat(rows)?;
        let mut hooks = Hooks::new();
        hooks.replace_with(layer, interpolated);
        hooks.keep(layer);
        let logits = model.run(&batch, Some(&mut hooks), &DefaultOps)?;
        let out = explained(model, &logits, request.output)?;
        for (t, &label) in prepared.targets.iter().enumerate() {
            let keep_graph = t + 1 < prepared.targets.len();
            let selected = out.f_select(1, label as i64)?.f_sum(out.kind())?;
            let grad = hooks.gradients(&selected, &[layer], keep_graph)?.remove(0);
            let weighted = grad.f_to_kind(Kind::Double)?.f_mul(&weight_t)?;
            integrated[t] = integrated[t].f_index_add(0, &path_index, &weighted)?;
        }
        start = end;
    }

    assemble(model, request, settings, &prepared, encoding, &difference, integrated)
}

/// Turns integrated gradients into per-target attributions, averaged over baseline draws.
fn assemble(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &Settings<'_>,
    prepared: &Prepared,
    encoding: &Encoding,
    difference: &Tensor,
    integrated: Vec<Tensor>,
) -> Result<Attribution> {
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
            steps: Some(settings.n_steps),
            error_estimate: None,
            layer_sweep: None,
        });
    }
    let warnings: Vec<String> =
        support::truncation_warning(model, encoding, prepared.text).into_iter().collect();
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
