//! The error type of this crate.

/// A boxed error from a backend crate (kube, the kubeconfig loader).
///
/// Sources are boxed so that this enum has the same variants with and without the `cluster`
/// feature: callers can match on them in every build.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors of this crate; each variant names the operation and the resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A kustomization cannot be pinned to a release record.
    #[error("cannot pin {file}: {message}")]
    Pin { file: String, message: String },
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
    /// A request to the API server failed: `action` says what was asked (`apply`, `list pods
    /// of`), `resource` of which object (`deployment/srvthreds/srvthreds-engine`).
    #[error("cannot {action} {resource}")]
    Api {
        /// What was asked.
        action: String,
        /// The object or collection, as `kind/namespace/name`.
        resource: String,
        #[source]
        source: BoxError,
    },
    /// Server-side apply found fields another field manager owns.
    #[error(
        "cannot apply {resource}: fields are owned by another manager: {message}\nhelp: apply again forcing the conflicts to take them over, or change them through their owner"
    )]
    Conflict {
        /// The object.
        resource: String,
        /// The API server's message.
        message: String,
    },
    /// The API server rejected an object as invalid (or unknown to it).
    #[error("{resource} was rejected by the API server: {message}{}", help.as_deref().map(|h| format!("\nhelp: {h}")).unwrap_or_default())]
    Rejected {
        /// The object.
        resource: String,
        /// The API server's message.
        message: String,
        /// A fix, when one is known.
        help: Option<String>,
    },
    /// A workload did not roll out (or a Job failed): the reason, then the pods' events and
    /// last log lines.
    #[error("{resource} failed: {reason}{}", if details.is_empty() { String::new() } else { format!("\n{details}") })]
    Rollout {
        /// The workload.
        resource: String,
        /// Why, in a line (`container engine is in CrashLoopBackOff`).
        reason: String,
        /// Events and log lines of the pods, already formatted.
        details: String,
    },
    /// An overlay cannot be found or made ready (its secrets, its temporary copy).
    #[error("{message}{}", help.as_deref().map(|h| format!("\nhelp: {h}")).unwrap_or_default())]
    Overlay {
        /// What is wrong.
        message: String,
        /// A fix, when one is known.
        help: Option<String>,
    },
    /// An apply whose rollout failed (and what was rolled back).
    #[error("{message}")]
    ApplyFailed {
        message: String,
        #[source]
        source: Box<Error>,
    },
    /// The wrong-cluster guard refused to touch the current context.
    #[error("{message}")]
    WrongCluster {
        /// Why, with the way out.
        message: String,
        /// The context that was refused.
        current: String,
    },
    /// A named object or workload does not exist (in the overlay or on the cluster).
    #[error("{what} not found{}", help.as_deref().map(|h| format!("\nhelp: {h}")).unwrap_or_default())]
    NotFound {
        /// The object, with its kind.
        what: String,
        /// A fix, when one is known.
        help: Option<String>,
    },
    /// A file of a Kustomize tree (kustomization, resource, patch, env file) could not be read.
    #[error("cannot read {path}")]
    RenderRead {
        /// The file or directory.
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A file of a Kustomize tree is not valid YAML.
    #[error("{path}:{line}:{column}: invalid YAML: {message}")]
    RenderSyntax {
        /// The file.
        path: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// A kustomization uses a field the native renderer does not support.
    #[error(
        "{path}:{line}: kustomization field `{field}` is not supported by the native renderer\nhelp: render with `kubectl kustomize`, or remove the field"
    )]
    RenderUnsupportedField {
        /// The field name.
        field: String,
        /// The kustomization file.
        path: String,
        /// 1-based line of the field.
        line: usize,
    },
    /// A resource, patch or generator source named by a kustomization does not exist.
    #[error("{path}:{line}: {what} `{name}` not found")]
    RenderMissing {
        /// What kind of entry it is (`resource`, `patch`, `env file`, ...).
        what: &'static str,
        /// The entry as written.
        name: String,
        /// The kustomization file.
        path: String,
        /// 1-based line of the entry.
        line: usize,
    },
    /// A kustomization or resource is not what Kustomize expects, or a transformation failed.
    #[error("{}: {message}", at(path, *line))]
    RenderInvalid {
        /// The file the problem is in.
        path: String,
        /// 1-based line, or 0 when unknown.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `file:line`, or the file alone when the line is unknown (0).
fn at(path: &str, line: usize) -> String {
    if line == 0 { path.to_owned() } else { format!("{path}:{line}") }
}

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
        check(
            Error::RenderUnsupportedField { field: "helmCharts".into(), path: "k/kustomization.yaml".into(), line: 5 },
            "k/kustomization.yaml:5: kustomization field `helmCharts` is not supported by the native renderer\nhelp: render with `kubectl kustomize`, or remove the field",
        );
        check(
            Error::RenderMissing { what: "resource", name: "a.yaml".into(), path: "k/kustomization.yaml".into(), line: 4 },
            "k/kustomization.yaml:4: resource `a.yaml` not found",
        );
        check(Error::RenderInvalid { path: "k".into(), line: 0, message: "no kustomization".into() }, "k: no kustomization");
    }
}
