//! `keyguard serve`, the backend proxy (issue 7). So far only its state: the client-token and
//! usage store (`store`) that `keyguard token` manages and the proxy will consult per request.

pub mod store;
