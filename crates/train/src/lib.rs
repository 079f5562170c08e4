//! explainer-train: trains the bundled classifiers on the synthetic corpus (`explainer-corpus`).
//!
//! From scratch: a WordPiece vocabulary trained on the training split ([`vocab`]), a small
//! BERT initialised as transformers initialises one, trained with AdamW in tch. Or from a
//! pretrained encoder (all-MiniLM-L6-v2): its weights and tokenizer, a fresh head, fine-tuned.
//! Either way the result is a Hugging Face folder (`config.json`, `model.safetensors`,
//! `tokenizer.json`, a model card) that `explainer-transformers` and transformers both load.
//!
//! The model is the very [`explainer_transformers::HfClassifier`] the explainer runs: its
//! parameters are made trainable in place, so what is trained is what is explained.

pub mod card;
pub mod evaluate;
pub mod metrics;
pub mod train;
pub mod vocab;

pub use evaluate::{Evaluation, evaluate};
pub use metrics::{Counts, Quality};
pub use train::{Architecture, TrainOptions, TrainReport, train};

/// What can go wrong while training or evaluating.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// The model adapter or loader failed.
    #[error(transparent)]
    Explainer(#[from] explainer_core::Error),
    /// libtorch failed.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
    /// Training the vocabulary failed.
    #[error("tokenizer training: {0}")]
    Tokenizer(String),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The options or data do not fit together.
    #[error("{0}")]
    Invalid(String),
}

impl TrainError {
    /// A file error.
    pub fn file(path: &std::path::Path, message: impl std::fmt::Display) -> Self {
        TrainError::File { path: path.to_path_buf(), message: message.to_string() }
    }
}

/// The label names of a task, in id order.
pub fn task_labels(task: explainer_corpus::Task) -> Vec<String> {
    match task {
        explainer_corpus::Task::Compliance => {
            explainer_corpus::COMPLIANCE_LABELS.iter().map(|s| s.to_string()).collect()
        }
        explainer_corpus::Task::BusinessLine => {
            explainer_corpus::BUSINESS_LINES.iter().map(|s| s.to_string()).collect()
        }
    }
}

/// The Hugging Face `problem_type` of a task.
pub fn task_problem(task: explainer_corpus::Task) -> explainer_core::ProblemType {
    match task {
        explainer_corpus::Task::Compliance => explainer_core::ProblemType::MultiLabel,
        explainer_corpus::Task::BusinessLine => explainer_core::ProblemType::MultiClass,
    }
}
