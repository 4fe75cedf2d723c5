//! The RFC 7643 validator of SCIM responses (`scim::schema::validate`, `validate_list`) on
//! bodies read the way the engine reads them. The first byte picks the resource kind and
//! whether the body is a ListResponse of that kind.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oinspect::http::HttpResponse;
use oinspect::scim::schema::{ResourceKind, validate, validate_list};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let response = HttpResponse {
        status: 200,
        headers: Vec::new(),
        body: body.to_vec(),
    };
    let Ok(value) = response.json() else {
        return;
    };
    let kind = ResourceKind::ALL[usize::from(selector & 0x7f) % ResourceKind::ALL.len()];
    let violations = if selector & 0x80 == 0 {
        validate(kind, &value)
    } else {
        validate_list(kind, &value)
    };
    for v in &violations {
        let _ = format!("{v:?}");
    }
});
