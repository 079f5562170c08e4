//! The seed notebook, cell by cell, in Rust.
//!
//! | notebook (Python, transformers-interpret style) | here |
//! |---|---|
//! | `explainer = lm_classifier_explainer['classify'](model, tokenizer)` | `explainers::get("classify")?.build_from_dir(dir)?` |
//! | `word_attributions = explainer(text)` | `explainer.explain(text)?.word_attributions()` |
//! | `explainer.predicted_class_name` | `explainer.predicted_class_name()` |
//! | `explainer(text, class_name="Asset Management & Custody Banks")` | `explainer.explain_class(text, "Asset Management & Custody Banks")?` |
//! | `explainer.visualize("report.html")` | `explainer.visualize_to("report.html")?` |
//! | `explainer export` → a spec file, rerun later | `explainer.to_spec(name, entry)?` + `Explainer::from_spec(path, None)?` |
//!
//! `run` plays every cell and returns what each printed, so `tests/notebook.rs` can check them.

use std::path::{Path, PathBuf};

// The facade links the plugins its features enable: the `classify` explainer finds Layer
// Integrated Gradients and the pad baseline in the registries.
use explainer::pipeline::Result;
use explainer::{Explainer, WordAttributions, explainers};

/// The message the notebook explains.
pub const TEXT: &str = "Please confirm the custody fees and the safekeeping of securities for the fund's AUM report \
                        before the board meeting.";

/// The class the notebook asks about by name.
pub const CLASS: &str = "Asset Management & Custody Banks";

/// The bundled multi-class model (`models/business-line-minibert`).
pub fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/business-line-minibert")
}

/// One cell: its code (as the notebook shows it) and what it printed.
#[derive(Debug, Clone)]
pub struct Cell {
    /// The Rust statement of the cell.
    pub code: &'static str,
    /// What the cell printed.
    pub output: String,
}

fn words(pairs: &[(String, f64)]) -> String {
    let mut sorted: Vec<&(String, f64)> = pairs.iter().collect();
    sorted.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
    let top: Vec<String> = sorted.iter().take(5).map(|(w, a)| format!("({w:?}, {a:+.4})")).collect();
    format!("{} words; the five largest: [{}]", pairs.len(), top.join(", "))
}

/// Plays the notebook against the model in `model`, writing the HTML report and the spec file
/// into `out`.
pub fn run(model: &Path, out: &Path) -> Result<Vec<Cell>> {
    let mut cells = Vec::new();

    let mut explainer = explainers::get("classify")?.build_from_dir(model)?;
    cells.push(Cell {
        code: r#"let mut explainer = explainers::get("classify")?.build_from_dir(model)?;"#,
        output: format!("{explainer:?}, classes: {}", explainer.class_names().join(" | ")),
    });

    let attributions = explainer.explain(TEXT)?.word_attributions();
    cells.push(Cell {
        code: "let word_attributions = explainer.explain(TEXT)?.word_attributions();",
        output: words(&attributions),
    });

    cells.push(Cell {
        code: "explainer.predicted_class_name()",
        output: format!("{:?}", explainer.predicted_class_name().unwrap_or("none")),
    });

    let chosen = explainer.explain_class(TEXT, CLASS)?;
    let target = &chosen.targets[0];
    cells.push(Cell {
        code: r#"explainer.explain_class(TEXT, "Asset Management & Custody Banks")?"#,
        output: format!(
            "{} (score {:.4}): F(x) {:.4}, F(x0) {:.4}, delta {:+.2e}; {}",
            target.label,
            target.score,
            target.f_input,
            target.f_baseline,
            target.delta.unwrap_or(0.0),
            words(&chosen.word_attributions())
        ),
    });

    let report = out.join("notebook-report.html");
    explainer.visualize_to(&report)?;
    cells.push(Cell {
        code: r#"explainer.visualize_to("notebook-report.html")?"#,
        output: format!("wrote {}", report.display()),
    });

    // `explainer export`: the same set-up as a spec file (model path and hash, configs) ...
    let spec = explainer.to_spec("notebook", "classify")?;
    let spec_path = out.join("notebook.yaml");
    std::fs::write(&spec_path, spec.to_yaml()?)?;
    // ... and the explainer built again from it, giving the same numbers.
    let mut again = Explainer::from_spec(&spec_path, None)?;
    let same = again.explain(TEXT)?.word_attributions() == attributions;
    cells.push(Cell {
        code: r#"std::fs::write("notebook.yaml", explainer.to_spec("notebook", "classify")?.to_yaml()?)?; Explainer::from_spec("notebook.yaml", None)?.explain(TEXT)?"#,
        output: format!("the same word attributions as cell 2: {same}"),
    });
    Ok(cells)
}
