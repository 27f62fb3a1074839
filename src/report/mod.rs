//! Program measures.
