//! Enveloped XML signatures as SAML uses them (XML-DSig 1.0 with the SAML profile of
//! SAML core §5), on top of our XML tree, our canonicalizer and openssl.
//!
//! Verification is deliberately narrower than XML-DSig: exactly one `Reference` per
//! signature, a same-document `#ID` URI that must point at the signature's parent element,
//! only enveloped-signature and c14n transforms, algorithms from an allow-list, and keys from
//! the caller's trusted certificates only (`KeyInfo` is never trusted, only used to explain a
//! failure). Each of these closes a known attack on SAML (signature wrapping, transform abuse,
//! key substitution, algorithm confusion).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::{MessageDigest, hash};
use openssl::pkey::{HasPublic, Id, PKeyRef, Private, Public};
use openssl::sign::{Signer, Verifier};
use openssl::x509::X509;

use super::c14n::{self, C14nMethod, C14nMode, C14nOptions};
use super::xml::{Document, Element, Name, Node, NodePath, XmlError};

pub use super::redirect::{RedirectVerified, sign_redirect_query, verify_redirect_query};

/// Most prefixes accepted in an `InclusiveNamespaces PrefixList`.
pub const MAX_INCLUSIVE_PREFIXES: usize = 64;
/// Most `ds:Signature` elements [`verify`] processes in one document (each costs a
/// canonicalization of its parent; SAML messages carry one or two).
pub const MAX_SIGNATURES: usize = 16;

/// XML-DSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Enveloped-signature transform.
pub const ENVELOPED_SIGNATURE_URI: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// SAML assertion namespace (for `Issuer`).
pub const SAML_ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

/// Signature algorithms we produce and accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SignatureAlgorithm {
    #[default]
    RsaSha256,
    RsaSha1,
    RsaSha512,
    EcdsaSha256,
}

impl SignatureAlgorithm {
    pub const ALL: [SignatureAlgorithm; 4] = [
        SignatureAlgorithm::RsaSha256,
        SignatureAlgorithm::RsaSha1,
        SignatureAlgorithm::RsaSha512,
        SignatureAlgorithm::EcdsaSha256,
    ];

    /// The XML-DSig algorithm URI (also the `SigAlg` of the HTTP-Redirect binding).
    pub fn uri(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            SignatureAlgorithm::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            SignatureAlgorithm::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            SignatureAlgorithm::EcdsaSha256 => {
                "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
            }
        }
    }

    /// The algorithm for a URI, if supported.
    pub fn from_uri(uri: &str) -> Option<SignatureAlgorithm> {
        SignatureAlgorithm::ALL.into_iter().find(|a| a.uri() == uri)
    }

    fn message_digest(self) -> MessageDigest {
        match self {
            SignatureAlgorithm::RsaSha256 | SignatureAlgorithm::EcdsaSha256 => {
                MessageDigest::sha256()
            }
            SignatureAlgorithm::RsaSha1 => MessageDigest::sha1(),
            SignatureAlgorithm::RsaSha512 => MessageDigest::sha512(),
        }
    }

    fn key_id(self) -> Id {
        match self {
            SignatureAlgorithm::EcdsaSha256 => Id::EC,
            _ => Id::RSA,
        }
    }
}

/// Digest algorithms for `Reference`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DigestAlgorithm {
    #[default]
    Sha256,
    Sha1,
    Sha512,
}

impl DigestAlgorithm {
    pub const ALL: [DigestAlgorithm; 3] = [
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha1,
        DigestAlgorithm::Sha512,
    ];

    pub fn uri(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            DigestAlgorithm::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            DigestAlgorithm::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    pub fn from_uri(uri: &str) -> Option<DigestAlgorithm> {
        DigestAlgorithm::ALL.into_iter().find(|a| a.uri() == uri)
    }

    fn compute(self, data: &[u8]) -> Result<Vec<u8>, DsigError> {
        let md = match self {
            DigestAlgorithm::Sha256 => MessageDigest::sha256(),
            DigestAlgorithm::Sha1 => MessageDigest::sha1(),
            DigestAlgorithm::Sha512 => MessageDigest::sha512(),
        };
        Ok(hash(md, data)?.to_vec())
    }
}

/// How to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOptions {
    pub alg: SignatureAlgorithm,
    pub digest: DigestAlgorithm,
    /// Used both as `CanonicalizationMethod` and as the reference's c14n transform.
    /// Exclusive c14n is the default because a signed Assertion must stay valid when it is
    /// moved into another Response (inclusive c14n would pull in the Response's namespaces).
    pub c14n: C14nMethod,
    /// `InclusiveNamespaces PrefixList` for the exclusive c14n transform, e.g. `xs` when
    /// attribute values use `xsi:type="xs:string"` (a prefix used only in content is not
    /// "visibly utilized" and would otherwise be left out of the signed bytes).
    pub inclusive_prefixes: Vec<String>,
    /// Put the certificate in `KeyInfo/X509Data` (what SPs expect, though a careful SP
    /// ignores it and uses its configured certificate).
    pub include_cert: bool,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            alg: SignatureAlgorithm::default(),
            digest: DigestAlgorithm::default(),
            c14n: C14nMethod::EXCLUSIVE,
            inclusive_prefixes: Vec::new(),
            include_cert: true,
        }
    }
}

/// Which algorithms verification accepts (anything else is refused before any crypto).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    pub signature_algorithms: Vec<SignatureAlgorithm>,
    pub digest_algorithms: Vec<DigestAlgorithm>,
}

impl Default for VerifyPolicy {
    /// Every supported algorithm, SHA-1 included: a conformance tester must be able to verify
    /// (and then report) SHA-1 signatures. [`VerifyPolicy::modern`] refuses them.
    fn default() -> Self {
        VerifyPolicy {
            signature_algorithms: SignatureAlgorithm::ALL.to_vec(),
            digest_algorithms: DigestAlgorithm::ALL.to_vec(),
        }
    }
}

impl VerifyPolicy {
    /// Without SHA-1.
    pub fn modern() -> VerifyPolicy {
        VerifyPolicy {
            signature_algorithms: vec![
                SignatureAlgorithm::RsaSha256,
                SignatureAlgorithm::RsaSha512,
                SignatureAlgorithm::EcdsaSha256,
            ],
            digest_algorithms: vec![DigestAlgorithm::Sha256, DigestAlgorithm::Sha512],
        }
    }
}

/// A verified signature and what it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedReference {
    /// Path of the `ds:Signature` element.
    pub signature_path: NodePath,
    /// Path of the signed element (always the signature's parent).
    pub signed_element_path: NodePath,
    /// The signed element's ID (the reference URI without `#`).
    pub signed_element_id: String,
    /// The signed element's name, e.g. `{urn:…:assertion}Assertion`: wrapping-attack analysis
    /// compares this with the element the application actually consumes.
    pub signed_element_name: Name,
    pub signature_algorithm: SignatureAlgorithm,
    pub digest_algorithm: DigestAlgorithm,
    pub c14n: C14nMethod,
    /// Index in the trusted certificates of the one whose key verified the signature.
    pub trusted_cert_index: usize,
}

