//! `cargo xtask cloud ...`: EKS through the AWS SDK, compiled only into `--features full`
//! builds; a plain build re-runs itself with that feature (see `backend.rs`).

use std::process::ExitCode;

use camino::Utf8Path;

use crate::Context;
use crate::backend;

/// `cloud status --env E [--wait]`: the cluster and its node groups.
pub fn status(cx: &Context, wait: bool) -> anyhow::Result<ExitCode> {
    if let Some(code) = backend::ensure_full("cloud status")? {
        return Ok(code);
    }
    full::status(cx, wait)
}

/// `cloud kubeconfig --env E [--kubeconfig FILE] [--alias NAME]`: the cluster's kubeconfig entry.
pub fn kubeconfig(cx: &Context, file: Option<&Utf8Path>, alias: Option<&str>) -> anyhow::Result<ExitCode> {
    if let Some(code) = backend::ensure_full("cloud kubeconfig")? {
        return Ok(code);
    }
    full::kubeconfig(cx, file, alias)
}

/// `cloud token --cluster NAME [--region R]`: an ExecCredential on stdout.
pub fn token(cx: &Context, cluster: &str, region: Option<&str>) -> anyhow::Result<ExitCode> {
    if let Some(code) = backend::ensure_full("cloud token")? {
        return Ok(code);
    }
    full::token(cx, cluster, region)
}

#[cfg(feature = "full")]
mod full {
    use std::process::ExitCode;
    use std::time::Duration;

    use anyhow::Context as _;
    use camino::Utf8Path;
    use stack_cloud::{eks, kubeconfig, token};
    use stack_config::Infra;
    use stack_config::environment::Cluster;

    use crate::Context;

    /// The EKS cluster of `cx.env`, or an error that says the environment has none.
    fn env_cluster(cx: &Context) -> anyhow::Result<Cluster> {
        let (infra, _) = Infra::load(&cx.infra, &crate::load_options())?;
        let env = infra.environments.get(&cx.env).map_err(|d| anyhow::anyhow!("{d}"))?;
        env.cluster.clone().with_context(|| {
            format!(
                "environment `{}` has no EKS cluster (it is a {:?} environment)\n  help: use --env dev, staging or prod",
                cx.env, env.kind
            )
        })
    }

    pub fn status(cx: &Context, wait: bool) -> anyhow::Result<ExitCode> {
        let cluster = env_cluster(cx)?;
        let options = eks::Options { region: cluster.region.clone(), endpoint_url: None };
        let wait = wait.then_some(Duration::from_secs(cx.wait_timeout));
        let report = crate::backend::runtime()?.block_on(eks::status(&options, &cx.env, &cluster.name, wait))?;
        if cx.out.is_json() {
            cx.out.json(&report)?
        } else {
            cx.out.text(&report.to_string())?
        }
        Ok(if report.is_active() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }

    pub fn kubeconfig(cx: &Context, file: Option<&Utf8Path>, alias: Option<&str>) -> anyhow::Result<ExitCode> {
        let cluster = env_cluster(cx)?;
        let path = match file {
            Some(file) => file.as_std_path().to_owned(),
            None => kubeconfig::default_path(&|k| std::env::var(k).ok())?,
        };
        // The exec plugin runs this very binary, by absolute path, so that kubectl finds it from
        // any folder. An installed binary (`cargo install --path xtask --features full`) makes the
        // kubeconfig independent of this checkout; see the README.
        let exe = std::env::current_exe().and_then(|p| p.canonicalize()).context("finding this program's own path")?;
        let command = exe.to_str().with_context(|| format!("this program's path `{}` is not UTF-8", exe.display()))?.to_owned();
        let exec = kubeconfig::ExecPlugin { command, args: eks::token_args(&cluster.name, &cluster.region) };
        let update = kubeconfig::Update { environment: cx.env.clone(), path, alias: alias.map(str::to_owned), exec, dry_run: cx.dry_run };
        let options = eks::Options { region: cluster.region.clone(), endpoint_url: None };
        let wait = Duration::from_secs(cx.wait_timeout);
        let report = crate::backend::runtime()?.block_on(eks::update_kubeconfig(&options, &cluster.name, wait, &update))?;
        if cx.out.is_json() {
            cx.out.json(&report)?
        } else {
            cx.out.text(&report.to_string())?
        }
        Ok(ExitCode::SUCCESS)
    }

    pub fn token(cx: &Context, cluster: &str, region: Option<&str>) -> anyhow::Result<ExitCode> {
        let options = token::Options { cluster: cluster.to_owned(), region: region.unwrap_or_default().to_owned() };
        let credential = crate::backend::runtime()?.block_on(token::exec_credential(&options))?;
        // The exec plugin protocol is JSON whatever --output says: kubectl reads this.
        cx.out.text(&serde_json::to_string(&credential)?)?;
        Ok(ExitCode::SUCCESS)
    }
}

#[cfg(not(feature = "full"))]
mod full {
    use std::process::ExitCode;

    use camino::Utf8Path;

    use crate::Context;

    // Unreachable in practice: `ensure_full` re-runs a `full` build first.

    pub fn status(_: &Context, _: bool) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`cloud status` needs the `full` feature")
    }

    pub fn kubeconfig(_: &Context, _: Option<&Utf8Path>, _: Option<&str>) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`cloud kubeconfig` needs the `full` feature")
    }

    pub fn token(_: &Context, _: &str, _: Option<&str>) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`cloud token` needs the `full` feature")
    }
}
