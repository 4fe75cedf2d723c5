//! W3C XML Encryption (1.0, and the 1.1 algorithms) of SAML assertions: the
//! `saml:EncryptedAssertion` of SAML core §2.3.4, as an IdP produces it for an SP whose
//! metadata publishes an encryption certificate, and as an SP opens it.
//!
//! Shape produced (the one OpenSAML, Okta, ADFS and Entra send, and every SP reads):
//!
//! ```text
//! saml:EncryptedAssertion
//!   xenc:EncryptedData Type="…xmlenc#Element"
//!     xenc:EncryptionMethod Algorithm="<block cipher>"
//!     ds:KeyInfo
//!       xenc:EncryptedKey
//!         xenc:EncryptionMethod Algorithm="<RSA-OAEP>" (+ DigestMethod, MGF)
//!         ds:KeyInfo/ds:X509Data/ds:X509Certificate   (the SP's certificate: key selection)
//!         xenc:CipherData/xenc:CipherValue              (the wrapped content key)
//!     xenc:CipherData/xenc:CipherValue                  (IV || ciphertext [|| tag])
//! ```
//!
//! The plaintext is the Assertion serialized on its own, with every namespace in scope
//! where it stood declared on it. That keeps a signed Assertion verifiable after
//! decryption wherever the decrypter parses it: the in-scope namespaces are the same as
//! before encryption, so exclusive and inclusive c14n produce the same bytes.
//!
//! Decryption handles attacker-controlled input (the reference SP decrypts whatever is
//! posted): every algorithm is matched against a closed list, every size is bounded before
//! anything is allocated or decrypted, the plaintext goes through the project's parser with
//! its limits, and failures are typed errors, never panics. RSA PKCS#1 v1.5 key transport
//! is refused (Bleichenbacher's padding oracle), and [`XmlEncError::is_oracle_sensitive`]
//! tells callers which failures must look alike to whoever posted the message (the CBC
//! padding oracle of Jager and Somorovsky, "How to Break XML Encryption", CCS 2011).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::encrypt::{Decrypter, Encrypter};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{HasPublic, Id, PKey, PKeyRef, Private};
use openssl::rsa::Padding;
use openssl::symm::{self, Cipher, Crypter, Mode};
use openssl::x509::X509;

use super::dsig::{DSIG_NS, SAML_ASSERTION_NS};
use super::xml::{Document, Element, Limits, Node, NodePath, NsDecl, Scope, XmlError};

/// XML Encryption 1.0 namespace (`xenc`).
pub const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
/// XML Encryption 1.1 namespace (`xenc11`: GCM, the generic RSA-OAEP, MGF).
pub const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
/// `EncryptedData/@Type` of an encrypted element (XML Enc §3.5.1).
pub const TYPE_ELEMENT: &str = "http://www.w3.org/2001/04/xmlenc#Element";
/// RSA PKCS#1 v1.5 key transport: recognised only to be refused by name.
pub const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";

/// Largest plaintext decrypted (the reference SP accepts 1 MiB Responses; an assertion in
/// one is smaller still).
pub const MAX_PLAINTEXT_BYTES: usize = 1024 * 1024;
/// Most `xenc:EncryptedKey` elements tried (one per recipient; real messages carry one).
pub const MAX_ENCRYPTED_KEYS: usize = 8;
/// Largest wrapped key accepted: a 16384-bit RSA modulus.
const MAX_WRAPPED_KEY_BYTES: usize = 2048;
/// Largest OAEP label (`xenc:OAEPparams`).
const MAX_OAEP_LABEL_BYTES: usize = 1024;
/// IV, tag and padding around the plaintext, at most.
const CIPHER_OVERHEAD: usize = 16 + 16 + 16;

/// Parse limits for a decrypted assertion: the reference SP's limits for a whole Response.
pub const PLAINTEXT_LIMITS: Limits = Limits {
    max_input_bytes: MAX_PLAINTEXT_BYTES,
    max_depth: 64,
    max_elements: 20_000,
    max_attributes_per_element: 64,
    max_namespace_declarations: 1024,
};

const GCM_IV_BYTES: usize = 12;
const GCM_TAG_BYTES: usize = 16;
const CBC_IV_BYTES: usize = 16;
const AES_BLOCK_BYTES: usize = 16;

/// Content encryption: the block cipher of `EncryptedData/EncryptionMethod`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockCipher {
    /// `xmlenc#aes128-cbc`: IV(16) || ciphertext, XML Enc §5.2 padding.
    Aes128Cbc,
    /// `xmlenc#aes256-cbc`: what Okta, ADFS and Entra send by default.
    Aes256Cbc,
    /// `xmlenc11#aes128-gcm`: IV(12) || ciphertext || tag(16).
    Aes128Gcm,
    /// `xmlenc11#aes256-gcm`.
    Aes256Gcm,
}

impl BlockCipher {
    pub const ALL: [BlockCipher; 4] = [
        BlockCipher::Aes128Cbc,
        BlockCipher::Aes256Cbc,
        BlockCipher::Aes128Gcm,
        BlockCipher::Aes256Gcm,
    ];

    pub fn uri(self) -> &'static str {
        match self {
            BlockCipher::Aes128Cbc => "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
            BlockCipher::Aes256Cbc => "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
            BlockCipher::Aes128Gcm => "http://www.w3.org/2009/xmlenc11#aes128-gcm",
            BlockCipher::Aes256Gcm => "http://www.w3.org/2009/xmlenc11#aes256-gcm",
        }
    }

    pub fn from_uri(uri: &str) -> Option<BlockCipher> {
        BlockCipher::ALL.into_iter().find(|c| c.uri() == uri)
    }

    /// Content key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            BlockCipher::Aes128Cbc | BlockCipher::Aes128Gcm => 16,
            BlockCipher::Aes256Cbc | BlockCipher::Aes256Gcm => 32,
        }
    }

    pub fn is_gcm(self) -> bool {
        matches!(self, BlockCipher::Aes128Gcm | BlockCipher::Aes256Gcm)
    }

    fn cipher(self) -> Cipher {
        match self {
            BlockCipher::Aes128Cbc => Cipher::aes_128_cbc(),
            BlockCipher::Aes256Cbc => Cipher::aes_256_cbc(),
            BlockCipher::Aes128Gcm => Cipher::aes_128_gcm(),
            BlockCipher::Aes256Gcm => Cipher::aes_256_gcm(),
        }
    }
}

/// Key transport: how the content key is encrypted for the SP's RSA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyTransport {
    /// `xmlenc#rsa-oaep-mgf1p` with a SHA-1 digest (MGF1-SHA1 is implied): what Okta, ADFS
    /// and most SPs accept. SHA-1 is sound here (OAEP needs no collision resistance).
    #[default]
    RsaOaepMgf1p,
    /// `xmlenc11#rsa-oaep` with a SHA-256 digest and MGF1-SHA256.
    RsaOaep,
}

impl KeyTransport {
    pub const ALL: [KeyTransport; 2] = [KeyTransport::RsaOaepMgf1p, KeyTransport::RsaOaep];

    pub fn uri(self) -> &'static str {
        match self {
            KeyTransport::RsaOaepMgf1p => "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
            KeyTransport::RsaOaep => "http://www.w3.org/2009/xmlenc11#rsa-oaep",
        }
    }

    pub fn from_uri(uri: &str) -> Option<KeyTransport> {
        KeyTransport::ALL.into_iter().find(|t| t.uri() == uri)
    }

    /// The OAEP digest and MGF1 digest written when encrypting.
    fn digests(self) -> (OaepDigest, OaepDigest) {
        match self {
            KeyTransport::RsaOaepMgf1p => (OaepDigest::Sha1, OaepDigest::Sha1),
            KeyTransport::RsaOaep => (OaepDigest::Sha256, OaepDigest::Sha256),
        }
    }
}

