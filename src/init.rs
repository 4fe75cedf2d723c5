//! `oinspect init`: a commented target.yaml from an SP's SAML metadata and/or flags.
//!
//! What the metadata says (entity ID, ACS, WantAssertionsSigned) is filled in; what it cannot
//! say (where a login starts, how to tell who is logged in, the SCIM endpoint) is written as
//! commented-out placeholders marked `FILL IN`, so the file loads (`oinspect validate`) from
//! the start and each placeholder is a deliberate edit. Existing files are never overwritten.

use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::cli::InitArgs;
use crate::http::{ClientSettings, HttpClient, HttpRequest};
use crate::redact::Redactor;
use crate::saml::idp::{BINDING_POST, CERT_FILE_NAME, IdpIdentity, KEY_FILE_NAME, KeyKind};
use crate::saml::metadata::{self, SpMetadata};

/// The IdP identity `oinspect idp init` uses; the SP must be configured with the same.
pub const DEFAULT_IDP_ENTITY_ID: &str = "http://www.okta.com/exk-oinspect";
pub const DEFAULT_IDP_SSO_URL: &str = "https://idp.oinspect.test/sso";

/// What `init` did, for the command's closing message.
#[derive(Debug)]
pub struct Written {
    pub path: PathBuf,
    /// Placeholders left for the user, one line each.
    pub to_fill: Vec<String>,
    /// What happened about the IdP key.
    pub idp_note: String,
}

/// Asks the user for missing values (only with `--interactive` on a terminal).
pub trait Ask {
    /// The answer, or `None` when the user just pressed Enter.
    fn ask(&mut self, question: &str) -> Option<String>;
}

/// Questions on stderr, answers from stdin.
pub struct Terminal;

impl Ask for Terminal {
    fn ask(&mut self, question: &str) -> Option<String> {
        eprint!("{question}: ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        let answer = line.trim();
        (!answer.is_empty()).then(|| answer.to_string())
    }
}

/// A YAML scalar for any text: a JSON string is a valid YAML double-quoted scalar.
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{}\"", s.escape_default()))
}

/// Fetches (URL) or reads (file) SP metadata.
async fn read_metadata(source: &str) -> Result<String, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let url = url::Url::parse(source).map_err(|e| format!("--sp-metadata `{source}`: {e}"))?;
        let client = HttpClient::new(
            ClientSettings {
                timeout: Duration::from_secs(10),
                ..ClientSettings::default()
            },
            Arc::new(Redactor::default()),
        )
        .map_err(|e| e.to_string())?;
        let (_, result) = client
            .send(HttpRequest {
                method: "GET".into(),
                url,
                headers: vec![(
                    "Accept".into(),
                    "application/samlmetadata+xml, application/xml".into(),
                )],
                body: None,
            })
            .await;
        let resp = result.map_err(|e| format!("fetching the SP metadata: {e}"))?;
        if resp.status != 200 {
            return Err(format!(
                "the SP metadata URL {source} answered HTTP {}",
                resp.status
            ));
        }
        Ok(resp.text())
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("--sp-metadata {source}: {e}"))
    }
}

/// The ACS an IdP posts to: the default HTTP-POST endpoint, else the first HTTP-POST one.
fn post_acs(md: &SpMetadata) -> Option<String> {
    let post = || md.acs.iter().filter(|a| a.binding == BINDING_POST);
    post()
        .find(|a| a.is_default)
        .or_else(|| post().next())
        .map(|a| a.location.clone())
}

fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization()).filter(|o| o != "null")
}

