//! The only place that holds secret values: store, sources, prompt, redactor, hardening.
