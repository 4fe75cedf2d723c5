//! SAML logins driven as the IdP, without a browser: SP-initiated (GET the SP's login URL,
//! intercept the redirect to the IdP, answer the AuthnRequest) and IdP-initiated
//! (unsolicited Response). The verdict comes from the target's session check only: what the
//! ACS answers is evidence, never proof (SPs show error pages with 200).

use serde_json_path::JsonPath;
use url::Url;

use std::sync::Arc;

use super::attacks::{self, Attack, Attacker, Scenario};
use super::dsig::SignatureAlgorithm;
use super::idp::IdpIdentity;
use super::request::{self, AuthnRequest};
use super::response::{self, NameIdFormat, ResponseSpec, SignMode};
use crate::http::{Exchange, HttpClient, HttpRequest, HttpResponse};

/// Redirect hops followed at most, from the login URL and after the ACS.
const MAX_REDIRECTS: usize = 10;

/// What the target says about the SP.
pub struct SpSettings<'a> {
    pub login_url: Option<&'a Url>,
    pub acs_url: Option<&'a Url>,
    /// Where the Response is posted when that is not the ACS it names (an assertion for
    /// one tenant posted to another tenant's ACS).
    pub post_to: Option<&'a Url>,
    pub entity_id: Option<&'a str>,
    /// The SP's signing certificates (from its metadata), to verify AuthnRequests.
    pub sp_certs: &'a [openssl::x509::X509],
    /// The SP's encryption certificate (from its metadata), for encrypted logins.
    pub sp_encryption_cert: Option<&'a openssl::x509::X509>,
    pub session: SessionCheckSettings<'a>,
    pub clock_skew_secs: i64,
}

pub struct SessionCheckSettings<'a> {
    pub url: &'a Url,
    pub status: u16,
    pub body_contains: Option<&'a str>,
    pub json_path: Option<&'a str>,
}

/// What the Response asserts and how it is signed.
#[derive(Clone)]
pub struct LoginPlan {
    pub sp_initiated: bool,
    pub name_id: String,
    pub name_id_format: NameIdFormat,
    pub attributes: Vec<(String, Vec<String>)>,
    pub sign: SignMode,
    pub alg: SignatureAlgorithm,
    /// IdP-initiated RelayState (SP-initiated logins echo the SP's).
    pub relay_state: Option<String>,
    pub stop_after_request: bool,
    /// Send a forgery instead of the correct Response (`name_id` is then the victim).
    pub attack: Option<AttackSetup>,
    /// Post the same Response again from a fresh browser; judge that second login.
    pub replay: bool,
    /// SP-initiated: a second browser starts its own login and posts the Response minted
    /// for the first browser's request; judge the second browser.
    pub other_browser: bool,
    /// Encrypt the Assertion for the SP (`SpSettings::sp_encryption_cert`).
    pub encrypt: Option<response::Encryption>,
}

/// What a forgery needs besides the login's own settings.
#[derive(Clone)]
pub struct AttackSetup {
    pub attack: Attack,
    pub attacker: Arc<Attacker>,
    /// The attacker's own account at the IdP (what genuinely signed assertions name).
    pub attacker_identity: String,
    pub attacker_attributes: Vec<(String, Vec<String>)>,
    pub canary_url: Option<String>,
    pub sp_encryption_cert: Option<openssl::x509::X509>,
}

/// Who the session check says is logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Logged in as exactly the asserted identity.
    Accepted,
    /// Logged in, but as someone else than asserted.
    OtherIdentity(String),
    /// Nobody logged in.
    Rejected,
}

#[derive(Debug, Default)]
pub struct FlowReport {
    pub exchanges: Vec<Exchange>,
    pub request: Option<AuthnRequest>,
    /// The Response sent, as XML (also in the ACS exchange, base64-encoded).
    pub response_xml: Option<String>,
    pub verdict: Option<Verdict>,
    /// Which evidence decided the verdict, in one line.
    pub decided_by: String,
    /// The ACS's answer in one line (status, and the page title or first text).
    pub acs_answer: String,
    /// For forgeries: whom the forged message tries to log in as.
    pub claimed: Option<String>,
    /// For forgeries: the identity the IdP really signed, if the payload holds one.
    pub genuine: Option<String>,
    /// For forgeries: what was forged, in one line.
    pub attack_description: Option<String>,
    /// Where the SP sent the browser off its own origin after the ACS, if it did.
    pub offsite_redirect: Option<Url>,
    /// For replays: the verdict of the first, genuine post.
    pub first_verdict: Option<Verdict>,
}

