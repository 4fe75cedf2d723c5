//! EncryptedAssertions at the reference SP: correct encrypted logins with every algorithm,
//! every ACS check applied to the decrypted Assertion, the signature rules, and failures
//! that do not reveal why decryption failed.

use super::super::request::ENCRYPTION_METHODS;
use super::*;
use crate::saml::attacks::{self, Attack, Attacker, Scenario};
use crate::saml::dsig::test_keys::{attacker_rsa, ec};
use crate::saml::idp::IdpIdentity;
use crate::saml::metadata;
use crate::saml::response::{self, Encryption, ResponseSpec, SignMode};
use crate::saml::xmlenc::{self, BlockCipher, KeyTransport};

/// `xml` with its Assertion encrypted for the reference SP's encryption certificate.
pub fn encrypted(xml: &str, cipher: BlockCipher, transport: KeyTransport) -> String {
    let mut doc = Document::parse(xml).expect("parse");
    xmlenc::encrypt_assertion(&mut doc, &sp_enc_keys().cert, cipher, transport).expect("encrypt");
    doc.to_xml()
}

async fn logs_in(h: &Harness, xml: &str) -> Browser {
    let b = h.new_browser();
    let r = b.post_xml(xml, None).await;
    assert!(r.succeeded(), "expected a login: {}", r.body);
    assert_eq!(b.who().await.as_deref(), Some(USER));
    b
}

async fn refused(h: &Harness, xml: &str) -> String {
    let b = h.new_browser();
    let r = b.post_xml(xml, None).await;
    let text = r.failure().to_string();
    assert_eq!(b.who().await, None);
    text
}

#[tokio::test]
async fn encrypted_signed_assertions_log_in_with_every_cipher_and_transport() {
    let h = Harness::start(&[]).await;
    for cipher in BlockCipher::ALL {
        for transport in KeyTransport::ALL {
            let xml = encrypted(&h.tpl().signed(), cipher, transport);
            assert!(
                !xml.contains(USER),
                "{cipher:?}: the NameID travels encrypted"
            );
            let b = logs_in(&h, &xml).await;
            // The attributes come from the decrypted Assertion too.
            let me = b.me().await.expect("session");
            assert_eq!(me["email"], USER);
            assert_eq!(me["groups"], serde_json::json!(["admins", "staff"]));
        }
    }
}

#[tokio::test]
async fn sp_initiated_encrypted_logins_answer_the_request() {
    let h = Harness::start(&[]).await;
    let (id, _) = h.browser.start_login(Some("/app/deep")).await;
    let t = h.tpl().answering(&id);
    let xml = encrypted(&t.signed(), BlockCipher::Aes256Cbc, KeyTransport::default());
    let r = h.browser.post_xml(&xml, Some("/app/deep")).await;
    assert!(r.succeeded(), "{}", r.body);
    assert_eq!(r.location(), Some("/app/deep"));
    assert_eq!(h.browser.who().await.as_deref(), Some(USER));
    // The same encrypted Assertion again (unsolicited, so only the replay cache can stop
    // it): the cache sees through the encryption.
    let xml = encrypted(
        &h.tpl().signed(),
        BlockCipher::Aes256Gcm,
        KeyTransport::default(),
    );
    logs_in(&h, &xml).await;
    let again = refused(&h, &xml).await;
    assert!(again.contains("already used"), "{again}");
}

#[tokio::test]
async fn a_response_signature_over_the_encrypted_assertion_covers_it() {
    // Encrypt the unsigned Assertion, then sign the Response around it.
    let response_signed = |h: &Harness| {
        let t = h.tpl();
        let xml = encrypted(&t.unsigned(), BlockCipher::Aes128Gcm, KeyTransport::RsaOaep);
        sign(&xml, &[&t.response_id], idp_rsa())
    };
    let h = Harness::start_with(&[], RequiresSigned::Response).await;
    logs_in(&h, &response_signed(&h)).await;
    let h = Harness::start_with(&[], RequiresSigned::Either).await;
    logs_in(&h, &response_signed(&h)).await;
    // An SP that wants the Assertion itself signed does not take the Response's word.
    let h = Harness::start_with(&[], RequiresSigned::Assertion).await;
    let text = refused(&h, &response_signed(&h)).await;
    assert!(text.contains("the Assertion is not signed"), "{text}");
    // Both: Assertion signed, encrypted, then the Response signed.
    let h = Harness::start_with(&[], RequiresSigned::Both).await;
    let t = h.tpl();
    let xml = encrypted(&t.signed(), BlockCipher::Aes256Gcm, KeyTransport::default());
    logs_in(&h, &sign(&xml, &[&t.response_id], idp_rsa())).await;
    // The Response signature is checked over the EncryptedAssertion as sent.
    let t = h.tpl();
    let xml = encrypted(&t.signed(), BlockCipher::Aes256Gcm, KeyTransport::default());
    let signed = sign(&xml, &[&t.response_id], idp_rsa());
    let tampered = signed.replacen("<xenc:CipherValue>", "<xenc:CipherValue>AAAA", 1);
    let text = refused(&h, &tampered).await;
    assert!(text.contains("digest mismatch"), "{text}");
}

