//! The minikube lifecycle: the ordered steps of `minikube up`, `down` and `status` as data, with
//! their exact commands (what `--dry-run` prints), parsers for what minikube prints, and the
//! executor ([`run`]) that carries a plan out through a [`run::Host`]: the embedding tool runs the
//! processes and provides the compose driver and the cluster session. Each step's [`Work`] says
//! what it is; nothing is keyed on step ids.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stack_config::environment::Minikube;

pub mod run;

/// The ordered steps of one minikube command.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `up`, `down` or `status`.
    pub command: String,
    pub profile: String,
    pub steps: Vec<Step>,
}

/// One step: a stable id (for people and tests), what it is for, what it runs, and its kind of
/// work (what the executor acts on).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub id: String,
    pub description: String,
    pub action: Action,
    #[serde(skip)]
    pub work: Work,
}

/// What kind of work a step is: the executor's dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Work {
    /// Look a tool up on `PATH`.
    Find(Tool),
    /// `minikube status`: whether the profile exists and runs.
    Status,
    /// `minikube start`, skipped when the profile runs.
    Start,
    /// A command that must exit 0 (addons, image loads).
    Command,
    /// `minikube docker-env`: the address of minikube's Docker daemon.
    DockerEnv,
    /// Build the images with the compose driver on minikube's Docker daemon.
    BuildImages,
    /// Start the host databases with the compose driver.
    StartDatabases,
    /// Apply the overlay (and wait for its rollouts).
    Apply,
    /// The rollout wait: done by the apply.
    Wait,
    /// Keep a port-forward open until interrupted.
    PortForward,
    /// `minikube stop`; a profile that does not exist is not an error.
    Stop,
    /// List the overlay's workloads.
    Workloads,
}

/// A tool a plan runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Minikube,
    Kubectl,
}

impl Tool {
    /// Its name on `PATH`.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Minikube => "minikube",
            Tool::Kubectl => "kubectl",
        }
    }

    /// How to install it.
    pub fn install_hint(self) -> &'static str {
        match self {
            Tool::Minikube => {
                "install it: https://minikube.sigs.k8s.io/docs/start/ (e.g. `curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube-linux-amd64 && sudo install minikube-linux-amd64 /usr/local/bin/minikube`)"
            }
            Tool::Kubectl => {
                "install it: https://kubernetes.io/docs/tasks/tools/ (or put `minikube kubectl --` behind an alias named kubectl)"
            }
        }
    }
}

/// What a step does. Serialized as `{"exec": [...]}`, `{"api": "..."}` or `{"internal": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Action {
    /// Run this exact argv (the first element is found on `PATH`).
    Exec(Vec<String>),
    /// A Kubernetes API call made by the toolkit itself.
    Api(String),
    /// Work the toolkit does in-process: a `PATH` look-up, the compose driver.
    Internal(String),
}

/// What `up` needs besides the minikube settings; xtask fills it from the catalogue and from the
/// rendered overlay.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanInputs {
    /// The rendered overlay.
    pub overlay: OverlaySummary,
    /// The catalogue deployment that builds the images (`b_a_s`).
    pub build: CatalogueRun,
    /// The image references that build produces (`srvthreds-engine:dev`, ...).
    pub built_images: Vec<String>,
    /// The catalogue deployment that starts the host databases (`s_a_dbs`).
    pub databases: CatalogueRun,
    /// The deadline of each rollout wait.
    pub wait_timeout_secs: u64,
    /// Keep a port-forward to the configured service open at the end.
    pub port_forward: bool,
}

/// A catalogue deployment run as one step.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CatalogueRun {
    pub short_name: String,
    pub services: Vec<String>,
}

/// What an overlay renders to, as far as the plan needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OverlaySummary {
    /// Number of rendered objects.
    pub objects: usize,
    /// `deployment/NAME`, `statefulset/NAME` and `job/NAME`, in render order.
    pub workloads: Vec<String>,
    /// Every container image the pods use, sorted and deduplicated.
    pub images: Vec<String>,
}

