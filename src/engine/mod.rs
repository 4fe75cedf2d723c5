//! Runs one test's steps against the target and judges the responses. Returns data; never
//! prints.

mod canary;
mod expect;
mod saml;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::http::{Exchange, HttpClient, HttpRequest, HttpResponse};
use crate::plan::model::AuthOverride;
use crate::plan::{Action, CaptureFrom, RequestSpec, SchemaCheck, Step, TestCase};
use crate::run::cleanup::{CleanupAction, CleanupRegistry, PendingCreate};
use crate::run::outcome::{Finding, Outcome, TestResult};
use crate::run::scope::{Scope, test_rng};
use crate::scim::client as scim;
use crate::scim::schema;
use crate::target::Target;
use crate::template::{Placeholder, Template};

use expect::RenderError;
pub use expect::short;
pub use saml::load_idp;

/// What every test of a run shares.
pub struct RunContext {
    pub target: Arc<Target>,
    pub client: HttpClient,
    pub cleanup: Arc<CleanupRegistry>,
    pub seed: u64,
    /// The OAuth access token, fetched by the first SCIM request that needs it.
    pub scim_token: tokio::sync::OnceCell<Result<String, String>>,
    /// The test IdP's key and certificate, loaded by the first SAML step.
    idp: tokio::sync::OnceCell<Result<Arc<crate::saml::idp::IdpIdentity>, String>>,
    /// The SP metadata named by `saml.sp_metadata` (`None` when the target names none).
    sp_metadata:
        tokio::sync::OnceCell<Result<Option<Arc<crate::saml::metadata::SpMetadata>>, String>>,
    /// The attacker's keys for forged Responses, made by the first attack step.
    attacker: tokio::sync::OnceCell<Result<Arc<crate::saml::attacks::Attacker>, String>>,
    /// The external-entity canary, started by the first step that needs it.
    canary: tokio::sync::OnceCell<Result<Arc<canary::Canary>, String>>,
}

impl RunContext {
    pub fn new(target: Arc<Target>, client: HttpClient, seed: u64) -> Self {
        Self {
            target,
            client,
            cleanup: Arc::new(CleanupRegistry::default()),
            seed,
            scim_token: tokio::sync::OnceCell::new(),
            idp: tokio::sync::OnceCell::new(),
            sp_metadata: tokio::sync::OnceCell::new(),
            attacker: tokio::sync::OnceCell::new(),
            canary: tokio::sync::OnceCell::new(),
        }
    }

    pub async fn attacker(&self) -> Result<Arc<crate::saml::attacks::Attacker>, String> {
        self.attacker
            .get_or_init(|| async {
                let idp = self.idp().await?;
                // Key generation takes a noticeable moment: keep it off the async workers.
                tokio::task::spawn_blocking(move || {
                    crate::saml::attacks::Attacker::generate(&idp)
                        .map(Arc::new)
                        .map_err(|e| format!("making the attacker's keys: {e}"))
                })
                .await
                .map_err(|e| format!("making the attacker's keys: {e}"))?
            })
            .await
            .clone()
    }

    pub async fn canary(&self) -> Result<Arc<canary::Canary>, String> {
        self.canary
            .get_or_init(|| async {
                canary::Canary::start()
                    .await
                    .map(Arc::new)
                    .map_err(|e| format!("starting the external-entity canary on 127.0.0.1: {e}"))
            })
            .await
            .clone()
    }

    pub async fn sp_metadata(
        &self,
    ) -> Result<Option<Arc<crate::saml::metadata::SpMetadata>>, String> {
        self.sp_metadata
            .get_or_init(|| saml::load_sp_metadata(self))
            .await
            .clone()
    }

    pub async fn idp(&self) -> Result<Arc<crate::saml::idp::IdpIdentity>, String> {
        self.idp
            .get_or_init(|| async { saml::load_idp(&self.target) })
            .await
            .clone()
    }

    /// The `Authorization` value for SCIM requests (`None` when the target sets no auth).
    pub async fn scim_authorization(&self) -> Result<Option<String>, String> {
        let Some(scim_target) = self.target.scim.as_ref() else {
            return Ok(None);
        };
        match &scim_target.auth.oauth {
            Some(oauth) => {
                let token = self
                    .scim_token
                    .get_or_init(|| crate::scim::oauth::fetch_token(&self.client, oauth))
                    .await;
                token.clone().map(|t| Some(format!("Bearer {t}")))
            }
            None => Ok(scim::authorization(scim_target)),
        }
    }
}

