//! The pipeline's error: explainer-core's errors, file and format errors, and messages with
//! the context that produced them (shown as `context: cause`, one line).

use std::fmt::Display;

use explainer_core::ErrorKind;

/// What can go wrong while loading a model, building configs, reading a spec or explaining.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// An error of the core library (a model, method, baseline or tensor error).
    #[error(transparent)]
    Explainer(#[from] explainer_core::Error),
    /// A JSON (de)serialisation error.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A YAML (spec file) error.
    #[error(transparent)]
    Yaml(#[from] serde_norway::Error),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Something the user supplied is wrong, said in full.
    #[error("{0}")]
    Message(String),
    /// An error with what was being done when it happened.
    #[error("{context}")]
    Context {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The pipeline's result.
pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

impl PipelineError {
    /// A message error.
    pub fn msg(message: impl Display) -> Self {
        PipelineError::Message(message.to_string())
    }

    /// Whether the user can fix it (a name, file, config, text) or it is internal (a bug,
    /// libtorch): the core error's kind, looked up through the context chain.
    pub fn kind(&self) -> ErrorKind {
        let mut current: &(dyn std::error::Error + 'static) = self;
        loop {
            if let Some(PipelineError::Explainer(e)) = current.downcast_ref::<PipelineError>() {
                return e.kind();
            }
            if let Some(e) = current.downcast_ref::<explainer_core::Error>() {
                return e.kind();
            }
            match current.source() {
                Some(next) => current = next,
                None => return ErrorKind::User,
            }
        }
    }
}

/// Adds what was being done to an error, as anyhow's `Context` does.
pub trait Context<T> {
    /// Wraps the error with `context`.
    fn context(self, context: impl Display) -> Result<T>;
    /// Wraps the error with the context `f` makes (only on error).
    fn with_context<D: Display>(self, f: impl FnOnce() -> D) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl Display) -> Result<T> {
        self.map_err(|e| PipelineError::Context { context: context.to_string(), source: Box::new(e) })
    }

    fn with_context<D: Display>(self, f: impl FnOnce() -> D) -> Result<T> {
        self.map_err(|e| PipelineError::Context { context: f().to_string(), source: Box::new(e) })
    }
}

/// Returns early with a [`PipelineError::Message`] formatted like `format!`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::PipelineError::msg(format!($($arg)*)))
    };
}
