//! Reference SCIM 2.0 server (RFC 7643/7644), in memory.

use super::BreakInfo;

/// Break switches of the SCIM server.
pub const BREAKS: &[BreakInfo] = &[];
