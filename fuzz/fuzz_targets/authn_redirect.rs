//! HTTP-Redirect AuthnRequest decoding (`saml::request::decode_redirect`) and the checks run
//! on what it decodes. The first byte picks how the rest becomes the URL's query:
//! 0 = the query string as is; 1 = raw DEFLATE data (base64- and URL-encoded as SAMLRequest:
//! DEFLATE bombs and broken streams); anything else = XML text that the target deflates
//! (the XML parser behind the inflater). Bit 7 of the first byte drops the trusted certificate.
#![no_main]

use std::io::Write as _;
use std::sync::OnceLock;

use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use oinspect::saml::request::{RequestExpectations, check, decode_redirect};
use openssl::x509::X509;

fn cert() -> &'static X509 {
    static CERT: OnceLock<X509> = OnceLock::new();
    CERT.get_or_init(|| {
        X509::from_pem(include_bytes!("../fixtures/idp-cert.pem")).expect("fixture certificate")
    })
}

fn encode(value: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(value);
    url::form_urlencoded::byte_serialize(b64.as_bytes()).collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let query = match mode & 0x7f {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => format!("SAMLRequest={}&RelayState=%2Fapp", encode(rest)),
        _ => {
            let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            if z.write_all(rest).is_err() {
                return;
            }
            let Ok(deflated) = z.finish() else { return };
            format!("SAMLRequest={}", encode(&deflated))
        }
    };
    let Ok(url) = url::Url::parse(&format!("https://idp.oinspect.test/sso?{query}")) else {
        return;
    };
    let certs: Vec<X509> = if mode & 0x80 == 0 {
        vec![cert().clone()]
    } else {
        Vec::new()
    };
    match decode_redirect(&url, &certs) {
        Ok(req) => {
            let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
            let findings = check(
                &req,
                &RequestExpectations::new("https://idp.oinspect.test/sso", now),
            );
            for f in &findings {
                let _ = format!("{f:?}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
