// Each test binary uses a different subset of the helpers.
#![allow(dead_code)]
pub mod contract;
pub mod fhir_validator;
pub mod flood;
pub mod hub_db;
pub mod hub_load;
pub mod postgres;
pub mod pty;
pub mod records;
pub mod report_db;
pub mod ssh_server;
