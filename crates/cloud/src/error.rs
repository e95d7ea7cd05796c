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
    /// GetAuthorizationToken failed or gave no usable token.
    #[error(
        "cannot get the ECR login in region {region}: {message}\n  help: the deploy role needs ecr:GetAuthorizationToken; check the AWS credentials"
    )]
    EcrLogin { region: String, message: String },
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
    #[error(
        "EKS cluster `{cluster}` does not exist\n  help: check the name and region, or create the cluster by applying the environment's Terraform"
    )]
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
    /// The cluster reached a state from which waiting cannot lead to ACTIVE.
    #[error("EKS cluster `{cluster}` is {status}, not ACTIVE\n  help: see the cluster's health and events in the EKS console")]
    ClusterUnusable {
        /// The cluster name.
        cluster: String,
        /// The status it reached (`FAILED`, `DELETING`).
        status: String,
    },
    /// The cluster did not become ACTIVE before the deadline.
    #[error(
        "EKS cluster `{cluster}` is still {status} after {waited_secs} s\n  help: creating a cluster takes 10-15 minutes; try again later, or wait longer"
    )]
    ClusterNotActive {
        /// The cluster name.
        cluster: String,
        /// The last status seen.
        status: String,
        /// How long we waited.
        waited_secs: u64,
    },
    /// DescribeCluster answered without a field a kubeconfig entry needs.
    #[error("EKS cluster `{cluster}` has no {field} yet\n  help: wait until the cluster is ACTIVE")]
    ClusterIncomplete {
        /// The cluster name.
        cluster: String,
        /// The missing field (`endpoint`, `certificate authority`, `ARN`).
        field: &'static str,
    },
    /// Reading an existing kubeconfig file failed.
    #[error("cannot read kubeconfig `{}`", path.display())]
    ReadKubeconfig {
        /// The file.
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An existing kubeconfig file is not valid YAML.
    #[error("kubeconfig `{}` is not valid YAML at {line}:{column}: {message}\n  help: fix or move the file, or use another kubeconfig file", path.display())]
    ParseKubeconfig {
        /// The file.
        path: std::path::PathBuf,
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
        /// What the YAML reader said.
        message: String,
    },
    /// An existing kubeconfig file is YAML but not shaped like a kubeconfig.
    #[error("kubeconfig `{}`: `{field}` at {line}:{column} should be {expected}\n  help: fix or move the file, or use another kubeconfig file", path.display())]
    KubeconfigShape {
        /// The file.
        path: std::path::PathBuf,
        /// The field path, e.g. `clusters[2].name`.
        field: String,
        /// What it should be, e.g. `a list`.
        expected: &'static str,
        /// Line of the field, from 1.
        line: usize,
        /// Column of the field, from 1.
        column: usize,
    },
    /// Writing the kubeconfig (its folder, the temporary file, the rename) failed.
    #[error("cannot write kubeconfig `{}`", path.display())]
    WriteKubeconfig {
        /// The file being written.
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// No kubeconfig path was given and there is no home folder to put `.kube/config` in.
    #[error("no kubeconfig path: neither KUBECONFIG nor HOME is set\n  help: give the kubeconfig file's path")]
    NoKubeconfigPath,
    /// The default credential chain found no AWS credentials.
    #[error(
        "no AWS credentials are configured\n  help: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (run `aws sso login` for SSO profiles)"
    )]
    NoCredentials,
    /// The credential provider failed (expired SSO session, unreachable metadata service, ...).
    #[error("cannot load AWS credentials")]
    LoadCredentials {
        #[source]
        source: BoxError,
    },
    /// Signing the STS GetCallerIdentity URL of an EKS token failed.
    #[error("cannot sign the EKS token for cluster `{cluster}`")]
    SignToken {
        /// The cluster name.
        cluster: String,
        #[source]
        source: BoxError,
    },
    /// The `terraform` binary is not where it was looked for.
    #[error(
        "cannot find the `terraform` binary in {looked_in}\n  help: install Terraform 1.11 or later (https://developer.hashicorp.com/terraform/install) and put it on PATH"
    )]
    TerraformNotFound {
        /// Where it was looked for: `PATH`, a search list or an exact path.
        looked_in: String,
    },
    /// The environment has no folder in the Terraform tree.
    #[error("no Terraform folder for environment `{environment}` at `{}`\n  help: the cloud environments are dev, staging and prod under infrastructure/terraform/environments", dir.display())]
    TerraformEnvironment {
        /// The environment name.
        environment: String,
        /// The folder that was looked for.
        dir: std::path::PathBuf,
    },
    /// `terraform init` needs the environment's backend settings.
    #[error("environment `{environment}` has no Terraform backend settings `{}`\n  help: copy backend.hcl.example beside it to backend.hcl (git-ignored) and put in the state bucket's name", path.display())]
    TerraformBackendConfig {
        /// The environment name.
        environment: String,
        /// The missing `backend.hcl`.
        path: std::path::PathBuf,
    },
    /// Starting `terraform` or reading its output failed.
    #[error("cannot run terraform {step} for environment `{environment}`")]
    RunTerraform {
        /// The step.
        step: crate::terraform::Step,
        /// The environment name.
        environment: String,
        #[source]
        source: std::io::Error,
    },
    /// A Terraform step exited non-zero; the tail of its stderr says why.
    #[error("terraform {step} failed for environment `{environment}` ({}){}{}", code.map_or("killed by a signal".to_owned(), |c| format!("exit code {c}")), stderr_tail.iter().fold(String::new(), |text, line| if line.is_empty() { text + "\n  |" } else { text + "\n  | " + line }), crate::terraform::failure_help(*step))]
    TerraformFailed {
        /// The step.
        step: crate::terraform::Step,
        /// The environment name.
        environment: String,
        /// The exit code; `None` when a signal ended the process.
        code: Option<i32>,
        /// The last lines of its stderr (at most `terraform::STDERR_TAIL`).
        stderr_tail: Vec<String>,
    },
    /// `apply` or `destroy` was asked for without the caller's confirmation.
    #[error(
        "terraform {step} for environment `{environment}` was not confirmed\n  help: confirm on a terminal, or confirm non-interactively"
    )]
    TerraformNotConfirmed {
        /// The step.
        step: crate::terraform::Step,
        /// The environment name.
        environment: String,
    },
    /// `apply` or `destroy` was asked for where no confirmation can be given (not a terminal, and
    /// not confirmed in advance); raised before anything runs.
    #[error(
        "terraform {action} changes environment `{environment}` and needs a confirmation\n  help: not a terminal, so nothing can be asked: confirm non-interactively"
    )]
    TerraformConfirmationUnavailable {
        /// The action.
        action: crate::terraform::action::Action,
        /// The environment name.
        environment: String,
    },
    /// The operator did not give the expected answer.
    #[error("terraform {action} of environment `{environment}` cancelled: nothing was changed")]
    TerraformDeclined {
        /// The action.
        action: crate::terraform::action::Action,
        /// The environment name.
        environment: String,
    },
    /// Reading the operator's answer failed.
    #[error("cannot read the confirmation of terraform {action} for environment `{environment}`; nothing was changed")]
    ReadConfirmation {
        /// The action.
        action: crate::terraform::action::Action,
        /// The environment name.
        environment: String,
        #[source]
        source: std::io::Error,
    },
    /// Destroying a production environment needs an explicit extra permission.
    #[error(
        "refusing to destroy production environment `{environment}`\n  help: if this is really meant, allow destroying production explicitly as well as confirming"
    )]
    TerraformProdDestroy {
        /// The environment name.
        environment: String,
    },
    /// `terraform show -json` printed something that is not a plan this crate can read.
    #[error("cannot read the plan of environment `{environment}` from `terraform show -json`")]
    TerraformPlanJson {
        /// The environment name.
        environment: String,
        #[source]
        source: serde_json::Error,
    },
    /// `terraform output -json` printed something that is not JSON.
    #[error("cannot read the outputs of environment `{environment}` from `terraform output -json`")]
    TerraformOutputJson {
        /// The environment name.
        environment: String,
        #[source]
        source: serde_json::Error,
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
