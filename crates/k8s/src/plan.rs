//! The plan of a Kubernetes deployment of the catalogue (`k8s_minikube`, `k8s_cloud`, ...): the
//! ordered steps with their exact commands, for `deploy ... --dry-run`. Pure data.

use std::fmt;

use serde::Serialize;
use stack_config::deployment::{Command, DeployCommand};
use stack_config::infra::Resolved;

/// Every step of a Kubernetes deployment, in order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployPlan {
    pub environment: String,
    pub deployment: String,
    pub action: String,
    pub overlay: String,
    /// The kube contexts this environment may be applied to (empty: any).
    pub kube_contexts: Vec<String>,
    pub steps: Vec<Step>,
}

/// One step.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub description: String,
    /// The shell command of a catalogue pre/post command.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Whether the toolkit can carry the step out. Every step can now (the cluster steps run
    /// through `cargo xtask k8s apply|delete`); the field stays so the JSON keeps its shape.
    pub implemented: bool,
}

impl DeployPlan {
    /// The plan of `resolved` (a kubernetes target).
    pub fn new(resolved: &Resolved) -> DeployPlan {
        let overlay = resolved.target.overlay.clone().unwrap_or_default();
        let command = |c: &Command| Step { description: c.description.clone(), command: Some(c.command.clone()), implemented: true };
        let cluster = |d: String| Step { description: d, command: None, implemented: true };
        let mut steps: Vec<Step> = resolved.target.pre_build_commands.iter().map(command).collect();
        match resolved.target.deploy_command {
            DeployCommand::Delete => {
                steps.push(cluster(format!(
                    "delete every object of overlay `{overlay}` (its namespace first) and wait until they are gone"
                )));
            }
            _ => {
                steps.push(Step {
                    description: format!("render overlay `{overlay}` with the native Kustomize renderer"),
                    command: None,
                    implemented: true,
                });
                let contexts = &resolved.environment.kube_contexts;
                if !contexts.is_empty() {
                    steps.push(cluster(format!("refuse unless the current kube context is one of: {}", contexts.join(", "))));
                }
                steps.push(cluster(
                    "server-side apply every rendered object (namespace first), pruning objects that left the overlay".to_owned(),
                ));
                steps.push(cluster("wait for every Deployment and StatefulSet to roll out and the Bootstrap Job to complete".to_owned()));
            }
        }
        steps.extend(resolved.target.post_build_commands.iter().map(command));
        DeployPlan {
            environment: resolved.environment.name.clone(),
            deployment: resolved.deployment.short_name.clone(),
            action: resolved.target.deploy_command.as_str().to_owned(),
            overlay,
            kube_contexts: resolved.environment.kube_contexts.clone(),
            steps,
        }
    }

    /// Whether every step can be carried out by this build.
    pub fn implemented(&self) -> bool {
        self.steps.iter().all(|s| s.implemented)
    }
}

impl fmt::Display for DeployPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "plan: {} `{}` in environment `{}` (overlay {})", self.action, self.deployment, self.environment, self.overlay)?;
        for (i, s) in self.steps.iter().enumerate() {
            let pending = if s.implemented { "" } else { " [not implemented yet]" };
            match &s.command {
                Some(c) => writeln!(f, "{:>3}. run: {} ($ {c}){pending}", i + 1, s.description)?,
                None => writeln!(f, "{:>3}. {}{pending}", i + 1, s.description)?,
            }
        }
        Ok(())
    }
}
