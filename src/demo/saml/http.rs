//! The HTTP face of the SP: routes, cookies, and the one place where ACS results become
//! responses. Failed logins answer 200 with an error page, as SimpleSAMLphp and many
//! vendors do: the status code proves nothing, only whether a session exists does.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use time::OffsetDateTime;

use super::Sp;
use super::acs::{self, AcsError};
use super::request;
use super::store::random_token;

pub const METADATA_PATH: &str = "/saml/metadata";
pub const LOGIN_PATH: &str = "/saml/login";
pub const ACS_PATH: &str = "/saml/acs";
pub const ME_PATH: &str = "/api/me";
pub const APP_PATH: &str = "/app";

/// The cookie binding outstanding AuthnRequests to the browser that started them.
pub const LOGIN_COOKIE: &str = "sp_login";
pub const SESSION_COOKIE: &str = "sp_session";

/// Posted Responses above this size are refused (real ones are well under 200 KiB).
pub const MAX_ACS_BODY_BYTES: usize = 1024 * 1024;
/// RelayState longer than this is refused at /saml/login (SAML bindings allow 80 bytes;
/// this leaves room for deep links while keeping redirect URLs bounded).
pub const MAX_RELAY_STATE_BYTES: usize = 1024;

type Shared = Arc<Sp>;

pub fn router(sp: Shared) -> Router {
    Router::new()
        .route(METADATA_PATH, get(metadata))
        .route(LOGIN_PATH, get(login))
        .route(
            ACS_PATH,
            post(acs_post).layer(DefaultBodyLimit::max(MAX_ACS_BODY_BYTES)),
        )
        .route(ME_PATH, get(me))
        .route(APP_PATH, get(app))
        .with_state(sp)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The value of cookie `name` (the first one, if the browser sent several).
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value. The ACS is reached by a cross-site POST from the IdP, which
/// browsers only send cookies with under `SameSite=None`, and that needs `Secure`, which
/// plain-HTTP browsers refuse to store: so over HTTP the attribute is left out (browsers
/// then allow a top-level cross-site POST shortly after the cookie was set).
fn set_cookie(sp: &Sp, name: &str, value: &str) -> Option<HeaderValue> {
    let cross_site = if sp.cfg.base_url.starts_with("https://") {
        "; Secure; SameSite=None"
    } else {
        ""
    };
    HeaderValue::from_str(&format!("{name}={value}; Path=/; HttpOnly{cross_site}")).ok()
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title></head>\
         <body><h1>{t}</h1><p>{body}</p></body></html>\n",
        t = html_escape(title),
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}

/// Always 200: see the module docs.
fn login_failed(reason: &str) -> Response {
    page(
        StatusCode::OK,
        "Login failed",
        &format!("Login failed: {}", html_escape(reason)),
    )
}

fn redirect(location: &str, cookie: Option<HeaderValue>) -> Response {
    let mut resp = StatusCode::FOUND.into_response();
    let headers = resp.headers_mut();
    // Callers pass header-safe locations; an unsafe one falls back to the app.
    let loc = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static(APP_PATH));
    headers.insert(header::LOCATION, loc);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = cookie {
        headers.insert(header::SET_COOKIE, c);
    }
    resp
}

async fn metadata(State(sp): State<Shared>) -> Response {
    let xml = sp
        .published_cert
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|cert| request::metadata(&sp.cfg, cert).map_err(|e| e.to_string()));
    match xml {
        Ok(xml) => (
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response(),
        Err(e) => page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Metadata error",
            &html_escape(&e),
        ),
    }
}

/// Single values of form or query parameters; a repeated SAML parameter is an error, since
/// which copy was meant (and which was signed) would be a guess.
fn single_params(raw: &[u8], names: &[&str]) -> Result<Vec<Option<String>>, String> {
    let mut out = vec![None; names.len()];
    for (k, v) in url::form_urlencoded::parse(raw) {
        if let Some(i) = names.iter().position(|n| *n == k) {
            if out[i].is_some() {
                return Err(format!("{k} appears more than once"));
            }
            out[i] = Some(v.into_owned());
        }
    }
    Ok(out)
}

async fn login(State(sp): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let relay = match single_params(query.unwrap_or_default().as_bytes(), &["RelayState"]) {
        Ok(mut v) => v.pop().flatten().filter(|r| !r.is_empty()),
        Err(e) => return page(StatusCode::BAD_REQUEST, "Bad request", &html_escape(&e)),
    };
    let relay = relay.unwrap_or_else(|| APP_PATH.to_string());
    if relay.len() > MAX_RELAY_STATE_BYTES {
        return page(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "RelayState is too long",
        );
    }
    let now = now();
    let req = match request::authn_request(&sp.cfg, &relay, now) {
        Ok(r) => r,
        Err(e) => {
            return page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Login error",
                &html_escape(&e.to_string()),
            );
        }
    };
    let login_cookie = random_token();
    sp.store()
        .add_outstanding(&req.id, &login_cookie, now.unix_timestamp());
    redirect(&req.location, set_cookie(&sp, LOGIN_COOKIE, &login_cookie))
}

