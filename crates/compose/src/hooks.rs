//! Pre- and post-commands of a deployment: each runs with `sh -c` from the repository root, its
//! output streamed; the first failure stops the sequence with its exit code and output tail.

use std::path::Path;
use std::process::Command as Process;

use stack_config::deployment::Command;
use stack_config::secret::Redactor;
use stack_process::{Options, TailOf};

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
/// description as it starts. A failure keeps the last 20 lines of both pipes: shell commands
/// print their complaints on either.
pub fn run_commands(commands: &[Command], dir: &Path, redactor: &Redactor, on_line: &dyn Fn(&str)) -> Result<(), HookFailed> {
    let redact = |text: &str| redactor.redact(text);
    for c in commands {
        on_line(&format!("» {}: {}", c.description, redactor.redact(&c.command)));
        let mut process = Process::new("sh");
        process.arg("-c").arg(&c.command).current_dir(dir);
        let options = Options { display: Some(c.command.clone()), tail_of: TailOf::Output, redact: &redact, ..Options::default() };
        let fail = |status: String, exit_code: Option<i32>, tail: String| HookFailed {
            description: c.description.clone(),
            command: redactor.redact(&c.command),
            status,
            exit_code,
            tail,
        };
        stack_process::run(process, &options, &mut |_, line| on_line(&format!("  {line}"))).map_err(|error| match error {
            stack_process::Error::Start { source, .. } => fail(format!("could not start: {source}"), None, String::new()),
            stack_process::Error::Wait { source, .. } => fail(format!("could not wait: {source}"), None, String::new()),
            stack_process::Error::Failed { status, code, tail, .. } => fail(status, code, tail),
        })?;
    }
    Ok(())
}

/// Runs a catalogue entry once, whatever its target (Docker or Kubernetes): its pre-commands,
/// then `target` (the entry's action, returning its exit code), then, only when that exited 0,
/// its post-commands. Commands run from `repo_root` with `resolved`'s secrets redacted in what
/// they print. A failed command stops the entry with [`HookFailed`] (converted into `E`).
pub fn run_entry<E: From<HookFailed>>(
    resolved: &stack_config::infra::Resolved,
    repo_root: &Path,
    on_line: &dyn Fn(&str),
    target: impl FnOnce() -> Result<u8, E>,
) -> Result<u8, E> {
    let redactor = resolved.vars.redactor();
    run_commands(&resolved.target.pre_build_commands, repo_root, &redactor, on_line)?;
    let code = target()?;
    if code == 0 {
        run_commands(&resolved.target.post_build_commands, repo_root, &redactor, on_line)?;
    }
    Ok(code)
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

    /// The real `s_a_dbs` entry of the repository, with `pre` and `post` as its commands.
    fn entry(pre: Vec<Command>, post: Vec<Command>) -> stack_config::infra::Resolved {
        let root = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure");
        let (infra, _) = stack_config::Infra::load(&root, &stack_config::infra::LoadOptions::default()).unwrap();
        let (mut resolved, _) = infra.resolve("local", "s_a_dbs").unwrap();
        resolved.target.pre_build_commands = pre;
        resolved.target.post_build_commands = post;
        resolved
    }

    #[test]
    fn an_entry_runs_pre_then_target_then_post_only_on_success() {
        let lines = Mutex::new(Vec::new());
        let on_line = |l: &str| lines.lock().unwrap().push(l.to_owned());
        let resolved = entry(vec![cmd("pre", "echo pre-ran")], vec![cmd("post", "echo post-ran")]);
        let code = run_entry::<HookFailed>(&resolved, Path::new("."), &on_line, || {
            lines.lock().unwrap().push("target".to_owned());
            Ok(0)
        })
        .unwrap();
        assert_eq!(code, 0);
        let seen: Vec<String> = lines.lock().unwrap().drain(..).filter(|l| !l.starts_with('»')).map(|l| l.trim().to_owned()).collect();
        assert_eq!(seen, ["pre-ran", "target", "post-ran"]);

        // A failed target skips the post-commands and keeps its code.
        let code = run_entry::<HookFailed>(&resolved, Path::new("."), &on_line, || Ok(3)).unwrap();
        assert_eq!(code, 3);
        assert!(!lines.lock().unwrap().iter().any(|l| l.trim() == "post-ran"), "{:?}", lines.lock().unwrap());

        // A failed pre-command stops the entry before its target.
        let failing = entry(vec![cmd("pre", "exit 4")], Vec::new());
        let error = run_entry::<HookFailed>(&failing, Path::new("."), &on_line, || panic!("the target ran")).unwrap_err();
        assert_eq!(error.exit_code, Some(4));
    }
}
