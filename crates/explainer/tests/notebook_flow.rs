//! The notebook flow through the facade alone: no plugin crate is named here, the facade
//! links the ones its default features enable.

#[cfg(feature = "pipeline")]
#[test]
fn classify_through_the_facade() {
    use explainer::WordAttributions;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/business-line-minibert");
    let mut explainer = explainer::explainers::get("classify").unwrap().build_from_dir(dir).unwrap();
    let words = explainer
        .explain("The claims adjuster raised the premium on the policy.")
        .unwrap()
        .word_attributions();
    assert!(!words.is_empty());
    assert!(explainer.predicted_class_name().is_some());
}
