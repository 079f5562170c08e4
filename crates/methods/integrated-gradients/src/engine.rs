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
    /// Token rows (rows × padded length) a pack of texts may hold; 0: one text per pack.
    pub pack_token_rows: usize,
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

/// Texts prepared at a time (in length order) before they are packed: bounds the memory the
/// prepared activations take whatever the request's size.
const PREPARE_WINDOW: usize = 32;

/// A pack of texts may cost at most this factor over its texts' own rows, counted as
/// rows × width × (1 + 2 × backward passes): a packed batch pads its rows to the widest text
/// and runs one backward per label of its text with the most labels. Sharing a forward pass
/// saves more than that where small batches are slow (with PyTorch from Python on MiniLM,
/// 2 threads, 4 × 50 rows in one batch took 0.65× the time of four batches at 12 tokens; this
/// engine on the same CPU saved nothing, see `pack_token_rows`).
const PACK_WASTE: f64 = 1.15;

/// Runs the method over every text of `request`.
///
/// Texts are prepared in length order (their input and baseline activations, targets and
/// outputs at both ends of the path), then **packed**: texts of similar length whose
/// interpolation rows fit one chunk share the forward and backward passes (rows padded to the
/// widest, the padding masked). Every row depends on its own text only, so a text's result is
/// the one it gets alone, up to float rounding of the larger products.
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
    let mut order: Vec<usize> = (0..request.encodings.len()).collect();
    order.sort_by_key(|&i| request.encodings[i].len());
    for window in order.chunks(PREPARE_WINDOW) {
        let texts: Vec<TextPaths> = window
            .iter()
            .map(|&text| prepare(model, request, settings, text, pad, device))
            .collect::<Result<_>>()?;
        // Rows per text in the first pass: every step (fixed rule) or the first level.
        let first_rows = |t: &TextPaths| {
            t.paths() * if settings.adaptive.is_some() { FIRST_LEVEL + 1 } else { quadrature.len() }
        };
        for members in packs(model, settings.memory_budget_mb, settings.pack_token_rows, &texts, first_rows) {
            let pack = Pack {
                model,
                output: request.output,
                layer: settings.layer,
                texts: members.iter().map(|&m| &texts[m]).collect(),
                encodings: members.iter().map(|&m| &request.encodings[texts[m].prepared.text]).collect(),
                pad,
                budget_mb: settings.memory_budget_mb,
            };
            let outcomes = match settings.adaptive {
                None => fixed_integral(&pack, &quadrature)?,
                Some(adaptive) => adaptive_integral(&pack, settings.multiply_by_inputs, adaptive)?,
            };
            for (member, outcome) in pack.texts.iter().zip(outcomes) {
                let text = member.prepared.text;
                let encoding = &request.encodings[text];
                results[text] = Some(assemble(
                    model,
                    request,
                    settings,
                    &member.prepared,
                    encoding,
                    &member.difference,
                    outcome,
                )?);
            }
        }
    }
    results.into_iter().map(|r| r.ok_or_else(|| Error::Internal("a text was not explained".into()))).collect()
}

/// Groups `texts` into packs (indices into `texts`): ordered by number of labels, then
/// length, consecutive texts join a pack while it holds at most `token_rows` rows × width,
/// its rows fit one chunk of the memory budget at its width, and its cost stays within
/// [`PACK_WASTE`] of its texts' own.
fn packs(
    model: &dyn Model,
    budget_mb: usize,
    token_rows: usize,
    texts: &[TextPaths],
    rows_of: impl Fn(&TextPaths) -> usize,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| (texts[i].prepared.targets.len(), texts[i].prepared.len));
    let cost = |members: &[usize]| {
        let width = members.iter().map(|&m| texts[m].prepared.len).max().unwrap_or(0) as f64;
        let labels = members.iter().map(|&m| texts[m].prepared.targets.len()).max().unwrap_or(0) as f64;
        let rows: usize = members.iter().map(|&m| rows_of(&texts[m])).sum();
        let own: f64 = members
            .iter()
            .map(|&m| {
                let t = &texts[m].prepared;
                rows_of(&texts[m]) as f64 * t.len as f64 * (1.0 + 2.0 * t.targets.len() as f64)
            })
            .sum();
        (rows, width as usize, rows as f64 * width * (1.0 + 2.0 * labels), own)
    };
    let mut packs: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        if !current.is_empty() {
            current.push(i);
            let (rows, width, packed, own) = cost(&current);
            let fits = rows * width <= token_rows
                && rows <= rows_per_chunk(model, width, budget_mb)
                && packed <= PACK_WASTE * own;
            current.pop();
            if !fits {
                packs.push(std::mem::take(&mut current));
            }
        }
        current.push(i);
    }
    if !current.is_empty() {
        packs.push(current);
    }
    packs
}