/// What a running test accumulates besides its vars and captures.
#[derive(Default)]
struct Trail {
    evidence: Vec<Exchange>,
    notes: Vec<String>,
    /// SAML steps that reached a verdict.
    judged: usize,
    /// Why SAML steps could not be judged (a variant the target cannot run, an
    /// inconclusive replay): the test is a skip when no step was judged.
    unjudged: Vec<String>,
}

/// How a test ended, before it becomes a [`TestResult`].
struct Ending {
    outcome: Outcome,
    message: String,
    findings: Vec<Finding>,
}

impl Ending {
    fn pass() -> Self {
        Self {
            outcome: Outcome::Pass,
            message: String::new(),
            findings: Vec::new(),
        }
    }
    fn error(message: String) -> Self {
        Self {
            outcome: Outcome::Error,
            message,
            findings: Vec::new(),
        }
    }
    fn skip(message: String) -> Self {
        Self {
            outcome: Outcome::Skip,
            message,
            findings: Vec::new(),
        }
    }
}

/// Runs `test`. `names` carries vars and captures along a sequence: the test reads the
/// earlier tests' values and adds its own.
pub async fn run_test(
    ctx: &RunContext,
    test: &TestCase,
    names: &mut BTreeMap<String, serde_json::Value>,
) -> TestResult {
    let started = Instant::now();
    let mut scope = Scope {
        seed: ctx.seed,
        target: ctx.target.clone(),
        names: std::mem::take(names),
        rng: test_rng(ctx.seed, &test.id),
    };
    let mut trail = Trail::default();
    let ending = run_steps(ctx, test, &mut scope, &mut trail).await;
    let Trail {
        evidence, notes, ..
    } = trail;
    *names = scope.names;
    // Messages, findings and notes quote what the vendor sent: its control characters
    // (terminal escape sequences) are escaped here, once, for every reporter.
    let clean = |s: String| crate::http::printable(&s).into_owned();
    let findings = ending
        .findings
        .into_iter()
        .map(|f| Finding {
            subject: clean(f.subject),
            expected: clean(f.expected),
            actual: clean(f.actual),
            ..f
        })
        .collect();
    TestResult {
        id: test.id.clone(),
        plan: test.plan_id.clone(),
        title: test.title.clone(),
        severity: test.severity,
        outcome: ending.outcome,
        message: clean(ending.message),
        findings,
        notes: notes.into_iter().map(clean).collect(),
        evidence,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        spec: test.spec.clone(),
        why: test.why.clone(),
        fix: test.fix.clone(),
        location: test.location.clone(),
    }
}

async fn run_steps(
    ctx: &RunContext,
    test: &TestCase,
    scope: &mut Scope,
    trail: &mut Trail,
) -> Ending {
    for (name, template) in &test.vars {
        match template.render(scope) {
            Ok(v) => {
                scope
                    .names
                    .insert(name.clone(), serde_json::Value::String(v));
            }
            Err(p) => return missing(test, &p),
        }
    }
    for (index, step) in test.steps.iter().enumerate() {
        let number = index + 1;
        if let Some(when) = &step.when
            && scope.names.get(&when.name) != Some(&when.equals)
        {
            continue;
        }
        if let Some(req) = &step.require
            && scope.names.get(&req.name) != Some(&req.equals)
        {
            return Ending::skip(req.reason.clone());
        }
        if let Some(note) = &step.note {
            trail.notes.push(format!("step {number}: {note}"));
        }
        for _ in 0..step.repeat {
            let ending = match &step.action {
                Action::Saml(spec) => {
                    saml::run_saml_step(ctx, test, step, spec, number, scope, trail).await
                }
                Action::Scim(_) | Action::Http(_) => {
                    run_step(ctx, test, step, number, scope, trail).await
                }
            };
            if let Some(ending) = ending {
                return ending;
            }
        }
    }
    if trail.judged == 0 && !trail.unjudged.is_empty() {
        return Ending::skip(trail.unjudged.join("; "));
    }
    Ending::pass()
}

