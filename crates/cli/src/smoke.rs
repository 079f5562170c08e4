//! `explainer smoke`: load a model and print its label scores for some texts.

use std::fmt::Write as _;

use std::path::PathBuf;

use anyhow::Result;

use explainer_pipeline::models::{load_model, model_dir, problem_name};

const SAMPLES: &[&str] = &[
    "Please verify your account password now, or it will be closed.",
    "Thanks for the meeting tomorrow, the invoice is attached.",
    "You stupid idiot, I will hurt you.",
];

/// Prints the model's scores for `texts` (sample texts when empty).
pub fn run(dir: Option<PathBuf>, texts: Vec<String>) -> Result<()> {
    let dir = model_dir(dir.as_deref());
    let model = load_model(&dir)?;
    let model = model.as_ref();
    let info = model.info();
    let mut out = String::new();
    let _ = writeln!(out, "model {} from {}", info.name, dir.display());
    let _ = writeln!(
        out,
        "{} labels ({}, scores by {})",
        info.labels.len(),
        problem_name(info.problem),
        info.problem.output_function()
    );
    if dir == explainer_testing::tiny_model_dir() {
        let _ = writeln!(out, "(random weights: this checks the set-up, the scores mean nothing)");
    }
    let texts: Vec<String> =
        if texts.is_empty() { SAMPLES.iter().map(|s| s.to_string()).collect() } else { texts };
    let width = info.labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    for text in &texts {
        let prediction = model.predict(text)?;
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{text:?}{}",
            if prediction.truncated { "  (truncated to the model's maximum length)" } else { "" }
        );
        for ((label, score), logit) in
            prediction.labels.iter().zip(&prediction.scores).zip(&prediction.logits)
        {
            let bar = "█".repeat((score.clamp(0.0, 1.0) * 30.0).round() as usize);
            let _ = writeln!(out, "  {label:<width$}  {score:.4}  (logit {logit:+.4})  {bar}");
        }
    }
    crate::output::print_stdout(&out)
}
