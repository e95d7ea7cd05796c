//! Command-line flags. Clap types live only here; commands turn them into library options.

use camino::Utf8PathBuf;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// The SrvThreds deployment toolkit: local Docker, minikube and EKS from one command line.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    arg_required_else_help = true,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Xtask {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// Infrastructure tree to use (default: the nearest `infrastructure/` above the current
    /// directory, else this repository's)
    #[arg(long, global = true, value_name = "DIR")]
    pub infra: Option<Utf8PathBuf>,
    /// Environment: local, test, minikube, dev, staging, prod
    #[arg(long, global = true, value_name = "ENV", env = "SRVTHREDS_ENV", default_value = "local")]
    pub env: String,
    /// Print the exact plan and change nothing
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Result format on stdout; progress and logs always go to stderr
    #[arg(long, global = true, value_enum, default_value_t = Output::Human)]
    pub output: Output,
    /// More log output (-v: debug, -vv: trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Deadline in seconds for each service to become ready
    #[arg(long, global = true, value_name = "SECS", default_value_t = 180)]
    pub wait_timeout: u64,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a deployment of containerDeploymentConfig.json (Phase 1 short names)
    Deploy(Deploy),
    /// The data layer: MongoDB replica set, Redis, RabbitMQ
    Db {
        #[command(subcommand)]
        action: Db,
    },
    /// The three SrvThreds services, builder image first
    Services {
        #[command(subcommand)]
        action: Services,
    },
    /// Run the one-shot bootstrap job; its exit code becomes ours
    Bootstrap,
    /// Everything this toolkit started, with health
    Status,
    /// Build (or find cached) the local test images and print NAME=VALUE lines for `eval`
    TestImages,
    /// Container images in a registry
    Images {
        #[command(subcommand)]
        action: Images,
    },
    /// Benchmarks that print figures
    Bench {
        #[command(subcommand)]
        what: Bench,
    },
    /// Logs of the local stack's containers
    Logs(Logs),
    /// Run the health checks of an environment
    Health(Health),
    /// Phase 2: a local Kubernetes cluster with the databases on the host
    Minikube {
        #[command(subcommand)]
        action: Minikube,
    },
    /// Kubernetes manifests and cluster operations
    K8s {
        #[command(subcommand)]
        action: K8s,
    },
    /// Push (or promote a release record), apply pinned, wait, smoke-test; roll back on failure
    Release(Release),
    /// The smoke tests of a deployed overlay: services' /health, Jobs, in-cluster data stores
    Smoke(EnvTarget),
    /// Phase 3: Terraform and EKS
    Cloud {
        #[command(subcommand)]
        action: Cloud,
    },
    /// Check the configuration under the infrastructure tree
    Config {
        #[command(subcommand)]
        action: Config,
    },
    /// Check this machine for what --env needs: engine, tools, kube context, ports, disk, inotify, AWS
    Doctor,
    /// Print the shell completion script of the `xtask` binary (README: installing them)
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Args)]
pub struct Deploy {
    /// Environment (overrides --env); with neither argument on a terminal, a menu asks
    pub environment: Option<String>,
    /// Short name of the deployment, e.g. s_a_dbs_s
    pub short_name: Option<String>,
    /// List the deployments and the environments they run in
    #[arg(long)]
    pub list: bool,
    /// With a `down` deployment: also remove the named volumes (data is lost)
    #[arg(long)]
    pub volumes: bool,
    /// Also remove containers of services no longer in the compose files
    #[arg(long)]
    pub remove_orphans: bool,
}

#[derive(Debug, Subcommand)]
pub enum Db {
    /// Start MongoDB, Redis and RabbitMQ and wait until healthy
    Start,
    /// Stop them, keeping containers and data
    Stop,
    /// Show their state and health
    Status,
    /// Remove them and their data volumes (asks unless --yes)
    Reset {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum Services {
    /// Build the builder image, then the service images
    Build,
    /// Start the services (and what they depend on)
    Up,
    /// Stop and remove the service containers
    Down,
    /// Show the services' logs
    Logs(Logs),
}

#[derive(Debug, Subcommand)]
pub enum Images {
    /// Build what is stale, push every service image, write the release record (digests)
    Push(Push),
}

#[derive(Debug, Args)]
pub struct Push {
    /// Registry host, optionally with a path (`localhost:5000`, `<account>.dkr.ecr.<region>.amazonaws.com`)
    #[arg(long, value_name = "R")]
    pub registry: String,
    /// Tag of every image (default: each image's content hash)
    #[arg(long, value_name = "T")]
    pub tag: Option<String>,
    /// Where the release record goes
    #[arg(long, value_name = "FILE", default_value = "release.json")]
    pub record: Utf8PathBuf,
}

#[derive(Debug, Args)]
pub struct Logs {
    /// Services to show (default: all)
    pub services: Vec<String>,
    /// Keep following new output
    #[arg(short, long)]
    pub follow: bool,
    /// Lines from the end of each log
    #[arg(long, default_value = "100")]
    pub tail: String,
}

#[derive(Debug, Args)]
pub struct Health {
    /// Run only this check (repeatable)
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Overall deadline of each check, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 20)]
    pub deadline: u64,
    /// Also check (and fail on) services that were never started in this environment; without
    /// it they are reported as "not deployed"
    #[arg(long)]
    pub require_all: bool,
}

