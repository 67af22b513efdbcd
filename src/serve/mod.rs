//! `keyguard serve`, the backend proxy (issue 7). Built so far, as library code with no server
//! yet: the `[serve]` configuration (`config`), the request rewriting (`rewrite`), usage metering
//! of plain and streamed responses (`usage`), provider-shaped errors (`errors`), and the
//! client-token and usage store (`store`) that `keyguard token` manages and the proxy will
//! consult per request.

pub mod config;
pub mod errors;
pub mod rewrite;
pub mod server;
pub mod store;
pub mod usage;
