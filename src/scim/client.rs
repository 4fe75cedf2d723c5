//! What makes a request a SCIM request: the target's base URL, its credentials, SCIM media
//! types, and knowing which responses created something that must be cleaned up.

use base64::Engine;

use crate::target::ScimTarget;

/// SCIM's media type (RFC 7644 §3.1); Okta sends `application/json` on create, which a
/// plan can ask for with `content_type`.
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// The URL of `path` below the SCIM base URL. Paths are joined textually: `Url::join`
/// would drop the base's last segment (`/scim/v2` + `Users` → `/scim/Users`).
pub fn url_for(scim: &ScimTarget, path: &str) -> Result<url::Url, String> {
    let base = scim.base_url.as_str().trim_end_matches('/');
    let path = path.trim_start_matches('/');
    let text = format!("{base}/{path}");
    url::Url::parse(&text).map_err(|e| format!("invalid SCIM URL `{text}`: {e}"))
}

/// The `Authorization` header value the target's credentials call for.
pub fn authorization(scim: &ScimTarget) -> Option<String> {
    let auth = &scim.auth;
    if let Some(token) = &auth.bearer {
        return Some(format!("Bearer {}", token.expose()));
    }
    if let Some(token) = &auth.header_token {
        return Some(token.expose().to_string());
    }
    auth.basic.as_ref().map(|b| {
        let pair = format!("{}:{}", b.username.as_str(), b.password.expose());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    })
}

/// For a successful POST to a collection (`/Users`, `/Groups`), the URL that deletes what
/// it created, and a description for reports.
pub fn created_resource(
    request_url: &url::Url,
    method: &str,
    status: u16,
    body: &serde_json::Value,
) -> Option<(url::Url, String)> {
    if method != "POST" || !(200..300).contains(&status) {
        return None;
    }
    let id = body.get("id")?.as_str()?;
    if id.is_empty() {
        return None;
    }
    let collection = request_url.path_segments()?.next_back()?.to_string();
    if collection.is_empty() || collection.starts_with('.') {
        return None;
    }
    let mut url = request_url.clone();
    url.set_query(None);
    url.path_segments_mut().ok()?.push(id);
    let label = body
        .get("userName")
        .or_else(|| body.get("displayName"))
        .and_then(serde_json::Value::as_str)
        .map(|n| format!(" ({n})"))
        .unwrap_or_default();
    Some((url, format!("SCIM {collection} {id}{label}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(base: &str) -> ScimTarget {
        let yaml = format!("base_url: {base}\nauth: {{ bearer: tok123 }}\n");
        let src = crate::diag::Source::new("t", yaml);
        crate::yaml::parse(&src).unwrap()
    }

    #[test]
    fn joins_below_the_base_path() {
        let t = target("http://h/scim/v2/");
        assert_eq!(
            url_for(&t, "/Users").unwrap().as_str(),
            "http://h/scim/v2/Users"
        );
        assert_eq!(
            url_for(&t, "Users/1").unwrap().as_str(),
            "http://h/scim/v2/Users/1"
        );
        assert_eq!(authorization(&t).unwrap(), "Bearer tok123");
    }

    #[test]
    fn recognises_created_resources() {
        let url = url::Url::parse("http://h/scim/v2/Users?x=1").unwrap();
        let body = serde_json::json!({"id": "a b", "userName": "ada"});
        let (del, label) = created_resource(&url, "POST", 201, &body).unwrap();
        assert_eq!(del.as_str(), "http://h/scim/v2/Users/a%20b");
        assert_eq!(label, "SCIM Users a b (ada)");
        assert!(created_resource(&url, "POST", 409, &body).is_none());
        assert!(created_resource(&url, "GET", 200, &body).is_none());
    }
}
