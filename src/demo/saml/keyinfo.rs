//! The `saml-trust-keyinfo` break only: every key a Signature's `KeyInfo` offers, in every
//! form XML-DSig allows (X509Certificate, RSAKeyValue, DEREncodedKeyValue, ECKeyValue), as
//! certificates the verifier can be handed. A careful SP never looks here: it verifies
//! with the certificate it pinned when the IdP was configured.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Public};
use openssl::rsa::Rsa;
use openssl::x509::X509;

use crate::saml::dsig::DSIG_NS;
use crate::saml::xml::Element;

/// XML-DSig 1.1 namespace (DEREncodedKeyValue, ECKeyValue).
const DSIG11_NS: &str = "http://www.w3.org/2009/xmldsig11#";

/// Every key `KeyInfo` offers, wrapped in throw-away certificates (verification looks only
/// at a certificate's public key). Unusable entries are skipped.
pub fn offered_keys(key_info: &Element) -> Vec<X509> {
    let mut out = Vec::new();
    for data in key_info.find_children(DSIG_NS, "X509Data") {
        for c in data.find_children(DSIG_NS, "X509Certificate") {
            if let Some(cert) = b64(&c.text()).and_then(|der| X509::from_der(&der).ok()) {
                out.push(cert);
            }
        }
    }
    let mut keys: Vec<PKey<Public>> = Vec::new();
    for kv in key_info.find_children(DSIG_NS, "KeyValue") {
        if let Some(rsa) = kv.find_child(DSIG_NS, "RSAKeyValue") {
            keys.extend(rsa_key_value(rsa));
        }
        if let Some(ec) = kv.find_child(DSIG11_NS, "ECKeyValue") {
            keys.extend(ec_key_value(ec));
        }
    }
    for der in key_info.find_children(DSIG11_NS, "DEREncodedKeyValue") {
        if let Some(k) = b64(&der.text()).and_then(|d| PKey::public_key_from_der(&d).ok()) {
            keys.push(k);
        }
    }
    out.extend(keys.iter().filter_map(|k| wrap(k).ok()));
    out
}

fn b64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    B64.decode(compact.as_bytes()).ok()
}

fn rsa_key_value(el: &Element) -> Option<PKey<Public>> {
    let part = |name: &str| {
        el.find_child(DSIG_NS, name)
            .and_then(|e| b64(&e.text()))
            .and_then(|b| BigNum::from_slice(&b).ok())
    };
    let rsa = Rsa::from_public_components(part("Modulus")?, part("Exponent")?).ok()?;
    PKey::from_rsa(rsa).ok()
}

/// `ECKeyValue` with `NamedCurve URI="urn:oid:1.2.840.10045.3.1.7"` and `PublicKey` (an
/// uncompressed point): P-256 is the only curve SAML IdPs use.
fn ec_key_value(el: &Element) -> Option<PKey<Public>> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).ok()?;
    let point_bytes = b64(&el.find_child(DSIG11_NS, "PublicKey")?.text())?;
    let mut ctx = BigNumContext::new().ok()?;
    let point = EcPoint::from_bytes(&group, &point_bytes, &mut ctx).ok()?;
    let key = EcKey::from_public_key(&group, &point).ok()?;
    PKey::from_ec_key(key).ok()
}

/// A certificate around `key`, signed by a throw-away key: only its public key is used.
fn wrap(key: &PKey<Public>) -> Result<X509, openssl::error::ErrorStack> {
    let signer = PKey::from_ec_key(EcKey::generate(
        EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?.as_ref(),
    )?)?;
    let mut b = X509::builder()?;
    b.set_version(2)?;
    b.set_pubkey(key)?;
    let now = openssl::asn1::Asn1Time::days_from_now(0)?;
    let later = openssl::asn1::Asn1Time::days_from_now(1)?;
    b.set_not_before(&now)?;
    b.set_not_after(&later)?;
    b.sign(&signer, MessageDigest::sha256())?;
    Ok(b.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::xml::Document;

    #[test]
    fn rsa_key_value_and_der_forms_become_usable_keys() {
        let rsa = Rsa::generate(2048).unwrap();
        let modulus = B64.encode(rsa.n().to_vec());
        let exponent = B64.encode(rsa.e().to_vec());
        let pkey = PKey::from_rsa(rsa).unwrap();
        let der = B64.encode(pkey.public_key_to_der().unwrap());
        let xml = format!(
            r#"<ds:KeyInfo xmlns:ds="{DSIG_NS}" xmlns:dsig11="{DSIG11_NS}"><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>{modulus}</ds:Modulus><ds:Exponent>{exponent}</ds:Exponent></ds:RSAKeyValue></ds:KeyValue><dsig11:DEREncodedKeyValue>{der}</dsig11:DEREncodedKeyValue></ds:KeyInfo>"#
        );
        let doc = Document::parse(&xml).unwrap();
        let keys = offered_keys(&doc.root);
        assert_eq!(keys.len(), 2);
        for k in keys {
            assert!(k.public_key().unwrap().public_eq(&pkey));
        }
    }

    #[test]
    fn garbage_is_skipped() {
        let xml = format!(
            r#"<ds:KeyInfo xmlns:ds="{DSIG_NS}"><ds:X509Data><ds:X509Certificate>!!</ds:X509Certificate></ds:X509Data><ds:KeyValue><ds:RSAKeyValue><ds:Modulus>AA==</ds:Modulus></ds:RSAKeyValue></ds:KeyValue></ds:KeyInfo>"#
        );
        let doc = Document::parse(&xml).unwrap();
        assert!(offered_keys(&doc.root).is_empty());
    }
}
