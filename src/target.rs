//! The vendor app under test, as the user describes it in a target YAML file. Separate from
//! plans: one plan runs against many targets (staging, production, the reference app).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

use crate::diag::{Diagnostic, Position, Source};
use crate::plan::Capability;
use crate::template::{EnvText, Secret};

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub name: EnvText,
    #[serde(default)]
    pub saml: Option<SamlTarget>,
    #[serde(default)]
    pub idp: Option<IdpTarget>,
    #[serde(default)]
    pub scim: Option<ScimTarget>,
    /// Test users by role name (`primary`, `victim`, ...), available as `{{users.NAME.*}}`.
    #[serde(default)]
    pub users: BTreeMap<String, TestUser>,
    #[serde(default)]
    pub tls: TlsSettings,
    #[serde(default)]
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SamlTarget {
    #[serde(default)]
    pub entity_id: Option<EnvText>,
    #[serde(default)]
    pub acs_url: Option<HttpUrl>,
    /// Where a browser starts an SP-initiated login.
    #[serde(default)]
    pub login_url: Option<HttpUrl>,
    /// SP metadata: a URL or a file path.
    #[serde(default)]
    pub sp_metadata: Option<EnvText>,
    #[serde(default)]
    pub session_check: Option<SessionCheck>,
    #[serde(default)]
    pub requires_signed: Option<RequiresSigned>,
    /// How far in the past IssueInstant and NotBefore are put, as production IdPs do: some
    /// SPs allow no clock skew at all.
    #[serde(default = "default_clock_skew_secs")]
    pub clock_skew_secs: i64,
    /// RelayState sent with IdP-initiated logins when the plan sets none (the IdP app's
    /// "Default RelayState" setting).
    #[serde(default)]
    pub default_relay_state: Option<EnvText>,
    /// Another tenant of the same app (a gallery requirement: an assertion for one tenant
    /// must never log into another). Enables `saml.security.cross-tenant`.
    #[serde(default)]
    pub second_tenant: Option<SecondTenant>,
}

/// The SP settings of a second tenant; its IdP is not oinspect's, so no key is needed.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecondTenant {
    pub entity_id: EnvText,
    pub acs_url: HttpUrl,
    pub session_check: SessionCheck,
}

fn default_clock_skew_secs() -> i64 {
    30
}

/// How oinspect tells who (if anyone) is logged in after posting a Response.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionCheck {
    pub url: HttpUrl,
    #[serde(default = "default_session_status")]
    pub status: u16,
    #[serde(default)]
    pub body_contains: Option<EnvText>,
    /// JSONPath into the body whose value must equal the user's identity exactly.
    #[serde(default)]
    pub json_path: Option<String>,
}

