//! `saml:` steps: a login through `saml::flows`, judged on what the session check says and,
//! for SP-initiated logins, on the AuthnRequest the SP sent.

use std::sync::Arc;

use super::{Ending, RunContext, Trail};
use crate::http::Exchange;
use crate::plan::model::{
    AlgSpec, CipherSpec, LoginExpect, MeasureSpec, NameIdFormatSpec, SamlFlow, SamlStepSpec,
    SignSpec, TenantSpec, TransportSpec,
};
use crate::plan::{Step, TestCase};
use crate::run::outcome::{Finding, Outcome};
use crate::run::scope::Scope;
use crate::saml::attacks::Attack;
use crate::saml::dsig::SignatureAlgorithm;
use crate::saml::flows::{
    self, AttackSetup, FlowReport, LoginPlan, SessionCheckSettings, SpSettings, Verdict,
};
use crate::saml::idp::IdpIdentity;
use crate::saml::metadata::{self, SpMetadata};
use crate::saml::request::{self, RequestExpectations};
use crate::saml::response::{NameIdFormat, SignMode};
use crate::saml::xmlenc::{BlockCipher, KeyTransport};
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
    if spec.flow == SamlFlow::SpMetadata {
        return check_metadata(ctx, test, step, number, &mut trail.notes).await;
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
    if spec.flow == SamlFlow::SpInitiated
        && saml.login_url.is_none()
        && spec.tenant != Some(TenantSpec::Second)
    {
        // Not the whole test: its IdP-initiated variant may still run.
        trail.unjudged.push(format!(
            "step {number}: the target has no saml.login_url (SP-initiated login)"
        ));
        return None;
    }
    let (mut plan, acting) = match login_plan(ctx, spec, scope) {
        Ok(p) => p,
        Err(PlanError::Missing(p)) => return Some(super::missing(test, &p)),
        Err(PlanError::Skip(reason)) => return Some(Ending::skip(reason)),
    };
    let mut canary_token = None;
    if let Some(name) = &spec.attack {
        match attack_setup(ctx, name, acting, metadata.as_deref()).await {
            Ok((setup, token)) => {
                plan.attack = Some(setup);
                canary_token = token;
            }
            Err(ending) => return Some(ending),
        }
    }
    // The target's own settings win; the SP metadata fills what the target leaves out.
    let metadata_acs = metadata.as_ref().and_then(|m| default_post_acs(m));
    let first_acs = saml
        .acs_url
        .as_ref()
        .map(|u| &u.0)
        .or(metadata_acs.as_ref());
    let first_entity = saml
        .entity_id
        .as_ref()
        .map(|e| e.as_str())
        .or(metadata.as_ref().map(|m| m.entity_id.as_str()));
    let sp_certs = metadata
        .as_ref()
        .map_or(&[][..], |m| m.signing_certs.as_slice());
    let sp_encryption_cert = metadata.as_ref().and_then(|m| m.encryption_certs.first());
    if spec.encrypt.is_some() && sp_encryption_cert.is_none() {
        return Some(Ending::skip(
            "the SP advertises no encryption certificate (KeyDescriptor use=\"encryption\" in saml.sp_metadata)".into(),
        ));
    }
    let sp = match spec.tenant {
        None | Some(TenantSpec::First) => SpSettings {
            login_url: saml.login_url.as_ref().map(|u| &u.0),
            acs_url: first_acs,
            post_to: None,
            entity_id: first_entity,
            sp_certs,
            sp_encryption_cert,
            session: session(check),
            clock_skew_secs: saml.clock_skew_secs,
        },
        Some(TenantSpec::Second) => {
            let Some(second) = saml.second_tenant.as_ref() else {
                return Some(Ending::skip(
                    "the target lists no saml.second_tenant (another tenant of the same app)"
                        .into(),
                ));
            };
            if spec.flow == SamlFlow::SpInitiated {
                return Some(Ending::error(format!(
                    "step {number}: `tenant: second` needs `flow: idp-initiated`"
                )));
            }
            // `audience_of: own`: the first tenant's assertion as it is, posted to the
            // second tenant; `target`: minted for the second tenant by the first tenant's
            // IdP, as an admin of the first tenant who configures its IdP could.
            let own = spec.audience_of != Some(TenantSpec::Second);
            SpSettings {
                login_url: None,
                acs_url: if own {
                    first_acs
                } else {
                    Some(&second.acs_url.0)
                },
                post_to: Some(&second.acs_url.0),
                entity_id: if own {
                    first_entity
                } else {
                    Some(second.entity_id.as_str())
                },
                sp_certs,
                sp_encryption_cert,
                session: session(&second.session_check),
                clock_skew_secs: saml.clock_skew_secs,
            }
        }
    };
    let client = match ctx.client.with_cookie_jar() {
        Ok(c) => c,
        Err(e) => return Some(Ending::error(format!("step {number}: {e}"))),
    };
    if spec.measure == Some(MeasureSpec::ClockSkew) {
        return measure_clock_skew(ctx, step, number, &client, &idp, &sp, plan, trail).await;
    }
    let mut report = FlowReport::default();
    let result = flows::login(&client, &idp, &sp, &plan, &mut report).await;
    let Trail {
        evidence,
        notes,
        judged,
        unjudged,
    } = trail;
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
        let what = if plan.attack.is_some() {
            "SAML Response sent (forged)"
        } else {
            "SAML Response sent"
        };
        evidence.push(Exchange::decoded(what, xml, redactor));
    }
    if let Some(d) = &report.attack_description {
        notes.push(format!("step {number}: forged: {d}"));
    }
    let mut findings = Vec::new();
    // The canary is judged even when the flow failed: a fetch is a finding however the
    // login ended.
    if let (Some(token), Ok(canary)) = (&canary_token, ctx.canary().await) {
        let hits = wait_for_canary(&canary, token).await;
        if !hits.is_empty() {
            findings.push(Finding {
                step: number,
                subject: "external entity".into(),
                expected: "the SP never to fetch the URL in the DOCTYPE's external entities".into(),
                actual: format!(
                    "the canary on 127.0.0.1 got {} request(s): {}",
                    hits.len(),
                    hits.iter()
                        .map(|h| format!("{} from {}", h.request_line, h.peer))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                location: step.location.clone(),
            });
        }
    }
    if let Err(e) = result {
        if findings.is_empty() {
            return Some(Ending::error(format!("step {number}: {e}")));
        }
        notes.push(format!("step {number}: the flow ended early: {e}"));
    }
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
    if plan.replay {
        match &report.first_verdict {
            Some(Verdict::Accepted) => notes.push(format!(
                "step {number}: the first post logged in as {:?}; the replay is judged",
                plan.name_id
            )),
            Some(_) | None if findings.is_empty() => {
                unjudged.push(format!(
                    "step {number}: inconclusive: the first, genuine post of the Response did not log in, so a replay proves nothing ({})",
                    report.decided_by
                ));
                return None;
            }
            _ => {}
        }
    }
    *judged += 1;
    if !report.acs_answer.is_empty() {
        notes.push(format!(
            "step {number}: the ACS answered {}",
            redactor.redact(&report.acs_answer)
        ));
    }
    if let (Some(want), Some(verdict)) = (step.expect.login, &report.verdict) {
        notes.push(format!("step {number}: {}", report.decided_by));
        if let Verdict::OtherIdentity(who) = verdict
            && want == LoginExpect::Rejected
        {
            let whose = if report.genuine.as_deref() == Some(who.as_str()) {
                "the identity the IdP really signed: the SP processed only what was signed"
            } else {
                "not the forged identity"
            };
            notes.push(format!("step {number}: logged in as {who:?}, {whose}"));
        }
        if let Some(f) = login_finding(want, verdict, &plan, &report, &idp, step, number) {
            findings.push(f);
        }
    }
    if step.expect.offsite_redirect == Some(false)
        && let Some(to) = &report.offsite_redirect
    {
        findings.push(Finding {
            step: number,
            subject: "redirect after login".into(),
            expected:
                "no redirect off the SP's own origin (RelayState checked against an allow-list)"
                    .into(),
            actual: format!("the SP redirected the browser to {to}"),
            location: step.location.clone(),
        });
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

fn session(c: &crate::target::SessionCheck) -> SessionCheckSettings<'_> {
    SessionCheckSettings {
        url: &c.url.0,
        status: c.status,
        body_contains: c.body_contains.as_ref().map(|b| b.as_str()),
        json_path: c.json_path.as_deref(),
    }
}

/// Everything a forgery needs; `Err` ends the step (skip when the attack does not apply).
async fn attack_setup(
    ctx: &RunContext,
    name: &str,
    (attacker_identity, attacker_attributes): Acting,
    metadata: Option<&SpMetadata>,
) -> Result<(AttackSetup, Option<String>), Ending> {
    let attack =
        Attack::from_name(name).ok_or_else(|| Ending::error(format!("unknown attack `{name}`")))?;
    let attacker = ctx.attacker().await.map_err(Ending::error)?;
    let mut token = None;
    let canary_url = if attack == Attack::Xxe {
        let canary = ctx.canary().await.map_err(Ending::error)?;
        let t = crate::saml::response::new_id()
            .trim_start_matches('_')
            .to_string();
        let url = canary.url_for(&t);
        token = Some(t);
        Some(url)
    } else {
        None
    };
    let sp_encryption_cert = metadata.and_then(|m| m.encryption_certs.first().cloned());
    let is_encrypted = matches!(
        attack,
        Attack::EncryptedWrongKey | Attack::EncryptedUnsignedInner
    );
    if is_encrypted && sp_encryption_cert.is_none() {
        return Err(Ending::skip(
            "the SP advertises no encryption certificate (KeyDescriptor use=\"encryption\" in its metadata)".into(),
        ));
    }
    Ok((
        AttackSetup {
            attack,
            attacker,
            attacker_identity,
            attacker_attributes,
            canary_url,
            sp_encryption_cert,
        },
        token,
    ))
}

/// Requests may reach the canary a little after the ACS answered (an SP that resolves
/// entities in a background job): wait briefly, bounded.
async fn wait_for_canary(canary: &super::canary::Canary, token: &str) -> Vec<super::canary::Hit> {
    for _ in 0..10 {
        let hits = canary.hits_for(token);
        if !hits.is_empty() {
            return hits;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    canary.hits_for(token)
}

/// Seconds by which assertions are shifted into the future (issued early) and the past
/// (expired late) when measuring clock-skew tolerance.
const SKEW_PROBES: [i64; 6] = [30, 90, 180, 300, 600, 1800];
/// Tolerance above which the measurement is a finding: five minutes is what SAML
/// libraries default to and what guides recommend as the maximum.
const MAX_REASONABLE_SKEW_SECS: i64 = 300;

/// `measure: clock-skew`: one genuine login per probe, each shifted further, to find the
/// largest shift the SP still accepts in each direction.
#[allow(clippy::too_many_arguments)]
async fn measure_clock_skew(
    ctx: &RunContext,
    step: &Step,
    number: usize,
    client: &crate::http::HttpClient,
    idp: &IdpIdentity,
    sp: &SpSettings<'_>,
    plan: LoginPlan,
    trail: &mut Trail,
) -> Option<Ending> {
    let attacker = match ctx.attacker().await {
        Ok(a) => a,
        Err(m) => return Some(Ending::error(format!("step {number}: {m}"))),
    };
    let probe_plan = |secs: i64| {
        let mut p = plan.clone();
        p.attack = Some(AttackSetup {
            attack: Attack::Skew(secs),
            attacker: attacker.clone(),
            attacker_identity: plan.name_id.clone(),
            attacker_attributes: plan.attributes.clone(),
            canary_url: None,
            sp_encryption_cert: None,
        });
        p
    };
    let mut tolerated = [0i64; 2];
    for (direction, sign) in [(0usize, 1i64), (1, -1)] {
        for secs in SKEW_PROBES {
            let probe = probe_plan(sign * secs);
            let mut report = FlowReport::default();
            let jar = match client.with_cookie_jar() {
                Ok(c) => c,
                Err(e) => return Some(Ending::error(format!("step {number}: {e}"))),
            };
            let result = flows::login(&jar, idp, sp, &probe, &mut report).await;
            trail.evidence.append(&mut report.exchanges);
            if let Err(e) = result {
                return Some(Ending::error(format!("step {number}: {e}")));
            }
            if report.verdict != Some(Verdict::Accepted) {
                break;
            }
            tolerated[direction] = secs;
        }
    }
    let [early, late] = tolerated;
    let describe = |secs: i64, max: bool| {
        if secs == 0 {
            format!("less than {} s", SKEW_PROBES[0])
        } else if max {
            format!("at least {secs} s")
        } else {
            format!("{secs} s")
        }
    };
    let last = SKEW_PROBES[SKEW_PROBES.len() - 1];
    let summary = format!(
        "accepts assertions issued up to {} in the future and up to {} after they expired",
        describe(early, early == last),
        describe(late, late == last),
    );
    trail
        .notes
        .push(format!("step {number}: clock skew: {summary}"));
    if early.max(late) <= MAX_REASONABLE_SKEW_SECS {
        return None;
    }
    let finding = Finding {
        step: number,
        subject: "clock-skew tolerance".into(),
        expected: format!("at most {MAX_REASONABLE_SKEW_SECS} s either way"),
        actual: summary,
        location: step.location.clone(),
    };
    Some(Ending {
        outcome: Outcome::Fail,
        message: finding.to_string(),
        findings: vec![finding],
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
        // A forgery with no intact, genuinely signed assertion in it (tampered content, a
        // foreign key): a session as anyone means the SP believed unverified content.
        (LoginExpect::Rejected, Verdict::OtherIdentity(who))
            if plan.attack.is_some() && report.genuine.is_none() =>
        {
            Some(finding(
                "the forged Response to be refused".into(),
                format!(
                    "logged in as {who:?} from a Response whose signed content was changed or never signed by the IdP: {} (the ACS answered {})",
                    report.decided_by, report.acs_answer
                ),
            ))
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

/// The user a step acts as (the attacker, in a forgery): identity and attributes.
type Acting = (String, Vec<(String, Vec<String>)>);

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
) -> Result<(LoginPlan, Acting), PlanError> {
    let user = match &spec.user {
        Some(name) => Some(ctx.target.users.get(name).ok_or_else(|| {
            PlanError::Skip(format!(
                "the target has no `users.{name}`; add it to run this test"
            ))
        })?),
        None => None,
    };
    let acting = match (&spec.name_id, user) {
        (Some(t), _) => t.render(scope)?,
        (None, Some(u)) => u.email.as_str().to_string(),
        (None, None) => {
            return Err(PlanError::Skip(
                "the step names neither `user` nor `name_id`".into(),
            ));
        }
    };
    // A forgery asserts the victim (with the victim's attributes); the acting user is the
    // attacker, whose genuine assertions wrapping attacks start from.
    let (name_id, subject) = if spec.attack.is_some() {
        victim(ctx, spec, &acting)?
    } else {
        (acting.clone(), user)
    };
    let mut attributes = subject.map(user_attributes).unwrap_or_default();
    let acting_attributes = user.map(user_attributes).unwrap_or_default();
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
    let plan = LoginPlan {
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
        attack: None,
        replay: spec.replay,
        other_browser: spec.other_browser,
        encrypt: spec.encrypt.map(|e| crate::saml::response::Encryption {
            cipher: match e.cipher {
                CipherSpec::Aes128Cbc => BlockCipher::Aes128Cbc,
                CipherSpec::Aes256Cbc => BlockCipher::Aes256Cbc,
                CipherSpec::Aes128Gcm => BlockCipher::Aes128Gcm,
                CipherSpec::Aes256Gcm => BlockCipher::Aes256Gcm,
            },
            transport: match e.transport {
                TransportSpec::RsaOaepMgf1p => KeyTransport::RsaOaepMgf1p,
                TransportSpec::RsaOaep => KeyTransport::RsaOaep,
            },
        }),
    };
    Ok((plan, (acting, acting_attributes)))
}

/// The attributes an IdP sends for a test user: email, firstName, lastName, groups.
fn user_attributes(u: &crate::target::TestUser) -> Vec<(String, Vec<String>)> {
    let mut attributes = vec![("email".to_string(), vec![u.email.as_str().to_string()])];
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
    attributes
}

/// Whom a forgery tries to log in as: `users.<victim>` (default `victim`), else a made-up
/// address in the acting user's domain, which JIT SPs accept and others may not know (the
/// report says so when the forgery is rejected for that reason alone).
fn victim<'t>(
    ctx: &'t RunContext,
    spec: &SamlStepSpec,
    acting: &str,
) -> Result<(String, Option<&'t crate::target::TestUser>), PlanError> {
    let name = spec.victim.as_deref().unwrap_or("victim");
    if let Some(u) = ctx.target.users.get(name) {
        let email = u.email.as_str().to_string();
        if email == acting {
            return Err(PlanError::Skip(format!(
                "users.{name} is the acting user too: a forgery needs a victim other than the attacker"
            )));
        }
        return Ok((email, Some(u)));
    }
    if spec.victim.is_some() {
        return Err(PlanError::Skip(format!(
            "the target has no `users.{name}`; add it to run this test"
        )));
    }
    let domain = acting.rsplit_once('@').map_or("example.test", |(_, d)| d);
    Ok((format!("oinspect-victim@{domain}"), None))
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
