//! Layered left-to-right layout of a workflow graph, and its text rendering.
