//! Parameters from `model.safetensors` or a sharded `model.safetensors.index.json`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use explainer_core::{Error, Result, names};
use tch::{Kind, Tensor};

/// The checkpoint's tensors by name, with the file each came from for error messages.
pub struct Weights {
    tensors: HashMap<String, (Tensor, PathBuf)>,
    kind: Kind,
}

impl std::fmt::Debug for Weights {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Weights").field("tensors", &self.tensors.len()).finish()
    }
}

impl Weights {
    /// Loads every tensor of the checkpoint in `dir` (single file or shards), as `kind`.
    pub fn load(dir: &Path, kind: Kind) -> Result<Self> {
        let single = dir.join("model.safetensors");
        let index = dir.join("model.safetensors.index.json");
        let files: Vec<PathBuf> = if single.is_file() {
            vec![single]
        } else if index.is_file() {
            shard_files(&index)?
        } else if dir.join("pytorch_model.bin").is_file() {
            return Err(Error::file(
                dir.join("pytorch_model.bin"),
                "PyTorch pickle checkpoints are not read (they can run code); convert to model.safetensors \
                 (e.g. `model.save_pretrained(dir, safe_serialization=True)`)",
            ));
        } else {
            return Err(Error::file(dir, "has neither model.safetensors nor model.safetensors.index.json"));
        };
        let mut tensors = HashMap::new();
        for file in files {
            if !file.is_file() {
                return Err(Error::file(&file, "missing (listed in model.safetensors.index.json)"));
            }
            let read = Tensor::read_safetensors(&file).map_err(|e| {
                Error::file(&file, format!("not a readable safetensors file: {}", short(&e.to_string())))
            })?;
            for (name, tensor) in read {
                tensors.insert(name, (tensor, file.clone()));
            }
        }
        Ok(Weights { tensors, kind })
    }

    /// Whether a tensor of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The tensor `name` as the model's float kind, checked against `shape`.
    pub fn get(&self, name: &str, shape: &[i64]) -> Result<Tensor> {
        let Some((tensor, file)) = self.tensors.get(name) else {
            let suggestion = names::closest(name, self.tensors.keys().map(String::as_str));
            let hint = suggestion.map(|s| format!(" (the closest name there is {s:?})")).unwrap_or_default();
            let file = self.tensors.values().next().map(|(_, f)| f.clone()).unwrap_or_default();
            return Err(Error::file(file, format!("has no tensor {name:?}{hint}")));
        };
        if tensor.size() != shape {
            return Err(Error::file(
                file,
                format!("tensor {name:?} has shape {:?}, the config implies {shape:?}", tensor.size()),
            ));
        }
        if !matches!(tensor.kind(), Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16) {
            return Err(Error::file(
                file,
                format!("tensor {name:?} has kind {:?}, not a float", tensor.kind()),
            ));
        }
        Ok(tensor.f_to_kind(self.kind)?.f_detach()?)
    }

    /// The file a tensor was read from (for messages).
    pub fn file_of(&self, name: &str) -> Option<&Path> {
        self.tensors.get(name).map(|(_, f)| f.as_path())
    }

    /// The name prefix in front of `probe` (e.g. "bert." for "bert.embeddings.word_embeddings.weight"),
    /// among `prefixes`, tried in order.
    pub fn prefix_for<'a>(&self, probe: &str, prefixes: &[&'a str]) -> Option<&'a str> {
        prefixes.iter().copied().find(|p| self.contains(&format!("{p}{probe}")))
    }
}

fn shard_files(index: &Path) -> Result<Vec<PathBuf>> {
    let text = std::fs::read_to_string(index).map_err(|e| Error::file(index, format!("cannot read: {e}")))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::file(index, format!("not valid JSON: {e}")))?;
    let map = json
        .get("weight_map")
        .and_then(|m| m.as_object())
        .ok_or_else(|| Error::file(index, "has no \"weight_map\" object"))?;
    let mut files = BTreeSet::new();
    for (tensor, file) in map {
        let file = file
            .as_str()
            .ok_or_else(|| Error::file(index, format!("weight_map[{tensor:?}] is not a file name")))?;
        if file.contains('/') || file.contains("..") {
            return Err(Error::file(index, format!("shard {file:?} is not a plain file name")));
        }
        files.insert(file.to_owned());
    }
    let dir = index.parent().unwrap_or(Path::new("."));
    Ok(files.into_iter().map(|f| dir.join(f)).collect())
}

fn short(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    first.chars().take(200).collect()
}
