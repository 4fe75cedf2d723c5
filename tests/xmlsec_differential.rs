//! Differential tests of our XML-DSig and canonicalization against the independent
//! `xmlsec1` command-line tool (libxmlsec1 on libxml2 + openssl).
//!
//! - everything we sign (every template × signed element × algorithm × c14n) must be
//!   accepted by `xmlsec1 --verify` with only the IdP certificate as key;
//! - everything `xmlsec1 --sign` produces must be accepted by our `verify`;
//! - the canonical bytes we digest and sign must equal xmlsec1's ("PreDigest"/"PreSigned");
//! - tampered documents and foreign keys must be rejected by both.
//!
//! Keys and certificates are generated at run time; private keys only ever live in a
//! temporary directory. All tests are ignored by default because they need `xmlsec1`
//! (`.ci/run` installs it and runs `cargo test -- --ignored`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder};
use tempfile::TempDir;

use oinspect::saml::c14n::{self, C14nMethod, C14nMode, C14nOptions};
use oinspect::saml::dsig::{
    self, DSIG_NS, DigestAlgorithm, DsigError, SignOptions, SignatureAlgorithm, VerifyPolicy,
};
use oinspect::saml::xml::{Document, Node};

const SAML_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const RESPONSE_ID: &str = "_resp";
const ASSERTION_ID: &str = "_assert";

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

struct KeyPair {
    key: PKey<Private>,
    cert: X509,
}

fn self_signed(key: PKey<Private>, cn: &str) -> KeyPair {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let serial = BigNum::from_u32(0x5a41).unwrap().to_asn1_integer().unwrap();
    b.set_serial_number(&serial).unwrap();
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

fn keys() -> &'static (KeyPair, KeyPair, KeyPair) {
    static K: OnceLock<(KeyPair, KeyPair, KeyPair)> = OnceLock::new();
    K.get_or_init(|| {
        let rsa = self_signed(
            PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
            "idp-rsa",
        );
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = self_signed(
            PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap(),
            "idp-ec",
        );
        let attacker = self_signed(
            PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
            "attacker",
        );
        (rsa, ec, attacker)
    })
}

fn idp(alg: SignatureAlgorithm) -> &'static KeyPair {
    if alg == SignatureAlgorithm::EcdsaSha256 {
        &keys().1
    } else {
        &keys().0
    }
}

// ---------------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------------

/// A typical IdP response: pretty-printed, namespaces declared where used.
const TYPICAL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" Destination="https://sp.example.com/acs" ID="_resp" InResponseTo="_req-1" IssueInstant="2024-05-01T12:00:00.000Z" Version="2.0">
    <saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">https://idp.example.com</saml2:Issuer>
    <saml2p:Status>
        <saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>
    </saml2p:Status>
    <saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_assert" IssueInstant="2024-05-01T12:00:00.000Z" Version="2.0">
        <saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">https://idp.example.com</saml2:Issuer>
        <saml2:Subject>
            <saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml2:NameID>
            <saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">
                <saml2:SubjectConfirmationData InResponseTo="_req-1" NotOnOrAfter="2024-05-01T12:05:00.000Z" Recipient="https://sp.example.com/acs"/>
            </saml2:SubjectConfirmation>
        </saml2:Subject>
        <saml2:Conditions NotBefore="2024-05-01T11:55:00.000Z" NotOnOrAfter="2024-05-01T12:05:00.000Z">
            <saml2:AudienceRestriction>
                <saml2:Audience>https://sp.example.com</saml2:Audience>
            </saml2:AudienceRestriction>
        </saml2:Conditions>
        <saml2:AuthnStatement AuthnInstant="2024-05-01T12:00:00.000Z" SessionIndex="_sess-1">
            <saml2:AuthnContext>
                <saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef>
            </saml2:AuthnContext>
        </saml2:AuthnStatement>
        <saml2:AttributeStatement>
            <saml2:Attribute Name="email" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">
                <saml2:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">alice@example.com</saml2:AttributeValue>
            </saml2:Attribute>
        </saml2:AttributeStatement>
    </saml2:Assertion>
</saml2p:Response>
"#;

