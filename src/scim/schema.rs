//! RFC 7643 response validation.
