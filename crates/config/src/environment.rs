//! Environments (`environments.json`) and the variables of each, read from its env file.

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::decode::{Ctx, join};
use crate::node::{self, Location, Node};
use crate::secret::Redactor;
use crate::{Diagnostic, Diagnostics, envfile, suggest};

/// Every environment, plus the minikube settings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Environments {
    pub file: Utf8PathBuf,
    pub environments: BTreeMap<String, Environment>,
    pub minikube: Option<Minikube>,
}

/// Where an environment runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Containers on the local Docker engine.
    Docker,
    /// EKS with managed data services.
    Cloud,
    /// A Kubernetes cluster on this machine (minikube, or the local cluster) for the services,
    /// with the data stores on the host's Docker (its compose `project`, as `db start` runs them).
    Minikube,
}

impl Kind {
    /// Whether compose deployments run in this environment: Docker's containers, or
    /// minikube's host data stores.
    pub fn has_docker(self) -> bool {
        matches!(self, Kind::Docker | Kind::Minikube)
    }
}

/// One environment.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub name: String,
    pub description: String,
    pub kind: Kind,
    /// Compose project name (docker environments).
    pub project: Option<String>,
    /// Env file, relative to the infrastructure root; `<file>.example` is the fallback.
    pub env_file: Option<String>,
    pub cluster: Option<Cluster>,
    pub overlay: Option<String>,
    /// Kube contexts this environment's overlay may be applied to.
    pub kube_contexts: Vec<String>,
    /// Changes need `--yes` or an interactive confirmation.
    pub confirm: bool,
    #[serde(skip)]
    pub location: Location,
}

/// An EKS cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    pub name: String,
    pub region: String,
}

/// Minikube settings (Phase 2).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Minikube {
    pub profile: String,
    pub driver: String,
    pub cpus: u64,
    pub memory_mb: u64,
    pub disk_size: String,
    pub addons: Vec<String>,
    pub overlay: String,
    pub kube_contexts: Vec<String>,
    pub namespace: String,
    pub port_forward: Option<PortForward>,
}

/// A port-forward kept open after `minikube up`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PortForward {
    pub service: String,
    pub local_port: u16,
    pub remote_port: u16,
}

/// The resolved variables of an environment, with the keys that hold secrets.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    /// The env file actually read (the real one or its `.example`), if any.
    pub source: Option<Utf8PathBuf>,
    /// Values from the env file, interpolated.
    pub file: BTreeMap<String, String>,
    /// The process environment, which overrides the file as in Docker Compose.
    pub process: BTreeMap<String, String>,
    /// Extra values (a deployment's per-environment `env`), which override both.
    pub extra: BTreeMap<String, String>,
    /// Keys marked or recognised as secret.
    pub secret_keys: BTreeSet<String>,
}

impl Vars {
    /// The value of a variable: extra, then process environment, then env file.
    pub fn get(&self, key: &str) -> Option<String> {
        self.extra.get(key).or_else(|| self.process.get(key)).or_else(|| self.file.get(key)).cloned()
    }

    /// A redactor that knows every secret value of this environment.
    pub fn redactor(&self) -> Redactor {
        let mut r = Redactor::new();
        for key in &self.secret_keys {
            if let Some(v) = self.get(key) {
                r.add(&v);
            }
        }
        r
    }
}

impl Environments {
    /// The kube contexts overlay `overlay` may be applied to: the `kubeContexts` of the
    /// environments whose overlay it is, and of the minikube settings when it is theirs.
    pub fn kube_contexts_for(&self, overlay: &str) -> Vec<String> {
        let mut allowed: Vec<String> = self
            .environments
            .values()
            .filter(|e| e.overlay.as_deref() == Some(overlay))
            .flat_map(|e| e.kube_contexts.iter().cloned())
            .collect();
        if let Some(m) = self.minikube.as_ref().filter(|m| m.overlay == overlay) {
            allowed.extend(m.kube_contexts.iter().cloned());
        }
        allowed
    }

    /// Parses `environments.json` from its text.
    pub fn parse(file: &Utf8Path, text: &str) -> (Environments, Diagnostics) {
        let mut diags = Diagnostics::new();
        let mut out = Environments { file: file.to_owned(), ..Default::default() };
        match node::parse_json(text) {
            Ok(root) => {
                let mut ctx = Ctx { file, diags: &mut diags };
                decode(&mut ctx, &root, &mut out);
            }
            Err(e) => diags.push(
                Diagnostic::error(file, Some(e.location), "", format!("invalid JSON: {}", e.message))
                    .with_help("fix the JSON syntax at this position"),
            ),
        }
        (out, diags)
    }

    /// The environment with this name, or an error suggesting the closest.
    pub fn get(&self, name: &str) -> Result<&Environment, Diagnostic> {
        self.environments.get(name).ok_or_else(|| {
            Diagnostic::error(&self.file, None, "environments", format!("unknown environment `{name}`"))
                .with_help_opt(suggest::did_you_mean(name, self.environments.keys().map(String::as_str)))
        })
    }

