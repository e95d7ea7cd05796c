//! `cargo xtask images push`: [`stack_ops::images::push`] (its plan with `--dry-run`), the
//! pushed digests printed. An ECR registry's login comes from the AWS SDK (the `full` build).

use std::process::ExitCode;
use std::time::Duration;

use stack_ops::images::{self, Options};

use crate::Context;
use crate::flags::Push;

pub fn push(cx: &Context, args: Push) -> anyhow::Result<ExitCode> {
    let infra = cx.load()?;
    let options = Options { tag: args.tag, ..Options::new(&args.registry, args.record, Duration::from_secs(cx.wait_timeout)) };
    if cx.dry_run {
        cx.out.print(&images::plan(&infra, &cx.env, &options).map_err(anyhow::Error::from_boxed)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    // An ECR login comes from the AWS SDK: the full build.
    if stack_cloud::ecr::region_of(&options.registry).is_some() {
        crate::backend::in_full_build!(cx, ());
    }
    let report = cx.nested().with_console(|console| images::push(&infra, &cx.env, &options, console)).map_err(anyhow::Error::from_boxed)?;
    cx.out.print(&report)?;
    Ok(ExitCode::SUCCESS)
}
