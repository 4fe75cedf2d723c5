//! SAML 2.0 engine: XML, canonicalization, signatures, flows.