/// Namespace-heavy: default namespace on the Response, declarations at many levels,
/// redundant and unused ones, a `ds` prefix bound to something that is not XML-DSig,
/// `xmlns=""`, prefixed attributes, QNames in content (`xsi:type="xs:string"`).
const NAMESPACE_HEAVY: &str = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ds="urn:example:not-dsig" xmlns:unused="urn:example:unused" xmlns:ext="urn:example:ext" ID="_resp" Version="2.0" IssueInstant="2024-05-01T12:00:00Z" Destination="https://sp.example.com/acs"><Issuer>https://idp.example.com</Issuer><samlp:Extensions><ext:Info xmlns:ext="urn:example:ext" ext:level="high" xml:lang="en"><ds:Thing ds:kind="x">not a signature</ds:Thing><plain xmlns="">no namespace <inner xmlns="urn:example:re-default" a="1"/></plain></ext:Info></samlp:Extensions><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"><samlp:StatusCode xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Value="urn:example:sub"/></samlp:StatusCode></samlp:Status><Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_assert" Version="2.0" IssueInstant="2024-05-01T12:00:00Z" xml:space="preserve"><saml:Issuer>https://idp.example.com</saml:Issuer><Subject><NameID xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" SPNameQualifier="https://sp.example.com">alice@example.com</NameID><SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData NotOnOrAfter="2024-05-01T12:05:00Z" Recipient="https://sp.example.com/acs"/></SubjectConfirmation></Subject><Conditions NotBefore="2024-05-01T11:55:00Z" NotOnOrAfter="2024-05-01T12:05:00Z"><AudienceRestriction><Audience>https://sp.example.com</Audience></AudienceRestriction></Conditions><AttributeStatement xmlns:x500="urn:oasis:names:tc:SAML:2.0:profiles:attribute:X500"><Attribute Name="urn:oid:2.5.4.42" FriendlyName="givenName" x500:Encoding="LDAP" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri"><AttributeValue xsi:type="xs:string">Alice</AttributeValue></Attribute><saml:Attribute Name="groups"><saml:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">admins</saml:AttributeValue><AttributeValue xmlns="urn:oasis:names:tc:SAML:2.0:assertion" xsi:nil="false">users</AttributeValue></saml:Attribute><Attribute Name="complex"><AttributeValue><ext:Complex xmlns:ext="urn:example:ext2" ext:b="2" a="1" ext:a="0" xmlns:zz="urn:example:aaa" zz:z="3"><ext:Inner xmlns="">deep <ds:Mark/></ext:Inner><Back xmlns="urn:oasis:names:tc:SAML:2.0:assertion"/></ext:Complex></AttributeValue></Attribute></AttributeStatement></Assertion></samlp:Response>"#;

/// Attribute-heavy: many attributes, values needing escapes in text and attributes,
/// unicode, comments (including inside signed text), CDATA, a PI, CR LF line ends and tabs.
fn attribute_heavy() -> String {
    let mut attrs = String::new();
    for i in 0..40 {
        attrs.push_str(&format!(
            "\t\t\t<saml:Attribute Name=\"urn:example:attr:{i}\" FriendlyName=\"Attr {i} &amp; &lt;co&gt; &quot;q&quot; 'a'\" NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:uri\">\r\n\
             \t\t\t\t<saml:AttributeValue xsi:type=\"xs:string\">value {i}: Ünïcödé 名前 😀 &lt;tag&gt; a&amp;b \"dq\" 'sq' &gt;</saml:AttributeValue>\r\n\
             \t\t\t</saml:Attribute>\r\n"
        ));
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n\
<!-- prolog comment -->\r\n\
<samlp:Response xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_resp\" Version=\"2.0\" IssueInstant=\"2024-05-01T12:00:00Z\" Consent=\"urn:oasis:names:tc:SAML:2.0:consent:unspecified\">\r\n\
\t<saml:Issuer>https://idp.example.com/?a=1&amp;b=2</saml:Issuer>\r\n\
\t<samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/><samlp:StatusMessage>OK &lt;fine&gt; &amp; \"quoted\" 'single' — ✓</samlp:StatusMessage></samlp:Status>\r\n\
\t<!-- a comment between Status and Assertion -->\r\n\
\t<saml:Assertion xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ID=\"_assert\" Version=\"2.0\" IssueInstant=\"2024-05-01T12:00:00Z\">\r\n\
\t\t<saml:Issuer>https://idp.example.com/?a=1&amp;b=2</saml:Issuer>\r\n\
\t\t<saml:Subject><saml:NameID Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress\">alice@example.com<!-- trailing comment --></saml:NameID></saml:Subject>\r\n\
\t\t<saml:AttributeStatement>\r\n\
\t\t\t<saml:Attribute Name=\"display&amp;name\" FriendlyName=\"Ünïcödé 名前 😀\" NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified\">\r\n\
\t\t\t\t<saml:AttributeValue>Ålice &lt;admin&gt; &amp; co — 日本語 🎉</saml:AttributeValue>\r\n\
\t\t\t</saml:Attribute>\r\n\
\t\t\t<saml:Attribute Name=\"quote&quot;s&amp;escapes\" FriendlyName=\"tab&#9;nl&#10;cr&#13;lt&lt;gt&gt;amp&amp;apos'quot&quot;\">\r\n\
\t\t\t\t<saml:AttributeValue><![CDATA[<not>markup & stuff ]]]]><![CDATA[>]]></saml:AttributeValue>\r\n\
\t\t\t\t<saml:AttributeValue>   leading and trailing spaces   </saml:AttributeValue>\r\n\
\t\t\t\t<saml:AttributeValue>line1\r\nline2&#13;\r\n\ttabbed&#9;end&#x20AC;&#128512;</saml:AttributeValue>\r\n\
\t\t\t\t<saml:AttributeValue/>\r\n\
\t\t\t</saml:Attribute>\r\n\
\t\t\t<?app-hint keep this processing instruction?>\r\n\
\t\t\t<!-- multi\r\n\t\t\t     line comment -->\r\n\
{attrs}\
\t\t</saml:AttributeStatement>\r\n\
\t</saml:Assertion>\r\n\
</samlp:Response>\r\n\
<!-- epilog comment -->\r\n"
    )
}

