//! One infrastructure tree: loading the catalogue and environments, resolving a deployment for
//! an environment into a compose project, and checking the whole tree.

use std::collections::{BTreeMap, BTreeSet};

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;

use crate::compose::{self, Project};
use crate::deployment::{Catalogue, Composing, DeployCommand, Deployment, Effective, FileRef};
use crate::environment::{self, Environment, Environments, Vars};
use crate::{Diagnostic, Diagnostics, Error, Result, kustomize, suggest};

/// The catalogue, relative to the infrastructure root.
pub const CATALOGUE_FILE: &str = "config/containerDeploymentConfig.json";
/// The environments, relative to the infrastructure root.
pub const ENVIRONMENTS_FILE: &str = "config/environments.json";
/// Kustomize overlays, relative to the infrastructure root.
pub const OVERLAYS_DIR: &str = "k8s/overlays";

/// Inputs that do not come from the tree itself.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The process environment: it overrides env files, as in Docker Compose.
    pub process_env: BTreeMap<String, String>,
}

/// A loaded infrastructure tree.
#[derive(Debug, Clone)]
pub struct Infra {
    pub root: Utf8PathBuf,
    pub catalogue: Catalogue,
    pub environments: Environments,
    process_env: BTreeMap<String, String>,
}

/// A deployment resolved for one environment: everything a driver needs.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resolved {
    pub environment: Environment,
    pub deployment: Deployment,
    pub target: Effective,
    /// The compose project name.
    pub project_name: String,
    /// The merged compose project (docker targets).
    #[serde(skip)]
    pub compose: Option<Project>,
    /// The services the action applies to, dependencies included where the action starts them.
    pub services: Vec<String>,
    #[serde(skip)]
    pub vars: Vars,
}

impl Infra {
    /// Loads the catalogue and the environments under `root`.
    pub fn load(root: &Utf8Path, options: &LoadOptions) -> Result<(Infra, Diagnostics)> {
        let mut diags = Diagnostics::new();
        let catalogue = read(root, CATALOGUE_FILE, &mut diags).map(|(file, text)| {
            let (c, d) = Catalogue::parse(&file, &text);
            diags.extend(d);
            c
        });
        let environments = read(root, ENVIRONMENTS_FILE, &mut diags).map(|(file, text)| {
            let (e, d) = Environments::parse(&file, &text);
            diags.extend(d);
            e
        });
        let (Some(catalogue), Some(environments)) = (catalogue, environments) else {
            return Err(Error::Invalid(diags));
        };
        let infra = Infra { root: root.to_owned(), catalogue, environments, process_env: options.process_env.clone() };
        infra.cross_check(&mut diags);
        diags.into_result(infra)
    }

    /// Validates everything under `root` and returns every finding, without stopping early.
    pub fn check(root: &Utf8Path, options: &LoadOptions) -> Diagnostics {
        let (infra, mut diags) = match Infra::load(root, options) {
            Ok(ok) => ok,
            Err(e) => return e.diagnostics().clone().sorted(),
        };
        infra.check_files(&mut diags);
        for env in infra.environments.environments.values() {
            if let Err(d) = infra.vars(&env.name) {
                diags.push(d);
            }
        }
        let mut seen_projects = BTreeSet::new();
        for d in &infra.catalogue.deployments {
            for env in &d.environments {
                if !infra.environments.environments.contains_key(env) {
                    continue; // reported by cross_check
                }
                match infra.resolve(env, &d.short_name) {
                    Ok((resolved, warnings)) => {
                        // The same files in the same environment give the same findings.
                        let key = (env.clone(), resolved.target.deploy_files.iter().map(|f| f.path.clone()).collect::<Vec<_>>());
                        if seen_projects.insert(key) {
                            diags.extend(warnings);
                        }
                    }
                    Err(e) => diags.extend(e.diagnostics().clone()),
                }
            }
        }
        diags.sorted()
    }

    fn cross_check(&self, diags: &mut Diagnostics) {
        let names: Vec<&str> = self.environments.environments.keys().map(String::as_str).collect();
        for d in &self.catalogue.deployments {
            let field = format!("deployments.{}", d.short_name);
            for env in d.environments.iter().chain(d.target.environment_overrides.keys()) {
                if !self.environments.environments.contains_key(env) {
                    diags.push(
                        Diagnostic::error(
                            &self.catalogue.file,
                            Some(d.location),
                            &format!("{field}.environments"),
                            format!("unknown environment `{env}`"),
                        )
                        .with_help_opt(suggest::did_you_mean(env, names.iter().copied())),
                    );
                }
            }
            for env in d.target.environment_overrides.keys() {
                if !d.environments.contains(env) {
                    diags.push(
                        Diagnostic::error(
                            &self.catalogue.file,
                            Some(d.location),
                            &format!("{field}.target.environmentOverrides.{env}"),
                            format!("override for `{env}`, which the deployment does not allow"),
                        )
                        .with_help(format!("add `{env}` to `environments` or remove the override")),
                    );
                }
            }
        }
    }

