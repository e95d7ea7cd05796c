//! EKS through the AWS SDK (feature `aws`): the client, cluster status, waiting until ACTIVE, and
//! the kubeconfig entry of a cluster.

use aws_config::BehaviorVersion;
use aws_sdk_eks::config::Region;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use std::future::Future;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::kubeconfig::{Entry, ExecPlugin};

mod report;

pub use report::{StatusReport, status, update_kubeconfig};

/// Where to reach EKS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The AWS region, e.g. `eu-west-1`; empty means the environment's (`AWS_REGION`, the profile).
    pub region: String,
    /// An endpoint override (e.g. a local moto server). `None` keeps the SDK's own choice, which
    /// honours `AWS_ENDPOINT_URL_EKS`, then `AWS_ENDPOINT_URL`, then the profile's `endpoint_url`.
    /// When set it wins over all of them.
    pub endpoint_url: Option<String>,
}

/// The state of one EKS cluster, as DescribeCluster reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    /// The cluster name.
    pub name: String,
    /// `CREATING`, `ACTIVE`, `DELETING`, `FAILED`, `UPDATING` or `PENDING`.
    pub status: String,
    /// The Kubernetes version, e.g. `1.33`.
    pub version: Option<String>,
    /// The API server URL; absent while the cluster is being created.
    pub endpoint: Option<String>,
    /// The cluster's ARN.
    pub arn: Option<String>,
    /// The base64 PEM of the cluster's CA, as EKS gives it (not parsed: moto's is random text).
    /// Left out of JSON reports: it is long and says nothing about the state.
    #[serde(skip)]
    pub certificate_authority_data: Option<String>,
}

/// Builds an EKS client: credentials from the default chain (environment, profile, web identity,
/// container and instance metadata), HTTP over rustls with the `ring` provider.
///
/// This does no request; a wrong endpoint or missing credentials show at the first call.
pub async fn client(options: &Options) -> Result<aws_sdk_eks::Client> {
    let sdk_config = loader(options).load().await;
    if sdk_config.region().is_none() {
        return Err(Error::NoRegion);
    }
    eks_client(&sdk_config, options)
}

/// Describes the cluster `name`.
pub async fn describe_cluster(client: &aws_sdk_eks::Client, name: &str) -> Result<ClusterStatus> {
    let output = client.describe_cluster().name(name).send().await.map_err(|source| {
        if source.as_service_error().is_some_and(|error| error.is_resource_not_found_exception()) {
            Error::ClusterNotFound { cluster: name.to_owned() }
        } else {
            Error::DescribeCluster { cluster: name.to_owned(), source: Box::new(source) }
        }
    })?;
    let cluster = output.cluster().ok_or_else(|| Error::DescribeClusterEmpty { cluster: name.to_owned() })?;
    let status = status_of(name, cluster);
    tracing::debug!(cluster = %status.name, status = %status.status, "described EKS cluster");
    Ok(status)
}

/// How often [`wait_active`] asks: cluster creation takes minutes, so a few seconds is plenty.
const POLL_INTERVAL: Duration = Duration::from_secs(5);

/// Describes the cluster `name` until it is `ACTIVE`, for at most `timeout`.
///
/// `FAILED` and `DELETING` end the wait at once; any other state is waited out. The error after
/// the deadline names the last state seen.
pub async fn wait_active(client: &aws_sdk_eks::Client, name: &str, timeout: Duration) -> Result<ClusterStatus> {
    wait_with(|| describe_cluster(client, name), name, timeout, POLL_INTERVAL).await
}

/// The kubeconfig entry of an ACTIVE cluster, as `aws eks update-kubeconfig` writes it: cluster
/// and user named after the ARN, the context after `alias` or the ARN, and `exec` as the user's
/// credential plugin.
pub fn kubeconfig_entry(cluster: &ClusterStatus, alias: Option<&str>, exec: ExecPlugin) -> Result<Entry> {
    let missing = |field| Error::ClusterIncomplete { cluster: cluster.name.clone(), field };
    let arn = cluster.arn.clone().filter(|a| !a.is_empty()).ok_or_else(|| missing("ARN"))?;
    let server = cluster.endpoint.clone().filter(|e| !e.is_empty()).ok_or_else(|| missing("endpoint"))?;
    let certificate_authority_data =
        cluster.certificate_authority_data.clone().filter(|c| !c.is_empty()).ok_or_else(|| missing("certificate authority"))?;
    let context = alias.filter(|a| !a.is_empty()).map_or_else(|| arn.clone(), str::to_owned);
    Ok(Entry { name: arn, context, server, certificate_authority_data, exec })
}

