//! The hierarchies Partition SHAP recurses through: `shap`'s Text-masker tree over a text's
//! tokens (`shap/maskers/_text.py`: `Text.clustering` and `partition_tree`), rebuilt from the
//! tokens' strings and offsets, and a flat one-level hierarchy over feature groups.

use explainer_core::Encoding;

use crate::features::bare;

/// A rooted tree over features `0..leaves`: nodes `0..leaves` are the leaves (the features),
/// the others internal, the root last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tree {
    /// Number of leaves.
    pub leaves: usize,
    /// The children of each node (empty for a leaf).
    pub children: Vec<Vec<usize>>,
    /// The leaves under each node, in order.
    pub members: Vec<Vec<usize>>,
}

impl Tree {
    /// The tree of binary merges `(left, right)` over `leaves` leaves, scipy-linkage style:
    /// merge k makes node `leaves + k`.
    pub fn from_merges(leaves: usize, merges: &[(usize, usize)]) -> Tree {
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); leaves];
        let mut members: Vec<Vec<usize>> = (0..leaves).map(|i| vec![i]).collect();
        for &(l, r) in merges {
            children.push(vec![l, r]);
            let mut m = members[l].clone();
            m.extend(&members[r]);
            members.push(m);
        }
        Tree { leaves, children, members }
    }

    /// One root over every leaf (a single leaf is its own root).
    pub fn flat(leaves: usize) -> Tree {
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); leaves];
        let mut members: Vec<Vec<usize>> = (0..leaves).map(|i| vec![i]).collect();
        if leaves > 1 {
            children.push((0..leaves).collect());
            members.push((0..leaves).collect());
        }
        Tree { leaves, children, members }
    }

    /// The root's index.
    pub fn root(&self) -> usize {
        self.children.len().saturating_sub(1)
    }

    /// The model evaluations a full expansion asks for (shap's count, before deduplication):
    /// a node reached by r queue items with k children costs r (2^k − 2) and hands each child
    /// r 2^(k−1) items. In f64, so that deep trees saturate instead of overflowing.
    pub fn full_cost(&self) -> f64 {
        let mut reach = vec![0.0f64; self.children.len()];
        let mut cost = 0.0;
        if reach.is_empty() {
            return 0.0;
        }
        let root = self.root();
        reach[root] = 1.0;
        // Children always have smaller indices than their parent.
        for v in (0..self.children.len()).rev() {
            let k = self.children[v].len();
            if k == 0 {
                continue;
            }
            cost += reach[v] * (2f64.powi(k as i32) - 2.0);
            for &c in &self.children[v] {
                reach[c] += reach[v] * 2f64.powi(k as i32 - 1);
            }
        }
        cost
    }

    /// Whether every internal node has exactly two children.
    pub fn is_binary(&self) -> bool {
        self.children.iter().all(|c| c.is_empty() || c.len() == 2)
    }
}

/// The token strings `shap`'s Text masker hands to `partition_tree`, rebuilt from an encoding
/// (a method never sees the original text): special tokens are `""`; a token's surface is its
/// string without sub-word markers; it gets a `##` prefix when it starts with an ASCII letter,
/// the previous token's text ends in a word character with no gap before this one (shap: the
/// previous segment does not end in `\W`) and the previous string is not empty. A token marked
/// as starting a word (`▁`, `Ġ`) never does: its segment starts with the space (sentencepiece
/// offsets include it) or follows a gap.
///
/// Known differences from shap, which reads the original text: on a lowercasing tokenizer the
/// case is lost (`And` at a sentence start counts as the connector `and`); a placeholder such as
/// `[UNK]` whose string is not the text it covers becomes `"\u{FFFD}"` (shap sees the covered
/// characters, e.g. `(`); characters a tokenizer drops between tokens count as a gap.
pub fn text_tokens(encoding: &Encoding) -> Vec<String> {
    let n = encoding.len();
    let surface: Vec<String> = (0..n)
        .map(|i| {
            if encoding.special[i] {
                return String::new();
            }
            let (start, end) = encoding.offsets[i];
            let mut s = bare(&encoding.tokens[i]);
            if s.is_empty() && end > start {
                // A lone marker (sentencepiece's `▁` before a piece it does not merge with)
                // covers the same text as the piece after it: shap's segment is that text.
                if let Some(j) = (0..n).find(|&j| j != i && encoding.offsets[j] == (start, end)) {
                    s = bare(&encoding.tokens[j]);
                }
            }
            let placeholder = (s.starts_with('[') && s.ends_with(']')
                || s.starts_with('<') && s.ends_with('>'))
                && s.len() != end.saturating_sub(start);
            if placeholder { "\u{FFFD}".to_owned() } else { s.to_owned() }
        })
        .collect();
    let mut out: Vec<String> = Vec::with_capacity(n);
    for i in 0..n {
        let glued = i > 0 && {
            let p = i - 1;
            // The previous segment: its token's text plus the gap up to this token (a special
            // token here has offsets (0, 0), so no gap).
            let gap = !encoding.special[i] && encoding.offsets[i].0 > encoding.offsets[p].1;
            let ends_in_word =
                !gap && surface[p].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_');
            ends_in_word && !out[p].is_empty()
        };
        let word_start = encoding.tokens[i].starts_with('▁') || encoding.tokens[i].starts_with('Ġ');
        let letter = !word_start && surface[i].chars().next().is_some_and(|c| c.is_ascii_alphabetic());
        out.push(if glued && letter { format!("##{}", surface[i]) } else { surface[i].clone() });
    }
    out
}

