//! Condition checks: the victim's Response, genuinely signed by the IdP, with exactly one
//! thing wrong. A careful SP refuses every one of them; nothing about the signature is.
//!
//! "Now" is `s.base.issue_instant` (the flow makes the base Response just before forging),
//! so the times are relative to the same clock as a correct login.

use time::{Duration, OffsetDateTime};

use super::kit::{assertion_mut, find_child_mut, forged_doc, signed_mode, victim};
use super::wrapping::STATUS_RESPONDER;
use super::{Attack, AttackError, Forged, Scenario};
use crate::saml::dsig::SAML_ASSERTION_NS;
use crate::saml::idp::SAMLP_NS;
use crate::saml::response::{self, ResponseSpec, SignMode, new_id, saml_timestamp};
use crate::saml::xml::{Document, Element};

/// An audience that is not the SP's.
pub(super) const OTHER_AUDIENCE: &str = "https://other-sp.oinspect.test/metadata";
/// An ACS URL that is not the SP's (Recipient, Destination).
pub(super) const OTHER_ACS: &str = "https://other-sp.oinspect.test/acs";
/// An entity ID that is not the IdP's.
pub(super) const OTHER_ISSUER: &str = "https://attacker-idp.oinspect.test";
/// Second-level status of a failed authentication (SAML core §3.2.2.2).
pub(super) const STATUS_AUTHN_FAILED: &str = "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed";
/// Far outside any clock skew an SP tolerates (minutes at most).
const HOUR: i64 = 3600;

/// A change to the built (unsigned) document, given "now".
type Edit = fn(&mut Document, OffsetDateTime) -> Result<(), AttackError>;

pub(super) fn forge(attack: Attack, s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let now = s.base.issue_instant;
    let mut spec = s.base.clone();
    let mut mode = signed_mode(s.base.sign);
    let (what, edit) = one_wrong(attack, now, &mut spec, &mut mode)?;
    let mut doc = response::build(&spec);
    if let Some(edit) = edit {
        edit(&mut doc, now)?;
    }
    response::sign(&mut doc, mode, spec.alg, s.idp)?;
    forged_doc(
        &mut doc,
        s,
        None,
        format!(
            "the victim's Response genuinely signed by the IdP, with {what}; for {}",
            victim(s)
        ),
    )
}

/// Makes `attack`'s one condition wrong in `spec` (and `mode`), or returns the edit that
/// does it on the built document; says what it did.
fn one_wrong(
    attack: Attack,
    now: OffsetDateTime,
    spec: &mut ResponseSpec,
    mode: &mut SignMode,
) -> Result<(String, Option<Edit>), AttackError> {
    let mut edit: Option<Edit> = None;
    let what = match attack {
        Attack::Expired => {
            // Issued 1h5m ago, valid 5 minutes: NotOnOrAfter (Conditions and
            // SubjectConfirmationData) one hour ago.
            spec.issue_instant = at(now, -HOUR - 300);
            spec.clock_skew_secs = 0;
            spec.lifetime_secs = 300;
            "issued 1h5m ago, Conditions and SubjectConfirmationData NotOnOrAfter 1 hour ago"
                .to_string()
        }
        Attack::NotYetValid => {
            spec.issue_instant = at(now, HOUR);
            spec.clock_skew_secs = 0;
            "IssueInstant, NotBefore and AuthnInstant 1 hour in the future".to_string()
        }
        Attack::SubjectConfirmationExpired => {
            edit = Some(|doc, now| {
                confirmation_data(doc)?.set_attr("NotOnOrAfter", &saml_timestamp(at(now, -HOUR)));
                Ok(())
            });
            "SubjectConfirmationData NotOnOrAfter 1 hour ago (Conditions valid)".to_string()
        }
        Attack::AudienceMismatch => {
            spec.audience = OTHER_AUDIENCE.to_string();
            format!("Audience {OTHER_AUDIENCE}")
        }
        Attack::AudienceMissing => {
            edit = Some(|doc, _| {
                conditions(doc)?
                    .children
                    .retain(|n| !matches!(n.as_element(), Some(e) if e.is(SAML_ASSERTION_NS, "AudienceRestriction")));
                Ok(())
            });
            "Conditions without any AudienceRestriction".to_string()
        }
        Attack::RecipientMismatch => {
            spec.recipient = OTHER_ACS.to_string();
            format!("SubjectConfirmationData Recipient {OTHER_ACS}")
        }
        Attack::DestinationMismatch => {
            // Bindings §3.5.5.2 makes the Destination check mandatory for signed messages,
            // so the Response is signed too (with the Assertion): no SP may skip it here.
            spec.destination = OTHER_ACS.to_string();
            *mode = SignMode::Both;
            format!("Response Destination {OTHER_ACS} (Response and Assertion signed)")
        }
        Attack::IssuerMismatch => {
            spec.issuer = OTHER_ISSUER.to_string();
            format!(
                "Issuer {OTHER_ISSUER} on the Response and the Assertion (signed with the IdP's key)"
            )
        }
        Attack::StatusNotSuccess => {
            spec.status = STATUS_RESPONDER.to_string();
            edit = Some(|doc, _| {
                let status = find_child_mut(&mut doc.root, SAMLP_NS, "Status")?;
                find_child_mut(status, SAMLP_NS, "StatusCode")?.append_child(
                    Element::new_ns("samlp", SAMLP_NS, "StatusCode")
                        .with_attr("Value", STATUS_AUTHN_FAILED),
                );
                Ok(())
            });
            "status Responder/AuthnFailed with the Assertion still present".to_string()
        }
        Attack::InResponseToUnknown => {
            let id = new_id();
            spec.in_response_to = Some(id.clone());
            format!(
                "InResponseTo {id} (Response and SubjectConfirmationData), a request the SP never issued"
            )
        }
        Attack::Skew(secs) if secs >= 0 => {
            spec.issue_instant = at(now, secs);
            spec.clock_skew_secs = 0;
            format!("IssueInstant, NotBefore and AuthnInstant {secs} s in the future")
        }
        Attack::Skew(secs) => {
            // NotOnOrAfter = IssueInstant + lifetime = now + secs (secs < 0).
            spec.issue_instant = at(now, secs.saturating_sub(spec.lifetime_secs));
            format!(
                "NotOnOrAfter (Conditions and SubjectConfirmationData) {} s ago",
                secs.unsigned_abs()
            )
        }
        other => {
            return Err(AttackError::Unsupported(format!(
                "{other} is not a condition attack"
            )));
        }
    };
    Ok((what, edit))
}