#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("{0}")]
    Http(#[from] crate::http::HttpError),
    #[error("{0}")]
    Sp(String),
    #[error("the AuthnRequest could not be read: {0}")]
    Request(#[from] request::RequestError),
    #[error("could not build the Response: {0}")]
    Response(#[from] response::ResponseError),
    #[error("could not forge the Response: {0}")]
    Attack(#[from] attacks::AttackError),
}

/// Runs one login. `client` must have its own cookie jar (one per login), kept from the first
/// GET of the login URL to the session check.
pub async fn login(
    client: &HttpClient,
    idp: &IdpIdentity,
    sp: &SpSettings<'_>,
    plan: &LoginPlan,
    report: &mut FlowReport,
) -> Result<(), FlowError> {
    let mut in_response_to = None;
    let mut relay_state = plan.relay_state.clone();
    let mut acs = sp.acs_url.cloned();
    let mut audience = sp.entity_id.map(str::to_string);
    // The browser that posts the Response: normally the one that asked for it.
    let mut poster = client.clone();
    if plan.sp_initiated {
        let login_url = sp
            .login_url
            .ok_or_else(|| FlowError::Sp("the target has no saml.login_url".into()))?;
        let req = capture_authn_request(client, idp, login_url, sp.sp_certs, report).await?;
        in_response_to = req.id.clone();
        relay_state = req.relay_state.clone();
        if plan.other_browser {
            // The second browser has a login of its own in progress, so an SP that merely
            // checks "some request is outstanding for this browser" is not let off; it
            // posts the first browser's Response with its own RelayState.
            poster = client.with_cookie_jar()?;
            let own = capture_authn_request(&poster, idp, login_url, sp.sp_certs, report).await?;
            relay_state = own.relay_state.clone();
        }
        if acs.is_none() {
            acs = req.acs_url.as_deref().and_then(|u| Url::parse(u).ok());
        }
        if audience.is_none() {
            audience = req.issuer.clone();
        }
        report.request = Some(req);
        if plan.stop_after_request {
            return Ok(());
        }
    }
    let acs = acs.ok_or_else(|| {
        FlowError::Sp("no ACS URL: set saml.acs_url in the target (or use sp_metadata)".into())
    })?;
    let audience = audience
        .ok_or_else(|| FlowError::Sp("no SP entity ID: set saml.entity_id in the target".into()))?;

    let mut spec = ResponseSpec::new(&idp.entity_id, acs.as_str(), &audience, &plan.name_id);
    spec.in_response_to = in_response_to;
    spec.name_id_format = plan.name_id_format;
    spec.attributes = plan.attributes.clone();
    spec.sign = plan.sign;
    spec.alg = plan.alg;
    spec.clock_skew_secs = sp.clock_skew_secs;
    let xml = match &plan.attack {
        None => match plan.encrypt {
            None => response::build_signed(&spec, idp)?,
            Some(enc) => {
                let cert = sp.sp_encryption_cert.ok_or_else(|| {
                    FlowError::Sp("the SP advertises no encryption certificate".into())
                })?;
                response::build_signed_encrypted(&spec, idp, cert, enc)?
            }
        },
        Some(setup) => {
            let scenario = Scenario {
                idp,
                attacker: &setup.attacker,
                base: spec.clone(),
                attacker_identity: setup.attacker_identity.clone(),
                attacker_attributes: setup.attacker_attributes.clone(),
                canary_url: setup.canary_url.clone(),
                sp_encryption_cert: setup.sp_encryption_cert.as_ref(),
            };
            let forged = attacks::forge(setup.attack, &scenario)?;
            report.claimed = Some(forged.claimed);
            report.genuine = forged.genuine;
            report.attack_description = Some(forged.description);
            forged.xml
        }
    };
    report.response_xml = Some(xml.clone());
    let identity = report
        .claimed
        .clone()
        .unwrap_or_else(|| plan.name_id.clone());

    // Built in one expression: the serializer is not `Send` and must not live across an await.
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("SAMLResponse", &response::encode_for_post(&xml));
        if let Some(rs) = &relay_state {
            // Byte for byte: some SPs keep opaque, server-side RelayState tokens.
            form.append_pair("RelayState", rs);
        }
        form.finish()
    };
    let target = sp.post_to.cloned().unwrap_or(acs);
    let post = HttpRequest {
        method: "POST".into(),
        url: target.clone(),
        headers: vec![(
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        )],
        body: Some(body.into_bytes()),
    };
    let answer = send(&poster, post.clone(), report).await?;
    report.acs_answer = one_line_answer(&answer);
    follow_redirects(&poster, &target, answer, report).await?;
    judge_session(&poster, sp, &identity, report).await?;
    if !plan.replay {
        return Ok(());
    }
    // The replay: the exact same bytes, from a browser the SP has never seen (an attacker
    // who found the Response in a log, a proxy or the victim's history).
    report.first_verdict = report.verdict.take();
    report.offsite_redirect = None;
    let second = client.with_cookie_jar()?;
    let answer = send(&second, post, report).await?;
    report.acs_answer = one_line_answer(&answer);
    follow_redirects(&second, &target, answer, report).await?;
    judge_session(&second, sp, &identity, report).await
}

/// GETs the login URL and follows the SP's redirects until it sends the browser to the
/// IdP's SSO URL (HTTP-Redirect) or serves an auto-submit form to it (HTTP-POST). The IdP
/// URL itself is never requested.
async fn capture_authn_request(
    client: &HttpClient,
    idp: &IdpIdentity,
    login_url: &Url,
    sp_certs: &[openssl::x509::X509],
    report: &mut FlowReport,
) -> Result<AuthnRequest, FlowError> {
    let sso = Url::parse(&idp.sso_url)
        .map_err(|e| FlowError::Sp(format!("idp.sso_url `{}` is not a URL: {e}", idp.sso_url)))?;
    let mut url = login_url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let resp = send(client, get(&url), report).await?;
        if let Some(next) = location(&url, &resp) {
            if same_endpoint(&next, &sso) {
                return Ok(request::decode_redirect(&next, sp_certs)?);
            }
            url = next;
            continue;
        }
        if let Some((action, fields)) = request::find_post_form(&resp.text()) {
            let action = url.join(&action).map_err(|e| {
                FlowError::Sp(format!("the SP's login form posts to `{action}`: {e}"))
            })?;
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.as_str())
            };
            if same_endpoint(&action, &sso)
                && let Some(saml_request) = field("SAMLRequest")
            {
                return Ok(request::decode_post(
                    saml_request,
                    field("RelayState"),
                    sp_certs,
                )?);
            }
        }
        return Err(FlowError::Sp(format!(
            "the SP's login URL did not send the browser to the IdP SSO URL {}: {} answered HTTP {} without a redirect or SAMLRequest form to it (is idp.sso_url what the SP was configured with?)",
            idp.sso_url, url, resp.status
        )));
    }
    Err(FlowError::Sp(format!(
        "more than {MAX_REDIRECTS} redirects from the SP's login URL without reaching the IdP"
    )))
}

