//! The methods × baselines evaluation: every metric per label, averaged over labels, with a
//! bootstrap confidence interval, the time per text, the completeness delta, the
//! parameter-randomisation check, and a random-attribution control row.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use explainer_core::rng::SplitMix64;
use explainer_core::{
    Attribution, Baseline, Encoding, Error, Method, Model, Output, ProblemType, Request, Result, Target,
    TargetAttribution,
};
use serde::{Deserialize, Serialize};

use crate::data::Dataset;
use crate::faithfulness::{
    InfidelityOptions, Removal, aopc, content_positions, infidelity, leave_one_out, sensitivity_max,
};
use crate::plausibility::{auprc, iou_f1, rationale_token_spans, rationale_tokens, token_f1, token_iou};
use crate::scorer::ModelScorer;
use crate::stats::{bootstrap_ci, kendall_tau_b, mean, spearman};

/// A metric of the table: its key, its column header, and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MetricInfo {
    /// Stable key (JSON field, column id).
    pub key: &'static str,
    /// Column header.
    pub header: &'static str,
    /// Whether higher values are better.
    pub higher_is_better: bool,
    /// `faithfulness` or `plausibility`.
    pub family: &'static str,
}

/// The metrics, in column order.
pub const METRICS: [MetricInfo; 9] = [
    MetricInfo {
        key: "comprehensiveness",
        header: "compr ↑",
        higher_is_better: true,
        family: "faithfulness",
    },
    MetricInfo { key: "sufficiency", header: "suff ↓", higher_is_better: false, family: "faithfulness" },
    MetricInfo { key: "tau_loo", header: "τ-LOO ↑", higher_is_better: true, family: "faithfulness" },
    MetricInfo { key: "infidelity", header: "infid ↓", higher_is_better: false, family: "faithfulness" },
    MetricInfo {
        key: "sensitivity_max", header: "sens ↓", higher_is_better: false, family: "faithfulness"
    },
    MetricInfo { key: "token_f1", header: "tok-F1 ↑", higher_is_better: true, family: "plausibility" },
    MetricInfo { key: "token_iou", header: "tok-IOU ↑", higher_is_better: true, family: "plausibility" },
    MetricInfo { key: "iou_f1", header: "IOU-F1 ↑", higher_is_better: true, family: "plausibility" },
    MetricInfo { key: "auprc", header: "AUPRC ↑", higher_is_better: true, family: "plausibility" },
];

/// The knobs of an evaluation run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalOptions {
    /// The AOPC rationales (ferret's defaults, or ERASER's bins).
    pub removal: Removal,
    /// Size of the hard rationale for token F1, token IOU and IOU-F1 (ferret's
    /// `top_k_rationale`, default 5).
    pub top_k: usize,
    /// The IOU at which a predicted span matches a true one (ERASER: 0.5).
    pub iou_threshold: f64,
    /// Infidelity's perturbations.
    pub infidelity: InfidelityOptions,
    /// Perturbed inputs per text for sensitivity-max (each one more run of the method; 0
    /// skips the metric).
    pub sensitivity_samples: usize,
    /// Texts (the first N with a predicted label) the parameter-randomisation check runs on
    /// (0 skips it).
    pub randomization_texts: usize,
    /// Bootstrap resamples of the texts for the confidence intervals.
    pub bootstrap: usize,
    /// The confidence level of the intervals.
    pub level: f64,
    /// Seed of the bootstrap, the control row and the perturbations.
    pub seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            removal: Removal::ferret(),
            top_k: 5,
            iou_threshold: 0.5,
            infidelity: InfidelityOptions::default(),
            sensitivity_samples: 2,
            randomization_texts: 8,
            bootstrap: 1000,
            level: 0.95,
            seed: 0,
        }
    }
}

/// One method × baseline pair to evaluate, or the random-attribution control.
#[derive(Debug)]
pub enum Candidate {
    /// A method with a baseline.
    Pair {
        /// The method (its registry name is the row's name).
        method: Box<dyn Method>,
        /// The baseline.
        baseline: Box<dyn Baseline>,
    },
    /// Attributions drawn from N(0, 1), seeded: what "no signal" scores.
    RandomControl,
}