/// One text's straight-line paths (one per baseline draw) at the layer, ready to evaluate.
struct TextPaths {
    prepared: Prepared,
    /// The baselines' activations `[paths, len, …]`.
    a0: Tensor,
    /// `a₁ − a₀`, `[paths, len, …]`.
    difference: Tensor,
}

impl TextPaths {
    fn paths(&self) -> usize {
        self.prepared.f_baselines.len()
    }
}

/// One text's input and baselines: scores, targets, the outputs at both ends of the path, and
/// the activations at the layer.
fn prepare(
    model: &dyn Model,
    request: &Request<'_>,
    settings: &Settings<'_>,
    text: usize,
    pad: i64,
    device: Device,
) -> Result<TextPaths> {
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
    let difference = a1.f_expand_as(&a0)?.f_sub(&a0)?; // the same input for every path
    Ok(TextPaths { prepared, a0, difference })
}

/// One row of a packed forward pass: a point α on one path of one text of the pack.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// The text's place in the pack.
    member: usize,
    path: usize,
    alpha: f64,
    /// The quadrature weight (the fixed rule's; unused by the adaptive mode).
    weight: f64,
}

/// The runs of consecutive rows of one text in `rows`: (member, first row, end row).
fn member_runs(rows: &[Row]) -> Vec<(usize, usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let member = rows[i].member;
        let j = i + rows[i..].iter().take_while(|r| r.member == member).count();
        runs.push((member, i, j));
        i = j;
    }
    runs
}

/// Texts whose interpolation rows share forward passes.
struct Pack<'a> {
    model: &'a dyn Model,
    output: Output,
    layer: &'a str,
    texts: Vec<&'a TextPaths>,
    encodings: Vec<&'a Encoding>,
    pad: i64,
    budget_mb: usize,
}

/// What an integration gives: per target, the integrated gradient `[paths, len, …]` (f64),
/// the points used per path, the error estimate, and warnings.
struct Outcome {
    integrated: Vec<Tensor>,
    steps: usize,
    error_estimates: Option<Vec<f64>>,
    warnings: Vec<String>,
}

