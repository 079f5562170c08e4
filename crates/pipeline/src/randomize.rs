//! Re-initialised copies of a Hugging Face model folder, for the model-parameter
//! randomisation sanity check (Adebayo et al. 2018, "cascading randomisation"): first the
//! classification head (classifier and pooler), then, cumulatively, each encoder layer from
//! the top down.
//!
//! Re-initialisation follows Hugging Face's `_init_weights`: weight matrices N(0,
//! `initializer_range`), biases 0, LayerNorm weight 1 and bias 0; the draws come from
//! `explainer_core::rng::SplitMix64`, seeded, so every run gives the same models. The word,
//! position and segment embeddings are never re-initialised (the baselines are built from
//! them).

use std::path::Path;

use explainer_core::Model;
use explainer_core::rng::SplitMix64;
use explainer_core::tch::{self, Device, Tensor};
use explainer_testing::TinyClassifier;
use explainer_transformers::{HfClassifier, LoadOptions};

use crate::bail;
use crate::error::{Context, Result};

/// Which part of the network a parameter belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Embeddings,
    Layer(usize),
    Head,
}

fn part(name: &str) -> Part {
    for marker in ["encoder.layer.", "transformer.layer."] {
        if let Some(rest) = name.split(marker).nth(1)
            && let Some(Ok(i)) = rest.split('.').next().map(str::parse::<usize>)
        {
            return Part::Layer(i);
        }
    }
    if name.contains("embeddings.") { Part::Embeddings } else { Part::Head }
}

/// The cascade of re-initialised models of the folder `dir`: `classifier`, then
/// `classifier+encoder.{N-1}`, …, down to `classifier+encoder.{N-1..0}`, each with everything
/// of the stage before re-initialised too. A folder that is not a Hugging Face checkpoint
/// (the tiny test model) is an error.
pub fn randomized_models(dir: &Path, seed: u64) -> Result<Vec<(String, Box<dyn Model>)>> {
    randomized_models_on(dir, seed, Device::Cpu)
}

/// [`randomized_models`] with every copy on `device` (the same re-initialised values as on the
/// CPU: they are drawn on the host and copied).
pub fn randomized_models_on(dir: &Path, seed: u64, device: Device) -> Result<Vec<(String, Box<dyn Model>)>> {
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap_or_default();
    if config.contains(&format!("\"{}\"", TinyClassifier::MODEL_TYPE)) {
        bail!(
            "the randomisation check needs a Hugging Face checkpoint; {} holds the tiny test model",
            dir.display()
        );
    }
    let options = LoadOptions { device, ..LoadOptions::default() };
    let probe = HfClassifier::load_with(dir, &options)
        .with_context(|| format!("cannot load the model in {}", dir.display()))?;
    let layers = probe
        .parameters()
        .iter()
        .filter_map(|(n, _)| match part(n) {
            Part::Layer(i) => Some(i + 1),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    drop(probe);
    let range = serde_json::from_str::<serde_json::Value>(&config)
        .ok()
        .and_then(|c| c.get("initializer_range").and_then(serde_json::Value::as_f64))
        .unwrap_or(0.02);
    let mut stages: Vec<(String, Vec<Part>)> = vec![("classifier".to_owned(), vec![Part::Head])];
    for i in (0..layers).rev() {
        let (name, mut parts) = stages.last().cloned().unwrap_or_default();
        parts.push(Part::Layer(i));
        let short = if i + 1 == layers { format!("{name}+encoder.{i}") } else { format!("{name},{i}") };
        stages.push((short, parts));
    }
    let mut out: Vec<(String, Box<dyn Model>)> = Vec::with_capacity(stages.len());
    for (stage, parts) in stages {
        let model = HfClassifier::load_with(dir, &options)
            .with_context(|| format!("cannot load the model in {}", dir.display()))?;
        let mut rng = SplitMix64::new(seed);
        for (name, tensor) in model.parameters() {
            if !parts.contains(&part(&name)) {
                continue;
            }
            reinit(&name, &tensor, range, &mut rng)
                .with_context(|| format!("cannot re-initialise parameter {name}"))?;
        }
        out.push((stage, Box::new(model)));
    }
    Ok(out)
}

fn reinit(name: &str, tensor: &Tensor, range: f64, rng: &mut SplitMix64) -> explainer_core::Result<()> {
    let size = tensor.size();
    let count: i64 = size.iter().product();
    let layer_norm = name.contains("LayerNorm") || name.contains("layer_norm");
    let values: Vec<f32> = if layer_norm && name.ends_with(".weight") {
        vec![1.0; count as usize]
    } else if name.ends_with(".bias") || layer_norm {
        vec![0.0; count as usize]
    } else {
        (0..count).map(|_| (rng.normal() * range) as f32).collect()
    };
    let source = Tensor::from_slice(&values)
        .f_reshape(&size)?
        .f_to_kind(tensor.kind())?
        .f_to_device(tensor.device())?;
    tch::no_grad(|| -> explainer_core::Result<()> {
        let mut target = tensor.shallow_clone();
        target.f_copy_(&source)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_names_fall_in_parts() {
        assert_eq!(part("bert.encoder.layer.1.attention.self.query.weight"), Part::Layer(1));
        assert_eq!(part("distilbert.transformer.layer.0.ffn.lin1.weight"), Part::Layer(0));
        assert_eq!(part("bert.embeddings.word_embeddings.weight"), Part::Embeddings);
        assert_eq!(part("bert.pooler.dense.weight"), Part::Head);
        assert_eq!(part("classifier.out_proj.weight"), Part::Head);
    }
}
