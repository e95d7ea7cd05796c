//! `smoke`: the checks that say a deployed overlay works (features `cluster` and `health`), run
//! alone (`cargo xtask smoke`) or by `release` after the rollout:
//!
//! - every Service of the overlay in front of a Deployment answers `GET /health` with 200,
//!   through the API server's service proxy (the Service's port named `http`, else its first);
//! - every Job of the overlay has completed;
//! - every data store the services' Secrets name by URL (`amqp://`, `redis://`, `mongodb://`)
//!   answers its protocol, when it runs in the cluster (a Service of the overlay in front of a
//!   StatefulSet): probed through a port-forward to that Service, with the Secret's own
//!   credentials. A store outside the cluster (a host database, a managed service) is listed as
//!   not checked from here, with the reason; the services' `/health` covers what they reach.
//!
//! What is probed is described with every password masked; Secret values are never printed.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;
use stack_config::Infra;
use stack_health::{Check, CheckReport, Live, Prober, Report, RetryPolicy, Status, Target as Probe};
use stack_k8s::cluster::session::{Forward, Mode, Purpose, Session, Target};

use crate::{Console, Error};

/// How long each check may keep failing before it fails.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub deadline: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options { deadline: Duration::from_secs(30) }
    }
}

/// The checks an overlay's objects call for (what a dry run lists).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `GET /health` of these Services (name, port).
    pub services: Vec<ServiceCheck>,
    /// These Jobs have completed.
    pub jobs: Vec<String>,
    /// The Secrets whose URLs name the data stores.
    pub secrets: Vec<String>,
    /// Services in front of StatefulSets: the data stores that run in the cluster.
    pub stores: Vec<StoreService>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceCheck {
    pub service: String,
    /// A port name, or its number when it has none.
    pub port: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreService {
    pub service: String,
    pub ports: Vec<u16>,
}

/// A data store named by a Secret that is not checked from here, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub name: String,
    pub reason: String,
}

/// What the smoke tests found.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SmokeReport {
    pub overlay: String,
    pub namespace: String,
    pub checks: Vec<CheckReport>,
    pub skipped: Vec<Skipped>,
    pub ok: bool,
}

impl SmokeReport {
    /// `2 of 5 checks failed: engine /health, job/srvthreds-bootstrap`, or `5 checks passed`.
    pub fn summary(&self) -> String {
        let failed: Vec<&str> = self.checks.iter().filter(|c| c.status == Status::Fail).map(|c| c.name.as_str()).collect();
        if failed.is_empty() {
            format!("smoke: {} checks passed", self.checks.len())
        } else {
            format!("smoke: {} of {} checks failed: {}", failed.len(), self.checks.len(), failed.join(", "))
        }
    }
}

impl fmt::Display for SmokeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Report::new(self.checks.clone()))?;
        for s in &self.skipped {
            writeln!(f, "not checked from here: {}: {}", s.name, s.reason)?;
        }
        writeln!(f, "{}", self.summary())
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for s in &self.services {
            writeln!(f, "  GET {} of service/{}:{} answers 200", s.path, s.service, s.port)?;
        }
        for j in &self.jobs {
            writeln!(f, "  job/{j} has completed")?;
        }
        let stores: Vec<&str> = self.stores.iter().map(|s| s.service.as_str()).collect();
        if !self.secrets.is_empty() {
            let place =
                if stores.is_empty() { "none runs in the cluster".to_owned() } else { format!("in the cluster: {}", stores.join(", ")) };
            writeln!(f, "  the data stores named by secret {} answer their protocol ({place})", self.secrets.join(", "))?;
        }
        Ok(())
    }
}

fn labels(value: &Value) -> BTreeMap<String, String> {
    value.as_object().into_iter().flatten().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect()
}

fn named<'a>(objects: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    objects.iter().filter(move |o| o["kind"] == kind)
}

fn name(object: &Value) -> String {
    object["metadata"]["name"].as_str().unwrap_or_default().to_owned()
}

/// Whether `selector` (non-empty) picks the pods of `workload`'s template.
fn selects(selector: &BTreeMap<String, String>, workload: &Value) -> bool {
    let pod = labels(&workload["spec"]["template"]["metadata"]["labels"]);
    !selector.is_empty() && selector.iter().all(|(k, v)| pod.get(k) == Some(v))
}