#[derive(Debug, Subcommand)]
pub enum Minikube {
    /// Start minikube, build images into it, start host databases, apply, wait, port-forward
    Up(MinikubeUp),
    /// Stop what `up` started
    Down,
    /// Cluster, workloads and forwards
    Status,
}

#[derive(Debug, Args)]
pub struct MinikubeUp {
    /// Do not port-forward the Session Agent after the rollout (return at once)
    #[arg(long)]
    pub no_port_forward: bool,
}

#[derive(Debug, Args)]
pub struct Overlay {
    /// Overlay name under k8s/overlays, or a path to a kustomization directory
    #[arg(long, value_name = "O", default_value = "minikube")]
    pub overlay: String,
    /// Pin the overlay's images by digest to this release record (`images push` writes it)
    #[arg(long, value_name = "FILE")]
    pub images: Option<Utf8PathBuf>,
}

#[derive(Debug, Args)]
pub struct Render {
    #[command(flatten)]
    pub overlay: Overlay,
    /// Which renderer: the built-in one, or `kubectl kustomize`
    #[arg(long, value_enum, default_value_t = RenderEngine::Native)]
    pub engine: RenderEngine,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderEngine {
    /// The toolkit's own Kustomize renderer (no external tool)
    Native,
    /// `kubectl kustomize`, found on the PATH
    Kubectl,
}

#[derive(Debug, Subcommand)]
pub enum K8s {
    /// Render an overlay to YAML (or one JSON array with --output json)
    Render(Render),
    /// Validate rendered objects against the Kubernetes API types and our lints
    Validate(Overlay),
    /// Write a release record's digests (--images FILE) into the overlay's kustomization.yaml
    Pin(Overlay),
    /// Show what apply would change (exit 0: none, 1: changes, >1: error)
    Diff(Target),
    /// Server-side apply, prune, and wait for rollouts
    Apply(Apply),
    /// Workloads, ready counts, restarts
    Status(Target),
    /// Scale a workload
    Scale(Scale),
    /// Logs of all pods of a workload
    Logs(K8sLogs),
    /// Port-forward to a service, reconnecting when pods are replaced
    PortForward(PortForward),
    /// Roll a workload back to its previous revision
    Rollback(Rollback),
    /// Delete the overlay's namespace and wait until it is gone
    Delete(Delete),
}

/// An overlay and the cluster to talk to.
#[derive(Debug, Args)]
pub struct Target {
    #[command(flatten)]
    pub overlay: Overlay,
    /// Kube context to use (default: the kubeconfig's current context). Naming it explicitly
    /// also lifts the overlay's wrong-cluster guard.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// The overlay of `--env`, or one named, and the cluster.
#[derive(Debug, Args)]
pub struct EnvTarget {
    /// Overlay name under k8s/overlays or a kustomization directory (default: --env's overlay)
    #[arg(long, value_name = "O")]
    pub overlay: Option<String>,
    /// Kube context (default: the current one); naming it lifts the wrong-cluster guard
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["registry", "images"]))]
pub struct Release {
    #[command(flatten)]
    pub target: EnvTarget,
    /// Build what is stale and push it to this registry first (as `images push`)
    #[arg(long, value_name = "R")]
    pub registry: Option<String>,
    /// Promote the images of this release record: nothing is built or pushed
    #[arg(long, value_name = "FILE")]
    pub images: Option<Utf8PathBuf>,
    /// Where the push writes the release record
    #[arg(long, value_name = "FILE", default_value = "release.json")]
    pub record: Utf8PathBuf,
}

#[derive(Debug, Args)]
pub struct Apply {
    #[command(flatten)]
    pub target: Target,
    /// Take over fields another field manager owns (server-side apply conflicts)
    #[arg(long)]
    pub force_conflicts: bool,
    /// Keep objects applied before that have left the overlay
    #[arg(long)]
    pub no_prune: bool,
    /// Return after the apply, without waiting for rollouts
    #[arg(long)]
    pub no_wait: bool,
    /// When a rollout fails, roll the changed Deployments back to their previous revision
    #[arg(long)]
    pub rollback_on_failure: bool,
}

