//! The staged-changes source (see `scan staged`).
