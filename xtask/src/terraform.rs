//! `cargo xtask cloud plan|apply|destroy`: flags → `stack_cloud::terraform::action` → printing;
//! the confirmation is asked here, on the terminal.

use std::process::ExitCode;

use stack_cloud::terraform::Options;
use stack_cloud::terraform::action::{self, Confirm, DryRunNote};

use crate::Context;
use crate::flags::Cloud;
use crate::output::note;

/// Runs `cloud plan|apply|destroy` in the environment `cx.env` of `<infra>/terraform`.
pub fn run(cx: &Context, action: Cloud) -> anyhow::Result<ExitCode> {
    let mut terraform = Options::new(cx.infra.join("terraform").as_std_path(), &cx.env);
    let (action, yes) = match action {
        Cloud::Apply { yes } => (action::Action::Apply, yes),
        Cloud::Destroy { yes, allow_prod_destroy } => {
            terraform.allow_prod_destroy = allow_prod_destroy;
            (action::Action::Destroy, yes)
        }
        _ => (action::Action::Plan, false),
    };
    let confirm = Confirm::on_terminal(yes);
    let options = action::Options { action, terraform, confirm };
    if cx.dry_run {
        let plan = action::plan_dry_run(&options);
        for n in &plan.notes {
            let flag = if matches!(n, DryRunNote::ProdDestroyRefused { .. }) { " (--allow-prod-destroy)" } else { "" };
            note(&format!("note: {n}{flag}"));
        }
        cx.out.print(&plan)?;
        return Ok(ExitCode::SUCCESS);
    }
    let report = action::run(&options, &mut |event| cx.progress(&event.to_string()), &mut action::ask_on_terminal)?;
    cx.out.print(&report)?;
    Ok(ExitCode::SUCCESS)
}
