//! The embedded reference vendor app: a careful SCIM server (and, later, SAML SP) on
//! 127.0.0.1, correct by default, with break switches.

pub mod breaks;
pub mod scim;

pub use breaks::{BreakInfo, Breaks, UnknownBreak};

/// Every break switch the reference app knows, across its parts.
pub fn catalogue() -> Vec<BreakInfo> {
    scim::BREAKS.to_vec()
}
