//! How much a check matters: it decides the exit code and how a finding is presented.

use serde::{Deserialize, Serialize};

/// Severity of a check (or of a single finding inside a check).
///
/// `Critical` and `Required` failures gate the exit code; the others are reported.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational: good practice, never gates anything.
    Advisory,
    /// A spec MUST/SHOULD that the big identity providers tolerate.
    Recommended,
    /// What a gallery review or a real identity provider rejects.
    Required,
    /// Someone who does not hold the IdP's key can log in as another user, or one stolen
    /// assertion works many times: a security review stops here.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Required => "required",
            Self::Recommended => "recommended",
            Self::Advisory => "advisory",
        }
    }
}

impl Severity {
    /// Whether a failure at this severity gates the exit code.
    pub fn gates(self) -> bool {
        self >= Severity::Required
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
