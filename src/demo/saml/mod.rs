//! Reference SAML 2.0 Service Provider: what a careful, security-conscious vendor ships.
//! It accepts only what a valid signature by a pinned IdP certificate covers, checks every
//! condition SAML core and the Web Browser SSO profile require, and keeps the state that
//! makes a bearer assertion single-use and bound to the browser that asked for it.
//!
//! Each break switch in [`BREAKS`] turns off exactly one of those defences, so that every
//! check of the SAML security suite can be shown to fail on a broken SP.
//!
//! Mount it at the app root: `router.merge(sp.router())` serves `/saml/metadata`,
//! `/saml/login`, `/saml/acs`, `/api/me` and `/app`.

mod acs;
mod decrypt;
mod dtd;
mod http;
mod keyinfo;
mod request;
mod store;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::{BreakInfo, Breaks};

/// Break switches of the SAML SP.
pub const BREAKS: &[BreakInfo] = &[
    BreakInfo {
        name: "saml-signature-optional",
        summary: "unsigned assertions are accepted (a signature present and non-empty is still verified)",
    },
    BreakInfo {
        name: "saml-trust-keyinfo",
        summary: "signatures are verified with whatever key KeyInfo offers (certificate, RSAKeyValue, DER or EC key) instead of the pinned certificate",
    },
    BreakInfo {
        name: "saml-trust-cert-by-subject",
        summary: "a KeyInfo certificate with the pinned certificate's subject DN is trusted (pinning by name, not by key)",
    },
    BreakInfo {
        name: "saml-signature-unbound",
        summary: "any valid signature suffices (its Reference looked up by ID anywhere) and the root's first Assertion child is consumed (XSW)",
    },
    BreakInfo {
        name: "saml-assertion-by-xpath",
        summary: "any valid signature suffices (its Reference looked up by ID anywhere) and the first Assertion anywhere in the document (//saml:Assertion[1]) is consumed (XSW)",
    },
    BreakInfo {
        name: "saml-consume-last-assertion",
        summary: "with several Assertions, any valid signature suffices and the last Assertion is consumed (CVE-2022-41912)",
    },
    BreakInfo {
        name: "saml-parser-differential",
        summary: "signatures are checked on every root element of the input, the Assertion read from the first root only (CVE-2025-25291/25292 class)",
    },
    BreakInfo {
        name: "saml-no-digest-check",
        summary: "Reference digests are not compared: only the SignatureValue over SignedInfo is verified, so signed content can be changed",
    },
    BreakInfo {
        name: "saml-digest-first-node",
        summary: "DigestValue is read from its first child node, so a comment there replaces the digest (CVE-2025-29775)",
    },
    BreakInfo {
        name: "saml-shared-tenant-trust",
        summary: "every tenant trusts every tenant's IdP certificate and issuer (one trust store for the whole app)",
    },
    BreakInfo {
        name: "saml-comment-truncation",
        summary: "the NameID is read as its first text node only, so a comment truncates it",
    },
    BreakInfo {
        name: "saml-no-audience-check",
        summary: "the Audience values are ignored: assertions for other SPs are accepted",
    },
    BreakInfo {
        name: "saml-audience-optional",
        summary: "an assertion without AudienceRestriction is accepted",
    },
    BreakInfo {
        name: "saml-no-recipient-check",
        summary: "SubjectConfirmationData Recipient is not compared with the ACS URL",
    },
    BreakInfo {
        name: "saml-no-destination-check",
        summary: "the Response Destination is not compared with the ACS URL",
    },
    BreakInfo {
        name: "saml-no-issuer-check",
        summary: "the Issuer of the Response and Assertion is not compared with the IdP entity ID",
    },
    BreakInfo {
        name: "saml-no-time-check",
        summary: "NotBefore/NotOnOrAfter are ignored everywhere (Conditions and SubjectConfirmationData)",
    },
    BreakInfo {
        name: "saml-no-subject-expiry-check",
        summary: "SubjectConfirmationData NotOnOrAfter is ignored",
    },
    BreakInfo {
        name: "saml-no-inresponseto-check",
        summary: "any InResponseTo is accepted, outstanding or not",
    },
    BreakInfo {
        name: "saml-inresponseto-any-session",
        summary: "InResponseTo is accepted if it is outstanding for any browser, not only this one",
    },
    BreakInfo {
        name: "saml-no-replay-cache",
        summary: "an Assertion ID can be used any number of times",
    },
    BreakInfo {
        name: "saml-open-redirect",
        summary: "after login, RelayState is followed wherever it points",
    },
    BreakInfo {
        name: "saml-accept-dtd",
        summary: "a DOCTYPE with internal entities is processed (entities expanded; external ones still refused)",
    },
    BreakInfo {
        name: "saml-fetch-external-entities",
        summary: "a DOCTYPE is processed and its external entities fetched (XXE; only from 127.0.0.1, the tester's canary)",
    },
    BreakInfo {
        name: "saml-ignore-status",
        summary: "a Response with a non-Success status is accepted",
    },
    BreakInfo {
        name: "saml-multiple-assertions",
        summary: "a Response with several Assertions is accepted and the first one used",
    },
    BreakInfo {
        name: "saml-jit-disabled",
        summary: "unknown users are rejected: no just-in-time account creation",
    },
    BreakInfo {
        name: "saml-deprovisioned-allowed",
        summary: "deactivated users can still log in",
    },
    BreakInfo {
        name: "saml-wrong-idp-cert",
        summary: "the SP pins its own certificate instead of the IdP's, so every correct login fails",
    },
    BreakInfo {
        name: "saml-accept-sha1",
        summary: "signatures and digests with SHA-1 are accepted",
    },
    BreakInfo {
        name: "saml-email-nameid-only",
        summary: "NameID formats other than emailAddress (unspecified, persistent, none) are refused",
    },
    BreakInfo {
        name: "saml-request-no-destination",
        summary: "the AuthnRequest has no Destination attribute",
    },
    BreakInfo {
        name: "saml-request-wrong-issuer",
        summary: "the AuthnRequest Issuer is the SP base URL instead of its entity ID",
    },
    BreakInfo {
        name: "saml-request-stale-instant",
        summary: "the AuthnRequest IssueInstant is one hour in the past",
    },
    BreakInfo {
        name: "saml-request-bad-id",
        summary: "the AuthnRequest ID starts with a digit, so it is not an xs:ID",
    },
    BreakInfo {
        name: "saml-request-bad-nameid-format",
        summary: "the AuthnRequest's NameIDPolicy Format is `emailAddress`, not a format URI",
    },
    BreakInfo {
        name: "saml-request-wrong-version",
        summary: "the AuthnRequest has Version=\"2.1\"",
    },
    BreakInfo {
        name: "saml-request-wrong-acs",
        summary: "the AuthnRequest ACS URL spells the host differently (localhost for 127.0.0.1) from the registered ACS",
    },
    BreakInfo {
        name: "saml-request-bad-signature",
        summary: "the Redirect signature omits the RelayState that is sent, so it does not verify",
    },
    BreakInfo {
        name: "saml-metadata-expired-cert",
        summary: "the SP metadata publishes an expired signing certificate (for the SP's real key)",
    },
    BreakInfo {
        name: "saml-encryption-unsupported",
        summary: "the metadata offers an encryption certificate, but EncryptedAssertions are refused",
    },
    BreakInfo {
        name: "saml-encryption-cbc-only",
        summary: "EncryptedAssertions with AES-GCM are refused (only the CBC ciphers of XML Encryption 1.0)",
    },
    BreakInfo {
        name: "saml-decrypted-unverified",
        summary: "a decrypted assertion is trusted without its own signature (encryption mistaken for authentication)",
    },
];

