//! One test per break switch: a minimal malicious or sloppy Response that the correct SP
//! rejects and the SP with the switch on accepts (or the reverse for switches that break
//! correct logins), asserted through the session, never through the status code alone.

use super::*;
use crate::saml::dsig::test_keys::attacker_rsa;
use crate::saml::dsig::{DigestAlgorithm, SignatureAlgorithm};
use crate::saml::{metadata, request};

const ON_OFF: [bool; 2] = [false, true];

/// Posts `xml`; on `accepted` asserts a session for `who`, otherwise a failed login that
/// mentions `reason` and leaves no session.
async fn expect(h: &Harness, xml: &str, accepted: bool, who: &str, reason: &str) {
    let r = h.browser.post_xml(xml, None).await;
    if accepted {
        assert!(r.succeeded(), "expected a login: {}", r.body);
        assert_eq!(h.browser.who().await.as_deref(), Some(who));
    } else {
        let text = r.failure();
        assert!(text.contains(reason), "{reason:?} not in {text}");
        assert_eq!(h.browser.who().await, None);
    }
}

#[tokio::test]
async fn signature_optional() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-signature-optional", on).await;
        let t = h.tpl();
        expect(&h, &t.unsigned(), on, USER, "the Assertion is not signed").await;
        // A signature that is present is still verified.
        let tampered = h.tpl().signed().replace(USER, "mallory@evil.test");
        let r = h.new_browser().post_xml(&tampered, None).await;
        assert!(r.failure().contains("digest mismatch"));
    }
}

#[tokio::test]
async fn trust_keyinfo() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-trust-keyinfo", on).await;
        let t = h.tpl();
        let forged = sign(&t.unsigned(), &[&t.assertion_id], attacker_rsa());
        expect(&h, &forged, on, USER, "not among the trusted certificates").await;
    }
}

/// XSW: the evil Assertion is the Response's only Assertion child; the genuine signed one
/// hides inside it, where its signature still verifies.
pub fn wrapped(h: &Harness, evil_user: &str) -> String {
    let genuine = h.tpl();
    let signed = Document::parse(&genuine.signed()).expect("parse");
    let genuine_assertion = signed
        .root
        .find_child(dsig::SAML_ASSERTION_NS, "Assertion")
        .expect("assertion")
        .to_xml();
    let mut evil = h.tpl();
    evil.name_id = evil_user.to_string();
    let evil_assertion = evil.assertion_xml();
    let evil_assertion = evil_assertion
        .strip_suffix("</saml:Assertion>")
        .expect("template end");
    let wrapped =
        format!("{evil_assertion}<saml:Advice>{genuine_assertion}</saml:Advice></saml:Assertion>");
    evil.response_with(&wrapped)
}

#[tokio::test]
async fn signature_unbound() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-signature-unbound", on).await;
        let xml = wrapped(&h, "mallory@evil.test");
        expect(
            &h,
            &xml,
            on,
            "mallory@evil.test",
            "the Assertion is not signed",
        )
        .await;
    }
}

#[tokio::test]
async fn comment_truncation() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-comment-truncation", on).await;
        let mut t = h.tpl();
        t.name_id = "victim@example.com<!---->.evil.test".to_string();
        let who = if on {
            "victim@example.com"
        } else {
            "victim@example.com.evil.test"
        };
        expect(&h, &t.signed(), true, who, "").await;
    }
}

#[tokio::test]
async fn no_audience_check() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-no-audience-check", on).await;
        let mut t = h.tpl();
        t.audiences = Some(vec!["https://other-sp.example.test".to_string()]);
        expect(
            &h,
            &t.signed(),
            on,
            USER,
            "not in the Assertion&#39;s audience",
        )
        .await;
        // Several restrictions must all hold, so one naming us is not enough.
        let mut t = h.tpl();
        let ours = format!(
            "<saml:AudienceRestriction><saml:Audience>{}</saml:Audience></saml:AudienceRestriction>",
            h.entity_id
        );
        t.audiences = Some(vec!["https://other-sp.example.test".to_string()]);
        let xml = t
            .unsigned()
            .replace("</saml:Conditions>", &format!("{ours}</saml:Conditions>"));
        let xml = sign(&xml, &[&t.assertion_id], idp_rsa());
        let r = h.new_browser().post_xml(&xml, None).await;
        assert_eq!(r.succeeded(), on, "{}", r.body);
    }
}

