//! The commands behind the CLI. Errors in user input print as diagnostics and map to exit
//! code 2; everything else goes through the runner and reporters.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::cli::{
    Cli, Command, CommonRunArgs, DemoArgs, IdpCommand, OutputFormat, RunArgs, Verbosity,
};
use crate::demo::{Breaks, ReferenceApp};
use crate::diag::Diagnostic;
use crate::engine::RunContext;
use crate::exit;
use crate::http::{ClientSettings, HttpClient};
use crate::plan::{self, Plan};
use crate::redact::Redactor;
use crate::report::jsonl::JsonLines;
use crate::report::terminal::{Stream, Terminal};
use crate::report::{self};
use crate::run::select::Selection;
use crate::run::{self as runner, RunOptions};
use crate::target::{self, Target};

/// A failure to start: printed to stderr, exit code 2.
#[derive(Debug)]
pub enum Invalid {
    Diagnostic(Diagnostic),
    Message(String),
}

impl From<Diagnostic> for Invalid {
    fn from(d: Diagnostic) -> Self {
        Self::Diagnostic(d)
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Diagnostic(d) => write!(f, "{d}"),
            Self::Message(m) => write!(f, "error: {m}"),
        }
    }
}

pub async fn main(cli: Cli) -> i32 {
    let verbosity = cli.verbosity();
    let result = match cli.command {
        Command::Run(args) => run(args, verbosity).await,
        Command::List { plans } => list(&plans),
        Command::Validate { plans, target } => validate(&plans, target.as_deref()),
        Command::Explain { id, all, plans } => explain(id.as_deref(), all, &plans),
        Command::Demo(args) => demo(args, verbosity).await,
        Command::Idp(cmd) => idp(cmd),
        Command::Serve {
            port,
            breaks,
            rate_limit,
        } => serve(port, &breaks, rate_limit).await,
        Command::Init(args) => init(&args).await,
        Command::Schema { kind } => {
            print_stdout(&crate::schema::render(kind));
            Ok(exit::OK)
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "oinspect", &mut out);
            print_stdout(&String::from_utf8_lossy(&out));
            Ok(exit::OK)
        }
        Command::Man => man(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            exit::INVALID_INPUT
        }
    }
}

fn builtin_plans() -> Result<Vec<Plan>, Invalid> {
    let names: Vec<String> = plan::builtin::all().into_iter().map(|s| s.name).collect();
    Ok(plan::resolve_plan_args(&names)?)
}

fn plans_or_builtin(args: &[String]) -> Result<Vec<Plan>, Invalid> {
    if args.is_empty() {
        builtin_plans()
    } else {
        Ok(plan::resolve_plan_args(args)?)
    }
}

fn list(args: &[String]) -> Result<i32, Invalid> {
    let plans = plans_or_builtin(args)?;
    let mut out = std::io::stdout().lock();
    for p in &plans {
        let _ = writeln!(out, "{} ({}) — {}", p.id, p.source_name, p.title);
        for t in &p.tests {
            let _ = writeln!(
                out,
                "  {:<48} {:<12} {}",
                t.id,
                t.severity.as_str(),
                t.title
            );
        }
    }
    Ok(exit::OK)
}

fn validate(args: &[String], target: Option<&Path>) -> Result<i32, Invalid> {
    let plans = plans_or_builtin(args)?;
    let tests: usize = plans.iter().map(|p| p.tests.len()).sum();
    println!("ok: {} plans, {tests} tests", plans.len());
    if let Some(path) = target {
        let t = target::load_target(path)?;
        let runnable: Vec<&str> = plans
            .iter()
            .filter(|p| p.requires.iter().all(|c| t.has(*c)))
            .map(|p| p.id.as_str())
            .collect();
        println!(
            "ok: target `{}` ({}); plans it can run: {}",
            t.name.as_str(),
            path.display(),
            if runnable.is_empty() {
                "none".to_string()
            } else {
                runnable.join(", ")
            }
        );
    }
    Ok(exit::OK)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error worth reporting.
fn print_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn man() -> Result<i32, Invalid> {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut out)
        .map_err(|e| Invalid::Message(format!("cannot render the man page: {e}")))?;
    // One page for the whole tool: each subcommand's usage and options as a section.
    for sub in cmd.get_subcommands().filter(|c| !c.is_hide_set()) {
        let title = format!("oinspect {}", sub.get_name());
        let man = clap_mangen::Man::new(sub.clone().bin_name(title.clone()));
        out.extend_from_slice(format!(".SH \"{}\"\n", title.to_uppercase()).as_bytes());
        man.render_description_section(&mut out)
            .and_then(|()| man.render_synopsis_section(&mut out))
            .and_then(|()| man.render_options_section(&mut out))
            .map_err(|e| Invalid::Message(format!("cannot render the man page: {e}")))?;
    }
    print_stdout(&String::from_utf8_lossy(&out));
    Ok(exit::OK)
}

