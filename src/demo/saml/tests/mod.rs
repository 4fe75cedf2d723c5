//! HTTP-level tests: the SP router served on 127.0.0.1 with `axum::serve`, driven by
//! reqwest clients with their own cookie jars (one per "browser"). Responses are built
//! here from small XML templates and signed with `dsig::sign_enveloped`, independently of
//! the tester's Response builder.

mod breaks;
mod encryption;
mod flows;

use std::sync::OnceLock;
use std::time::Duration;

use reqwest::header::HeaderMap;
use serde_json::Value;
use time::OffsetDateTime;
use tokio::task::JoinHandle;

use super::request::instant;
use super::{RequiresSigned, SamlSp, SamlSpConfig};
use crate::demo::Breaks;
use crate::saml::dsig::test_keys::{KeyPair, idp_rsa, rsa};
use crate::saml::dsig::{self, SignOptions};
use crate::saml::xml::Document;

pub const IDP_ENTITY: &str = "https://idp.example.test/metadata";
pub const IDP_SSO: &str = "https://idp.example.test/sso";
pub const USER: &str = "alice@example.com";

pub fn sp_keys() -> &'static KeyPair {
    static K: OnceLock<KeyPair> = OnceLock::new();
    K.get_or_init(|| rsa("reference-sp"))
}

/// The SP's encryption key pair (apart from its signing key, as in the demo).
pub fn sp_enc_keys() -> &'static KeyPair {
    static K: OnceLock<KeyPair> = OnceLock::new();
    K.get_or_init(|| rsa("reference-sp-encryption"))
}

pub struct Harness {
    pub sp: SamlSp,
    /// `http://127.0.0.1:port`
    pub base: String,
    pub acs: String,
    pub entity_id: String,
    /// The default browser.
    pub browser: Browser,
    task: JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One browser: a client with its own cookie jar that does not follow redirects.
pub struct Browser {
    client: reqwest::Client,
    base: String,
}

/// What the ACS answered.
#[derive(Debug)]
pub struct AcsResult {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl AcsResult {
    /// The Location of a successful login's redirect.
    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }

    pub fn succeeded(&self) -> bool {
        self.status == 302
    }

