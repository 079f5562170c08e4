//! A classifier's quality on a labelled split of the corpus: the figures its model card states.

use explainer_core::{Encoding, Model, ProblemType};
use explainer_corpus::Message;

use crate::TrainError;
use crate::metrics::Quality;

/// The decision threshold on sigmoid scores of a multi-label model (a label is predicted when
/// its probability is at least this); a multi-class model predicts its arg-max.
pub const THRESHOLD: f64 = 0.5;

/// Texts per forward pass when predicting a split.
const BATCH: usize = 32;

/// A wrong prediction, shown on the model card.
#[derive(Debug, Clone, PartialEq)]
pub struct Mistake {
    /// The message id.
    pub id: String,
    /// The message.
    pub text: String,
    /// The gold labels.
    pub gold: Vec<String>,
    /// The predicted labels with their scores.
    pub predicted: Vec<(String, f64)>,
    /// The message's corpus tags (distractor, negation, long, multi).
    pub tags: Vec<String>,
}

/// Quality on a split, with a breakdown by corpus tag and the mistakes.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Per-label counts and averages.
    pub quality: Quality,
    /// Per tag (and "none" for untagged messages): texts and exactly right texts.
    pub by_tag: Vec<(String, usize, usize)>,
    /// Every wrong prediction, in split order.
    pub mistakes: Vec<Mistake>,
}

/// The label ids each text is predicted to have.
pub fn predicted_labels(problem: ProblemType, scores: &[f64]) -> Vec<usize> {
    match problem {
        ProblemType::MultiClass => {
            let best = scores
                .iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (i, &s)| if s > best.1 { (i, s) } else { best });
            vec![best.0]
        }
        _ => scores.iter().enumerate().filter(|(_, s)| **s >= THRESHOLD).map(|(i, _)| i).collect(),
    }
}

/// Every text's scores, from batched forward passes over texts of similar length.
pub fn scores(model: &dyn Model, texts: &[&str]) -> Result<Vec<Vec<f64>>, TrainError> {
    let encodings: Vec<Encoding> =
        texts.iter().map(|t| model.encoder().encode(t)).collect::<Result<_, _>>()?;
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| encodings[i].len());
    let mut out = vec![Vec::new(); texts.len()];
    for chunk in order.chunks(BATCH) {
        let refs: Vec<&Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
        for (&i, prediction) in chunk.iter().zip(model.predictions(&refs)?) {
            out[i] = prediction.scores;
        }
    }
    Ok(out)
}

/// Evaluates `model` on labelled messages.
pub fn evaluate(model: &dyn Model, messages: &[Message]) -> Result<Evaluation, TrainError> {
    let info = model.info();
    let texts: Vec<&str> = messages.iter().map(|m| m.text.as_str()).collect();
    let scores = scores(model, &texts)?;
    let mut gold = Vec::with_capacity(messages.len());
    let mut predicted = Vec::with_capacity(messages.len());
    let mut mistakes = Vec::new();
    let mut tags: Vec<(String, usize, usize)> = Vec::new();
    for (message, scores) in messages.iter().zip(&scores) {
        let g = message.labels.iter().map(|l| info.label_index(l)).collect::<Result<Vec<_>, _>>()?;
        let p = predicted_labels(info.problem, scores);
        let (mut gs, mut ps) = (g.clone(), p.clone());
        gs.sort_unstable();
        ps.sort_unstable();
        let right = gs == ps;
        let keys: Vec<String> =
            if message.tags.is_empty() { vec!["none".into()] } else { message.tags.clone() };
        for key in keys {
            match tags.iter_mut().find(|(t, _, _)| *t == key) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.2 += usize::from(right);
                }
                None => tags.push((key, 1, usize::from(right))),
            }
        }
        if !right {
            mistakes.push(Mistake {
                id: message.id.clone(),
                text: message.text.clone(),
                gold: message.labels.clone(),
                predicted: p.iter().map(|&i| (info.labels[i].clone(), scores[i])).collect(),
                tags: message.tags.clone(),
            });
        }
        gold.push(g);
        predicted.push(p);
    }
    tags.sort();
    Ok(Evaluation { quality: Quality::of(&info.labels, &gold, &predicted), by_tag: tags, mistakes })
}

impl Evaluation {
    /// The figures as Markdown: the metrics table, exact match by tag, and the mistakes (the
    /// first `shown` in full, the rest counted). The model card carries this block verbatim,
    /// and a test recomputes it.
    pub fn markdown(&self, shown: usize) -> String {
        let mut out = self.quality.markdown();
        out.push_str("\nExactly right label sets by kind of message (corpus tags):\n\n");
        out.push_str("| tag | texts | exactly right |\n|---|---|---|\n");
        for (tag, texts, right) in &self.by_tag {
            out.push_str(&format!(
                "| {tag} | {texts} | {right} ({:.1} %) |\n",
                100.0 * *right as f64 / *texts as f64
            ));
        }
        out.push_str(&format!(
            "\nWrong predictions: {} of {} texts",
            self.mistakes.len(),
            self.quality.texts
        ));
        if self.mistakes.is_empty() {
            out.push_str(".\n");
            return out;
        }
        out.push_str(&format!(" (the first {} shown).\n\n", shown.min(self.mistakes.len())));
        out.push_str("| id | tags | gold | predicted (score) | text |\n|---|---|---|---|---|\n");
        for m in self.mistakes.iter().take(shown) {
            let predicted: Vec<String> = m.predicted.iter().map(|(l, s)| format!("{l} ({s:.3})")).collect();
            let mut text: String = m.text.chars().take(160).collect();
            if m.text.chars().count() > 160 {
                text.push('…');
            }
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                m.id,
                m.tags.join(", "),
                if m.gold.is_empty() { "—".into() } else { m.gold.join(", ") },
                if predicted.is_empty() { "—".into() } else { predicted.join(", ") },
                cell(&text)
            ));
        }
        out
    }
}

/// Text made safe for one Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}
