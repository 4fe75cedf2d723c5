//! OAuth 2.0 client credentials (RFC 6749 §4.4) for SCIM targets: one token per run, added
//! to the redactor the moment it arrives.

use base64::Engine;

use crate::http::{HttpClient, HttpRequest};
use crate::target::{ClientAuthMethod, OAuthClientCredentials};

/// Fetches an access token. The error is one line a vendor can act on.
pub async fn fetch_token(
    client: &HttpClient,
    cfg: &OAuthClientCredentials,
) -> Result<String, String> {
    let mut form = vec![("grant_type", "client_credentials".to_string())];
    if let Some(scope) = &cfg.scope {
        form.push(("scope", scope.as_str().to_string()));
    }
    let mut headers = vec![
        (
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ),
        ("Accept".to_string(), "application/json".to_string()),
    ];
    match cfg.client_auth {
        ClientAuthMethod::Basic => {
            // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
            let enc =
                |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let pair = format!(
                "{}:{}",
                enc(cfg.client_id.as_str()),
                enc(cfg.client_secret.expose())
            );
            headers.push((
                "Authorization".to_string(),
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            ));
        }
        ClientAuthMethod::Post => {
            form.push(("client_id", cfg.client_id.as_str().to_string()));
            form.push(("client_secret", cfg.client_secret.expose().to_string()));
        }
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let request = HttpRequest {
        method: "POST".into(),
        url: cfg.token_url.0.clone(),
        headers,
        body: Some(body.into_bytes()),
    };
    let (exchange, result) = client.send(request).await;
    let response = result.map_err(|e| format!("OAuth token request failed: {e}"))?;
    let shown = exchange.response.map(|r| r.body).unwrap_or_default();
    if response.status != 200 {
        return Err(format!(
            "the token endpoint answered HTTP {} (expected 200): {}",
            response.status,
            crate::report::text::excerpt(&shown, 3)
        ));
    }
    let json = response
        .json()
        .map_err(|e| format!("the token endpoint's answer: {e}"))?;
    let token = json
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("the token endpoint's answer has no access_token (RFC 6749 §5.1)")?;
    let token_type = json
        .get("token_type")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(format!(
            "the token endpoint issued token_type `{token_type}`; oinspect sends bearer tokens (RFC 6750)"
        ));
    }
    client.redactor().add(token.to_string());
    Ok(token.to_string())
}
