//! The whole of tests/hub_limits.rs again, with the hub on PostgreSQL (tests/support/hub_db.rs).

#[path = "hub_limits.rs"]
mod suite;
