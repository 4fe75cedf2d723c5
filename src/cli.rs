//! Command-line definitions (clap). Parsing only: the commands live in `app`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::terminal::ColorChoice;
pub use crate::schema::SchemaKind;

const EXIT_CODES: &str = "\
Exit codes:
  0    every selected required (and critical) test passed
  1    a required or critical test failed
  2    invalid invocation, plan or target (found before any network traffic)
  3    no required test failed, but at least one could not be judged (error)
  4    no test selected
  130  interrupted (Ctrl-C); what the run created was cleaned up";

#[derive(Debug, Parser)]
#[command(
    name = "oinspect",
    version,
    about = "Conformance tester for SAML 2.0 SSO and SCIM 2.0 provisioning integrations",
    long_about = "oinspect plays the identity provider and the provisioning client against your app, \
                  the way an app gallery's test wizard does, and reports what to fix.",
    after_help = EXIT_CODES,
)]
pub struct Cli {
    /// Print only the summary (per plan and overall) and the verdict
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail: -v lists each test's exchanges as they finish, -vv prints them in full
    /// (secrets redacted)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// How much the terminal reporter prints.
    pub fn verbosity(&self) -> Verbosity {
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, 1) => Verbosity::Steps,
            (false, _) => Verbosity::Exchanges,
        }
    }
}

