//! `--html FILE`: one self-contained page (inline CSS and a little JS, no fetches: a
//! Content-Security-Policy with `default-src 'none'` forbids them) that a person opens from a
//! CI artifact: the summary by plan and by severity, then every test, failures first, each
//! with its findings and evidence. Decoded SAML messages are pretty-printed with each
//! signature's Reference, algorithms and certificate fingerprint, and the elements it signs
//! marked; HTTP exchanges (SCIM, the SAML bindings) are shown as request/response pairs.
//!
//! Everything shown passes through the run's [`Redactor`] and then HTML escaping
//! ([`Page::text`] is the only way text gets in): vendor responses are hostile input, and the
//! CSP only allows the page's own script and style (by hash) as a second line of defence.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;

use crate::http::{Exchange, RecordedMessage};
use crate::redact::Redactor;
use crate::run::RunReport;
use crate::run::outcome::{Counts, Outcome, TestResult};
use crate::saml::dsig::DSIG_NS;
use crate::saml::xml::{Document, Element, ID_ATTRIBUTE_NAMES, Node, NodePath};
use crate::severity::Severity;

const STYLE: &str = r#"
:root { --fail:#b42318; --error:#b54708; --pass:#067647; --skip:#667085; --line:#d0d5dd; --bg:#f9fafb; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #101828; background: #fff; }
header, main { padding: 16px 24px; }
header { background: var(--bg); border-bottom: 1px solid var(--line); }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
h3 { font-size: 14px; margin: 12px 0 6px; }
.meta { color: #475467; }
.verdict { font-weight: 600; }
.verdict.ok { color: var(--pass); } .verdict.bad { color: var(--fail); } .verdict.warn { color: var(--error); }
table { border-collapse: collapse; margin: 4px 0 12px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: var(--bg); }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
.badge { display: inline-block; min-width: 44px; text-align: center; font-weight: 700; font-size: 12px; border-radius: 4px; padding: 0 4px; color: #fff; }
.badge.fail { background: var(--fail); } .badge.error { background: var(--error); }
.badge.pass { background: var(--pass); } .badge.skip { background: var(--skip); }
details.test { border: 1px solid var(--line); border-radius: 6px; margin: 6px 0; }
details.test > summary { cursor: pointer; padding: 6px 10px; list-style-position: inside; }
details.test[open] > summary { border-bottom: 1px solid var(--line); background: var(--bg); }
details.test.fail { border-left: 4px solid var(--fail); } details.test.error { border-left: 4px solid var(--error); }
.body { padding: 8px 14px; }
.tid { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; }
.sev { color: #475467; font-size: 12px; }
.msg { font-weight: 600; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
pre { background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap; word-break: break-all; max-height: 480px; overflow: auto; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 8px; }
.pair > div { min-width: 0; }
.start { font-weight: 600; }
.exchange { margin: 10px 0; }
.exchange > .title { font-weight: 600; }
table.signatures, table.findings, table.about { width: 100%; table-layout: auto; }
table.signatures td, table.findings td, table.about td { overflow-wrap: anywhere; }
pre.xml { max-height: none; }
.saml .tag { color: #1d4ed8; } .saml .an { color: #7a2e0e; } .saml .av { color: #067647; }
.saml .cmt { color: #98a2b3; font-style: italic; }
.saml .signed { display: block; background: #ecfdf3; border-left: 3px solid var(--pass); padding-left: 4px; }
.saml .signed.ambiguous { background: #fef3f2; border-left-color: var(--fail); }
.saml .sig { display: block; background: #eff8ff; border-left: 3px solid #1d4ed8; padding-left: 4px; }
.saml .label { display: block; font-family: system-ui, sans-serif; font-size: 11px; font-weight: 700; color: #344054; }
.warnings { color: var(--error); }
.controls label { margin-right: 12px; }
.hidden { display: none; }
"#;

const SCRIPT: &str = r#"
document.addEventListener('DOMContentLoaded', function () {
  var boxes = document.querySelectorAll('input[data-outcome]');
  function apply() {
    var shown = {};
    boxes.forEach(function (b) { shown[b.getAttribute('data-outcome')] = b.checked; });
    document.querySelectorAll('details.test').forEach(function (d) {
      d.classList.toggle('hidden', !shown[d.getAttribute('data-outcome')]);
    });
  }
  boxes.forEach(function (b) { b.addEventListener('change', apply); });
  var open = document.getElementById('expand-all');
  var close = document.getElementById('collapse-all');
  if (open) open.addEventListener('click', function () { document.querySelectorAll('details.test').forEach(function (d) { d.open = true; }); });
  if (close) close.addEventListener('click', function () { document.querySelectorAll('details.test').forEach(function (d) { d.open = false; }); });
  apply();
});
"#;

/// `'sha256-…'` of an inline script or style, for the Content-Security-Policy.
fn csp_hash(text: &str) -> String {
    let digest = openssl::sha::sha256(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The page being written. Text only gets in through [`Page::text`] (redacted, then
/// escaped); markup is only ever our own literals.
struct Page<'r> {
    out: String,
    redactor: &'r Redactor,
}

impl Page<'_> {
    fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    fn text(&mut self, s: &str) {
        let redacted = self.redactor.redact(s);
        // encode_safe escapes & < > " ' / : safe in text and in quoted attribute values.
        self.out.push_str(&html_escape::encode_safe(&redacted));
    }

    /// `<tag class="..">text</tag>`
    fn el(&mut self, tag: &str, class: &str, s: &str) {
        let _ = write!(self.out, "<{tag} class=\"{class}\">");
        self.text(s);
        let _ = write!(self.out, "</{tag}>");
    }

    fn cell(&mut self, s: &str) {
        self.raw("<td>");
        self.text(s);
        self.raw("</td>");
    }

    fn num(&mut self, n: usize) {
        let _ = write!(self.out, "<td class=\"n\">{n}</td>");
    }
}

/// The whole report as one HTML document.
pub fn render(report: &RunReport, exit_code: i32, redactor: &Redactor) -> String {
    let mut p = Page {
        out: String::with_capacity(64 * 1024),
        redactor,
    };
    p.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        p.out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'\">",
        csp_hash(STYLE),
        csp_hash(SCRIPT)
    );
    p.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>oinspect report · ");
    p.text(&report.info.target);
    p.raw("</title>\n<style>");
    p.raw(STYLE);
    p.raw("</style>\n<script>");
    p.raw(SCRIPT);
    p.raw("</script>\n</head>\n<body>\n");
    header(&mut p, report, exit_code);
    p.raw("<main>\n");
    summary(&mut p, report);
    tests(&mut p, report);
    cleanup(&mut p, report);
    p.raw("</main>\n</body>\n</html>\n");
    p.out
}

fn header(p: &mut Page, report: &RunReport, exit_code: i32) {
    let info = &report.info;
    p.raw("<header>\n<h1>oinspect report: ");
    p.text(&info.target);
    p.raw("</h1>\n");
    let (class, verdict) = match exit_code {
        0 => ("ok", "all required tests passed"),
        1 => ("bad", "required tests failed"),
        3 => ("warn", "some tests could not be judged (errors)"),
        4 => ("warn", "no test selected"),
        130 => ("warn", "interrupted"),
        _ => ("warn", "finished"),
    };
    let _ = write!(p.out, "<div class=\"verdict {class}\" id=\"verdict\">");
    p.text(&format!("{verdict} · exit {exit_code}"));
    p.raw("</div>\n<div class=\"meta\">");
    p.text(&format!(
        "oinspect {} · seed {} (rerun with --seed {} to reproduce test data) · {} tests in {} plans · jobs {} · {:.2}s{}",
        info.tool_version,
        info.seed,
        info.seed,
        info.total_tests,
        info.plans.len(),
        info.jobs,
        report.duration_ms as f64 / 1000.0,
        if report.interrupted { " · interrupted (Ctrl-C)" } else { "" }
    ));
    p.raw("</div>\n");
    if !info.warnings.is_empty() {
        p.raw("<ul class=\"warnings\">");
        for w in &info.warnings {
            p.raw("<li>warning: ");
            p.text(w);
            p.raw("</li>");
        }
        p.raw("</ul>\n");
    }
    p.raw("</header>\n");
}

fn counts_row(p: &mut Page, c: &Counts) {
    p.num(c.total);
    p.num(c.passed);
    p.num(c.failed);
    p.num(c.required_failed);
    p.num(c.errors);
    p.num(c.skipped);
}

fn summary(p: &mut Page, report: &RunReport) {
    p.raw("<h2>Summary by plan</h2>\n<table id=\"summary-plans\"><tr><th>plan</th><th>title</th><th>tests</th><th>passed</th><th>failed</th><th>required failed</th><th>errors</th><th>skipped</th></tr>\n");
    for plan in &report.info.plans {
        let c = Counts::of(report.results.iter().filter(|r| r.plan == plan.id));
        p.raw("<tr>");
        p.raw("<td><code>");
        p.text(&plan.id);
        p.raw("</code></td>");
        p.cell(&plan.title);
        counts_row(p, &c);
        p.raw("</tr>\n");
    }
    p.raw("<tr><th colspan=\"2\">total</th>");
    counts_row(p, &report.counts);
    p.raw("</tr>\n</table>\n");

    p.raw("<h2>Summary by severity</h2>\n<table id=\"summary-severity\"><tr><th>severity</th><th>tests</th><th>passed</th><th>failed</th><th>errors</th><th>skipped</th></tr>\n");
    let mut by_severity: BTreeMap<std::cmp::Reverse<Severity>, Counts> = BTreeMap::new();
    for r in &report.results {
        by_severity
            .entry(std::cmp::Reverse(r.severity))
            .or_default()
            .add(r);
    }
    for (std::cmp::Reverse(severity), c) in &by_severity {
        p.raw("<tr>");
        p.cell(severity.as_str());
        p.num(c.total);
        p.num(c.passed);
        p.num(c.failed);
        p.num(c.errors);
        p.num(c.skipped);
        p.raw("</tr>\n");
    }
    p.raw("</table>\n");
}

/// Failures first (most severe first), then errors, skips and passes, each in plan order.
fn ordered(report: &RunReport) -> Vec<&TestResult> {
    let rank = |o: Outcome| match o {
        Outcome::Fail => 0,
        Outcome::Error => 1,
        Outcome::Skip => 2,
        Outcome::Pass => 3,
    };
    let mut list: Vec<&TestResult> = report.results.iter().collect();
    // A stable sort keeps plan order within each group.
    list.sort_by_key(|r| (rank(r.outcome), std::cmp::Reverse(r.severity)));
    list
}

fn outcome_class(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "fail",
        Outcome::Error => "error",
        Outcome::Skip => "skip",
    }
}

fn tests(p: &mut Page, report: &RunReport) {
    p.raw("<h2>Tests</h2>\n<div class=\"controls\">");
    for o in [Outcome::Fail, Outcome::Error, Outcome::Skip, Outcome::Pass] {
        let n = report.results.iter().filter(|r| r.outcome == o).count();
        let _ = write!(
            p.out,
            "<label><input type=\"checkbox\" checked data-outcome=\"{}\"> {} ({n})</label>",
            outcome_class(o),
            o.label()
        );
    }
    p.raw("<button id=\"expand-all\" type=\"button\">expand all</button> <button id=\"collapse-all\" type=\"button\">collapse all</button></div>\n");
    for r in ordered(report) {
        test(p, r);
    }
}

/// A test id made safe for an `id` attribute (they are `[a-z0-9._-]` in practice, but plan
/// files are user input).
fn anchor(id: &str) -> String {
    let cleaned: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("test-{cleaned}")
}

fn test(p: &mut Page, r: &TestResult) {
    let class = outcome_class(r.outcome);
    let open = if matches!(r.outcome, Outcome::Fail | Outcome::Error) {
        " open"
    } else {
        ""
    };
    let _ = write!(
        p.out,
        "<details class=\"test {class}\" data-outcome=\"{class}\" id=\"{}\"{open}>\n<summary>",
        html_escape::encode_safe(&anchor(&r.id))
    );
    p.el("span", &format!("badge {class}"), r.outcome.label());
    p.raw(" ");
    p.el("span", "tid", &r.id);
    p.raw(" ");
    p.text(&r.title);
    p.raw(" ");
    p.el(
        "span",
        "sev",
        &format!("[{}] {} · {} ms", r.severity, r.plan, r.duration_ms),
    );
    p.raw("</summary>\n<div class=\"body\">\n");
    if !r.message.is_empty() {
        p.el("p", "msg", &r.message);
    }
    if !r.findings.is_empty() {
        p.raw("<table class=\"findings\"><tr><th>step</th><th>checked</th><th>expected</th><th>actual</th><th>defined at</th></tr>\n");
        for f in &r.findings {
            p.raw("<tr>");
            p.num(f.step);
            p.cell(&f.subject);
            p.raw("<td><code>");
            p.text(&f.expected);
            p.raw("</code></td><td><code>");
            p.text(&f.actual);
            p.raw("</code></td>");
            p.cell(&f.location);
            p.raw("</tr>\n");
        }
        p.raw("</table>\n");
    }
    if !r.notes.is_empty() {
        p.raw("<ul class=\"notes\">");
        for n in &r.notes {
            p.raw("<li>note: ");
            p.text(n);
            p.raw("</li>");
        }
        p.raw("</ul>\n");
    }
    p.raw("<table class=\"about\">");
    for (k, v) in [
        ("why", Some(r.why.as_str())),
        ("spec", Some(r.spec.as_str())),
        ("fix", r.fix.as_deref()),
        ("test", Some(r.location.as_str())),
    ] {
        if let Some(v) = v {
            p.raw("<tr><th>");
            p.text(k);
            p.raw("</th>");
            p.cell(v);
            p.raw("</tr>");
        }
    }
    p.raw("</table>\n");
    if !r.evidence.is_empty() {
        let _ = writeln!(p.out, "<h3>Evidence ({} exchanges)</h3>", r.evidence.len());
        for (i, e) in r.evidence.iter().enumerate() {
            exchange(p, i + 1, e);
        }
    }
    p.raw("</div>\n</details>\n");
}

fn exchange(p: &mut Page, number: usize, e: &Exchange) {
    if e.response.is_none()
        && e.error.is_none()
        && let Some(title) = e.request.start_line.strip_prefix("(decoded) ")
    {
        saml_message(p, number, title, &e.request.body);
        return;
    }
    p.raw("<div class=\"exchange http\">");
    p.el("div", "title", &format!("{number}. {}", e.summary()));
    p.raw("<div class=\"pair\"><div>");
    p.el("div", "label", "request");
    message(p, &e.request);
    p.raw("</div><div>");
    p.el("div", "label", &format!("response ({} ms)", e.duration_ms));
    match (&e.response, &e.error) {
        (Some(r), _) => message(p, r),
        (None, Some(err)) => {
            p.el("pre", "error", &format!("no response: {err}"));
        }
        (None, None) => {
            p.el("pre", "error", "no response recorded");
        }
    }
    p.raw("</div></div></div>\n");
}

/// One HTTP message: start line, headers, body (JSON indented).
fn message(p: &mut Page, m: &RecordedMessage) {
    let mut text = String::new();
    let _ = writeln!(text, "{}", m.start_line);
    for (k, v) in &m.headers {
        let _ = writeln!(text, "{k}: {v}");
    }
    if !m.body.is_empty() {
        text.push('\n');
        let pretty = serde_json::from_str::<serde_json::Value>(&m.body)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok());
        text.push_str(pretty.as_deref().unwrap_or(&m.body));
        if m.truncated {
            text.push_str("\n... (truncated)");
        }
    }
    p.el("pre", "http", &text);
}

/// What one `ds:Signature` says, read from the XML (nothing here is verified: the test's
/// findings say whether the SP accepted it).
#[derive(Debug, Default)]
struct SignatureInfo {
    /// Qualified name of the element the signature sits in.
    parent: String,
    references: Vec<String>,
    signature_method: Option<String>,
    digest_methods: Vec<String>,
    c14n_method: Option<String>,
    cert_fingerprint: Option<String>,
    cert_subject: Option<String>,
}

fn attr_of(el: Option<&Element>, name: &str) -> Option<String> {
    el.and_then(|e| e.attr(name)).map(str::to_string)
}

fn signature_info(doc: &Document, path: &NodePath) -> Option<SignatureInfo> {
    let sig = doc.get(path)?;
    let parent = path
        .parent()
        .and_then(|pp| doc.get(&pp))
        .map(|e| e.name.qualified())
        .unwrap_or_else(|| "(document)".into());
    let signed_info = sig.find_child(DSIG_NS, "SignedInfo");
    let references: Vec<&Element> = signed_info
        .map(|si| si.find_children(DSIG_NS, "Reference").collect())
        .unwrap_or_default();
    let cert = sig
        .find_child(DSIG_NS, "KeyInfo")
        .and_then(|k| k.find_child(DSIG_NS, "X509Data"))
        .and_then(|d| d.find_child(DSIG_NS, "X509Certificate"))
        .and_then(|c| {
            let b64: String = c.text().chars().filter(|c| !c.is_whitespace()).collect();
            let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
            openssl::x509::X509::from_der(&der).ok()
        });
    Some(SignatureInfo {
        parent,
        references: references
            .iter()
            .map(|r| r.attr("URI").unwrap_or("(no URI)").to_string())
            .collect(),
        signature_method: attr_of(
            signed_info.and_then(|si| si.find_child(DSIG_NS, "SignatureMethod")),
            "Algorithm",
        ),
        digest_methods: references
            .iter()
            .filter_map(|r| attr_of(r.find_child(DSIG_NS, "DigestMethod"), "Algorithm"))
            .collect(),
        c14n_method: attr_of(
            signed_info.and_then(|si| si.find_child(DSIG_NS, "CanonicalizationMethod")),
            "Algorithm",
        ),
        cert_fingerprint: cert
            .as_ref()
            .map(|c| crate::saml::idp::sha256_fingerprint(c)),
        cert_subject: cert.as_ref().map(|c| crate::saml::idp::subject_text(c)),
    })
}

/// Paths of the elements whose ID (under any of the names verifiers use) is `id`.
fn elements_with_id(doc: &Document, id: &str) -> Vec<NodePath> {
    doc.find_elements(|e| ID_ATTRIBUTE_NAMES.iter().any(|n| e.attr(n) == Some(id)))
}

/// Marks for the pretty-printer: which elements are signed (by which signatures), and
/// which are signatures.
#[derive(Default)]
struct Marks {
    signed: BTreeMap<Vec<usize>, Vec<String>>,
    ambiguous: BTreeMap<Vec<usize>, bool>,
    signatures: BTreeMap<Vec<usize>, usize>,
}

fn saml_message(p: &mut Page, number: usize, title: &str, xml: &str) {
    p.raw("<div class=\"exchange saml\">");
    p.el("div", "title", &format!("{number}. {title} (decoded)"));
    let doc = match Document::parse(xml) {
        Ok(d) => d,
        Err(e) => {
            p.el("p", "note", &format!("not shown as XML: {e}"));
            p.el("pre", "raw", xml);
            p.raw("</div>\n");
            return;
        }
    };
    let mut marks = Marks::default();
    let sig_paths = crate::saml::dsig::signature_paths(&doc);
    if sig_paths.is_empty() {
        p.el(
            "p",
            "note",
            "no XML signature inside this message (an HTTP-Redirect AuthnRequest carries its signature in the query string: see the notes)",
        );
    } else {
        p.raw("<table class=\"signatures\"><tr><th>#</th><th>in</th><th>Reference URI</th><th>signs</th><th>signature algorithm</th><th>digest</th><th>canonicalization</th><th>certificate (KeyInfo)</th></tr>\n");
    }
    for (i, path) in sig_paths.iter().enumerate() {
        let n = i + 1;
        marks.signatures.insert(path.0.clone(), n);
        let Some(info) = signature_info(&doc, path) else {
            continue;
        };
        let mut signs = Vec::new();
        for uri in &info.references {
            let targets = match uri.strip_prefix('#') {
                Some(id) => elements_with_id(&doc, id),
                None if uri.is_empty() => vec![NodePath::default()],
                None => Vec::new(),
            };
            let ambiguous = targets.len() > 1;
            for t in &targets {
                let label = format!(
                    "signed by signature #{n} (Reference URI \"{uri}\"){}",
                    if ambiguous {
                        format!(": AMBIGUOUS, {} elements carry this ID", targets.len())
                    } else {
                        String::new()
                    }
                );
                marks.signed.entry(t.0.clone()).or_default().push(label);
                if ambiguous {
                    marks.ambiguous.insert(t.0.clone(), true);
                }
            }
            signs.push(match targets.as_slice() {
                [] => "no element with this ID".to_string(),
                [one] => doc.get(one).map(|e| e.name.qualified()).unwrap_or_default(),
                many => format!("{} elements (ambiguous)", many.len()),
            });
        }
        p.raw("<tr>");
        p.num(n);
        p.cell(&info.parent);
        p.raw("<td><code>");
        p.text(&info.references.join(", "));
        p.raw("</code></td>");
        p.cell(&signs.join(", "));
        p.cell(&algorithm_name(info.signature_method.as_deref()));
        p.cell(
            &info
                .digest_methods
                .iter()
                .map(|d| algorithm_name(Some(d)))
                .collect::<Vec<_>>()
                .join(", "),
        );
        p.cell(&algorithm_name(info.c14n_method.as_deref()));
        match (&info.cert_fingerprint, &info.cert_subject) {
            (Some(fp), Some(subject)) => {
                p.raw("<td>");
                p.text(subject);
                p.raw("<br>SHA-256 <code class=\"fingerprint\">");
                p.text(fp);
                p.raw("</code></td>");
            }
            _ => p.cell("none (or not an X.509 certificate)"),
        }
        p.raw("</tr>\n");
    }
    if !sig_paths.is_empty() {
        p.raw("</table>\n");
    }
    p.raw("<pre class=\"xml\">");
    let mut path = Vec::new();
    pretty_element(p, &doc.root, &mut path, 0, &marks);
    p.raw("</pre></div>\n");
}

/// `rsa-sha256 (http://…#rsa-sha256)`: the short name people know, and the URI as sent.
fn algorithm_name(uri: Option<&str>) -> String {
    match uri {
        None => "(none)".into(),
        Some(u) => match u.rsplit_once('#') {
            Some((_, short)) if !short.is_empty() => format!("{short} ({u})"),
            _ => u.to_string(),
        },
    }
}

const INDENT: &str = "  ";

fn pretty_element(p: &mut Page, el: &Element, path: &mut Vec<usize>, depth: usize, marks: &Marks) {
    let signed = marks.signed.get(path.as_slice());
    let signature = marks.signatures.get(path.as_slice());
    if let Some(labels) = signed {
        let class = if marks.ambiguous.contains_key(path.as_slice()) {
            "signed ambiguous"
        } else {
            "signed"
        };
        let _ = write!(p.out, "<span class=\"{class}\">");
        for l in labels {
            p.el("span", "label", l);
        }
    }
    if let Some(n) = signature {
        p.raw("<span class=\"sig\">");
        p.el("span", "label", &format!("signature #{n}"));
    }
    let pad = INDENT.repeat(depth);
    p.text(&pad);
    p.raw("<span class=\"tag\">&lt;");
    p.text(&el.name.qualified());
    p.raw("</span>");
    for ns in &el.ns_decls {
        p.raw(" <span class=\"an\">");
        match &ns.prefix {
            Some(prefix) => p.text(&format!("xmlns:{prefix}")),
            None => p.text("xmlns"),
        }
        p.raw("</span>=<span class=\"av\">\"");
        p.text(&ns.uri);
        p.raw("\"</span>");
    }
    for a in &el.attributes {
        p.raw(" <span class=\"an\">");
        p.text(&a.name.qualified());
        p.raw("</span>=<span class=\"av\">\"");
        p.text(&a.value);
        p.raw("\"</span>");
    }
    let children: Vec<(usize, &Node)> = el
        .children
        .iter()
        .enumerate()
        .filter(|(_, n)| !matches!(n, Node::Text(t) if t.trim().is_empty()))
        .collect();
    match children.as_slice() {
        [] => p.raw("<span class=\"tag\">/&gt;</span>\n"),
        [(_, Node::Text(t))] => {
            p.raw("<span class=\"tag\">&gt;</span>");
            p.text(t);
            p.raw("<span class=\"tag\">&lt;/");
            p.text(&el.name.qualified());
            p.raw("&gt;</span>\n");
        }
        _ => {
            p.raw("<span class=\"tag\">&gt;</span>\n");
            for (i, child) in children {
                match child {
                    Node::Element(c) => {
                        path.push(i);
                        pretty_element(p, c, path, depth + 1, marks);
                        path.pop();
                    }
                    Node::Text(t) => {
                        p.text(&format!("{pad}{INDENT}{}\n", t.trim()));
                    }
                    Node::Comment(c) => {
                        p.raw("<span class=\"cmt\">");
                        p.text(&format!("{pad}{INDENT}<!--{c}-->"));
                        p.raw("</span>\n");
                    }
                    Node::ProcessingInstruction { target, data } => {
                        p.text(&format!("{pad}{INDENT}<?{target} {data}?>\n"));
                    }
                }
            }
            p.text(&pad);
            p.raw("<span class=\"tag\">&lt;/");
            p.text(&el.name.qualified());
            p.raw("&gt;</span>\n");
        }
    }
    if signature.is_some() {
        p.raw("</span>");
    }
    if signed.is_some() {
        p.raw("</span>");
    }
}

fn cleanup(p: &mut Page, report: &RunReport) {
    let c = &report.cleanup;
    if c.removed.is_empty() && c.left_behind.is_empty() {
        return;
    }
    p.raw("<h2>Cleanup</h2>\n");
    p.el(
        "p",
        "meta",
        &format!("removed {} resources the run created", c.removed.len()),
    );
    if !c.left_behind.is_empty() {
        p.raw("<table class=\"left-behind\"><tr><th>left behind</th><th>reason</th></tr>");
        for l in &c.left_behind {
            p.raw("<tr>");
            p.cell(&l.resource);
            p.cell(&l.reason);
            p.raw("</tr>");
        }
        p.raw("</table>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::cleanup::CleanupReport;
    use crate::run::events::{PlanInfo, RunInfo};
    use std::sync::Arc;

    fn result(id: &str, outcome: Outcome, evidence: Vec<Exchange>) -> TestResult {
        TestResult {
            id: id.into(),
            plan: "p<script>".into(),
            title: "title <img src=x onerror=alert(1)>".into(),
            severity: Severity::Required,
            outcome,
            message: "got </pre><script>alert(1)</script>".into(),
            findings: vec![],
            notes: vec![],
            evidence,
            duration_ms: 1,
            spec: "s".into(),
            why: "w".into(),
            fix: None,
            location: "p.yaml:1:1".into(),
        }
    }

    fn report(results: Vec<TestResult>) -> RunReport {
        RunReport {
            info: Arc::new(RunInfo {
                tool_version: "0",
                target: "t\"><script>x</script>".into(),
                seed: 1,
                jobs: 1,
                plans: vec![PlanInfo {
                    id: "p<script>".into(),
                    title: "T".into(),
                    source: "s".into(),
                    tests: results.len(),
                }],
                total_tests: results.len(),
                warnings: vec![],
            }),
            counts: Counts::of(&results),
            results,
            cleanup: CleanupReport::default(),
            interrupted: false,
            duration_ms: 5,
        }
    }

    fn http(body: &str) -> Exchange {
        Exchange {
            request: RecordedMessage {
                start_line: "POST http://127.0.0.1/scim/v2/Users".into(),
                headers: vec![("Authorization".into(), "Bearer ***".into())],
                body: "{\"userName\":\"sekrit-token-value\"}".into(),
                truncated: false,
            },
            response: Some(RecordedMessage {
                start_line: "HTTP 200".into(),
                headers: vec![],
                body: body.into(),
                truncated: false,
            }),
            error: None,
            duration_ms: 2,
        }
    }

    #[test]
    fn hostile_text_is_escaped_and_only_our_script_runs() {
        let redactor = Redactor::new(["sekrit-token-value".to_string()]);
        let r = report(vec![result(
            "a.b",
            Outcome::Fail,
            vec![http("<script>alert('x')</script><!-- ")],
        )]);
        let html = render(&r, 1, &redactor);
        assert_eq!(
            html.matches("<script>").count(),
            1,
            "only the page's own script"
        );
        assert!(!html.contains("<img"));
        assert!(html.contains("&lt;script&gt;alert("));
        assert!(
            !html.contains("sekrit-token-value"),
            "secrets pass the redactor"
        );
        assert!(html.contains("default-src 'none'"));
        assert!(html.contains(&csp_hash(SCRIPT)));
    }

    #[test]
    fn failures_come_first() {
        let r = report(vec![
            result("z.pass", Outcome::Pass, vec![]),
            result("a.fail", Outcome::Fail, vec![]),
        ]);
        let html = render(&r, 1, &Redactor::default());
        assert!(html.find("test-a.fail").unwrap() < html.find("test-z.pass").unwrap());
    }

    #[test]
    fn saml_signatures_are_described_and_signed_elements_marked() {
        use crate::saml::dsig::{SignOptions, sign_enveloped_str};
        let kp = crate::saml::dsig::test_keys::idp_rsa();
        let xml = r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0"><saml:Assertion ID="_a1" Version="2.0"><saml:Issuer>idp</saml:Issuer><saml:Subject><saml:NameID>ada&lt;b&gt;@example.test</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"#;
        let signed =
            sign_enveloped_str(xml, "_a1", &kp.key, &kp.cert, &SignOptions::default()).unwrap();
        let r = report(vec![result(
            "saml.x",
            Outcome::Fail,
            vec![Exchange::decoded(
                "SAML Response sent",
                &signed,
                &Redactor::default(),
            )],
        )]);
        let html = render(&r, 1, &Redactor::default());
        assert!(html.contains("signed by signature #1 (Reference URI &quot;#_a1&quot;)"));
        assert!(html.contains(&crate::saml::idp::sha256_fingerprint(&kp.cert)));
        assert!(html.contains("rsa-sha256"));
        assert!(html.contains("saml:NameID"));
        assert!(html.contains("ada&lt;b&gt;@example.test"));
    }
}
