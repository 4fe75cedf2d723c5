//! SAML Responses as a real IdP issues them (SAML core §3.3.3 / profiles §4.1.4.2), for the
//! HTTP-POST binding.
//!
//! Building and signing are separate steps on purpose: [`build`] returns the unsigned
//! [`Document`], callers (the attack generator) may change it, and [`sign`] then signs
//! whatever is there.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::x509::X509;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::dsig::{
    self, DigestAlgorithm, DsigError, SAML_ASSERTION_NS, SignOptions, SignatureAlgorithm,
};
use super::idp::{IdpIdentity, SAMLP_NS};
use super::xml::{Document, Element, XmlDecl};
use super::xmlenc::{self, BlockCipher, KeyTransport, XmlEncError};

/// XML Schema namespace (for `xsi:type="xs:string"`).
pub const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";
/// XML Schema instance namespace.
pub const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
/// Top-level status code of a successful response.
pub const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// Bearer subject confirmation (profiles §3.3).
pub const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
/// Authentication context class of a password over TLS.
pub const AC_PASSWORD_PROTECTED_TRANSPORT: &str =
    "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";
/// `NameFormat` of simple attribute names.
pub const ATTRNAME_FORMAT_BASIC: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";

/// `NameID` formats the test IdP issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NameIdFormat {
    #[default]
    EmailAddress,
    Unspecified,
    Persistent,
}

impl NameIdFormat {
    pub const ALL: [NameIdFormat; 3] = [
        NameIdFormat::EmailAddress,
        NameIdFormat::Unspecified,
        NameIdFormat::Persistent,
    ];

    pub fn uri(self) -> &'static str {
        match self {
            NameIdFormat::EmailAddress => "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            NameIdFormat::Unspecified => "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            NameIdFormat::Persistent => "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        }
    }

    pub fn from_uri(uri: &str) -> Option<NameIdFormat> {
        NameIdFormat::ALL.into_iter().find(|f| f.uri() == uri)
    }
}

/// What gets an enveloped signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignMode {
    None,
    /// The Assertion only (the most common IdP default).
    #[default]
    Assertion,
    /// The Response only.
    Response,
    /// The Assertion, then the Response (whose signature then covers the Assertion's).
    Both,
}

impl SignMode {
    pub const ALL: [SignMode; 4] = [
        SignMode::None,
        SignMode::Assertion,
        SignMode::Response,
        SignMode::Both,
    ];
}

/// Everything that goes into one Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseSpec {
    pub issuer: String,
    /// `Response/@Destination`: the ACS URL the response is posted to.
    pub destination: String,
    /// The AuthnRequest's ID (absent for IdP-initiated SSO).
    pub in_response_to: Option<String>,
    pub audience: String,
    /// `SubjectConfirmationData/@Recipient` (normally the ACS URL too).
    pub recipient: String,
    pub name_id: String,
    pub name_id_format: NameIdFormat,
    /// `(name, values)`; an attribute with no values is written with no `AttributeValue`.
    pub attributes: Vec<(String, Vec<String>)>,
    pub session_index: String,
    pub issue_instant: OffsetDateTime,
    /// Seconds by which IssueInstant, NotBefore and AuthnInstant are backdated, so an SP
    /// whose clock runs slightly behind ours still accepts the response.
    pub clock_skew_secs: i64,
    /// Seconds after `issue_instant` for both NotOnOrAfter (Conditions and
    /// SubjectConfirmationData).
    pub lifetime_secs: i64,
    pub status: String,
    pub sign: SignMode,
    pub alg: SignatureAlgorithm,
    pub response_id: String,
    pub assertion_id: String,
}

impl ResponseSpec {
    /// Defaults of a typical IdP: fresh random IDs, issued now with 30 s backdating, valid
    /// for 300 s, emailAddress NameID, assertion signed with RSA-SHA256, Success status,
    /// recipient = destination, no InResponseTo, no attributes.
    pub fn new(issuer: &str, destination: &str, audience: &str, name_id: &str) -> Self {
        ResponseSpec {
            issuer: issuer.to_string(),
            destination: destination.to_string(),
            in_response_to: None,
            audience: audience.to_string(),
            recipient: destination.to_string(),
            name_id: name_id.to_string(),
            name_id_format: NameIdFormat::EmailAddress,
            attributes: Vec::new(),
            session_index: new_id(),
            issue_instant: OffsetDateTime::now_utc(),
            clock_skew_secs: 30,
            lifetime_secs: 300,
            status: STATUS_SUCCESS.to_string(),
            sign: SignMode::Assertion,
            alg: SignatureAlgorithm::RsaSha256,
            response_id: new_id(),
            assertion_id: new_id(),
        }
    }
}

