//! Printing results: human text or one JSON document on stdout. Progress goes to stderr.

use std::io::Write;

use serde::Serialize;

use crate::flags::Output;

/// Where results go and in which format.
#[derive(Debug, Clone, Copy)]
pub struct Out {
    pub format: Output,
    /// Results go to stderr: the output of a step inside a command whose own result is the
    /// one document on stdout.
    pub to_stderr: bool,
}

impl Out {
    /// Results on stdout in `format`.
    pub fn new(format: Output) -> Out {
        Out { format, to_stderr: false }
    }

    /// For the steps of a command that prints one JSON document of its own: their results as
    /// human text on stderr, so stdout holds only that document. Human output is unchanged.
    pub fn nested(self) -> Out {
        if self.is_json() { Out { format: Output::Human, to_stderr: true } } else { self }
    }

    pub fn is_json(self) -> bool {
        self.format == Output::Json
    }

    fn sink(self) -> Box<dyn Write> {
        if self.to_stderr { Box::new(std::io::stderr().lock()) } else { Box::new(std::io::stdout().lock()) }
    }

    /// Prints `value` as one pretty JSON document.
    pub fn json<T: Serialize>(self, value: &T) -> anyhow::Result<()> {
        let mut stdout = self.sink();
        serde_json::to_writer_pretty(&mut stdout, value)?;
        writeln!(stdout)?;
        Ok(())
    }

    /// Prints a report: one JSON document, or its human text (`Display`).
    pub fn print<T: Serialize + std::fmt::Display>(self, report: &T) -> anyhow::Result<()> {
        let text = if self.is_json() { return self.json(report) } else { report.to_string() };
        if text.is_empty() { Ok(()) } else { self.text(&text) }
    }

    /// Prints human text as it is.
    pub fn text(self, text: &str) -> anyhow::Result<()> {
        let mut stdout = self.sink();
        stdout.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            writeln!(stdout)?;
        }
        Ok(())
    }
}

/// Asks `question` on the terminal; an answer other than one of `accepted` (or no terminal to
/// ask on) is an error saying nothing was changed.
pub fn confirm(question: &str, accepted: &[&str]) -> anyhow::Result<()> {
    use std::io::{BufRead, IsTerminal};
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{question}\n  help: not a terminal, so nothing to ask: pass --yes to confirm");
    }
    note(question);
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    anyhow::ensure!(accepted.contains(&answer.trim()), "cancelled: nothing was changed");
    Ok(())
}

/// A line on stderr (notes, warnings, progress).
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}
