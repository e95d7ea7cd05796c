//! What a check probes: plain data in, with a redacted description and the secrets to mask.

use std::fmt;

use stack_config::secret::{Redactor, redact_uri};

/// One endpoint to probe, and how.
///
/// `Debug` masks every password, so a target can be logged as it is.
#[derive(Clone, PartialEq, Eq)]
pub enum Target {
    /// A TCP connection can be opened.
    Tcp { host: String, port: u16 },
    /// `GET url` answers `expect_status`, and the body contains `body_contains` when given.
    /// `user:password@` in the URL is sent as basic authentication, never as part of the URL.
    Http { url: String, expect_status: u16, body_contains: Option<String> },
    /// Redis answers `PING` after `AUTH` when the URL has a password
    /// (`redis://[user]:password@host:port[/db]`, `rediss://` for TLS).
    Redis { url: String },
    /// MongoDB answers `ping`; with `require_primary`, its replica set also has a PRIMARY.
    /// A URI naming one host and no `replicaSet` connects directly to that host.
    Mongo { uri: String, require_primary: bool },
    /// RabbitMQ accepts an AMQP connection (`amqp://user:password@host:port/vhost`, `amqps://`).
    Amqp { url: String },
    /// RabbitMQ's management API reports no alarms (`GET url/api/health/checks/alarms`).
    RabbitManagement { url: String, user: String, password: String },
}

/// A named check: what the report calls it, and what it probes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    pub target: Target,
}

impl Check {
    pub fn new(name: &str, target: Target) -> Check {
        Check { name: name.to_owned(), target }
    }
}

impl Target {
    /// The kind of probe, as reports and errors name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Tcp { .. } => "tcp",
            Target::Http { .. } => "http",
            Target::Redis { .. } => "redis",
            Target::Mongo { .. } => "mongodb",
            Target::Amqp { .. } => "amqp",
            Target::RabbitManagement { .. } => "rabbitmq management",
        }
    }

    /// A one-line description with every password masked, e.g.
    /// `redis redis://:******@127.0.0.1:6379`.
    pub fn describe(&self) -> String {
        let text = match self {
            Target::Tcp { host, port } => format!("tcp {host}:{port}"),
            Target::Http { url, expect_status, body_contains: None } => format!("GET {url} (expect {expect_status})"),
            Target::Http { url, expect_status, body_contains: Some(needle) } => {
                format!("GET {url} (expect {expect_status}, body contains {needle:?})")
            }
            Target::Redis { url } => format!("redis {url}"),
            Target::Mongo { uri, require_primary: false } => format!("mongodb {uri}"),
            Target::Mongo { uri, require_primary: true } => format!("mongodb {uri} (PRIMARY required)"),
            Target::Amqp { url } => format!("amqp {url}"),
            Target::RabbitManagement { url, user, .. } => format!("GET {}{ALARMS_PATH} as {user}", url.trim_end_matches('/')),
        };
        self.redactor().redact(&text)
    }

    /// What errors start with: the kind and the host part, without credentials, e.g.
    /// `redis at 127.0.0.1:6379`.
    pub(crate) fn subject(&self) -> String {
        let place = match self {
            Target::Tcp { host, port } => format!("{host}:{port}"),
            Target::Http { url, .. } | Target::RabbitManagement { url, .. } | Target::Redis { url } | Target::Amqp { url } => {
                authority(url).to_owned()
            }
            Target::Mongo { uri, .. } => authority(uri).to_owned(),
        };
        self.redactor().redact(&format!("{} at {place}", self.kind()))
    }

    /// A redactor that knows this target's passwords: the management password and the password
    /// of the URL, as written and percent-decoded (drivers may quote either).
    pub fn redactor(&self) -> Redactor {
        let mut redactor = Redactor::new();
        match self {
            Target::Tcp { .. } => {}
            Target::RabbitManagement { url, password, .. } => {
                redactor.add(password);
                add_url_password(&mut redactor, url);
            }
            Target::Http { url, .. } | Target::Redis { url } | Target::Amqp { url } | Target::Mongo { uri: url, .. } => {
                add_url_password(&mut redactor, url);
            }
        }
        redactor
    }
}

