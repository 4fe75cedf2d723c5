//! Starts the reference app on 127.0.0.1 and describes it as a target.

use std::net::SocketAddr;

use rand::Rng;
use tokio::sync::oneshot;

use super::Breaks;
use super::oauth;
use super::saml::{RequiresSigned, SamlSp, SamlSpConfig};
use super::scim::{RateLimit, ScimConfig, ScimServer};
use crate::saml::idp::{IdpIdentity, KeyKind};

/// Where the reference SCIM server lives below the app's root.
pub const SCIM_BASE_PATH: &str = "/scim/v2";
/// The OAuth 2.0 token endpoint (client credentials) of the reference app.
pub const OAUTH_TOKEN_PATH: &str = "/oauth/token";
pub const OAUTH_CLIENT_ID: &str = "oinspect-demo";
/// The test IdP the reference SP trusts. Its SSO URL is never contacted: oinspect
/// intercepts the redirect to it.
pub const DEMO_IDP_ENTITY_ID: &str = "http://www.okta.com/exk-oinspect-demo";
pub const DEMO_IDP_SSO_URL: &str = "https://idp.oinspect.test/sso";
/// The IdP of the app's second tenant (another customer's Okta org): the reference app
/// holds its certificate, oinspect never its key.
pub const DEMO_TENANT_B_IDP_ENTITY_ID: &str = "http://www.okta.com/exk-oinspect-tenant-b";
const DEMO_PRIMARY_USER: &str = "ada@example.test";
const DEMO_VICTIM_USER: &str = "ceo@example.test";

/// A running reference app. Dropping it stops the server.
pub struct ReferenceApp {
    pub addr: SocketAddr,
    /// A fresh token per start: even a demo never reuses a credential.
    pub token: String,
    /// Secret of the OAuth client `oinspect-demo` at [`OAUTH_TOKEN_PATH`], which issues
    /// `token` by client credentials.
    pub client_secret: String,
    pub scim: ScimServer,
    pub saml: SamlSp,
    /// The same app's second tenant, on its own port with its own IdP.
    pub tenant_b: SamlSp,
    pub tenant_b_addr: SocketAddr,
    /// The test IdP's key and certificate, written for the target (key mode 0600); the
    /// directory goes away with the app.
    pub idp_key_path: std::path::PathBuf,
    pub idp_cert_path: std::path::PathBuf,
    _idp_dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    shutdown_b: Option<oneshot::Sender<()>>,
}