/// The state `minikube status --output json` reports for the control-plane node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(rename(deserialize = "Name"), default)]
    pub name: String,
    #[serde(rename(deserialize = "Host"), default)]
    pub host: String,
    #[serde(rename(deserialize = "Kubelet"), default)]
    pub kubelet: String,
    #[serde(rename(deserialize = "APIServer"), default)]
    pub apiserver: String,
    #[serde(rename(deserialize = "Kubeconfig"), default)]
    pub kubeconfig: String,
}

/// A profile's state, as `minikube status` prints it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub profile: String,
    pub running: bool,
    #[serde(flatten)]
    pub state: Status,
}

impl StatusReport {
    pub fn new(profile: &str, state: Status) -> StatusReport {
        StatusReport { profile: profile.to_owned(), running: state.running(), state }
    }
}

impl fmt::Display for StatusReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.state;
        let rows = vec![
            ["PROFILE", "HOST", "KUBELET", "APISERVER", "KUBECONFIG"].map(str::to_owned).to_vec(),
            vec![self.profile.clone(), s.host.clone(), s.kubelet.clone(), s.apiserver.clone(), s.kubeconfig.clone()],
        ];
        f.write_str(stack_config::table::table(&rows).trim_end())
    }
}

/// The Docker daemon inside minikube, from `minikube docker-env --shell none`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DockerEnv {
    /// `DOCKER_HOST`, e.g. `tcp://192.168.49.2:2376`.
    pub host: String,
    /// `DOCKER_TLS_VERIFY`.
    pub tls_verify: Option<String>,
    /// `DOCKER_CERT_PATH`.
    pub cert_path: Option<String>,
    /// `MINIKUBE_ACTIVE_DOCKERD`: the profile whose daemon this is.
    pub active_dockerd: Option<String>,
}

/// What minikube printed could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// `minikube status --output json` printed something else than its JSON document.
    #[error("cannot read the output of `minikube status --output json`: {message}")]
    Status { message: String },
    /// `minikube docker-env --shell none` printed no `DOCKER_HOST`.
    #[error("`minikube docker-env --shell none` printed no DOCKER_HOST line")]
    DockerEnvNoHost,
}

/// minikube's exit code for a profile (or its machine) that does not exist.
pub const EXIT_GUEST_NOT_FOUND: i32 = 85;

/// The state minikube reports for a component that is up.
pub const RUNNING: &str = "Running";

