//! The deployment catalogue (`containerDeploymentConfig.json`, the Phase 1 format).

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::decode::{Ctx, index, join};
use crate::node::{self, Location, Node};
use crate::{Diagnostic, Diagnostics, suggest};

/// Every deployment of the catalogue file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalogue {
    pub file: Utf8PathBuf,
    pub deployments: Vec<Deployment>,
}

/// The catalogue as a listing: short name, name, description and environments of each entry.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct Listing<'a>(pub Vec<ListingEntry<'a>>);

/// One entry of a [`Listing`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingEntry<'a> {
    pub short_name: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub environments: &'a [String],
}

impl Catalogue {
    /// Every entry, in the catalogue's order.
    pub fn listing(&self) -> Listing<'_> {
        Listing(
            self.deployments
                .iter()
                .map(|d| ListingEntry {
                    short_name: &d.short_name,
                    name: &d.name,
                    description: &d.description,
                    environments: &d.environments,
                })
                .collect(),
        )
    }
}

impl std::fmt::Display for Listing<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let width = self.0.iter().map(|e| e.short_name.len()).max().unwrap_or(0);
        let lines: Vec<String> =
            self.0.iter().map(|e| format!("{:width$}  {} [{}]", e.short_name, e.name, e.environments.join(", "))).collect();
        f.write_str(&lines.join("\n"))
    }
}

/// One named deployment, addressed by its short name.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    pub name: String,
    pub short_name: String,
    pub description: String,
    pub environments: Vec<String>,
    pub target: Target,
    #[serde(skip)]
    pub location: Location,
}

/// What a deployment does: the same in every environment, except where that environment's
/// override replaces a field.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// What an environment without an override gets. Its `env` is empty: the catalogue sets
    /// variables per environment only.
    #[serde(flatten)]
    pub defaults: Effective,
    pub environment_overrides: BTreeMap<String, Override>,
}

/// A path written in a config file, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FileRef {
    pub path: String,
    #[serde(skip)]
    pub location: Location,
}

/// A shell command run before or after a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Command {
    pub description: String,
    pub command: String,
}

/// Per-environment replacements of a target's fields.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    pub deploy_files: Option<Vec<FileRef>>,
    pub services: Option<Vec<String>>,
    pub overlay: Option<String>,
    pub pre_build_commands: Option<Vec<Command>>,
    pub post_build_commands: Option<Vec<Command>>,
    /// Extra variables for interpolation.
    pub env: BTreeMap<String, String>,
}

/// How a target is deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Composing {
    Docker,
    Kubernetes,
}

/// The action of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeployCommand {
    Up,
    Down,
    Stop,
    Build,
    Run,
    Apply,
    Delete,
}

/// A target with an environment's overrides applied.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effective {
    pub composing: Composing,
    pub deploy_command: DeployCommand,
    /// Compose files, relative to the infrastructure root.
    pub deploy_files: Vec<FileRef>,
    /// A subset of compose services; `None` means every service without a profile.
    pub services: Option<Vec<String>>,
    /// Kustomize overlay for `kubernetes` targets.
    pub overlay: Option<String>,
    pub pre_build_commands: Vec<Command>,
    pub post_build_commands: Vec<Command>,
    /// Extra variables for interpolation, from the environment's override.
    pub env: BTreeMap<String, String>,
}

impl DeployCommand {
    pub fn as_str(self) -> &'static str {
        match self {
            DeployCommand::Up => "up",
            DeployCommand::Down => "down",
            DeployCommand::Stop => "stop",
            DeployCommand::Build => "build",
            DeployCommand::Run => "run",
            DeployCommand::Apply => "apply",
            DeployCommand::Delete => "delete",
        }
    }
}

impl Catalogue {
    /// Parses the catalogue from the text of `file`.
    pub fn parse(file: &Utf8Path, text: &str) -> (Catalogue, Diagnostics) {
        let mut diags = Diagnostics::new();
        let mut cat = Catalogue { file: file.to_owned(), deployments: Vec::new() };
        match node::parse_json(text) {
            Ok(root) => {
                let mut ctx = Ctx { file, diags: &mut diags };
                decode_catalogue(&mut ctx, &root, &mut cat);
            }
            Err(e) => diags.push(
                Diagnostic::error(file, Some(e.location), "", format!("invalid JSON: {}", e.message))
                    .with_help("fix the JSON syntax at this position"),
            ),
        }
        (cat, diags)
    }

    /// The deployment with this short name, or an error that suggests the closest one.
    pub fn find(&self, short_name: &str) -> Result<&Deployment, Diagnostic> {
        self.deployments.iter().find(|d| d.short_name == short_name).ok_or_else(|| {
            let names = self.deployments.iter().map(|d| d.short_name.as_str());
            Diagnostic::error(&self.file, None, "deployments", format!("unknown deployment `{short_name}`"))
                .with_help_opt(suggest::did_you_mean(short_name, names))
        })
    }
}

