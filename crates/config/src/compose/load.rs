//! Decoding one compose file: parse, interpolate, decode into the model, collect diagnostics.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};

use super::model::*;
use crate::decode::{Ctx, index, join};
use crate::duration::{parse_bytes, parse_duration};
use crate::node::{self, Node, Value};
use crate::{Diagnostic, Diagnostics, interpolate};

/// The result of loading one file: what could be decoded, and every finding.
#[derive(Debug, Clone, Default)]
pub struct LoadedFile {
    pub project: Project,
    /// The top-level `name:` when the file sets one.
    pub name: Option<String>,
    pub diagnostics: Diagnostics,
}

const TOP_KEYS: &[&str] = &["version", "name", "services", "networks", "volumes"];
const SERVICE_KEYS: &[&str] = &[
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "networks",
    "depends_on",
    "healthcheck",
    "restart",
    "deploy",
    "profiles",
    "labels",
    "extra_hosts",
    "container_name",
    "hostname",
];

/// Loads one compose file from its text. `vars` answers variable look-ups for interpolation.
pub fn load_file(path: &Utf8Path, text: &str, vars: &dyn Fn(&str) -> Option<String>) -> LoadedFile {
    let mut diags = Diagnostics::new();
    let mut out = LoadedFile::default();
    out.project.files.push(path.to_owned());
    let mut root = match node::parse_yaml(text) {
        Ok(root) => root,
        Err(e) => {
            diags.push(
                Diagnostic::error(path, Some(e.location), "", format!("invalid YAML: {}", e.message))
                    .with_help("fix the YAML syntax at this position"),
            );
            out.diagnostics = diags;
            return out;
        }
    };
    let image_vars = image_variables(&root);
    let mut ctx = Ctx { file: path, diags: &mut diags };
    interpolate_tree(&mut ctx, &mut root, "", vars);
    let dir = path.parent().map(Utf8Path::to_owned).unwrap_or_default();
    decode_root(&mut ctx, &root, &dir, &mut out);
    for (name, vars) in image_vars {
        if let Some(svc) = out.project.services.get_mut(&name) {
            svc.image_vars = vars;
        }
    }
    out.diagnostics = diags;
    out
}

/// The variables each service's `image:` refers to, read before interpolation replaces them.
fn image_variables(root: &Node) -> Vec<(String, Vec<String>)> {
    let Some(services) = root.get("services").and_then(Node::entries) else { return Vec::new() };
    services
        .iter()
        .filter_map(|(name, def)| {
            let text = def.get("image")?.as_str()?;
            let vars = interpolate::variables(text).ok()?;
            (!vars.is_empty()).then(|| (name.as_str().unwrap_or_default().to_owned(), vars))
        })
        .collect()
}

/// Replaces `${...}` in every scalar value (never in keys), as Compose does before decoding.
fn interpolate_tree(ctx: &mut Ctx<'_>, node: &mut Node, field: &str, vars: &dyn Fn(&str) -> Option<String>) {
    let location = node.location;
    match &mut node.value {
        Value::Scalar(s) => match interpolate::interpolate(&s.text, vars) {
            Ok(v) => s.text = v,
            Err(e) => {
                let mut at = location;
                if !s.text[..e.offset.min(s.text.len())].contains('\n') {
                    at.column += e.offset + usize::from(s.quoted);
                }
                ctx.error_help(
                    at,
                    field,
                    e.message.clone(),
                    Some("set the variable in the environment's env file or the shell, or write `$$` for a literal `$`".to_owned()),
                );
            }
        },
        Value::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(ctx, item, &index(field, i), vars);
            }
        }
        Value::Map(entries) => {
            for (key, value) in entries.iter_mut() {
                let name = key.as_str().unwrap_or_default().to_owned();
                interpolate_tree(ctx, value, &join(field, &name), vars);
            }
        }
        Value::Null => {}
    }
}

