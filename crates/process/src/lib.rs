//! One way to run a child process: stdin closed, stdout and stderr read on their own threads,
//! every line redacted and handed to the caller in order of arrival on the caller's thread, the
//! last lines kept for the error, and the exit code checked against a set of accepted codes.
//!
//! ```
//! use std::process::Command;
//!
//! use stack_process::{Options, Stream};
//!
//! let mut command = Command::new("sh");
//! command.args(["-c", "echo hi"]);
//! let options = Options { capture_stdout: true, ..Options::default() };
//! let mut lines = Vec::new();
//! let finished = stack_process::run(command, &options, &mut |stream, line| lines.push((stream, line.to_owned())))?;
//! assert_eq!(finished.code, Some(0));
//! assert_eq!(finished.stdout, "hi\n");
//! assert_eq!(lines, [(Stream::Stdout, "hi".to_owned())]);
//! # Ok::<(), stack_process::Error>(())
//! ```
//!
//! Also the one shell quoting of the workspace, [`shell_line`], for command lines that are shown
//! to people (dry runs, errors) and can be pasted back into a POSIX shell.
//!
//! Nothing here prints, and nothing leaves [`run`] without passing through
//! [`Options::redact`]: the lines given to the callback, [`Finished`] and every [`Error`].
//!
//! The three usual shapes, each with its own accepted exit codes in [`Options::success`]:
//!
//! - read a command's stdout (JSON, say) and show its stderr as progress:
//!   `capture_stdout: true, deliver: Deliver::Stderr`;
//! - run it quietly and show its output only when it fails: `deliver: Deliver::Nothing,
//!   tail_of: TailOf::Output` (and `capture_stdout` when the output is needed);
//! - stream everything as progress: the defaults.

mod run;

pub use run::{Deliver, Error, Finished, Options, Result, Stream, TailOf, command_line, run};

/// `argv` as one POSIX shell command line: plain words as they are, every other word in single
/// quotes (a `'` inside becomes `'\''`), so a shell reads back exactly `argv`.
pub fn shell_line(argv: &[impl AsRef<str>]) -> String {
    argv.iter().map(|word| quote(word.as_ref())).collect::<Vec<_>>().join(" ")
}

/// One word as a POSIX shell reads it back.
fn quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(argv: &[&str], expected: &str) {
        assert_eq!(shell_line(argv), expected, "argv: {argv:?}");
    }

    #[test]
    fn shell_line_quotes_only_what_needs_it() {
        check(&["minikube", "start", "--memory", "8192mb"], "minikube start --memory 8192mb");
        check(
            &["terraform", "-chdir=infra/env/dev", "plan", "-out=.terraform/x.tfplan"],
            "terraform -chdir=infra/env/dev plan -out=.terraform/x.tfplan",
        );
        check(&["user@host:22", "a,b", "+1", "50%"], "user@host:22 a,b +1 50%");
        check(&["sh", "-c", "echo it's"], r"sh -c 'echo it'\''s'");
        check(&["a", ""], "a ''");
        check(&["two words", "$HOME", "a*b", "x;y", "tab\there"], "'two words' '$HOME' 'a*b' 'x;y' 'tab\there'");
        check(&["'"], r"''\'''");
        check(&["é"], "'é'");
        check(&[] as &[&str], "");
    }

    #[test]
    fn shell_line_takes_owned_strings_too() {
        let argv = vec!["echo".to_owned(), "a b".to_owned()];
        assert_eq!(shell_line(&argv), "echo 'a b'");
    }

    /// `sh` reads every quoted line back into the same words.
    #[cfg(unix)]
    #[test]
    fn a_shell_reads_the_words_back() {
        let argv = ["plain", "", "it's", "two  spaces", "$HOME", "`x`", "\"q\"", "back\\slash", "new\nline", "'"];
        let line = shell_line(&argv);
        let output = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("for w in {line}; do printf '%s\\0' \"$w\"; done"))
            .output()
            .unwrap_or_else(|e| panic!("sh: {e}"));
        assert!(output.status.success(), "{output:?}");
        let words: Vec<&str> = std::str::from_utf8(&output.stdout).unwrap_or_else(|e| panic!("{e}")).split_terminator('\0').collect();
        assert_eq!(words, argv);
    }
}
