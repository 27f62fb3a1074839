//! The whole of tests/hub.rs again, with the hub on PostgreSQL: a throwaway cluster of the tests'
//! own (tests/support/postgres.rs). The backend follows from this binary's name
//! (tests/support/hub_db.rs).

#[path = "hub.rs"]
mod suite;
