//! oinspect: a conformance tester for SAML 2.0 SSO and SCIM 2.0 provisioning.

pub mod demo;
pub mod saml;
pub mod scim;
pub mod severity;
