//! The error type of this crate.

/// A boxed error from a backend crate (the AWS SDK).
///
/// Sources are boxed so that this enum has the same variants with and without the `aws`
/// feature: callers can match on them in every build.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors of this crate; each variant names the operation and the resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The requested operation is not part of this build yet.
    #[error("{0} is not implemented yet")]
    NotImplemented(&'static str),
    /// No AWS region was given and none is configured.
    #[error("no AWS region is configured\n  help: pass the environment's region, or set AWS_REGION (or `region` in the AWS profile)")]
    NoRegion,
    /// The EKS endpoint override is not an http(s) URL.
    #[error("invalid EKS endpoint URL `{url}`\n  help: give a URL such as `http://127.0.0.1:5000`")]
    InvalidEndpoint {
        /// The URL as given.
        url: String,
    },
    /// DescribeCluster failed (network, credentials, permissions, throttling).
    #[error("cannot describe EKS cluster `{cluster}`")]
    DescribeCluster {
        /// The cluster name.
        cluster: String,
        #[source]
        source: BoxError,
    },
    /// ListNodegroups failed.
    #[error("cannot list the node groups of EKS cluster `{cluster}`")]
    ListNodegroups {
        cluster: String,
        #[source]
        source: BoxError,
    },
    /// DescribeNodegroup failed.
    #[error("cannot describe node group `{nodegroup}` of EKS cluster `{cluster}`")]
    DescribeNodegroup {
        cluster: String,
        nodegroup: String,
        #[source]
        source: BoxError,
    },
    /// DescribeCluster answered that the cluster does not exist.
    #[error("EKS cluster `{cluster}` does not exist\n  help: check the name and region, or create it with `cargo xtask cloud apply`")]
    ClusterNotFound {
        /// The cluster name.
        cluster: String,
    },
    /// DescribeCluster succeeded but its answer holds no cluster.
    #[error("EKS answered DescribeCluster for `{cluster}` without a cluster")]
    DescribeClusterEmpty {
        /// The cluster name.
        cluster: String,
    },
    /// The folder given to the Terraform lint has no `environments` folder.
    #[error("no Terraform environments folder at `{}`\n  help: pass the folder that holds `environments/` and `modules/`, e.g. `infrastructure/terraform`", path.display())]
    NoTerraformEnvironments {
        /// The `environments` folder that was looked for.
        path: std::path::PathBuf,
    },
    /// Listing a folder of the Terraform tree failed.
    #[error("cannot read Terraform folder `{}`", path.display())]
    ReadTerraformDir {
        /// The folder.
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading a Terraform file failed.
    #[error("cannot read Terraform file `{}`", path.display())]
    ReadTerraformFile {
        /// The file.
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_cluster_names_the_cluster_and_not_the_source() {
        let error = Error::DescribeCluster { cluster: "srvthreds-dev".into(), source: "dispatch failure".into() };
        assert_eq!(error.to_string(), "cannot describe EKS cluster `srvthreds-dev`");
        assert_eq!(std::error::Error::source(&error).map(ToString::to_string).as_deref(), Some("dispatch failure"));
    }
}