/// Follows the SP's redirects after the ACS, staying on the SP's origin: where the SP sends
/// the browser next is evidence, but oinspect never fetches anything off-site.
async fn follow_redirects(
    client: &HttpClient,
    acs: &Url,
    mut resp: HttpResponse,
    report: &mut FlowReport,
) -> Result<(), FlowError> {
    let mut url = acs.clone();
    for _ in 0..MAX_REDIRECTS {
        let Some(next) = location(&url, &resp) else {
            return Ok(());
        };
        if next.origin() != acs.origin() {
            report.acs_answer.push_str(&format!(
                " (then redirected off-site to {next}; not followed)"
            ));
            report.offsite_redirect = Some(next);
            return Ok(());
        }
        url = next;
        resp = send(client, get(&url), report).await?;
    }
    Ok(())
}

/// Asks the session check who is logged in. With `json_path`, the value there must equal
/// the asserted identity exactly; otherwise the identity must appear in the body as a whole
/// token (`victim@example.com` inside `victim@example.com.evil.test` does not count).
async fn judge_session(
    client: &HttpClient,
    sp: &SpSettings<'_>,
    identity: &str,
    report: &mut FlowReport,
) -> Result<(), FlowError> {
    let check = &sp.session;
    let resp = send(client, get(check.url), report).await?;
    let what = format!("session check GET {} -> {}", check.url.path(), resp.status);
    if resp.status != check.status {
        report.verdict = Some(Verdict::Rejected);
        report.decided_by = format!("{what} (a logged-in user gets {})", check.status);
        return Ok(());
    }
    let body = resp.text();
    if let Some(needle) = check.body_contains
        && !body.contains(needle)
    {
        report.verdict = Some(Verdict::Rejected);
        report.decided_by = format!("{what}, but the body lacks {needle:?}");
        return Ok(());
    }
    if let Some(path) = check.json_path {
        let found = JsonPath::parse(path)
            .ok()
            .zip(serde_json::from_str::<serde_json::Value>(&body).ok())
            .and_then(|(p, json)| {
                p.query(&json).first().map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
            });
        let (verdict, decided) = match found {
            Some(v) if v == identity => (Verdict::Accepted, format!("{what}, {path} = {v:?}")),
            Some(v) => (
                Verdict::OtherIdentity(v.clone()),
                format!("{what}, {path} = {v:?} (not {identity:?})"),
            ),
            None => (Verdict::Rejected, format!("{what}, but {path} is absent")),
        };
        report.verdict = Some(verdict);
        report.decided_by = decided;
        return Ok(());
    }
    let verdict = if contains_token(&body, identity) {
        Verdict::Accepted
    } else {
        Verdict::Rejected
    };
    report.decided_by = format!(
        "{what}, identity {identity:?} {} the body as a whole token",
        if verdict == Verdict::Accepted {
            "in"
        } else {
            "not in"
        }
    );
    report.verdict = Some(verdict);
    Ok(())
}