/// Failures while signing a Response.
#[derive(Debug, thiserror::Error)]
pub enum ResponseError {
    #[error("cannot sign the Response: its root element <{found}> has no ID attribute")]
    MissingResponseId { found: String },
    #[error("cannot sign the Assertion: the root <{root}> has no saml:Assertion child")]
    NoAssertion { root: String },
    #[error("cannot sign the Assertion: it has no ID attribute")]
    MissingAssertionId,
    #[error("signing the {what} failed: {source}")]
    Sign {
        what: &'static str,
        #[source]
        source: DsigError,
    },
    #[error("encrypting the Assertion failed: {0}")]
    Encrypt(#[from] XmlEncError),
}

/// A SAML ID: `_` and 40 hex digits (160 random bits; SAML core §1.3.4 asks for at least
/// 128). The underscore keeps it a valid xs:ID, which must not start with a digit.
pub fn new_id() -> String {
    let bytes: [u8; 20] = rand::random();
    let mut s = String::with_capacity(41);
    s.push('_');
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// `YYYY-MM-DDTHH:MM:SSZ` in UTC: SAML core §1.3.3 requires UTC with no time zone offset,
/// and whole seconds are what every SP parses.
pub fn saml_timestamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// `t + secs`, saturating at the representable range instead of panicking (the spec's
/// numbers come from users and attack generators).
fn shifted(t: OffsetDateTime, secs: i64) -> OffsetDateTime {
    t.saturating_add(Duration::seconds(secs))
}

fn saml(local: &str) -> Element {
    Element::new_ns("saml", SAML_ASSERTION_NS, local)
}

fn samlp(local: &str) -> Element {
    Element::new_ns("samlp", SAMLP_NS, local)
}

/// The unsigned Response.
pub fn build(spec: &ResponseSpec) -> Document {
    let issued = saml_timestamp(shifted(
        spec.issue_instant,
        spec.clock_skew_secs.saturating_neg(),
    ));
    let not_on_or_after = saml_timestamp(shifted(spec.issue_instant, spec.lifetime_secs));

    let mut confirmation_data = saml("SubjectConfirmationData")
        .with_attr("Recipient", &spec.recipient)
        .with_attr("NotOnOrAfter", &not_on_or_after);
    if let Some(irt) = &spec.in_response_to {
        confirmation_data.set_attr("InResponseTo", irt);
    }
    let subject = saml("Subject")
        .with_child(
            saml("NameID")
                .with_attr("Format", spec.name_id_format.uri())
                .with_text(&spec.name_id),
        )
        .with_child(
            saml("SubjectConfirmation")
                .with_attr("Method", CM_BEARER)
                .with_child(confirmation_data),
        );
    let conditions = saml("Conditions")
        .with_attr("NotBefore", &issued)
        .with_attr("NotOnOrAfter", &not_on_or_after)
        .with_child(
            saml("AudienceRestriction").with_child(saml("Audience").with_text(&spec.audience)),
        );
    let authn =
        saml("AuthnStatement")
            .with_attr("AuthnInstant", &issued)
            .with_attr("SessionIndex", &spec.session_index)
            .with_child(saml("AuthnContext").with_child(
                saml("AuthnContextClassRef").with_text(AC_PASSWORD_PROTECTED_TRANSPORT),
            ));
    let mut assertion = saml("Assertion")
        .with_attr("ID", &spec.assertion_id)
        .with_attr("Version", "2.0")
        .with_attr("IssueInstant", &issued)
        .with_child(saml("Issuer").with_text(&spec.issuer))
        .with_child(subject)
        .with_child(conditions)
        .with_child(authn);
    // The schema requires at least one Attribute in an AttributeStatement.
    if !spec.attributes.is_empty() {
        let mut statement = saml("AttributeStatement");
        for (name, values) in &spec.attributes {
            let mut attr = saml("Attribute")
                .with_attr("Name", name)
                .with_attr("NameFormat", ATTRNAME_FORMAT_BASIC);
            for v in values {
                // xs and xsi are declared on each value, as Okta and ADFS do: `xs` is used
                // only inside an attribute value (a QName in content), so exclusive c14n
                // would not carry a declaration from an ancestor into the signed bytes, and
                // an SP that validates the extracted Assertion would find `xs` unbound.
                let mut value = saml("AttributeValue")
                    .with_ns_decl("xs", XS_NS)
                    .with_ns_decl("xsi", XSI_NS)
                    .with_text(v);
                value.set_attr_ns("xsi", XSI_NS, "type", "xs:string");
                attr.append_child(value);
            }
            statement.append_child(attr);
        }
        assertion.append_child(statement);
    }

    let mut response = samlp("Response")
        .with_ns_decl("samlp", SAMLP_NS)
        .with_ns_decl("saml", SAML_ASSERTION_NS)
        .with_attr("ID", &spec.response_id)
        .with_attr("Version", "2.0")
        .with_attr("IssueInstant", &issued)
        .with_attr("Destination", &spec.destination);
    if let Some(irt) = &spec.in_response_to {
        response.set_attr("InResponseTo", irt);
    }
    response.append_child(saml("Issuer").with_text(&spec.issuer));
    response.append_child(
        samlp("Status").with_child(samlp("StatusCode").with_attr("Value", &spec.status)),
    );
    response.append_child(assertion);

    // Every prefix is declared where the tree above puts it, so the document is consistent
    // without a namespace fixup (which is fallible and therefore kept out of this
    // infallible builder).
    Document {
        decl: Some(XmlDecl {
            version: "1.0".into(),
            encoding: Some("UTF-8".into()),
            standalone: None,
        }),
        prolog: Vec::new(),
        root: response,
        epilog: Vec::new(),
    }
}

/// The digest conventionally paired with a signature algorithm (SHA-1 signatures come with
/// SHA-1 digests from real IdPs; everything else uses SHA-256 or SHA-512).
pub fn digest_for(alg: SignatureAlgorithm) -> DigestAlgorithm {
    match alg {
        SignatureAlgorithm::RsaSha1 => DigestAlgorithm::Sha1,
        SignatureAlgorithm::RsaSha512 => DigestAlgorithm::Sha512,
        SignatureAlgorithm::RsaSha256 | SignatureAlgorithm::EcdsaSha256 => DigestAlgorithm::Sha256,
    }
}

/// Signs `doc` per `mode` with exclusive c14n, the digest of [`digest_for`] and the
/// certificate in KeyInfo. The Assertion is the first `saml:Assertion` child of the root.
pub fn sign(
    doc: &mut Document,
    mode: SignMode,
    alg: SignatureAlgorithm,
    idp: &IdpIdentity,
) -> Result<(), ResponseError> {
    let opts = SignOptions {
        alg,
        digest: digest_for(alg),
        ..SignOptions::default()
    };
    sign_with_options(doc, mode, idp, &opts)
}

/// [`sign`] with explicit signature options (c14n, digest, KeyInfo, inclusive prefixes).
pub fn sign_with_options(
    doc: &mut Document,
    mode: SignMode,
    idp: &IdpIdentity,
    opts: &SignOptions,
) -> Result<(), ResponseError> {
    let (assertion, response) = match mode {
        SignMode::None => return Ok(()),
        SignMode::Assertion => (true, false),
        SignMode::Response => (false, true),
        SignMode::Both => (true, true),
    };
    // Look both IDs up before signing anything, so a refusal leaves the document unchanged.
    let assertion_id = if assertion {
        let a = doc
            .root
            .find_child(SAML_ASSERTION_NS, "Assertion")
            .ok_or_else(|| ResponseError::NoAssertion {
                root: doc.root.name.qualified(),
            })?;
        Some(
            a.attr("ID")
                .ok_or(ResponseError::MissingAssertionId)?
                .to_string(),
        )
    } else {
        None
    };
    let response_id = if response {
        Some(
            doc.root
                .attr("ID")
                .ok_or_else(|| ResponseError::MissingResponseId {
                    found: doc.root.name.qualified(),
                })?
                .to_string(),
        )
    } else {
        None
    };
    // The key and certificate are checked (and the certificate encoded) once for both
    // signatures; a refusal there is reported for the first element to sign, as signing
    // that one would have.
    let first = if assertion { "Assertion" } else { "Response" };
    let mut signer = dsig::KeyedSigner::new(&idp.key, &idp.cert, opts).map_err(|source| {
        ResponseError::Sign {
            what: first,
            source,
        }
    })?;
    // Assertion first: the Response signature must cover the finished Assertion signature.
    if let Some(id) = assertion_id {
        signer
            .sign(doc, &id)
            .map_err(|source| ResponseError::Sign {
                what: "Assertion",
                source,
            })?;
    }
    if let Some(id) = response_id {
        signer
            .sign(doc, &id)
            .map_err(|source| ResponseError::Sign {
                what: "Response",
                source,
            })?;
    }
    Ok(())
}

/// [`build`], [`sign`] per `spec.sign` and `spec.alg`, serialize.
pub fn build_signed(spec: &ResponseSpec, idp: &IdpIdentity) -> Result<String, ResponseError> {
    let mut doc = build(spec);
    sign(&mut doc, spec.sign, spec.alg, idp)?;
    Ok(doc.to_xml())
}

/// How the Assertion is encrypted for the SP (XML Encryption, see [`xmlenc`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Encryption {
    pub cipher: BlockCipher,
    pub transport: KeyTransport,
}

impl Default for Encryption {
    /// AES-256-CBC with RSA-OAEP-MGF1P: what Okta, ADFS and Entra send by default, and so
    /// what every SP that supports encrypted assertions accepts.
    fn default() -> Self {
        Encryption {
            cipher: BlockCipher::Aes256Cbc,
            transport: KeyTransport::RsaOaepMgf1p,
        }
    }
}

impl Encryption {
    /// The algorithms to use with an SP whose metadata lists `methods` (the `Algorithm`s of
    /// its `md:EncryptionMethod` elements): the first block cipher and the first key
    /// transport it lists that we support, each defaulting as in [`Encryption::default`]
    /// (metadata without EncryptionMethod means the SP did not say, not "none").
    pub fn negotiate(methods: &[String]) -> Encryption {
        let default = Encryption::default();
        Encryption {
            cipher: methods
                .iter()
                .find_map(|m| BlockCipher::from_uri(m.trim()))
                .unwrap_or(default.cipher),
            transport: methods
                .iter()
                .find_map(|m| KeyTransport::from_uri(m.trim()))
                .unwrap_or(default.transport),
        }
    }
}

/// Replaces the first `saml:Assertion` child of the root with a `saml:EncryptedAssertion`
/// for the SP's encryption certificate. Sign the Assertion before, the Response after.
pub fn encrypt(doc: &mut Document, sp_cert: &X509, enc: Encryption) -> Result<(), ResponseError> {
    Ok(xmlenc::encrypt_assertion(
        doc,
        sp_cert,
        enc.cipher,
        enc.transport,
    )?)
}

/// [`build`], then what an IdP does for an SP with an encryption certificate: sign the
/// Assertion (if `spec.sign` asks for it), encrypt it for `sp_cert`, then sign the Response
/// (if asked), whose signature then covers the EncryptedAssertion (SAML profiles §4.1.3.5
/// lets it stand for the Assertion's own signature).
pub fn build_signed_encrypted(
    spec: &ResponseSpec,
    idp: &IdpIdentity,
    sp_cert: &X509,
    enc: Encryption,
) -> Result<String, ResponseError> {
    let (assertion, response) = match spec.sign {
        SignMode::None => (SignMode::None, SignMode::None),
        SignMode::Assertion => (SignMode::Assertion, SignMode::None),
        SignMode::Response => (SignMode::None, SignMode::Response),
        SignMode::Both => (SignMode::Assertion, SignMode::Response),
    };
    let mut doc = build(spec);
    sign(&mut doc, assertion, spec.alg, idp)?;
    encrypt(&mut doc, sp_cert, enc)?;
    sign(&mut doc, response, spec.alg, idp)?;
    Ok(doc.to_xml())
}

/// The `SAMLResponse` form value of the HTTP-POST binding (bindings §3.5.4): standard
/// base64, no line breaks.
pub fn encode_for_post(xml: &str) -> String {
    B64.encode(xml.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::dsig::{DSIG_NS, VerifyPolicy};
    use crate::saml::idp::tests::{ec_idp, rsa_idp};
    use crate::saml::xml::Element;

    const A: &str = SAML_ASSERTION_NS;

    fn spec() -> ResponseSpec {
        let mut s = ResponseSpec::new(
            "https://idp.example",
            "https://sp.example/acs",
            "https://sp.example",
            "alice@example.com",
        );
        s.issue_instant = OffsetDateTime::from_unix_timestamp(1_714_564_800).unwrap(); // 2024-05-01T12:00:00Z
        s.in_response_to = Some("_req1".into());
        s.attributes = vec![
            ("email".into(), vec!["alice@example.com".into()]),
            (
                "groups".into(),
                vec!["admins".into(), "users & <others>".into()],
            ),
            ("empty".into(), vec![]),
        ];
        s
    }

    fn child<'a>(e: &'a Element, ns: &str, local: &str) -> &'a Element {
        e.find_child(ns, local)
            .unwrap_or_else(|| panic!("<{}> has no {local}", e.name.local))
    }

