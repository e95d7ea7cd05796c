//! `doctor`: checks this machine for what environment `env` needs before anything runs — the
//! Docker Engine and its API version, the tools on `PATH` and their versions, the kube context,
//! the host ports the stack publishes, disk space, inotify limits, AWS credentials. Every
//! finding is ok, a warning or an error, with the fix. Read only.
//!
//! The port check is the one `up` runs before it creates anything
//! ([`stack_compose::Engine::port_conflicts`]); the tools' install hints are the ones
//! `minikube up` and `cloud plan` fail with; the context check is the wrong-cluster guard.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use stack_compose::{Engine, EngineOptions};
use stack_config::Infra;
use stack_config::environment::Kind;
use stack_k8s::guard::{self, ContextChoice};
use stack_k8s::minikube::Tool;

use crate::Error;

/// The oldest engine API the toolkit speaks (Docker 20.10).
const MIN_API: (u32, u32) = (1, 41);
/// Free space below which a build or a pull is likely to fail.
const DISK_ERROR_GIB: u64 = 2;
const DISK_WARN_GIB: u64 = 10;
/// Watches below this make a file watcher fall back to polling on a repository this size.
const MIN_INOTIFY_WATCHES: u64 = 65_536;
const MIN_INOTIFY_INSTANCES: u64 = 128;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Error,
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub check: String,
    pub level: Level,
    /// What was found.
    pub detail: String,
    /// What to do about it (warnings and errors).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    fn new(check: impl Into<String>, level: Level, detail: impl Into<String>, fix: Option<String>) -> Finding {
        Finding { check: check.into(), level, detail: detail.into(), fix }
    }
}

/// Every finding for one environment; `ok` when none is an error.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DoctorReport {
    pub environment: String,
    pub findings: Vec<Finding>,
    pub ok: bool,
}

impl DoctorReport {
    fn new(environment: &str, findings: Vec<Finding>) -> DoctorReport {
        let ok = findings.iter().all(|f| f.level != Level::Error);
        DoctorReport { environment: environment.to_owned(), findings, ok }
    }

    /// The findings at `level`.
    pub fn at(&self, level: Level) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.level == level)
    }
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.findings.iter().map(|x| x.check.len()).max().unwrap_or(0);
        for x in &self.findings {
            let mark = match x.level {
                Level::Ok => "ok",
                Level::Warning => "warning",
                Level::Error => "error",
            };
            writeln!(f, "{mark:<7}  {:<width$}  {}", x.check, x.detail)?;
            if let Some(fix) = &x.fix {
                writeln!(f, "{:<7}  {:<width$}  fix: {fix}", "", "")?;
            }
        }
        let (errors, warnings) = (self.at(Level::Error).count(), self.at(Level::Warning).count());
        write!(f, "doctor ({}): {errors} error(s), {warnings} warning(s)", self.environment)
    }
}

/// What the checks read from outside: `PATH` lookups and the environment, so a test can hand
/// them another `PATH`.
#[derive(Clone)]
pub struct Probe<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
}

impl fmt::Debug for Probe<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Probe")
    }
}

impl Probe<'_> {
    /// This process's environment.
    pub fn process() -> Probe<'static> {
        Probe { var: &|k| std::env::var(k).ok() }
    }

    fn which(&self, tool: &str) -> Option<PathBuf> {
        let path = (self.var)("PATH").unwrap_or_default();
        let cwd = std::env::current_dir().unwrap_or_default();
        which::which_in(tool, Some(path), cwd).ok()
    }
}

/// A tool the toolkit runs, which environments need it, and how to install it.
struct ToolSpec {
    name: &'static str,
    version_args: &'static [&'static str],
    needed_by: &'static [Kind],
    install: &'static str,
}

