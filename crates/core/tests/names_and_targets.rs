//! Targets, errors and capability sets: parsing, resolution and serde round trips.

use explainer_core::{Capabilities, Capability, Error, ErrorKind, ModelInfo, ProblemType, Target};

fn info(problem: ProblemType) -> ModelInfo {
    ModelInfo {
        name: "m".into(),
        labels: ["fraud", "spam", "threat"].iter().map(|s| s.to_string()).collect(),
        problem,
        capabilities: Capabilities::of(&[Capability::Forward]),
        layers: vec![],
        hidden_size: 4,
    }
}

#[test]
fn predicted_targets_follow_the_problem_type() {
    let ml = info(ProblemType::MultiLabel);
    assert_eq!(Target::Predicted.resolve(&ml, &[0.7, 0.2, 0.9]).unwrap(), [0, 2]);
    // Nothing flagged: the strongest label is explained.
    assert_eq!(Target::Predicted.resolve(&ml, &[0.1, 0.4, 0.3]).unwrap(), [1]);
    let mc = info(ProblemType::MultiClass);
    assert_eq!(Target::Predicted.resolve(&mc, &[0.2, 0.5, 0.3]).unwrap(), [1]);
    let reg = info(ProblemType::Regression);
    assert_eq!(Target::Predicted.resolve(&reg, &[3.0, -1.0, 2.0]).unwrap(), [0, 1, 2]);
}

#[test]
fn other_targets_resolve_and_check_labels() {
    let ml = info(ProblemType::MultiLabel);
    let scores = [0.7, 0.2, 0.9];
    assert_eq!(Target::All.resolve(&ml, &scores).unwrap(), [0, 1, 2]);
    assert_eq!(Target::Above { threshold: 0.8 }.resolve(&ml, &scores).unwrap(), [2]);
    assert!(Target::Above { threshold: 0.95 }.resolve(&ml, &scores).unwrap().is_empty());
    let named = Target::Labels { labels: vec!["threat".into(), "fraud".into(), "threat".into()] };
    assert_eq!(named.resolve(&ml, &scores).unwrap(), [2, 0], "order kept, duplicates dropped");

    let err = Target::Labels { labels: vec!["frad".into()] }.resolve(&ml, &scores).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User);
    let message = err.to_string();
    assert!(message.contains("unknown label \"frad\""), "{message}");
    assert!(message.contains("did you mean \"fraud\""), "{message}");
    assert!(message.contains("fraud, spam, threat"), "{message}");

    let err = Target::Indices { indices: vec![3] }.resolve(&ml, &scores).unwrap_err();
    assert!(matches!(err, Error::LabelIndexOutOfRange { index: 3, count: 3 }), "{err}");
    assert!(Target::Above { threshold: f64::NAN }.resolve(&ml, &scores).is_err());
}

#[test]
fn targets_round_trip_through_text_and_serde() {
    let all = [
        Target::Predicted,
        Target::All,
        Target::Above { threshold: 0.25 },
        Target::Labels { labels: vec!["fraud".into(), "spam".into()] },
        Target::Indices { indices: vec![0, 2] },
    ];
    for target in all {
        let text = target.to_string();
        assert_eq!(text.parse::<Target>().unwrap(), target, "{text}");
        let json = serde_json::to_string(&target).unwrap();
        assert_eq!(serde_json::from_str::<Target>(&json).unwrap(), target, "{json}");
    }
    assert_eq!(
        serde_json::to_string(&Target::Above { threshold: 0.5 }).unwrap(),
        r#"{"rule":"above","threshold":0.5}"#
    );
    assert!("above:high".parse::<Target>().is_err());
    assert!("best".parse::<Target>().is_err());
    // A misspelt field is refused, not silently ignored.
    let err = serde_json::from_str::<Target>(r#"{"rule":"above","treshold":0.5}"#).unwrap_err();
    assert!(err.to_string().contains("treshold"), "{err}");
}

#[test]
fn capabilities_report_what_is_missing() {
    let ml = info(ProblemType::MultiLabel);
    let needed = Capabilities::of(&[Capability::Forward, Capability::OpRules]);
    let err = ml.require("method \"deeplift\"", needed).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::User);
    assert_eq!(
        err.to_string(),
        "method \"deeplift\" needs op-rules, which model \"m\" does not offer (it offers: forward)"
    );
    assert!(ml.require("x", Capabilities::of(&[Capability::Forward])).is_ok());
    let json = serde_json::to_string(&Capabilities::ALL).unwrap();
    assert_eq!(json, r#"["forward","input_gradients","layer_hooks","op_rules"]"#);
    assert_eq!(serde_json::from_str::<Capabilities>(&json).unwrap(), Capabilities::ALL);
}

#[test]
fn problem_types_use_hugging_face_names() {
    for (problem, name) in [
        (ProblemType::MultiLabel, "\"multi_label_classification\""),
        (ProblemType::MultiClass, "\"single_label_classification\""),
        (ProblemType::Regression, "\"regression\""),
    ] {
        assert_eq!(serde_json::to_string(&problem).unwrap(), name);
        assert_eq!(serde_json::from_str::<ProblemType>(name).unwrap(), problem);
    }
}

#[test]
fn internal_errors_are_told_apart() {
    assert_eq!(Error::Internal("x".into()).kind(), ErrorKind::Internal);
    assert_eq!(Error::InvalidConfig("x".into()).kind(), ErrorKind::User);
    assert_eq!(Error::file("/m/config.json", "missing").to_string(), "/m/config.json: missing");
}
