//! Building blocks shared by the generators: genuine IdP-signed material, moving an element
//! from one identity to another, cutting signatures out and putting them elsewhere, and the
//! digest a Reference would carry. Tests also find here the deliberately weak verifiers the
//! attacks are aimed at.
//!
//! Vocabulary used by every generator: the *original* is the attacker's genuinely signed
//! Response or Assertion; the *evil* element is the same content naming the victim.

use openssl::hash::{MessageDigest, hash};
use openssl::pkey::{PKeyRef, Private};
use openssl::x509::X509;

use super::{AttackError, Forged, Scenario};
use crate::saml::c14n::{self, C14nMethod, C14nOptions};
use crate::saml::dsig::{
    DSIG_NS, DigestAlgorithm, KeyedSigner, SAML_ASSERTION_NS, SignOptions, SignatureAlgorithm,
};
use crate::saml::response::{self, ResponseSpec, SignMode, new_id};
use crate::saml::xml::{Document, Element, Node, NodePath, XmlError};

/// An inconsistency in a document we built ourselves (never expected; reported, not
/// panicked on).
pub(super) fn inconsistent(what: &str) -> AttackError {
    AttackError::Xml(XmlError::InvalidTree(what.to_string()))
}

/// Whom every forgery tries to log in as.
pub(super) fn victim<'s>(s: &'s Scenario<'_>) -> &'s str {
    &s.base.name_id
}

/// What the SP expects signed; the Assertion when it expects nothing, because a genuine
/// IdP Response always carries some signature.
pub(super) fn signed_mode(mode: SignMode) -> SignMode {
    if mode == SignMode::None {
        SignMode::Assertion
    } else {
        mode
    }
}

/// `s.base` re-issued for `identity`: the NameID and every attribute value that named the
/// victim name `identity` instead (the email attribute, typically), with fresh IDs so that
/// two such Responses can share one document without an accidental duplicate ID.
pub(super) fn spec_for(s: &Scenario<'_>, identity: &str) -> ResponseSpec {
    let mut spec = s.base.clone();
    for (_, values) in &mut spec.attributes {
        for v in values.iter_mut() {
            if *v == s.base.name_id {
                *v = identity.to_string();
            }
        }
    }
    if identity == s.attacker_identity && !s.attacker_attributes.is_empty() {
        spec.attributes = s.attacker_attributes.clone();
    }
    spec.name_id = identity.to_string();
    spec.response_id = new_id();
    spec.assertion_id = new_id();
    spec.session_index = new_id();
    spec
}

/// The Response for `spec`, signed by the IdP per `mode`: what an attacker genuinely holds.
pub(super) fn genuine(
    s: &Scenario<'_>,
    spec: &ResponseSpec,
    mode: SignMode,
) -> Result<Document, AttackError> {
    let mut doc = response::build(spec);
    response::sign(&mut doc, mode, spec.alg, s.idp)?;
    Ok(doc)
}

/// The attacker's own genuine Response, signed per `mode`.
pub(super) fn attacker_genuine(s: &Scenario<'_>, mode: SignMode) -> Result<Document, AttackError> {
    genuine(s, &spec_for(s, &s.attacker_identity), mode)
}

/// Index in `parent.children` of the first child element `{ns}local`.
pub(super) fn child_index(parent: &Element, ns: &str, local: &str) -> Option<usize> {
    parent
        .indexed_child_elements()
        .find(|(_, e)| e.is(ns, local))
        .map(|(i, _)| i)
}

/// Index of the first `saml:Assertion` child.
pub(super) fn assertion_index(parent: &Element) -> Result<usize, AttackError> {
    child_index(parent, SAML_ASSERTION_NS, "Assertion")
        .ok_or_else(|| inconsistent("the Response has no saml:Assertion child"))
}

/// The child element at `index`.
pub(super) fn element_child(parent: &Element, index: usize) -> Result<&Element, AttackError> {
    parent
        .children
        .get(index)
        .and_then(Node::as_element)
        .ok_or_else(|| inconsistent("expected an element child"))
}

/// The child element at `index`, mutably.
pub(super) fn child_mut(parent: &mut Element, index: usize) -> Result<&mut Element, AttackError> {
    match parent.children.get_mut(index) {
        Some(Node::Element(e)) => Ok(e),
        _ => Err(inconsistent("expected an element child")),
    }
}

