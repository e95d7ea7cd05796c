//! `cargo xtask cloud status|kubeconfig|token`: EKS through the AWS SDK, one `stack-cloud` call
//! each; the `full` build only (gated in `main`).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use camino::Utf8Path;
use stack_cloud::{eks, kubeconfig, token};
use stack_config::environment::Cluster;

use crate::Context;
use crate::flags::Cloud;

pub fn run(cx: &Context, action: Cloud) -> anyhow::Result<ExitCode> {
    match action {
        Cloud::Status { wait } => status(cx, wait),
        Cloud::Kubeconfig { kubeconfig, alias } => self::kubeconfig(cx, kubeconfig.as_deref(), alias.as_deref()),
        Cloud::Token { cluster, region } => token(cx, &cluster, region.as_deref()),
        _ => anyhow::bail!("`{}` is not an EKS command", cx.command),
    }
}

/// The EKS cluster of `cx.env`.
fn env_cluster(cx: &Context) -> anyhow::Result<Cluster> {
    Ok(cx.load()?.environments.cluster(&cx.env)?.clone())
}

fn status(cx: &Context, wait: bool) -> anyhow::Result<ExitCode> {
    let cluster = env_cluster(cx)?;
    let options = eks::Options { region: cluster.region.clone(), endpoint_url: None };
    let wait = wait.then_some(Duration::from_secs(cx.wait_timeout));
    let report = crate::backend::runtime()?.block_on(eks::status(&options, &cx.env, &cluster.name, wait))?;
    cx.out.print(&report)?;
    Ok(if report.is_active() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn kubeconfig(cx: &Context, file: Option<&Utf8Path>, alias: Option<&str>) -> anyhow::Result<ExitCode> {
    let cluster = env_cluster(cx)?;
    let path = match file {
        Some(file) => file.as_std_path().to_owned(),
        None => kubeconfig::default_path(&|k| std::env::var(k).ok())?,
    };
    // The exec plugin runs a full build by absolute path, so that kubectl finds it from any
    // folder; an installed binary makes the kubeconfig independent of this checkout (README).
    let exe =
        std::env::current_exe().and_then(|p| kubeconfig::stable_binary(&p.canonicalize()?)).context("finding this program's own path")?;
    let command = exe.to_str().with_context(|| format!("this program's path `{}` is not UTF-8", exe.display()))?.to_owned();
    let exec = kubeconfig::ExecPlugin { command, args: eks::token_args(&cluster.name, &cluster.region) };
    let update = kubeconfig::Update { environment: cx.env.clone(), path, alias: alias.map(str::to_owned), exec, dry_run: cx.dry_run };
    let options = eks::Options { region: cluster.region.clone(), endpoint_url: None };
    let wait = Duration::from_secs(cx.wait_timeout);
    let report = crate::backend::runtime()?.block_on(eks::update_kubeconfig(&options, &cluster.name, wait, &update))?;
    cx.out.print(&report)?;
    Ok(ExitCode::SUCCESS)
}

fn token(cx: &Context, cluster: &str, region: Option<&str>) -> anyhow::Result<ExitCode> {
    let options = token::Options { cluster: cluster.to_owned(), region: region.unwrap_or_default().to_owned() };
    let credential = crate::backend::runtime()?.block_on(token::exec_credential(&options))?;
    // The exec plugin protocol is JSON whatever --output says: kubectl reads this.
    cx.out.text(&serde_json::to_string(&credential)?)?;
    Ok(ExitCode::SUCCESS)
}
