//! Classification quality: per-label precision, recall and F1, micro and macro averages.
//!
//! Definitions as scikit-learn's `precision_recall_fscore_support` (and the model cards of
//! the field) use them: micro F1 pools the true/false positives and false negatives of every
//! label; macro F1 is the unweighted mean of the per-label F1; a label with no true positive,
//! no false positive and no false negative has F1 = 0 (scikit-learn's `zero_division=0`).

use serde::Serialize;

/// The counts of one label.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Predicted and gold.
    pub tp: usize,
    /// Predicted, not gold.
    pub fp: usize,
    /// Gold, not predicted.
    pub fn_: usize,
    /// Gold (the label's support).
    pub support: usize,
}

impl Counts {
    /// Precision `tp / (tp + fp)`, 0 when nothing was predicted.
    pub fn precision(&self) -> f64 {
        ratio(self.tp, self.tp + self.fp)
    }

    /// Recall `tp / (tp + fn)`, 0 when nothing is gold.
    pub fn recall(&self) -> f64 {
        ratio(self.tp, self.tp + self.fn_)
    }

    /// F1 `2tp / (2tp + fp + fn)`, 0 when all three are zero.
    pub fn f1(&self) -> f64 {
        ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn_)
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The quality of a classifier on one labelled split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quality {
    /// Label names, in id order.
    pub labels: Vec<String>,
    /// Counts per label, in id order.
    pub per_label: Vec<Counts>,
    /// Number of texts.
    pub texts: usize,
    /// Texts whose predicted label set equals the gold set exactly.
    pub exact: usize,
}

impl Quality {
    /// Scores predicted label sets against gold ones (each a list of label ids per text).
    pub fn of(labels: &[String], gold: &[Vec<usize>], predicted: &[Vec<usize>]) -> Self {
        let mut per_label = vec![Counts::default(); labels.len()];
        let mut exact = 0;
        for (g, p) in gold.iter().zip(predicted) {
            for (l, counts) in per_label.iter_mut().enumerate() {
                match (g.contains(&l), p.contains(&l)) {
                    (true, true) => counts.tp += 1,
                    (false, true) => counts.fp += 1,
                    (true, false) => counts.fn_ += 1,
                    (false, false) => {}
                }
                counts.support += usize::from(g.contains(&l));
            }
            let (mut g, mut p) = (g.clone(), p.clone());
            g.sort_unstable();
            p.sort_unstable();
            exact += usize::from(g == p);
        }
        Quality { labels: labels.to_vec(), per_label, texts: gold.len(), exact }
    }

    /// Micro-averaged F1: the counts of every label pooled.
    pub fn micro_f1(&self) -> f64 {
        let pooled = self.per_label.iter().fold(Counts::default(), |a, c| Counts {
            tp: a.tp + c.tp,
            fp: a.fp + c.fp,
            fn_: a.fn_ + c.fn_,
            support: a.support + c.support,
        });
        pooled.f1()
    }

    /// Macro-averaged F1: the mean of the per-label F1.
    pub fn macro_f1(&self) -> f64 {
        if self.per_label.is_empty() {
            return 0.0;
        }
        self.per_label.iter().map(Counts::f1).sum::<f64>() / self.per_label.len() as f64
    }

    /// The share of texts whose predicted label set is exactly right (for one label per
    /// text: the accuracy).
    pub fn exact_match(&self) -> f64 {
        ratio(self.exact, self.texts)
    }

    /// The metrics as a Markdown table (four decimals), the form model cards carry.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "| metric | value |\n|---|---|\n| texts | {} |\n| micro F1 | {:.4} |\n| macro F1 | {:.4} |\n| exact match (accuracy) | {:.4} |\n\n",
            self.texts,
            self.micro_f1(),
            self.macro_f1(),
            self.exact_match()
        ));
        out.push_str("| label | support | precision | recall | F1 |\n|---|---|---|---|---|\n");
        for (label, c) in self.labels.iter().zip(&self.per_label) {
            out.push_str(&format!(
                "| {label} | {} | {:.4} | {:.4} | {:.4} |\n",
                c.support,
                c.precision(),
                c.recall(),
                c.f1()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("l{i}")).collect()
    }

    /// A case computed by hand: label 0 tp=2 fp=1 fn=0, label 1 tp=0 fp=0 fn=1, label 2 none.
    #[test]
    fn hand_computed_multi_label_case() {
        let gold = vec![vec![0], vec![0, 1], vec![]];
        let predicted = vec![vec![0], vec![0], vec![0]];
        let q = Quality::of(&names(3), &gold, &predicted);
        assert_eq!(q.per_label[0], Counts { tp: 2, fp: 1, fn_: 0, support: 2 });
        assert_eq!(q.per_label[1], Counts { tp: 0, fp: 0, fn_: 1, support: 1 });
        assert!((q.per_label[0].f1() - 0.8).abs() < 1e-15); // 4 / (4 + 1)
        assert_eq!(q.per_label[1].f1(), 0.0);
        assert_eq!(q.per_label[2].f1(), 0.0); // zero_division = 0
        // micro: tp 2, fp 1, fn 1 → 4 / 6
        assert!((q.micro_f1() - 4.0 / 6.0).abs() < 1e-15);
        assert!((q.macro_f1() - 0.8 / 3.0).abs() < 1e-15);
        assert!((q.exact_match() - 1.0 / 3.0).abs() < 1e-15);
    }

    /// With one label per text, micro F1 equals the accuracy (scikit-learn's identity).
    #[test]
    fn single_label_micro_f1_is_accuracy() {
        let gold = vec![vec![0], vec![1], vec![2], vec![1]];
        let predicted = vec![vec![0], vec![2], vec![2], vec![1]];
        let q = Quality::of(&names(3), &gold, &predicted);
        assert!((q.micro_f1() - 0.75).abs() < 1e-15);
        assert!((q.exact_match() - 0.75).abs() < 1e-15);
    }
}