/// Terminal detail, from `-q` / `-v` / `-vv`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: the summary only.
    Quiet,
    /// A line per test, then failure details and the summary.
    Normal,
    /// `-v`: also each exchange of every test, one line each.
    Steps,
    /// `-vv`: also every exchange in full (headers and bodies, secrets redacted).
    Exchanges,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run plans against a target
    #[command(after_help = concat!(
        "Examples:\n",
        "  oinspect run --target acme.yaml                      every built-in plan the target has settings for\n",
        "  oinspect run scim-rfc --target acme.yaml --junit junit.xml --json report.json\n",
        "  oinspect run my-plan.yaml --target acme.yaml --only 'scim.users.*' --seed 42\n",
        "  oinspect run --target acme.yaml --html report.html --github-summary   in a GitHub Actions step\n",
        "  oinspect -q run --target acme.yaml --format json > events.jsonl        JSON Lines for other tools\n",
        "\n",
        "Exit codes: 0 passed, 1 required or critical test failed, 2 invalid input, 3 errors, 4 no test selected, 130 interrupted",
    ))]
    Run(RunArgs),
    /// List the tests of plans (ids, severities, titles)
    #[command(after_help = "Examples:\n  oinspect list\n  oinspect list scim-rfc my-plan.yaml")]
    List {
        /// Plan files or built-in plan names (default: every built-in plan)
        plans: Vec<String>,
    },
    /// Check plans and a target without any network traffic
    #[command(
        after_help = "Examples:\n  oinspect validate my-plan.yaml\n  oinspect validate --target acme.yaml\n\nExit codes: 0 valid, 2 invalid"
    )]
    Validate {
        /// Plan files or built-in plan names (default: every built-in plan)
        plans: Vec<String>,
        #[arg(long, short)]
        target: Option<PathBuf>,
    },
    /// Explain a check: why it exists, its spec reference, how to fix a failure
    #[command(after_help = concat!(
        "Examples:\n",
        "  oinspect explain scim.users.create\n",
        "  oinspect explain --all > docs/checks.md     the catalogue of every built-in check (Markdown)",
    ))]
    Explain {
        /// A test id, as `oinspect list` prints it
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        id: Option<String>,
        /// Every check of the built-in plans (and of `--plan` files), grouped by plan, as
        /// Markdown: what docs/checks.md holds
        #[arg(long)]
        all: bool,
        /// Also look in these plan files
        #[arg(long = "plan")]
        plans: Vec<String>,
    },
    /// Run every built-in plan against the embedded reference app on 127.0.0.1
    #[command(after_help = concat!(
        "Examples:\n",
        "  oinspect demo\n",
        "  oinspect demo --junit junit.xml --json report.json\n",
        "  oinspect demo --break scim-no-409        show what a broken app looks like\n",
        "  oinspect demo --break saml-signature-unbound --html report.html   the decoded SAML of a failure\n",
        "  oinspect demo --list-breaks",
    ))]
    Demo(DemoArgs),
    /// The test IdP: create its key and certificate, print its metadata for your SP
    #[command(subcommand)]
    Idp(IdpCommand),
    /// Run the reference app until Ctrl-C and print a target YAML for it
    #[command(after_help = "Example:\n  oinspect serve --port 8080 > target.yaml")]
    Serve {
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// Turn off one correct behaviour (repeatable; see `oinspect demo --list-breaks`)
        #[arg(long = "break", value_name = "NAME")]
        breaks: Vec<String>,
        /// Answer every Nth SCIM request with 429 and `Retry-After: 0`
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(2..))]
        rate_limit: Option<u64>,
    },
    /// Write a commented target.yaml from your SP's SAML metadata (and/or flags)
    #[command(after_help = concat!(
        "Examples:\n",
        "  oinspect init --sp-metadata https://acme.example/saml/metadata\n",
        "  oinspect init --sp-metadata sp.xml --out acme.yaml --create-idp-key\n",
        "  oinspect init --entity-id https://acme.example --acs-url https://acme.example/saml/acs --interactive\n",
        "\n",
        "Never overwrites an existing file. The target's placeholders (marked FILL IN) are listed\n",
        "on stderr; `oinspect validate --target FILE` checks the result.",
    ))]
    Init(InitArgs),
    /// Print the JSON Schema (draft-07) of plan or target files, for editors
    #[command(after_help = concat!(
        "Examples:\n",
        "  oinspect schema target > target.schema.json\n",
        "\n",
        "Then start a target or plan file with\n",
        "  # yaml-language-server: $schema=target.schema.json\n",
        "for completion and checking in editors that use the YAML language server.",
    ))]
    Schema {
        #[arg(value_enum)]
        kind: SchemaKind,
    },
    /// Print a shell completion script
    #[command(after_help = concat!(
        "Examples:\n",
        "  oinspect completions bash > ~/.local/share/bash-completion/completions/oinspect\n",
        "  oinspect completions zsh > \"${fpath[1]}/_oinspect\"\n",
        "  oinspect completions fish > ~/.config/fish/completions/oinspect.fish",
    ))]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    #[command(after_help = "Example:\n  oinspect man > oinspect.1 && man ./oinspect.1")]
    Man,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// SP metadata, a URL or a file: fills the entity ID, ACS URL and signing requirements
    #[arg(long, value_name = "URL|FILE")]
    pub sp_metadata: Option<String>,
    /// Where to write the target (never overwritten)
    #[arg(long, value_name = "FILE", default_value = "target.yaml")]
    pub out: PathBuf,
    /// The target's display name
    #[arg(long)]
    pub name: Option<String>,
    /// The SP's entity ID (default: from the metadata)
    #[arg(long, value_name = "ID")]
    pub entity_id: Option<String>,
    /// The SP's ACS URL (default: the metadata's HTTP-POST ACS)
    #[arg(long, value_name = "URL")]
    pub acs_url: Option<String>,
    /// Where a browser starts an SP-initiated login
    #[arg(long, value_name = "URL")]
    pub login_url: Option<String>,
    /// A URL that shows who is logged in (for the session check)
    #[arg(long, value_name = "URL")]
    pub session_check_url: Option<String>,
    /// JSONPath into the session check's body whose value is the logged-in identity
    #[arg(long, value_name = "PATH")]
    pub session_check_json_path: Option<String>,
    /// The app's SCIM base URL
    #[arg(long, value_name = "URL")]
    pub scim_url: Option<String>,
    /// Environment variable holding the SCIM bearer token
    #[arg(long, value_name = "NAME", default_value = "SCIM_TOKEN")]
    pub scim_token_env: String,
    /// The test user's email (the NameID of its logins)
    #[arg(long, value_name = "EMAIL")]
    pub user_email: Option<String>,
    /// The test IdP's entity ID, as the SP is (or will be) configured with it
    #[arg(
        long,
        value_name = "ID",
        default_value = "http://www.okta.com/exk-oinspect"
    )]
    pub idp_entity_id: String,
    /// Directory of the test IdP's key and certificate (relative to the target file)
    #[arg(long, value_name = "DIR", default_value = "idp")]
    pub idp_dir: PathBuf,
    /// Create the test IdP's key and certificate in --idp-dir when they do not exist
    #[arg(long)]
    pub create_idp_key: bool,
    /// Ask for the values neither the metadata nor the flags gave (needs a terminal)
    #[arg(long)]
    pub interactive: bool,
}