/// Signature creation and verification failures.
#[derive(Debug, thiserror::Error)]
pub enum DsigError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error(transparent)]
    C14n(#[from] c14n::C14nError),
    #[error("openssl: {0}")]
    Openssl(#[from] openssl::error::ErrorStack),
    #[error("no element with ID {id:?} in the document")]
    IdNotFound { id: String },
    #[error("element with ID {id:?} already has a ds:Signature child")]
    AlreadySigned { id: String },
    #[error("algorithm {algorithm} needs a {expected} key, but the key is {found}")]
    KeyAlgorithmMismatch {
        algorithm: &'static str,
        expected: String,
        found: String,
    },
    #[error("the certificate does not hold the public key of the signing key")]
    CertificateKeyMismatch,
    #[error("no trusted certificates given: nothing could ever verify")]
    NoTrustedCertificates,
    #[error("the document has no ds:Signature element")]
    NoSignature,
    #[error("the document has {found} ds:Signature elements, more than the limit of {limit}")]
    TooManySignatures { found: usize, limit: usize },
    #[error("element with ID {id:?} has no ds:Signature child")]
    ElementNotSigned { id: String },
    #[error("ds:Signature at {path:?} is the document root: an enveloped signature needs a parent")]
    SignatureNotEnveloped { path: Vec<usize> },
    #[error("malformed {element}: expected {expected}, found {found}")]
    Malformed {
        element: &'static str,
        expected: String,
        found: String,
    },
    #[error("SignedInfo has {found} Reference elements; SAML requires exactly one")]
    ReferenceCount { found: usize },
    #[error("unsupported {kind} algorithm {uri:?}")]
    UnsupportedAlgorithm { kind: &'static str, uri: String },
    #[error("algorithm {uri:?} is supported but not allowed by the verification policy")]
    AlgorithmNotAllowed { uri: String },
    #[error("Reference URI {uri:?}: SAML requires a same-document \"#ID\" reference")]
    UnsupportedReferenceUri { uri: String },
    #[error("Reference URI \"#{reference}\" points to no element")]
    ReferenceNotFound { reference: String },
    #[error(
        "Reference URI \"#{reference}\" points to <{signed_element}>, not to the signature's parent <{signature_parent}>"
    )]
    ReferenceNotParent {
        reference: String,
        signed_element: String,
        signature_parent: String,
    },
    #[error(
        "Reference \"#{reference}\" lacks the enveloped-signature transform that a signature inside the signed element needs"
    )]
    MissingEnvelopedTransform { reference: String },
    #[error(
        "digest mismatch for Reference \"#{reference}\": DigestValue says {expected}, the content hashes to {computed}"
    )]
    DigestMismatch {
        reference: String,
        expected: String,
        computed: String,
    },
    #[error(
        "SignatureValue ({algorithm}) does not verify with any of the {trusted} trusted certificates ({compatible} with a matching key type)"
    )]
    SignatureInvalid {
        algorithm: &'static str,
        trusted: usize,
        compatible: usize,
    },
    #[error(
        "signed with a key that is not trusted: it verifies with the KeyInfo certificate {subject} (SHA-256 {sha256_fingerprint}), which is not among the trusted certificates"
    )]
    UntrustedKey {
        subject: String,
        sha256_fingerprint: String,
    },
    #[error("invalid base64 in {element}: {message}")]
    InvalidBase64 {
        element: &'static str,
        message: String,
    },
    #[error("ECDSA signature value has {found} bytes; expected r||s of {expected} bytes")]
    InvalidEcdsaSignatureLength { expected: usize, found: usize },
    #[error("query parameter {name} is missing")]
    MissingParameter { name: &'static str },
    #[error("query parameter {name} appears more than once")]
    DuplicateParameter { name: String },
    #[error("query has both SAMLRequest and SAMLResponse")]
    ConflictingParameters,
    #[error("query parameter {name} is not valid URL encoding of UTF-8")]
    InvalidParameterEncoding { name: String },
    #[error(
        "unexpected query parameter {name:?} to sign: expected SAMLRequest or SAMLResponse, and RelayState"
    )]
    UnexpectedParameter { name: String },
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

/// Signs the element with `ID="target_id"` with an enveloped signature and returns the path of
/// the new `ds:Signature`.
///
/// The signature goes right after the element's `saml:Issuer` child (or first, if it has no
/// Issuer): the SAML schema puts `ds:Signature` there in both `AssertionType` and
/// `StatusResponseType`/`RequestAbstractType`, and schema-validating SPs reject it elsewhere.
pub fn sign_enveloped(
    doc: &mut Document,
    target_id: &str,
    key: &PKeyRef<Private>,
    cert: &X509,
    opts: &SignOptions,
) -> Result<NodePath, DsigError> {
    KeyedSigner::new(key, cert, opts)?.sign(doc, target_id)
}

/// One key, certificate and set of options, checked once and then used for one or more
/// enveloped signatures ([`sign_enveloped`] is one [`KeyedSigner::sign`]).
///
/// The checks and the `KeyInfo` certificate encoding are shared between the signatures, which
/// is what a Response signed twice (Assertion, then Response) saves.
pub struct KeyedSigner<'k> {
    key: &'k PKeyRef<Private>,
    cert: &'k X509,
    opts: &'k SignOptions,
    /// base64 DER of `cert`, computed on first use when `opts.include_cert`.
    cert_b64: Option<String>,
}

impl<'k> KeyedSigner<'k> {
    /// Checks that `key` fits `opts.alg` and that `cert` holds its public key.
    pub fn new(
        key: &'k PKeyRef<Private>,
        cert: &'k X509,
        opts: &'k SignOptions,
    ) -> Result<KeyedSigner<'k>, DsigError> {
        check_key(opts.alg, key)?;
        let cert_pub = cert.public_key()?;
        if !cert_pub.public_eq(key) {
            return Err(DsigError::CertificateKeyMismatch);
        }
        Ok(KeyedSigner {
            key,
            cert,
            opts,
            cert_b64: None,
        })
    }

    /// [`sign_enveloped`] with this signer's key, certificate and options.
    pub fn sign(&mut self, doc: &mut Document, target_id: &str) -> Result<NodePath, DsigError> {
        let opts = self.opts;
        doc.fixup_namespaces()?;
        let target_path = doc
            .find_by_id(target_id)?
            .ok_or_else(|| DsigError::IdNotFound {
                id: target_id.to_string(),
            })?;
        let cert_b64 = match (&self.cert_b64, opts.include_cert) {
            (_, false) => None,
            (Some(b64), true) => Some(b64.as_str()),
            (None, true) => Some(
                self.cert_b64
                    .insert(B64.encode(self.cert.to_der()?))
                    .as_str(),
            ),
        };
        let skeleton = signature_skeleton(target_id, opts, cert_b64)?;
        sign_prepared(doc, target_id, target_path, skeleton, self.key, opts)
    }
}

/// The rest of [`sign_enveloped`]: insert the skeleton into the element at `target_path`,
/// digest, sign.
fn sign_prepared(
    doc: &mut Document,
    target_id: &str,
    target_path: NodePath,
    skeleton: Element,
    key: &PKeyRef<Private>,
    opts: &SignOptions,
) -> Result<NodePath, DsigError> {
    // Insert the skeleton first, then digest with the enveloped-signature exclusion: the same
    // code path a verifier runs, so what we sign is what verifiers will recompute.
    let insert_at = {
        let target = doc
            .get_mut(&target_path)
            .ok_or_else(|| DsigError::IdNotFound {
                id: target_id.to_string(),
            })?;
        if target.find_child(DSIG_NS, "Signature").is_some() {
            return Err(DsigError::AlreadySigned {
                id: target_id.to_string(),
            });
        }
        let at = match target.indexed_child_elements().next() {
            Some((i, first)) if first.is(SAML_ASSERTION_NS, "Issuer") => i + 1,
            _ => 0,
        };
        target.insert_child(at, Node::Element(skeleton));
        at
    };
    let sig_path = target_path.child(insert_at);

    let digest = {
        let sig = doc
            .get(&sig_path)
            .ok_or_else(|| internal("signature just inserted"))?;
        let canonical = c14n::canonicalize(
            doc,
            &target_path,
            &C14nOptions {
                // `#ID` references drop comments before the transforms run (XML-DSig
                // §4.3.3.3), so the comments variant still digests without comments.
                method: opts.c14n.without_comments(),
                inclusive_prefixes: &opts.inclusive_prefixes,
                exclude: Some(sig),
            },
        )?;
        opts.digest.compute(canonical.as_bytes())?
    };
    set_text(
        doc,
        &sig_path,
        &["SignedInfo", "Reference", "DigestValue"],
        &B64.encode(digest),
    )?;

    let signed_info_path = sig_path.child(0);
    let canonical_si = c14n::canonicalize(
        doc,
        &signed_info_path,
        &C14nOptions {
            method: opts.c14n,
            inclusive_prefixes: &[],
            exclude: None,
        },
    )?;
    let value = sign_bytes(opts.alg, key, canonical_si.as_bytes())?;
    set_text(doc, &sig_path, &["SignatureValue"], &B64.encode(value))?;
    Ok(sig_path)
}

/// [`sign_enveloped`] on a string: parse, sign, serialize.
pub fn sign_enveloped_str(
    xml: &str,
    target_id: &str,
    key: &PKeyRef<Private>,
    cert: &X509,
    opts: &SignOptions,
) -> Result<String, DsigError> {
    let mut doc = Document::parse(xml)?;
    sign_enveloped(&mut doc, target_id, key, cert, opts)?;
    Ok(doc.to_xml())
}

