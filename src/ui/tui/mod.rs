//! The ratatui front end: the screen (`app` state and `update`, `view`, `runtime` loop) over
//! its pieces — themes, log buffers with ANSI neutralisation, search, log view, keymap, masked
//! secret prompt, graph, list and mapping panes, terminal guard and copy/save helpers, and the
//! fit to the terminal (colour depth, ASCII, mouse) with its own backend.

pub mod ansi;
pub mod app;
pub mod backend;
pub mod colors;
pub mod detail;
pub mod export;
pub mod filter;
pub mod fit;
pub mod graphpane;
pub mod input;
pub mod keyfile;
pub mod keymap;
pub mod layout;
pub mod listview;
pub mod logbuf;
pub mod logview;
pub mod mapping;
pub mod mouse;
pub mod nodectl;
pub mod prompt;
pub mod runtime;
pub mod search;
pub mod terminal;
pub mod theme;
pub mod view;

pub use runtime::{TuiOptions, attach, run};
#[cfg(test)]
mod fit_tests;
#[cfg(test)]
mod list_screen_tests;
#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod screen_tests;
