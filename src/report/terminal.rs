//! The human view: a line per finished test, then failure details with evidence, then a
//! summary per plan and overall with the seed. Color only when asked for or on a terminal;
//! the progress bar only on a terminal (stderr) outside CI.

use std::io::{IsTerminal, Write};

use colored::Colorize;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::Verbosity;
use crate::report::text;
use crate::run::RunReport;
use crate::run::events::Event;
use crate::run::outcome::{Counts, Outcome, TestResult};
use crate::severity::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Decides once whether stdout gets color: `--color`, then NO_COLOR (no-color.org), then
/// CLICOLOR_FORCE/FORCE_COLOR, then "is stdout a terminal that is not dumb".
pub fn use_color(choice: ColorChoice) -> bool {
    use_color_on(choice, Stream::Stdout)
}

/// [`use_color`] for the stream the report goes to.
pub fn use_color_on(choice: ColorChoice, stream: Stream) -> bool {
    let env_set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if env_set("NO_COLOR") {
                false
            } else if env_set("CLICOLOR_FORCE") || env_set("FORCE_COLOR") {
                true
            } else {
                let tty = match stream {
                    Stream::Stdout => std::io::stdout().is_terminal(),
                    Stream::Stderr => std::io::stderr().is_terminal(),
                };
                tty && std::env::var("TERM").map(|t| t != "dumb").unwrap_or(false)
            }
        }
    }
}

/// Where the terminal report goes: stdout, or stderr when stdout carries JSON Lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

pub struct Terminal {
    bar: Option<ProgressBar>,
    out: Box<dyn Write + Send>,
    verbosity: Verbosity,
}

impl Terminal {
    pub fn new(color: bool) -> Self {
        Self::with_options(color, Verbosity::Normal, Stream::Stdout)
    }

    pub fn with_options(color: bool, verbosity: Verbosity, stream: Stream) -> Self {
        // `colored` would decide from stdout and its own env rules; we decided already.
        colored::control::set_override(color);
        let out: Box<dyn Write + Send> = match stream {
            Stream::Stdout => Box::new(std::io::stdout()),
            Stream::Stderr => Box::new(std::io::stderr()),
        };
        Self {
            bar: None,
            out,
            verbosity,
        }
    }

    /// A line shown at the default verbosity and above (everything but the summary).
    fn detail(&mut self, text: &str) {
        if self.verbosity > Verbosity::Quiet {
            self.line(text);
        }
    }

    fn line(&mut self, text: &str) {
        match &self.bar {
            // Printing through the bar keeps it from tearing the output.
            Some(bar) => bar.println(text),
            None => {
                // A closed pipe (`| head`) is not an error worth dying for.
                let _ = writeln!(self.out, "{text}");
            }
        }
    }

