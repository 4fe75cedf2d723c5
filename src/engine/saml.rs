//! `saml:` steps: a login through `saml::flows`, judged on what the session check says and,
//! for SP-initiated logins, on the AuthnRequest the SP sent.

use std::sync::Arc;

use super::{Ending, RunContext, Trail};
use crate::http::Exchange;
use crate::plan::model::{
    AlgSpec, LoginExpect, NameIdFormatSpec, SamlFlow, SamlStepSpec, SignSpec,
};
use crate::plan::{Step, TestCase};
use crate::run::outcome::{Finding, Outcome};
use crate::run::scope::Scope;
use crate::saml::dsig::SignatureAlgorithm;
use crate::saml::flows::{self, FlowReport, LoginPlan, SessionCheckSettings, SpSettings, Verdict};
use crate::saml::idp::IdpIdentity;
use crate::saml::metadata::{self, SpMetadata};
use crate::saml::request::{self, RequestExpectations};
use crate::saml::response::{NameIdFormat, SignMode};
use crate::target::{RequiresSigned, Target};
use crate::template::{Placeholder, Template};

/// Loads the IdP identity the target names (`idp.key`, `idp.cert`); once per run.
pub fn load_idp(target: &Target) -> Result<Arc<IdpIdentity>, String> {
    let idp = target.idp.as_ref().ok_or(
        "the target has no `idp` section: run `oinspect idp init` and add idp.key, idp.cert",
    )?;
    let (Some(key), Some(cert)) = (&idp.key, &idp.cert) else {
        return Err(
            "the target has no idp.key and idp.cert: run `oinspect idp init --out DIR`".into(),
        );
    };
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let entity_id = idp
        .entity_id
        .as_ref()
        .map_or("http://www.okta.com/oinspect", |e| e.as_str());
    let sso_url = idp
        .sso_url
        .as_ref()
        .map_or("https://idp.oinspect.test/sso", |u| u.as_str());
    IdpIdentity::from_pem(entity_id, sso_url, &read(key)?, &read(cert)?)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// Fetches (URL) or reads (file) the SP metadata the target names, once per run.
pub async fn load_sp_metadata(ctx: &RunContext) -> Result<Option<Arc<SpMetadata>>, String> {
    let Some(source) = ctx
        .target
        .saml
        .as_ref()
        .and_then(|s| s.sp_metadata.as_ref())
    else {
        return Ok(None);
    };
    let source = source.as_str();
    let xml = if source.starts_with("http://") || source.starts_with("https://") {
        let url =
            url::Url::parse(source).map_err(|e| format!("saml.sp_metadata `{source}`: {e}"))?;
        let (_, result) = ctx
            .client
            .send(crate::http::HttpRequest {
                method: "GET".into(),
                url,
                headers: vec![(
                    "Accept".into(),
                    "application/samlmetadata+xml, application/xml".into(),
                )],
                body: None,
            })
            .await;
        let resp = result.map_err(|e| format!("fetching saml.sp_metadata: {e}"))?;
        if resp.status != 200 {
            return Err(format!(
                "saml.sp_metadata {source} answered HTTP {}",
                resp.status
            ));
        }
        resp.text()
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("saml.sp_metadata {source}: {e}"))?
    };
    metadata::parse(&xml)
        .map(|m| Some(Arc::new(m)))
        .map_err(|e| format!("saml.sp_metadata {source} is not usable SP metadata: {e}"))
}

/// `flow: sp-metadata`: the metadata's sanity findings at or above the test's severity fail
/// it; milder ones are notes.
async fn check_metadata(
    ctx: &RunContext,
    test: &TestCase,
    step: &Step,
    number: usize,
    notes: &mut Vec<String>,
) -> Option<Ending> {
    let md = match ctx.sp_metadata().await {
        Ok(Some(md)) => md,
        Ok(None) => return Some(Ending::skip("the target names no saml.sp_metadata".into())),
        Err(m) => {
            return Some(Ending {
                outcome: Outcome::Fail,
                message: format!("step {number}: {m}"),
                findings: vec![Finding {
                    step: number,
                    subject: "SP metadata".into(),
                    expected:
                        "parseable SAML 2.0 SP metadata (EntityDescriptor with an SPSSODescriptor)"
                            .into(),
                    actual: m,
                    location: step.location.clone(),
                }],
            });
        }
    };
    let mut findings = Vec::new();
    for f in metadata::sanity(&md, time::OffsetDateTime::now_utc()) {
        if f.severity >= test.severity {
            findings.push(Finding {
                step: number,
                subject: format!("SP metadata {}", f.check),
                expected: "no finding".into(),
                actual: f.message.clone(),
                location: step.location.clone(),
            });
        } else {
            notes.push(format!(
                "step {number}: SP metadata {} ({}): {}",
                f.check, f.severity, f.message
            ));
        }
    }
    if findings.is_empty() {
        return None;
    }
    Some(Ending {
        outcome: Outcome::Fail,
        message: findings[0].to_string(),
        findings,
    })
}

