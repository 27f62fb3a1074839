//! The daily packet.
