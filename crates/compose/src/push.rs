//! Pushing images to a registry through the engine: tag `repository:tag`, push with progress per
//! layer, and the digest the registry stored. Credentials come from the Docker credential
//! configuration ([`Credentials::from_docker_config`]) or from the caller (an ECR token); they
//! are never part of an error, an event or a `Debug` print.

use std::path::PathBuf;

use bollard::auth::DockerCredentials;
use bollard::query_parameters::{PushImageOptionsBuilder, TagImageOptionsBuilder};
use futures_util::StreamExt;
use serde::Serialize;

use crate::progress::{Event, Progress};
use crate::{Engine, Error, Result};

/// A registry login. `Debug` shows the user and server, never the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
    /// The registry host the login is for (`localhost:5000`, `<account>.dkr.ecr.<region>.amazonaws.com`).
    pub server: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"(hidden)")
            .field("server", &self.server)
            .finish()
    }
}

/// One image in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pushed {
    /// The local image that was pushed (`srvthreds-engine:dev`).
    pub image: String,
    /// `registry/name`.
    pub repository: String,
    pub tag: String,
    /// `sha256:...`, the manifest digest the registry reported.
    pub digest: String,
    /// Layers uploaded by this push.
    pub uploaded: usize,
    /// Layers the registry already had (not uploaded again).
    pub present: usize,
}

impl Pushed {
    /// `repository@digest`.
    pub fn reference(&self) -> String {
        format!("{}@{}", self.repository, self.digest)
    }
}

/// A registry error, with the registry's own words (never the credentials).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("pushing {reference} failed: {message}\n  help: {help}")]
    Registry { reference: String, message: String, help: String },
    #[error("pushing {reference} ended without a digest from the registry")]
    NoDigest { reference: String },
    #[error("{file}: {message}\n  help: {help}")]
    CredentialConfig { file: PathBuf, message: String, help: String },
}

impl Engine {
    /// Tags `image` as `repository:tag` and pushes it; `credentials` for the registry, when it
    /// needs a login. Progress: one event per layer as it finishes (pushed, or already there).
    pub async fn push_image(
        &self,
        image: &str,
        repository: &str,
        tag: &str,
        credentials: Option<&Credentials>,
        progress: &dyn Progress,
    ) -> Result<Pushed> {
        let reference = format!("{repository}:{tag}");
        let tag_options = TagImageOptionsBuilder::default().repo(repository).tag(tag).build();
        self.docker()
            .tag_image(image, Some(tag_options))
            .await
            .map_err(|e| Error::Api { operation: format!("tag {image} as {reference}"), source: e })?;
        progress.event(&Event::ImagePushing { reference: reference.clone() });
        let auth = credentials.map(|c| DockerCredentials {
            username: Some(c.username.clone()),
            password: Some(c.password.clone()),
            serveraddress: Some(c.server.clone()),
            ..Default::default()
        });
        let options = PushImageOptionsBuilder::default().tag(tag).build();
        let mut stream = self.docker().push_image(repository, Some(options), auth);
        let (mut layers, mut uploaded, mut present, mut digest) = (0, 0, 0, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| push_error(&reference, e))?;
            let status = info.status.unwrap_or_default();
            match status.as_str() {
                "Preparing" => layers += 1,
                "Pushed" => uploaded += 1,
                "Layer already exists" => present += 1,
                s if s.starts_with("Mounted from") => present += 1,
                s => digest = digest.or_else(|| final_digest(s)),
            }
            if matches!(status.as_str(), "Pushed" | "Layer already exists") || status.starts_with("Mounted from") {
                let state = if status == "Pushed" { "uploaded" } else { "already in the registry" };
                progress.event(&Event::LayerPushed {
                    reference: reference.clone(),
                    done: uploaded + present,
                    layers,
                    state: state.to_owned(),
                });
            }
        }
        let digest = match digest {
            Some(d) => d,
            None => self
                .repo_digest(&reference, repository)
                .await?
                .ok_or_else(|| Error::Push(PushError::NoDigest { reference: reference.clone() }))?,
        };
        progress.event(&Event::ImagePushed { reference: reference.clone(), digest: digest.clone(), uploaded, present });
        Ok(Pushed { image: image.to_owned(), repository: repository.to_owned(), tag: tag.to_owned(), digest, uploaded, present })
    }

    /// The digest the engine recorded for `repository` after a push (its `RepoDigests`).
    async fn repo_digest(&self, reference: &str, repository: &str) -> Result<Option<String>> {
        let inspected = self
            .docker()
            .inspect_image(reference)
            .await
            .map_err(|e| Error::Api { operation: format!("inspect image {reference}"), source: e })?;
        let prefix = format!("{repository}@");
        Ok(inspected.repo_digests.unwrap_or_default().iter().find_map(|d| d.strip_prefix(&prefix).map(str::to_owned)))
    }
}

/// The digest of the push's last status, `<tag>: digest: sha256:<hex> size: <n>`.
fn final_digest(status: &str) -> Option<String> {
    let rest = status.split_once(": digest: ")?.1;
    let digest = rest.split_whitespace().next()?;
    stack_config::release::is_digest(digest).then(|| digest.to_owned())
}

