//! The whole of tests/sync.rs again, with the hub on PostgreSQL (tests/support/hub_db.rs).

#[path = "sync.rs"]
mod suite;
