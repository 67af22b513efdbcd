//! keyguard: secret hygiene and leak response for people who build on paid APIs.
//!
//! Data flows one way: sources yield `(origin, bytes)`, the engine returns matches, matches become
//! findings, suppression filters them, and a report writes them.

pub mod cli;
pub mod cmd;
pub mod config;
pub mod engine;
pub mod finding;
pub mod hook;
pub mod init;
pub mod keychain;
pub mod providers;
pub mod repo;
pub mod report;
pub mod rotate;
pub mod rules;
pub mod run;
pub mod sanitize;
pub mod serve;
pub mod source;
pub mod suppress;
pub mod text;
