//! A vendor that misbehaves on purpose, at the byte level: a plain TCP server on 127.0.0.1
//! whose routes refuse, reset, stall, loop, flood, send broken chunking, invalid UTF-8,
//! absurd nesting, and SAML messages built to hurt an XML parser (DEFLATE bombs, entity
//! expansion, external entities pointing at a canary route it counts). A second listener
//! speaks TLS with a self-signed certificate nobody trusts.
//!
//! Routes are picked by the last segment of the path, so the same route works below any
//! prefix (`/scim/v2/stall-headers`, `/saml/stall-headers`). Every connection gets one
//! response and is closed.

#![allow(dead_code)] // each test file uses the routes it needs

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The IdP SSO URL hostile SPs redirect to (oinspect intercepts it, never requests it).
pub const SSO_URL: &str = "https://idp.hostile.test/sso";
/// How long stalling routes hold a connection: far past any timeout the tests set.
pub const STALL: Duration = Duration::from_secs(30);
/// What the flooding routes send at most, streamed in chunks, never held in memory.
pub const HUGE_BYTES: u64 = 100 * 1024 * 1024;
/// Nesting of the deep-JSON route.
pub const DEEP_JSON: usize = 100_000;
/// Raw DEFLATE bytes of the bomb SAMLRequest: ~1030:1, so it inflates to about 200 MB. As
/// URL-encoded base64 it must fit in one `Location` header (hyper reads at most ~400 KiB of
/// response head), which is what bounds a Redirect-binding bomb.
pub const BOMB_DEFLATE_BYTES: usize = 190 * 1024;

pub struct Hostile {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `https://127.0.0.1:PORT`, self-signed.
    pub tls_base: String,
    /// `http://127.0.0.1:PORT` where nothing listens (bound, then closed).
    pub refused: String,
    canary_hits: Arc<AtomicUsize>,
    /// Bytes written by the flooding routes, all connections together.
    pub flooded: Arc<AtomicU64>,
    /// Connections accepted by the TLS listener.
    pub tls_connections: Arc<AtomicUsize>,
}

impl Hostile {
    /// Requests that reached `/canary/...`: an external entity was resolved.
    pub fn canary_hits(&self) -> usize {
        self.canary_hits.load(Ordering::SeqCst)
    }

    pub fn canary_url(&self, name: &str) -> String {
        format!("{}/canary/{name}", self.base)
    }
}

/// Starts the server on its own thread and runtime; it lives until the test process ends.
pub fn start() -> Hostile {
    let canary_hits = Arc::new(AtomicUsize::new(0));
    let flooded = Arc::new(AtomicU64::new(0));
    let tls_connections = Arc::new(AtomicUsize::new(0));
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
        // dropped here: connecting to it is refused
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let (hits, flood) = (canary_hits.clone(), flooded.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            tx.send(base.clone()).unwrap();
            let shared = Arc::new(Shared { base, hits, flood });
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let shared = shared.clone();
                tokio::spawn(async move {
                    // Nothing a route does may take the server down: errors end the connection.
                    let _ = tokio::time::timeout(STALL * 2, handle(stream, &shared)).await;
                });
            }
        });
    });
    let base = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let tls_base = start_tls(tls_connections.clone());
    Hostile {
        base,
        tls_base,
        refused,
        canary_hits,
        flooded,
        tls_connections,
    }
}

struct Shared {
    base: String,
    hits: Arc<AtomicUsize>,
    flood: Arc<AtomicU64>,
}

/// The request line's path (without the query) once the head has arrived; at most 64 KiB
/// of head is read, and a body announced by Content-Length is read and dropped.
async fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if head.len() > 64 * 1024 {
            return None;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let length: usize = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
        .min(1024 * 1024);
    let mut remaining = length.saturating_sub(head.len() - end);
    while remaining > 0 {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        remaining = remaining.saturating_sub(n);
    }
    let target = text.lines().next()?.split_whitespace().nth(1)?.to_string();
    Some(target.split('?').next().unwrap_or("").to_string())
}

