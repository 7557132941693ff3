//! The ratatui front end: themes, log buffers with ANSI neutralisation, search, log view, keymap,
//! masked secret prompt, terminal guard and copy/save helpers. The screen that ties them to the
//! engine's events is built on top of these pieces.

pub mod ansi;
pub mod export;
pub mod keymap;
pub mod logbuf;
pub mod logview;
pub mod prompt;
pub mod search;
pub mod terminal;
pub mod theme;