/// Signs the Assertion, then the Response that contains it, so that the Response signature
/// also covers the Assertion's signature (the order every IdP uses; the reverse would break
/// the Response digest when the Assertion signature is inserted).
pub fn sign_assertion_and_response(
    doc: &mut Document,
    assertion_id: &str,
    response_id: &str,
    key: &PKeyRef<Private>,
    cert: &X509,
    opts: &SignOptions,
) -> Result<(), DsigError> {
    let mut signer = KeyedSigner::new(key, cert, opts)?;
    signer.sign(doc, assertion_id)?;
    signer.sign(doc, response_id)?;
    Ok(())
}

fn ds(local: &str) -> Element {
    Element::new_ns("ds", DSIG_NS, local)
}

fn signature_skeleton(
    target_id: &str,
    opts: &SignOptions,
    cert_b64: Option<&str>,
) -> Result<Element, DsigError> {
    let mut c14n_transform = ds("Transform").with_attr("Algorithm", opts.c14n.uri());
    if opts.c14n.mode == C14nMode::Exclusive && !opts.inclusive_prefixes.is_empty() {
        c14n_transform.append_child(
            Element::new_ns("ec", c14n::EXC_C14N_URI, "InclusiveNamespaces")
                .with_attr("PrefixList", &opts.inclusive_prefixes.join(" ")),
        );
    }
    let signed_info = ds("SignedInfo")
        .with_child(ds("CanonicalizationMethod").with_attr("Algorithm", opts.c14n.uri()))
        .with_child(ds("SignatureMethod").with_attr("Algorithm", opts.alg.uri()))
        .with_child(
            ds("Reference")
                .with_attr("URI", &format!("#{target_id}"))
                .with_child(
                    ds("Transforms")
                        .with_child(ds("Transform").with_attr("Algorithm", ENVELOPED_SIGNATURE_URI))
                        .with_child(c14n_transform),
                )
                .with_child(ds("DigestMethod").with_attr("Algorithm", opts.digest.uri()))
                .with_child(ds("DigestValue")),
        );
    let mut sig = ds("Signature")
        .with_ns_decl("ds", DSIG_NS)
        .with_child(signed_info)
        .with_child(ds("SignatureValue"));
    if let Some(b64) = cert_b64 {
        sig.append_child(
            ds("KeyInfo")
                .with_child(ds("X509Data").with_child(ds("X509Certificate").with_text(b64))),
        );
    }
    // The InclusiveNamespaces element brings its own prefix: fixup declares it where used.
    Ok(Document::new(sig)?.root)
}

/// Replaces the text of the element reached from `base` by the child-element names in `steps`
/// (all in the DSig namespace).
fn set_text(
    doc: &mut Document,
    base: &NodePath,
    steps: &[&str],
    text: &str,
) -> Result<(), DsigError> {
    let mut el = doc
        .get_mut(base)
        .ok_or_else(|| internal("signature path"))?;
    for step in steps {
        el = el
            .children
            .iter_mut()
            .find_map(|n| match n {
                Node::Element(e) if e.is(DSIG_NS, step) => Some(e),
                _ => None,
            })
            .ok_or_else(|| internal("signature skeleton element"))?;
    }
    el.children = vec![Node::Text(text.to_string())];
    Ok(())
}

fn internal(what: &str) -> DsigError {
    DsigError::Malformed {
        element: "signature (internal)",
        expected: what.to_string(),
        found: "nothing".to_string(),
    }
}

fn key_type_name(id: Id) -> String {
    match id {
        Id::RSA => "RSA".into(),
        Id::EC => "EC".into(),
        other => format!("{other:?}"),
    }
}

fn check_key<T: HasPublic>(alg: SignatureAlgorithm, key: &PKeyRef<T>) -> Result<(), DsigError> {
    if key.id() != alg.key_id() {
        return Err(DsigError::KeyAlgorithmMismatch {
            algorithm: alg.uri(),
            expected: key_type_name(alg.key_id()),
            found: key_type_name(key.id()),
        });
    }
    Ok(())
}

/// Byte length of r (and of s) in the XML-DSig ECDSA signature format.
fn ecdsa_field_len<T: HasPublic>(key: &PKeyRef<T>) -> Result<usize, DsigError> {
    let bits = key.ec_key()?.group().order_bits() as usize;
    Ok(bits.div_ceil(8))
}

/// Signs `data`; ECDSA values are converted from openssl's DER to the raw `r||s` form that
/// XML-DSig 1.1 (and RFC 4050) require: DER here is rejected by other implementations.
pub(crate) fn sign_bytes(
    alg: SignatureAlgorithm,
    key: &PKeyRef<Private>,
    data: &[u8],
) -> Result<Vec<u8>, DsigError> {
    check_key(alg, key)?;
    let mut signer = Signer::new(alg.message_digest(), key)?;
    signer.update(data)?;
    let sig = signer.sign_to_vec()?;
    if alg != SignatureAlgorithm::EcdsaSha256 {
        return Ok(sig);
    }
    let n = ecdsa_field_len(key)?;
    let der = EcdsaSig::from_der(&sig)?;
    let n_i32 = i32::try_from(n).map_err(|_| internal("EC field size"))?;
    let mut raw = der.r().to_vec_padded(n_i32)?;
    raw.extend(der.s().to_vec_padded(n_i32)?);
    Ok(raw)
}

/// Verifies `sig` over `data` with `key`; `Ok(false)` for a wrong signature or key type.
pub(crate) fn verify_bytes(
    alg: SignatureAlgorithm,
    key: &PKeyRef<Public>,
    data: &[u8],
    sig: &[u8],
) -> Result<bool, DsigError> {
    if key.id() != alg.key_id() {
        return Ok(false);
    }
    let der;
    let sig = if alg == SignatureAlgorithm::EcdsaSha256 {
        let n = ecdsa_field_len(key)?;
        if sig.len() != 2 * n {
            return Err(DsigError::InvalidEcdsaSignatureLength {
                expected: 2 * n,
                found: sig.len(),
            });
        }
        let r = BigNum::from_slice(&sig[..n])?;
        let s = BigNum::from_slice(&sig[n..])?;
        der = EcdsaSig::from_private_components(r, s)?.to_der()?;
        der.as_slice()
    } else {
        sig
    };
    let mut verifier = Verifier::new(alg.message_digest(), key)?;
    verifier.update(data)?;
    // openssl reports a malformed signature as an error, not as `false`: both mean "no".
    Ok(verifier.verify(sig).unwrap_or(false))
}

/// Verifies `sig` with each trusted certificate; returns the index of the one that verifies.
pub(crate) fn verify_with_trusted(
    alg: SignatureAlgorithm,
    trusted: &[X509],
    data: &[u8],
    sig: &[u8],
) -> Result<Result<usize, (usize, usize)>, DsigError> {
    if trusted.is_empty() {
        return Err(DsigError::NoTrustedCertificates);
    }
    let mut compatible = 0;
    for (i, cert) in trusted.iter().enumerate() {
        let key = cert.public_key()?;
        if key.id() != alg.key_id() {
            continue;
        }
        compatible += 1;
        if verify_bytes(alg, &key, data, sig)? {
            return Ok(Ok(i));
        }
    }
    Ok(Err((trusted.len(), compatible)))
}

