//! AuthnRequests from a vendor's SP: decoding both bindings, verifying their signatures, and
//! checking their contents against what the IdP expects.
//!
//! Everything here is untrusted input. Sizes are capped before anything is allocated for
//! them (the DEFLATE of the Redirect binding compresses ~1000:1, so a small URL can ask for
//! a gigabyte), XML goes through [`Document::parse`] (no DTDs, hard limits), and no input
//! makes these functions panic.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use openssl::x509::X509;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use super::dsig::{self, DSIG_NS, SAML_ASSERTION_NS, SignatureAlgorithm, VerifyPolicy};
use super::idp::{BINDING_POST, SAMLP_NS};
use super::response::NameIdFormat;
use super::xml::{Document, Element, Limits, XmlError};
use crate::severity::Severity;

/// Most bytes an AuthnRequest may have after base64 decoding and inflating. Real requests
/// are a few KiB; inflation stops at this many bytes, so a DEFLATE bomb costs at most this
/// much memory and the time to produce it.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;
/// Most characters of a base64 `SAMLRequest` value accepted for decoding (covers the
/// base64 of a [`MAX_REQUEST_BYTES`] POST message).
pub const MAX_ENCODED_BYTES: usize = MAX_REQUEST_BYTES / 3 * 4 + 8;
/// Most bytes of an HTML page [`find_post_form`] looks at.
pub const MAX_HTML_BYTES: usize = 2 * 1024 * 1024;
/// Most forms, and inputs per form, [`find_post_form`] collects.
const MAX_FORMS: usize = 64;
const MAX_INPUTS: usize = 256;
/// Parse limits for AuthnRequests. Real ones have a few dozen elements a few levels deep;
/// tight limits matter because the tree's ID lookup (used by signature verification) copies
/// an element path per element, so depth × elements is what a hostile request could make
/// us allocate.
pub const REQUEST_LIMITS: Limits = Limits {
    max_input_bytes: MAX_REQUEST_BYTES,
    max_depth: 32,
    max_elements: 10_000,
    max_attributes_per_element: 64,
    max_namespace_declarations: 1024,
};
/// Tolerated lead of an IssueInstant over our clock.
pub const MAX_FUTURE_SKEW_SECS: i64 = 60;

/// How the request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Binding {
    Redirect,
    Post,
}

/// What the request's signature proved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestSignature {
    Unsigned,
    /// Verified with one of the SP's certificates; `alg` is the algorithm URI.
    Valid {
        alg: String,
    },
    /// Signed, but the signature does not verify (or is malformed): why.
    Invalid(String),
    /// Signed, but no SP certificate was given to check it against.
    UnknownKey,
}

/// A decoded AuthnRequest (SAML core §3.4.1). Fields are as sent, not validated: see
/// [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnRequest {
    pub binding: Binding,
    /// The request XML as received (after base64 and, for Redirect, inflating).
    pub xml: String,
    pub id: Option<String>,
    pub version: Option<String>,
    pub issue_instant: Option<String>,
    pub destination: Option<String>,
    /// `saml:Issuer` text, trimmed.
    pub issuer: Option<String>,
    pub acs_url: Option<String>,
    pub acs_index: Option<String>,
    pub protocol_binding: Option<String>,
    pub name_id_policy_format: Option<String>,
    /// `NameIDPolicy/@AllowCreate`; `None` when absent or not an xs:boolean.
    pub allow_create: Option<bool>,
    pub force_authn: bool,
    pub is_passive: bool,
    pub relay_state: Option<String>,
    pub signature: RequestSignature,
}

/// Why a request could not be decoded at all.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("the {binding} request has no {name} parameter")]
    MissingParameter {
        binding: &'static str,
        name: &'static str,
    },
    #[error("query parameter {name} appears {count} times: exactly one is allowed")]
    DuplicateParameter { name: String, count: usize },
    #[error("{what} is larger than the limit of {limit} bytes")]
    TooLarge { what: &'static str, limit: usize },
    #[error("SAMLRequest is not valid base64: {message}")]
    Base64 { message: String },
    #[error(
        "SAMLRequest does not inflate as raw DEFLATE (RFC 1951, required by the HTTP-Redirect binding, SAML bindings §3.4.4.1): {message}{hint}"
    )]
    Inflate { message: String, hint: &'static str },
    #[error("the decoded request is not UTF-8 text (byte {valid_up_to} is invalid){hint}")]
    NotUtf8 {
        valid_up_to: usize,
        hint: &'static str,
    },
    #[error("the request is not well-formed XML: {0}")]
    Xml(#[from] XmlError),
    #[error("expected a samlp:AuthnRequest root element, found <{found}>")]
    NotAuthnRequest { found: String },
}

/// Decodes an HTTP-Redirect AuthnRequest (SAML bindings §3.4.4.1) from the full URL the SP
/// redirected the browser to. A `SigAlg`/`Signature` pair is verified against `sp_certs` on
/// the raw query (see [`dsig::verify_redirect_query`]); without one, an enveloped XML
/// signature in the message (which the binding says to remove, but some SPs send) is
/// verified like a POST one.
pub fn decode_redirect(url: &url::Url, sp_certs: &[X509]) -> Result<AuthnRequest, RequestError> {
    let query = url.query().unwrap_or("");
    let mut saml_request: Vec<&str> = Vec::new();
    let mut relay_state: Vec<&str> = Vec::new();
    let mut sig_alg = 0usize;
    let mut signature = 0usize;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match name {
            "SAMLRequest" => saml_request.push(value),
            "RelayState" => relay_state.push(value),
            "SigAlg" => sig_alg += 1,
            "Signature" => signature += 1,
            _ => {}
        }
    }
    for (name, count) in [
        ("SAMLRequest", saml_request.len()),
        ("RelayState", relay_state.len()),
        ("SigAlg", sig_alg),
        ("Signature", signature),
    ] {
        if count > 1 {
            return Err(RequestError::DuplicateParameter {
                name: name.to_string(),
                count,
            });
        }
    }
    let raw = saml_request.first().ok_or(RequestError::MissingParameter {
        binding: "HTTP-Redirect",
        name: "SAMLRequest",
    })?;
    if raw.len() > MAX_ENCODED_BYTES {
        return Err(RequestError::TooLarge {
            what: "the SAMLRequest parameter",
            limit: MAX_ENCODED_BYTES,
        });
    }
    let b64 = percent_decode(raw);
    let deflated = decode_base64(&b64)?;
    let inflated = inflate_bounded(&deflated, MAX_REQUEST_BYTES)?;
    let xml = into_utf8(inflated, false)?;
    let relay_state = relay_state.first().map(|r| percent_decode(r));
    let (mut req, doc) = parse_request(xml, Binding::Redirect, relay_state)?;

    req.signature = match (sig_alg, signature) {
        (0, 0) => xml_signature(&doc, sp_certs),
        (1, 0) => RequestSignature::Invalid(
            "SigAlg is present but Signature is missing (SAML bindings §3.4.4.1)".into(),
        ),
        (0, _) => RequestSignature::Invalid(
            "Signature is present but SigAlg is missing (SAML bindings §3.4.4.1)".into(),
        ),
        _ if sp_certs.is_empty() => RequestSignature::UnknownKey,
        _ => match dsig::verify_redirect_query(query, sp_certs) {
            Ok(v) => RequestSignature::Valid {
                alg: v.algorithm.uri().to_string(),
            },
            Err(e) => RequestSignature::Invalid(e.to_string()),
        },
    };
    Ok(req)
}