pub async fn run_saml_step(
    ctx: &RunContext,
    test: &TestCase,
    step: &Step,
    spec: &SamlStepSpec,
    number: usize,
    scope: &mut Scope,
    trail: &mut Trail,
) -> Option<Ending> {
    let Trail { evidence, notes } = trail;
    if spec.flow == SamlFlow::SpMetadata {
        return check_metadata(ctx, test, step, number, notes).await;
    }
    let metadata = match ctx.sp_metadata().await {
        Ok(md) => md,
        Err(m) => return Some(Ending::error(format!("step {number}: {m}"))),
    };
    let idp = match ctx.idp().await {
        Ok(idp) => idp,
        Err(m) => return Some(Ending::error(format!("step {number}: {m}"))),
    };
    let Some(saml) = ctx.target.saml.as_ref() else {
        return Some(Ending::skip("the target has no `saml` section".into()));
    };
    let Some(check) = saml.session_check.as_ref() else {
        return Some(Ending::skip(
            "the target has no saml.session_check: oinspect cannot tell who is logged in".into(),
        ));
    };
    if spec.flow == SamlFlow::SpInitiated && saml.login_url.is_none() {
        return Some(Ending::skip(
            "the target has no saml.login_url (SP-initiated login)".into(),
        ));
    }
    let plan = match login_plan(ctx, spec, scope) {
        Ok(p) => p,
        Err(PlanError::Missing(p)) => return Some(super::missing(test, &p)),
        Err(PlanError::Skip(reason)) => return Some(Ending::skip(reason)),
    };
    // The target's own settings win; the SP metadata fills what the target leaves out.
    let metadata_acs = metadata.as_ref().and_then(|m| default_post_acs(m));
    let sp = SpSettings {
        login_url: saml.login_url.as_ref().map(|u| &u.0),
        acs_url: saml
            .acs_url
            .as_ref()
            .map(|u| &u.0)
            .or(metadata_acs.as_ref()),
        entity_id: saml
            .entity_id
            .as_ref()
            .map(|e| e.as_str())
            .or(metadata.as_ref().map(|m| m.entity_id.as_str())),
        sp_certs: metadata
            .as_ref()
            .map_or(&[][..], |m| m.signing_certs.as_slice()),
        session: SessionCheckSettings {
            url: &check.url.0,
            status: check.status,
            body_contains: check.body_contains.as_ref().map(|b| b.as_str()),
            json_path: check.json_path.as_deref(),
        },
        clock_skew_secs: saml.clock_skew_secs,
    };
    let client = match ctx.client.with_cookie_jar() {
        Ok(c) => c,
        Err(e) => return Some(Ending::error(format!("step {number}: {e}"))),
    };
    let mut report = FlowReport::default();
    let result = flows::login(&client, &idp, &sp, &plan, &mut report).await;
    let redactor = ctx.client.redactor();
    evidence.append(&mut report.exchanges);
    if let Some(req) = &report.request {
        evidence.push(Exchange::decoded("AuthnRequest", &req.xml, redactor));
        notes.push(format!(
            "step {number}: AuthnRequest via HTTP-{:?}, signature: {}",
            req.binding,
            match &req.signature {
                request::RequestSignature::Unsigned => "none".to_string(),
                request::RequestSignature::Valid { alg } => format!("valid ({alg})"),
                request::RequestSignature::Invalid(why) => format!("INVALID ({why})"),
                request::RequestSignature::UnknownKey => {
                    "present, not verified (no SP certificate: set saml.sp_metadata)".to_string()
                }
            }
        ));
        if req.force_authn {
            notes.push(format!(
                "step {number}: the AuthnRequest asks for ForceAuthn"
            ));
        }
        if req.is_passive {
            notes.push(format!("step {number}: the AuthnRequest is IsPassive"));
        }
    }
    if let Some(xml) = &report.response_xml {
        evidence.push(Exchange::decoded("SAML Response sent", xml, redactor));
    }
    if let Err(e) = result {
        return Some(Ending::error(format!("step {number}: {e}")));
    }
    let mut findings = Vec::new();
    if !step.expect.authn_request.is_empty() {
        let Some(req) = &report.request else {
            return Some(Ending::error(format!(
                "step {number}: AuthnRequest checks need an SP-initiated login"
            )));
        };
        request_findings(
            ctx,
            &idp,
            metadata.as_deref(),
            req,
            step,
            number,
            &mut findings,
        );
    }
    if let (Some(want), Some(verdict)) = (step.expect.login, &report.verdict) {
        notes.push(format!("step {number}: {}", report.decided_by));
        if let Some(f) = login_finding(want, verdict, &plan, &report, &idp, step, number) {
            findings.push(f);
        }
    }
    if findings.is_empty() {
        return None;
    }
    let message = findings[0].to_string();
    Some(Ending {
        outcome: Outcome::Fail,
        message: redactor.redact(&message).into_owned(),
        findings,
    })
}

