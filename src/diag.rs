//! Diagnostics for user-written files (plans, targets): `file:line:col`, the offending line
//! and a caret, then what was expected. Rendered as plain text: these messages go to
//! terminals, CI logs and test snapshots alike.

use std::fmt;

/// A file the user wrote, kept whole so errors can quote it.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name shown in messages: the path as the user gave it, or `builtin:NAME`.
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            text: text.into(),
        }
    }

    /// Line `line` (1-based) without its line break, if it exists.
    pub fn line(&self, line: u64) -> Option<&str> {
        let index = usize::try_from(line.checked_sub(1)?).ok()?;
        self.text.lines().nth(index)
    }
}

/// A 1-based position in a [`Source`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

impl Position {
    pub fn from_yaml(location: &serde_saphyr::Location) -> Option<Self> {
        // serde-saphyr uses 0 for "unknown"; such positions are not worth printing.
        (location.line() > 0).then(|| Self {
            line: location.line(),
            column: location.column().max(1),
        })
    }
}

/// An error in a user-written file. Always exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub position: Option<Position>,
    /// The offending line, quoted under the header when a position exists.
    pub excerpt: Option<String>,
    pub message: String,
    /// What to do about it, when there is something more useful than the message.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `position` in `source` (or about the whole file when `None`).
    pub fn at(source: &Source, position: Option<Position>, message: impl Into<String>) -> Self {
        Self {
            file: source.name.clone(),
            excerpt: position.and_then(|p| source.line(p.line).map(str::to_string)),
            position,
            message: message.into(),
            help: None,
        }
    }

    /// An error about a file as a whole (unreadable, too large, not UTF-8).
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: file.into(),
            position: None,
            excerpt: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// `file:line:col`, or just `file`.
    pub fn location(&self) -> String {
        match self.position {
            Some(p) => format!("{}:{}:{}", self.file, p.line, p.column),
            None => self.file.clone(),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}", self.location())?;
        if let (Some(p), Some(line)) = (self.position, &self.excerpt) {
            let number = p.line.to_string();
            let pad = " ".repeat(number.len());
            // Tabs would misplace the caret; YAML forbids them in indentation anyway.
            let shown = line.replace('\t', " ");
            let caret_at = usize::try_from(p.column.saturating_sub(1)).unwrap_or(0);
            let caret_at = caret_at.min(shown.chars().count());
            write!(
                f,
                "\n{pad} |\n{number} | {shown}\n{pad} | {}^",
                " ".repeat(caret_at)
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_col_with_caret() {
        let src = Source::new("plan.yaml", "plan: x\ntests:\n  - idd: a\n");
        let d = Diagnostic::at(
            &src,
            Some(Position { line: 3, column: 5 }),
            "unknown field `idd`",
        )
        .with_help("did you mean `id`?");
        let text = d.to_string();
        assert_eq!(
            text,
            "error: unknown field `idd`\n  --> plan.yaml:3:5\n  |\n3 |   - idd: a\n  |     ^\n  = help: did you mean `id`?"
        );
    }

    #[test]
    fn whole_file_errors_have_no_excerpt() {
        let d = Diagnostic::file("t.yaml", "file is not UTF-8");
        assert_eq!(d.to_string(), "error: file is not UTF-8\n  --> t.yaml");
    }
}