#[tokio::test]
async fn audience_optional() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-audience-optional", on).await;
        let mut t = h.tpl();
        t.audiences = None;
        expect(&h, &t.signed(), on, USER, "no AudienceRestriction").await;
    }
}

#[tokio::test]
async fn no_recipient_check() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-no-recipient-check", on).await;
        let mut t = h.tpl();
        t.recipient = Some("https://other-sp.example.test/acs".to_string());
        expect(&h, &t.signed(), on, USER, "Recipient").await;
        let mut t = h.tpl();
        t.recipient = None;
        let r = h.new_browser().post_xml(&t.signed(), None).await;
        assert_eq!(r.succeeded(), on, "{}", r.body);
    }
}

#[tokio::test]
async fn no_destination_check() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-no-destination-check", on).await;
        let mut t = h.tpl();
        t.destination = Some("https://other-sp.example.test/acs".to_string());
        expect(&h, &t.signed(), on, USER, "Destination").await;
    }
}

#[tokio::test]
async fn no_issuer_check() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-no-issuer-check", on).await;
        let mut t = h.tpl();
        t.issuer = "https://evil-idp.example.test".to_string();
        t.response_issuer = None;
        expect(&h, &t.signed(), on, USER, "Assertion Issuer").await;
        let mut t = h.tpl();
        t.response_issuer = Some("https://evil-idp.example.test".to_string());
        let r = h.new_browser().post_xml(&t.signed(), None).await;
        assert_eq!(r.succeeded(), on, "{}", r.body);
    }
}

#[tokio::test]
async fn no_time_check() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-no-time-check", on).await;
        let mut t = h.tpl();
        // Beyond the 60 s clock skew.
        t.not_on_or_after = Some(ts(-120));
        expect(&h, &t.signed(), on, USER, "has expired").await;
        let mut t = h.tpl();
        t.not_before = Some(ts(600));
        let r = h.new_browser().post_xml(&t.signed(), None).await;
        assert_eq!(r.succeeded(), on, "{}", r.body);
        // Within the skew, both accept.
        let mut t = h.tpl();
        t.not_before = Some(ts(30));
        let r = h.new_browser().post_xml(&t.signed(), None).await;
        assert!(r.succeeded(), "{}", r.body);
    }
}

#[tokio::test]
async fn no_subject_expiry_check() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-no-subject-expiry-check", on).await;
        let mut t = h.tpl();
        t.scd_not_on_or_after = Some(ts(-120));
        expect(&h, &t.signed(), on, USER, "SubjectConfirmation has expired").await;
        let mut t = h.tpl();
        t.scd_not_on_or_after = None;
        let r = h.new_browser().post_xml(&t.signed(), None).await;
        assert_eq!(r.succeeded(), on, "{}", r.body);
    }
}

#[tokio::test]
async fn no_inresponseto_check() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-no-inresponseto-check", on).await;
        let t = h.tpl().answering("_never-issued");
        expect(&h, &t.signed(), on, USER, "answers no outstanding request").await;
    }
}

#[tokio::test]
async fn inresponseto_any_session() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-inresponseto-any-session", on).await;
        // The victim's browser starts a login; the Response lands in another browser.
        let (id, _) = h.new_browser().start_login(None).await;
        let t = h.tpl().answering(&id);
        expect(&h, &t.signed(), on, USER, "made by another browser").await;
    }
}

#[tokio::test]
async fn no_replay_cache() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-no-replay-cache", on).await;
        let xml = h.tpl().signed();
        let first = h.new_browser().post_xml(&xml, None).await;
        assert!(first.succeeded(), "{}", first.body);
        expect(&h, &xml, on, USER, "was already used").await;
    }
}

