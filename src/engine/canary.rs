//! The external-entity canary: a tiny HTTP listener on 127.0.0.1 that oinspect serves while
//! it runs. XXE payloads point at `/<token>/...`; any request that arrives is the SP (or
//! something it asked) resolving an entity it should have refused, attributable to one test
//! by its token. It answers every request with a short, harmless body and reads at most a
//! few KiB of each, so nothing the SP sends can cost more.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Most bytes read of one request: the request line is all that matters.
const MAX_REQUEST_BYTES: usize = 8 * 1024;
/// How long one connection may take before it is dropped.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// Most hits kept; beyond that an SP is fetching in a loop and more adds nothing.
const MAX_HITS: usize = 1000;

/// One request the canary received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// The request line, e.g. `GET /3f2a.../general HTTP/1.1`.
    pub request_line: String,
    pub peer: String,
}

pub struct Canary {
    base_url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    task: JoinHandle<()>,
}

impl Canary {
    /// Binds a free port on 127.0.0.1 and serves until dropped.
    pub async fn start() -> std::io::Result<Canary> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let hits = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(serve(listener, hits.clone()));
        Ok(Canary {
            base_url,
            hits,
            task,
        })
    }

    /// The URL prefix for one test: a fresh random token in the path.
    pub fn url_for(&self, token: &str) -> String {
        format!("{}/{token}", self.base_url)
    }

    /// The hits whose path starts with `/<token>`.
    pub fn hits_for(&self, token: &str) -> Vec<Hit> {
        let prefix = format!(" /{token}");
        self.hits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|h| h.request_line.contains(&prefix))
            .cloned()
            .collect()
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, hits: Arc<Mutex<Vec<Hit>>>) {
    loop {
        let Ok((stream, peer)) = listener.accept().await else {
            continue;
        };
        let hits = hits.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, answer(stream, peer, hits)).await;
        });
    }
}

async fn answer(
    mut stream: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    hits: Arc<Mutex<Vec<Hit>>>,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; MAX_REQUEST_BYTES];
    let mut len = 0;
    while len < buf.len() {
        let n = stream.read(&mut buf[len..]).await?;
        if n == 0 {
            break;
        }
        len += n;
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&buf[..len]);
    let request_line: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    {
        let mut hits = hits.lock().unwrap_or_else(PoisonError::into_inner);
        if hits.len() < MAX_HITS {
            hits.push(Hit {
                request_line,
                peer: peer.to_string(),
            });
        }
    }
    // An empty body is valid as an external parameter entity and as parsed text: a
    // resolving parser goes on without error, so the SP's behaviour stays observable.
    stream
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        .await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_hits_by_token() {
        let canary = Canary::start().await.unwrap();
        let url = format!("{}/general", canary.url_for("tok123"));
        let addr = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_string();
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /tok123/general HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        assert!(out.starts_with(b"HTTP/1.1 200"));
        let hits = canary.hits_for("tok123");
        assert_eq!(hits.len(), 1);
        assert!(hits[0].request_line.starts_with("GET /tok123/general"));
        assert!(canary.hits_for("other").is_empty());
    }
}
