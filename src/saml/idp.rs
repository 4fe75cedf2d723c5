//! The test identity provider's identity: entity ID, SSO URL, signing key and certificate,
//! and the IdP metadata a vendor's SP imports.
//!
//! The key is either generated per run (a throw-away self-signed certificate, which is what
//! SPs are configured with for SAML: they pin the certificate, no chain is validated) or
//! loaded from PEM files the user kept from an earlier run, so that the SP configuration
//! survives between runs.

use std::cmp::Ordering;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use openssl::x509::{X509, X509NameBuilder, X509NameRef, X509Ref};
use time::OffsetDateTime;

use super::dsig::{DSIG_NS, SignatureAlgorithm};
use super::xml::{Document, Element, Node, XmlDecl};

/// SAML metadata namespace.
pub const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
/// SAML 2.0 protocol namespace (also the `protocolSupportEnumeration` value).
pub const SAMLP_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
/// HTTP-Redirect binding URI.
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
/// HTTP-POST binding URI.
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Common name of generated certificates.
pub const GENERATED_CN: &str = "oinspect test IdP";
/// Validity of generated certificates (about three years): long enough that an SP
/// configured once keeps working for the life of an integration test setup.
pub const GENERATED_VALIDITY_DAYS: u32 = 3 * 365;
/// File names written by [`IdpIdentity::write_pem_files`].
pub const KEY_FILE_NAME: &str = "idp-key.pem";
pub const CERT_FILE_NAME: &str = "idp-cert.pem";

/// Key type of a generated identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyKind {
    #[default]
    Rsa2048,
    EcP256,
}

impl KeyKind {
    /// The signature algorithm this key signs with by default.
    pub fn signature_algorithm(self) -> SignatureAlgorithm {
        match self {
            KeyKind::Rsa2048 => SignatureAlgorithm::RsaSha256,
            KeyKind::EcP256 => SignatureAlgorithm::EcdsaSha256,
        }
    }
}

/// Failures creating, loading or writing an identity.
#[derive(Debug, thiserror::Error)]
pub enum IdpError {
    #[error("openssl: {0}")]
    Openssl(#[from] ErrorStack),
    #[error(
        "the private key PEM is encrypted: expected an unencrypted PKCS#8 or traditional RSA/EC key (decrypt it with `openssl pkey -in key.pem -out plain.pem`)"
    )]
    EncryptedKey,
    #[error(
        "the private key could not be read: expected a PEM PKCS#8 or traditional RSA/EC private key ({0})"
    )]
    InvalidKeyPem(ErrorStack),
    #[error("the certificate could not be read: expected a PEM X.509 certificate ({0})")]
    InvalidCertPem(ErrorStack),
    #[error("the private key is {found}: expected an RSA or EC key")]
    UnsupportedKeyType { found: String },
    #[error(
        "the private key does not belong to the certificate {subject} (SHA-256 {fingerprint}): the certificate holds a different public key"
    )]
    KeyCertMismatch {
        subject: String,
        fingerprint: String,
    },
    #[error("{path} already exists: refusing to overwrite it")]
    FileExists { path: PathBuf },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The test IdP: who it says it is, where it receives AuthnRequests, how it signs.
pub struct IdpIdentity {
    pub entity_id: String,
    pub sso_url: String,
    pub key: PKey<Private>,
    pub cert: X509,
}

impl std::fmt::Debug for IdpIdentity {
    // Hand-written so that a debug print can never carry key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpIdentity")
            .field("entity_id", &self.entity_id)
            .field("sso_url", &self.sso_url)
            .field("key", &key_type_name(self.key.id()))
            .field("cert_sha256", &self.cert_sha256_fingerprint())
            .finish()
    }
}