    #[test]
    fn ids_are_underscore_and_40_hex_and_unique() {
        let ids: Vec<String> = (0..50).map(|_| new_id()).collect();
        for id in &ids {
            assert_eq!(id.len(), 41);
            assert!(id.starts_with('_'));
            assert!(
                id[1..]
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
            );
        }
        let mut dedup = ids.clone();
        dedup.sort();
        dedup.dedup();
        assert_eq!(dedup.len(), ids.len());
    }

    #[test]
    fn defaults() {
        let s = ResponseSpec::new("i", "d", "a", "n");
        assert_eq!(s.recipient, "d");
        assert_eq!(s.clock_skew_secs, 30);
        assert_eq!(s.lifetime_secs, 300);
        assert_eq!(s.name_id_format, NameIdFormat::EmailAddress);
        assert_eq!(s.sign, SignMode::Assertion);
        assert_eq!(s.alg, SignatureAlgorithm::RsaSha256);
        assert_eq!(s.status, STATUS_SUCCESS);
        assert_ne!(s.response_id, s.assertion_id);
        assert_eq!(s.response_id.len(), 41);
        assert!(
            (OffsetDateTime::now_utc() - s.issue_instant)
                .whole_seconds()
                .abs()
                < 5
        );
    }

    #[test]
    fn timestamps() {
        let t = OffsetDateTime::from_unix_timestamp(1_714_564_800).unwrap();
        assert_eq!(saml_timestamp(t), "2024-05-01T12:00:00Z");
        // Sub-seconds dropped, offsets converted to UTC.
        let t2 = (t + Duration::milliseconds(999)).to_offset(UtcOffset::from_hms(2, 0, 0).unwrap());
        assert_eq!(saml_timestamp(t2), "2024-05-01T12:00:00Z");
        assert_eq!(
            saml_timestamp(OffsetDateTime::UNIX_EPOCH),
            "1970-01-01T00:00:00Z"
        );
        // Extreme offsets saturate instead of panicking.
        let mut s = spec();
        s.lifetime_secs = i64::MAX;
        s.clock_skew_secs = i64::MIN;
        let doc = build(&s);
        assert!(doc.to_xml().contains("NotOnOrAfter"));
    }

