//! The cached model hash equals the plain one, is reused for an unchanged folder, and is never
//! stale: rewriting a file (same size, modification time set back) gives the new hash.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::time::{Duration, SystemTime};

use explainer_pipeline::model_hash::{model_hash, model_hash_cached_in};

fn age(path: &std::path::Path) {
    let old = SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::options().write(true).open(path).unwrap().set_modified(old).unwrap();
}

#[test]
fn the_cached_hash_is_the_hash_and_follows_every_change() {
    let cache_root = tempfile::tempdir().unwrap();
    let cache = cache_root.path().join("model-hashes");
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("model.safetensors");
    std::fs::write(dir.path().join("config.json"), b"{\"model_type\": \"bert\"}").unwrap();
    std::fs::write(&weights, b"weights one").unwrap();
    age(&dir.path().join("config.json"));
    age(&weights);
    // ctime is now; the "recently changed" guard needs 2 s.
    std::thread::sleep(Duration::from_millis(2100));

    let plain = model_hash(dir.path()).unwrap();
    assert_eq!(model_hash_cached_in(dir.path(), Some(&cache)).unwrap(), plain);
    let entries = std::fs::read_dir(&cache).unwrap().count();
    assert_eq!(entries, 1, "the hash was stored");
    assert_eq!(model_hash_cached_in(dir.path(), Some(&cache)).unwrap(), plain, "served from the cache");

    // Same size, same modification time: only the status-change time tells.
    std::fs::write(&weights, b"weights two").unwrap();
    age(&weights);
    let changed = model_hash(dir.path()).unwrap();
    assert_ne!(changed, plain);
    assert_eq!(
        model_hash_cached_in(dir.path(), Some(&cache)).unwrap(),
        changed,
        "a rewritten file is rehashed"
    );

    // A corrupt cache entry is ignored.
    for entry in std::fs::read_dir(&cache).unwrap() {
        std::fs::write(entry.unwrap().path(), "sha256:nonsense\nother key").unwrap();
    }
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(model_hash_cached_in(dir.path(), Some(&cache)).unwrap(), changed);
}
