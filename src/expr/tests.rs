//! Behaviour tests of the expression language through its public API.