fn decode_root(ctx: &mut Ctx<'_>, root: &Node, dir: &Utf8Path, out: &mut LoadedFile) {
    if root.is_null() {
        ctx.error(root.location, "", "the compose file is empty");
        return;
    }
    let Some(entries) = ctx.map(root, "") else { return };
    ctx.check_keys(entries, "", TOP_KEYS, false);
    for (key, value) in entries {
        match key.as_str().unwrap_or_default() {
            "name" => out.name = ctx.non_empty(value, "name"),
            "services" => {
                if value.is_null() {
                    continue;
                }
                let Some(services) = ctx.map(value, "services") else { continue };
                for (name_node, def) in services {
                    let name = name_node.as_str().unwrap_or_default().to_owned();
                    let field = join("services", &name);
                    if !valid_name(&name) {
                        ctx.error_help(
                            name_node.location,
                            &field,
                            format!("invalid service name `{name}`"),
                            Some("use letters, digits, `_`, `.` and `-`, starting with a letter or digit".to_owned()),
                        );
                        continue;
                    }
                    let origin = Origin { file: ctx.file.to_owned(), location: name_node.location };
                    if let Some(svc) = decode_service(ctx, &name, def, &field, dir, origin) {
                        out.project.services.insert(name, svc);
                    }
                }
            }
            "networks" => decode_top(
                ctx,
                value,
                "networks",
                |ctx, def, field| {
                    decode_resource(ctx, def, field).map(|(name, external, driver, labels)| Network { name, external, driver, labels })
                },
                &mut out.project.networks,
            ),
            "volumes" => decode_top(
                ctx,
                value,
                "volumes",
                |ctx, def, field| {
                    decode_resource(ctx, def, field).map(|(name, external, driver, labels)| Volume { name, external, driver, labels })
                },
                &mut out.project.volumes,
            ),
            _ => {}
        }
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric()) && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn decode_top<T: Default>(
    ctx: &mut Ctx<'_>,
    value: &Node,
    field: &str,
    decode: impl Fn(&mut Ctx<'_>, &Node, &str) -> Option<T>,
    out: &mut BTreeMap<String, T>,
) {
    if value.is_null() {
        return;
    }
    let Some(entries) = ctx.map(value, field) else { return };
    for (key, def) in entries {
        let name = key.as_str().unwrap_or_default().to_owned();
        let f = join(field, &name);
        let item = if def.is_null() { Some(T::default()) } else { decode(ctx, def, &f) };
        if let Some(item) = item {
            out.insert(name, item);
        }
    }
}

type Resource = (Option<String>, bool, Option<String>, BTreeMap<String, String>);

fn decode_resource(ctx: &mut Ctx<'_>, def: &Node, field: &str) -> Option<Resource> {
    let entries = ctx.map(def, field)?;
    ctx.check_keys(entries, field, &["name", "external", "driver", "labels"], false);
    let mut res: Resource = (None, false, None, BTreeMap::new());
    for (k, v) in entries {
        let f = join(field, k.as_str().unwrap_or_default());
        match k.as_str().unwrap_or_default() {
            "name" => res.0 = ctx.non_empty(v, &f),
            "external" => res.1 = ctx.bool(v, &f).unwrap_or(false),
            "driver" => res.2 = ctx.non_empty(v, &f),
            "labels" => res.3 = decode_labels(ctx, v, &f),
            _ => {}
        }
    }
    Some(res)
}

fn decode_service(ctx: &mut Ctx<'_>, name: &str, def: &Node, field: &str, dir: &Utf8Path, origin: Origin) -> Option<Service> {
    let mut svc = Service { name: name.to_owned(), origin, ..Service::default() };
    if def.is_null() {
        return Some(svc);
    }
    let entries = ctx.map(def, field)?;
    ctx.check_keys(entries, field, SERVICE_KEYS, false);
    for (k, v) in entries {
        let key = k.as_str().unwrap_or_default();
        let f = join(field, key);
        match key {
            "image" => svc.image = ctx.non_empty(v, &f),
            "build" => svc.build = decode_build(ctx, v, &f, dir),
            "command" => svc.command = decode_command(ctx, v, &f),
            "entrypoint" => svc.entrypoint = decode_command(ctx, v, &f),
            "environment" => svc.environment = decode_env(ctx, v, &f),
            "env_file" => {
                svc.env_file = ctx.string_or_list(v, &f).unwrap_or_default().into_iter().map(|p| normalize(&dir.join(p))).collect();
            }
            "ports" => svc.ports = decode_ports(ctx, v, &f),
            "expose" => {
                if let Some(items) = ctx.list(v, &f) {
                    for (i, item) in items.iter().enumerate() {
                        if let Some(s) = ctx.string(item, &index(&f, i)) {
                            svc.expose.push(s);
                        }
                    }
                }
            }
            "volumes" => svc.volumes = decode_mounts(ctx, v, &f, dir),
            "networks" => svc.networks = decode_service_networks(ctx, v, &f),
            "depends_on" => svc.depends_on = decode_depends_on(ctx, v, &f),
            "healthcheck" => svc.healthcheck = decode_healthcheck(ctx, v, &f),
            "restart" => svc.restart = decode_restart(ctx, v, &f),
            "deploy" => svc.limits = decode_deploy(ctx, v, &f),
            "profiles" => svc.profiles = ctx.strings(v, &f).unwrap_or_default(),
            "labels" => svc.labels = decode_labels(ctx, v, &f),
            "extra_hosts" => svc.extra_hosts = decode_extra_hosts(ctx, v, &f),
            "container_name" => svc.container_name = ctx.non_empty(v, &f),
            "hostname" => svc.hostname = ctx.non_empty(v, &f),
            _ => {}
        }
    }
    Some(svc)
}

fn decode_build(ctx: &mut Ctx<'_>, v: &Node, f: &str, dir: &Utf8Path) -> Option<Build> {
    if v.as_scalar().is_some() {
        let context = ctx.non_empty(v, f)?;
        return Some(Build { context: normalize(&dir.join(context)), ..Build::default() });
    }
    let entries = ctx.map(v, f)?;
    ctx.check_keys(entries, f, &["context", "dockerfile", "target", "args"], false);
    let mut build = Build { context: normalize(dir), ..Build::default() };
    for (k, v) in entries {
        let key = k.as_str().unwrap_or_default();
        let f = join(f, key);
        match key {
            "context" => {
                if let Some(c) = ctx.non_empty(v, &f) {
                    build.context = normalize(&dir.join(c));
                }
            }
            "dockerfile" => build.dockerfile = ctx.non_empty(v, &f),
            "target" => build.target = ctx.non_empty(v, &f),
            "args" => build.args = decode_env(ctx, v, &f),
            _ => {}
        }
    }
    Some(build)
}

fn decode_command(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> Option<Vec<String>> {
    if v.is_null() {
        return None;
    }
    if v.as_scalar().is_some() {
        let text = ctx.string(v, f)?;
        return match shell_split(&text) {
            Ok(words) => Some(words),
            Err(e) => {
                ctx.error(v.location, f, e);
                None
            }
        };
    }
    ctx.strings(v, f)
}

/// Splits a command string into words like a POSIX shell would, without any expansion.
pub(crate) fn shell_split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unterminated single quote in command".to_owned()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return Err("unterminated double quote in command".to_owned()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unterminated double quote in command".to_owned()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    cur.push(c);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// `environment:` and `build.args:`, as a mapping or a `KEY=VALUE` list.
fn decode_env(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    if v.is_null() {
        return out;
    }
    if let Some(items) = v.items() {
        for (i, item) in items.iter().enumerate() {
            let fi = index(f, i);
            let Some(text) = ctx.string(item, &fi) else { continue };
            match text.split_once('=') {
                Some((k, val)) if !k.is_empty() => out.insert(k.to_owned(), Some(val.to_owned())),
                Some(_) => {
                    ctx.error(item.location, &fi, format!("`{text}` has no variable name before `=`"));
                    None
                }
                None => out.insert(text, None),
            };
        }
        return out;
    }
    let Some(entries) = ctx.map(v, f) else { return out };
    for (k, val) in entries {
        let key = k.as_str().unwrap_or_default().to_owned();
        let value = if val.is_null() { None } else { ctx.string(val, &join(f, &key)) };
        out.insert(key, value);
    }
    out
}

fn decode_labels(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> BTreeMap<String, String> {
    decode_env(ctx, v, f).into_iter().map(|(k, v)| (k, v.unwrap_or_default())).collect()
}

fn decode_extra_hosts(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> Vec<String> {
    if let Some(entries) = v.entries() {
        return entries
            .iter()
            .filter_map(|(k, val)| {
                let ip = ctx.string(val, &join(f, k.as_str().unwrap_or_default()))?;
                Some(format!("{}:{ip}", k.as_str().unwrap_or_default()))
            })
            .collect();
    }
    let items = ctx.strings(v, f).unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        if !item.contains(':')
            && !item.contains('=')
            && let Some(node) = v.items().and_then(|n| n.get(i))
        {
            ctx.error_help(
                node.location,
                &index(f, i),
                format!("`{item}` is not `HOST:IP`"),
                Some("write it as `host.docker.internal:host-gateway`".to_owned()),
            );
        }
    }
    items.into_iter().map(|s| s.replacen('=', ":", 1)).collect()
}

fn decode_ports(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> Vec<Port> {
    let mut out = Vec::new();
    let Some(items) = ctx.list(v, f) else { return out };
    for (i, item) in items.iter().enumerate() {
        let fi = index(f, i);
        if let Some(entries) = item.entries() {
            ctx.check_keys(entries, &fi, &["target", "published", "host_ip", "protocol", "mode"], false);
            let mut port = Port { host_ip: None, published: None, target: 0, protocol: "tcp".to_owned(), location: item.location };
            let mut has_target = false;
            for (k, val) in entries {
                let key = k.as_str().unwrap_or_default();
                let fk = join(&fi, key);
                match key {
                    "target" => {
                        if let Some(p) = port_number(ctx, val, &fk) {
                            port.target = p;
                            has_target = true;
                        }
                    }
                    "published" => port.published = port_number(ctx, val, &fk),
                    "host_ip" => port.host_ip = ctx.non_empty(val, &fk),
                    "protocol" => port.protocol = ctx.non_empty(val, &fk).unwrap_or_else(|| "tcp".to_owned()),
                    _ => {}
                }
            }
            if has_target {
                out.push(port);
            } else {
                ctx.error(item.location, &fi, "port mapping has no `target`");
            }
            continue;
        }
        let Some(text) = ctx.string(item, &fi) else { continue };
        match parse_port(&text) {
            Ok(mut port) => {
                port.location = item.location;
                out.push(port);
            }
            Err(e) => ctx.error_help(
                item.location,
                &fi,
                e,
                Some("write it as `HOST:CONTAINER`, `IP:HOST:CONTAINER` or `CONTAINER`, e.g. `3000:3000`".to_owned()),
            ),
        }
    }
    out
}

fn port_number(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> Option<u16> {
    let text = ctx.string(v, f)?;
    match text.trim().parse::<u16>() {
        Ok(p) if p > 0 => Some(p),
        _ => {
            ctx.error(v.location, f, format!("`{text}` is not a port number (1-65535)"));
            None
        }
    }
}

/// Parses the short port syntax `[[IP:]PUBLISHED:]TARGET[/PROTOCOL]`.
pub(crate) fn parse_port(text: &str) -> Result<Port, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) if matches!(p, "tcp" | "udp" | "sctp") => (s, p),
        Some((_, p)) => return Err(format!("invalid protocol `{p}` in port `{text}` (use tcp, udp or sctp)")),
        None => (text, "tcp"),
    };
    // An IPv6 host address is written in brackets: `[::1]:8080:80`.
    let (host_ip, rest) = if let Some(after) = spec.strip_prefix('[') {
        let (ip, rest) = after.split_once(']').ok_or_else(|| format!("unterminated `[` in port `{text}`"))?;
        (Some(ip.to_owned()), rest.strip_prefix(':').ok_or_else(|| format!("expected `:` after `]` in port `{text}`"))?)
    } else {
        (None, spec)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let number = |s: &str| -> Result<u16, String> {
        if s.contains('-') {
            return Err(format!("port ranges like `{s}` are not supported: list each port on its own line"));
        }
        match s.trim().parse::<u16>() {
            Ok(p) if p > 0 => Ok(p),
            _ => Err(format!("`{s}` in port `{text}` is not a port number (1-65535)")),
        }
    };
    let (host_ip, published, target) = match (host_ip, parts.as_slice()) {
        (None, [t]) => (None, None, number(t)?),
        (None, [p, t]) => (None, Some(number(p)?), number(t)?),
        (None, [ip, p, t]) => (Some((*ip).to_owned()), if p.is_empty() { None } else { Some(number(p)?) }, number(t)?),
        (Some(ip), [p, t]) => (Some(ip), if p.is_empty() { None } else { Some(number(p)?) }, number(t)?),
        _ => return Err(format!("invalid port `{text}`")),
    };
    Ok(Port { host_ip, published, target, protocol: protocol.to_owned(), location: Default::default() })
}

fn decode_mounts(ctx: &mut Ctx<'_>, v: &Node, f: &str, dir: &Utf8Path) -> Vec<Mount> {
    let mut out = Vec::new();
    let Some(items) = ctx.list(v, f) else { return out };
    for (i, item) in items.iter().enumerate() {
        let fi = index(f, i);
        if let Some(entries) = item.entries() {
            ctx.check_keys(entries, &fi, &["type", "source", "target", "read_only"], false);
            let mut mount = Mount { kind: MountKind::Volume, source: None, target: String::new(), read_only: false };
            for (k, val) in entries {
                let key = k.as_str().unwrap_or_default();
                let fk = join(&fi, key);
                match key {
                    "type" => match ctx.string(val, &fk).as_deref() {
                        Some("volume") => mount.kind = MountKind::Volume,
                        Some("bind") => mount.kind = MountKind::Bind,
                        Some("tmpfs") => mount.kind = MountKind::Tmpfs,
                        Some(other) => {
                            ctx.error(val.location, &fk, format!("unsupported mount type `{other}` (use volume, bind or tmpfs)"))
                        }
                        None => {}
                    },
                    "source" => mount.source = ctx.non_empty(val, &fk),
                    "target" => mount.target = ctx.non_empty(val, &fk).unwrap_or_default(),
                    "read_only" => mount.read_only = ctx.bool(val, &fk).unwrap_or(false),
                    _ => {}
                }
            }
            if mount.target.is_empty() {
                ctx.error(item.location, &fi, "mount has no `target`");
                continue;
            }
            if mount.kind == MountKind::Bind {
                mount.source = mount.source.map(|s| host_path(dir, &s));
            }
            out.push(mount);
            continue;
        }
        let Some(text) = ctx.string(item, &fi) else { continue };
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [t] => (None, *t, None),
            [s, t] => (Some(*s), *t, None),
            [s, t, m] => (Some(*s), *t, Some(*m)),
            _ => {
                ctx.error_help(item.location, &fi, format!("invalid volume `{text}`"), Some("write it as `SOURCE:TARGET[:ro]`".to_owned()));
                continue;
            }
        };
        if !target.starts_with('/') {
            ctx.error_help(
                item.location,
                &fi,
                format!("mount target `{target}` is not an absolute container path"),
                Some("write the container side as an absolute path, e.g. `data:/data`".to_owned()),
            );
            continue;
        }
        let read_only = match mode {
            None | Some("rw") => false,
            Some("ro") => true,
            Some(m) if m.split(',').all(|o| matches!(o, "ro" | "rw" | "z" | "Z" | "cached" | "delegated" | "consistent")) => {
                m.split(',').any(|o| o == "ro")
            }
            Some(m) => {
                ctx.error(item.location, &fi, format!("unknown mount mode `{m}` (use ro or rw)"));
                continue;
            }
        };
        let mount = match source {
            None => Mount { kind: MountKind::Volume, source: None, target: target.to_owned(), read_only },
            Some(s) if s.starts_with('.') || s.starts_with('/') || s.starts_with('~') => {
                Mount { kind: MountKind::Bind, source: Some(host_path(dir, s)), target: target.to_owned(), read_only }
            }
            Some(s) => Mount { kind: MountKind::Volume, source: Some(s.to_owned()), target: target.to_owned(), read_only },
        };
        out.push(mount);
    }
    out
}

fn host_path(dir: &Utf8Path, source: &str) -> String {
    if source.starts_with('/') || source.starts_with('~') { source.to_owned() } else { normalize(&dir.join(source)).into_string() }
}

/// Removes `.` and resolves `..` lexically, so paths print as users expect.
pub(crate) fn normalize(path: &Utf8Path) -> Utf8PathBuf {
    let mut out = Utf8PathBuf::new();
    for c in path.components() {
        match c {
            camino::Utf8Component::CurDir => {}
            camino::Utf8Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_str()),
        }
    }
    if out.as_str().is_empty() { Utf8PathBuf::from(".") } else { out }
}

fn decode_service_networks(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> BTreeMap<String, ServiceNetwork> {
    let mut out = BTreeMap::new();
    if v.items().is_some() {
        for name in ctx.strings(v, f).unwrap_or_default() {
            out.insert(name, ServiceNetwork::default());
        }
        return out;
    }
    let Some(entries) = ctx.map(v, f) else { return out };
    for (k, val) in entries {
        let name = k.as_str().unwrap_or_default().to_owned();
        let fk = join(f, &name);
        let mut net = ServiceNetwork::default();
        if let Some(fields) = (!val.is_null()).then(|| ctx.map(val, &fk)).flatten() {
            ctx.check_keys(fields, &fk, &["aliases"], false);
            if let Some(a) = val.get("aliases") {
                net.aliases = ctx.strings(a, &join(&fk, "aliases")).unwrap_or_default();
            }
        }
        out.insert(name, net);
    }
    out
}

fn decode_depends_on(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> BTreeMap<String, Dependency> {
    let mut out = BTreeMap::new();
    if let Some(items) = v.items() {
        for (i, item) in items.iter().enumerate() {
            if let Some(name) = ctx.non_empty(item, &index(f, i)) {
                out.insert(name, Dependency { condition: Condition::ServiceStarted, required: true, location: item.location });
            }
        }
        return out;
    }
    let Some(entries) = ctx.map(v, f) else { return out };
    for (k, val) in entries {
        let name = k.as_str().unwrap_or_default().to_owned();
        let fk = join(f, &name);
        let mut dep = Dependency { condition: Condition::ServiceStarted, required: true, location: k.location };
        if let Some(fields) = (!val.is_null()).then(|| ctx.map(val, &fk)).flatten() {
            ctx.check_keys(fields, &fk, &["condition", "required", "restart"], false);
            for (fk2, fv) in fields {
                let key = fk2.as_str().unwrap_or_default();
                let path = join(&fk, key);
                match key {
                    "condition" => match ctx.string(fv, &path).as_deref() {
                        Some("service_started") => dep.condition = Condition::ServiceStarted,
                        Some("service_healthy") => dep.condition = Condition::ServiceHealthy,
                        Some("service_completed_successfully") => dep.condition = Condition::ServiceCompletedSuccessfully,
                        Some(other) => {
                            let choices = ["service_started", "service_healthy", "service_completed_successfully"];
                            ctx.error_help(
                                fv.location,
                                &path,
                                format!("unknown condition `{other}`"),
                                crate::suggest::did_you_mean(other, choices),
                            );
                        }
                        None => {}
                    },
                    "required" => dep.required = ctx.bool(fv, &path).unwrap_or(true),
                    _ => {}
                }
            }
        }
        out.insert(name, dep);
    }
    out
}

fn decode_healthcheck(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> Option<Healthcheck> {
    let entries = ctx.map(v, f)?;
    ctx.check_keys(entries, f, &["test", "interval", "timeout", "start_period", "retries", "disable"], false);
    let mut hc = Healthcheck { test: Vec::new(), interval: None, timeout: None, start_period: None, retries: None, disable: false };
    for (k, val) in entries {
        let key = k.as_str().unwrap_or_default();
        let fk = join(f, key);
        let duration = |ctx: &mut Ctx<'_>| {
            let text = ctx.string(val, &fk)?;
            parse_duration(&text).map_err(|e| ctx.error(val.location, &fk, e)).ok()
        };
        match key {
            "test" => {
                if val.as_scalar().is_some() {
                    hc.test = vec!["CMD-SHELL".to_owned(), ctx.string(val, &fk).unwrap_or_default()];
                } else if let Some(items) = ctx.strings(val, &fk) {
                    match items.first().map(String::as_str) {
                        Some("CMD" | "CMD-SHELL" | "NONE") => hc.test = items,
                        _ => ctx.error_help(
                            val.location,
                            &fk,
                            "a healthcheck test list must start with `CMD`, `CMD-SHELL` or `NONE`",
                            Some("e.g. [\"CMD\", \"redis-cli\", \"ping\"]".to_owned()),
                        ),
                    }
                }
            }
            "interval" => hc.interval = duration(ctx),
            "timeout" => hc.timeout = duration(ctx),
            "start_period" => hc.start_period = duration(ctx),
            "retries" => hc.retries = ctx.u64(val, &fk),
            "disable" => hc.disable = ctx.bool(val, &fk).unwrap_or(false),
            _ => {}
        }
    }
    if hc.test.is_empty() && !hc.disable {
        ctx.error_help(v.location, f, "healthcheck has no `test`", Some("add `test:` or `disable: true`".to_owned()));
    }
    Some(hc)
}

fn decode_restart(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> Option<Restart> {
    // `restart: no` unquoted is the YAML boolean false in YAML 1.1 parsers; accept it.
    if v.as_bool() == Some(false) {
        return Some(Restart::No);
    }
    let text = ctx.string(v, f)?;
    match text.as_str() {
        "no" => Some(Restart::No),
        "always" => Some(Restart::Always),
        "unless-stopped" => Some(Restart::UnlessStopped),
        t if t == "on-failure" || t.strip_prefix("on-failure:").is_some_and(|n| n.parse::<u32>().is_ok()) => Some(Restart::OnFailure),
        other => {
            ctx.error_help(
                v.location,
                f,
                format!("unknown restart policy `{other}`"),
                crate::suggest::did_you_mean(other, ["no", "always", "on-failure", "unless-stopped"]),
            );
            None
        }
    }
}

fn decode_deploy(ctx: &mut Ctx<'_>, v: &Node, f: &str) -> Limits {
    let mut limits = Limits::default();
    let Some(entries) = ctx.map(v, f) else { return limits };
    ctx.check_keys(entries, f, &["resources"], false);
    let Some(res) = v.get("resources") else { return limits };
    let fr = join(f, "resources");
    let Some(res_entries) = ctx.map(res, &fr) else { return limits };
    ctx.check_keys(res_entries, &fr, &["limits"], false);
    let Some(lim) = res.get("limits") else { return limits };
    let fl = join(&fr, "limits");
    let Some(lim_entries) = ctx.map(lim, &fl) else { return limits };
    ctx.check_keys(lim_entries, &fl, &["cpus", "memory"], false);
    for (k, val) in lim_entries {
        let key = k.as_str().unwrap_or_default();
        let fk = join(&fl, key);
        match key {
            "cpus" => {
                limits.cpus = ctx.f64(val, &fk).filter(|c| {
                    let ok = *c > 0.0;
                    if !ok {
                        ctx.error(val.location, &fk, "cpus must be greater than 0");
                    }
                    ok
                })
            }
            "memory" => {
                if let Some(text) = ctx.string(val, &fk) {
                    limits.memory_bytes = parse_bytes(&text).map_err(|e| ctx.error(val.location, &fk, e)).ok();
                }
            }
            _ => {}
        }
    }
    limits
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    type Expected<'a> = Result<(Option<&'a str>, Option<u16>, u16, &'a str), &'a str>;

    fn check_port(text: &str, expected: Expected<'_>) {
        let got = parse_port(text).map(|p| (p.host_ip, p.published, p.target, p.protocol));
        match expected {
            Ok((ip, p, t, proto)) => assert_eq!(got, Ok((ip.map(str::to_owned), p, t, proto.to_owned())), "{text}"),
            Err(part) => assert!(got.as_ref().is_err_and(|e| e.contains(part)), "{text}: {got:?}"),
        }
    }

    #[test]
    fn ports() {
        check_port("3000", Ok((None, None, 3000, "tcp")));
        check_port("3000:3001", Ok((None, Some(3000), 3001, "tcp")));
        check_port("127.0.0.1:3000:3001/udp", Ok((Some("127.0.0.1"), Some(3000), 3001, "udp")));
        check_port("127.0.0.1::80", Ok((Some("127.0.0.1"), None, 80, "tcp")));
        check_port("[::1]:8080:80", Ok((Some("::1"), Some(8080), 80, "tcp")));
        check_port("8000-8001:8000-8001", Err("ranges"));
        check_port("70000:1", Err("not a port number"));
        check_port("abc", Err("not a port number"));
        check_port("1/xyz", Err("invalid protocol"));
        check_port("1:2:3:4", Err("invalid port"));
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_split(r#"node -e "console.log('hi there')" x\ y"#).unwrap(), vec!["node", "-e", "console.log('hi there')", "x y"]);
        assert_eq!(shell_split("  ").unwrap(), Vec::<String>::new());
        assert!(shell_split("'open").is_err());
    }
}
