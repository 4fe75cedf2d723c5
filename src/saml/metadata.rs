//! SP metadata import (SAML metadata §2.4.4) and a sanity review of what it declares.
//!
//! The document is untrusted: it goes through [`Document::parse`] (no DTDs, hard limits).
//! Only what the IdP needs is read: the SP's entity ID, its ACS endpoints, its certificates
//! and its signing wishes. Metadata signatures are not checked (the user chose the file).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::x509::X509;
use time::OffsetDateTime;

use super::dsig::DSIG_NS;
use super::idp::{
    BINDING_POST, CertValidity, MD_NS, SAMLP_NS, cert_validity, sha256_fingerprint, subject_text,
};
use super::request::parse_xs_boolean;
use super::xml::{Document, Element, Limits, XmlError};
use crate::severity::Severity;

/// Parse limits for metadata: the default sizes (an SP's metadata with a few certificates
/// is well under them, and small federation files fit) but a shallower tree, since
/// metadata nests only a handful of levels.
pub const METADATA_LIMITS: Limits = Limits {
    max_input_bytes: 4 * 1024 * 1024,
    max_depth: 64,
    max_elements: 100_000,
    max_attributes_per_element: 256,
    max_namespace_declarations: 4096,
};

/// An `AssertionConsumerService` endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcsEndpoint {
    pub binding: String,
    pub location: String,
    /// `None` when absent or not an unsignedShort.
    pub index: Option<u32>,
    pub is_default: bool,
}

/// What the IdP needs from an SP's metadata.
#[derive(Debug, Clone)]
pub struct SpMetadata {
    pub entity_id: String,
    pub acs: Vec<AcsEndpoint>,
    pub signing_certs: Vec<X509>,
    /// Certificates of `KeyDescriptor use="encryption"` and of KeyDescriptors without
    /// `use` (which provide a key for both uses).
    pub encryption_certs: Vec<X509>,
    /// `Algorithm`s of the `md:EncryptionMethod` elements of those KeyDescriptors, in
    /// document order without repeats: what the SP says it can decrypt (empty: it did not
    /// say).
    pub encryption_methods: Vec<String>,
    pub authn_requests_signed: Option<bool>,
    pub want_assertions_signed: Option<bool>,
    pub name_id_formats: Vec<String>,
}

/// Why metadata could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("the metadata is not well-formed XML: {0}")]
    Xml(#[from] XmlError),
    #[error(
        "expected an md:EntityDescriptor or md:EntitiesDescriptor root element, found <{found}>"
    )]
    NotMetadata { found: String },
    #[error("the metadata has no md:SPSSODescriptor: it does not describe a service provider")]
    NoSpDescriptor,
    #[error(
        "no md:SPSSODescriptor supports SAML 2.0: expected {SAMLP_NS} in protocolSupportEnumeration, found {found:?}"
    )]
    NoSaml2SpDescriptor { found: String },
    #[error("the md:EntityDescriptor has no entityID attribute")]
    MissingEntityId,
    #[error(
        "certificate #{position} of the SP (ds:X509Certificate in a KeyDescriptor) could not be read: {message}"
    )]
    InvalidCertificate { position: usize, message: String },
    #[error(
        "KeyDescriptor use={found:?}: expected \"signing\", \"encryption\" or no use attribute"
    )]
    InvalidKeyUse { found: String },
    #[error("{attribute}={found:?} is not an xs:boolean (true, false, 1 or 0)")]
    InvalidBoolean {
        attribute: &'static str,
        found: String,
    },
}

