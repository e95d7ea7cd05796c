//! The error type of this crate.

/// A boxed error from a backend crate (kube, the kubeconfig loader).
///
/// Sources are boxed so that this enum has the same variants with and without the `cluster`
/// feature: callers can match on them in every build.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors of this crate; each variant names the operation and the resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The requested operation is not part of this build yet.
    #[error("{0} is not implemented yet")]
    NotImplemented(&'static str),
    /// The kubeconfig (from `KUBECONFIG` or `~/.kube/config`) could not be read, or it has no
    /// usable context of that name.
    #[error("cannot load the kubeconfig{}", context_suffix(context.as_deref()))]
    Kubeconfig {
        /// The context asked for; `None` means the kubeconfig's current context.
        context: Option<String>,
        #[source]
        source: BoxError,
    },
    /// The client for an API server could not be built (TLS settings, credentials).
    #[error("cannot build a Kubernetes client for {server}")]
    BuildClient {
        /// The API server URL from the kubeconfig.
        server: String,
        #[source]
        source: BoxError,
    },
    /// The API server did not answer its version request.
    #[error("cannot reach the Kubernetes API server at {server}")]
    Connect {
        /// The API server URL from the kubeconfig.
        server: String,
        #[source]
        source: BoxError,
    },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn context_suffix(context: Option<&str>) -> String {
    context.map(|name| format!(" for context `{name}`")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(error: Error, expected: &str) {
        assert_eq!(error.to_string(), expected);
    }

    #[test]
    fn messages_name_the_step_and_not_the_source() {
        check(Error::Kubeconfig { context: None, source: "no file".into() }, "cannot load the kubeconfig");
        check(
            Error::Kubeconfig { context: Some("kind".into()), source: "no file".into() },
            "cannot load the kubeconfig for context `kind`",
        );
        check(
            Error::BuildClient { server: "https://k:6443/".into(), source: "bad pem".into() },
            "cannot build a Kubernetes client for https://k:6443/",
        );
        check(
            Error::Connect { server: "https://k:6443/".into(), source: "refused".into() },
            "cannot reach the Kubernetes API server at https://k:6443/",
        );
    }
}
