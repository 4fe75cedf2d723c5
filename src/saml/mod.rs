//! SAML 2.0 engine: XML, canonicalization, signatures, flows.

pub mod c14n;
pub mod dsig;
pub mod redirect;
pub mod xml;