/// The ACS a Response goes to when the target names none: the metadata's default HTTP-POST
/// endpoint, else its first.
fn default_post_acs(md: &SpMetadata) -> Option<url::Url> {
    let post = md
        .acs
        .iter()
        .filter(|a| a.binding == crate::saml::idp::BINDING_POST);
    let chosen = post
        .clone()
        .find(|a| a.is_default)
        .or_else(|| post.clone().next())?;
    url::Url::parse(&chosen.location).ok()
}

fn request_findings(
    ctx: &RunContext,
    idp: &IdpIdentity,
    metadata: Option<&SpMetadata>,
    req: &request::AuthnRequest,
    step: &Step,
    number: usize,
    findings: &mut Vec<Finding>,
) {
    let saml = ctx.target.saml.as_ref();
    let expectations = RequestExpectations {
        sp_entity_id: saml
            .and_then(|s| s.entity_id.as_ref())
            .map(|e| e.as_str().to_string()),
        idp_sso_url: idp.sso_url.clone(),
        acs_urls: saml
            .and_then(|s| s.acs_url.as_ref())
            .map(|u| vec![u.as_str().to_string()])
            .into_iter()
            .flatten()
            .chain(
                metadata
                    .into_iter()
                    .flat_map(|m| m.acs.iter().map(|a| a.location.clone())),
            )
            .collect(),
        now: time::OffsetDateTime::now_utc(),
        max_age_secs: 300,
        // Metadata that promises signed requests makes an unsigned one a finding.
        require_signed: metadata.and_then(|m| m.authn_requests_signed) == Some(true),
    };
    for f in request::check(req, &expectations) {
        if !f.ok && step.expect.authn_request.iter().any(|c| c == f.check) {
            findings.push(Finding {
                step: number,
                subject: format!("AuthnRequest {}", f.check),
                expected: format!("{} ({}; {})", f.expected, f.rule, f.reference),
                actual: f.actual.clone(),
                location: step.location.clone(),
            });
        }
    }
}

fn login_finding(
    want: LoginExpect,
    verdict: &Verdict,
    plan: &LoginPlan,
    report: &FlowReport,
    idp: &IdpIdentity,
    step: &Step,
    number: usize,
) -> Option<Finding> {
    let finding = |expected: String, actual: String| Finding {
        step: number,
        subject: "login".into(),
        expected,
        actual,
        location: step.location.clone(),
    };
    match (want, verdict) {
        (LoginExpect::Accepted, Verdict::Accepted) | (LoginExpect::Rejected, Verdict::Rejected) => {
            None
        }
        (LoginExpect::Rejected, Verdict::OtherIdentity(_)) => None,
        (LoginExpect::Accepted, Verdict::Rejected) => Some(finding(
            format!("a session as {:?}", plan.name_id),
            format!(
                "nobody logged in: {}; the ACS answered {}. The SP rejected a correctly signed Response (IdP {}, signing certificate SHA-256 {}): check that the SP trusts this IdP entity ID and certificate (`oinspect idp metadata`)",
                report.decided_by,
                report.acs_answer,
                idp.entity_id,
                idp.cert_sha256_fingerprint()
            ),
        )),
        (LoginExpect::Accepted, Verdict::OtherIdentity(who)) => Some(finding(
            format!("a session as {:?}", plan.name_id),
            format!("a session as {who:?}: {}", report.decided_by),
        )),
        (LoginExpect::Rejected, Verdict::Accepted) => Some(finding(
            "the login to be refused".into(),
            format!(
                "logged in as {:?}: {} (the ACS answered {})",
                plan.name_id, report.decided_by, report.acs_answer
            ),
        )),
    }
}