/// Digests OAEP may be parameterised with (XML Enc 1.1 §5.5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OaepDigest {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl OaepDigest {
    const ALL: [OaepDigest; 5] = [
        OaepDigest::Sha1,
        OaepDigest::Sha224,
        OaepDigest::Sha256,
        OaepDigest::Sha384,
        OaepDigest::Sha512,
    ];

    /// `ds:DigestMethod/@Algorithm`.
    fn digest_uri(self) -> &'static str {
        match self {
            OaepDigest::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            OaepDigest::Sha224 => "http://www.w3.org/2001/04/xmldsig-more#sha224",
            OaepDigest::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            OaepDigest::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            OaepDigest::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    /// `xenc11:MGF/@Algorithm`.
    fn mgf_uri(self) -> &'static str {
        match self {
            OaepDigest::Sha1 => "http://www.w3.org/2009/xmlenc11#mgf1sha1",
            OaepDigest::Sha224 => "http://www.w3.org/2009/xmlenc11#mgf1sha224",
            OaepDigest::Sha256 => "http://www.w3.org/2009/xmlenc11#mgf1sha256",
            OaepDigest::Sha384 => "http://www.w3.org/2009/xmlenc11#mgf1sha384",
            OaepDigest::Sha512 => "http://www.w3.org/2009/xmlenc11#mgf1sha512",
        }
    }

    fn md(self) -> MessageDigest {
        match self {
            OaepDigest::Sha1 => MessageDigest::sha1(),
            OaepDigest::Sha224 => MessageDigest::sha224(),
            OaepDigest::Sha256 => MessageDigest::sha256(),
            OaepDigest::Sha384 => MessageDigest::sha384(),
            OaepDigest::Sha512 => MessageDigest::sha512(),
        }
    }
}

/// Why encrypting or decrypting failed.
#[derive(Debug, thiserror::Error)]
pub enum XmlEncError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("openssl: {0}")]
    Openssl(#[from] ErrorStack),
    #[error("cannot encrypt the Assertion: the root <{root}> has no saml:Assertion child")]
    NoAssertion { root: String },
    #[error("the encryption certificate holds a {found} key; only RSA key transport is supported")]
    CertificateKeyNotRsa { found: String },
    #[error("the decryption key is a {found} key; only RSA key transport is supported")]
    DecryptionKeyNotRsa { found: String },
    #[error("expected a saml:EncryptedAssertion, found <{found}>")]
    NotEncryptedAssertion { found: String },
    #[error("<{parent}> has no {child}")]
    Missing {
        parent: &'static str,
        child: &'static str,
    },
    #[error("<{parent}> has {count} {child} elements; exactly one is allowed")]
    Repeated {
        parent: &'static str,
        child: &'static str,
        count: usize,
    },
    #[error("{element} has no Algorithm attribute")]
    MissingAlgorithm { element: &'static str },
    #[error("unsupported {kind} algorithm {uri:?}")]
    UnsupportedAlgorithm { kind: &'static str, uri: String },
    #[error(
        "RSA PKCS#1 v1.5 key transport ({RSA_1_5}) is refused: it is open to Bleichenbacher's padding-oracle attack; use RSA-OAEP"
    )]
    InsecureKeyTransport,
    #[error("EncryptedData Type {found:?} is not supported: expected {TYPE_ELEMENT}")]
    UnsupportedType { found: String },
    #[error("CipherReference is refused: the ciphertext must be inline (CipherValue)")]
    CipherReference,
    #[error("invalid base64 in {element}")]
    Base64 { element: &'static str },
    #[error("{what} is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    #[error("no xenc:EncryptedKey (in EncryptedData/KeyInfo or beside EncryptedData)")]
    NoEncryptedKey,
    #[error("{found} xenc:EncryptedKey elements, more than the limit of {MAX_ENCRYPTED_KEYS}")]
    TooManyEncryptedKeys { found: usize },
    #[error("no EncryptedKey could be decrypted with this key")]
    KeyDecryption,
    #[error("the content key is {found} bytes; {expected} expected for the block cipher")]
    KeyLength { expected: usize, found: usize },
    #[error("the ciphertext is {found} bytes, which is not a valid length for {cipher}")]
    CiphertextLength { cipher: &'static str, found: usize },
    #[error("the decrypted data has invalid padding")]
    Padding,
    #[error(
        "the GCM authentication tag does not match: the ciphertext was altered or the key is wrong"
    )]
    Authentication,
    #[error("the decrypted data is not UTF-8")]
    NotUtf8,
    #[error("the decrypted data is not exactly one element")]
    NotOneElement,
    #[error("the decrypted element is <{found}>, not a saml:Assertion")]
    NotAnAssertion { found: String },
}

impl XmlEncError {
    /// Errors that arise only after something was decrypted with the recipient's key.
    /// Telling them apart (wrong padding, then unparsable plaintext, then a wrong key
    /// length…) is exactly what turns a decrypter into an oracle for CBC (Jager and
    /// Somorovsky 2011) and, less practically, OAEP: whoever answers the sender of the
    /// message should report them all the same way. Structural and algorithm errors come
    /// before any decryption and reveal nothing.
    pub fn is_oracle_sensitive(&self) -> bool {
        matches!(
            self,
            XmlEncError::KeyDecryption
                | XmlEncError::KeyLength { .. }
                | XmlEncError::Padding
                | XmlEncError::Authentication
                | XmlEncError::NotUtf8
                | XmlEncError::NotOneElement
                | XmlEncError::NotAnAssertion { .. }
                | XmlEncError::Xml(_)
                | XmlEncError::Openssl(_)
        )
    }
}

fn key_type_name(id: Id) -> String {
    match id {
        Id::RSA => "RSA".into(),
        Id::EC => "EC".into(),
        Id::ED25519 => "Ed25519".into(),
        Id::DSA => "DSA".into(),
        other => format!("type {}", other.as_raw()),
    }
}

fn xenc(local: &str) -> Element {
    Element::new_ns("xenc", XENC_NS, local)
}

fn ds(local: &str) -> Element {
    Element::new_ns("ds", DSIG_NS, local)
}

fn cipher_data(bytes: &[u8]) -> Element {
    xenc("CipherData").with_child(xenc("CipherValue").with_text(&B64.encode(bytes)))
}

fn random_bytes(n: usize) -> Result<Vec<u8>, ErrorStack> {
    let mut buf = vec![0u8; n];
    openssl::rand::rand_bytes(&mut buf)?;
    Ok(buf)
}

// ---------------------------------------------------------------------------------------------
// Encryption
// ---------------------------------------------------------------------------------------------

