//! Kubeconfig entries for EKS clusters: the shape `aws eks update-kubeconfig` writes, merged into
//! an existing file (same-named entries replaced, others kept) and written atomically, mode 0600.
//!
//! Pure apart from reading and writing the one file, so it is compiled without the `aws` feature.
//! The file is read with the workspace's spanned YAML reader and written as block YAML by the
//! small emitter below: every string it writes is double-quoted, so no value can change type.
//! Comments in an existing file are not kept (kubectl's own `config set` drops them too).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use stack_config::node::{Location, Node, Scalar, Value, parse_yaml};

use crate::error::{Error, Result};

mod report;

pub use report::{Report, Update, apply};

/// The `apiVersion` of the exec credential plugin protocol this toolkit speaks.
pub const EXEC_API_VERSION: &str = "client.authentication.k8s.io/v1beta1";

/// One cluster's entry: a cluster, a user and a context that joins them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Name of the cluster and the user entries; `aws eks update-kubeconfig` uses the cluster ARN.
    pub name: String,
    /// Name of the context; the ARN too unless an alias was chosen.
    pub context: String,
    /// The API server URL.
    pub server: String,
    /// The base64 PEM of the cluster CA, exactly as EKS reports it.
    pub certificate_authority_data: String,
    /// The credential plugin the user entry runs.
    pub exec: ExecPlugin,
}

/// A client-go exec credential plugin: a command that prints an `ExecCredential`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecPlugin {
    /// The program, best an absolute path: kubectl runs it from wherever kubectl runs.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
}

/// What [`write`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    /// The file did not exist and was created.
    Created,
    /// The file existed and its content changed.
    Updated,
    /// The file already held exactly this entry; it was not rewritten.
    Unchanged,
}

/// The binary an exec plugin should name for `exe` (a build of this toolkit with the AWS
/// backend): `exe` itself, unless it is a cargo target directory's plain build
/// (`<target>/<profile>/NAME`, a target directory has a `CACHEDIR.TAG`), which the next plain
/// build replaces with one that lacks the backend. Then a copy of it at the full build's path,
/// `<target>/full/<profile>/NAME`, which only full builds write.
pub fn stable_binary(exe: &Path) -> std::io::Result<PathBuf> {
    let (Some(profile), Some(name)) = (exe.parent(), exe.file_name()) else { return Ok(exe.to_owned()) };
    match profile.parent() {
        Some(target) if target.join("CACHEDIR.TAG").is_file() && target.file_name().is_some_and(|n| n != "full") => {
            let dir = target.join("full").join(profile.file_name().unwrap_or_default());
            // Copied beside, then renamed over: a running full build keeps its own file.
            let part = dir.join(".exec-plugin.part");
            std::fs::create_dir_all(&dir)?;
            std::fs::copy(exe, &part)?;
            std::fs::rename(&part, dir.join(name))?;
            Ok(dir.join(name))
        }
        _ => Ok(exe.to_owned()),
    }
}