    /// Asserts a failed login (200 error page, no session cookie) and returns its text.
    pub fn failure(&self) -> &str {
        assert_eq!(self.status, 200, "expected a failed login: {self:?}");
        assert!(self.body.contains("Login failed: "), "{}", self.body);
        assert!(self.headers.get("set-cookie").is_none(), "{self:?}");
        &self.body
    }
}

impl Browser {
    fn new(base: &str) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        Self {
            client,
            base: base.to_string(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }

    /// Starts an SP-initiated login; returns the AuthnRequest ID and the redirect URL.
    pub async fn start_login(&self, relay_state: Option<&str>) -> (String, url::Url) {
        let path = match relay_state {
            Some(r) => format!("/saml/login?RelayState={}", q(r)),
            None => "/saml/login".to_string(),
        };
        let r = self.get(&path).await;
        assert_eq!(r.status(), 302);
        let location = r.headers()["location"].to_str().expect("ascii").to_string();
        let url = url::Url::parse(&location).expect("absolute redirect");
        let xml = authn_request_xml(&url);
        let doc = Document::parse(&xml).expect("AuthnRequest parses");
        let id = doc.root.attr("ID").expect("ID").to_string();
        (id, url)
    }

    /// Posts a Response document (not yet base64) to the ACS.
    pub async fn post_xml(&self, xml: &str, relay_state: Option<&str>) -> AcsResult {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
        let mut form = format!("SAMLResponse={}", q(&b64));
        if let Some(r) = relay_state {
            form.push_str(&format!("&RelayState={}", q(r)));
        }
        self.post_form(form).await
    }

    pub async fn post_form(&self, form: String) -> AcsResult {
        let r = self
            .client
            .post(format!("{}/saml/acs", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .expect("POST");
        AcsResult {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.expect("body"),
        }
    }

    /// `/api/me`: the identity of this browser's session, or `None` on 401.
    pub async fn me(&self) -> Option<Value> {
        let r = self.get("/api/me").await;
        match r.status().as_u16() {
            200 => Some(serde_json::from_str(&r.text().await.expect("body")).expect("JSON")),
            401 => {
                let v: Value = serde_json::from_str(&r.text().await.expect("body")).expect("JSON");
                assert_eq!(v["error"], "not logged in");
                None
            }
            s => panic!("/api/me answered {s}"),
        }
    }

    /// The NameID this browser is logged in as.
    pub async fn who(&self) -> Option<String> {
        self.me()
            .await
            .map(|v| v["nameid"].as_str().expect("nameid").to_string())
    }
}

impl Harness {
    pub async fn start(breaks: &[&str]) -> Self {
        Self::start_with(breaks, RequiresSigned::Assertion).await
    }

    /// An SP with `name` on when `on`, for before/after comparisons.
    pub async fn for_break(name: &str, on: bool) -> Self {
        let names = [name];
        Self::start(if on { &names[..] } else { &[] }).await
    }

    pub async fn start_with(breaks: &[&str], requires_signed: RequiresSigned) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let base = format!("http://{addr}");
        let sp = SamlSp::new(SamlSpConfig {
            sp_entity_id: format!("{base}/saml/metadata"),
            base_url: base.clone(),
            idp_entity_id: IDP_ENTITY.to_string(),
            idp_sso_url: IDP_SSO.to_string(),
            idp_certs: vec![idp_rsa().cert.clone()],
            sp_key: sp_keys().key.clone(),
            sp_cert: sp_keys().cert.clone(),
            enc_key: sp_enc_keys().key.clone(),
            enc_cert: sp_enc_keys().cert.clone(),
            clock_skew_secs: 60,
            requires_signed,
            breaks: Breaks::from_names(breaks).expect("known break switches"),
            provisioning: None,
        });
        let app = sp.router();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            sp,
            acs: format!("{base}/saml/acs"),
            entity_id: format!("{base}/saml/metadata"),
            browser: Browser::new(&base),
            base,
            task,
        }
    }

    /// Another browser, with an empty cookie jar.
    pub fn new_browser(&self) -> Browser {
        Browser::new(&self.base)
    }

    /// A valid Response for `USER`, unsolicited.
    pub fn tpl(&self) -> Tpl {
        Tpl {
            response_id: format!("_resp{}", super::store::random_token()),
            assertion_id: format!("_assert{}", super::store::random_token()),
            destination: Some(self.acs.clone()),
            in_response_to: None,
            response_issuer: Some(IDP_ENTITY.to_string()),
            issuer: IDP_ENTITY.to_string(),
            status: "urn:oasis:names:tc:SAML:2.0:status:Success".to_string(),
            name_id: USER.to_string(),
            confirmation_method: super::acs::BEARER.to_string(),
            recipient: Some(self.acs.clone()),
            scd_in_response_to: None,
            scd_not_on_or_after: Some(ts(300)),
            not_before: Some(ts(-30)),
            not_on_or_after: Some(ts(300)),
            audiences: Some(vec![self.entity_id.clone()]),
        }
    }
}

/// A Response from small templates; every field is the raw text put in the XML.
#[derive(Debug, Clone)]
pub struct Tpl {
    pub response_id: String,
    pub assertion_id: String,
    pub destination: Option<String>,
    pub in_response_to: Option<String>,
    pub response_issuer: Option<String>,
    pub issuer: String,
    pub status: String,
    /// XML content of the NameID (may contain comments).
    pub name_id: String,
    pub confirmation_method: String,
    pub recipient: Option<String>,
    pub scd_in_response_to: Option<String>,
    pub scd_not_on_or_after: Option<String>,
    pub not_before: Option<String>,
    pub not_on_or_after: Option<String>,
    /// `None`: no AudienceRestriction at all.
    pub audiences: Option<Vec<String>>,
}

fn opt_attr(name: &str, v: &Option<String>) -> String {
    v.as_ref()
        .map(|v| format!(" {name}=\"{v}\""))
        .unwrap_or_default()
}

impl Tpl {
    /// Answers the request `id` (Response and SubjectConfirmationData).
    pub fn answering(mut self, id: &str) -> Self {
        self.in_response_to = Some(id.to_string());
        self.scd_in_response_to = Some(id.to_string());
        self
    }