/// Parses SP metadata: an `EntityDescriptor`, or the first SP with SAML 2.0 support in an
/// `EntitiesDescriptor`. A `KeyDescriptor` without `use` provides a key for both uses.
pub fn parse(xml: &str) -> Result<SpMetadata, MetadataError> {
    let doc = Document::parse_with_limits(xml, &METADATA_LIMITS)?;
    let root = &doc.root;
    if !(root.is(MD_NS, "EntityDescriptor") || root.is(MD_NS, "EntitiesDescriptor")) {
        let found = match &root.name.ns {
            Some(ns) => format!("{} in namespace {ns}", root.name.qualified()),
            None => format!("{} (no namespace)", root.name.qualified()),
        };
        return Err(MetadataError::NotMetadata { found });
    }
    // Document order, so "first" means what a reader of the file sees first. SPSSODescriptor
    // is a child of EntityDescriptor, which is the root or (nested) inside
    // EntitiesDescriptors: only those are descended into, with an explicit stack.
    let mut first_protocols: Option<String> = None;
    let mut chosen: Option<(&Element, &Element)> = None;
    let mut stack: Vec<&Element> = vec![root];
    'search: while let Some(el) = stack.pop() {
        if el.is(MD_NS, "EntitiesDescriptor") {
            let kids: Vec<&Element> = el.child_elements().collect();
            stack.extend(kids.into_iter().rev());
            continue;
        }
        if !el.is(MD_NS, "EntityDescriptor") {
            continue;
        }
        for sp in el.find_children(MD_NS, "SPSSODescriptor") {
            let protocols = sp.attr("protocolSupportEnumeration").unwrap_or("");
            if protocols.split_ascii_whitespace().any(|p| p == SAMLP_NS) {
                chosen = Some((el, sp));
                break 'search;
            }
            first_protocols.get_or_insert_with(|| protocols.to_string());
        }
    }
    let (entity, sp) = match (chosen, first_protocols) {
        (Some(c), _) => c,
        (None, Some(found)) => return Err(MetadataError::NoSaml2SpDescriptor { found }),
        (None, None) => return Err(MetadataError::NoSpDescriptor),
    };
    let entity_id = entity
        .attr("entityID")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .ok_or(MetadataError::MissingEntityId)?;

    let boolean = |attribute: &'static str| -> Result<Option<bool>, MetadataError> {
        match sp.attr(attribute) {
            None => Ok(None),
            Some(v) => parse_xs_boolean(v)
                .map(Some)
                .ok_or_else(|| MetadataError::InvalidBoolean {
                    attribute,
                    found: v.to_string(),
                }),
        }
    };
    let authn_requests_signed = boolean("AuthnRequestsSigned")?;
    let want_assertions_signed = boolean("WantAssertionsSigned")?;

    let mut signing_certs = Vec::new();
    let mut encryption_certs = Vec::new();
    let mut encryption_methods: Vec<String> = Vec::new();
    let mut position = 0usize;
    for kd in sp.find_children(MD_NS, "KeyDescriptor") {
        let (signing, encryption) = match kd.attr("use").map(str::trim) {
            None => (true, true),
            Some("signing") => (true, false),
            Some("encryption") => (false, true),
            Some(other) => {
                return Err(MetadataError::InvalidKeyUse {
                    found: other.to_string(),
                });
            }
        };
        if encryption {
            let methods = kd
                .find_children(MD_NS, "EncryptionMethod")
                .filter_map(|m| m.attr("Algorithm"))
                .map(str::trim)
                .filter(|a| !a.is_empty());
            for m in methods {
                if !encryption_methods.iter().any(|known| known == m) {
                    encryption_methods.push(m.to_string());
                }
            }
        }
        let certs = kd
            .find_children(DSIG_NS, "KeyInfo")
            .flat_map(|ki| ki.find_children(DSIG_NS, "X509Data"))
            .flat_map(|xd| xd.find_children(DSIG_NS, "X509Certificate"));
        for c in certs {
            position += 1;
            let cert = parse_cert(&c.text())
                .map_err(|message| MetadataError::InvalidCertificate { position, message })?;
            if signing {
                signing_certs.push(cert.clone());
            }
            if encryption {
                encryption_certs.push(cert);
            }
        }
    }

    let mut acs = Vec::new();
    for e in sp.find_children(MD_NS, "AssertionConsumerService") {
        let is_default = match e.attr("isDefault") {
            None => false,
            Some(v) => parse_xs_boolean(v).ok_or_else(|| MetadataError::InvalidBoolean {
                attribute: "isDefault",
                found: v.to_string(),
            })?,
        };
        acs.push(AcsEndpoint {
            binding: e.attr("Binding").unwrap_or("").trim().to_string(),
            location: e.attr("Location").unwrap_or("").trim().to_string(),
            // unsignedShort per the schema.
            index: e
                .attr("index")
                .and_then(|i| i.trim().parse::<u16>().ok())
                .map(u32::from),
            is_default,
        });
    }
    let name_id_formats = sp
        .find_children(MD_NS, "NameIDFormat")
        .map(|e| e.text().trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();

    Ok(SpMetadata {
        entity_id,
        acs,
        signing_certs,
        encryption_certs,
        encryption_methods,
        authn_requests_signed,
        want_assertions_signed,
        name_id_formats,
    })
}

