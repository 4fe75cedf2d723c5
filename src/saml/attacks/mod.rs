//! Forged SAML Responses: every known way for someone who does not hold the IdP's key to
//! try to log in as someone else, built from what an attacker really holds (a genuinely
//! signed Response for their own account, the IdP's public certificate, keys of their own).
//!
//! Protocol engine only: a generator returns the exact bytes to post and whom they try to
//! log in as. Posting them, and judging the session that results, is the flow's job
//! (`saml::flows`), and reporting is the runner's.

mod canon;
mod conditions;
mod encryption;
mod kit;
mod matrix;
mod parsing;
mod signature;
mod wrapping;

use std::fmt;

use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::X509;

pub use matrix::{MatrixVariant, Placement, SignatureFate};

use super::idp::{IdpIdentity, self_signed_cert_with_subject};
use super::response::{ResponseError, ResponseSpec};

/// Keys the attacker owns: an RSA key whose self-signed certificate copies the IdP
/// certificate's subject DN (so a DN comparison cannot tell them apart), and an EC key.
pub struct Attacker {
    pub rsa_key: PKey<Private>,
    pub rsa_cert: X509,
    pub ec_key: PKey<Private>,
    pub ec_cert: X509,
}

impl Attacker {
    /// Fresh attacker keys (RSA-2048 and EC P-256) whose self-signed certificates copy the
    /// IdP certificate's whole subject DN (as issuer too) and its validity period: only the
    /// key (and the random serial) tells them apart from the genuine certificate.
    pub fn generate(idp: &IdpIdentity) -> Result<Attacker, AttackError> {
        let subject = idp.cert.subject_name();
        let (not_before, not_after) = (idp.cert.not_before(), idp.cert.not_after());
        let rsa_key = PKey::from_rsa(Rsa::generate(2048)?)?;
        let rsa_cert = self_signed_cert_with_subject(&rsa_key, subject, not_before, not_after)?;
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
        let ec_key = PKey::from_ec_key(EcKey::generate(&group)?)?;
        let ec_cert = self_signed_cert_with_subject(&ec_key, subject, not_before, not_after)?;
        Ok(Attacker {
            rsa_key,
            rsa_cert,
            ec_key,
            ec_cert,
        })
    }
}

impl fmt::Debug for Attacker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attacker").finish_non_exhaustive()
    }
}

/// Everything a generator may use.
pub struct Scenario<'a> {
    /// The IdP the SP trusts; its key signs what the attacker genuinely received.
    pub idp: &'a IdpIdentity,
    pub attacker: &'a Attacker,
    /// The Response a correct login of the *victim* would carry: issuer, destination,
    /// audience, recipient, InResponseTo, validity, sign mode and algorithm as the SP
    /// expects them, `name_id` = the victim. Generators change only what their attack is
    /// about, so that a rejection can only come from the defence under test.
    pub base: ResponseSpec,
    /// The attacker's own account at the IdP: wrapping attacks start from a genuine,
    /// correctly signed Response for this identity.
    pub attacker_identity: String,
    /// The attacker's own attributes (name, groups), as the IdP asserts them for the
    /// attacker's account; empty means "the victim's, with the identity swapped".
    pub attacker_attributes: Vec<(String, Vec<String>)>,
    /// Where external-entity payloads point: oinspect's canary on 127.0.0.1 (one URL per
    /// test, so a fetch is attributable).
    pub canary_url: Option<String>,
    /// The SP's encryption certificate (from its metadata), for the EncryptedAssertion
    /// attacks; `None` when the SP advertises none.
    pub sp_encryption_cert: Option<&'a X509>,
}