fn tools() -> [ToolSpec; 4] {
    [
        ToolSpec {
            name: "kubectl",
            version_args: &["version", "--client"],
            needed_by: &[Kind::Minikube, Kind::Cloud],
            install: Tool::Kubectl.install_hint(),
        },
        ToolSpec {
            name: "minikube",
            version_args: &["version", "--short"],
            needed_by: &[Kind::Minikube],
            install: Tool::Minikube.install_hint(),
        },
        ToolSpec {
            name: "terraform",
            version_args: &["version"],
            needed_by: &[Kind::Cloud],
            install: "install Terraform 1.11 or later (https://developer.hashicorp.com/terraform/install) and put it on PATH",
        },
        ToolSpec {
            name: "docker-compose",
            version_args: &["version", "--short"],
            needed_by: &[],
            install: "only `bench compose` runs it: install Docker Compose (`apt-get install docker-compose`)",
        },
    ]
}

/// Runs every check for environment `env` of `infra`.
pub fn run(infra: &Infra, env: &str, probe: &Probe<'_>) -> Result<DoctorReport, Error> {
    let environment = infra.environments.get(env)?;
    let kind = environment.kind;
    let mut findings = Vec::new();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;

    // The engine: every environment builds or runs containers on it.
    let engine = rt.block_on(async {
        let engine = Engine::connect(&EngineOptions::from_env(probe.var)).await?;
        let version = engine.version().await?;
        Ok::<_, stack_compose::Error>((engine, version))
    });
    let engine = match engine {
        Ok((engine, v)) => {
            let old = api(&v.api_version).is_some_and(|a| a < MIN_API);
            let detail = format!("Docker Engine {} (API {}) at {}", v.version, v.api_version, v.endpoint);
            let fix = old.then(|| "upgrade the Docker Engine to 20.10 (API 1.41) or newer".to_owned());
            findings.push(Finding::new("docker engine", if old { Level::Error } else { Level::Ok }, detail, fix));
            Some(engine)
        }
        Err(e) => {
            let fix = "start the engine (`sudo systemctl start docker`, or `dockerd &`), or point DOCKER_HOST at one".to_owned();
            findings.push(Finding::new("docker engine", Level::Error, first_line(&e.to_string()), Some(fix)));
            None
        }
    };

    // The tools on PATH.
    for tool in tools() {
        let needed = tool.needed_by.contains(&kind);
        let check = format!("tool {}", tool.name);
        match probe.which(tool.name) {
            Some(path) => findings.push(Finding::new(
                check,
                Level::Ok,
                format!("{} ({})", version_of(&path, tool.version_args), path.display()),
                None,
            )),
            None if needed => findings.push(Finding::new(
                check,
                Level::Error,
                format!("not found on PATH; environment `{env}` needs it"),
                Some(tool.install.to_owned()),
            )),
            None => findings.push(Finding::new(
                check,
                Level::Warning,
                format!("not found on PATH (not needed by environment `{env}`)"),
                Some(tool.install.to_owned()),
            )),
        }
    }

    // The kube context the cluster commands would change.
    if let Some(overlay) = environment.overlay.as_deref() {
        findings.push(kube_context(infra, overlay, probe));
    }

    // The host ports the stack publishes (its containers, or minikube's host data stores).
    if kind.has_docker() {
        let short = if kind == Kind::Minikube { crate::minikube::DATABASES } else { "s_a_dbs_s" };
        let (resolved, _) = infra.resolve(env, short)?;
        if let (Some(engine), Some(project)) = (&engine, &resolved.compose) {
            let services: Vec<_> = project.services.values().filter(|s| resolved.services.contains(&s.name)).collect();
            let ports: Vec<u16> = services.iter().flat_map(|s| s.ports.iter().filter_map(|p| p.published)).collect();
            match rt.block_on(engine.port_conflicts(&resolved.project_name, &services)) {
                Ok(conflicts) if conflicts.is_empty() => findings.push(Finding::new(
                    "host ports",
                    Level::Ok,
                    format!("{} free or held by the stack's own containers", list(&ports)),
                    None,
                )),
                Ok(conflicts) => {
                    for c in conflicts {
                        let stack_compose::Error::PortInUse { service, port, protocol, holder } = &c else { continue };
                        findings.push(Finding::new(
                            format!("host port {port}"),
                            Level::Error,
                            format!("{port}/{protocol} of service {service} is held by {holder}"),
                            Some(format!("stop {holder}, or set another host port for {service} in the environment's env file")),
                        ));
                    }
                }
                Err(e) => {
                    findings.push(Finding::new("host ports", Level::Warning, format!("not checked: {}", first_line(&e.to_string())), None))
                }
            }
        }
    }

    // Disk space where images and builds go.
    for (what, dir) in
        [("disk (docker data)", PathBuf::from("/var/lib/docker")), ("disk (this directory)", std::env::current_dir().unwrap_or_default())]
    {
        if let Some(f) = disk(what, &dir) {
            findings.push(f);
        }
    }

    // inotify: a file watcher's limits.
    findings.extend(inotify());

    // AWS credentials for the cloud commands.
    if kind == Kind::Cloud {
        findings.push(aws_credentials(probe));
    }
    Ok(DoctorReport::new(env, findings))
}

