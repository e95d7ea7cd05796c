//! The live-cluster side of the driver (feature `cluster`): connecting through kube, then
//! server-side apply with prune ([`apply`]), rollout waits ([`rollout`]), `diff` ([`diff`]),
//! status, scale, rollback and delete ([`workload`]), logs ([`logs`]) and a reconnecting
//! port-forward ([`forward`]); [`session`] ties them to one overlay on one cluster, in one mode
//! (change, or dry run).
//!
//! Objects are the renderer's `serde_json::Value`s; every kind is found through discovery, so
//! nothing here is tied to the kinds our overlays happen to use.

pub mod apply;
pub mod diff;
pub mod forward;
pub mod logs;
mod report;
pub mod rollout;
pub mod session;
pub mod workload;

pub use report::Diffs;

use std::collections::HashMap;
use std::fmt;

pub use kube::Client;
use kube::api::{Api, DynamicObject};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::GroupVersionKind;
use kube::discovery::{ApiCapabilities, ApiResource, Scope};
use serde_json::Value;

use crate::error::{Error, Result};

/// The field manager of `apply`; the imperative commands use `srvthreds-scale` and
/// `srvthreds-rollback`, which a later apply takes fields back from without `--force-conflicts`.
pub const FIELD_MANAGER: &str = "srvthreds";
/// The label that marks the objects an apply created, with the apply set's id (the overlay).
pub const APPLYSET_LABEL: &str = "srvthreds.io/applyset";
/// On the overlay's Namespace: the `apiVersion/Kind`s the apply set has held, for prune.
pub const APPLYSET_KINDS: &str = "srvthreds.io/applyset-kinds";

/// One object of a cluster, by kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// The reference of a rendered object; `None` when it lacks apiVersion, kind or name.
    pub fn of(object: &Value) -> Option<ObjectRef> {
        Some(ObjectRef {
            api_version: object.get("apiVersion")?.as_str()?.to_owned(),
            kind: object.get("kind")?.as_str()?.to_owned(),
            namespace: object.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_owned),
            name: object.pointer("/metadata/name")?.as_str()?.to_owned(),
        })
    }

    /// `group/version` split: ("", "v1") for the core group.
    pub fn group_version(&self) -> (&str, &str) {
        self.api_version.split_once('/').unwrap_or(("", &self.api_version))
    }

    /// Same kind (group and kind; any version) and name, namespace ignored.
    pub fn same_kind(&self, other: &ObjectRef) -> bool {
        self.kind == other.kind && self.group_version().0 == other.group_version().0
    }
}

impl fmt::Display for ObjectRef {
    /// `deployment/srvthreds-engine`, as kubectl prints objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.to_ascii_lowercase(), self.name)
    }
}

/// The namespace of an overlay: its Namespace object, else the namespace of its first namespaced
/// object.
pub fn overlay_namespace(objects: &[Value]) -> Option<String> {
    objects
        .iter()
        .filter_map(ObjectRef::of)
        .find(|o| o.kind == "Namespace" && o.api_version == "v1")
        .map(|o| o.name)
        .or_else(|| objects.iter().filter_map(ObjectRef::of).find_map(|o| o.namespace))
}

/// Finds each kind's REST resource through discovery, once per kind.
pub struct Resolver {
    client: Client,
    cache: HashMap<(String, String), (ApiResource, ApiCapabilities)>,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver").field("cached_kinds", &self.cache.len()).finish_non_exhaustive()
    }
}

impl Resolver {
    pub fn new(client: Client) -> Resolver {
        Resolver { client, cache: HashMap::new() }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The resource of `api_version` `kind`, or [`Error::Rejected`] when the server does not
    /// serve it (a 1.20 server and `autoscaling/v2`, say).
    pub async fn resolve(&mut self, api_version: &str, kind: &str) -> Result<(ApiResource, ApiCapabilities)> {
        let key = (api_version.to_owned(), kind.to_owned());
        if let Some(found) = self.cache.get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = kube::discovery::pinned_kind(&self.client, &gvk).await.map_err(|e| {
            let unserved = match &e {
                kube::Error::Discovery(_) => Some(e.to_string()),
                kube::Error::Api(status) if status.code == 404 => Some(status.message.clone()),
                _ => None,
            };
            match unserved {
                Some(why) => Error::Rejected {
                    resource: format!("{api_version} {kind}"),
                    message: format!("the API server does not serve this kind ({why})"),
                    help: Some("this cluster's Kubernetes version lacks that API group/version; use an overlay made for it".to_owned()),
                },
                // A timeout, an auth or server error says nothing about the kind.
                None => api_error("discover", format!("{api_version} {kind}"), e),
            }
        })?;
        self.cache.insert(key, found.clone());
        Ok(found)
    }

    /// The dynamic API of `object`'s kind, in its namespace (`default_ns` when it has none).
    pub async fn api_for(&mut self, object: &ObjectRef, default_ns: &str) -> Result<(Api<DynamicObject>, ApiResource, bool)> {
        let (resource, caps) = self.resolve(&object.api_version, &object.kind).await?;
        let namespaced = caps.scope == Scope::Namespaced;
        let api = if namespaced {
            Api::namespaced_with(self.client.clone(), object.namespace.as_deref().unwrap_or(default_ns), &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        };
        Ok((api, resource, namespaced))
    }
}

/// An API error as [`Error::Api`], naming what was asked of which object.
pub(crate) fn api_error(action: &str, resource: impl fmt::Display, source: kube::Error) -> Error {
    Error::Api { action: action.to_owned(), resource: resource.to_string(), source: Box::new(source) }
}

/// The status code and message of an API error response.
pub(crate) fn status_of(error: &kube::Error) -> Option<(u16, &str)> {
    match error {
        kube::Error::Api(status) => Some((status.code, status.message.as_str())),
        _ => None,
    }
}

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
pub async fn connect(context: Option<&str>) -> Result<(Client, ClusterInfo)> {
    let kubeconfig = Kubeconfig::read().map_err(|source| kubeconfig_error(context, source))?;
    connect_with(kubeconfig, context).await
}

/// [`connect`] with an already loaded kubeconfig; the tests feed it one.
async fn connect_with(kubeconfig: Kubeconfig, context: Option<&str>) -> Result<(Client, ClusterInfo)> {
    // kube does not report which context it picked, so resolve the name the same way it does.
    let context_name = context.map(str::to_owned).or_else(|| kubeconfig.current_context.clone());
    let options = KubeConfigOptions { context: context.map(str::to_owned), ..KubeConfigOptions::default() };
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &options).await.map_err(|source| kubeconfig_error(context, source))?;
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|source| Error::BuildClient { server: server.clone(), source: Box::new(source) })?;
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

    /// The error of a connection attempt that must fail (`Client` has no `Debug`).
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
