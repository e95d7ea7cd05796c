//! A cluster session: one overlay's rendered objects on one connected cluster, in one [`Mode`].
//!
//! Every operation that changes the cluster (apply, scale, rollback, delete) is a method of
//! [`Session`], and each of them honours the mode the session was opened with: under
//! [`Mode::DryRun`] nothing is sent that could change the cluster (apply runs the server-side
//! dry run that `diff` uses; scale, rollback and delete only read), and the report says what
//! would have been done. The wrong-cluster guard applies in both modes: a dry run against the
//! wrong cluster is refused as the real change would be.
//!
//! ```no_run
//! # async fn example(objects: Vec<serde_json::Value>) -> stack_k8s::Result<()> {
//! use stack_k8s::cluster::session::{Mode, Open, Session};
//!
//! let session = Session::open(Open {
//!     overlay: "minikube".to_owned(),
//!     applyset: "minikube".to_owned(),
//!     objects,
//!     context: None,
//!     allowed_contexts: vec!["minikube".to_owned(), "local-k8s".to_owned()],
//!     mode: Mode::DryRun,
//! })
//! .await?;
//! let report = session.scale("srvthreds-engine", 3, None, &mut |_| {}).await?;
//! assert!(report.dry_run);
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;
use stack_config::Infra;

use super::apply::{self, Applied, ApplyOptions, Outcome};
use super::diff::{self, Change, ObjectDiff};
use super::forward;
use super::logs::Follow;
use super::report::context_name;
use super::rollout::{self, State, Workload, WorkloadKind};
use super::{Client, ClusterInfo, ObjectRef, Resolver, workload};
use crate::error::{Error, Result};
use crate::guard::{self, ContextChoice};
pub use crate::overlay::Purpose;

/// Whether a session's operations change the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Mode {
    /// Operations change the cluster.
    Change,
    /// Operations only read (or ask the API server for a dry run) and report what they would do.
    DryRun,
}

/// What to open a session on.
#[derive(Debug, Clone)]
pub struct Open {
    /// The overlay's name (or path), for messages and the guard.
    pub overlay: String,
    /// The apply set: objects labelled with it that leave the overlay are pruned.
    pub applyset: String,
    /// The rendered objects of the overlay.
    pub objects: Vec<Value>,
    /// The kubeconfig context to use; `None`: the current one. Naming it lifts the guard.
    pub context: Option<String>,
    /// The contexts the overlay may change without naming them (patterns with `*`).
    pub allowed_contexts: Vec<String>,
    /// Change, or only say what would change.
    pub mode: Mode,
}

/// Which overlay of an infrastructure tree, on which cluster.
#[derive(Debug, Clone)]
pub struct Target {
    /// A name under `<infra>/k8s/overlays`, or the path of a kustomization directory.
    pub overlay: String,
    /// The kubeconfig context; `None`: the current one. Naming it lifts the guard.
    pub context: Option<String>,
    /// A release record to pin the overlay's images to (see [`crate::pin`]); `None`: the
    /// images as the overlay names them.
    pub images: Option<stack_config::release::Release>,
}

/// An overlay rendered and a cluster connected.
pub struct Session {
    overlay: String,
    applyset: String,
    objects: Vec<Value>,
    namespace: String,
    allowed_contexts: Vec<String>,
    choice: ContextChoice,
    mode: Mode,
    client: Client,
    info: ClusterInfo,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("overlay", &self.overlay)
            .field("namespace", &self.namespace)
            .field("mode", &self.mode)
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// What an operation reports while it runs.
#[derive(Debug)]
pub enum Event<'a> {
    /// One object was applied (or pruned).
    Applied(&'a Applied),
    /// A workload's rollout state changed.
    Rollout(&'a Workload, &'a State),
    /// A workload was rolled back after a failed rollout.
    RolledBack(&'a RolledBack),
}

/// Whether to take over fields that another field manager owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflicts {
    /// Refuse the apply (fields our own `scale`/`rollback` hold are still taken back).
    Refuse,
    /// Take the fields over.
    Force,
}

/// Whether objects of the apply set that left the overlay are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prune {
    /// Delete them.
    Delete,
    /// Keep them.
    Keep,
}