/// A model with some parameters re-initialised, for the randomisation check.
pub struct RandomizedModel {
    /// What was re-initialised, cumulatively (e.g. `classifier`, `classifier+encoder.1`).
    pub stage: String,
    /// The model.
    pub model: Box<dyn Model>,
}

/// One metric's summary over the evaluated texts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The mean over labels of the per-label means over texts (`None`: no value).
    pub mean: Option<f64>,
    /// The percentile-bootstrap interval of `mean`, resampling texts.
    pub ci: Option<(f64, f64)>,
    /// How many (text, label) values went in.
    pub n: usize,
    /// Per label: the mean over texts.
    pub per_label: BTreeMap<String, f64>,
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The method's registry name (`random` for the control).
    pub method: String,
    /// The baseline's registry name (`-` for the control).
    pub baseline: String,
    /// Why the row has no numbers (the method cannot run with this baseline on this model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Texts whose explanation failed, with the first error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<(usize, String)>,
    /// Metric key → summary.
    pub metrics: BTreeMap<String, Summary>,
    /// Mean |Σ attributions − (F(x) − F(x₀))| over explained labels, for methods with a delta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completeness_delta: Option<Summary>,
    /// Seconds per text of the method alone (not the metrics).
    pub seconds_per_text: f64,
    /// Randomisation stage → Spearman ρ between the attributions of the trained and the
    /// re-initialised model (near 1: the method ignores the parameters; it should drop).
    pub randomization: BTreeMap<String, Summary>,
}

/// The whole evaluation: what was run on what, and the rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// The model's name.
    pub model: String,
    /// `sigmoid` or `softmax`: the output function every metric scores.
    pub output_function: String,
    /// Texts evaluated.
    pub texts: usize,
    /// (text, label) pairs the faithfulness metrics used (predicted labels).
    pub faithfulness_pairs: usize,
    /// (text, label) pairs the plausibility metrics used (gold labels with a rationale).
    pub plausibility_pairs: usize,
    /// The options.
    pub options: EvalOptions,
    /// The randomisation stages, in order.
    pub randomization_stages: Vec<String>,
    /// Notes for the reader (e.g. no rationales in the data).
    pub notes: Vec<String>,
    /// The rows, in the order given (the control last).
    pub rows: Vec<Row>,
}

/// Progress: the current row and how many text × row units are done.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The current row's name (`method / baseline`).
    pub row: String,
    /// Units (text × row) done so far.
    pub done: usize,
    /// Units in all.
    pub total: usize,
}

/// A gold label's rationale on the content tokens: (label, token mask, token spans).
type GoldRationale = (usize, Vec<bool>, Vec<(usize, usize)>);

/// A text prepared once for every row: encoding, labels, rationales.
struct Prepared {
    encoding: Encoding,
    /// Labels the faithfulness metrics use (the model's predictions).
    predicted: Vec<usize>,
    /// Gold labels with a non-empty rationale: (label, token mask, token spans), over the
    /// content (non-special) tokens.
    rationales: Vec<GoldRationale>,
    /// The labels to explain: predicted ∪ rationale labels.
    explained: Vec<usize>,
}

/// Per text, per label: metric key → value.
type Values = Vec<HashMap<usize, BTreeMap<&'static str, f64>>>;

