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

/// A line on stderr (notes, warnings, progress).
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Aligns rows into columns separated by two spaces; the first row is the header.
pub fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|i| rows.iter().filter_map(|r| r.get(i)).map(|c| c.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row.iter().enumerate().map(|(i, c)| format!("{c:w$}", w = widths[i])).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}
