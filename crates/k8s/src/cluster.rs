//! Connecting to a live Kubernetes API server through kube (feature `cluster`).

use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::error::{Error, Result};

/// What the API server said about itself, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The kubeconfig context used: the one asked for, or the kubeconfig's current context.
    pub context: Option<String>,
    /// The API server URL.
    pub server: String,
    /// The server's version as it reports it (`gitVersion`, e.g. `v1.20.15`).
    pub version: String,
}

/// Connects to the cluster of a kubeconfig context and asks the API server for its version.
///
/// The kubeconfig comes from `KUBECONFIG` (a list of files, merged) or `~/.kube/config`;
/// `context` `None` means its current context. Building the client runs the context's exec
/// credential plugin, if it has one.
pub async fn connect(context: Option<&str>) -> Result<(kube::Client, ClusterInfo)> {
    let kubeconfig = Kubeconfig::read().map_err(|source| kubeconfig_error(context, source))?;
    connect_with(kubeconfig, context).await
}

/// [`connect`] with an already loaded kubeconfig; the tests feed it one.
async fn connect_with(kubeconfig: Kubeconfig, context: Option<&str>) -> Result<(kube::Client, ClusterInfo)> {
    // kube does not report which context it picked, so resolve the name the same way it does.
    let context_name = context.map(str::to_owned).or_else(|| kubeconfig.current_context.clone());
    let options = KubeConfigOptions { context: context.map(str::to_owned), ..KubeConfigOptions::default() };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|source| kubeconfig_error(context, source))?;
    let server = config.cluster_url.to_string();
    let client =
        kube::Client::try_from(config).map_err(|source| Error::BuildClient { server: server.clone(), source: Box::new(source) })?;
    let version = client.apiserver_version().await.map_err(|source| Error::Connect { server: server.clone(), source: Box::new(source) })?;
    tracing::debug!(context = context_name.as_deref(), %server, version = %version.git_version, "connected to the Kubernetes API server");
    Ok((client, ClusterInfo { context: context_name, server, version: version.git_version }))
}

fn kubeconfig_error(context: Option<&str>, source: kube::config::KubeconfigError) -> Error {
    Error::Kubeconfig { context: context.map(str::to_owned), source: Box::new(source) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The error of a connection attempt that must fail (`kube::Client` has no `Debug`).
    async fn connect_error(kubeconfig: Kubeconfig, context: Option<&str>) -> Error {
        match connect_with(kubeconfig, context).await {
            Ok((_, info)) => panic!("connected unexpectedly: {info:?}"),
            Err(error) => error,
        }
    }

    /// A kubeconfig with a static token (no exec plugin) for a server at `server`.
    fn kubeconfig(server: &str) -> Kubeconfig {
        let yaml = format!(
            "apiVersion: v1
kind: Config
current-context: test
clusters:
- name: test
  cluster:
    server: {server}
    insecure-skip-tls-verify: true
users:
- name: test
  user:
    token: not-a-secret
contexts:
- name: test
  context:
    cluster: test
    user: test
"
        );
        Kubeconfig::from_yaml(&yaml).unwrap()
    }

    #[tokio::test]
    async fn unknown_context_is_a_kubeconfig_error() {
        let error = connect_error(kubeconfig("http://127.0.0.1:1"), Some("nope")).await;
        assert!(matches!(&error, Error::Kubeconfig { context: Some(name), .. } if name == "nope"), "{error:?}");
        assert_eq!(error.to_string(), "cannot load the kubeconfig for context `nope`");
    }

    #[tokio::test]
    async fn unreachable_server_is_a_connect_error_naming_the_server() {
        // Port 1 on loopback: nothing listens there, so the version request is refused at once.
        let error = connect_error(kubeconfig("http://127.0.0.1:1"), None).await;
        assert!(matches!(&error, Error::Connect { server, .. } if server == "http://127.0.0.1:1/"), "{error:?}");
        assert_eq!(error.to_string(), "cannot reach the Kubernetes API server at http://127.0.0.1:1/");
    }

    #[tokio::test]
    async fn https_client_builds_on_the_one_crypto_provider() {
        // Building a rustls client asks for the process-level CryptoProvider; with both ring and
        // aws-lc-rs compiled in it panics here instead of failing to connect.
        let error = connect_error(kubeconfig("https://127.0.0.1:1"), None).await;
        assert!(matches!(&error, Error::Connect { server, .. } if server == "https://127.0.0.1:1/"), "{error:?}");
    }
}