/// One forged message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forged {
    /// The exact document to post. A string, not a tree: some payloads (a DOCTYPE, a
    /// second root element, comments inside DigestValue) are the point of the attack.
    pub xml: String,
    /// Whom the forgery tries to log in as: a session as exactly this identity is the
    /// finding.
    pub claimed: String,
    /// The identity the IdP really signed, when the payload contains a genuine assertion:
    /// a session as this one is a correct outcome (a careful SP that processes only what
    /// was signed).
    pub genuine: Option<String>,
    /// One line for the report: what was forged, how.
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    #[error(transparent)]
    Response(#[from] ResponseError),
    #[error("signing the forged message failed: {0}")]
    Sign(#[from] super::dsig::DsigError),
    #[error("cryptography failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
    #[error("the forged document is inconsistent: {0}")]
    Xml(#[from] super::xml::XmlError),
    #[error("{0}")]
    Unsupported(String),
}

/// The forgeries. Names (kebab-case) are what plans write after `attack:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attack {
    // Signatures.
    /// No signature anywhere.
    Unsigned,
    /// Signed by the attacker's key, whose certificate has the IdP's subject DN; no KeyInfo.
    WrongKey,
    /// Signed by the attacker's key, which KeyInfo offers in the given form.
    KeyInfo(KeyInfoForm),
    /// A genuinely signed assertion whose NameID was changed after signing.
    TamperedNameId,
    /// A genuinely signed assertion whose attributes (email, groups) were changed after
    /// signing; the NameID is left alone.
    TamperedAttributes,
    /// The victim's assertion carries the genuine signature of another element (the
    /// attacker's assertion, kept in the Response): the Reference does not point at the
    /// element the signature sits in.
    ReferenceUriMismatch,
    /// The victim's assertion with a Signature whose SignatureValue (and DigestValue) is
    /// empty.
    EmptySignatureValue,
    // Wrapping.
    /// The eight constructions of "On Breaking SAML" (Somorovsky et al. 2012), as SAML
    /// Raider implements them; 1 and 2 wrap a signed Response, 3 to 8 a signed Assertion.
    Xsw(u8),
    /// A genuinely signed assertion followed by an unsigned evil one (CVE-2021-28091,
    /// CVE-2022-41912).
    XswEvilAfterValid,
    /// Two assertions, both genuinely signed, the victim's first.
    MultipleAssertions,
    /// An evil assertion carrying the same ID as the genuinely signed one, placed first.
    DuplicateId,
    /// A signed Response with a non-Success status that carries an assertion for the victim.
    SignedErrorResponse,
    /// One cell of the systematic wrapping matrix.
    Matrix(MatrixVariant),
    // Canonicalization.
    /// `victim@x<!---->.evil.test`: the IdP signed `victim@x.evil.test` (the attacker's
    /// account); c14n drops the comment, a first-text-node reader sees `victim@x`.
    CommentInjectionNameId,
    /// The victim's assertion (changed from a genuine one) with its recomputed digest hidden
    /// in a comment inside DigestValue, the genuine digest after it (CVE-2025-29775).
    DigestComment,
    // Conditions: genuinely signed, one condition wrong.
    Expired,
    NotYetValid,
    SubjectConfirmationExpired,
    AudienceMismatch,
    AudienceMissing,
    RecipientMismatch,
    DestinationMismatch,
    IssuerMismatch,
    StatusNotSuccess,
    /// InResponseTo naming a request the SP never issued.
    InResponseToUnknown,
    /// Genuinely signed, issued this many seconds in the future (positive) or with its
    /// validity ended this many seconds ago (negative): the clock-skew probe.
    Skew(i64),
    // XML parsing.
    /// A DOCTYPE whose internal entity spells the victim's NameID.
    Dtd,
    /// External general and parameter entities pointing at the canary URL.
    Xxe,
    /// Nested internal entities expanding to a bounded size (about 1 MB).
    EntityExpansion,
    // Encryption (when the SP advertises an encryption certificate).
    /// An EncryptedAssertion (for the SP's real encryption key, which is public) whose
    /// inner assertion is signed by the attacker's key.
    EncryptedWrongKey,
    /// An EncryptedAssertion whose inner assertion is not signed at all.
    EncryptedUnsignedInner,
}

/// How the attacker's key is offered in `ds:KeyInfo` (XML-DSig §4.5 and XML-DSig 1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyInfoForm {
    /// `X509Data/X509Certificate` with the attacker's self-signed certificate (IdP's DN).
    X509Certificate,
    /// `X509Data` with the IdP's certificate first and the attacker's second.
    X509CertificateAfterGenuine,
    /// `KeyValue/RSAKeyValue` (Modulus, Exponent), no certificate.
    RsaKeyValue,
    /// `dsig11:DEREncodedKeyValue` (SubjectPublicKeyInfo).
    DerEncodedKeyValue,
    /// `KeyValue/dsig11:ECKeyValue` with an ECDSA-SHA256 signature by the attacker's EC key.
    EcKeyValue,
}

impl KeyInfoForm {
    pub const ALL: [KeyInfoForm; 5] = [
        KeyInfoForm::X509Certificate,
        KeyInfoForm::X509CertificateAfterGenuine,
        KeyInfoForm::RsaKeyValue,
        KeyInfoForm::DerEncodedKeyValue,
        KeyInfoForm::EcKeyValue,
    ];

    pub fn name(self) -> &'static str {
        match self {
            KeyInfoForm::X509Certificate => "x509-certificate",
            KeyInfoForm::X509CertificateAfterGenuine => "x509-certificate-after-genuine",
            KeyInfoForm::RsaKeyValue => "rsa-key-value",
            KeyInfoForm::DerEncodedKeyValue => "der-encoded-key-value",
            KeyInfoForm::EcKeyValue => "ec-key-value",
        }
    }
}

