//! The random-tokens baseline: k references, each with every non-special token replaced by
//! a randomly drawn token.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use explainer_core::{Encoding, Error, Model, Reference, Result};
use serde::{Deserialize, Deserializer, Serialize};

use crate::corpus::Corpus;
use explainer_core::rng::SplitMix64;

/// Where random tokens are drawn from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// Uniformly from the vocabulary, special tokens and `[…]`/`<…>` markers excluded
    /// (serialised as `"vocabulary"`).
    #[default]
    Vocabulary,
    /// From the token frequencies of a corpus file, one text per line (serialised as
    /// `{"corpus": "path"}`).
    Corpus(PathBuf),
}

/// `draws` references, each replacing every non-special token by a random token drawn from
/// `source`; deterministic given `seed` (the same seed, text and model give the same draws,
/// whatever else ran before).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomTokens {
    /// How many references to draw (at least 1; default 10). Methods average over them.
    #[serde(default = "default_draws", deserialize_with = "positive")]
    pub draws: usize,
    /// Seed of the draws (default 0).
    #[serde(default)]
    pub seed: u64,
    /// Where tokens are drawn from (default: the vocabulary).
    #[serde(default)]
    pub source: TokenSource,
}

fn default_draws() -> usize {
    RandomTokens::DEFAULT_DRAWS
}

fn positive<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let draws = usize::deserialize(deserializer)?;
    if draws == 0 {
        return Err(serde::de::Error::custom("draws must be at least 1"));
    }
    Ok(draws)
}

impl RandomTokens {
    /// The registry name.
    pub const NAME: &'static str = "random-tokens";

    /// The default number of draws.
    pub const DEFAULT_DRAWS: usize = 10;

    /// `draws` references from the vocabulary, seeded with `seed`.
    pub fn new(draws: usize, seed: u64) -> Self {
        RandomTokens { draws, seed, source: TokenSource::Vocabulary }
    }

    /// `draws` references from the token frequencies of a corpus file, seeded with `seed`.
    pub fn from_corpus(draws: usize, seed: u64, corpus: impl Into<PathBuf>) -> Self {
        RandomTokens { draws, seed, source: TokenSource::Corpus(corpus.into()) }
    }

    /// Checks the configuration: at least one draw.
    pub fn validate(&self) -> Result<()> {
        if self.draws == 0 {
            return Err(Error::InvalidConfig(format!(
                "baseline {:?}: draws must be at least 1, got 0",
                Self::NAME
            )));
        }
        Ok(())
    }

    /// The tokens the draws pick from, with their weights, for `model`.
    fn sampler(&self, model: &dyn Model) -> Result<Arc<Sampler>> {
        match &self.source {
            TokenSource::Vocabulary => Sampler::vocabulary(model).map(Arc::new),
            TokenSource::Corpus(path) => Sampler::corpus(model, &Corpus::read(path)?),
        }
    }
}

impl Default for RandomTokens {
    fn default() -> Self {
        Self::new(Self::DEFAULT_DRAWS, 0)
    }
}

/// Whether a vocabulary entry looks like a special marker: `[CLS]`, `[unused3]`, `<s>`,
/// `<|endoftext|>`, ….
fn looks_special(token: &str) -> bool {
    token.len() >= 3
        && ((token.starts_with('[') && token.ends_with(']'))
            || (token.starts_with('<') && token.ends_with('>')))
}

/// The ids of a vocabulary's special tokens.
fn special_ids(model: &dyn Model) -> Vec<i64> {
    let s = model.encoder().special_tokens();
    [s.pad, s.unk, s.mask, s.cls, s.sep].into_iter().flatten().collect()
}

/// Tokens to draw from: uniformly, or by cumulative weight.
#[derive(Debug)]
enum Sampler {
    Uniform(Vec<i64>),
    Weighted { ids: Vec<i64>, cumulative: Vec<u64> },
}