/// The first child element `{ns}local`, mutably.
pub(super) fn find_child_mut<'a>(
    parent: &'a mut Element,
    ns: &str,
    local: &str,
) -> Result<&'a mut Element, AttackError> {
    let i = child_index(parent, ns, local)
        .ok_or_else(|| inconsistent(&format!("<{}> has no {local} child", parent.name.local)))?;
    child_mut(parent, i)
}

/// Removes the child element at `index` and returns it.
pub(super) fn remove_child(parent: &mut Element, index: usize) -> Result<Element, AttackError> {
    if !matches!(parent.children.get(index), Some(Node::Element(_))) {
        return Err(inconsistent("expected an element child to remove"));
    }
    match parent.children.remove(index) {
        Node::Element(e) => Ok(e),
        _ => Err(inconsistent("expected an element child to remove")),
    }
}

/// Where the SAML schema puts `ds:Signature`: right after `saml:Issuer`, else first.
pub(super) fn after_issuer(el: &Element) -> usize {
    match el.indexed_child_elements().next() {
        Some((i, first)) if first.is(SAML_ASSERTION_NS, "Issuer") => i + 1,
        _ => 0,
    }
}

/// Where `samlp:Extensions` goes in a Response: after Issuer and Signature.
pub(super) fn after_issuer_and_signature(el: &Element) -> usize {
    let at = after_issuer(el);
    match el.children.get(at) {
        Some(Node::Element(e)) if e.is(DSIG_NS, "Signature") => at + 1,
        _ => at,
    }
}

/// Inserts `child` where the schema puts a signature (after Issuer).
pub(super) fn insert_after_issuer(el: &mut Element, child: Element) {
    let at = after_issuer(el);
    el.insert_child(at, Node::Element(child));
}

/// Removes the element's own `ds:Signature` child and returns it.
pub(super) fn take_signature(el: &mut Element) -> Option<Element> {
    let i = child_index(el, DSIG_NS, "Signature")?;
    remove_child(el, i).ok()
}

/// The element's own `ds:Signature` child, mutably.
pub(super) fn signature_mut(el: &mut Element) -> Result<&mut Element, AttackError> {
    find_child_mut(el, DSIG_NS, "Signature")
}

/// A copy of `el` without its own `ds:Signature`: what the enveloped-signature transform
/// digests, so its digest equals the one in the removed signature.
pub(super) fn without_signature(el: &Element) -> Element {
    let mut copy = el.clone();
    take_signature(&mut copy);
    copy
}

/// Replaces the element's content with `text`.
pub(super) fn set_text(el: &mut Element, text: &str) {
    el.children = vec![Node::Text(text.to_string())];
}

/// Calls `f` on `el` and each of its descendant elements (iteratively: no recursion).
pub(super) fn for_each_element_mut(el: &mut Element, f: &mut dyn FnMut(&mut Element)) {
    let mut stack = vec![el];
    while let Some(e) = stack.pop() {
        f(e);
        for c in e.children.iter_mut().rev() {
            if let Node::Element(ce) = c {
                stack.push(ce);
            }
        }
    }
}

/// Makes every `saml:NameID` and `saml:AttributeValue` under `el` whose text is exactly
/// `from` say `to`; returns how many changed. Signatures are not descended into (nothing
/// there names a user, and a wrapped copy inside one must stay as signed).
pub(super) fn retarget(el: &mut Element, from: &str, to: &str) -> usize {
    let mut changed = 0;
    let mut stack = vec![el];
    while let Some(e) = stack.pop() {
        let names_user =
            e.is(SAML_ASSERTION_NS, "NameID") || e.is(SAML_ASSERTION_NS, "AttributeValue");
        if names_user && e.text() == from {
            set_text(e, to);
            changed += 1;
            continue;
        }
        for c in e.children.iter_mut() {
            if let Node::Element(ce) = c
                && !ce.is(DSIG_NS, "Signature")
            {
                stack.push(ce);
            }
        }
    }
    changed
}

/// The `Subject/NameID` of an assertion, mutably.
pub(super) fn name_id_mut(assertion: &mut Element) -> Result<&mut Element, AttackError> {
    let subject = find_child_mut(assertion, SAML_ASSERTION_NS, "Subject")?;
    find_child_mut(subject, SAML_ASSERTION_NS, "NameID")
}

/// The first `saml:Assertion` child of the root, mutably.
pub(super) fn assertion_mut(doc: &mut Document) -> Result<&mut Element, AttackError> {
    let i = assertion_index(&doc.root)?;
    child_mut(&mut doc.root, i)
}