/// Where the management API's alarm health check lives, below its base URL.
pub(crate) const ALARMS_PATH: &str = "/api/health/checks/alarms";

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Derived Debug would print passwords; every URL goes through `redact_uri` instead.
        match self {
            Target::Tcp { host, port } => f.debug_struct("Tcp").field("host", host).field("port", port).finish(),
            Target::Http { url, expect_status, body_contains } => f
                .debug_struct("Http")
                .field("url", &redact_uri(url))
                .field("expect_status", expect_status)
                .field("body_contains", body_contains)
                .finish(),
            Target::Redis { url } => f.debug_struct("Redis").field("url", &redact_uri(url)).finish(),
            Target::Mongo { uri, require_primary } => {
                f.debug_struct("Mongo").field("uri", &redact_uri(uri)).field("require_primary", require_primary).finish()
            }
            Target::Amqp { url } => f.debug_struct("Amqp").field("url", &redact_uri(url)).finish(),
            Target::RabbitManagement { url, user, .. } => {
                f.debug_struct("RabbitManagement").field("url", &redact_uri(url)).field("user", user).field("password", &"******").finish()
            }
        }
    }
}

/// The `host[:port][,host:port...]` part of a URL, without scheme, credentials or path.
pub(crate) fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..end).unwrap_or(rest);
    // The last `@` ends the user info, so an unencoded `@` in a password stays out.
    authority.rsplit_once('@').map_or(authority, |(_, hosts)| hosts)
}

/// The user and password of `scheme://user:password@host`, percent-decoded.
pub(crate) fn userinfo(url: &str) -> Option<(String, String)> {
    let rest = url.split_once("://")?.1;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (info, _) = rest.get(..end)?.rsplit_once('@')?;
    let (user, password) = info.split_once(':').unwrap_or((info, ""));
    Some((percent_decode(user), percent_decode(password)))
}

fn add_url_password(redactor: &mut Redactor, url: &str) {
    let Some(rest) = url.split_once("://").map(|(_, rest)| rest) else {
        return;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some((info, _)) = rest.get(..end).and_then(|authority| authority.rsplit_once('@')) else {
        return;
    };
    if let Some((_, raw)) = info.split_once(':') {
        redactor.add(raw);
        redactor.add(&percent_decode(raw));
    }
}

/// Decodes `%XX` escapes; malformed escapes stay as written.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex =
            bytes.get(i + 1..i + 3).and_then(|pair| std::str::from_utf8(pair).ok()).and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (byte, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            _ => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_strips_scheme_credentials_and_path() {
        for (url, expected) in [
            ("redis://:s3cret@127.0.0.1:6379/0", "127.0.0.1:6379"),
            ("mongodb://u:p%40ss@a:1,b:2/?replicaSet=rs0", "a:1,b:2"),
            ("amqp://guest:gu@st@rabbit:5672/%2f", "rabbit:5672"),
            ("http://localhost:15672", "localhost:15672"),
            ("no-scheme:1", "no-scheme:1"),
        ] {
            assert_eq!(authority(url), expected, "{url}");
        }
    }

    #[test]
    fn userinfo_is_decoded() {
        assert_eq!(userinfo("http://admin:p%40ss@h:1/x"), Some(("admin".to_owned(), "p@ss".to_owned())));
        assert_eq!(userinfo("http://h:1/x"), None);
        assert_eq!(userinfo("http://user@h"), Some(("user".to_owned(), String::new())));
    }

    #[test]
    fn passwords_never_show_in_description_subject_or_debug() {
        let targets = [
            Target::Redis { url: "redis://:hunter2pw@127.0.0.1:6379".to_owned() },
            Target::Mongo { uri: "mongodb://root:hunter2pw@db:27017/?authSource=admin".to_owned(), require_primary: true },
            Target::Amqp { url: "amqp://app:hunter2pw@rabbit:5672/%2f".to_owned() },
            Target::Http { url: "https://ops:hunter2pw@example.test/health".to_owned(), expect_status: 200, body_contains: None },
            Target::RabbitManagement { url: "http://rabbit:15672".to_owned(), user: "ops".to_owned(), password: "hunter2pw".to_owned() },
        ];
        for target in targets {
            for text in [target.describe(), target.subject(), format!("{target:?}"), target.redactor().redact("said hunter2pw")] {
                assert!(!text.contains("hunter2pw"), "{text}");
            }
        }
    }

    #[test]
    fn encoded_passwords_are_masked_in_both_forms() {
        let target = Target::Redis { url: "redis://:p%40ssw0rd@h:1".to_owned() };
        let redacted = target.redactor().redact("raw p%40ssw0rd, decoded p@ssw0rd");
        assert!(!redacted.contains("ssw0rd"), "{redacted}");
    }

    #[test]
    fn describe_reads_well() {
        assert_eq!(Target::Tcp { host: "h".to_owned(), port: 1 }.describe(), "tcp h:1");
        assert_eq!(Target::Redis { url: "redis://:secret@h:6379".to_owned() }.subject(), "redis at h:6379");
        assert_eq!(
            Target::RabbitManagement { url: "http://h:15672/".to_owned(), user: "ops".to_owned(), password: "secret".to_owned() }
                .describe(),
            "GET http://h:15672/api/health/checks/alarms as ops"
        );
    }
}