/// Decodes an HTTP-POST AuthnRequest (SAML bindings §3.5.4): the `SAMLRequest` form value
/// (base64, not deflated) and the `RelayState` form value. An enveloped signature on the
/// AuthnRequest is verified against `sp_certs`.
pub fn decode_post(
    saml_request_b64: &str,
    relay_state: Option<&str>,
    sp_certs: &[X509],
) -> Result<AuthnRequest, RequestError> {
    if saml_request_b64.len() > MAX_ENCODED_BYTES {
        return Err(RequestError::TooLarge {
            what: "the SAMLRequest form value",
            limit: MAX_ENCODED_BYTES,
        });
    }
    let bytes = decode_base64(saml_request_b64)?;
    let xml = into_utf8(bytes, true)?;
    let (mut req, doc) = parse_request(xml, Binding::Post, relay_state.map(str::to_string))?;
    req.signature = xml_signature(&doc, sp_certs);
    Ok(req)
}

/// Percent-decoding of a query value (`+` is a space, invalid escapes are kept as written,
/// invalid UTF-8 becomes U+FFFD): only used on values whose signature, if any, is verified
/// on the raw form.
fn percent_decode(raw: &str) -> String {
    url::form_urlencoded::parse(format!("v={raw}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Base64 as SPs actually send it: standard alphabet, but tolerating line breaks, missing
/// padding, the URL-safe alphabet, and `+` turned into a space by a missing URL encoding.
fn decode_base64(text: &str) -> Result<Vec<u8>, RequestError> {
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n' | '\t'))
        .map(|c| match c {
            ' ' => '+',
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    LENIENT
        .decode(cleaned.trim_end_matches('='))
        .or_else(|_| STANDARD.decode(&cleaned))
        .map_err(|e| RequestError::Base64 {
            message: e.to_string(),
        })
}

/// Inflates raw DEFLATE, reading at most `limit + 1` bytes of output: the decoder never
/// produces (and we never allocate) more than that, whatever the input claims.
fn inflate_bounded(data: &[u8], limit: usize) -> Result<Vec<u8>, RequestError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    let mut reader = flate2::read::DeflateDecoder::new(data).take(cap);
    if let Err(e) = reader.read_to_end(&mut out) {
        return Err(RequestError::Inflate {
            message: e.to_string(),
            hint: compression_hint(data),
        });
    }
    if out.len() > limit {
        return Err(RequestError::TooLarge {
            what: "the inflated SAMLRequest",
            limit,
        });
    }
    if out.is_empty() {
        return Err(RequestError::Inflate {
            message: "no data".into(),
            hint: compression_hint(data),
        });
    }
    Ok(out)
}

/// Explains the usual ways SPs get the Redirect encoding wrong.
fn compression_hint(data: &[u8]) -> &'static str {
    match data {
        [b'<', ..] => {
            "; the value is uncompressed XML, which is the HTTP-POST encoding: HTTP-Redirect requires DEFLATE"
        }
        [0x1f, 0x8b, ..] => "; the value is gzip (RFC 1952): HTTP-Redirect requires raw DEFLATE",
        [a, b, ..] if a & 0x0f == 8 && (u16::from(*a) << 8 | u16::from(*b)) % 31 == 0 => {
            "; the value has a zlib (RFC 1950) header: HTTP-Redirect requires raw DEFLATE without it"
        }
        _ => "",
    }
}

/// `compressed_hint` is added to the error for the POST binding, where a binary value most
/// likely means the SP deflated it as if for HTTP-Redirect.
fn into_utf8(bytes: Vec<u8>, compressed_hint: bool) -> Result<String, RequestError> {
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(RequestError::TooLarge {
            what: "the decoded SAMLRequest",
            limit: MAX_REQUEST_BYTES,
        });
    }
    String::from_utf8(bytes).map_err(|e| RequestError::NotUtf8 {
        valid_up_to: e.utf8_error().valid_up_to(),
        hint: if compressed_hint {
            "; it looks compressed: HTTP-POST messages are plain base64 of the XML, without DEFLATE"
        } else {
            ""
        },
    })
}

/// xs:boolean (`true`/`false`/`1`/`0`, surrounding whitespace collapsed).
pub(crate) fn parse_xs_boolean(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

fn parse_request(
    xml: String,
    binding: Binding,
    relay_state: Option<String>,
) -> Result<(AuthnRequest, Document), RequestError> {
    let doc = Document::parse_with_limits(&xml, &REQUEST_LIMITS)?;
    let root = &doc.root;
    if !root.is(SAMLP_NS, "AuthnRequest") {
        let found = match &root.name.ns {
            Some(ns) => format!("{} in namespace {ns}", root.name.qualified()),
            None => format!("{} (no namespace)", root.name.qualified()),
        };
        return Err(RequestError::NotAuthnRequest { found });
    }
    let attr = |name: &str| root.attr(name).map(str::to_string);
    let policy = root.find_child(SAMLP_NS, "NameIDPolicy");
    let req = AuthnRequest {
        binding,
        id: attr("ID"),
        version: attr("Version"),
        issue_instant: attr("IssueInstant"),
        destination: attr("Destination"),
        issuer: root
            .find_child(SAML_ASSERTION_NS, "Issuer")
            .map(|e| e.text().trim().to_string()),
        acs_url: attr("AssertionConsumerServiceURL"),
        acs_index: attr("AssertionConsumerServiceIndex"),
        protocol_binding: attr("ProtocolBinding"),
        name_id_policy_format: policy.and_then(|p| p.attr("Format")).map(str::to_string),
        allow_create: policy
            .and_then(|p| p.attr("AllowCreate"))
            .and_then(parse_xs_boolean),
        force_authn: root
            .attr("ForceAuthn")
            .and_then(parse_xs_boolean)
            .unwrap_or(false),
        is_passive: root
            .attr("IsPassive")
            .and_then(parse_xs_boolean)
            .unwrap_or(false),
        relay_state,
        signature: RequestSignature::Unsigned,
        xml,
    };
    Ok((req, doc))
}

/// The enveloped XML signature of an AuthnRequest: exactly one `ds:Signature`, a child of
/// the AuthnRequest, referencing it. A signature anywhere else protects something other
/// than the request the IdP acts on.
fn xml_signature(doc: &Document, sp_certs: &[X509]) -> RequestSignature {
    let (total, on_root) = count_signatures(&doc.root);
    if total == 0 {
        return RequestSignature::Unsigned;
    }
    if sp_certs.is_empty() {
        return RequestSignature::UnknownKey;
    }
    if total != 1 || on_root != 1 {
        return RequestSignature::Invalid(format!(
            "expected exactly one ds:Signature, a child of the AuthnRequest; found {total} ({on_root} on the AuthnRequest)"
        ));
    }
    let Some(id) = doc.root.attr("ID") else {
        return RequestSignature::Invalid(
            "the AuthnRequest is signed but has no ID for the signature to reference".into(),
        );
    };
    match dsig::verify_element(doc, id, sp_certs, &VerifyPolicy::default()) {
        Ok(r) => RequestSignature::Valid {
            alg: r.signature_algorithm.uri().to_string(),
        },
        Err(e) => RequestSignature::Invalid(e.to_string()),
    }
}

/// `ds:Signature` elements in the tree, and how many of them are children of `root`.
/// An explicit stack of references: no recursion, no per-element path copies.
fn count_signatures(root: &Element) -> (usize, usize) {
    let on_root = root
        .child_elements()
        .filter(|e| e.is(DSIG_NS, "Signature"))
        .count();
    let mut total = 0;
    let mut stack: Vec<&Element> = vec![root];
    while let Some(el) = stack.pop() {
        if el.is(DSIG_NS, "Signature") {
            total += 1;
        }
        stack.extend(el.child_elements());
    }
    (total, on_root)
}

// ---------------------------------------------------------------------------------------------
// Auto-submit forms
// ---------------------------------------------------------------------------------------------

/// Finds the form an SP's page would auto-submit: the first `<form>` with a `SAMLRequest`
/// or `SAMLResponse` input, else the first form at all. Returns its `action` (entity-decoded,
/// possibly relative or empty; the caller resolves it against the page URL) and its hidden
/// inputs (plus `SAMLRequest`/`SAMLResponse`/`RelayState` inputs of any type), in order.
///
/// A tolerant scanner, not an HTML parser: case-insensitive tags, any quoting, comments,
/// `<script>` and `<style>` contents skipped. Looks at the first [`MAX_HTML_BYTES`] only.
pub fn find_post_form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut end = html.len().min(MAX_HTML_BYTES);
    while !html.is_char_boundary(end) {
        end -= 1;
    }
    let html = &html[..end];
    // Same byte offsets as `html` (ASCII lowercasing keeps lengths), for matching only.
    let lower = html.to_ascii_lowercase();
    let bytes = lower.as_bytes();

    struct Form {
        action: String,
        inputs: Vec<(String, String)>,
        saml: bool,
    }
    let mut forms: Vec<Form> = Vec::new();
    let mut open = false;
    let mut pos = 0;
    while let Some(off) = lower[pos..].find('<') {
        let at = pos + off;
        let rest = &lower[at..];
        if rest.starts_with("<!--") {
            pos = lower[at + 4..]
                .find("-->")
                .map_or(lower.len(), |e| at + 4 + e + 3);
            continue;
        }
        let tag = tag_name(&bytes[at + 1..]);
        match tag {
            "script" | "style" => {
                let close = format!("</{tag}");
                pos = lower[at + 1..]
                    .find(&close)
                    .map_or(lower.len(), |e| at + 1 + e);
                if pos < lower.len() {
                    pos += close.len();
                }
                continue;
            }
            "form" | "input" => {
                let (attrs, next) = parse_attributes(html, at + 1 + tag.len());
                pos = next;
                if tag == "form" {
                    if forms.len() >= MAX_FORMS {
                        break;
                    }
                    forms.push(Form {
                        action: get_attr(&attrs, "action").unwrap_or_default(),
                        inputs: Vec::new(),
                        saml: false,
                    });
                    open = true;
                } else if open && let Some(form) = forms.last_mut() {
                    let name = get_attr(&attrs, "name");
                    let kind = get_attr(&attrs, "type").unwrap_or_default();
                    if let Some(name) = name {
                        let is_saml = name == "SAMLRequest" || name == "SAMLResponse";
                        if (kind.eq_ignore_ascii_case("hidden") || is_saml || name == "RelayState")
                            && form.inputs.len() < MAX_INPUTS
                        {
                            form.saml |= is_saml;
                            let value = get_attr(&attrs, "value").unwrap_or_default();
                            form.inputs.push((name, value));
                        }
                    }
                }
                continue;
            }
            _ => {}
        }
        if rest.starts_with("</form") {
            open = false;
        }
        pos = at + 1;
    }
    let idx = forms
        .iter()
        .position(|f| f.saml)
        .or((!forms.is_empty()).then_some(0))?;
    let f = forms.swap_remove(idx);
    Some((f.action, f.inputs))
}

/// The lowercase ASCII tag name at the start of `b` (empty if none).
fn tag_name(b: &[u8]) -> &str {
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-')
        .count();
    // ASCII bytes only, so this is valid UTF-8 by construction.
    std::str::from_utf8(&b[..n]).unwrap_or("")
}

/// Parses `name=value` pairs from `start` up to the tag's `>`; returns them (names
/// lowercased, values entity-decoded) and the position after the tag.
fn parse_attributes(html: &str, start: usize) -> (Vec<(String, String)>, usize) {
    let b = html.as_bytes();
    let mut attrs = Vec::new();
    let mut i = start;
    loop {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        if i >= b.len() {
            return (attrs, b.len());
        }
        if b[i] == b'>' {
            return (attrs, i + 1);
        }
        let name_start = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'=' | b'>' | b'/') {
            i += 1;
        }
        // Slicing at ASCII delimiters (or the ends) is always on a char boundary.
        let name = html[name_start..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let quote = b[i];
                let vstart = i + 1;
                let vend = b[vstart..]
                    .iter()
                    .position(|&c| c == quote)
                    .map_or(b.len(), |e| vstart + e);
                value = decode_entities(&html[vstart..vend]);
                i = (vend + 1).min(b.len());
            } else {
                let vstart = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'>' {
                    i += 1;
                }
                value = decode_entities(&html[vstart..i]);
            }
        }
        if !name.is_empty() && attrs.len() < 64 {
            attrs.push((name, value));
        }
    }
}

