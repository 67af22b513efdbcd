//! `keyguard serve`, the backend proxy (issue 7): the `[serve]` configuration (`config`), the
//! request rewriting (`rewrite`), usage metering of plain and streamed responses (`usage`),
//! provider-shaped errors (`errors`), the provider key kept out of answers (`scrub`), the client-token and usage store (`store`) that
//! `keyguard token` manages, and the HTTP server that puts them together (`server`).

pub mod config;
pub mod errors;
pub mod rewrite;
pub mod scrub;
pub mod server;
pub mod store;
pub mod usage;
