//! The runner: [`run`], its [`Options`], its result [`Finished`] and its [`Error`].

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;

/// Which pipe a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Which lines reach the `on_line` callback of [`run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Deliver {
    /// Every line of both pipes, captured stdout included.
    #[default]
    All,
    /// Only stderr (stdout is captured, or not wanted).
    Stderr,
    /// None: the output is seen only in [`Finished`] or in the error.
    Nothing,
}

/// Which lines the tail keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TailOf {
    /// Stderr only: programs such as Terraform explain their failures there, and stdout holds
    /// progress or data.
    #[default]
    Stderr,
    /// Both pipes in order of arrival: for shell commands whose messages may go either way.
    Output,
}

/// How to run one command.
pub struct Options<'a> {
    /// The command line named in errors (redacted before use); `None` names the command by its
    /// program and arguments ([`command_line`]).
    pub display: Option<String>,
    /// The exit codes that count as success; default `[0]`. A process ended by a signal never
    /// succeeds.
    pub success: Vec<i32>,
    /// Keep stdout in [`Finished::stdout`].
    pub capture_stdout: bool,
    /// Which lines reach the callback.
    pub deliver: Deliver,
    /// How many lines the tail keeps; default 20.
    pub tail_lines: usize,
    /// Which lines the tail keeps.
    pub tail_of: TailOf,
    /// Applied to every line and to the command line before anything leaves [`run`]; the
    /// identity by default.
    pub redact: &'a dyn Fn(&str) -> String,
}

/// A process that exited with an accepted code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// The exit code (always one of [`Options::success`]).
    pub code: Option<i32>,
    /// The redacted stdout, each line ending in `\n`, when [`Options::capture_stdout`]; empty
    /// otherwise.
    pub stdout: String,
    /// The last [`Options::tail_lines`] redacted lines of [`Options::tail_of`].
    pub tail: Vec<String>,
}

/// What can go wrong; every command line and tail here is redacted.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The program could not be started (not found, not executable).
    #[error("cannot start `{program}`")]
    Start {
        /// The program as it was given.
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// Reading the output or waiting for the exit failed.
    #[error("cannot wait for `{command}`")]
    Wait {
        /// The command line.
        command: String,
        #[source]
        source: std::io::Error,
    },
    /// The process exited with a code outside [`Options::success`], or was killed.
    #[error("`{command}` failed ({status}){}", if tail.is_empty() { String::new() } else { format!("\n--- last output ---\n{tail}") })]
    Failed {
        /// The command line.
        command: String,
        /// `exit code 3` or `killed by a signal`.
        status: String,
        /// The exit code; `None` when a signal ended the process.
        code: Option<i32>,
        /// The tail, one line per line.
        tail: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A line as it leaves a reader thread.
type Message = (Stream, std::io::Result<String>);

/// Runs `command` to its end: stdin null, stdout and stderr piped and read on two threads, each
/// line (without its line ending, invalid UTF-8 replaced) redacted and, as [`Options::deliver`]
/// says, given to `on_line` on this thread in order of arrival.
///
/// The caller sets the program, arguments, environment and folder on `command`; this function
/// sets its three standard streams.
pub fn run(mut command: Command, options: &Options<'_>, on_line: &mut dyn FnMut(Stream, &str)) -> Result<Finished> {
    let redact = options.redact;
    let shown_line = redact(&options.display.clone().unwrap_or_else(|| command_line(&command)));
    let shown = || shown_line.clone();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| Error::Start { program: redact(&command.get_program().to_string_lossy()), source })?;
    // Both pipes are read on their own threads so that neither can fill up and stall the child;
    // the lines meet here, in order of arrival, so the callback runs on the caller's thread.
    let (tx, rx) = mpsc::channel::<Message>();
    let mut readers = Vec::new();
    for (stream, pipe) in [
        (Stream::Stdout, child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
        (Stream::Stderr, child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
    ] {
        let Some(pipe) = pipe else { continue };
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || read_lines(stream, pipe, &tx)));
    }
    drop(tx);

    let mut stdout = String::new();
    let mut tail: VecDeque<String> = VecDeque::with_capacity(options.tail_lines);
    let mut read_error = None;
    for (stream, line) in rx {
        let line = match line {
            Ok(line) => redact(&line),
            Err(e) => {
                read_error.get_or_insert(e);
                continue;
            }
        };
        if options.capture_stdout && stream == Stream::Stdout {
            stdout.push_str(&line);
            stdout.push('\n');
        }
        if options.tail_lines > 0 && (options.tail_of == TailOf::Output || stream == Stream::Stderr) {
            if tail.len() == options.tail_lines {
                tail.pop_front();
            }
            tail.push_back(line.clone());
        }
        let deliver = match options.deliver {
            Deliver::All => true,
            Deliver::Stderr => stream == Stream::Stderr,
            Deliver::Nothing => false,
        };
        if deliver {
            on_line(stream, &line);
        }
    }
    for reader in readers {
        // A reader only ends by returning; its errors came through the channel.
        let _ = reader.join();
    }
    let status = child.wait().map_err(|source| Error::Wait { command: shown(), source })?;
    let tail = Vec::from(tail);
    if !status.code().is_some_and(|code| options.success.contains(&code)) {
        return Err(Error::Failed { command: shown(), status: status_text(status), code: status.code(), tail: tail.join("\n") });
    }
    if let Some(source) = read_error {
        return Err(Error::Wait { command: shown(), source });
    }
    Ok(Finished { code: status.code(), stdout, tail })
}

/// The command line of `command` (program and arguments, shell-quoted, lossily UTF-8), not
/// redacted.
pub fn command_line(command: &Command) -> String {
    let words: Vec<String> =
        std::iter::once(command.get_program()).chain(command.get_args()).map(|w| w.to_string_lossy().into_owned()).collect();
    crate::shell_line(&words)
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options {
            display: None,
            success: vec![0],
            capture_stdout: false,
            deliver: Deliver::All,
            tail_lines: 20,
            tail_of: TailOf::Stderr,
            redact: &identity,
        }
    }
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("display", &self.display.as_deref().map(|d| (self.redact)(d)))
            .field("success", &self.success)
            .field("capture_stdout", &self.capture_stdout)
            .field("deliver", &self.deliver)
            .field("tail_lines", &self.tail_lines)
            .field("tail_of", &self.tail_of)
            .finish_non_exhaustive()
    }
}

fn identity(line: &str) -> String {
    line.to_owned()
}

/// `exit code 3`, or `killed by a signal`.
fn status_text(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit code {code}"),
        None => "killed by a signal".to_owned(),
    }
}

/// Sends the lines of `pipe` until it ends, the receiver is gone, or reading fails.
fn read_lines(stream: Stream, pipe: Box<dyn Read + Send>, tx: &mpsc::Sender<Message>) {
    let mut reader = BufReader::new(pipe);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer) {
            Ok(0) => return,
            Ok(_) => {
                if buffer.ends_with(b"\n") {
                    buffer.pop();
                    if buffer.ends_with(b"\r") {
                        buffer.pop();
                    }
                }
                if tx.send((stream, Ok(String::from_utf8_lossy(&buffer).into_owned()))).is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                let _ = tx.send((stream, Err(e)));
                return;
            }
        }
    }
}