/// The evil twin of a genuine element of the attacker: the same content naming the victim,
/// without the original's signature; a fresh ID when `fresh_id`, else the original's.
pub(super) fn evil_copy(original: &Element, s: &Scenario<'_>, fresh_id: bool) -> Element {
    let mut evil = without_signature(original);
    retarget(&mut evil, &s.attacker_identity, victim(s));
    if fresh_id {
        evil.set_attr("ID", &new_id());
    }
    evil
}

/// The finished forgery.
pub(super) fn forged(
    xml: String,
    s: &Scenario<'_>,
    genuine: Option<String>,
    description: String,
) -> Forged {
    Forged {
        xml,
        claimed: victim(s).to_string(),
        genuine,
        description,
    }
}

/// A forgery whose document is well-formed.
pub(super) fn forged_doc(
    doc: &mut Document,
    s: &Scenario<'_>,
    genuine: Option<String>,
    description: String,
) -> Result<Forged, AttackError> {
    // Elements moved between contexts may use a prefix declared only where they came from.
    doc.fixup_namespaces()?;
    Ok(forged(doc.to_xml(), s, genuine, description))
}

/// Enveloped signatures per `mode` with any key (the IdP's, or the attacker's): the
/// Assertion first, then the Response, calling `after` on each new signature before the
/// next one is made, so that a Response signature covers whatever `after` changed in the
/// Assertion's signature (as it would if the signer had produced it that way).
pub(super) fn sign_levels(
    doc: &mut Document,
    mode: SignMode,
    key: &PKeyRef<Private>,
    cert: &X509,
    opts: &SignOptions,
    after: &mut dyn FnMut(&mut Document, &NodePath) -> Result<(), AttackError>,
) -> Result<(), AttackError> {
    let (assertion, response) = match mode {
        SignMode::None => return Ok(()),
        SignMode::Assertion => (true, false),
        SignMode::Response => (false, true),
        SignMode::Both => (true, true),
    };
    let mut signer = KeyedSigner::new(key, cert, opts)?;
    if assertion {
        let i = assertion_index(&doc.root)?;
        let id = id_of(element_child(&doc.root, i)?)?;
        let path = signer.sign(doc, &id)?;
        after(doc, &path)?;
    }
    if response {
        let id = id_of(&doc.root)?;
        let path = signer.sign(doc, &id)?;
        after(doc, &path)?;
    }
    Ok(())
}

/// The element's `ID`.
pub(super) fn id_of(el: &Element) -> Result<String, AttackError> {
    el.attr("ID")
        .map(str::to_string)
        .ok_or_else(|| inconsistent(&format!("<{}> has no ID", el.name.local)))
}

/// What one `ds:Signature` says about its Reference and SignedInfo.
pub(super) struct SigParts {
    pub reference_id: String,
    pub transform: C14nMethod,
    pub prefixes: Vec<String>,
    pub digest: DigestAlgorithm,
    pub alg: SignatureAlgorithm,
    pub signed_info_c14n: C14nMethod,
}

fn dsig_child<'a>(el: &'a Element, local: &str) -> Result<&'a Element, AttackError> {
    el.find_child(DSIG_NS, local)
        .ok_or_else(|| inconsistent(&format!("ds:{} has no ds:{local}", el.name.local)))
}

/// Reads a signature we (or the IdP) made: one Reference, a c14n transform.
pub(super) fn sig_parts(sig: &Element) -> Result<SigParts, AttackError> {
    let si = dsig_child(sig, "SignedInfo")?;
    let reference = dsig_child(si, "Reference")?;
    let reference_id = reference
        .attr("URI")
        .and_then(|u| u.strip_prefix('#'))
        .ok_or_else(|| inconsistent("Reference URI is not #ID"))?
        .to_string();
    let mut transform = C14nMethod::INCLUSIVE;
    let mut prefixes = Vec::new();
    if let Some(ts) = reference.find_child(DSIG_NS, "Transforms") {
        for t in ts.find_children(DSIG_NS, "Transform") {
            if let Some(m) = t.attr("Algorithm").and_then(C14nMethod::from_uri) {
                transform = m;
                prefixes = t
                    .find_child(c14n::EXC_C14N_URI, "InclusiveNamespaces")
                    .and_then(|n| n.attr("PrefixList"))
                    .map(|l| l.split_ascii_whitespace().map(str::to_string).collect())
                    .unwrap_or_default();
            }
        }
    }
    let uri_of = |local: &str| -> Result<String, AttackError> {
        let parent = if local == "DigestMethod" {
            reference
        } else {
            si
        };
        dsig_child(parent, local)?
            .attr("Algorithm")
            .map(str::to_string)
            .ok_or_else(|| inconsistent("algorithm element without Algorithm"))
    };
    let digest = DigestAlgorithm::from_uri(&uri_of("DigestMethod")?)
        .ok_or_else(|| inconsistent("unknown DigestMethod"))?;
    let alg = SignatureAlgorithm::from_uri(&uri_of("SignatureMethod")?)
        .ok_or_else(|| inconsistent("unknown SignatureMethod"))?;
    let signed_info_c14n = C14nMethod::from_uri(&uri_of("CanonicalizationMethod")?)
        .ok_or_else(|| inconsistent("unknown CanonicalizationMethod"))?;
    Ok(SigParts {
        reference_id,
        transform,
        prefixes,
        digest,
        alg,
        signed_info_c14n,
    })
}