/// What to do when a rollout fails after an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Leave the workloads as they are.
    Stay,
    /// Roll every changed Deployment back to its revision before the apply.
    RollBack,
}

/// How to apply. The default is `k8s apply`'s: refuse conflicts, prune, no wait, stay.
#[derive(Debug, Clone, Copy)]
pub struct Apply {
    pub conflicts: Conflicts,
    pub prune: Prune,
    /// Wait up to this long for every workload to roll out; `None`: do not wait.
    pub wait: Option<Duration>,
    pub on_failure: OnFailure,
}

impl Apply {
    /// Refuse conflicts, prune, wait up to `wait`, and stay on failure.
    pub fn waiting(wait: Option<Duration>) -> Apply {
        Apply { conflicts: Conflicts::Refuse, prune: Prune::Delete, wait, on_failure: OnFailure::Stay }
    }
}

/// What to port-forward.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The local address to listen on.
    pub local: SocketAddr,
    /// A Service name, or `pod/NAME`.
    pub service: String,
    /// The Service port (a pod: the container port).
    pub remote: u16,
}

impl Forward {
    /// `PORTS` (`LOCAL:REMOTE` or one `PORT`) of `service`, listening on `address`.
    pub fn parse(address: &str, service: &str, ports: &str) -> Result<Forward> {
        let (local, remote) = forward::parse_ports(ports)?;
        let address: std::net::IpAddr = address.parse().map_err(|_| Error::Rejected {
            resource: format!("local address `{address}`"),
            message: "not an IP address".to_owned(),
            help: Some("give an IP address such as 127.0.0.1".to_owned()),
        })?;
        Ok(Forward { local: SocketAddr::new(address, local), service: service.to_owned(), remote })
    }
}

/// A Deployment rolled back after a failed rollout.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolledBack {
    pub workload: Workload,
    pub from: i64,
    pub to: i64,
}

impl std::fmt::Display for RolledBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}->{}", self.workload, self.from, self.to)
    }
}

/// The revisions of an overlay's Deployments at one moment ([`Session::revisions`]).
#[derive(Debug, Clone, Default)]
pub struct Revisions(Vec<(Workload, i64)>);

/// What an apply did, or (dry run) would do.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    pub overlay: String,
    pub context: Option<String>,
    pub namespace: String,
    pub dry_run: bool,
    /// Each object and what happened to it (empty in a dry run).
    pub applied: Vec<Applied>,
    /// A dry run: each object that would change, with its diff (unchanged ones left out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<ObjectDiff>>,
    /// The workloads waited for (a dry run: that would be waited for).
    pub workloads: Vec<Workload>,
    pub waited: bool,
    /// The wait deadline asked for, in seconds (`None`: no wait).
    #[serde(skip)]
    pub wait_secs: Option<u64>,
    pub rolled_back: Vec<RolledBack>,
    pub ok: bool,
    /// Why the rollout failed.
    #[serde(serialize_with = "display_error")]
    pub error: Option<Error>,
    /// How many objects were rendered.
    #[serde(skip)]
    rendered: usize,
}

fn display_error<S: serde::Serializer>(error: &Option<Error>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match error {
        Some(e) => s.serialize_some(&format_chain(e)),
        None => s.serialize_none(),
    }
}

/// An error with its sources, `: `-separated.
fn format_chain(error: &Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

impl ApplyReport {
    /// `2 created, 1 configured, ...` (a dry run: `2 to create, 1 to update, ...`).
    pub fn summary(&self) -> String {
        match &self.changes {
            Some(changes) => {
                let count = |c: Change| changes.iter().filter(|d| d.change == c).count();
                let changed = changes.iter().filter(|d| d.change != Change::Prune).count();
                format!(
                    "{} to create, {} to update, {} to recreate, {} to prune, {} unchanged",
                    count(Change::Create),
                    count(Change::Update),
                    count(Change::Recreate),
                    count(Change::Prune),
                    self.rendered.saturating_sub(changed)
                )
            }
            None => {
                let count = |o: Outcome| self.applied.iter().filter(|a| a.outcome == o).count();
                format!(
                    "{} created, {} configured, {} unchanged, {} recreated, {} pruned",
                    count(Outcome::Created),
                    count(Outcome::Configured),
                    count(Outcome::Unchanged),
                    count(Outcome::Recreated),
                    count(Outcome::Pruned)
                )
            }
        }
    }
}

/// The workloads of the overlay and how far each is rolled out.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub overlay: String,
    pub context: Option<String>,
    /// The API server's version.
    #[serde(skip)]
    pub server_version: String,
    pub namespace: String,
    pub all_ready: bool,
    pub workloads: Vec<workload::WorkloadStatus>,
}

