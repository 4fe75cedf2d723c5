//! The embedded reference vendor app: a careful SCIM server (and, later, SAML SP) on
//! 127.0.0.1, correct by default, with break switches.

pub mod breaks;
mod oauth;
pub mod saml;
pub mod scim;
mod server;

pub use breaks::{BreakInfo, Breaks, UnknownBreak};
pub use server::{OAUTH_CLIENT_ID, OAUTH_TOKEN_PATH, ReferenceApp, SCIM_BASE_PATH};

/// Every break switch the reference app knows, across its parts.
pub fn catalogue() -> Vec<BreakInfo> {
    [scim::BREAKS, saml::BREAKS].concat()
}