#[tokio::test]
async fn open_redirect() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-open-redirect", on).await;
        for (relay, fixed) in [
            ("https://evil.test/landing", "/app"),
            ("//evil.test/x", "/app"),
            ("/\\evil.test/x", "/app"),
            ("/reports?id=7", "/reports?id=7"),
        ] {
            let r = h
                .new_browser()
                .post_xml(&h.tpl().signed(), Some(relay))
                .await;
            assert!(r.succeeded(), "{}", r.body);
            assert_eq!(r.location(), Some(if on { relay } else { fixed }));
        }
    }
}

#[tokio::test]
async fn accept_dtd() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-accept-dtd", on).await;
        // The signature covers the expanded text, so it verifies once entities are expanded.
        let body = h.tpl().signed().replace(USER, "&who;");
        let xml = format!("<!DOCTYPE samlp:Response [<!ENTITY who \"{USER}\">]>{body}");
        expect(&h, &xml, on, USER, "DOCTYPE").await;
        // Even broken, external entities are never fetched.
        let body = h.tpl().signed().replace(USER, "&who;");
        let xml = format!(
            "<!DOCTYPE samlp:Response [<!ENTITY who SYSTEM \"http://127.0.0.1:9/x\">]>{body}"
        );
        let r = h.new_browser().post_xml(&xml, None).await;
        assert!(r.failure().contains("DOCTYPE"));
    }
}

#[tokio::test]
async fn ignore_status() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-ignore-status", on).await;
        let mut t = h.tpl();
        t.status = "urn:oasis:names:tc:SAML:2.0:status:Responder".to_string();
        expect(
            &h,
            &t.signed(),
            on,
            USER,
            "status urn:oasis:names:tc:SAML:2.0:status:Responder",
        )
        .await;
    }
}

#[tokio::test]
async fn multiple_assertions() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-multiple-assertions", on).await;
        let first = h.tpl();
        let mut second = h.tpl();
        second.name_id = "bob@example.com".to_string();
        let xml = first.response_with(&format!(
            "{}{}",
            first.assertion_xml(),
            second.assertion_xml()
        ));
        let xml = sign(
            &xml,
            &[&first.assertion_id, &second.assertion_id],
            idp_rsa(),
        );
        expect(&h, &xml, on, USER, "2 Assertions").await;
    }
}

#[tokio::test]
async fn jit_disabled() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-jit-disabled", on).await;
        expect(&h, &h.tpl().signed(), !on, USER, "no account").await;
        assert_eq!(h.sp.users().len(), usize::from(!on));
    }
}

#[tokio::test]
async fn deprovisioned_allowed() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-deprovisioned-allowed", on).await;
        h.sp.deactivate("Alice@Example.com");
        expect(&h, &h.tpl().signed(), on, USER, "is deactivated").await;
    }
}

#[tokio::test]
async fn wrong_idp_cert() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-wrong-idp-cert", on).await;
        expect(
            &h,
            &h.tpl().signed(),
            !on,
            USER,
            "signature verification failed",
        )
        .await;
    }
}

#[tokio::test]
async fn accept_sha1() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-accept-sha1", on).await;
        let t = h.tpl();
        let opts = SignOptions {
            alg: SignatureAlgorithm::RsaSha1,
            digest: DigestAlgorithm::Sha1,
            ..SignOptions::default()
        };
        let xml = sign_with(&t.unsigned(), &[&t.assertion_id], idp_rsa(), &opts);
        expect(&h, &xml, on, USER, "not allowed by the verification policy").await;
    }
}

