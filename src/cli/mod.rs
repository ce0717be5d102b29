//! Command-line sub-commands that are more than a call into a domain service: the
//! entity import with its progress display, and the synthetic data generator's driver.
//! `src/main.rs` parses the command line and dispatches here.

pub mod entities;
