//! The only place that holds secret values: store, sources, prompts and their input buffer,
//! redactor, hardening, the hand-over to a run host (`handover.rs`). `expose_secret()` is called
//! here and in `engine/service.rs` where a child gets its own secrets (its `Command`
//! environment; the Python secrets pipe's payload).

mod answer;
pub mod handover;
pub mod harden;
mod input;
pub mod invisible;
mod matcher;
mod needles;
pub mod pipe;
pub mod prompt;
mod redactor;
pub mod store;
#[cfg(test)]
mod tests;

pub use input::{InputError, SecretInput};
pub use matcher::MAX_HIDDEN_IN_MATCH;
pub use needles::{
    MAX_ENCODED_LEN, MAX_SECRET_LEN, MIN_DERIVED_LEN, MIN_ENCODED_LEN, MIN_LINE_LEN,
};
pub use redactor::{MARKER, RedactError, RedactWarning, Redactor, StreamRedactor};
pub use store::{SecretArg, SecretError, SecretStore, Source};

/// Test support for other modules: whether a secret holds `expected`, without those modules
/// calling `expose_secret()` themselves.
#[cfg(test)]
pub fn secret_equals(secret: &secrecy::SecretString, expected: &str) -> bool {
    use secrecy::ExposeSecret;
    secret.expose_secret() == expected
}
