//! Signatures of the HTTP-Redirect binding (SAML bindings §3.4.4.1).
//!
//! The signature covers the octet string
//! `SAMLRequest=…&RelayState=…&SigAlg=…` (or `SAMLResponse=…`) built from the URL-encoded
//! parameter values. URL encoding is not canonical (`%2F` vs `%2f`, `+` vs `%20`, which
//! characters get escaped at all), so the spec makes the verifier use the values exactly as
//! they arrived on the query string. Decoding and re-encoding would turn a valid signature
//! from an SP with a different encoder into a false failure, so verification works on the raw
//! query and decodes only afterwards.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use openssl::pkey::{PKeyRef, Private};
use openssl::x509::X509;
use url::form_urlencoded::byte_serialize;

use super::dsig::{DsigError, SignatureAlgorithm, decode_b64, sign_bytes, verify_with_trusted};

/// A verified HTTP-Redirect message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectVerified {
    /// `SAMLRequest` or `SAMLResponse`.
    pub message_parameter: &'static str,
    /// The decoded value of that parameter (still base64 of the DEFLATEd message).
    pub message: String,
    /// The decoded RelayState, if present.
    pub relay_state: Option<String>,
    pub algorithm: SignatureAlgorithm,
    /// Index in the trusted certificates of the one whose key verified the signature.
    pub trusted_cert_index: usize,
}

fn encode(value: &str) -> String {
    byte_serialize(value.as_bytes()).collect()
}

/// Builds a signed query string from decoded parameter values: exactly one of
/// `SAMLRequest` / `SAMLResponse`, optionally `RelayState`, in any order. Returns
/// `SAMLRequest=…[&RelayState=…]&SigAlg=…&Signature=…` (without a leading `?`).
pub fn sign_redirect_query(
    params: &[(&str, &str)],
    key: &PKeyRef<Private>,
    alg: SignatureAlgorithm,
) -> Result<String, DsigError> {
    let mut message: Option<(&'static str, &str)> = None;
    let mut relay_state: Option<&str> = None;
    for &(name, value) in params {
        match name {
            "SAMLRequest" | "SAMLResponse" => {
                if let Some((seen, _)) = message {
                    return Err(if seen == name {
                        DsigError::DuplicateParameter {
                            name: name.to_string(),
                        }
                    } else {
                        DsigError::ConflictingParameters
                    });
                }
                let name = if name == "SAMLRequest" {
                    "SAMLRequest"
                } else {
                    "SAMLResponse"
                };
                message = Some((name, value));
            }
            "RelayState" => {
                if relay_state.replace(value).is_some() {
                    return Err(DsigError::DuplicateParameter {
                        name: name.to_string(),
                    });
                }
            }
            other => {
                return Err(DsigError::UnexpectedParameter {
                    name: other.to_string(),
                });
            }
        }
    }
    let (name, value) = message.ok_or(DsigError::MissingParameter {
        name: "SAMLRequest or SAMLResponse",
    })?;
    let mut signed = format!("{name}={}", encode(value));
    if let Some(rs) = relay_state {
        signed.push_str("&RelayState=");
        signed.push_str(&encode(rs));
    }
    signed.push_str("&SigAlg=");
    signed.push_str(&encode(alg.uri()));
    let sig = sign_bytes(alg, key, signed.as_bytes())?;
    Ok(format!("{signed}&Signature={}", encode(&B64.encode(sig))))
}

/// Percent-decodes a query value (`+` is a space, as in form encoding).
fn decode(name: &str, raw: &str) -> Result<String, DsigError> {
    let err = || DsigError::InvalidParameterEncoding {
        name: name.to_string(),
    };
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(err)?;
                // Explicit digit check: from_str_radix would also accept a sign ("%+1").
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(err());
                }
                let hex = std::str::from_utf8(hex).map_err(|_| err())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| err())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| err())
}

