//! The checks of an environment, derived from the config model: for a Docker environment, the
//! stores and services of its compose project (host ports, credentials from the service
//! definitions, health URLs from the healthchecks); for a cloud environment, the managed
//! endpoints from its variables.

use std::collections::BTreeMap;

use stack_config::compose::{Project, Service};
use stack_config::secret::percent_encode;

use crate::{Check, Target};

/// How a Docker environment's containers are reached from this host.
#[derive(Debug, Clone, Default)]
pub struct Addresses {
    /// Container IP on its network, by service, for services that publish no host port (a
    /// Linux host reaches bridge-network addresses directly).
    pub container_ips: BTreeMap<String, String>,
}

/// The checks of `services` of a compose project: MongoDB (with "has a PRIMARY" when the service
/// carries a replica-set label), Redis (with the `--requirepass` password), RabbitMQ (AMQP and the
/// management API, with the default user), and every service whose healthcheck GETs a local
/// `http://` URL (probed at the published port, else at the container's address).
pub fn docker_checks(project: &Project, services: &[String], addresses: &Addresses) -> Vec<Check> {
    let mut checks = Vec::new();
    for svc in services.iter().filter_map(|s| project.services.get(s)) {
        let host_port = |target: u16| -> Option<(String, u16)> {
            match svc.ports.iter().find(|p| p.target == target && p.published.is_some()) {
                Some(p) => Some((
                    p.host_ip.clone().filter(|ip| ip != "0.0.0.0").unwrap_or_else(|| "127.0.0.1".to_owned()),
                    p.published.unwrap_or(target),
                )),
                None => addresses.container_ips.get(&svc.name).map(|ip| (ip.clone(), target)),
            }
        };
        let exposes = |port: u16| {
            svc.ports.iter().any(|p| p.target == port) || svc.expose.iter().any(|e| e.split('/').next() == Some(&port.to_string()))
        };
        if exposes(27017) || svc.labels.contains_key("dev.srvthreds.mongo.replica-set") {
            if let Some((host, port)) = host_port(27017) {
                let require_primary = svc.labels.contains_key("dev.srvthreds.mongo.replica-set");
                checks.push(Check::new(
                    &svc.name,
                    Target::Mongo { uri: format!("mongodb://{host}:{port}/?directConnection=true"), require_primary },
                ));
            }
            continue;
        }
        if exposes(6379) {
            if let Some((host, port)) = host_port(6379) {
                let auth = arg_after(svc, "--requirepass").map(|p| format!(":{}@", percent_encode(&p))).unwrap_or_default();
                checks.push(Check::new(&svc.name, Target::Redis { url: format!("redis://{auth}{host}:{port}/") }));
            }
            continue;
        }
        if exposes(5672) {
            let user = env(svc, "RABBITMQ_DEFAULT_USER").unwrap_or_else(|| "guest".to_owned());
            let pass = env(svc, "RABBITMQ_DEFAULT_PASS").unwrap_or_else(|| "guest".to_owned());
            if let Some((host, port)) = host_port(5672) {
                checks.push(Check::new(
                    &svc.name,
                    Target::Amqp { url: format!("amqp://{}:{}@{host}:{port}/%2f", percent_encode(&user), percent_encode(&pass)) },
                ));
            }
            if let Some((host, port)) = host_port(15672).filter(|_| exposes(15672)) {
                checks.push(Check::new(
                    &format!("{}-management", svc.name),
                    Target::RabbitManagement { url: format!("http://{host}:{port}"), user, password: pass },
                ));
            }
            continue;
        }
        if let Some((port, path)) = health_url(svc)
            && let Some((host, port)) = host_port(port)
        {
            checks.push(Check::new(
                &svc.name,
                Target::Http { url: format!("http://{host}:{port}{path}"), expect_status: 200, body_contains: None },
            ));
        }
    }
    checks
}

/// [`docker_checks`] split by whether each service is deployed (has a container in the
/// project, in any state): the checks to run, and those of services that were never started
/// there, addressed as they would be on the project's network (by service name, or their
/// published port), to report as not deployed.
pub fn docker_checks_by_deployment(
    project: &Project,
    services: &[String],
    deployed: &dyn Fn(&str) -> bool,
    addresses: &Addresses,
) -> (Vec<Check>, Vec<Check>) {
    let (present, never): (Vec<String>, Vec<String>) = services.iter().cloned().partition(|s| deployed(s));
    let nowhere = Addresses { container_ips: never.iter().map(|s| (s.clone(), s.clone())).collect() };
    (docker_checks(project, &present, addresses), docker_checks(project, &never, &nowhere))
}

/// The managed endpoints of a cloud environment from its variables (`MONGO_URI`, `REDIS_HOST`,
/// `REDIS_PORT`, `REDIS_PASSWORD`, `REDIS_TLS`, `RABBITMQ_URL`), and the names of the variables
/// that are missing, so the caller can say what to set.
pub fn cloud_checks(get: &dyn Fn(&str) -> Option<String>) -> (Vec<Check>, Vec<&'static str>) {
    let mut checks = Vec::new();
    let mut missing = Vec::new();
    let value = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    match value("MONGO_URI") {
        Some(uri) => checks.push(Check::new("mongodb", Target::Mongo { uri, require_primary: true })),
        None => missing.push("MONGO_URI"),
    }
    match value("REDIS_HOST") {
        Some(host) => {
            let port = value("REDIS_PORT").unwrap_or_else(|| "6379".to_owned());
            let scheme = if value("REDIS_TLS").is_some_and(|t| t == "true" || t == "1") { "rediss" } else { "redis" };
            let auth = value("REDIS_PASSWORD").map(|p| format!(":{}@", percent_encode(&p))).unwrap_or_default();
            checks.push(Check::new("redis", Target::Redis { url: format!("{scheme}://{auth}{host}:{port}/") }));
        }
        None => missing.push("REDIS_HOST"),
    }
    match value("RABBITMQ_URL") {
        Some(url) => checks.push(Check::new("rabbitmq", Target::Amqp { url })),
        None => missing.push("RABBITMQ_URL"),
    }
    (checks, missing)
}