impl Deployment {
    /// The target as it applies to `environment`: an error when the deployment does not allow it.
    pub fn for_environment(&self, file: &Utf8Path, environment: &str) -> Result<Effective, Diagnostic> {
        if !self.environments.iter().any(|e| e == environment) {
            return Err(Diagnostic::error(
                file,
                Some(self.location),
                &format!("deployments.{}.environments", self.short_name),
                format!("deployment `{}` is not allowed in environment `{environment}`", self.short_name),
            )
            .with_help(format!("it runs in: {}", self.environments.join(", "))));
        }
        let t = &self.target.defaults;
        let o = self.target.environment_overrides.get(environment).cloned().unwrap_or_default();
        Ok(Effective {
            composing: t.composing,
            deploy_command: t.deploy_command,
            deploy_files: o.deploy_files.unwrap_or_else(|| t.deploy_files.clone()),
            services: o.services.or_else(|| t.services.clone()),
            overlay: o.overlay.or_else(|| t.overlay.clone()),
            pre_build_commands: o.pre_build_commands.unwrap_or_else(|| t.pre_build_commands.clone()),
            post_build_commands: o.post_build_commands.unwrap_or_else(|| t.post_build_commands.clone()),
            env: o.env,
        })
    }
}

const DEPLOYMENT_KEYS: &[&str] = &["name", "shortName", "description", "environments", "target"];
const TARGET_KEYS: &[&str] = &[
    "composing",
    "deployCommand",
    "deployFiles",
    "deployFile",
    "services",
    "overlay",
    "preBuildCommands",
    "postBuildCommands",
    "environmentOverrides",
];
const OVERRIDE_KEYS: &[&str] = &["deployFiles", "deployFile", "services", "overlay", "preBuildCommands", "postBuildCommands", "env"];

fn decode_catalogue(ctx: &mut Ctx<'_>, root: &Node, cat: &mut Catalogue) {
    // Phase 1 files may be a bare list of deployments; the current format wraps it.
    let (list, field) = if root.items().is_some() {
        (root, String::new())
    } else {
        let Some(entries) = ctx.map(root, "") else { return };
        ctx.check_keys(entries, "", &["deployments"], true);
        match root.get("deployments") {
            Some(list) => (list, "deployments".to_owned()),
            None => {
                ctx.error_help(root.location, "", "missing `deployments`", Some("the file is `{ \"deployments\": [ ... ] }`".to_owned()));
                return;
            }
        }
    };
    let Some(items) = ctx.list(list, &field) else { return };
    let mut seen: BTreeMap<String, Location> = BTreeMap::new();
    for (i, item) in items.iter().enumerate() {
        let f = index(if field.is_empty() { "deployments" } else { &field }, i);
        if let Some(d) = decode_deployment(ctx, item, &f) {
            if let Some(first) = seen.get(&d.short_name) {
                ctx.error_help(
                    d.location,
                    &join(&f, "shortName"),
                    format!("short name `{}` is used twice", d.short_name),
                    Some(format!("it was first used at line {}; short names must be unique", first.line)),
                );
                continue;
            }
            seen.insert(d.short_name.clone(), d.location);
            cat.deployments.push(d);
        }
    }
}

fn decode_deployment(ctx: &mut Ctx<'_>, node: &Node, field: &str) -> Option<Deployment> {
    let entries = ctx.map(node, field)?;
    ctx.check_keys(entries, field, DEPLOYMENT_KEYS, true);
    let required = |ctx: &mut Ctx<'_>, key: &str| -> Option<&Node> {
        let found = node.get(key);
        if found.is_none() {
            ctx.error(node.location, &join(field, key), format!("missing required field `{key}`"));
        }
        found
    };
    let short_name = required(ctx, "shortName").and_then(|n| ctx.non_empty(n, &join(field, "shortName")));
    let name = required(ctx, "name").and_then(|n| ctx.non_empty(n, &join(field, "name")));
    let description = node.get("description").and_then(|n| ctx.string(n, &join(field, "description"))).unwrap_or_default();
    let environments = required(ctx, "environments").and_then(|n| ctx.strings(n, &join(field, "environments")));
    let target = required(ctx, "target").and_then(|n| decode_target(ctx, n, &join(field, "target")));
    if let Some(s) = &short_name
        && !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        ctx.error(node.location, &join(field, "shortName"), format!("short name `{s}` may only use letters, digits, `_` and `-`"));
    }
    Some(Deployment {
        name: name?,
        short_name: short_name?,
        description,
        environments: environments?,
        target: target?,
        location: node.location,
    })
}