/// `shap`'s heuristic score of merging two adjacent groups (`merge_score` in
/// `shap/maskers/_text.py`; its rule for separator tokens of sentence pairs is left out).
fn merge_score(s: &[String], balanced: &[bool], g1: &[usize], g2: &[usize]) -> i64 {
    let (first1, last1) = (s[g1[0]].as_str(), s[g1[g1.len() - 1]].as_str());
    let (first2, last2) = (s[g2[0]].as_str(), s[g2[g2.len() - 1]].as_str());
    let ctrl = |t: &str| t.starts_with('[') && t.ends_with(']');
    let mut score = 0i64;
    // Parts of a word first.
    if first2.starts_with("##") {
        score += 20;
    }
    // Apostrophe endings next.
    if first2 == "'" && (g2.len() == 1 || (g2.len() == 2 && matches!(s[g2[1]].as_str(), "t" | "s"))) {
        score += 15;
    }
    if last1 == "'" && matches!(first2, "t" | "s") {
        score += 15;
    }
    if ctrl(first1) != ctrl(last2) {
        score -= 1000;
    }
    if first2 == "(" && !balanced[g2[0]] {
        score -= 100;
    }
    if last1 == ")" && !balanced[g1[g1.len() - 1]] {
        score -= 100;
    }
    // shap tests `group2[-1] not in closers` on a Token object, which is never a key of the
    // closers dict: the condition reduces to the opener test.
    if first1 == "(" {
        score -= 2;
    }
    let connector = |t: &str| matches!(t, "but" | "and" | "or");
    if connector(last1) || connector(first2) {
        score -= 2;
    }
    if last1 == "," {
        score -= 10;
    }
    if first2 == "," {
        score -= if g2.len() > 1 { 10 } else { 1 };
    }
    let end = |t: &str| matches!(t, "." | "?" | "!");
    if end(last1) {
        score -= 20;
    }
    if end(first2) {
        score -= if g2.len() > 1 { 20 } else { 1 };
    }
    score - (g1.len() + g2.len()) as i64
}

/// `shap`'s `partition_tree`: adjacent groups of tokens are merged greedily, best
/// [`merge_score`] first (the leftmost on ties), until one group is left. Returns the merges
/// `(left, right)` in order, scipy-linkage style (leaves `0..n`, merge k makes node `n + k`).
pub fn partition_tree(tokens: &[String]) -> Vec<(usize, usize)> {
    let mut balanced: Vec<bool> = tokens.iter().map(|t| t != "(" && t != ")").collect();
    let mut groups: Vec<(Vec<usize>, usize)> = (0..tokens.len()).map(|i| (vec![i], i)).collect();
    let mut merges = Vec::with_capacity(tokens.len().saturating_sub(1));
    while groups.len() > 1 {
        let mut best = (i64::MIN, 0);
        for i in 0..groups.len() - 1 {
            let score = merge_score(tokens, &balanced, &groups[i].0, &groups[i + 1].0);
            if score > best.0 {
                best = (score, i);
            }
        }
        let ind = best.1;
        let (right, right_index) = groups.remove(ind + 1);
        let (left, left_index) = &mut groups[ind];
        merges.push((*left_index, right_index));
        let (first, last) = (left[0], right[right.len() - 1]);
        if tokens[first] == "(" && tokens[last] == ")" {
            balanced[first] = true;
            balanced[last] = true;
        }
        left.extend(right);
        *left_index = tokens.len() + merges.len() - 1;
    }
    merges
}

/// shap's Text-masker hierarchy over every token of `encoding` (special tokens included).
pub(crate) fn text_tree(encoding: &Encoding) -> Tree {
    let tokens = text_tokens(encoding);
    Tree::from_merges(tokens.len(), &partition_tree(&tokens))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn sub_words_merge_first_and_sentence_ends_last() {
        let merges = partition_tree(&strings(&["wire", "##d", "it", "."]));
        // wire+##d (20 − 2), then it+"." is −1 − 2 = −3 vs (wired)+it −3: leftmost wins.
        assert_eq!(merges, vec![(0, 1), (4, 2), (5, 3)]);
        let tree = Tree::from_merges(4, &merges);
        assert_eq!(tree.members[tree.root()], vec![0, 1, 2, 3]);
        // Root: 1 item, 2 masks; its children 2 items each, ...
        assert_eq!(tree.full_cost(), 2.0 + 2.0 * 2.0 + 4.0 * 2.0);
        assert_eq!(Tree::flat(4).full_cost(), 14.0);
        assert!(!Tree::flat(4).is_binary() && tree.is_binary());
    }

    #[test]
    fn a_closed_parenthesis_is_balanced() {
        let merges = partition_tree(&strings(&["(", "a", ")", "b"]));
        assert_eq!(merges.len(), 3);
    }
}