/// What a scale did, or would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleReport {
    pub workload: Workload,
    pub context: Option<String>,
    pub from: i32,
    pub to: i32,
    pub dry_run: bool,
    pub waited: bool,
}

/// What a rollback did, or would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackReport {
    pub workload: Workload,
    pub context: Option<String>,
    /// The revision before.
    pub from: i64,
    /// The revision whose template is restored (`from`: nothing to do).
    pub to: i64,
    /// The images of the restored template.
    pub images: Vec<String>,
    pub dry_run: bool,
    pub waited: bool,
}

/// What a delete did, or would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteReport {
    pub namespace: String,
    pub context: Option<String>,
    /// Whether the namespace existed.
    pub existed: bool,
    /// The overlay's objects that exist on the cluster, deleted with it (or that would be).
    pub objects: Vec<ObjectRef>,
    pub dry_run: bool,
}

impl Session {
    /// Connects to the cluster of `open.context` and takes the overlay's namespace from its
    /// objects. Nothing is changed.
    pub async fn open(open: Open) -> Result<Session> {
        let (client, info) = super::connect(open.context.as_deref()).await?;
        Session::with_client(client, info, open)
    }

    /// Prepares `target.overlay` of `infra` for `purpose` (see [`crate::overlay::prepare`]),
    /// renders it, and connects to the cluster of `target.context`, with the kube contexts the
    /// environments declare for the overlay as the guard's list. Returns the preparation's notes
    /// (placeholder secrets used) for the caller to show.
    pub async fn for_overlay(infra: &Infra, target: &Target, purpose: Purpose, mode: Mode) -> Result<(Session, Vec<String>)> {
        let prepared = crate::overlay::prepare(infra, &target.overlay, purpose)?;
        let mut objects = crate::render::render(&prepared.dir)?;
        let mut notes = prepared.notes.clone();
        if let Some(release) = &target.images {
            notes.extend(crate::pin::pin_objects(&mut objects, release).notes());
        }
        let allowed_contexts = prepared.name.as_deref().map(|o| infra.environments.kube_contexts_for(o)).unwrap_or_default();
        let open = Open {
            overlay: prepared.name.clone().unwrap_or_else(|| target.overlay.clone()),
            applyset: prepared.applyset(),
            objects,
            context: target.context.clone(),
            allowed_contexts,
            mode,
        };
        Ok((Session::open(open).await?, notes))
    }