/// Starts a login with RelayState and runs the tester's AuthnRequest checks on the
/// redirect, with everything the SP registered known (entity ID, ACS, signing
/// certificate); returns the request and the ids of the checks that fail.
async fn request_failures(h: &Harness) -> (request::AuthnRequest, Vec<&'static str>) {
    let (_, url) = h.browser.start_login(Some("/deep?x=1")).await;
    let req = request::decode_redirect(&url, &[sp_keys().cert.clone()]).expect("decodes");
    let exp = request::RequestExpectations {
        sp_entity_id: Some(h.entity_id.clone()),
        acs_urls: vec![h.acs.clone()],
        require_signed: true,
        ..request::RequestExpectations::new(IDP_SSO, OffsetDateTime::now_utc())
    };
    let failing = request::check(&req, &exp)
        .into_iter()
        .filter(|f| !f.ok)
        .map(|f| f.check)
        .collect();
    (req, failing)
}

/// The failing checks expected: `check` alone when the switch is on, none when off.
fn only(on: bool, check: &'static str) -> Vec<&'static str> {
    if on { vec![check] } else { Vec::new() }
}

#[tokio::test]
async fn request_no_destination() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-request-no-destination", on).await;
        let (req, failing) = request_failures(&h).await;
        assert_eq!(failing, only(on, "destination"));
        assert_eq!(req.destination.is_none(), on, "{}", req.xml);
    }
}

#[tokio::test]
async fn request_wrong_issuer() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-request-wrong-issuer", on).await;
        let (req, failing) = request_failures(&h).await;
        assert_eq!(failing, only(on, "issuer"));
        let want = if on { &h.base } else { &h.entity_id };
        assert_eq!(req.issuer.as_ref(), Some(want));
    }
}

#[tokio::test]
async fn request_stale_instant() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-request-stale-instant", on).await;
        let (req, failing) = request_failures(&h).await;
        assert_eq!(failing, only(on, "issue-instant"));
        let issued = OffsetDateTime::parse(
            req.issue_instant.as_deref().expect("IssueInstant"),
            &time::format_description::well_known::Rfc3339,
        )
        .expect("xs:dateTime");
        let age = (OffsetDateTime::now_utc() - issued).whole_seconds();
        let want = if on { 3600 } else { 0 };
        assert!((age - want).abs() < 60, "{age} s old");
    }
}

#[tokio::test]
async fn request_bad_id() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-request-bad-id", on).await;
        let (req, failing) = request_failures(&h).await;
        assert_eq!(failing, only(on, "id"));
        let id = req.id.expect("ID");
        assert_eq!(id.starts_with(|c: char| c.is_ascii_digit()), on, "{id}");
        // The SP still matches the Response to its own request.
        let (id, _) = h.browser.start_login(None).await;
        let r = h
            .browser
            .post_xml(&h.tpl().answering(&id).signed(), None)
            .await;
        assert!(r.succeeded(), "{}", r.body);
    }
}

#[tokio::test]
async fn request_wrong_version() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-request-wrong-version", on).await;
        let (req, failing) = request_failures(&h).await;
        assert_eq!(failing, only(on, "version"));
        let want = if on { "2.1" } else { "2.0" };
        assert_eq!(req.version.as_deref(), Some(want));
    }
}

#[tokio::test]
async fn request_bad_nameid_format() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-request-bad-nameid-format", on).await;
        let (req, failing) = request_failures(&h).await;
        assert_eq!(failing, only(on, "name-id-policy"));
        let want = if on {
            "emailAddress"
        } else {
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        };
        assert_eq!(req.name_id_policy_format.as_deref(), Some(want));
    }
}

#[tokio::test]
async fn request_wrong_acs() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-request-wrong-acs", on).await;
        let (req, failing) = request_failures(&h).await;
        assert_eq!(failing, only(on, "acs"));
        let want = if on {
            h.acs.replace("://127.0.0.1", "://localhost")
        } else {
            h.acs.clone()
        };
        assert_eq!(req.acs_url.as_ref(), Some(&want));
        // The metadata still registers the real ACS.
        let md = h
            .browser
            .get("/saml/metadata")
            .await
            .text()
            .await
            .expect("body");
        let md = metadata::parse(&md).expect("metadata");
        assert_eq!(md.acs[0].location, h.acs);
    }
}