/// The kubeconfig kubectl would use: the first path of `KUBECONFIG`, else `~/.kube/config`.
///
/// `var` looks up environment variables (`|k| std::env::var(k).ok()` in a program).
pub fn default_path(var: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf> {
    if let Some(list) = var("KUBECONFIG") {
        let separator = if cfg!(windows) { ';' } else { ':' };
        if let Some(first) = list.split(separator).find(|p| !p.is_empty()) {
            return Ok(PathBuf::from(first));
        }
    }
    match var("HOME") {
        Some(home) if !home.is_empty() => Ok(Path::new(&home).join(".kube").join("config")),
        _ => Err(Error::NoKubeconfigPath),
    }
}

/// Merges `entry` into the kubeconfig at `path` (created with its folder when missing), makes its
/// context current, and writes it through a temporary file in the same folder and a rename, so a
/// reader never sees half a file. The file ends up with mode 0600 (it names credentials).
pub fn write(path: &Path, entry: &Entry) -> Result<Outcome> {
    // Write through a symlink to its target, as kubectl does, rather than replace the link.
    let path = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).map_err(|source| Error::ReadKubeconfig { path: path.to_owned(), source })?
        }
        _ => path.to_owned(),
    };
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(Error::ReadKubeconfig { path, source }),
    };
    let merged = merge(&path, existing.as_deref(), entry)?;
    let write_error = |source| Error::WriteKubeconfig { path: path.clone(), source };
    if existing.as_deref() == Some(merged.as_str()) {
        set_private(&path).map_err(write_error)?;
        tracing::debug!(path = %path.display(), "kubeconfig already up to date");
        return Ok(Outcome::Unchanged);
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(write_error)?;
    let file_name = path.file_name().map_or_else(|| "kubeconfig".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let written = write_private(&temp, merged.as_bytes()).and_then(|()| std::fs::rename(&temp, &path));
    if let Err(source) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(write_error(source));
    }
    tracing::debug!(path = %path.display(), context = %entry.context, "kubeconfig written");
    Ok(if existing.is_some() { Outcome::Updated } else { Outcome::Created })
}

/// The text of the kubeconfig `existing` (read from `path`, named in errors) with `entry` merged
/// in: entries of the same name are replaced in place, others kept in their order, the context
/// becomes `current-context`. Unknown fields are kept.
pub fn merge(path: &Path, existing: Option<&str>, entry: &Entry) -> Result<String> {
    let mut root = match existing {
        Some(text) => parse_yaml(text).map_err(|error| Error::ParseKubeconfig {
            path: path.to_owned(),
            line: error.location.line,
            column: error.location.column,
            message: error.message,
        })?,
        None => null(),
    };
    if root.is_null() {
        root = map(Vec::new());
    }
    let shape = |field: String, expected, location: Location| Error::KubeconfigShape {
        path: path.to_owned(),
        field,
        expected,
        line: location.line,
        column: location.column,
    };
    let location = root.location;
    let Value::Map(top) = &mut root.value else {
        return Err(shape("(top level)".into(), "a mapping", location));
    };
    set_default(top, "apiVersion", string("v1"));
    set_default(top, "kind", string("Config"));
    set_default(top, "preferences", map(Vec::new()));
    for (list, item) in [("clusters", cluster_item(entry)), ("contexts", context_item(entry)), ("users", user_item(entry))] {
        let slot = field_mut(top, list);
        if slot.is_null() {
            *slot = seq(Vec::new());
        }
        let location = slot.location;
        let Value::Seq(items) = &mut slot.value else {
            return Err(shape(list.into(), "a list", location));
        };
        let name = item.get("name").and_then(Node::as_str).unwrap_or_default().to_owned();
        let mut found = None;
        for (index, existing) in items.iter().enumerate() {
            if existing.entries().is_none() {
                return Err(shape(format!("{list}[{index}]"), "a mapping", existing.location));
            }
            if existing.get("name").and_then(Node::as_str) == Some(name.as_str()) {
                found = Some(index);
            }
        }
        match found {
            Some(index) => items[index] = item,
            None => items.push(item),
        }
    }
    *field_mut(top, "current-context") = string(&entry.context);
    let mut out = String::new();
    emit_map(top, 0, &mut out);
    Ok(out)
}

fn cluster_item(entry: &Entry) -> Node {
    map(vec![
        (
            "cluster",
            map(vec![("certificate-authority-data", string(&entry.certificate_authority_data)), ("server", string(&entry.server))]),
        ),
        ("name", string(&entry.name)),
    ])
}

fn context_item(entry: &Entry) -> Node {
    map(vec![("context", map(vec![("cluster", string(&entry.name)), ("user", string(&entry.name))])), ("name", string(&entry.context))])
}