    pub fn assertion_xml(&self) -> String {
        let audience = match &self.audiences {
            Some(list) => {
                let a: String = list
                    .iter()
                    .map(|a| format!("<saml:Audience>{a}</saml:Audience>"))
                    .collect();
                format!("<saml:AudienceRestriction>{a}</saml:AudienceRestriction>")
            }
            None => String::new(),
        };
        format!(
            r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}"><saml:Issuer>{issuer}</saml:Issuer><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">{name_id}</saml:NameID><saml:SubjectConfirmation Method="{method}"><saml:SubjectConfirmationData{recipient}{scd_irt}{scd_nooa}/></saml:SubjectConfirmation></saml:Subject><saml:Conditions{nb}{nooa}>{audience}</saml:Conditions><saml:AuthnStatement AuthnInstant="{now}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="email"><saml:AttributeValue>{name_id}</saml:AttributeValue></saml:Attribute><saml:Attribute Name="firstName"><saml:AttributeValue>Alice</saml:AttributeValue></saml:Attribute><saml:Attribute Name="lastName"><saml:AttributeValue>Liddell</saml:AttributeValue></saml:Attribute><saml:Attribute Name="groups"><saml:AttributeValue>admins</saml:AttributeValue><saml:AttributeValue>staff</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion>"#,
            id = self.assertion_id,
            now = ts(0),
            issuer = self.issuer,
            name_id = self.name_id,
            method = self.confirmation_method,
            recipient = opt_attr("Recipient", &self.recipient),
            scd_irt = opt_attr("InResponseTo", &self.scd_in_response_to),
            scd_nooa = opt_attr("NotOnOrAfter", &self.scd_not_on_or_after),
            nb = opt_attr("NotBefore", &self.not_before),
            nooa = opt_attr("NotOnOrAfter", &self.not_on_or_after),
        )
    }

    /// The Response around `assertions` (raw XML, e.g. several Assertions).
    pub fn response_with(&self, assertions: &str) -> String {
        let issuer = self
            .response_issuer
            .as_ref()
            .map(|i| format!("<saml:Issuer>{i}</saml:Issuer>"))
            .unwrap_or_default();
        format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{now}"{dest}{irt}>{issuer}<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>{assertions}</samlp:Response>"#,
            id = self.response_id,
            now = ts(0),
            dest = opt_attr("Destination", &self.destination),
            irt = opt_attr("InResponseTo", &self.in_response_to),
            status = self.status,
        )
    }

    /// The unsigned Response.
    pub fn unsigned(&self) -> String {
        self.response_with(&self.assertion_xml())
    }

    /// The Response with its Assertion signed by the IdP (the usual shape).
    pub fn signed(&self) -> String {
        sign(&self.unsigned(), &[&self.assertion_id], idp_rsa())
    }
}

/// `now + offset_secs` as a SAML instant.
pub fn ts(offset_secs: i64) -> String {
    instant(OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs)).expect("format")
}

/// Signs the elements with these IDs, in order (Assertion before Response), with `kp`.
pub fn sign(xml: &str, ids: &[&str], kp: &KeyPair) -> String {
    sign_with(xml, ids, kp, &SignOptions::default())
}

pub fn sign_with(xml: &str, ids: &[&str], kp: &KeyPair, opts: &SignOptions) -> String {
    let mut doc = Document::parse(xml).expect("template parses");
    for id in ids {
        dsig::sign_enveloped(&mut doc, id, &kp.key, &kp.cert, opts).expect("sign");
    }
    doc.to_xml()
}

/// Percent-encodes a form or query value.
pub fn q(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The AuthnRequest XML carried by a Redirect-binding URL.
pub fn authn_request_xml(url: &url::Url) -> String {
    use base64::Engine as _;
    let encoded = url
        .query_pairs()
        .find(|(k, _)| k == "SAMLRequest")
        .expect("SAMLRequest")
        .1
        .into_owned();
    let deflated = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    String::from_utf8(inflate_stored(&deflated).expect("inflate")).expect("UTF-8")
}

/// Inflates raw DEFLATE made of stored blocks (what the SP emits), independently of the
/// SP's encoder: compressed blocks are reported, not decoded.
pub fn inflate_stored(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let header = *data.get(i).ok_or("truncated block header")?;
        if header >> 1 & 0b11 != 0 {
            return Err(format!("block type {} is not stored", header >> 1 & 0b11));
        }
        let field = |at: usize| {
            data.get(at..at + 2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .ok_or("truncated length")
        };
        let len = field(i + 1)?;
        if field(i + 3)? != !len {
            return Err("LEN and NLEN disagree".into());
        }
        let start = i + 5;
        let end = start + usize::from(len);
        out.extend_from_slice(data.get(start..end).ok_or("truncated block")?);
        i = end;
        if header & 1 == 1 {
            return if i == data.len() {
                Ok(out)
            } else {
                Err("data after the final block".into())
            };
        }
    }
}

#[test]
fn break_catalogue_is_well_formed_and_each_switch_is_used_once() {
    let sources = [
        include_str!("../mod.rs"),
        include_str!("../acs.rs"),
        include_str!("../decrypt.rs"),
        include_str!("../dtd.rs"),
        include_str!("../http.rs"),
        include_str!("../request.rs"),
        include_str!("../store.rs"),
    ];
    let code: String = sources.concat();
    crate::demo::breaks::assert_catalogue("saml-", super::BREAKS, &code, include_str!("breaks.rs"));
}
