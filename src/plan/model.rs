//! The plan language: what a YAML plan says, as types. Unknown keys are errors everywhere,
//! because a misspelt assertion that is silently ignored makes a broken app pass.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

use crate::severity::Severity;
use crate::template::Template;

/// What a plan needs the target to describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Scim,
    Saml,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scim => "scim",
            Self::Saml => "saml",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Stable plan id, used as the JUnit testsuite name and the JUnit classname.
    #[schemars(with = "String")]
    pub plan: Spanned<String>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Target sections the plan needs; a plan whose needs the target lacks is not run by
    /// default.
    #[serde(default)]
    pub requires: Vec<Capability>,
    pub tests: Vec<TestSpec>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    /// Stable dotted id (`scim.users.create`): CI history and `--only` depend on it.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    pub title: String,
    pub severity: Severity,
    /// Why the check exists: what breaks for the vendor's customers if it fails.
    pub why: String,
    /// Spec or vendor reference (`RFC 7644 §3.3`, `Okta SCIM spec S3`).
    pub spec: String,
    /// How to fix a failure, for `explain` and failure reports.
    #[serde(default)]
    pub fix: Option<String>,
    /// Tests sharing a sequence name run one after another in file order and share vars
    /// and captures (a lifecycle: create, update, deactivate).
    #[serde(default)]
    pub sequence: Option<String>,
    /// Values rendered once when the test starts, available as `{{name}}` in its steps.
    #[serde(default)]
    pub vars: BTreeMap<String, Template>,
    #[schemars(with = "Vec<StepSpec>")]
    pub steps: Vec<Spanned<StepSpec>>,
}

/// One step: exactly one action key (`scim`, `http`), then what to expect and capture.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// A request to the target's SCIM service (base URL and auth from the target).
    #[serde(default)]
    pub scim: Option<RequestSpec>,
    /// A request to any URL (absolute, after interpolation); no target auth is added.
    #[serde(default)]
    pub http: Option<RequestSpec>,
    /// A SAML login, oinspect playing the IdP.
    #[serde(default)]
    pub saml: Option<SamlStepSpec>,
    #[serde(default)]
    pub expect: Expect,
    /// `name: "$.json.path"` or `name: "header:Name"`.
    #[serde(default)]
    pub capture: BTreeMap<String, Template>,
    /// Like `capture`, but a value that is not there is simply not captured (for probing
    /// what a server advertises).
    #[serde(default)]
    pub capture_if_present: BTreeMap<String, Template>,
    /// Send the request this many times (fresh `random.*` values each time), judging each.
    #[serde(default)]
    pub repeat: Option<u32>,
    /// Run the step only when a var or capture has a given value.
    #[serde(default)]
    pub when: Option<When>,
    /// Skip the whole test (with `reason`) unless a var or capture has a given value: checks
    /// that apply only to what the server advertises.
    #[serde(default)]
    pub require: Option<Require>,
    /// Said in the report when the step runs (e.g. "created a user because none existed").
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Require {
    pub name: String,
    pub equals: serde_json::Value,
    pub reason: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// A var or capture name.
    pub name: String,
    pub equals: serde_json::Value,
}

