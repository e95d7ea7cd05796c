//! Endpoints a test connects to: host, published port, and a URI with the environment's
//! credentials for the stores the stack knows (Redis, MongoDB, RabbitMQ). `Display` and `Debug`
//! never show a password; [`Endpoint::uri`] does, for handing to a client.

use std::fmt;

/// One published port of a service of a test stack.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub service: String,
    /// Where to connect from the test: `127.0.0.1` unless the port is bound to one address.
    pub host: String,
    /// The host port (chosen free by the harness).
    pub port: u16,
    /// The container port it publishes.
    pub container_port: u16,
    pub scheme: Scheme,
    user: Option<String>,
    password: Option<String>,
}

/// The protocol behind a port, from the well-known container port of each store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// 6379: `redis://:PASSWORD@HOST:PORT`.
    Redis,
    /// 27017: `mongodb://HOST:PORT/?directConnection=true` (the replica set's member address is
    /// the container's network alias, which the host cannot resolve).
    Mongodb,
    /// 5672: `amqp://USER:PASSWORD@HOST:PORT`.
    Amqp,
    /// 15672 (RabbitMQ management): `http://USER:PASSWORD@HOST:PORT`.
    Http,
    /// Anything else: `tcp://HOST:PORT`.
    Tcp,
}

impl Scheme {
    /// The scheme of a container port, with the variables holding its user and password.
    pub(crate) fn of(container_port: u16) -> (Scheme, Option<&'static str>, Option<&'static str>) {
        match container_port {
            6379 => (Scheme::Redis, None, Some("REDIS_PASSWORD")),
            27017 => (Scheme::Mongodb, None, None),
            5672 => (Scheme::Amqp, Some("RABBITMQ_DEFAULT_USER"), Some("RABBITMQ_DEFAULT_PASS")),
            15672 => (Scheme::Http, Some("RABBITMQ_DEFAULT_USER"), Some("RABBITMQ_DEFAULT_PASS")),
            _ => (Scheme::Tcp, None, None),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Scheme::Redis => "redis",
            Scheme::Mongodb => "mongodb",
            Scheme::Amqp => "amqp",
            Scheme::Http => "http",
            Scheme::Tcp => "tcp",
        }
    }
}

impl Endpoint {
    pub(crate) fn new(service: &str, host: &str, port: u16, container_port: u16, var: &dyn Fn(&str) -> Option<String>) -> Endpoint {
        let (scheme, user, password) = Scheme::of(container_port);
        Endpoint {
            service: service.to_owned(),
            host: host.to_owned(),
            port,
            container_port,
            scheme,
            user: user.and_then(var),
            password: password.and_then(var),
        }
    }

    /// `HOST:PORT`, for `TcpStream::connect` and the like.
    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The user the store expects, if it has one.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The password the store expects, if it has one.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The connection URI, credentials included (percent-encoded).
    pub fn uri(&self) -> String {
        self.render(false)
    }

    /// The connection URI with the password replaced by `***`, for messages.
    pub fn redacted_uri(&self) -> String {
        self.render(true)
    }

    fn render(&self, redact: bool) -> String {
        let password = self.password.as_deref().map(|p| if redact { "***".to_owned() } else { stack_config::secret::percent_encode(p) });
        let userinfo = match (self.user.as_deref(), password) {
            (Some(u), Some(p)) => format!("{}:{p}@", stack_config::secret::percent_encode(u)),
            (Some(u), None) => format!("{}@", stack_config::secret::percent_encode(u)),
            (None, Some(p)) => format!(":{p}@"),
            (None, None) => String::new(),
        };
        let suffix = if self.scheme == Scheme::Mongodb { "/?directConnection=true" } else { "" };
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{}://{userinfo}{host}:{}{suffix}", self.scheme.as_str(), self.port)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted_uri())
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("service", &self.service)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("container_port", &self.container_port)
            .field("uri", &self.redacted_uri())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(container_port: u16, uri: &str, redacted: &str) {
        let vars = |k: &str| match k {
            "REDIS_PASSWORD" => Some("s3cret/pa ss".to_owned()),
            "RABBITMQ_DEFAULT_USER" => Some("srvthreds".to_owned()),
            "RABBITMQ_DEFAULT_PASS" => Some("rabbit".to_owned()),
            _ => None,
        };
        let e = Endpoint::new("svc", "127.0.0.1", 40001, container_port, &vars);
        assert_eq!(e.uri(), uri);
        assert_eq!(e.redacted_uri(), redacted);
        assert_eq!(e.to_string(), redacted);
        let debug = format!("{e:?}");
        assert!(!debug.contains("s3cret") && !debug.contains("rabbit@"), "{debug}");
    }

    #[test]
    fn uris_carry_credentials_and_messages_do_not() {
        check(6379, "redis://:s3cret%2Fpa%20ss@127.0.0.1:40001", "redis://:***@127.0.0.1:40001");
        check(27017, "mongodb://127.0.0.1:40001/?directConnection=true", "mongodb://127.0.0.1:40001/?directConnection=true");
        check(5672, "amqp://srvthreds:rabbit@127.0.0.1:40001", "amqp://srvthreds:***@127.0.0.1:40001");
        check(15672, "http://srvthreds:rabbit@127.0.0.1:40001", "http://srvthreds:***@127.0.0.1:40001");
        check(3000, "tcp://127.0.0.1:40001", "tcp://127.0.0.1:40001");
    }
}