/// Which signatures the SP requires over the Assertion it consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequiresSigned {
    /// The Assertion itself must be signed (what most SPs require).
    #[default]
    Assertion,
    /// The Response must be signed (its signature covers the Assertion inside it).
    Response,
    /// Both must be signed.
    Both,
    /// Either signature suffices.
    Either,
}

pub struct SamlSpConfig {
    /// e.g. `http://127.0.0.1:PORT/saml/metadata`
    pub sp_entity_id: String,
    /// e.g. `http://127.0.0.1:PORT`; the ACS is `{base_url}/saml/acs`.
    pub base_url: String,
    pub idp_entity_id: String,
    /// Where `/saml/login` redirects the browser; the SP never contacts it.
    pub idp_sso_url: String,
    /// Trusted IdP signing certificates (pinned: KeyInfo is never trusted).
    pub idp_certs: Vec<X509>,
    /// Signs AuthnRequests (HTTP-Redirect binding: SigAlg + Signature).
    pub sp_key: PKey<Private>,
    pub sp_cert: X509,
    /// Decrypts EncryptedAssertions (RSA key transport); a key of its own, as SPs keep
    /// signing and encryption keys apart. Published as `KeyDescriptor use="encryption"`.
    pub enc_key: PKey<Private>,
    pub enc_cert: X509,
    /// Tolerance for time conditions, in seconds (60 is usual).
    pub clock_skew_secs: i64,
    pub requires_signed: RequiresSigned,
    pub breaks: Breaks,
    /// Asks the app's provisioning (SCIM) whether a NameID's account is active: `Some(false)`
    /// blocks the login, `None` means provisioning does not know the user.
    pub provisioning: Option<ProvisioningLookup>,
}