    /// Files and overlays the catalogue names exist.
    fn check_files(&self, diags: &mut Diagnostics) {
        for d in &self.catalogue.deployments {
            let field = format!("deployments.{}", d.short_name);
            let files = d
                .target
                .defaults
                .deploy_files
                .iter()
                .chain(d.target.environment_overrides.values().flat_map(|o| o.deploy_files.iter().flatten()));
            for f in files {
                if !self.root.join(&f.path).is_file() {
                    diags.push(missing_file(&self.catalogue.file, f, &self.root, &format!("{field}.target.deployFiles")));
                }
            }
            if d.target.defaults.composing == Composing::Kubernetes {
                for overlay in
                    d.target.defaults.overlay.iter().chain(d.target.environment_overrides.values().filter_map(|o| o.overlay.as_ref()))
                {
                    let dir = self.root.join(OVERLAYS_DIR).join(overlay);
                    if kustomize::find_file(&dir).is_none() {
                        diags.push(
                            Diagnostic::error(
                                &self.catalogue.file,
                                Some(d.location),
                                &format!("{field}.target.overlay"),
                                format!(
                                    "overlay `{overlay}` not found: no kustomization file (one of {}) in {dir}",
                                    kustomize::FILE_NAMES.join(", ")
                                ),
                            )
                            .with_help_opt(suggest::did_you_mean(overlay, self.overlays().iter().map(String::as_str))),
                        );
                    }
                }
            }
        }
    }

    /// The names of the overlays under `k8s/overlays` (directories holding a kustomization
    /// file, see [`kustomize::overlays`]), sorted; none when that directory cannot be read.
    pub fn overlays(&self) -> Vec<String> {
        kustomize::overlays(&self.root).unwrap_or_default()
    }

    /// The variables of an environment: its env file (or the `.example` beside it) and the
    /// process environment.
    /// The repository the tree belongs to (the parent of `root`): where catalogue commands run.
    pub fn repo_root(&self) -> Utf8PathBuf {
        self.root.parent().map_or_else(|| Utf8PathBuf::from("."), Utf8Path::to_owned)
    }

    /// The compose project name of environment `env` (see [`project_name`]).
    pub fn project_name(&self, env: &str) -> Result<String, Diagnostic> {
        Ok(project_name(self.environments.get(env)?, &self.vars(env)?))
    }

    pub fn vars(&self, env: &str) -> Result<Vars, Diagnostic> {
        let environment = self.environments.get(env)?;
        let Some(env_file) = &environment.env_file else {
            return Ok(Vars { process: self.process_env.clone(), ..Vars::default() });
        };
        let real = self.root.join(env_file);
        let example = Utf8PathBuf::from(format!("{real}.example"));
        let path = if real.is_file() {
            real
        } else if example.is_file() {
            example
        } else {
            return Err(Diagnostic::error(
                &self.environments.file,
                Some(environment.location),
                &format!("environments.{env}.envFile"),
                format!("env file not found: neither {real} nor {example} exists"),
            )
            .with_help(format!("create {real} (copy the example of another environment)")));
        };
        let text = std::fs::read_to_string(&path).map_err(|e| Diagnostic::error(&path, None, "", format!("cannot read env file: {e}")))?;
        environment::resolve_env_text(&path, &text, &self.process_env)
    }

    /// Resolves deployment `short_name` for environment `env`: overrides applied, variables
    /// read, compose files loaded, merged and validated, services selected.
    pub fn resolve(&self, env: &str, short_name: &str) -> Result<(Resolved, Diagnostics)> {
        let one = |d: Diagnostic| Error::Invalid(d.into());
        let environment = self.environments.get(env).map_err(one)?.clone();
        let deployment = self.catalogue.find(short_name).map_err(one)?.clone();
        let target = deployment.for_environment(&self.catalogue.file, env).map_err(one)?;
        let mut vars = self.vars(env).map_err(one)?;
        vars.extra = target.env.clone();
        let project_name = project_name(&environment, &vars);
        let mut diags = Diagnostics::new();
        let mut compose_project = None;
        let mut services = Vec::new();
        if target.composing == Composing::Docker {
            if !environment.kind.has_docker() {
                return Err(one(Diagnostic::error(
                    &self.environments.file,
                    Some(environment.location),
                    &format!("environments.{env}.kind"),
                    format!("deployment `{short_name}` runs on Docker, but environment `{env}` is a cloud environment"),
                )));
            }
            let project = self.load_compose(&target.deploy_files, &vars, &mut diags);
            // Cross-checks of a project missing a file's services would only repeat the first
            // error in many other words.
            if !diags.has_errors() {
                diags.extend(compose::validate(&project));
            }
            if diags.has_errors() {
                return Err(Error::Invalid(diags));
            }
            services = select_services(&project, target.services.as_deref(), target.deploy_command)
                .map_err(|e| one(e.relocate(&self.catalogue.file, deployment.location)))?;
            compose_project = Some(project);
        }
        let resolved = Resolved { environment, deployment, target, project_name, compose: compose_project, services, vars };
        diags.into_result(resolved)
    }

