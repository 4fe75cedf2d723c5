//! What the SP sends: its metadata and signed AuthnRequests (HTTP-Redirect binding).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::pkey::Id;
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
    let id = new_id();
    let root = Element::new_ns("samlp", PROTOCOL_NS, "AuthnRequest")
        .with_attr("ID", &id)
        .with_attr("Version", "2.0")
        .with_attr("IssueInstant", &instant(now)?)
        .with_attr("Destination", &cfg.idp_sso_url)
        .with_attr("AssertionConsumerServiceURL", &cfg.acs_url())
        .with_attr("ProtocolBinding", HTTP_POST_BINDING)
        .with_child(
            Element::new_ns("saml", SAML_ASSERTION_NS, "Issuer").with_text(&cfg.sp_entity_id),
        )
        .with_child(
            Element::new_ns("samlp", PROTOCOL_NS, "NameIDPolicy")
                .with_attr("Format", NAMEID_EMAIL)
                .with_attr("AllowCreate", "true"),
        );
    let xml = Document::new(root)?.to_xml();
    let encoded = B64.encode(deflate_stored(xml.as_bytes()));
    let query = dsig::sign_redirect_query(
        &[("SAMLRequest", &encoded), ("RelayState", relay_state)],
        &cfg.sp_key,
        algorithm_for(cfg),
    )?;
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

/// SP metadata: signing certificate, e-mail NameIDs, one HTTP-POST ACS.
pub fn metadata(cfg: &SamlSpConfig) -> Result<String, RequestError> {
    let cert = B64.encode(cfg.sp_cert.to_der()?);
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
