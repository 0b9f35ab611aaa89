//! Helpers shared by the integration tests. Every test binary that says `mod common;` compiles
//! all of them and uses only some, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod cli;
pub mod driver;
pub mod engines;
pub mod fleet;
pub mod git;
pub mod lab;
pub mod lab_engine;
pub mod testnet;