/// One request of a step: build, send (retrying 429s on SCIM), judge, capture. `Some` ends
/// the test.
async fn run_step(
    ctx: &RunContext,
    test: &TestCase,
    step: &Step,
    number: usize,
    scope: &mut Scope,
    trail: &mut Trail,
) -> Option<Ending> {
    let Trail {
        evidence, notes, ..
    } = trail;
    let scim_auth = match &step.action {
        Action::Scim(_) => match ctx.scim_authorization().await {
            Ok(a) => a,
            Err(m) => return Some(Ending::error(format!("step {number}: {m}"))),
        },
        Action::Http(_) | Action::Saml(_) => None,
    };
    let request = match build_request(ctx, step, scope, scim_auth.clone()) {
        Ok(r) => r,
        Err(BuildError::Missing(p)) => return Some(missing(test, &p)),
        Err(BuildError::Skip(reason)) => return Some(Ending::skip(reason)),
        Err(BuildError::Invalid(m)) => {
            return Some(Ending::error(format!(
                "step {number} ({}): {m}",
                step.location
            )));
        }
    };
    let method = request.method.clone();
    let url = request.url.clone();
    let is_scim = matches!(step.action, Action::Scim(_));
    // Registered before sending: if Ctrl-C (or the test's timeout) drops the request in
    // flight, cleanup still looks for what the vendor may have created.
    let create = is_scim
        .then(|| pending_create(ctx, &request, scim_auth.as_deref()))
        .flatten()
        .map(|c| ctx.cleanup.begin_create(c));
    let (elapsed_ms, result) = send(ctx, request, is_scim, evidence, notes).await;
    if let Some(ticket) = create {
        // Without an answer (timeout, reset mid-response, a body past the cap) the create
        // may have happened: it stays for cleanup to look up. A refused connection sent
        // nothing.
        if matches!(result, Ok(_) | Err(crate::http::HttpError::Connect { .. })) {
            ctx.cleanup.end_create(ticket);
        }
    }
    let response = match result {
        Ok(r) => r,
        Err(e) => return Some(Ending::error(format!("step {number}: {e}"))),
    };
    if is_scim {
        track_scim_resources(ctx, &method, &url, &response, scim_auth);
    }
    let mut findings = match expect::judge(&step.expect, &response, scope, number, &step.location) {
        Ok(f) => f,
        Err(RenderError::Missing(p)) => return Some(missing(test, &p)),
        Err(RenderError::Invalid(m)) => return Some(Ending::error(format!("step {number}: {m}"))),
    };
    if let Some(max) = step.expect.max_ms
        && elapsed_ms > max
    {
        findings.push(Finding {
            step: number,
            subject: "response time".into(),
            expected: format!("at most {max} ms"),
            actual: format!("{elapsed_ms} ms"),
            location: step.location.clone(),
        });
    }
    if response.status == 429 && !findings.is_empty() {
        let retry_after = response.header("retry-after");
        if retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_none()
        {
            findings.push(Finding {
                step: number,
                subject: "Retry-After header of the 429".into(),
                expected: "an integer number of seconds (without one, Okta waits 5 minutes and doubles the wait on each retry)".into(),
                actual: retry_after.map_or_else(|| "absent".to_string(), |v| format!("{v:?}")),
                location: step.location.clone(),
            });
        }
    }
    let status_failed = findings.iter().any(|f| f.subject == "HTTP status");
    if let (Some(check), false) = (step.expect.schema, status_failed) {
        schema_findings(
            check,
            &response,
            test,
            number,
            &step.location,
            &mut findings,
            notes,
        );
    }
    if !findings.is_empty() {
        let message = format!(
            "{} {} -> {}: {}",
            method,
            url.path(),
            response.status,
            findings[0]
        );
        let message = if findings.len() > 1 {
            format!("{message} (and {} more)", findings.len() - 1)
        } else {
            message
        };
        return Some(Ending {
            outcome: Outcome::Fail,
            message: ctx.client.redactor().redact(&message).into_owned(),
            findings,
        });
    }
    if let Err(finding) = capture(step, &response, scope, number) {
        return Some(Ending {
            outcome: Outcome::Fail,
            message: finding.to_string(),
            findings: vec![finding],
        });
    }
    None
}

/// Okta retries a 429 after `Retry-After` seconds; so do we, a bounded number of times and
/// never longer than [`MAX_RETRY_WAIT`] per wait, so a hostile value cannot stall the run.
const MAX_429_RETRIES: usize = 3;
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

