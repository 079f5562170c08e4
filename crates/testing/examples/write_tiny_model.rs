//! Writes the default tiny model to `crates/testing/assets/tiny/` (the copy the smoke run
//! loads). Run: `cargo run -p explainer-testing --example write_tiny_model`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = explainer_testing::tiny_model_dir();
    explainer_testing::TinyClassifier::default_multilabel().save(&dir)?;
    println!("wrote {}", dir.display());
    Ok(())
}
