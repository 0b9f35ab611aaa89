//! dbfleet: a declarative GitOps reconciler for self-hosted database clusters.
//!
//! Data path: `source` (a git commit or working tree) -> `load` (typed,
//! validated `model`) -> `render` (files per node) -> `plan` (typed steps).
//! The pure core (model, load, render, plan) does no I/O.

pub mod apply;
pub mod cli;
pub mod diag;
pub mod engine;
pub mod fit;
pub mod layout;
pub mod load;
pub mod model;
pub mod observe;
pub mod plan;
pub mod reconcile;
pub mod render;
pub mod requests;
pub mod resolve;
pub mod schema;
pub mod secrets;
pub mod source;
pub mod state;
pub mod transport;
pub mod validate;
