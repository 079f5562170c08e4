//! Layer hooks and op rules on the tiny model: replacing changes the output, keeping yields
//! the gradient (checked against finite differences), and misuse is a clear error.

#![allow(clippy::unwrap_used)] // test helpers may panic

use approx::assert_relative_eq;
use explainer_core::ops::ComposedOps;
use explainer_core::{
    Capabilities, Capability, DefaultOps, Error, ErrorKind, Hooks, InputBatch, Model, tensor_row,
};
use explainer_testing::TinyClassifier;
use tch::{Kind, Tensor};

const TEXT: &str = "Please verify your account password now, the payment was refunded twice.";

fn batch(model: &TinyClassifier, text: &str) -> InputBatch {
    let encoding = model.encoder().encode(text).unwrap();
    InputBatch::single(&encoding, model.device()).unwrap()
}

fn logits(model: &TinyClassifier, input: &InputBatch, hooks: Option<&mut Hooks>) -> Vec<f64> {
    let out = tch::no_grad(|| model.run(input, hooks, &DefaultOps)).unwrap();
    tensor_row(&out, 0).unwrap()
}

#[test]
fn identity_replacement_changes_nothing_and_other_replacements_change_the_output() {
    let model = TinyClassifier::default_multilabel();
    let input = batch(&model, TEXT);
    let plain = logits(&model, &input, None);

    let mut hooks = Hooks::new();
    hooks.replace("encoder.1", |x| Ok(x.shallow_clone()));
    assert_eq!(logits(&model, &input, Some(&mut hooks)), plain);
    assert_eq!(hooks.visits("encoder.1"), 1);

    let mut hooks = Hooks::new();
    hooks.replace("encoder.1", |x| Ok(x.zeros_like()));
    let zeroed = logits(&model, &input, Some(&mut hooks));
    assert!(zeroed.iter().zip(&plain).any(|(a, b)| (a - b).abs() > 1e-3), "{zeroed:?} vs {plain:?}");

    // Replacing the pooled vector by zeros leaves exactly the classifier bias.
    let mut hooks = Hooks::new();
    hooks.replace("pooler", |x| Ok(x.zeros_like()));
    let bias = model.parameter("classifier.bias").unwrap();
    let expected = Vec::<f64>::try_from(&bias.to_kind(Kind::Double)).unwrap();
    assert_eq!(logits(&model, &input, Some(&mut hooks)), expected);
}

#[test]
fn reading_records_the_activation_and_replacement_first() {
    let model = TinyClassifier::default_multilabel();
    let input = batch(&model, TEXT);
    let mut hooks = Hooks::new();
    hooks.read("embeddings.word").read("classifier");
    hooks.replace("embeddings.word", |x| Ok(x.f_mul_scalar(2.0)?));
    let out = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps)).unwrap();
    let tokens = input.lengths[0] as i64;
    let word = hooks.get("embeddings.word").unwrap();
    assert_eq!(word.size(), [1, tokens, model.info().hidden_size as i64]);
    // What was read is the replaced value.
    let table = model.parameter("embeddings.word").unwrap();
    let first = table.get(input.ids.int64_value(&[0, 1])).f_mul_scalar(2.0).unwrap();
    assert!(word.get(0).get(1).allclose(&first, 0.0, 0.0, false));
    assert!(hooks.get("classifier").unwrap().equal(&out));
    assert!(!word.requires_grad(), "read activations are detached");
}

/// F(activation) = sigmoid(logit[label]) as a function of the activation at `layer`,
/// evaluated by replacing that activation.
fn output_with(model: &TinyClassifier, input: &InputBatch, layer: &str, value: &Tensor, label: i64) -> f64 {
    let mut hooks = Hooks::new();
    hooks.replace_with(layer, value.shallow_clone());
    let out = tch::no_grad(|| model.run(input, Some(&mut hooks), &DefaultOps)).unwrap();
    out.sigmoid().double_value(&[0, label])
}

#[test]
fn kept_activations_yield_gradients_that_match_finite_differences() {
    // f64 so that central differences are accurate to ~1e-9.
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let input = batch(&model, TEXT);
    let label = 2;
    for layer in ["embeddings.word", "embeddings", "encoder.0", "encoder.1", "pooler"] {
        let mut hooks = Hooks::new();
        hooks.keep(layer);
        let out = model.run(&input, Some(&mut hooks), &DefaultOps).unwrap();
        let f = out.sigmoid().get(0).get(label);
        let grad = hooks.gradients(&f, &[layer], false).unwrap().remove(0);
        let activation = hooks.get(layer).unwrap().detach();
        assert_eq!(grad.size(), activation.size());

        let flat = activation.flatten(0, -1);
        let n = flat.size()[0];
        let h = 1e-6;
        for index in [0, n / 3, n / 2, n - 1] {
            let bump = |d: f64| {
                let v = flat.copy();
                let _ = v.get(index).f_add_(&Tensor::from(d).to_kind(Kind::Double)).unwrap();
                output_with(&model, &input, layer, &v.view_as(&activation), label)
            };
            let numeric = (bump(h) - bump(-h)) / (2.0 * h);
            let analytic = grad.flatten(0, -1).double_value(&[index]);
            assert_relative_eq!(analytic, numeric, epsilon = 1e-8, max_relative = 1e-5);
        }
    }
}