async fn send(
    ctx: &RunContext,
    request: HttpRequest,
    is_scim: bool,
    evidence: &mut Vec<Exchange>,
    notes: &mut Vec<String>,
) -> (u64, Result<HttpResponse, crate::http::HttpError>) {
    let mut attempt = 0;
    loop {
        let (exchange, result) = ctx.client.send(request.clone()).await;
        let elapsed = exchange.duration_ms;
        evidence.push(exchange);
        let wait = match &result {
            Ok(r) if is_scim && r.status == 429 && attempt < MAX_429_RETRIES => r
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok()),
            _ => None,
        };
        match wait {
            Some(secs) => {
                let wait = Duration::from_secs(secs).min(MAX_RETRY_WAIT);
                notes.push(format!(
                    "HTTP 429 with Retry-After: {secs}; retried after {}s",
                    wait.as_secs()
                ));
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            None => return (elapsed, result),
        }
    }
}

/// RFC 7643 findings at or above the test's severity fail it; milder ones become notes so
/// the vendor still sees them.
fn schema_findings(
    check: SchemaCheck,
    response: &HttpResponse,
    test: &TestCase,
    number: usize,
    location: &str,
    findings: &mut Vec<Finding>,
    notes: &mut Vec<String>,
) {
    let Ok(body) = response.json() else {
        // The body itself not being JSON is judged by `json`/`status` expectations or is
        // the schema's first finding.
        findings.push(Finding {
            step: number,
            subject: "body".into(),
            expected: "a SCIM JSON resource".into(),
            actual: response.json().err().unwrap_or_default(),
            location: location.to_string(),
        });
        return;
    };
    let violations = match check {
        SchemaCheck::One(kind) => schema::validate(kind, &body),
        SchemaCheck::List(kind) => schema::validate_list(kind, &body),
    };
    for v in violations {
        if v.severity >= test.severity {
            findings.push(Finding {
                step: number,
                subject: v.path.clone(),
                expected: format!("{} ({}; {})", v.expected, v.rule, v.reference),
                actual: v.actual.clone(),
                location: location.to_string(),
            });
        } else {
            notes.push(format!("step {number}: {v}"));
        }
    }
}

fn missing(test: &TestCase, placeholder: &Placeholder) -> Ending {
    match (placeholder, &test.sequence) {
        (Placeholder::Name(n), Some(seq)) => Ending::skip(format!(
            "needs `{{{{{n}}}}}`, which no earlier test in sequence `{seq}` captured (did it fail?)"
        )),
        (Placeholder::User { name, field }, _) => Ending::skip(format!(
            "the target has no `users.{name}.{field}`; add it to run this test"
        )),
        (Placeholder::Target(field), _) => Ending::skip(format!(
            "the target declares no `scim.{}`; declare how the app models roles to run this test",
            if field.starts_with("roles.value") {
                "roles.values (two role values)"
            } else {
                "roles.resource"
            }
        )),
        _ => Ending::error(format!(
            "no value for `{{{{{placeholder}}}}}` ({})",
            test.location
        )),
    }
}

enum BuildError {
    Missing(Placeholder),
    Invalid(String),
    /// The request cannot be made for this target; the test does not apply.
    Skip(String),
}

impl From<Placeholder> for BuildError {
    fn from(p: Placeholder) -> Self {
        Self::Missing(p)
    }
}

fn build_request(
    ctx: &RunContext,
    step: &Step,
    scope: &mut Scope,
    scim_auth: Option<String>,
) -> Result<HttpRequest, BuildError> {
    let (spec, is_scim) = match &step.action {
        Action::Scim(r) => (r, true),
        Action::Http(r) => (r, false),
        Action::Saml(_) => {
            return Err(BuildError::Invalid(
                "internal: a saml step is not an HTTP request".into(),
            ));
        }
    };
    let path = spec.path.render(scope)?;
    let mut url = if is_scim {
        let scim_target = ctx
            .target
            .scim
            .as_ref()
            .ok_or_else(|| BuildError::Invalid("the target has no `scim` section".into()))?;
        scim::url_for(scim_target, &path).map_err(BuildError::Invalid)?
    } else {
        url::Url::parse(&path)
            .map_err(|e| BuildError::Invalid(format!("`{path}` is not an absolute URL: {e}")))?
    };
    if !spec.query.is_empty() {
        let rendered = render_pairs(&spec.query, scope)?;
        url.set_query(Some(&encode_query(url.query(), &rendered)));
    }
    let mut headers = vec![(
        "Accept".to_string(),
        format!("{}, application/json", scim::SCIM_MEDIA_TYPE),
    )];
    if let Some(auth) = authorization(spec, scim_auth, scope)? {
        headers.push(("Authorization".into(), auth));
    }
    let body = body_of(spec, scope)?;
    if body.is_some() {
        let default = if is_scim {
            scim::SCIM_MEDIA_TYPE
        } else {
            "application/json"
        };
        headers.push((
            "Content-Type".into(),
            spec.content_type
                .clone()
                .unwrap_or_else(|| default.to_string()),
        ));
    }
    for (k, v) in render_pairs(&spec.headers, scope)? {
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case(&k));
        headers.push((k, v));
    }
    Ok(HttpRequest {
        method: spec.method.as_str().to_string(),
        url,
        headers,
        body,
    })
}