fn response(status: &str, content_type: &str, extra: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

async fn handle(mut stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let Some(path) = read_request(&mut stream).await else {
        return Ok(());
    };
    if path.starts_with("/canary") {
        shared.hits.fetch_add(1, Ordering::SeqCst);
        return stream
            .write_all(&response("200 OK", "text/plain", "", b"canary"))
            .await;
    }
    let route = path.rsplit('/').next().unwrap_or("");
    let scim = "application/scim+json";
    match route {
        "reset" => {
            // SO_LINGER 0: close() sends RST instead of FIN.
            #[allow(deprecated)]
            stream.set_linger(Some(Duration::ZERO))?;
            drop(stream);
        }
        "stall-headers" => {
            tokio::time::sleep(STALL).await;
        }
        "stall-body" => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nContent-Length: 100000\r\n\r\n{\"schemas\":[",
                )
                .await?;
            stream.flush().await?;
            tokio::time::sleep(STALL).await;
        }
        "redirect-loop" => {
            let extra = format!("Location: {path}\r\n");
            stream
                .write_all(&response("302 Found", "text/plain", &extra, b""))
                .await?;
        }
        "huge" | "huge-length" => {
            let length = route == "huge-length";
            let head = if length {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {scim}\r\nContent-Length: {HUGE_BYTES}\r\n\r\n"
                )
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {scim}\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
            };
            stream.write_all(head.as_bytes()).await?;
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0u64;
            while sent < HUGE_BYTES {
                if !length {
                    stream
                        .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                        .await?;
                }
                stream.write_all(&chunk).await?;
                if !length {
                    stream.write_all(b"\r\n").await?;
                }
                sent += chunk.len() as u64;
                shared.flood.fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
            if !length {
                stream.write_all(b"0\r\n\r\n").await?;
            }
        }
        "chunked-garbage" => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/scim+json\r\nTransfer-Encoding: chunked\r\n\r\nzz-not-hex\r\n{\"id\":1}\r\n\xff\xfe\r\n",
                )
                .await?;
        }
        "invalid-utf8" => {
            let body = b"{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"\xff\xfe\",\"userName\":\"ada\xc3\x28\"}";
            stream
                .write_all(&response(
                    "200 OK",
                    "application/scim+json; charset=utf-8",
                    "",
                    body,
                ))
                .await?;
        }
        "wrong-type" => {
            stream
                .write_all(&response(
                    "200 OK",
                    "text/html; charset=utf-8",
                    "",
                    b"<html><body><h1>Please log in</h1></body></html>",
                ))
                .await?;
        }
        "deep-json" => {
            let mut body = "[".repeat(DEEP_JSON);
            body.push_str(&"]".repeat(DEEP_JSON));
            stream
                .write_all(&response("200 OK", scim, "", body.as_bytes()))
                .await?;
        }
        "escape-codes" => {
            // Terminal control sequences (colour, clear screen, window title, cursor moves),
            // a NUL and a bare CR in the body: evidence printed as is would let the vendor
            // rewrite the user's terminal. hyper refuses C0 controls in header values but
            // passes bytes >= 0x80: U+009B as UTF-8 is CSI (a control sequence introducer).
            let body = b"{\"detail\":\"\x1b[2J\x1b[31mFAKE PASS\x1b[0m\x1b]0;pwned\x07\x1b[1A\x00\rdone\"}";
            let mut out = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: {scim}\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            )
            .into_bytes();
            out.extend_from_slice(b"X-Vendor: \xc2\x9b2J\xc2\x9b31mred\r\n\r\n");
            out.extend_from_slice(body);
            stream.write_all(&out).await?;
        }
        "escape-json" => {
            // The same sequences as JSON escapes: valid JSON whose values hold them.
            let body = br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"\u001b[2J","userName":"\u001b]0;pwned\u0007\u001b[31mFAKE PASS\r","meta":{"resourceType":"User"}}"#;
            stream
                .write_all(&response("200 OK", scim, "", body))
                .await?;
        }
        "ok" => {
            let body = serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "id": "2819c223",
                "userName": "ada@example.test",
                "meta": { "resourceType": "User" }
            });
            stream
                .write_all(&response("200 OK", scim, "", body.to_string().as_bytes()))
                .await?;
        }
        "me" => {
            stream
                .write_all(&response("200 OK", "application/json", "", b"{}"))
                .await?;
        }
        "login-valid" => {
            // A well-formed AuthnRequest, so the login goes on to the ACS.
            let xml = authn_request("https://sp.hostile.test");
            let extra = format!(
                "Location: {SSO_URL}?SAMLRequest={}&RelayState=%2Fapp\r\n",
                enc(&B64.encode(deflate(xml.as_bytes())))
            );
            stream
                .write_all(&response("302 Found", "text/plain", &extra, b""))
                .await?;
        }
        "acs-escape-codes" => {
            // The ACS page a person would read: its text goes into the report.
            let body = b"<html><head><title>x</title></head><body>\x1b[2J\x1b]0;pwned\x07\x1b[32mPASS  everything\x1b[0m\rLogin failed</body></html>";
            stream
                .write_all(&response("200 OK", "text/html", "", body))
                .await?;
        }
        "login-deflate-bomb" => {
            let extra = format!(
                "Location: {SSO_URL}?SAMLRequest={}&RelayState=%2F\r\n",
                enc(&B64.encode(deflate_bomb()))
            );
            stream
                .write_all(&response("302 Found", "text/plain", &extra, b""))
                .await?;
        }
        "login-redirect-entity-bomb" | "login-redirect-xxe" => {
            let xml = if route.ends_with("xxe") {
                xxe_request(&shared.base)
            } else {
                entity_bomb_request()
            };
            let extra = format!(
                "Location: {SSO_URL}?SAMLRequest={}\r\n",
                enc(&B64.encode(deflate(xml.as_bytes())))
            );
            stream
                .write_all(&response("302 Found", "text/plain", &extra, b""))
                .await?;
        }
        "login-post-entity-bomb" | "login-post-xxe" => {
            let xml = if route.ends_with("xxe") {
                xxe_request(&shared.base)
            } else {
                entity_bomb_request()
            };
            let html = format!(
                "<!DOCTYPE html><html><body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{SSO_URL}\"><input type=\"hidden\" name=\"SAMLRequest\" value=\"{}\"/><input type=\"hidden\" name=\"RelayState\" value=\"/app\"/></form></body></html>",
                B64.encode(xml.as_bytes())
            );
            stream
                .write_all(&response("200 OK", "text/html", "", html.as_bytes()))
                .await?;
        }
        "metadata-entity-bomb" | "metadata-xxe" => {
            let xml = if route.ends_with("xxe") {
                xxe_metadata(&shared.base)
            } else {
                entity_bomb_metadata()
            };
            stream
                .write_all(&response(
                    "200 OK",
                    "application/samlmetadata+xml",
                    "",
                    xml.as_bytes(),
                ))
                .await?;
        }
        _ => {
            stream
                .write_all(&response(
                    "404 Not Found",
                    "text/plain",
                    "",
                    b"no such route",
                ))
                .await?;
        }
    }
    Ok(())
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

