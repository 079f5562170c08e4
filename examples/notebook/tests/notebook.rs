//! The notebook example runs cell by cell on the bundled multi-class model.

#[test]
fn every_cell_of_the_notebook_runs() {
    let out = tempfile::tempdir().unwrap();
    let cells =
        explainer_example_notebook::run(&explainer_example_notebook::model_dir(), out.path()).unwrap();
    assert_eq!(cells.len(), 6);
    assert!(cells[0].output.contains("Asset Management & Custody Banks"), "{}", cells[0].output);
    assert!(cells[1].output.contains("words; the five largest"), "{}", cells[1].output);
    let classes = explainer_example_notebook::model_dir().join("config.json");
    let config = std::fs::read_to_string(classes).unwrap();
    let predicted = cells[2].output.trim_matches('"');
    assert!(config.contains(&format!("\"{predicted}\"")), "a class of the model: {predicted}");
    assert!(cells[3].output.starts_with("Asset Management & Custody Banks (score"), "{}", cells[3].output);
    let html = std::fs::read_to_string(out.path().join("notebook-report.html")).unwrap();
    assert!(html.contains("Asset Management &amp; Custody Banks"));
    assert!(cells[5].output.ends_with("true"), "{}", cells[5].output);
}