/// `t + secs`, saturating instead of panicking (`skew/<secs>` comes from plans).
fn at(t: OffsetDateTime, secs: i64) -> OffsetDateTime {
    t.saturating_add(Duration::seconds(secs))
}

fn conditions(doc: &mut Document) -> Result<&mut Element, AttackError> {
    find_child_mut(assertion_mut(doc)?, SAML_ASSERTION_NS, "Conditions")
}

fn confirmation_data(doc: &mut Document) -> Result<&mut Element, AttackError> {
    let subject = find_child_mut(assertion_mut(doc)?, SAML_ASSERTION_NS, "Subject")?;
    let confirmation = find_child_mut(subject, SAML_ASSERTION_NS, "SubjectConfirmation")?;
    find_child_mut(confirmation, SAML_ASSERTION_NS, "SubjectConfirmationData")
}

#[cfg(test)]
mod tests {
    use super::super::kit::testing::*;
    use super::*;
    use crate::saml::dsig::{self, signature_paths};
    use crate::saml::xml::NodePath;

    fn run(attack: Attack, s: &Scenario<'_>) -> Document {
        let f = forge(attack, s).unwrap();
        assert_eq!(f.claimed, VICTIM);
        assert_eq!(f.genuine, None);
        assert!(!f.description.contains('\n'));
        let doc = parse(&f.xml);
        // Genuinely signed: every signature verifies strictly.
        let n = dsig::verify(&doc, std::slice::from_ref(&s.idp.cert))
            .unwrap()
            .len();
        assert_eq!(n, signature_paths(&doc).len());
        assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
        doc
    }

    fn assertion(doc: &Document) -> &Element {
        doc.get(&consumed(doc)).unwrap()
    }