impl IdpIdentity {
    /// A fresh key and a self-signed certificate (CN [`GENERATED_CN`], SHA-256, valid from now
    /// for [`GENERATED_VALIDITY_DAYS`], random 159-bit serial).
    pub fn generate(entity_id: &str, sso_url: &str, kind: KeyKind) -> Result<Self, IdpError> {
        let key = match kind {
            KeyKind::Rsa2048 => PKey::from_rsa(Rsa::generate(2048)?)?,
            KeyKind::EcP256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
                PKey::from_ec_key(EcKey::generate(&group)?)?
            }
        };
        let cert = self_signed_cert(&key, GENERATED_CN, GENERATED_VALIDITY_DAYS)?;
        Ok(IdpIdentity {
            entity_id: entity_id.to_string(),
            sso_url: sso_url.to_string(),
            key,
            cert,
        })
    }

    /// Loads a kept key and certificate. The key must match the certificate's public key.
    /// An expired certificate is accepted (SPs pin certificates and many ignore their dates);
    /// callers warn about it, see [`cert_validity`].
    pub fn from_pem(
        entity_id: &str,
        sso_url: &str,
        key_pem: &[u8],
        cert_pem: &[u8],
    ) -> Result<Self, IdpError> {
        // openssl would prompt on the terminal for the passphrase of an encrypted key when
        // given no callback; an explicit empty passphrase makes it fail instead, and the
        // marker check gives the user the real reason.
        if contains(key_pem, b"ENCRYPTED") {
            return Err(IdpError::EncryptedKey);
        }
        let key =
            PKey::private_key_from_pem_passphrase(key_pem, b"").map_err(IdpError::InvalidKeyPem)?;
        if !matches!(key.id(), Id::RSA | Id::EC) {
            return Err(IdpError::UnsupportedKeyType {
                found: key_type_name(key.id()),
            });
        }
        let cert = X509::from_pem(cert_pem).map_err(IdpError::InvalidCertPem)?;
        if !cert.public_key()?.public_eq(&key) {
            return Err(IdpError::KeyCertMismatch {
                subject: subject_text(&cert),
                fingerprint: sha256_fingerprint(&cert),
            });
        }
        Ok(IdpIdentity {
            entity_id: entity_id.to_string(),
            sso_url: sso_url.to_string(),
            key,
            cert,
        })
    }

    /// Writes `idp-key.pem` (PKCS#8, mode 0600 from creation on) and `idp-cert.pem` (0644)
    /// into `dir`. Existing files are never overwritten: a kept key is what an SP trusts,
    /// replacing it silently would break that SP's configuration.
    pub fn write_pem_files(&self, dir: &Path) -> Result<(PathBuf, PathBuf), IdpError> {
        let key_path = dir.join(KEY_FILE_NAME);
        let cert_path = dir.join(CERT_FILE_NAME);
        // Check both before writing either, so a refusal leaves nothing half-written.
        for p in [&key_path, &cert_path] {
            if p.symlink_metadata().is_ok() {
                return Err(IdpError::FileExists { path: p.clone() });
            }
        }
        let key_pem = self.key.private_key_to_pem_pkcs8()?;
        let cert_pem = self.cert.to_pem()?;
        write_new(&key_path, &key_pem, 0o600)?;
        if let Err(e) = write_new(&cert_path, &cert_pem, 0o644) {
            // Don't leave a key without its certificate behind.
            let _ = std::fs::remove_file(&key_path);
            return Err(e);
        }
        Ok((key_path, cert_path))
    }

    fn cert_der(&self) -> Vec<u8> {
        // The certificate was built or parsed successfully, and re-encoding a well-formed
        // X509 to DER cannot fail short of allocation failure (which aborts anyway).
        self.cert
            .to_der()
            .expect("invariant: a constructed X509 always encodes to DER")
    }

    /// The certificate as PEM text (base64 wrapped at 64 columns, as openssl writes it).
    pub fn cert_pem(&self) -> String {
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        let b64 = B64.encode(self.cert_der());
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    /// SHA-256 of the certificate's DER, as `AB:CD:…` (what SP admin consoles display).
    pub fn cert_sha256_fingerprint(&self) -> String {
        sha256_fingerprint(&self.cert)
    }

    /// The signature algorithm matching the key type (RSA-SHA256 or ECDSA-SHA256).
    pub fn default_signature_algorithm(&self) -> SignatureAlgorithm {
        if self.key.id() == Id::EC {
            SignatureAlgorithm::EcdsaSha256
        } else {
            SignatureAlgorithm::RsaSha256
        }
    }

    /// IdP metadata (SAML metadata §2.4.3) for the SP to import.
    pub fn metadata_xml(&self) -> String {
        let md = |local: &str| Element::new_ns("md", MD_NS, local);
        let ds = |local: &str| Element::new_ns("ds", DSIG_NS, local);
        let cert_b64 = B64.encode(self.cert_der());
        let mut idp = md("IDPSSODescriptor")
            .with_attr("WantAuthnRequestsSigned", "false")
            .with_attr("protocolSupportEnumeration", SAMLP_NS)
            .with_child(md("KeyDescriptor").with_attr("use", "signing").with_child(
                ds("KeyInfo").with_child(
                    ds("X509Data").with_child(ds("X509Certificate").with_text(&cert_b64)),
                ),
            ));
        for format in [
            "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
            "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
            "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        ] {
            idp.append_child(md("NameIDFormat").with_text(format));
        }
        for binding in [BINDING_REDIRECT, BINDING_POST] {
            idp.append_child(
                md("SingleSignOnService")
                    .with_attr("Binding", binding)
                    .with_attr("Location", &self.sso_url),
            );
        }
        let mut root = md("EntityDescriptor")
            .with_ns_decl("md", MD_NS)
            .with_ns_decl("ds", DSIG_NS)
            .with_attr("entityID", &self.entity_id)
            .with_child(idp);
        indent(&mut root, 0);
        // Built with every prefix declared on the root, so no namespace fixup is needed (and
        // none can fail).
        Document {
            decl: Some(XmlDecl {
                version: "1.0".into(),
                encoding: Some("UTF-8".into()),
                standalone: None,
            }),
            prolog: Vec::new(),
            root,
            epilog: Vec::new(),
        }
        .to_xml()
    }
}