fn get_attr(attrs: &[(String, String)], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

/// Decodes the character references HTML authors put in attribute values (`&amp;` in URLs,
/// numeric ones from encoders); anything unknown stays as written.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..]
            .char_indices()
            .take(12)
            .find(|(_, c)| *c == ';')
            .map(|(j, _)| j + 1);
        let decoded = end.and_then(|e| {
            let ent = &rest[1..e];
            let c = match ent {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let num = ent.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse::<u32>().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, e + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// What the IdP expects of requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestExpectations {
    /// The SP's entity ID; `None` accepts any Issuer (it must still be present).
    pub sp_entity_id: Option<String>,
    pub idp_sso_url: String,
    /// ACS URLs the SP registered; empty means unknown (not checked).
    pub acs_urls: Vec<String>,
    pub now: OffsetDateTime,
    /// Oldest acceptable IssueInstant, in seconds before `now`.
    pub max_age_secs: i64,
    pub require_signed: bool,
}

impl RequestExpectations {
    /// Expectations with a 300 s maximum age, no signature required, nothing else known.
    pub fn new(idp_sso_url: &str, now: OffsetDateTime) -> Self {
        RequestExpectations {
            sp_entity_id: None,
            idp_sso_url: idp_sso_url.to_string(),
            acs_urls: Vec::new(),
            now,
            max_age_secs: 300,
            require_signed: false,
        }
    }
}

/// The outcome of one check of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestFinding {
    /// Stable id suffix: `version`, `id`, `issue-instant`, `destination`, `issuer`, `acs`,
    /// `name-id-policy`, `signature`, `force-authn`, `is-passive`.
    pub check: &'static str,
    pub ok: bool,
    pub severity: Severity,
    pub expected: String,
    pub actual: String,
    pub rule: &'static str,
    pub reference: &'static str,
}

/// Every check id [`check`] reports, in order.
pub const CHECKS: [&str; 10] = [
    "version",
    "id",
    "issue-instant",
    "destination",
    "issuer",
    "acs",
    "name-id-policy",
    "signature",
    "force-authn",
    "is-passive",
];

fn show(v: &Option<String>) -> String {
    match v {
        Some(s) => format!("{s:?}"),
        None => "absent".into(),
    }
}

/// Checks a request: one finding per entry of [`CHECKS`], passing or not.
pub fn check(req: &AuthnRequest, exp: &RequestExpectations) -> Vec<RequestFinding> {
    vec![
        check_version(req),
        check_id(req),
        check_issue_instant(req, exp),
        check_destination(req, exp),
        check_issuer(req, exp),
        check_acs(req, exp),
        check_name_id_policy(req),
        check_signature(req, exp),
        RequestFinding {
            check: "force-authn",
            ok: true,
            severity: Severity::Advisory,
            expected: "informational".into(),
            actual: if req.force_authn {
                "ForceAuthn=true: the SP asks the IdP to authenticate the user again".into()
            } else {
                "ForceAuthn not requested".into()
            },
            rule: "ForceAuthn asks the IdP to re-authenticate the user instead of reusing a session",
            reference: "SAML core §3.4.1",
        },
        RequestFinding {
            check: "is-passive",
            ok: true,
            severity: Severity::Advisory,
            expected: "informational".into(),
            actual: if req.is_passive {
                "IsPassive=true: the IdP must not interact with the user, and answers NoPassive when it cannot log in silently".into()
            } else {
                "IsPassive not requested".into()
            },
            rule: "IsPassive forbids the IdP from taking visible control of the user agent",
            reference: "SAML core §3.4.1",
        },
    ]
}

fn check_version(req: &AuthnRequest) -> RequestFinding {
    RequestFinding {
        check: "version",
        ok: req.version.as_deref() == Some("2.0"),
        severity: Severity::Required,
        expected: "\"2.0\"".into(),
        actual: show(&req.version),
        rule: "Version must be 2.0",
        reference: "SAML core §3.2.1",
    }
}

/// xs:ID is an NCName: a letter or `_` first, then letters, digits, `.`, `-`, `_` (and
/// non-ASCII name characters, approximated here as any non-ASCII letter or mark).
pub fn is_xs_id(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let first_ok = first == '_' || first.is_alphabetic();
    first_ok
        && chars.all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '.' | '-' | '_')
                || (!c.is_ascii() && !c.is_whitespace() && !c.is_control())
        })
}