    #[test]
    fn structure_round_trips_through_the_parser() {
        let s = spec();
        let xml = build(&s).to_xml();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<samlp:Response "));
        let doc = Document::parse(&xml).unwrap();
        let r = &doc.root;
        assert!(r.is(SAMLP_NS, "Response"));
        assert_eq!(r.attr("ID"), Some(s.response_id.as_str()));
        assert_eq!(r.attr("Version"), Some("2.0"));
        assert_eq!(r.attr("IssueInstant"), Some("2024-05-01T11:59:30Z"));
        assert_eq!(r.attr("Destination"), Some("https://sp.example/acs"));
        assert_eq!(r.attr("InResponseTo"), Some("_req1"));
        let kids: Vec<&str> = r.child_elements().map(|e| e.name.local.as_str()).collect();
        assert_eq!(kids, ["Issuer", "Status", "Assertion"]);
        assert_eq!(child(r, A, "Issuer").text(), "https://idp.example");
        assert_eq!(
            child(child(r, SAMLP_NS, "Status"), SAMLP_NS, "StatusCode").attr("Value"),
            Some(STATUS_SUCCESS)
        );

        let a = child(r, A, "Assertion");
        assert_eq!(a.attr("ID"), Some(s.assertion_id.as_str()));
        assert_eq!(a.attr("Version"), Some("2.0"));
        assert_eq!(a.attr("IssueInstant"), Some("2024-05-01T11:59:30Z"));
        let kids: Vec<&str> = a.child_elements().map(|e| e.name.local.as_str()).collect();
        assert_eq!(
            kids,
            [
                "Issuer",
                "Subject",
                "Conditions",
                "AuthnStatement",
                "AttributeStatement"
            ]
        );
        let subj = child(a, A, "Subject");
        let nid = child(subj, A, "NameID");
        assert_eq!(nid.text(), "alice@example.com");
        assert_eq!(nid.attr("Format"), Some(NameIdFormat::EmailAddress.uri()));
        let sc = child(subj, A, "SubjectConfirmation");
        assert_eq!(sc.attr("Method"), Some(CM_BEARER));
        let scd = child(sc, A, "SubjectConfirmationData");
        assert_eq!(scd.attr("Recipient"), Some("https://sp.example/acs"));
        assert_eq!(scd.attr("NotOnOrAfter"), Some("2024-05-01T12:05:00Z"));
        assert_eq!(scd.attr("InResponseTo"), Some("_req1"));
        let c = child(a, A, "Conditions");
        assert_eq!(c.attr("NotBefore"), Some("2024-05-01T11:59:30Z"));
        assert_eq!(c.attr("NotOnOrAfter"), Some("2024-05-01T12:05:00Z"));
        assert_eq!(
            child(child(c, A, "AudienceRestriction"), A, "Audience").text(),
            "https://sp.example"
        );
        let au = child(a, A, "AuthnStatement");
        assert_eq!(au.attr("AuthnInstant"), Some("2024-05-01T11:59:30Z"));
        assert_eq!(au.attr("SessionIndex"), Some(s.session_index.as_str()));
        assert_eq!(
            child(child(au, A, "AuthnContext"), A, "AuthnContextClassRef").text(),
            AC_PASSWORD_PROTECTED_TRANSPORT
        );
        let attrs: Vec<(String, Vec<String>)> = child(a, A, "AttributeStatement")
            .find_children(A, "Attribute")
            .map(|at| {
                assert_eq!(at.attr("NameFormat"), Some(ATTRNAME_FORMAT_BASIC));
                let vals = at
                    .find_children(A, "AttributeValue")
                    .map(|v| {
                        assert_eq!(v.attr_ns(XSI_NS, "type"), Some("xs:string"));
                        assert!(
                            v.ns_decls
                                .iter()
                                .any(|d| d.prefix.as_deref() == Some("xs") && d.uri == XS_NS)
                        );
                        v.text()
                    })
                    .collect();
                (at.attr("Name").unwrap().to_string(), vals)
            })
            .collect();
        assert_eq!(attrs, s.attributes);

        // Namespaces complete: fixup changes nothing.
        let built = build(&s);
        let mut fixed = built.clone();
        fixed.fixup_namespaces().unwrap();
        assert_eq!(fixed, built);
    }

