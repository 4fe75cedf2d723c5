//! SAML 2.0 engine: XML, canonicalization, signatures, flows.

pub mod attacks;
pub mod c14n;
pub mod dsig;
pub mod flows;
pub mod idp;
pub mod metadata;
pub mod redirect;
pub mod request;
pub mod response;
pub mod xml;
pub mod xmlenc;