#[derive(Debug, Args)]
pub struct Scale {
    #[command(flatten)]
    pub target: Target,
    /// Deployment or StatefulSet name (`srvthreds-engine`, `deployment/srvthreds-engine`)
    pub workload: String,
    /// Desired replica count
    pub replicas: i32,
    /// Return without waiting for the new replica count to be ready
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct K8sLogs {
    #[command(flatten)]
    pub target: Target,
    /// Deployment, StatefulSet or Job name
    pub workload: String,
    /// Keep streaming new lines (and pods that appear)
    #[arg(short, long)]
    pub follow: bool,
    /// Lines from the end of each pod's log
    #[arg(long, value_name = "N")]
    pub tail: Option<i64>,
}

#[derive(Debug, Args)]
pub struct PortForward {
    #[command(flatten)]
    pub target: Target,
    /// Service (`session-agent`, `svc/session-agent`) or workload to forward to
    pub service: String,
    /// `LOCAL:REMOTE` or `PORT` (both the same)
    pub ports: String,
    /// Local address to listen on
    #[arg(long, default_value = "127.0.0.1")]
    pub address: String,
}

#[derive(Debug, Args)]
pub struct Rollback {
    #[command(flatten)]
    pub target: Target,
    /// Deployment name
    pub workload: String,
    /// Revision to go back to (default: the previous one)
    #[arg(long, value_name = "N")]
    pub to_revision: Option<i64>,
    /// Return without waiting for the rollout
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct Delete {
    #[command(flatten)]
    pub target: Target,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum Cloud {
    /// terraform init and plan, with a summary per resource type (--env dev|staging|prod)
    Plan,
    /// terraform plan, then apply exactly that plan (asks unless --yes)
    Apply {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
    },
    /// terraform plan -destroy, then apply it (asks unless --yes; prod also needs --allow-prod-destroy)
    Destroy {
        /// Do not ask for confirmation
        #[arg(long)]
        yes: bool,
        /// Allow destroying the prod environment
        #[arg(long)]
        allow_prod_destroy: bool,
    },
    /// Write the EKS cluster's kubeconfig entry (waits until the cluster is ACTIVE)
    Kubeconfig {
        /// Kubeconfig file to merge into (default: the first path of KUBECONFIG, else
        /// ~/.kube/config)
        #[arg(long, value_name = "FILE")]
        kubeconfig: Option<Utf8PathBuf>,
        /// Context name (default: the cluster ARN, as `aws eks update-kubeconfig`)
        #[arg(long, value_name = "NAME")]
        alias: Option<String>,
    },
    /// Print an EKS ExecCredential token (the kubeconfig's exec plugin runs this)
    Token {
        /// EKS cluster name
        #[arg(long, value_name = "NAME")]
        cluster: String,
        /// AWS region (default: AWS_REGION or the profile's region)
        #[arg(long, value_name = "REGION")]
        region: Option<String>,
    },
    /// EKS cluster and node-group states
    Status {
        /// Wait until the cluster is ACTIVE (up to --wait-timeout seconds)
        #[arg(long)]
        wait: bool,
    },
    /// Cross-check Terraform module inputs and outputs
    Lint,
}

#[derive(Debug, Subcommand)]
pub enum Config {
    /// Validate everything under the infrastructure tree (exit 0 when clean)
    Check,
}

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// `db start` against Docker Compose v1 on the same files and images: cold and re-run
    Compose {
        /// Runs of each tool and mode (median reported)
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
}

/// The help line that names this command line's flag for the need a library error describes
/// (the libraries' help texts name no flag of ours).
pub fn help_for(error: &anyhow::Error) -> Option<String> {
    use stack_cloud::Error as C;
    use stack_k8s::Error as K;
    error.chain().find_map(|cause| match (cause.downcast_ref::<C>(), cause.downcast_ref::<K>()) {
        (Some(C::TerraformConfirmationUnavailable { .. } | C::TerraformNotConfirmed { .. }), _) => Some("pass --yes to confirm".into()),
        (Some(C::TerraformProdDestroy { .. }), _) => Some("pass --allow-prod-destroy as well as the confirmation".into()),
        (Some(C::ClusterNotFound { .. }), _) => Some("`cargo xtask --env <env> cloud apply` creates it".into()),
        (Some(C::ClusterUnusable { .. }), _) => Some("`cargo xtask --env <env> cloud status` shows it and its node groups".into()),
        (Some(C::ClusterNotActive { .. }), _) => Some("raise --wait-timeout to wait longer".into()),
        (Some(C::ParseKubeconfig { .. } | C::KubeconfigShape { .. } | C::NoKubeconfigPath), _) => {
            Some("pass a kubeconfig file with --kubeconfig FILE".into())
        }
        (_, Some(K::WrongCluster { current, .. })) => Some(format!("pass --context {current} to name it")),
        (_, Some(K::Conflict { .. })) => Some("pass --force-conflicts to take the fields over".into()),
        (_, Some(K::RenderUnsupportedField { .. })) => Some("pass --engine kubectl to render with kubectl".into()),
        _ => None,
    })
}