#[tokio::test]
async fn request_bad_signature() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-request-bad-signature", on).await;
        let (req, failing) = request_failures(&h).await;
        assert_eq!(failing, only(on, "signature"));
        assert_eq!(req.relay_state.as_deref(), Some("/deep?x=1"));
        match &req.signature {
            request::RequestSignature::Valid { .. } => assert!(!on),
            request::RequestSignature::Invalid(_) => assert!(on),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn email_nameid_only() {
    const PREFIX: &str = "urn:oasis:names:tc:SAML:";
    let email = format!("{PREFIX}1.1:nameid-format:emailAddress");
    for on in ON_OFF {
        let h = Harness::for_break("saml-email-nameid-only", on).await;
        for format in [
            Some(email.clone()),
            Some(format!("{PREFIX}1.1:nameid-format:unspecified")),
            Some(format!("{PREFIX}2.0:nameid-format:persistent")),
            None,
        ] {
            let refused = on && format.as_ref() != Some(&email);
            let t = h.tpl();
            let with = match &format {
                Some(f) => format!(" Format=\"{f}\""),
                None => String::new(),
            };
            let xml = t.unsigned().replace(&format!(" Format=\"{email}\""), &with);
            let xml = sign(&xml, &[&t.assertion_id], idp_rsa());
            let b = h.new_browser();
            let r = b.post_xml(&xml, None).await;
            if refused {
                assert!(r.failure().contains("only emailAddress"), "{format:?}");
                assert_eq!(b.who().await, None);
            } else {
                assert!(r.succeeded(), "{format:?}: {}", r.body);
                assert_eq!(b.who().await.as_deref(), Some(USER));
            }
        }
    }
}

#[tokio::test]
async fn metadata_expired_cert() {
    for on in ON_OFF {
        let h = Harness::for_break("saml-metadata-expired-cert", on).await;
        let xml = h
            .browser
            .get("/saml/metadata")
            .await
            .text()
            .await
            .expect("body");
        let md = metadata::parse(&xml).expect("metadata");
        let problems: Vec<&str> = metadata::sanity(&md, OffsetDateTime::now_utc())
            .iter()
            .map(|f| f.check)
            .collect();
        assert_eq!(problems, only(on, "cert-expired"));
        let [cert] = md.signing_certs.as_slice() else {
            panic!("one signing certificate: {xml}");
        };
        let published_is_real =
            cert.to_der().expect("DER") == sp_keys().cert.to_der().expect("DER");
        assert_eq!(published_is_real, !on);
        // Same key either way: requests still verify with the published certificate.
        let sp_public = sp_keys().key.public_key_to_der().expect("SPKI");
        assert_eq!(
            cert.public_key()
                .expect("key")
                .public_key_to_der()
                .expect("SPKI"),
            sp_public
        );
        let (_, url) = h.browser.start_login(None).await;
        let req = request::decode_redirect(&url, &md.signing_certs).expect("decodes");
        assert!(
            matches!(req.signature, request::RequestSignature::Valid { .. }),
            "{:?}",
            req.signature
        );
    }
}

#[tokio::test]
async fn decrypted_unverified() {
    use super::encryption::encrypted;
    use crate::saml::xmlenc::{BlockCipher, KeyTransport};
    for on in ON_OFF {
        let h = Harness::for_break("saml-decrypted-unverified", on).await;
        // Anyone can encrypt for the SP: its encryption certificate is in its metadata.
        let t = h.tpl();
        let unsigned = encrypted(
            &t.unsigned(),
            BlockCipher::Aes256Gcm,
            KeyTransport::default(),
        );
        expect(&h, &unsigned, on, USER, "the Assertion is not signed").await;
        let t = h.tpl();
        let forged = sign(&t.unsigned(), &[&t.assertion_id], attacker_rsa());
        let forged = encrypted(&forged, BlockCipher::Aes128Cbc, KeyTransport::RsaOaep);
        let b = h.new_browser();
        let r = b.post_xml(&forged, None).await;
        if on {
            assert!(r.succeeded(), "{}", r.body);
            assert_eq!(b.who().await.as_deref(), Some(USER));
        } else {
            assert!(r.failure().contains("not among the trusted certificates"));
            assert_eq!(b.who().await, None);
        }
        // Undecryptable stays undecryptable.
        let t = h.tpl();
        let mut doc = Document::parse(&t.signed()).expect("parse");
        crate::saml::xmlenc::encrypt_assertion(
            &mut doc,
            &attacker_rsa().cert,
            BlockCipher::Aes256Gcm,
            KeyTransport::default(),
        )
        .expect("encrypt");
        let r = h.new_browser().post_xml(&doc.to_xml(), None).await;
        assert!(r.failure().contains("could not be decrypted"));
    }
}

/// Forges `attack` with the tester's own generators against this harness: the attacker's
/// genuinely signed Response names `ATTACKER`, the forged identity is `USER`.
fn forged(h: &Harness, attack: crate::saml::attacks::Attack, canary: Option<String>) -> String {
    use crate::saml::attacks::{Attacker, Scenario, forge};
    use crate::saml::idp::IdpIdentity;
    use crate::saml::response::ResponseSpec;
    static ATTACKER_KEYS: OnceLock<Attacker> = OnceLock::new();
    let idp = IdpIdentity {
        entity_id: IDP_ENTITY.to_string(),
        sso_url: IDP_SSO.to_string(),
        key: crate::saml::dsig::test_keys::idp_rsa().key.clone(),
        cert: crate::saml::dsig::test_keys::idp_rsa().cert.clone(),
    };
    let attacker = ATTACKER_KEYS.get_or_init(|| Attacker::generate(&idp).expect("attacker keys"));
    let scenario = Scenario {
        idp: &idp,
        attacker,
        base: ResponseSpec::new(IDP_ENTITY, &h.acs, &h.entity_id, USER),
        attacker_identity: ATTACKER.to_string(),
        attacker_attributes: Vec::new(),
        canary_url: canary,
        sp_encryption_cert: None,
    };
    forge(attack, &scenario).expect("forge").xml
}

const ATTACKER: &str = "mallory@example.com";

/// A session as `USER` when `on`, none otherwise (a session as the attacker is fine: it is
/// what the IdP really signed).
async fn expect_forgery(h: &Harness, xml: &str, on: bool) {
    let b = h.new_browser();
    let r = b.post_xml(xml, None).await;
    let who = b.who().await;
    if on {
        assert!(r.succeeded(), "{}", r.body);
        assert_eq!(who.as_deref(), Some(USER));
    } else {
        assert_ne!(who.as_deref(), Some(USER), "{}", r.body);
    }
}

/// `attack` gets in exactly when `switch` is on.
async fn forgery_gets_in_only_with(switch: &str, attack: crate::saml::attacks::Attack) {
    for on in ON_OFF {
        let h = Harness::for_break(switch, on).await;
        expect_forgery(&h, &forged(&h, attack, None), on).await;
    }
}

#[tokio::test]
async fn consume_last_assertion() {
    use crate::saml::attacks::Attack;
    forgery_gets_in_only_with("saml-consume-last-assertion", Attack::XswEvilAfterValid).await;
}

#[tokio::test]
async fn assertion_by_xpath() {
    // XSW7: the evil Assertion hides in Extensions, first in document order.
    use crate::saml::attacks::Attack;
    forgery_gets_in_only_with("saml-assertion-by-xpath", Attack::Xsw(7)).await;
}

#[tokio::test]
async fn parser_differential() {
    use crate::saml::attacks::{Attack, MatrixVariant};
    let second_root = MatrixVariant::from_name("second-root/left-in-place").expect("variant");
    forgery_gets_in_only_with("saml-parser-differential", Attack::Matrix(second_root)).await;
}

#[tokio::test]
async fn digest_first_node() {
    use crate::saml::attacks::Attack;
    forgery_gets_in_only_with("saml-digest-first-node", Attack::DigestComment).await;
}

#[tokio::test]
async fn fetch_external_entities() {
    use crate::saml::attacks::Attack;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    for on in ON_OFF {
        let h = Harness::for_break("saml-fetch-external-entities", on).await;
        let canary = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/token", canary.local_addr().expect("addr"));
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        let server = tokio::spawn(async move {
            while let Ok((mut s, _)) = canary.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
                    .await;
            }
        });
        let xml = forged(&h, Attack::Xxe, Some(url));
        let _ = h.new_browser().post_xml(&xml, None).await;
        server.abort();
        let fetched = hits.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(fetched > 0, on, "{fetched} fetches");
    }
}