fn default_session_status() -> u16 {
    200
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RequiresSigned {
    Assertion,
    Response,
    Both,
    Either,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IdpTarget {
    #[serde(default)]
    pub entity_id: Option<EnvText>,
    /// The SSO URL the SP was configured with; oinspect intercepts requests to it and never
    /// sends them.
    #[serde(default)]
    pub sso_url: Option<HttpUrl>,
    #[serde(default)]
    pub key: Option<PathBuf>,
    #[serde(default)]
    pub cert: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimTarget {
    pub base_url: HttpUrl,
    #[serde(default)]
    pub auth: ScimAuth,
    /// How the app models roles, for the role-change checks (skipped when absent).
    #[serde(default)]
    pub roles: Option<ScimRoles>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimRoles {
    /// Role values users can carry in their `roles` attribute; the first two are used.
    #[serde(default)]
    pub values: Vec<EnvText>,
    /// A resource type listing the roles (Okta entitlements: `/Roles`).
    #[serde(default)]
    pub resource: Option<EnvText>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScimAuth {
    /// `Authorization: Bearer <token>`.
    #[serde(default)]
    pub bearer: Option<Secret>,
    /// `Authorization: <token>` as Okta's "HTTP Header" auth mode sends it.
    #[serde(default)]
    pub header_token: Option<Secret>,
    #[serde(default)]
    pub basic: Option<BasicAuth>,
    /// OAuth 2.0 client credentials (RFC 6749 §4.4): what Entra's gallery requires.
    #[serde(default)]
    pub oauth: Option<OAuthClientCredentials>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientCredentials {
    pub token_url: HttpUrl,
    pub client_id: EnvText,
    pub client_secret: Secret,
    #[serde(default)]
    pub scope: Option<EnvText>,
    /// How the client authenticates to the token endpoint (RFC 6749 §2.3.1).
    #[serde(default)]
    pub client_auth: ClientAuthMethod,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic with client id and secret (the method every server must support).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body.
    Post,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    pub username: EnvText,
    pub password: Secret,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestUser {
    pub email: EnvText,
    #[serde(default)]
    pub given_name: Option<EnvText>,
    #[serde(default)]
    pub family_name: Option<EnvText>,
    /// Sent as the `groups` attribute of this user's SAML assertions.
    #[serde(default)]
    pub groups: Vec<EnvText>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// A PEM bundle of extra trusted CAs (private PKI).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// Skip certificate verification. Every report says so when set.
    #[serde(default)]
    pub insecure: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    #[serde(default = "default_request_secs")]
    pub request_secs: f64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            request_secs: default_request_secs(),
        }
    }
}

fn default_request_secs() -> f64 {
    10.0
}

/// An absolute http(s) URL, checked while parsing so a typo points at its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl(pub url::Url);

impl<'de> Deserialize<'de> for HttpUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = EnvText::deserialize(deserializer)?;
        let url = url::Url::parse(text.as_str()).map_err(|e| {
            serde::de::Error::custom(format!(
                "invalid URL `{}`: {e}; expected an absolute http:// or https:// URL",
                text.as_str()
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(serde::de::Error::custom(format!(
                "invalid URL `{}`: expected an absolute http:// or https:// URL",
                text.as_str()
            )));
        }
        Ok(Self(url))
    }
}

/// A string in the schema (`${env:...}` may stand for all or part of it).
impl JsonSchema for HttpUrl {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "HttpUrl".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "An absolute http:// or https:// URL (`${env:NAME}` allowed)."
        })
    }
}

impl HttpUrl {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl Target {
    /// Whether the target describes what `capability` needs.
    pub fn has(&self, capability: Capability) -> bool {
        match capability {
            Capability::Scim => self.scim.is_some(),
            Capability::Saml => self.saml.is_some(),
        }
    }

    /// Every secret value, for the redactor.
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(scim) = &self.scim {
            let auth = &scim.auth;
            for s in [&auth.bearer, &auth.header_token].into_iter().flatten() {
                out.push(s.expose().to_string());
            }
            if let Some(basic) = &auth.basic {
                out.push(basic.password.expose().to_string());
                // The Basic header carries base64("user:pass"), which is as good as the password.
                use base64::Engine;
                let pair = format!("{}:{}", basic.username.as_str(), basic.password.expose());
                out.push(base64::engine::general_purpose::STANDARD.encode(pair));
            }
            if let Some(oauth) = &auth.oauth {
                use base64::Engine;
                out.push(oauth.client_secret.expose().to_string());
                let pair = format!(
                    "{}:{}",
                    oauth.client_id.as_str(),
                    oauth.client_secret.expose()
                );
                out.push(base64::engine::general_purpose::STANDARD.encode(pair));
            }
        }
        out.retain(|s| !s.is_empty());
        out
    }
}

/// Loads and checks a target file. Relative paths in it are relative to the file.
pub fn load_target(path: &Path) -> Result<Target, Diagnostic> {
    let source = crate::yaml::read_source(path)?;
    let base = path.parent().unwrap_or_else(|| Path::new("."));
    load_target_source(&source, base)
}

pub fn load_target_source(source: &Source, base: &Path) -> Result<Target, Diagnostic> {
    let mut target: Target = crate::yaml::parse(source)?;
    // Positions of the keys checked below, looked up only when one is wrong.
    let spot = |pick: fn(&Spots) -> Option<&Spot>| -> Option<Position> {
        let spots: Spots = crate::yaml::parse(source).unwrap_or_default();
        pick(&spots).and_then(|s| Position::from_yaml(&s.referenced))
    };
    if let Some(scim) = &target.scim {
        let a = &scim.auth;
        let given = [
            a.bearer.is_some(),
            a.header_token.is_some(),
            a.basic.is_some(),
            a.oauth.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if given > 1 {
            return Err(Diagnostic::at(
                source,
                spot(|s| s.scim.as_ref()?.auth.as_ref()),
                "scim.auth has more than one mode: expected one of `bearer`, `header_token`, `basic`, `oauth`",
            ));
        }
    }
    if target.timeouts.request_secs <= 0.0 || !target.timeouts.request_secs.is_finite() {
        return Err(Diagnostic::at(
            source,
            spot(|s| s.timeouts.as_ref()?.request_secs.as_ref()),
            "timeouts.request_secs must be a positive number of seconds",
        ));
    }
    let resolve = |p: &mut PathBuf, key: &str, at: fn(&Spots) -> Option<&Spot>| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
        let problem = match std::fs::metadata(&*p) {
            Err(e) => Some(format!("cannot read `{}`: {e}", p.display())),
            Ok(m) if !m.is_file() => Some(format!("`{}` is not a file", p.display())),
            Ok(m) if m.len() > MAX_PEM_BYTES => Some(format!(
                "`{}` is {} bytes, more than a PEM key or certificate can be",
                p.display(),
                m.len()
            )),
            Ok(_) => None,
        };
        match problem {
            Some(problem) => Err(Diagnostic::at(
                source,
                spot(at),
                format!(
                    "{key}: {problem}; expected an existing PEM file (relative paths are relative to the target file)"
                ),
            )),
            None => Ok(()),
        }
    };
    if let Some(idp) = &mut target.idp {
        if let Some(k) = &mut idp.key {
            resolve(k, "idp.key", |s| s.idp.as_ref()?.key.as_ref())?;
        }
        if let Some(c) = &mut idp.cert {
            resolve(c, "idp.cert", |s| s.idp.as_ref()?.cert.as_ref())?;
        }
        if let (Some(key), Some(cert)) = (&idp.key, &idp.cert) {
            let read = |p: &Path| std::fs::read(p).unwrap_or_default();
            if let Err(e) = crate::saml::idp::IdpIdentity::from_pem("", "", &read(key), &read(cert))
            {
                return Err(Diagnostic::at(
                    source,
                    spot(|s| s.idp.as_ref()?.key.as_ref()),
                    format!("idp.key and idp.cert: {e}"),
                )
                .with_help(
                    "give the key and certificate `oinspect idp init` wrote together, or run it again",
                ));
            }
        }
    }
    if let Some(ca) = &mut target.tls.ca_cert {
        resolve(ca, "tls.ca_cert", |s| s.tls.as_ref()?.ca_cert.as_ref())?;
    }
    Ok(target)
}

/// Far more than any PEM key or certificate bundle; bounds what validation reads.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Where a key of the target is, whatever its value.
type Spot = serde_saphyr::Spanned<serde::de::IgnoredAny>;

/// The positions of the keys [`load_target_source`] checks after parsing.
#[derive(Default, Deserialize)]
struct Spots {
    #[serde(default)]
    scim: Option<ScimSpots>,
    #[serde(default)]
    idp: Option<IdpSpots>,
    #[serde(default)]
    tls: Option<TlsSpots>,
    #[serde(default)]
    timeouts: Option<TimeoutSpots>,
}

#[derive(Deserialize)]
struct ScimSpots {
    #[serde(default)]
    auth: Option<Spot>,
}

#[derive(Deserialize)]
struct IdpSpots {
    #[serde(default)]
    key: Option<Spot>,
    #[serde(default)]
    cert: Option<Spot>,
}

#[derive(Deserialize)]
struct TlsSpots {
    #[serde(default)]
    ca_cert: Option<Spot>,
}

#[derive(Deserialize)]
struct TimeoutSpots {
    #[serde(default)]
    request_secs: Option<Spot>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Target, Diagnostic> {
        load_target_source(&Source::new("t.yaml", text), Path::new("."))
    }

    #[test]
    fn accepts_every_documented_key() {
        let t = load(
            r#"
name: Acme
saml:
  entity_id: https://acme.example/saml
  acs_url: https://acme.example/saml/acs
  login_url: https://acme.example/login
  sp_metadata: https://acme.example/saml/metadata
  session_check: { url: https://acme.example/me, status: 200, body_contains: ada, json_path: "$.email" }
  requires_signed: both
idp: { entity_id: "http://idp", sso_url: "https://idp.oinspect.test/sso" }
scim:
  base_url: https://acme.example/scim/v2
  auth: { basic: { username: u, password: "${env:OINSPECT_UNSET_PW:-pw}" } }
users:
  primary: { email: ada@acme.example, given_name: Ada, family_name: Lovelace }
tls: { insecure: true }
timeouts: { request_secs: 5 }
"#,
        )
        .unwrap();
        assert_eq!(t.saml.unwrap().requires_signed, Some(RequiresSigned::Both));
        assert!(t.tls.insecure);
        let secrets = t_secrets(&t.scim);
        assert!(secrets.contains(&"pw".to_string()));
        assert!(secrets.contains(&"dTpwdw==".to_string()), "base64 of u:pw");
    }

    fn t_secrets(scim: &Option<ScimTarget>) -> Vec<String> {
        let t = Target {
            name: EnvText("x".into()),
            saml: None,
            idp: None,
            scim: scim.clone(),
            users: BTreeMap::new(),
            tls: TlsSettings::default(),
            timeouts: Timeouts::default(),
        };
        t.secrets()
    }

    #[test]
    fn bad_url_points_at_it() {
        let d = load("name: x\nscim:\n  base_url: not a url\n").unwrap_err();
        assert_eq!(d.location(), "t.yaml:3:13");
        assert!(d.message.contains("invalid URL"), "{}", d.message);
    }

    #[test]
    fn unset_secret_is_named() {
        let d = load("name: x\nscim:\n  base_url: http://h\n  auth: { bearer: \"${env:OINSPECT_SURELY_UNSET}\" }\n")
            .unwrap_err();
        assert!(d.message.contains("OINSPECT_SURELY_UNSET"), "{}", d.message);
        assert_eq!(d.position.map(|p| p.line), Some(4));
    }

    #[test]
    fn missing_key_file() {
        let d = load("name: x\nidp: { key: /nonexistent/k.pem }\n").unwrap_err();
        assert!(d.message.contains("idp.key"), "{}", d.message);
        assert_eq!(d.location(), "t.yaml:2:13");
    }

    #[test]
    fn checks_after_parsing_point_at_their_key() {
        let d = load("name: x\ntimeouts:\n  request_secs: 0\n").unwrap_err();
        assert_eq!(d.location(), "t.yaml:3:17");
        let d =
            load("name: x\nscim:\n  base_url: http://h\n  auth: { bearer: a, header_token: b }\n")
                .unwrap_err();
        assert_eq!(d.location(), "t.yaml:4:9");
        assert!(d.message.contains("expected one of"), "{}", d.message);
    }

    #[test]
    fn key_must_match_certificate() {
        use crate::saml::idp::{IdpIdentity, KeyKind};
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        for d in [&a, &b] {
            std::fs::create_dir(d).unwrap();
            IdpIdentity::generate("e", "https://s", KeyKind::EcP256)
                .unwrap()
                .write_pem_files(d)
                .unwrap();
        }
        let text = format!(
            "name: x\nidp:\n  key: {}\n  cert: {}\n",
            a.join("idp-key.pem").display(),
            b.join("idp-cert.pem").display()
        );
        let d = load(&text).unwrap_err();
        assert_eq!(d.location(), "t.yaml:3:8");
        assert!(d.message.contains("does not belong"), "{}", d.message);
        let good = text.replace("/b/idp-cert", "/a/idp-cert");
        load(&good).unwrap();
    }
}
