//! Scores a text with the custom model and reads an activation through a hook.
//! Run: `cargo run -p explainer-example-custom-model`.

use explainer_core::{DefaultOps, Hooks, InputBatch, Model};
use explainer_example_custom_model::BagOfGatedWords;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let model = BagOfGatedWords::new(&["wire", "money", "now", "hello"], &["fraud", "spam"], 8, 0)?;
    let text = "wire the money now";
    let prediction = model.predict(text)?;
    for (label, score) in prediction.labels.iter().zip(&prediction.scores) {
        println!("{label}: {score:.4}");
    }
    let encoding = model.encoder().encode(text)?;
    let input = InputBatch::single(&encoding, model.device())?;
    let mut hooks = Hooks::new();
    hooks.read("encoder.0");
    let _ = tch::no_grad(|| model.run(&input, Some(&mut hooks), &DefaultOps))?;
    println!("encoder.0 activation: {:?}", hooks.get("encoder.0")?.size());
    Ok(())
}
