//! Partition SHAP (the `shap` library's `PartitionExplainer`, its default explainer for text):
//! Owen values over a hierarchy of the text's tokens. At a node with children c₁ … c_k, reached
//! with the features outside it fixed (its *context*), each child's credit is the Shapley value
//! of the k-player game among the siblings — for shap's binary trees, the mean of the child's
//! marginal contribution with its sibling off and with it on — and the recursion continues
//! inside each child with the siblings' state added to the context. Each step splits a node's
//! F(context ∪ node) − F(context) among its children, so the scores always sum to
//! F(x) − F(x₀) (efficiency).
//!
//! As shap's `owen` (`shap/explainers/_partition.py`, `fixed_context=None`): queue items
//! (context, F(context), F(context ∪ node), node, weight) are expanded most important first
//! (|ΔF| × weight, the largest over every label), `batch_size` masks per round, until
//! `max_evals` evaluations are spent; the credit of nodes left unexpanded is spread evenly over
//! their tokens. When the whole tree fits in the budget every node is expanded: the exact Owen
//! values, whatever the order.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use explainer_core::{Attribution, Encoding, Error, Model, Request, Result};
use serde::{Deserialize, Serialize};

use crate::engine::{self, Estimator, Game, Replacement, Scores};
use crate::hierarchy::{self, Tree};
use crate::{DEFAULT_MEMORY_BUDGET_MB, Groups, claims};

/// The hierarchy the Owen values recurse through.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hierarchy {
    /// shap's Text-masker tree over every token (`partition_tree`: sub-words, then apostrophe
    /// endings, then words, reaching across commas, connectors and sentence ends last), rebuilt
    /// from the tokens ([`crate::text_tokens`] says where it can differ). The default.
    #[default]
    Text,
    /// One level over the groups: every group a child of the root, so the Owen values are the
    /// groups' exact Shapley values (2^m − 2 evaluations for m groups).
    Flat(Groups),
}

/// Partition SHAP: Owen values over a hierarchy of the text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartitionShap {
    /// `"text"` (shap's token tree, default) or `{"flat": "words"}` (any groups).
    pub hierarchy: Hierarchy,
    /// shap's `max_evals` (default 500): model evaluations per text and reference, counted as
    /// shap counts them (the input, the baseline and every mask asked for; repeated inputs are
    /// run once, so fewer rows run).
    pub max_evals: usize,
    /// Require the full expansion (the exact Owen values): a text that needs more than
    /// `max_evals` is an error instead of shap's budgeted approximation.
    pub exact: bool,
    /// shap's `batch_size` (5, the Text masker's default): masks per round of the queue. Only
    /// matters when the budget stops the expansion (it decides which nodes are expanded);
    /// forward passes are batched by `memory_budget_mb` either way.
    pub batch_size: usize,
    /// What takes the place of a switched-off token or group.
    pub replace_with: Replacement,
    /// Memory for one batch of perturbed inputs, in MiB.
    pub memory_budget_mb: usize,
}

impl Default for PartitionShap {
    fn default() -> Self {
        PartitionShap {
            hierarchy: Hierarchy::Text,
            max_evals: 500,
            exact: false,
            batch_size: 5,
            replace_with: Replacement::Baseline,
            memory_budget_mb: DEFAULT_MEMORY_BUDGET_MB,
        }
    }
}

/// One queue entry: a node to credit within a context.
struct Item {
    /// Features on outside the node.
    context: Vec<bool>,
    /// F(context), every label.
    f_off: Vec<f64>,
    /// F(context ∪ node), every label.
    f_on: Vec<f64>,
    node: usize,
    weight: f64,
}

/// Heap order: the most negative priority first (shap's `PriorityQueue` of
/// `(-max|ΔF| · weight, tie, item)`), ties in insertion order (shap breaks them at random).
struct Queued {
    priority: f64,
    seq: u64,
    item: Item,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        // BinaryHeap pops the greatest: reverse both keys.
        other.priority.partial_cmp(&self.priority).unwrap_or(Ordering::Equal).then(other.seq.cmp(&self.seq))
    }
}

/// Leaves an item's weighted change on its node.
fn add(credit: &mut [Vec<f64>], item: &Item) {
    for (c, (on, off)) in credit[item.node].iter_mut().zip(item.f_on.iter().zip(&item.f_off)) {
        *c += (on - off) * item.weight;
    }
}