    /// The EKS cluster of environment `name`; an environment without one is an error that
    /// names those that have one.
    pub fn cluster(&self, name: &str) -> Result<&Cluster, Diagnostic> {
        let env = self.get(name)?;
        env.cluster.as_ref().ok_or_else(|| {
            let with: Vec<&str> = self.environments.values().filter(|e| e.cluster.is_some()).map(|e| e.name.as_str()).collect();
            Diagnostic::error(
                &self.file,
                None,
                "environments",
                format!("environment `{name}` has no EKS cluster (it is a {:?} environment)", env.kind),
            )
            .with_help(format!("the environments with a cluster: {}", with.join(", ")))
        })
    }
}

/// Parses and resolves an env file's text. `process` is the process environment.
pub fn resolve_env_text(file: &Utf8Path, text: &str, process: &BTreeMap<String, String>) -> Result<Vars, Diagnostic> {
    let parsed = envfile::parse(text).map_err(|e| {
        Diagnostic::error(file, Some(Location { line: e.line, column: e.column }), "", e.message.clone())
            .with_help("env files hold `KEY=VALUE` lines and `#` comments")
    })?;
    let resolved = parsed
        .resolve(&|k| process.get(k).cloned())
        .map_err(|e| Diagnostic::error(file, Some(Location { line: e.line, column: e.column }), "", e.message.clone()))?;
    let secret_keys = parsed.entries.iter().filter(|e| e.secret).map(|e| e.key.clone()).collect();
    Ok(Vars {
        source: Some(file.to_owned()),
        file: resolved.into_iter().collect(),
        process: process.clone(),
        extra: BTreeMap::new(),
        secret_keys,
    })
}

const ENV_KEYS: &[&str] = &["description", "kind", "project", "envFile", "cluster", "overlay", "kubeContexts", "confirm"];
const MINIKUBE_KEYS: &[&str] =
    &["profile", "driver", "cpus", "memoryMb", "diskSize", "addons", "overlay", "kubeContexts", "namespace", "portForward"];

fn decode(ctx: &mut Ctx<'_>, root: &Node, out: &mut Environments) {
    let Some(entries) = ctx.map(root, "") else { return };
    ctx.check_keys(entries, "", &["environments", "minikube"], true);
    match root.get("environments") {
        Some(envs) => {
            if let Some(entries) = ctx.map(envs, "environments") {
                for (k, v) in entries {
                    let name = k.as_str().unwrap_or_default().to_owned();
                    if let Some(env) = decode_env(ctx, &name, v, &join("environments", &name)) {
                        out.environments.insert(name, env);
                    }
                }
            }
        }
        None => ctx.error(root.location, "environments", "missing required field `environments`"),
    }
    if let Some(m) = root.get("minikube") {
        out.minikube = decode_minikube(ctx, m, "minikube");
    }
}

fn decode_env(ctx: &mut Ctx<'_>, name: &str, n: &Node, field: &str) -> Option<Environment> {
    let entries = ctx.map(n, field)?;
    ctx.check_keys(entries, field, ENV_KEYS, true);
    let s = |ctx: &mut Ctx<'_>, key: &str| n.get(key).and_then(|v| ctx.non_empty(v, &join(field, key)));
    let kind = match n.get("kind") {
        None => {
            ctx.error(n.location, &join(field, "kind"), "missing required field `kind`");
            None
        }
        Some(k) => match ctx.string(k, &join(field, "kind")).as_deref() {
            Some("docker") => Some(Kind::Docker),
            Some("cloud") => Some(Kind::Cloud),
            Some("minikube") => Some(Kind::Minikube),
            Some(other) => {
                ctx.error_help(
                    k.location,
                    &join(field, "kind"),
                    format!("unknown kind `{other}`"),
                    suggest::did_you_mean(other, ["docker", "cloud", "minikube"]),
                );
                None
            }
            None => None,
        },
    };
    let cluster = n.get("cluster").and_then(|c| {
        let f = join(field, "cluster");
        let entries = ctx.map(c, &f)?;
        ctx.check_keys(entries, &f, &["name", "region"], true);
        let name = c.get("name").and_then(|v| ctx.non_empty(v, &join(&f, "name")));
        let region = c.get("region").and_then(|v| ctx.non_empty(v, &join(&f, "region"))).unwrap_or_else(|| "us-west-2".to_owned());
        if name.is_none() {
            ctx.error(c.location, &join(&f, "name"), "missing required field `name`");
        }
        Some(Cluster { name: name?, region })
    });
    let env = Environment {
        name: name.to_owned(),
        description: s(ctx, "description").unwrap_or_default(),
        kind: kind?,
        project: s(ctx, "project"),
        env_file: s(ctx, "envFile"),
        cluster,
        overlay: s(ctx, "overlay"),
        kube_contexts: n.get("kubeContexts").and_then(|v| ctx.strings(v, &join(field, "kubeContexts"))).unwrap_or_default(),
        confirm: n.get("confirm").and_then(|v| ctx.bool(v, &join(field, "confirm"))).unwrap_or(false),
        location: n.location,
    };
    match env.kind {
        Kind::Docker | Kind::Minikube if env.project.is_none() => ctx.error_help(
            n.location,
            &join(field, "project"),
            "a docker or minikube environment needs `project` (the compose project name of its containers or host data stores)",
            Some("e.g. \"project\": \"srvthreds\"".to_owned()),
        ),
        Kind::Cloud if env.cluster.is_none() => ctx.error_help(
            n.location,
            &join(field, "cluster"),
            "a cloud environment needs `cluster`",
            Some("e.g. \"cluster\": { \"name\": \"srvthreds-dev\", \"region\": \"us-west-2\" }".to_owned()),
        ),
        Kind::Minikube if env.overlay.is_none() => ctx.error_help(
            n.location,
            &join(field, "overlay"),
            "a minikube environment needs `overlay` (the Kubernetes overlay it runs)",
            Some("e.g. \"overlay\": \"minikube\"".to_owned()),
        ),
        _ => {}
    }
    Some(env)
}

