//! The only place that holds secret values: store, sources, prompt, redactor, hardening.

mod matcher;
mod needles;
mod redactor;
#[cfg(test)]
mod tests;

pub use needles::{MIN_DERIVED_LEN, MIN_ENCODED_LEN, MIN_LINE_LEN};
pub use redactor::{MARKER, RedactError, RedactWarning, Redactor, StreamRedactor};
