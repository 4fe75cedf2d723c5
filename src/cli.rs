//! Command-line definitions (clap). Parsing only: the commands live in `app`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::terminal::ColorChoice;

const EXIT_CODES: &str = "\
Exit codes:
  0    every selected required test passed
  1    a required test failed
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
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run plans against a target
    #[command(after_help = concat!(
        "Examples:\n",
        "  oinspect run --target acme.yaml                      every built-in plan the target has settings for\n",
        "  oinspect run scim-rfc --target acme.yaml --junit junit.xml --json report.json\n",
        "  oinspect run my-plan.yaml --target acme.yaml --only 'scim.users.*' --seed 42\n",
        "\n",
        "Exit codes: 0 passed, 1 required test failed, 2 invalid input, 3 errors, 4 no test selected, 130 interrupted",
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
    #[command(after_help = "Example:\n  oinspect explain scim.users.create")]
    Explain {
        /// A test id, as `oinspect list` prints it
        id: String,
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
