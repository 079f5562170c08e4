//! explainer-transformers: Hugging Face checkpoint directories as explainer [`Model`]s.
//!
//! [`HfClassifier::load`] reads a `*ForSequenceClassification` folder — `config.json`,
//! `model.safetensors` (or shards), and `tokenizer.json` / `vocab.txt` / `vocab.json` +
//! `merges.txt` — for `model_type` bert, distilbert, roberta, xlm-roberta, camembert, electra,
//! modernbert and deberta-v2, and runs it natively in tch with every hook point and op rule of
//! the adapter.
//! See `docs/models.md` for the layer names and how to add an architecture.
//!
//! [`Model`]: explainer_core::Model

pub mod checksums;
mod classifier;
pub mod config;
mod deberta;
mod encoder;
mod modernbert;
mod parts;
pub mod tokenizer;
mod weights;

pub use classifier::{HfClassifier, LoadOptions};
pub use config::{DebertaOptions, EncoderConfig, Family, ModernBertOptions, Pooling, SUPPORTED_MODEL_TYPES};
pub use encoder::Encoder;
pub use tokenizer::HfTokenizer;
pub use weights::Weights;