fn decode_target(ctx: &mut Ctx<'_>, node: &Node, field: &str) -> Option<Target> {
    let entries = ctx.map(node, field)?;
    ctx.check_keys(entries, field, TARGET_KEYS, true);
    let composing = match node.get("composing") {
        None => Some(Composing::Docker),
        Some(n) => match ctx.string(n, &join(field, "composing")).as_deref() {
            Some("docker") => Some(Composing::Docker),
            Some("kubernetes") => Some(Composing::Kubernetes),
            Some(other) => {
                ctx.error_help(
                    n.location,
                    &join(field, "composing"),
                    format!("unknown composing `{other}`"),
                    suggest::did_you_mean(other, ["docker", "kubernetes"]),
                );
                None
            }
            None => None,
        },
    };
    let command = match node.get("deployCommand") {
        None => {
            ctx.error(node.location, &join(field, "deployCommand"), "missing required field `deployCommand`");
            None
        }
        Some(n) => decode_command_name(ctx, n, &join(field, "deployCommand"), composing),
    };
    let deploy_files = files(ctx, node, field).unwrap_or_default();
    let services = node.get("services").and_then(|n| ctx.strings(n, &join(field, "services")));
    let overlay = node.get("overlay").and_then(|n| ctx.non_empty(n, &join(field, "overlay")));
    let pre = node.get("preBuildCommands").and_then(|n| commands(ctx, n, &join(field, "preBuildCommands"))).unwrap_or_default();
    let post = node.get("postBuildCommands").and_then(|n| commands(ctx, n, &join(field, "postBuildCommands"))).unwrap_or_default();
    let mut overrides = BTreeMap::new();
    if let Some(n) = node.get("environmentOverrides") {
        let f = join(field, "environmentOverrides");
        if let Some(entries) = ctx.map(n, &f) {
            for (k, v) in entries {
                let env = k.as_str().unwrap_or_default().to_owned();
                if let Some(o) = decode_override(ctx, v, &join(&f, &env)) {
                    overrides.insert(env, o);
                }
            }
        }
    }
    let composing = composing?;
    let deploy_command = command?;
    match composing {
        Composing::Docker if deploy_files.is_empty() => {
            ctx.error_help(
                node.location,
                &join(field, "deployFiles"),
                "a docker target needs `deployFiles`",
                Some("list the compose files, e.g. [\"local/compose/docker-compose-db.yml\"]".to_owned()),
            );
        }
        Composing::Kubernetes if overlay.is_none() => {
            ctx.error_help(
                node.location,
                &join(field, "overlay"),
                "a kubernetes target needs `overlay`",
                Some("name an overlay under k8s/overlays, e.g. \"minikube\"".to_owned()),
            );
        }
        _ => {}
    }
    Some(Target {
        defaults: Effective {
            composing,
            deploy_command,
            deploy_files,
            services,
            overlay,
            pre_build_commands: pre,
            post_build_commands: post,
            env: BTreeMap::new(),
        },
        environment_overrides: overrides,
    })
}

fn decode_command_name(ctx: &mut Ctx<'_>, n: &Node, field: &str, composing: Option<Composing>) -> Option<DeployCommand> {
    let text = ctx.string(n, field)?;
    let (allowed, parsed): (&[&str], _) = match composing {
        Some(Composing::Kubernetes) => (
            &["apply", "delete"],
            match text.as_str() {
                "apply" => Some(DeployCommand::Apply),
                "delete" => Some(DeployCommand::Delete),
                _ => None,
            },
        ),
        _ => (
            &["up", "down", "stop", "build", "run"],
            match text.as_str() {
                // Phase 1 wrote compose's own flags after the verb (`up -d`); the verb is what counts.
                t if t == "up" || t.starts_with("up ") => Some(DeployCommand::Up),
                "down" => Some(DeployCommand::Down),
                "stop" => Some(DeployCommand::Stop),
                "build" => Some(DeployCommand::Build),
                "run" => Some(DeployCommand::Run),
                _ => None,
            },
        ),
    };
    if parsed.is_none() {
        ctx.error_help(
            n.location,
            field,
            format!("unknown deployCommand `{text}` for this target"),
            suggest::did_you_mean(&text, allowed.iter().copied()),
        );
    }
    parsed
}

fn files(ctx: &mut Ctx<'_>, node: &Node, field: &str) -> Option<Vec<FileRef>> {
    let (key, n) = match (node.get("deployFiles"), node.get("deployFile")) {
        (Some(n), _) => ("deployFiles", n),
        (None, Some(n)) => ("deployFile", n),
        (None, None) => return None,
    };
    let f = join(field, key);
    if n.as_scalar().is_some() {
        return ctx.non_empty(n, &f).map(|p| vec![FileRef { path: p, location: n.location }]);
    }
    let items = ctx.list(n, &f)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        if let Some(p) = ctx.non_empty(item, &index(&f, i)) {
            out.push(FileRef { path: p, location: item.location });
        }
    }
    Some(out)
}