impl Plan {
    /// The checks of an overlay's rendered objects.
    pub fn of(objects: &[Value]) -> Plan {
        let deployments: Vec<&Value> = named(objects, "Deployment").collect();
        let statefulsets: Vec<&Value> = named(objects, "StatefulSet").collect();
        let mut plan = Plan::default();
        for service in named(objects, "Service") {
            let selector = labels(&service["spec"]["selector"]);
            let ports: Vec<&Value> = service["spec"]["ports"].as_array().into_iter().flatten().collect();
            if deployments.iter().any(|d| selects(&selector, d)) {
                let http = ports.iter().find(|p| p["name"] == "http").or(ports.first());
                if let Some(port) = http {
                    let port = port["name"].as_str().map_or_else(|| port["port"].to_string(), str::to_owned);
                    plan.services.push(ServiceCheck { service: name(service), port, path: "/health".to_owned() });
                }
            } else if statefulsets.iter().any(|s| selects(&selector, s)) && service["spec"]["clusterIP"] != "None" {
                let ports = ports.iter().filter_map(|p| p["port"].as_u64().and_then(|n| u16::try_from(n).ok())).collect();
                plan.stores.push(StoreService { service: name(service), ports });
            }
        }
        plan.jobs = named(objects, "Job").map(name).collect();
        for d in &deployments {
            for c in d["spec"]["template"]["spec"]["containers"].as_array().into_iter().flatten() {
                let from_env = c["envFrom"].as_array().into_iter().flatten().filter_map(|e| e["secretRef"]["name"].as_str());
                let from_keys = c["env"].as_array().into_iter().flatten().filter_map(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str());
                for secret in from_env.chain(from_keys) {
                    if !plan.secrets.iter().any(|s| s == secret) {
                        plan.secrets.push(secret.to_owned());
                    }
                }
            }
        }
        plan
    }
}

/// A data store URL of a Secret: `scheme://[user[:password]@]host[:port][/rest]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StoreUrl {
    scheme: String,
    host: String,
    port: u16,
    /// The URL with `host:port` replaced by `{}`.
    template: String,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "amqp" => Some(5672),
        "amqps" => Some(5671),
        "redis" | "rediss" => Some(6379),
        "mongodb" => Some(27017),
        _ => None,
    }
}

fn parse_store_url(url: &str) -> Option<StoreUrl> {
    let (scheme, rest) = url.trim().split_once("://")?;
    let default = default_port(scheme)?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    // Several hosts (a replica set seed list) are not one Service to forward to.
    if hostport.contains(',') || hostport.is_empty() {
        return None;
    }
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (hostport, default),
    };
    let user = userinfo.map(|u| format!("{u}@")).unwrap_or_default();
    Some(StoreUrl { scheme: scheme.to_owned(), host: host.to_owned(), port, template: format!("{scheme}://{user}{{}}{tail}") })
}

impl StoreUrl {
    fn probe(&self, at: SocketAddr) -> Probe {
        let url = self.template.replacen("{}", &at.to_string(), 1);
        match self.scheme.as_str() {
            "amqp" | "amqps" => Probe::Amqp { url },
            "redis" | "rediss" => Probe::Redis { url },
            _ => Probe::Mongo { uri: url, require_primary: false },
        }
    }

    /// The Service of `stores` this host names (`rabbitmq`, `rabbitmq.ns.svc.cluster.local`).
    fn service<'a>(&self, stores: &'a [StoreService], namespace: &str) -> Option<&'a StoreService> {
        let host = self.host.strip_suffix(".svc.cluster.local").unwrap_or(&self.host);
        let host = host.strip_suffix(&format!(".{namespace}")).unwrap_or(host);
        stores.iter().find(|s| s.service == host && s.ports.contains(&self.port))
    }
}

/// `GET` through the API server's service proxy for the targets it knows, the real probes for
/// the others.
struct Proxy<'a> {
    session: &'a Session,
    routes: BTreeMap<String, ServiceCheck>,
}

