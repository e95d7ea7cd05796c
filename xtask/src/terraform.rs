//! `cargo xtask cloud plan|apply|destroy`: the Terraform runner of `stack-cloud` per environment,
//! with the operator's confirmation asked here (the library only refuses to act without it).

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::bail;
use serde::Serialize;
use stack_cloud::terraform::{self, Options, PlanSummary, Step, Stream, Terraform};

use crate::Context;
use crate::output::note;

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `cloud plan`: init, plan, summary.
    Plan,
    /// `cloud apply`: init, plan, summary, confirmation, apply of that plan.
    Apply { yes: bool },
    /// `cloud destroy`: init, plan -destroy, summary, confirmation, apply of that plan.
    Destroy { yes: bool, allow_prod_destroy: bool },
}

/// The JSON result of `--output json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    environment: &'a str,
    action: &'static str,
    summary: &'a PlanSummary,
    /// Whether the plan was applied (always false for `plan`).
    applied: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DryRun<'a> {
    environment: &'a str,
    commands: Vec<Vec<String>>,
}

/// Runs `action` in the environment `cx.env` of `<infra>/terraform`.
pub fn run(cx: &Context, action: Action) -> anyhow::Result<ExitCode> {
    let (yes, allow_prod_destroy) = match action {
        Action::Plan => (false, false),
        Action::Apply { yes } => (yes, false),
        Action::Destroy { yes, allow_prod_destroy } => (yes, allow_prod_destroy),
    };
    let mut options = Options::new(cx.infra.join("terraform").as_std_path(), &cx.env);
    options.allow_prod_destroy = allow_prod_destroy;
    let destroy = matches!(action, Action::Destroy { .. });
    let name = match action {
        Action::Plan => "plan",
        Action::Apply { .. } => "apply",
        Action::Destroy { .. } => "destroy",
    };

    if cx.dry_run {
        return dry_run(cx, &options, action);
    }
    // Refuse before minutes of init and plan when the answer cannot come.
    if action != Action::Plan && !yes && !std::io::stdin().is_terminal() {
        bail!(
            "`cloud {name}` changes environment `{}` and needs a confirmation\n  help: not a terminal, so nothing to ask: pass --yes to confirm",
            cx.env
        );
    }
    let terraform = Terraform::new(options)?;
    if destroy {
        terraform.ensure_destroy_allowed()?;
    }
    let quiet = cx.quiet;
    let mut on_line = |_: Stream, line: &str| {
        if !quiet {
            note(line);
        }
    };
    progress(cx, &format!("terraform init ({})", cx.env));
    terraform.init(&mut on_line)?;
    progress(cx, &format!("terraform {} ({})", if destroy { "plan -destroy" } else { "plan" }, cx.env));
    let summary = terraform.plan(destroy, &mut on_line)?;
    if !cx.out.is_json() {
        cx.out.text(&summary.to_string())?;
    }

    let mut applied = false;
    if action != Action::Plan {
        if summary.changes_nothing() {
            note(&format!("nothing to {name}: environment `{}` already matches", cx.env));
        } else {
            if !yes {
                confirm(&cx.env, name, destroy)?;
            }
            let mut options = terraform.options().clone();
            options.yes = true;
            let terraform = Terraform::new(options)?;
            progress(cx, &format!("terraform apply ({})", cx.env));
            terraform.apply(destroy, &mut on_line)?;
            applied = true;
        }
    }
    if cx.out.is_json() {
        cx.out.json(&Report { environment: &cx.env, action: name, summary: &summary, applied })?;
    }
    Ok(ExitCode::SUCCESS)
}

/// A progress line on stderr, unless `--quiet`.
fn progress(cx: &Context, text: &str) {
    if !cx.quiet {
        note(text);
    }
}

/// Asks on the terminal: `yes` for an apply, the environment's name for a destroy.
fn confirm(environment: &str, name: &str, destroy: bool) -> anyhow::Result<()> {
    let expected = if destroy { environment } else { "yes" };
    note(&format!("Run `terraform {name}` with the plan above on environment `{environment}`?\nType `{expected}` to continue: "));
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != expected {
        bail!("cancelled: nothing was changed");
    }
    Ok(())
}

/// Prints the command lines `action` would run, and runs nothing.
fn dry_run(cx: &Context, options: &Options, action: Action) -> anyhow::Result<ExitCode> {
    let steps: &[Step] = match action {
        Action::Plan => &[Step::Init, Step::Plan, Step::Show],
        Action::Apply { .. } => &[Step::Init, Step::Plan, Step::Show, Step::Apply],
        Action::Destroy { .. } => &[Step::Init, Step::PlanDestroy, Step::Show, Step::Apply],
    };
    let commands: Vec<Vec<String>> =
        steps.iter().map(|step| std::iter::once("terraform".to_owned()).chain(terraform::command_line(*step, options)).collect()).collect();
    if !options.dir.join(terraform::BACKEND_CONFIG).is_file() {
        note(&format!(
            "note: {} does not exist yet; `init` needs it (copy backend.hcl.example)",
            options.dir.join(terraform::BACKEND_CONFIG).display()
        ));
    }
    if matches!(action, Action::Destroy { allow_prod_destroy: false, .. }) && terraform::is_production(&options.environment) {
        note(&format!("note: destroying `{}` would be refused without --allow-prod-destroy", options.environment));
    }
    if cx.out.is_json() {
        cx.out.json(&DryRun { environment: &options.environment, commands })?;
    } else {
        let lines: Vec<String> = commands.iter().map(|argv| stack_process::shell_line(argv)).collect();
        cx.out.text(&lines.join("\n"))?;
    }
    Ok(ExitCode::SUCCESS)
}