impl Plan {
    /// `minikube up`: find the tools, start the cluster (unless running), enable the addons,
    /// build the images into minikube's Docker daemon, start the host databases, load the images
    /// that are not built, apply the overlay, wait, and port-forward.
    pub fn up(settings: &Minikube, inputs: &PlanInputs) -> Plan {
        let p = settings.profile.as_str();
        let mut steps = vec![
            find(Tool::Minikube, "find minikube on PATH"),
            find(Tool::Kubectl, "find kubectl on PATH (for working with the cluster afterwards)"),
        ];
        steps.push(status_step(p));
        steps.push(Step {
            work: Work::Start,
            id: "start".into(),
            description: format!(
                "start profile `{p}` (driver {}, {} CPUs, {} MB memory, {} disk); skipped when `status` reports it Running",
                settings.driver, settings.cpus, settings.memory_mb, settings.disk_size
            ),
            action: Action::Exec(argv(&[
                "minikube",
                "start",
                "--profile",
                p,
                "--driver",
                &settings.driver,
                "--cpus",
                &settings.cpus.to_string(),
                "--memory",
                &format!("{}mb", settings.memory_mb),
                "--disk-size",
                &settings.disk_size,
            ])),
        });
        for addon in &settings.addons {
            steps.push(Step {
                work: Work::Command,
                id: format!("addon-{addon}"),
                description: format!("enable addon {addon}"),
                action: Action::Exec(argv(&["minikube", "addons", "enable", addon, "--profile", p])),
            });
        }
        steps.push(Step {
            work: Work::DockerEnv,
            id: "docker-env".into(),
            description: "read the address of minikube's Docker daemon (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH)".into(),
            action: Action::Exec(argv(&["minikube", "docker-env", "--profile", p, "--shell", "none"])),
        });
        steps.push(Step {
            work: Work::BuildImages,
            id: "build-images".into(),
            description: format!(
                "build the images straight into minikube's Docker daemon (deployment {}; no registry)",
                inputs.build.short_name
            ),
            action: Action::Internal(format!(
                "compose driver connected with the docker-env values builds {} (unchanged images are skipped)",
                inputs.build.services.join(", ")
            )),
        });
        steps.push(Step {
            work: Work::StartDatabases,
            id: "db-start".into(),
            description: format!(
                "start the host databases the cluster reaches as host.minikube.internal (deployment {}, same as `db start`)",
                inputs.databases.short_name
            ),
            action: Action::Internal(format!(
                "compose driver on the host's Docker engine starts {} and waits until healthy",
                inputs.databases.services.join(", ")
            )),
        });
        for image in images_to_load(&inputs.overlay, &inputs.built_images) {
            steps.push(Step {
                work: Work::Command,
                id: format!("load-image-{}", image_slug(&image)),
                description: format!(
                    "copy {image} from the host's Docker into the cluster (the overlay never pulls: imagePullPolicy Never)"
                ),
                action: Action::Exec(argv(&["minikube", "image", "load", &image, "--profile", p])),
            });
        }
        steps.push(Step {
            work: Work::Apply,
            id: "apply".into(),
            description: format!("apply overlay `{}` to kube context `{p}`", settings.overlay),
            action: Action::Api(format!(
                "server-side apply of the {} objects of overlay {} (namespace first), then prune objects of earlier applies that left it",
                inputs.overlay.objects, settings.overlay
            )),
        });
        steps.push(Step {
            work: Work::Wait,
            id: "wait".into(),
            description: format!("wait for the rollouts (deadline {}s each)", inputs.wait_timeout_secs),
            action: Action::Api(format!(
                "watch {} in namespace {} until rolled out (Jobs: complete)",
                if inputs.overlay.workloads.is_empty() { "the workloads".to_owned() } else { inputs.overlay.workloads.join(", ") },
                settings.namespace
            )),
        });
        if let Some(pf) = settings.port_forward.as_ref().filter(|_| inputs.port_forward) {
            steps.push(Step {
                work: Work::PortForward,
                id: "port-forward".into(),
                description: format!("port-forward http://localhost:{} to svc/{} until Ctrl-C", pf.local_port, pf.service),
                action: Action::Api(format!(
                    "port-forward 127.0.0.1:{} to svc/{}:{} in namespace {} (context {p}), reconnecting when the pod is replaced",
                    pf.local_port, pf.service, pf.remote_port, settings.namespace
                )),
            });
        }
        Plan { command: "up".into(), profile: p.to_owned(), steps }
    }

    /// `minikube down`: stop the cluster, keeping it (and its images) for the next `up`. The
    /// host databases are shared with the Docker workflow and keep running.
    pub fn down(settings: &Minikube) -> Plan {
        let p = settings.profile.as_str();
        let steps = vec![
            find(Tool::Minikube, "find minikube on PATH"),
            Step {
                work: Work::Stop,
                id: "stop".into(),
                description: format!("stop profile `{p}`; the cluster, its images and its objects are kept for the next `minikube up`"),
                action: Action::Exec(argv(&["minikube", "stop", "--profile", p])),
            },
        ];
        Plan { command: "down".into(), profile: p.to_owned(), steps }
    }

    /// `minikube status`: the cluster's state, then its workloads when the API server runs.
    pub fn status(settings: &Minikube) -> Plan {
        let p = settings.profile.as_str();
        let steps = vec![
            find(Tool::Minikube, "find minikube on PATH"),
            status_step(p),
            Step {
                work: Work::Workloads,
                id: "workloads".into(),
                description: format!("workloads of overlay `{}` (only when the API server is Running)", settings.overlay),
                action: Action::Api(format!(
                    "list the Deployments, StatefulSets and Jobs of namespace {} in context {p}",
                    settings.namespace
                )),
            },
        ];
        Plan { command: "status".into(), profile: p.to_owned(), steps }
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }
}

