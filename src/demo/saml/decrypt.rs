//! EncryptedAssertion (SAML core §2.3.4): decrypted with the SP's encryption key, its own
//! signatures verified like any others, then handed back to the ACS checks, which run on
//! it exactly as on an Assertion that arrived in clear.
//!
//! The rule that matters: decrypting proves nothing about who wrote the Assertion. The
//! encryption key's certificate is published in the SP's metadata, so anyone can encrypt
//! for it; only a signature by the IdP (on the Assertion inside, or on the Response around
//! the EncryptedAssertion) makes it the IdP's.

use super::Sp;
use super::acs::AcsError;
use crate::saml::dsig::{SAML_ASSERTION_NS as SAML, VerifiedReference};
use crate::saml::xml::{Document, NodePath};
use crate::saml::xmlenc::{self, XmlEncError};

/// A decrypted Assertion.
pub(super) struct Decrypted {
    /// The Assertion as a document of its own (root: the `saml:Assertion`), declaring the
    /// namespaces it had in scope inside the Response.
    pub assertion: Document,
    /// The signatures verified inside it.
    pub refs: Vec<VerifiedReference>,
    /// Whether one of them is the Assertion's own (enveloped in it, covering it).
    pub signed: bool,
}

/// Decrypts the Response's EncryptedAssertion, if it has one (`None` otherwise).
/// `verify` is the ACS's signature verification, applied to the decrypted Assertion with
/// the same trust and policy as to the Response.
pub(super) fn open(
    sp: &Sp,
    doc: &Document,
    verify: impl FnOnce(&Document) -> Result<Vec<VerifiedReference>, AcsError>,
) -> Result<Option<Decrypted>, AcsError> {
    let root = &doc.root;
    let mut encrypted = root
        .indexed_child_elements()
        .filter(|(_, e)| e.is(SAML, "EncryptedAssertion"))
        .map(|(i, _)| i);
    let Some(index) = encrypted.next() else {
        return Ok(None);
    };
    // One Assertion per Response, encrypted or not: which of several an application reads
    // would be a guess.
    let count = 1 + encrypted.count() + root.find_children(SAML, "Assertion").count();
    if count > 1 {
        return Err(AcsError::AssertionCount(count));
    }
    check_supported(sp, doc, index)?;
    let assertion = xmlenc::decrypt_assertion_at(doc, &NodePath(vec![index]), &sp.cfg.enc_key)
        .map_err(refusal)?;
    if sp.cfg.breaks.has("saml-decrypted-unverified") {
        // "Only the IdP has our key": but it is the public half that encrypts, and that
        // half is in our metadata. The Assertion's signature is not even looked at.
        return Ok(Some(Decrypted {
            assertion,
            refs: Vec::new(),
            signed: true,
        }));
    }
    let refs = verify(&assertion)?;
    let signed = refs
        .iter()
        .any(|r| r.signed_element_path == NodePath::default());
    Ok(Some(Decrypted {
        assertion,
        refs,
        signed,
    }))
}

/// The two ways SPs that publish an encryption certificate still fail encrypted logins:
/// no decryption at all, or only the CBC ciphers of XML Encryption 1.0 (no GCM).
fn check_supported(sp: &Sp, doc: &Document, index: usize) -> Result<(), AcsError> {
    let cipher = doc
        .get(&NodePath(vec![index]))
        .and_then(|e| e.find_child(xmlenc::XENC_NS, "EncryptedData"))
        .and_then(|d| d.find_child(xmlenc::XENC_NS, "EncryptionMethod"))
        .and_then(|m| m.attr("Algorithm"))
        .unwrap_or_default()
        .to_string();
    if sp.cfg.breaks.has("saml-encryption-unsupported") {
        return Err(AcsError::UnsupportedEncryption(
            "any algorithm (this SP cannot decrypt)".into(),
        ));
    }
    let gcm = xmlenc::BlockCipher::from_uri(&cipher).is_some_and(|c| c.is_gcm());
    if gcm && sp.cfg.breaks.has("saml-encryption-cbc-only") {
        return Err(AcsError::UnsupportedEncryption(cipher));
    }
    Ok(())
}

/// Errors that come after something was decrypted with our key are reported alike, so
/// that the error page is no decryption oracle (Jager and Somorovsky, "How to Break XML
/// Encryption", 2011: CBC plaintexts recovered from "bad padding" versus "bad XML"
/// answers). CBC is still accepted because IdPs send it by default; GCM closes the hole.
fn refusal(e: XmlEncError) -> AcsError {
    if e.is_oracle_sensitive() {
        AcsError::Decryption(e)
    } else {
        AcsError::EncryptedAssertion(e)
    }
}