#[test]
fn gradients_at_two_layers_come_from_one_backward() {
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let input = batch(&model, TEXT);
    let mut hooks = Hooks::new();
    hooks.keep("embeddings.word").keep("encoder.1");
    let out = model.run(&input, Some(&mut hooks), &DefaultOps).unwrap();
    let grads = hooks.gradients(&out.get(0).get(0), &["embeddings.word", "encoder.1"], true).unwrap();
    assert!(grads[0].abs().sum(Kind::Double).double_value(&[]) > 0.0);
    assert!(grads[1].abs().sum(Kind::Double).double_value(&[]) > 0.0);
    // keep_graph: a second backward for another label works.
    let again = hooks.gradients(&out.get(0).get(1), &["embeddings.word"], false).unwrap();
    assert!(!again[0].allclose(&grads[0], 1e-12, 1e-12, false));
}

#[test]
fn composed_op_rules_compute_what_the_default_rules_compute() {
    let model = TinyClassifier::default_multilabel().to_kind(Kind::Double).unwrap();
    let input = batch(&model, TEXT);
    let plain = tch::no_grad(|| model.run(&input, None, &DefaultOps)).unwrap();
    let composed = tch::no_grad(|| model.run(&input, None, &ComposedOps)).unwrap();
    assert!(plain.allclose(&composed, 1e-12, 1e-12, false), "{plain} vs {composed}");
}

#[test]
fn padding_never_changes_a_texts_logits() {
    let model = TinyClassifier::default_multiclass();
    let short = model.encoder().encode("hello world").unwrap();
    let long = model.encoder().encode("send the wire transfer now please, it is urgent, thanks").unwrap();
    let alone = model.logits(&[&short]).unwrap();
    let together = model.logits(&[&long, &short]).unwrap();
    assert!(alone.get(0).allclose(&together.get(1), 1e-6, 1e-6, false), "{alone} vs {together}");
    let long_alone = model.logits(&[&long]).unwrap();
    assert!(long_alone.get(0).allclose(&together.get(0), 1e-6, 1e-6, false));
}

#[test]
fn misuse_is_a_clear_user_error() {
    let model = TinyClassifier::default_multilabel();
    let input = batch(&model, TEXT);

    let mut hooks = Hooks::new();
    hooks.read("encoder.7");
    let err = model.run(&input, Some(&mut hooks), &DefaultOps).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User);
    let message = err.to_string();
    assert!(message.starts_with("unknown layer \"encoder.7\""), "{message}");
    assert!(
        message.contains("embeddings.word, embeddings, encoder.0, encoder.1, pooler, classifier"),
        "{message}"
    );

    let forward_only =
        TinyClassifier::default_multilabel().with_capabilities(Capabilities::of(&[Capability::Forward]));
    let mut hooks = Hooks::new();
    hooks.keep("embeddings.word");
    let err = forward_only.run(&input, Some(&mut hooks), &DefaultOps).unwrap_err();
    assert!(matches!(err, Error::MissingCapability { capability: Capability::LayerHooks, .. }), "{err}");
    let err = forward_only.run(&input, None, &ComposedOps).unwrap_err();
    assert!(matches!(err, Error::MissingCapability { capability: Capability::OpRules, .. }), "{err}");
    // Plain forward passes still work.
    assert!(forward_only.run(&input, None, &DefaultOps).is_ok());

    let mut hooks = Hooks::new();
    hooks.replace("encoder.0", |x| Ok(x.narrow(1, 0, 1)));
    let err = model.run(&input, Some(&mut hooks), &DefaultOps).unwrap_err();
    assert!(err.to_string().contains("replacement at layer \"encoder.0\" has shape"), "{err}");

    let mut hooks = Hooks::new();
    hooks.read("pooler");
    let err = hooks.gradients(&Tensor::from(1.0), &["pooler"], false).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
}

#[test]
fn predictions_apply_the_output_function() {
    let model = TinyClassifier::default_multilabel();
    let p = model.predict(TEXT).unwrap();
    for (logit, score) in p.logits.iter().zip(&p.scores) {
        assert_relative_eq!(*score, 1.0 / (1.0 + (-logit).exp()), max_relative = 1e-6);
    }
    let model = TinyClassifier::default_multiclass();
    let p = model.predict(TEXT).unwrap();
    assert_relative_eq!(p.scores.iter().sum::<f64>(), 1.0, max_relative = 1e-6);
    assert!(!model.predict("").unwrap().truncated);
    let long = "money ".repeat(100);
    assert!(model.predict(&long).unwrap().truncated);
}