impl OverlaySummary {
    /// Counts the rendered objects and collects their workloads and container images.
    pub fn from_objects(objects: &[Value]) -> OverlaySummary {
        let mut workloads = Vec::new();
        let mut images = BTreeSet::new();
        for o in objects {
            let kind = o.get("kind").and_then(Value::as_str).unwrap_or_default();
            let name = o.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default();
            let pod = match kind {
                "Deployment" | "StatefulSet" | "DaemonSet" | "Job" => o.pointer("/spec/template/spec"),
                "CronJob" => o.pointer("/spec/jobTemplate/spec/template/spec"),
                "Pod" => o.get("spec"),
                _ => None,
            };
            if matches!(kind, "Deployment" | "StatefulSet" | "Job") {
                workloads.push(format!("{}/{name}", kind.to_ascii_lowercase()));
            }
            let containers = ["initContainers", "containers"].into_iter().filter_map(|k| pod?.get(k)?.as_array()).flatten();
            images.extend(containers.filter_map(|c| c.get("image")?.as_str()).map(str::to_owned));
        }
        OverlaySummary { objects: objects.len(), workloads, images: images.into_iter().collect() }
    }
}

impl Status {
    /// Parses `minikube status --output json`, whatever its exit code (minikube encodes the
    /// state in it). A multi-node cluster prints an array: its first entry is the control plane.
    /// `exit_code` [`EXIT_GUEST_NOT_FOUND`] with no JSON means the profile does not exist.
    pub fn parse(exit_code: Option<i32>, stdout: &str) -> Result<Status, ParseError> {
        let text = stdout.trim();
        let parsed = match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(nodes)) => nodes.into_iter().next().ok_or_else(|| "an empty list of nodes".to_owned()),
            Ok(v @ Value::Object(_)) => Ok(v),
            Ok(other) => Err(format!("expected an object, found {other}")),
            Err(e) => Err(e.to_string()),
        };
        match parsed {
            Ok(v) => serde_json::from_value(v).map_err(|e| ParseError::Status { message: e.to_string() }),
            Err(_) if exit_code == Some(EXIT_GUEST_NOT_FOUND) || text.is_empty() => Ok(Status::nonexistent()),
            Err(message) => Err(ParseError::Status { message }),
        }
    }

    /// The state of a profile that does not exist.
    pub fn nonexistent() -> Status {
        let n = || "Nonexistent".to_owned();
        Status { name: String::new(), host: n(), kubelet: n(), apiserver: n(), kubeconfig: n() }
    }

    /// The host and the API server run: `start` has nothing to do.
    pub fn running(&self) -> bool {
        self.host == RUNNING && self.apiserver == RUNNING
    }
}

impl DockerEnv {
    /// Parses `minikube docker-env --shell none` (`KEY=VALUE` lines). `export KEY="VALUE"` lines
    /// (the bash form) and comments are accepted too.
    pub fn parse(text: &str) -> Result<DockerEnv, ParseError> {
        let mut env = DockerEnv::default();
        let mut host = None;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((key, value)) = line.split_once('=') else { continue };
            let value = value.trim().trim_matches('"').to_owned();
            match key.trim() {
                "DOCKER_HOST" => host = Some(value),
                "DOCKER_TLS_VERIFY" => env.tls_verify = Some(value),
                "DOCKER_CERT_PATH" => env.cert_path = Some(value),
                "MINIKUBE_ACTIVE_DOCKERD" => env.active_dockerd = Some(value),
                _ => {}
            }
        }
        env.host = host.filter(|h| !h.is_empty()).ok_or(ParseError::DockerEnvNoHost)?;
        Ok(env)
    }

    /// The value of a Docker client variable, for `stack_compose::EngineOptions::from_env`.
    pub fn get(&self, key: &str) -> Option<String> {
        match key {
            "DOCKER_HOST" => Some(self.host.clone()),
            "DOCKER_TLS_VERIFY" => self.tls_verify.clone(),
            "DOCKER_CERT_PATH" => self.cert_path.clone(),
            "MINIKUBE_ACTIVE_DOCKERD" => self.active_dockerd.clone(),
            _ => None,
        }
    }
}

impl From<&stack_config::infra::Resolved> for CatalogueRun {
    fn from(r: &stack_config::infra::Resolved) -> CatalogueRun {
        CatalogueRun { short_name: r.deployment.short_name.clone(), services: r.services.clone() }
    }
}

impl Step {
    /// `==> [id] description`, and the command line of a step that runs one.
    pub fn announcement(&self) -> String {
        match &self.action {
            Action::Exec(argv) => format!("==> [{}] {}\n    $ {}", self.id, self.description, stack_process::shell_line(argv)),
            _ => format!("==> [{}] {}", self.id, self.description),
        }
    }