/// `data` hashed with a Reference's digest algorithm.
pub(super) fn digest(alg: DigestAlgorithm, data: &[u8]) -> Result<Vec<u8>, AttackError> {
    let md = match alg {
        DigestAlgorithm::Sha256 => MessageDigest::sha256(),
        DigestAlgorithm::Sha1 => MessageDigest::sha1(),
        DigestAlgorithm::Sha512 => MessageDigest::sha512(),
    };
    Ok(hash(md, data)?.to_vec())
}

/// Paths of the elements whose `ID` is `id`, in document order (duplicates included: the
/// forgeries make them on purpose).
pub(super) fn paths_with_id(doc: &Document, id: &str) -> Vec<NodePath> {
    doc.find_elements(|e| e.attr("ID") == Some(id))
}

/// The digest of the element at `target` as the Reference of the signature at `sig_path`
/// computes it: the transform's c14n without comments (XML-DSig §4.3.3.3), with the
/// signature cut out when it lies inside the target (enveloped-signature transform).
pub(super) fn digest_of(
    doc: &Document,
    target: &NodePath,
    sig_path: &NodePath,
) -> Result<Vec<u8>, AttackError> {
    digest_excluding(doc, target, sig_path, sig_path)
}

/// [`digest_of`] with the enveloped-signature transform cutting out the element at
/// `exclude` instead (what implementations that strip "the referenced element's signature"
/// rather than "this signature" do).
pub(super) fn digest_excluding(
    doc: &Document,
    target: &NodePath,
    sig_path: &NodePath,
    exclude: &NodePath,
) -> Result<Vec<u8>, AttackError> {
    let sig = doc
        .get(sig_path)
        .ok_or_else(|| inconsistent("no signature at the given path"))?;
    let parts = sig_parts(sig)?;
    let canonical = c14n::canonicalize(
        doc,
        target,
        &C14nOptions {
            method: parts.transform.without_comments(),
            inclusive_prefixes: &parts.prefixes,
            exclude: doc.get(exclude),
        },
    )
    .map_err(|e| inconsistent(&e.to_string()))?;
    digest(parts.digest, canonical.as_bytes())
}

/// Canonical SignedInfo of the signature at `sig_path`: the bytes its SignatureValue signs.
pub(super) fn canonical_signed_info(
    doc: &Document,
    sig_path: &NodePath,
) -> Result<String, AttackError> {
    let sig = doc
        .get(sig_path)
        .ok_or_else(|| inconsistent("no signature at the given path"))?;
    let parts = sig_parts(sig)?;
    let i = child_index(sig, DSIG_NS, "SignedInfo")
        .ok_or_else(|| inconsistent("signature without SignedInfo"))?;
    c14n::canonicalize(
        doc,
        &sig_path.child(i),
        &C14nOptions {
            method: parts.signed_info_c14n,
            inclusive_prefixes: &[],
            exclude: None,
        },
    )
    .map_err(|e| inconsistent(&e.to_string()))
}

/// Path of the `DigestValue` of the signature at `sig_path`.
pub(super) fn digest_value_path(
    doc: &Document,
    sig_path: &NodePath,
) -> Result<NodePath, AttackError> {
    let mut path = sig_path.clone();
    for local in ["SignedInfo", "Reference", "DigestValue"] {
        let el = doc
            .get(&path)
            .ok_or_else(|| inconsistent("signature path"))?;
        let i = child_index(el, DSIG_NS, local)
            .ok_or_else(|| inconsistent(&format!("signature without {local}")))?;
        path = path.child(i);
    }
    Ok(path)
}