/// Corpus frequency tables, keyed by (SHA-256 of the corpus, model name, vocabulary size).
type FrequencyCache = Mutex<HashMap<(String, String, usize), Arc<Sampler>>>;

fn frequency_cache() -> &'static FrequencyCache {
    static CACHE: OnceLock<FrequencyCache> = OnceLock::new();
    CACHE.get_or_init(FrequencyCache::default)
}

impl Sampler {
    fn vocabulary(model: &dyn Model) -> Result<Self> {
        let encoder = model.encoder();
        let specials = special_ids(model);
        let ids: Vec<i64> = (0..encoder.vocab_size() as i64)
            .filter(|id| !specials.contains(id))
            .filter(|&id| encoder.id_to_token(id).is_none_or(|token| !looks_special(&token)))
            .collect();
        if ids.is_empty() {
            return Err(Error::InvalidInput(format!(
                "baseline {:?}: the vocabulary of model {:?} has no ordinary tokens to draw from",
                RandomTokens::NAME,
                model.info().name
            )));
        }
        Ok(Sampler::Uniform(ids))
    }

    fn corpus(model: &dyn Model, corpus: &Corpus) -> Result<Arc<Self>> {
        let key = (corpus.hash.clone(), model.info().name.clone(), model.encoder().vocab_size());
        if let Some(hit) = frequency_cache().lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(Arc::clone(hit));
        }
        let specials = special_ids(model);
        let mut counts: BTreeMap<i64, u64> = BTreeMap::new();
        for encoding in corpus.encode(model)? {
            for (&id, &special) in encoding.ids.iter().zip(&encoding.special) {
                if !special && !specials.contains(&id) {
                    *counts.entry(id).or_default() += 1;
                }
            }
        }
        if counts.is_empty() {
            return Err(corpus.no_tokens());
        }
        let mut total = 0u64;
        let (ids, cumulative) = counts
            .into_iter()
            .map(|(id, count)| {
                total += count;
                (id, total)
            })
            .unzip();
        let sampler = Arc::new(Sampler::Weighted { ids, cumulative });
        let mut map = frequency_cache().lock().unwrap_or_else(|p| p.into_inner());
        Ok(Arc::clone(map.entry(key).or_insert(sampler)))
    }

    fn draw(&self, rng: &mut SplitMix64) -> Result<i64> {
        let picked = match self {
            Sampler::Uniform(ids) => ids.get(rng.below(ids.len() as u64) as usize),
            Sampler::Weighted { ids, cumulative } => {
                let total = cumulative.last().copied().unwrap_or(0);
                let r = rng.below(total);
                ids.get(cumulative.partition_point(|&c| c <= r))
            }
        };
        picked.copied().ok_or_else(|| Error::Internal("random-tokens drew from an empty table".into()))
    }
}

explainer_core::register_baseline! {
    name: RandomTokens::NAME,
    config: RandomTokens,
    summary: "k references with every non-special token drawn at random from the vocabulary or a corpus's token frequencies (seeded).",
    requires: [],
    impl {
        fn references(&self, model: &dyn Model, input: &Encoding) -> Result<Vec<Reference>> {
            self.validate()?;
            input.validate()?;
            let sampler = self.sampler(model)?;
            let mut rng = SplitMix64::new(self.seed);
            (0..self.draws)
                .map(|_| {
                    let ids = input
                        .ids
                        .iter()
                        .zip(&input.special)
                        .map(|(&own, &special)| if special { Ok(own) } else { sampler.draw(&mut rng) })
                        .collect::<Result<Vec<i64>>>()?;
                    Ok(Reference::Ids(ids))
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::looks_special;

    #[test]
    fn special_markers_are_recognised() {
        for marker in ["[CLS]", "[unused12]", "<s>", "</s>", "<pad>", "<|endoftext|>"] {
            assert!(looks_special(marker), "{marker}");
        }
        for word in ["the", "[", "<", "<>", "##ing", "Ġ<", "a]"] {
            assert!(!looks_special(word), "{word}");
        }
    }
}