#[derive(Debug, Subcommand)]
pub enum IdpCommand {
    /// Write a new IdP key (mode 0600) and self-signed certificate to DIR
    #[command(
        after_help = "Examples:\n  oinspect idp init --out idp/\n  oinspect idp init --out idp/ --ec\n\nThen set idp.key and idp.cert in the target to the two files."
    )]
    Init {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// An EC P-256 key instead of RSA-2048
        #[arg(long)]
        ec: bool,
    },
    /// Print the test IdP's SAML metadata (entity ID, SSO endpoints, signing certificate)
    #[command(
        after_help = "Example:\n  oinspect idp metadata --target acme.yaml > oinspect-idp.xml"
    )]
    Metadata {
        #[arg(long, short)]
        target: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Plan files or built-in plan names (default: every built-in plan the target has settings for)
    pub plans: Vec<String>,
    /// The target file describing the app under test
    #[arg(long, short, env = "OINSPECT_TARGET")]
    pub target: PathBuf,
    #[command(flatten)]
    pub common: CommonRunArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Turn off one correct behaviour of the reference app (repeatable)
    #[arg(long = "break", value_name = "NAME")]
    pub breaks: Vec<String>,
    /// List the break switches and exit
    #[arg(long)]
    pub list_breaks: bool,
    /// Answer every Nth SCIM request with 429 and `Retry-After: 0` (shows oinspect retrying
    /// the way Okta does; with `--break scim-429-no-retry-after` the header is missing)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(2..))]
    pub rate_limit: Option<u64>,
    #[command(flatten)]
    pub common: CommonRunArgs,
}

/// What `run` and `demo` print on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The human report (a line per test, failure details, summary).
    Terminal,
    /// One JSON object per line: run started, test started/finished, findings, summary.
    Json,
}

#[derive(Debug, Args)]
pub struct CommonRunArgs {
    /// Run only tests whose id (or plan id) matches this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub only: Vec<String>,
    /// Skip tests whose id (or plan id) matches this glob (repeatable)
    #[arg(long, value_name = "GLOB")]
    pub skip: Vec<String>,
    /// Write a JUnit XML report (also when tests fail)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report (also when tests fail)
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Save each test's evidence (requests, responses), secrets redacted
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
    /// Write a self-contained HTML report (decoded SAML messages, SCIM exchanges; no network)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Append a Markdown summary to $GITHUB_STEP_SUMMARY and print `::error` annotations
    /// for required failures (GitHub Actions)
    #[arg(long)]
    pub github_summary: bool,
    /// What stdout carries: the terminal report, or JSON Lines events for other tools
    /// (the terminal report then goes to stderr)
    #[arg(long, value_enum, default_value_t = OutputFormat::Terminal, value_name = "FORMAT")]
    pub format: OutputFormat,
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, env = "OINSPECT_COLOR")]
    pub color: ColorChoice,
    /// Tests run at once (sequences always run in order)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Per-test time limit in seconds
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    pub timeout: f64,
    /// Seed for test data; printed in every report so a run can be reproduced
    #[arg(long, env = "OINSPECT_SEED")]
    pub seed: Option<u64>,
    /// Stop starting tests after the first required failure
    #[arg(long)]
    pub fail_fast: bool,
}