fn templates() -> Vec<(&'static str, String)> {
    vec![
        ("typical", TYPICAL.to_string()),
        ("namespace-heavy", NAMESPACE_HEAVY.to_string()),
        ("attribute-heavy", attribute_heavy()),
    ]
}

/// What gets signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Assertion,
    Response,
    Both,
}

impl Target {
    const ALL: [Target; 3] = [Target::Assertion, Target::Response, Target::Both];

    /// IDs in signing order (assertion first: the response signature covers it).
    fn ids(self) -> &'static [&'static str] {
        match self {
            Target::Assertion => &[ASSERTION_ID],
            Target::Response => &[RESPONSE_ID],
            Target::Both => &[ASSERTION_ID, RESPONSE_ID],
        }
    }
}

/// (signature algorithm, digest) pairs of the matrix.
const ALGS: [(SignatureAlgorithm, DigestAlgorithm); 4] = [
    (SignatureAlgorithm::RsaSha256, DigestAlgorithm::Sha256),
    (SignatureAlgorithm::RsaSha1, DigestAlgorithm::Sha1),
    (SignatureAlgorithm::RsaSha512, DigestAlgorithm::Sha512),
    (SignatureAlgorithm::EcdsaSha256, DigestAlgorithm::Sha256),
];

const C14NS: [C14nMethod; 4] = [
    C14nMethod::EXCLUSIVE,
    C14nMethod::EXCLUSIVE_WITH_COMMENTS,
    C14nMethod::INCLUSIVE,
    C14nMethod::INCLUSIVE_WITH_COMMENTS,
];

/// Changes signed content inside the Assertion (so every signature of every mode covers it).
fn tamper(xml: &str) -> String {
    assert!(xml.contains("alice@example.com"));
    xml.replace("alice@example.com", "mallory@example.com")
}

// ---------------------------------------------------------------------------------------------
// xmlsec1 driver
// ---------------------------------------------------------------------------------------------

struct Env {
    dir: TempDir,
    counter: AtomicUsize,
}

impl Env {
    fn new() -> Env {
        let v = Command::new("xmlsec1").arg("--version").output();
        match v {
            Ok(o) if o.status.success() => {}
            _ => panic!("xmlsec1 is not installed: apt-get install -y xmlsec1 (done by .ci/run)"),
        }
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
            counter: AtomicUsize::new(0),
        };
        let (rsa, ec, attacker) = keys();
        for (name, kp) in [("rsa", rsa), ("ec", ec), ("attacker", attacker)] {
            std::fs::write(
                env.path(&format!("{name}-key.pem")),
                kp.key.private_key_to_pem_pkcs8().unwrap(),
            )
            .unwrap();
            std::fs::write(
                env.path(&format!("{name}-cert.pem")),
                kp.cert.to_pem().unwrap(),
            )
            .unwrap();
        }
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, xml: &str) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let p = self.path(&format!("doc-{n}.xml"));
        std::fs::write(&p, xml).unwrap();
        p
    }

    fn key_files(&self, alg: SignatureAlgorithm) -> (PathBuf, PathBuf) {
        let name = if alg == SignatureAlgorithm::EcdsaSha256 {
            "ec"
        } else {
            "rsa"
        };
        (
            self.path(&format!("{name}-key.pem")),
            self.path(&format!("{name}-cert.pem")),
        )
    }
}

fn signature_xpath(parent_id: &str) -> String {
    format!("//*[@ID='{parent_id}']/*[local-name()='Signature' and namespace-uri()='{DSIG_NS}']")
}

fn id_attr_args() -> Vec<String> {
    [
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:protocol:Response",
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest",
    ]
    .map(String::from)
    .to_vec()
}