/// The arguments of the exec plugin that runs this toolkit's `cloud token` for `cluster`.
pub fn token_args(cluster: &str, region: &str) -> Vec<String> {
    ["cloud", "token", "--cluster", cluster, "--region", region].map(str::to_owned).to_vec()
}

/// A managed node group's state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodegroupStatus {
    pub name: String,
    pub status: String,
    pub instance_types: Vec<String>,
    pub desired_size: Option<i32>,
}

/// The node groups of cluster `name`, each described.
pub async fn nodegroups(client: &aws_sdk_eks::Client, name: &str) -> Result<Vec<NodegroupStatus>> {
    let list = client
        .list_nodegroups()
        .cluster_name(name)
        .send()
        .await
        .map_err(|source| Error::ListNodegroups { cluster: name.to_owned(), source: Box::new(source) })?;
    let mut out = Vec::new();
    for group in list.nodegroups() {
        let described =
            client.describe_nodegroup().cluster_name(name).nodegroup_name(group).send().await.map_err(|source| {
                Error::DescribeNodegroup { cluster: name.to_owned(), nodegroup: group.clone(), source: Box::new(source) }
            })?;
        let ng = described.nodegroup();
        out.push(NodegroupStatus {
            name: group.clone(),
            status: ng.and_then(|n| n.status()).map_or("UNKNOWN", |s| s.as_str()).to_owned(),
            instance_types: ng.map(|n| n.instance_types().to_vec()).unwrap_or_default(),
            desired_size: ng.and_then(|n| n.scaling_config()).and_then(|c| c.desired_size()),
        });
    }
    Ok(out)
}

/// The shared configuration loader: region and the one HTTP client of the workspace's TLS stack.
pub(crate) fn loader(options: &Options) -> aws_config::ConfigLoader {
    // Without aws-config's `default-https-client` feature there is no HTTP client unless one is
    // given: this one is hyper + rustls with ring, so aws-lc-rs is never compiled in. Every
    // provider the loader builds (region, credentials, instance metadata) gets it too; providers
    // built outside the loader (e.g. `RegionProviderChain::or_default_provider`) would not, and
    // panic in debug builds for want of a client.
    let http_client = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    let loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
    if options.region.is_empty() { loader } else { loader.region(Region::new(options.region.clone())) }
}

/// The EKS client of a loaded configuration, with the endpoint override applied last.
fn eks_client(sdk_config: &aws_config::SdkConfig, options: &Options) -> Result<aws_sdk_eks::Client> {
    let mut builder = aws_sdk_eks::config::Builder::from(sdk_config);
    if let Some(url) = &options.endpoint_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(Error::InvalidEndpoint { url: url.clone() });
        }
        // Set on the service config (not the shared loader) so that it also wins over
        // AWS_ENDPOINT_URL_EKS, which the SDK reads when the shared config carries the URL.
        builder = builder.endpoint_url(url);
    }
    Ok(aws_sdk_eks::Client::from_conf(builder.build()))
}

/// The polling loop of [`wait_active`], with the describe call and the interval as parameters.
async fn wait_with<F, Fut>(mut describe: F, name: &str, timeout: Duration, interval: Duration) -> Result<ClusterStatus>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<ClusterStatus>>,
{
    let started = Instant::now();
    loop {
        let status = describe().await?;
        match status.status.as_str() {
            "ACTIVE" => return Ok(status),
            "FAILED" | "DELETING" => {
                return Err(Error::ClusterUnusable { cluster: name.to_owned(), status: status.status });
            }
            _ => {}
        }
        let elapsed = started.elapsed();
        if elapsed >= timeout {
            return Err(Error::ClusterNotActive { cluster: name.to_owned(), status: status.status, waited_secs: elapsed.as_secs() });
        }
        tracing::debug!(cluster = %name, status = %status.status, "waiting for the EKS cluster to be ACTIVE");
        tokio::time::sleep(interval.min(timeout - elapsed)).await;
    }
}

