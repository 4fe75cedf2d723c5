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
        // A secret also travels percent-encoded in URLs and form bodies.
        let encoded = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
        if encoded != secret && !secrets.contains(&encoded) {
            secrets.push(encoded);
        }
        secrets.push(secret);
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
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
