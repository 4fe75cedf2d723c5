//! The one HTTP client every engine uses: bounded bodies, timeouts, no automatic redirects
//! (engines follow them deliberately so each hop is evidence), and redacted evidence.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::redact::Redactor;

/// Bodies past this are refused: a vendor endpoint returning gigabytes must not take the
/// run's memory with it.
pub const DEFAULT_BODY_CAP: usize = 16 * 1024 * 1024;
/// How much of a body evidence keeps; enough to show any real SCIM or SAML message.
const EVIDENCE_BODY_BYTES: usize = 64 * 1024;
/// serde_json's nesting limit (its default recursion limit), named in error messages.
const MAX_JSON_DEPTH: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("could not connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("timed out after {secs:.1}s waiting for {waiting_for} from {url}")]
    Timeout {
        url: String,
        secs: f64,
        /// `the response` (nothing or only part of the head arrived) or `the rest of the
        /// response body` (the head came, then the body stalled).
        waiting_for: &'static str,
    },
    #[error("response body from {url} exceeds the {cap} byte cap")]
    BodyTooLarge { url: String, cap: usize },
    #[error("request to {url} failed: {reason}")]
    Other { url: String, reason: String },
    #[error("invalid HTTP client settings: {0}")]
    Setup(String),
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: String,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; serde_json's recursion limit keeps hostile nesting harmless.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        if self.body.is_empty() {
            return Err("the response body is empty".into());
        }
        // JSON exchanged between systems must be UTF-8 (RFC 8259 §8.1); serde_json would only
        // say "invalid unicode code point", which hides the cause.
        if let Err(e) = std::str::from_utf8(&self.body) {
            return Err(format!(
                "the body is not valid UTF-8 (byte {} is invalid; RFC 8259 §8.1 requires UTF-8 JSON)",
                e.valid_up_to()
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            let text = e.to_string();
            if text.starts_with("recursion limit exceeded") {
                format!(
                    "the body is not usable JSON: arrays and objects nested deeper than {MAX_JSON_DEPTH} levels ({text})"
                )
            } else {
                format!("the body is not valid JSON: {text}")
            }
        })
    }
}

/// A request and its response as shown in reports: secrets masked, bodies truncated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Exchange {
    pub request: RecordedMessage,
    pub response: Option<RecordedMessage>,
    /// Why there is no response (timeout, connection refused, ...).
    pub error: Option<String>,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct RecordedMessage {
    /// `POST https://host/path` or `HTTP 201`.
    pub start_line: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Set when `body` was cut for the report.
    pub truncated: bool,
}

impl Exchange {
    /// A decoded protocol message shown beside the HTTP exchanges that carried it (a SAML
    /// Response is unreadable as the base64 form field it travels in).
    pub fn decoded(title: &str, body: &str, redactor: &Redactor) -> Self {
        Self {
            request: RecordedMessage {
                start_line: format!("(decoded) {title}"),
                headers: Vec::new(),
                body: redactor.redact(body).into_owned(),
                truncated: false,
            },
            response: None,
            error: None,
            duration_ms: 0,
        }
    }

    /// One line for summaries: `POST /Users -> 201`.
    pub fn summary(&self) -> String {
        match (&self.response, &self.error) {
            (Some(r), _) => format!("{} -> {}", self.request.start_line, r.start_line),
            (None, Some(e)) => format!("{} -> error: {e}", self.request.start_line),
            (None, None) => self.request.start_line.clone(),
        }
    }
}

impl std::fmt::Display for Exchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write_message(f, "> ", &self.request)?;
        match (&self.response, &self.error) {
            (Some(r), _) => write_message(f, "< ", r),
            (None, Some(e)) => writeln!(f, "< (no response: {e})"),
            (None, None) => Ok(()),
        }
    }
}