impl Pack<'_> {
    /// Evaluates ∂F/∂a at `rows`, in chunks of the memory budget (rows of several texts padded
    /// to the chunk's widest, the padding masked); `sink(rows, t, grad)` receives each chunk's
    /// rows and, per label slot t (the t-th target of each row's text, for the rows whose text
    /// has one), the gradients `[rows, width, …]` in the model's kind.
    fn evaluate(
        &self,
        rows: &[Row],
        mut sink: impl FnMut(&[Row], usize, &Tensor) -> Result<()>,
    ) -> Result<()> {
        let device = self.model.device();
        let widest = self.texts.iter().map(|t| t.prepared.len).max().unwrap_or(1);
        let chunk = rows_per_chunk(self.model, widest, self.budget_mb).max(1);
        let mut start = 0;
        while start < rows.len() {
            let end = (start + chunk).min(rows.len());
            let part = &rows[start..end];
            let n = part.len() as i64;
            let width = part.iter().map(|r| self.texts[r.member].prepared.len).max().unwrap_or(1);
            // The interpolated activations, member by member (rows of a member are consecutive
            // runs), padded with zeros to the chunk's width.
            let mut pieces = Vec::new();
            for (member, i, j) in member_runs(part) {
                let text = self.texts[member];
                let rank = text.a0.dim();
                let path_of: Vec<i64> = part[i..j].iter().map(|r| r.path as i64).collect();
                let alpha: Vec<f64> = part[i..j].iter().map(|r| r.alpha).collect();
                let path_index = Tensor::from_slice(&path_of).f_to_device(device)?;
                let mut broadcast = vec![(j - i) as i64];
                broadcast.extend(std::iter::repeat_n(1, rank - 1));
                let alpha_t = Tensor::from_slice(&alpha)
                    .f_to_kind(self.model.kind())?
                    .f_to_device(device)?
                    .f_view(broadcast.as_slice())?;
                let mut piece = text
                    .a0
                    .f_index_select(0, &path_index)?
                    .f_add(&text.difference.f_index_select(0, &path_index)?.f_mul(&alpha_t)?)?;
                let missing = (width - text.prepared.len) as i64;
                if missing > 0 {
                    // Pad dimension 1 (tokens) on the right; the pad list starts at the last dim.
                    let mut spec = vec![0i64; 2 * (rank - 2)];
                    spec.extend([0, missing]);
                    piece = piece.f_constant_pad_nd(spec.as_slice())?;
                }
                pieces.push(piece);
            }
            let interpolated =
                if pieces.len() == 1 { pieces.remove(0) } else { Tensor::f_cat(&pieces, 0)? }.f_detach()?;
            let encodings: Vec<&Encoding> = part.iter().map(|r| self.encodings[r.member]).collect();
            let batch = batch_of(&encodings, width, self.pad, device)?;
            let mut hooks = Hooks::new();
            // The forward starts at the layer: nothing below it is computed per row.
            hooks.start_at(self.layer, interpolated);
            hooks.keep(self.layer);
            let logits = self.model.run(&batch, Some(&mut hooks), &DefaultOps)?;
            let out = explained(self.model, &logits, self.output)?;
            let slots = part.iter().map(|r| self.texts[r.member].prepared.targets.len()).max().unwrap_or(0);
            for t in 0..slots {
                let keep_graph = t + 1 < slots;
                let label: Vec<i64> = part
                    .iter()
                    .map(|r| self.texts[r.member].prepared.targets.get(t).map_or(0, |&l| l as i64))
                    .collect();
                let has: Vec<f64> = part
                    .iter()
                    .map(|r| if t < self.texts[r.member].prepared.targets.len() { 1.0 } else { 0.0 })
                    .collect();
                let label = Tensor::from_slice(&label).f_to_device(device)?.f_view([n, 1])?;
                let has = Tensor::from_slice(&has).f_to_kind(out.kind())?.f_to_device(device)?;
                let selected =
                    out.f_gather(1, &label, false)?.f_squeeze_dim(1)?.f_mul(&has)?.f_sum(out.kind())?;
                let grad = hooks.gradients(&selected, &[self.layer], keep_graph)?.remove(0);
                sink(part, t, &grad)?;
            }
            start = end;
        }
        Ok(())
    }
}

/// The fixed rule: rows (text, path, step), path-major per text, weighted and summed in f64
/// chunk by chunk; one outcome per text of the pack.
fn fixed_integral(pack: &Pack<'_>, quadrature: &explainer_core::Quadrature) -> Result<Vec<Outcome>> {
    let device = pack.model.device();
    let steps = quadrature.len();
    let mut rows = Vec::new();
    let mut integrated: Vec<Vec<Tensor>> = Vec::with_capacity(pack.texts.len());
    for (member, text) in pack.texts.iter().enumerate() {
        for path in 0..text.paths() {
            for (alpha, weight) in quadrature.alphas.iter().zip(&quadrature.weights) {
                rows.push(Row { member, path, alpha: *alpha, weight: *weight });
            }
        }
        let shape = text.a0.size();
        integrated.push(
            text.prepared
                .targets
                .iter()
                .map(|_| Tensor::f_zeros(&shape, (Kind::Double, device)))
                .collect::<std::result::Result<_, _>>()?,
        );
    }
    pack.evaluate(&rows, |part, t, grad| {
        for (member, i, j) in member_runs(part) {
            let text = pack.texts[member];
            if t < text.prepared.targets.len() {
                let rank = text.a0.dim();
                let mut broadcast = vec![(j - i) as i64];
                broadcast.extend(std::iter::repeat_n(1, rank - 1));
                let weight: Vec<f64> = part[i..j].iter().map(|r| r.weight).collect();
                let weight_t =
                    Tensor::from_slice(&weight).f_to_device(device)?.f_view(broadcast.as_slice())?;
                let path_of: Vec<i64> = part[i..j].iter().map(|r| r.path as i64).collect();
                let path_index = Tensor::from_slice(&path_of).f_to_device(device)?;
                let own =
                    grad.f_narrow(0, i as i64, (j - i) as i64)?.f_narrow(1, 0, text.prepared.len as i64)?;
                let weighted = own.f_to_kind(Kind::Double)?.f_mul(&weight_t)?;
                integrated[member][t] = integrated[member][t].f_index_add(0, &path_index, &weighted)?;
            }
        }
        Ok(())
    })?;
    Ok(integrated
        .into_iter()
        .map(|integrated| Outcome { integrated, steps, error_estimates: None, warnings: Vec::new() })
        .collect())
}

