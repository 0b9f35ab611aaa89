//! What validation asks of the renderer: keys dbfleet manages and key
//! spelling. Templates are checked in `templates.rs`, `[settings]` values in
//! `settings.rs`.

pub use crate::render::{managed_keys, normalise_key};