pub(crate) fn decode_b64(element: &'static str, text: &str) -> Result<Vec<u8>, DsigError> {
    // XML-DSig base64 may be wrapped across lines (xmlsec1 wraps at 64 columns).
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    B64.decode(compact.as_bytes())
        .map_err(|e| DsigError::InvalidBase64 {
            element,
            message: e.to_string(),
        })
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/// Paths of every `ds:Signature` element in the document, in document order.
pub fn signature_paths(doc: &Document) -> Vec<NodePath> {
    doc.find_elements(|e| e.is(DSIG_NS, "Signature"))
}

/// Verifies every signature in the document with the default [`VerifyPolicy`].
/// Fails if there is none, or if any one fails.
pub fn verify(doc: &Document, trusted: &[X509]) -> Result<Vec<VerifiedReference>, DsigError> {
    verify_with_policy(doc, trusted, &VerifyPolicy::default())
}

/// [`verify`] with an explicit algorithm policy.
pub fn verify_with_policy(
    doc: &Document,
    trusted: &[X509],
    policy: &VerifyPolicy,
) -> Result<Vec<VerifiedReference>, DsigError> {
    let paths = signature_paths(doc);
    if paths.is_empty() {
        return Err(DsigError::NoSignature);
    }
    if paths.len() > MAX_SIGNATURES {
        return Err(DsigError::TooManySignatures {
            found: paths.len(),
            limit: MAX_SIGNATURES,
        });
    }
    paths
        .iter()
        .map(|p| verify_signature_at(doc, p, trusted, policy))
        .collect()
}

/// Verifies the signature that is a direct child of the element with `ID="element_id"`.
pub fn verify_element(
    doc: &Document,
    element_id: &str,
    trusted: &[X509],
    policy: &VerifyPolicy,
) -> Result<VerifiedReference, DsigError> {
    let path = doc
        .find_by_id(element_id)?
        .ok_or_else(|| DsigError::IdNotFound {
            id: element_id.to_string(),
        })?;
    let el = doc.get(&path).ok_or_else(|| DsigError::IdNotFound {
        id: element_id.to_string(),
    })?;
    let mut sigs = el
        .indexed_child_elements()
        .filter(|(_, e)| e.is(DSIG_NS, "Signature"))
        .map(|(i, _)| path.child(i));
    let sig_path = sigs.next().ok_or_else(|| DsigError::ElementNotSigned {
        id: element_id.to_string(),
    })?;
    if sigs.next().is_some() {
        return Err(DsigError::Malformed {
            element: "signed element",
            expected: "one ds:Signature child".into(),
            found: "several".into(),
        });
    }
    verify_signature_at(doc, &sig_path, trusted, policy)
}

/// The parsed contents of one `ds:Signature`.
struct ParsedSignature<'d> {
    c14n: C14nMethod,
    c14n_prefixes: Vec<String>,
    alg: SignatureAlgorithm,
    reference_id: String,
    enveloped: bool,
    transform_c14n: Option<C14nMethod>,
    transform_prefixes: Vec<String>,
    digest: DigestAlgorithm,
    digest_value: Vec<u8>,
    signature_value: Vec<u8>,
    signed_info_index: usize,
    key_info_cert: Option<&'d Element>,
    /// The DigestValue element, for [`Laxity::digest_from_first_node`].
    digest_value_el: &'d Element,
}

/// Verification mistakes real XML-DSig libraries have shipped, reproducible on purpose so
/// that the reference SP's break switches can show each attack succeeding. oinspect's own
/// verification never sets them: [`verify_signature_at`] uses none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Laxity {
    /// Resolve the Reference by ID anywhere in the document (the last element carrying
    /// it, as an ID map filled in document order returns), without requiring it to be the
    /// element the Signature sits in: the verifier half of signature wrapping.
    pub detached_reference: bool,
    /// Compare the digest with DigestValue's first child node, comment or text, while
    /// SignedInfo is canonicalized without comments (CVE-2025-29775, xml-crypto).
    pub digest_from_first_node: bool,
    /// Do not compare Reference digests at all: only SignatureValue over SignedInfo is
    /// checked, so the signed element can be changed at will.
    pub ignore_digest: bool,
}

/// Verifies the signature at `sig_path`.
pub fn verify_signature_at(
    doc: &Document,
    sig_path: &NodePath,
    trusted: &[X509],
    policy: &VerifyPolicy,
) -> Result<VerifiedReference, DsigError> {
    verify_signature_at_lax(doc, sig_path, trusted, policy, Laxity::default())
}

/// [`verify_signature_at`] with deliberate mistakes (see [`Laxity`]).
pub fn verify_signature_at_lax(
    doc: &Document,
    sig_path: &NodePath,
    trusted: &[X509],
    policy: &VerifyPolicy,
    laxity: Laxity,
) -> Result<VerifiedReference, DsigError> {
    if trusted.is_empty() {
        return Err(DsigError::NoTrustedCertificates);
    }
    let sig = doc
        .get(sig_path)
        .filter(|e| e.is(DSIG_NS, "Signature"))
        .ok_or_else(|| DsigError::Malformed {
            element: "Signature",
            expected: "a ds:Signature element at the given path".into(),
            found: "none".into(),
        })?;
    let parent_path = sig_path.parent().ok_or(DsigError::SignatureNotEnveloped {
        path: sig_path.0.clone(),
    })?;
    let parent = doc
        .get(&parent_path)
        .ok_or_else(|| internal("signature parent"))?;
    let parsed = parse_signature(sig, policy, laxity.detached_reference)?;

    // The reference must resolve, unambiguously, to the element that envelops the signature.
    // Anything else (a reference to a sibling, to an element elsewhere, duplicate IDs) is the
    // shape of a signature-wrapping attack.
    let reference = &parsed.reference_id;
    let target_path = if laxity.detached_reference {
        doc.find_elements(|e| {
            super::xml::ID_ATTRIBUTE_NAMES
                .iter()
                .any(|n| e.attr(n) == Some(reference.as_str()))
        })
        .pop()
    } else {
        doc.find_by_id(reference)?
    }
    .ok_or_else(|| DsigError::ReferenceNotFound {
        reference: reference.clone(),
    })?;
    if target_path != parent_path && !laxity.detached_reference {
        let signed = doc
            .get(&target_path)
            .map(|e| e.name.qualified())
            .unwrap_or_default();
        return Err(DsigError::ReferenceNotParent {
            reference: reference.clone(),
            signed_element: signed,
            signature_parent: parent.name.qualified(),
        });
    }
    if !parsed.enveloped {
        return Err(DsigError::MissingEnvelopedTransform {
            reference: reference.clone(),
        });
    }

    // Reference validation. Without a c14n transform the node-set is canonicalized with
    // inclusive C14N 1.0 (XML-DSig §4.3.3.2); comments are always dropped for `#ID`.
    let transform_c14n = parsed.transform_c14n.unwrap_or(C14nMethod::INCLUSIVE);
    let canonical = c14n::canonicalize(
        doc,
        &target_path,
        &C14nOptions {
            method: transform_c14n.without_comments(),
            inclusive_prefixes: &parsed.transform_prefixes,
            // A lax verifier (xml-crypto style) implements the enveloped transform as
            // "drop Signature elements inside the referenced element"; a Signature around
            // it (XSW1, XSW6) then drops nothing.
            exclude: if laxity.detached_reference && !sig_path.0.starts_with(&target_path.0) {
                doc.get(&target_path)
                    .and_then(|t| t.find_child(DSIG_NS, "Signature"))
            } else {
                Some(sig)
            },
        },
    )?;
    let computed = parsed.digest.compute(canonical.as_bytes())?;
    let first_node_digest;
    let expected_digest = if laxity.digest_from_first_node {
        let first = match parsed.digest_value_el.children.first() {
            Some(Node::Comment(c) | Node::Text(c)) => c.as_str(),
            _ => "",
        };
        first_node_digest = decode_b64("DigestValue", first)?;
        &first_node_digest
    } else {
        &parsed.digest_value
    };
    let digest_ok =
        computed.len() == expected_digest.len() && openssl::memcmp::eq(&computed, expected_digest);
    if !digest_ok && !laxity.ignore_digest {
        return Err(DsigError::DigestMismatch {
            reference: reference.clone(),
            expected: B64.encode(expected_digest),
            computed: B64.encode(&computed),
        });
    }

    // Signature validation over the canonical SignedInfo, as it sits in the document.
    let canonical_si = c14n::canonicalize(
        doc,
        &sig_path.child(parsed.signed_info_index),
        &C14nOptions {
            method: parsed.c14n,
            inclusive_prefixes: &parsed.c14n_prefixes,
            exclude: None,
        },
    )?;
    let outcome = verify_with_trusted(
        parsed.alg,
        trusted,
        canonical_si.as_bytes(),
        &parsed.signature_value,
    )?;
    let trusted_cert_index = match outcome {
        Ok(i) => i,
        Err((trusted, compatible)) => {
            return Err(explain_failure(
                parsed.alg,
                parsed.key_info_cert,
                canonical_si.as_bytes(),
                &parsed.signature_value,
                trusted,
                compatible,
            ));
        }
    };
    let signed_element_name = doc
        .get(&target_path)
        .map_or_else(|| parent.name.clone(), |e| e.name.clone());
    Ok(VerifiedReference {
        signature_path: sig_path.clone(),
        signed_element_path: target_path,
        signed_element_id: reference.clone(),
        signed_element_name,
        signature_algorithm: parsed.alg,
        digest_algorithm: parsed.digest,
        c14n: parsed.c14n,
        trusted_cert_index,
    })
}