fn check_id(req: &AuthnRequest) -> RequestFinding {
    let (ok, actual) = match &req.id {
        None => (false, "absent".to_string()),
        Some(id) if id.chars().next().is_some_and(|c| c.is_ascii_digit()) => (
            false,
            format!("{id:?} starts with a digit, which xs:ID forbids"),
        ),
        Some(id) if !is_xs_id(id) => (false, format!("{id:?} is not an xs:ID (NCName)")),
        Some(id) => (true, format!("{id:?}")),
    };
    RequestFinding {
        check: "id",
        ok,
        severity: Severity::Required,
        expected: "an xs:ID: starts with a letter or '_', then letters, digits, '.', '-', '_'"
            .into(),
        actual,
        rule: "ID is required and must be an xs:ID; XML-DSig implementations refuse to reference other values",
        reference: "SAML core §1.3.4, §3.2.1",
    }
}

/// Parses an xs:dateTime. Returns the instant and whether it was written in UTC
/// (`Z`, or no zone at all, which SAML core §1.3.3 means as UTC).
fn parse_instant(s: &str) -> Option<(OffsetDateTime, bool)> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        let utc = s.ends_with('Z') || s.ends_with('z');
        return Some((t, utc));
    }
    let naive = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]"
    );
    PrimitiveDateTime::parse(s, naive)
        .ok()
        .map(|t| (t.assume_utc(), true))
}

fn check_issue_instant(req: &AuthnRequest, exp: &RequestExpectations) -> RequestFinding {
    let expected = format!(
        "a UTC xs:dateTime no more than {} s before and {} s after {}",
        exp.max_age_secs,
        MAX_FUTURE_SKEW_SECS,
        super::response::saml_timestamp(exp.now)
    );
    let mut severity = Severity::Required;
    let (ok, actual) = match &req.issue_instant {
        None => (false, "absent".to_string()),
        Some(raw) => match parse_instant(raw.trim()) {
            None => (false, format!("{raw:?} is not an xs:dateTime")),
            Some((t, utc)) => {
                let age = (exp.now - t).whole_seconds();
                if age > exp.max_age_secs {
                    (false, format!("{raw:?} is {age} s old"))
                } else if -age > MAX_FUTURE_SKEW_SECS {
                    (false, format!("{raw:?} is {} s in the future", -age))
                } else if !utc {
                    severity = Severity::Recommended;
                    (
                        false,
                        format!("{raw:?} has a time zone offset; SAML times must be UTC ('Z')"),
                    )
                } else {
                    (true, format!("{raw:?} ({age} s old)"))
                }
            }
        },
    };
    RequestFinding {
        check: "issue-instant",
        ok,
        severity,
        expected,
        actual,
        rule: "IssueInstant is required, in UTC, and recent: a stale or future request is replayed or from a wrong clock",
        reference: "SAML core §1.3.3, §3.2.1",
    }
}

fn check_destination(req: &AuthnRequest, exp: &RequestExpectations) -> RequestFinding {
    let signed = req.signature != RequestSignature::Unsigned;
    let (ok, severity, actual) = match &req.destination {
        Some(d) if *d == exp.idp_sso_url => (true, Severity::Required, format!("{d:?}")),
        Some(d) => (
            false,
            Severity::Required,
            format!("{d:?} (compared exactly, as IdPs do)"),
        ),
        None if signed => (
            false,
            Severity::Required,
            "absent, although the request is signed".to_string(),
        ),
        None => (
            true,
            Severity::Recommended,
            "absent (allowed for unsigned requests)".to_string(),
        ),
    };
    RequestFinding {
        check: "destination",
        ok,
        severity,
        expected: format!(
            "{:?} (required when the request is signed)",
            exp.idp_sso_url
        ),
        actual,
        rule: "Destination, when present, must be the URL the request was sent to; a signed request must carry it",
        reference: "SAML core §3.2.1; bindings §3.4.5.2, §3.5.5.2",
    }
}

fn check_issuer(req: &AuthnRequest, exp: &RequestExpectations) -> RequestFinding {
    let (ok, expected, actual) = match (&req.issuer, &exp.sp_entity_id) {
        (None, e) => (
            false,
            e.as_ref()
                .map_or("the SP's entity ID".to_string(), |e| format!("{e:?}")),
            "absent".to_string(),
        ),
        (Some(i), _) if i.is_empty() => {
            (false, "the SP's entity ID".to_string(), "empty".to_string())
        }
        (Some(i), Some(e)) => (i == e, format!("{e:?}"), format!("{i:?}")),
        (Some(i), None) => (
            true,
            "the SP's entity ID (none configured: any)".to_string(),
            format!("{i:?}"),
        ),
    };
    RequestFinding {
        check: "issuer",
        ok,
        severity: Severity::Required,
        expected,
        actual,
        rule: "Issuer must be present and be the SP's entity ID",
        reference: "SAML profiles §4.1.4.1",
    }
}

fn check_acs(req: &AuthnRequest, exp: &RequestExpectations) -> RequestFinding {
    let mut problems: Vec<(Severity, String)> = Vec::new();
    if let Some(b) = &req.protocol_binding
        && b != BINDING_POST
    {
        problems.push((
            Severity::Required,
            format!("ProtocolBinding {b:?}: the IdP answers with HTTP-POST only"),
        ));
    }
    let mut notes = Vec::new();
    match (&req.acs_url, &req.acs_index) {
        (Some(_), Some(_)) => problems.push((
            Severity::Recommended,
            "both AssertionConsumerServiceURL and AssertionConsumerServiceIndex: they are mutually exclusive".into(),
        )),
        (Some(u), None) if exp.acs_urls.is_empty() => {
            notes.push(format!("URL {u:?} (no registered ACS URLs to compare with)"));
        }
        (Some(u), None) if exp.acs_urls.contains(u) => notes.push(format!("URL {u:?}")),
        (Some(u), None) => problems.push((
            Severity::Required,
            format!("URL {u:?} is not a registered ACS URL: an IdP must not send assertions there"),
        )),
        (None, Some(i)) => notes.push(format!("index {i:?} (resolved from SP metadata)")),
        (None, None) => notes.push("neither URL nor index: the default ACS from metadata".into()),
    }
    let ok = problems.is_empty();
    let severity = problems
        .iter()
        .map(|(s, _)| *s)
        .max()
        .unwrap_or(Severity::Required);
    let actual = if ok {
        notes.join("; ")
    } else {
        problems
            .into_iter()
            .map(|(_, p)| p)
            .collect::<Vec<_>>()
            .join("; ")
    };
    let expected = if exp.acs_urls.is_empty() {
        "an AssertionConsumerServiceURL or Index, or neither (default ACS); HTTP-POST".to_string()
    } else {
        format!(
            "AssertionConsumerServiceURL one of {:?} (or an Index, or neither); HTTP-POST",
            exp.acs_urls
        )
    };
    RequestFinding {
        check: "acs",
        ok,
        severity,
        expected,
        actual,
        rule: "The ACS URL must be one the SP registered; URL and Index are mutually exclusive",
        reference: "SAML core §3.4.1; profiles §4.1.4.1",
    }
}