/// Whether `needle` occurs in `haystack` delimited by characters that cannot belong to an
/// identity, so `ada@x.test` is not found in `ada@x.test.evil`.
pub fn contains_token(haystack: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    let part_of_identity = |c: char| c.is_alphanumeric() || "._%+-@".contains(c);
    haystack.match_indices(needle).any(|(i, _)| {
        let before = haystack[..i].chars().next_back();
        let after = haystack[i + needle.len()..].chars().next();
        !before.is_some_and(part_of_identity) && !after.is_some_and(part_of_identity)
    })
}

fn get(url: &Url) -> HttpRequest {
    HttpRequest {
        method: "GET".into(),
        url: url.clone(),
        headers: vec![(
            "Accept".into(),
            "text/html,application/json;q=0.9,*/*;q=0.8".into(),
        )],
        body: None,
    }
}

async fn send(
    client: &HttpClient,
    req: HttpRequest,
    report: &mut FlowReport,
) -> Result<HttpResponse, FlowError> {
    let (exchange, result) = client.send(req).await;
    report.exchanges.push(exchange);
    Ok(result?)
}

fn location(base: &Url, resp: &HttpResponse) -> Option<Url> {
    if !(300..400).contains(&resp.status) {
        return None;
    }
    base.join(resp.header("location")?).ok()
}

/// Scheme, host, port and path equal: the query carries the SAMLRequest.
fn same_endpoint(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

/// `HTTP 200 "Login failed: signature invalid"`: status and the page's visible text (after
/// its head, tags stripped, whitespace collapsed), cut to a line, for the report.
fn one_line_answer(resp: &HttpResponse) -> String {
    let text = resp.text();
    let body = text
        .split_once("</head>")
        .map_or(text.as_str(), |(_, rest)| rest);
    let mut plain = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => {
                in_tag = true;
                plain.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag && !c.is_control() => plain.push(c),
            _ => plain.push(' '),
        }
        if plain.len() > 4000 {
            break;
        }
    }
    let plain = plain
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    let shown: String = plain
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect();
    if shown.is_empty() {
        format!("HTTP {}", resp.status)
    } else {
        format!("HTTP {} {shown:?}", resp.status)
    }
}

#[cfg(test)]
mod tests {
    use super::contains_token;

    #[test]
    fn identity_must_be_a_whole_token() {
        assert!(contains_token(r#"{"user":"ada@x.test"}"#, "ada@x.test"));
        assert!(contains_token("Welcome ada@x.test!", "ada@x.test"));
        assert!(!contains_token("victim@x.test.evil.test", "victim@x.test"));
        assert!(!contains_token("evil-victim@x.test", "victim@x.test"));
        assert!(!contains_token("anything", ""));
    }
}