async fn acs_post(
    State(sp): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => return login_failed(&format!("unreadable request body: {e}")),
    };
    let (response, relay) = match single_params(&body, &["SAMLResponse", "RelayState"]) {
        Ok(v) => match <[Option<String>; 2]>::try_from(v) {
            Ok([r, s]) => (r, s),
            Err(_) => return login_failed("internal error reading the form"),
        },
        Err(e) => return login_failed(&e),
    };
    let Some(response) = response else {
        return login_failed(&AcsError::MissingResponse.to_string());
    };
    // Off the async workers: under `saml-fetch-external-entities` consuming blocks on
    // fetches, possibly from a server in this very process (oinspect's canary in a demo).
    let login_cookie = cookie(&headers, LOGIN_COOKIE).map(str::to_string);
    let consuming = sp.clone();
    let consumed = tokio::task::spawn_blocking(move || {
        acs::consume(&consuming, &response, login_cookie.as_deref(), now())
    })
    .await;
    match consumed {
        Ok(Ok(session)) => {
            let target = relay_target(&sp, relay.as_deref());
            redirect(&target, set_cookie(&sp, SESSION_COOKIE, &session))
        }
        Ok(Err(e)) => login_failed(&e.to_string()),
        Err(_) => login_failed("internal error while checking the Response"),
    }
}

/// Where to send the browser after login: RelayState only if it is a path on this site.
fn relay_target(sp: &Sp, relay: Option<&str>) -> String {
    let relay = relay.unwrap_or_default();
    if (sp.cfg.breaks.has("saml-open-redirect") && !relay.is_empty()) || is_local_path(relay) {
        relay.to_string()
    } else {
        APP_PATH.to_string()
    }
}

/// `/x…` but not `//host` nor `/\host` (browsers read a backslash as a slash), and nothing
/// a Location header or a URL parser could reinterpret.
pub fn is_local_path(s: &str) -> bool {
    s.starts_with('/')
        && !s.starts_with("//")
        && s.len() <= MAX_RELAY_STATE_BYTES
        && !s
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

async fn me(State(sp): State<Shared>, headers: HeaderMap) -> Response {
    let now = now().unix_timestamp();
    let store = sp.store();
    let account = cookie(&headers, SESSION_COOKIE).and_then(|t| store.session_account(t, now));
    match account {
        Some(a) => (
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(json!({
                "nameid": a.name_id,
                "email": a.email,
                "firstName": a.first_name,
                "lastName": a.last_name,
                "groups": a.groups,
            })),
        )
            .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "not logged in"})),
        )
            .into_response(),
    }
}

async fn app(State(sp): State<Shared>, headers: HeaderMap) -> Response {
    let now = now().unix_timestamp();
    let name = {
        let store = sp.store();
        cookie(&headers, SESSION_COOKIE)
            .and_then(|t| store.session_account(t, now))
            .map(|a| a.name_id.clone())
    };
    match name {
        Some(n) => page(
            StatusCode::OK,
            "Reference app",
            &format!("Signed in as {}.", html_escape(&n)),
        ),
        None => redirect(LOGIN_PATH, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_local() {
        for ok in ["/", "/app", "/app?x=1#y", "/a/b%2F/c"] {
            assert!(is_local_path(ok), "{ok}");
        }
        for bad in [
            "",
            "app",
            "//evil.test",
            "/\\evil.test",
            "https://evil.test/",
            "/a b",
            "/a\r\nSet-Cookie: x=y",
            "javascript:alert(1)",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
        assert!(!is_local_path(&format!(
            "/{}",
            "a".repeat(MAX_RELAY_STATE_BYTES)
        )));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; sp_login=xyz"),
        );
        h.append(header::COOKIE, HeaderValue::from_static("sp_session=s"));
        assert_eq!(cookie(&h, "sp_login"), Some("xyz"));
        assert_eq!(cookie(&h, "sp_session"), Some("s"));
        assert_eq!(cookie(&h, "sp"), None);
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert_eq!(
            single_params(
                b"SAMLResponse=a&RelayState=%2Fx",
                &["SAMLResponse", "RelayState"]
            ),
            Ok(vec![Some("a".into()), Some("/x".into())])
        );
        assert!(single_params(b"SAMLResponse=a&SAMLResponse=b", &["SAMLResponse"]).is_err());
    }
}