/// NameID format URIs defined by SAML core §8.3.
const KNOWN_NAME_ID_FORMATS: &[&str] = &[
    "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
    "urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:entity",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:encrypted",
];

fn check_name_id_policy(req: &AuthnRequest) -> RequestFinding {
    let allow = match req.allow_create {
        Some(b) => format!(", AllowCreate={b}"),
        None => String::new(),
    };
    let (ok, actual) = match &req.name_id_policy_format {
        None => (true, format!("no Format requested{allow}")),
        Some(f) if NameIdFormat::from_uri(f).is_some() => (true, format!("{f:?}{allow}")),
        Some(f) if KNOWN_NAME_ID_FORMATS.contains(&f.as_str()) => (
            true,
            format!(
                "{f:?}{allow} (a SAML format the test IdP does not issue: it answers with emailAddress, unspecified or persistent)"
            ),
        ),
        Some(f) => (
            false,
            format!("{f:?}{allow} is not a SAML NameID format; IdPs answer InvalidNameIDPolicy"),
        ),
    };
    RequestFinding {
        check: "name-id-policy",
        ok,
        severity: Severity::Recommended,
        expected: "absent, or a NameID format URI from SAML core §8.3".into(),
        actual,
        rule: "NameIDPolicy Format names the identifier the SP wants; an unknown format makes the IdP fail the request",
        reference: "SAML core §3.4.1.1, §8.3",
    }
}