/// Distinguishes "signed by someone else" (the KeyInfo certificate verifies it: a key
/// substitution attempt or a rotated key) from "broken signature". KeyInfo decides nothing.
fn explain_failure(
    alg: SignatureAlgorithm,
    key_info_cert: Option<&Element>,
    data: &[u8],
    sig: &[u8],
    trusted: usize,
    compatible: usize,
) -> DsigError {
    let invalid = DsigError::SignatureInvalid {
        algorithm: alg.uri(),
        trusted,
        compatible,
    };
    let Some(cert_el) = key_info_cert else {
        return invalid;
    };
    let Ok(der) = decode_b64("X509Certificate", &cert_el.text()) else {
        return invalid;
    };
    let Ok(cert) = X509::from_der(&der) else {
        return invalid;
    };
    let Ok(key) = cert.public_key() else {
        return invalid;
    };
    if !matches!(verify_bytes(alg, &key, data, sig), Ok(true)) {
        return invalid;
    }
    let subject = cert
        .subject_name()
        .entries()
        .map(|e| {
            let k = e.object().nid().short_name().unwrap_or("?");
            let v = e.data().to_string().unwrap_or_default();
            format!("{k}={v}")
        })
        .collect::<Vec<_>>()
        .join(", ");
    let fingerprint = cert
        .digest(MessageDigest::sha256())
        .map(|d| {
            d.iter()
                .map(|b| format!("{b:02X}"))
                .collect::<Vec<_>>()
                .join(":")
        })
        .unwrap_or_default();
    DsigError::UntrustedKey {
        subject,
        sha256_fingerprint: fingerprint,
    }
}

/// Element children of `el`, refusing non-whitespace text (comments and PIs are allowed:
/// they are legal XML and c14n handles them).
fn element_children<'a>(
    el: &'a Element,
    what: &'static str,
) -> Result<Vec<(usize, &'a Element)>, DsigError> {
    if el.has_significant_text() {
        return Err(DsigError::Malformed {
            element: what,
            expected: "only child elements".into(),
            found: "text content".into(),
        });
    }
    Ok(el.indexed_child_elements().collect())
}

fn expect_dsig<'a>(
    found: Option<&(usize, &'a Element)>,
    parent: &'static str,
    local: &str,
) -> Result<(usize, &'a Element), DsigError> {
    match found {
        Some(&(i, e)) if e.is(DSIG_NS, local) => Ok((i, e)),
        Some((_, e)) => Err(DsigError::Malformed {
            element: parent,
            expected: format!("ds:{local}"),
            found: format!("<{}>", e.name.qualified()),
        }),
        None => Err(DsigError::Malformed {
            element: parent,
            expected: format!("ds:{local}"),
            found: "end of element".into(),
        }),
    }
}

fn algorithm_attr(el: &Element, what: &'static str) -> Result<String, DsigError> {
    el.attr("Algorithm")
        .map(str::to_string)
        .ok_or_else(|| DsigError::Malformed {
            element: what,
            expected: "an Algorithm attribute".into(),
            found: "none".into(),
        })
}

/// `InclusiveNamespaces/@PrefixList` under a c14n method element; any other child is refused.
fn inclusive_prefixes(el: &Element, what: &'static str) -> Result<Vec<String>, DsigError> {
    let mut out = Vec::new();
    for (_, child) in element_children(el, what)? {
        if child.is(c14n::EXC_C14N_URI, "InclusiveNamespaces") && out.is_empty() {
            let list = child.attr("PrefixList").unwrap_or("");
            for p in list.split_ascii_whitespace() {
                if !out.iter().any(|o| o == p) {
                    out.push(p.to_string());
                }
            }
            // Real lists name a handful of prefixes; the list comes from the (unverified)
            // signature and is consulted for every element, so bound it.
            if out.len() > MAX_INCLUSIVE_PREFIXES {
                return Err(DsigError::Malformed {
                    element: what,
                    expected: format!(
                        "at most {MAX_INCLUSIVE_PREFIXES} InclusiveNamespaces prefixes"
                    ),
                    found: format!("{}", out.len()),
                });
            }
        } else {
            return Err(DsigError::Malformed {
                element: what,
                expected: "at most one ec:InclusiveNamespaces child".into(),
                found: format!("<{}>", child.name.qualified()),
            });
        }
    }
    Ok(out)
}

/// `lax`: tolerate any element after SignatureValue, as verifiers that pick the parts they
/// need by name do (part of [`Laxity::detached_reference`]).
fn parse_signature<'d>(
    sig: &'d Element,
    policy: &VerifyPolicy,
    lax: bool,
) -> Result<ParsedSignature<'d>, DsigError> {
    let kids = element_children(sig, "Signature")?;
    let (signed_info_index, signed_info) = expect_dsig(kids.first(), "Signature", "SignedInfo")?;
    let (_, sig_value_el) = expect_dsig(kids.get(1), "Signature", "SignatureValue")?;
    let mut key_info_cert = None;
    for (_, e) in kids.iter().skip(2) {
        if e.is(DSIG_NS, "KeyInfo") {
            key_info_cert = e
                .find_child(DSIG_NS, "X509Data")
                .and_then(|d| d.find_child(DSIG_NS, "X509Certificate"));
        } else if !e.is(DSIG_NS, "Object") && !lax {
            return Err(DsigError::Malformed {
                element: "Signature",
                expected: "ds:KeyInfo or ds:Object after ds:SignatureValue".into(),
                found: format!("<{}>", e.name.qualified()),
            });
        }
    }

    let si = element_children(signed_info, "SignedInfo")?;
    let (_, c14n_el) = expect_dsig(si.first(), "SignedInfo", "CanonicalizationMethod")?;
    let c14n_uri = algorithm_attr(c14n_el, "CanonicalizationMethod")?;
    let c14n = C14nMethod::from_uri(&c14n_uri).ok_or(DsigError::UnsupportedAlgorithm {
        kind: "CanonicalizationMethod",
        uri: c14n_uri,
    })?;
    let c14n_prefixes = match c14n.mode {
        C14nMode::Exclusive => inclusive_prefixes(c14n_el, "CanonicalizationMethod")?,
        C14nMode::Inclusive => {
            // Inclusive c14n takes no parameters; a child would be silently ignored by some
            // and honored by others.
            if c14n_el.child_elements().next().is_some() {
                return Err(DsigError::Malformed {
                    element: "CanonicalizationMethod",
                    expected: "no parameters for inclusive c14n".into(),
                    found: "InclusiveNamespaces".into(),
                });
            }
            Vec::new()
        }
    };

    let (_, sm_el) = expect_dsig(si.get(1), "SignedInfo", "SignatureMethod")?;
    let sm_uri = algorithm_attr(sm_el, "SignatureMethod")?;
    let alg =
        SignatureAlgorithm::from_uri(&sm_uri).ok_or_else(|| DsigError::UnsupportedAlgorithm {
            kind: "SignatureMethod",
            uri: sm_uri.clone(),
        })?;
    if !policy.signature_algorithms.contains(&alg) {
        return Err(DsigError::AlgorithmNotAllowed { uri: sm_uri });
    }
    if sm_el.child_elements().next().is_some() {
        // e.g. HMACOutputLength (truncation attacks, CVE-2009-0217).
        return Err(DsigError::Malformed {
            element: "SignatureMethod",
            expected: "no parameters".into(),
            found: "child elements".into(),
        });
    }

    let references: Vec<&Element> = si.iter().skip(2).map(|(_, e)| *e).collect();
    if let Some(other) = references.iter().find(|e| !e.is(DSIG_NS, "Reference")) {
        return Err(DsigError::Malformed {
            element: "SignedInfo",
            expected: "only ds:Reference after ds:SignatureMethod".into(),
            found: format!("<{}>", other.name.qualified()),
        });
    }
    if references.len() != 1 {
        return Err(DsigError::ReferenceCount {
            found: references.len(),
        });
    }
    let reference = references[0];
    let uri = reference.attr("URI").unwrap_or("");
    let reference_id = match uri.strip_prefix('#') {
        Some(id) if super::xml::is_ncname(id) => id.to_string(),
        _ => {
            return Err(DsigError::UnsupportedReferenceUri {
                uri: uri.to_string(),
            });
        }
    };

    let rk = element_children(reference, "Reference")?;
    let mut idx = 0;
    let mut enveloped = false;
    let mut transform_c14n = None;
    let mut transform_prefixes = Vec::new();
    if let Some((_, transforms)) = rk.first().filter(|(_, e)| e.is(DSIG_NS, "Transforms")) {
        idx = 1;
        for (_, t) in element_children(transforms, "Transforms")? {
            if !t.is(DSIG_NS, "Transform") {
                return Err(DsigError::Malformed {
                    element: "Transforms",
                    expected: "ds:Transform".into(),
                    found: format!("<{}>", t.name.qualified()),
                });
            }
            let turi = algorithm_attr(t, "Transform")?;
            if transform_c14n.is_some() {
                // c14n produces octets; nothing we support may follow it.
                return Err(DsigError::Malformed {
                    element: "Transforms",
                    expected: "the c14n transform last".into(),
                    found: format!("{turi} after it"),
                });
            }
            if turi == ENVELOPED_SIGNATURE_URI && !enveloped {
                if t.child_elements().next().is_some() {
                    return Err(DsigError::Malformed {
                        element: "Transform",
                        expected: "no parameters for enveloped-signature".into(),
                        found: "child elements".into(),
                    });
                }
                enveloped = true;
            } else if let Some(m) = C14nMethod::from_uri(&turi) {
                let prefixes = inclusive_prefixes(t, "Transform")?;
                if m.mode == C14nMode::Exclusive {
                    transform_prefixes = prefixes;
                } else if !prefixes.is_empty() {
                    return Err(DsigError::Malformed {
                        element: "Transform",
                        expected: "no parameters for inclusive c14n".into(),
                        found: "InclusiveNamespaces".into(),
                    });
                }
                transform_c14n = Some(m);
            } else {
                return Err(DsigError::UnsupportedAlgorithm {
                    kind: "Transform",
                    uri: turi,
                });
            }
        }
    }
    let (_, dm) = expect_dsig(rk.get(idx), "Reference", "DigestMethod")?;
    let dm_uri = algorithm_attr(dm, "DigestMethod")?;
    let digest =
        DigestAlgorithm::from_uri(&dm_uri).ok_or_else(|| DsigError::UnsupportedAlgorithm {
            kind: "DigestMethod",
            uri: dm_uri.clone(),
        })?;
    if !policy.digest_algorithms.contains(&digest) {
        return Err(DsigError::AlgorithmNotAllowed { uri: dm_uri });
    }
    let (_, dv) = expect_dsig(rk.get(idx + 1), "Reference", "DigestValue")?;
    if let Some((_, extra)) = rk.get(idx + 2) {
        return Err(DsigError::Malformed {
            element: "Reference",
            expected: "nothing after ds:DigestValue".into(),
            found: format!("<{}>", extra.name.qualified()),
        });
    }
    let digest_value = decode_b64("DigestValue", &dv.text())?;
    let signature_value = decode_b64("SignatureValue", &sig_value_el.text())?;

    Ok(ParsedSignature {
        c14n,
        c14n_prefixes,
        alg,
        reference_id,
        enveloped,
        transform_c14n,
        transform_prefixes,
        digest,
        digest_value,
        signature_value,
        signed_info_index,
        key_info_cert,
        digest_value_el: dv,
    })
}