fn decode_minikube(ctx: &mut Ctx<'_>, n: &Node, field: &str) -> Option<Minikube> {
    let entries = ctx.map(n, field)?;
    ctx.check_keys(entries, field, MINIKUBE_KEYS, true);
    let s = |ctx: &mut Ctx<'_>, key: &str, default: &str| {
        n.get(key).and_then(|v| ctx.non_empty(v, &join(field, key))).unwrap_or_else(|| default.to_owned())
    };
    let port_forward = n.get("portForward").and_then(|p| {
        let f = join(field, "portForward");
        let entries = ctx.map(p, &f)?;
        ctx.check_keys(entries, &f, &["service", "localPort", "remotePort"], true);
        let service = p.get("service").and_then(|v| ctx.non_empty(v, &join(&f, "service")))?;
        let port = |ctx: &mut Ctx<'_>, key: &str| {
            let v = p.get(key)?;
            let n = ctx.u64(v, &join(&f, key))?;
            u16::try_from(n).ok().filter(|p| *p > 0).or_else(|| {
                ctx.error(v.location, &join(&f, key), format!("{n} is not a port number (1-65535)"));
                None
            })
        };
        Some(PortForward { service, local_port: port(ctx, "localPort")?, remote_port: port(ctx, "remotePort")? })
    });
    Some(Minikube {
        profile: s(ctx, "profile", "minikube"),
        driver: s(ctx, "driver", "docker"),
        cpus: n.get("cpus").and_then(|v| ctx.u64(v, &join(field, "cpus"))).unwrap_or(4),
        memory_mb: n.get("memoryMb").and_then(|v| ctx.u64(v, &join(field, "memoryMb"))).unwrap_or(8192),
        disk_size: s(ctx, "diskSize", "20g"),
        addons: n.get("addons").and_then(|v| ctx.strings(v, &join(field, "addons"))).unwrap_or_default(),
        overlay: s(ctx, "overlay", "minikube"),
        kube_contexts: n.get("kubeContexts").and_then(|v| ctx.strings(v, &join(field, "kubeContexts"))).unwrap_or_default(),
        namespace: s(ctx, "namespace", "srvthreds"),
        port_forward,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_contexts_come_from_the_environments_and_the_minikube_settings_of_an_overlay() {
        let text = r#"{
  "environments": {
    "prod": {"description": "p", "kind": "cloud", "envFile": "env/prod.env", "cluster": {"name": "c", "region": "r"},
             "overlay": "prod", "kubeContexts": ["srvthreds-prod", "arn:aws:eks:*:cluster/srvthreds-prod"], "confirm": true},
    "local": {"description": "l", "kind": "docker", "project": "srvthreds", "envFile": "env/local.env"}
  },
  "minikube": {"profile": "minikube", "driver": "docker", "cpus": 2, "memoryMb": 4096, "diskSize": "20g", "addons": [],
               "overlay": "minikube", "kubeContexts": ["minikube", "local-k8s"], "namespace": "srvthreds"}
}"#;
        let (envs, diags) = Environments::parse(Utf8Path::new("environments.json"), text);
        assert_eq!(diags.errors().count(), 0, "{diags:?}");
        assert_eq!(envs.kube_contexts_for("prod"), ["srvthreds-prod", "arn:aws:eks:*:cluster/srvthreds-prod"]);
        assert_eq!(envs.kube_contexts_for("minikube"), ["minikube", "local-k8s"]);
        assert!(envs.kube_contexts_for("staging").is_empty());
    }
}