impl Prober for Proxy<'_> {
    fn probe<'a>(&'a self, target: &'a Probe, attempt_timeout: Duration) -> BoxFuture<'a, stack_health::Result<String>> {
        let route = match target {
            Probe::Http { url, .. } => self.routes.get(url),
            _ => None,
        };
        let Some(route) = route else { return Live.probe(target, attempt_timeout) };
        Box::pin(async move {
            let subject = format!("service/{}:{}", route.service, route.port);
            let step = format!("GET {}", route.path);
            let get = self.session.service_get(&route.service, &route.port, &route.path);
            let answer = tokio::time::timeout(attempt_timeout, get).await.map_err(|_| stack_health::Error::TimedOut {
                target: subject.clone(),
                step: step.clone(),
                after_ms: u64::try_from(attempt_timeout.as_millis()).unwrap_or(u64::MAX),
            })?;
            match answer {
                Ok((200, _)) => Ok("200 OK".to_owned()),
                Ok((code, body)) => {
                    let body: String = body.chars().take(200).collect();
                    Err(stack_health::Error::Step { target: subject, step, message: format!("answered {code}: {body}") })
                }
                Err(e) => Err(stack_health::Error::Step { target: subject, step, message: e.to_string() }),
            }
        })
    }
}

/// Runs `check` (probing the address it is given) while a port-forward to `service:port` runs.
async fn through_forward<F>(session: &Session, service: &str, port: u16, check: impl FnOnce(SocketAddr) -> F) -> Result<CheckReport, Error>
where
    F: Future<Output = CheckReport>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut tx = Some(tx);
    let mut ready = move |bound: SocketAddr| {
        if let Some(tx) = tx.take() {
            let _ = tx.send(bound);
        }
    };
    let forward = Forward { local: SocketAddr::from(([127, 0, 0, 1], 0)), service: service.to_owned(), remote: port };
    let serving = session.port_forward(&forward, &mut ready, Arc::new(|_: &str| {}));
    tokio::pin!(serving);
    let ended = |r: Result<(), stack_k8s::Error>| -> Error {
        match r {
            Err(e) => e.into(),
            Ok(()) => format!("the port-forward to service/{service}:{port} ended").into(),
        }
    };
    let bound = tokio::select! {
        r = &mut serving => return Err(ended(r)),
        bound = rx => bound.map_err(|_| format!("the port-forward to service/{service}:{port} did not bind"))?,
    };
    tokio::select! {
        r = &mut serving => Err(ended(r)),
        report = check(bound) => Ok(report),
    }
}

/// Runs the smoke tests of the overlay `session` is open on. Nothing is changed.
pub async fn run(session: &Session, options: &Options) -> Result<SmokeReport, Error> {
    let plan = Plan::of(session.objects());
    let policy = RetryPolicy { deadline: options.deadline.max(Duration::from_secs(1)), ..RetryPolicy::default() };
    let server = session.info().server.trim_end_matches('/').to_owned();
    let namespace = session.namespace().to_owned();

    // The services' /health, through the API server.
    let mut routes = BTreeMap::new();
    let mut checks = Vec::new();
    for s in &plan.services {
        let url = format!("{server}/api/v1/namespaces/{namespace}/services/{}:{}/proxy{}", s.service, s.port, s.path);
        checks.push(Check::new(
            &format!("{} {}", s.service, s.path),
            Probe::Http { url: url.clone(), expect_status: 200, body_contains: None },
        ));
        routes.insert(url, s.clone());
    }
    let proxy = Proxy { session, routes };
    let mut reports = stack_health::run_all_with(&checks, &policy, &proxy).await.checks;

    // The Jobs, completed.
    let status = session.status().await?;
    for job in &plan.jobs {
        let found = status.workloads.iter().find(|w| &w.name == job && w.kind == stack_k8s::cluster::rollout::WorkloadKind::Job);
        let (passed, state) = found.map_or((false, "missing".to_owned()), |w| (w.is_ready, w.state.clone()));
        reports.push(CheckReport {
            name: format!("job/{job}"),
            target: format!("job/{job} in namespace {namespace} has completed"),
            status: if passed { Status::Pass } else { Status::Fail },
            attempts: 1,
            latency_ms: 0,
            elapsed_ms: 0,
            last_error: (!passed).then(|| format!("job/{job} is {state}, not complete")),
            detail: Some(state),
        });
    }

    // The data stores the services' Secrets name, from inside the cluster where they run there.
    let mut skipped = Vec::new();
    let mut seen = Vec::new();
    for secret in &plan.secrets {
        let Some(values) = session.secret_values(secret).await? else {
            skipped.push(Skipped { name: format!("secret/{secret}"), reason: "it does not exist in the namespace".to_owned() });
            continue;
        };
        for (key, value) in &values {
            let Some(url) = parse_store_url(value) else { continue };
            if seen.contains(&(url.scheme.clone(), url.host.clone(), url.port)) {
                continue;
            }
            seen.push((url.scheme.clone(), url.host.clone(), url.port));
            let name = format!("{} ({key})", url.scheme);
            let Some(store) = url.service(&plan.stores, &namespace) else {
                let reason = format!(
                    "{}:{} is not a data store of the overlay in the cluster; the services' /health says whether they reach it",
                    url.host, url.port
                );
                skipped.push(Skipped { name, reason });
                continue;
            };
            let policy = &policy;
            let report = through_forward(session, &store.service, url.port, |bound| {
                let check = Check::new(&name, url.probe(bound));
                async move {
                    let mut report = stack_health::run(&check, policy).await;
                    report.target = format!("{} via port-forward to service/{}:{}", check.target.kind(), store.service, url.port);
                    report
                }
            })
            .await?;
            reports.push(report);
        }
    }
    let ok = reports.iter().all(|c| c.status != Status::Fail);
    Ok(SmokeReport { overlay: session.overlay().to_owned(), namespace, checks: reports, skipped, ok })
}

