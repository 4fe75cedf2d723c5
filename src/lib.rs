//! oinspect: a conformance tester for SAML 2.0 SSO and SCIM 2.0 provisioning.
//!
//! Data flows plan + target → runner → events → reporters. Protocol engines (`engine`,
//! `scim`, `saml`) return data and never print; reporters never make requests.

pub mod app;
pub mod cli;
pub mod demo;
pub mod diag;
pub mod engine;
pub mod exit;
pub mod http;
pub mod init;
pub mod plan;
pub mod redact;
pub mod report;
pub mod run;
pub mod saml;
pub mod schema;
pub mod scim;
pub mod severity;
pub mod target;
pub mod template;
pub mod yaml;
