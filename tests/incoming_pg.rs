//! The whole of tests/incoming.rs again, with the hub on PostgreSQL (tests/support/hub_db.rs).

#[path = "incoming.rs"]
mod suite;
