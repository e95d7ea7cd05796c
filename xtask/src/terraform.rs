//! `cargo xtask cloud plan|apply|destroy`: flags → `stack_cloud::terraform::action` → printing;
//! the confirmation is asked here, on the terminal.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use stack_cloud::terraform::Options;
use stack_cloud::terraform::action::{self, Confirm, DryRunNote};

use crate::Context;
use crate::output::note;

/// What the operator asked for, with its flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Plan,
    Apply { yes: bool },
    Destroy { yes: bool, allow_prod_destroy: bool },
}

/// Runs `action` in the environment `cx.env` of `<infra>/terraform`.
pub fn run(cx: &Context, action: Action) -> anyhow::Result<ExitCode> {
    let mut terraform = Options::new(cx.infra.join("terraform").as_std_path(), &cx.env);
    let (action, yes) = match action {
        Action::Plan => (action::Action::Plan, false),
        Action::Apply { yes } => (action::Action::Apply, yes),
        Action::Destroy { yes, allow_prod_destroy } => {
            terraform.allow_prod_destroy = allow_prod_destroy;
            (action::Action::Destroy, yes)
        }
    };
    let confirm = if yes {
        Confirm::Yes
    } else if std::io::stdin().is_terminal() {
        Confirm::Ask
    } else {
        Confirm::Unavailable
    };
    let options = action::Options { action, terraform, confirm };
    if cx.dry_run {
        let plan = action::plan_dry_run(&options);
        for n in &plan.notes {
            let flag = if matches!(n, DryRunNote::ProdDestroyRefused { .. }) { " (--allow-prod-destroy)" } else { "" };
            note(&format!("note: {n}{flag}"));
        }
        return print(cx, &plan);
    }
    let report = action::run(
        &options,
        &mut |event| {
            if !cx.quiet {
                note(&event.to_string())
            }
        },
        &mut |question| {
            note(&question.to_string());
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            Ok(question.accepts(&answer))
        },
    )?;
    print(cx, &report)
}

/// The result on stdout, as JSON or as its human text.
fn print(cx: &Context, result: &(impl serde::Serialize + std::fmt::Display)) -> anyhow::Result<ExitCode> {
    if cx.out.is_json() {
        cx.out.json(result)?
    } else {
        cx.out.text(&result.to_string())?
    }
    Ok(ExitCode::SUCCESS)
}