const SIMPLE: &[(&str, Attack)] = &[
    ("unsigned", Attack::Unsigned),
    ("wrong-key", Attack::WrongKey),
    ("tampered-nameid", Attack::TamperedNameId),
    ("tampered-attributes", Attack::TamperedAttributes),
    ("reference-uri-mismatch", Attack::ReferenceUriMismatch),
    ("empty-signature-value", Attack::EmptySignatureValue),
    ("xsw-evil-after-valid", Attack::XswEvilAfterValid),
    ("multiple-assertions", Attack::MultipleAssertions),
    ("duplicate-id", Attack::DuplicateId),
    ("signed-error-response", Attack::SignedErrorResponse),
    ("comment-injection-nameid", Attack::CommentInjectionNameId),
    ("digest-comment", Attack::DigestComment),
    ("expired", Attack::Expired),
    ("not-yet-valid", Attack::NotYetValid),
    (
        "subject-confirmation-expired",
        Attack::SubjectConfirmationExpired,
    ),
    ("audience-mismatch", Attack::AudienceMismatch),
    ("audience-missing", Attack::AudienceMissing),
    ("recipient-mismatch", Attack::RecipientMismatch),
    ("destination-mismatch", Attack::DestinationMismatch),
    ("issuer-mismatch", Attack::IssuerMismatch),
    ("status-not-success", Attack::StatusNotSuccess),
    ("in-response-to-unknown", Attack::InResponseToUnknown),
    ("dtd", Attack::Dtd),
    ("xxe", Attack::Xxe),
    ("entity-expansion", Attack::EntityExpansion),
    ("encrypted-wrong-key", Attack::EncryptedWrongKey),
    ("encrypted-unsigned-inner", Attack::EncryptedUnsignedInner),
];

impl Attack {
    /// Every attack a plan can name with one word (the matrix and skew probes are
    /// parameterised: `xsw-matrix/<placement>/<fate>`, `skew/<seconds>`).
    pub fn all() -> Vec<Attack> {
        let mut all: Vec<Attack> = SIMPLE.iter().map(|(_, a)| *a).collect();
        all.extend(KeyInfoForm::ALL.map(Attack::KeyInfo));
        all.extend((1..=8).map(Attack::Xsw));
        all.extend(MatrixVariant::all().into_iter().map(Attack::Matrix));
        all
    }

    pub fn name(&self) -> String {
        match self {
            Attack::KeyInfo(form) => format!("keyinfo-{}", form.name()),
            Attack::Xsw(n) => format!("xsw{n}"),
            Attack::Matrix(v) => format!("xsw-matrix/{}", v.name()),
            Attack::Skew(secs) => format!("skew/{secs}"),
            other => SIMPLE
                .iter()
                .find(|(_, a)| a == other)
                .map(|(n, _)| (*n).to_string())
                .unwrap_or_default(),
        }
    }

    pub fn from_name(name: &str) -> Option<Attack> {
        if let Some((_, a)) = SIMPLE.iter().find(|(n, _)| *n == name) {
            return Some(*a);
        }
        if let Some(form) = name.strip_prefix("keyinfo-") {
            return KeyInfoForm::ALL
                .into_iter()
                .find(|f| f.name() == form)
                .map(Attack::KeyInfo);
        }
        if let Some(v) = name.strip_prefix("xsw-matrix/") {
            return MatrixVariant::from_name(v).map(Attack::Matrix);
        }
        if let Some(secs) = name.strip_prefix("skew/") {
            return secs.parse().ok().map(Attack::Skew);
        }
        let n: u8 = name.strip_prefix("xsw")?.parse().ok()?;
        (1..=8).contains(&n).then_some(Attack::Xsw(n))
    }
}

impl fmt::Display for Attack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// Builds the forged message for `attack`.
pub fn forge(attack: Attack, s: &Scenario<'_>) -> Result<Forged, AttackError> {
    match attack {
        Attack::Unsigned
        | Attack::WrongKey
        | Attack::KeyInfo(_)
        | Attack::TamperedNameId
        | Attack::TamperedAttributes
        | Attack::ReferenceUriMismatch
        | Attack::EmptySignatureValue => signature::forge(attack, s),
        Attack::Xsw(_)
        | Attack::XswEvilAfterValid
        | Attack::MultipleAssertions
        | Attack::DuplicateId
        | Attack::SignedErrorResponse => wrapping::forge(attack, s),
        Attack::Matrix(v) => matrix::forge(v, s),
        Attack::CommentInjectionNameId | Attack::DigestComment => canon::forge(attack, s),
        Attack::Expired
        | Attack::NotYetValid
        | Attack::SubjectConfirmationExpired
        | Attack::AudienceMismatch
        | Attack::AudienceMissing
        | Attack::RecipientMismatch
        | Attack::DestinationMismatch
        | Attack::IssuerMismatch
        | Attack::StatusNotSuccess
        | Attack::InResponseToUnknown
        | Attack::Skew(_) => conditions::forge(attack, s),
        Attack::Dtd | Attack::Xxe | Attack::EntityExpansion => parsing::forge(attack, s),
        Attack::EncryptedWrongKey | Attack::EncryptedUnsignedInner => encryption::forge(attack, s),
    }
}