/// Replaces the first `saml:Assertion` child of the root with a `saml:EncryptedAssertion`
/// for `sp_cert`'s RSA key (see the module docs for the shape). A signed Assertion must be
/// signed before this; a Response signature, after. On error the document is unchanged.
pub fn encrypt_assertion(
    doc: &mut Document,
    sp_cert: &X509,
    cipher: BlockCipher,
    transport: KeyTransport,
) -> Result<(), XmlEncError> {
    let public = sp_cert.public_key()?;
    if public.id() != Id::RSA {
        return Err(XmlEncError::CertificateKeyNotRsa {
            found: key_type_name(public.id()),
        });
    }
    // A built tree may still lack declarations; the plaintext must carry them all.
    doc.fixup_namespaces()?;
    let (index, assertion) = doc
        .root
        .indexed_child_elements()
        .find(|(_, e)| e.is(SAML_ASSERTION_NS, "Assertion"))
        .ok_or_else(|| XmlEncError::NoAssertion {
            root: doc.root.name.qualified(),
        })?;
    let scope = Scope::root().enter(&doc.root);
    let plaintext = standalone(assertion, &scope).to_xml();
    let assertion_prefix = assertion.name.prefix.clone();

    let content_key = random_bytes(cipher.key_len())?;
    let ciphertext = encrypt_content(cipher, &content_key, plaintext.as_bytes())?;
    let wrapped_key = wrap_key(transport, &public, &content_key)?;
    let cert_b64 = B64.encode(sp_cert.to_der()?);

    let (digest, mgf) = transport.digests();
    let mut key_method = xenc("EncryptionMethod")
        .with_attr("Algorithm", transport.uri())
        .with_child(ds("DigestMethod").with_attr("Algorithm", digest.digest_uri()));
    if transport == KeyTransport::RsaOaep {
        key_method.append_child(
            Element::new_ns("xenc11", XENC11_NS, "MGF")
                .with_ns_decl("xenc11", XENC11_NS)
                .with_attr("Algorithm", mgf.mgf_uri()),
        );
    }
    let encrypted_key = xenc("EncryptedKey")
        .with_child(key_method)
        // The SP's certificate: lets an SP with several keys (rollover) pick the right one.
        .with_child(
            ds("KeyInfo")
                .with_child(ds("X509Data").with_child(ds("X509Certificate").with_text(&cert_b64))),
        )
        .with_child(cipher_data(&wrapped_key));
    let encrypted_data = xenc("EncryptedData")
        .with_ns_decl("xenc", XENC_NS)
        .with_attr("Type", TYPE_ELEMENT)
        .with_child(xenc("EncryptionMethod").with_attr("Algorithm", cipher.uri()))
        .with_child(
            ds("KeyInfo")
                .with_ns_decl("ds", DSIG_NS)
                .with_child(encrypted_key),
        )
        .with_child(cipher_data(&ciphertext));
    let mut encrypted_assertion = Element::new_ns(
        assertion_prefix.as_deref().unwrap_or(""),
        SAML_ASSERTION_NS,
        "EncryptedAssertion",
    )
    .with_child(encrypted_data);
    // The Assertion may have declared its own prefix; the replacement must then too.
    let prefix = assertion_prefix.as_deref().unwrap_or("");
    if scope.lookup(prefix) != Some(SAML_ASSERTION_NS) {
        encrypted_assertion.declare_ns(prefix, SAML_ASSERTION_NS);
    }
    // Every prefix used above is declared where it is used, so the document stays
    // consistent without another fixup (which could fail after the replacement).
    if let Some(slot) = doc.root.children.get_mut(index) {
        *slot = Node::Element(encrypted_assertion);
    }
    Ok(())
}

/// `el` with every namespace in `scope` (the scope of its parent) that it does not declare
/// itself declared on it: the same in-scope namespaces, so the same canonical forms, with
/// or without the original context.
fn standalone(el: &Element, scope: &Scope) -> Element {
    let mut out = el.clone();
    add_scope_decls(&mut out, &scope_decls(scope));
    out
}

/// The declarations in effect in `scope` ("undeclared" defaults left out).
fn scope_decls(scope: &Scope) -> Vec<NsDecl> {
    scope
        .prefixes()
        .filter_map(|p| {
            let uri = scope.declared(p);
            (!uri.is_empty()).then(|| NsDecl {
                prefix: (!p.is_empty()).then(|| p.to_string()),
                uri: uri.to_string(),
            })
        })
        .collect()
}

fn add_scope_decls(el: &mut Element, decls: &[NsDecl]) {
    for d in decls {
        if !el.ns_decls.iter().any(|own| own.prefix == d.prefix) {
            el.ns_decls.push(d.clone());
        }
    }
}

fn encrypt_content(
    cipher: BlockCipher,
    key: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, ErrorStack> {
    if cipher.is_gcm() {
        let iv = random_bytes(GCM_IV_BYTES)?;
        let mut tag = [0u8; GCM_TAG_BYTES];
        let ct = symm::encrypt_aead(cipher.cipher(), key, Some(&iv), &[], plaintext, &mut tag)?;
        Ok([iv.as_slice(), &ct, &tag].concat())
    } else {
        let iv = random_bytes(CBC_IV_BYTES)?;
        // openssl pads per PKCS#7, one instance of XML Enc §5.2 padding (the last byte is
        // the length; the others may be anything), and the one strict decrypters accept.
        let ct = symm::encrypt(cipher.cipher(), key, Some(&iv), plaintext)?;
        Ok([iv.as_slice(), &ct].concat())
    }
}

fn wrap_key<T: HasPublic>(
    transport: KeyTransport,
    public: &PKeyRef<T>,
    key: &[u8],
) -> Result<Vec<u8>, ErrorStack> {
    let (digest, mgf) = transport.digests();
    let mut enc = Encrypter::new(public)?;
    enc.set_rsa_padding(Padding::PKCS1_OAEP)?;
    enc.set_rsa_oaep_md(digest.md())?;
    enc.set_rsa_mgf1_md(mgf.md())?;
    let mut out = vec![0u8; enc.encrypt_len(key)?];
    let n = enc.encrypt(key, &mut out)?;
    out.truncate(n);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Decryption
// ---------------------------------------------------------------------------------------------

/// Decrypts a `saml:EncryptedAssertion` with the SP's private key and returns the
/// Assertion as a document of its own (root: the `saml:Assertion`).
///
/// The plaintext is parsed in the context of the namespaces declared on
/// `encrypted_assertion` itself; use [`decrypt_assertion_at`] when it sits in a document
/// whose ancestors declare prefixes the plaintext relies on (xmlsec-based IdPs serialize the
/// Assertion without the declarations of its ancestors).
pub fn decrypt_assertion(
    encrypted_assertion: &Element,
    key: &PKey<Private>,
) -> Result<Document, XmlEncError> {
    decrypt_in_scope(
        encrypted_assertion,
        &Scope::root().enter(encrypted_assertion),
        key,
    )
}

/// [`decrypt_assertion`] of the EncryptedAssertion at `path` in `doc`, parsing the
/// plaintext with every namespace in scope there (XML Enc §4.5: an encrypted element is
/// parsed in the context of where it is decrypted). The returned Assertion declares those
/// namespaces itself, so it canonicalizes as it did in place.
pub fn decrypt_assertion_at(
    doc: &Document,
    path: &NodePath,
    key: &PKey<Private>,
) -> Result<Document, XmlEncError> {
    let chain = doc.ancestors_and_self(path).ok_or(XmlEncError::Missing {
        parent: "document",
        child: "saml:EncryptedAssertion at the given path",
    })?;
    let mut scope = Scope::root();
    for el in &chain {
        scope = scope.enter(el);
    }
    let el = chain.last().ok_or(XmlEncError::Missing {
        parent: "document",
        child: "saml:EncryptedAssertion at the given path",
    })?;
    decrypt_in_scope(el, &scope, key)
}

/// How one EncryptedKey says its content key was wrapped.
struct OaepParams {
    digest: OaepDigest,
    mgf: OaepDigest,
    label: Option<Vec<u8>>,
}

/// The only child `{ns}local` of `parent`.
fn only_child<'a>(
    parent: &'a Element,
    parent_name: &'static str,
    ns: &str,
    local: &str,
    child_name: &'static str,
) -> Result<&'a Element, XmlEncError> {
    let mut it = parent.child_elements().filter(|e| e.is(ns, local));
    let first = it.next().ok_or(XmlEncError::Missing {
        parent: parent_name,
        child: child_name,
    })?;
    let rest = it.count();
    if rest > 0 {
        return Err(XmlEncError::Repeated {
            parent: parent_name,
            child: child_name,
            count: rest + 1,
        });
    }
    Ok(first)
}