/// One text's state in the adaptive mode: the points evaluated so far and, once it has
/// converged (or reached `max_steps`), its outcome.
struct AdaptiveText {
    level: usize,
    /// Per target, per stored point: the gradient `[paths, len, …]`.
    grads: Vec<Vec<Tensor>>,
    /// Per target, per stored point, per token: the integrand (mean over paths).
    integrand: Vec<Vec<Vec<f64>>>,
    /// α of each stored point → its storage index.
    index_at: std::collections::HashMap<u64, usize>,
    done: Option<Outcome>,
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
/// |delta| / tokens (completeness is a true lower bound on the summed error). A text stops
/// when, for every label, E ≤ tolerance × the largest |attribution| and |delta| ≤ tolerance, or
/// when the next level would exceed `max_steps` points (then it warns). The texts of a pack
/// refine together: each round evaluates the new points of every text not yet converged in
/// shared forward passes.
fn adaptive_integral(pack: &Pack<'_>, multiply_by_inputs: bool, adaptive: Adaptive) -> Result<Vec<Outcome>> {
    // The largest level whose points fit in max_steps, and the first level.
    let mut top = 1usize;
    while 2 * top < adaptive.max_steps {
        top *= 2;
    }
    let mut states: Vec<AdaptiveText> = pack
        .texts
        .iter()
        .map(|t| {
            let targets = t.prepared.targets.len();
            AdaptiveText {
                level: FIRST_LEVEL.min(top),
                grads: (0..targets).map(|_| Vec::new()).collect(),
                integrand: vec![Vec::new(); targets],
                index_at: std::collections::HashMap::new(),
                done: None,
            }
        })
        .collect();
    let differences: Vec<Tensor> = pack
        .texts
        .iter()
        .map(|t| t.difference.f_to_kind(Kind::Double))
        .collect::<std::result::Result<_, _>>()?;
    while states.iter().any(|s| s.done.is_none()) {
        // The points of each open text's level not evaluated yet; rows point-major per text.
        let mut new_points: Vec<Vec<f64>> = vec![Vec::new(); states.len()];
        let mut rows = Vec::new();
        for (member, state) in states.iter().enumerate() {
            if state.done.is_some() {
                continue;
            }
            let rule = explainer_core::quadrature::clenshaw_curtis(state.level)?;
            let new: Vec<f64> =
                rule.alphas.iter().copied().filter(|a| !state.index_at.contains_key(&a.to_bits())).collect();
            for &alpha in &new {
                for path in 0..pack.texts[member].paths() {
                    rows.push(Row { member, path, alpha, weight: 0.0 });
                }
            }
            new_points[member] = new;
        }
        // Per text and target, the rows' gradients in row order, cut to the text's length.
        let mut round: Vec<Vec<Vec<Tensor>>> =
            pack.texts.iter().map(|t| (0..t.prepared.targets.len()).map(|_| Vec::new()).collect()).collect();
        pack.evaluate(&rows, |part, t, grad| {
            for (r, row) in part.iter().enumerate() {
                let text = pack.texts[row.member];
                if t < text.prepared.targets.len() {
                    round[row.member][t].push(grad.f_get(r as i64)?.f_narrow(
                        0,
                        0,
                        text.prepared.len as i64,
                    )?);
                }
            }
            Ok(())
        })?;
        for (member, state) in states.iter_mut().enumerate() {
            if state.done.is_some() {
                continue;
            }
            let text = pack.texts[member];
            let new = &new_points[member];
            let paths = text.paths();
            for (t, per_row) in std::mem::take(&mut round[member]).into_iter().enumerate() {
                let all = Tensor::f_stack(&per_row, 0)?; // [new · paths, len, …], point-major
                let mut shape = all.size();
                shape[0] = paths as i64;
                shape.insert(0, new.len() as i64);
                let all = all.f_view(shape.as_slice())?; // [new, paths, len, …]
                for k in 0..new.len() {
                    let g = all.f_get(k as i64)?; // [paths, len, …]
                    let g64 = g.f_to_kind(Kind::Double)?;
                    let per_dim = if multiply_by_inputs { g64.f_mul(&differences[member])? } else { g64 };
                    let per_token = per_dim
                        .f_flatten(2, -1)?
                        .f_sum_dim_intlist([2i64].as_slice(), false, Kind::Double)?
                        .f_mean_dim([0i64].as_slice(), false, Kind::Double)?;
                    state.integrand[t].push(Vec::<f64>::try_from(&per_token.f_contiguous()?)?);
                    state.grads[t].push(g);
                }
            }
            for &a in new {
                let next = state.index_at.len();
                state.index_at.insert(a.to_bits(), next);
            }
            state.done = check_level(state, &text.prepared, adaptive, top)?;
            if state.done.is_none() {
                state.level *= 2;
            }
        }
    }
    states
        .into_iter()
        .map(|s| s.done.ok_or_else(|| Error::Internal("a text did not finish".into())))
        .collect()
}

/// After a level of one text: its outcome when it has converged or the next level does not
/// fit `max_steps`, else `None` (see [`adaptive_integral`]).
fn check_level(
    state: &AdaptiveText,
    prepared: &Prepared,
    adaptive: Adaptive,
    top: usize,
) -> Result<Option<Outcome>> {
    let level = state.level;
    let paths = prepared.f_baselines.len();
    let point = |a: &f64| -> Result<usize> {
        state
            .index_at
            .get(&a.to_bits())
            .copied()
            .ok_or_else(|| Error::Internal(format!("Clenshaw–Curtis point {a} was not evaluated")))
    };
    // Per-token integrals at N, N/2, N/4 from the stored points.
    let integral = |t: usize, n: usize| -> Result<Vec<f64>> {
        let rule = explainer_core::quadrature::clenshaw_curtis(n)?;
        let mut sum = vec![0.0; prepared.len];
        for (a, w) in rule.alphas.iter().zip(&rule.weights) {
            for (s, v) in sum.iter_mut().zip(&state.integrand[t][point(a)?]) {
                *s += w * v;
            }
        }
        Ok(sum)
    };
    let max_diff = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f64, f64::max);
    let mut estimates = Vec::with_capacity(prepared.targets.len());
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
    if !converged && level < top {
        return Ok(None);
    }
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
    let mut integrated = Vec::with_capacity(prepared.targets.len());
    for grads_t in &state.grads {
        let mut sum: Option<Tensor> = None;
        for (a, w) in rule.alphas.iter().zip(&rule.weights) {
            let term = grads_t[point(a)?].f_to_kind(Kind::Double)?.f_mul_scalar(*w)?;
            sum = Some(match sum {
                None => term,
                Some(s) => s.f_add(&term)?,
            });
        }
        integrated.push(sum.ok_or_else(|| Error::Internal("an empty rule".into()))?);
    }
    Ok(Some(Outcome { integrated, steps: level + 1, error_estimates: Some(estimates), warnings }))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test helpers may panic