    /// Loads and merges compose files (relative to the root), checking that files they refer to
    /// exist.
    pub fn load_compose(&self, files: &[FileRef], vars: &Vars, diags: &mut Diagnostics) -> Project {
        let mut merged: Option<Project> = None;
        for f in files {
            let path = self.root.join(&f.path);
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(_) => {
                    diags.push(missing_file(&self.catalogue.file, f, &self.root, "deployFiles"));
                    continue;
                }
            };
            let loaded = compose::load_file(&path, &text, &|k| vars.get(k));
            diags.extend(loaded.diagnostics);
            merged = Some(match merged {
                None => loaded.project,
                Some(base) => compose::merge(base, loaded.project),
            });
        }
        let project = merged.unwrap_or_default();
        for svc in project.services.values() {
            let field = format!("services.{}", svc.name);
            if let Some(build) = &svc.build {
                if !build.context.is_dir() {
                    diags.push(
                        Diagnostic::error(
                            &svc.origin.file,
                            Some(svc.origin.location),
                            &format!("{field}.build.context"),
                            format!("build context {} does not exist", build.context),
                        )
                        .with_help("fix the path (relative to the compose file) or the variable that sets it"),
                    );
                } else if let Some(df) = &build.dockerfile {
                    let p = build.context.join(df);
                    if !p.is_file() {
                        diags.push(
                            Diagnostic::error(
                                &svc.origin.file,
                                Some(svc.origin.location),
                                &format!("{field}.build.dockerfile"),
                                format!("Dockerfile {p} does not exist"),
                            )
                            .with_help("the dockerfile path is relative to the build context"),
                        );
                    }
                }
            }
            for env_file in &svc.env_file {
                if !env_file.is_file() {
                    diags.push(Diagnostic::error(
                        &svc.origin.file,
                        Some(svc.origin.location),
                        &format!("{field}.env_file"),
                        format!("env file {env_file} does not exist"),
                    ));
                }
            }
        }
        project
    }
}

/// The nearest `infrastructure/` tree (a directory holding the catalogue) in `start` or one of
/// its ancestors.
pub fn find_tree(start: &Utf8Path) -> Option<Utf8PathBuf> {
    let marker = Utf8Path::new("infrastructure").join(CATALOGUE_FILE);
    start.ancestors().find(|dir| dir.join(&marker).is_file()).map(|dir| dir.join("infrastructure"))
}

/// The tree a command uses when none is named: the nearest `infrastructure/` above the
/// current directory ([`find_tree`]), else `fallback` (a tool's own repository's tree).
pub fn default_tree(fallback: &Utf8Path) -> Utf8PathBuf {
    let cwd = std::env::current_dir().ok().and_then(|d| Utf8PathBuf::from_path_buf(d).ok());
    cwd.and_then(|d| find_tree(&d)).unwrap_or_else(|| fallback.to_owned())
}

/// The compose project name of an environment: `COMPOSE_PROJECT_NAME` from its variables (as
/// Compose reads it), else the environment's `project`, else `srvthreds`.
pub fn project_name(environment: &Environment, vars: &Vars) -> String {
    vars.get("COMPOSE_PROJECT_NAME").or_else(|| environment.project.clone()).unwrap_or_else(|| "srvthreds".to_owned())
}

/// The services an action applies to. With no explicit list: every service without a profile.
/// An explicit list must name existing services; actions that start containers also take their
/// dependencies, transitively, as `docker compose up SERVICE` does.
pub fn select_services(project: &Project, requested: Option<&[String]>, command: DeployCommand) -> Result<Vec<String>, Diagnostic> {
    let names: Vec<&str> = project.services.keys().map(String::as_str).collect();
    let mut selected: BTreeSet<String> = match requested {
        None => project.services.values().filter(|s| s.profiles.is_empty()).map(|s| s.name.clone()).collect(),
        Some(list) => {
            for s in list {
                if !project.services.contains_key(s) {
                    return Err(Diagnostic::error(Utf8Path::new(""), None, "services", format!("unknown service `{s}`"))
                        .with_help_opt(suggest::did_you_mean(s, names.iter().copied())));
                }
            }
            list.iter().cloned().collect()
        }
    };
    if matches!(command, DeployCommand::Up | DeployCommand::Run) {
        let mut stack: Vec<String> = selected.iter().cloned().collect();
        while let Some(s) = stack.pop() {
            for dep in project.services[&s].depends_on.keys() {
                if project.services.contains_key(dep) && selected.insert(dep.clone()) {
                    stack.push(dep.clone());
                }
            }
        }
    }
    Ok(selected.into_iter().collect())
}

