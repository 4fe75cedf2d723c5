//! SCIM 2.0 engine: client, RFC 7643 validation, steps.

pub mod client;
pub mod oauth;
pub mod schema;
