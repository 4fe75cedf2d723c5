//! Keeps secrets out of every output. All evidence passes through one [`Redactor`] when it
//! is recorded, so reporters never see a secret to leak.

use std::borrow::Cow;
use std::sync::RwLock;

/// Headers whose values are credentials whatever they contain.
const SECRET_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
];

pub const MASK: &str = "***";

/// Shared by every sink; secrets learned during the run (an OAuth access token) are added
/// through `&self`.
#[derive(Debug, Default)]
pub struct Redactor {
    /// Longest first, so a secret that contains another is masked whole.
    secrets: RwLock<Vec<String>>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let r = Self::default();
        for s in secrets {
            r.add(s);
        }
        r
    }

    /// Registers a secret. Very short values are refused as secrets would then mask
    /// ordinary text everywhere; tokens and passwords are longer than this in practice.
    pub fn add(&self, secret: String) {
        let mut secrets = self.secrets.write().unwrap_or_else(|p| p.into_inner());
        if secret.chars().count() < 4 || secrets.contains(&secret) {
            return;
        }
        for form in encoded_forms(&secret) {
            if form != secret && !secrets.contains(&form) {
                secrets.push(form);
            }
        }
        secrets.push(secret);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Registers a value learned from the vendor that is a credential, such as a session
    /// cookie: like [`Redactor::add`], but only values long enough to be unguessable, so a
    /// `lang=en-US` cookie does not mask ordinary text.
    pub fn add_learned(&self, value: &str) {
        let value = value.trim().trim_matches('"');
        if value.chars().count() >= MIN_LEARNED_SECRET_CHARS {
            self.add(value.to_string());
        }
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        // A poisoned lock still holds a valid list (only push/sort happen under it).
        let secrets = self.secrets.read().unwrap_or_else(|p| p.into_inner());
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), MASK));
            }
        }
        out
    }

    /// A header value as it may be shown: credentials masked, keeping the auth scheme
    /// (`Bearer ***`) because the scheme is often what is wrong.
    pub fn header_value(&self, name: &str, value: &str) -> String {
        let lower = name.to_ascii_lowercase();
        if !SECRET_HEADERS.contains(&lower.as_str()) {
            return self.redact(value).into_owned();
        }
        if lower == "authorization" || lower == "proxy-authorization" {
            if let Some((scheme, _)) = value.split_once(' ')
                && (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("basic"))
            {
                return format!("{scheme} {MASK}");
            }
            return MASK.to_string();
        }
        if lower == "set-cookie" || lower == "cookie" {
            // Names help debugging sessions; values are the session.
            return value
                .split(';')
                .map(|part| match part.split_once('=') {
                    Some((k, _)) if !is_cookie_attribute(k) => format!("{}={MASK}", k.trim()),
                    _ => part.trim().to_string(),
                })
                .collect::<Vec<_>>()
                .join("; ");
        }
        MASK.to_string()
    }
}

/// Shortest cookie value treated as a credential (session IDs are far longer).
const MIN_LEARNED_SECRET_CHARS: usize = 8;
/// Shortest base64 run of a secret that is masked: shorter runs would mask chance matches in
/// signatures and certificates while hiding little.
const MIN_BASE64_RUN: usize = 8;

/// The other forms a secret travels in, each masked like the secret itself:
/// - percent-encoded, as in form bodies (`+` for space) and URL paths (`%20`);
/// - JSON-escaped, as a vendor echoing it inside a JSON string writes it;
/// - base64 in both alphabets, at each of the three alignments it can have inside a longer
///   encoded text (`Basic base64(user:password)`, an echoed `base64("Bearer " + token)`):
///   the run of base64 characters that depends on the secret's bytes alone. What is left
///   around a masked run encodes at most two bytes of the secret at each end.
fn encoded_forms(secret: &str) -> Vec<String> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut out = Vec::new();
    let form = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
    out.push(form.replace('+', "%20"));
    if let Ok(json) = serde_json::to_string(secret) {
        out.push(json[1..json.len() - 1].to_string());
    }
    // Encoded as is, and form-encoded first (RFC 6749 §2.3.1 Basic client credentials).
    let mut base64_of = vec![secret.as_bytes()];
    if form != secret {
        base64_of.push(form.as_bytes());
    }
    for bytes in base64_of {
        // Skipping 0, 2 or 1 leading bytes puts the rest on a 3-byte group boundary when
        // the secret starts at offset 0, 1 or 2 of a group.
        for skip in [0, 2, 1] {
            let Some(rest) = bytes.get(skip..) else {
                continue;
            };
            let whole = rest.len() / 3 * 3;
            for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                let run = engine.encode(&rest[..whole]);
                if run.len() >= MIN_BASE64_RUN {
                    out.push(run);
                }
            }
        }
    }
    out.push(form);
    out
}

fn is_cookie_attribute(name: &str) -> bool {
    matches!(
        name.trim().to_ascii_lowercase().as_str(),
        "path" | "domain" | "expires" | "max-age" | "samesite"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_and_their_url_encoding() {
        let r = Redactor::new(["tok/en+1".to_string()]);
        assert_eq!(r.redact("a tok/en+1 b"), "a *** b");
        assert_eq!(r.redact("?t=tok%2Fen%2B1"), "?t=***");
    }

    #[test]
    fn masks_base64_at_every_alignment_and_json_escapes() {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE};
        let secret = "pw \"Quoted\" /+=%&x9";
        let r = Redactor::new([secret.to_string()]);
        for prefix in ["", "u", "us", "user:", "Bearer "] {
            for engine in [&STANDARD, &URL_SAFE] {
                let encoded = engine.encode(format!("{prefix}{secret}-tail"));
                let shown = r.redact(&encoded);
                assert!(shown.contains(MASK), "{prefix:?}: {encoded} -> {shown}");
                // Most of the secret's 26 base64 characters are gone.
                assert!(
                    shown.len() + 17 <= encoded.len(),
                    "{prefix:?}: {encoded} -> {shown}"
                );
            }
        }
        let json = serde_json::json!({ "echo": secret }).to_string();
        assert_eq!(r.redact(&json), r#"{"echo":"***"}"#);
        assert_eq!(
            r.redact("/a/pw%20%22Quoted%22%20%2F%2B%3D%25%26x9"),
            "/a/***"
        );
    }

    #[test]
    fn learned_values_must_be_long() {
        let r = Redactor::default();
        r.add_learned("en-US");
        r.add_learned("\"sesCk9e8d7c6b5a4f3\"");
        assert_eq!(r.redact("en-US sesCk9e8d7c6b5a4f3"), "en-US ***");
    }

    #[test]
    fn short_values_are_not_secrets() {
        let r = Redactor::new(["ab".to_string()]);
        assert_eq!(r.redact("abc"), "abc");
    }

    #[test]
    fn credential_headers_keep_only_the_scheme() {
        let r = Redactor::default();
        assert_eq!(r.header_value("Authorization", "Bearer xyz"), "Bearer ***");
        assert_eq!(r.header_value("authorization", "rawtoken"), "***");
        assert_eq!(
            r.header_value("Set-Cookie", "sid=abc; Path=/; HttpOnly"),
            "sid=***; Path=/; HttpOnly"
        );
        assert_eq!(r.header_value("Content-Type", "text/plain"), "text/plain");
    }
}
