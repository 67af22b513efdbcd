//! keyguard's integration tests: one test binary, one place for helpers (`support`).

mod conformance;
mod support;
