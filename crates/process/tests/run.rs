//! The runner on real processes (`sh -c ...`): order, capture, tail, accepted exit codes,
//! redaction and a program that does not exist.

#![cfg(unix)]

use std::process::Command;

use stack_process::{Deliver, Error, Finished, Options, Stream, TailOf, run};

fn sh(script: &str) -> Command {
    let mut command = Command::new("sh");
    command.arg("-c").arg(script);
    command
}

/// Runs `script` and returns its result and the delivered lines.
fn check(script: &str, options: &Options<'_>) -> (Result<Finished, Error>, Vec<(Stream, String)>) {
    let mut lines = Vec::new();
    let result = run(sh(script), options, &mut |stream, line| lines.push((stream, line.to_owned())));
    (result, lines)
}

fn out(line: &str) -> (Stream, String) {
    (Stream::Stdout, line.to_owned())
}

fn err(line: &str) -> (Stream, String) {
    (Stream::Stderr, line.to_owned())
}

#[test]
fn lines_arrive_in_order_on_the_callers_thread() {
    // The sleeps make the order of arrival certain across the two pipes.
    let caller = std::thread::current().id();
    let mut threads = Vec::new();
    let result = run(sh("echo a; sleep 0.1; echo b >&2; sleep 0.1; echo c"), &Options::default(), &mut |stream, line| {
        threads.push((std::thread::current().id(), stream, line.to_owned()));
    });
    let finished = result.expect("exit 0");
    assert_eq!(finished.code, Some(0));
    assert_eq!(finished.stdout, "", "stdout is not captured by default");
    assert_eq!(finished.tail, ["b"], "the tail holds stderr by default");
    assert!(threads.iter().all(|(thread, _, _)| *thread == caller));
    let lines: Vec<(Stream, String)> = threads.into_iter().map(|(_, stream, line)| (stream, line)).collect();
    assert_eq!(lines, [out("a"), err("b"), out("c")]);
}

#[test]
fn a_failure_names_the_command_its_status_and_tail() {
    let (result, lines) = check("echo a; echo b >&2; exit 3", &Options::default());
    assert_eq!(lines.len(), 2, "{lines:?}");
    let error = result.expect_err("exit 3");
    let Error::Failed { command, status, code, tail } = &error else { panic!("{error:?}") };
    assert_eq!(command, "sh -c 'echo a; echo b >&2; exit 3'");
    assert_eq!((status.as_str(), *code, tail.as_str()), ("exit code 3", Some(3), "b"));
    assert_eq!(error.to_string(), "`sh -c 'echo a; echo b >&2; exit 3'` failed (exit code 3)\n--- last output ---\nb");
}

#[test]
fn a_failure_without_output_has_no_tail_section() {
    let options = Options { display: Some("the check".to_owned()), ..Options::default() };
    let (result, _) = check("exit 1", &options);
    assert_eq!(result.expect_err("exit 1").to_string(), "`the check` failed (exit code 1)");
}

#[test]
fn a_killed_process_fails_whatever_codes_are_accepted() {
    let options = Options { success: (0..=255).collect(), ..Options::default() };
    let (result, _) = check("kill -9 $$", &options);
    let error = result.expect_err("killed");
    assert!(matches!(&error, Error::Failed { code: None, status, .. } if status == "killed by a signal"), "{error:?}");
}

#[test]
fn accepted_exit_codes() {
    let options = Options { success: vec![0, 3], ..Options::default() };
    let (result, _) = check("echo a; echo b >&2; exit 3", &options);
    assert_eq!(result.expect("3 is accepted").code, Some(3));
    let (result, _) = check("exit 0", &options);
    assert_eq!(result.expect("0 is accepted").code, Some(0));
    let (result, _) = check("exit 1", &options);
    assert!(matches!(result, Err(Error::Failed { code: Some(1), .. })), "{result:?}");

    // Only the listed codes: 0 is not implied.
    let options = Options { success: vec![1], ..Options::default() };
    let (result, _) = check("exit 0", &options);
    assert!(matches!(result, Err(Error::Failed { code: Some(0), .. })), "{result:?}");
}

#[test]
fn captured_stdout_and_what_is_delivered() {
    let script = "echo '{\"a\":1}'; echo progress >&2; echo '{\"b\":2}'";
    let mut options = Options { capture_stdout: true, ..Options::default() };
    let (result, lines) = check(script, &options);
    assert_eq!(result.expect("exit 0").stdout, "{\"a\":1}\n{\"b\":2}\n");
    assert_eq!(lines.len(), 3, "captured lines are still delivered: {lines:?}");

    // Stdout read quietly, stderr shown.
    options.deliver = Deliver::Stderr;
    let (result, lines) = check(script, &options);
    assert_eq!(result.expect("exit 0").stdout, "{\"a\":1}\n{\"b\":2}\n");
    assert_eq!(lines, [err("progress")]);

    // Nothing shown.
    options.deliver = Deliver::Nothing;
    let (result, lines) = check(script, &options);
    assert_eq!(result.expect("exit 0").stdout, "{\"a\":1}\n{\"b\":2}\n");
    assert!(lines.is_empty(), "{lines:?}");
}