fn explain(id: Option<&str>, all: bool, extra: &[String]) -> Result<i32, Invalid> {
    let mut plans = builtin_plans()?;
    plans.extend(plan::resolve_plan_args(extra)?);
    if all {
        print_stdout(&report::catalogue::catalogue(&plans));
        return Ok(exit::OK);
    }
    let Some(id) = id else {
        return Err(Invalid::Message(
            "give a test id or --all; `oinspect list` shows the ids".into(),
        ));
    };
    let Some(t) = plans
        .iter()
        .flat_map(|p| p.tests.iter())
        .find(|t| t.id == id)
    else {
        return Err(Invalid::Message(format!(
            "no test `{id}` in the built-in plans{}; `oinspect list` shows the ids",
            if extra.is_empty() {
                ""
            } else {
                " or the given plans"
            }
        )));
    };
    print_stdout(&report::catalogue::entry(t));
    Ok(exit::OK)
}

async fn init(args: &crate::cli::InitArgs) -> Result<i32, Invalid> {
    if args.interactive && !crate::init::can_ask() {
        return Err(Invalid::Message(
            "--interactive needs a terminal (stdin and stderr); give the values as flags instead"
                .into(),
        ));
    }
    let written = crate::init::run(args, &mut crate::init::Terminal)
        .await
        .map_err(Invalid::Message)?;
    println!("wrote {}", written.path.display());
    println!("IdP: {}", written.idp_note);
    if written.to_fill.is_empty() {
        println!("nothing left to fill in");
    } else {
        println!("fill in (marked FILL IN in the file):");
        for f in &written.to_fill {
            println!("  - {f}");
        }
    }
    println!(
        "then: oinspect validate --target {p}\n      oinspect idp metadata --target {p} > oinspect-idp.xml   (load it into your SP)\n      oinspect run --target {p}",
        p = written.path.display()
    );
    Ok(exit::OK)
}

async fn run(args: RunArgs, verbosity: Verbosity) -> Result<i32, Invalid> {
    let target = target::load_target(&args.target)?;
    let plans = if args.plans.is_empty() {
        let all = builtin_plans()?;
        all.into_iter()
            .filter(|p| p.requires.iter().all(|c| target.has(*c)))
            .collect()
    } else {
        let plans = plan::resolve_plan_args(&args.plans)?;
        for p in &plans {
            if let Some(missing) = p.requires.iter().find(|c| !target.has(**c)) {
                return Err(Invalid::Message(format!(
                    "plan `{}` needs a `{}` section in the target {}",
                    p.id,
                    missing.as_str(),
                    args.target.display()
                )));
            }
        }
        plans
    };
    execute(target, plans, &args.common, verbosity).await
}

async fn demo(args: DemoArgs, verbosity: Verbosity) -> Result<i32, Invalid> {
    if args.list_breaks {
        for b in crate::demo::catalogue() {
            println!("{:<36} {}", b.name, b.summary);
        }
        return Ok(exit::OK);
    }
    let breaks = Breaks::from_names(&args.breaks).map_err(|e| Invalid::Message(e.to_string()))?;
    let app = ReferenceApp::start(0, breaks, args.rate_limit)
        .await
        .map_err(|e| {
            Invalid::Message(format!("cannot start the reference app on 127.0.0.1: {e}"))
        })?;
    let source = crate::diag::Source::new("demo-target.yaml", app.target_yaml(true));
    let target = target::load_target_source(&source, Path::new("."))?;
    let plans = builtin_plans()?
        .into_iter()
        .filter(|p| p.requires.iter().all(|c| target.has(*c)))
        .collect();
    let code = execute(target, plans, &args.common, verbosity).await;
    drop(app);
    code
}

