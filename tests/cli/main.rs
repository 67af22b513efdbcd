//! keyguard's integration tests: one test binary, one place for helpers (`support`).

mod completions;
mod conformance;
mod scan;
mod support;
