//! Engine drivers: how dbfleet initialises, starts, stops, observes and
//! replicates each engine family on a host, over a [`Transport`].
//!
//! One driver per family ([`mysql`], [`postgres`], [`redis`]); every
//! difference between engines of a family (MySQL vs MariaDB syntax, Redis vs
//! Valkey binaries) lives inside its driver, in one place. The apply
//! executor (`crate::apply`) decides *what* to do and in which order; a
//! driver knows *how*. Every driver method is idempotent where the contract
//! says so, and engine state is read with the engine's own client on the host.

mod contract;
mod service;

pub mod mysql;
pub mod postgres;
pub mod redis;

pub use contract::Result;
pub use contract::{
    parse_pairs, ConfigChange, Driver, DriverError, EngineState, LiveOutcome, NodeCx, ObservedRole,
    Replication, Secrets,
};
pub use service::{detect_service_mode, service_command, ServiceMode};

use crate::model::{Engine, Family};

/// The driver for an engine.
pub fn driver(engine: Engine) -> &'static dyn Driver {
    match engine.family() {
        Family::Mysql => &mysql::MysqlDriver,
        Family::Postgresql => &postgres::PostgresDriver,
        Family::Redis => &redis::RedisDriver,
    }
}
