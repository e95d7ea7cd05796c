//! One call per command: a cluster's [`StatusReport`] (state and node groups, as JSON or text)
//! and [`update_kubeconfig`] (wait until ACTIVE, then write its kubeconfig entry).

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::{ClusterStatus, NodegroupStatus, Options, client, describe_cluster, kubeconfig_entry, nodegroups, wait_active};
use crate::Result;
use crate::kubeconfig;

/// A cluster and its node groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    pub environment: String,
    /// The region asked; the text names it, the JSON does not.
    #[serde(skip)]
    pub region: String,
    pub cluster: ClusterStatus,
    pub nodegroups: Vec<NodegroupStatus>,
}

/// The state of `cluster` (of `environment`) and its node groups; with `wait`, first waits up
/// to that long until it is ACTIVE.
pub async fn status(options: &Options, environment: &str, cluster: &str, wait: Option<Duration>) -> Result<StatusReport> {
    let client = client(options).await?;
    let status = match wait {
        Some(timeout) => wait_active(&client, cluster, timeout).await?,
        None => describe_cluster(&client, cluster).await?,
    };
    let nodegroups = nodegroups(&client, cluster).await?;
    Ok(StatusReport { environment: environment.to_owned(), region: options.region.clone(), cluster: status, nodegroups })
}

/// Waits up to `wait` until `cluster` is ACTIVE, then writes its entry as `update` says.
pub async fn update_kubeconfig(
    options: &Options,
    cluster: &str,
    wait: Duration,
    update: &kubeconfig::Update,
) -> Result<kubeconfig::Report> {
    let client = client(options).await?;
    let status = wait_active(&client, cluster, wait).await?;
    let entry = kubeconfig_entry(&status, update.alias.as_deref(), update.exec.clone())?;
    kubeconfig::apply(update, cluster, &entry)
}

impl StatusReport {
    /// Whether the cluster is ACTIVE (a command's success).
    pub fn is_active(&self) -> bool {
        self.cluster.status == "ACTIVE"
    }
}

impl fmt::Display for StatusReport {
    /// One line for the cluster, one per node group.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.cluster;
        write!(
            f,
            "cluster {} ({}): {} — Kubernetes {}, endpoint {}",
            c.name,
            self.region,
            c.status,
            c.version.as_deref().unwrap_or("?"),
            c.endpoint.as_deref().unwrap_or("(none yet)")
        )?;
        for ng in &self.nodegroups {
            let desired = ng.desired_size.map_or("?".to_owned(), |d| d.to_string());
            write!(f, "\n  node group {}: {} ({} × {})", ng.name, ng.status, desired, ng.instance_types.join(","))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json() {
        let report = StatusReport {
            environment: "dev".into(),
            region: "eu-west-1".into(),
            cluster: ClusterStatus {
                name: "srvthreds-dev".into(),
                status: "CREATING".into(),
                version: Some("1.33".into()),
                endpoint: None,
                arn: None,
                certificate_authority_data: Some("Q0E=".into()),
            },
            nodegroups: vec![NodegroupStatus {
                name: "main".into(),
                status: "ACTIVE".into(),
                instance_types: vec!["t3.large".into(), "t3.xlarge".into()],
                desired_size: Some(2),
            }],
        };
        assert!(!report.is_active());
        assert_eq!(
            report.to_string(),
            "cluster srvthreds-dev (eu-west-1): CREATING — Kubernetes 1.33, endpoint (none yet)\n  node group main: ACTIVE (2 × t3.large,t3.xlarge)"
        );
        let json = serde_json::to_value(&report).expect("json");
        assert_eq!(json["environment"], "dev");
        assert_eq!(json["cluster"]["status"], "CREATING");
        assert_eq!(json["nodegroups"][0]["desiredSize"], 2);
        assert!(json.get("region").is_none() && json["cluster"].get("certificate_authority_data").is_none(), "{json}");
    }
}