/// Whether a certificate is within its validity period at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertValidity {
    Valid,
    /// `not_after` as openssl prints it, e.g. `Jan  1 00:00:00 2025 GMT`.
    Expired {
        not_after: String,
    },
    NotYetValid {
        not_before: String,
    },
    /// The dates could not be compared (malformed time fields).
    Unknown(String),
}

/// Checks a certificate's validity period at `now`.
pub fn cert_validity(cert: &X509Ref, now: OffsetDateTime) -> CertValidity {
    let now = match Asn1Time::from_unix(now.unix_timestamp()) {
        Ok(t) => t,
        Err(e) => return CertValidity::Unknown(e.to_string()),
    };
    match cert.not_after().compare(&now) {
        Ok(Ordering::Less) => {
            return CertValidity::Expired {
                not_after: cert.not_after().to_string(),
            };
        }
        Ok(_) => {}
        Err(e) => return CertValidity::Unknown(e.to_string()),
    }
    match cert.not_before().compare(&now) {
        Ok(Ordering::Greater) => CertValidity::NotYetValid {
            not_before: cert.not_before().to_string(),
        },
        Ok(_) => CertValidity::Valid,
        Err(e) => CertValidity::Unknown(e.to_string()),
    }
}

/// SHA-256 fingerprint of a certificate as `AB:CD:…`.
pub fn sha256_fingerprint(cert: &X509Ref) -> String {
    match cert.digest(MessageDigest::sha256()) {
        Ok(d) => d
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
        // Only an allocation failure inside openssl gets here; the fingerprint is for display.
        Err(e) => format!("(fingerprint unavailable: {e})"),
    }
}

/// The subject as `CN=…, O=…` for messages.
pub(crate) fn subject_text(cert: &X509Ref) -> String {
    let parts: Vec<String> = cert
        .subject_name()
        .entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e.data().to_string().unwrap_or_else(|_| "?".into());
            format!("{key}={value}")
        })
        .collect();
    if parts.is_empty() {
        "(empty subject)".into()
    } else {
        parts.join(", ")
    }
}