fn arg_after(svc: &Service, flag: &str) -> Option<String> {
    let cmd = svc.command.as_ref()?;
    cmd.iter().position(|a| a == flag).and_then(|i| cmd.get(i + 1)).cloned()
}

fn env(svc: &Service, key: &str) -> Option<String> {
    svc.environment.get(key).cloned().flatten()
}

/// The port and path of the first `http://localhost:PORT/PATH` or `http://127.0.0.1:PORT/PATH`
/// in the service's healthcheck command.
fn health_url(svc: &Service) -> Option<(u16, String)> {
    let text = svc.healthcheck.as_ref()?.test.join(" ");
    for prefix in ["http://127.0.0.1:", "http://localhost:"] {
        if let Some(at) = text.find(prefix) {
            let rest = &text[at + prefix.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let port: u16 = digits.parse().ok()?;
            let path: String =
                rest[digits.len()..].chars().take_while(|c| !c.is_whitespace() && !matches!(c, '\'' | '"' | '`' | ')' | ',')).collect();
            return Some((port, if path.is_empty() { "/".to_owned() } else { path }));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use camino::Utf8Path;

    fn project(yaml: &str) -> Project {
        let f = stack_config::compose::load_file(Utf8Path::new("/x/c.yml"), yaml, &|_| None);
        assert!(!f.diagnostics.has_errors(), "{}", f.diagnostics);
        f.project
    }

    #[test]
    fn services_never_started_are_split_off_at_their_network_address() {
        let p = project(
            r#"
services:
  redis: {image: r, ports: ["36379:6379"]}
  engine: {image: e, expose: ["8081"], healthcheck: {test: ["CMD", "node", "-e", "require('http').get('http://127.0.0.1:8081/health', r => 1)"]}}
"#,
        );
        let all: Vec<String> = p.services.keys().cloned().collect();
        let (run, never) = docker_checks_by_deployment(&p, &all, &|s| s == "redis", &Addresses::default());
        assert_eq!(run.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["redis"]);
        assert_eq!(never.len(), 1, "{never:?}");
        assert!(matches!(&never[0].target, Target::Http { url, .. } if url == "http://engine:8081/health"), "{never:?}");
    }

    #[test]
    fn stores_and_services_of_a_compose_project() {
        let p = project(
            r#"
services:
  mongo: {image: m, ports: ["37017:27017"], labels: {dev.srvthreds.mongo.replica-set: rs0}}
  redis: {image: r, command: ["redis-server", "--requirepass", "p@ss"], ports: ["36379:6379"]}
  rabbitmq: {image: q, environment: {RABBITMQ_DEFAULT_USER: u, RABBITMQ_DEFAULT_PASS: pw}, ports: ["35672:5672", "45672:15672"]}
  engine: {image: e, expose: ["8081"], healthcheck: {test: ["CMD", "node", "-e", "require('http').get('http://127.0.0.1:8081/health', r => 1)"]}}
  web: {image: w, ports: ["33000:3000"], healthcheck: {test: "curl -f http://localhost:3000/health || exit 1"}}
"#,
        );
        let all: Vec<String> = p.services.keys().cloned().collect();
        let addresses = Addresses { container_ips: BTreeMap::from([("engine".to_owned(), "172.18.0.5".to_owned())]) };
        let checks = docker_checks(&p, &all, &addresses);
        let found: Vec<(String, String)> = checks
            .iter()
            .map(|c| {
                let t = match &c.target {
                    Target::Mongo { uri, require_primary } => format!("{uri} primary={require_primary}"),
                    Target::Redis { url } | Target::Amqp { url } => url.clone(),
                    Target::RabbitManagement { url, user, .. } => format!("{url} {user}"),
                    Target::Http { url, .. } => url.clone(),
                    Target::Tcp { host, port } => format!("{host}:{port}"),
                };
                (c.name.clone(), t)
            })
            .collect();
        assert_eq!(
            found,
            vec![
                ("engine".to_owned(), "http://172.18.0.5:8081/health".to_owned()),
                ("mongo".to_owned(), "mongodb://127.0.0.1:37017/?directConnection=true primary=true".to_owned()),
                ("rabbitmq".to_owned(), "amqp://u:pw@127.0.0.1:35672/%2f".to_owned()),
                ("rabbitmq-management".to_owned(), "http://127.0.0.1:45672 u".to_owned()),
                ("redis".to_owned(), "redis://:p%40ss@127.0.0.1:36379/".to_owned()),
                ("web".to_owned(), "http://127.0.0.1:33000/health".to_owned()),
            ]
        );
    }

    #[test]
    fn cloud_endpoints_and_what_is_missing() {
        let vars = BTreeMap::from([("REDIS_HOST", "r.example"), ("REDIS_PASSWORD", "x"), ("REDIS_TLS", "true"), ("MONGO_URI", "")]);
        let (checks, missing) = cloud_checks(&|k| vars.get(k).map(|v| (*v).to_owned()));
        assert_eq!(missing, vec!["MONGO_URI", "RABBITMQ_URL"]);
        assert!(matches!(&checks[0].target, Target::Redis { url } if url == "rediss://:x@r.example:6379/"));
    }
}