fn user_item(entry: &Entry) -> Node {
    let exec = map(vec![
        ("apiVersion", string(EXEC_API_VERSION)),
        ("args", seq(entry.exec.args.iter().map(|a| string(a)).collect())),
        ("command", string(&entry.exec.command)),
        ("env", null()),
        // The token command never asks anything; `Never` lets kubectl run it without a terminal.
        ("interactiveMode", string("Never")),
    ]);
    map(vec![("name", string(&entry.name)), ("user", map(vec![("exec", exec)]))])
}

fn node(value: Value) -> Node {
    Node { value, location: Location { line: 1, column: 1 } }
}

fn null() -> Node {
    node(Value::Null)
}

fn string(text: &str) -> Node {
    node(Value::Scalar(Scalar { text: text.to_owned(), quoted: true }))
}

fn plain(text: &str) -> Node {
    node(Value::Scalar(Scalar { text: text.to_owned(), quoted: false }))
}

fn seq(items: Vec<Node>) -> Node {
    node(Value::Seq(items))
}

fn map(entries: Vec<(&str, Node)>) -> Node {
    node(Value::Map(entries.into_iter().map(|(k, v)| (plain(k), v)).collect()))
}

/// The value of `key` in `entries`, appended as null when missing.
fn field_mut<'a>(entries: &'a mut Vec<(Node, Node)>, key: &str) -> &'a mut Node {
    let index = match entries.iter().position(|(k, _)| k.as_str() == Some(key)) {
        Some(index) => index,
        None => {
            entries.push((plain(key), null()));
            entries.len() - 1
        }
    };
    &mut entries[index].1
}

fn set_default(entries: &mut Vec<(Node, Node)>, key: &str, value: Node) {
    let slot = field_mut(entries, key);
    if slot.is_null() {
        *slot = value;
    }
}

/// Block YAML, kubectl's layout: mappings indented by two, lists at their key's indentation.
fn emit_map(entries: &[(Node, Node)], indent: usize, out: &mut String) {
    for (key, value) in entries {
        let pad = " ".repeat(indent);
        let _ = write!(out, "{pad}{}:", scalar_text(key));
        match &value.value {
            Value::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                emit_map(inner, indent + 2, out);
            }
            Value::Seq(items) if !items.is_empty() => {
                out.push('\n');
                emit_seq(items, indent, out);
            }
            _ => {
                let _ = writeln!(out, " {}", scalar_text(value));
            }
        }
    }
}

fn emit_seq(items: &[Node], indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    for item in items {
        match &item.value {
            Value::Map(inner) if !inner.is_empty() => {
                // The item's first line goes after the dash; the rest keep the item's indentation.
                let mut block = String::new();
                emit_map(inner, indent + 2, &mut block);
                let _ = write!(out, "{pad}- {}", &block[indent + 2..]);
            }
            Value::Seq(inner) if !inner.is_empty() => {
                let mut block = String::new();
                emit_seq(inner, indent + 2, &mut block);
                let _ = write!(out, "{pad}- {}", &block[indent + 2..]);
            }
            _ => {
                let _ = writeln!(out, "{pad}- {}", scalar_text(item));
            }
        }
    }
}

/// A scalar, null or empty collection as one token. Plain scalars read from the file keep their
/// text (a plain scalar is valid plain in block context); strings are double-quoted.
fn scalar_text(node: &Node) -> String {
    match &node.value {
        Value::Null => "null".into(),
        Value::Map(_) => "{}".into(),
        Value::Seq(_) => "[]".into(),
        Value::Scalar(Scalar { text, quoted: false }) if !text.is_empty() && !text.contains('\n') => text.clone(),
        Value::Scalar(Scalar { text, .. }) => quote(text),
    }
}