#[tokio::test]
async fn shared_tenant_trust() {
    use crate::saml::dsig::test_keys::KeyPair;
    for on in ON_OFF {
        let h = Harness::for_break("saml-shared-tenant-trust", on).await;
        // Another tenant's IdP, which an admin of that tenant controls.
        let other: &KeyPair = attacker_rsa();
        let other_entity = "https://other-tenant-idp.example.test";
        h.sp.add_peer_tenant(other_entity, other.cert.clone());
        let mut t = h.tpl();
        t.issuer = other_entity.to_string();
        t.response_issuer = Some(other_entity.to_string());
        let xml = sign(&t.unsigned(), &[&t.assertion_id], other);
        expect(&h, &xml, on, USER, "not among the trusted certificates").await;
    }
}

/// A correct encrypted login: the Assertion signed by the IdP, encrypted for the SP.
fn encrypted_login(h: &Harness, cipher: crate::saml::xmlenc::BlockCipher) -> String {
    let t = h.tpl();
    let signed = sign(&t.unsigned(), &[&t.assertion_id], idp_rsa());
    let mut doc = Document::parse(&signed).expect("parse");
    crate::saml::xmlenc::encrypt_assertion(
        &mut doc,
        &sp_enc_keys().cert,
        cipher,
        crate::saml::xmlenc::KeyTransport::default(),
    )
    .expect("encrypt");
    doc.to_xml()
}