fn idp(cmd: IdpCommand) -> Result<i32, Invalid> {
    use crate::saml::idp::{IdpIdentity, KeyKind};
    match cmd {
        IdpCommand::Init { out, ec } => {
            std::fs::create_dir_all(&out)
                .map_err(|e| Invalid::Message(format!("cannot create {}: {e}", out.display())))?;
            let kind = if ec {
                KeyKind::EcP256
            } else {
                KeyKind::Rsa2048
            };
            let idp = IdpIdentity::generate(
                "http://www.okta.com/exk-oinspect",
                "https://idp.oinspect.test/sso",
                kind,
            )
            .map_err(|e| Invalid::Message(e.to_string()))?;
            let (key, cert) = idp
                .write_pem_files(&out)
                .map_err(|e| Invalid::Message(e.to_string()))?;
            println!("wrote {} (mode 0600) and {}", key.display(), cert.display());
            println!(
                "certificate SHA-256 fingerprint: {}",
                idp.cert_sha256_fingerprint()
            );
            println!(
                "add to the target:\nidp:\n  entity_id: http://www.okta.com/exk-oinspect\n  sso_url: https://idp.oinspect.test/sso\n  key: {}\n  cert: {}",
                key.display(),
                cert.display()
            );
            Ok(exit::OK)
        }
        IdpCommand::Metadata { target } => {
            let t = target::load_target(&target)?;
            let idp = crate::engine::load_idp(&t).map_err(Invalid::Message)?;
            println!("{}", idp.metadata_xml());
            Ok(exit::OK)
        }
    }
}

