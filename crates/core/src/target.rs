//! Which labels to explain.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, ModelInfo, ProblemType, Result};

/// The rule that picks the labels to explain from a model's scores on a text.
///
/// In text form (CLI flags, spec files): `predicted`, `all`, `above:0.3`,
/// `labels:fraud,spam`, `indices:0,3`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Target {
    /// The predicted label(s): for multi-label models every label whose sigmoid score is at
    /// least 0.5 — or, when none is, the single highest-scoring label, so that an unflagged
    /// text still gets an explanation of its strongest label; for multi-class models the
    /// arg-max; for regression every output.
    #[default]
    Predicted,
    /// Every label whose score is at least `threshold` (possibly none).
    Above {
        /// The lowest score that is explained.
        threshold: f64,
    },
    /// The named labels, in the order given.
    Labels {
        /// Label names as in the model's `id2label`.
        labels: Vec<String>,
    },
    /// The labels at these logit indices, in the order given.
    Indices {
        /// 0-based label indices.
        indices: Vec<usize>,
    },
    /// Every label.
    All,
}

impl Target {
    /// The label indices this rule picks, given the model and its scores on one text.
    ///
    /// Named labels and indices are checked against the model: an unknown name or an index out
    /// of range is an error naming the labels the model has. Duplicates are dropped.
    pub fn resolve(&self, info: &ModelInfo, scores: &[f64]) -> Result<Vec<usize>> {
        let count = info.labels.len();
        if scores.len() != count {
            return Err(Error::Internal(format!("{} scores for a model with {count} labels", scores.len())));
        }
        let mut picked: Vec<usize> = match self {
            Target::Predicted => match info.problem {
                ProblemType::MultiLabel => {
                    let above: Vec<usize> = (0..count).filter(|&i| scores[i] >= 0.5).collect();
                    if above.is_empty() { argmax(scores).into_iter().collect() } else { above }
                }
                ProblemType::MultiClass => argmax(scores).into_iter().collect(),
                ProblemType::Regression => (0..count).collect(),
            },
            Target::Above { threshold } => {
                if !threshold.is_finite() {
                    return Err(Error::InvalidConfig(format!(
                        "the threshold must be a finite number, not {threshold}"
                    )));
                }
                (0..count).filter(|&i| scores[i] >= *threshold).collect()
            }
            Target::Labels { labels } => {
                if labels.is_empty() {
                    return Err(Error::InvalidConfig("no label names given".into()));
                }
                labels.iter().map(|l| info.label_index(l)).collect::<Result<_>>()?
            }
            Target::Indices { indices } => {
                if indices.is_empty() {
                    return Err(Error::InvalidConfig("no label indices given".into()));
                }
                for &index in indices {
                    if index >= count {
                        return Err(Error::LabelIndexOutOfRange { index, count });
                    }
                }
                indices.clone()
            }
            Target::All => (0..count).collect(),
        };
        let mut seen = vec![false; count];
        picked.retain(|&i| !std::mem::replace(&mut seen[i], true));
        Ok(picked)
    }
}

fn argmax(scores: &[f64]) -> Option<usize> {
    scores.iter().enumerate().filter(|(_, s)| !s.is_nan()).max_by(|a, b| a.1.total_cmp(b.1)).map(|(i, _)| i)
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Predicted => f.write_str("predicted"),
            Target::All => f.write_str("all"),
            Target::Above { threshold } => write!(f, "above:{threshold}"),
            Target::Labels { labels } => write!(f, "labels:{}", labels.join(",")),
            Target::Indices { indices } => {
                let list: Vec<String> = indices.iter().map(usize::to_string).collect();
                write!(f, "indices:{}", list.join(","))
            }
        }
    }
}

impl FromStr for Target {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let (rule, rest) = match s.split_once(':') {
            Some((rule, rest)) => (rule.trim(), Some(rest)),
            None => (s, None),
        };
        let list = |rest: Option<&str>| -> Vec<String> {
            rest.unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        };
        let bad = |why: String| Error::InvalidConfig(format!("target {s:?}: {why}"));
        match (rule, rest) {
            ("predicted", None) => Ok(Target::Predicted),
            ("all", None) => Ok(Target::All),
            ("above", Some(x)) => {
                let threshold: f64 = x.trim().parse().map_err(|_| bad(format!("{x:?} is not a number")))?;
                Ok(Target::Above { threshold })
            }
            ("labels", rest) => Ok(Target::Labels { labels: list(rest) }),
            ("indices", rest) => {
                let indices = list(rest)
                    .iter()
                    .map(|x| x.parse::<usize>().map_err(|_| bad(format!("{x:?} is not a label index"))))
                    .collect::<Result<_>>()?;
                Ok(Target::Indices { indices })
            }
            _ => Err(bad("expected predicted, all, above:THRESHOLD, labels:NAME,… or indices:I,…".into())),
        }
    }
}