fn write_message(
    f: &mut std::fmt::Formatter<'_>,
    prefix: &str,
    m: &RecordedMessage,
) -> std::fmt::Result {
    writeln!(f, "{prefix}{}", m.start_line)?;
    for (k, v) in &m.headers {
        writeln!(f, "{prefix}{k}: {v}")?;
    }
    if !m.body.is_empty() {
        // JSON on one line is unreadable in a terminal; indent it (the artifacts keep the
        // same rendering, the JSON report keeps the body as received).
        let pretty = serde_json::from_str::<serde_json::Value>(&m.body)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok());
        for line in pretty.as_deref().unwrap_or(&m.body).lines() {
            writeln!(f, "{prefix}{line}")?;
        }
        if m.truncated {
            writeln!(f, "{prefix}... (truncated)")?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub timeout: Duration,
    pub body_cap: usize,
    pub ca_cert_pem: Option<Vec<u8>>,
    pub insecure: bool,
    pub cookies: bool,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            body_cap: DEFAULT_BODY_CAP,
            ca_cert_pem: None,
            insecure: false,
            cookies: false,
        }
    }
}

#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    settings: Arc<ClientSettings>,
    redactor: Arc<Redactor>,
}

impl HttpClient {
    pub fn new(settings: ClientSettings, redactor: Arc<Redactor>) -> Result<Self, HttpError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .cookie_store(settings.cookies)
            .user_agent(concat!("oinspect/", env!("CARGO_PKG_VERSION")))
            .tls_danger_accept_invalid_certs(settings.insecure);
        if let Some(pem) = &settings.ca_cert_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| HttpError::Setup(format!("tls.ca_cert is not a PEM bundle: {e}")))?;
            builder = builder.tls_certs_merge(certs);
        }
        let inner = builder
            .build()
            .map_err(|e| HttpError::Setup(error_chain(&e)))?;
        Ok(Self {
            inner,
            settings: Arc::new(settings),
            redactor,
        })
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// A client with the same settings and its own cookie jar: one per browser session.
    pub fn with_cookie_jar(&self) -> Result<Self, HttpError> {
        let mut settings = (*self.settings).clone();
        settings.cookies = true;
        Self::new(settings, self.redactor.clone())
    }

    /// Sends one request. The exchange is returned in every case, as evidence.
    pub async fn send(&self, req: HttpRequest) -> (Exchange, Result<HttpResponse, HttpError>) {
        let started = Instant::now();
        let recorded_request = self.record_request(&req);
        let result = self.send_inner(&req).await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let exchange = match &result {
            Ok(resp) => Exchange {
                request: recorded_request,
                response: Some(self.record_response(resp)),
                error: None,
                duration_ms,
            },
            Err(e) => Exchange {
                request: recorded_request,
                response: None,
                error: Some(self.redactor.redact(&e.to_string()).into_owned()),
                duration_ms,
            },
        };
        (exchange, result)
    }

    async fn send_inner(&self, req: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let url_text = self.redactor.redact(req.url.as_str()).into_owned();
        let method =
            reqwest::Method::from_bytes(req.method.as_bytes()).map_err(|_| HttpError::Other {
                url: url_text.clone(),
                reason: format!("invalid method `{}`", req.method),
            })?;
        let mut builder = self.inner.request(method, req.url.clone());
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        if let Some(body) = &req.body {
            builder = builder.body(body.clone());
        }
        let mut resp = builder
            .send()
            .await
            .map_err(|e| self.classify(&url_text, e, "the response"))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = self.settings.body_cap;
        if resp.content_length().is_some_and(|n| n > cap as u64) {
            return Err(HttpError::BodyTooLarge { url: url_text, cap });
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.classify(&url_text, e, "the rest of the response body"))?
        {
            if body.len() + chunk.len() > cap {
                return Err(HttpError::BodyTooLarge { url: url_text, cap });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    fn classify(&self, url: &str, e: reqwest::Error, waiting_for: &'static str) -> HttpError {
        let reason = self.redactor.redact(&error_chain(&e)).into_owned();
        if e.is_timeout() {
            HttpError::Timeout {
                url: url.to_string(),
                secs: self.settings.timeout.as_secs_f64(),
                waiting_for,
            }
        } else if e.is_connect() {
            HttpError::Connect {
                url: url.to_string(),
                reason,
            }
        } else {
            HttpError::Other {
                url: url.to_string(),
                reason,
            }
        }
    }

    fn learn_cookies(&self, headers: &[(String, String)], name: &str) {
        for (k, v) in headers {
            if !k.eq_ignore_ascii_case(name) {
                continue;
            }
            // `Set-Cookie: name=value; Path=/` holds one cookie, `Cookie: a=1; b=2` several.
            let pairs = if name == "set-cookie" {
                v.split(';').take(1).collect::<Vec<_>>()
            } else {
                v.split(';').collect()
            };
            for (_, value) in pairs.iter().filter_map(|p| p.split_once('=')) {
                self.redactor.add_learned(value);
            }
        }
    }

    fn record_request(&self, req: &HttpRequest) -> RecordedMessage {
        self.learn_cookies(&req.headers, "cookie");
        let (body, truncated) = req
            .body
            .as_deref()
            .map(|b| self.evidence_body(b))
            .unwrap_or_default();
        RecordedMessage {
            start_line: format!("{} {}", req.method, self.redactor.redact(req.url.as_str())),
            headers: self.record_headers(&req.headers),
            body,
            truncated,
        }
    }

    fn record_response(&self, resp: &HttpResponse) -> RecordedMessage {
        // Cookie values are session credentials: once the vendor sets one, it is masked
        // wherever it shows up (a page or an error that echoes the Cookie header), this
        // response's body included.
        self.learn_cookies(&resp.headers, "set-cookie");
        let (body, truncated) = self.evidence_body(&resp.body);
        RecordedMessage {
            start_line: format!("HTTP {}", resp.status),
            headers: self.record_headers(&resp.headers),
            body,
            truncated,
        }
    }

    fn record_headers(&self, headers: &[(String, String)]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|(k, v)| {
                // Header values may carry C1 controls (U+009B is CSI) as UTF-8 obs-text.
                let shown = self.redactor.header_value(k, v);
                (k.clone(), printable(&shown).into_owned())
            })
            .collect()
    }

    fn evidence_body(&self, body: &[u8]) -> (String, bool) {
        let truncated = body.len() > EVIDENCE_BODY_BYTES;
        let shown = &body[..body.len().min(EVIDENCE_BODY_BYTES)];
        let text = String::from_utf8_lossy(shown);
        (
            printable(&self.redactor.redact(&text)).into_owned(),
            truncated,
        )
    }
}

/// The text with control characters written as escapes (`\u{1b}`), except line breaks and
/// tabs: a vendor's body is printed in the user's terminal, where raw escape sequences
/// would clear the screen, retitle the window or draw fake results.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let keep = |c: char, next: Option<char>| {
        !c.is_control() || c == '\n' || c == '\t' || (c == '\r' && next == Some('\n'))
    };
    let mut chars = text.chars().peekable();
    let mut clean = true;
    while let Some(c) = chars.next() {
        if !keep(c, chars.peek().copied()) {
            clean = false;
            break;
        }
    }
    if clean {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if keep(c, chars.peek().copied()) {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    std::borrow::Cow::Owned(out)
}

/// An error and its causes on one line: reqwest's top-level message alone ("error sending
/// request") hides the reason (refused, certificate, reset).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(bytes: &[u8]) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: Vec::new(),
            body: bytes.to_vec(),
        }
    }

    #[test]
    fn control_characters_in_evidence_are_escaped() {
        assert_eq!(
            printable("a\x1b[2Jb\x07\x00\rc\r\nd\te\u{9b}"),
            "a\\u{1b}[2Jb\\u{7}\\u{0}\\rc\r\nd\te\\u{9b}"
        );
        assert!(matches!(
            printable("plain\r\ntext"),
            std::borrow::Cow::Borrowed(_)
        ));
    }

    #[test]
    fn json_errors_name_invalid_utf8_and_excessive_nesting() {
        let e = body(b"{\"id\":\"\xff\"}").json().unwrap_err();
        assert!(e.contains("not valid UTF-8 (byte 7 is invalid"), "{e}");
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let e = body(deep.as_bytes()).json().unwrap_err();
        assert!(e.contains("nested deeper than 128 levels"), "{e}");
        let e = body(b"{").json().unwrap_err();
        assert!(e.starts_with("the body is not valid JSON: EOF"), "{e}");
        assert_eq!(body(b"[[1]]").json().unwrap(), serde_json::json!([[1]]));
    }
}