    use super::*;
    use explainer_baselines::PadBaseline;
    use explainer_core::Target;
    use explainer_testing::TinyClassifier;

    /// A pack whose texts explain different labels (and different numbers of them): each
    /// backward pass takes every row's own label, rows without one contribute nothing.
    #[test]
    fn a_pack_of_texts_with_different_labels_equals_each_alone() {
        let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
        let texts = ["the wire transfer was refunded twice", "send the account password now", "hello world"];
        let encodings: Vec<Encoding> = texts.iter().map(|t| model.encoder().encode(t).unwrap()).collect();
        let targets = [vec![0usize, 3, 1], vec![2], vec![4, 0]];
        let baseline = PadBaseline {};
        let settings = Settings {
            method: "layer-integrated-gradients",
            layer: layer_names::WORD_EMBEDDINGS,
            rule: Rule::GaussLegendre,
            n_steps: 20,
            multiply_by_inputs: true,
            memory_budget_mb: 64,
            pack_token_rows: usize::MAX,
            adaptive: None,
        };
        let quadrature = settings.rule.points(settings.n_steps).unwrap();
        let pad = model.encoder().special_tokens().pad.unwrap_or(0);
        let prepared: Vec<TextPaths> = (0..texts.len())
            .map(|i| {
                let target = Target::Indices { indices: targets[i].clone() };
                let request = Request {
                    encodings: &encodings,
                    target: &target,
                    baseline: &baseline,
                    output: Output::Probability,
                    per_dimension: false,
                };
                prepare(&model, &request, &settings, i, pad, model.device()).unwrap()
            })
            .collect();
        let pack = |members: &[usize]| Pack {
            model: &model,
            output: Output::Probability,
            layer: settings.layer,
            texts: members.iter().map(|&m| &prepared[m]).collect(),
            encodings: members.iter().map(|&m| &encodings[m]).collect(),
            pad,
            budget_mb: settings.memory_budget_mb,
        };
        let adaptive = Adaptive { tolerance: 1e-5, max_steps: 1024 };
        let together = fixed_integral(&pack(&[0, 1, 2]), &quadrature).unwrap();
        let together_adaptive = adaptive_integral(&pack(&[0, 1, 2]), true, adaptive).unwrap();
        assert_ne!(encodings[0].len(), encodings[2].len(), "padding is exercised");
        for m in 0..texts.len() {
            let alone = fixed_integral(&pack(&[m]), &quadrature).unwrap().remove(0);
            let alone_adaptive = adaptive_integral(&pack(&[m]), true, adaptive).unwrap().remove(0);
            assert_eq!(together[m].integrated.len(), targets[m].len());
            for (pair, (x, y)) in
                [(&together[m], &alone), (&together_adaptive[m], &alone_adaptive)].into_iter().flat_map(
                    |(a, b)| a.integrated.iter().zip(&b.integrated).map(move |p| ((a.steps, b.steps), p)),
                )
            {
                assert_eq!(pair.0, pair.1);
                assert_eq!(x.size(), y.size());
                let gap = x.f_sub(y).unwrap().abs().max().double_value(&[]);
                assert!(gap <= 1e-12, "text {m}: {gap}");
            }
        }
    }

