//! Overlays of an infrastructure tree, found and made ready for a purpose (pure: files only).
//!
//! An overlay is a name under `<infra>/k8s/overlays/` or the path of any kustomization
//! directory. A cloud overlay's `secrets.env` (its `secretGenerator` source) is never committed:
//! when it is missing, [`prepare`] writes one into a temporary copy of the k8s tree from the keys
//! of its `secrets.env.example` and the values of the environment's env file. Inspection
//! (render, validate, diff) may use the example's placeholders; an apply needs the real values.
//!
//! ```no_run
//! # fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use stack_config::infra::{Infra, LoadOptions};
//! use stack_k8s::overlay::{Purpose, prepare};
//!
//! let (infra, _warnings) = Infra::load(camino::Utf8Path::new("infrastructure"), &LoadOptions::default())?;
//! let prepared = prepare(&infra, "minikube", Purpose::Apply)?;
//! let objects = stack_k8s::render::render(&prepared.dir)?;
//! # drop(objects); Ok(()) }
//! ```

use camino::{Utf8Path, Utf8PathBuf};
use stack_config::Infra;

use crate::error::{Error, Result};

/// Why an overlay is being prepared: only an apply needs the real secret values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// render, validate, diff: placeholder secrets are good enough when the real ones are absent.
    Inspect,
    /// apply: the real values, or an error.
    Apply,
}

/// An overlay ready to render: its directory, or a temporary copy of `<infra>/k8s` with the
/// uncommitted `secrets.env` written in (mode 0600). The copy is removed on drop.
#[derive(Debug)]
pub struct Prepared {
    /// The overlay's name when it is one of `<infra>/k8s/overlays`.
    pub name: Option<String>,
    /// The directory to render.
    pub dir: Utf8PathBuf,
    /// What the caller should tell the user (placeholders used).
    pub notes: Vec<String>,
    temp: Option<Utf8PathBuf>,
}

impl Prepared {
    /// The overlay's name, or its directory for one given as a path.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.dir.to_string())
    }

    /// The apply set of the overlay: its name, or its directory's name.
    pub fn applyset(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.dir.file_name().unwrap_or("overlay").to_owned())
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            let _ = std::fs::remove_dir_all(temp);
        }
    }
}

/// The directory of `overlay`: a name under `<k8s_root>/overlays`, else a path. With the name
/// when it is one of the tree's overlays.
pub fn locate(k8s_root: &Utf8Path, overlay: &str) -> Result<(Option<String>, Utf8PathBuf)> {
    let overlays = k8s_root.join("overlays");
    let named = overlays.join(overlay);
    if !overlay.contains('/') && named.is_dir() {
        return Ok((Some(overlay.to_owned()), named));
    }
    let path = Utf8Path::new(overlay);
    if path.is_dir() {
        let name = (path.parent() == Some(overlays.as_path())).then(|| path.file_name().unwrap_or_default().to_owned());
        return Ok((name, path.to_owned()));
    }
    let known = stack_config::kustomize::overlays(k8s_root.parent().unwrap_or(k8s_root)).unwrap_or_default();
    let hint = stack_config::suggest::did_you_mean(overlay, known.iter().map(String::as_str));
    Err(Error::Overlay {
        message: format!("unknown overlay `{overlay}`: neither {named} nor a directory `{overlay}` exists"),
        help: Some(match hint {
            Some(hint) => format!("{hint} (or give the path of a kustomization directory)"),
            None => "give the path of a kustomization directory (no overlay found)".to_owned(),
        }),
    })
}

