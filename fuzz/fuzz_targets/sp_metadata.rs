//! SP metadata import (`saml::metadata::parse`) and its sanity review.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oinspect::saml::metadata::{parse, sanity};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(md) => {
            let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
            for f in sanity(&md, now) {
                let _ = format!("{f:?}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
