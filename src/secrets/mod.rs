//! The only place that holds secret values: store, sources, prompt, redactor, hardening.

pub mod harden;
pub mod prompt;
pub mod store;

pub use store::{SecretArg, SecretError, SecretStore, Source};
