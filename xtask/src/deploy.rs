//! `cargo xtask deploy [ENV] [SHORT_NAME]`: runs a deployment of the catalogue; with no
//! arguments on a terminal, a menu asks for the environment, then the deployment.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use serde::Serialize;
use stack_compose::Plan;
use stack_config::Infra;
use stack_config::deployment::{Composing, DeployCommand};
use stack_config::infra::Resolved;

use crate::Context;
use crate::flags::{Apply, Delete, Deploy, Overlay, Target};
use crate::local::{self, RunFlags};
use crate::output::note;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry<'a> {
    short_name: &'a str,
    name: &'a str,
    description: &'a str,
    environments: &'a [String],
}

pub fn run(cx: &Context, args: Deploy) -> anyhow::Result<ExitCode> {
    let (infra, warnings) = Infra::load(&cx.infra, &crate::load_options())?;
    for w in warnings.iter() {
        note(&w.to_string());
    }
    if args.list {
        return list(cx, &infra);
    }
    let (env, short_name) = match (args.environment, args.short_name) {
        (Some(env), Some(short)) => (env, short),
        (Some(short), None) if infra.catalogue.find(&short).is_ok() => (cx.env.clone(), short),
        (None, None) if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => menu(&infra)?,
        _ => bail!(
            "missing ENV and SHORT_NAME\n  help: e.g. `cargo xtask deploy local s_a_dbs_s`; `cargo xtask deploy --list` lists the deployments"
        ),
    };
    let (infra, resolved) = local::resolve(cx, &env, &short_name)?;
    if resolved.target.composing == Composing::Kubernetes {
        let plan = stack_k8s::plan::DeployPlan::new(&resolved);
        if cx.dry_run {
            if cx.out.is_json() {
                cx.out.json(&plan)?;
            } else {
                cx.out.text(&plan.to_string())?;
            }
            return Ok(ExitCode::SUCCESS);
        }
        return kubernetes(cx, &infra, &resolved);
    }
    if cx.dry_run {
        return print_plan(cx, &resolved);
    }
    local::execute(cx, &infra, &resolved, RunFlags { volumes: args.volumes, remove_orphans: args.remove_orphans })
}

/// Runs a kubernetes deployment (`k8s_minikube`, `k8s_cloud`, their `d_` twins): the catalogue's
/// pre-commands, then `k8s apply` (or `k8s delete`) of its overlay, then its post-commands. The
/// kube context is the kubeconfig's current one, so the overlay's wrong-cluster guard applies.
/// A delete does not ask again: naming a `d_` deployment is the confirmation (there is no `--yes`
/// on `deploy`).
fn kubernetes(cx: &Context, infra: &Infra, resolved: &Resolved) -> anyhow::Result<ExitCode> {
    // The cluster operations need the Kubernetes backend: build it before anything changes.
    let what = format!("deploy {} {}", resolved.environment.name, resolved.deployment.short_name);
    if let Some(code) = crate::backend::ensure_full(&what)? {
        return Ok(code);
    }
    let overlay = resolved.target.overlay.clone().context("a kubernetes deployment without an overlay")?;
    let target = Target { overlay: Overlay { overlay }, context: None };
    local::run_entry(cx, infra, resolved, || {
        let code = match resolved.target.deploy_command {
            DeployCommand::Delete => crate::cluster::delete(cx, &Delete { target, yes: true })?,
            _ => crate::cluster::apply(
                cx,
                &Apply { target, force_conflicts: false, no_prune: false, no_wait: false, rollback_on_failure: false },
            )?,
        };
        // In this (full) build the cluster commands succeed or fail with an error.
        Ok(if code == ExitCode::SUCCESS { 0 } else { 1 })
    })
}

/// Prints the plan of a docker deployment, as text or one JSON document.
pub fn print_plan(cx: &Context, resolved: &Resolved) -> anyhow::Result<ExitCode> {
    let plan = Plan::new(resolved)?;
    if cx.out.is_json() {
        cx.out.json(&plan)?;
    } else {
        cx.out.text(&plan.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The Phase 1 menu: pick an environment, then one of the deployments it allows.
fn menu(infra: &Infra) -> anyhow::Result<(String, String)> {
    let envs: Vec<&String> = infra.environments.environments.keys().collect();
    let lines: Vec<String> = infra.environments.environments.values().map(|e| format!("{} — {}", e.name, e.description)).collect();
    let env = envs[choose("Environment", &lines)?].clone();
    let deployments: Vec<_> = infra.catalogue.deployments.iter().filter(|d| d.environments.contains(&env)).collect();
    if deployments.is_empty() {
        bail!("no deployment of the catalogue runs in environment `{env}`");
    }
    let lines: Vec<String> = deployments.iter().map(|d| format!("{:14} {}", d.short_name, d.name)).collect();
    let short = deployments[choose("Deployment", &lines)?].short_name.clone();
    Ok((env, short))
}

fn choose(what: &str, items: &[String]) -> anyhow::Result<usize> {
    let mut text = format!("{what}:\n");
    for (i, item) in items.iter().enumerate() {
        text.push_str(&format!("  {:>2}) {item}\n", i + 1));
    }
    note(text.trim_end());
    loop {
        note(&format!("choose 1-{}: ", items.len()));
        let mut answer = String::new();
        if std::io::stdin().lock().read_line(&mut answer)? == 0 {
            bail!("no choice made (end of input): nothing was changed");
        }
        match answer.trim().parse::<usize>() {
            Ok(n) if (1..=items.len()).contains(&n) => return Ok(n - 1),
            _ => note(&format!("`{}` is not a number between 1 and {}", answer.trim(), items.len())),
        }
    }
}

fn list(cx: &Context, infra: &Infra) -> anyhow::Result<ExitCode> {
    let entries: Vec<Entry<'_>> = infra
        .catalogue
        .deployments
        .iter()
        .map(|d| Entry { short_name: &d.short_name, name: &d.name, description: &d.description, environments: &d.environments })
        .collect();
    if cx.out.is_json() {
        cx.out.json(&entries)?;
    } else {
        let width = entries.iter().map(|e| e.short_name.len()).max().unwrap_or(0);
        for e in &entries {
            cx.out.text(&format!("{:width$}  {} [{}]", e.short_name, e.name, e.environments.join(", ")))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