fn commands(ctx: &mut Ctx<'_>, n: &Node, field: &str) -> Option<Vec<Command>> {
    let items = ctx.list(n, field)?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let f = index(field, i);
        let Some(entries) = ctx.map(item, &f) else { continue };
        ctx.check_keys(entries, &f, &["description", "command"], true);
        let description = item.get("description").and_then(|d| ctx.string(d, &join(&f, "description"))).unwrap_or_default();
        match item.get("command") {
            Some(c) => {
                if let Some(command) = ctx.non_empty(c, &join(&f, "command")) {
                    out.push(Command { description, command });
                }
            }
            None => ctx.error(item.location, &join(&f, "command"), "missing required field `command`"),
        }
    }
    Some(out)
}

fn decode_override(ctx: &mut Ctx<'_>, n: &Node, field: &str) -> Option<Override> {
    let entries = ctx.map(n, field)?;
    ctx.check_keys(entries, field, OVERRIDE_KEYS, true);
    let mut env = BTreeMap::new();
    if let Some(e) = n.get("env") {
        let f = join(field, "env");
        if let Some(entries) = ctx.map(e, &f) {
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default().to_owned();
                if let Some(value) = ctx.string(v, &join(&f, &key)) {
                    env.insert(key, value);
                }
            }
        }
    }
    Some(Override {
        deploy_files: files(ctx, n, field),
        services: n.get("services").and_then(|s| ctx.strings(s, &join(field, "services"))),
        overlay: n.get("overlay").and_then(|s| ctx.non_empty(s, &join(field, "overlay"))),
        pre_build_commands: n.get("preBuildCommands").and_then(|s| commands(ctx, s, &join(field, "preBuildCommands"))),
        post_build_commands: n.get("postBuildCommands").and_then(|s| commands(ctx, s, &join(field, "postBuildCommands"))),
        env,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> (Catalogue, Diagnostics) {
        Catalogue::parse(Utf8Path::new("deploy.json"), text)
    }

    fn check_error(text: &str, expected: &str) {
        let (_, diags) = parse(text);
        let all = diags.to_string();
        assert!(diags.has_errors(), "expected an error containing `{expected}`, got none");
        assert!(all.contains(expected), "`{all}` does not contain `{expected}`");
    }

    const OK: &str = r#"{"deployments": [
  {"name": "DBs", "shortName": "s_a_dbs", "description": "d", "environments": ["local"],
   "target": {"composing": "docker", "deployCommand": "up -d", "deployFiles": ["a.yml"],
              "environmentOverrides": {"test": {"services": ["redis"], "env": {"A": "1"}}}}}
]}"#;

    #[test]
    fn loads_and_finds() {
        let (cat, diags) = parse(OK);
        assert!(diags.is_empty(), "{diags}");
        let d = cat.find("s_a_dbs").unwrap();
        assert_eq!(d.target.defaults.deploy_command, DeployCommand::Up);
        let err = cat.find("s_a_db").unwrap_err();
        assert_eq!(err.to_string(), "error: deploy.json: `deployments`: unknown deployment `s_a_db`\n  help: did you mean `s_a_dbs`?");
        let e = d.for_environment(Utf8Path::new("deploy.json"), "prod").unwrap_err();
        assert!(e.to_string().contains("not allowed in environment `prod`"), "{e}");
    }

    #[test]
    fn errors_name_line_and_field() {
        check_error(r#"{"deployments": [{"name": 1}"#, "deploy.json:1:");
        check_error(
            "{\"deployments\": [\n {\"name\": \"x\", \"shortName\": \"x\", \"environments\": \"local\", \"target\": {\"deployCommand\": \"up\", \"deployFiles\": [\"a\"]}}]}",
            "deploy.json:2:50: `deployments[0].environments`: expected a list, found a string",
        );
        check_error(
            r#"{"deployments": [{"name": "x", "shortName": "x", "environments": [], "target": {"deployCommand": "upp", "deployFiles": ["a"]}}]}"#,
            "did you mean `up`?",
        );
        check_error(r#"{"deployments": [{"name": "x", "shortName": "x", "environments": [], "targett": {}}]}"#, "unknown field `targett`");
        check_error(r#"{"deploymentz": []}"#, "unknown field `deploymentz`");
        check_error(
            r#"{"deployments": [{"name": "x", "shortName": "x", "environments": [], "target": {"deployCommand": "up"}}]}"#,
            "needs `deployFiles`",
        );
    }
}
