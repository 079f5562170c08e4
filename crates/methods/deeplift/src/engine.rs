//! The DeepLift engine: paired forward passes, one backward per label.
//!
//! Every (text, baseline draw) pair becomes two rows of one batch: the input row, and a
//! reference row that runs the same ids with the reference's activation put in place at the
//! attribution layer (for `embeddings.word`: the reference's word embeddings, with the
//! input's positions, token types and mask — the same F(x₀) as the start of Layer
//! Integrated Gradients' path). The batch runs once through the model with the DeepLift op
//! rules; for each label one backward pass gives the multipliers at the layer, and the
//! attributions are multipliers × (input − reference) activation there, accumulated in f64.
//! Pairs of several texts share a batch, in chunks that fit the memory budget.

use std::collections::BTreeSet;

use explainer_core::{
    Attribution, Encoding, Error, Hooks, InputBatch, Model, OpRules, Output, ProblemType, Reference, Request,
    Result, TargetAttribution, Unary, hooks::run_to_layer, layer_names, support,
};
use tch::{Device, Kind, Tensor};

use crate::rules::DeepLiftOps;

/// What the engine needs to know about one run.
#[derive(Debug, Clone)]
pub(crate) struct Settings<'a> {
    pub method: &'a str,
    pub layer: &'a str,
    pub multiply_by_inputs: bool,
    pub memory_budget_mb: usize,
    /// DeepLiftShap: the baseline must give at least two references.
    pub needs_draws: bool,
}

/// One (text, draw) pair.
struct Pair<'r> {
    text: usize,
    draw: usize,
    reference: &'r Reference,
}

/// What one pair contributes, per explained label.
struct PairResult {
    /// Per label (in the text's target order): per-token attributions over the text's tokens.
    tokens: Vec<Vec<f64>>,
    /// Per label: per-dimension attributions `[len][features]`, on request.
    per_dimension: Vec<Option<Vec<Vec<f64>>>>,
    /// Per label: F(x) and F(x₀) of this pair.
    f_input: Vec<f64>,
    f_reference: Vec<f64>,
}

/// Per text: what the forward pass told about it.
#[derive(Clone)]
struct TextFacts {
    scores: Vec<f64>,
    targets: Vec<usize>,
}

/// Estimated bytes one row keeps for its backward pass: as for Integrated Gradients, with
/// room for the composed LayerNorm and the multipliers the DeepLift rules keep.
fn bytes_per_row(model: &dyn Model, tokens: usize) -> usize {
    support::activation_bytes_per_row(model, tokens, 28, 6)
}

/// The explained output of a batch computed through the op rules, so that the output
/// function (sigmoid, softmax) is part of the DeepLift chain and completeness holds for
/// probabilities too.
fn explained_through(
    ops: &dyn OpRules,
    problem: ProblemType,
    logits: &Tensor,
    output: Output,
) -> Result<Tensor> {
    match (output, problem) {
        (Output::Logit, _) | (Output::Probability, ProblemType::Regression) => Ok(logits.shallow_clone()),
        (Output::Probability, ProblemType::MultiLabel) => ops.unary(Unary::Sigmoid, logits),
        (Output::Probability, ProblemType::MultiClass) => ops.softmax(logits, -1),
    }
}

fn padded(values: &[i64], width: usize, fill: i64) -> Vec<i64> {
    let mut row = values.to_vec();
    row.resize(width, fill);
    row
}

fn id_batch(rows: &[Vec<i64>], types: &[Vec<i64>], lens: &[usize], device: Device) -> Result<InputBatch> {
    let width = rows.first().map_or(0, Vec::len) as i64;
    let n = rows.len() as i64;
    let flat = |v: &[Vec<i64>]| -> Result<Tensor> {
        let all: Vec<i64> = v.iter().flatten().copied().collect();
        Ok(Tensor::from_slice(&all).f_view([n, width])?.f_to_device(device)?)
    };
    let mask: Vec<Vec<i64>> =
        lens.iter().map(|&l| (0..width as usize).map(|i| i64::from(i < l)).collect()).collect();
    Ok(InputBatch {
        ids: flat(rows)?,
        attention_mask: flat(&mask)?,
        type_ids: flat(types)?,
        lengths: lens.to_vec(),
    })
}