    pub fn handle(&mut self, event: &Event) {
        match event {
            Event::RunStarted(info) => {
                self.detail(&format!(
                    "{} {} · target: {} · seed {} · {} tests in {} plans · jobs {}",
                    "oinspect".bold(),
                    info.tool_version,
                    info.target,
                    info.seed,
                    info.total_tests,
                    info.plans.len(),
                    info.jobs
                ));
                for w in &info.warnings {
                    self.detail(&format!("{} {w}", "warning:".yellow().bold()));
                }
                let on_tty = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
                if on_tty {
                    let bar = ProgressBar::with_draw_target(
                        Some(info.total_tests as u64),
                        ProgressDrawTarget::stderr(),
                    );
                    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
                        bar.set_style(style);
                    }
                    self.bar = Some(bar);
                }
            }
            Event::TestStarted { id } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(id.clone());
                }
            }
            Event::TestFinished(r) => {
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
                self.detail(&result_line(r));
                match self.verbosity {
                    Verbosity::Steps => {
                        for e in &r.evidence {
                            self.line(&format!("        {} {}", "·".dimmed(), exchange_line(e)));
                        }
                    }
                    Verbosity::Exchanges => {
                        for (i, e) in r.evidence.iter().enumerate() {
                            self.line(&format!(
                                "        {} exchange {}/{} ({} ms)",
                                "·".dimmed(),
                                i + 1,
                                r.evidence.len(),
                                e.duration_ms
                            ));
                            // Evidence is recorded redacted: nothing here can hold a secret.
                            for l in e.to_string().lines() {
                                self.line(&format!("          {l}"));
                            }
                        }
                    }
                    Verbosity::Quiet | Verbosity::Normal => {}
                }
            }
            Event::Interrupted => {
                self.line(&format!(
                    "{} stopping tests, then cleaning up what the run created (Ctrl-C again aborts the cleanup)",
                    "interrupted:".yellow().bold()
                ));
            }
            Event::CleanupStarted { pending } => {
                self.detail(&format!(
                    "cleanup: removing {pending} resources the run created"
                ));
            }
            Event::CleanupFinished(report) => {
                if let Some(bar) = self.bar.take() {
                    bar.finish_and_clear();
                }
                self.detail(&format!("cleanup: removed {}", report.removed.len()));
                for left in &report.left_behind {
                    self.line(&format!(
                        "{} {} ({})",
                        "left behind:".red().bold(),
                        left.resource,
                        left.reason
                    ));
                }
            }
        }
    }

    /// Details of every non-passing test (failures first), then the summary.
    pub fn finish(&mut self, report: &RunReport, exit_code: i32) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let mut notable: Vec<&TestResult> = report
            .results
            .iter()
            .filter(|r| matches!(r.outcome, Outcome::Fail | Outcome::Error))
            .collect();
        notable.sort_by_key(|r| (r.outcome != Outcome::Fail, std::cmp::Reverse(r.severity)));
        if self.verbosity == Verbosity::Quiet {
            notable.clear();
        }
        if !notable.is_empty() {
            self.line("");
            self.line(&"Failures and errors".bold().to_string());
            for r in notable {
                self.line("");
                let text = text::details(r);
                let mut lines = text.lines();
                if let Some(first) = lines.next() {
                    self.line(&format!("{} {first}", label(r.outcome)));
                }
                for l in lines {
                    self.line(l);
                }
            }
        }
        if self.verbosity > Verbosity::Quiet {
            self.line("");
        }
        self.line(&"Summary".bold().to_string());
        for plan in &report.info.plans {
            let c = Counts::of(report.results.iter().filter(|r| r.plan == plan.id));
            self.line(&format!("  {:<28} {}", plan.id, counts_text(&c)));
        }
        self.line(&format!(
            "  {:<28} {}",
            "total".bold(),
            counts_text(&report.counts)
        ));
        for w in &report.info.warnings {
            self.line(&format!("{} {w}", "warning:".yellow().bold()));
        }
        let verdict = match exit_code {
            0 => "all required tests passed".green().bold(),
            1 => "required tests failed".red().bold(),
            3 => "some tests could not be judged (errors)".yellow().bold(),
            4 => "no test selected".yellow().bold(),
            130 => "interrupted".yellow().bold(),
            _ => "finished".normal(),
        };
        self.line(&format!(
            "{verdict} · {:.2}s · seed {} (rerun with --seed {} to reproduce test data) · exit {exit_code}",
            report.duration_ms as f64 / 1000.0,
            report.info.seed,
            report.info.seed
        ));
        let _ = self.out.flush();
    }
}

fn label(outcome: Outcome) -> String {
    let text = format!("{:<5}", outcome.label());
    match outcome {
        Outcome::Pass => text.green().to_string(),
        Outcome::Fail => text.red().bold().to_string(),
        Outcome::Error => text.yellow().bold().to_string(),
        Outcome::Skip => text.dimmed().to_string(),
    }
}

fn result_line(r: &TestResult) -> String {
    let severity = match r.severity {
        Severity::Required => String::new(),
        s => format!(" ({s})"),
    };
    let mut line = format!(
        "  {} {} {}{} {}",
        label(r.outcome),
        r.id,
        r.title.dimmed(),
        severity,
        format!("{}ms", r.duration_ms).dimmed()
    );
    if r.outcome != Outcome::Pass && !r.message.is_empty() {
        line.push_str(&format!("\n        {}", r.message));
    }
    for note in &r.notes {
        line.push_str(&format!("\n        {} {note}", "note:".dimmed()));
    }
    line
}

/// `-v`: one exchange on one line: `POST http://host/scim/v2/Users -> HTTP 201 (3 ms)`.
fn exchange_line(e: &crate::http::Exchange) -> String {
    if e.response.is_none() && e.error.is_none() {
        // A decoded protocol message (AuthnRequest, Response) recorded beside the exchanges.
        return e.request.start_line.clone();
    }
    format!("{} ({} ms)", e.summary(), e.duration_ms)
}

fn counts_text(c: &Counts) -> String {
    format!(
        "{} passed, {} failed ({} required), {} errors, {} skipped",
        c.passed, c.failed, c.required_failed, c.errors, c.skipped
    )
}