    /// [`Session::for_overlay`] for an apply, then [`Session::apply`]: what `k8s apply` does, as
    /// one call. `notes` gets the preparation's notes and the connection line first.
    pub async fn apply_overlay(
        infra: &Infra,
        target: &Target,
        mode: Mode,
        options: &Apply,
        notes: &mut dyn FnMut(&str),
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<ApplyReport> {
        let (session, prepared) = Session::for_overlay(infra, target, Purpose::Apply, mode).await?;
        for n in &prepared {
            notes(n);
        }
        notes(&session.connected());
        if let Some(timeout) = options.wait.filter(|_| mode == Mode::Change) {
            notes(&format!("applying, then waiting for {} workloads (up to {}s)", session.workloads().len(), timeout.as_secs()));
        }
        session.apply(options, events).await
    }

    /// A session on an already connected client (`info` says what it is connected to).
    pub fn with_client(client: Client, info: ClusterInfo, open: Open) -> Result<Session> {
        let Some(namespace) = super::overlay_namespace(&open.objects) else {
            return Err(Error::Rejected {
                resource: format!("overlay {}", open.overlay),
                message: "it renders no namespace and no namespaced object".to_owned(),
                help: Some("set `namespace:` in its kustomization".to_owned()),
            });
        };
        let choice = if open.context.is_some() { ContextChoice::Explicit } else { ContextChoice::Current };
        Ok(Session {
            overlay: open.overlay,
            applyset: open.applyset,
            objects: open.objects,
            namespace,
            allowed_contexts: open.allowed_contexts,
            choice,
            mode: open.mode,
            client,
            info,
        })
    }

    pub fn overlay(&self) -> &str {
        &self.overlay
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn info(&self) -> &ClusterInfo {
        &self.info
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `context NAME (VERSION at SERVER), namespace NS, overlay O`, and whether it is a dry run.
    pub fn connected(&self) -> String {
        let dry = if self.dry_run() { " (dry run: nothing will be changed)" } else { "" };
        format!(
            "context {} ({} at {}), namespace {}, overlay {}{dry}",
            context_name(&self.info.context),
            self.info.version,
            self.info.server,
            self.namespace,
            self.overlay
        )
    }

    /// Streams the logs of the workload `name` into `sink` (see [`super::logs::stream`]).
    pub async fn logs(&self, name: &str, follow: Follow, tail: Option<i64>, sink: &mut (dyn FnMut(String) + Send)) -> Result<()> {
        let w = self.workload(name)?;
        super::logs::stream(&self.client, &w, follow, tail, sink).await
    }

    /// Forwards `forward.local` to `forward.service`'s port `forward.remote` in the overlay's
    /// namespace until the future is dropped, reconnecting to a new pod when one is replaced.
    /// `ready` gets the bound address (a local port 0 picks a free one) before serving.
    pub async fn port_forward(&self, forward: &Forward, ready: &mut dyn FnMut(SocketAddr), events: forward::Events) -> Result<()> {
        let listener = forward::bind(forward.local).await?;
        let bound = listener.local_addr().map_err(|e| Error::Rejected {
            resource: format!("local address {}", forward.local),
            message: format!("cannot read the bound address: {e}"),
            help: None,
        })?;
        ready(bound);
        let target = forward::ForwardTarget { namespace: self.namespace.clone(), target: forward.service.clone(), port: forward.remote };
        forward::serve(self.client.clone(), listener, target, events).await
    }

    fn dry_run(&self) -> bool {
        self.mode == Mode::DryRun
    }

    /// The wrong-cluster guard: every operation that changes something calls it first, in
    /// both modes (workflows that decide before changing call it themselves).
    pub fn guard(&self) -> Result<()> {
        guard::check(&self.overlay, &self.allowed_contexts, self.info.context.as_deref(), self.choice)
    }

    /// The Deployments, StatefulSets and Jobs of the overlay, in render order.
    pub fn workloads(&self) -> Vec<Workload> {
        self.objects
            .iter()
            .filter_map(ObjectRef::of)
            .filter_map(|o| {
                let kind = WorkloadKind::of(&o)?;
                Some(Workload { kind, namespace: o.namespace.clone().unwrap_or_else(|| self.namespace.clone()), name: o.name })
            })
            .collect()
    }

    /// The pods of `workload` that are not ready, each with why: a container's waiting reason
    /// (`CrashLoopBackOff: ...`), a terminated container's, or the pod's phase.
    pub async fn unready_pods(&self, workload: &Workload) -> Result<Vec<(String, String)>> {
        let pods = rollout::pods_of(&self.client, workload).await?;
        Ok(pods
            .iter()
            .filter(|pod| !rollout::pod_ready(pod) && pod.metadata.deletion_timestamp.is_none())
            .map(|pod| {
                let name = pod.metadata.name.clone().unwrap_or_default();
                let status = pod.status.as_ref();
                let containers = status.into_iter().flat_map(|s| s.container_statuses.iter().flatten());
                let why = containers
                    .filter(|c| !c.ready)
                    .find_map(|c| {
                        let state = c.state.as_ref()?;
                        let (reason, message) = match (&state.waiting, &state.terminated, &state.running) {
                            (Some(w), _, _) => (w.reason.clone().unwrap_or_else(|| "Waiting".into()), w.message.clone()),
                            (_, Some(t), _) => (t.reason.clone().unwrap_or_else(|| "Terminated".into()), t.message.clone()),
                            (_, _, Some(_)) => ("running, readiness probe failing".to_owned(), None),
                            _ => return None,
                        };
                        Some(format!("container `{}` {reason}{}", c.name, message.map(|m| format!(": {m}")).unwrap_or_default()))
                    })
                    .unwrap_or_else(|| format!("phase {}", status.and_then(|s| s.phase.clone()).unwrap_or_else(|| "Unknown".into())));
                (name, why)
            })
            .collect())
    }

    /// The workload named `name` (`srvthreds-engine`, `deployment/srvthreds-engine`,
    /// `deploy/…`, `statefulset/…`, `sts/…`, `job/…`).
    pub fn workload(&self, name: &str) -> Result<Workload> {
        let all = self.workloads();
        let (kind, bare) = match name.split_once('/') {
            Some((k, n)) => (Some(k.to_ascii_lowercase()), n),
            None => (None, name),
        };
        let found = all.iter().find(|w| {
            w.name == bare
                && kind.as_deref().is_none_or(|k| {
                    matches!(
                        (k, w.kind),
                        ("deployment" | "deploy", WorkloadKind::Deployment)
                            | ("statefulset" | "sts", WorkloadKind::StatefulSet)
                            | ("job", WorkloadKind::Job)
                    )
                })
        });
        found.cloned().ok_or_else(|| Error::NotFound {
            what: format!("workload `{name}` in overlay {}", self.overlay),
            help: Some(format!("name one of {}", all.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))),
        })
    }

    /// The objects as they are sent: labelled with the apply set, the Namespace recording every
    /// kind the set has held (the live record read first: a failed read is an error, never
    /// "nothing recorded", which would stop the prune of kinds recorded earlier).
    async fn prepared(&self, resolver: &mut Resolver) -> Result<Vec<Value>> {
        let recorded = apply::recorded_kinds(resolver, &self.namespace).await?;
        apply::prepare(&self.objects, &self.applyset, &recorded)
    }

    /// Server-side apply of every object, prune, and (with `options.wait`) the rollout waits,
    /// rolling back on failure when asked. A dry run computes what `diff` shows and changes
    /// nothing. A failed rollout is in the report (`ok: false`, `error`), not an `Err`.
    pub async fn apply(&self, options: &Apply, events: &mut dyn FnMut(Event<'_>)) -> Result<ApplyReport> {
        self.guard()?;
        let mut resolver = Resolver::new(self.client.clone());
        let objects = self.prepared(&mut resolver).await?;
        let workloads = self.workloads();
        let mut report = ApplyReport {
            overlay: self.overlay.clone(),
            context: self.info.context.clone(),
            namespace: self.namespace.clone(),
            dry_run: self.dry_run(),
            applied: Vec::new(),
            changes: None,
            workloads: workloads.clone(),
            waited: false,
            wait_secs: options.wait.map(|d| d.as_secs()),
            rolled_back: Vec::new(),
            ok: true,
            error: None,
            rendered: objects.len(),
        };
        if self.dry_run() {
            let prune = options.prune == Prune::Delete;
            report.changes = Some(diff::diff(&mut resolver, &objects, &self.namespace, &self.applyset, prune).await?);
            return Ok(report);
        }
        // Revisions before the change, to roll back to.
        let before = match options.on_failure {
            OnFailure::RollBack => self.revisions().await?,
            OnFailure::Stay => Revisions::default(),
        };
        let apply_options = ApplyOptions {
            applyset: self.applyset.clone(),
            force_conflicts: options.conflicts == Conflicts::Force,
            prune: options.prune == Prune::Delete,
            dry_run: false,
        };
        report.applied = apply::apply(&mut resolver, &objects, &self.namespace, &apply_options, &mut |a| events(Event::Applied(a))).await?;
        let Some(timeout) = options.wait else { return Ok(report) };
        report.waited = true;
        if let Err(failure) = self.wait(&workloads, timeout, events).await {
            report.rolled_back = self.roll_back_to(&before, timeout, events).await?;
            report.ok = false;
            report.error = Some(failure);
        }
        Ok(report)
    }

    /// The revision of every Deployment of the overlay that exists now: what
    /// [`Session::roll_back_to`] goes back to.
    pub async fn revisions(&self) -> Result<Revisions> {
        Ok(Revisions(workload::revisions(&self.client, &self.workloads()).await?))
    }

    /// Rolls every Deployment whose revision moved since `before` back to that revision, then
    /// waits up to `timeout` for them. A dry run changes nothing and returns none.
    pub async fn roll_back_to(&self, before: &Revisions, timeout: Duration, events: &mut dyn FnMut(Event<'_>)) -> Result<Vec<RolledBack>> {
        self.guard()?;
        if self.dry_run() {
            return Ok(Vec::new());
        }
        let mut rolled_back = Vec::new();
        for (workload, from, to) in workload::roll_back_changed(&self.client, &before.0).await? {
            let rolled = RolledBack { workload, from, to };
            events(Event::RolledBack(&rolled));
            rolled_back.push(rolled);
        }
        if !rolled_back.is_empty() {
            let back: Vec<Workload> = rolled_back.iter().map(|r| r.workload.clone()).collect();
            self.wait(&back, timeout, events).await?;
        }
        Ok(rolled_back)
    }

    /// The rendered objects of the overlay (a release record's pins applied).
    pub fn objects(&self) -> &[Value] {
        &self.objects
    }

    /// `GET path` of the overlay's Service `service` on its port `port` (a name or a number),
    /// through the API server's service proxy: the status code and the body. Only a failure
    /// to reach the API server is an `Err`; any answer of the service (or of the proxy, such
    /// as 503 when no pod is ready) is a status.
    pub async fn service_get(&self, service: &str, port: &str, path: &str) -> Result<(u16, String)> {
        let uri = format!("/api/v1/namespaces/{}/services/{service}:{port}/proxy{path}", self.namespace);
        let resource = format!("service/{service} in namespace {}", self.namespace);
        let request = http::Request::get(&uri).body(Vec::new()).map_err(|e| Error::Rejected {
            resource: resource.clone(),
            message: format!("cannot build the request GET {uri}: {e}"),
            help: None,
        })?;
        match self.client.request_text(request).await {
            Ok(body) => Ok((200, body)),
            Err(e) => match super::status_of(&e) {
                Some((code, message)) => Ok((code, message.to_owned())),
                None => Err(super::api_error(&format!("GET {path} of"), resource, e)),
            },
        }
    }

    /// The values of the Secret `name` in the overlay's namespace as it is on the cluster
    /// (`None`: there is none). The values are secrets: callers never print them.
    pub async fn secret_values(&self, name: &str) -> Result<Option<std::collections::BTreeMap<String, String>>> {
        use k8s_openapi::api::core::v1::Secret;
        let api: kube::Api<Secret> = kube::Api::namespaced(self.client.clone(), &self.namespace);
        let resource = format!("secret/{name} in namespace {}", self.namespace);
        let Some(secret) = api.get_opt(name).await.map_err(|e| super::api_error("read", &resource, e))? else { return Ok(None) };
        let values = secret.data.unwrap_or_default().into_iter().map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()));
        Ok(Some(values.collect()))
    }

    async fn wait(&self, workloads: &[Workload], timeout: Duration, events: &mut dyn FnMut(Event<'_>)) -> Result<()> {
        rollout::wait_all(&self.client, workloads, timeout, &mut |w, s| events(Event::Rollout(w, s))).await
    }

    /// What an apply would change (server-side dry run), and with `prune` what it would delete.
    pub async fn diff(&self, prune: Prune) -> Result<Vec<ObjectDiff>> {
        let mut resolver = Resolver::new(self.client.clone());
        let objects = self.prepared(&mut resolver).await?;
        diff::diff(&mut resolver, &objects, &self.namespace, &self.applyset, prune == Prune::Delete).await
    }

    /// Every workload of the overlay and how far it is rolled out.
    pub async fn status(&self) -> Result<StatusReport> {
        let workloads = workload::status(&self.client, &self.workloads()).await?;
        Ok(StatusReport {
            overlay: self.overlay.clone(),
            context: self.info.context.clone(),
            server_version: self.info.version.clone(),
            namespace: self.namespace.clone(),
            all_ready: workloads.iter().all(|w| w.is_ready),
            workloads,
        })
    }

    /// Sets the replica count of a Deployment or StatefulSet, then (with `wait`) waits for it.
    /// A dry run reads the current count and changes nothing.
    pub async fn scale(&self, name: &str, replicas: i32, wait: Option<Duration>, events: &mut dyn FnMut(Event<'_>)) -> Result<ScaleReport> {
        self.guard()?;
        let w = self.workload(name)?;
        if replicas < 0 {
            return Err(Error::Rejected {
                resource: w.to_string(),
                message: format!("replicas must be 0 or more, not {replicas}"),
                help: None,
            });
        }
        if w.kind == WorkloadKind::Job {
            return Err(Error::Rejected { resource: w.to_string(), message: "a Job cannot be scaled".to_owned(), help: None });
        }
        let Some(from) = workload::desired_replicas(&self.client, &w).await? else {
            return Err(Error::NotFound {
                what: format!("{w} in namespace {}", w.namespace),
                help: Some("apply the overlay first".to_owned()),
            });
        };
        let mut report = ScaleReport {
            workload: w.clone(),
            context: self.info.context.clone(),
            from,
            to: replicas,
            dry_run: self.dry_run(),
            waited: false,
        };
        if self.dry_run() {
            return Ok(report);
        }
        workload::scale(&self.client, &w, replicas).await?;
        if let Some(timeout) = wait {
            self.wait(std::slice::from_ref(&w), timeout, events).await?;
            report.waited = true;
        }
        Ok(report)
    }

    /// Rolls a Deployment back to revision `to` (default: the one before the current), then
    /// (with `wait`) waits for the rollout. A dry run works out the revision and changes nothing.
    pub async fn rollback(
        &self,
        name: &str,
        to: Option<i64>,
        wait: Option<Duration>,
        events: &mut dyn FnMut(Event<'_>),
    ) -> Result<RollbackReport> {
        self.guard()?;
        let w = self.workload(name)?;
        let plan = workload::plan_rollback(&self.client, &w, to).await?;
        let mut report = RollbackReport {
            workload: w.clone(),
            context: self.info.context.clone(),
            from: plan.from,
            to: plan.to,
            images: plan.images.clone(),
            dry_run: self.dry_run(),
            waited: false,
        };
        if self.dry_run() || plan.from == plan.to {
            return Ok(report);
        }
        workload::execute_rollback(&self.client, &w, &plan).await?;
        if let Some(timeout) = wait {
            self.wait(std::slice::from_ref(&w), timeout, events).await?;
            report.waited = true;
        }
        Ok(report)
    }

    /// The overlay's objects that exist on the cluster, in render order.
    pub async fn live_objects(&self) -> Result<Vec<ObjectRef>> {
        let mut resolver = Resolver::new(self.client.clone());
        let mut live = Vec::new();
        for r in self.objects.iter().filter_map(ObjectRef::of) {
            // A kind this server does not serve has nothing on it.
            let (api, _, _) = match resolver.api_for(&r, &self.namespace).await {
                Ok(found) => found,
                Err(Error::Rejected { .. }) => continue,
                Err(e) => return Err(e),
            };
            if api.get_opt(&r.name).await.map_err(|e| super::api_error("read", &r, e))?.is_some() {
                live.push(r);
            }
        }
        Ok(live)
    }

    /// Deletes the overlay's namespace (and with it everything namespaced) and waits up to
    /// `timeout` until it is gone. A dry run lists what would go and changes nothing. The
    /// caller asks for confirmation first.
    pub async fn delete(&self, timeout: Duration) -> Result<DeleteReport> {
        self.guard()?;
        let existed = workload::namespace_exists(&self.client, &self.namespace).await?;
        let objects = if existed { self.live_objects().await? } else { Vec::new() };
        let report = DeleteReport {
            namespace: self.namespace.clone(),
            context: self.info.context.clone(),
            existed,
            objects,
            dry_run: self.dry_run(),
        };
        if self.dry_run() || !existed {
            return Ok(report);
        }
        workload::delete_namespace(&self.client, &self.namespace, timeout).await?;
        Ok(report)
    }
}