enum PlanError {
    Missing(Placeholder),
    Skip(String),
}

impl From<Placeholder> for PlanError {
    fn from(p: Placeholder) -> Self {
        Self::Missing(p)
    }
}

fn login_plan(
    ctx: &RunContext,
    spec: &SamlStepSpec,
    scope: &mut Scope,
) -> Result<LoginPlan, PlanError> {
    let user = match &spec.user {
        Some(name) => Some(ctx.target.users.get(name).ok_or_else(|| {
            PlanError::Skip(format!(
                "the target has no `users.{name}`; add it to run this test"
            ))
        })?),
        None => None,
    };
    let name_id = match (&spec.name_id, user) {
        (Some(t), _) => t.render(scope)?,
        (None, Some(u)) => u.email.as_str().to_string(),
        (None, None) => {
            return Err(PlanError::Skip(
                "the step names neither `user` nor `name_id`".into(),
            ));
        }
    };
    let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(u) = user {
        attributes.push(("email".into(), vec![u.email.as_str().to_string()]));
        if let Some(g) = &u.given_name {
            attributes.push(("firstName".into(), vec![g.as_str().to_string()]));
        }
        if let Some(f) = &u.family_name {
            attributes.push(("lastName".into(), vec![f.as_str().to_string()]));
        }
        if !u.groups.is_empty() {
            let groups = u.groups.iter().map(|g| g.as_str().to_string()).collect();
            attributes.push(("groups".into(), groups));
        }
    }
    for (name, values) in &spec.attributes {
        let rendered = values
            .templates()
            .into_iter()
            .map(|t: &Template| t.render(scope))
            .collect::<Result<Vec<_>, _>>()?;
        attributes.retain(|(n, _)| n != name);
        attributes.push((name.clone(), rendered));
    }
    let relay_state = match &spec.relay_state {
        Some(t) => Some(t.render(scope)?),
        None => ctx
            .target
            .saml
            .as_ref()
            .and_then(|s| s.default_relay_state.as_ref())
            .map(|r| r.as_str().to_string()),
    };
    let requires = ctx.target.saml.as_ref().and_then(|s| s.requires_signed);
    Ok(LoginPlan {
        sp_initiated: spec.flow == SamlFlow::SpInitiated,
        name_id,
        name_id_format: match spec.name_id_format.unwrap_or(NameIdFormatSpec::Email) {
            NameIdFormatSpec::Email => NameIdFormat::EmailAddress,
            NameIdFormatSpec::Unspecified => NameIdFormat::Unspecified,
            NameIdFormatSpec::Persistent => NameIdFormat::Persistent,
        },
        attributes,
        sign: match spec.sign {
            Some(SignSpec::None) => SignMode::None,
            Some(SignSpec::Assertion) => SignMode::Assertion,
            Some(SignSpec::Response) => SignMode::Response,
            Some(SignSpec::Both) => SignMode::Both,
            None => default_sign_mode(requires),
        },
        alg: match spec.alg.unwrap_or(AlgSpec::RsaSha256) {
            AlgSpec::RsaSha256 => SignatureAlgorithm::RsaSha256,
            AlgSpec::RsaSha1 => SignatureAlgorithm::RsaSha1,
            AlgSpec::RsaSha512 => SignatureAlgorithm::RsaSha512,
            AlgSpec::EcdsaSha256 => SignatureAlgorithm::EcdsaSha256,
        },
        relay_state,
        stop_after_request: spec.stop_after_request,
    })
}

/// What a correct login signs, given what the target says the SP requires. `either` and an
/// unset value sign the assertion, which every SP accepts except those requiring both.
fn default_sign_mode(requires: Option<RequiresSigned>) -> SignMode {
    match requires {
        Some(RequiresSigned::Response) => SignMode::Response,
        Some(RequiresSigned::Both) => SignMode::Both,
        Some(RequiresSigned::Assertion | RequiresSigned::Either) | None => SignMode::Assertion,
    }
}
