//! What the SP sends: its metadata and signed AuthnRequests (HTTP-Redirect binding).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::asn1::Asn1Time;
use openssl::pkey::Id;
use openssl::x509::X509;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::SamlSpConfig;
use super::store::random_token;
use crate::saml::dsig::{self, DSIG_NS, DsigError, SAML_ASSERTION_NS, SignatureAlgorithm};
use crate::saml::xml::{Document, Element, XmlError};

pub const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const HTTP_POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub const NAMEID_EMAIL: &str = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(transparent)]
    Dsig(#[from] DsigError),
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("openssl: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    #[error("time formatting: {0}")]
    Time(#[from] time::error::Format),
}

/// An AuthnRequest ready to send.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    pub id: String,
    /// `idp_sso_url?SAMLRequest=…&RelayState=…&SigAlg=…&Signature=…`
    pub location: String,
}

/// A SAML ID: an xs:ID must not start with a digit, hence the underscore.
pub fn new_id() -> String {
    format!("_{}", random_token())
}

/// Current UTC time in the form SAML uses (whole seconds, `Z`).
pub fn instant(now: OffsetDateTime) -> Result<String, RequestError> {
    let whole = now.replace_nanosecond(0).unwrap_or(now);
    Ok(whole.to_offset(time::UtcOffset::UTC).format(&Rfc3339)?)
}

/// The algorithm matching the SP key: EC keys sign with ECDSA, all others with RSA.
fn algorithm_for(cfg: &SamlSpConfig) -> SignatureAlgorithm {
    if cfg.sp_key.id() == Id::EC {
        SignatureAlgorithm::EcdsaSha256
    } else {
        SignatureAlgorithm::RsaSha256
    }
}

/// Builds, DEFLATEs, encodes and signs an AuthnRequest for the Redirect binding.
pub fn authn_request(
    cfg: &SamlSpConfig,
    relay_state: &str,
    now: OffsetDateTime,
) -> Result<SignedRequest, RequestError> {
    let breaks = &cfg.breaks;
    let id = if breaks.has("saml-request-bad-id") {
        // The common slip: a bare UUID or hex token, which may start with a digit.
        format!("0{}", random_token())
    } else {
        new_id()
    };
    let version = if breaks.has("saml-request-wrong-version") {
        "2.1"
    } else {
        "2.0"
    };
    let issued = if breaks.has("saml-request-stale-instant") {
        // A clock (or time zone) one hour behind.
        now - time::Duration::hours(1)
    } else {
        now
    };
    let acs = if breaks.has("saml-request-wrong-acs") {
        misspelled_url(&cfg.acs_url())
    } else {
        cfg.acs_url()
    };
    let issuer = if breaks.has("saml-request-wrong-issuer") {
        // The base URL where the entity ID is expected: the IdP finds no such SP.
        cfg.base_url.as_str()
    } else {
        cfg.sp_entity_id.as_str()
    };
    let mut root = Element::new_ns("samlp", PROTOCOL_NS, "AuthnRequest")
        .with_attr("ID", &id)
        .with_attr("Version", version)
        .with_attr("IssueInstant", &instant(issued)?);
    if !breaks.has("saml-request-no-destination") {
        root.set_attr("Destination", &cfg.idp_sso_url);
    }
    let root = root
        .with_attr("AssertionConsumerServiceURL", &acs)
        .with_attr("ProtocolBinding", HTTP_POST_BINDING)
        .with_child(Element::new_ns("saml", SAML_ASSERTION_NS, "Issuer").with_text(issuer))
        .with_child(
            Element::new_ns("samlp", PROTOCOL_NS, "NameIDPolicy")
                .with_attr(
                    "Format",
                    // A bare word instead of the format URI: a common hand-written mistake.
                    if breaks.has("saml-request-bad-nameid-format") {
                        "emailAddress"
                    } else {
                        NAMEID_EMAIL
                    },
                )
                .with_attr("AllowCreate", "true"),
        );
    let xml = Document::new(root)?.to_xml();
    let encoded = B64.encode(deflate_stored(xml.as_bytes()));
    let query = if breaks.has("saml-request-bad-signature") {
        // Signs SAMLRequest and SigAlg only, then sends RelayState too: the verifier
        // rebuilds the signed octets with RelayState, so the signature does not verify.
        let signed = dsig::sign_redirect_query(
            &[("SAMLRequest", &encoded)],
            &cfg.sp_key,
            algorithm_for(cfg),
        )?;
        let relay: String = url::form_urlencoded::byte_serialize(relay_state.as_bytes()).collect();
        signed.replacen("&SigAlg=", &format!("&RelayState={relay}&SigAlg="), 1)
    } else {
        dsig::sign_redirect_query(
            &[("SAMLRequest", &encoded), ("RelayState", relay_state)],
            &cfg.sp_key,
            algorithm_for(cfg),
        )?
    };
    let sep = if cfg.idp_sso_url.contains('?') {
        '&'
    } else {
        '?'
    };
    Ok(SignedRequest {
        location: format!("{}{sep}{query}", cfg.idp_sso_url),
        id,
    })
}

/// The same endpoint spelled differently, as a sloppy configuration does: `127.0.0.1`
/// written `localhost` (or the reverse), otherwise the other of http and https. IdPs
/// compare ACS URLs as strings, so the spelling alone makes it an unregistered ACS.
fn misspelled_url(url: &str) -> String {
    if url.contains("://127.0.0.1") {
        url.replacen("://127.0.0.1", "://localhost", 1)
    } else if url.contains("://localhost") {
        url.replacen("://localhost", "://127.0.0.1", 1)
    } else if let Some(rest) = url.strip_prefix("https://") {
        format!("http://{rest}")
    } else if let Some(rest) = url.strip_prefix("http://") {
        format!("https://{rest}")
    } else {
        format!("{url}/")
    }
}

/// Raw DEFLATE (RFC 1951) with stored blocks only. The Redirect binding requires DEFLATE,
/// not compression; stored blocks are valid DEFLATE that every inflater reads, and keep
/// the SP free of a compression dependency. An AuthnRequest is well under one block.
pub fn deflate_stored(data: &[u8]) -> Vec<u8> {
    const MAX_BLOCK: usize = u16::MAX as usize;
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / MAX_BLOCK + 1));
    let mut chunks = data.chunks(MAX_BLOCK).peekable();
    if chunks.peek().is_none() {
        // Empty input is still one (final, empty) block.
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
        return out;
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        // BFINAL in bit 0, BTYPE=00 (stored) in bits 1-2, then padding to the byte end.
        out.push(u8::from(last));
        // chunks() of MAX_BLOCK guarantees the length fits in u16.
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// An expired self-signed certificate for the SP's own key (for the
/// `saml-metadata-expired-cert` break): valid for a year that ended a year ago. The key
/// is the real one, so requests signed with it still verify against this certificate;
/// only its dates are wrong.
pub fn expired_cert(cfg: &SamlSpConfig) -> Result<X509, RequestError> {
    const DAY: i64 = 24 * 60 * 60;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let not_before = Asn1Time::from_unix(now - 2 * 365 * DAY)?;
    let not_after = Asn1Time::from_unix(now - 365 * DAY)?;
    Ok(crate::saml::idp::self_signed_cert_between(
        &cfg.sp_key,
        "reference-sp (expired)",
        &not_before,
        &not_after,
    )?)
}

/// What the SP decrypts, in order of preference (authenticated GCM first), as published
/// in its metadata's `md:EncryptionMethod` elements.
pub const ENCRYPTION_METHODS: [&str; 6] = [
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
    "http://www.w3.org/2009/xmlenc11#rsa-oaep",
];

/// SP metadata: signing certificate `cert`, encryption certificate `cfg.enc_cert` with the
/// algorithms the SP decrypts, e-mail NameIDs, one HTTP-POST ACS.
pub fn metadata(cfg: &SamlSpConfig, cert: &X509) -> Result<String, RequestError> {
    let cert = B64.encode(cert.to_der()?);
    let enc_cert = B64.encode(cfg.enc_cert.to_der()?);
    let want_assertions_signed = matches!(
        cfg.requires_signed,
        super::RequiresSigned::Assertion | super::RequiresSigned::Both
    );
    let md = |local: &str| Element::new_ns("md", METADATA_NS, local);
    let ds = |local: &str| Element::new_ns("ds", DSIG_NS, local);
    let root = md("EntityDescriptor")
        .with_attr("entityID", &cfg.sp_entity_id)
        .with_child(
            md("SPSSODescriptor")
                .with_attr("AuthnRequestsSigned", "true")
                .with_attr(
                    "WantAssertionsSigned",
                    if want_assertions_signed {
                        "true"
                    } else {
                        "false"
                    },
                )
                .with_attr("protocolSupportEnumeration", PROTOCOL_NS)
                .with_child(md("KeyDescriptor").with_attr("use", "signing").with_child(
                    ds("KeyInfo").with_child(
                        ds("X509Data").with_child(ds("X509Certificate").with_text(&cert)),
                    ),
                ))
                .with_child(
                    ENCRYPTION_METHODS.iter().fold(
                        md("KeyDescriptor")
                            .with_attr("use", "encryption")
                            .with_child(
                                ds("KeyInfo").with_child(
                                    ds("X509Data")
                                        .with_child(ds("X509Certificate").with_text(&enc_cert)),
                                ),
                            ),
                        |kd, alg| kd.with_child(md("EncryptionMethod").with_attr("Algorithm", alg)),
                    ),
                )
                .with_child(md("NameIDFormat").with_text(NAMEID_EMAIL))
                .with_child(
                    md("AssertionConsumerService")
                        .with_attr("Binding", HTTP_POST_BINDING)
                        .with_attr("Location", &cfg.acs_url())
                        .with_attr("index", "0")
                        .with_attr("isDefault", "true"),
                ),
        );
    let mut doc = Document::new(root)?;
    doc.decl = Some(crate::saml::xml::XmlDecl {
        version: "1.0".into(),
        encoding: Some("UTF-8".into()),
        standalone: None,
    });
    Ok(doc.to_xml())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_deflate_frames_blocks() {
        assert_eq!(deflate_stored(b""), vec![1, 0, 0, 0xff, 0xff]);
        assert_eq!(deflate_stored(b"ab"), vec![1, 2, 0, 0xfd, 0xff, b'a', b'b']);
        let big = vec![7u8; 70_000];
        let out = deflate_stored(&big);
        assert_eq!(out.len(), 70_000 + 10);
        assert_eq!(&out[..5], &[0, 0xff, 0xff, 0, 0]);
        assert_eq!(out[5 + 65_535], 1);
        assert_eq!(super::super::tests::inflate_stored(&out).unwrap(), big);
    }
}