/// Runs the method over every text of `request`.
pub(crate) fn explain(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &Settings<'_>,
) -> Result<Vec<Attribution>> {
    let info = model.info();
    let layer = settings.layer;
    info.check_layer(layer)?;
    if layer == layer_names::CLASSIFIER {
        return Err(Error::InvalidConfig(format!(
            "{}: the layer must come before the classifier, not be it",
            settings.method
        )));
    }
    support::check_encodings(request)?;
    // Every text's references.
    let mut references: Vec<Vec<Reference>> = Vec::with_capacity(request.encodings.len());
    for (i, e) in request.encodings.iter().enumerate() {
        let refs = request.baseline.references(model, e)?;
        if refs.is_empty() {
            return Err(Error::InvalidConfig("the baseline produced no reference".into()));
        }
        if settings.needs_draws && refs.len() < 2 {
            return Err(Error::InvalidConfig(format!(
                "{} averages over several baselines, but baseline {:?} gives one reference for text {i}; use a baseline with draws (e.g. random-tokens with draws ≥ 2), or the deeplift method",
                settings.method,
                request.baseline.typetag_name()
            )));
        }
        for r in &refs {
            r.check_len(e.len())?;
        }
        references.push(refs);
    }
    // Pairs, shortest texts first, so that a padded chunk wastes little.
    let mut order: Vec<usize> = (0..request.encodings.len()).collect();
    order.sort_by_key(|&i| request.encodings[i].len());
    let pairs: Vec<Pair<'_>> = order
        .iter()
        .flat_map(|&text| {
            references[text].iter().enumerate().map(move |(draw, reference)| Pair { text, draw, reference })
        })
        .collect();

    let mut facts: Vec<Option<TextFacts>> = vec![None; request.encodings.len()];
    let mut results: Vec<Vec<Option<PairResult>>> =
        references.iter().map(|r| r.iter().map(|_| None).collect()).collect();
    let budget = settings.memory_budget_mb.saturating_mul(1 << 20);
    let mut start = 0;
    while start < pairs.len() {
        // Grow the chunk while its rows (two per pair, at the widest text's length) fit.
        let mut end = start + 1;
        while end < pairs.len() {
            let width = request.encodings[pairs[end].text].len();
            if 2 * (end + 1 - start) * bytes_per_row(model, width) > budget {
                break;
            }
            end += 1;
        }
        run_chunk(model, request, settings, &pairs[start..end], &mut facts, &mut results)?;
        start = end;
    }

    let mut out = Vec::with_capacity(request.encodings.len());
    for (text, encoding) in request.encodings.iter().enumerate() {
        let facts = facts[text].take().ok_or_else(|| Error::Internal("a text was not explained".into()))?;
        let draws: Vec<PairResult> = results[text]
            .iter_mut()
            .map(|r| r.take().ok_or_else(|| Error::Internal("a baseline draw was not explained".into())))
            .collect::<Result<_>>()?;
        out.push(assemble(model, request, settings, text, encoding, facts, draws)?);
    }
    Ok(out)
}