fn push_error(reference: &str, e: bollard::errors::Error) -> Error {
    let message = match e {
        bollard::errors::Error::DockerStreamError { error } => error,
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        e => e.to_string(),
    };
    let lower = message.to_lowercase();
    let help = if lower.contains("unauthorized") || lower.contains("authentication required") || lower.contains("denied") {
        "log in to the registry (`docker login`, or the ECR login) so the Docker credential config has it"
    } else if lower.contains("connection refused") || lower.contains("no such host") || lower.contains("dial tcp") {
        "the registry does not answer: check its address and that it runs"
    } else if lower.contains("http response to https") || lower.contains("server gave http") {
        "the engine talks HTTPS to this registry: list it under insecure-registries in the engine's daemon.json, or serve it over TLS"
    } else {
        "the registry's message above says why"
    };
    Error::Push(PushError::Registry { reference: reference.to_owned(), message, help: help.to_owned() })
}

impl Credentials {
    /// The login for `registry` in the Docker credential configuration (`$DOCKER_CONFIG/config.json`,
    /// else `~/.docker/config.json`): a `credHelpers` entry or the `credsStore` (run as
    /// `docker-credential-<name> get`), else the `auths` entry. `None` when there is no
    /// configuration or no login for it (an anonymous push).
    pub fn from_docker_config(registry: &str, env: &dyn Fn(&str) -> Option<String>) -> std::result::Result<Option<Credentials>, PushError> {
        let dir = env("DOCKER_CONFIG").map(PathBuf::from).or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".docker")));
        let Some(file) = dir.map(|d| d.join("config.json")).filter(|f| f.is_file()) else { return Ok(None) };
        let bad = |message: String| PushError::CredentialConfig {
            file: file.clone(),
            message,
            help: "fix the file, or log in again with `docker login` (it rewrites it)".to_owned(),
        };
        let text = std::fs::read_to_string(&file).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let config: serde_json::Value = serde_json::from_str(&text).map_err(|e| bad(format!("not JSON: {e}")))?;
        let helper = config["credHelpers"][registry].as_str().or_else(|| config["credsStore"].as_str());
        if let Some(helper) = helper {
            return from_helper(helper, registry).map_err(bad);
        }
        let Some(entry) = config["auths"].as_object().and_then(|auths| auths.iter().find(|(k, _)| host_of(k) == registry).map(|(_, v)| v))
        else {
            return Ok(None);
        };
        let (username, password) = if let Some(auth) = entry["auth"].as_str().filter(|a| !a.is_empty()) {
            use base64::Engine as _;
            let decoded =
                base64::engine::general_purpose::STANDARD.decode(auth).map_err(|_| bad(format!("auths.{registry}.auth is not base64")))?;
            let text = String::from_utf8(decoded).map_err(|_| bad(format!("auths.{registry}.auth is not UTF-8 `user:password`")))?;
            let (u, p) = text.split_once(':').ok_or_else(|| bad(format!("auths.{registry}.auth is not `user:password`")))?;
            (u.to_owned(), p.to_owned())
        } else {
            match (entry["username"].as_str(), entry["password"].as_str()) {
                (Some(u), Some(p)) => (u.to_owned(), p.to_owned()),
                _ => return Ok(None),
            }
        };
        Ok(Some(Credentials { username, password, server: registry.to_owned() }))
    }
}

/// `https://host/v1/` → `host`: the forms `docker login` writes as `auths` keys.
fn host_of(key: &str) -> &str {
    let key = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

/// `docker-credential-<helper> get`, with the registry on stdin.
fn from_helper(helper: &str, registry: &str) -> std::result::Result<Option<Credentials>, String> {
    use std::io::Write;
    let program = format!("docker-credential-{helper}");
    let mut child = std::process::Command::new(&program)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("the credential helper {program} cannot run: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(registry.as_bytes()).map_err(|e| format!("writing to {program}: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        // Helpers say "credentials not found in native keychain" for an unknown registry.
        let said = String::from_utf8_lossy(&out.stdout).to_lowercase() + &String::from_utf8_lossy(&out.stderr).to_lowercase();
        return if said.contains("not found") { Ok(None) } else { Err(format!("{program} get failed ({})", out.status)) };
    }
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|_| format!("{program} get printed no JSON"))?;
    match (value["Username"].as_str(), value["Secret"].as_str()) {
        (Some(u), Some(s)) => Ok(Some(Credentials { username: u.to_owned(), password: s.to_owned(), server: registry.to_owned() })),
        _ => Err(format!("{program} get printed no Username and Secret")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_comes_from_the_last_status_line() {
        let hex = "0".repeat(64);
        assert_eq!(final_digest(&format!("3f2a: digest: sha256:{hex} size: 1570")), Some(format!("sha256:{hex}")));
        assert_eq!(final_digest("Pushing"), None);
        assert_eq!(final_digest("x: digest: sha256:short size: 1"), None);
    }

    #[test]
    fn logins_come_from_auths_and_never_show_in_debug() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let auth = {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode("ci:s3cr3t-pw")
        };
        let config = format!(r#"{{"auths": {{"https://registry.example:5000/v1/": {{"auth": "{auth}"}}}}}}"#);
        std::fs::write(dir.path().join("config.json"), config).expect("written");
        let path = dir.path().to_str().expect("UTF-8").to_owned();
        let env = |k: &str| (k == "DOCKER_CONFIG").then(|| path.clone());
        let login = Credentials::from_docker_config("registry.example:5000", &env).expect("readable").expect("a login");
        assert_eq!((login.username.as_str(), login.password.as_str()), ("ci", "s3cr3t-pw"));
        assert!(!format!("{login:?}").contains("s3cr3t"), "{login:?}");
        assert_eq!(Credentials::from_docker_config("other:5000", &env).expect("readable"), None);

        std::fs::write(dir.path().join("config.json"), "{not json").expect("written");
        let e = Credentials::from_docker_config("registry.example:5000", &env).expect_err("not JSON");
        assert!(e.to_string().contains("config.json: not JSON"), "{e}");
    }
}
