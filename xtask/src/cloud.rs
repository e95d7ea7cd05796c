//! `cargo xtask cloud ...`: EKS through the AWS SDK, compiled only into `--features full`
//! builds; a plain build re-runs itself with that feature (see `backend.rs`).

use std::process::ExitCode;

use crate::Context;
use crate::backend;

/// `cloud status --env E`: the cluster and its node groups.
pub fn status(cx: &Context) -> anyhow::Result<ExitCode> {
    if let Some(code) = backend::ensure_full("cloud status")? {
        return Ok(code);
    }
    full::status(cx)
}

#[cfg(feature = "full")]
mod full {
    use std::process::ExitCode;

    use anyhow::Context as _;
    use serde::Serialize;
    use stack_cloud::eks::{self, ClusterStatus, EksOptions, NodegroupStatus};
    use stack_config::Infra;

    use crate::Context;

    #[derive(Serialize)]
    struct Report {
        environment: String,
        cluster: ClusterStatus,
        nodegroups: Vec<NodegroupStatus>,
    }

    pub fn status(cx: &Context) -> anyhow::Result<ExitCode> {
        let (infra, _) = Infra::load(&cx.infra, &crate::load_options())?;
        let env = infra.environments.get(&cx.env).map_err(|d| anyhow::anyhow!("{d}"))?;
        let cluster = env.cluster.as_ref().with_context(|| {
            format!(
                "environment `{}` has no EKS cluster (it is a {:?} environment)\n  help: use --env dev, staging or prod",
                cx.env, env.kind
            )
        })?;
        let options = EksOptions { region: cluster.region.clone(), endpoint_url: None };
        let report = crate::local::runtime()?.block_on(async {
            let client = eks::client(&options).await?;
            let status = eks::describe_cluster(&client, &cluster.name).await?;
            let nodegroups = eks::nodegroups(&client, &cluster.name).await?;
            anyhow::Ok(Report { environment: cx.env.clone(), cluster: status, nodegroups })
        })?;
        if cx.out.is_json() {
            cx.out.json(&report)?;
        } else {
            let c = &report.cluster;
            cx.out.text(&format!(
                "cluster {} ({}): {} — Kubernetes {}, endpoint {}",
                c.name,
                cluster.region,
                c.status,
                c.version.as_deref().unwrap_or("?"),
                c.endpoint.as_deref().unwrap_or("(none yet)")
            ))?;
            for ng in &report.nodegroups {
                cx.out.text(&format!(
                    "  node group {}: {} ({} × {})",
                    ng.name,
                    ng.status,
                    ng.desired_size.map_or("?".to_owned(), |d| d.to_string()),
                    ng.instance_types.join(",")
                ))?;
            }
        }
        Ok(if report.cluster.status == "ACTIVE" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

#[cfg(not(feature = "full"))]
mod full {
    use std::process::ExitCode;

    use crate::Context;

    /// Unreachable in practice: `ensure_full` re-runs a `full` build first.
    pub fn status(_: &Context) -> anyhow::Result<ExitCode> {
        anyhow::bail!("`cloud status` needs the `full` feature")
    }
}