#[cfg(test)]
pub(crate) mod test_keys {
    //! Throw-away keys and self-signed certificates generated at run time.
    use std::sync::OnceLock;

    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::{PKey, Private};
    use openssl::rsa::Rsa;
    use openssl::x509::{X509, X509NameBuilder};

    pub struct KeyPair {
        pub key: PKey<Private>,
        pub cert: X509,
    }

    fn self_signed(key: PKey<Private>, cn: &str) -> KeyPair {
        let mut name = X509NameBuilder::new().unwrap();
        name.append_entry_by_text("CN", cn).unwrap();
        let name = name.build();
        let mut b = X509::builder().unwrap();
        b.set_version(2).unwrap();
        b.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap())
            .unwrap();
        b.set_subject_name(&name).unwrap();
        b.set_issuer_name(&name).unwrap();
        b.set_pubkey(&key).unwrap();
        b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::days_from_now(2).unwrap())
            .unwrap();
        b.sign(&key, MessageDigest::sha256()).unwrap();
        KeyPair {
            key,
            cert: b.build(),
        }
    }

    pub fn rsa(cn: &str) -> KeyPair {
        self_signed(PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(), cn)
    }

    pub fn ec(cn: &str) -> KeyPair {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        self_signed(
            PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap(),
            cn,
        )
    }

    pub fn idp_rsa() -> &'static KeyPair {
        static K: OnceLock<KeyPair> = OnceLock::new();
        K.get_or_init(|| rsa("idp-rsa"))
    }

    pub fn idp_ec() -> &'static KeyPair {
        static K: OnceLock<KeyPair> = OnceLock::new();
        K.get_or_init(|| ec("idp-ec"))
    }

    pub fn attacker_rsa() -> &'static KeyPair {
        static K: OnceLock<KeyPair> = OnceLock::new();
        K.get_or_init(|| rsa("attacker"))
    }
}

#[cfg(test)]
mod tests {
    use super::test_keys::{KeyPair, attacker_rsa, idp_ec, idp_rsa};
    use super::*;

    const RESPONSE: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp" Version="2.0" IssueInstant="2024-01-01T00:00:00Z">
  <saml:Issuer>https://idp.example</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion ID="_assert" Version="2.0" IssueInstant="2024-01-01T00:00:00Z">
    <saml:Issuer>https://idp.example</saml:Issuer>
    <saml:Subject><saml:NameID>alice@example.com<!--comment--></saml:NameID></saml:Subject>
  </saml:Assertion>
</samlp:Response>"#;