fn parse_cert(text: &str) -> Result<X509, String> {
    // Metadata wraps base64 across lines and indents it.
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err("the element is empty".into());
    }
    let der = B64
        .decode(compact.as_bytes())
        .map_err(|e| format!("invalid base64: {e}"))?;
    X509::from_der(&der).map_err(|e| format!("not a DER X.509 certificate: {e}"))
}

/// One problem found by [`sanity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataFinding {
    /// Stable id: `acs-missing`, `acs-no-post`, `acs-insecure-http`, `acs-invalid-url`,
    /// `acs-index`, `acs-default`, `cert-expired`, `cert-not-yet-valid`, `cert-validity`,
    /// `signing-cert-missing`, `entity-id-length`.
    pub check: &'static str,
    pub severity: Severity,
    pub message: String,
}

fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// Reviews imported metadata; returns the problems only (empty: nothing to say).
pub fn sanity(md: &SpMetadata, now: OffsetDateTime) -> Vec<MetadataFinding> {
    let mut out = Vec::new();
    let mut push = |check, severity, message: String| {
        out.push(MetadataFinding {
            check,
            severity,
            message,
        })
    };

    // The metadata schema limits entityID to 1024 characters; IdPs truncate or refuse.
    if md.entity_id.chars().count() > 1024 {
        push(
            "entity-id-length",
            Severity::Recommended,
            format!(
                "entityID is {} characters long; SAML metadata §2.3.2 allows at most 1024",
                md.entity_id.chars().count()
            ),
        );
    }

    if md.acs.is_empty() {
        push(
            "acs-missing",
            Severity::Required,
            "no AssertionConsumerService: the IdP has nowhere to send assertions".into(),
        );
    } else if !md.acs.iter().any(|a| a.binding == BINDING_POST) {
        let bindings: Vec<&str> = md.acs.iter().map(|a| a.binding.as_str()).collect();
        push(
            "acs-no-post",
            Severity::Required,
            format!(
                "no AssertionConsumerService with the HTTP-POST binding (found {bindings:?}); the IdP answers with HTTP-POST only"
            ),
        );
    }
    for a in &md.acs {
        match url::Url::parse(&a.location) {
            Err(e) => push(
                "acs-invalid-url",
                Severity::Required,
                format!("ACS Location {:?} is not an absolute URL: {e}", a.location),
            ),
            Ok(u) if u.scheme() == "http" && !u.host().is_some_and(|h| is_loopback_host(&h)) => {
                push(
                    "acs-insecure-http",
                    Severity::Required,
                    format!(
                        "ACS Location {:?} uses plain http: bearer assertions would travel unencrypted (only localhost may use http)",
                        a.location
                    ),
                )
            }
            Ok(u) if !matches!(u.scheme(), "https" | "http") => push(
                "acs-invalid-url",
                Severity::Required,
                format!("ACS Location {:?} is not an http(s) URL", a.location),
            ),
            Ok(_) => {}
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for a in &md.acs {
        match a.index {
            None => push(
                "acs-index",
                Severity::Recommended,
                format!(
                    "ACS {:?} has no valid index (an unsignedShort is required by the schema)",
                    a.location
                ),
            ),
            Some(i) if !seen.insert(i) => push(
                "acs-index",
                Severity::Recommended,
                format!(
                    "ACS index {i} is used more than once: AssertionConsumerServiceIndex is ambiguous"
                ),
            ),
            Some(_) => {}
        }
    }
    let defaults = md.acs.iter().filter(|a| a.is_default).count();
    if defaults > 1 {
        push(
            "acs-default",
            Severity::Recommended,
            format!("{defaults} ACS endpoints are marked isDefault=\"true\"; at most one may be"),
        );
    }

    if md.authn_requests_signed == Some(true) && md.signing_certs.is_empty() {
        push(
            "signing-cert-missing",
            Severity::Required,
            "AuthnRequestsSigned=\"true\" but no signing certificate: the IdP cannot verify the SP's requests".into(),
        );
    }

    let certs = md
        .signing_certs
        .iter()
        .map(|c| ("signing", c))
        .chain(md.encryption_certs.iter().map(|c| ("encryption", c)));
    for (usage, cert) in certs {
        let who = format!(
            "{usage} certificate {} (SHA-256 {})",
            subject_text(cert),
            sha256_fingerprint(cert)
        );
        match cert_validity(cert, now) {
            CertValidity::Valid => {}
            // Most IdPs use metadata certificates as bare keys and ignore their dates, so
            // this is worth fixing but does not break SSO by itself.
            CertValidity::Expired { not_after } => push(
                "cert-expired",
                Severity::Recommended,
                format!("{who} expired on {not_after}"),
            ),
            CertValidity::NotYetValid { not_before } => push(
                "cert-not-yet-valid",
                Severity::Recommended,
                format!("{who} is not valid before {not_before}"),
            ),
            CertValidity::Unknown(why) => push(
                "cert-validity",
                Severity::Advisory,
                format!("{who}: validity dates could not be read ({why})"),
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use openssl::asn1::Asn1Time;
    use rand::{Rng as _, SeedableRng as _};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::saml::idp::tests::{ec_idp, rsa_idp};

    fn b64(cert: &X509) -> String {
        // Wrapped and indented, as metadata files have it.
        let s = B64.encode(cert.to_der().unwrap());
        s.as_bytes()
            .chunks(64)
            .map(|c| format!("\n        {}", std::str::from_utf8(c).unwrap()))
            .collect()
    }

    fn sp_metadata(sp_attrs: &str, keys: &str, acs: &str) -> String {
        format!(
            r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID=" https://sp.example.com ">
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol urn:oasis:names:tc:SAML:2.0:protocol"{sp_attrs}>
    {keys}
    <md:NameIDFormat> urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress </md:NameIDFormat>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    {acs}
  </md:SPSSODescriptor>
</md:EntityDescriptor>"#
        )
    }

    fn key(use_attr: &str, cert: &X509) -> String {
        format!(
            r#"<md:KeyDescriptor{use_attr}><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}
      </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
            b64(cert)
        )
    }

    const ACS: &str = r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example.com/acs" index="0" isDefault="true"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://sp.example.com/art" index="1"/>"#;

    fn der(c: &X509) -> Vec<u8> {
        c.to_der().unwrap()
    }

    #[test]
    fn round_trip_of_a_typical_sp() {
        let keys = format!(
            "{}{}{}",
            key(r#" use="signing""#, &rsa_idp().cert),
            key(r#" use="encryption""#, &ec_idp().cert),
            key("", &rsa_idp().cert)
        );
        let md = parse(&sp_metadata(
            r#" AuthnRequestsSigned="true" WantAssertionsSigned="1""#,
            &keys,
            ACS,
        ))
        .unwrap();
        assert_eq!(md.entity_id, "https://sp.example.com");
        assert_eq!(
            md.acs,
            [
                AcsEndpoint {
                    binding: BINDING_POST.into(),
                    location: "https://sp.example.com/acs".into(),
                    index: Some(0),
                    is_default: true
                },
                AcsEndpoint {
                    binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact".into(),
                    location: "https://sp.example.com/art".into(),
                    index: Some(1),
                    is_default: false
                }
            ]
        );
        let signing: Vec<Vec<u8>> = md.signing_certs.iter().map(der).collect();
        let encryption: Vec<Vec<u8>> = md.encryption_certs.iter().map(der).collect();
        assert_eq!(signing, [der(&rsa_idp().cert), der(&rsa_idp().cert)]);
        assert_eq!(encryption, [der(&ec_idp().cert), der(&rsa_idp().cert)]);
        assert_eq!(md.authn_requests_signed, Some(true));
        assert_eq!(md.want_assertions_signed, Some(true));
        assert_eq!(
            md.name_id_formats,
            [
                "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
            ]
        );
        assert!(sanity(&md, OffsetDateTime::now_utc()).is_empty());
    }

    #[test]
    fn encryption_keys_and_methods() {
        let method = |alg: &str| format!(r#"<md:EncryptionMethod Algorithm=" {alg} "/>"#);
        let with_methods = |use_attr: &str, cert: &X509, methods: &[&str]| {
            let m: String = methods.iter().map(|a| method(a)).collect();
            key(use_attr, cert).replace("</md:KeyDescriptor>", &format!("{m}</md:KeyDescriptor>"))
        };
        const GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
        const CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";
        const OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
        let keys = format!(
            "{}{}{}",
            // Methods of a signing-only key say nothing about decryption.
            with_methods(r#" use="signing""#, &ec_idp().cert, &["urn:signing-only"]),
            with_methods(r#" use="encryption""#, &rsa_idp().cert, &[GCM, OAEP]),
            with_methods("", &ec_idp().cert, &[CBC, GCM]),
        );
        let md = parse(&sp_metadata("", &keys, ACS)).unwrap();
        let encryption: Vec<Vec<u8>> = md.encryption_certs.iter().map(der).collect();
        assert_eq!(encryption, [der(&rsa_idp().cert), der(&ec_idp().cert)]);
        let signing: Vec<Vec<u8>> = md.signing_certs.iter().map(der).collect();
        assert_eq!(signing, [der(&ec_idp().cert), der(&ec_idp().cert)]);
        assert_eq!(md.encryption_methods, [GCM, OAEP, CBC]);
        // None listed, no encryption key.
        let md = parse(&sp_metadata(
            "",
            &key(r#" use="signing""#, &rsa_idp().cert),
            ACS,
        ))
        .unwrap();
        assert!(md.encryption_certs.is_empty() && md.encryption_methods.is_empty());
    }

    #[test]
    fn entities_descriptor_picks_the_first_saml2_sp() {
        let xml = format!(
            r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">
  <md:EntityDescriptor entityID="https://idp.example"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://saml1-sp.example"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol"/></md:EntityDescriptor>
  <md:EntitiesDescriptor>
    <md:EntityDescriptor entityID="https://sp2.example"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">{ACS}</md:SPSSODescriptor></md:EntityDescriptor>
  </md:EntitiesDescriptor>
  <md:EntityDescriptor entityID="https://sp3.example"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>
</md:EntitiesDescriptor>"#
        );
        let md = parse(&xml).unwrap();
        assert_eq!(md.entity_id, "https://sp2.example");
        assert_eq!(md.acs.len(), 2);
        assert_eq!(md.authn_requests_signed, None);
        assert!(md.signing_certs.is_empty());
    }

    #[test]
    fn the_idp_metadata_is_not_sp_metadata() {
        let err = parse(&rsa_idp().metadata_xml()).unwrap_err();
        assert!(matches!(err, MetadataError::NoSpDescriptor), "{err:?}");
    }

    #[test]
    fn import_errors() {
        let bad = |xml: &str| parse(xml).unwrap_err();
        assert!(matches!(bad("<x/>"), MetadataError::NotMetadata { .. }));
        assert!(matches!(bad("not xml"), MetadataError::Xml(_)));
        assert!(matches!(
            bad(
                r#"<!DOCTYPE x [<!ENTITY e "e">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>"#
            ),
            MetadataError::Xml(XmlError::Doctype { .. })
        ));
        let saml1 = sp_metadata("", "", ACS).replace(
            "urn:oasis:names:tc:SAML:1.1:protocol urn:oasis:names:tc:SAML:2.0:protocol",
            "urn:oasis:names:tc:SAML:1.1:protocol",
        );
        assert!(
            matches!(bad(&saml1), MetadataError::NoSaml2SpDescriptor { found } if found.contains("1.1"))
        );
        let no_id = sp_metadata("", "", ACS).replace(r#" entityID=" https://sp.example.com ""#, "");
        assert!(matches!(bad(&no_id), MetadataError::MissingEntityId));
        let e = bad(&sp_metadata(r#" AuthnRequestsSigned="yes""#, "", ACS));
        assert!(
            matches!(&e, MetadataError::InvalidBoolean { attribute: "AuthnRequestsSigned", found } if found == "yes")
        );
        let e = bad(&sp_metadata(
            "",
            &key(r#" use="both""#, &rsa_idp().cert),
            ACS,
        ));
        assert!(matches!(e, MetadataError::InvalidKeyUse { .. }));
        let broken = r#"<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>!!!</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#;
        let e = bad(&sp_metadata("", broken, ACS));
        assert!(
            matches!(&e, MetadataError::InvalidCertificate { position: 1, message } if message.contains("base64"))
        );
        let not_der = broken.replace("!!!", "AAAA");
        let e = bad(&sp_metadata("", &not_der, ACS));
        assert!(e.to_string().contains("#1"));
        let empty = broken.replace("!!!", "  ");
        assert!(matches!(
            bad(&sp_metadata("", &empty, ACS)),
            MetadataError::InvalidCertificate { .. }
        ));
    }

    fn finding_ids(md: &SpMetadata) -> Vec<&'static str> {
        sanity(md, OffsetDateTime::now_utc())
            .into_iter()
            .map(|f| f.check)
            .collect()
    }

    fn base() -> SpMetadata {
        parse(&sp_metadata("", &key("", &rsa_idp().cert), ACS)).unwrap()
    }

    #[test]
    fn sanity_findings() {
        let mut md = base();
        md.acs.clear();
        assert_eq!(finding_ids(&md), ["acs-missing"]);

        let mut md = base();
        md.acs.retain(|a| a.binding != BINDING_POST);
        assert_eq!(finding_ids(&md), ["acs-no-post"]);

        for (loc, ids) in [
            ("http://sp.example.com/acs", &["acs-insecure-http"][..]),
            ("http://localhost:8080/acs", &[][..]),
            ("http://127.0.0.1/acs", &[][..]),
            ("http://[::1]/acs", &[][..]),
            (
                "http://localhost.evil.example/acs",
                &["acs-insecure-http"][..],
            ),
            ("/relative/acs", &["acs-invalid-url"][..]),
            ("ftp://sp.example.com/acs", &["acs-invalid-url"][..]),
        ] {
            let mut md = base();
            md.acs[0].location = loc.into();
            assert_eq!(finding_ids(&md), ids, "{loc}");
        }

        let mut md = base();
        md.acs[1].index = Some(0);
        md.acs[1].is_default = true;
        assert_eq!(finding_ids(&md), ["acs-index", "acs-default"]);
        md.acs[1].index = None;
        assert_eq!(finding_ids(&md)[0], "acs-index");

        let mut md = base();
        md.authn_requests_signed = Some(true);
        md.signing_certs.clear();
        assert_eq!(finding_ids(&md), ["signing-cert-missing"]);

        let mut md = base();
        md.entity_id = "x".repeat(1025);
        assert_eq!(finding_ids(&md), ["entity-id-length"]);
    }

    #[test]
    fn sanity_of_certificate_dates() {
        let key = &rsa_idp().key;
        let old = crate::saml::idp::self_signed_cert_between(
            key,
            "old sp",
            &Asn1Time::from_str("20200101000000Z").unwrap(),
            &Asn1Time::from_str("20210101000000Z").unwrap(),
        )
        .unwrap();
        let md = parse(&sp_metadata("", &key_xml_for(&old), ACS)).unwrap();
        let f = sanity(&md, OffsetDateTime::now_utc());
        let ids: Vec<&str> = f.iter().map(|f| f.check).collect();
        // Once as signing, once as encryption (no use attribute).
        assert_eq!(ids, ["cert-expired", "cert-expired"]);
        assert!(f[0].message.contains("CN=old sp") && f[0].message.contains("2021"));
        assert!(f[0].message.starts_with("signing") && f[1].message.starts_with("encryption"));
        let in_2019 = OffsetDateTime::from_unix_timestamp(1_546_300_800).unwrap();
        let ids: Vec<&str> = sanity(&md, in_2019).iter().map(|f| f.check).collect();
        assert_eq!(ids, ["cert-not-yet-valid", "cert-not-yet-valid"]);
    }

    fn key_xml_for(cert: &X509) -> String {
        key("", cert)
    }

    #[test]
    fn hostile_metadata_never_panics() {
        let seed = sp_metadata(
            r#" AuthnRequestsSigned="true""#,
            &key("", &ec_idp().cert),
            ACS,
        );
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..300 {
            let mut bytes = seed.clone().into_bytes();
            for _ in 0..rng.random_range(1..6) {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
            let s = String::from_utf8_lossy(&bytes);
            if let Ok(md) = parse(&s) {
                let _ = sanity(&md, OffsetDateTime::now_utc());
            }
            let cut = rng.random_range(0..seed.len());
            if seed.is_char_boundary(cut) {
                let _ = parse(&seed[..cut]);
            }
        }
        // Extreme clock values.
        let md = base();
        for t in [
            OffsetDateTime::UNIX_EPOCH,
            OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT),
            OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT),
        ] {
            let _ = sanity(&md, t);
        }
    }
}