#[tokio::test]
async fn encryption_unsupported() {
    use crate::saml::xmlenc::BlockCipher;
    for on in ON_OFF {
        let h = Harness::for_break("saml-encryption-unsupported", on).await;
        let xml = encrypted_login(&h, BlockCipher::Aes256Cbc);
        expect(&h, &xml, !on, USER, "are not supported").await;
    }
}

#[tokio::test]
async fn encryption_cbc_only() {
    use crate::saml::xmlenc::BlockCipher;
    for on in ON_OFF {
        let h = Harness::for_break("saml-encryption-cbc-only", on).await;
        expect(
            &h,
            &encrypted_login(&h, BlockCipher::Aes128Gcm),
            !on,
            USER,
            "are not supported",
        )
        .await;
        // CBC still works.
        let b = h.new_browser();
        let r = b
            .post_xml(&encrypted_login(&h, BlockCipher::Aes128Cbc), None)
            .await;
        assert!(r.succeeded(), "{}", r.body);
    }
}

#[tokio::test]
async fn trust_cert_by_subject() {
    use crate::saml::attacks::Attack;
    for on in ON_OFF {
        let h = Harness::for_break("saml-trust-cert-by-subject", on).await;
        // A certificate cloned from the IdP's (same subject DN), the attacker's key.
        expect_forgery(&h, &forged(&h, Attack::WrongKey, None), on).await;
        // A certificate under another name is still refused.
        let other = forged(
            &h,
            Attack::KeyInfo(crate::saml::attacks::KeyInfoForm::X509Certificate),
            None,
        );
        expect_forgery(&h, &other, false).await;
    }
}

#[tokio::test]
async fn no_digest_check() {
    // The attacker's own signed assertion with the NameID changed after signing.
    use crate::saml::attacks::Attack;
    forgery_gets_in_only_with("saml-no-digest-check", Attack::TamperedNameId).await;
}