impl Diagnostic {
    /// Points a finding that had no file at `file:location`.
    fn relocate(mut self, file: &Utf8Path, location: crate::node::Location) -> Self {
        if self.file.as_str().is_empty() {
            self.file = file.to_owned();
            self.location = Some(location);
        }
        self
    }
}

fn read(root: &Utf8Path, rel: &str, diags: &mut Diagnostics) -> Option<(Utf8PathBuf, String)> {
    let path = root.join(rel);
    match std::fs::read(&path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Some((path, text)),
            Err(e) => {
                diags.push(Diagnostic::error(&path, None, "", format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to())));
                None
            }
        },
        Err(e) => {
            let help = if root.is_dir() {
                format!("create {rel} under {root}")
            } else {
                format!("{root} is not a directory: pass the infrastructure tree with --infra DIR")
            };
            diags.push(Diagnostic::error(&path, None, "", format!("cannot read: {e}")).with_help(help));
            None
        }
    }
}

fn missing_file(catalogue: &Utf8Path, f: &FileRef, root: &Utf8Path, field: &str) -> Diagnostic {
    Diagnostic::error(catalogue, Some(f.location), field, format!("file `{}` not found (looked for {})", f.path, root.join(&f.path)))
        .with_help("paths in the catalogue are relative to the infrastructure root")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree with one docker environment and one kubernetes deployment of overlay `minikube`.
    fn tree() -> (tempfile::TempDir, Utf8PathBuf) {
        let temp = tempfile::tempdir().expect("temp dir");
        let root = Utf8PathBuf::from_path_buf(temp.path().to_path_buf()).expect("UTF-8 temp path");
        write(&root.join(ENVIRONMENTS_FILE), r#"{"environments": {"local": {"kind": "docker", "project": "srvthreds"}}}"#);
        write(
            &root.join(CATALOGUE_FILE),
            r#"{"deployments": [{"name": "Minikube", "shortName": "k8s_minikube", "environments": ["local"],
                "target": {"composing": "kubernetes", "deployCommand": "apply", "overlay": "minikube"}}]}"#,
        );
        (temp, root)
    }

    fn write(path: &Utf8Path, text: &str) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(path, text).expect("write file");
    }

    fn messages(diags: &Diagnostics) -> Vec<String> {
        diags.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn an_overlay_is_found_by_each_kustomization_file_name() {
        for name in kustomize::FILE_NAMES {
            let (_temp, root) = tree();
            write(&root.join(OVERLAYS_DIR).join("minikube").join(name), "resources: []\n");
            let diags = Infra::check(&root, &LoadOptions::default());
            assert!(diags.is_empty(), "{name}: {:?}", messages(&diags));
        }
    }

    #[test]
    fn an_overlay_without_a_kustomization_file_is_missing_and_the_close_one_is_suggested() {
        let (_temp, root) = tree();
        write(&root.join(OVERLAYS_DIR).join("minikube/README.md"), "no kustomization here\n");
        write(&root.join(OVERLAYS_DIR).join("minikub/Kustomization"), "resources: []\n");
        let diags = Infra::check(&root, &LoadOptions::default());
        let errors: Vec<&Diagnostic> = diags.errors().collect();
        assert_eq!(errors.len(), 1, "{:?}", messages(&diags));
        assert_eq!(errors[0].field, "deployments.k8s_minikube.target.overlay");
        let dir = root.join(OVERLAYS_DIR).join("minikube");
        assert_eq!(
            errors[0].message,
            format!(
                "overlay `minikube` not found: no kustomization file (one of kustomization.yaml, kustomization.yml, Kustomization) in {dir}"
            )
        );
        assert_eq!(errors[0].help.as_deref(), Some("did you mean `minikub`?"));
    }

    #[test]
    fn overlays_lists_only_directories_with_a_kustomization_file() {
        let (_temp, root) = tree();
        write(&root.join(OVERLAYS_DIR).join("minikube/Kustomization"), "");
        write(&root.join(OVERLAYS_DIR).join("scratch/notes.txt"), "");
        let (infra, _) = Infra::load(&root, &LoadOptions::default()).expect("the tree loads");
        assert_eq!(infra.overlays(), ["minikube"]);
    }
}