fn check_signature(req: &AuthnRequest, exp: &RequestExpectations) -> RequestFinding {
    let sha1 = SignatureAlgorithm::RsaSha1.uri();
    let (ok, severity, actual) = match &req.signature {
        RequestSignature::Valid { alg } if alg == sha1 => (
            false,
            Severity::Recommended,
            format!("valid, but with {alg} (SHA-1 is deprecated)"),
        ),
        RequestSignature::Valid { alg } => (true, Severity::Required, format!("valid ({alg})")),
        RequestSignature::Invalid(why) => {
            (false, Severity::Required, format!("does not verify: {why}"))
        }
        RequestSignature::UnknownKey if exp.require_signed => (
            false,
            Severity::Required,
            "signed, but there is no SP signing certificate to verify it with".into(),
        ),
        RequestSignature::UnknownKey => (
            true,
            Severity::Advisory,
            "signed, not verified (no SP signing certificate)".into(),
        ),
        RequestSignature::Unsigned if exp.require_signed => {
            (false, Severity::Required, "unsigned".into())
        }
        RequestSignature::Unsigned => (true, Severity::Required, "unsigned (not required)".into()),
    };
    let expected = if exp.require_signed {
        "a signature that verifies with the SP's signing certificate"
    } else {
        "no signature, or one that verifies"
    };
    RequestFinding {
        check: "signature",
        ok,
        severity,
        expected: expected.into(),
        actual,
        rule: "A signed request must verify with the SP's registered key; an SP declaring AuthnRequestsSigned must sign",
        reference: "SAML bindings §3.4.4.1, §3.5.4; metadata §2.4.4",
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use flate2::Compression;
    use flate2::write::DeflateEncoder;
    use rand::{Rng as _, SeedableRng as _};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::saml::dsig::{SignOptions, sign_enveloped, sign_redirect_query};
    use crate::saml::idp::tests::{ec_idp, rsa_idp};

    const SSO: &str = "https://idp.oinspect.test/sso";
    const SP: &str = "https://sp.example.com";
    const ACS: &str = "https://sp.example.com/acs";
    const NOW: i64 = 1_714_564_800; // 2024-05-01T12:00:00Z

    fn request_xml(extra_attrs: &str) -> String {
        format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_req-1" Version="2.0" IssueInstant="2024-05-01T11:59:50Z" Destination="{SSO}" AssertionConsumerServiceURL="{ACS}" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"{extra_attrs}>
  <saml:Issuer> {SP} </saml:Issuer>
  <samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>
</samlp:AuthnRequest>"#
        )
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn enc(s: &str) -> String {
        url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
    }

    fn redirect_url(query: &str) -> url::Url {
        url::Url::parse(&format!("{SSO}?{query}")).unwrap()
    }

    fn deflated_b64(xml: &str) -> String {
        STANDARD.encode(deflate(xml.as_bytes()))
    }

    fn expectations() -> RequestExpectations {
        RequestExpectations {
            sp_entity_id: Some(SP.into()),
            idp_sso_url: SSO.into(),
            acs_urls: vec![ACS.into()],
            now: OffsetDateTime::from_unix_timestamp(NOW).unwrap(),
            max_age_secs: 300,
            require_signed: false,
        }
    }

    #[test]
    fn redirect_decodes_a_real_deflated_request() {
        let xml = request_xml(r#" ForceAuthn="1" IsPassive="false""#);
        let url = redirect_url(&format!(
            "SAMLRequest={}&RelayState={}&other=x",
            enc(&deflated_b64(&xml)),
            enc("state/with?chars&=")
        ));
        let r = decode_redirect(&url, &[]).unwrap();
        assert_eq!(r.binding, Binding::Redirect);
        assert_eq!(r.xml, xml);
        assert_eq!(r.id.as_deref(), Some("_req-1"));
        assert_eq!(r.version.as_deref(), Some("2.0"));
        assert_eq!(r.issue_instant.as_deref(), Some("2024-05-01T11:59:50Z"));
        assert_eq!(r.destination.as_deref(), Some(SSO));
        assert_eq!(r.issuer.as_deref(), Some(SP));
        assert_eq!(r.acs_url.as_deref(), Some(ACS));
        assert_eq!(r.acs_index, None);
        assert_eq!(r.protocol_binding.as_deref(), Some(BINDING_POST));
        assert_eq!(
            r.name_id_policy_format.as_deref(),
            Some(NameIdFormat::EmailAddress.uri())
        );
        assert_eq!(r.allow_create, Some(true));
        assert!(r.force_authn);
        assert!(!r.is_passive);
        assert_eq!(r.relay_state.as_deref(), Some("state/with?chars&="));
        assert_eq!(r.signature, RequestSignature::Unsigned);
        let findings = check(&r, &expectations());
        assert!(findings.iter().all(|f| f.ok), "{findings:#?}");
    }

    #[test]
    fn redirect_tolerates_sloppy_base64() {
        let xml = request_xml("");
        let b64 = deflated_b64(&xml);
        // Unencoded '+' (becomes a space), no padding, line breaks, URL-safe alphabet.
        let sloppy = b64.trim_end_matches('=').to_string();
        let url = redirect_url(&format!("SAMLRequest={}", sloppy.replace('/', "%2F")));
        assert_eq!(decode_redirect(&url, &[]).unwrap().xml, xml);
        let urlsafe = b64.replace('+', "-").replace('/', "_");
        let url = redirect_url(&format!("SAMLRequest={}", enc(&urlsafe)));
        assert_eq!(decode_redirect(&url, &[]).unwrap().xml, xml);
        let wrapped: String = b64
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect::<Vec<_>>()
            .join("\r\n");
        let url = redirect_url(&format!("SAMLRequest={}", enc(&wrapped)));
        assert_eq!(decode_redirect(&url, &[]).unwrap().xml, xml);
    }

    #[test]
    fn redirect_signatures() {
        let xml = request_xml("");
        let b64 = deflated_b64(&xml);
        for (kp, alg) in [
            (rsa_idp(), SignatureAlgorithm::RsaSha256),
            (rsa_idp(), SignatureAlgorithm::RsaSha1),
            (ec_idp(), SignatureAlgorithm::EcdsaSha256),
        ] {
            let q =
                sign_redirect_query(&[("SAMLRequest", &b64), ("RelayState", "rs")], &kp.key, alg)
                    .unwrap();
            let url = redirect_url(&q);
            let trusted = [rsa_idp().cert.clone(), ec_idp().cert.clone()];
            let r = decode_redirect(&url, &trusted).unwrap();
            assert_eq!(
                r.signature,
                RequestSignature::Valid {
                    alg: alg.uri().into()
                }
            );
            assert_eq!(r.relay_state.as_deref(), Some("rs"));
            // No certificate: UnknownKey.
            assert_eq!(
                decode_redirect(&url, &[]).unwrap().signature,
                RequestSignature::UnknownKey
            );
            // Wrong certificate.
            let other = if std::ptr::eq(kp, rsa_idp()) {
                ec_idp()
            } else {
                rsa_idp()
            };
            let r = decode_redirect(&url, std::slice::from_ref(&other.cert)).unwrap();
            assert!(matches!(r.signature, RequestSignature::Invalid(_)), "{r:?}");
            // RelayState tampered after signing.
            let tampered = redirect_url(&q.replace("RelayState=rs", "RelayState=evil"));
            let r = decode_redirect(&tampered, &trusted).unwrap();
            assert!(matches!(r.signature, RequestSignature::Invalid(_)));
            let mut e = expectations();
            e.require_signed = true;
            let f = check(&r, &e);
            let sig = f.iter().find(|f| f.check == "signature").unwrap();
            assert!(!sig.ok && sig.severity == Severity::Required);
        }
        // Half a signature.
        let url = redirect_url(&format!(
            "SAMLRequest={}&SigAlg={}",
            enc(&b64),
            enc(SignatureAlgorithm::RsaSha256.uri())
        ));
        assert!(matches!(
            decode_redirect(&url, std::slice::from_ref(&rsa_idp().cert)).unwrap().signature,
            RequestSignature::Invalid(m) if m.contains("Signature is missing")
        ));
        let url = redirect_url(&format!("SAMLRequest={}&Signature=AAAA", enc(&b64)));
        assert!(matches!(
            decode_redirect(&url, &[]).unwrap().signature,
            RequestSignature::Invalid(m) if m.contains("SigAlg is missing")
        ));
    }

    #[test]
    fn redirect_with_embedded_xml_signature_is_verified() {
        let kp = rsa_idp();
        let mut doc = Document::parse(&request_xml("")).unwrap();
        sign_enveloped(
            &mut doc,
            "_req-1",
            &kp.key,
            &kp.cert,
            &SignOptions::default(),
        )
        .unwrap();
        let url = redirect_url(&format!(
            "SAMLRequest={}",
            enc(&deflated_b64(&doc.to_xml()))
        ));
        assert!(matches!(
            decode_redirect(&url, std::slice::from_ref(&kp.cert))
                .unwrap()
                .signature,
            RequestSignature::Valid { .. }
        ));
    }

    #[test]
    fn deflate_bomb_is_refused_fast_and_bounded() {
        // 64 MiB of zeros deflates to ~64 KiB; stop at the cap without inflating the rest.
        let bomb = {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::best());
            let chunk = vec![b'<'; 1 << 20];
            for _ in 0..64 {
                e.write_all(&chunk).unwrap();
            }
            e.finish().unwrap()
        };
        assert!(bomb.len() < 128 * 1024, "{}", bomb.len());
        let url = redirect_url(&format!("SAMLRequest={}", enc(&STANDARD.encode(&bomb))));
        let start = std::time::Instant::now();
        let err = decode_redirect(&url, &[]).unwrap_err();
        assert!(
            matches!(
                err,
                RequestError::TooLarge {
                    limit: MAX_REQUEST_BYTES,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        // Exactly at the cap is accepted by the inflater (then fails as XML, not as size).
        let at_cap = deflate(&vec![b' '; MAX_REQUEST_BYTES]);
        assert_eq!(
            inflate_bounded(&at_cap, MAX_REQUEST_BYTES).unwrap().len(),
            MAX_REQUEST_BYTES
        );
        assert!(matches!(
            inflate_bounded(
                &deflate(&vec![b' '; MAX_REQUEST_BYTES + 1]),
                MAX_REQUEST_BYTES
            ),
            Err(RequestError::TooLarge { .. })
        ));
        // An over-long parameter is refused before decoding.
        let long = "A".repeat(MAX_ENCODED_BYTES + 1);
        assert!(matches!(
            decode_redirect(&redirect_url(&format!("SAMLRequest={long}")), &[]),
            Err(RequestError::TooLarge { .. })
        ));
        assert!(matches!(
            decode_post(&long, None, &[]),
            Err(RequestError::TooLarge { .. })
        ));
    }

    #[test]
    fn redirect_encoding_mistakes_are_explained() {
        let xml = request_xml("");
        // Uncompressed XML (the POST encoding) on the Redirect binding.
        let url = redirect_url(&format!("SAMLRequest={}", enc(&STANDARD.encode(&xml))));
        let err = decode_redirect(&url, &[]).unwrap_err();
        assert!(err.to_string().contains("uncompressed XML"), "{err}");
        // zlib-wrapped.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(xml.as_bytes()).unwrap();
        let url = redirect_url(&format!(
            "SAMLRequest={}",
            enc(&STANDARD.encode(z.finish().unwrap()))
        ));
        let e = decode_redirect(&url, &[]).unwrap_err();
        assert!(
            matches!(e, RequestError::Inflate { .. }) && e.to_string().contains("zlib"),
            "{e}"
        );
        // gzip.
        let mut g = flate2::write::GzEncoder::new(Vec::new(), Compression::default());
        g.write_all(xml.as_bytes()).unwrap();
        let url = redirect_url(&format!(
            "SAMLRequest={}",
            enc(&STANDARD.encode(g.finish().unwrap()))
        ));
        let e = decode_redirect(&url, &[]).unwrap_err();
        assert!(e.to_string().contains("gzip"), "{e}");
        // Deflated on the POST binding.
        let e = decode_post(&deflated_b64(&xml), None, &[]).unwrap_err();
        assert!(e.to_string().contains("compressed"), "{e}");
    }

    #[test]
    fn redirect_parameter_errors() {
        let b64 = deflated_b64(&request_xml(""));
        let e = decode_redirect(&redirect_url("RelayState=x"), &[]).unwrap_err();
        assert!(matches!(
            e,
            RequestError::MissingParameter {
                name: "SAMLRequest",
                ..
            }
        ));
        let e = decode_redirect(&url::Url::parse(SSO).unwrap(), &[]).unwrap_err();
        assert!(matches!(e, RequestError::MissingParameter { .. }));
        let e = decode_redirect(
            &redirect_url(&format!("SAMLRequest={b64}&SAMLRequest={b64}")),
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(e, RequestError::DuplicateParameter { ref name, count: 2 } if name == "SAMLRequest")
        );
        let e = decode_redirect(
            &redirect_url(&format!(
                "SAMLRequest={}&RelayState=a&RelayState=b",
                enc(&b64)
            )),
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, RequestError::DuplicateParameter { .. }));
        let e = decode_redirect(&redirect_url("SAMLRequest=%%%%"), &[]).unwrap_err();
        assert!(
            matches!(
                e,
                RequestError::Base64 { .. } | RequestError::Inflate { .. }
            ),
            "{e:?}"
        );
        let e = decode_redirect(&redirect_url("SAMLRequest="), &[]).unwrap_err();
        assert!(matches!(e, RequestError::Inflate { .. }), "{e:?}");
    }

    #[test]
    fn non_requests_and_hostile_xml_are_refused() {
        let resp = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r" Version="2.0"/>"#;
        let e = decode_post(&STANDARD.encode(resp), None, &[]).unwrap_err();
        assert!(
            matches!(&e, RequestError::NotAuthnRequest { found } if found.contains("samlp:Response"))
        );
        let e = decode_post(&STANDARD.encode("<AuthnRequest/>"), None, &[]).unwrap_err();
        assert!(e.to_string().contains("no namespace"));
        let dtd = format!("<!DOCTYPE x [<!ENTITY a \"aaaa\">]>{}", request_xml(""));
        let e = decode_post(&STANDARD.encode(&dtd), None, &[]).unwrap_err();
        assert!(matches!(e, RequestError::Xml(XmlError::Doctype { .. })));
        let url = redirect_url(&format!("SAMLRequest={}", enc(&deflated_b64(&dtd))));
        assert!(matches!(
            decode_redirect(&url, &[]),
            Err(RequestError::Xml(XmlError::Doctype { .. }))
        ));
        let e = decode_post(&STANDARD.encode([0xff, 0xfe, 0x00]), None, &[]).unwrap_err();
        assert!(matches!(e, RequestError::NotUtf8 { valid_up_to: 0, .. }));
    }

    #[test]
    fn request_parse_limits_are_tight() {
        // Deeper than any AuthnRequest: refused before any ID lookup can copy paths.
        let deep = request_xml("").replacen(
            "<samlp:NameIDPolicy",
            &format!(
                "{}{}<samlp:NameIDPolicy",
                "<x>".repeat(40),
                "</x>".repeat(40)
            ),
            1,
        );
        assert!(matches!(
            decode_post(&STANDARD.encode(&deep), None, &[]),
            Err(RequestError::Xml(XmlError::TooDeep { limit: 32, .. }))
        ));
        let wide = request_xml("").replacen(
            "<samlp:NameIDPolicy",
            &format!(
                "<samlp:Extensions>{}</samlp:Extensions><samlp:NameIDPolicy",
                "<x/>".repeat(20_000)
            ),
            1,
        );
        assert!(matches!(
            decode_post(&STANDARD.encode(&wide), None, &[]),
            Err(RequestError::Xml(XmlError::TooManyElements { .. }))
        ));
    }

    #[test]
    fn post_decodes_and_verifies() {
        let xml = request_xml("");
        let r = decode_post(&STANDARD.encode(&xml), Some("rs"), &[]).unwrap();
        assert_eq!(r.binding, Binding::Post);
        assert_eq!(r.xml, xml);
        assert_eq!(r.relay_state.as_deref(), Some("rs"));
        assert_eq!(r.signature, RequestSignature::Unsigned);

        for (kp, alg) in [
            (rsa_idp(), SignatureAlgorithm::RsaSha256),
            (ec_idp(), SignatureAlgorithm::EcdsaSha256),
        ] {
            let mut doc = Document::parse(&xml).unwrap();
            let opts = SignOptions {
                alg,
                ..SignOptions::default()
            };
            sign_enveloped(&mut doc, "_req-1", &kp.key, &kp.cert, &opts).unwrap();
            let signed = doc.to_xml();
            let trusted = std::slice::from_ref(&kp.cert);
            let r = decode_post(&STANDARD.encode(&signed), None, trusted).unwrap();
            assert_eq!(
                r.signature,
                RequestSignature::Valid {
                    alg: alg.uri().into()
                }
            );
            assert_eq!(
                decode_post(&STANDARD.encode(&signed), None, &[])
                    .unwrap()
                    .signature,
                RequestSignature::UnknownKey
            );
            let tampered = signed.replace(ACS, "https://evil.example/acs");
            let r = decode_post(&STANDARD.encode(&tampered), None, trusted).unwrap();
            assert!(
                matches!(&r.signature, RequestSignature::Invalid(m) if m.contains("digest")),
                "{r:?}"
            );
            // A second signature somewhere else is refused.
            let doubled = signed.replacen(
                "<samlp:NameIDPolicy",
                "<samlp:Extensions><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/></samlp:Extensions><samlp:NameIDPolicy",
                1,
            );
            let r = decode_post(&STANDARD.encode(&doubled), None, trusted).unwrap();
            assert!(
                matches!(&r.signature, RequestSignature::Invalid(m) if m.contains("exactly one")),
                "{r:?}"
            );
        }
        // A signature with no ID to reference.
        let xml_no_id = request_xml("").replace(" ID=\"_req-1\"", "");
        let with_sig = xml_no_id.replacen(
            "<samlp:NameIDPolicy",
            &format!("<ds:Signature xmlns:ds=\"{DSIG_NS}\"/><samlp:NameIDPolicy"),
            1,
        );
        let r = decode_post(
            &STANDARD.encode(&with_sig),
            None,
            std::slice::from_ref(&rsa_idp().cert),
        )
        .unwrap();
        assert!(matches!(&r.signature, RequestSignature::Invalid(m) if m.contains("no ID")));
    }

    fn finding<'a>(f: &'a [RequestFinding], id: &str) -> &'a RequestFinding {
        f.iter().find(|f| f.check == id).unwrap()
    }

    fn base_request() -> AuthnRequest {
        decode_post(&STANDARD.encode(request_xml("")), None, &[]).unwrap()
    }

    #[test]
    fn checks_pass_on_a_good_request_and_cover_every_id() {
        let f = check(&base_request(), &expectations());
        let ids: Vec<&str> = f.iter().map(|f| f.check).collect();
        assert_eq!(ids, CHECKS);
        for x in &f {
            assert!(x.ok, "{x:?}");
            assert!(!x.reference.is_empty() && !x.rule.is_empty());
        }
        assert_eq!(finding(&f, "force-authn").severity, Severity::Advisory);
    }

    #[test]
    fn each_check_fails() {
        let exp = expectations();
        let fails = |req: &AuthnRequest, exp: &RequestExpectations, id: &str| {
            let f = check(req, exp);
            let x = finding(&f, id).clone();
            assert!(!x.ok, "{id} passed: {x:?}");
            // Only the mutated check fails.
            for other in f.iter().filter(|o| o.check != id) {
                assert!(other.ok, "{id}: unexpected failure of {other:?}");
            }
            x
        };
        let mut r = base_request();
        r.version = Some("1.1".into());
        fails(&r, &exp, "version");
        r.version = None;
        fails(&r, &exp, "version");

        let mut r = base_request();
        r.id = Some("123abc".into());
        assert!(fails(&r, &exp, "id").actual.contains("digit"));
        r.id = Some("a b".into());
        fails(&r, &exp, "id");
        r.id = Some(String::new());
        fails(&r, &exp, "id");
        r.id = None;
        fails(&r, &exp, "id");

        let mut r = base_request();
        r.issue_instant = Some("2024-05-01T11:54:00Z".into()); // 6 minutes old
        assert!(
            fails(&r, &exp, "issue-instant")
                .actual
                .contains("360 s old")
        );
        r.issue_instant = Some("2024-05-01T12:01:01Z".into()); // 61 s ahead
        assert!(fails(&r, &exp, "issue-instant").actual.contains("future"));
        r.issue_instant = Some("yesterday".into());
        fails(&r, &exp, "issue-instant");
        r.issue_instant = None;
        fails(&r, &exp, "issue-instant");
        r.issue_instant = Some("2024-05-01T13:59:50+02:00".into());
        assert_eq!(
            fails(&r, &exp, "issue-instant").severity,
            Severity::Recommended
        );

        let mut r = base_request();
        r.destination = Some(format!("{SSO}/"));
        fails(&r, &exp, "destination");
        let mut r = base_request();
        r.destination = None;
        r.signature = RequestSignature::UnknownKey;
        fails(&r, &exp, "destination");

        let mut r = base_request();
        r.issuer = Some("https://other.example".into());
        fails(&r, &exp, "issuer");
        r.issuer = None;
        fails(&r, &exp, "issuer");
        r.issuer = Some(String::new());
        fails(&r, &exp, "issuer");

        let mut r = base_request();
        r.acs_url = Some("https://evil.example/acs".into());
        assert_eq!(fails(&r, &exp, "acs").severity, Severity::Required);
        let mut r = base_request();
        r.acs_index = Some("0".into());
        assert_eq!(fails(&r, &exp, "acs").severity, Severity::Recommended);
        let mut r = base_request();
        r.protocol_binding = Some("urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact".into());
        fails(&r, &exp, "acs");

        let mut r = base_request();
        r.name_id_policy_format = Some("email".into());
        fails(&r, &exp, "name-id-policy");

        let mut r = base_request();
        r.signature = RequestSignature::Invalid("bad".into());
        fails(&r, &exp, "signature");
        let mut r = base_request();
        r.signature = RequestSignature::Valid {
            alg: SignatureAlgorithm::RsaSha1.uri().into(),
        };
        assert_eq!(fails(&r, &exp, "signature").severity, Severity::Recommended);
        let mut req_signed = exp.clone();
        req_signed.require_signed = true;
        fails(&base_request(), &req_signed, "signature");
    }

    #[test]
    fn lenient_passes() {
        let exp = expectations();
        let mut r = base_request();
        r.destination = None; // unsigned: optional
        r.acs_url = None;
        r.acs_index = Some("1".into());
        r.protocol_binding = None;
        r.name_id_policy_format =
            Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient".into());
        r.issue_instant = Some("2024-05-01T11:59:50.123".into()); // no zone: UTC
        r.force_authn = true;
        r.is_passive = true;
        r.signature = RequestSignature::UnknownKey;
        r.destination = Some(SSO.into());
        let mut e = exp.clone();
        e.sp_entity_id = None;
        e.acs_urls.clear();
        let f = check(&r, &e);
        assert!(f.iter().all(|x| x.ok), "{f:#?}");
        assert!(
            finding(&f, "name-id-policy")
                .actual
                .contains("does not issue")
        );
        assert!(finding(&f, "is-passive").actual.contains("NoPassive"));
        r.issue_instant = Some("2024-05-01T12:00:59.999Z".into());
        assert!(finding(&check(&r, &e), "issue-instant").ok);
    }

    #[test]
    fn xs_id() {
        for ok in ["_a", "a", "a1.-_", "é1", "_0123"] {
            assert!(is_xs_id(ok), "{ok}");
        }
        for bad in ["", "1a", "-a", ".a", "a b", "a:b", "a/b", "a\u{0}"] {
            assert!(!is_xs_id(bad), "{bad}");
        }
    }

    #[test]
    fn post_form_scraping() {
        let html = r#"<!DOCTYPE html><HTML><body onload="document.forms[0].submit()">
<!-- <form action="https://commented.example/"><input type="hidden" name="SAMLRequest" value="no"></form> -->
<script>var s = '<form action="https://script.example/">';</script>
<form id=search action="/search"><input type="text" name="q"></form>
<FORM METHOD="POST" ACTION='https://idp.example/sso?a=1&amp;b=2'>
  <INPUT TYPE="HIDDEN" NAME="SAMLRequest" VALUE="PHNhbWxwOkF1dGhuUmVxdWVzdC8+"/>
  <input type=hidden name=RelayState value=abc&#x2F;def&#47;&bogus;&amp>
  <input type="submit" value="Continue">
  <input type="hidden" name="empty">
</FORM></body></HTML>"#;
        let (action, inputs) = find_post_form(html).unwrap();
        assert_eq!(action, "https://idp.example/sso?a=1&b=2");
        assert_eq!(
            inputs,
            [
                (
                    "SAMLRequest".to_string(),
                    "PHNhbWxwOkF1dGhuUmVxdWVzdC8+".to_string()
                ),
                ("RelayState".to_string(), "abc/def/&bogus;&amp".to_string()),
                ("empty".to_string(), String::new()),
            ]
        );
        // No SAML form: the first form.
        let (action, inputs) =
            find_post_form("<form action=x><input type=hidden name=a value=1></form>").unwrap();
        assert_eq!((action.as_str(), inputs.len()), ("x", 1));
        assert_eq!(find_post_form("<p>no form</p>"), None);
        assert_eq!(find_post_form(""), None);
        // Unterminated everything.
        let (a, i) = find_post_form("<form action=\"https://x/<input name=SAMLRequest").unwrap();
        assert_eq!(a, "https://x/<input name=SAMLRequest");
        assert!(i.is_empty());
        assert!(find_post_form("<form").is_some());
        assert!(find_post_form("<!--").is_none());
        assert!(find_post_form("<script>").is_none());
        // Inputs outside any form are ignored.
        let (_, i) =
            find_post_form("<input type=hidden name=SAMLRequest value=1><form></form>").unwrap();
        assert!(i.is_empty());
    }

    #[test]
    fn post_form_scraping_is_bounded() {
        // Many forms and inputs, and a page larger than the scan limit.
        let mut html = String::new();
        for i in 0..200 {
            html.push_str(&format!("<form action=\"/{i}\">"));
            for j in 0..300 {
                html.push_str(&format!("<input type=hidden name=n{j} value=v>"));
            }
            html.push_str("</form>");
        }
        let (action, inputs) = find_post_form(&html).unwrap();
        assert_eq!(action, "/0");
        assert_eq!(inputs.len(), MAX_INPUTS);
        let mut big = "é".repeat(MAX_HTML_BYTES); // multi-byte at the cut
        big.push_str("<form action=late><input type=hidden name=SAMLRequest value=x></form>");
        assert_eq!(find_post_form(&big), None);
        let start = std::time::Instant::now();
        let many_lt = "<".repeat(MAX_HTML_BYTES);
        assert_eq!(find_post_form(&many_lt), None);
        let many_amp = format!("<form action=\"{}\">", "&".repeat(100_000));
        assert_eq!(find_post_form(&many_amp).unwrap().0.len(), 100_000);
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn hostile_inputs_never_panic() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let seed = request_xml(r#" ForceAuthn="true""#);
        let html = r#"<form action="a&amp;b"><input type="hidden" name="SAMLRequest" value="x&#x41;"></form>"#;
        for _ in 0..400 {
            // Random bytes, and random mutations of valid inputs.
            let len = rng.random_range(0..200);
            let random: Vec<u8> = (0..len).map(|_| rng.random()).collect();
            let mut mutated = seed.clone().into_bytes();
            for _ in 0..rng.random_range(1..8) {
                let i = rng.random_range(0..mutated.len());
                mutated[i] = rng.random();
            }
            let mut h = html.as_bytes().to_vec();
            let cut = rng.random_range(0..h.len());
            h.truncate(cut);
            for input in [&random, &mutated, &h] {
                let b64 = STANDARD.encode(input);
                let _ = decode_post(&b64, None, std::slice::from_ref(&rsa_idp().cert));
                let _ = decode_post(&String::from_utf8_lossy(input), Some("r"), &[]);
                let url = redirect_url(&format!(
                    "SAMLRequest={}",
                    enc(&STANDARD.encode(deflate(input)))
                ));
                let _ = decode_redirect(&url, &[]);
                let url = redirect_url(&format!("SAMLRequest={}", enc(&b64)));
                let _ = decode_redirect(&url, &[]);
                let s = String::from_utf8_lossy(input);
                let _ = find_post_form(&s);
                let _ = decode_entities(&s);
                if let Ok(r) = decode_post(&STANDARD.encode(input), None, &[]) {
                    let _ = check(&r, &expectations());
                }
            }
        }
        // Extreme timestamps and offsets in checks.
        let mut r = base_request();
        let mut e = expectations();
        e.max_age_secs = i64::MAX;
        for t in [
            "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z",
            "-0001-01-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
        ] {
            r.issue_instant = Some(t.into());
            let _ = check(&r, &e);
        }
        e.max_age_secs = i64::MIN;
        let _ = check(&r, &e);
    }
}
