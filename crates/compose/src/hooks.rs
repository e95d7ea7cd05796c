//! Pre- and post-commands of a deployment: each runs with `sh -c` from the repository root, its
//! output streamed; the first failure stops the sequence with its exit code and output tail.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command as Process, Stdio};

use stack_config::deployment::Command;
use stack_config::secret::Redactor;

/// A command that failed.
#[derive(Debug, thiserror::Error)]
#[error("{description} failed ({status}): `{command}`\n--- last output ---\n{tail}")]
pub struct HookFailed {
    pub description: String,
    pub command: String,
    pub status: String,
    pub exit_code: Option<i32>,
    pub tail: String,
}

/// Runs `commands` in order in `dir`; `on_line` gets each output line (redacted) and each
/// description as it starts.
pub fn run_commands(commands: &[Command], dir: &Path, redactor: &Redactor, on_line: &dyn Fn(&str)) -> Result<(), HookFailed> {
    for c in commands {
        on_line(&format!("» {}: {}", c.description, redactor.redact(&c.command)));
        let fail = |status: String, exit_code: Option<i32>, tail: String| HookFailed {
            description: c.description.clone(),
            command: redactor.redact(&c.command),
            status,
            exit_code,
            tail,
        };
        let mut child = Process::new("sh")
            .arg("-c")
            .arg(&c.command)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("could not start: {e}"), None, String::new()))?;
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let readers: Vec<_> = [
            child.stdout.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            })
        })
        .collect();
        drop(tx);
        let mut tail: Vec<String> = Vec::new();
        for line in rx {
            let line = redactor.redact(&line);
            on_line(&format!("  {line}"));
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
        for r in readers {
            let _ = r.join();
        }
        let status = child.wait().map_err(|e| fail(format!("could not wait: {e}"), None, tail.join("\n")))?;
        if !status.success() {
            let text = match status.code() {
                Some(code) => format!("exit code {code}"),
                None => "killed by a signal".to_owned(),
            };
            return Err(fail(text, status.code(), tail.join("\n")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Mutex;

    fn cmd(description: &str, command: &str) -> Command {
        Command { description: description.to_owned(), command: command.to_owned() }
    }

    #[test]
    fn stops_at_the_first_failure_with_its_code_and_tail() {
        let lines = Mutex::new(Vec::new());
        let mut redactor = Redactor::new();
        redactor.add("hunter22");
        let err = run_commands(
            &[cmd("one", "echo first"), cmd("two", "echo oops hunter22; exit 3"), cmd("three", "echo never")],
            Path::new("."),
            &redactor,
            &|l| lines.lock().unwrap().push(l.to_owned()),
        )
        .unwrap_err();
        assert_eq!(err.exit_code, Some(3));
        assert!(err.tail.contains("oops ******"), "{}", err.tail);
        let lines = lines.into_inner().unwrap();
        assert!(lines.iter().any(|l| l.contains("first")));
        assert!(!lines.iter().any(|l| l.contains("never") && !l.starts_with('»')), "{lines:?}");
        assert!(!lines.iter().any(|l| l.contains("hunter22")), "{lines:?}");
    }
}