fn algorithm<'a>(method: &'a Element, element: &'static str) -> Result<&'a str, XmlEncError> {
    method
        .attr("Algorithm")
        .map(str::trim)
        .ok_or(XmlEncError::MissingAlgorithm { element })
}

/// Decoded `CipherData/CipherValue` of `parent`, at most `limit` bytes.
fn cipher_value(
    parent: &Element,
    parent_name: &'static str,
    limit: usize,
) -> Result<Vec<u8>, XmlEncError> {
    let data = only_child(
        parent,
        parent_name,
        XENC_NS,
        "CipherData",
        "xenc:CipherData",
    )?;
    // Fetching a CipherReference would let a message make the SP send requests.
    if data.find_child(XENC_NS, "CipherReference").is_some() {
        return Err(XmlEncError::CipherReference);
    }
    let value = only_child(
        data,
        "xenc:CipherData",
        XENC_NS,
        "CipherValue",
        "xenc:CipherValue",
    )?;
    decode_bounded(&value.text(), "xenc:CipherValue", limit)
}

/// Base64 (whitespace allowed, as wrapped by many IdPs), refused above `limit` decoded
/// bytes before decoding.
fn decode_bounded(text: &str, element: &'static str, limit: usize) -> Result<Vec<u8>, XmlEncError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let decoded_len = compact.len() / 4 * 3;
    if decoded_len > limit.saturating_add(3) {
        return Err(XmlEncError::TooLarge {
            what: element,
            size: decoded_len,
            limit,
        });
    }
    let bytes = B64
        .decode(compact.as_bytes())
        .map_err(|_| XmlEncError::Base64 { element })?;
    if bytes.len() > limit {
        return Err(XmlEncError::TooLarge {
            what: element,
            size: bytes.len(),
            limit,
        });
    }
    Ok(bytes)
}

fn decrypt_in_scope(
    encrypted_assertion: &Element,
    scope: &Scope,
    key: &PKey<Private>,
) -> Result<Document, XmlEncError> {
    if !encrypted_assertion.is(SAML_ASSERTION_NS, "EncryptedAssertion") {
        return Err(XmlEncError::NotEncryptedAssertion {
            found: encrypted_assertion.name.qualified(),
        });
    }
    if key.id() != Id::RSA {
        return Err(XmlEncError::DecryptionKeyNotRsa {
            found: key_type_name(key.id()),
        });
    }
    let data = only_child(
        encrypted_assertion,
        "saml:EncryptedAssertion",
        XENC_NS,
        "EncryptedData",
        "xenc:EncryptedData",
    )?;
    if let Some(t) = data.attr("Type")
        && t.trim() != TYPE_ELEMENT
    {
        return Err(XmlEncError::UnsupportedType {
            found: t.to_string(),
        });
    }
    let method = only_child(
        data,
        "xenc:EncryptedData",
        XENC_NS,
        "EncryptionMethod",
        "xenc:EncryptionMethod",
    )?;
    let uri = algorithm(method, "EncryptedData/EncryptionMethod")?;
    let cipher = BlockCipher::from_uri(uri).ok_or_else(|| XmlEncError::UnsupportedAlgorithm {
        kind: "block encryption",
        uri: uri.to_string(),
    })?;
    let ciphertext = cipher_value(
        data,
        "xenc:EncryptedData",
        MAX_PLAINTEXT_BYTES + CIPHER_OVERHEAD,
    )?;

    // The content key: inline in KeyInfo (the usual place) or beside EncryptedData (SAML
    // core §2.3.4 allows EncryptedKey children of EncryptedAssertion).
    let candidates: Vec<&Element> = data
        .find_children(DSIG_NS, "KeyInfo")
        .flat_map(|ki| ki.find_children(XENC_NS, "EncryptedKey"))
        .chain(encrypted_assertion.find_children(XENC_NS, "EncryptedKey"))
        .take(MAX_ENCRYPTED_KEYS + 1)
        .collect();
    if candidates.is_empty() {
        return Err(XmlEncError::NoEncryptedKey);
    }
    if candidates.len() > MAX_ENCRYPTED_KEYS {
        return Err(XmlEncError::TooManyEncryptedKeys {
            found: candidates.len(),
        });
    }
    let content_key = unwrap_any(&candidates, key)?;
    if content_key.len() != cipher.key_len() {
        return Err(XmlEncError::KeyLength {
            expected: cipher.key_len(),
            found: content_key.len(),
        });
    }
    let plaintext = decrypt_content(cipher, &content_key, &ciphertext)?;
    if plaintext.len() > MAX_PLAINTEXT_BYTES {
        return Err(XmlEncError::TooLarge {
            what: "the decrypted assertion",
            size: plaintext.len(),
            limit: MAX_PLAINTEXT_BYTES,
        });
    }
    let plaintext = String::from_utf8(plaintext).map_err(|_| XmlEncError::NotUtf8)?;
    parse_plaintext(&plaintext, scope)
}

/// The content key of the first EncryptedKey that decrypts with `key`. An EncryptedKey
/// with an algorithm we refuse is skipped (it may be for another recipient); if none is
/// usable, the first refusal is the error.
fn unwrap_any(candidates: &[&Element], key: &PKey<Private>) -> Result<Vec<u8>, XmlEncError> {
    let mut first_refusal = None;
    let mut tried = false;
    for ek in candidates {
        let params = match oaep_params(ek) {
            Ok(p) => p,
            Err(e) => {
                first_refusal.get_or_insert(e);
                continue;
            }
        };
        let wrapped = match cipher_value(ek, "xenc:EncryptedKey", MAX_WRAPPED_KEY_BYTES) {
            Ok(w) => w,
            Err(e) => {
                first_refusal.get_or_insert(e);
                continue;
            }
        };
        tried = true;
        // Only a ciphertext of the modulus size can be for this key.
        if wrapped.len() != key.size() {
            continue;
        }
        if let Ok(k) = unwrap_key(&params, key, &wrapped) {
            return Ok(k);
        }
    }
    match first_refusal {
        Some(e) if !tried => Err(e),
        _ => Err(XmlEncError::KeyDecryption),
    }
}