/// Percent-encodes query pairs with `%20` for spaces, as Okta and Entra send filters: some
/// servers do not read the form-encoding `+` as a space.
fn encode_query(existing: Option<&str>, pairs: &[(String, String)]) -> String {
    let encode = |s: &str| {
        url::form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    let mut parts: Vec<String> = existing
        .filter(|q| !q.is_empty())
        .map(|q| vec![q.to_string()])
        .unwrap_or_default();
    parts.extend(
        pairs
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v))),
    );
    parts.join("&")
}

fn render_pairs(
    map: &BTreeMap<String, Template>,
    scope: &mut Scope,
) -> Result<Vec<(String, String)>, Placeholder> {
    map.iter()
        .map(|(k, v)| Ok((k.clone(), v.render(scope)?)))
        .collect()
}

/// The plan's override, else the target's SCIM credentials (none for `http` steps).
fn authorization(
    spec: &RequestSpec,
    scim_auth: Option<String>,
    scope: &mut Scope,
) -> Result<Option<String>, BuildError> {
    match &spec.auth {
        Some(AuthOverride::None) => Ok(None),
        Some(AuthOverride::Bearer(t)) => Ok(Some(format!("Bearer {}", t.render(scope)?))),
        Some(AuthOverride::RawToken) => match scim_auth {
            Some(value) if value.starts_with("Basic ") => Err(BuildError::Skip(
                "the target authenticates with Basic, not a token".into(),
            )),
            Some(value) => Ok(Some(
                value.strip_prefix("Bearer ").unwrap_or(&value).to_string(),
            )),
            None => Err(BuildError::Skip("the target has no SCIM token".into())),
        },
        None => Ok(scim_auth),
    }
}

fn body_of(spec: &RequestSpec, scope: &mut Scope) -> Result<Option<Vec<u8>>, BuildError> {
    if let Some(json) = &spec.json {
        let rendered = expect::render_json(json, scope).map_err(|e| match e {
            RenderError::Missing(p) => BuildError::Missing(p),
            RenderError::Invalid(m) => BuildError::Invalid(m),
        })?;
        return serde_json::to_vec(&rendered)
            .map(Some)
            .map_err(|e| BuildError::Invalid(e.to_string()));
    }
    match &spec.body {
        Some(t) => Ok(Some(t.render(scope)?.into_bytes())),
        None => Ok(None),
    }
}

/// Registers what a SCIM POST created (for cleanup) and forgets what a DELETE removed.
fn track_scim_resources(
    ctx: &RunContext,
    method: &str,
    url: &url::Url,
    resp: &HttpResponse,
    scim_auth: Option<String>,
) {
    if method == "DELETE" && (200..300).contains(&resp.status) {
        ctx.cleanup.forget(url);
        return;
    }
    let Ok(body) = resp.json() else { return };
    let Some((delete_url, description)) = scim::created_resource(url, method, resp.status, &body)
    else {
        return;
    };
    let mut headers = Vec::new();
    if let Some(auth) = scim_auth {
        headers.push(("Authorization".to_string(), auth));
    }
    // Some apps (following Okta, which never deletes users) have no DELETE /Users: the
    // next best thing is to leave the test user deactivated.
    let is_user = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .is_some_and(|c| c.eq_ignore_ascii_case("Users"));
    let deactivate = is_user.then(|| {
        let mut patch_headers = headers.clone();
        patch_headers.push(("Content-Type".into(), scim::SCIM_MEDIA_TYPE.into()));
        HttpRequest {
            method: "PATCH".into(),
            url: delete_url.clone(),
            headers: patch_headers,
            body: Some(deactivate_body()),
        }
    });
    ctx.cleanup.register(CleanupAction {
        description,
        request: HttpRequest {
            method: "DELETE".into(),
            url: delete_url,
            headers,
            body: None,
        },
        deactivate,
    });
}