fn key_type_name(id: Id) -> String {
    match id {
        Id::RSA => "RSA".into(),
        Id::EC => "EC".into(),
        Id::ED25519 => "Ed25519".into(),
        Id::DSA => "DSA".into(),
        other => format!("key type {}", other.as_raw()),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn self_signed_cert(key: &PKey<Private>, cn: &str, days: u32) -> Result<X509, ErrorStack> {
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(days)?;
    self_signed_cert_between(key, cn, &not_before, &not_after)
}

/// A self-signed certificate for `key` valid from `not_before` to `not_after`: also how
/// tests and the reference SP make deliberately expired certificates.
pub fn self_signed_cert_between(
    key: &PKey<Private>,
    cn: &str,
    not_before: &Asn1TimeRef,
    not_after: &Asn1TimeRef,
) -> Result<X509, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", cn)?;
    let name = name.build();
    self_signed_cert_with_subject(key, &name, not_before, not_after)
}

/// [`self_signed_cert_between`] with a whole subject (and issuer) DN instead of a CN: how the
/// attack generator makes a certificate for its own key that copies the IdP certificate's
/// DN, so that a DN comparison cannot tell the two apart.
pub fn self_signed_cert_with_subject(
    key: &PKey<Private>,
    name: &X509NameRef,
    not_before: &Asn1TimeRef,
    not_after: &Asn1TimeRef,
) -> Result<X509, ErrorStack> {
    let mut b = X509::builder()?;
    b.set_version(2)?; // X.509 v3 (the field is zero-based)
    // 159 random bits: positive and at most 20 octets (RFC 5280 §4.1.2.2), and unique enough
    // that an SP never sees two generated certificates with the same issuer and serial.
    let mut serial = BigNum::new()?;
    serial.rand(159, MsbOption::MAYBE_ZERO, false)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(name)?;
    b.set_issuer_name(name)?;
    b.set_pubkey(key)?;
    b.set_not_before(not_before)?;
    b.set_not_after(not_after)?;
    b.append_extension(BasicConstraints::new().critical().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .non_repudiation()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    b.sign(key, MessageDigest::sha256())?;
    Ok(b.build())
}

/// Creates `path` (failing if anything exists there, symlinks included) with `mode` from the
/// first moment: creating with default permissions and narrowing afterwards would leave a
/// window in which a private key is readable by others.
fn write_new(path: &Path, data: &[u8], mode: u32) -> Result<(), IdpError> {
    let io = |source| IdpError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            IdpError::FileExists {
                path: path.to_path_buf(),
            }
        } else {
            io(e)
        }
    })?;
    f.write_all(data).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(())
}