    /// The argv of an [`Action::Exec`] step.
    pub fn argv(&self) -> Option<&[String]> {
        match &self.action {
            Action::Exec(argv) => Some(argv),
            _ => None,
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan: minikube {} (profile {}), {} steps", self.command, self.profile, self.steps.len())?;
        for (i, s) in self.steps.iter().enumerate() {
            writeln!(f, "{:>3}. [{}] {}", i + 1, s.id, s.description)?;
            writeln!(f, "       {}", s.action)?;
        }
        Ok(())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Exec(argv) => write!(f, "$ {}", stack_process::shell_line(argv)),
            Action::Api(call) => write!(f, "api: {call}"),
            Action::Internal(what) => write!(f, "internal: {what}"),
        }
    }
}

/// The overlay's images that the build does not produce: they must be copied into the cluster.
pub fn images_to_load(overlay: &OverlaySummary, built: &[String]) -> Vec<String> {
    overlay.images.iter().filter(|i| !built.contains(i)).cloned().collect()
}

fn find(tool: Tool, description: &str) -> Step {
    let name = tool.name();
    Step {
        id: format!("find-{name}"),
        description: description.to_owned(),
        action: Action::Internal(format!("which {name}")),
        work: Work::Find(tool),
    }
}

fn status_step(profile: &str) -> Step {
    Step {
        work: Work::Status,
        id: "status".into(),
        description: format!("ask minikube whether profile `{profile}` exists and runs"),
        action: Action::Exec(argv(&["minikube", "status", "--profile", profile, "--output", "json"])),
    }
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// `rabbitmq:3.10-management` → `rabbitmq`; `registry/x/y:1` → `y`.
fn image_slug(image: &str) -> String {
    let repo = image.split('@').next().unwrap_or(image);
    let last = repo.rsplit('/').next().unwrap_or(repo);
    last.split(':').next().unwrap_or(last).to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use stack_config::environment::PortForward;

    use super::*;

    /// The values of the committed `infrastructure/config/environments.json`.
    fn committed() -> Minikube {
        let path = camino::Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure/config/environments.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let (envs, diags) = stack_config::environment::Environments::parse(&path, &text);
        assert!(diags.is_empty(), "{diags:?}");
        envs.minikube.expect("a minikube section")
    }

    fn custom() -> Minikube {
        Minikube {
            profile: "dev-box".into(),
            driver: "kvm2".into(),
            cpus: 2,
            memory_mb: 4096,
            disk_size: "40g".into(),
            addons: vec!["metrics-server".into(), "ingress".into()],
            overlay: "minikube".into(),
            kube_contexts: vec!["dev-box".into()],
            namespace: "apps".into(),
            port_forward: Some(PortForward { service: "web".into(), local_port: 8080, remote_port: 80 }),
        }
    }

    fn inputs() -> PlanInputs {
        PlanInputs {
            overlay: OverlaySummary {
                objects: 14,
                workloads: vec!["deployment/srvthreds-engine".into(), "statefulset/rabbitmq".into(), "job/srvthreds-bootstrap".into()],
                images: vec!["rabbitmq:3.10-management".into(), "srvthreds-bootstrap:dev".into(), "srvthreds-engine:dev".into()],
            },
            build: CatalogueRun { short_name: "b_a_s".into(), services: vec!["srvthreds-builder".into(), "srvthreds-engine".into()] },
            built_images: vec!["srvthreds-builder:dev".into(), "srvthreds-bootstrap:dev".into(), "srvthreds-engine:dev".into()],
            databases: CatalogueRun { short_name: "s_a_dbs".into(), services: vec!["mongo".into(), "redis".into(), "rabbitmq".into()] },
            wait_timeout_secs: 180,
            port_forward: true,
        }
    }

    fn ids(plan: &Plan) -> Vec<&str> {
        plan.steps.iter().map(|s| s.id.as_str()).collect()
    }

    /// The command line a step runs.
    fn exec_of(step: &Step) -> String {
        step.argv().map(|a| a.join(" ")).unwrap_or_else(|| panic!("step {} runs no command", step.id))
    }

    fn exec(plan: &Plan, id: &str) -> String {
        exec_of(plan.step(id).unwrap_or_else(|| panic!("no step {id} in {plan}")))
    }

    /// Snapshots a plan twice: as `--dry-run` prints it (`NAME.snap`) and as `--output json`
    /// writes it (`NAME_json.snap`). The JSON is serialised from the plan itself, not through a
    /// `serde_json::Value`, so its keys keep the order the command prints them in.
    fn check(name: &str, plan: &Plan) {
        let text = plan.to_string();
        // insta trims the final newline; the one line per step is part of the format.
        assert!(text.ends_with('\n'), "{text:?}");
        insta::assert_snapshot!(name, text);
        insta::assert_json_snapshot!(format!("{name}_json"), plan);
    }

    /// Every plan of the committed `environments.json`, and of other settings (profile, driver, sizes,
    /// addon order, namespace, port-forward).
    #[test]
    fn plans_of_the_committed_and_of_custom_settings() {
        for (name, settings) in [("committed", committed()), ("custom", custom())] {
            check(&format!("up_{name}"), &Plan::up(&settings, &inputs()));
            check(&format!("down_{name}"), &Plan::down(&settings));
            check(&format!("status_{name}"), &Plan::status(&settings));
        }
    }

    #[test]
    fn up_enables_the_addons_in_the_order_of_the_settings() {
        let addons = |settings: &Minikube| -> Vec<String> {
            Plan::up(settings, &inputs()).steps.iter().filter(|s| s.id.starts_with("addon-")).map(exec_of).collect()
        };
        assert_eq!(
            addons(&custom()),
            ["minikube addons enable metrics-server --profile dev-box", "minikube addons enable ingress --profile dev-box"]
        );
        let reversed = Minikube { addons: vec!["ingress".into(), "metrics-server".into()], ..custom() };
        assert_eq!(
            addons(&reversed),
            ["minikube addons enable ingress --profile dev-box", "minikube addons enable metrics-server --profile dev-box"]
        );
        assert!(addons(&Minikube { addons: Vec::new(), ..custom() }).is_empty());
    }

    #[test]
    fn up_loads_only_the_images_the_build_does_not_produce() {
        let plan = Plan::up(&custom(), &inputs());
        let loads: Vec<&str> = ids(&plan).into_iter().filter(|id| id.starts_with("load-image-")).collect();
        assert_eq!(loads, ["load-image-rabbitmq"]);
        assert_eq!(exec(&plan, "load-image-rabbitmq"), "minikube image load rabbitmq:3.10-management --profile dev-box");
    }

    #[test]
    fn up_without_port_forward_ends_with_the_wait() {
        let plan = Plan::up(&committed(), &PlanInputs { port_forward: false, ..inputs() });
        assert_eq!(ids(&plan).last(), Some(&"wait"));
        let plan = Plan::up(&Minikube { port_forward: None, ..custom() }, &inputs());
        assert_eq!(ids(&plan).last(), Some(&"wait"));
        // With both, the port-forward is the last step.
        assert_eq!(ids(&Plan::up(&custom(), &inputs())).last(), Some(&"port-forward"));
    }

    #[test]
    fn down_stops_the_profile_and_nothing_else() {
        let plan = Plan::down(&custom());
        assert_eq!(ids(&plan), ["find-minikube", "stop"]);
        assert_eq!(plan.steps.iter().filter(|s| s.argv().is_some()).count(), 1, "{plan}");
    }

    fn check_docker_env(text: &str, expected: Result<DockerEnv, ParseError>) {
        assert_eq!(DockerEnv::parse(text), expected, "input: {text:?}");
    }

    #[test]
    fn docker_env_of_real_minikube_output() {
        let real = DockerEnv {
            host: "tcp://192.168.49.2:2376".into(),
            tls_verify: Some("1".into()),
            cert_path: Some("/home/u/.minikube/certs".into()),
            active_dockerd: Some("minikube".into()),
        };
        check_docker_env(
            "DOCKER_TLS_VERIFY=1\nDOCKER_HOST=tcp://192.168.49.2:2376\nDOCKER_CERT_PATH=/home/u/.minikube/certs\nMINIKUBE_ACTIVE_DOCKERD=minikube\n",
            Ok(real.clone()),
        );
        // The bash form, with its trailing advice.
        check_docker_env(
            "export DOCKER_TLS_VERIFY=\"1\"\nexport DOCKER_HOST=\"tcp://192.168.49.2:2376\"\nexport DOCKER_CERT_PATH=\"/home/u/.minikube/certs\"\nexport MINIKUBE_ACTIVE_DOCKERD=\"minikube\"\n\n# To point your shell to minikube's docker-daemon, run:\n# eval $(minikube -p minikube docker-env)\n",
            Ok(real),
        );
        check_docker_env("DOCKER_TLS_VERIFY=1\n", Err(ParseError::DockerEnvNoHost));
        check_docker_env("", Err(ParseError::DockerEnvNoHost));
        let env = DockerEnv::parse("DOCKER_HOST=tcp://10.0.0.1:2376\nDOCKER_TLS_VERIFY=1\nDOCKER_CERT_PATH=/c\n").unwrap();
        assert_eq!(env.get("DOCKER_HOST").as_deref(), Some("tcp://10.0.0.1:2376"));
        assert_eq!(env.get("DOCKER_CERT_PATH").as_deref(), Some("/c"));
        assert_eq!(env.get("PATH"), None);
    }

    #[test]
    fn status_of_running_stopped_missing_and_garbage() {
        let running = Status::parse(
            Some(0),
            r#"{"Name":"minikube","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured","Worker":false}"#,
        )
        .unwrap();
        assert!(running.running());
        assert_eq!(running.kubeconfig, "Configured");
        let stopped = Status::parse(
            Some(7),
            r#"{"Name":"minikube","Host":"Stopped","Kubelet":"Stopped","APIServer":"Stopped","Kubeconfig":"Stopped"}"#,
        )
        .unwrap();
        assert!(!stopped.running());
        let nodes = Status::parse(Some(0), r#"[{"Name":"m","Host":"Running","Kubelet":"Running","APIServer":"Running","Kubeconfig":"Configured"},{"Name":"m-m02","Host":"Stopped"}]"#).unwrap();
        assert_eq!(nodes.name, "m");
        assert_eq!(Status::parse(Some(EXIT_GUEST_NOT_FOUND), "* Profile \"x\" not found.\n").unwrap(), Status::nonexistent());
        assert!(matches!(Status::parse(Some(1), "panic: oops"), Err(ParseError::Status { .. })));
    }

    #[test]
    fn overlay_summary_of_rendered_objects() {
        let objects: Vec<Value> = serde_json::from_str(
            r#"[
            {"kind":"Namespace","metadata":{"name":"srvthreds"}},
            {"kind":"Deployment","metadata":{"name":"e"},"spec":{"template":{"spec":{"initContainers":[{"image":"init:1"}],"containers":[{"image":"e:dev"}]}}}},
            {"kind":"StatefulSet","metadata":{"name":"rabbitmq"},"spec":{"template":{"spec":{"containers":[{"image":"rabbitmq:3.10-management"}]}}}},
            {"kind":"Job","metadata":{"name":"b"},"spec":{"template":{"spec":{"containers":[{"image":"e:dev"}]}}}}
        ]"#,
        )
        .unwrap();
        let summary = OverlaySummary::from_objects(&objects);
        assert_eq!(summary.objects, 4);
        assert_eq!(summary.workloads, ["deployment/e", "statefulset/rabbitmq", "job/b"]);
        assert_eq!(summary.images, ["e:dev", "init:1", "rabbitmq:3.10-management"]);
        assert_eq!(images_to_load(&summary, &["e:dev".to_owned()]), ["init:1", "rabbitmq:3.10-management"]);
    }

    #[test]
    fn image_slugs() {
        assert_eq!(image_slug("rabbitmq:3.10-management"), "rabbitmq");
        assert_eq!(image_slug("docker.io/library/redis:7.0"), "redis");
        assert_eq!(image_slug("localhost:5000/x/app@sha256:abc"), "app");
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(text in "\\PC{0,200}", code in proptest::option::of(0i32..256)) {
            let _ = DockerEnv::parse(&text);
            let _ = Status::parse(code, &text);
        }
    }
}
