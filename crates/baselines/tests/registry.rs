//! Every baseline of this crate is registered under its typetag name, round-trips through
//! serde_json as `Box<dyn Baseline>`, and refuses unknown fields.

#![allow(clippy::unwrap_used)]

use explainer_baselines::NAMES;
use explainer_core::registry::{self, check_registries};
use explainer_core::{Baseline, Error};

// The registry entries are linked in only when the crate is named.
use explainer_baselines as _;

#[test]
fn every_baseline_is_registered() {
    let registered: Vec<&str> = registry::baselines().iter().map(|e| e.name).collect();
    for name in NAMES {
        assert!(registered.contains(&name), "{name} is not registered: {registered:?}");
        let entry = registry::baseline(name).unwrap();
        assert!(!entry.summary.is_empty());
        let config = (entry.default_config)();
        assert_eq!(config.typetag_name(), name);
        assert_eq!(config.requires(), entry.requires, "{name}");
    }
    let problems = check_registries();
    assert!(problems.is_empty(), "{problems:?}");
}

#[test]
fn every_default_config_round_trips() {
    for name in NAMES {
        let config = (registry::baseline(name).unwrap().default_config)();
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["baseline"], name);
        let back: Box<dyn Baseline> = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(back.typetag_name(), name);
        assert_eq!(serde_json::to_value(&back).unwrap(), json);
        // Configuring from the default's own fields gives the same config.
        let mut options = json.clone();
        options.as_object_mut().unwrap().remove("baseline");
        let configured = registry::baseline(name).unwrap().configure(options).unwrap();
        assert_eq!(serde_json::to_value(&configured).unwrap(), json);
    }
}

#[test]
fn unknown_fields_are_refused() {
    for name in NAMES {
        let mut json = serde_json::json!({"baseline": name, "keep_specials": true});
        if name == "average-embedding" {
            json["corpus"] = "c.txt".into();
        }
        let err = serde_json::from_value::<Box<dyn Baseline>>(json).unwrap_err();
        assert!(err.to_string().contains("keep_specials"), "{name}: {err}");
        let err = registry::baseline(name)
            .unwrap()
            .configure(serde_json::json!({"corpus": "c.txt", "bogus": 1}))
            .unwrap_err();
        assert!(matches!(err, Error::InvalidConfig(_)), "{name}: {err:?}");
    }
}

#[test]
fn options_default_where_the_config_allows() {
    for name in NAMES {
        let entry = registry::baseline(name).unwrap();
        let configured = entry.configure(serde_json::Value::Null);
        if name == "average-embedding" {
            let err = configured.unwrap_err();
            assert!(err.to_string().contains("corpus"), "{err}");
        } else {
            assert_eq!(configured.unwrap().typetag_name(), name);
        }
    }
}