fn oaep_params(ek: &Element) -> Result<OaepParams, XmlEncError> {
    let method = only_child(
        ek,
        "xenc:EncryptedKey",
        XENC_NS,
        "EncryptionMethod",
        "xenc:EncryptionMethod",
    )?;
    let uri = algorithm(method, "EncryptedKey/EncryptionMethod")?;
    if uri == RSA_1_5 {
        return Err(XmlEncError::InsecureKeyTransport);
    }
    let transport =
        KeyTransport::from_uri(uri).ok_or_else(|| XmlEncError::UnsupportedAlgorithm {
            kind: "key transport",
            uri: uri.to_string(),
        })?;
    // DigestMethod defaults to SHA-1 for both algorithms (XML Enc §5.4.2, 1.1 §5.5.2).
    let digest = match method.find_child(DSIG_NS, "DigestMethod") {
        None => OaepDigest::Sha1,
        Some(dm) => {
            let uri = algorithm(dm, "DigestMethod")?;
            OaepDigest::ALL
                .into_iter()
                .find(|d| d.digest_uri() == uri)
                .ok_or_else(|| XmlEncError::UnsupportedAlgorithm {
                    kind: "OAEP digest",
                    uri: uri.to_string(),
                })?
        }
    };
    let mgf = match (transport, method.find_child(XENC11_NS, "MGF")) {
        (_, None) => OaepDigest::Sha1,
        (KeyTransport::RsaOaep, Some(m)) => {
            let uri = algorithm(m, "MGF")?;
            OaepDigest::ALL
                .into_iter()
                .find(|d| d.mgf_uri() == uri)
                .ok_or_else(|| XmlEncError::UnsupportedAlgorithm {
                    kind: "mask generation",
                    uri: uri.to_string(),
                })?
        }
        // rsa-oaep-mgf1p fixes MGF1 with SHA-1; an MGF element contradicting it is refused
        // rather than silently ignored.
        (KeyTransport::RsaOaepMgf1p, Some(m)) => {
            let uri = algorithm(m, "MGF")?;
            if uri != OaepDigest::Sha1.mgf_uri() {
                return Err(XmlEncError::UnsupportedAlgorithm {
                    kind: "mask generation (rsa-oaep-mgf1p implies MGF1-SHA1)",
                    uri: uri.to_string(),
                });
            }
            OaepDigest::Sha1
        }
    };
    let label = match method.find_child(XENC_NS, "OAEPparams") {
        None => None,
        Some(p) => Some(decode_bounded(
            &p.text(),
            "xenc:OAEPparams",
            MAX_OAEP_LABEL_BYTES,
        )?),
    }
    .filter(|l| !l.is_empty());
    Ok(OaepParams { digest, mgf, label })
}

fn unwrap_key(
    params: &OaepParams,
    key: &PKey<Private>,
    wrapped: &[u8],
) -> Result<Vec<u8>, ErrorStack> {
    let mut dec = Decrypter::new(key)?;
    dec.set_rsa_padding(Padding::PKCS1_OAEP)?;
    dec.set_rsa_oaep_md(params.digest.md())?;
    dec.set_rsa_mgf1_md(params.mgf.md())?;
    if let Some(label) = &params.label {
        dec.set_rsa_oaep_label(label)?;
    }
    let mut out = vec![0u8; dec.decrypt_len(wrapped)?];
    let n = dec.decrypt(wrapped, &mut out)?;
    out.truncate(n);
    Ok(out)
}

fn decrypt_content(cipher: BlockCipher, key: &[u8], data: &[u8]) -> Result<Vec<u8>, XmlEncError> {
    let length_error = || XmlEncError::CiphertextLength {
        cipher: cipher.uri(),
        found: data.len(),
    };
    if cipher.is_gcm() {
        if data.len() < GCM_IV_BYTES + GCM_TAG_BYTES {
            return Err(length_error());
        }
        let (iv, rest) = data.split_at(GCM_IV_BYTES);
        let (ct, tag) = rest.split_at(rest.len() - GCM_TAG_BYTES);
        symm::decrypt_aead(cipher.cipher(), key, Some(iv), &[], ct, tag)
            .map_err(|_| XmlEncError::Authentication)
    } else {
        // At least one block after the IV, and whole blocks only.
        if data.len() < CBC_IV_BYTES + AES_BLOCK_BYTES
            || !(data.len() - CBC_IV_BYTES).is_multiple_of(AES_BLOCK_BYTES)
        {
            return Err(length_error());
        }
        let (iv, ct) = data.split_at(CBC_IV_BYTES);
        let mut crypter = Crypter::new(cipher.cipher(), Mode::Decrypt, key, Some(iv))?;
        // XML Enc §5.2 padding is not PKCS#7: only the last byte (the length) is defined,
        // so openssl's PKCS#7 check would refuse valid messages (xmlsec and others fill
        // the padding with random bytes).
        crypter.pad(false);
        let mut out = vec![0u8; ct.len() + AES_BLOCK_BYTES];
        let mut n = crypter.update(ct, &mut out)?;
        n += crypter.finalize(out.get_mut(n..).unwrap_or_default())?;
        out.truncate(n);
        let pad = usize::from(*out.last().ok_or(XmlEncError::Padding)?);
        if pad == 0 || pad > AES_BLOCK_BYTES || pad > out.len() {
            return Err(XmlEncError::Padding);
        }
        out.truncate(out.len() - pad);
        Ok(out)
    }
}