#[tokio::test]
async fn the_decrypted_assertion_gets_every_check() {
    let h = Harness::start(&[]).await;
    let mut t = h.tpl();
    t.audiences = Some(vec!["https://other-sp.example.test".to_string()]);
    let text = refused(
        &h,
        &encrypted(&t.signed(), BlockCipher::Aes256Gcm, KeyTransport::default()),
    )
    .await;
    assert!(text.contains("audience"), "{text}");
    let mut t = h.tpl();
    t.recipient = Some("https://elsewhere.example.test/acs".to_string());
    let text = refused(
        &h,
        &encrypted(&t.signed(), BlockCipher::Aes256Gcm, KeyTransport::default()),
    )
    .await;
    assert!(text.contains("Recipient"), "{text}");
    let mut t = h.tpl();
    t.issuer = "https://evil.example.test".to_string();
    let text = refused(
        &h,
        &encrypted(&t.signed(), BlockCipher::Aes256Gcm, KeyTransport::default()),
    )
    .await;
    assert!(text.contains("Issuer"), "{text}");
    // Signed, then changed: the inner digest breaks as it would in clear.
    let t = h.tpl();
    let tampered = t.signed().replace(USER, "mallory@evil.test");
    let text = refused(
        &h,
        &encrypted(&tampered, BlockCipher::Aes256Gcm, KeyTransport::default()),
    )
    .await;
    assert!(text.contains("digest mismatch"), "{text}");
    // SHA-1 is refused inside as outside.
    let t = h.tpl();
    let sha1 = sign_with(
        &t.unsigned(),
        &[&t.assertion_id],
        idp_rsa(),
        &crate::saml::dsig::SignOptions {
            alg: crate::saml::dsig::SignatureAlgorithm::RsaSha1,
            digest: crate::saml::dsig::DigestAlgorithm::Sha1,
            ..Default::default()
        },
    );
    refused(
        &h,
        &encrypted(&sha1, BlockCipher::Aes256Gcm, KeyTransport::default()),
    )
    .await;
}

#[tokio::test]
async fn one_assertion_per_response_encrypted_or_not() {
    let h = Harness::start(&[]).await;
    let t = h.tpl();
    let enc = encrypted(&t.signed(), BlockCipher::Aes256Gcm, KeyTransport::default());
    let ea_start = enc.find("<saml:EncryptedAssertion").expect("start");
    let ea_end = enc.find("</samlp:Response>").expect("end");
    let ea = &enc[ea_start..ea_end];
    let other = h.tpl();
    let signed = Document::parse(&other.signed()).expect("parse");
    let plain = signed
        .root
        .find_child(crate::saml::dsig::SAML_ASSERTION_NS, "Assertion")
        .expect("assertion")
        .to_xml();
    for assertions in [
        format!("{ea}{plain}"),
        format!("{plain}{ea}"),
        format!("{ea}{ea}"),
    ] {
        let text = refused(&h, &t.response_with(&assertions)).await;
        assert!(text.contains("2 Assertions"), "{text}");
    }
}

#[tokio::test]
async fn undecryptable_messages_fail_alike_and_refusals_say_why() {
    let h = Harness::start(&[]).await;
    let generic = "Login failed: the EncryptedAssertion could not be decrypted</p>";
    // For another key.
    let mut doc = Document::parse(&h.tpl().signed()).expect("parse");
    xmlenc::encrypt_assertion(
        &mut doc,
        &attacker_rsa().cert,
        BlockCipher::Aes256Cbc,
        KeyTransport::default(),
    )
    .expect("encrypt");
    assert!(refused(&h, &doc.to_xml()).await.contains(generic));
    // Altered GCM ciphertext; CBC with the last block altered (padding or XML broken).
    for cipher in [BlockCipher::Aes256Gcm, BlockCipher::Aes128Cbc] {
        let xml = encrypted(&h.tpl().signed(), cipher, KeyTransport::default());
        let doc = Document::parse(&xml).expect("parse");
        let value = doc
            .root
            .find_child(crate::saml::dsig::SAML_ASSERTION_NS, "EncryptedAssertion")
            .and_then(|e| e.find_child(xmlenc::XENC_NS, "EncryptedData"))
            .and_then(|e| e.find_child(xmlenc::XENC_NS, "CipherData"))
            .and_then(|e| e.find_child(xmlenc::XENC_NS, "CipherValue"))
            .expect("CipherValue")
            .text();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        for flip in [1usize, 17, 40] {
            let mut ct = b64.decode(&value).expect("base64");
            let at = ct.len() - flip;
            ct[at] ^= 0x5a;
            let text = refused(&h, &xml.replace(&value, &b64.encode(&ct))).await;
            assert!(text.contains(generic), "{cipher:?} {flip}: {text}");
        }
    }
    // Refused algorithms are named: nothing was decrypted, so nothing leaks.
    let xml = encrypted(
        &h.tpl().signed(),
        BlockCipher::Aes256Gcm,
        KeyTransport::default(),
    )
    .replace(KeyTransport::RsaOaepMgf1p.uri(), xmlenc::RSA_1_5);
    let text = refused(&h, &xml).await;
    assert!(
        text.contains("not acceptable") && text.contains("PKCS#1 v1.5"),
        "{text}"
    );
    let xml = encrypted(
        &h.tpl().signed(),
        BlockCipher::Aes256Gcm,
        KeyTransport::default(),
    )
    .replace(
        BlockCipher::Aes256Gcm.uri(),
        "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
    );
    let text = refused(&h, &xml).await;
    assert!(
        text.contains("unsupported block encryption algorithm"),
        "{text}"
    );
}

