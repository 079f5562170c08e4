//! Parameters from `model.safetensors` or a sharded `model.safetensors.index.json`.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use explainer_core::{Error, Result, names};
use tch::{Device, Kind, Tensor};

/// The checkpoint's tensors by name, with the file each came from for error messages.
pub struct Weights {
    tensors: HashMap<String, (Tensor, PathBuf)>,
    kind: Kind,
    /// Where the handed-out tensors live (the model's device).
    device: Device,
    /// When set, a tensor the checkpoint lacks is created (see [`Weights::init_missing`]).
    init_std: Option<f64>,
    /// Every tensor handed out by [`Weights::get`], by name, in order (the model's parameters).
    handed: RefCell<Vec<(String, Tensor)>>,
    /// The names of the tensors that were created rather than read.
    created: RefCell<Vec<String>>,
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
        Ok(Weights::from_map(tensors, kind))
    }

    fn from_map(tensors: HashMap<String, (Tensor, PathBuf)>, kind: Kind) -> Self {
        Weights {
            tensors,
            kind,
            device: Device::Cpu,
            init_std: None,
            handed: RefCell::default(),
            created: RefCell::default(),
        }
    }

    /// No tensors at all: with [`Weights::init_missing`], a freshly initialised model.
    pub fn empty(kind: Kind) -> Self {
        Weights::from_map(HashMap::new(), kind)
    }

    /// Creates the tensors the checkpoint lacks instead of failing, as transformers'
    /// `_init_weights` does for BERT: a 1-D `*.weight` (a LayerNorm scale) is ones, a 1-D
    /// `*.bias` zeros, everything else drawn from N(0, std²) with torch's global generator
    /// (seed it with `tch::manual_seed` for reproducible weights).
    pub fn init_missing(mut self, std: f64) -> Self {
        self.init_std = Some(std);
        self
    }

    /// Hands every tensor out on `device` (read and created on the CPU, then moved, so a
    /// seeded initialisation gives the same weights on every device).
    pub fn on(mut self, device: Device) -> Self {
        self.device = device;
        self
    }

    /// The names of the tensors that were created because the checkpoint lacked them.
    pub fn created(&self) -> Vec<String> {
        self.created.borrow().clone()
    }

    /// Every tensor handed out so far (name, the very tensor the model holds), in order.
    pub fn handed_out(&self) -> Vec<(String, Tensor)> {
        self.handed.borrow().iter().map(|(n, t)| (n.clone(), t.shallow_clone())).collect()
    }

    /// Whether a tensor of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// The tensor `name` as the model's float kind, checked against `shape`.
    pub fn get(&self, name: &str, shape: &[i64]) -> Result<Tensor> {
        let tensor = self.read_or_create(name, shape)?;
        self.handed.borrow_mut().push((name.to_owned(), tensor.shallow_clone()));
        Ok(tensor)
    }

    fn read_or_create(&self, name: &str, shape: &[i64]) -> Result<Tensor> {
        if let (None, Some(std)) = (self.tensors.get(name), self.init_std) {
            let options = (self.kind, tch::Device::Cpu);
            let tensor = match (shape.len(), name.ends_with(".bias")) {
                (1, true) => Tensor::f_zeros(shape, options)?,
                (1, false) => Tensor::f_ones(shape, options)?,
                _ => Tensor::f_randn(shape, options)?.f_mul_scalar(std)?,
            };
            self.created.borrow_mut().push(name.to_owned());
            return Ok(tensor.f_to_device(self.device)?);
        }
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
        Ok(tensor.f_to_kind(self.kind)?.f_to_device(self.device)?.f_detach()?)
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
