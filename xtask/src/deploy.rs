//! `cargo xtask deploy [ENV] [SHORT_NAME]`: runs a deployment of the catalogue.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::bail;
use serde::Serialize;
use stack_compose::Plan;
use stack_config::Infra;
use stack_config::deployment::Composing;

use crate::Context;
use crate::flags::Deploy;
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
        (None, None) if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() => {
            bail!(
                "the interactive deployment menu is not implemented yet\n  help: give the environment and short name, e.g. `cargo xtask deploy local s_a_dbs_s`; `cargo xtask deploy --list` lists them"
            )
        }
        _ => bail!(
            "missing ENV and SHORT_NAME\n  help: e.g. `cargo xtask deploy local s_a_dbs_s`; `cargo xtask deploy --list` lists the deployments"
        ),
    };
    let (resolved, warnings) = infra.resolve(&env, &short_name)?;
    for w in warnings.iter() {
        note(&w.to_string());
    }
    if resolved.target.composing == Composing::Kubernetes {
        bail!("deployment `{short_name}` targets Kubernetes, which is not implemented yet (it arrives with the Kubernetes driver)");
    }
    let plan = Plan::new(&resolved)?;
    if !cx.dry_run {
        bail!("running deployments on Docker is not implemented yet (it arrives with the local Docker stack); `--dry-run` prints the plan");
    }
    if cx.out.is_json() {
        cx.out.json(&plan)?;
    } else {
        cx.out.text(&plan.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
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