impl ReferenceApp {
    /// Binds 127.0.0.1:`port` (0 picks a free port) and serves until dropped. With
    /// `rate_limit_every`, every Nth SCIM request is answered 429 with `Retry-After: 0`.
    pub async fn start(
        port: u16,
        breaks: Breaks,
        rate_limit_every: Option<u64>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let tenant_b_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let tenant_b_addr = tenant_b_listener.local_addr()?;
        let tenant_b_url = format!("http://{tenant_b_addr}");
        // RSA key generation is most of the app's start-up time: make the two keys at once.
        let idp = tokio::task::spawn_blocking(|| {
            IdpIdentity::generate(DEMO_IDP_ENTITY_ID, DEMO_IDP_SSO_URL, KeyKind::Rsa2048)
        });
        let sp_identity = tokio::task::spawn_blocking(|| {
            IdpIdentity::generate("reference-sp", DEMO_IDP_SSO_URL, KeyKind::Rsa2048)
        });
        // The SP's encryption key pair, apart from its signing key (RSA: key transport).
        let sp_encryption = tokio::task::spawn_blocking(|| {
            IdpIdentity::generate(
                "reference-sp-encryption",
                DEMO_IDP_SSO_URL,
                KeyKind::Rsa2048,
            )
        });
        let idp = idp
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        let sp_identity = sp_identity
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        let sp_encryption = sp_encryption
            .await
            .map_err(std::io::Error::other)?
            .map_err(std::io::Error::other)?;
        // Tenant B's IdP and SP keys: EC, because they are cheap to make and nothing here
        // depends on their kind.
        let tenant_b_idp = IdpIdentity::generate(
            DEMO_TENANT_B_IDP_ENTITY_ID,
            DEMO_IDP_SSO_URL,
            KeyKind::EcP256,
        )
        .map_err(std::io::Error::other)?;
        let tenant_b_sp = IdpIdentity::generate("tenant-b-sp", DEMO_IDP_SSO_URL, KeyKind::EcP256)
            .map_err(std::io::Error::other)?;
        let idp_dir = tempfile::Builder::new()
            .prefix("oinspect-demo-idp-")
            .tempdir()?;
        let (idp_key_path, idp_cert_path) = idp
            .write_pem_files(idp_dir.path())
            .map_err(std::io::Error::other)?;

        let token = format!("demo-{:032x}", rand::rng().random::<u128>());
        let scim = ScimServer::new(ScimConfig {
            bearer_token: token.clone(),
            breaks: breaks.clone(),
            base_path: SCIM_BASE_PATH.to_string(),
            rate_limit: rate_limit_every.map(|n| RateLimit {
                every_nth_request: n,
                retry_after_secs: 0,
            }),
        });
        let saml = SamlSp::new(SamlSpConfig {
            sp_entity_id: format!("{base_url}/saml/metadata"),
            base_url: base_url.clone(),
            idp_entity_id: DEMO_IDP_ENTITY_ID.to_string(),
            idp_sso_url: DEMO_IDP_SSO_URL.to_string(),
            idp_certs: vec![idp.cert.clone()],
            sp_key: sp_identity.key,
            sp_cert: sp_identity.cert,
            enc_key: sp_encryption.key.clone(),
            enc_cert: sp_encryption.cert.clone(),
            clock_skew_secs: 60,
            requires_signed: RequiresSigned::Assertion,
            breaks: breaks.clone(),
            provisioning: Some({
                let scim = scim.clone();
                std::sync::Arc::new(move |name_id: &str| scim.user_active(name_id))
            }),
        });
        let tenant_b = SamlSp::new(SamlSpConfig {
            sp_entity_id: format!("{tenant_b_url}/saml/metadata"),
            base_url: tenant_b_url.clone(),
            idp_entity_id: DEMO_TENANT_B_IDP_ENTITY_ID.to_string(),
            idp_sso_url: DEMO_IDP_SSO_URL.to_string(),
            idp_certs: vec![tenant_b_idp.cert.clone()],
            sp_key: tenant_b_sp.key,
            sp_cert: tenant_b_sp.cert,
            // One decryption key for every tenant, as multi-tenant SaaS apps often have (and
            // one RSA key generation less at start-up).
            enc_key: sp_encryption.key,
            enc_cert: sp_encryption.cert,
            clock_skew_secs: 60,
            requires_signed: RequiresSigned::Assertion,
            breaks: breaks.clone(),
            provisioning: None,
        });
        // What a single trust store for all tenants would hold (used only under the
        // `saml-shared-tenant-trust` break).
        tenant_b.add_peer_tenant(DEMO_IDP_ENTITY_ID, idp.cert.clone());
        let client_secret = format!("demo-secret-{:032x}", rand::rng().random::<u128>());
        let oauth = oauth::TokenEndpoint {
            client_id: OAUTH_CLIENT_ID.to_string(),
            client_secret: client_secret.clone(),
            access_token: token.clone(),
        };
        // The target's test users exist in the app before any login; only the JIT check
        // logs in someone new.
        for email in [DEMO_PRIMARY_USER, DEMO_VICTIM_USER] {
            saml.provision(email, email);
        }
        let router = axum::Router::new()
            .nest(SCIM_BASE_PATH, scim.router())
            .merge(saml.router())
            .route(
                OAUTH_TOKEN_PATH,
                axum::routing::post(oauth::token).with_state(std::sync::Arc::new(oauth)),
            );
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        let (tx_b, rx_b) = oneshot::channel::<()>();
        let router_b = tenant_b.router();
        tokio::spawn(async move {
            let _ = axum::serve(tenant_b_listener, router_b)
                .with_graceful_shutdown(async {
                    let _ = rx_b.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            token,
            client_secret,
            scim,
            saml,
            idp_key_path,
            idp_cert_path,
            _idp_dir: idp_dir,
            tenant_b,
            tenant_b_addr,
            shutdown: Some(tx),
            shutdown_b: Some(tx_b),
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A target file for this app. With `inline_token` the token is written into the file
    /// (for the in-process demo); otherwise it is read from `OINSPECT_DEMO_TOKEN`, as a
    /// real target should read its secrets.
    pub fn target_yaml(&self, inline_token: bool) -> String {
        let token = if inline_token {
            format!("\"{}\"", self.token)
        } else {
            "\"${env:OINSPECT_DEMO_TOKEN}\"".to_string()
        };
        format!(
            "# Target for the oinspect reference app at {base}\n\
             name: oinspect reference app\n\
             scim:\n  base_url: {base}{SCIM_BASE_PATH}\n  auth:\n    bearer: {token}\n\
             \x20 roles: {{ values: [admin, viewer], resource: /Roles }}\n\
             saml:\n  sp_metadata: {base}/saml/metadata\n  entity_id: {base}/saml/metadata\n  acs_url: {base}/saml/acs\n  login_url: {base}/saml/login\n\
             \x20 session_check: {{ url: {base}/api/me, status: 200, json_path: \"$.nameid\" }}\n\
             \x20 requires_signed: assertion\n  default_relay_state: /app\n\
             \x20 second_tenant:\n    entity_id: {tenant_b}/saml/metadata\n    acs_url: {tenant_b}/saml/acs\n\
             \x20   session_check: {{ url: {tenant_b}/api/me, status: 200, json_path: \"$.nameid\" }}\n\
             idp:\n  entity_id: {DEMO_IDP_ENTITY_ID}\n  sso_url: {DEMO_IDP_SSO_URL}\n\
             \x20 key: {key}\n  cert: {cert}\n\
             users:\n  primary: {{ email: ada@example.test, given_name: Ada, family_name: Lovelace, groups: [Everyone, Engineering] }}\n\
             \x20 victim: {{ email: ceo@example.test, given_name: Grace, family_name: Hopper }}\n\
             timeouts:\n  request_secs: 5\n",
            base = self.base_url(),
            tenant_b = format!("http://{}", self.tenant_b_addr),
            key = self.idp_key_path.display(),
            cert = self.idp_cert_path.display(),
        )
    }
}

impl Drop for ReferenceApp {
    fn drop(&mut self) {
        for tx in [self.shutdown.take(), self.shutdown_b.take()]
            .into_iter()
            .flatten()
        {
            let _ = tx.send(());
        }
    }
}
