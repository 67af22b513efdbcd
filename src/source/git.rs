//! The git history source (see `scan git`).
