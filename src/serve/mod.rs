pub mod config;
pub mod errors;
pub mod rewrite;
pub mod usage;
