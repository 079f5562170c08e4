//! The notebook flow as a library API: named explainers built from a model folder, a loaded
//! model or a spec file; explain the prediction, a named class, or every label; visualise.

use std::path::{Path, PathBuf};

use explainer_pipeline::explainers;
use explainer_pipeline::{Explainer, WordAttributions};
// The registries are empty unless the plugin crates are linked.
use {explainer_baselines as _, explainer_integrated_gradients as _};

fn bundled(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models").join(name)
}

const CUSTODY: &str =
    "Please confirm the custody fees and the safekeeping of securities for the fund's AUM report.";

#[test]
fn classify_explains_the_predicted_class_then_a_named_one() {
    let mut explainer =
        explainers::get("classify").unwrap().build_from_dir(bundled("business-line-minibert")).unwrap();
    assert_eq!(explainer.predicted_class_name(), None, "nothing explained yet");
    let explanation = explainer.explain(CUSTODY).unwrap();
    let words = explanation.word_attributions();
    assert_eq!(words.len(), explanation.words.len());
    assert!(words.iter().all(|(_, a)| a.is_finite()));
    let target = &explanation.targets[0];
    // The explained class is the arg-max, and the attributions share out F(x) − F(x₀).
    let best = explanation.predictions.iter().max_by(|a, b| a.score.total_cmp(&b.score)).unwrap();
    assert_eq!(target.label, best.label);
    let delta = target.delta.unwrap();
    assert!((target.attribution_total - (target.f_input - target.f_baseline) - delta).abs() < 1e-6);
    assert_eq!(explainer.predicted_class_name(), Some(best.label.as_str()));

    let chosen = explainer.explain_class(CUSTODY, "Insurance").unwrap();
    assert_eq!(chosen.targets.len(), 1);
    assert_eq!(chosen.targets[0].label, "Insurance");

    let html = explainer.visualize().unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("Insurance"), "{}", &html[..200]);
}

#[test]
fn an_unknown_class_name_lists_the_known_ones_with_a_suggestion() {
    let mut explainer =
        explainers::get("classify").unwrap().build_from_dir(bundled("business-line-minibert")).unwrap();
    let message =
        explainer.explain_class(CUSTODY, "Asset Managment & Custody Banks").unwrap_err().to_string();
    assert!(message.contains("did you mean \"Asset Management & Custody Banks\""), "{message}");
    assert!(message.contains("Retail Banking") && message.contains("Energy & Commodities"), "{message}");
    assert!(explainer.explain("  ").unwrap_err().to_string().contains("empty"));
    assert!(explainer.visualize().unwrap_err().to_string().contains("explain a text first"));
}

#[test]
fn explain_all_gives_every_label_of_a_multi_label_model() {
    let mut explainer =
        explainers::get("classify").unwrap().build_from_dir(bundled("compliance-minibert")).unwrap();
    let all = explainer
        .explain_all("Keep this quiet: the merger is announced Monday, buy before the news.")
        .unwrap();
    assert_eq!(all.targets.len(), 7);
    let path = std::env::temp_dir().join(format!("explainer-visualize-{}.html", std::process::id()));
    explainer.visualize_to(&path).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("insider_information"));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn unknown_explainer_names_get_a_suggestion() {
    let message = explainers::get("clasify").unwrap_err().to_string();
    assert!(message.contains("did you mean \"classify\""), "{message}");
    assert!(explainers::all().iter().any(|e| e.name == "classify"));
}

#[test]
fn a_loaded_model_and_a_spec_file_give_the_same_explanation_as_the_folder() {
    let dir = bundled("business-line-minibert");
    let entry = explainers::get("classify").unwrap();
    let mut from_dir = entry.build_from_dir(&dir).unwrap();
    let expected = from_dir.explain(CUSTODY).unwrap().word_attributions();

    let model = explainer_pipeline::models::load_model(&dir).unwrap();
    let mut from_model = entry.build(model).unwrap();
    assert_eq!(from_model.explain(CUSTODY).unwrap().word_attributions(), expected);
    let run = &from_model.last_document().unwrap().run;
    assert_eq!(run.model.hash, explainer_pipeline::setup::IN_MEMORY);

    // A model loaded in memory has no folder for a spec file to name.
    assert!(from_model.to_spec("notebook", "classify").unwrap_err().to_string().contains("in memory"));

    let tmp = tempfile::tempdir().unwrap();
    let spec = from_dir.to_spec("notebook", "classify").unwrap();
    assert_eq!(spec.model.hash, explainer_pipeline::model_hash::model_hash(&dir).unwrap());
    let path = tmp.path().join("notebook.yaml");
    std::fs::write(&path, spec.to_yaml().unwrap()).unwrap();
    let mut from_spec = Explainer::from_spec(&path, None).unwrap();
    assert_eq!(from_spec.explain(CUSTODY).unwrap().word_attributions(), expected);
}