fn status_of(requested: &str, cluster: &aws_sdk_eks::types::Cluster) -> ClusterStatus {
    ClusterStatus {
        name: cluster.name().unwrap_or(requested).to_owned(),
        status: cluster.status().map_or("UNKNOWN", |status| status.as_str()).to_owned(),
        version: cluster.version().map(str::to_owned),
        endpoint: cluster.endpoint().map(str::to_owned),
        arn: cluster.arn().map(str::to_owned),
        certificate_authority_data: cluster.certificate_authority().and_then(|ca| ca.data()).map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aws_config::retry::RetryConfig;
    use aws_sdk_eks::config::Credentials;
    use aws_sdk_eks::types::{Certificate, Cluster, ClusterStatus as EksStatus};

    use super::*;

    fn check(cluster: Cluster, expected: ClusterStatus) {
        assert_eq!(status_of("requested", &cluster), expected);
    }

    #[test]
    fn status_of_maps_every_field() {
        check(
            Cluster::builder()
                .name("srvthreds-dev")
                .status(EksStatus::Active)
                .version("1.33")
                .endpoint("https://ABC.gr7.eu-west-1.eks.amazonaws.com")
                .arn("arn:aws:eks:eu-west-1:123456789012:cluster/srvthreds-dev")
                .certificate_authority(Certificate::builder().data("not a certificate").build())
                .build(),
            ClusterStatus {
                name: "srvthreds-dev".into(),
                status: "ACTIVE".into(),
                version: Some("1.33".into()),
                endpoint: Some("https://ABC.gr7.eu-west-1.eks.amazonaws.com".into()),
                arn: Some("arn:aws:eks:eu-west-1:123456789012:cluster/srvthreds-dev".into()),
                certificate_authority_data: Some("not a certificate".into()),
            },
        );
    }

    #[test]
    fn status_of_a_cluster_being_created_has_no_endpoint() {
        check(
            Cluster::builder().status(EksStatus::Creating).build(),
            ClusterStatus {
                name: "requested".into(),
                status: "CREATING".into(),
                version: None,
                endpoint: None,
                arn: None,
                certificate_authority_data: None,
            },
        );
    }

    #[test]
    fn cluster_status_serializes_as_plain_json() {
        let status = ClusterStatus { certificate_authority_data: Some("secret-ish and long".into()), ..cluster("ACTIVE") };
        assert_eq!(serde_json::to_string(&status).unwrap(), r#"{"name":"c","status":"ACTIVE","version":null,"endpoint":null,"arn":null}"#);
    }

    fn cluster(status: &str) -> ClusterStatus {
        ClusterStatus {
            name: "c".into(),
            status: status.into(),
            version: None,
            endpoint: None,
            arn: None,
            certificate_authority_data: None,
        }
    }

    /// Runs the wait loop over scripted states (1 ms apart), returning its result and the
    /// number of describe calls.
    async fn wait_over(states: &[&str], timeout: Duration) -> (Result<ClusterStatus>, usize) {
        let calls = std::cell::Cell::new(0);
        let result = wait_with(
            || {
                let index = calls.get();
                calls.set(index + 1);
                let state = states[index.min(states.len() - 1)];
                async move { Ok(cluster(state)) }
            },
            "c",
            timeout,
            Duration::from_millis(1),
        )
        .await;
        (result, calls.get())
    }

    #[tokio::test]
    async fn wait_active_polls_until_active() {
        let (result, calls) = wait_over(&["CREATING", "CREATING", "UPDATING", "ACTIVE"], Duration::from_secs(10)).await;
        assert_eq!(result.unwrap().status, "ACTIVE");
        assert_eq!(calls, 4);
    }

    #[tokio::test]
    async fn wait_active_stops_at_failed() {
        let (result, calls) = wait_over(&["CREATING", "FAILED"], Duration::from_secs(10)).await;
        assert!(matches!(&result, Err(Error::ClusterUnusable { status, .. }) if status == "FAILED"), "{result:?}");
        assert_eq!(calls, 2);
    }

    #[tokio::test]
    async fn wait_active_has_a_deadline() {
        let (result, calls) = wait_over(&["CREATING"], Duration::from_millis(20)).await;
        assert!(matches!(&result, Err(Error::ClusterNotActive { status, .. }) if status == "CREATING"), "{result:?}");
        assert!(calls >= 2, "it polled more than once ({calls})");
    }

    #[tokio::test]
    async fn wait_active_passes_describe_errors_through() {
        let result = wait_with(
            || async { Err(Error::ClusterNotFound { cluster: "c".into() }) },
            "c",
            Duration::from_secs(1),
            Duration::from_millis(1),
        )
        .await;
        assert!(matches!(result, Err(Error::ClusterNotFound { .. })), "{result:?}");
    }

    #[test]
    fn kubeconfig_entry_is_named_after_the_arn_or_the_alias() {
        let arn = "arn:aws:eks:us-west-2:123456789012:cluster/c";
        let active = ClusterStatus {
            endpoint: Some("https://e".into()),
            arn: Some(arn.into()),
            certificate_authority_data: Some("Q0E=".into()),
            ..cluster("ACTIVE")
        };
        let exec = ExecPlugin { command: "/bin/xtask".into(), args: token_args("c", "us-west-2") };
        let entry = kubeconfig_entry(&active, None, exec.clone()).unwrap();
        assert_eq!(
            entry,
            Entry {
                name: arn.into(),
                context: arn.into(),
                server: "https://e".into(),
                certificate_authority_data: "Q0E=".into(),
                exec: exec.clone(),
            }
        );
        assert_eq!(exec.args, ["cloud", "token", "--cluster", "c", "--region", "us-west-2"]);
        assert_eq!(kubeconfig_entry(&active, Some("dev"), exec.clone()).unwrap().context, "dev");
        let creating = ClusterStatus { certificate_authority_data: None, ..active };
        let error = kubeconfig_entry(&creating, None, exec).unwrap_err();
        assert_eq!(error.to_string().lines().next().unwrap(), "EKS cluster `c` has no certificate authority yet");
    }

    /// A client on the real loader and HTTP client, with static credentials so that the test
    /// never consults instance metadata, and no retries.
    async fn test_client(endpoint_url: &str) -> aws_sdk_eks::Client {
        let options = Options { region: "eu-west-1".into(), endpoint_url: Some(endpoint_url.into()) };
        let sdk_config = loader(&options)
            .credentials_provider(Credentials::new("AKIDTEST", "not-a-secret", None, None, "test"))
            .retry_config(RetryConfig::disabled())
            .load()
            .await;
        eks_client(&sdk_config, &options).unwrap()
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_a_describe_cluster_error() {
        // Port 1 on loopback: nothing listens there, so the request is refused at once.
        let client = test_client("http://127.0.0.1:1").await;
        let error = describe_cluster(&client, "srvthreds-dev").await.unwrap_err();
        assert!(matches!(&error, Error::DescribeCluster { cluster, .. } if cluster == "srvthreds-dev"), "{error:?}");
        assert_eq!(error.to_string(), "cannot describe EKS cluster `srvthreds-dev`");
    }

    #[tokio::test]
    async fn https_endpoint_goes_through_rustls() {
        let client = test_client("https://127.0.0.1:1").await;
        let error = describe_cluster(&client, "srvthreds-dev").await.unwrap_err();
        assert!(matches!(&error, Error::DescribeCluster { cluster, .. } if cluster == "srvthreds-dev"), "{error:?}");
    }

    #[test]
    fn endpoint_must_be_an_http_url() {
        let options = Options { region: "eu-west-1".into(), endpoint_url: Some("127.0.0.1:5000".into()) };
        let sdk_config = aws_config::SdkConfig::builder().build();
        let error = eks_client(&sdk_config, &options).unwrap_err();
        assert!(matches!(&error, Error::InvalidEndpoint { url } if url == "127.0.0.1:5000"), "{error:?}");
    }
}
