//! The XML parser (`saml::xml::Document::parse`, DOCTYPEs refused, hard limits), both
//! canonicalizations with and without comments on the root and on the first elements, the
//! serializer (what it writes must parse again), and XML-DSig verification
//! (`saml::dsig::verify`) against a fixed certificate: the one that signed the seed Responses.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use oinspect::saml::c14n::{C14nMethod, C14nOptions, canonicalize};
use oinspect::saml::dsig::{self, VerifyPolicy};
use oinspect::saml::xml::Document;
use openssl::x509::X509;

fn cert() -> &'static X509 {
    static CERT: OnceLock<X509> = OnceLock::new();
    CERT.get_or_init(|| {
        X509::from_pem(include_bytes!("../fixtures/idp-cert.pem")).expect("fixture certificate")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(doc) = Document::parse(text) else {
        return;
    };
    let prefixes = ["#default".to_string(), "saml".to_string()];
    let methods = [
        C14nMethod::EXCLUSIVE,
        C14nMethod::EXCLUSIVE_WITH_COMMENTS,
        C14nMethod::INCLUSIVE,
        C14nMethod::INCLUSIVE_WITH_COMMENTS,
    ];
    for path in doc.find_elements(|_| true).into_iter().take(8) {
        for method in methods {
            for inclusive_prefixes in [&[][..], &prefixes[..]] {
                let opts = C14nOptions {
                    method,
                    inclusive_prefixes,
                    exclude: None,
                };
                let _ = canonicalize(&doc, &path, &opts);
            }
        }
    }
    // What we serialize (forged and re-signed messages) must be XML we can read back.
    let written = doc.to_xml();
    if let Err(e) = Document::parse(&written) {
        panic!(
            "serialized document does not parse again: {e}\ninput: {text:?}\nwritten: {written:?}"
        );
    }
    let trusted = [cert().clone()];
    let _ = dsig::verify(&doc, &trusted).map_err(|e| e.to_string());
    let _ = dsig::verify_with_policy(&doc, &trusted, &VerifyPolicy::modern());
});