/// Finds `overlay` in `infra` and makes it ready for `purpose` (see the module docs).
pub fn prepare(infra: &Infra, overlay: &str, purpose: Purpose) -> Result<Prepared> {
    let k8s_root = infra.root.join("k8s");
    let (name, dir) = locate(&k8s_root, overlay)?;
    let example = dir.join("secrets.env.example");
    if dir.join("secrets.env").is_file() || !example.is_file() {
        return Ok(Prepared { name, dir, notes: Vec::new(), temp: None });
    }
    let read = |path: &Utf8Path| std::fs::read_to_string(path).map_err(|source| Error::RenderRead { path: path.to_string(), source });
    let keys: Vec<String> = stack_config::envfile::parse(&read(&example)?)
        .map_err(|e| Error::RenderInvalid { path: example.to_string(), line: e.line, message: e.message })?
        .entries
        .into_iter()
        .map(|e| e.key)
        .collect();
    let env = name.as_deref().and_then(|n| infra.environments.environments.values().find(|e| e.overlay.as_deref() == Some(n)));
    let vars = match env {
        Some(e) => Some(infra.vars(&e.name).map_err(|d| Error::Overlay { message: d.to_string(), help: None })?),
        None => None,
    };
    let real = vars.as_ref().filter(|v| v.source.as_ref().is_some_and(|s| !s.as_str().ends_with(".example")));
    let mut notes = Vec::new();
    let mut values = Vec::new();
    match real {
        Some(vars) => {
            let missing: Vec<&str> = keys.iter().filter(|k| vars.get(k).is_none_or(|v| v.is_empty())).map(String::as_str).collect();
            if !missing.is_empty() && purpose == Purpose::Apply {
                return Err(Error::Overlay {
                    message: format!(
                        "{}: no value for {} (needed by the secretGenerator of overlay {dir})",
                        vars.source.as_ref().map_or("the env file", |s| s.as_str()),
                        missing.join(", ")
                    ),
                    help: Some("set them in that file, marked `# @secret`".to_owned()),
                });
            }
            values.extend(keys.iter().map(|k| (k.clone(), vars.get(k).unwrap_or_default())));
        }
        None if purpose == Purpose::Apply => {
            return Err(Error::Overlay {
                message: format!(
                    "overlay {dir} needs {} (never committed) and there is no env file to write it from",
                    dir.join("secrets.env")
                ),
                help: Some(format!(
                    "create infrastructure/env/{}.env from its .example with the real values (marked `# @secret`), or write {} by hand",
                    env.map_or("<env>", |e| e.name.as_str()),
                    dir.join("secrets.env")
                )),
            });
        }
        None => {
            notes.push(format!("note: {} is missing: rendering with the placeholder values of {example}", dir.join("secrets.env")));
            values.extend(keys.iter().map(|k| (k.clone(), String::new())));
        }
    }
    // As the old `secrets.env` was written by hand: `KEY=value`, unquoted (Kustomize's env-file
    // reader keeps quotes as part of the value).
    let text = values.iter().fold(String::from("# Written for this render only; never committed.\n"), |mut text, (k, v)| {
        text.push_str(&format!("{k}={v}\n"));
        text
    });
    // A copy of the whole k8s tree keeps relative references (../../base) working.
    let temp = std::env::temp_dir().join(format!("srvthreds-k8s-{}-{}", std::process::id(), unique()));
    let temp = Utf8PathBuf::from_path_buf(temp)
        .map_err(|p| Error::Overlay { message: format!("temporary directory {} is not UTF-8", p.display()), help: None })?;
    let rel = dir
        .strip_prefix(&k8s_root)
        .map_err(|_| Error::Overlay { message: format!("overlay {dir} is not under {k8s_root}"), help: None })?
        .to_owned();
    copy_tree(&k8s_root, &temp).map_err(|source| Error::RenderRead { path: k8s_root.to_string(), source })?;
    let prepared = Prepared { name, dir: temp.join(rel), notes, temp: Some(temp) };
    let secrets = prepared.dir.join("secrets.env");
    write_private(&secrets, &text).map_err(|source| Error::RenderRead { path: secrets.to_string(), source })?;
    Ok(prepared)
}

fn unique() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

fn copy_tree(from: &Utf8Path, to: &Utf8Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.as_std_path().join(entry.file_name());
        if entry.file_type()?.is_dir() {
            let path = entry.path();
            let (Some(src), Some(dst)) = (Utf8Path::from_path(&path), Utf8Path::from_path(&target)) else { continue };
            copy_tree(src, dst)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// Writes a file only its owner can read.
fn write_private(path: &Utf8Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn repo_infra() -> Infra {
        let root = Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure");
        Infra::load(&root, &stack_config::infra::LoadOptions::default()).unwrap().0
    }

    #[test]
    fn a_named_overlay_is_its_directory() {
        let prepared = prepare(&repo_infra(), "minikube", Purpose::Apply).unwrap();
        assert_eq!(prepared.name.as_deref(), Some("minikube"));
        assert!(prepared.dir.ends_with("k8s/overlays/minikube"), "{}", prepared.dir);
        assert!(prepared.temp.is_none() && prepared.notes.is_empty());
    }

    #[test]
    fn an_unknown_overlay_suggests_the_closest() {
        let error = prepare(&repo_infra(), "minikub", Purpose::Inspect).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("unknown overlay `minikub`") && text.contains("did you mean `minikube`?"), "{text}");
    }

    #[test]
    fn a_cloud_overlay_without_secrets_renders_with_placeholders_in_a_private_copy() {
        let infra = repo_infra();
        // The repository has only env/prod.env.example: placeholders for inspection.
        let prepared = prepare(&infra, "prod", Purpose::Inspect).unwrap();
        let secrets = prepared.dir.join("secrets.env");
        let text = std::fs::read_to_string(&secrets).unwrap();
        assert!(text.lines().any(|l| l.ends_with('=')), "{text}");
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(prepared.notes.len(), 1, "{:?}", prepared.notes);
        let copy = prepared.temp.clone().unwrap();
        drop(prepared);
        assert!(!copy.exists(), "the copy is removed on drop");
        // An apply needs the real values.
        let error = prepare(&infra, "prod", Purpose::Apply).unwrap_err().to_string();
        assert!(error.contains("never committed") && error.contains("env/prod.env"), "{error}");
    }
}