/// `1.47` as (1, 47).
fn api(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().trim().to_owned()
}

fn list(ports: &[u16]) -> String {
    match ports {
        [] => "no published port".to_owned(),
        _ => format!("ports {}", ports.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// The first line a tool prints of its version (`version unknown` when it fails).
fn version_of(path: &Path, args: &[&str]) -> String {
    match Command::new(path).args(args).output() {
        Ok(out) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            text.lines().find(|l| !l.trim().is_empty()).map_or_else(|| "version unknown".to_owned(), |l| l.trim().to_owned())
        }
        _ => "version unknown".to_owned(),
    }
}

/// The current kube context against the contexts `overlay` may be applied to: the guard's
/// verdict, with its fix.
fn kube_context(infra: &Infra, overlay: &str, probe: &Probe<'_>) -> Finding {
    let Some(kubectl) = probe.which("kubectl") else {
        return Finding::new("kube context", Level::Warning, "not checked: kubectl is not on PATH", None);
    };
    let mut command = Command::new(kubectl);
    command.args(["config", "current-context"]);
    if let Some(kubeconfig) = (probe.var)("KUBECONFIG") {
        command.env("KUBECONFIG", kubeconfig);
    }
    let current = command.output().ok().filter(|o| o.status.success()).map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
    let allowed = infra.environments.kube_contexts_for(overlay);
    match guard::check(overlay, &allowed, current.as_deref(), ContextChoice::Current) {
        Ok(()) => Finding::new("kube context", Level::Ok, format!("`{}` may run overlay {overlay}", current.unwrap_or_default()), None),
        Err(e) => {
            let text = e.to_string();
            let (detail, help) = text.split_once("\nhelp: ").unwrap_or((&text, ""));
            let fix = match allowed.iter().find(|a| !a.contains('*')) {
                Some(context) => format!("`kubectl config use-context {context}`, or pass --context NAME to the cluster commands"),
                None => help.to_owned(),
            };
            let detail = if current.is_none() { format!("no current context; {detail}") } else { detail.to_owned() };
            Finding::new("kube context", Level::Error, detail, Some(fix))
        }
    }
}

/// Free space of the file system holding `dir` (`df -Pk`); nothing when it does not exist.
fn disk(what: &str, dir: &Path) -> Option<Finding> {
    if !dir.exists() {
        return None;
    }
    let out = Command::new("df").arg("-Pk").arg(dir).output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let available_kib: u64 = text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()?;
    let gib = available_kib / (1024 * 1024);
    let detail = format!("{gib} GiB free on the file system of {}", dir.display());
    let fix =
        || Some(format!("free space there (`docker system prune` removes unused images and build cache; at least {DISK_WARN_GIB} GiB)"));
    Some(if gib < DISK_ERROR_GIB {
        Finding::new(what, Level::Error, detail, fix())
    } else if gib < DISK_WARN_GIB {
        Finding::new(what, Level::Warning, detail, fix())
    } else {
        Finding::new(what, Level::Ok, detail, None)
    })
}

/// inotify's per-user limits, which a file watcher (`dev`) needs.
fn inotify() -> Vec<Finding> {
    let read = |name: &str| std::fs::read_to_string(format!("/proc/sys/fs/inotify/{name}")).ok().and_then(|t| t.trim().parse::<u64>().ok());
    let mut findings = Vec::new();
    for (name, min, raise) in [("max_user_watches", MIN_INOTIFY_WATCHES, 524_288), ("max_user_instances", MIN_INOTIFY_INSTANCES, 512)] {
        let check = format!("inotify {name}");
        match read(name) {
            Some(v) if v >= min => findings.push(Finding::new(check, Level::Ok, v.to_string(), None)),
            Some(v) => findings.push(Finding::new(
                check,
                Level::Warning,
                format!("{v} (below {min}: file watching falls back to polling)"),
                Some(format!("`sudo sysctl -w fs.inotify.{name}={raise}` (and a line in /etc/sysctl.d/ to keep it)")),
            )),
            None => findings.push(Finding::new(check, Level::Warning, "not readable (no inotify here?)", None)),
        }
    }
    findings
}

/// Whether the AWS SDK's default chain has something to start from.
fn aws_credentials(probe: &Probe<'_>) -> Finding {
    let var = |k: &str| (probe.var)(k).filter(|v| !v.is_empty());
    let home = var("HOME").map(PathBuf::from).unwrap_or_default();
    let source = if var("AWS_ACCESS_KEY_ID").is_some() && var("AWS_SECRET_ACCESS_KEY").is_some() {
        Some("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_owned())
    } else if let Some(file) = var("AWS_WEB_IDENTITY_TOKEN_FILE") {
        Some(format!("web identity token {file}"))
    } else if let Some(profile) = var("AWS_PROFILE") {
        Some(format!("profile {profile}"))
    } else {
        [home.join(".aws/credentials"), home.join(".aws/config")].into_iter().find(|p| p.is_file()).map(|p| format!("{}", p.display()))
    };
    match source {
        Some(source) => Finding::new("aws credentials", Level::Ok, format!("from {source} (not verified against AWS)"), None),
        None => Finding::new(
            "aws credentials",
            Level::Error,
            "none found: no AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity token or ~/.aws files",
            Some("`aws configure` (or `aws sso login --profile P` and AWS_PROFILE=P); CI uses OIDC".to_owned()),
        ),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn api_versions_compare_as_numbers() {
        assert!(api("1.9").unwrap() < MIN_API && api("1.47").unwrap() > MIN_API && api("1.41").unwrap() == MIN_API);
        assert_eq!(api("x"), None);
    }

    #[test]
    fn credentials_come_from_the_environment_or_the_files() {
        let none = |_: &str| None;
        assert_eq!(aws_credentials(&Probe { var: &none }).level, Level::Error);
        let keys = |k: &str| matches!(k, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY").then(|| "AKIAVALUE".to_owned());
        let found = aws_credentials(&Probe { var: &keys });
        assert_eq!(found.level, Level::Ok);
        assert!(!found.detail.contains("AKIAVALUE"), "a credential's value in the finding: {found:?}");
    }

    #[test]
    fn the_report_is_ok_without_errors_and_names_every_finding() {
        let report = DoctorReport::new(
            "local",
            vec![
                Finding::new("tool minikube", Level::Warning, "not found", Some("install it".into())),
                Finding::new("docker engine", Level::Ok, "28.2.2", None),
            ],
        );
        assert!(report.ok);
        let text = report.to_string();
        assert!(text.contains("warning  tool minikube  not found") && text.contains("fix: install it"), "{text}");
        assert!(text.ends_with("doctor (local): 0 error(s), 1 warning(s)"), "{text}");
    }
}