async fn serve(port: u16, breaks: &[String], rate_limit: Option<u64>) -> Result<i32, Invalid> {
    let breaks = Breaks::from_names(breaks).map_err(|e| Invalid::Message(e.to_string()))?;
    let app = ReferenceApp::start(port, breaks, rate_limit)
        .await
        .map_err(|e| Invalid::Message(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    println!("{}", app.target_yaml(false));
    eprintln!(
        "reference app listening on {}; export OINSPECT_DEMO_TOKEN={} and save the YAML above as a target. Ctrl-C stops it.",
        app.base_url(),
        app.token
    );
    let _ = tokio::signal::ctrl_c().await;
    eprintln!(
        "stopping (SCIM store held {} users, {} groups)",
        app.scim.user_count(),
        app.scim.group_count()
    );
    Ok(exit::OK)
}

/// Selection, scheduling, reporting: shared by `run` and `demo`.
async fn execute(
    target: Target,
    plans: Vec<Plan>,
    common: &CommonRunArgs,
    verbosity: Verbosity,
) -> Result<i32, Invalid> {
    let selection =
        Selection::new(&common.only, &common.skip).map_err(|e| Invalid::Message(e.to_string()))?;
    if !(common.timeout.is_finite() && common.timeout > 0.0) {
        return Err(Invalid::Message(
            "--timeout must be a positive number of seconds".into(),
        ));
    }
    let plans: Vec<Plan> = plans
        .into_iter()
        .map(|mut p| {
            p.tests.retain(|t| selection.selects(t));
            p
        })
        .filter(|p| !p.tests.is_empty())
        .collect();

    let mut warnings = Vec::new();
    if target.tls.insecure {
        warnings.push("tls.insecure is set: TLS certificates are NOT verified; results say nothing about the app's TLS".to_string());
    }
    if let Some(key) = target.idp.as_ref().and_then(|i| i.key.as_ref()) {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(key) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                warnings.push(format!(
                    "the IdP private key {} is readable by other users (mode {mode:o}): chmod 600 it",
                    key.display()
                ));
            }
        }
    }
    let ca_cert_pem = match &target.tls.ca_cert {
        Some(p) => Some(
            std::fs::read(p)
                .map_err(|e| Invalid::Message(format!("tls.ca_cert {}: {e}", p.display())))?,
        ),
        None => None,
    };
    let redactor = Arc::new(Redactor::new(target.secrets()));
    let client = HttpClient::new(
        ClientSettings {
            timeout: Duration::from_secs_f64(target.timeouts.request_secs),
            ca_cert_pem,
            insecure: target.tls.insecure,
            ..ClientSettings::default()
        },
        redactor.clone(),
    )
    .map_err(|e| Invalid::Message(e.to_string()))?;
    // Small enough to type back in from a CI log.
    let seed = common
        .seed
        .unwrap_or_else(|| u64::from(rand::random::<u32>()));
    let target_name = redactor.redact(target.name.as_str()).into_owned();
    let ctx = Arc::new(RunContext::new(Arc::new(target), client, seed));
    let opts = RunOptions {
        jobs: usize::from(common.jobs),
        fail_fast: common.fail_fast,
        test_timeout: Duration::from_secs_f64(common.timeout),
    };

    let (interrupt_tx, interrupt_rx) = watch::channel(0u32);
    // Registered here, before any test starts: `ctrl_c()` would only install its handler
    // when the task first runs, and a Ctrl-C before that would kill the process with the
    // default action, skipping cleanup.
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    let signals = tokio::spawn(async move {
        loop {
            let pressed = match &mut sigint {
                Some(s) => s.recv().await.is_some(),
                None => tokio::signal::ctrl_c().await.is_ok(),
            };
            if !pressed {
                break;
            }
            interrupt_tx.send_modify(|n| *n += 1);
        }
    });
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    // With --format json stdout carries only JSON Lines; the human report goes to stderr.
    let json_lines = common.format == OutputFormat::Json;
    let stream = if json_lines {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    let color = report::terminal::use_color_on(common.color, stream);
    let terminal = tokio::spawn(async move {
        let mut term = Terminal::with_options(color, verbosity, stream);
        let mut lines = json_lines.then(|| JsonLines::new(std::io::stdout()));
        while let Some(event) = events_rx.recv().await {
            if let Some(l) = &mut lines {
                l.handle(&event);
            }
            term.handle(&event);
        }
        (term, lines)
    });
    let report = runner::run(
        ctx,
        &plans,
        &opts,
        target_name,
        warnings,
        events_tx,
        interrupt_rx,
    )
    .await;
    signals.abort();
    let code = exit::for_report(&report);
    let (mut term, mut lines) = terminal
        .await
        .map_err(|e| Invalid::Message(format!("internal error in the terminal reporter: {e}")))?;
    term.finish(&report, code);
    write_reports(&report, code, common, &redactor);
    if common.github_summary {
        github_summary(&report, code, &redactor, stream);
    }
    if let Some(l) = &mut lines {
        l.finish(&report, code);
    }
    Ok(code)
}

/// `--github-summary`: the step summary file and the `::error` annotations (on stdout, where
/// the runner reads workflow commands; on stderr when stdout carries JSON Lines).
fn github_summary(report: &runner::RunReport, code: i32, redactor: &Redactor, stream: Stream) {
    match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            if let Err(e) = report::github::append_step_summary(&path, report, code, redactor) {
                eprintln!(
                    "error: cannot append the GitHub step summary to {}: {e}",
                    path.display()
                );
            }
        }
        None => eprintln!(
            "warning: --github-summary: GITHUB_STEP_SUMMARY is not set (not in GitHub Actions?); only the annotations are printed"
        ),
    }
    let annotations = report::github::annotations(report, redactor).join("\n");
    if annotations.is_empty() {
        return;
    }
    match stream {
        Stream::Stdout => print_stdout(&format!("{annotations}\n")),
        Stream::Stderr => eprintln!("{annotations}"),
    }
}

/// Report files are written whatever the outcome; a file that cannot be written is said
/// on stderr but does not change the verdict (the terminal report stands).
fn write_reports(
    report: &runner::RunReport,
    code: i32,
    common: &CommonRunArgs,
    redactor: &Redactor,
) {
    if let Some(path) = &common.junit {
        match report::junit::render(report) {
            Ok(xml) => save(path, xml.as_bytes(), "JUnit report"),
            Err(e) => eprintln!("error: cannot render the JUnit report: {e}"),
        }
    }
    if let Some(path) = &common.json {
        match report::json::render(report, code) {
            Ok(json) => save(path, json.as_bytes(), "JSON report"),
            Err(e) => eprintln!("error: cannot render the JSON report: {e}"),
        }
    }
    if let Some(path) = &common.html {
        let html = report::html::render(report, code, redactor);
        save(path, html.as_bytes(), "HTML report");
    }
    if let Some(dir) = &common.artifacts
        && let Err(e) = report::artifacts::write(report, dir)
    {
        eprintln!("error: cannot write artifacts to {}: {e}", dir.display());
    }
}

fn save(path: &Path, bytes: &[u8], what: &str) {
    if let Err(e) = report::write_atomically(path, bytes) {
        eprintln!("error: cannot write the {what} to {}: {e}", path.display());
    }
}