/// A YAML double-quoted scalar: the JSON escapes, plus the characters YAML reads as line breaks.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(unix)]
fn set_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn set_private(_: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_plain_build_is_copied_to_the_full_build_path_and_others_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir_all(target.join("debug")).unwrap();
        std::fs::write(target.join("CACHEDIR.TAG"), "Signature: 8a477f597d28d172789f06886806bc55").unwrap();
        let plain = target.join("debug/xtask");
        std::fs::write(&plain, "full binary").unwrap();
        let named = stable_binary(&plain).unwrap();
        assert_eq!(named, target.join("full/debug/xtask"));
        assert_eq!(std::fs::read_to_string(&named).unwrap(), "full binary");
        assert_eq!(stable_binary(&named).unwrap(), named, "the full build's own binary is named as it is");
        let installed = dir.path().join("bin/xtask");
        assert_eq!(stable_binary(&installed).unwrap(), installed, "outside a target directory: as it is");
    }

    const ARN: &str = "arn:aws:eks:us-west-2:123456789012:cluster/srvthreds-dev";

    fn entry(context: &str) -> Entry {
        Entry {
            name: ARN.into(),
            context: context.into(),
            server: "https://ABC.gr7.us-west-2.eks.amazonaws.com".into(),
            certificate_authority_data: "LS0tLS1CRUdJTi==".into(),
            exec: ExecPlugin {
                command: "/opt/bin/xtask".into(),
                args: ["cloud", "token", "--cluster", "srvthreds-dev", "--region", "us-west-2"].map(String::from).to_vec(),
            },
        }
    }

    fn merged(existing: Option<&str>, entry: &Entry) -> String {
        merge(Path::new("config"), existing, entry).unwrap()
    }

    /// The merged text read back as JSON, to compare structures rather than layout.
    fn json(text: &str) -> serde_json::Value {
        fn convert(node: &Node) -> serde_json::Value {
            match &node.value {
                Value::Null => serde_json::Value::Null,
                Value::Scalar(s) if !s.quoted && node.as_bool().is_some() => node.as_bool().unwrap().into(),
                Value::Scalar(s) => s.text.clone().into(),
                Value::Seq(items) => items.iter().map(convert).collect(),
                Value::Map(entries) => {
                    entries.iter().map(|(k, v)| (k.as_str().unwrap().to_owned(), convert(v))).collect::<serde_json::Map<_, _>>().into()
                }
            }
        }
        convert(&parse_yaml(text).unwrap())
    }

    #[test]
    fn a_new_file_holds_the_update_kubeconfig_shape() {
        let text = merged(None, &entry(ARN));
        assert_eq!(
            text,
            format!(
                r#"apiVersion: "v1"
kind: "Config"
preferences: {{}}
clusters:
- cluster:
    certificate-authority-data: "LS0tLS1CRUdJTi=="
    server: "https://ABC.gr7.us-west-2.eks.amazonaws.com"
  name: "{ARN}"
contexts:
- context:
    cluster: "{ARN}"
    user: "{ARN}"
  name: "{ARN}"
users:
- name: "{ARN}"
  user:
    exec:
      apiVersion: "client.authentication.k8s.io/v1beta1"
      args:
      - "cloud"
      - "token"
      - "--cluster"
      - "srvthreds-dev"
      - "--region"
      - "us-west-2"
      command: "/opt/bin/xtask"
      env: null
      interactiveMode: "Never"
current-context: "{ARN}"
"#
            )
        );
    }

    #[test]
    fn merging_keeps_unrelated_entries_and_replaces_same_named_ones() {
        let existing = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: minikube\n  cluster:\n    server: https://192.168.49.2:8443\n    insecure-skip-tls-verify: true\n- name: {ARN}\n  cluster:\n    server: https://old\ncontexts:\n- name: minikube\n  context: {{cluster: minikube, user: minikube, namespace: default}}\nusers:\n- name: minikube\n  user:\n    token: 'abc: def'\ncurrent-context: minikube\nextensions: []\n"
        );
        let value = json(&merged(Some(&existing), &entry("dev")));
        let clusters = value["clusters"].as_array().unwrap();
        assert_eq!(clusters.len(), 2, "{value}");
        assert_eq!(clusters[0]["name"], "minikube");
        assert_eq!(clusters[0]["cluster"]["insecure-skip-tls-verify"], true);
        assert_eq!(clusters[1]["name"], ARN);
        assert_eq!(clusters[1]["cluster"]["server"], "https://ABC.gr7.us-west-2.eks.amazonaws.com");
        let contexts = value["contexts"].as_array().unwrap();
        assert_eq!(contexts.len(), 2);
        assert_eq!(contexts[0]["context"]["namespace"], "default");
        assert_eq!(contexts[1]["name"], "dev");
        assert_eq!(contexts[1]["context"]["cluster"], ARN);
        assert_eq!(value["users"][0]["user"]["token"], "abc: def");
        assert_eq!(value["users"][1]["user"]["exec"]["args"][3], "srvthreds-dev");
        assert_eq!(value["current-context"], "dev");
        assert_eq!(value["extensions"], serde_json::json!([]));
        assert_eq!(value["preferences"], serde_json::json!({}));
    }

    #[test]
    fn merging_twice_is_a_fixed_point() {
        let once = merged(Some("clusters:\n- name: other\n  cluster: {server: 'https://x'}\n"), &entry(ARN));
        assert_eq!(merged(Some(&once), &entry(ARN)), once);
    }

    #[test]
    fn strings_that_look_like_other_types_stay_strings() {
        let mut e = entry(ARN);
        e.context = "true".into();
        e.exec.args = vec!["1.10".into(), "null".into(), "a \"q\" \\ \n\u{2028}".into(), "# c".into()];
        let value = json(&merged(None, &e));
        assert_eq!(value["current-context"], "true");
        assert_eq!(value["users"][0]["user"]["exec"]["args"], serde_json::json!(["1.10", "null", "a \"q\" \\ \n\u{2028}", "# c"]));
    }

    #[test]
    fn an_empty_file_is_a_new_kubeconfig() {
        assert_eq!(merged(Some(""), &entry(ARN)), merged(None, &entry(ARN)));
    }

    #[test]
    fn malformed_files_are_clear_errors() {
        let error = merge(Path::new("cfg"), Some("clusters: [\n"), &entry(ARN)).unwrap_err();
        assert!(matches!(error, Error::ParseKubeconfig { .. }), "{error:?}");
        let error = merge(Path::new("cfg"), Some("- a\n"), &entry(ARN)).unwrap_err();
        assert!(matches!(&error, Error::KubeconfigShape { field, .. } if field == "(top level)"), "{error:?}");
        let error = merge(Path::new("cfg"), Some("clusters: {a: 1}\n"), &entry(ARN)).unwrap_err();
        assert!(matches!(&error, Error::KubeconfigShape { field, expected: "a list", .. } if field == "clusters"), "{error:?}");
        let error = merge(Path::new("cfg"), Some("users:\n- x\n"), &entry(ARN)).unwrap_err();
        assert_eq!(error.to_string().lines().next().unwrap(), "kubeconfig `cfg`: `users[0]` at 2:3 should be a mapping");
    }

    #[cfg(unix)]
    #[test]
    fn write_creates_the_folder_and_a_private_file_then_converges() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/.kube/config");
        assert_eq!(write(&path, &entry(ARN)).unwrap(), Outcome::Created);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(write(&path, &entry(ARN)).unwrap(), Outcome::Unchanged);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(write(&path, &entry("dev")).unwrap(), Outcome::Updated);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, ["config"], "no temporary file is left behind");
    }

    #[test]
    fn default_path_prefers_kubeconfig_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(default_path(&env(&[("KUBECONFIG", "/a:/b"), ("HOME", "/h")])).unwrap(), PathBuf::from("/a"));
        assert_eq!(default_path(&env(&[("HOME", "/h")])).unwrap(), PathBuf::from("/h/.kube/config"));
        assert!(matches!(default_path(&env(&[])), Err(Error::NoKubeconfigPath)));
    }
}
