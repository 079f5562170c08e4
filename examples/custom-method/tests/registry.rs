//! The plugin registers: it appears in the registry (in-process and in the listing of a
//! binary that links it), its config round-trips through typetag, and it explains.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::process::Command;

use explainer_core::registry::{self, check_registries};
use explainer_core::{Capabilities, Capability, Method, Model as _, Output, Request, Target, explain};
use explainer_example_custom_method::LeaveOneOut;
use explainer_testing::TinyClassifier;

#[test]
fn the_method_is_registered_under_its_typetag_name() {
    let entry = registry::method("leave-one-out").unwrap();
    assert_eq!(entry.requires, Capabilities::of(&[Capability::Forward]));
    assert!(!entry.has_convergence_delta);
    assert!(check_registries().is_empty(), "{:?}", check_registries());

    let config: Box<dyn Method> = Box::new(LeaveOneOut { max_batch: 3 });
    let json = serde_json::to_string(&config).unwrap();
    assert_eq!(json, r#"{"method":"leave-one-out","max_batch":3}"#);
    let back: Box<dyn Method> = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert!(entry.configure(serde_json::json!({"max_batch": 0})).is_err());
    assert!(entry.configure(serde_json::json!({"max_btach": 2})).is_err());
}

#[test]
fn a_binary_that_links_the_plugin_lists_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_custom-method-registry")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listing = String::from_utf8(out.stdout).unwrap();
    let line =
        listing.lines().find(|l| l.starts_with("leave-one-out\t")).unwrap_or_else(|| panic!("{listing}"));
    assert!(line.contains("Leave-one-out (example plugin)"), "{line}");
    assert!(line.contains("forward"), "{line}");
}

/// A baseline that is the input with every non-special token replaced by one id.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct AllOf(i64);

#[typetag::serde(name = "test-all-of")]
impl explainer_core::Baseline for AllOf {
    fn references(
        &self,
        _: &dyn explainer_core::Model,
        input: &explainer_core::Encoding,
    ) -> explainer_core::Result<Vec<explainer_core::Reference>> {
        let ids = input.ids.iter().zip(&input.special).map(|(&id, &s)| if s { id } else { self.0 }).collect();
        Ok(vec![explainer_core::Reference::Ids(ids)])
    }
}

#[test]
fn each_attribution_is_the_drop_when_that_token_alone_is_replaced() {
    let model = TinyClassifier::default_multilabel();
    let encoding = model.encoder().encode("wire the money to my account now").unwrap();
    let pad = model.encoder().special_tokens().pad.unwrap();
    let baseline = AllOf(pad);
    let request = Request {
        encodings: std::slice::from_ref(&encoding),
        target: &Target::All,
        baseline: &baseline,
        output: Output::Logit,
        per_dimension: false,
    };
    let method = LeaveOneOut { max_batch: 3 }; // several chunks
    let result = explain(&method, &model, &request).unwrap().remove(0);
    let logits =
        |e: &explainer_core::Encoding| explainer_core::tensor_row(&model.logits(&[e]).unwrap(), 0).unwrap();
    let full = logits(&encoding);
    for t in &result.targets {
        assert_eq!(t.delta, None);
        for (i, &a) in t.tokens.iter().enumerate() {
            if encoding.special[i] {
                assert_eq!(a, 0.0);
                continue;
            }
            let mut occluded = encoding.clone();
            occluded.ids[i] = pad;
            let expected = full[t.label_index] - logits(&occluded)[t.label_index];
            assert!((a - expected).abs() <= 1e-5 * (1.0 + expected.abs()), "token {i}: {a} vs {expected}");
        }
    }
}