/// Attribute-value escaping for the context wrapper (URIs from a parsed document may hold
/// any character once unescaped).
fn push_attr_escaped(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Parses a decrypted element in the namespace context `scope`, and declares that context
/// on it so that the returned document stands alone.
fn parse_plaintext(plaintext: &str, scope: &Scope) -> Result<Document, XmlEncError> {
    // A plaintext with an XML declaration was written as a document of its own.
    if plaintext.starts_with("<?xml") {
        let doc = Document::parse_with_limits(plaintext, &PLAINTEXT_LIMITS)?;
        check_assertion(&doc.root)?;
        return Ok(doc);
    }
    let decls = scope_decls(scope);
    // The parser has no "initial scope", so the context becomes a wrapper element declaring
    // it. Whatever the plaintext holds can only end up inside (or break) the wrapper, and
    // exactly one element inside it is accepted.
    let mut wrapped = String::with_capacity(plaintext.len() + 64 * decls.len() + 16);
    wrapped.push_str("<w");
    for d in &decls {
        wrapped.push_str(" xmlns");
        if let Some(p) = &d.prefix {
            wrapped.push(':');
            wrapped.push_str(p);
        }
        wrapped.push_str("=\"");
        push_attr_escaped(&mut wrapped, &d.uri);
        wrapped.push('"');
    }
    wrapped.push('>');
    wrapped.push_str(plaintext);
    wrapped.push_str("</w>");
    let limits = Limits {
        max_input_bytes: wrapped.len(),
        max_depth: PLAINTEXT_LIMITS.max_depth + 1,
        max_elements: PLAINTEXT_LIMITS.max_elements + 1,
        max_attributes_per_element: PLAINTEXT_LIMITS.max_attributes_per_element.max(decls.len()),
        max_namespace_declarations: PLAINTEXT_LIMITS.max_namespace_declarations + decls.len(),
    };
    let doc = Document::parse_with_limits(&wrapped, &limits)?;
    if doc.root.has_significant_text() || doc.root.child_elements().count() != 1 {
        return Err(XmlEncError::NotOneElement);
    }
    let mut root = doc
        .root
        .children
        .into_iter()
        .find_map(|n| match n {
            Node::Element(e) => Some(e),
            _ => None,
        })
        .ok_or(XmlEncError::NotOneElement)?;
    check_assertion(&root)?;
    add_scope_decls(&mut root, &decls);
    Ok(Document {
        decl: None,
        prolog: Vec::new(),
        root,
        epilog: Vec::new(),
    })
}

fn check_assertion(el: &Element) -> Result<(), XmlEncError> {
    if el.is(SAML_ASSERTION_NS, "Assertion") {
        Ok(())
    } else {
        Err(XmlEncError::NotAnAssertion {
            found: match &el.name.ns {
                Some(ns) => format!("{} in namespace {ns}", el.name.qualified()),
                None => format!("{} (no namespace)", el.name.qualified()),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::dsig::test_keys::{KeyPair, ec, idp_rsa, rsa};
    use crate::saml::dsig::{self, SignOptions, VerifyPolicy};
    use std::sync::OnceLock;

    fn sp() -> &'static KeyPair {
        static K: OnceLock<KeyPair> = OnceLock::new();
        K.get_or_init(|| rsa("sp-encryption"))
    }

    fn other() -> &'static KeyPair {
        static K: OnceLock<KeyPair> = OnceLock::new();
        K.get_or_init(|| rsa("someone-else"))
    }

    /// `xs` declared on the Response only and used in content (`xsi:type`), a `ds` prefix
    /// bound to something else on the Response: what must survive the round trip.
    const RESPONSE: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ds="urn:example:not-dsig" ID="_resp" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_assert" Version="2.0" IssueInstant="2024-01-01T00:00:00Z"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject><saml:NameID>alice@example.com</saml:NameID></saml:Subject><saml:AttributeStatement><saml:Attribute Name="mail"><saml:AttributeValue xsi:type="xs:string">alice@example.com &amp; ünïcödé</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"#;

    fn signed_response(opts: &SignOptions) -> Document {
        let mut doc = Document::parse(RESPONSE).unwrap();
        dsig::sign_enveloped(&mut doc, "_assert", &idp_rsa().key, &idp_rsa().cert, opts).unwrap();
        doc
    }

    fn encrypted_assertion(doc: &Document) -> &Element {
        doc.root
            .find_child(SAML_ASSERTION_NS, "EncryptedAssertion")
            .expect("EncryptedAssertion")
    }

    fn verify_alone(assertion: &Document) {
        let refs = dsig::verify_with_policy(
            assertion,
            std::slice::from_ref(&idp_rsa().cert),
            &VerifyPolicy::default(),
        )
        .unwrap();
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].signed_element_path, NodePath::default());
    }

    #[test]
    fn every_cipher_and_transport_round_trips_and_the_signature_still_verifies() {
        for c14n in [
            crate::saml::c14n::C14nMethod::EXCLUSIVE,
            crate::saml::c14n::C14nMethod::INCLUSIVE,
        ] {
            let opts = SignOptions {
                c14n,
                ..SignOptions::default()
            };
            for cipher in BlockCipher::ALL {
                for transport in KeyTransport::ALL {
                    let mut doc = signed_response(&opts);
                    let original = doc
                        .root
                        .find_child(SAML_ASSERTION_NS, "Assertion")
                        .unwrap()
                        .clone();
                    encrypt_assertion(&mut doc, &sp().cert, cipher, transport).unwrap();
                    // Through text, as it travels.
                    let xml = doc.to_xml();
                    assert!(!xml.contains("alice@example.com"), "{xml}");
                    assert!(xml.contains(cipher.uri()) && xml.contains(transport.uri()));
                    let doc = Document::parse(&xml).unwrap();
                    let kids: Vec<&str> = doc
                        .root
                        .child_elements()
                        .map(|e| e.name.local.as_str())
                        .collect();
                    assert_eq!(kids, ["Issuer", "Status", "EncryptedAssertion"]);

                    for decrypted in [
                        decrypt_assertion(encrypted_assertion(&doc), &sp().key).unwrap(),
                        decrypt_assertion_at(&doc, &NodePath(vec![2]), &sp().key).unwrap(),
                    ] {
                        assert!(decrypted.root.is(SAML_ASSERTION_NS, "Assertion"));
                        assert_eq!(decrypted.root.attr("ID"), Some("_assert"));
                        assert_eq!(decrypted.root.children, original.children);
                        verify_alone(&decrypted);
                        // And through text again: it stands alone.
                        verify_alone(&Document::parse(&decrypted.to_xml()).unwrap());
                    }
                }
            }
        }
    }

    #[test]
    fn the_structure_is_what_idps_send() {
        let mut doc = signed_response(&SignOptions::default());
        encrypt_assertion(
            &mut doc,
            &sp().cert,
            BlockCipher::Aes256Gcm,
            KeyTransport::RsaOaep,
        )
        .unwrap();
        let doc = Document::parse(&doc.to_xml()).unwrap();
        let ea = encrypted_assertion(&doc);
        let ed = ea.find_child(XENC_NS, "EncryptedData").unwrap();
        assert_eq!(ed.attr("Type"), Some(TYPE_ELEMENT));
        let kids: Vec<&str> = ed.child_elements().map(|e| e.name.local.as_str()).collect();
        assert_eq!(kids, ["EncryptionMethod", "KeyInfo", "CipherData"]);
        let ek = ed
            .find_child(DSIG_NS, "KeyInfo")
            .and_then(|k| k.find_child(XENC_NS, "EncryptedKey"))
            .unwrap();
        let m = ek.find_child(XENC_NS, "EncryptionMethod").unwrap();
        assert_eq!(m.attr("Algorithm"), Some(KeyTransport::RsaOaep.uri()));
        assert_eq!(
            m.find_child(DSIG_NS, "DigestMethod")
                .and_then(|d| d.attr("Algorithm")),
            Some("http://www.w3.org/2001/04/xmlenc#sha256")
        );
        assert_eq!(
            m.find_child(XENC11_NS, "MGF")
                .and_then(|d| d.attr("Algorithm")),
            Some("http://www.w3.org/2009/xmlenc11#mgf1sha256")
        );
        let cert = ek
            .find_child(DSIG_NS, "KeyInfo")
            .and_then(|k| k.find_child(DSIG_NS, "X509Data"))
            .and_then(|k| k.find_child(DSIG_NS, "X509Certificate"))
            .unwrap()
            .text();
        assert_eq!(B64.decode(cert).unwrap(), sp().cert.to_der().unwrap());
        // IV(12) || ciphertext || tag(16); the wrapped key is one RSA block.
        let ct = cipher_value(ed, "x", usize::MAX / 2).unwrap();
        assert!(ct.len() > 12 + 16 + 100);
        assert_eq!(cipher_value(ek, "x", 4096).unwrap().len(), sp().key.size());
        // The default transport writes SHA-1 explicitly and no MGF.
        let mut doc = signed_response(&SignOptions::default());
        encrypt_assertion(
            &mut doc,
            &sp().cert,
            BlockCipher::Aes128Cbc,
            KeyTransport::default(),
        )
        .unwrap();
        let xml = doc.to_xml();
        assert!(xml.contains(r#"Algorithm="http://www.w3.org/2000/09/xmldsig#sha1""#));
        assert!(!xml.contains("MGF"));
    }

    #[test]
    fn a_saml_prefix_declared_on_the_assertion_is_declared_on_the_replacement() {
        let xml = r#"<p:Response xmlns:p="urn:oasis:names:tc:SAML:2.0:protocol" ID="_r"><a:Assertion xmlns:a="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a"><a:Issuer>i</a:Issuer></a:Assertion></p:Response>"#;
        let mut doc = Document::parse(xml).unwrap();
        encrypt_assertion(
            &mut doc,
            &sp().cert,
            BlockCipher::Aes128Gcm,
            KeyTransport::RsaOaepMgf1p,
        )
        .unwrap();
        let out = doc.to_xml();
        assert!(
            out.contains(
                r#"<a:EncryptedAssertion xmlns:a="urn:oasis:names:tc:SAML:2.0:assertion">"#
            ),
            "{out}"
        );
        let back = Document::parse(&out).unwrap();
        let a = decrypt_assertion(encrypted_assertion(&back), &sp().key).unwrap();
        assert_eq!(a.root.attr("ID"), Some("_a"));
    }

    #[test]
    fn wrong_key_and_tampering_are_errors() {
        let mut doc = signed_response(&SignOptions::default());
        encrypt_assertion(
            &mut doc,
            &sp().cert,
            BlockCipher::Aes256Gcm,
            KeyTransport::default(),
        )
        .unwrap();
        let ea = encrypted_assertion(&doc).clone();
        let e = decrypt_assertion(&ea, &other().key).unwrap_err();
        assert!(matches!(e, XmlEncError::KeyDecryption), "{e:?}");
        assert!(e.is_oracle_sensitive());
        let e = decrypt_assertion(&ea, &ec("ec").key).unwrap_err();
        assert!(
            matches!(e, XmlEncError::DecryptionKeyNotRsa { .. }),
            "{e:?}"
        );

        // Flip one bit in each part of the GCM ciphertext: IV, body, tag.
        let xml = doc.to_xml();
        let ct_b64 = {
            let ed = ea.find_child(XENC_NS, "EncryptedData").unwrap();
            ed.find_child(XENC_NS, "CipherData")
                .unwrap()
                .find_child(XENC_NS, "CipherValue")
                .unwrap()
                .text()
        };
        let ct = B64.decode(&ct_b64).unwrap();
        for at in [0, 40, ct.len() - 1] {
            let mut bad = ct.clone();
            bad[at] ^= 1;
            let tampered = Document::parse(&xml.replace(&ct_b64, &B64.encode(&bad))).unwrap();
            let e = decrypt_assertion(encrypted_assertion(&tampered), &sp().key).unwrap_err();
            assert!(matches!(e, XmlEncError::Authentication), "{at}: {e:?}");
        }
        // Truncated below IV + tag.
        let short = Document::parse(&xml.replace(&ct_b64, &B64.encode(&ct[..20]))).unwrap();
        assert!(matches!(
            decrypt_assertion(encrypted_assertion(&short), &sp().key),
            Err(XmlEncError::CiphertextLength { .. })
        ));
    }

    #[test]
    fn cbc_accepts_any_padding_bytes_and_checks_the_length_byte() {
        let key = [7u8; 16];
        let iv = [9u8; 16];
        let plain = b"<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"/>";
        let encrypt_raw = |last: u8, fill: u8| {
            let pad = 16 - plain.len() % 16;
            let mut data = plain.to_vec();
            data.extend(std::iter::repeat_n(fill, pad - 1));
            data.push(last);
            let mut c =
                Crypter::new(Cipher::aes_128_cbc(), Mode::Encrypt, &key, Some(&iv)).unwrap();
            c.pad(false);
            let mut out = vec![0; data.len() + 16];
            let n = c.update(&data, &mut out).unwrap();
            let m = c.finalize(&mut out[n..]).unwrap();
            out.truncate(n + m);
            [iv.as_slice(), &out].concat()
        };
        let pad = (16 - plain.len() % 16) as u8;
        // Random-looking padding (xmlsec's) decrypts.
        let got = decrypt_content(BlockCipher::Aes128Cbc, &key, &encrypt_raw(pad, 0xa5)).unwrap();
        assert_eq!(got, plain);
        // A length byte of 0 or above the block size is refused.
        for last in [0u8, 17, 255] {
            assert!(matches!(
                decrypt_content(BlockCipher::Aes128Cbc, &key, &encrypt_raw(last, 0)),
                Err(XmlEncError::Padding)
            ));
        }
        // Not whole blocks, or no block after the IV.
        for len in [0, 16, 31, 33] {
            assert!(matches!(
                decrypt_content(BlockCipher::Aes128Cbc, &key, &vec![0; len]),
                Err(XmlEncError::CiphertextLength { .. })
            ));
        }
    }

    /// An EncryptedAssertion built by hand around `plaintext`, with the given algorithms.
    fn hand_made(plaintext: &[u8], cipher_uri: &str, key_method: &str, key_len: usize) -> String {
        let key = vec![3u8; key_len];
        let cipher = BlockCipher::from_uri(cipher_uri).unwrap_or(BlockCipher::Aes128Cbc);
        let ct = if cipher.key_len() == key_len {
            encrypt_content(cipher, &key, plaintext).unwrap()
        } else {
            encrypt_content(BlockCipher::Aes128Cbc, &[3u8; 16], plaintext).unwrap()
        };
        let public = sp().cert.public_key().unwrap();
        let wrapped = wrap_key(KeyTransport::RsaOaepMgf1p, &public, &key).unwrap();
        format!(
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="{XENC_NS}" Type="{TYPE_ELEMENT}"><xenc:EncryptionMethod Algorithm="{cipher_uri}"/><ds:KeyInfo xmlns:ds="{DSIG_NS}"><xenc:EncryptedKey>{key_method}<xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>"#,
            B64.encode(wrapped),
            B64.encode(ct),
        )
    }

    const MGF1P: &str =
        r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>"#;
    const ASSERTION: &[u8] =
        br#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x"/>"#;

    fn open(xml: &str) -> Result<Document, XmlEncError> {
        let doc = Document::parse(xml).unwrap();
        decrypt_assertion(&doc.root, &sp().key)
    }

    #[test]
    fn hand_made_messages_decrypt_and_refusals_are_typed() {
        let aes128 = BlockCipher::Aes128Cbc.uri();
        // A plain one, with the key's digest left to its default.
        assert_eq!(
            open(&hand_made(ASSERTION, aes128, MGF1P, 16))
                .unwrap()
                .root
                .attr("ID"),
            Some("_x")
        );
        // Unknown and refused algorithms.
        let e = open(&hand_made(ASSERTION, "urn:x:rot13", MGF1P, 16)).unwrap_err();
        assert!(
            matches!(
                e,
                XmlEncError::UnsupportedAlgorithm {
                    kind: "block encryption",
                    ..
                }
            ),
            "{e:?}"
        );
        let e = open(&hand_made(
            ASSERTION,
            aes128,
            &format!(r#"<xenc:EncryptionMethod Algorithm="{RSA_1_5}"/>"#),
            16,
        ))
        .unwrap_err();
        assert!(matches!(e, XmlEncError::InsecureKeyTransport), "{e:?}");
        assert!(!e.is_oracle_sensitive());
        let e = open(&hand_made(
            ASSERTION,
            aes128,
            r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#kw-aes128"/>"#,
            16,
        ))
        .unwrap_err();
        assert!(matches!(
            e,
            XmlEncError::UnsupportedAlgorithm {
                kind: "key transport",
                ..
            }
        ));
        let e = open(&hand_made(
            ASSERTION,
            aes128,
            r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#md5"/></xenc:EncryptionMethod>"#,
            16,
        ))
        .unwrap_err();
        assert!(matches!(
            e,
            XmlEncError::UnsupportedAlgorithm {
                kind: "OAEP digest",
                ..
            }
        ));
        let e = open(&hand_made(
            ASSERTION,
            aes128,
            &format!(r#"<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><xenc11:MGF xmlns:xenc11="{XENC11_NS}" Algorithm="http://www.w3.org/2009/xmlenc11#mgf1sha256"/></xenc:EncryptionMethod>"#),
            16,
        ))
        .unwrap_err();
        assert!(
            matches!(e, XmlEncError::UnsupportedAlgorithm { .. }),
            "{e:?}"
        );
        // A 32-byte key for AES-128.
        let e = open(&hand_made(ASSERTION, aes128, MGF1P, 32)).unwrap_err();
        assert!(
            matches!(
                e,
                XmlEncError::KeyLength {
                    expected: 16,
                    found: 32
                }
            ),
            "{e:?}"
        );
        // Plaintexts that are not one saml:Assertion.
        for (plain, what) in [
            (&b"<x/>"[..], "not an assertion"),
            (
                &b"<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\"/><y/>"[..],
                "two",
            ),
            (&b"text"[..], "text"),
            (&b"</w><w>"[..], "wrapper escape"),
            (&b"<q:Assertion/>"[..], "undeclared prefix"),
            (&b"<!DOCTYPE x><x/>"[..], "doctype"),
            (&b"\xff\xfe"[..], "not UTF-8"),
        ] {
            let e = open(&hand_made(plain, aes128, MGF1P, 16)).unwrap_err();
            assert!(e.is_oracle_sensitive(), "{what}: {e:?}");
        }
        // Structure.
        let good = hand_made(ASSERTION, aes128, MGF1P, 16);
        let e = open(&good.replace(
            r#" Type="http://www.w3.org/2001/04/xmlenc#Element""#,
            r#" Type="http://www.w3.org/2001/04/xmlenc#Content""#,
        ))
        .unwrap_err();
        assert!(matches!(e, XmlEncError::UnsupportedType { .. }));
        // No Type at all is fine.
        open(&good.replace(r#" Type="http://www.w3.org/2001/04/xmlenc#Element""#, "")).unwrap();
        let e = open(&good.replace("<xenc:CipherValue>", "<xenc:CipherValue>!")).unwrap_err();
        assert!(
            matches!(e, XmlEncError::Base64 { .. } | XmlEncError::KeyDecryption),
            "{e:?}"
        );
        let doc = Document::parse(&good).unwrap();
        let e =
            decrypt_assertion(doc.root.child_elements().next().unwrap(), &sp().key).unwrap_err();
        assert!(matches!(e, XmlEncError::NotEncryptedAssertion { .. }));
        let e = open(
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"/>"#,
        )
        .unwrap_err();
        assert!(matches!(e, XmlEncError::Missing { .. }));
        let data_start = good.find("<xenc:EncryptedData").unwrap();
        let data_end = good.find("</saml:EncryptedAssertion>").unwrap();
        let twice = format!(
            "{}{}{}",
            &good[..data_end],
            &good[data_start..data_end],
            &good[data_end..]
        );
        assert!(matches!(
            open(&twice),
            Err(XmlEncError::Repeated { count: 2, .. })
        ));
        let reference = good.replacen(
            "<xenc:CipherData><xenc:CipherValue>",
            "<xenc:CipherData><xenc:CipherReference URI=\"http://127.0.0.1/\"/><xenc:CipherValue>",
            1,
        );
        // The key's CipherReference is skipped as unusable, then reported.
        assert!(matches!(
            open(&reference),
            Err(XmlEncError::CipherReference)
        ));
        let no_key = good.replace(
            &good[good.find("<ds:KeyInfo").unwrap()..good.find("</ds:KeyInfo>").unwrap() + 13],
            "",
        );
        assert!(matches!(open(&no_key), Err(XmlEncError::NoEncryptedKey)));
    }

    #[test]
    fn a_sibling_encrypted_key_and_several_recipients_work() {
        let good = hand_made(ASSERTION, BlockCipher::Aes128Cbc.uri(), MGF1P, 16);
        let ki_start = good.find("<ds:KeyInfo").unwrap();
        let ki_end = good.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
        let ek = &good[good.find("<xenc:EncryptedKey>").unwrap()
            ..good.find("</xenc:EncryptedKey>").unwrap() + "</xenc:EncryptedKey>".len()];
        // Beside EncryptedData (xenc declared on it).
        let ek_decl = ek.replacen(
            "<xenc:EncryptedKey>",
            &format!(r#"<xenc:EncryptedKey xmlns:xenc="{XENC_NS}">"#),
            1,
        );
        let sibling = format!(
            "{}{}{ek_decl}</saml:EncryptedAssertion>",
            &good[..ki_start],
            &good[ki_end..good.find("</saml:EncryptedAssertion>").unwrap()],
        );
        assert_eq!(open(&sibling).unwrap().root.attr("ID"), Some("_x"));
        // A key for another recipient (and one with a refused algorithm) first.
        let public = other().cert.public_key().unwrap();
        let foreign = wrap_key(KeyTransport::RsaOaepMgf1p, &public, &[3u8; 16]).unwrap();
        let foreign_ek = format!(
            r#"<xenc:EncryptedKey>{MGF1P}<xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="{RSA_1_5}"/><xenc:CipherData><xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>"#,
            B64.encode(foreign)
        );
        let several = good.replacen(ek, &format!("{foreign_ek}{ek}"), 1);
        assert_eq!(open(&several).unwrap().root.attr("ID"), Some("_x"));
        // Too many.
        let many = good.replacen(ek, &ek.repeat(MAX_ENCRYPTED_KEYS + 1), 1);
        assert!(matches!(
            open(&many),
            Err(XmlEncError::TooManyEncryptedKeys { .. })
        ));
    }

    #[test]
    fn the_context_of_the_encrypted_assertion_resolves_prefixes() {
        // An xmlsec-style plaintext: `saml` and `xs` declared only on the Response.
        let plaintext = br#"<saml:Assertion ID="_ctx"><saml:Attribute><saml:AttributeValue xsi:type="xs:string">v</saml:AttributeValue></saml:Attribute></saml:Assertion>"#;
        let ea = hand_made(plaintext, BlockCipher::Aes128Cbc.uri(), MGF1P, 16).replacen(
            r#" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion""#,
            "",
            1,
        );
        let response = format!(
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{ea}</samlp:Response>"#
        );
        let doc = Document::parse(&response).unwrap();
        // Without the context the prefix is unbound.
        assert!(matches!(
            decrypt_assertion(
                &doc.root.child_elements().next().unwrap().clone(),
                &sp().key
            ),
            Err(XmlEncError::Xml(XmlError::UndeclaredPrefix { .. }))
        ));
        let a = decrypt_assertion_at(&doc, &NodePath(vec![0]), &sp().key).unwrap();
        assert_eq!(a.root.attr("ID"), Some("_ctx"));
        // It now declares what it uses, and stands alone.
        let again = Document::parse(&a.to_xml()).unwrap();
        assert_eq!(again, a);
    }

    #[test]
    fn refusals_before_encryption_leave_the_document_alone() {
        let mut doc = Document::parse(RESPONSE).unwrap();
        let before = doc.clone();
        let e = encrypt_assertion(
            &mut doc,
            &ec("sp-ec").cert,
            BlockCipher::Aes256Gcm,
            KeyTransport::default(),
        )
        .unwrap_err();
        assert!(matches!(e, XmlEncError::CertificateKeyNotRsa { .. }));
        assert_eq!(doc, before);
        let mut doc = Document::parse(r#"<r ID="x"/>"#).unwrap();
        let e = encrypt_assertion(
            &mut doc,
            &sp().cert,
            BlockCipher::Aes256Gcm,
            KeyTransport::default(),
        )
        .unwrap_err();
        assert!(matches!(e, XmlEncError::NoAssertion { .. }));
    }

    #[test]
    fn uris_round_trip() {
        for c in BlockCipher::ALL {
            assert_eq!(BlockCipher::from_uri(c.uri()), Some(c));
        }
        for t in KeyTransport::ALL {
            assert_eq!(KeyTransport::from_uri(t.uri()), Some(t));
        }
        assert_eq!(KeyTransport::default(), KeyTransport::RsaOaepMgf1p);
    }

    #[test]
    fn hostile_encrypted_assertions_never_panic() {
        use rand::{Rng as _, SeedableRng as _};
        let mut doc = signed_response(&SignOptions::default());
        encrypt_assertion(
            &mut doc,
            &sp().cert,
            BlockCipher::Aes128Cbc,
            KeyTransport::default(),
        )
        .unwrap();
        let seed = encrypted_assertion(&doc).to_xml();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for _ in 0..150 {
            let mut bytes = seed.clone().into_bytes();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..bytes.len());
                bytes[i] = rng.random();
            }
            if let Ok(d) = Document::parse(&String::from_utf8_lossy(&bytes)) {
                let _ = decrypt_assertion(&d.root, &sp().key);
            }
        }
    }
}