/// [`run`] on `overlay` (`None`: `env`'s, see [`crate::release::overlay_for`]) on the cluster of
/// `context` (`None`: the current one), which is only read; the session's notes and the
/// connection line as the console's progress.
pub fn run_overlay(
    infra: &Infra,
    env: &str,
    overlay: Option<&str>,
    context: Option<String>,
    options: &Options,
    console: &Console<'_>,
) -> Result<SmokeReport, Error> {
    let target = Target { overlay: crate::release::overlay_for(infra, env, overlay)?, context, images: None };
    crate::block_on("running the smoke tests", async {
        let (session, notes) = Session::for_overlay(infra, &target, Purpose::Inspect, Mode::Change).await?;
        notes.iter().for_each(|n| console.progress(n));
        console.progress(&session.connected());
        run(&session, options).await
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn store_urls_keep_credentials_and_path_and_take_default_ports() {
        let url = parse_store_url("amqp://u:p%40ss@rabbitmq:5672/vhost?heartbeat=5").unwrap();
        assert_eq!((url.scheme.as_str(), url.host.as_str(), url.port), ("amqp", "rabbitmq", 5672));
        assert_eq!(
            url.probe("127.0.0.1:4000".parse().unwrap()),
            Probe::Amqp { url: "amqp://u:p%40ss@127.0.0.1:4000/vhost?heartbeat=5".into() }
        );
        let redis = parse_store_url("redis://:secret@redis.srvthreds.svc.cluster.local").unwrap();
        assert_eq!((redis.host.as_str(), redis.port), ("redis.srvthreds.svc.cluster.local", 6379));
        assert!(parse_store_url("mongodb://a:27017,b:27017/?replicaSet=rs0").is_none());
        assert!(parse_store_url("http://engine:8081").is_none());
        let stores = [StoreService { service: "redis".into(), ports: vec![6379] }];
        assert!(redis.service(&stores, "srvthreds").is_some());
        assert!(redis.service(&stores, "other").is_none());
    }

    /// The committed minikube overlay's checks: the three services' /health, the Bootstrap Job,
    /// and RabbitMQ (not its headless Service) as the one data store in the cluster.
    #[test]
    fn the_minikube_overlay_plans_its_services_job_and_in_cluster_store() {
        let tree = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure");
        let (infra, _) = Infra::load(&tree, &Default::default()).unwrap();
        let prepared = stack_k8s::overlay::prepare(&infra, "minikube", Purpose::Inspect).unwrap();
        let plan = Plan::of(&stack_k8s::render::render(&prepared.dir).unwrap());
        let services: Vec<(&str, &str, &str)> =
            plan.services.iter().map(|s| (s.service.as_str(), s.port.as_str(), s.path.as_str())).collect();
        assert_eq!(
            services,
            [("engine", "http", "/health"), ("persistence-agent", "http", "/health"), ("session-agent", "http", "/health")]
        );
        assert_eq!(plan.jobs, ["srvthreds-bootstrap"]);
        assert_eq!(plan.stores.iter().map(|s| s.service.as_str()).collect::<Vec<_>>(), ["rabbitmq"]);
        assert!(plan.stores[0].ports.contains(&5672), "{plan:?}");
        assert!(plan.secrets.len() == 1 && plan.secrets[0].starts_with("srvthreds-secrets-"), "{plan:?}");
    }
}