/// Runs the evaluation of `candidates` on `data`. `randomized` are the models for the
/// randomisation check (empty: the check is skipped, e.g. for a model that cannot be
/// re-initialised). `progress` is called after each text of each row.
pub fn evaluate(
    model: &dyn Model,
    data: &Dataset,
    candidates: &[Candidate],
    randomized: &[RandomizedModel],
    options: &EvalOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<EvalReport> {
    let info = model.info();
    if data.records.is_empty() {
        return Err(Error::InvalidInput("the data file has no records to evaluate".into()));
    }
    if !(options.level > 0.0 && options.level < 1.0) || options.top_k == 0 {
        return Err(Error::InvalidConfig(
            "the confidence level must be in (0, 1) and the top-k size at least 1".into(),
        ));
    }
    let mut notes = Vec::new();
    if !data.has_rationales() {
        notes.push(
            "the data has no \"rationales\" field: only the faithfulness metrics were computed; the plausibility \
             columns (token F1, token IOU, IOU-F1, AUPRC) need ground-truth rationale spans per label"
                .to_owned(),
        );
    }
    let prepared = prepare(model, data)?;
    let special_ids: Vec<i64> = {
        let s = model.encoder().special_tokens();
        [s.pad, s.unk, s.mask, s.cls, s.sep].into_iter().flatten().collect()
    };
    let replacement = model.encoder().special_tokens().pad.unwrap_or(0);
    // Leave-one-out occlusion does not depend on the row: computed once per (text, label).
    let mut loo: HashMap<(usize, usize), Vec<f64>> = HashMap::new();
    let total = candidates.len() * prepared.len();
    let mut done = 0;
    let mut rows = Vec::with_capacity(candidates.len());
    for candidate in candidates {
        let (method_name, baseline_name) = match candidate {
            Candidate::Pair { method, baseline } => {
                (method.typetag_name().to_owned(), baseline.typetag_name().to_owned())
            }
            Candidate::RandomControl => ("random".to_owned(), "-".to_owned()),
        };
        let row_label = format!("{method_name} / {baseline_name}");
        let mut row = Row {
            method: method_name,
            baseline: baseline_name,
            skipped: None,
            failed: None,
            metrics: BTreeMap::new(),
            completeness_delta: None,
            seconds_per_text: 0.0,
            randomization: BTreeMap::new(),
        };
        if let Candidate::Pair { method, baseline } = candidate {
            let check = method.validate().and_then(|()| {
                info.require(&format!("method {:?}", method.typetag_name()), method.requires())?;
                info.require(&format!("baseline {:?}", baseline.typetag_name()), baseline.requires())
            });
            if let Err(e) = check {
                row.skipped = Some(e.to_string());
                done += prepared.len();
                progress(&Progress { row: row_label, done, total });
                rows.push(row);
                continue;
            }
        }
        let mut values: Values = vec![HashMap::new(); prepared.len()];
        let mut deltas: Values = vec![HashMap::new(); prepared.len()];
        let mut kept: Vec<Option<Attribution>> = Vec::with_capacity(prepared.len());
        let mut seconds = 0.0;
        let mut explained_texts = 0usize;
        let mut failures = 0usize;
        let mut first_error: Option<String> = None;
        // Only the control row draws; its stream depends on the seed alone, not on the row's
        // place, so tables split by method and merged (`merge`) give the same control row.
        let mut rng = SplitMix64::new(options.seed ^ CONTROL_STREAM);
        for (t, p) in prepared.iter().enumerate() {
            done += 1;
            if p.explained.is_empty() {
                kept.push(None);
                progress(&Progress { row: row_label.clone(), done, total });
                continue;
            }
            let target = Target::Indices { indices: p.explained.clone() };
            let started = Instant::now();
            let attribution = match candidate {
                Candidate::Pair { method, baseline } => {
                    match explain_one(method.as_ref(), baseline.as_ref(), model, &p.encoding, &target) {
                        Ok(a) => a,
                        Err(e) => {
                            failures += 1;
                            first_error.get_or_insert_with(|| e.to_string());
                            kept.push(None);
                            progress(&Progress { row: row_label.clone(), done, total });
                            continue;
                        }
                    }
                }
                Candidate::RandomControl => random_attribution(&p.encoding, &p.explained, &mut rng),
            };
            seconds += started.elapsed().as_secs_f64();
            explained_texts += 1;
            // Sensitivity: the method on inputs with one random content token replaced; the
            // same perturbed inputs for every row (seeded by the text), so rows are paired.
            let mut perturbed: Vec<Attribution> = Vec::new();
            let mut text_rng =
                SplitMix64::new(options.seed ^ (t as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
            if !p.predicted.is_empty() {
                for _ in 0..options.sensitivity_samples {
                    let Some(e) = perturb_one(model, &p.encoding, &special_ids, &mut text_rng) else { break };
                    let target = Target::Indices { indices: p.predicted.clone() };
                    let a = match candidate {
                        Candidate::Pair { method, baseline } => {
                            explain_one(method.as_ref(), baseline.as_ref(), model, &e, &target).ok()
                        }
                        Candidate::RandomControl => Some(random_attribution(&e, &p.predicted, &mut rng)),
                    };
                    perturbed.extend(a);
                }
            }
            let mut scorer = ModelScorer::new(model);
            let content = content_positions(&p.encoding.special);
            for ta in &attribution.targets {
                let label = ta.label_index;
                if let Some(d) = ta.delta {
                    deltas[t].entry(label).or_default().insert("delta", d.abs());
                }
                let v = values[t].entry(label).or_default();
                let attr: Vec<f64> = content.iter().map(|&i| ta.tokens[i]).collect();
                if p.predicted.contains(&label) {
                    let (ids, special) = (&p.encoding.ids, &p.encoding.special);
                    let a = aopc(&mut scorer, ids, special, &ta.tokens, label, &options.removal)?;
                    v.insert("comprehensiveness", a.comprehensiveness);
                    v.insert("sufficiency", a.sufficiency);
                    let occlusion = match loo.get(&(t, label)) {
                        Some(o) => o.clone(),
                        None => {
                            let o = leave_one_out(&mut scorer, ids, special, label)?;
                            loo.insert((t, label), o.clone());
                            o
                        }
                    };
                    if let Some(tau) = kendall_tau_b(&occlusion, &attr) {
                        v.insert("tau_loo", tau);
                    }
                    let perturbation = InfidelityOptions {
                        seed: options.infidelity.seed ^ t as u64,
                        ..options.infidelity.clone()
                    };
                    if let Some(i) =
                        infidelity(&mut scorer, ids, special, &ta.tokens, label, replacement, &perturbation)?
                    {
                        v.insert("infidelity", i);
                    }
                    let others: Vec<Vec<f64>> = perturbed
                        .iter()
                        .filter_map(|a| {
                            a.targets.iter().find(|x| x.label_index == label).map(|x| x.tokens.clone())
                        })
                        .collect();
                    if let Some(s) = sensitivity_max(&ta.tokens, &others) {
                        v.insert("sensitivity_max", s);
                    }
                }
                if let Some((_, mask, spans)) = p.rationales.iter().find(|(l, _, _)| *l == label) {
                    let only_pos = options.removal.only_positive;
                    v.insert("token_f1", token_f1(&attr, mask, options.top_k, only_pos));
                    v.insert("token_iou", token_iou(&attr, mask, options.top_k, only_pos));
                    v.insert("iou_f1", iou_f1(&attr, spans, options.top_k, only_pos, options.iou_threshold));
                    if let Some(a) = auprc(&attr, mask, only_pos) {
                        v.insert("auprc", a);
                    }
                }
            }
            kept.push(Some(attribution));
            progress(&Progress { row: row_label.clone(), done, total });
        }
        if explained_texts == 0 && failures > 0 {
            row.skipped = first_error.clone();
        } else if failures > 0 {
            row.failed = Some((failures, first_error.unwrap_or_default()));
        }
        row.seconds_per_text = if explained_texts > 0 { seconds / explained_texts as f64 } else { 0.0 };
        for m in METRICS {
            row.metrics.insert(m.key.to_owned(), summarize(&values, m.key, &info.labels, options));
        }
        if deltas.iter().any(|d| !d.is_empty()) {
            row.completeness_delta = Some(summarize(&deltas, "delta", &info.labels, options));
        }
        if let Candidate::Pair { method, baseline } = candidate
            && row.skipped.is_none()
        {
            row.randomization = randomization(
                method.as_ref(),
                baseline.as_ref(),
                &prepared,
                &kept,
                randomized,
                options,
                &info.labels,
            );
        }
        rows.push(row);
    }
    Ok(EvalReport {
        model: info.name.clone(),
        output_function: info.problem.output_function().to_owned(),
        texts: prepared.len(),
        faithfulness_pairs: prepared.iter().map(|p| p.predicted.len()).sum(),
        plausibility_pairs: prepared.iter().map(|p| p.rationales.len()).sum(),
        options: options.clone(),
        randomization_stages: randomized.iter().map(|r| r.stage.clone()).collect(),
        notes,
        rows,
    })
}

/// Encodes every record, takes the model's predictions and maps rationales onto tokens.
fn prepare(model: &dyn Model, data: &Dataset) -> Result<Vec<Prepared>> {
    let info = model.info();
    let mut prepared = Vec::with_capacity(data.records.len());
    let mut unknown = Vec::new();
    for record in &data.records {
        let encoding = model.encoder().encode(&record.text)?;
        let scores = model.predictions(&[&encoding])?.pop().map(|p| p.scores).unwrap_or_default();
        let predicted: Vec<usize> = match info.problem {
            // Strictly the labels at or above 0.5 (no fallback to the best one: an unflagged
            // text has no prediction to be faithful to).
            ProblemType::MultiLabel => (0..scores.len()).filter(|&i| scores[i] >= 0.5).collect(),
            ProblemType::MultiClass => Target::Predicted.resolve(info, &scores)?,
            ProblemType::Regression => (0..scores.len()).collect(),
        };
        let content = content_positions(&encoding.special);
        let offsets: Vec<(usize, usize)> = content.iter().map(|&i| encoding.offsets[i]).collect();
        let mut rationales = Vec::new();
        for (label, spans) in record.rationales.iter().flatten() {
            let Ok(index) = info.label_index(label) else {
                unknown.push(label.clone());
                continue;
            };
            let mask = rationale_tokens(&record.text, spans, &offsets);
            if mask.iter().any(|m| *m) {
                rationales.push((index, mask, rationale_token_spans(&record.text, spans, &offsets)));
            }
        }
        let mut explained = predicted.clone();
        for (l, _, _) in &rationales {
            if !explained.contains(l) {
                explained.push(*l);
            }
        }
        prepared.push(Prepared { encoding, predicted, rationales, explained });
    }
    if !unknown.is_empty() {
        unknown.sort();
        unknown.dedup();
        return Err(Error::InvalidInput(format!(
            "the data's rationales name labels the model does not have: {}; the model's labels are: {}",
            unknown.join(", "),
            info.labels.join(", ")
        )));
    }
    Ok(prepared)
}

fn explain_one(
    method: &dyn Method,
    baseline: &dyn Baseline,
    model: &dyn Model,
    encoding: &Encoding,
    target: &Target,
) -> Result<Attribution> {
    let request = Request {
        encodings: std::slice::from_ref(encoding),
        target,
        baseline,
        output: Output::Probability,
        per_dimension: false,
    };
    explainer_core::explain(method, model, &request)?
        .pop()
        .ok_or_else(|| Error::Internal("a method returned no attribution for a text".into()))
}

/// The control: N(0, 1) per non-special token (special tokens 0), for each label.
fn random_attribution(encoding: &Encoding, labels: &[usize], rng: &mut SplitMix64) -> Attribution {
    let targets = labels
        .iter()
        .map(|&l| TargetAttribution {
            label_index: l,
            label: String::new(),
            score: 0.0,
            tokens: encoding.special.iter().map(|&s| if s { 0.0 } else { rng.normal() }).collect(),
            token_spread: None,
            per_dimension: None,
            f_input: 0.0,
            f_baseline: 0.0,
            delta: None,
            steps: None,
            error_estimate: None,
            layer_sweep: None,
        })
        .collect();
    Attribution {
        method: "random".into(),
        baseline: "-".into(),
        layer: String::new(),
        output: Output::Probability,
        encoding: encoding.clone(),
        targets,
        warnings: Vec::new(),
    }
}

/// The encoding with one random non-special token replaced by a random non-special id
/// (sensitivity's perturbation: a discrete neighbour of the input). `None` when the text has
/// no content token.
fn perturb_one(
    model: &dyn Model,
    encoding: &Encoding,
    special_ids: &[i64],
    rng: &mut SplitMix64,
) -> Option<Encoding> {
    let content = content_positions(&encoding.special);
    if content.is_empty() {
        return None;
    }
    let vocab = model.encoder().vocab_size() as u64;
    let position = content[rng.below(content.len() as u64) as usize];
    let mut id = rng.below(vocab) as i64;
    for _ in 0..16 {
        if !special_ids.contains(&id) && id != encoding.ids[position] {
            break;
        }
        id = rng.below(vocab) as i64;
    }
    let mut e = encoding.clone();
    e.ids[position] = id;
    e.tokens[position] = model.encoder().id_to_token(id).unwrap_or_default();
    Some(e)
}

/// The summary of one metric: per-label means over texts, their mean over labels, and the
/// bootstrap interval of that mean (resampling texts).
fn summarize(values: &Values, key: &str, labels: &[String], options: &EvalOptions) -> Summary {
    let statistic = |texts: &mut dyn Iterator<Item = usize>| -> (Option<f64>, BTreeMap<usize, f64>, usize) {
        let mut sums: BTreeMap<usize, (f64, usize)> = BTreeMap::new();
        let mut n = 0;
        for t in texts {
            for (&label, m) in &values[t] {
                if let Some(v) = m.get(key).filter(|v| v.is_finite()) {
                    let e = sums.entry(label).or_insert((0.0, 0));
                    e.0 += v;
                    e.1 += 1;
                    n += 1;
                }
            }
        }
        let per_label: BTreeMap<usize, f64> = sums.into_iter().map(|(l, (s, c))| (l, s / c as f64)).collect();
        let means: Vec<f64> = per_label.values().copied().collect();
        (mean(&means), per_label, n)
    };
    let (overall, per_label, n) = statistic(&mut (0..values.len()));
    let ci = if overall.is_some() {
        bootstrap_ci(values.len(), options.bootstrap, options.level, options.seed, |sample| {
            statistic(&mut sample.iter().copied()).0
        })
    } else {
        None
    };
    Summary {
        mean: overall,
        ci,
        n,
        per_label: per_label
            .into_iter()
            .map(|(l, v)| (labels.get(l).cloned().unwrap_or_else(|| l.to_string()), v))
            .collect(),
    }
}

/// The parameter-randomisation check (Adebayo et al. 2018): Spearman ρ between the
/// attributions (content tokens) of the trained model and of each re-initialised one, on the
/// first `options.randomization_texts` texts with a prediction, for the predicted labels.
fn randomization(
    method: &dyn Method,
    baseline: &dyn Baseline,
    prepared: &[Prepared],
    kept: &[Option<Attribution>],
    randomized: &[RandomizedModel],
    options: &EvalOptions,
    labels: &[String],
) -> BTreeMap<String, Summary> {
    let mut out = BTreeMap::new();
    if options.randomization_texts == 0 {
        return out;
    }
    let texts: Vec<usize> = (0..prepared.len())
        .filter(|&t| !prepared[t].predicted.is_empty() && kept[t].is_some())
        .take(options.randomization_texts)
        .collect();
    for stage in randomized {
        let mut values: Values = vec![HashMap::new(); texts.len()];
        for (slot, &t) in texts.iter().enumerate() {
            let p = &prepared[t];
            let Some(original) = &kept[t] else { continue };
            let target = Target::Indices { indices: p.predicted.clone() };
            let Ok(other) = explain_one(method, baseline, stage.model.as_ref(), &p.encoding, &target) else {
                continue;
            };
            let content = content_positions(&p.encoding.special);
            for ta in &other.targets {
                let Some(orig) = original.targets.iter().find(|x| x.label_index == ta.label_index) else {
                    continue;
                };
                let a: Vec<f64> = content.iter().map(|&i| orig.tokens[i]).collect();
                let b: Vec<f64> = content.iter().map(|&i| ta.tokens[i]).collect();
                if let Some(rho) = spearman(&a, &b) {
                    values[slot].entry(ta.label_index).or_default().insert("rho", rho);
                }
            }
        }
        out.insert(stage.stage.clone(), summarize(&values, "rho", labels, options));
    }
    out
}

/// The control row's random stream (xored with the seed).
const CONTROL_STREAM: u64 = 0x9E37_79B9_7F4A_7C15;

/// One table from reports of the same evaluation split by method (`scripts/eval/grid.sh` runs
/// one `explainer evaluate --methods M` process per method): the rows in the order given, the
/// control row once (the first report's), last. The reports must agree on the model, the
/// output function, the texts, the options and the randomisation stages, or the rows would not
/// be comparable: that is an error naming the report (0-based) and the field.
pub fn merge(reports: Vec<EvalReport>) -> Result<EvalReport> {
    let mut reports = reports.into_iter();
    let Some(mut merged) = reports.next() else {
        return Err(Error::InvalidInput("no evaluation report to merge".into()));
    };
    let is_control = |r: &Row| r.method == "random" && r.baseline == "-";
    let mut control: Option<Row> = None;
    let mut rows: Vec<Row> = Vec::new();
    for r in std::mem::take(&mut merged.rows) {
        if is_control(&r) {
            control.get_or_insert(r);
        } else {
            rows.push(r);
        }
    }
    for (i, report) in reports.enumerate() {
        let differs = |field: &str| {
            Error::InvalidInput(format!(
                "evaluation report {} differs from report 0 in {field}: only reports of the same model, data, \
                 limit and options can be merged",
                i + 1
            ))
        };
        if report.model != merged.model {
            return Err(differs("the model"));
        }
        if report.output_function != merged.output_function {
            return Err(differs("the output function"));
        }
        if (report.texts, report.faithfulness_pairs, report.plausibility_pairs)
            != (merged.texts, merged.faithfulness_pairs, merged.plausibility_pairs)
        {
            return Err(differs("the texts (count or labels)"));
        }
        if report.options != merged.options {
            return Err(differs("the options"));
        }
        if report.randomization_stages != merged.randomization_stages {
            return Err(differs("the randomisation stages"));
        }
        for note in report.notes {
            if !merged.notes.contains(&note) {
                merged.notes.push(note);
            }
        }
        for r in report.rows {
            if is_control(&r) {
                control.get_or_insert(r);
            } else if rows.iter().any(|x| x.method == r.method && x.baseline == r.baseline) {
                return Err(Error::InvalidInput(format!(
                    "evaluation report {} repeats the row {} / {}",
                    i + 1,
                    r.method,
                    r.baseline
                )));
            } else {
                rows.push(r);
            }
        }
    }
    rows.extend(control);
    merged.rows = rows;
    Ok(merged)
}

#[cfg(test)]
mod merge_tests {
    use super::*;

    fn report(rows: &[(&str, &str)], texts: usize) -> EvalReport {
        EvalReport {
            model: "m".into(),
            output_function: "sigmoid".into(),
            texts,
            faithfulness_pairs: 1,
            plausibility_pairs: 1,
            options: EvalOptions::default(),
            randomization_stages: vec!["classifier".into()],
            notes: vec![],
            rows: rows
                .iter()
                .map(|(m, b)| Row {
                    method: (*m).into(),
                    baseline: (*b).into(),
                    skipped: None,
                    failed: None,
                    metrics: BTreeMap::new(),
                    completeness_delta: None,
                    seconds_per_text: 0.0,
                    randomization: BTreeMap::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn rows_in_order_and_one_control_last() {
        let a = report(&[("lig", "pad"), ("lig", "mask"), ("random", "-")], 5);
        let b = report(&[("deeplift", "pad"), ("random", "-")], 5);
        let merged = merge(vec![a, b]).unwrap();
        let names: Vec<_> = merged.rows.iter().map(|r| format!("{}/{}", r.method, r.baseline)).collect();
        assert_eq!(names, ["lig/pad", "lig/mask", "deeplift/pad", "random/-"]);
    }

    #[test]
    fn different_evaluations_and_repeated_rows_are_refused() {
        let e = merge(vec![report(&[("lig", "pad")], 5), report(&[("ig", "pad")], 6)]).unwrap_err();
        assert!(e.to_string().contains("report 1 differs from report 0 in the texts"), "{e}");
        let e = merge(vec![report(&[("lig", "pad")], 5), report(&[("lig", "pad")], 5)]).unwrap_err();
        assert!(e.to_string().contains("repeats the row lig / pad"), "{e}");
        assert!(merge(vec![]).is_err());
    }
}