/// The most children a node may have (a node costs 2^k − 2 evaluations).
const MAX_CHILDREN: usize = 24;

fn factorial(n: usize) -> f64 {
    (1..=n).map(|k| k as f64).product()
}

impl PartitionShap {
    /// The registry name.
    pub const NAME: &'static str = "partition-shap";

    fn check(&self) -> Result<()> {
        engine::check_budget(Self::NAME, self.memory_budget_mb)?;
        if self.max_evals < 2 {
            return Err(Error::InvalidConfig(
                "partition-shap: max_evals must be at least 2 (the input and the baseline)".into(),
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::InvalidConfig("partition-shap: batch_size must be positive".into()));
        }
        Ok(())
    }

    /// Whether every result is the exact Owen values (a flat hierarchy is never approximated).
    pub(crate) fn always_exact(&self) -> bool {
        self.exact || matches!(self.hierarchy, Hierarchy::Flat(_))
    }

    fn tree(&self, encoding: &Encoding, features: usize) -> Tree {
        match self.hierarchy {
            Hierarchy::Text => hierarchy::text_tree(encoding),
            Hierarchy::Flat(_) => Tree::flat(features),
        }
    }
}

impl Estimator for PartitionShap {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    /// `text`: every token its own feature, special tokens included (shap's leaves; a baseline
    /// that keeps them, as every built-in one does, makes them null players); `flat`: the groups.
    fn features(&self, encoding: &Encoding) -> Result<Vec<Vec<usize>>> {
        match &self.hierarchy {
            Hierarchy::Text => Ok((0..encoding.len()).map(|i| vec![i]).collect()),
            Hierarchy::Flat(groups) => groups.features(encoding),
        }
    }

    fn replacement(&self) -> Replacement {
        self.replace_with
    }

    fn budget_mb(&self) -> usize {
        self.memory_budget_mb
    }

    fn complete(&self) -> bool {
        true
    }

