//! `Hooks::start_at`: the encoder starts its forward pass at the given layer (the layers below
//! are not run) and computes exactly what replacing the layer's output computes.

#![allow(clippy::unwrap_used)] // test helpers may panic

use std::path::Path;

use explainer_core::hooks::run_to_layer;
use explainer_core::{DefaultOps, Hooks, InputBatch, Model};
use explainer_transformers::HfClassifier;
use tch::Tensor;

#[test]
fn starting_at_a_layer_equals_replacing_it_and_skips_the_layers_below() {
    for name in ["bert-tiny-multilabel", "distilbert-tiny-multiclass", "roberta-tiny-multilabel"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
        let model = HfClassifier::load(&dir).unwrap();
        let encoding = model.encoder().encode("The payment was refunded twice.").unwrap();
        let input = InputBatch::single(&encoding, model.device()).unwrap();
        for layer in ["embeddings", "encoder.0", "encoder.1"] {
            let value =
                run_to_layer(&model, &input, Hooks::new(), layer).unwrap().f_mul_scalar(1.25).unwrap();
            let run = |start: bool, input: &InputBatch, also_read: bool| {
                let mut hooks = Hooks::new();
                if start {
                    hooks.start_at(layer, value.shallow_clone());
                } else {
                    hooks.replace_with(layer, value.shallow_clone());
                }
                hooks.keep(layer);
                if also_read {
                    hooks.read("embeddings.word");
                }
                let logits = model.run(input, Some(&mut hooks), &DefaultOps)?;
                let grad = hooks.gradients(&logits.f_select(1, 0).unwrap(), &[layer], false)?.remove(0);
                Ok::<(Tensor, Tensor), explainer_core::Error>((logits, grad))
            };
            let (replaced, replaced_grad) = run(false, &input, false).unwrap();
            let (started, started_grad) = run(true, &input, false).unwrap();
            assert!(replaced.equal(&started), "{name} {layer}: logits differ");
            assert!(replaced_grad.equal(&started_grad), "{name} {layer}: gradients differ");
            // Ids outside the vocabulary: the lookup fails, so a pass that succeeds skipped it.
            let bad = InputBatch {
                ids: input.ids.f_full_like(1_000_000).unwrap(),
                attention_mask: input.attention_mask.shallow_clone(),
                type_ids: input.type_ids.shallow_clone(),
                lengths: input.lengths.clone(),
            };
            assert!(run(true, &bad, false).is_ok(), "{name} {layer}: the layers below still ran");
            assert!(run(false, &bad, false).is_err(), "{name} {layer}: replacing runs the lookup");
            // A hook below the start layer must see its activation: no skipping then.
            assert!(run(true, &bad, true).is_err(), "{name} {layer}: skipped past a hooked layer");
        }
    }
}