/// About [`BOMB_DEFLATE_BYTES`] of raw DEFLATE that inflates ~1000-fold: an AuthnRequest's
/// start followed by hundreds of megabytes of spaces. One MiB of spaces is compressed once
/// and its blocks (byte-aligned by a sync flush, back-references only into themselves) are
/// repeated, so making the bomb costs neither the inflated size nor the time to compress it.
pub fn deflate_bomb() -> Vec<u8> {
    let sync_flushed = |data: &[u8]| {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(data).unwrap();
        z.flush().unwrap();
        std::mem::take(z.get_mut())
    };
    let mut bomb = sync_flushed(
        b"<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_b\" Version=\"2.0\">",
    );
    let spaces = sync_flushed(&vec![b' '; 1024 * 1024]);
    while bomb.len() < BOMB_DEFLATE_BYTES {
        bomb.extend_from_slice(&spaces);
    }
    // An empty final block with fixed Huffman codes.
    bomb.extend_from_slice(&[0x03, 0x00]);
    bomb
}

const BILLION_LAUGHS: &str = "<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n<!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n<!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n<!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n<!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n<!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n<!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n]>\n";

fn authn_request(issuer: &str) -> String {
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_hostile1\" Version=\"2.0\" IssueInstant=\"2030-01-01T00:00:00Z\" Destination=\"{SSO_URL}\" AssertionConsumerServiceURL=\"http://127.0.0.1/acs\"><saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"
    )
}

/// An AuthnRequest whose Issuer expands to 10^9 `lol`s (3 GB) if entities are expanded.
pub fn entity_bomb_request() -> String {
    format!(
        "<?xml version=\"1.0\"?>\n{BILLION_LAUGHS}{}",
        authn_request("&lol9;")
    )
}

/// An AuthnRequest with an external general entity and an external parameter entity, both
/// pointing at the canary.
pub fn xxe_request(base: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE r [\n<!ENTITY % remote SYSTEM \"{base}/canary/param-request\">\n%remote;\n<!ENTITY xxe SYSTEM \"{base}/canary/general-request\">\n]>\n{}",
        authn_request("&xxe;")
    )
}

fn metadata(entity_id: &str) -> String {
    format!(
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"{entity_id}\"><md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\"><md:AssertionConsumerService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"https://sp.hostile.test/acs\" index=\"0\"/></md:SPSSODescriptor></md:EntityDescriptor>"
    )
}

pub fn entity_bomb_metadata() -> String {
    format!(
        "<?xml version=\"1.0\"?>\n{BILLION_LAUGHS}{}",
        metadata("&lol9;")
    )
}

pub fn xxe_metadata(base: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE md [\n<!ENTITY % remote SYSTEM \"{base}/canary/param-metadata\">\n%remote;\n<!ENTITY xxe SYSTEM \"{base}/canary/general-metadata\">\n]>\n{}",
        metadata("&xxe;")
    )
}

/// A TLS listener with a fresh self-signed certificate for 127.0.0.1 (openssl, blocking, on
/// its own thread): any handshake that completes gets a 200, which a correct client never
/// sees.
fn start_tls(connections: Arc<AtomicUsize>) -> String {
    use openssl::ssl::{SslAcceptor, SslMethod};
    let (key, cert) = self_signed("127.0.0.1");
    let mut acceptor = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).unwrap();
    acceptor.set_private_key(&key).unwrap();
    acceptor.set_certificate(&cert).unwrap();
    let acceptor = acceptor.build();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("https://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            connections.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                if let Ok(mut tls) = acceptor.accept(stream) {
                    let mut buf = [0u8; 4096];
                    let _ = std::io::Read::read(&mut tls, &mut buf);
                    let _ = tls.write_all(&response("200 OK", "application/scim+json", "", b"{}"));
                }
            });
        }
    });
    base
}

fn self_signed(
    cn: &str,
) -> (
    openssl::pkey::PKey<openssl::pkey::Private>,
    openssl::x509::X509,
) {
    use openssl::asn1::Asn1Time;
    use openssl::bn::BigNum;
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::x509::extension::SubjectAlternativeName;
    use openssl::x509::{X509, X509NameBuilder};
    let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
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
    b.set_not_after(&Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .ip(cn)
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    (key, b.build())
}
