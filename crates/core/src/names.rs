//! "Did you mean": the closest known name to a mistyped one.

/// The known name closest to `name`, if it is close enough to be a likely typo.
///
/// Closeness is the Levenshtein distance over lower-cased characters; a candidate is offered
/// when the distance is at most a third of the longer name's length (at least 1), or when one
/// name contains the other.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let wanted = name.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in known {
        let lower = candidate.to_lowercase();
        let distance = if !wanted.is_empty() && (lower.contains(&wanted) || wanted.contains(&lower)) {
            lower.chars().count().abs_diff(wanted.chars().count()).min(1)
        } else {
            levenshtein(&wanted, &lower)
        };
        let longest = wanted.chars().count().max(lower.chars().count());
        let limit = (longest / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c.to_owned())
}

/// The Levenshtein edit distance between two strings, counted in characters.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_known_values() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("flaw", "lawn"), 2);
        assert_eq!(levenshtein("é", "e"), 1);
    }

    #[test]
    fn closest_offers_typos_only() {
        let known = ["integrated-gradients", "deeplift", "layer-conductance"];
        assert_eq!(closest("deeplft", known).as_deref(), Some("deeplift"));
        assert_eq!(closest("DeepLift", known).as_deref(), Some("deeplift"));
        assert_eq!(closest("conductance", known).as_deref(), Some("layer-conductance"));
        assert_eq!(closest("occlusion", known), None);
    }
}
