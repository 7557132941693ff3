//! What a workflow is: the model, the JSON loader with positioned diagnostics, validation,
//! and the layered graph layout (pure data, no drawing).

pub mod diag;
pub mod json;
pub mod layout;