/// See [`SamlSpConfig::provisioning`].
pub type ProvisioningLookup = std::sync::Arc<dyn Fn(&str) -> Option<bool> + Send + Sync>;

impl fmt::Debug for SamlSpConfig {
    // The private key stays out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SamlSpConfig")
            .field("sp_entity_id", &self.sp_entity_id)
            .field("base_url", &self.base_url)
            .field("idp_entity_id", &self.idp_entity_id)
            .field("idp_sso_url", &self.idp_sso_url)
            .field("idp_certs", &self.idp_certs.len())
            .field("sp_key", &"<redacted>")
            .field("enc_key", &"<redacted>")
            .field("clock_skew_secs", &self.clock_skew_secs)
            .field("requires_signed", &self.requires_signed)
            .field("breaks", &self.breaks)
            .finish()
    }
}

impl SamlSpConfig {
    /// `{base_url}/saml/acs`, the only place the SP accepts assertions.
    pub fn acs_url(&self) -> String {
        format!("{}{}", self.base_url.trim_end_matches('/'), http::ACS_PATH)
    }
}

/// State shared by all requests of one SP.
pub(crate) struct Sp {
    pub cfg: SamlSpConfig,
    /// The certificates signatures are checked against (normally `cfg.idp_certs`).
    pub trusted: Vec<X509>,
    /// The signing certificate the metadata publishes (normally `cfg.sp_cert`); an error
    /// if it could not be made, which the metadata endpoint reports.
    pub published_cert: Result<X509, String>,
    store: Mutex<store::Store>,
    /// Other tenants of the same app (entity ID and certificate of their IdPs): trusted
    /// here only under `saml-shared-tenant-trust`.
    peer_tenants: Mutex<Vec<(String, X509)>>,
}

impl Sp {
    pub fn peer_tenants(&self) -> Vec<(String, X509)> {
        self.peer_tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn store(&self) -> MutexGuard<'_, store::Store> {
        // A poisoned lock still guards consistent data: every store operation completes
        // its map updates without calling code that can panic in between.
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One SP instance; clones share its state.
#[derive(Clone)]
pub struct SamlSp {
    sp: Arc<Sp>,
}

impl fmt::Debug for SamlSp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SamlSp")
            .field("cfg", &self.sp.cfg)
            .finish_non_exhaustive()
    }
}

impl SamlSp {
    pub fn new(cfg: SamlSpConfig) -> Self {
        // The "misconfigured SP": an admin pasted the SP's own certificate into the IdP
        // certificate field, so no genuine IdP signature can ever verify.
        let trusted = if cfg.breaks.has("saml-wrong-idp-cert") {
            vec![cfg.sp_cert.clone()]
        } else {
            cfg.idp_certs.clone()
        };
        // Metadata nobody refreshed: the certificate for the SP's key has lapsed.
        let published_cert = if cfg.breaks.has("saml-metadata-expired-cert") {
            request::expired_cert(&cfg).map_err(|e| e.to_string())
        } else {
            Ok(cfg.sp_cert.clone())
        };
        Self {
            sp: Arc::new(Sp {
                cfg,
                trusted,
                published_cert,
                store: Mutex::new(store::Store::default()),
                peer_tenants: Mutex::new(Vec::new()),
            }),
        }
    }

    /// Routes at the app root (see the module docs); every router made here shares state.
    pub fn router(&self) -> axum::Router {
        http::router(self.sp.clone())
    }

    /// Tells this tenant about another tenant's IdP (what a shared trust store would hold).
    pub fn add_peer_tenant(&self, idp_entity_id: &str, idp_cert: X509) {
        self.sp
            .peer_tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((idp_entity_id.to_string(), idp_cert));
    }

    /// Creates an account before any login, as an admin (or SCIM) would: users that exist
    /// already log in even when JIT provisioning is off.
    pub fn provision(&self, name_id: &str, email: &str) {
        let profile = store::Profile {
            name_id: name_id.to_string(),
            email: Some(email.to_string()),
            first_name: None,
            last_name: None,
            groups: Vec::new(),
        };
        // The only error is a full store, impossible for the few accounts provisioned here.
        let _ = self.sp.store().upsert_account(&profile);
    }

    /// NameIDs of the JIT-provisioned accounts, in creation order.
    pub fn users(&self) -> Vec<String> {
        self.sp.store().user_names()
    }

    /// Blocks SAML login for `name_id` (compared ASCII case-insensitively, as e-mail
    /// addresses are in practice) and ends its sessions: the hook a SCIM deprovisioning
    /// calls. Works for accounts that do not exist yet, so a user deprovisioned before
    /// their first login cannot be JIT-created either.
    pub fn deactivate(&self, name_id: &str) {
        self.sp.store().deactivate(name_id);
    }
}
