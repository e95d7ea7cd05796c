//! EKS through the AWS SDK (feature `aws`): the client and cluster status.

use aws_config::BehaviorVersion;
use aws_sdk_eks::config::Region;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use serde::Serialize;

use crate::error::{Error, Result};

/// Where to reach EKS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EksOptions {
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
}

/// Builds an EKS client: credentials from the default chain (environment, profile, web identity,
/// container and instance metadata), HTTP over rustls with the `ring` provider.
///
/// This does no request; a wrong endpoint or missing credentials show at the first call.
pub async fn client(options: &EksOptions) -> Result<aws_sdk_eks::Client> {
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
fn loader(options: &EksOptions) -> aws_config::ConfigLoader {
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
fn eks_client(sdk_config: &aws_config::SdkConfig, options: &EksOptions) -> Result<aws_sdk_eks::Client> {
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

fn status_of(requested: &str, cluster: &aws_sdk_eks::types::Cluster) -> ClusterStatus {
    ClusterStatus {
        name: cluster.name().unwrap_or(requested).to_owned(),
        status: cluster.status().map_or("UNKNOWN", |status| status.as_str()).to_owned(),
        version: cluster.version().map(str::to_owned),
        endpoint: cluster.endpoint().map(str::to_owned),
        arn: cluster.arn().map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use aws_config::retry::RetryConfig;
    use aws_sdk_eks::config::Credentials;
    use aws_sdk_eks::types::{Cluster, ClusterStatus as EksStatus};

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
                .build(),
            ClusterStatus {
                name: "srvthreds-dev".into(),
                status: "ACTIVE".into(),
                version: Some("1.33".into()),
                endpoint: Some("https://ABC.gr7.eu-west-1.eks.amazonaws.com".into()),
                arn: Some("arn:aws:eks:eu-west-1:123456789012:cluster/srvthreds-dev".into()),
            },
        );
    }

    #[test]
    fn status_of_a_cluster_being_created_has_no_endpoint() {
        check(
            Cluster::builder().status(EksStatus::Creating).build(),
            ClusterStatus { name: "requested".into(), status: "CREATING".into(), version: None, endpoint: None, arn: None },
        );
    }

    #[test]
    fn cluster_status_serializes_as_plain_json() {
        let status = ClusterStatus { name: "c".into(), status: "ACTIVE".into(), version: None, endpoint: None, arn: None };
        assert_eq!(serde_json::to_string(&status).unwrap(), r#"{"name":"c","status":"ACTIVE","version":null,"endpoint":null,"arn":null}"#);
    }

    /// A client on the real loader and HTTP client, with static credentials so that the test
    /// never consults instance metadata, and no retries.
    async fn test_client(endpoint_url: &str) -> aws_sdk_eks::Client {
        let options = EksOptions { region: "eu-west-1".into(), endpoint_url: Some(endpoint_url.into()) };
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
        let options = EksOptions { region: "eu-west-1".into(), endpoint_url: Some("127.0.0.1:5000".into()) };
        let sdk_config = aws_config::SdkConfig::builder().build();
        let error = eks_client(&sdk_config, &options).unwrap_err();
        assert!(matches!(&error, Error::InvalidEndpoint { url } if url == "127.0.0.1:5000"), "{error:?}");
    }
}