/// A SAML login driven by oinspect as the identity provider.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SamlStepSpec {
    pub flow: SamlFlow,
    /// A test user of the target (`users.NAME`): NameID and attributes come from it.
    #[serde(default)]
    pub user: Option<String>,
    /// An explicit NameID (a brand-new user for JIT), instead of or besides `user`.
    #[serde(default)]
    pub name_id: Option<Template>,
    #[serde(default)]
    pub name_id_format: Option<NameIdFormatSpec>,
    /// SAML attributes; defaults from `user` (email, firstName, lastName).
    #[serde(default)]
    pub attributes: BTreeMap<String, OneOrMany>,
    /// What to sign; default: what the target's `saml.requires_signed` says.
    #[serde(default)]
    pub sign: Option<SignSpec>,
    #[serde(default)]
    pub alg: Option<AlgSpec>,
    /// RelayState for IdP-initiated logins (SP-initiated logins echo the SP's own).
    #[serde(default)]
    pub relay_state: Option<Template>,
    /// Stop after capturing the AuthnRequest (for request checks); no Response is sent.
    #[serde(default)]
    pub stop_after_request: bool,
    /// Send a forged Response instead of a correct one (see `oinspect explain` of the
    /// `saml-security` plan): `unsigned`, `xsw3`, `keyinfo-rsa-key-value`, ... A test whose
    /// step says `xsw-matrix` becomes one test per wrapping variant.
    #[serde(default)]
    pub attack: Option<String>,
    /// Whom forgeries try to log in as: a target user (default `victim`; without one, a
    /// made-up address in the primary user's domain).
    #[serde(default)]
    pub victim: Option<String>,
    /// Post the same Response a second time, from a fresh browser, and judge that second
    /// login (the first must succeed for the result to mean anything).
    #[serde(default)]
    pub replay: bool,
    /// SP-initiated: a second browser starts its own login, then posts the Response minted
    /// for the first browser's request; the second browser's session is judged.
    #[serde(default)]
    pub other_browser: bool,
    /// Post to another tenant of the same app (`saml.second_tenant`) and judge its session.
    #[serde(default)]
    pub tenant: Option<TenantSpec>,
    /// What the assertion is valid for when posted to another tenant: `own` (the first
    /// tenant's audience and ACS) or `target` (the second tenant's, as an admin of the first
    /// tenant who controls its IdP could mint).
    #[serde(default)]
    pub audience_of: Option<TenantSpec>,
    /// Measure instead of judging one login: `clock-skew` probes how far in the future or
    /// past an assertion may be and still log in.
    #[serde(default)]
    pub measure: Option<MeasureSpec>,
    /// Send the Assertion encrypted for the SP's encryption certificate (from its
    /// metadata); skipped when the SP advertises none.
    #[serde(default)]
    pub encrypt: Option<EncryptSpec>,
}