/// Adds newline + indentation text nodes to an element-only tree (for human-read metadata).
/// Elements with text content are left alone, so values are unchanged.
fn indent(el: &mut Element, depth: usize) {
    if el.children.is_empty() || el.children.iter().any(|n| matches!(n, Node::Text(_))) {
        return;
    }
    let old = std::mem::take(&mut el.children);
    for mut n in old {
        el.children
            .push(Node::Text(format!("\n{}", "  ".repeat(depth + 1))));
        if let Node::Element(child) = &mut n {
            indent(child, depth + 1);
        }
        el.children.push(n);
    }
    el.children
        .push(Node::Text(format!("\n{}", "  ".repeat(depth))));
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::OnceLock;

    use super::*;
    use crate::saml::xml::Document;

    pub(crate) const ENTITY: &str = "https://idp.oinspect.test/metadata";
    pub(crate) const SSO: &str = "https://idp.oinspect.test/sso";

    /// Generated once per test binary: RSA generation is slow in debug builds.
    pub(crate) fn rsa_idp() -> &'static IdpIdentity {
        static I: OnceLock<IdpIdentity> = OnceLock::new();
        I.get_or_init(|| IdpIdentity::generate(ENTITY, SSO, KeyKind::Rsa2048).unwrap())
    }

    pub(crate) fn ec_idp() -> &'static IdpIdentity {
        static I: OnceLock<IdpIdentity> = OnceLock::new();
        I.get_or_init(|| IdpIdentity::generate(ENTITY, SSO, KeyKind::EcP256).unwrap())
    }

    fn key_pem(idp: &IdpIdentity) -> Vec<u8> {
        idp.key.private_key_to_pem_pkcs8().unwrap()
    }

    #[test]
    fn generated_certificate_properties() {
        for (idp, sig_nid, bits) in [
            (rsa_idp(), Nid::SHA256WITHRSAENCRYPTION, 2048),
            (ec_idp(), Nid::ECDSA_WITH_SHA256, 256),
        ] {
            let c = &idp.cert;
            assert_eq!(subject_text(c), "CN=oinspect test IdP");
            assert_eq!(
                c.issuer_name().to_der().unwrap(),
                c.subject_name().to_der().unwrap()
            );
            assert_eq!(c.signature_algorithm().object().nid(), sig_nid);
            assert_eq!(idp.key.bits(), bits);
            assert!(c.public_key().unwrap().public_eq(&idp.key));
            // Self-signature verifies.
            assert!(c.verify(&c.public_key().unwrap()).unwrap());
            // About three years.
            let d = c.not_before().diff(c.not_after()).unwrap();
            assert!((1090..=1100).contains(&d.days), "{d:?}");
            assert_eq!(
                cert_validity(c, OffsetDateTime::now_utc()),
                CertValidity::Valid
            );
            let serial = c.serial_number().to_bn().unwrap();
            assert!(serial.num_bits() > 64 && serial.num_bits() <= 159);
            assert!(!serial.is_negative());
        }
        assert_ne!(
            rsa_idp().cert.serial_number().to_bn().unwrap(),
            ec_idp().cert.serial_number().to_bn().unwrap()
        );
        assert_eq!(
            rsa_idp().default_signature_algorithm(),
            SignatureAlgorithm::RsaSha256
        );
        assert_eq!(
            ec_idp().default_signature_algorithm(),
            SignatureAlgorithm::EcdsaSha256
        );
        assert_eq!(
            KeyKind::EcP256.signature_algorithm(),
            SignatureAlgorithm::EcdsaSha256
        );
    }

    #[test]
    fn debug_never_shows_key_material() {
        let s = format!("{:?}", rsa_idp());
        assert!(s.contains(ENTITY) && s.contains("RSA"));
        assert!(!s.contains("PRIVATE"));
    }

    #[test]
    fn pem_round_trip_and_fingerprint() {
        for idp in [rsa_idp(), ec_idp()] {
            let pem = idp.cert_pem();
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
            assert!(pem.lines().all(|l| l.len() <= 64));
            assert_eq!(pem.as_bytes(), idp.cert.to_pem().unwrap().as_slice());
            let loaded = IdpIdentity::from_pem("e", "s", &key_pem(idp), pem.as_bytes()).unwrap();
            assert!(loaded.key.public_eq(&idp.key));
            assert_eq!(loaded.entity_id, "e");
            let fp = idp.cert_sha256_fingerprint();
            assert_eq!(fp.len(), 32 * 3 - 1);
            assert!(fp.split(':').all(|h| {
                h.len() == 2
                    && h.chars()
                        .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
            }));
            assert_eq!(fp, loaded.cert_sha256_fingerprint());
        }
        // Traditional (non-PKCS#8) RSA PEM is accepted too.
        let trad = rsa_idp().key.rsa().unwrap().private_key_to_pem().unwrap();
        IdpIdentity::from_pem("e", "s", &trad, rsa_idp().cert_pem().as_bytes()).unwrap();
    }

    #[test]
    fn key_that_does_not_match_the_certificate_is_refused() {
        let err = IdpIdentity::from_pem(
            "e",
            "s",
            &key_pem(ec_idp()),
            rsa_idp().cert_pem().as_bytes(),
        )
        .unwrap_err();
        match &err {
            IdpError::KeyCertMismatch {
                subject,
                fingerprint,
            } => {
                assert_eq!(subject, "CN=oinspect test IdP");
                assert_eq!(fingerprint, &rsa_idp().cert_sha256_fingerprint());
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("does not belong"));
    }

    #[test]
    fn bad_pem_inputs_are_typed_errors() {
        let cert = rsa_idp().cert_pem();
        let key = key_pem(rsa_idp());
        assert!(matches!(
            IdpIdentity::from_pem("e", "s", b"garbage", cert.as_bytes()),
            Err(IdpError::InvalidKeyPem(_))
        ));
        assert!(matches!(
            IdpIdentity::from_pem(
                "e",
                "s",
                &key,
                b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
            ),
            Err(IdpError::InvalidCertPem(_))
        ));
        assert!(matches!(
            IdpIdentity::from_pem("e", "s", &key, &[]),
            Err(IdpError::InvalidCertPem(_))
        ));
        let encrypted = rsa_idp()
            .key
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw")
            .unwrap();
        assert!(matches!(
            IdpIdentity::from_pem("e", "s", &encrypted, cert.as_bytes()),
            Err(IdpError::EncryptedKey)
        ));
        let ed = PKey::generate_ed25519().unwrap();
        let ed_pem = ed.private_key_to_pem_pkcs8().unwrap();
        assert!(matches!(
            IdpIdentity::from_pem("e", "s", &ed_pem, cert.as_bytes()),
            Err(IdpError::UnsupportedKeyType { .. })
        ));
    }

    #[test]
    fn expired_certificate_loads_and_is_reported_by_cert_validity() {
        let key = &rsa_idp().key;
        let old = self_signed_cert_between(
            key,
            "old",
            &Asn1Time::from_str("20200101000000Z").unwrap(),
            &Asn1Time::from_str("20210101000000Z").unwrap(),
        )
        .unwrap();
        let idp =
            IdpIdentity::from_pem("e", "s", &key_pem(rsa_idp()), &old.to_pem().unwrap()).unwrap();
        assert!(matches!(
            cert_validity(&idp.cert, OffsetDateTime::now_utc()),
            CertValidity::Expired { not_after } if not_after.contains("2021")
        ));
        let in_2019 = OffsetDateTime::from_unix_timestamp(1_546_300_800).unwrap();
        assert!(matches!(
            cert_validity(&idp.cert, in_2019),
            CertValidity::NotYetValid { .. }
        ));
        let mid_2020 = OffsetDateTime::from_unix_timestamp(1_593_561_600).unwrap();
        assert_eq!(cert_validity(&idp.cert, mid_2020), CertValidity::Valid);
    }

    #[cfg(unix)]
    #[test]
    fn pem_files_have_tight_modes_and_are_never_overwritten() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let idp = ec_idp();
        let (k, c) = idp.write_pem_files(dir.path()).unwrap();
        assert_eq!(k.file_name().unwrap(), KEY_FILE_NAME);
        assert_eq!(c.file_name().unwrap(), CERT_FILE_NAME);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&k), 0o600);
        // umask may only narrow it.
        assert_eq!(mode(&c) & !0o644, 0);
        assert!(mode(&c) & 0o600 == 0o600);
        let back = IdpIdentity::from_pem(
            "e",
            "s",
            &std::fs::read(&k).unwrap(),
            &std::fs::read(&c).unwrap(),
        )
        .unwrap();
        assert!(back.key.public_eq(&idp.key));

        // Second write: refused, files untouched.
        let before = std::fs::read(&k).unwrap();
        let err = rsa_idp().write_pem_files(dir.path()).unwrap_err();
        assert!(matches!(err, IdpError::FileExists { .. }), "{err:?}");
        assert_eq!(std::fs::read(&k).unwrap(), before);

        // Only the certificate exists: refused before the key is written.
        let dir2 = tempfile::tempdir().unwrap();
        std::fs::write(dir2.path().join(CERT_FILE_NAME), b"x").unwrap();
        assert!(matches!(
            idp.write_pem_files(dir2.path()),
            Err(IdpError::FileExists { path }) if path.ends_with(CERT_FILE_NAME)
        ));
        assert!(!dir2.path().join(KEY_FILE_NAME).exists());

        // A dangling symlink where the key goes is not followed.
        let dir3 = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(
            dir3.path().join("elsewhere"),
            dir3.path().join(KEY_FILE_NAME),
        )
        .unwrap();
        assert!(matches!(
            idp.write_pem_files(dir3.path()),
            Err(IdpError::FileExists { .. })
        ));
        assert!(!dir3.path().join("elsewhere").exists());

        // Missing directory: an I/O error naming the path.
        let err = idp
            .write_pem_files(&dir.path().join("missing"))
            .unwrap_err();
        assert!(matches!(err, IdpError::Io { .. }));
        assert!(err.to_string().contains("missing"));
    }

    #[test]
    fn metadata_structure() {
        let idp = rsa_idp();
        let xml = idp.metadata_xml();
        assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
        let doc = Document::parse(&xml).unwrap();
        let root = &doc.root;
        assert!(root.is(MD_NS, "EntityDescriptor"));
        assert_eq!(root.attr("entityID"), Some(ENTITY));
        let d = root.find_child(MD_NS, "IDPSSODescriptor").unwrap();
        assert_eq!(d.attr("protocolSupportEnumeration"), Some(SAMLP_NS));
        assert_eq!(d.attr("WantAuthnRequestsSigned"), Some("false"));
        let kd = d.find_child(MD_NS, "KeyDescriptor").unwrap();
        assert_eq!(kd.attr("use"), Some("signing"));
        let b64 = kd
            .find_child(DSIG_NS, "KeyInfo")
            .and_then(|k| k.find_child(DSIG_NS, "X509Data"))
            .and_then(|k| k.find_child(DSIG_NS, "X509Certificate"))
            .unwrap()
            .text();
        let cert = X509::from_der(&B64.decode(b64).unwrap()).unwrap();
        assert_eq!(cert.to_der().unwrap(), idp.cert.to_der().unwrap());
        let formats: Vec<String> = d
            .find_children(MD_NS, "NameIDFormat")
            .map(|e| e.text())
            .collect();
        assert_eq!(
            formats,
            [
                "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
                "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
                "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
            ]
        );
        let sso: Vec<(String, String)> = d
            .find_children(MD_NS, "SingleSignOnService")
            .map(|e| {
                (
                    e.attr("Binding").unwrap().to_string(),
                    e.attr("Location").unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            sso,
            [
                (BINDING_REDIRECT.to_string(), SSO.to_string()),
                (BINDING_POST.to_string(), SSO.to_string())
            ]
        );
        // Schema order: KeyDescriptor, NameIDFormat*, SingleSignOnService+.
        let order: Vec<&str> = d.child_elements().map(|e| e.name.local.as_str()).collect();
        assert_eq!(order[0], "KeyDescriptor");
        assert_eq!(order.last(), Some(&"SingleSignOnService"));
        // Namespaces are complete: a fixup adds nothing.
        let mut fixed = doc.clone();
        fixed.fixup_namespaces().unwrap();
        assert_eq!(fixed, doc);
    }

    #[test]
    fn metadata_escapes_hostile_entity_ids() {
        let idp = IdpIdentity {
            entity_id: "urn:x\"<&>'\n".into(),
            sso_url: "https://h/sso?a=1&b=<2>".into(),
            key: rsa_idp().key.clone(),
            cert: rsa_idp().cert.clone(),
        };
        let doc = Document::parse(&idp.metadata_xml()).unwrap();
        assert_eq!(doc.root.attr("entityID"), Some("urn:x\"<&>'\n"));
        let d = doc.root.find_child(MD_NS, "IDPSSODescriptor").unwrap();
        assert_eq!(
            d.find_child(MD_NS, "SingleSignOnService")
                .unwrap()
                .attr("Location"),
            Some("https://h/sso?a=1&b=<2>")
        );
    }
}