/// Verifies an HTTP-Redirect signature against trusted certificates only, using the raw
/// (still URL-encoded) query string as received, with or without a leading `?`.
///
/// Duplicated SAML parameters are refused: which copy an application reads and which one
/// was signed must never differ. Parameters other than the four SAML ones are ignored
/// (they are not signed).
pub fn verify_redirect_query(
    raw_query: &str,
    trusted: &[X509],
) -> Result<RedirectVerified, DsigError> {
    let query = raw_query.strip_prefix('?').unwrap_or(raw_query);
    let mut request: Option<&str> = None;
    let mut response: Option<&str> = None;
    let mut relay_state: Option<&str> = None;
    let mut sig_alg: Option<&str> = None;
    let mut signature: Option<&str> = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match name {
            "SAMLRequest" => &mut request,
            "SAMLResponse" => &mut response,
            "RelayState" => &mut relay_state,
            "SigAlg" => &mut sig_alg,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(DsigError::DuplicateParameter {
                name: name.to_string(),
            });
        }
    }
    let (message_parameter, message_raw) = match (request, response) {
        (Some(v), None) => ("SAMLRequest", v),
        (None, Some(v)) => ("SAMLResponse", v),
        (Some(_), Some(_)) => return Err(DsigError::ConflictingParameters),
        (None, None) => {
            return Err(DsigError::MissingParameter {
                name: "SAMLRequest or SAMLResponse",
            });
        }
    };
    let sig_alg_raw = sig_alg.ok_or(DsigError::MissingParameter { name: "SigAlg" })?;
    let signature_raw = signature.ok_or(DsigError::MissingParameter { name: "Signature" })?;

    let alg_uri = decode("SigAlg", sig_alg_raw)?;
    let alg =
        SignatureAlgorithm::from_uri(&alg_uri).ok_or_else(|| DsigError::UnsupportedAlgorithm {
            kind: "SigAlg",
            uri: alg_uri.clone(),
        })?;
    let sig = decode_b64("Signature", &decode("Signature", signature_raw)?)?;

    let mut signed = format!("{message_parameter}={message_raw}");
    if let Some(rs) = relay_state {
        signed.push_str("&RelayState=");
        signed.push_str(rs);
    }
    signed.push_str("&SigAlg=");
    signed.push_str(sig_alg_raw);

    match verify_with_trusted(alg, trusted, signed.as_bytes(), &sig)? {
        Ok(trusted_cert_index) => Ok(RedirectVerified {
            message_parameter,
            message: decode(message_parameter, message_raw)?,
            relay_state: relay_state.map(|r| decode("RelayState", r)).transpose()?,
            algorithm: alg,
            trusted_cert_index,
        }),
        Err((trusted, compatible)) => Err(DsigError::SignatureInvalid {
            algorithm: alg.uri(),
            trusted,
            compatible,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::dsig::test_keys::{attacker_rsa, idp_ec, idp_rsa};

    const REQ: &str = "fZJBT8MwDIX/SpV7mjZtty5aJ+2AhLSJaSAOXFDaeWukJilxuvHvSQcHpKFdYz+/5++JStiW";

    #[test]
    fn round_trip_every_algorithm() {
        for alg in SignatureAlgorithm::ALL {
            let kp = if alg == SignatureAlgorithm::EcdsaSha256 {
                idp_ec()
            } else {
                idp_rsa()
            };
            let q = sign_redirect_query(
                &[
                    ("RelayState", "https://sp/x?a=1&b=2 é"),
                    ("SAMLRequest", REQ),
                ],
                &kp.key,
                alg,
            )
            .unwrap();
            assert!(q.starts_with("SAMLRequest="), "{q}");
            let rs = q.find("&RelayState=").unwrap();
            let sa = q.find("&SigAlg=").unwrap();
            let sg = q.find("&Signature=").unwrap();
            assert!(rs < sa && sa < sg, "{q}");
            let v =
                verify_redirect_query(&format!("?{q}"), std::slice::from_ref(&kp.cert)).unwrap();
            assert_eq!(v.message_parameter, "SAMLRequest");
            assert_eq!(v.message, REQ);
            assert_eq!(v.relay_state.as_deref(), Some("https://sp/x?a=1&b=2 é"));
            assert_eq!(v.algorithm, alg);
        }
    }

    #[test]
    fn verification_uses_the_raw_encoding() {
        // A sender whose encoder uses lowercase hex and %20: the signed octets are exactly
        // what was on the wire, so we must not re-encode.
        let kp = idp_rsa();
        let signed = format!(
            "SAMLResponse={}&RelayState=a%20b%2fc&SigAlg={}",
            REQ.replace('+', "%2b"),
            "http%3a%2f%2fwww.w3.org%2f2001%2f04%2fxmldsig-more%23rsa-sha256"
        );
        let sig = sign_bytes(SignatureAlgorithm::RsaSha256, &kp.key, signed.as_bytes()).unwrap();
        let q = format!("{signed}&Signature={}", encode(&B64.encode(sig)));
        let v = verify_redirect_query(&q, std::slice::from_ref(&kp.cert)).unwrap();
        assert_eq!(v.message_parameter, "SAMLResponse");
        assert_eq!(v.relay_state.as_deref(), Some("a b/c"));
        // Unsigned extra parameters are ignored; their order does not matter.
        let shuffled = format!("foo=bar&{}", q.replacen("&RelayState=a%20b%2fc", "", 1))
            + "&RelayState=a%20b%2fc";
        verify_redirect_query(&shuffled, std::slice::from_ref(&kp.cert)).unwrap();
        // The same values encoded differently no longer verify.
        let reencoded = q.replace("a%20b%2fc", "a+b%2Fc");
        assert!(matches!(
            verify_redirect_query(&reencoded, std::slice::from_ref(&kp.cert)),
            Err(DsigError::SignatureInvalid { .. })
        ));
    }

    #[test]
    fn tampering_and_bad_queries_fail() {
        let kp = idp_rsa();
        let q = sign_redirect_query(
            &[("SAMLRequest", REQ), ("RelayState", "state")],
            &kp.key,
            SignatureAlgorithm::RsaSha256,
        )
        .unwrap();
        let trusted = [kp.cert.clone()];
        let err = |q: &str| verify_redirect_query(q, &trusted).unwrap_err();
        assert!(matches!(
            err(&q.replace("state", "other")),
            DsigError::SignatureInvalid { .. }
        ));
        assert!(matches!(
            verify_redirect_query(&q, &[attacker_rsa().cert.clone()]),
            Err(DsigError::SignatureInvalid { .. })
        ));
        assert!(matches!(
            err(&format!("{q}&RelayState=x")),
            DsigError::DuplicateParameter { ref name } if name == "RelayState"
        ));
        assert!(matches!(
            err(&format!("{q}&SAMLResponse=x")),
            DsigError::ConflictingParameters
        ));
        let no_sig = &q[..q.find("&Signature=").unwrap()];
        assert!(matches!(
            err(no_sig),
            DsigError::MissingParameter { name: "Signature" }
        ));
        assert!(matches!(
            err(&q.replace("rsa-sha256", "hmac-sha256")),
            DsigError::UnsupportedAlgorithm { kind: "SigAlg", .. }
        ));
        assert!(matches!(
            err(&format!("{q}%zz")),
            DsigError::InvalidParameterEncoding { .. }
        ));
        assert!(matches!(err(""), DsigError::MissingParameter { .. }));
        assert!(matches!(
            sign_redirect_query(&[("Foo", "x")], &kp.key, SignatureAlgorithm::RsaSha256),
            Err(DsigError::UnexpectedParameter { .. })
        ));
    }
}