/// An EncryptedAssertion's algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EncryptSpec {
    pub cipher: CipherSpec,
    #[serde(default)]
    pub transport: TransportSpec,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CipherSpec {
    Aes128Cbc,
    Aes256Cbc,
    Aes128Gcm,
    Aes256Gcm,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TransportSpec {
    /// `xmlenc#rsa-oaep-mgf1p` (SHA-1 digest), what most IdPs send.
    #[default]
    RsaOaepMgf1p,
    /// `xmlenc11#rsa-oaep` with SHA-256.
    RsaOaep,
}

/// Which tenant of a multi-tenant app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TenantSpec {
    /// The target's main SAML settings.
    First,
    /// `saml.second_tenant`.
    Second,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MeasureSpec {
    ClockSkew,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SamlFlow {
    SpInitiated,
    IdpInitiated,
    /// No login: fetch and check the SP metadata named by `saml.sp_metadata`.
    SpMetadata,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum NameIdFormatSpec {
    Email,
    Unspecified,
    Persistent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignSpec {
    None,
    Assertion,
    Response,
    Both,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum AlgSpec {
    RsaSha256,
    RsaSha1,
    RsaSha512,
    EcdsaSha256,
}

/// One attribute value or several.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(Template),
    Many(Vec<Template>),
}

impl OneOrMany {
    pub fn templates(&self) -> Vec<&Template> {
        match self {
            Self::One(t) => vec![t],
            Self::Many(list) => list.iter().collect(),
        }
    }
}

/// What the session check must show after a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LoginExpect {
    /// Logged in, as exactly the identity the Response named.
    Accepted,
    /// Nobody logged in (or at least not as the identity the Response named).
    Rejected,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestSpec {
    #[serde(default = "default_method")]
    pub method: Method,
    /// Path below the service's base URL (`scim`) or a full URL (`http`).
    pub path: Template,
    #[serde(default)]
    pub query: BTreeMap<String, Template>,
    #[serde(default)]
    pub headers: BTreeMap<String, Template>,
    /// A JSON body; strings in it are templates.
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// A raw body (for malformed-input checks).
    #[serde(default)]
    pub body: Option<Template>,
    /// Overrides the body's content type (`application/json` as Okta sends on create).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Replaces the target's credentials for this request (negative auth checks).
    #[serde(default)]
    pub auth: Option<AuthOverride>,
}

fn default_method() -> Method {
    Method::Get
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Head => "HEAD",
            Self::Options => "OPTIONS",
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthOverride {
    /// Send no credentials.
    None,
    /// Send `Authorization: Bearer <token>` with this (wrong) token.
    Bearer(Template),
    /// Send the target's token without a scheme (`Authorization: <token>`), as Okta's
    /// "HTTP Header" auth mode does. Tests using it are skipped for Basic-auth targets.
    RawToken,
}

/// Expected status: one code or any of a list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum StatusExpect {
    One(u16),
    AnyOf(Vec<u16>),
}

impl StatusExpect {
    pub fn matches(&self, status: u16) -> bool {
        match self {
            Self::One(s) => *s == status,
            Self::AnyOf(list) => list.contains(&status),
        }
    }
}

impl std::fmt::Display for StatusExpect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::One(s) => write!(f, "{s}"),
            Self::AnyOf(list) => {
                let list: Vec<String> = list.iter().map(u16::to_string).collect();
                write!(f, "one of {}", list.join(", "))
            }
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub status: Option<StatusExpect>,
    /// Header name → expected value; `~` (null) means "present, any value".
    #[serde(default)]
    pub headers: BTreeMap<String, Option<Template>>,
    /// Media type of the response (parameters such as charset ignored).
    #[serde(default)]
    pub content_type: Option<Vec<String>>,
    /// JSONPath assertions on the response body.
    #[serde(default)]
    pub json: Vec<JsonAssertion>,
    /// The body must contain each string.
    #[serde(default)]
    pub body_contains: Vec<Template>,
    /// Answer within this many milliseconds (latency budgets such as Okta's 600 ms for /Groups).
    #[serde(default)]
    pub max_ms: Option<u64>,
    /// RFC 7643 validation of the body as this resource kind (`User`, `Group`,
    /// `ListResponse`, `Error`, ...). Findings at or above the test's severity fail it.
    #[serde(default)]
    pub schema: Option<String>,
    /// Validate a ListResponse and each of its `Resources` as this kind.
    #[serde(default)]
    pub schema_list: Option<String>,
    /// SAML: the outcome of the login as the session check sees it.
    #[serde(default)]
    pub login: Option<LoginExpect>,
    /// SAML: `false` means the SP must not send the browser off its own origin after the
    /// login (RelayState open redirect).
    #[serde(default)]
    pub offsite_redirect: Option<bool>,
    /// SAML: AuthnRequest checks that must hold (`version`, `id`, `issue-instant`,
    /// `destination`, `issuer`, `acs`, `name-id-policy`, `signature`).
    #[serde(default)]
    pub authn_request: Vec<String>,
}

/// One assertion on the value(s) a JSONPath selects. Exactly one check per assertion keeps
/// failure messages unambiguous.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JsonAssertion {
    pub path: String,
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    #[serde(default)]
    pub equals_ignore_case: Option<Template>,
    #[serde(default)]
    pub not_equals: Option<serde_json::Value>,
    #[serde(default)]
    pub exists: Option<bool>,
    #[serde(default, rename = "type")]
    pub json_type: Option<JsonType>,
    #[serde(default)]
    pub length: Option<usize>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub contains: Option<serde_json::Value>,
    #[serde(default)]
    pub one_of: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    Null,
}

impl JsonType {
    pub fn matches(self, v: &serde_json::Value) -> bool {
        use serde_json::Value as V;
        match self {
            Self::String => v.is_string(),
            Self::Integer => v.is_i64() || v.is_u64(),
            Self::Number => v.is_number(),
            Self::Boolean => v.is_boolean(),
            Self::Array => v.is_array(),
            Self::Object => v.is_object(),
            Self::Null => matches!(v, V::Null),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Array => "array",
            Self::Object => "object",
            Self::Null => "null",
        }
    }
}
