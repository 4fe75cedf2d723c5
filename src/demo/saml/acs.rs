//! The Assertion Consumer Service checks: everything between a posted `SAMLResponse` and a
//! session. Each defence is one check in one place, so that its break switch turns off that
//! check and nothing else.
//!
//! The rule that matters most: only what a valid signature by a pinned IdP certificate
//! covers is consumed. The Assertion is taken by the path the signature verification
//! returned (or as the direct child of a signed Response), never looked up again by name
//! or ID, which is what signature-wrapping attacks rely on.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::x509::X509;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::dtd::{self, DtdError};
use super::request::{NAMEID_EMAIL, PROTOCOL_NS};
use super::store::{Profile, Solicited, StoreError};
use super::{RequiresSigned, Sp};
use crate::saml::dsig::{
    self, DSIG_NS, DsigError, MAX_SIGNATURES, SAML_ASSERTION_NS as SAML, VerifiedReference,
    VerifyPolicy,
};
use crate::saml::xml::{Document, Element, Limits, Node, NodePath, XmlError};

pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
pub const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";

/// Parse limits for a posted Response: far above any real one (hundreds of attributes),
/// far below what would let a hostile one cost real memory or time.
const LIMITS: Limits = Limits {
    max_input_bytes: 1024 * 1024,
    max_depth: 64,
    max_elements: 20_000,
    max_attributes_per_element: 64,
    max_namespace_declarations: 1024,
};
/// Parse limits after entity expansion (the DTD-processing breaks only): room for what the
/// expansion caps allow, so that a bounded billion-laughs payload is processed as a
/// permissive parser would.
const EXPANDED_LIMITS: Limits = Limits {
    max_input_bytes: dtd::MAX_EXPANDED_BYTES + LIMITS.max_input_bytes,
    ..LIMITS
};
/// Largest clock skew honoured, whatever the configuration says.
pub const MAX_CLOCK_SKEW_SECS: i64 = 60 * 60;
/// Most values kept for one attribute (groups).
const MAX_ATTRIBUTE_VALUES: usize = 1000;

