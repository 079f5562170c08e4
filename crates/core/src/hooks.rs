//! Layer hooks: read, replace or keep the activation at a named layer.
//!
//! tch has no module hooks, so models call [`crate::ForwardCtx::layer`] at each named layer
//! and the context hands the activation to a [`Hooks`] set, which may:
//!
//! - **replace** it (Layer Integrated Gradients feeds interpolated embeddings here),
//! - **read** it (recorded, detached from the gradient graph),
//! - **keep** it for gradients (recorded inside the graph; if nothing upstream requires a
//!   gradient, the activation becomes a new leaf that does), so that
//!   [`Hooks::gradients`] can later return ∂output/∂activation.
//!
//! Replacement happens first; reading or keeping then sees the replaced value.

use std::fmt;

use tch::Tensor;

use crate::{Error, Result};

/// A function that replaces the activation at a layer.
pub type Replacement = Box<dyn FnMut(&Tensor) -> Result<Tensor>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Nothing,
    Read,
    Keep,
}

struct Entry {
    layer: String,
    replace: Option<Replacement>,
    record: Record,
    seen: Option<Tensor>,
    visits: usize,
    stop: bool,
    /// Set by [`Hooks::start_at`]: the fixed value the forward pass may start from.
    start: Option<Tensor>,
}

/// The hooks of one forward pass, at most one entry per layer.
#[derive(Default)]
pub struct Hooks {
    entries: Vec<Entry>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for e in &self.entries {
            list.entry(&format_args!(
                "{}: replace={} record={:?} visits={}",
                e.layer,
                e.replace.is_some(),
                e.record,
                e.visits
            ));
        }
        list.finish()
    }
}

impl Hooks {
    /// No hooks.
    pub fn new() -> Self {
        Self::default()
    }