    #[test]
    fn optional_parts() {
        let mut s = spec();
        s.in_response_to = None;
        s.attributes.clear();
        s.name_id_format = NameIdFormat::Persistent;
        s.status = "urn:oasis:names:tc:SAML:2.0:status:Responder".into();
        let doc = Document::parse(&build(&s).to_xml()).unwrap();
        assert_eq!(doc.root.attr("InResponseTo"), None);
        let a = child(&doc.root, A, "Assertion");
        assert!(a.find_child(A, "AttributeStatement").is_none());
        let scd = child(
            child(child(a, A, "Subject"), A, "SubjectConfirmation"),
            A,
            "SubjectConfirmationData",
        );
        assert_eq!(scd.attr("InResponseTo"), None);
        assert_eq!(
            child(child(a, A, "Subject"), A, "NameID").attr("Format"),
            Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent")
        );
        assert!(doc.to_xml().contains("status:Responder"));
        for f in NameIdFormat::ALL {
            assert_eq!(NameIdFormat::from_uri(f.uri()), Some(f));
        }
        assert_eq!(NameIdFormat::from_uri("urn:x"), None);
    }

    fn signed_ids(xml: &str, idp: &IdpIdentity) -> Vec<String> {
        let doc = Document::parse(xml).unwrap();
        match dsig::verify(&doc, std::slice::from_ref(&idp.cert)) {
            Ok(refs) => refs.into_iter().map(|r| r.signed_element_id).collect(),
            Err(DsigError::NoSignature) => vec![],
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn every_sign_mode_verifies_with_rsa_and_ec() {
        for (idp, alg) in [
            (rsa_idp(), SignatureAlgorithm::RsaSha256),
            (rsa_idp(), SignatureAlgorithm::RsaSha1),
            (rsa_idp(), SignatureAlgorithm::RsaSha512),
            (ec_idp(), SignatureAlgorithm::EcdsaSha256),
        ] {
            for mode in SignMode::ALL {
                let mut s = spec();
                s.sign = mode;
                s.alg = alg;
                let xml = build_signed(&s, idp).unwrap();
                let mut ids = signed_ids(&xml, idp);
                ids.sort();
                let mut expected = match mode {
                    SignMode::None => vec![],
                    SignMode::Assertion => vec![s.assertion_id.clone()],
                    SignMode::Response => vec![s.response_id.clone()],
                    SignMode::Both => vec![s.assertion_id.clone(), s.response_id.clone()],
                };
                expected.sort();
                assert_eq!(ids, expected, "{mode:?} {alg:?}");
                let doc = Document::parse(&xml).unwrap();
                if mode != SignMode::None {
                    let r = dsig::verify(&doc, std::slice::from_ref(&idp.cert)).unwrap();
                    assert!(
                        r.iter().all(|r| r.signature_algorithm == alg
                            && r.digest_algorithm == digest_for(alg))
                    );
                }
                // Signature placement: right after Issuer.
                for el in [&doc.root, child(&doc.root, A, "Assertion")] {
                    let kids: Vec<&str> =
                        el.child_elements().map(|e| e.name.local.as_str()).collect();
                    if el.find_child(DSIG_NS, "Signature").is_some() {
                        assert_eq!(&kids[..2], ["Issuer", "Signature"]);
                    }
                }
                // A foreign certificate does not verify it.
                if mode != SignMode::None {
                    let other = if idp.key.id() == openssl::pkey::Id::EC {
                        rsa_idp()
                    } else {
                        ec_idp()
                    };
                    assert!(dsig::verify(&doc, std::slice::from_ref(&other.cert)).is_err());
                }
            }
        }
    }

    #[test]
    fn both_signs_the_assertion_first() {
        let mut s = spec();
        s.sign = SignMode::Both;
        let doc = Document::parse(&build_signed(&s, rsa_idp()).unwrap()).unwrap();
        let policy = VerifyPolicy::default();
        let trusted = std::slice::from_ref(&rsa_idp().cert);
        dsig::verify_element(&doc, &s.response_id, trusted, &policy).unwrap();
        dsig::verify_element(&doc, &s.assertion_id, trusted, &policy).unwrap();
        // The Response signature covers the Assertion's: removing it breaks the digest.
        let mut stripped = doc.clone();
        let a = stripped
            .root
            .children
            .iter_mut()
            .find_map(|n| match n {
                crate::saml::xml::Node::Element(e) if e.is(A, "Assertion") => Some(e),
                _ => None,
            })
            .unwrap();
        a.children.retain(
            |n| !matches!(n, crate::saml::xml::Node::Element(e) if e.is(DSIG_NS, "Signature")),
        );
        assert!(matches!(
            dsig::verify_element(&stripped, &s.response_id, trusted, &policy),
            Err(DsigError::DigestMismatch { .. })
        ));
    }

    #[test]
    fn mutate_then_sign() {
        let s = spec();
        let mut doc = build(&s);
        doc.root
            .set_attr("Destination", "https://other.example/acs");
        sign(
            &mut doc,
            SignMode::Response,
            SignatureAlgorithm::RsaSha256,
            rsa_idp(),
        )
        .unwrap();
        let back = Document::parse(&doc.to_xml()).unwrap();
        assert_eq!(
            back.root.attr("Destination"),
            Some("https://other.example/acs")
        );
        dsig::verify(&back, std::slice::from_ref(&rsa_idp().cert)).unwrap();
    }

    #[test]
    fn signing_errors_are_typed_and_leave_the_document_alone() {
        // Key type mismatch: EC key with an RSA algorithm.
        let mut s = spec();
        s.alg = SignatureAlgorithm::RsaSha256;
        let err = build_signed(&s, ec_idp()).unwrap_err();
        assert!(matches!(
            &err,
            ResponseError::Sign {
                what: "Assertion",
                source: DsigError::KeyAlgorithmMismatch { .. }
            }
        ));
        assert!(err.to_string().contains("Assertion"));

        // No Assertion.
        let mut doc = build(&spec());
        doc.root
            .children
            .retain(|n| !matches!(n, crate::saml::xml::Node::Element(e) if e.is(A, "Assertion")));
        let before = doc.clone();
        assert!(matches!(
            sign(
                &mut doc,
                SignMode::Both,
                SignatureAlgorithm::RsaSha256,
                rsa_idp()
            ),
            Err(ResponseError::NoAssertion { .. })
        ));
        assert_eq!(doc, before);
        // Response-only signing still works without one.
        sign(
            &mut doc,
            SignMode::Response,
            SignatureAlgorithm::RsaSha256,
            rsa_idp(),
        )
        .unwrap();

        // No IDs.
        let mut doc = build(&spec());
        doc.root.remove_attr("ID");
        assert!(matches!(
            sign(
                &mut doc,
                SignMode::Response,
                SignatureAlgorithm::RsaSha256,
                rsa_idp()
            ),
            Err(ResponseError::MissingResponseId { .. })
        ));
        let mut doc = build(&spec());
        for n in doc.root.children.iter_mut() {
            if let crate::saml::xml::Node::Element(e) = n {
                e.remove_attr("ID");
            }
        }
        assert!(matches!(
            sign(
                &mut doc,
                SignMode::Assertion,
                SignatureAlgorithm::RsaSha256,
                rsa_idp()
            ),
            Err(ResponseError::MissingAssertionId)
        ));
        // Same ID on both: ambiguous, refused by dsig.
        let mut s = spec();
        s.assertion_id = s.response_id.clone();
        assert!(matches!(
            build_signed(&s, rsa_idp()),
            Err(ResponseError::Sign {
                source: DsigError::Xml(_),
                ..
            })
        ));
    }

    #[test]
    fn hostile_values_are_escaped() {
        let mut s = spec();
        s.name_id = "<x>&\"'\r\n]]>".into();
        s.attributes = vec![("n\"<".into(), vec!["\t\r\n<&>".into()])];
        let xml = build_signed(&s, rsa_idp()).unwrap();
        let doc = Document::parse(&xml).unwrap();
        let a = child(&doc.root, A, "Assertion");
        assert_eq!(
            child(child(a, A, "Subject"), A, "NameID").text(),
            "<x>&\"'\r\n]]>"
        );
        dsig::verify(&doc, std::slice::from_ref(&rsa_idp().cert)).unwrap();
    }

    fn sp_encryption_keys() -> &'static crate::saml::dsig::test_keys::KeyPair {
        static K: std::sync::OnceLock<crate::saml::dsig::test_keys::KeyPair> =
            std::sync::OnceLock::new();
        K.get_or_init(|| crate::saml::dsig::test_keys::rsa("sp-encryption"))
    }

    #[test]
    fn encrypted_responses_sign_the_assertion_before_and_the_response_after() {
        let sp = sp_encryption_keys();
        for mode in SignMode::ALL {
            for enc in [
                Encryption::default(),
                Encryption {
                    cipher: BlockCipher::Aes128Gcm,
                    transport: KeyTransport::RsaOaep,
                },
            ] {
                let mut s = spec();
                s.sign = mode;
                let xml = build_signed_encrypted(&s, rsa_idp(), &sp.cert, enc).unwrap();
                assert!(!xml.contains("alice@example.com"), "{xml}");
                assert!(xml.contains(enc.cipher.uri()) && xml.contains(enc.transport.uri()));
                let response_signed = matches!(mode, SignMode::Response | SignMode::Both);
                let assertion_signed = matches!(mode, SignMode::Assertion | SignMode::Both);
                // The Response signature covers the EncryptedAssertion as sent.
                let expected: Vec<String> = if response_signed {
                    vec![s.response_id.clone()]
                } else {
                    vec![]
                };
                assert_eq!(signed_ids(&xml, rsa_idp()), expected, "{mode:?}");
                let doc = Document::parse(&xml).unwrap();
                let (i, _) = doc
                    .root
                    .indexed_child_elements()
                    .find(|(_, e)| e.is(A, "EncryptedAssertion"))
                    .unwrap();
                assert!(doc.root.find_child(A, "Assertion").is_none());
                let inner = xmlenc::decrypt_assertion_at(
                    &doc,
                    &crate::saml::xml::NodePath(vec![i]),
                    &sp.key,
                )
                .unwrap();
                assert_eq!(inner.root.attr("ID"), Some(s.assertion_id.as_str()));
                let inner_ids = signed_ids(&inner.to_xml(), rsa_idp());
                let expected: Vec<String> = if assertion_signed {
                    vec![s.assertion_id.clone()]
                } else {
                    vec![]
                };
                assert_eq!(inner_ids, expected, "{mode:?}");
                // The decrypted Assertion is the one `build` makes.
                let built = build(&s);
                let plain = child(&built.root, A, "Assertion");
                let nid = |a: &Element| child(child(a, A, "Subject"), A, "NameID").text();
                assert_eq!(nid(&inner.root), nid(plain));
            }
        }
    }

    #[test]
    fn encryption_errors_are_typed() {
        let err = build_signed_encrypted(&spec(), rsa_idp(), &ec_idp().cert, Encryption::default())
            .unwrap_err();
        assert!(matches!(
            err,
            ResponseError::Encrypt(XmlEncError::CertificateKeyNotRsa { .. })
        ));
        assert!(err.to_string().contains("encrypting the Assertion"));
    }

    #[test]
    fn encryption_follows_what_the_sp_metadata_lists() {
        let m = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(Encryption::negotiate(&[]), Encryption::default());
        assert_eq!(
            Encryption::negotiate(&m(&[
                "urn:unknown",
                KeyTransport::RsaOaep.uri(),
                BlockCipher::Aes128Gcm.uri(),
                BlockCipher::Aes256Cbc.uri(),
            ])),
            Encryption {
                cipher: BlockCipher::Aes128Gcm,
                transport: KeyTransport::RsaOaep
            }
        );
        assert_eq!(
            Encryption::negotiate(&m(&[BlockCipher::Aes128Cbc.uri()])),
            Encryption {
                cipher: BlockCipher::Aes128Cbc,
                transport: KeyTransport::RsaOaepMgf1p
            }
        );
    }

    #[test]
    fn post_encoding() {
        let xml = build(&spec()).to_xml();
        let enc = encode_for_post(&xml);
        assert!(!enc.contains('\n'));
        assert_eq!(B64.decode(enc).unwrap(), xml.as_bytes());
    }
}
