//! The one error type of the library crates.
//!
//! Its cases fall in two kinds (see [`ErrorKind`]): mistakes a user can fix (an unknown
//! label, a model that lacks what a method needs, a bad config or input file) and internal
//! failures (a libtorch error, a broken invariant), which are bugs to report.

use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Whether an error is the user's to fix or an internal failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Something the user supplied is wrong: a name, a label, a config, a file, a text.
    User,
    /// A failure inside the library or libtorch: a bug, or an exhausted resource.
    Internal,
}

/// Everything that can go wrong in explainer's library crates.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A label name that the model does not have.
    #[error("unknown label {label:?}{}; the model's labels are: {}", suggest(.suggestion), .known.join(", "))]
    UnknownLabel {
        /// The name asked for.
        label: String,
        /// The model's labels.
        known: Vec<String>,
        /// The closest known label, when one is close.
        suggestion: Option<String>,
    },
    /// A label index outside the model's labels.
    #[error("label index {index} is out of range: the model has {count} labels (0..{count})")]
    LabelIndexOutOfRange {
        /// The index asked for.
        index: usize,
        /// How many labels the model has.
        count: usize,
    },
    /// A name looked up in a registry (method, baseline, layer, …) that is not there.
    #[error("unknown {kind} {name:?}{}; known {kind}s: {}", suggest(.suggestion), list_or_none(.known))]
    UnknownName {
        /// What was looked up: "method", "baseline", "layer", ….
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: Vec<String>,
        /// The closest known name, when one is close.
        suggestion: Option<String>,
    },
    /// A method (or other consumer) needs a capability the model does not declare.
    #[error("{consumer} needs {capability}, which model {model:?} does not offer (it offers: {offered})")]
    MissingCapability {
        /// Who needs it, e.g. `method "deeplift"`.
        consumer: String,
        /// The model's name.
        model: String,
        /// The capability that is missing.
        capability: crate::Capability,
        /// What the model does offer.
        offered: crate::Capabilities,
    },
    /// A configuration value that cannot be used.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// An input (text, baseline, batch) that cannot be explained as it is.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// A file that is missing, unreadable or malformed.
    #[error("{}: {problem}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong with it, in words a user can act on.
        problem: String,
    },
    /// An error raised by libtorch.
    #[error("libtorch error: {0}")]
    Torch(#[from] tch::TchError),
    /// A broken internal invariant: a bug in explainer.
    #[error("internal error (please report): {0}")]
    Internal(String),
    /// A hook stopped the forward pass after the named layer ([`crate::Hooks::stop_after`]);
    /// [`crate::hooks::run_to_layer`] turns it into success. Seen anywhere else, it is a bug.
    #[error("internal error (please report): the forward pass was stopped after layer {0:?}")]
    Stopped(String),
}

impl Error {
    /// Whether the user can fix this error, or it is an internal failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::UnknownLabel { .. }
            | Error::LabelIndexOutOfRange { .. }
            | Error::UnknownName { .. }
            | Error::MissingCapability { .. }
            | Error::InvalidConfig(_)
            | Error::InvalidInput(_)
            | Error::File { .. } => ErrorKind::User,
            Error::Torch(_) | Error::Internal(_) | Error::Stopped(_) => ErrorKind::Internal,
        }
    }

    /// Shorthand for [`Error::File`].
    pub fn file(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::File { path: path.into(), problem: problem.into() }
    }

    /// An [`Error::UnknownName`] with its "did you mean" filled in.
    pub fn unknown_name(kind: &'static str, name: &str, known: Vec<String>) -> Self {
        let suggestion = crate::names::closest(name, known.iter().map(String::as_str));
        Error::UnknownName { kind, name: name.to_owned(), known, suggestion }
    }

    /// An [`Error::UnknownLabel`] with its "did you mean" filled in.
    pub fn unknown_label(label: &str, known: &[String]) -> Self {
        let suggestion = crate::names::closest(label, known.iter().map(String::as_str));
        Error::UnknownLabel { label: label.to_owned(), known: known.to_vec(), suggestion }
    }
}

fn suggest(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean {s:?}?)"),
        None => String::new(),
    }
}

fn list_or_none(known: &[String]) -> String {
    if known.is_empty() { "none registered".to_owned() } else { known.join(", ") }
}