/// One paired forward pass over a chunk of pairs, and one backward per label.
fn run_chunk(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &Settings<'_>,
    chunk: &[Pair<'_>],
    facts: &mut [Option<TextFacts>],
    results: &mut [Vec<Option<PairResult>>],
) -> Result<()> {
    let info = model.info();
    let layer = settings.layer;
    let device = model.device();
    let kind = model.kind();
    let pad = model.encoder().special_tokens().pad.unwrap_or(0);
    let n = chunk.len() as i64;
    let width = chunk.iter().map(|p| request.encodings[p.text].len()).max().unwrap_or(0);
    let lens: Vec<usize> = chunk.iter().map(|p| request.encodings[p.text].len()).collect();
    let types: Vec<Vec<i64>> =
        chunk.iter().map(|p| padded(&request.encodings[p.text].type_ids, width, 0)).collect();
    let input_ids: Vec<Vec<i64>> =
        chunk.iter().map(|p| padded(&request.encodings[p.text].ids, width, pad)).collect();

    // The references' activations a₀ at the layer, from a forward pass that stops there.
    let mut reference_ids = Vec::with_capacity(chunk.len());
    let mut embedding_rows: Vec<(i64, Tensor)> = Vec::new();
    for (row, pair) in chunk.iter().enumerate() {
        match pair.reference {
            Reference::Ids(ids) => reference_ids.push(padded(ids, width, pad)),
            Reference::Embeddings(e) => {
                reference_ids.push(input_ids[row].clone());
                embedding_rows.push((row as i64, e.f_to_kind(kind)?.f_to_device(device)?));
            }
        }
    }
    let mut hooks = Hooks::new();
    if !embedding_rows.is_empty() {
        hooks.replace(layer_names::WORD_EMBEDDINGS, move |lookup| {
            let out = lookup.f_detach()?.f_contiguous()?.f_mul_scalar(1.0)?;
            for (row, e) in &embedding_rows {
                let len = e.size().first().copied().unwrap_or(0);
                out.f_get(*row)?.f_narrow(0, 0, len)?.f_copy_(e)?;
            }
            Ok(out)
        });
    }
    let reference_batch = id_batch(&reference_ids, &types, &lens, device)?;
    let a0 = run_to_layer(model, &reference_batch, hooks, layer)?.f_detach()?;
    if a0.dim() < 3 {
        return Err(Error::InvalidConfig(format!(
            "{}: layer {layer:?} has no token dimension (shape {:?}); choose an embeddings or encoder layer",
            settings.method,
            a0.size()
        )));
    }

    // The paired forward: inputs, then the same ids with a₀ put in place at the layer.
    let doubled_ids: Vec<Vec<i64>> = input_ids.iter().chain(&input_ids).cloned().collect();
    let doubled_types: Vec<Vec<i64>> = types.iter().chain(&types).cloned().collect();
    let doubled_lens: Vec<usize> = lens.iter().chain(&lens).copied().collect();
    let batch = id_batch(&doubled_ids, &doubled_types, &doubled_lens, device)?;
    let mut hooks = Hooks::new();
    let reference_activation = a0.shallow_clone();
    hooks.replace(layer, move |activation| {
        Ok(Tensor::f_cat(&[&activation.f_narrow(0, 0, n)?, &reference_activation], 0)?)
    });
    hooks.keep(layer);
    let ops = DeepLiftOps::new(chunk.len());
    let logits = model.run(&batch, Some(&mut hooks), &ops)?;
    let out = explained_through(&ops, info.problem, &logits, request.output)?;
    let kept = hooks.get(layer)?.shallow_clone();
    let difference = kept.f_detach()?.f_narrow(0, 0, n)?.f_sub(&a0)?.f_to_kind(Kind::Double)?;

    // Scores and targets of each text (from the input rows).
    let scores_all = info.problem.scores(&logits.f_detach()?.f_narrow(0, 0, n)?)?;
    let values = out.f_detach()?.f_to_kind(Kind::Double)?;
    let mut chunk_targets: Vec<Vec<usize>> = Vec::with_capacity(chunk.len());
    for (row, pair) in chunk.iter().enumerate() {
        if facts[pair.text].is_none() {
            let scores = explainer_core::tensor_row(&scores_all, row as i64)?;
            let targets = request.target.resolve(info, &scores)?;
            facts[pair.text] = Some(TextFacts { scores, targets });
        }
        let targets = facts[pair.text].as_ref().map(|f| f.targets.clone()).unwrap_or_default();
        chunk_targets.push(targets);
    }

    // One backward per label, over the rows that explain it.
    let labels: BTreeSet<usize> = chunk_targets.iter().flatten().copied().collect();
    let mut per_row: Vec<PairResult> = chunk_targets
        .iter()
        .map(|t| PairResult {
            tokens: vec![Vec::new(); t.len()],
            per_dimension: vec![None; t.len()],
            f_input: vec![0.0; t.len()],
            f_reference: vec![0.0; t.len()],
        })
        .collect();
    let count = labels.len();
    for (k, &label) in labels.iter().enumerate() {
        let wanted: Vec<f64> =
            chunk_targets.iter().map(|t| if t.contains(&label) { 1.0 } else { 0.0 }).collect();
        let mask = Tensor::from_slice(&wanted).f_to_kind(out.kind())?.f_to_device(device)?;
        let objective = out.f_narrow(0, 0, n)?.f_select(1, label as i64)?.f_mul(&mask)?.f_sum(out.kind())?;
        let grad = hooks.gradients(&objective, &[layer], k + 1 < count)?.remove(0);
        let multipliers = grad.f_narrow(0, 0, n)?.f_to_kind(Kind::Double)?;
        let scores = if settings.multiply_by_inputs { multipliers.f_mul(&difference)? } else { multipliers };
        let flat = scores.f_flatten(2, -1)?; // [pairs, width, features]
        let per_token = flat.f_sum_dim_intlist([2i64].as_slice(), false, Kind::Double)?;
        for (row, targets) in chunk_targets.iter().enumerate() {
            let Some(t) = targets.iter().position(|&l| l == label) else { continue };
            let len = lens[row] as i64;
            let r = row as i64;
            let result = &mut per_row[row];
            result.tokens[t] =
                Vec::<f64>::try_from(&per_token.f_get(r)?.f_narrow(0, 0, len)?.f_contiguous()?)?;
            if request.per_dimension {
                let rows = flat.f_get(r)?.f_narrow(0, 0, len)?;
                result.per_dimension[t] = Some(
                    (0..len)
                        .map(|i| Ok(Vec::<f64>::try_from(&rows.f_get(i)?.f_contiguous()?)?))
                        .collect::<Result<_>>()?,
                );
            }
            result.f_input[t] = values.f_get(r)?.f_get(label as i64)?.f_double_value(&[])?;
            result.f_reference[t] = values.f_get(n + r)?.f_get(label as i64)?.f_double_value(&[])?;
        }
    }
    for (pair, result) in chunk.iter().zip(per_row) {
        results[pair.text][pair.draw] = Some(result);
    }
    Ok(())
}

/// One text's attribution: the mean over its baseline draws, with their spread.
fn assemble(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &Settings<'_>,
    text: usize,
    encoding: &Encoding,
    facts: TextFacts,
    draws: Vec<PairResult>,
) -> Result<Attribution> {
    let info = model.info();
    let k = draws.len() as f64;
    let len = encoding.len();
    let mut targets = Vec::with_capacity(facts.targets.len());
    for (t, &label) in facts.targets.iter().enumerate() {
        let mut tokens = vec![0.0; len];
        for d in &draws {
            for (sum, v) in tokens.iter_mut().zip(&d.tokens[t]) {
                *sum += v / k;
            }
        }
        let token_spread = (draws.len() > 1).then(|| {
            (0..len)
                .map(|i| {
                    let var =
                        draws.iter().map(|d| (d.tokens[t][i] - tokens[i]).powi(2)).sum::<f64>() / (k - 1.0);
                    var.sqrt()
                })
                .collect::<Vec<f64>>()
        });
        let per_dimension = if request.per_dimension {
            let mut mean: Vec<Vec<f64>> = Vec::new();
            for d in &draws {
                let rows = d.per_dimension[t]
                    .as_ref()
                    .ok_or_else(|| Error::Internal("per-dimension attributions are missing".into()))?;
                if mean.is_empty() {
                    mean = rows.iter().map(|r| vec![0.0; r.len()]).collect();
                }
                for (m, r) in mean.iter_mut().zip(rows) {
                    for (a, b) in m.iter_mut().zip(r) {
                        *a += b / k;
                    }
                }
            }
            Some(mean)
        } else {
            None
        };
        let f_input = draws[0].f_input[t];
        let f_baseline = draws.iter().map(|d| d.f_reference[t]).sum::<f64>() / k;
        let total: f64 = tokens.iter().sum();
        let finite = tokens.iter().all(|v| v.is_finite()) && f_input.is_finite() && f_baseline.is_finite();
        if !finite {
            return Err(Error::InvalidInput(format!(
                "{}: text {text} gave non-finite attributions for label {:?} (the input's and the reference's activations are too far apart for the model's float precision)",
                settings.method, info.labels[label]
            )));
        }
        targets.push(TargetAttribution {
            label_index: label,
            label: info.labels[label].clone(),
            score: facts.scores[label],
            tokens,
            token_spread,
            per_dimension,
            f_input,
            f_baseline,
            delta: settings.multiply_by_inputs.then_some(total - (f_input - f_baseline)),
            steps: None,
            error_estimate: None,
            layer_sweep: None,
        });
    }
    let warnings: Vec<String> = support::truncation_warning(model, encoding, text).into_iter().collect();
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