/// Builds the target text and writes it (and, if asked, the IdP key).
pub async fn run(args: &InitArgs, ask: &mut dyn Ask) -> Result<Written, String> {
    if args.out.symlink_metadata().is_ok() {
        return Err(format!(
            "{} exists; init never overwrites a file (choose another --out)",
            args.out.display()
        ));
    }
    let interactive = args.interactive;
    let md = match &args.sp_metadata {
        Some(source) => {
            let xml = read_metadata(source).await?;
            Some(
                metadata::parse(&xml)
                    .map_err(|e| format!("{source} is not usable SAML SP metadata: {e}"))?,
            )
        }
        None => None,
    };
    let mut value = |flag: &Option<String>, from_md: Option<String>, question: &str| {
        flag.clone()
            .or(from_md)
            .or_else(|| if interactive { ask.ask(question) } else { None })
    };
    let entity_id = value(
        &args.entity_id,
        md.as_ref().map(|m| m.entity_id.clone()),
        "SP entity ID (the audience)",
    );
    let acs_url = value(
        &args.acs_url,
        md.as_ref().and_then(post_acs),
        "SP ACS URL (where the IdP posts the SAML Response)",
    );
    let login_url = value(
        &args.login_url,
        None,
        "Login URL (where a browser starts an SP-initiated login; Enter to leave a placeholder)",
    );
    let session_url = value(
        &args.session_check_url,
        None,
        "Session check URL (a page or API that shows who is logged in; Enter to leave a placeholder)",
    );
    let json_path = match &session_url {
        Some(_) => value(
            &args.session_check_json_path,
            None,
            "JSONPath to the logged-in identity in that response (e.g. $.email; Enter to match the body)",
        ),
        None => args.session_check_json_path.clone(),
    };
    let user_email = value(
        &args.user_email,
        None,
        "Test user's email (the NameID oinspect logs in as)",
    );
    let scim_url = value(
        &args.scim_url,
        None,
        "SCIM base URL (e.g. https://app.example/scim/v2; Enter to skip SCIM)",
    );
    let name = args
        .name
        .clone()
        .or_else(|| entity_id.as_deref().and_then(origin_of))
        .unwrap_or_else(|| "my app".to_string());
    let origin = acs_url
        .as_deref()
        .or(entity_id.as_deref())
        .and_then(origin_of)
        .unwrap_or_else(|| "https://app.example".to_string());

    // The IdP key: relative to the target file, as the target resolves it.
    let base = args
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let key_rel = args.idp_dir.join(KEY_FILE_NAME);
    let cert_rel = args.idp_dir.join(CERT_FILE_NAME);
    let key_abs = base.join(&key_rel);
    let cert_abs = base.join(&cert_rel);
    let mut idp_present = key_abs.exists() && cert_abs.exists();
    let idp_note;
    if idp_present {
        idp_note = format!("using the existing IdP key {}", key_abs.display());
    } else {
        let create = args.create_idp_key
            || (interactive
                && ask
                    .ask(&format!(
                        "No IdP key in {}: create one now? [y/N]",
                        base.join(&args.idp_dir).display()
                    ))
                    .is_some_and(|a| a.eq_ignore_ascii_case("y") || a.eq_ignore_ascii_case("yes")));
        if create {
            let dir = base.join(&args.idp_dir);
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let idp =
                IdpIdentity::generate(&args.idp_entity_id, DEFAULT_IDP_SSO_URL, KeyKind::Rsa2048)
                    .map_err(|e| e.to_string())?;
            let (key, _) = idp.write_pem_files(&dir).map_err(|e| e.to_string())?;
            idp_present = true;
            idp_note = format!(
                "created the IdP key {} (mode 0600) and certificate; SHA-256 fingerprint {}",
                key.display(),
                idp.cert_sha256_fingerprint()
            );
        } else {
            idp_note = format!(
                "no IdP key in {}: run `oinspect idp init --out {}` (or rerun init with --create-idp-key), then uncomment idp.key and idp.cert",
                base.join(&args.idp_dir).display(),
                base.join(&args.idp_dir).display()
            );
        }
    }

    let sp_metadata = args.sp_metadata.as_ref().map(|s| {
        if s.starts_with("http://") || s.starts_with("https://") {
            s.clone()
        } else {
            // The run reads it relative to the working directory, not the target file.
            std::fs::canonicalize(s)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| s.clone())
        }
    });

    let mut to_fill = Vec::new();
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# oinspect target, written by `oinspect init`{}.",
        match &args.sp_metadata {
            Some(s) => format!(" from {s}"),
            None => String::new(),
        }
    );
    y.push_str(
        "# Lines marked FILL IN are placeholders: uncomment and complete them. Check with\n\
         #   oinspect validate --target THIS-FILE\n\
         # Editor completion: `oinspect schema target > target.schema.json`, then make the first line\n\
         #   # yaml-language-server: $schema=target.schema.json\n\
         # Every key is described in the README (Target reference).\n",
    );
    let _ = writeln!(y, "name: {}", q(&name));
    y.push_str("saml:\n");
    if let Some(m) = &sp_metadata {
        let _ = writeln!(
            y,
            "  # The SP metadata: its signing certificate verifies AuthnRequests.\n  sp_metadata: {}",
            q(m)
        );
    }
    match &entity_id {
        Some(e) => {
            let _ = writeln!(y, "  entity_id: {}   # the audience", q(e));
        }
        None => {
            to_fill.push("saml.entity_id: the SP's entity ID".to_string());
            let _ = writeln!(
                y,
                "  # FILL IN: the SP's entity ID (the audience)\n  # entity_id: {}",
                q(&format!("{origin}/saml/metadata"))
            );
        }
    }
    match &acs_url {
        Some(a) => {
            let _ = writeln!(
                y,
                "  acs_url: {}   # Destination and Recipient of every Response",
                q(a)
            );
        }
        None => {
            to_fill.push("saml.acs_url: the SP's ACS URL".to_string());
            let _ = writeln!(
                y,
                "  # FILL IN: the SP's Assertion Consumer Service URL\n  # acs_url: {}",
                q(&format!("{origin}/saml/acs"))
            );
        }
    }
    match &login_url {
        Some(l) => {
            let _ = writeln!(y, "  login_url: {}", q(l));
        }
        None => {
            to_fill.push(
                "saml.login_url: where a browser starts an SP-initiated login (SP-initiated tests are skipped without it)"
                    .to_string(),
            );
            let _ = writeln!(
                y,
                "  # FILL IN: where a browser starts an SP-initiated login (SP-initiated tests are skipped without it)\n  # login_url: {}",
                q(&format!("{origin}/login"))
            );
        }
    }
    match &session_url {
        Some(s) => {
            let _ = writeln!(
                y,
                "  # How oinspect tells who is logged in after a login: GET this with the browser's cookies.\n  session_check:\n    url: {}\n    status: 200",
                q(s)
            );
            match &json_path {
                Some(p) => {
                    let _ = writeln!(
                        y,
                        "    json_path: {}   # must equal the user's identity exactly",
                        q(p)
                    );
                }
                None => {
                    y.push_str("    # the identity must appear in the body as a whole token; or give\n    # json_path: \"$.email\"\n");
                }
            }
        }
        None => {
            to_fill.push(
                "saml.session_check: a URL that shows who is logged in, and the JSONPath of the identity (SAML login tests are skipped without it)"
                    .to_string(),
            );
            let _ = writeln!(
                y,
                "  # FILL IN: how oinspect tells who is logged in after posting a Response (a page or API\n  # that shows the user; json_path must select exactly the NameID). SAML login tests are\n  # skipped without it.\n  # session_check:\n  #   url: {}\n  #   status: 200\n  #   json_path: \"$.email\"",
                q(&format!("{origin}/api/me"))
            );
        }
    }
    match md.as_ref().and_then(|m| m.want_assertions_signed) {
        Some(true) => y.push_str(
            "  requires_signed: assertion   # the metadata says WantAssertionsSigned=\"true\"\n",
        ),
        Some(false) => y.push_str(
            "  # The metadata says WantAssertionsSigned=\"false\"; set `response` or `both` if the SP\n  # requires the Response signed instead.\n  requires_signed: either\n",
        ),
        None => y.push_str(
            "  # What the SP requires signed: assertion | response | both | either (the metadata does not say).\n  requires_signed: either\n",
        ),
    }
    y.push_str("# The test IdP oinspect plays. Configure the SP with this entity ID and certificate:\n#   oinspect idp metadata --target THIS-FILE > oinspect-idp.xml\nidp:\n");
    let _ = writeln!(y, "  entity_id: {}", q(&args.idp_entity_id));
    let _ = writeln!(
        y,
        "  sso_url: {}   # never contacted",
        q(DEFAULT_IDP_SSO_URL)
    );
    if idp_present {
        let _ = writeln!(y, "  key: {}", q(&key_rel.display().to_string()));
        let _ = writeln!(y, "  cert: {}", q(&cert_rel.display().to_string()));
    } else {
        to_fill.push(format!(
            "idp.key, idp.cert: `oinspect idp init --out {}`, then uncomment them",
            base.join(&args.idp_dir).display()
        ));
        let _ = writeln!(
            y,
            "  # FILL IN: run `oinspect idp init --out {}`, then uncomment\n  # key: {}\n  # cert: {}",
            args.idp_dir.display(),
            q(&key_rel.display().to_string()),
            q(&cert_rel.display().to_string())
        );
    }
    let token_ref = format!("${{env:{}}}", args.scim_token_env);
    match &scim_url {
        Some(s) => {
            let _ = writeln!(
                y,
                "scim:\n  base_url: {}\n  auth:\n    bearer: {}   # set {} in the environment; never write the token here",
                q(s),
                q(&token_ref),
                args.scim_token_env
            );
        }
        None => {
            to_fill.push(format!(
                "scim: the SCIM base URL, and the token in ${} (SCIM plans do not run without it)",
                args.scim_token_env
            ));
            let _ = writeln!(
                y,
                "# FILL IN to run the SCIM plans: the SCIM base URL; the token comes from the environment.\n# scim:\n#   base_url: {}\n#   auth:\n#     bearer: {}",
                q(&format!("{origin}/scim/v2")),
                q(&token_ref)
            );
        }
    }
    y.push_str("# Test users: SAML logins assert them (NameID and attributes), SCIM plans use their names.\nusers:\n");
    match &user_email {
        Some(e) => {
            let _ = writeln!(y, "  primary: {{ email: {} }}", q(e));
        }
        None => {
            to_fill.push(
                "users.primary.email: a user your app knows (or provisions just in time)"
                    .to_string(),
            );
            let _ = writeln!(
                y,
                "  primary: {{ email: {}, given_name: Ada, family_name: Lovelace }}   # FILL IN: a user your app knows (or provisions just in time)",
                q("ada@example.com")
            );
        }
    }
    y.push_str("timeouts:\n  request_secs: 10\n");

    if let Some(dir) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    // create_new: a file that appeared since the check above is still not overwritten.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    f.write_all(y.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    Ok(Written {
        path: args.out.clone(),
        to_fill,
        idp_note,
    })
}

/// Whether `--interactive` can ask (stdin and stderr on a terminal).
pub fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_scalars_are_quoted() {
        assert_eq!(q("a: b # c"), "\"a: b # c\"");
        assert_eq!(q("${env:X}"), "\"${env:X}\"");
    }

    #[test]
    fn origin() {
        assert_eq!(
            origin_of("https://a.example:8443/saml/acs").as_deref(),
            Some("https://a.example:8443")
        );
        assert_eq!(origin_of("urn:x"), None);
    }
}