    fn estimate(
        &self,
        game: &mut Game<'_>,
        labels: &[usize],
        f_input: &[f64],
        f_empty: &[f64],
    ) -> Result<Scores> {
        let m = game.len();
        let mut scores = vec![vec![0.0; m]; labels.len()];
        if m == 0 {
            return Ok(Scores { scores });
        }
        let tree = self.tree(game.encoding(), m);
        if tree.leaves != m {
            return Err(Error::Internal("partition-shap: the hierarchy does not cover the features".into()));
        }
        // shap passes max_evals − 2 to its recursion: the input and the baseline are spent.
        let budget = self.max_evals - 2;
        // Counted as max_evals is: the input and the baseline too.
        let needed = tree.full_cost() + 2.0;
        let widest = tree.children.iter().map(Vec::len).max().unwrap_or(0);
        let (budget, round) = if needed <= self.max_evals as f64 && widest <= MAX_CHILDREN {
            // Everything fits: expand level by level, each level one set of forward batches.
            (usize::MAX, usize::MAX)
        } else if self.always_exact() || !tree.is_binary() {
            return Err(Error::InvalidInput(format!(
                "partition-shap: the exact Owen values of this text's {m} features need {needed:.0} model evaluations, more than max_evals = {}; raise max_evals{}",
                self.max_evals,
                match self.hierarchy {
                    Hierarchy::Flat(_) => ", or use hierarchy \"text\" or coarser groups",
                    Hierarchy::Text => ", or set exact: false (shap's budgeted approximation)",
                }
            )));
        } else {
            game.warnings.push(format!(
                "partition-shap: the exact Owen values need {needed:.0} evaluations, more than max_evals = {}; the groups left unexpanded share their credit evenly over their tokens (shap's approximation); raise max_evals for exact values",
                self.max_evals
            ));
            (budget, self.batch_size)
        };

        let nodes = tree.children.len();
        let outputs = f_input.len();
        let mut credit = vec![vec![0.0; outputs]; nodes];
        let mut heap = BinaryHeap::new();
        let mut seq = 0u64;
        heap.push(Queued {
            priority: 0.0,
            seq,
            item: Item {
                context: vec![false; m],
                f_off: f_empty.to_vec(),
                f_on: f_input.to_vec(),
                node: tree.root(),
                weight: 1.0,
            },
        });
        let mut spent = 0usize;
        while !heap.is_empty() {
            if spent >= budget {
                // Out of budget: what is left stays on its node.
                for q in heap.drain() {
                    add(&mut credit, &q.item);
                }
                break;
            }
            let mut batch: Vec<Item> = Vec::new();
            let mut masks = 0usize;
            while masks < round && spent.saturating_add(masks) < budget {
                let Some(Queued { item, .. }) = heap.pop() else { break };
                let k = tree.children[item.node].len();
                if k == 0 {
                    add(&mut credit, &item);
                    continue;
                }
                masks += (1usize << k) - 2;
                batch.push(item);
            }
            if batch.is_empty() {
                continue;
            }
            // Every proper non-empty subset of each node's children, added to its context.
            let mut coalitions: Vec<Vec<bool>> = Vec::with_capacity(masks);
            for item in &batch {
                let children = &tree.children[item.node];
                for bits in 1..(1usize << children.len()) - 1 {
                    let mut on = item.context.clone();
                    for (j, &c) in children.iter().enumerate() {
                        if bits >> j & 1 == 1 {
                            for &leaf in &tree.members[c] {
                                on[leaf] = true;
                            }
                        }
                    }
                    coalitions.push(on);
                }
            }
            let values = game.values(&coalitions)?;
            spent = spent.saturating_add(coalitions.len());
            let mut values = values.into_iter();
            for item in batch {
                let children = &tree.children[item.node];
                let k = children.len();
                let full = (1usize << k) - 1;
                let mut by_subset: Vec<Vec<f64>> = Vec::with_capacity(full + 1);
                by_subset.push(item.f_off.clone());
                for _ in 1..full {
                    by_subset.push(
                        values
                            .next()
                            .ok_or_else(|| Error::Internal("partition-shap: missing values".into()))?,
                    );
                }
                by_subset.push(item.f_on.clone());
                // Child j with the siblings in `bits` on, sizes 0, 1, …, k − 1 (for k = 2 shap's
                // order: left and right with the sibling off, then with it on).
                for size in 0..k {
                    let weight = item.weight * factorial(size) * factorial(k - 1 - size) / factorial(k);
                    for (j, &child) in children.iter().enumerate() {
                        for bits in 0..=full {
                            if bits >> j & 1 == 1 || (bits as u64).count_ones() as usize != size {
                                continue;
                            }
                            let mut context = item.context.clone();
                            for (i, &c) in children.iter().enumerate() {
                                if bits >> i & 1 == 1 {
                                    for &leaf in &tree.members[c] {
                                        context[leaf] = true;
                                    }
                                }
                            }
                            let f_off = by_subset[bits].clone();
                            let f_on = by_subset[bits | 1 << j].clone();
                            let change =
                                f_on.iter().zip(&f_off).fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
                            seq += 1;
                            heap.push(Queued {
                                priority: -change * weight,
                                seq,
                                item: Item { context, f_off, f_on, node: child, weight },
                            });
                        }
                    }
                }
            }
        }

        // shap's lower_credit: a node's credit is spread evenly over its leaves.
        let mut per_leaf = vec![vec![0.0; outputs]; m];
        for (node, c) in credit.iter().enumerate() {
            let members = &tree.members[node];
            let share = 1.0 / members.len() as f64;
            for &leaf in members {
                for (p, v) in per_leaf[leaf].iter_mut().zip(c) {
                    *p += v * share;
                }
            }
        }
        for (t, &label) in labels.iter().enumerate() {
            for (f, leaf) in per_leaf.iter().enumerate() {
                scores[t][f] = leaf[label];
            }
        }
        Ok(Scores { scores })
    }
}

explainer_core::register_method! {
    name: PartitionShap::NAME,
    config: PartitionShap,
    summary: "Partition SHAP (shap's text default): Owen values over shap's word hierarchy of the tokens, exact when max_evals allows; complete (forward only).",
    requires: [Forward],
    convergence_delta: true,
    impl {
        fn claims(&self) -> Vec<explainer_core::Claim> {
            claims::owen(self.replace_with, self.always_exact())
        }

        fn validate(&self) -> Result<()> {
            self.check()
        }

        fn explain(&self, model: &dyn Model, request: &Request<'_>) -> Result<Vec<Attribution>> {
            self.check()?;
            engine::explain(self, model, request)
        }
    }
}