#[test]
fn a_quiet_failure_still_shows_its_output_in_the_error() {
    let options = Options { deliver: Deliver::Nothing, tail_of: TailOf::Output, ..Options::default() };
    let (result, lines) = check("echo on stdout; sleep 0.1; echo on stderr >&2; exit 2", &options);
    assert!(lines.is_empty(), "{lines:?}");
    let Err(Error::Failed { tail, .. }) = result else { panic!("{result:?}") };
    assert_eq!(tail, "on stdout\non stderr");
}

#[test]
fn the_tail_keeps_the_last_lines() {
    let script = "i=1; while [ $i -le 25 ]; do echo \"out $i\"; echo \"err $i\" >&2; i=$((i+1)); done; exit 4";
    // Default: the last 20 lines of stderr.
    let (result, _) = check(script, &Options::default());
    let Err(Error::Failed { tail, .. }) = result else { panic!("{result:?}") };
    let expected: Vec<String> = (6..=25).map(|i| format!("err {i}")).collect();
    assert_eq!(tail, expected.join("\n"));

    // The last three lines of both pipes, in order of arrival (the pauses make it certain).
    let options = Options { tail_lines: 3, tail_of: TailOf::Output, success: vec![4], ..Options::default() };
    let (result, _) = check("echo out 1; echo out 2; sleep 0.1; echo err 1 >&2; sleep 0.1; echo out 3; exit 4", &options);
    assert_eq!(result.expect("4 is accepted").tail, ["out 2", "err 1", "out 3"]);

    let options = Options { tail_lines: 0, ..Options::default() };
    let (result, _) = check(script, &options);
    let Err(Error::Failed { tail, .. }) = result else { panic!("{result:?}") };
    assert_eq!(tail, "");
}

#[test]
fn secrets_are_redacted_everywhere() {
    let redact = |line: &str| line.replace("hunter22", "******");
    let options = Options { capture_stdout: true, tail_of: TailOf::Output, redact: &redact, ..Options::default() };
    let (result, lines) = check("echo out hunter22; echo err hunter22 >&2; exit 5", &options);
    // Across two pipes without pauses the order is the scheduler's.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines.contains(&out("out ******")) && lines.contains(&err("err ******")), "{lines:?}");
    let error = result.expect_err("exit 5");
    let message = error.to_string();
    assert!(!message.contains("hunter22") && !format!("{error:?}").contains("hunter22"), "{message}");
    let Error::Failed { command, tail, .. } = &error else { panic!("{error:?}") };
    assert_eq!(command, "sh -c 'echo out ******; echo err ****** >&2; exit 5'");
    assert!(tail.contains("out ******") && tail.contains("err ******"), "{tail}");

    // On success: captured stdout and the tail.
    let (result, _) = check("echo out hunter22; echo err hunter22 >&2", &options);
    let finished = result.expect("exit 0");
    assert_eq!(finished.stdout, "out ******\n");
    assert!(!format!("{finished:?}").contains("hunter22"), "{finished:?}");

    // A display name is redacted too.
    let options = Options { display: Some("deploy --password hunter22".to_owned()), redact: &redact, ..Options::default() };
    let (result, _) = check("exit 1", &options);
    assert_eq!(result.expect_err("exit 1").to_string(), "`deploy --password ******` failed (exit code 1)");
}

#[test]
fn a_program_that_does_not_exist() {
    let mut lines = Vec::new();
    let result =
        run(Command::new("/nonexistent/no-such-program"), &Options::default(), &mut |stream, line| lines.push((stream, line.to_owned())));
    let error = result.expect_err("cannot start");
    let Error::Start { program, source } = &error else { panic!("{error:?}") };
    assert_eq!(program, "/nonexistent/no-such-program");
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(error.to_string(), "cannot start `/nonexistent/no-such-program`");
    assert!(lines.is_empty());
}

#[test]
fn lines_keep_their_text() {
    // CRLF endings lose the CR, a last line without newline is kept, invalid UTF-8 is replaced.
    let options = Options { capture_stdout: true, ..Options::default() };
    let (result, _) = check("printf 'crlf\\r\\nlast'; printf '\\377\\n' >&2", &options);
    let finished = result.expect("exit 0");
    assert_eq!(finished.stdout, "crlf\nlast\n");
    assert_eq!(finished.tail, ["\u{fffd}"]);
}
