//! HTTP-POST AuthnRequest decoding: the SP's auto-submitting HTML form
//! (`saml::request::find_post_form`) and the `SAMLRequest` value (`decode_post`), then the
//! checks. The first byte picks what the rest is: 0 = the base64 form value as sent; 1 = the
//! decoded request bytes (the target base64-encodes them: the XML parser and the enveloped
//! signature verifier); anything else = an HTML page. Bit 7 drops the trusted certificate.
#![no_main]

use std::sync::OnceLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use oinspect::saml::request::{RequestExpectations, check, decode_post, find_post_form};
use openssl::x509::X509;

fn cert() -> &'static X509 {
    static CERT: OnceLock<X509> = OnceLock::new();
    CERT.get_or_init(|| {
        X509::from_pem(include_bytes!("../fixtures/idp-cert.pem")).expect("fixture certificate")
    })
}

fn decode(value: &str, relay_state: Option<&str>, certs: &[X509]) {
    match decode_post(value, relay_state, certs) {
        Ok(req) => {
            let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
            let mut exp = RequestExpectations::new("https://idp.oinspect.test/sso", now);
            exp.require_signed = true;
            exp.acs_urls = vec!["https://sp.test/acs".into()];
            for f in check(&req, &exp) {
                let _ = format!("{f:?}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let certs: Vec<X509> = if mode & 0x80 == 0 {
        vec![cert().clone()]
    } else {
        Vec::new()
    };
    match mode & 0x7f {
        0 => decode(&String::from_utf8_lossy(rest), Some("/app"), &certs),
        1 => {
            let b64 = base64::engine::general_purpose::STANDARD.encode(rest);
            decode(&b64, None, &certs);
        }
        _ => {
            let html = String::from_utf8_lossy(rest);
            if let Some((_action, fields)) = find_post_form(&html) {
                let value = fields.iter().find(|(k, _)| k == "SAMLRequest");
                let relay = fields.iter().find(|(k, _)| k == "RelayState");
                if let Some((_, v)) = value {
                    decode(v, relay.map(|(_, r)| r.as_str()), &certs);
                }
            }
        }
    }
});
