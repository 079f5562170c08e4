//! A feature turned on means its methods and baselines are in the registry, with nothing but
//! the facade named (the facade links the plugin crates). Run with other feature sets, the
//! same test checks that a feature turned off registers nothing:
//! `cargo test -p explainer --no-default-features --features integrated-gradients`.

#![allow(clippy::unwrap_used)] // test helpers may panic

use explainer::registry;

const METHODS: &[(&str, bool, &[&str])] = &[
    (
        "integrated-gradients",
        cfg!(feature = "integrated-gradients"),
        &["integrated-gradients", "layer-integrated-gradients"],
    ),
    ("deeplift", cfg!(feature = "deeplift"), &["deeplift", "deeplift-shap"]),
    (
        "conductance",
        cfg!(feature = "conductance"),
        &["layer-conductance", "neuron-conductance", "conductance-sweep"],
    ),
    (
        "gradients",
        cfg!(feature = "gradients"),
        &["saliency", "input-x-gradient", "layer-gradient-x-activation", "gradient-shap", "noise-tunnel"],
    ),
    (
        "perturbation",
        cfg!(feature = "perturbation"),
        &["occlusion", "feature-ablation", "shapley-value-sampling", "kernel-shap", "lime", "partition-shap"],
    ),
];

#[test]
fn enabled_features_register_their_methods_and_disabled_ones_do_not() {
    let registered: Vec<&str> = registry::methods().iter().map(|e| e.name).collect();
    for (feature, on, names) in METHODS {
        for name in *names {
            assert_eq!(
                registered.contains(name),
                *on,
                "feature {feature} is {on} but {name}: {registered:?}"
            );
        }
        assert_eq!(explainer::FEATURES.contains(feature), *on);
    }
    assert!(registry::check_registries().is_empty(), "{:?}", registry::check_registries());
}

#[test]
fn the_baselines_feature_registers_the_baselines() {
    let registered: Vec<&str> = registry::baselines().iter().map(|e| e.name).collect();
    for name in ["pad", "unk", "mask", "zero", "average-embedding", "random-tokens"] {
        assert_eq!(registered.contains(&name), cfg!(feature = "baselines"), "{name}: {registered:?}");
    }
}

#[cfg(all(feature = "integrated-gradients", feature = "baselines"))]
#[test]
fn a_registered_method_explains_through_the_facade() {
    use explainer::{Model as _, Output, Request, Target, explain};
    let model = explainer_testing::TinyClassifier::default_multilabel();
    let encoding = model.encoder().encode("wire the money now").unwrap();
    let method =
        registry::method("layer-integrated-gradients").unwrap().configure(serde_json_null()).unwrap();
    let baseline = registry::baseline("pad").unwrap().configure(serde_json_null()).unwrap();
    let request = Request {
        encodings: std::slice::from_ref(&encoding),
        target: &Target::All,
        baseline: baseline.as_ref(),
        output: Output::Probability,
        per_dimension: false,
    };
    let result = explain(method.as_ref(), &model, &request).unwrap();
    assert_eq!(result[0].targets.len(), model.info().labels.len());
}

#[cfg(all(feature = "integrated-gradients", feature = "baselines"))]
fn serde_json_null() -> explainer::serde_json::Value {
    explainer::serde_json::Value::Null
}