    #[test]
    fn packs_join_similar_texts_within_the_budget() {
        let model = TinyClassifier::default_multilabel();
        let texts = ["a b c d e f", "a b c d e g", "a b c d e f g h i j k l m n o p q r s t", "a b"];
        let encodings: Vec<Encoding> = texts.iter().map(|t| model.encoder().encode(t).unwrap()).collect();
        let settings = Settings {
            method: "layer-integrated-gradients",
            layer: layer_names::WORD_EMBEDDINGS,
            rule: Rule::GaussLegendre,
            n_steps: 50,
            multiply_by_inputs: true,
            memory_budget_mb: 64,
            pack_token_rows: usize::MAX,
            adaptive: None,
        };
        let target = Target::All;
        let request = Request {
            encodings: &encodings,
            target: &target,
            baseline: &PadBaseline {},
            output: Output::Probability,
            per_dimension: false,
        };
        let prepared: Vec<TextPaths> = (0..texts.len())
            .map(|i| prepare(&model, &request, &settings, i, 0, model.device()).unwrap())
            .collect();
        let rows = |_: &TextPaths| 50;
        // The two six-word texts share a pack; the long one and the short one pad too much.
        assert_eq!(packs(&model, 64, usize::MAX, &prepared, rows), vec![vec![3], vec![0, 1], vec![2]]);
        // A budget of one row's worth, or no token rows: every text alone.
        let one_row = support::activation_bytes_per_row(&model, 8, 18, 3).div_ceil(1 << 20).max(1);
        assert_eq!(packs(&model, one_row, usize::MAX, &prepared, rows).len(), 4);
        assert_eq!(packs(&model, 64, 0, &prepared, rows).len(), 4);
        // Room for one six-word text's 50 rows × 8 tokens, not two.
        assert_eq!(packs(&model, 64, 50 * 8, &prepared, rows).len(), 4);
        assert_eq!(packs(&model, 64, 100 * 8, &prepared, rows).len(), 3);
    }
}