/// Why a Response was refused; the message is the reason shown on the error page.
#[derive(Debug, thiserror::Error)]
pub enum AcsError {
    #[error("the form has no SAMLResponse")]
    MissingResponse,
    #[error("SAMLResponse is not valid base64")]
    Base64,
    #[error("the Response is not UTF-8")]
    NotUtf8,
    #[error("DOCTYPE refused: {0}")]
    Dtd(#[from] DtdError),
    #[error("the Response is not acceptable XML: {0}")]
    Xml(#[from] XmlError),
    #[error("the message is <{0}>, not a samlp:Response")]
    NotAResponse(String),
    #[error("the Response has no Status/StatusCode")]
    NoStatus,
    #[error("the IdP answered with status {0}")]
    Status(String),
    /// Deliberately without the reason: see `decrypt::refusal`.
    #[error("the EncryptedAssertion could not be decrypted")]
    Decryption(#[source] crate::saml::xmlenc::XmlEncError),
    #[error("the EncryptedAssertion is not acceptable: {0}")]
    EncryptedAssertion(#[source] crate::saml::xmlenc::XmlEncError),
    #[error("encrypted assertions with {0} are not supported")]
    UnsupportedEncryption(String),
    #[error("the Response has no Assertion")]
    NoAssertion,
    #[error("the Response has {0} Assertions; exactly one is accepted")]
    AssertionCount(usize),
    #[error("signature verification failed: {0}")]
    Signature(#[from] DsigError),
    #[error("the signature's KeyInfo offers no usable key")]
    NoKeyInfoCert,
    #[error("{0} is not signed by the IdP")]
    NotSigned(&'static str),
    #[error("the {what} Issuer {found:?} is not the IdP {expected:?}")]
    Issuer {
        what: &'static str,
        found: Option<String>,
        expected: String,
    },
    #[error("the Response Destination {found:?} is not this ACS")]
    Destination { found: String },
    #[error("the Response is signed but has no Destination")]
    DestinationMissing,
    #[error("the Assertion has no ID")]
    NoAssertionId,
    #[error("the Assertion has no Subject with a NameID")]
    NoNameId,
    #[error("the NameID format {0} is not accepted: only emailAddress is")]
    NameIdFormat(String),
    #[error("the NameID is empty")]
    EmptyNameId,
    #[error("the Subject has no bearer SubjectConfirmation")]
    NoBearer,
    #[error("SubjectConfirmationData Recipient {found:?} is not this ACS")]
    Recipient { found: Option<String> },
    #[error("SubjectConfirmationData has no NotOnOrAfter")]
    SubjectNoExpiry,
    #[error("the SubjectConfirmation has expired (NotOnOrAfter {0})")]
    SubjectExpired(String),
    #[error("the SubjectConfirmation is not yet valid (NotBefore {0})")]
    SubjectNotYetValid(String),
    #[error("the Assertion is not yet valid (NotBefore {0})")]
    NotYetValid(String),
    #[error("the Assertion has expired (NotOnOrAfter {0})")]
    Expired(String),
    #[error("the Assertion has no AudienceRestriction")]
    NoAudienceRestriction,
    #[error("this SP is not in the Assertion's audience {found:?}")]
    Audience { found: Vec<String> },
    #[error("invalid time {0:?}")]
    Time(String),
    #[error(
        "InResponseTo differs between the Response ({response:?}) and the Assertion ({assertion:?})"
    )]
    InResponseToMismatch { response: String, assertion: String },
    #[error("InResponseTo {0:?} answers no outstanding request")]
    InResponseToUnknown(String),
    #[error("InResponseTo {0:?} answers a request made by another browser")]
    InResponseToOtherBrowser(String),
    #[error("Assertion {0:?} was already used")]
    Replay(String),
    #[error("the account {0:?} is deactivated")]
    Deactivated(String),
    #[error("no account for {0:?}, and accounts are not created on login")]
    NoAccount(String),
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Which signatures cover the Assertion that is consumed.
#[derive(Debug, Clone, Copy, Default)]
struct Coverage {
    response: bool,
    assertion: bool,
}

/// What the store-independent checks extracted.
struct Checked {
    assertion_id: String,
    profile: Profile,
    response_irt: Option<String>,
    confirmation_irt: Option<String>,
    valid_until: i64,
}

/// Runs every check on a base64 `SAMLResponse`; on success creates or refreshes the
/// account and starts a session, whose cookie value is returned.
pub fn consume(
    sp: &Sp,
    saml_response: &str,
    login_cookie: Option<&str>,
    now: OffsetDateTime,
) -> Result<String, AcsError> {
    let now = now.unix_timestamp();
    let compact: String = saml_response
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = B64
        .decode(compact.as_bytes())
        .map_err(|_| AcsError::Base64)?;
    let xml = String::from_utf8(bytes).map_err(|_| AcsError::NotUtf8)?;
    let (doc, recovered) = parse(sp, &xml)?;
    let checked = check_document(sp, &doc, recovered.as_ref().unwrap_or(&doc), now)?;

    // Everything touching shared state happens under one lock, so that "not seen yet" and
    // "now seen" cannot interleave with a concurrent post of the same assertion.
    let mut store = sp.store();
    let request_id = check_in_response_to(
        sp,
        &store,
        checked.response_irt.as_deref(),
        checked.confirmation_irt.as_deref(),
        login_cookie,
        now,
    )?;
    if !sp.cfg.breaks.has("saml-no-replay-cache") && store.seen(&checked.assertion_id, now) {
        return Err(AcsError::Replay(checked.assertion_id));
    }
    let name_id = &checked.profile.name_id;
    let deprovisioned = store.is_deactivated(name_id)
        || sp
            .cfg
            .provisioning
            .as_ref()
            .is_some_and(|active| active(name_id) == Some(false));
    if deprovisioned && !sp.cfg.breaks.has("saml-deprovisioned-allowed") {
        return Err(AcsError::Deactivated(name_id.clone()));
    }
    if !store.account_exists(name_id) && sp.cfg.breaks.has("saml-jit-disabled") {
        return Err(AcsError::NoAccount(name_id.clone()));
    }
    store.record_assertion(&checked.assertion_id, checked.valid_until, now)?;
    store.upsert_account(&checked.profile)?;
    if let Some(id) = request_id {
        store.remove_outstanding(&id);
    }
    Ok(store.new_session(name_id, now))
}

/// The document the application reads and, under `saml-parser-differential` when the input
/// has more than one root, the document signatures are verified on.
fn parse(sp: &Sp, xml: &str) -> Result<(Document, Option<Document>), AcsError> {
    if parser_differential(sp) {
        return parse_differential(xml);
    }
    Ok((parse_one(sp, xml)?, None))
}

fn parse_one(sp: &Sp, xml: &str) -> Result<Document, AcsError> {
    if sp.cfg.breaks.has("saml-fetch-external-entities") {
        let expanded = dtd::expand_entities(xml, Some(&dtd::fetch_loopback))?;
        return Ok(Document::parse_with_limits(&expanded, &EXPANDED_LIMITS)?);
    }
    if sp.cfg.breaks.has("saml-accept-dtd") {
        let expanded = dtd::expand_internal_entities(xml)?;
        return Ok(Document::parse_with_limits(&expanded, &EXPANDED_LIMITS)?);
    }
    Ok(Document::parse_with_limits(xml, &LIMITS)?)
}

/// Two parsers disagreeing about where the document ends (ruby-saml's REXML/Nokogiri split,
/// CVE-2025-25291/25292): the application's parser stops after the first root element, the
/// signature checker's recovering parser keeps every root, side by side.
fn parse_differential(xml: &str) -> Result<(Document, Option<Document>), AcsError> {
    let position = match Document::parse_with_limits(xml, &LIMITS) {
        Err(
            XmlError::MultipleRoots { position }
            | XmlError::TextOutsideRoot { position }
            | XmlError::MisplacedDeclaration { position },
        ) => position,
        other => return Ok((other?, None)),
    };
    let end = usize::try_from(position)
        .ok()
        .filter(|&p| xml.is_char_boundary(p))
        .ok_or(XmlError::NoRootElement)?;
    let first = Document::parse_with_limits(&xml[..end], &LIMITS)?;
    // Concatenated documents: each XML declaration dropped, every root kept.
    let mut body = String::with_capacity(xml.len());
    let mut rest = xml;
    while let Some(at) = rest.find("<?xml") {
        body.push_str(&rest[..at]);
        rest = rest[at..].split_once("?>").map_or("", |(_, after)| after);
    }
    body.push_str(rest);
    let everything =
        Document::parse_with_limits(&format!("<recovered>{body}</recovered>"), &LIMITS)?;
    Ok((first, Some(everything)))
}

/// The checks that need only the document and the clock.
/// `signed` is the document signatures are verified on: `doc` itself, except under
/// `saml-parser-differential`.
fn check_document(
    sp: &Sp,
    doc: &Document,
    signed: &Document,
    now: i64,
) -> Result<Checked, AcsError> {
    let cfg = &sp.cfg;
    let root = &doc.root;
    if !root.is(PROTOCOL_NS, "Response") {
        return Err(AcsError::NotAResponse(root.name.qualified()));
    }
    check_status(sp, root)?;

    let refs = verify_signatures(sp, signed)?;
    // An EncryptedAssertion is decrypted and its own signatures verified (decrypt.rs); the
    // checks below then run on it exactly as on a plain Assertion.
    let decrypted = super::decrypt::open(sp, doc, |inner| verify_signatures(sp, inner))?;
    let (assertion, coverage, inner_refs) = match &decrypted {
        Some(d) => {
            // A Response signature covers the EncryptedAssertion, so what it decrypts to.
            let response = refs
                .iter()
                .any(|r| r.signed_element_path == NodePath::default());
            let coverage = Coverage {
                response,
                assertion: d.signed,
            };
            (&d.assertion.root, coverage, d.refs.as_slice())
        }
        None => {
            let (assertion_path, coverage) = select_assertion(sp, doc, &refs)?;
            // Invariant: select_assertion returns a path to an element of this document.
            let assertion = doc.get(&assertion_path).ok_or(AcsError::NoAssertion)?;
            (assertion, coverage, &[][..])
        }
    };
    check_coverage(sp, &[refs.as_slice(), inner_refs].concat(), coverage)?;

    check_issuers(sp, root, assertion)?;
    check_destination(sp, root, coverage)?;

    let assertion_id = assertion
        .attr("ID")
        .filter(|id| !id.is_empty())
        .ok_or(AcsError::NoAssertionId)?
        .to_string();
    let subject = assertion
        .find_child(SAML, "Subject")
        .ok_or(AcsError::NoNameId)?;
    let name_id_el = subject
        .find_child(SAML, "NameID")
        .ok_or(AcsError::NoNameId)?;
    // The SP that keys accounts on e-mail only and refuses whatever else IdPs send by
    // default (an absent Format means unspecified).
    let format = name_id_el.attr("Format");
    if sp.cfg.breaks.has("saml-email-nameid-only") && format != Some(NAMEID_EMAIL) {
        return Err(AcsError::NameIdFormat(
            format.unwrap_or("absent (unspecified)").to_string(),
        ));
    }
    let name_id = name_id_text(sp, name_id_el);
    if name_id.is_empty() {
        return Err(AcsError::EmptyNameId);
    }
    // Clamped so that time arithmetic cannot overflow (parsed times lie within ±10000
    // years) and a typo in the configuration cannot disable expiry altogether.
    let skew = cfg.clock_skew_secs.clamp(0, MAX_CLOCK_SKEW_SECS);
    let (confirmation_irt, subject_until) = check_subject_confirmation(sp, subject, now, skew)?;
    let conditions_until = check_conditions(sp, assertion, now, skew)?;

    let valid_until = subject_until
        .into_iter()
        .chain(conditions_until)
        .max()
        .unwrap_or(now)
        + skew;
    Ok(Checked {
        assertion_id,
        profile: profile(name_id, assertion),
        response_irt: root.attr("InResponseTo").map(str::to_string),
        confirmation_irt,
        valid_until,
    })
}

fn check_status(sp: &Sp, root: &Element) -> Result<(), AcsError> {
    let code = root
        .find_child(PROTOCOL_NS, "Status")
        .and_then(|s| s.find_child(PROTOCOL_NS, "StatusCode"))
        .and_then(|c| c.attr("Value"))
        .ok_or(AcsError::NoStatus)?;
    if code != STATUS_SUCCESS && !sp.cfg.breaks.has("saml-ignore-status") {
        return Err(AcsError::Status(code.to_string()));
    }
    Ok(())
}

/// Verifies every signature in the document; any invalid or untrusted one fails the whole
/// Response. No signature at all gives an empty list (the coverage check decides).
fn verify_signatures(sp: &Sp, doc: &Document) -> Result<Vec<VerifiedReference>, AcsError> {
    // SHA-1 collisions are practical: a careful SP refuses SHA-1 digests and signatures.
    let policy = if sp.cfg.breaks.has("saml-accept-sha1") {
        VerifyPolicy::default()
    } else {
        VerifyPolicy::modern()
    };
    let mut paths = dsig::signature_paths(doc);
    // Verifiers that pick signatures by name skip a `Signature` that is only a container
    // (no SignedInfo), where a strict one refuses it.
    if unbound(sp) {
        paths.retain(|p| {
            doc.get(p)
                .is_some_and(|s| s.find_child(DSIG_NS, "SignedInfo").is_some())
        });
    }
    // The vulnerable pattern "verify the signature if there is one" also skips a
    // signature whose value is empty.
    if signature_optional(sp) {
        paths.retain(|p| !signature_value_empty(doc, p));
    }
    if paths.len() > MAX_SIGNATURES {
        return Err(DsigError::TooManySignatures {
            found: paths.len(),
            limit: MAX_SIGNATURES,
        }
        .into());
    }
    let laxity = dsig::Laxity {
        detached_reference: unbound(sp),
        digest_from_first_node: sp.cfg.breaks.has("saml-digest-first-node"),
        ignore_digest: sp.cfg.breaks.has("saml-no-digest-check"),
    };
    let mut trusted = sp.trusted.clone();
    // A multi-tenant SP with one trust store for all tenants' IdPs.
    if shared_tenant_trust(sp) {
        trusted.extend(sp.peer_tenants().into_iter().map(|(_, cert)| cert));
    }
    let mut refs = Vec::with_capacity(paths.len());
    for path in &paths {
        let offered: Vec<X509>;
        let trusted: &[X509] = if sp.cfg.breaks.has("saml-trust-keyinfo") {
            offered = key_info_keys(doc, path)?;
            &offered
        } else if sp.cfg.breaks.has("saml-trust-cert-by-subject") {
            // "Pinning" by name: a KeyInfo certificate whose subject DN is the configured
            // certificate's is taken as that certificate.
            offered = key_info_keys(doc, path)
                .unwrap_or_default()
                .into_iter()
                .filter(|c| same_subject(c, &trusted))
                .chain(trusted.iter().cloned())
                .collect();
            &offered
        } else {
            &trusted
        };
        refs.push(dsig::verify_signature_at_lax(
            doc, path, trusted, &policy, laxity,
        )?);
    }
    Ok(refs)
}

/// The vulnerable pattern "verify the signature if there is one" (absent or empty).
fn signature_optional(sp: &Sp) -> bool {
    sp.cfg.breaks.has("saml-signature-optional")
}

fn same_subject(cert: &X509, trusted: &[X509]) -> bool {
    let name = |c: &X509| c.subject_name().to_der().ok();
    trusted
        .iter()
        .any(|t| name(t).is_some() && name(t) == name(cert))
}

fn signature_value_empty(doc: &Document, sig_path: &NodePath) -> bool {
    doc.get(sig_path)
        .and_then(|s| s.find_child(DSIG_NS, "SignatureValue"))
        .is_some_and(|v| v.text().trim().is_empty())
}

/// Every key a signature's KeyInfo offers (trusted only by the `saml-trust-keyinfo` break).
fn key_info_keys(doc: &Document, sig_path: &NodePath) -> Result<Vec<X509>, AcsError> {
    let keys = doc
        .get(sig_path)
        .and_then(|s| s.find_child(DSIG_NS, "KeyInfo"))
        .map(super::keyinfo::offered_keys)
        .unwrap_or_default();
    if keys.is_empty() {
        return Err(AcsError::NoKeyInfoCert);
    }
    Ok(keys)
}

/// Picks the Assertion to consume and which signatures cover it.
fn select_assertion(
    sp: &Sp,
    doc: &Document,
    refs: &[VerifiedReference],
) -> Result<(NodePath, Coverage), AcsError> {
    let root = &doc.root;
    let direct: Vec<NodePath> = root
        .indexed_child_elements()
        .filter(|(_, e)| e.is(SAML, "Assertion"))
        .map(|(i, _)| NodePath(vec![i]))
        .collect();
    let Some(first) = direct.first() else {
        return Err(AcsError::NoAssertion);
    };
    // SAML allows several; which one an application reads is then a guess, so take none.
    let consume_last = consume_last(sp);
    if direct.len() > 1
        && !sp.cfg.breaks.has("saml-multiple-assertions")
        && !consume_last
        && !unbound(sp)
    {
        return Err(AcsError::AssertionCount(direct.len()));
    }
    if consume_last && direct.len() > 1 {
        // CVE-2022-41912 (crewjam/saml): a valid signature is found, the last Assertion's
        // subject is used.
        let signed = !refs.is_empty();
        let coverage = Coverage {
            response: signed,
            assertion: signed,
        };
        let last = direct.last().unwrap_or(first).clone();
        return Ok((last, coverage));
    }
    if unbound(sp) {
        // The classic mistake: "is there a valid signature?" then a second, independent
        // lookup of the Assertion to use: two questions about possibly different elements.
        // `saml-signature-unbound` reads the root's first Assertion child,
        // `saml-assertion-by-xpath` the first Assertion anywhere (`//saml:Assertion[1]`).
        let found = if by_xpath(sp) {
            doc.elements()
                .into_iter()
                .find(|(_, e)| e.is(SAML, "Assertion"))
                .map(|(p, _)| p)
                .ok_or(AcsError::NoAssertion)?
        } else {
            first.clone()
        };
        let signed = !refs.is_empty();
        let coverage = Coverage {
            response: signed,
            assertion: signed,
        };
        return Ok((found, coverage));
    }
    // The Response signature covers the whole tree (it is the root); an Assertion signature
    // covers exactly the element at its path.
    let root_path = NodePath::default();
    let coverage = Coverage {
        response: refs.iter().any(|r| r.signed_element_path == root_path),
        assertion: refs.iter().any(|r| &r.signed_element_path == first),
    };
    Ok((first.clone(), coverage))
}

/// Whether a break makes signature verification and Assertion selection two unrelated
/// questions (signature wrapping).
fn unbound(sp: &Sp) -> bool {
    let b = &sp.cfg.breaks;
    b.has("saml-signature-unbound") || by_xpath(sp) || consume_last(sp) || parser_differential(sp)
}

/// CVE-2022-41912's consumer: the last of several Assertions.
fn consume_last(sp: &Sp) -> bool {
    sp.cfg.breaks.has("saml-consume-last-assertion")
}

/// No validity window is checked anywhere (Conditions and SubjectConfirmationData).
fn ignores_time(sp: &Sp) -> bool {
    sp.cfg.breaks.has("saml-no-time-check")
}

/// Two parsers disagreeing on where the document ends.
fn parser_differential(sp: &Sp) -> bool {
    sp.cfg.breaks.has("saml-parser-differential")
}

/// One trust store for every tenant's IdP.
fn shared_tenant_trust(sp: &Sp) -> bool {
    sp.cfg.breaks.has("saml-shared-tenant-trust")
}

/// The consumer of `saml-assertion-by-xpath`: the first Assertion anywhere.
fn by_xpath(sp: &Sp) -> bool {
    sp.cfg.breaks.has("saml-assertion-by-xpath")
}

fn check_coverage(sp: &Sp, refs: &[VerifiedReference], c: Coverage) -> Result<(), AcsError> {
    let missing = match sp.cfg.requires_signed {
        RequiresSigned::Assertion => (!c.assertion).then_some("the Assertion"),
        RequiresSigned::Response => (!c.response).then_some("the Response"),
        RequiresSigned::Both if !c.response => Some("the Response"),
        RequiresSigned::Both => (!c.assertion).then_some("the Assertion"),
        RequiresSigned::Either => {
            (!c.assertion && !c.response).then_some("neither the Response nor the Assertion")
        }
    };
    match missing {
        // The vulnerable pattern: "verify the signature if there is one".
        Some(_) if refs.is_empty() && signature_optional(sp) => Ok(()),
        Some(what) => Err(AcsError::NotSigned(what)),
        None => Ok(()),
    }
}

fn check_issuers(sp: &Sp, root: &Element, assertion: &Element) -> Result<(), AcsError> {
    if sp.cfg.breaks.has("saml-no-issuer-check") {
        return Ok(());
    }
    let expected = &sp.cfg.idp_entity_id;
    // A multi-tenant SP with one trust store also accepts every tenant's IdP as issuer.
    if shared_tenant_trust(sp) {
        let issuer = assertion
            .find_child(SAML, "Issuer")
            .map(|i| i.text().trim().to_string());
        if let Some(found) = issuer
            && sp.peer_tenants().iter().any(|(entity, _)| *entity == found)
        {
            return Ok(());
        }
    }
    let issuer = |e: &Element| {
        e.find_child(SAML, "Issuer")
            .map(|i| i.text().trim().to_string())
    };
    // The Response Issuer is optional; when present it must name the IdP too.
    if let Some(found) = issuer(root)
        && &found != expected
    {
        return Err(AcsError::Issuer {
            what: "Response",
            found: Some(found),
            expected: expected.clone(),
        });
    }
    match issuer(assertion) {
        Some(found) if &found == expected => Ok(()),
        found => Err(AcsError::Issuer {
            what: "Assertion",
            found,
            expected: expected.clone(),
        }),
    }
}

/// SAML bindings §3.5.5.2: a signed Response must carry Destination, and a Destination
/// present must be the URL the message arrived at.
fn check_destination(sp: &Sp, root: &Element, c: Coverage) -> Result<(), AcsError> {
    if sp.cfg.breaks.has("saml-no-destination-check") {
        return Ok(());
    }
    match root.attr("Destination") {
        Some(d) if d == sp.cfg.acs_url() => Ok(()),
        Some(d) => Err(AcsError::Destination {
            found: d.to_string(),
        }),
        None if c.response => Err(AcsError::DestinationMissing),
        None => Ok(()),
    }
}

/// The NameID value: all its text nodes, so that a comment (which c14n drops from the
/// signed bytes) cannot split `victim@example.com<!---->.evil.test` into two values.
fn name_id_text(sp: &Sp, el: &Element) -> String {
    if sp.cfg.breaks.has("saml-comment-truncation") {
        let first = el.children.iter().find_map(|n| match n {
            Node::Text(t) => Some(t.as_str()),
            _ => None,
        });
        return first.unwrap_or_default().trim().to_string();
    }
    el.text().trim().to_string()
}

fn parse_time(s: &str) -> Result<i64, AcsError> {
    let s = s.trim();
    OffsetDateTime::parse(s, &Rfc3339)
        // SAML times are UTC; some IdPs leave the `Z` out.
        .or_else(|_| OffsetDateTime::parse(&format!("{s}Z"), &Rfc3339))
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| AcsError::Time(s.to_string()))
}

/// Finds a bearer SubjectConfirmation whose data passes every check (Web SSO profile
/// §4.1.4.2); returns its InResponseTo and NotOnOrAfter. When none passes, the first
/// failure is the reason.
fn check_subject_confirmation(
    sp: &Sp,
    subject: &Element,
    now: i64,
    skew: i64,
) -> Result<(Option<String>, Option<i64>), AcsError> {
    let mut first_error = None;
    for sc in subject
        .find_children(SAML, "SubjectConfirmation")
        .filter(|sc| sc.attr("Method") == Some(BEARER))
    {
        match check_bearer_data(
            sp,
            sc.find_child(SAML, "SubjectConfirmationData"),
            now,
            skew,
        ) {
            Ok(found) => return Ok(found),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or(AcsError::NoBearer))
}

fn check_bearer_data(
    sp: &Sp,
    data: Option<&Element>,
    now: i64,
    skew: i64,
) -> Result<(Option<String>, Option<i64>), AcsError> {
    let attr = |name: &str| data.and_then(|d| d.attr(name));
    if !sp.cfg.breaks.has("saml-no-recipient-check") {
        let recipient = attr("Recipient");
        if recipient != Some(sp.cfg.acs_url().as_str()) {
            return Err(AcsError::Recipient {
                found: recipient.map(str::to_string),
            });
        }
    }
    let until = attr("NotOnOrAfter").map(parse_time).transpose()?;
    if !sp.cfg.breaks.has("saml-no-subject-expiry-check") && !ignores_time(sp) {
        let not_on_or_after = until.ok_or(AcsError::SubjectNoExpiry)?;
        if now - skew >= not_on_or_after {
            return Err(AcsError::SubjectExpired(
                attr("NotOnOrAfter").unwrap_or_default().to_string(),
            ));
        }
        if let Some(nb) = attr("NotBefore")
            && now + skew < parse_time(nb)?
        {
            return Err(AcsError::SubjectNotYetValid(nb.to_string()));
        }
    }
    Ok((attr("InResponseTo").map(str::to_string), until))
}

/// Conditions (SAML core §2.5): the validity window and the audience. Returns NotOnOrAfter.
fn check_conditions(
    sp: &Sp,
    assertion: &Element,
    now: i64,
    skew: i64,
) -> Result<Option<i64>, AcsError> {
    let conditions = assertion.find_child(SAML, "Conditions");
    let attr = |name: &str| conditions.and_then(|c| c.attr(name));
    let not_before = attr("NotBefore").map(parse_time).transpose()?;
    let not_on_or_after = attr("NotOnOrAfter").map(parse_time).transpose()?;
    if !ignores_time(sp) {
        if let Some(nb) = not_before
            && now + skew < nb
        {
            return Err(AcsError::NotYetValid(
                attr("NotBefore").unwrap_or_default().to_string(),
            ));
        }
        if let Some(nooa) = not_on_or_after
            && now - skew >= nooa
        {
            return Err(AcsError::Expired(
                attr("NotOnOrAfter").unwrap_or_default().to_string(),
            ));
        }
    }
    let restrictions: Vec<&Element> = conditions
        .map(|c| c.find_children(SAML, "AudienceRestriction").collect())
        .unwrap_or_default();
    // A bearer assertion without an audience is good at every SP that trusts the IdP.
    if restrictions.is_empty() && !sp.cfg.breaks.has("saml-audience-optional") {
        return Err(AcsError::NoAudienceRestriction);
    }
    if !sp.cfg.breaks.has("saml-no-audience-check") {
        // Several AudienceRestrictions must all hold; within one, any Audience matches.
        for r in restrictions {
            let audiences: Vec<String> = r
                .find_children(SAML, "Audience")
                .map(|a| a.text().trim().to_string())
                .collect();
            if !audiences.iter().any(|a| a == &sp.cfg.sp_entity_id) {
                return Err(AcsError::Audience { found: audiences });
            }
        }
    }
    Ok(not_on_or_after)
}

/// The request a Response answers, if any: unsolicited (IdP-initiated) Responses carry no
/// InResponseTo; a solicited one must answer a request this very browser started.
fn check_in_response_to(
    sp: &Sp,
    store: &super::store::Store,
    response: Option<&str>,
    confirmation: Option<&str>,
    login_cookie: Option<&str>,
    now: i64,
) -> Result<Option<String>, AcsError> {
    if sp.cfg.breaks.has("saml-no-inresponseto-check") {
        return Ok(None);
    }
    let id = match (response, confirmation) {
        (Some(r), Some(a)) if r != a => {
            return Err(AcsError::InResponseToMismatch {
                response: r.to_string(),
                assertion: a.to_string(),
            });
        }
        (r, a) => r.or(a),
    };
    let Some(id) = id else {
        return Ok(None);
    };
    match store.solicited(id, login_cookie, now) {
        Solicited::ThisBrowser => Ok(Some(id.to_string())),
        // Accepting another browser's request lets an attacker's login land in the
        // victim's browser (login CSRF), or a stolen Response be used anywhere.
        Solicited::OtherBrowser if sp.cfg.breaks.has("saml-inresponseto-any-session") => {
            Ok(Some(id.to_string()))
        }
        Solicited::OtherBrowser => Err(AcsError::InResponseToOtherBrowser(id.to_string())),
        Solicited::Unknown => Err(AcsError::InResponseToUnknown(id.to_string())),
    }
}

/// The account attributes, from the consumed Assertion only. Common aliases (LDAP OIDs,
/// Microsoft claim URIs) are accepted so that real IdPs' defaults work.
fn profile(name_id: String, assertion: &Element) -> Profile {
    const EMAIL: &[&str] = &[
        "email",
        "mail",
        "emailaddress",
        "urn:oid:0.9.2342.19200300.100.1.3",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    ];
    const FIRST: &[&str] = &[
        "firstname",
        "first_name",
        "givenname",
        "urn:oid:2.5.4.42",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    ];
    const LAST: &[&str] = &[
        "lastname",
        "last_name",
        "sn",
        "surname",
        "urn:oid:2.5.4.4",
        "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    ];
    const GROUPS: &[&str] = &[
        "groups",
        "memberof",
        "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
    ];
    let mut p = Profile {
        name_id,
        ..Profile::default()
    };
    let attributes = assertion
        .find_children(SAML, "AttributeStatement")
        .flat_map(|s| s.find_children(SAML, "Attribute"));
    for a in attributes {
        let name = a.attr("Name").unwrap_or_default().to_ascii_lowercase();
        let values = || {
            a.find_children(SAML, "AttributeValue")
                .map(|v| v.text().trim().to_string())
        };
        let first = || values().next().filter(|v| !v.is_empty());
        if EMAIL.contains(&name.as_str()) {
            p.email = p.email.or_else(first);
        } else if FIRST.contains(&name.as_str()) {
            p.first_name = p.first_name.or_else(first);
        } else if LAST.contains(&name.as_str()) {
            p.last_name = p.last_name.or_else(first);
        } else if GROUPS.contains(&name.as_str()) {
            let room = MAX_ATTRIBUTE_VALUES.saturating_sub(p.groups.len());
            p.groups
                .extend(values().filter(|v| !v.is_empty()).take(room));
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_and_without_zone() {
        assert_eq!(parse_time("1970-01-01T00:01:00Z").unwrap(), 60);
        assert_eq!(parse_time("1970-01-01T00:01:00.123Z").unwrap(), 60);
        assert_eq!(parse_time(" 1970-01-01T00:01:00 ").unwrap(), 60);
        assert_eq!(parse_time("1970-01-01T01:01:00+01:00").unwrap(), 60);
        assert!(matches!(parse_time("yesterday"), Err(AcsError::Time(_))));
    }

    #[test]
    fn attributes_map_with_aliases_and_bounds() {
        let values: String = (0..MAX_ATTRIBUTE_VALUES + 5)
            .map(|i| format!("<saml:AttributeValue>g{i}</saml:AttributeValue>"))
            .collect();
        let xml = format!(
            r#"<saml:Assertion xmlns:saml="{SAML}">
  <saml:AttributeStatement>
    <saml:Attribute Name="urn:oid:0.9.2342.19200300.100.1.3"><saml:AttributeValue>a@x.test</saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="givenName"><saml:AttributeValue> Ada </saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="lastName"><saml:AttributeValue>Love<!---->lace</saml:AttributeValue></saml:Attribute>
    <saml:Attribute Name="groups">{values}</saml:Attribute>
  </saml:AttributeStatement>
</saml:Assertion>"#
        );
        let doc = Document::parse(&xml).unwrap();
        let p = profile("n".into(), &doc.root);
        assert_eq!(p.email.as_deref(), Some("a@x.test"));
        assert_eq!(p.first_name.as_deref(), Some("Ada"));
        assert_eq!(p.last_name.as_deref(), Some("Lovelace"));
        assert_eq!(p.groups.len(), MAX_ATTRIBUTE_VALUES);
        assert_eq!(p.groups[0], "g0");
    }
}