struct XmlsecRun {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run_xmlsec(args: &[String]) -> XmlsecRun {
    let out = Command::new("xmlsec1").args(args).output().unwrap();
    XmlsecRun {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `xmlsec1 --verify` of the signature enveloped by the element with ID `parent_id`, with the
/// certificate's key as the only key: `--enabled-key-data rsa,ecdsa` makes xmlsec ignore the
/// X509Data in KeyInfo, so acceptance really means "verifies with this certificate".
fn xmlsec_verify(file: &Path, cert: &Path, parent_id: &str, debug: bool) -> XmlsecRun {
    let mut args: Vec<String> = vec!["--verify".into()];
    args.extend(id_attr_args());
    args.extend(
        [
            "--enabled-key-data",
            "rsa,ecdsa",
            "--enabled-reference-uris",
            "same-doc",
            "--pubkey-cert-pem",
        ]
        .map(String::from),
    );
    args.push(cert.display().to_string());
    args.push("--node-xpath".into());
    args.push(signature_xpath(parent_id));
    if debug {
        args.extend(
            ["--store-references", "--store-signatures", "--print-debug"].map(String::from),
        );
    }
    args.push(file.display().to_string());
    run_xmlsec(&args)
}

/// `xmlsec1 --sign` of the template signature enveloped by the element with ID `parent_id`.
fn xmlsec_sign(env: &Env, template: &str, alg: SignatureAlgorithm, parent_id: &str) -> String {
    let input = env.write(template);
    let output = env.write("");
    let (key, cert) = env.key_files(alg);
    let mut args: Vec<String> = vec!["--sign".into()];
    args.extend(id_attr_args());
    args.push("--privkey-pem".into());
    args.push(format!("{},{}", key.display(), cert.display()));
    args.push("--node-xpath".into());
    args.push(signature_xpath(parent_id));
    args.push("--output".into());
    args.push(output.display().to_string());
    args.push(input.display().to_string());
    let run = run_xmlsec(&args);
    assert!(
        run.ok,
        "xmlsec1 --sign failed for {parent_id} ({alg:?}):\n{}\n{}",
        run.stdout, run.stderr
    );
    std::fs::read_to_string(output).unwrap()
}

/// The data between xmlsec1's `== {label} data - start buffer:` and `- end buffer` markers.
fn debug_buffer(stdout: &str, label: &str) -> Option<String> {
    let start_marker = format!("== {label} data - start buffer:\n");
    let end_marker = format!("\n== {label} data - end buffer");
    let start = stdout.find(&start_marker)? + start_marker.len();
    let end = start + stdout[start..].find(&end_marker)?;
    Some(stdout[start..end].to_string())
}

/// Our canonical forms for the signature enveloped by `parent_id`: (reference, SignedInfo).
fn our_canonical_forms(doc: &Document, parent_id: &str) -> (String, String) {
    let parent_path = doc.find_by_id(parent_id).unwrap().unwrap();
    let parent = doc.get(&parent_path).unwrap();
    let (idx, sig) = parent
        .indexed_child_elements()
        .find(|(_, e)| e.is(DSIG_NS, "Signature"))
        .unwrap();
    let signed_info = sig.find_child(DSIG_NS, "SignedInfo").unwrap();
    let method_of = |el: &oinspect::saml::xml::Element| {
        C14nMethod::from_uri(el.attr("Algorithm").unwrap()).unwrap()
    };
    let prefixes_of = |el: &oinspect::saml::xml::Element| -> Vec<String> {
        el.find_child(c14n::EXC_C14N_URI, "InclusiveNamespaces")
            .and_then(|i| i.attr("PrefixList"))
            .map(|l| l.split_whitespace().map(String::from).collect())
            .unwrap_or_default()
    };
    let cm = signed_info
        .find_child(DSIG_NS, "CanonicalizationMethod")
        .unwrap();
    let transform = signed_info
        .find_child(DSIG_NS, "Reference")
        .unwrap()
        .find_child(DSIG_NS, "Transforms")
        .unwrap()
        .child_elements()
        .last()
        .unwrap();
    let t_prefixes = prefixes_of(transform);
    let reference = c14n::canonicalize(
        doc,
        &parent_path,
        &C14nOptions {
            method: method_of(transform).without_comments(),
            inclusive_prefixes: &t_prefixes,
            exclude: Some(sig),
        },
    )
    .unwrap();
    let si_path = parent_path.child(idx).child(
        sig.indexed_child_elements()
            .find(|(_, e)| e.is(DSIG_NS, "SignedInfo"))
            .unwrap()
            .0,
    );
    let cm_prefixes = prefixes_of(cm);
    let signed_info = c14n::canonicalize(
        doc,
        &si_path,
        &C14nOptions {
            method: method_of(cm),
            inclusive_prefixes: &cm_prefixes,
            exclude: None,
        },
    )
    .unwrap();
    (reference, signed_info)
}

/// Explains an xmlsec1 rejection by diffing its canonical bytes with ours.
fn explain_rejection(file: &Path, cert: &Path, parent_id: &str, xml: &str) -> String {
    let run = xmlsec_verify(file, cert, parent_id, true);
    let doc = Document::parse(xml).unwrap();
    let (ours_ref, ours_si) = our_canonical_forms(&doc, parent_id);
    let theirs_ref = debug_buffer(&run.stdout, "PreDigest").unwrap_or_default();
    let theirs_si = debug_buffer(&run.stdout, "PreSigned").unwrap_or_default();
    format!(
        "xmlsec1 stderr:\n{}\nreference bytes equal: {}\n  ours:   {ours_ref:?}\n  xmlsec: {theirs_ref:?}\nSignedInfo bytes equal: {}\n  ours:   {ours_si:?}\n  xmlsec: {theirs_si:?}",
        run.stderr,
        ours_ref == theirs_ref,
        ours_si == theirs_si
    )
}

fn sign_ours(template: &str, target: Target, opts: &SignOptions) -> String {
    let kp = idp(opts.alg);
    let mut doc = Document::parse(template).unwrap();
    for id in target.ids() {
        dsig::sign_enveloped(&mut doc, id, &kp.key, &kp.cert, opts).unwrap();
    }
    doc.to_xml()
}

/// Inserts an empty signature template (what `xmlsec1 --sign` fills in) after the Issuer of
/// the element with ID `id`.
fn insert_signature_template(doc: &mut Document, id: &str, opts: &SignOptions) {
    let transform_params =
        if opts.c14n.mode == C14nMode::Exclusive && !opts.inclusive_prefixes.is_empty() {
            format!(
                "<ec:InclusiveNamespaces xmlns:ec=\"{}\" PrefixList=\"{}\"/>",
                c14n::EXC_C14N_URI,
                opts.inclusive_prefixes.join(" ")
            )
        } else {
            String::new()
        };
    let skeleton = format!(
        "<ds:Signature xmlns:ds=\"{DSIG_NS}\"><ds:SignedInfo>\
         <ds:CanonicalizationMethod Algorithm=\"{c14n}\"/>\
         <ds:SignatureMethod Algorithm=\"{alg}\"/>\
         <ds:Reference URI=\"#{id}\"><ds:Transforms>\
         <ds:Transform Algorithm=\"{env}\"/>\
         <ds:Transform Algorithm=\"{c14n}\">{transform_params}</ds:Transform>\
         </ds:Transforms><ds:DigestMethod Algorithm=\"{digest}\"/><ds:DigestValue/></ds:Reference>\
         </ds:SignedInfo><ds:SignatureValue/>\
         <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature>",
        c14n = opts.c14n.uri(),
        alg = opts.alg.uri(),
        env = dsig::ENVELOPED_SIGNATURE_URI,
        digest = opts.digest.uri(),
    );
    let sig = Document::parse(&skeleton).unwrap().root;
    let path = doc.find_by_id(id).unwrap().unwrap();
    let el = doc.get_mut(&path).unwrap();
    let at = el
        .indexed_child_elements()
        .find(|(_, e)| e.is(SAML_NS, "Issuer"))
        .map(|(i, _)| i + 1)
        .unwrap_or(0);
    el.insert_child(at, Node::Element(sig));
}

fn sign_xmlsec(env: &Env, template: &str, target: Target, opts: &SignOptions) -> String {
    let mut doc = Document::parse(template).unwrap();
    for id in target.ids() {
        insert_signature_template(&mut doc, id, opts);
    }
    let mut xml = doc.to_xml();
    for id in target.ids() {
        xml = xmlsec_sign(env, &xml, opts.alg, id);
    }
    xml
}

fn describe(name: &str, target: Target, opts: &SignOptions) -> String {
    format!(
        "[{name} / {target:?} / {:?}+{:?} / {}{}]",
        opts.alg,
        opts.digest,
        opts.c14n.uri(),
        if opts.inclusive_prefixes.is_empty() {
            String::new()
        } else {
            format!(" PrefixList={:?}", opts.inclusive_prefixes)
        }
    )
}

fn full_matrix() -> Vec<(&'static str, String, Target, SignOptions)> {
    let mut cases = Vec::new();
    for (name, template) in templates() {
        for target in Target::ALL {
            for (alg, digest) in ALGS {
                for c14n in C14NS {
                    cases.push((
                        name,
                        template.clone(),
                        target,
                        SignOptions {
                            alg,
                            digest,
                            c14n,
                            ..SignOptions::default()
                        },
                    ));
                }
            }
        }
    }
    cases
}

/// Checks that xmlsec1 accepts every signature of `xml`, and rejects the tampered copy.
/// Returns the failures (empty when all is well).
fn check_with_xmlsec(
    env: &Env,
    what: &str,
    xml: &str,
    target: Target,
    alg: SignatureAlgorithm,
) -> Vec<String> {
    let mut failures = Vec::new();
    let (_, cert) = env.key_files(alg);
    let file = env.write(xml);
    let tampered = env.write(&tamper(xml));
    for id in target.ids() {
        let run = xmlsec_verify(&file, &cert, id, false);
        if !run.ok {
            failures.push(format!(
                "{what} xmlsec1 rejected the signature of {id}:\n{}",
                explain_rejection(&file, &cert, id, xml)
            ));
        }
        if xmlsec_verify(&tampered, &cert, id, false).ok {
            failures.push(format!(
                "{what} xmlsec1 accepted the TAMPERED signature of {id}"
            ));
        }
    }
    failures
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[test]
#[ignore = "needs xmlsec1 (installed by .ci/run)"]
fn xmlsec1_accepts_everything_we_sign() {
    let env = Env::new();
    let mut failures = Vec::new();
    let cases = full_matrix();
    for (name, template, target, opts) in &cases {
        let what = describe(name, *target, opts);
        let xml = sign_ours(template, *target, opts);
        failures.extend(check_with_xmlsec(&env, &what, &xml, *target, opts.alg));
        // Our own verifier agrees on both.
        let doc = Document::parse(&xml).unwrap();
        match dsig::verify(&doc, &[idp(opts.alg).cert.clone()]) {
            Ok(refs) if refs.len() == target.ids().len() => {}
            other => failures.push(format!("{what} our verify: {other:?}")),
        }
        let tampered = Document::parse(&tamper(&xml)).unwrap();
        if !matches!(
            dsig::verify(&tampered, &[idp(opts.alg).cert.clone()]),
            Err(DsigError::DigestMismatch { .. })
        ) {
            failures.push(format!(
                "{what} our verify did not report the tampering as a digest mismatch"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    eprintln!("xmlsec1 accepted all {} signing modes", cases.len());
}

#[test]
#[ignore = "needs xmlsec1 (installed by .ci/run)"]
fn we_accept_everything_xmlsec1_signs() {
    let env = Env::new();
    let mut failures = Vec::new();
    let cases = full_matrix();
    for (name, template, target, opts) in &cases {
        let what = describe(name, *target, opts);
        let xml = sign_xmlsec(&env, template, *target, opts);
        let doc = match Document::parse(&xml) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{what} cannot parse xmlsec1 output: {e}"));
                continue;
            }
        };
        let trusted = [idp(opts.alg).cert.clone()];
        match dsig::verify(&doc, &trusted) {
            Ok(refs) => {
                let mut ids: Vec<&str> =
                    refs.iter().map(|r| r.signed_element_id.as_str()).collect();
                ids.sort_unstable();
                let mut expected = target.ids().to_vec();
                expected.sort_unstable();
                if ids != expected {
                    failures.push(format!("{what} verified {ids:?}, expected {expected:?}"));
                }
                for r in &refs {
                    if r.signature_algorithm != opts.alg
                        || r.digest_algorithm != opts.digest
                        || r.c14n != opts.c14n
                    {
                        failures.push(format!("{what} reported algorithms {r:?}"));
                    }
                }
            }
            Err(e) => {
                let mut msg = format!("{what} our verify rejected xmlsec1's signature: {e}");
                // Diagnose with xmlsec1's own canonical bytes.
                let file = env.write(&xml);
                let (_, cert) = env.key_files(opts.alg);
                for id in target.ids() {
                    let run = xmlsec_verify(&file, &cert, id, true);
                    let (ours_ref, ours_si) = our_canonical_forms(&doc, id);
                    msg.push_str(&format!(
                        "\n  {id}: xmlsec1 self-check ok={}; reference equal={}; SignedInfo equal={}\n    ours:   {ours_ref:?}\n    xmlsec: {:?}",
                        run.ok,
                        debug_buffer(&run.stdout, "PreDigest").as_deref() == Some(ours_ref.as_str()),
                        debug_buffer(&run.stdout, "PreSigned").as_deref() == Some(ours_si.as_str()),
                        debug_buffer(&run.stdout, "PreDigest"),
                    ));
                }
                failures.push(msg);
            }
        }
        let tampered = Document::parse(&tamper(&xml)).unwrap();
        if !matches!(
            dsig::verify(&tampered, &trusted),
            Err(DsigError::DigestMismatch { .. })
        ) {
            failures.push(format!(
                "{what} our verify accepted xmlsec1's TAMPERED document"
            ));
        }
        // xmlsec1 agrees about the tampering (sanity check of the harness itself).
        let (_, cert) = env.key_files(opts.alg);
        let tf = env.write(&tamper(&xml));
        for id in target.ids() {
            if xmlsec_verify(&tf, &cert, id, false).ok {
                failures.push(format!(
                    "{what} xmlsec1 accepted its own TAMPERED signature of {id}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems in {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    eprintln!("we accepted all {} xmlsec1 signing modes", cases.len());
}

/// Byte-for-byte comparison of what is digested and signed, for every c14n method, including
/// InclusiveNamespaces prefix lists (#default too).
#[test]
#[ignore = "needs xmlsec1 (installed by .ci/run)"]
fn canonical_bytes_match_xmlsec1() {
    let env = Env::new();
    let mut failures = Vec::new();
    let mut compared = 0;
    let prefix_lists: [&[&str]; 3] = [&[], &["xs", "xsi"], &["#default", "samlp", "unused", "ds"]];
    for (name, template) in templates() {
        for c14n in C14NS {
            for prefixes in prefix_lists {
                if c14n.mode == C14nMode::Inclusive && !prefixes.is_empty() {
                    continue;
                }
                let opts = SignOptions {
                    c14n,
                    inclusive_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
                    ..SignOptions::default()
                };
                let what = describe(name, Target::Both, &opts);
                let xml = sign_ours(&template, Target::Both, &opts);
                let doc = Document::parse(&xml).unwrap();
                let file = env.write(&xml);
                let (_, cert) = env.key_files(opts.alg);
                for id in Target::Both.ids() {
                    let run = xmlsec_verify(&file, &cert, id, true);
                    let (ours_ref, ours_si) = our_canonical_forms(&doc, id);
                    let theirs_ref = debug_buffer(&run.stdout, "PreDigest");
                    let theirs_si = debug_buffer(&run.stdout, "PreSigned");
                    compared += 1;
                    if !run.ok
                        || theirs_ref.as_deref() != Some(&ours_ref)
                        || theirs_si.as_deref() != Some(&ours_si)
                    {
                        failures.push(format!(
                            "{what} {id}: xmlsec1 ok={}\n  ours ref:   {ours_ref:?}\n  xmlsec ref: {theirs_ref:?}\n  ours SI:    {ours_si:?}\n  xmlsec SI:  {theirs_si:?}\n{}",
                            run.ok, run.stderr
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    eprintln!("{compared} canonical forms identical to xmlsec1's");
}

/// A signature made with a key we do not trust is rejected by both, even though its KeyInfo
/// carries a certificate that verifies it.
#[test]
#[ignore = "needs xmlsec1 (installed by .ci/run)"]
fn foreign_key_rejected_by_both() {
    let env = Env::new();
    let attacker = &keys().2;
    let idp_rsa = &keys().0;
    for (name, template) in templates() {
        let mut doc = Document::parse(&template).unwrap();
        dsig::sign_enveloped(
            &mut doc,
            ASSERTION_ID,
            &attacker.key,
            &attacker.cert,
            &SignOptions::default(),
        )
        .unwrap();
        let xml = doc.to_xml();
        let file = env.write(&xml);
        let run = xmlsec_verify(&file, &env.path("rsa-cert.pem"), ASSERTION_ID, false);
        assert!(
            !run.ok,
            "[{name}] xmlsec1 accepted a signature by a foreign key"
        );
        // Sanity: xmlsec1 does accept it with the attacker's certificate.
        let run = xmlsec_verify(&file, &env.path("attacker-cert.pem"), ASSERTION_ID, false);
        assert!(run.ok, "[{name}] harness: {}", run.stderr);
        let err = dsig::verify(
            &Document::parse(&xml).unwrap(),
            std::slice::from_ref(&idp_rsa.cert),
        )
        .unwrap_err();
        assert!(
            matches!(err, DsigError::UntrustedKey { .. }),
            "[{name}] {err}"
        );
    }
}

/// Comments are not part of `#ID` references: both sides agree that editing a comment in
/// signed content keeps the signature valid (and that editing text next to it does not).
#[test]
#[ignore = "needs xmlsec1 (installed by .ci/run)"]
fn comment_edits_agree_with_xmlsec1() {
    let env = Env::new();
    let template = attribute_heavy();
    for c14n in C14NS {
        let opts = SignOptions {
            c14n,
            ..SignOptions::default()
        };
        let xml = sign_ours(&template, Target::Both, &opts);
        let edited = xml.replace("<!-- trailing comment -->", "<!-- edited comment -->");
        assert_ne!(xml, edited);
        let file = env.write(&edited);
        let (_, cert) = env.key_files(opts.alg);
        for id in Target::Both.ids() {
            let run = xmlsec_verify(&file, &cert, id, false);
            assert!(run.ok, "{c14n:?} {id}: {}", run.stderr);
        }
        let policy = VerifyPolicy::default();
        let doc = Document::parse(&edited).unwrap();
        for id in Target::Both.ids() {
            dsig::verify_element(&doc, id, &[keys().0.cert.clone()], &policy).unwrap();
        }
    }
}

/// An SP's AuthnRequest for the HTTP-POST binding, as a vendor would send it.
const AUTHN_REQUEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_authnreq-1" Version="2.0" IssueInstant="2024-05-01T12:00:00Z" Destination="https://idp.example.com/sso" AssertionConsumerServiceURL="https://sp.example.com/acs" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">
  <saml:Issuer>https://sp.example.com</saml:Issuer>
  <samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" AllowCreate="true"/>
  <samlp:RequestedAuthnContext Comparison="exact"><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>
</samlp:AuthnRequest>
"#;

/// AuthnRequests signed by xmlsec1 (standing in for a vendor SP) verify with the same
/// `verify`, which reports the AuthnRequest as the signed element; tampering is caught.
#[test]
#[ignore = "needs xmlsec1 (installed by .ci/run)"]
fn authn_requests_signed_by_xmlsec1_verify() {
    let env = Env::new();
    let id = "_authnreq-1";
    for (alg, digest) in ALGS {
        for c14n in C14NS {
            let opts = SignOptions {
                alg,
                digest,
                c14n,
                ..SignOptions::default()
            };
            let mut doc = Document::parse(AUTHN_REQUEST).unwrap();
            insert_signature_template(&mut doc, id, &opts);
            let xml = xmlsec_sign(&env, &doc.to_xml(), alg, id);
            let doc = Document::parse(&xml).unwrap();
            let trusted = [idp(alg).cert.clone()];
            let r = dsig::verify_element(&doc, id, &trusted, &VerifyPolicy::default())
                .unwrap_or_else(|e| panic!("{alg:?} {c14n:?}: {e}"));
            assert!(
                r.signed_element_name
                    .is("urn:oasis:names:tc:SAML:2.0:protocol", "AuthnRequest")
            );
            assert_eq!(r.signature_algorithm, alg);
            let tampered = xml.replace("https://sp.example.com/acs", "https://evil.example/acs");
            assert!(matches!(
                dsig::verify(&Document::parse(&tampered).unwrap(), &trusted),
                Err(DsigError::DigestMismatch { .. })
            ));
            // And the reverse: what we sign as an SP would, xmlsec1 accepts.
            let kp = idp(alg);
            let signed =
                dsig::sign_enveloped_str(AUTHN_REQUEST, id, &kp.key, &kp.cert, &opts).unwrap();
            let file = env.write(&signed);
            let (_, cert) = env.key_files(alg);
            let run = xmlsec_verify(&file, &cert, id, false);
            assert!(run.ok, "{alg:?} {c14n:?}: {}", run.stderr);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The test IdP's own Responses and metadata
// ---------------------------------------------------------------------------------------------

/// Responses from `response::build_signed` (what the test IdP posts to a vendor's SP), in
/// every sign mode, with generated RSA and EC identities, verify in xmlsec1 with only the
/// IdP certificate; a tampered NameID is rejected; the IdP metadata parses back and carries
/// the same certificate.
#[test]
#[ignore = "needs xmlsec1 (installed by .ci/run)"]
fn xmlsec1_accepts_test_idp_responses() {
    use base64::Engine as _;
    use oinspect::saml::idp::{IdpIdentity, KeyKind, MD_NS};
    use oinspect::saml::response::{ResponseSpec, SignMode, build_signed};

    let env = Env::new();
    let mut failures = Vec::new();
    let mut cases = 0;
    for (kind, algs) in [
        (
            KeyKind::Rsa2048,
            &[
                SignatureAlgorithm::RsaSha256,
                SignatureAlgorithm::RsaSha1,
                SignatureAlgorithm::RsaSha512,
            ][..],
        ),
        (KeyKind::EcP256, &[SignatureAlgorithm::EcdsaSha256][..]),
    ] {
        let idp = IdpIdentity::generate(
            "https://idp.oinspect.test/metadata",
            "https://idp.oinspect.test/sso",
            kind,
        )
        .unwrap();
        let cert = env.path(&format!("test-idp-{kind:?}-cert.pem"));
        std::fs::write(&cert, idp.cert_pem()).unwrap();
        for &alg in algs {
            for mode in [
                SignMode::None,
                SignMode::Assertion,
                SignMode::Response,
                SignMode::Both,
            ] {
                cases += 1;
                let what = format!("{kind:?} {alg:?} {mode:?}:");
                let mut spec = ResponseSpec::new(
                    &idp.entity_id,
                    "https://sp.example.com/acs",
                    "https://sp.example.com",
                    "alice@example.com",
                );
                spec.in_response_to = Some("_req-1".into());
                spec.attributes = vec![
                    ("email".into(), vec!["alice@example.com".into()]),
                    ("groups".into(), vec!["admins".into(), "a & <b>".into()]),
                ];
                spec.sign = mode;
                spec.alg = alg;
                let xml = build_signed(&spec, &idp).unwrap();
                let ids: Vec<&str> = match mode {
                    SignMode::None => vec![],
                    SignMode::Assertion => vec![&spec.assertion_id],
                    SignMode::Response => vec![&spec.response_id],
                    SignMode::Both => vec![&spec.assertion_id, &spec.response_id],
                };
                let doc = Document::parse(&xml).unwrap();
                if dsig::signature_paths(&doc).len() != ids.len() {
                    failures.push(format!("{what} wrong number of signatures"));
                }
                let file = env.write(&xml);
                let tampered =
                    env.write(&xml.replace("alice@example.com<", "mallory@example.com<"));
                for id in ids {
                    if !xmlsec_verify(&file, &cert, id, false).ok {
                        failures.push(format!(
                            "{what} xmlsec1 rejected the signature of {id}:\n{}",
                            explain_rejection(&file, &cert, id, &xml)
                        ));
                    }
                    if xmlsec_verify(&tampered, &cert, id, false).ok {
                        failures.push(format!("{what} xmlsec1 accepted a tampered {id}"));
                    }
                }
            }
        }

        // The metadata the SP imports: well-formed, and its certificate is the signing one.
        let md = Document::parse(&idp.metadata_xml()).unwrap();
        assert!(md.root.is(MD_NS, "EntityDescriptor"));
        assert_eq!(md.root.attr("entityID"), Some(idp.entity_id.as_str()));
        let b64 = md
            .root
            .find_child(MD_NS, "IDPSSODescriptor")
            .and_then(|d| d.find_child(MD_NS, "KeyDescriptor"))
            .and_then(|k| k.find_child(DSIG_NS, "KeyInfo"))
            .and_then(|k| k.find_child(DSIG_NS, "X509Data"))
            .and_then(|k| k.find_child(DSIG_NS, "X509Certificate"))
            .map(|c| c.text())
            .expect("metadata has a signing certificate");
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .unwrap();
        assert_eq!(
            der,
            idp.cert.to_der().unwrap(),
            "{kind:?} metadata certificate"
        );
    }
    assert!(
        failures.is_empty(),
        "{} failures in {cases} cases:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    eprintln!("xmlsec1 accepted test IdP responses in all {cases} cases");
}
