//! The inventory registries: a plugin crate that registers appears; unknown names are
//! answered with the known ones; configs round-trip through typetag.

#![allow(clippy::unwrap_used)] // test helpers may panic

use approx::assert_relative_eq;
use explainer_core::registry::{self, check_registries};
use explainer_core::{Baseline, Error, ErrorKind, Method, Model as _, Output, Request, Target, explain};
use explainer_testing::TinyClassifier;
// A plugin registers nothing unless the binary names it.
use explainer_fixture_plugin as _;
use explainer_fixture_plugin::EvenSpread;

#[test]
fn a_plugin_crate_that_registers_appears() {
    let names: Vec<&str> = registry::methods().iter().map(|e| e.name).collect();
    assert!(names.contains(&"fixture-even-spread"), "{names:?}");
    let entry = registry::method("fixture-even-spread").unwrap();
    assert!(entry.summary.starts_with("Test fixture"));
    assert!(entry.has_convergence_delta);
    let baselines: Vec<&str> = registry::baselines().iter().map(|e| e.name).collect();
    assert!(baselines.contains(&"fixture-all-pad"), "{baselines:?}");
    assert!(check_registries().is_empty(), "{:?}", check_registries());
}

#[test]
fn an_unknown_name_is_answered_with_the_known_ones() {
    let err = registry::method("fixture-even-sprad").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User);
    let message = err.to_string();
    assert!(message.starts_with("unknown method \"fixture-even-sprad\""), "{message}");
    assert!(message.contains("did you mean \"fixture-even-spread\"?"), "{message}");
    assert!(message.contains("known methods: "), "{message}");
    assert!(message.contains("fixture-even-spread"), "{message}");

    let err = registry::baseline("zero").unwrap_err();
    match err {
        Error::UnknownName { kind: "baseline", known, suggestion: None, .. } => {
            assert!(known.contains(&"fixture-all-pad".to_string()))
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn configs_round_trip_through_typetag() {
    let method: Box<dyn Method> = Box::new(EvenSpread { scale: 0.5 });
    let json = serde_json::to_string(&method).unwrap();
    assert_eq!(json, r#"{"method":"fixture-even-spread","scale":0.5}"#);
    let back: Box<dyn Method> = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);

    let baseline: Box<dyn Baseline> = serde_json::from_str(r#"{"baseline":"fixture-all-pad"}"#).unwrap();
    assert_eq!(baseline.typetag_name(), "fixture-all-pad");

    // Every registered default config round-trips too.
    for entry in registry::methods() {
        let config = (entry.default_config)();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["method"], entry.name);
        let back: Box<dyn Method> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
    }
    for entry in registry::baselines() {
        let json = serde_json::to_value((entry.default_config)()).unwrap();
        let back: Box<dyn Baseline> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
    }
}

#[test]
fn registry_entries_configure_from_options_and_refuse_bad_ones() {
    let entry = registry::method("fixture-even-spread").unwrap();
    let method = entry.configure(serde_json::json!({"scale": 2.0})).unwrap();
    assert_eq!(serde_json::to_value(&method).unwrap()["scale"], 2.0);
    let method = entry.configure(serde_json::Value::Null).unwrap();
    assert_eq!(serde_json::to_value(&method).unwrap()["scale"], 1.0);

    let err = entry.configure(serde_json::json!({"scael": 2.0})).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
    assert!(err.to_string().contains("scael"), "{err}");
    let err = entry.configure(serde_json::json!({"scale": "big"})).unwrap_err();
    assert!(matches!(err, Error::InvalidConfig(_)), "{err}");
    let err = entry.configure(serde_json::json!([1, 2])).unwrap_err();
    assert!(err.to_string().contains("options must be an object"), "{err}");
    // An unknown method name inside a config file is a deserialisation error naming it.
    let err = serde_json::from_str::<Box<dyn Method>>(r#"{"method":"no-such-method"}"#).unwrap_err();
    assert!(err.to_string().contains("no-such-method"), "{err}");
}

#[test]
fn a_registered_method_runs_through_the_traits_end_to_end() {
    let model = TinyClassifier::default_multilabel();
    let method = registry::method("fixture-even-spread").unwrap().configure(serde_json::Value::Null).unwrap();
    let baseline = registry::baseline("fixture-all-pad").unwrap().configure(serde_json::Value::Null).unwrap();
    let encodings = vec![model.encoder().encode("verify your password now").unwrap()];
    let target = Target::All;
    let request = Request {
        encodings: &encodings,
        target: &target,
        baseline: baseline.as_ref(),
        output: Output::Probability,
        per_dimension: false,
    };
    let results = explain(method.as_ref(), &model, &request).unwrap();
    assert_eq!(results.len(), 1);
    let result = &results[0];
    assert_eq!(result.targets.len(), model.info().labels.len());
    for t in &result.targets {
        assert_relative_eq!(t.completeness_gap(), 0.0, epsilon = 1e-12);
        assert_eq!(t.tokens[0], 0.0, "[CLS] gets nothing");
        assert_relative_eq!(t.score, t.f_input, epsilon = 1e-12);
    }

    let err = serde_json::from_str::<Target>(r#"{"rule":"labels","labels":["nope"]}"#)
        .map(|target| {
            let request = Request { target: &target, ..request };
            explain(method.as_ref(), &model, &request).unwrap_err()
        })
        .unwrap();
    assert!(matches!(err, Error::UnknownLabel { .. }), "{err}");
}
