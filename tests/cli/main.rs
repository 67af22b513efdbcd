//! keyguard's integration tests: one test binary, one place for helpers (`support`).

mod bundle;
mod completions;
mod config;
mod conformance;
mod engine_props;
mod exposure;
mod git;
mod hook;
mod init;
mod keychain;
mod reports;
mod rotate;
mod scan;
mod serve;
#[cfg(unix)]
mod serve_browser;
mod serve_input;
mod serve_sdk;
mod staged;
mod support;
mod token;
mod verify;