    fn entry(&mut self, layer: &str) -> &mut Entry {
        let position = self.entries.iter().position(|e| e.layer == layer);
        let index = match position {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    layer: layer.to_owned(),
                    replace: None,
                    record: Record::Nothing,
                    seen: None,
                    visits: 0,
                    stop: false,
                    start: None,
                });
                self.entries.len() - 1
            }
        };
        &mut self.entries[index]
    }

    /// Records the activation at `layer`, detached from the gradient graph.
    pub fn read(&mut self, layer: &str) -> &mut Self {
        let entry = self.entry(layer);
        if entry.record == Record::Nothing {
            entry.record = Record::Read;
        }
        self
    }

    /// Records the activation at `layer` inside the gradient graph, so that
    /// [`Hooks::gradients`] can differentiate with respect to it.
    pub fn keep(&mut self, layer: &str) -> &mut Self {
        self.entry(layer).record = Record::Keep;
        self
    }

    /// Replaces the activation at `layer` by `f(activation)`, which must keep its shape.
    pub fn replace(&mut self, layer: &str, f: impl FnMut(&Tensor) -> Result<Tensor> + 'static) -> &mut Self {
        self.entry(layer).replace = Some(Box::new(f));
        self
    }

    /// Replaces the activation at `layer` by a fixed tensor of the same shape.
    pub fn replace_with(&mut self, layer: &str, value: Tensor) -> &mut Self {
        self.replace(layer, move |_| Ok(value.shallow_clone()))
    }

    /// Replaces the activation at `layer` by a fixed tensor (as [`Hooks::replace_with`]) and
    /// declares that nothing computed before `layer` is needed, so a model may skip that work
    /// and start its forward pass there ([`crate::ForwardCtx::start`]). The result is the same
    /// either way; Layer Integrated Gradients at `encoder.k` then runs the layers below k once
    /// per text instead of once per interpolation step.
    pub fn start_at(&mut self, layer: &str, value: Tensor) -> &mut Self {
        let start = value.shallow_clone();
        self.replace_with(layer, value);
        self.entry(layer).start = Some(start);
        self
    }

    /// The layer and value of [`Hooks::start_at`], if one was given.
    pub fn start(&self) -> Option<(&str, &Tensor)> {
        self.entries.iter().find_map(|e| e.start.as_ref().map(|t| (e.layer.as_str(), t)))
    }

    /// Stops the forward pass right after `layer` (after its replacement and recording): the
    /// model's `forward` then returns [`Error::Stopped`]. Use [`run_to_layer`], which asks for
    /// this and turns the stop into the recorded activation, to get an activation cheaply.
    pub fn stop_after(&mut self, layer: &str) -> &mut Self {
        self.entry(layer).stop = true;
        self
    }

    /// Whether no hook is registered.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The layers that have a hook.
    pub fn layers(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.layer.as_str())
    }

    /// How many times the forward pass reached `layer` (0 if it has no hook).
    pub fn visits(&self, layer: &str) -> usize {
        self.entries.iter().find(|e| e.layer == layer).map_or(0, |e| e.visits)
    }

    /// The activation recorded at `layer` by [`Hooks::read`] or [`Hooks::keep`] during the
    /// last visit.
    pub fn get(&self, layer: &str) -> Result<&Tensor> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.layer == layer)
            .ok_or_else(|| Error::Internal(format!("no hook was registered at layer {layer:?}")))?;
        entry.seen.as_ref().ok_or_else(|| {
            Error::Internal(format!(
                "layer {layer:?} recorded nothing: it is not read or kept, or the forward pass never reached it"
            ))
        })
    }

    /// Gradients of `output` (summed, so usually a scalar or a selected slice) with respect
    /// to the activations kept at `layers`, in that order.
    ///
    /// With `keep_graph`, the graph survives for further backward passes (one per target).
    pub fn gradients(&self, output: &Tensor, layers: &[&str], keep_graph: bool) -> Result<Vec<Tensor>> {
        let mut inputs = Vec::with_capacity(layers.len());
        for layer in layers {
            let entry = self.entries.iter().find(|e| e.layer == *layer);
            match entry {
                Some(e) if e.record == Record::Keep => inputs.push(self.get(layer)?),
                _ => {
                    return Err(Error::Internal(format!(
                        "gradient asked at layer {layer:?}, which was not kept (call Hooks::keep first)"
                    )));
                }
            }
        }
        let output =
            if output.numel() == 1 { output.shallow_clone() } else { output.f_sum(output.kind())? };
        Ok(Tensor::f_run_backward(&[output], &inputs, keep_graph, false)?)
    }

    /// Called by the forward pass at each named layer; returns the activation that flows on.
    pub(crate) fn visit(&mut self, layer: &str, activation: Tensor) -> Result<Tensor> {
        let Some(entry) = self.entries.iter_mut().find(|e| e.layer == layer) else {
            return Ok(activation);
        };
        entry.visits += 1;
        let mut value = match entry.replace.as_mut() {
            None => activation,
            Some(f) => {
                let replaced = f(&activation)?;
                if replaced.size() != activation.size() {
                    return Err(Error::InvalidInput(format!(
                        "the replacement at layer {layer:?} has shape {:?}, the activation {:?}",
                        replaced.size(),
                        activation.size()
                    )));
                }
                replaced
            }
        };
        match entry.record {
            Record::Nothing => {}
            Record::Read => entry.seen = Some(value.detach()),
            Record::Keep => {
                if !value.requires_grad() {
                    value = value.detach().f_requires_grad_(true)?;
                }
                entry.seen = Some(value.shallow_clone());
            }
        }
        if entry.stop {
            return Err(Error::Stopped(layer.to_owned()));
        }
        Ok(value)
    }
}

/// The activation at `layer` for `input`, without running the rest of the model and without
/// a gradient graph: the forward pass stops right after the layer. `hooks` may carry
/// replacements at earlier layers (e.g. reference embeddings at `embeddings.word`).
pub fn run_to_layer(
    model: &dyn crate::Model,
    input: &crate::InputBatch,
    mut hooks: Hooks,
    layer: &str,
) -> Result<Tensor> {
    hooks.read(layer).stop_after(layer);
    match tch::no_grad(|| model.run(input, Some(&mut hooks), &crate::DefaultOps)) {
        Ok(_) | Err(Error::Stopped(_)) => Ok(hooks.get(layer)?.shallow_clone()),
        Err(e) => Err(e),
    }
}