/// The test IdP the harness trusts, as the tester's identity type.
fn idp_identity() -> IdpIdentity {
    IdpIdentity {
        entity_id: IDP_ENTITY.to_string(),
        sso_url: IDP_SSO.to_string(),
        key: idp_rsa().key.clone(),
        cert: idp_rsa().cert.clone(),
    }
}

fn spec_for(h: &Harness, name_id: &str) -> ResponseSpec {
    ResponseSpec::new(IDP_ENTITY, &h.acs, &h.entity_id, name_id)
}

#[tokio::test]
async fn the_tester_encrypts_as_the_metadata_asks_and_the_sp_accepts_it() {
    let h = Harness::start(&[]).await;
    let xml = h
        .browser
        .get("/saml/metadata")
        .await
        .text()
        .await
        .expect("body");
    let md = metadata::parse(&xml).expect("metadata");
    let [cert] = md.encryption_certs.as_slice() else {
        panic!("one encryption certificate: {xml}");
    };
    assert_eq!(
        cert.to_der().expect("DER"),
        sp_enc_keys().cert.to_der().expect("DER")
    );
    assert_eq!(md.encryption_methods, ENCRYPTION_METHODS);
    // The signing certificate is still the only signing one.
    assert_eq!(md.signing_certs.len(), 1);
    let enc = Encryption::negotiate(&md.encryption_methods);
    assert_eq!(
        enc,
        Encryption {
            cipher: BlockCipher::Aes256Gcm,
            transport: KeyTransport::RsaOaepMgf1p
        }
    );
    let idp = idp_identity();
    for mode in [SignMode::Assertion, SignMode::Both] {
        let mut spec = spec_for(&h, USER);
        spec.sign = mode;
        let xml = response::build_signed_encrypted(&spec, &idp, cert, enc).expect("build");
        logs_in(&h, &xml).await;
    }
    for enc in [
        Encryption::default(),
        Encryption {
            cipher: BlockCipher::Aes128Cbc,
            transport: KeyTransport::RsaOaep,
        },
    ] {
        let xml =
            response::build_signed_encrypted(&spec_for(&h, USER), &idp, cert, enc).expect("build");
        logs_in(&h, &xml).await;
    }
}

#[tokio::test]
async fn the_encryption_attacks_fail_on_the_correct_sp_and_succeed_on_the_broken_one() {
    let a = attacker_rsa();
    let e = ec("attacker-ec");
    let attacker = Attacker {
        rsa_key: a.key.clone(),
        rsa_cert: a.cert.clone(),
        ec_key: e.key,
        ec_cert: e.cert,
    };
    let idp = idp_identity();
    const VICTIM: &str = "ceo@example.test";
    for on in [false, true] {
        let h = Harness::for_break("saml-decrypted-unverified", on).await;
        for attack in [Attack::EncryptedWrongKey, Attack::EncryptedUnsignedInner] {
            let s = Scenario {
                idp: &idp,
                attacker: &attacker,
                base: spec_for(&h, VICTIM),
                attacker_identity: USER.to_string(),
                attacker_attributes: Vec::new(),
                canary_url: None,
                sp_encryption_cert: Some(&sp_enc_keys().cert),
            };
            let forged = attacks::forge(attack, &s).expect("forge");
            let b = h.new_browser();
            let r = b.post_xml(&forged.xml, None).await;
            assert_eq!(
                r.succeeded(),
                on,
                "{attack} with the switch {on}: {}",
                r.body
            );
            let who = b.who().await;
            assert_eq!(
                who.as_deref(),
                on.then_some(forged.claimed.as_str()),
                "{attack}"
            );
        }
    }
}
