//! `--shard I/N`: which records one of N machines explains.
//!
//! Record k of the input (0-based, counting every non-blank JSONL line or CSV data row,
//! malformed ones included) belongs to shard k mod N. Every record, and every malformed line,
//! is thus owned by exactly one shard, the shards are balanced to within one record, and the
//! split needs no id (ids may be missing or repeated). It relies on every machine reading the
//! same input file, in the same order — which a job array over one file does.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based shard index, below `count`.
    pub index: u64,
    /// Number of shards, at least 1.
    pub count: u64,
}

impl Shard {
    /// Whether record `position` (0-based) belongs to this shard.
    pub fn owns(&self, position: u64) -> bool {
        position % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| "expected I/N, e.g. 0/4".to_owned())?;
        let index: u64 = i.trim().parse().map_err(|_| format!("{i:?} is not a shard index"))?;
        let count: u64 = n.trim().parse().map_err(|_| format!("{n:?} is not a shard count"))?;
        if count == 0 {
            return Err("the shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!("the shard index must be below the shard count: 0..{count}, 0-based"));
        }
        Ok(Shard { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn shards_parse_and_partition() {
        assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
        assert!("3/2".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        for k in 0..100 {
            assert_eq!(shards.iter().filter(|s| s.owns(k)).count(), 1);
        }
    }
}