#[cfg(test)]
pub(crate) mod testing {
    //! A scenario with generated keys, and verifiers with the weaknesses the attacks target
    //! (the strict one is `dsig::verify_signature_at`).
    use std::sync::OnceLock;

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;

    use super::*;
    use crate::saml::attacks::Attacker;
    use crate::saml::dsig::{self, DsigError, VerifyPolicy};
    use crate::saml::idp::IdpIdentity;
    use crate::saml::idp::tests::{ec_idp, rsa_idp};

    pub const VICTIM: &str = "victim@example.test";
    pub const ATTACKER: &str = "mallory@example.test";
    pub const ACS: &str = "https://sp.oinspect.test/acs";
    pub const AUDIENCE: &str = "https://sp.oinspect.test/metadata";

    pub fn rsa_attacker() -> &'static Attacker {
        static A: OnceLock<Attacker> = OnceLock::new();
        A.get_or_init(|| Attacker::generate(rsa_idp()).expect("attacker keys"))
    }

    pub fn ec_attacker() -> &'static Attacker {
        static A: OnceLock<Attacker> = OnceLock::new();
        A.get_or_init(|| Attacker::generate(ec_idp()).expect("attacker keys"))
    }

    /// The victim's login as the SP expects it: SP-initiated, email attribute, groups.
    pub fn base(idp: &IdpIdentity, sign: SignMode) -> ResponseSpec {
        let mut spec = ResponseSpec::new(&idp.entity_id, ACS, AUDIENCE, VICTIM);
        spec.in_response_to = Some("_req-1".into());
        spec.attributes = vec![
            ("email".into(), vec![VICTIM.into()]),
            ("groups".into(), vec!["staff".into()]),
        ];
        spec.sign = sign;
        spec.alg = idp.default_signature_algorithm();
        spec
    }

    pub fn scenario(sign: SignMode) -> Scenario<'static> {
        Scenario {
            idp: rsa_idp(),
            attacker: rsa_attacker(),
            base: base(rsa_idp(), sign),
            attacker_identity: ATTACKER.into(),
            attacker_attributes: Vec::new(),
            canary_url: Some("http://127.0.0.1:9/canary/t1".into()),
            sp_encryption_cert: None,
        }
    }

    pub fn ec_scenario(sign: SignMode) -> Scenario<'static> {
        Scenario {
            idp: ec_idp(),
            attacker: ec_attacker(),
            base: base(ec_idp(), sign),
            ..scenario(sign)
        }
    }

    pub fn parse(xml: &str) -> Document {
        Document::parse(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"))
    }

    /// The strict verifier (ours) on the signature at `sig_path`.
    pub fn strict(doc: &Document, sig_path: &NodePath, cert: &X509) -> Result<(), DsigError> {
        dsig::verify_signature_at(
            doc,
            sig_path,
            std::slice::from_ref(cert),
            &VerifyPolicy::default(),
        )
        .map(|_| ())
    }

    /// How a weak verifier finds the element a Reference names.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Resolve {
        /// The first element in document order with that ID, wherever it is.
        First,
        /// The last one (an ID table that later elements overwrite).
        Last,
        /// The signature's parent, if its ID matches (duplicates elsewhere ignored).
        Enclosing,
    }

    /// A verifier with the classic wrapping weakness: it resolves the Reference by `how`
    /// without requiring the referenced element to be the signature's (unique) parent, then
    /// checks the digest and the SignatureValue against `cert`. Its enveloped-signature
    /// transform removes this signature when it lies inside the referenced element, else the
    /// referenced element's own first ds:Signature child (as xml-crypto's "first Signature
    /// descendant" did). Returns the path of the element it considers signed.
    pub fn lax(
        doc: &Document,
        sig_path: &NodePath,
        cert: &X509,
        how: Resolve,
    ) -> Result<NodePath, String> {
        let sig = doc.get(sig_path).ok_or("no signature there")?;
        let parts = sig_parts(sig).map_err(|e| e.to_string())?;
        let candidates = paths_with_id(doc, &parts.reference_id);
        let target = match how {
            Resolve::First => candidates.first().cloned(),
            Resolve::Last => candidates.last().cloned(),
            Resolve::Enclosing => sig_path.parent().filter(|p| candidates.contains(p)),
        }
        .ok_or("reference does not resolve")?;
        let exclude = if sig_path.0.starts_with(&target.0) {
            sig_path.clone()
        } else {
            doc.get(&target)
                .and_then(|t| child_index(t, DSIG_NS, "Signature"))
                .map(|i| target.child(i))
                .unwrap_or_else(|| sig_path.clone())
        };
        let computed =
            digest_excluding(doc, &target, sig_path, &exclude).map_err(|e| e.to_string())?;
        let dv = doc
            .get(&digest_value_path(doc, sig_path).map_err(|e| e.to_string())?)
            .ok_or("no DigestValue")?
            .text();
        if decode(&dv)? != computed {
            return Err("digest mismatch".into());
        }
        signed_info_verifies(doc, sig_path, cert)?;
        Ok(target)
    }

    /// True if the SignatureValue verifies over the canonical SignedInfo with `cert`.
    pub fn signed_info_verifies(
        doc: &Document,
        sig_path: &NodePath,
        cert: &X509,
    ) -> Result<(), String> {
        let sig = doc.get(sig_path).ok_or("no signature there")?;
        let parts = sig_parts(sig).map_err(|e| e.to_string())?;
        let si = canonical_signed_info(doc, sig_path).map_err(|e| e.to_string())?;
        let value = decode(
            &sig.find_child(DSIG_NS, "SignatureValue")
                .ok_or("no value")?
                .text(),
        )?;
        let key = cert.public_key().map_err(|e| e.to_string())?;
        match dsig::verify_bytes(parts.alg, &key, si.as_bytes(), &value) {
            Ok(true) => Ok(()),
            Ok(false) => Err("SignatureValue does not verify".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    pub fn decode(b64: &str) -> Result<Vec<u8>, String> {
        let compact: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        B64.decode(compact).map_err(|e| e.to_string())
    }

    /// Paths of the `saml:Assertion` elements anywhere, in document order.
    pub fn assertions(doc: &Document) -> Vec<NodePath> {
        doc.find_elements(|e| e.is(SAML_ASSERTION_NS, "Assertion"))
    }

    /// The NameID text of the assertion at `path`.
    pub fn name_id(doc: &Document, path: &NodePath) -> String {
        let a = doc.get(path).expect("assertion");
        a.find_child(SAML_ASSERTION_NS, "Subject")
            .and_then(|s| s.find_child(SAML_ASSERTION_NS, "NameID"))
            .map(Element::text)
            .unwrap_or_default()
    }

    /// The first Assertion child of the root: what a consumer reading `Response/Assertion`
    /// uses.
    pub fn consumed(doc: &Document) -> NodePath {
        NodePath(vec![assertion_index(&doc.root).expect("assertion child")])
    }

    /// The `ds:Signature` child of the element at `path`.
    pub fn sig_of(doc: &Document, path: &NodePath) -> NodePath {
        let el = doc.get(path).expect("element");
        path.child(child_index(el, DSIG_NS, "Signature").expect("signature child"))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use crate::saml::attacks::{Attack, Placement, forge};
    use crate::saml::response::SignMode;

    /// Whether an attack's message is meant to parse as one well-formed document without
    /// a DOCTYPE.
    fn well_formed(a: Attack) -> bool {
        match a {
            Attack::Dtd | Attack::Xxe | Attack::EntityExpansion => false,
            Attack::Matrix(v) => v.placement.well_formed(),
            _ => true,
        }
    }

    #[test]
    fn every_attack_forges_for_every_sign_mode_and_key_type() {
        let attacks: Vec<Attack> = Attack::all()
            .into_iter()
            .filter(|a| {
                !matches!(
                    a,
                    Attack::EncryptedWrongKey | Attack::EncryptedUnsignedInner
                )
            })
            .chain([Attack::Skew(-90), Attack::Skew(90)])
            .collect();
        let scenarios = SignMode::ALL.into_iter().map(scenario).chain([
            ec_scenario(SignMode::Assertion),
            ec_scenario(SignMode::Both),
        ]);
        for s in scenarios {
            for &a in &attacks {
                let f = forge(a, &s).unwrap_or_else(|e| panic!("{a} {:?}: {e}", s.base.sign));
                assert_eq!(f.claimed, VICTIM, "{a}");
                assert_ne!(f.genuine.as_deref(), Some(VICTIM), "{a}");
                assert!(
                    !f.description.is_empty() && !f.description.contains('\n'),
                    "{a}"
                );
                assert_eq!(
                    crate::saml::xml::Document::parse(&f.xml).is_ok(),
                    well_formed(a),
                    "{a}"
                );
            }
        }
        assert!(Placement::ALL.iter().any(|p| !p.well_formed()));
    }
}
