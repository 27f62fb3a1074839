//! reentry-board: the release-planning board for the CalAIM Justice-Involved Reentry Initiative.
//!
//! The library holds everything so that tests drive it without a terminal; `main.rs` only parses
//! the command line, starts logging and dispatches.

pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod demo;
pub mod domain;
pub mod export;
pub mod fd_limit;
pub mod fhir;
pub mod hub;
pub mod identity;
pub mod import;
pub mod log_every;
pub mod logging;
pub mod meeting;
pub mod packet;
pub mod paths;
pub mod report;
pub mod ssh;
pub mod store;
pub mod sync;
pub mod theme;
pub mod tls_words;
pub mod toml_util;
pub mod tui;