    fn child<'a>(e: &'a Element, local: &str) -> &'a Element {
        e.find_child(SAML_ASSERTION_NS, local)
            .unwrap_or_else(|| panic!("no {local}"))
    }

    fn scd(doc: &Document) -> &Element {
        child(
            child(child(assertion(doc), "Subject"), "SubjectConfirmation"),
            "SubjectConfirmationData",
        )
    }

    fn cond(doc: &Document) -> &Element {
        child(assertion(doc), "Conditions")
    }

    fn ts(s: &Scenario<'_>, secs: i64) -> String {
        saml_timestamp(at(s.base.issue_instant, secs))
    }

    #[test]
    fn time_conditions() {
        let s = scenario(SignMode::Assertion);
        let doc = run(Attack::Expired, &s);
        assert_eq!(
            cond(&doc).attr("NotOnOrAfter"),
            Some(ts(&s, -HOUR).as_str())
        );
        assert_eq!(scd(&doc).attr("NotOnOrAfter"), Some(ts(&s, -HOUR).as_str()));
        assert_eq!(
            assertion(&doc).attr("IssueInstant"),
            Some(ts(&s, -HOUR - 300).as_str())
        );

        let doc = run(Attack::NotYetValid, &s);
        assert_eq!(cond(&doc).attr("NotBefore"), Some(ts(&s, HOUR).as_str()));
        assert_eq!(doc.root.attr("IssueInstant"), Some(ts(&s, HOUR).as_str()));

        let doc = run(Attack::SubjectConfirmationExpired, &s);
        assert_eq!(scd(&doc).attr("NotOnOrAfter"), Some(ts(&s, -HOUR).as_str()));
        assert_eq!(cond(&doc).attr("NotOnOrAfter"), Some(ts(&s, 300).as_str()));
        assert_eq!(cond(&doc).attr("NotBefore"), Some(ts(&s, -30).as_str()));

        let doc = run(Attack::Skew(120), &s);
        assert_eq!(cond(&doc).attr("NotBefore"), Some(ts(&s, 120).as_str()));
        let au = child(assertion(&doc), "AuthnStatement");
        assert_eq!(au.attr("AuthnInstant"), Some(ts(&s, 120).as_str()));

        let doc = run(Attack::Skew(-120), &s);
        assert_eq!(cond(&doc).attr("NotOnOrAfter"), Some(ts(&s, -120).as_str()));
        assert_eq!(scd(&doc).attr("NotOnOrAfter"), Some(ts(&s, -120).as_str()));

        // Absurd skews saturate instead of panicking.
        for secs in [i64::MAX, i64::MIN, 0] {
            forge(Attack::Skew(secs), &s).unwrap();
        }
    }

    #[test]
    fn audience_recipient_destination_issuer() {
        let s = scenario(SignMode::Assertion);
        let doc = run(Attack::AudienceMismatch, &s);
        let ar = child(cond(&doc), "AudienceRestriction");
        assert_eq!(child(ar, "Audience").text(), OTHER_AUDIENCE);

        let doc = run(Attack::AudienceMissing, &s);
        assert!(
            cond(&doc)
                .find_child(SAML_ASSERTION_NS, "AudienceRestriction")
                .is_none()
        );
        assert!(cond(&doc).attr("NotOnOrAfter").is_some());

        let doc = run(Attack::RecipientMismatch, &s);
        assert_eq!(scd(&doc).attr("Recipient"), Some(OTHER_ACS));
        assert_eq!(doc.root.attr("Destination"), Some(ACS));

        let doc = run(Attack::DestinationMismatch, &s);
        assert_eq!(doc.root.attr("Destination"), Some(OTHER_ACS));
        assert_eq!(scd(&doc).attr("Recipient"), Some(ACS));
        assert_eq!(signature_paths(&doc).len(), 2, "Response signed too");
        assert!(
            doc.root
                .find_child(crate::saml::dsig::DSIG_NS, "Signature")
                .is_some()
        );

        let doc = run(Attack::IssuerMismatch, &s);
        assert_eq!(child(&doc.root, "Issuer").text(), OTHER_ISSUER);
        assert_eq!(child(assertion(&doc), "Issuer").text(), OTHER_ISSUER);
    }

    #[test]
    fn status_and_in_response_to() {
        let s = scenario(SignMode::Response);
        let doc = run(Attack::StatusNotSuccess, &s);
        let top = doc
            .root
            .find_child(SAMLP_NS, "Status")
            .and_then(|st| st.find_child(SAMLP_NS, "StatusCode"))
            .unwrap();
        assert_eq!(top.attr("Value"), Some(STATUS_RESPONDER));
        let sub = top.find_child(SAMLP_NS, "StatusCode").unwrap();
        assert_eq!(sub.attr("Value"), Some(STATUS_AUTHN_FAILED));
        assert_eq!(
            signature_paths(&doc),
            [NodePath(vec![1])],
            "as the SP expects: Response"
        );

        let doc = run(Attack::InResponseToUnknown, &s);
        let irt = doc.root.attr("InResponseTo").unwrap();
        assert_ne!(Some(irt), s.base.in_response_to.as_deref());
        assert_eq!(scd(&doc).attr("InResponseTo"), Some(irt));
    }

    #[test]
    fn ec_idp_and_unsigned_base_still_sign() {
        let s = ec_scenario(SignMode::None);
        let doc = run(Attack::AudienceMismatch, &s);
        assert_eq!(signature_paths(&doc).len(), 1);
        assert!(matches!(
            forge(Attack::Dtd, &s),
            Err(AttackError::Unsupported(_))
        ));
    }
}
