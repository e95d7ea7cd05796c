//! Connecting to a Docker Engine: `DOCKER_HOST` (unix, tcp, tls) and API version negotiation.

use std::path::PathBuf;

use bollard::{API_DEFAULT_VERSION, Docker};
use serde::Serialize;

use crate::{Error, Result};

/// How to reach the engine; built from the environment by [`EngineOptions::from_env`].
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// `DOCKER_HOST`: `unix:///path`, `tcp://host:port`; unset means the local socket.
    pub host: Option<String>,
    /// `DOCKER_TLS_VERIFY` set to a non-empty value other than `0`.
    pub tls_verify: bool,
    /// `DOCKER_CERT_PATH`: directory with `ca.pem`, `cert.pem`, `key.pem`.
    pub cert_path: Option<PathBuf>,
    /// Seconds to wait for each request.
    pub timeout_secs: u64,
}

/// A connected engine.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: String,
}

/// What the engine says about itself.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EngineVersion {
    pub endpoint: String,
    pub version: String,
    pub api_version: String,
    pub min_api_version: String,
    pub os: String,
    pub arch: String,
    /// The API version this client speaks to it.
    pub negotiated_api_version: String,
}

impl EngineOptions {
    /// Reads `DOCKER_HOST`, `DOCKER_TLS_VERIFY` and `DOCKER_CERT_PATH` through `get` (usually
    /// `std::env::var`), as the Docker CLI and `minikube docker-env` set them.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Self {
        EngineOptions {
            host: get("DOCKER_HOST").filter(|h| !h.is_empty()),
            tls_verify: get("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty() && v != "0"),
            cert_path: get("DOCKER_CERT_PATH").filter(|p| !p.is_empty()).map(PathBuf::from),
            timeout_secs: 120,
        }
    }
}

impl Engine {
    /// Connects and negotiates the API version with the engine (Engine 20.10 speaks 1.41).
    /// An engine that does not answer is [`Error::EngineUnreachable`].
    pub async fn connect(options: &EngineOptions) -> Result<Engine> {
        let timeout = options.timeout_secs.max(1);
        let host = options.host.clone().unwrap_or_else(|| "unix:///var/run/docker.sock".to_owned());
        let docker = if let Some(path) = host.strip_prefix("unix://") {
            Docker::connect_with_unix(path, timeout, API_DEFAULT_VERSION)
        } else if let Some(addr) = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("http://")).or_else(|| host.strip_prefix("https://")) {
            if options.tls_verify || host.starts_with("https://") {
                let dir = options.cert_path.clone().or_else(|| std::env::home_dir().map(|h| h.join(".docker"))).ok_or_else(|| {
                    Error::Connection("DOCKER_TLS_VERIFY is set but DOCKER_CERT_PATH is not, and there is no home directory to look in".to_owned())
                })?;
                for file in ["ca.pem", "cert.pem", "key.pem"] {
                    if !dir.join(file).is_file() {
                        return Err(Error::Connection(format!("TLS is on for {host}, but {} is missing; set DOCKER_CERT_PATH to the directory with ca.pem, cert.pem and key.pem", dir.join(file).display())));
                    }
                }
                Docker::connect_with_ssl(addr, &dir.join("key.pem"), &dir.join("cert.pem"), &dir.join("ca.pem"), timeout, API_DEFAULT_VERSION)
            } else {
                Docker::connect_with_http(&format!("http://{addr}"), timeout, API_DEFAULT_VERSION)
            }
        } else {
            return Err(Error::Connection(format!("unsupported DOCKER_HOST `{host}`: use unix:///path/to/docker.sock or tcp://host:port")));
        }
        .map_err(|e| match e {
            // A socket path with nothing behind it is an engine that is not running.
            bollard::errors::Error::SocketNotFoundError(_) => Error::EngineUnreachable { endpoint: host.clone(), reason: e.to_string() },
            e => Error::Connection(e.to_string()),
        })?;
        let docker =
            docker.negotiate_version().await.map_err(|e| Error::EngineUnreachable { endpoint: host.clone(), reason: e.to_string() })?;
        Ok(Engine { docker, endpoint: host })
    }

    /// The engine's version and the negotiated API version.
    pub async fn version(&self) -> Result<EngineVersion> {
        let v =
            self.docker.version().await.map_err(|e| Error::Api { operation: format!("GET /version on {}", self.endpoint), source: e })?;
        Ok(EngineVersion {
            endpoint: self.endpoint.clone(),
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
            min_api_version: v.min_api_version.unwrap_or_default(),
            os: v.os.unwrap_or_default(),
            arch: v.arch.unwrap_or_default(),
            negotiated_api_version: self.docker.client_version().to_string(),
        })
    }

    /// The underlying client, for this crate's modules.
    pub(crate) fn docker(&self) -> &Docker {
        &self.docker
    }

    /// Where the engine is, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}
