//! The catalogue commands: `deploy [ENV] [SHORT_NAME]` (with no arguments on a terminal, a menu
//! asks for the environment, then the deployment), and the short forms `db start|stop|reset`,
//! `services build|up|down`, `bootstrap`. Docker entries run through
//! [`stack_compose::entry::run`]; Kubernetes entries apply or delete their overlay between
//! their pre- and post-commands.

// Without `full` the Kubernetes bodies are not compiled, only the re-run through cargo.
#![cfg_attr(not(feature = "full"), allow(unused_variables))]

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::bail;
use stack_compose::entry::{self, Orphans, Volumes};
use stack_compose::{EngineOptions, Plan};
use stack_config::Infra;
use stack_config::deployment::Composing;
use stack_config::infra::Resolved;

use crate::Context;
use crate::backend::in_full_build;
use crate::flags::Deploy;

pub fn run(cx: &Context, args: Deploy) -> anyhow::Result<ExitCode> {
    let infra = cx.load()?;
    if args.list {
        cx.out.print(&infra.catalogue.listing())?;
        return Ok(ExitCode::SUCCESS);
    }
    let (env, short_name) = match (args.environment, args.short_name) {
        (Some(env), Some(short)) => (env, short),
        (Some(short), None) if infra.catalogue.find(&short).is_ok() => (cx.env.clone(), short),
        (None, None) if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            stack_config::menu::choose_deployment(&infra, &mut std::io::stdin().lock(), &mut std::io::stderr())?
        }
        _ => bail!(
            "missing ENV and SHORT_NAME\n  help: e.g. `cargo xtask deploy local s_a_dbs_s`; `cargo xtask deploy --list` lists the deployments"
        ),
    };
    let volumes = if args.volumes { Volumes::Remove } else { Volumes::Keep };
    let orphans = if args.remove_orphans { Orphans::Remove } else { Orphans::Keep };
    execute(cx, &infra, &env, &short_name, entry::Options { volumes, orphans, ..cx.entry_options() })
}

/// Runs the catalogue entry `short_name` in the context's environment (`db start`, ...).
pub fn run_short(cx: &Context, short_name: &str) -> anyhow::Result<ExitCode> {
    execute(cx, &cx.load()?, &cx.env, short_name, cx.entry_options())
}

/// Resolves and runs an entry; `--dry-run` prints its plan instead.
fn execute(cx: &Context, infra: &Infra, env: &str, short_name: &str, options: entry::Options) -> anyhow::Result<ExitCode> {
    let (resolved, warnings) = infra.resolve(env, short_name)?;
    warnings.iter().for_each(|w| cx.progress(&w.to_string()));
    match (resolved.target.composing, cx.dry_run) {
        (Composing::Kubernetes, true) => cx.out.print(&stack_k8s::plan::DeployPlan::new(&resolved))?,
        (Composing::Kubernetes, false) => return kubernetes(cx, infra, &resolved),
        (_, true) => cx.out.print(&Plan::new(&resolved)?)?,
        (_, false) => return docker(cx, infra, &resolved, &options),
    }
    Ok(ExitCode::SUCCESS)
}

/// A docker entry through [`stack_compose::entry::run`], its report printed.
fn docker(cx: &Context, infra: &Infra, resolved: &Resolved, options: &entry::Options) -> anyhow::Result<ExitCode> {
    let engine = EngineOptions::from_env(&|k| std::env::var(k).ok());
    let report = entry::run(resolved, infra.repo_root().as_std_path(), &engine, options, &cx.terminal())?;
    cx.out.print(&report)?;
    Ok(ExitCode::from(report.exit_code()))
}

/// A kubernetes entry (`k8s_minikube`, `k8s_cloud`, their `d_` twins): the catalogue's
/// pre-commands, then the apply (or delete) of its overlay on the kubeconfig's current context
/// (so the wrong-cluster guard applies), then its post-commands. Naming a `d_` entry is the
/// delete's confirmation.
fn kubernetes(cx: &Context, infra: &Infra, resolved: &Resolved) -> anyhow::Result<ExitCode> {
    in_full_build!(cx, {
        let wait = std::time::Duration::from_secs(cx.wait_timeout);
        // A failed rollout's report is in its error, unless stdout wants the JSON.
        let mut print = |r: &stack_ops::catalogue::Report| {
            if cx.out.is_json() || !matches!(r, stack_ops::catalogue::Report::Applied(a) if !a.ok) {
                drop(cx.out.print(r));
            }
        };
        let code = cx.with_console(|console| stack_ops::catalogue::run(infra, resolved, cx.mode(), wait, console, &mut print));
        Ok(ExitCode::from(code.map_err(anyhow::Error::from_boxed)?))
    })
}

/// `db reset`: asks first, then removes the data layer with its volumes.
pub fn reset(cx: &Context, yes: bool) -> anyhow::Result<ExitCode> {
    let infra = cx.load()?;
    let (resolved, _) = infra.resolve(&cx.env, "d_a_dbs")?;
    if !yes && !cx.dry_run {
        let what = format!(
            "This removes the {} containers of project {} AND their data volumes: all data is lost.",
            resolved.services.join(", "),
            resolved.project_name
        );
        crate::output::confirm(&format!("{what}\nType `yes` to continue: "), &["yes"])?;
    }
    execute(cx, &infra, &cx.env, "d_a_dbs", entry::Options { volumes: Volumes::Remove, ..cx.entry_options() })
}