    fn kp(alg: SignatureAlgorithm) -> &'static KeyPair {
        if alg == SignatureAlgorithm::EcdsaSha256 {
            idp_ec()
        } else {
            idp_rsa()
        }
    }

    fn signed(target: &str, opts: &SignOptions) -> Document {
        let k = kp(opts.alg);
        let mut doc = Document::parse(RESPONSE).unwrap();
        sign_enveloped(&mut doc, target, &k.key, &k.cert, opts).unwrap();
        // Through text and back, as a peer would receive it.
        Document::parse(&doc.to_xml()).unwrap()
    }

    fn trusted(alg: SignatureAlgorithm) -> Vec<X509> {
        vec![kp(alg).cert.clone()]
    }

    #[test]
    fn sign_and_verify_every_algorithm_and_c14n() {
        for alg in SignatureAlgorithm::ALL {
            for c14n in [
                C14nMethod::EXCLUSIVE,
                C14nMethod::EXCLUSIVE_WITH_COMMENTS,
                C14nMethod::INCLUSIVE,
                C14nMethod::INCLUSIVE_WITH_COMMENTS,
            ] {
                for digest in DigestAlgorithm::ALL {
                    let opts = SignOptions {
                        alg,
                        digest,
                        c14n,
                        ..SignOptions::default()
                    };
                    let doc = signed("_assert", &opts);
                    let refs = verify(&doc, &trusted(alg)).unwrap();
                    assert_eq!(refs.len(), 1);
                    assert_eq!(refs[0].signed_element_id, "_assert");
                    assert!(
                        refs[0]
                            .signed_element_name
                            .is(SAML_ASSERTION_NS, "Assertion")
                    );
                    assert_eq!(refs[0].signature_algorithm, alg);
                    assert_eq!(refs[0].digest_algorithm, digest);
                    assert_eq!(refs[0].c14n, c14n);
                }
            }
        }
    }

    #[test]
    fn signature_is_placed_after_issuer() {
        let doc = signed("_resp", &SignOptions::default());
        let kids: Vec<_> = doc.root.child_elements().collect();
        assert!(kids[0].is(SAML_ASSERTION_NS, "Issuer"));
        assert!(kids[1].is(DSIG_NS, "Signature"));
        let doc = signed("_assert", &SignOptions::default());
        let a = doc.element_by_id("_assert").unwrap().unwrap();
        let kids: Vec<_> = a.child_elements().collect();
        assert!(kids[0].is(SAML_ASSERTION_NS, "Issuer"));
        assert!(kids[1].is(DSIG_NS, "Signature"));

        // Without an Issuer the signature is the first child.
        let k = idp_rsa();
        let mut doc = Document::parse("<r ID=\"x\"><a/></r>").unwrap();
        let p = sign_enveloped(&mut doc, "x", &k.key, &k.cert, &SignOptions::default()).unwrap();
        assert_eq!(p, NodePath(vec![0]));
    }

    #[test]
    fn both_signatures_response_covers_signed_assertion() {
        let k = idp_rsa();
        let mut doc = Document::parse(RESPONSE).unwrap();
        sign_assertion_and_response(
            &mut doc,
            "_assert",
            "_resp",
            &k.key,
            &k.cert,
            &SignOptions::default(),
        )
        .unwrap();
        let doc = Document::parse(&doc.to_xml()).unwrap();
        let refs = verify(&doc, std::slice::from_ref(&k.cert)).unwrap();
        let ids: Vec<_> = refs.iter().map(|r| r.signed_element_id.as_str()).collect();
        assert_eq!(ids, ["_resp", "_assert"]);
        // Tampering with the assertion's signature value breaks the response digest too.
        let xml = doc.to_xml();
        let assertion_sig = verify_element(
            &doc,
            "_assert",
            std::slice::from_ref(&k.cert),
            &VerifyPolicy::default(),
        )
        .unwrap()
        .signature_path;
        let sv = doc
            .get(&assertion_sig)
            .unwrap()
            .find_child(DSIG_NS, "SignatureValue")
            .unwrap()
            .text();
        let flipped = flip_b64_char(&sv);
        let tampered = Document::parse(&xml.replace(&sv, &flipped)).unwrap();
        assert!(matches!(
            verify_element(&tampered, "_resp", std::slice::from_ref(&k.cert), &VerifyPolicy::default()),
            Err(DsigError::DigestMismatch { ref reference, .. }) if reference == "_resp"
        ));
    }

    fn flip_b64_char(s: &str) -> String {
        let mut chars: Vec<char> = s.chars().collect();
        let i = chars.len() / 2;
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        chars.into_iter().collect()
    }

    #[test]
    fn ecdsa_signature_value_is_raw_r_s() {
        let opts = SignOptions {
            alg: SignatureAlgorithm::EcdsaSha256,
            ..SignOptions::default()
        };
        let doc = signed("_assert", &opts);
        let sig_path = signature_paths(&doc).remove(0);
        let sv = doc
            .get(&sig_path)
            .unwrap()
            .find_child(DSIG_NS, "SignatureValue")
            .unwrap()
            .text();
        assert_eq!(decode_b64("SignatureValue", &sv).unwrap().len(), 64);
    }

    #[test]
    fn tampered_content_is_a_digest_mismatch() {
        let xml = signed("_assert", &SignOptions::default()).to_xml();
        let doc = Document::parse(&xml.replace("alice@", "mallory@")).unwrap();
        let err = verify(&doc, &trusted(SignatureAlgorithm::RsaSha256)).unwrap_err();
        assert!(
            matches!(err, DsigError::DigestMismatch { ref reference, .. } if reference == "_assert"),
            "{err}"
        );
    }

    #[test]
    fn comments_are_not_signed_content() {
        // `#ID` references exclude comments (XML-DSig §4.3.3.3), even with #WithComments.
        for c14n in [C14nMethod::EXCLUSIVE, C14nMethod::EXCLUSIVE_WITH_COMMENTS] {
            let opts = SignOptions {
                c14n,
                ..SignOptions::default()
            };
            let xml = signed("_assert", &opts).to_xml();
            let doc = Document::parse(&xml.replace("<!--comment-->", "<!--changed-->")).unwrap();
            verify(&doc, &trusted(SignatureAlgorithm::RsaSha256)).unwrap();
        }
    }

    #[test]
    fn tampered_signature_value_is_invalid() {
        let doc = signed("_assert", &SignOptions::default());
        let sig_path = signature_paths(&doc).remove(0);
        let sv = doc
            .get(&sig_path)
            .unwrap()
            .find_child(DSIG_NS, "SignatureValue")
            .unwrap()
            .text();
        let doc = Document::parse(&doc.to_xml().replace(&sv, &flip_b64_char(&sv))).unwrap();
        let err = verify(&doc, &trusted(SignatureAlgorithm::RsaSha256)).unwrap_err();
        assert!(
            matches!(
                err,
                DsigError::SignatureInvalid {
                    trusted: 1,
                    compatible: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn keyinfo_is_never_trusted() {
        let a = attacker_rsa();
        let mut doc = Document::parse(RESPONSE).unwrap();
        sign_enveloped(
            &mut doc,
            "_assert",
            &a.key,
            &a.cert,
            &SignOptions::default(),
        )
        .unwrap();
        let err = verify(&doc, &trusted(SignatureAlgorithm::RsaSha256)).unwrap_err();
        assert!(
            matches!(err, DsigError::UntrustedKey { ref subject, .. } if subject == "CN=attacker"),
            "{err}"
        );
        // Trusting an EC key only: no compatible key at all.
        let err = verify(&doc, &[idp_ec().cert.clone()]).unwrap_err();
        assert!(matches!(err, DsigError::UntrustedKey { .. }), "{err}");
        assert!(matches!(
            verify(&doc, &[]),
            Err(DsigError::NoTrustedCertificates)
        ));
        // Any trusted certificate may verify: the index says which one.
        let refs = verify(&doc, &[idp_rsa().cert.clone(), a.cert.clone()]).unwrap();
        assert_eq!(refs[0].trusted_cert_index, 1);
    }

    #[test]
    fn reference_must_point_to_the_signature_parent() {
        // Move the assertion's signature up into the Response: it now references a child.
        let doc = signed("_assert", &SignOptions::default());
        let xml = doc.to_xml();
        let start = xml.find("<ds:Signature").unwrap();
        let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let sig = &xml[start..end];
        let without = format!("{}{}", &xml[..start], &xml[end..]);
        let moved = without.replacen("<samlp:Status>", &format!("{sig}<samlp:Status>"), 1);
        let err = verify(
            &Document::parse(&moved).unwrap(),
            &trusted(SignatureAlgorithm::RsaSha256),
        )
        .unwrap_err();
        assert!(
            matches!(err, DsigError::ReferenceNotParent { ref reference, ref signed_element, ref signature_parent }
                if reference == "_assert" && signed_element == "saml:Assertion" && signature_parent == "samlp:Response"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_ids_are_refused() {
        let xml = signed("_assert", &SignOptions::default()).to_xml();
        // Classic wrapping: a copy of the signed assertion elsewhere, same ID.
        let evil = xml.replacen(
            "<samlp:Status>",
            "<samlp:Extensions><saml:Assertion ID=\"_assert\"/></samlp:Extensions><samlp:Status>",
            1,
        );
        let err = verify(
            &Document::parse(&evil).unwrap(),
            &trusted(SignatureAlgorithm::RsaSha256),
        )
        .unwrap_err();
        assert!(
            matches!(err, DsigError::Xml(XmlError::DuplicateId { count: 2, .. })),
            "{err}"
        );
    }

    fn edit_signed(edit: impl Fn(String) -> String) -> Result<Vec<VerifiedReference>, DsigError> {
        let xml = signed("_assert", &SignOptions::default()).to_xml();
        let doc = Document::parse(&edit(xml)).unwrap();
        verify(&doc, &trusted(SignatureAlgorithm::RsaSha256))
    }

    #[test]
    fn structural_and_algorithm_checks() {
        let err = edit_signed(|x| {
            x.replace(
                SignatureAlgorithm::RsaSha256.uri(),
                "http://www.w3.org/2000/09/xmldsig#hmac-sha1",
            )
        })
        .unwrap_err();
        assert!(
            matches!(
                err,
                DsigError::UnsupportedAlgorithm {
                    kind: "SignatureMethod",
                    ..
                }
            ),
            "{err}"
        );

        let err = edit_signed(|x| x.replace("URI=\"#_assert\"", "URI=\"\"")).unwrap_err();
        assert!(
            matches!(err, DsigError::UnsupportedReferenceUri { .. }),
            "{err}"
        );

        let err =
            edit_signed(|x| x.replace("URI=\"#_assert\"", "URI=\"#xpointer(id('_assert'))\""))
                .unwrap_err();
        assert!(
            matches!(err, DsigError::UnsupportedReferenceUri { .. }),
            "{err}"
        );

        let err = edit_signed(|x| x.replace("URI=\"#_assert\"", "URI=\"#_nope\"")).unwrap_err();
        assert!(matches!(err, DsigError::ReferenceNotFound { .. }), "{err}");

        let err = edit_signed(|x| {
            let start = x.find("<ds:Reference").unwrap();
            let end = x.find("</ds:Reference>").unwrap() + "</ds:Reference>".len();
            let r = x[start..end].to_string();
            x.replacen(&r, &format!("{r}{r}"), 1)
        })
        .unwrap_err();
        assert!(
            matches!(err, DsigError::ReferenceCount { found: 2 }),
            "{err}"
        );

        let err = edit_signed(|x| {
            x.replace(
                "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
                "<ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><ds:XPath>1</ds:XPath></ds:Transform>",
            )
        })
        .unwrap_err();
        assert!(
            matches!(
                err,
                DsigError::UnsupportedAlgorithm {
                    kind: "Transform",
                    ..
                }
            ),
            "{err}"
        );

        let err = edit_signed(|x| {
            x.replace(
                "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
                "",
            )
        })
        .unwrap_err();
        assert!(
            matches!(err, DsigError::MissingEnvelopedTransform { .. }),
            "{err}"
        );

        let err =
            edit_signed(|x| x.replace("<ds:SignatureValue>", "<ds:SignatureValue>!!")).unwrap_err();
        assert!(
            matches!(
                err,
                DsigError::InvalidBase64 {
                    element: "SignatureValue",
                    ..
                }
            ),
            "{err}"
        );

        let err = edit_signed(|x| x.replace("<ds:SignedInfo>", "<ds:SignedInfo>junk")).unwrap_err();
        assert!(
            matches!(
                err,
                DsigError::Malformed {
                    element: "SignedInfo",
                    ..
                }
            ),
            "{err}"
        );

        let err = verify(
            &Document::parse(RESPONSE).unwrap(),
            &trusted(SignatureAlgorithm::RsaSha256),
        )
        .unwrap_err();
        assert!(matches!(err, DsigError::NoSignature));
    }

    #[test]
    fn policy_can_refuse_sha1() {
        let opts = SignOptions {
            alg: SignatureAlgorithm::RsaSha1,
            digest: DigestAlgorithm::Sha1,
            ..SignOptions::default()
        };
        let doc = signed("_assert", &opts);
        verify(&doc, &trusted(SignatureAlgorithm::RsaSha1)).unwrap();
        let err = verify_with_policy(
            &doc,
            &trusted(SignatureAlgorithm::RsaSha1),
            &VerifyPolicy::modern(),
        )
        .unwrap_err();
        assert!(
            matches!(err, DsigError::AlgorithmNotAllowed { .. }),
            "{err}"
        );
    }

    #[test]
    fn signing_checks_key_and_target() {
        let rsa = idp_rsa();
        let ec = idp_ec();
        let mut doc = Document::parse(RESPONSE).unwrap();
        let ecdsa = SignOptions {
            alg: SignatureAlgorithm::EcdsaSha256,
            ..SignOptions::default()
        };
        assert!(matches!(
            sign_enveloped(&mut doc, "_assert", &rsa.key, &rsa.cert, &ecdsa),
            Err(DsigError::KeyAlgorithmMismatch { .. })
        ));
        assert!(matches!(
            sign_enveloped(
                &mut doc,
                "_assert",
                &rsa.key,
                &ec.cert,
                &SignOptions::default()
            ),
            Err(DsigError::CertificateKeyMismatch)
        ));
        assert!(matches!(
            sign_enveloped(
                &mut doc,
                "_nope",
                &rsa.key,
                &rsa.cert,
                &SignOptions::default()
            ),
            Err(DsigError::IdNotFound { .. })
        ));
        sign_enveloped(
            &mut doc,
            "_assert",
            &rsa.key,
            &rsa.cert,
            &SignOptions::default(),
        )
        .unwrap();
        assert!(matches!(
            sign_enveloped(
                &mut doc,
                "_assert",
                &rsa.key,
                &rsa.cert,
                &SignOptions::default()
            ),
            Err(DsigError::AlreadySigned { .. })
        ));
    }

    #[test]
    fn inclusive_prefix_list_is_written_and_honored() {
        let opts = SignOptions {
            inclusive_prefixes: vec!["samlp".into()],
            ..SignOptions::default()
        };
        let doc = signed("_assert", &opts);
        let xml = doc.to_xml();
        assert!(xml.contains("<ec:InclusiveNamespaces xmlns:ec=\"http://www.w3.org/2001/10/xml-exc-c14n#\" PrefixList=\"samlp\"/>"), "{xml}");
        verify(&doc, &trusted(SignatureAlgorithm::RsaSha256)).unwrap();
        // samlp is now part of the signed bytes of the assertion.
        let doc = Document::parse(&xml.replacen(
            "xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"",
            "xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol:evil\"",
            1,
        ))
        .unwrap();
        assert!(matches!(
            verify_element(
                &doc,
                "_assert",
                &trusted(SignatureAlgorithm::RsaSha256),
                &VerifyPolicy::default()
            ),
            Err(DsigError::DigestMismatch { .. })
        ));
    }

    /// Random mutations of signed documents (deterministic PRNG): parsing and verification
    /// must return errors, never panic, and never accept a changed signed byte.
    #[test]
    fn mutated_documents_never_panic() {
        let k = idp_rsa();
        let mut doc = Document::parse(RESPONSE).unwrap();
        sign_assertion_and_response(
            &mut doc,
            "_assert",
            "_resp",
            &k.key,
            &k.cert,
            &SignOptions::default(),
        )
        .unwrap();
        let original_text = doc.to_xml();
        let original_doc = Document::parse(&original_text).unwrap();
        let original: Vec<char> = original_text.chars().collect();
        let signed_form = |d: &Document, path: &NodePath| {
            let el = d.get(path).unwrap();
            let opts = C14nOptions {
                exclude: el.find_child(DSIG_NS, "Signature"),
                ..C14nOptions::default()
            };
            c14n::canonicalize(d, path, &opts).unwrap()
        };
        let alphabet: Vec<char> = "<>/=\"'&;#x:!?-[] \t\r\nabcdsID_0123456789\u{e9}\u{0}"
            .chars()
            .collect();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let trusted = std::slice::from_ref(&k.cert);
        let mut accepted_changed = 0;
        for _ in 0..2000 {
            let mut m = original.clone();
            for _ in 0..=next(3) {
                let at = next(m.len());
                match next(4) {
                    0 => m[at] = alphabet[next(alphabet.len())],
                    1 => {
                        m.remove(at);
                    }
                    2 => {
                        let end = (at + next(40)).min(m.len());
                        let slice: Vec<char> = m[at..end].to_vec();
                        let to = next(m.len());
                        m.splice(to..to, slice);
                    }
                    _ => m.truncate(at),
                }
            }
            let text: String = m.iter().collect();
            let Ok(doc) = Document::parse(&text) else {
                continue;
            };
            let Ok(refs) = verify(&doc, trusted) else {
                continue;
            };
            if text != original_text {
                accepted_changed += 1;
            }
            // Whatever was accepted, each verified element must be byte-identical (as
            // signed) to the original element with that ID. Changes elsewhere (an element
            // that is no longer a ds:Signature, whitespace inside tags, KeyInfo...) are the
            // caller's business: it must only consume what a VerifiedReference covers.
            for r in refs {
                assert_eq!(
                    signed_form(&doc, &r.signed_element_path),
                    signed_form(
                        &original_doc,
                        &original_doc
                            .find_by_id(&r.signed_element_id)
                            .unwrap()
                            .unwrap()
                    ),
                    "accepted changed signed content:\n{text}"
                );
            }
        }
        assert!(
            accepted_changed < 300,
            "{accepted_changed} mutations accepted"
        );
    }

    #[test]
    fn hostile_xml_is_refused_before_any_processing() {
        let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>"#;
        assert!(matches!(
            Document::parse(laughs),
            Err(XmlError::Doctype { .. })
        ));
        let xxe = r#"<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>"#;
        assert!(matches!(
            Document::parse(xxe),
            Err(XmlError::Doctype { .. })
        ));
    }
}