/// `PATCH` body that deactivates a user, for apps without DELETE /Users.
fn deactivate_body() -> Vec<u8> {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{ "op": "replace", "value": { "active": false } }]
    })
    .to_string()
    .into_bytes()
}

/// What cleanup needs to find the resource a SCIM POST may create if its answer never
/// arrives: the collection and the identifying attribute it sets (`userName`, `displayName`
/// or `externalId`; this run's own `oinspect-<seed>-` value first).
fn pending_create(
    ctx: &RunContext,
    request: &HttpRequest,
    scim_auth: Option<&str>,
) -> Option<PendingCreate> {
    if request.method != "POST" {
        return None;
    }
    let name = request.url.path_segments()?.next_back()?;
    if name.is_empty() || name.starts_with('.') {
        return None;
    }
    let body: serde_json::Value = serde_json::from_slice(request.body.as_deref()?).ok()?;
    let candidates: Vec<(&str, &str)> = ["userName", "displayName", "externalId"]
        .into_iter()
        .filter_map(|a| Some((a, body.get(a)?.as_str()?)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let prefix = format!("{}-", crate::run::scope::run_prefix(ctx.seed));
    let owned = candidates.iter().find(|(_, v)| v.starts_with(&prefix));
    let (attribute, value) = owned.or(candidates.first()).copied()?;
    let mut collection = request.url.clone();
    collection.set_query(None);
    let is_user = name.eq_ignore_ascii_case("Users");
    Some(PendingCreate {
        collection,
        attribute: attribute.to_string(),
        value: value.to_string(),
        owned: owned.is_some(),
        headers: scim_auth
            .map(|a| vec![("Authorization".to_string(), a.to_string())])
            .unwrap_or_default(),
        deactivate_body: is_user.then(deactivate_body),
    })
}

/// Whether a JSONPath can select several nodes: wildcards, slices, filters, unions and
/// descendant segments can; names and indexes cannot. Quoted names (`$['urn:...:User']`)
/// are skipped, since what they contain is a name, not syntax.
pub(crate) fn path_selects_many(path: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut previous = '\0';
    for c in path.chars() {
        match quote {
            Some(q) if c == q && previous != '\\' => quote = None,
            Some(_) => {}
            None if c == '\'' || c == '"' => quote = Some(c),
            None if matches!(c, '*' | '?' | ':' | ',') => return true,
            None if c == '.' && previous == '.' => return true,
            None => {}
        }
        previous = c;
    }
    false
}

fn capture(
    step: &Step,
    resp: &HttpResponse,
    scope: &mut Scope,
    number: usize,
) -> Result<(), Finding> {
    for c in &step.captures {
        let (value, subject) = match &c.from {
            CaptureFrom::Header(name) => (
                resp.header(name)
                    .map(|v| serde_json::Value::String(v.to_string())),
                format!("header {name}"),
            ),
            CaptureFrom::Json(path, text) => {
                let value = resp.json().ok().and_then(|body| {
                    let nodes = path.query(&body).all();
                    if path_selects_many(text) && nodes.is_empty() {
                        return None;
                    }
                    // A path that can select many (`$.Resources[*].id`) captures the list,
                    // so a later step can compare pages or orders.
                    if path_selects_many(text) {
                        Some(serde_json::Value::Array(
                            nodes.into_iter().cloned().collect(),
                        ))
                    } else {
                        nodes.first().map(|v| (*v).clone())
                    }
                });
                (value, text.clone())
            }
        };
        match value {
            Some(v) => {
                scope.names.insert(c.name.clone(), v);
            }
            None if c.optional => {}
            None => {
                return Err(Finding {
                    step: number,
                    subject,
                    expected: format!("a value to capture as `{}`", c.name),
                    actual: "nothing".into(),
                    location: step.location.clone(),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::path_selects_many;

    #[test]
    fn singular_and_plural_paths() {
        for p in [
            "$.id",
            "$.Resources[0].id",
            "$['urn:x:y:User'].department",
            "$.a[\"b*c\"]",
        ] {
            assert!(!path_selects_many(p), "{p}");
        }
        for p in [
            "$.Resources[*].id",
            "$..id",
            "$.a[?@.x == 'y']",
            "$.a[0:2]",
            "$.a[0,1]",
        ] {
            assert!(path_selects_many(p), "{p}");
        }
    }
}
