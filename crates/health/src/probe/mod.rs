//! One probe attempt against one target, bounded by a timeout; the drivers live in submodules.

mod amqp;
mod http;
mod mongo;
mod redis;

use std::time::Duration;

use crate::error::{Error, Result};
use crate::target::Target;

/// Probes `target` once; the whole attempt (connect, authenticate, ask) is bounded by
/// `attempt_timeout`. Returns a short detail on success (`PONG`, `200 OK`, ...).
///
/// Every message is redacted with the target's passwords.
pub async fn probe_once(target: &Target, attempt_timeout: Duration) -> Result<String> {
    let mut step = String::from("connect");
    // A `let` statement, so that the attempt (which borrows `step`) is dropped before `step`
    // is read to name what the attempt was waiting for when it timed out.
    let outcome = tokio::time::timeout(attempt_timeout, attempt(target, attempt_timeout, &mut step)).await;
    let redactor = target.redactor();
    match outcome {
        Ok(Ok(detail)) => Ok(redactor.redact(&detail)),
        Ok(Err(Failure::Invalid(reason))) => Err(Error::InvalidTarget { target: target.subject(), reason: redactor.redact(&reason) }),
        Ok(Err(Failure::Failed(message))) => {
            Err(Error::Step { target: target.subject(), step: redactor.redact(&step), message: redactor.redact(&one_line(&message)) })
        }
        Err(_) => Err(Error::TimedOut { target: target.subject(), step: redactor.redact(&step), after_ms: millis(attempt_timeout) }),
    }
}

/// How an attempt failed, before the target and step are attached.
#[derive(Debug)]
enum Failure {
    /// The target cannot work as written; retrying does not help.
    Invalid(String),
    /// The current step failed.
    Failed(String),
}

async fn attempt(target: &Target, attempt_timeout: Duration, step: &mut String) -> Result<String, Failure> {
    match target {
        Target::Tcp { host, port } => tcp(host, *port).await,
        Target::Http { url, expect_status, body_contains } => http::check(url, *expect_status, body_contains.as_deref(), step).await,
        Target::Redis { url } => redis::ping(url, step).await,
        Target::Mongo { uri, require_primary } => mongo::check(uri, *require_primary, attempt_timeout, step).await,
        Target::Amqp { url } => amqp::open_close(url, step).await,
        Target::RabbitManagement { url, user, password } => http::management(url, user, password, step).await,
    }
}

async fn tcp(host: &str, port: u16) -> Result<String, Failure> {
    if host.is_empty() {
        return Err(Failure::Invalid("empty host".to_owned()));
    }
    let stream = tokio::net::TcpStream::connect((host, port)).await.map_err(|e| Failure::Failed(e.to_string()))?;
    Ok(match stream.peer_addr() {
        Ok(peer) => format!("connected to {peer}"),
        Err(_) => "connected".to_owned(),
    })
}

/// An error and its sources, `: `-separated: drivers often put the useful part (`Connection
/// refused`) only in a source.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Driver messages can span lines (topology dumps); a report line must not.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters of `text`, marked when cut.
fn excerpt(text: &str, max: usize) -> String {
    let text = one_line(text);
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text,
    }
}

pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_on_characters() {
        assert_eq!(excerpt("a\n b  c", 10), "a b c");
        assert_eq!(excerpt("ééééé", 3), "ééé...");
    }

    #[tokio::test]
    async fn invalid_targets_are_permanent_errors() {
        for target in [
            Target::Tcp { host: String::new(), port: 1 },
            Target::Http { url: "ftp://h/x".to_owned(), expect_status: 200, body_contains: None },
            Target::Redis { url: "nonsense".to_owned() },
            Target::Amqp { url: "http://h".to_owned() },
            Target::Mongo { uri: "postgres://h".to_owned(), require_primary: false },
        ] {
            let error = probe_once(&target, Duration::from_secs(5)).await.expect_err("must fail");
            assert!(error.is_permanent(), "{target:?}: {error}");
        }
    }

    #[tokio::test]
    async fn refused_tcp_names_the_step() {
        // Bind then drop, so the port is very likely closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(1);
        let error = probe_once(&Target::Tcp { host: "127.0.0.1".to_owned(), port }, Duration::from_secs(5)).await.expect_err("refused");
        let text = error.to_string();
        assert!(text.starts_with(&format!("tcp at 127.0.0.1:{port}: connect failed: ")), "{text}");
    }
}
