//! docs/json-schema.md stays true: its example parses into the schema (and is exactly what
//! the renderer writes for it), and every field the types write is documented there.
#![allow(clippy::unwrap_used)]
#![allow(clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use explainer_report::{Document, Record, SCHEMA_VERSION, render_json};

fn schema_doc() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/json-schema.md");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The first ```json block after the "## Example" heading.
fn example(doc: &str) -> &str {
    let after = &doc[doc.find("## Example").expect("an Example section")..];
    let start = after.find("```json\n").expect("a json block") + "```json\n".len();
    let end = after[start..].find("\n```").expect("a closed json block");
    &after[start..start + end]
}

#[test]
fn the_example_is_a_valid_document_and_what_the_renderer_writes() {
    let doc = schema_doc();
    let json = example(&doc);
    let parsed = Document::from_json(json).unwrap();
    let expected = common::small_document();
    assert_eq!(parsed, expected);
    assert_eq!(render_json(&expected).trim_end(), json, "regenerate: render_sample -- json small");
    assert!(doc.starts_with(&format!("# The explanation report schema — `{SCHEMA_VERSION}`")));
}

fn keys(value: &serde_json::Value, out: &mut BTreeSet<String>, skip_inside: &[&str]) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                // Config objects are the methods' own (documented with each method).
                if !skip_inside.contains(&k.as_str()) {
                    keys(v, out, skip_inside);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out, skip_inside)),
        _ => {}
    }
}

#[test]
fn every_field_is_documented() {
    let doc = schema_doc();
    let document = common::sample_document();
    let record = Record::new("row-1", &document.run, document.explanations[0].clone());
    let mut all = BTreeSet::new();
    let skip = ["method", "baseline", "versions"];
    keys(&serde_json::to_value(&document).unwrap(), &mut all, &skip);
    keys(&serde_json::to_value(&record).unwrap(), &mut all, &skip);
    assert!(all.contains("layer_sweep") && all.contains("deltas") && all.contains("model_hash"));
    for key in &all {
        assert!(
            doc.contains(&format!("| `{key}` |")),
            "field {key:?} is not documented in docs/json-schema.md"
        );
    }
}
