//! The model card (`README.md` of the folder): what the model is, how it was trained, and the
//! test-split figures, between markers so that a test can recompute them.

use std::path::Path;

use crate::evaluate::Evaluation;
use crate::train::{TrainOptions, TrainReport};
use crate::{TrainError, task_labels};

/// The line before the generated figures.
pub const METRICS_BEGIN: &str =
    "<!-- figures: written by explainer-train, recomputed by crates/train/tests/bundled_models.rs -->";
/// The line after them.
pub const METRICS_END: &str = "<!-- end of figures -->";
/// Everything after this line of an existing card is kept when the card is rewritten (notes
/// written by hand, such as the comparison with a fine-tuned pretrained encoder).
pub const KEPT: &str = "<!-- written by hand below: kept when explainer-train rewrites this card -->";
/// Mistakes listed in full on the card.
pub const MISTAKES_SHOWN: usize = 15;

/// The generated figures of a card: the text between [`METRICS_BEGIN`] and [`METRICS_END`].
pub fn figures(card: &str) -> Option<&str> {
    let start = card.find(METRICS_BEGIN)? + METRICS_BEGIN.len();
    let end = card[start..].find(METRICS_END)? + start;
    Some(card[start..end].trim())
}

/// The card's figures: the test split's evaluation and, when given, that of the hand-written
/// probes (wording no template wrote).
pub fn card_figures(test: &Evaluation, probes: Option<&Evaluation>) -> String {
    let mut out = format!("### Test split\n\n{}", test.markdown(MISTAKES_SHOWN));
    if let Some(probes) = probes {
        out.push_str(&format!(
            "\n### Hand-written probes\n\nMessages written by hand in wording the templates never used \
             (`data/{PROBES}`); few, so read them as examples, not as a rate.\n\n{}",
            probes.markdown(usize::MAX)
        ));
    }
    out
}

/// The probes file of the compliance task, relative to the repository root.
pub const PROBES: &str = "compliance/probes.jsonl";

/// What the card says beyond the numbers.
#[derive(Debug, Clone)]
pub struct CardText {
    /// The model's name (the folder name).
    pub name: String,
    /// A paragraph saying what the model is for.
    pub summary: String,
    /// The command that trained it, verbatim.
    pub command: String,
    /// The SHA-256 of `model.safetensors`.
    pub weights_sha256: String,
    /// The folder as the evaluation command names it (e.g. `models/compliance-minibert`).
    pub path: String,
}

/// Writes `README.md` into the model folder.
pub fn write_card(
    dir: &Path,
    text: &CardText,
    options: &TrainOptions,
    report: &TrainReport,
    probes: Option<&Evaluation>,
) -> Result<(), TrainError> {
    let labels = task_labels(options.task);
    let problem = match crate::task_problem(options.task) {
        explainer_core::ProblemType::MultiLabel => {
            "multi_label_classification (sigmoid per label, threshold 0.5)"
        }
        _ => "single_label_classification (softmax, arg-max)",
    };
    let a = &options.architecture;
    let architecture = match &options.from {
        None => format!(
            "BERT (`BertForSequenceClassification`), trained from scratch: hidden {}, {} layers, {} heads, \
             feed-forward {}, {} positions, a WordPiece vocabulary trained on the training split",
            a.hidden, a.layers, a.heads, a.intermediate, a.max_positions
        ),
        Some(from) => format!(
            "the pretrained encoder in `{}` with a fresh classification head, fine-tuned",
            from.display()
        ),
    };
    let card = format!(
        "---\nlicense: apache-2.0\nlanguage: en\nlibrary_name: transformers\npipeline_tag: text-classification\n\
         tags:\n- explainer\n- synthetic-data\n---\n\n\
         # {name}\n\n{summary}\n\n\
         **Synthetic data only.** The corpus is generated from templates (`crates/corpus`); the model \
         has learnt that corpus's cues and wording, not compliance in general. It exists to show and \
         test explanations of a real trained prediction, not to screen real messages.\n\n\
         ## Labels\n\nProblem type: {problem}.\n\n{labels}\n\n\
         ## Model\n\n{architecture}; {params} parameters.\n\n\
         ## Training\n\n```sh\n{command}\n```\n\n\
         | setting | value |\n|---|---|\n\
         | corpus | `{corpus}`, seed {corpus_seed} ({train} train / {dev} dev texts, generated) |\n\
         | seed | {seed} (initialisation, shuffling, token dropout) |\n\
         | epochs / steps | {epochs} / {steps} |\n\
         | batch | {batch} |\n\
         | optimiser | AdamW, peak lr {lr}, {warmup:.0} % linear warm-up then linear decay, weight decay {wd}, gradient norm clipped at 1 |\n\
         | token dropout | {dropout} (non-special tokens replaced by `[MASK]`) |\n\
         | libtorch threads | {threads} |\n\
         | time | {seconds:.0} s on the machine that trained it |\n\
         | `model.safetensors` SHA-256 | `{sha}` |\n\n\
         The same command on the same kind of CPU and thread count gives the same weights (every \
         random draw is seeded; `training.json` records the run).\n\n\
         ## Evaluation\n\nOn the committed test split (`data/{task}/test.jsonl`), recomputed with\n\n\
         ```sh\ncargo run --release -p explainer-train -- evaluate --model {path} --data data/{task}/test.jsonl\n```\n\n\
         {begin}\n{figures}\n{end}\n",
        name = text.name,
        path = text.path,
        summary = text.summary,
        labels = labels.iter().map(|l| format!("- `{l}`")).collect::<Vec<_>>().join("\n"),
        params = report.parameters,
        command = text.command,
        corpus = explainer_corpus::CORPUS_VERSION,
        corpus_seed = options.corpus_seed,
        train = explainer_corpus::split_size(options.task, explainer_corpus::Split::Train),
        dev = explainer_corpus::split_size(options.task, explainer_corpus::Split::Dev),
        seed = options.seed,
        epochs = options.epochs,
        steps = report.steps,
        batch = options.batch_size,
        lr = options.lr,
        warmup = options.warmup * 100.0,
        wd = options.weight_decay,
        dropout = options.token_dropout,
        threads = options.threads,
        seconds = report.seconds,
        sha = text.weights_sha256,
        task = options.task.name(),
        begin = METRICS_BEGIN,
        figures = card_figures(&report.test, probes),
        end = METRICS_END,
    );
    let path = dir.join("README.md");
    let mut card = card;
    if let Some(kept) =
        std::fs::read_to_string(&path).ok().and_then(|old| old.find(KEPT).map(|i| old[i..].to_owned()))
    {
        card.push('\n');
        card.push_str(&kept);
    }
    std::fs::write(&path, card).map_err(|e| TrainError::file(&path, format!("cannot write: {e}")))
}
