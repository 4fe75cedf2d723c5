//! The correct SP end to end: the login redirect, SP- and IdP-initiated logins, signature
//! policies, wrapping attacks, and what failures look like.

use base64::Engine as _;

use super::breaks::wrapped;
use super::*;
use crate::saml::dsig::SignatureAlgorithm;
use crate::saml::redirect::verify_redirect_query;

const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const SAMLP_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";

#[tokio::test]
async fn login_redirects_with_a_signed_authn_request() {
    let h = Harness::start(&[]).await;
    let r = h
        .browser
        .get("/saml/login?RelayState=%2Fdeep%3Fx%3D1")
        .await;
    assert_eq!(r.status(), 302);
    let cookie = r.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("sp_login="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    let location = r.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(&format!("{IDP_SSO}?SAMLRequest=")),
        "{location}"
    );
    let url = url::Url::parse(location).unwrap();
    let query = url.query().unwrap();

    let verified = verify_redirect_query(query, &[sp_keys().cert.clone()]).unwrap();
    assert_eq!(verified.message_parameter, "SAMLRequest");
    assert_eq!(verified.relay_state.as_deref(), Some("/deep?x=1"));
    assert_eq!(verified.algorithm, SignatureAlgorithm::RsaSha256);
    assert!(verify_redirect_query(query, &[idp_rsa().cert.clone()]).is_err());

    let doc = Document::parse(&authn_request_xml(&url)).unwrap();
    let req = &doc.root;
    assert!(req.is(SAMLP_NS, "AuthnRequest"));
    let id = req.attr("ID").unwrap();
    assert!(id.starts_with('_') && id.len() > 16, "{id}");
    assert_eq!(req.attr("Version"), Some("2.0"));
    let issued = OffsetDateTime::parse(
        req.attr("IssueInstant").unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!((OffsetDateTime::now_utc() - issued).abs() < time::Duration::seconds(60));
    assert_eq!(req.attr("Destination"), Some(IDP_SSO));
    assert_eq!(
        req.attr("AssertionConsumerServiceURL"),
        Some(h.acs.as_str())
    );
    assert_eq!(
        req.attr("ProtocolBinding"),
        Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
    );
    assert_eq!(
        req.find_child(SAML_NS, "Issuer").unwrap().text(),
        h.entity_id
    );
    let policy = req.find_child(SAMLP_NS, "NameIDPolicy").unwrap();
    assert_eq!(
        policy.attr("Format"),
        Some("urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    );
    assert_eq!(policy.attr("AllowCreate"), Some("true"));

    // Without RelayState the app's home is used; every request has its own ID.
    let (id2, url2) = h.browser.start_login(None).await;
    let verified = verify_redirect_query(url2.query().unwrap(), &[sp_keys().cert.clone()]).unwrap();
    assert_eq!(verified.relay_state.as_deref(), Some("/app"));
    assert_ne!(id, id2);

    // An absurd RelayState is refused rather than forwarded.
    let long = format!("/{}", "a".repeat(2000));
    let r = h
        .browser
        .get(&format!("/saml/login?RelayState={long}"))
        .await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn sp_initiated_login_creates_a_session_and_identity() {
    let h = Harness::start(&[]).await;
    let (id, _) = h.browser.start_login(Some("/deep")).await;
    let r = h
        .browser
        .post_xml(&h.tpl().answering(&id).signed(), Some("/deep"))
        .await;
    assert!(r.succeeded(), "{}", r.body);
    assert_eq!(r.location(), Some("/deep"));
    let cookie = r.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("sp_session=") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let me = h.browser.me().await.expect("logged in");
    assert_eq!(
        me,
        serde_json::json!({
            "nameid": USER,
            "email": USER,
            "firstName": "Alice",
            "lastName": "Liddell",
            "groups": ["admins", "staff"],
        })
    );
    let app = h.browser.get("/app").await;
    assert_eq!(app.status(), 200);
    assert!(app.text().await.unwrap().contains(USER));
    assert_eq!(h.sp.users(), vec![USER.to_string()]);

    // The request is answered: the same InResponseTo cannot be used again.
    let again = h.tpl().answering(&id).signed();
    let r = h.new_browser().post_xml(&again, None).await;
    assert!(r.failure().contains("answers no outstanding request"));

    // A later login refreshes the same account.
    let b = h.new_browser();
    assert!(b.post_xml(&h.tpl().signed(), None).await.succeeded());
    assert_eq!(h.sp.users(), vec![USER.to_string()]);
}

#[tokio::test]
async fn idp_initiated_login_needs_no_in_response_to() {
    let h = Harness::start(&[]).await;
    let r = h.browser.post_xml(&h.tpl().signed(), None).await;
    assert!(r.succeeded(), "{}", r.body);
    assert_eq!(r.location(), Some("/app"));
    assert_eq!(h.browser.who().await.as_deref(), Some(USER));
}

#[tokio::test]
async fn logged_out_browsers_get_401_and_a_login_redirect() {
    let h = Harness::start(&[]).await;
    assert_eq!(h.browser.me().await, None);
    let r = h.browser.get("/app").await;
    assert_eq!(r.status(), 302);
    assert_eq!(r.headers()["location"], "/saml/login");
    // A made-up session cookie is nobody.
    let r = reqwest::Client::new()
        .get(format!("{}/api/me", h.base))
        .header("cookie", "sp_session=00000000000000000000000000000000")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn metadata_describes_the_sp() {
    for (policy, want_signed) in [
        (RequiresSigned::Assertion, "true"),
        (RequiresSigned::Response, "false"),
    ] {
        let h = Harness::start_with(&[], policy).await;
        let r = h.browser.get("/saml/metadata").await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "application/samlmetadata+xml");
        let doc = Document::parse(&r.text().await.unwrap()).unwrap();
        let ed = &doc.root;
        assert!(ed.is(MD_NS, "EntityDescriptor"));
        assert_eq!(ed.attr("entityID"), Some(h.entity_id.as_str()));
        let sso = ed.find_child(MD_NS, "SPSSODescriptor").unwrap();
        assert_eq!(sso.attr("AuthnRequestsSigned"), Some("true"));
        assert_eq!(sso.attr("WantAssertionsSigned"), Some(want_signed));
        let kd = sso.find_child(MD_NS, "KeyDescriptor").unwrap();
        assert_eq!(kd.attr("use"), Some("signing"));
        let cert = kd
            .find_child(dsig::DSIG_NS, "KeyInfo")
            .and_then(|k| k.find_child(dsig::DSIG_NS, "X509Data"))
            .and_then(|d| d.find_child(dsig::DSIG_NS, "X509Certificate"))
            .unwrap()
            .text();
        let der = base64::engine::general_purpose::STANDARD
            .decode(cert)
            .unwrap();
        assert_eq!(der, sp_keys().cert.to_der().unwrap());
        assert_eq!(
            sso.find_child(MD_NS, "NameIDFormat").unwrap().text(),
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
        );
        let acs = sso.find_child(MD_NS, "AssertionConsumerService").unwrap();
        assert_eq!(
            acs.attr("Binding"),
            Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
        );
        assert_eq!(acs.attr("Location"), Some(h.acs.as_str()));
        assert_eq!(acs.attr("index"), Some("0"));
        assert_eq!(acs.attr("isDefault"), Some("true"));
    }
}

#[tokio::test]
async fn requires_signed_decides_which_signatures_count() {
    #[derive(Clone, Copy, Debug)]
    enum Signed {
        Assertion,
        Response,
        Both,
    }
    let table = [
        (RequiresSigned::Assertion, [true, false, true]),
        (RequiresSigned::Response, [false, true, true]),
        (RequiresSigned::Both, [false, false, true]),
        (RequiresSigned::Either, [true, true, true]),
    ];
    for (policy, expected) in table {
        let h = Harness::start_with(&[], policy).await;
        for (signed, want) in [Signed::Assertion, Signed::Response, Signed::Both]
            .into_iter()
            .zip(expected)
        {
            let t = h.tpl();
            let ids: Vec<&str> = match signed {
                Signed::Assertion => vec![&t.assertion_id],
                Signed::Response => vec![&t.response_id],
                Signed::Both => vec![&t.assertion_id, &t.response_id],
            };
            let xml = sign(&t.unsigned(), &ids, idp_rsa());
            let b = h.new_browser();
            let r = b.post_xml(&xml, None).await;
            assert_eq!(r.succeeded(), want, "{policy:?} {signed:?}: {}", r.body);
            assert_eq!(b.who().await.is_some(), want);
        }
    }
}

#[tokio::test]
async fn a_signed_response_needs_its_destination() {
    let h = Harness::start_with(&[], RequiresSigned::Response).await;
    let mut t = h.tpl();
    t.destination = None;
    let xml = sign(&t.unsigned(), &[&t.response_id], idp_rsa());
    let r = h.browser.post_xml(&xml, None).await;
    assert!(r.failure().contains("signed but has no Destination"));
    // An unsigned Response may leave it out (the Assertion carries Recipient).
    let h = Harness::start(&[]).await;
    let mut t = h.tpl();
    t.destination = None;
    assert!(h.browser.post_xml(&t.signed(), None).await.succeeded());
}

#[tokio::test]
async fn tampered_and_wrapped_assertions_are_rejected() {
    let h = Harness::start(&[]).await;
    let b = h.new_browser();
    let tampered = h.tpl().signed().replace(USER, "mallory@evil.test");
    assert!(
        b.post_xml(&tampered, None)
            .await
            .failure()
            .contains("digest mismatch")
    );

    // Evil Assertion first, the genuine signed one after it.
    let genuine = h.tpl().signed();
    let doc = Document::parse(&genuine).unwrap();
    let signed_assertion = doc.root.find_child(SAML_NS, "Assertion").unwrap().to_xml();
    let mut evil = h.tpl();
    evil.name_id = "mallory@evil.test".into();
    let two = evil.response_with(&format!("{}{signed_assertion}", evil.assertion_xml()));
    assert!(
        b.post_xml(&two, None)
            .await
            .failure()
            .contains("2 Assertions")
    );
    // Even when several Assertions are allowed, the one used must be the signed one.
    let lenient = Harness::start(&["saml-multiple-assertions"]).await;
    let r = lenient.browser.post_xml(&two, None).await;
    assert!(r.failure().contains("the Assertion is not signed"));

    // Genuine Assertion nested inside the evil one (XSW-7/8 shape).
    let r = b.post_xml(&wrapped(&h, "mallory@evil.test"), None).await;
    assert!(r.failure().contains("the Assertion is not signed"));

    // Genuine Assertion parked in Extensions, evil one in its place.
    let parked = evil.response_with(&evil.assertion_xml()).replace(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{signed_assertion}</samlp:Extensions><samlp:Status>"),
    );
    let r = b.post_xml(&parked, None).await;
    assert!(r.failure().contains("the Assertion is not signed"));

    // Response-signature wrapping: the signed Response moved below an evil root.
    let h = Harness::start_with(&[], RequiresSigned::Response).await;
    let t = h.tpl();
    let signed_response = sign(&t.unsigned(), &[&t.response_id], idp_rsa());
    let mut evil = h.tpl();
    evil.name_id = "mallory@evil.test".into();
    let wrapper = evil.unsigned().replace(
        "<samlp:Status>",
        &format!("<samlp:Extensions>{signed_response}</samlp:Extensions><samlp:Status>"),
    );
    let r = h.browser.post_xml(&wrapper, None).await;
    assert!(r.failure().contains("the Response is not signed"));
    assert_eq!(h.browser.who().await, None);
}

#[tokio::test]
async fn in_response_to_must_agree_and_bind_to_the_browser() {
    let h = Harness::start(&[]).await;
    let (id, _) = h.browser.start_login(None).await;
    let mut t = h.tpl().answering(&id);
    t.scd_in_response_to = Some("_other".into());
    let r = h.browser.post_xml(&t.signed(), None).await;
    assert!(r.failure().contains("InResponseTo differs"));
    // Only the Assertion's (signed) InResponseTo: still checked.
    let mut t = h.tpl();
    t.scd_in_response_to = Some(id.clone());
    let other = h.new_browser();
    assert!(
        other
            .post_xml(&t.signed(), None)
            .await
            .failure()
            .contains("another browser")
    );
    assert!(h.browser.post_xml(&t.signed(), None).await.succeeded());
}

#[tokio::test]
async fn the_bearer_confirmation_is_required() {
    let h = Harness::start(&[]).await;
    let mut t = h.tpl();
    t.confirmation_method = "urn:oasis:names:tc:SAML:2.0:cm:holder-of-key".into();
    let r = h.browser.post_xml(&t.signed(), None).await;
    assert!(r.failure().contains("no bearer SubjectConfirmation"));
}

#[tokio::test]
async fn failed_logins_answer_200_with_a_reason_and_no_session() {
    let h = Harness::start(&[]).await;
    let b = &h.browser;
    assert!(
        b.post_form("RelayState=%2Fx".into())
            .await
            .failure()
            .contains("no SAMLResponse")
    );
    assert!(
        b.post_form("SAMLResponse=%%%".into())
            .await
            .failure()
            .contains("not valid base64")
    );
    assert!(
        b.post_form("SAMLResponse=a&SAMLResponse=b".into())
            .await
            .failure()
            .contains("more than once")
    );
    // Reasons are escaped.
    let r = b.post_xml("<script xmlns=\"urn:x\"/>", None).await;
    assert!(r.failure().contains("&lt;script&gt;"), "{}", r.body);
    // DTDs are refused by default.
    let r = b
        .post_xml("<!DOCTYPE x [<!ENTITY e \"v\">]><x>&e;</x>", None)
        .await;
    assert!(r.failure().contains("DOCTYPE"));
    // Oversized bodies are refused without being read into a parser.
    let big = format!(
        "SAMLResponse={}",
        "A".repeat(super::super::http::MAX_ACS_BODY_BYTES + 1)
    );
    assert!(
        b.post_form(big)
            .await
            .failure()
            .contains("unreadable request body")
    );
    assert_eq!(b.me().await, None);
}

#[tokio::test]
async fn deactivation_blocks_login_and_ends_sessions() {
    let h = Harness::start(&[]).await;
    assert!(
        h.browser
            .post_xml(&h.tpl().signed(), None)
            .await
            .succeeded()
    );
    assert!(h.browser.me().await.is_some());
    h.sp.deactivate("ALICE@example.com");
    assert_eq!(h.browser.me().await, None);
    let r = h.browser.post_xml(&h.tpl().signed(), None).await;
    assert!(r.failure().contains("is deactivated"));
}
