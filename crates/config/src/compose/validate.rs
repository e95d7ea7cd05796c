//! Cross-checks of a merged project: dependencies exist, no cycles, no host port bound twice,
//! networks and volumes declared, each service has an image or a build.

use std::collections::{BTreeMap, BTreeSet};

use super::model::*;
use crate::{Diagnostic, Diagnostics, suggest};

/// Checks the merged project and returns every finding.
pub fn validate(project: &Project) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let names: Vec<&str> = project.services.keys().map(String::as_str).collect();
    for svc in project.services.values() {
        let file = &svc.origin.file;
        let field = format!("services.{}", svc.name);
        if svc.image.is_none() && svc.build.is_none() {
            diags.push(
                Diagnostic::error(file, Some(svc.origin.location), &field, "service has neither `image` nor `build`")
                    .with_help("add `image:` (to run an existing image) or `build:` (to build one)"),
            );
        }
        for (dep, d) in &svc.depends_on {
            if project.services.contains_key(dep) {
                continue;
            }
            let msg = format!("`{}` depends on `{dep}`, which is not a service of this project", svc.name);
            let help = suggest::closest(dep, names.iter().copied())
                .map(|s| format!("did you mean `{s}`?"))
                .or_else(|| Some(format!("services are: {}", names.join(", "))));
            let field = format!("{field}.depends_on.{dep}");
            if d.required {
                diags.push(Diagnostic::error(file, Some(d.location), &field, msg).with_help_opt(help));
            } else {
                diags.push(Diagnostic::warning(file, Some(d.location), &field, msg).with_help_opt(help));
            }
        }
        for net in svc.networks.keys() {
            if net != "default" && !project.networks.contains_key(net) {
                let help = suggest::did_you_mean(net, project.networks.keys().map(String::as_str));
                diags.push(
                    Diagnostic::error(
                        file,
                        Some(svc.origin.location),
                        &format!("{field}.networks.{net}"),
                        format!("network `{net}` is not declared under top-level `networks`"),
                    )
                    .with_help_opt(help.or_else(|| Some(format!("declare it: `networks: {{ {net}: {{}} }}`")))),
                );
            }
        }
        for mount in &svc.volumes {
            if let (MountKind::Volume, Some(source)) = (mount.kind, &mount.source)
                && !project.volumes.contains_key(source)
            {
                let help = suggest::did_you_mean(source, project.volumes.keys().map(String::as_str));
                diags.push(
                    Diagnostic::error(
                        file,
                        Some(svc.origin.location),
                        &format!("{field}.volumes"),
                        format!("named volume `{source}` is not declared under top-level `volumes`"),
                    )
                    .with_help_opt(help.or_else(|| Some(format!("declare it: `volumes: {{ {source}: {{}} }}`")))),
                );
            }
        }
    }
    check_ports(project, &mut diags);
    if let Err(cycle) = dependency_levels(project, &names) {
        let first = &project.services[&cycle[0]];
        let location = first.depends_on.get(&cycle[1 % cycle.len()]).map(|d| d.location).unwrap_or(first.origin.location);
        let chain = cycle.iter().chain(std::iter::once(&cycle[0])).cloned().collect::<Vec<_>>().join(" -> ");
        diags.push(
            Diagnostic::error(
                &first.origin.file,
                Some(location),
                &format!("services.{}.depends_on", first.name),
                format!("dependency cycle: {chain}"),
            )
            .with_help("remove one of these `depends_on` entries"),
        );
    }
    diags
}

fn check_ports(project: &Project, diags: &mut Diagnostics) {
    // Key: (protocol, port) -> first user. Two bindings clash when the ports match and either
    // listens on all addresses or both name the same address.
    type Bindings<'a> = Vec<(Option<String>, &'a Service)>;
    let mut seen: BTreeMap<(String, u16), Bindings<'_>> = BTreeMap::new();
    for svc in project.services.values() {
        for port in &svc.ports {
            let Some(published) = port.published else { continue };
            let entry = seen.entry((port.protocol.clone(), published)).or_default();
            let clash = entry.iter().find(|(ip, _)| {
                let all = |ip: &Option<String>| ip.as_deref().is_none_or(|i| i == "0.0.0.0" || i == "::");
                all(ip) || all(&port.host_ip) || ip == &port.host_ip
            });
            if let Some((_, other)) = clash {
                let who = if other.name == svc.name { "this service".to_owned() } else { format!("service `{}`", other.name) };
                diags.push(
                    Diagnostic::error(
                        &svc.origin.file,
                        Some(port.location),
                        &format!("services.{}.ports", svc.name),
                        format!("host port {published}/{} is already bound by {who}", port.protocol),
                    )
                    .with_help("publish a different host port, e.g. through a variable like `${PORT:-3001}:3000`"),
                );
            }
            entry.push((port.host_ip.clone(), svc));
        }
    }
}

/// Orders `services` (and nothing else) into levels: every service's dependencies that are in the
/// set sit in an earlier level, so each level can start in parallel. A cycle is returned as the
/// list of services on it.
pub fn dependency_levels(project: &Project, services: &[&str]) -> Result<Vec<Vec<String>>, Vec<String>> {
    let set: BTreeSet<&str> = services.iter().copied().filter(|s| project.services.contains_key(*s)).collect();
    let deps = |s: &str| -> Vec<&str> { project.services[s].depends_on.keys().map(String::as_str).filter(|d| set.contains(d)).collect() };
    let mut level_of: BTreeMap<&str, usize> = BTreeMap::new();
    let mut remaining: BTreeSet<&str> = set.clone();
    let mut levels: Vec<Vec<String>> = Vec::new();
    while !remaining.is_empty() {
        let ready: Vec<&str> = remaining.iter().copied().filter(|s| deps(s).iter().all(|d| level_of.contains_key(d))).collect();
        if ready.is_empty() {
            return Err(find_cycle(&remaining, &deps));
        }
        for s in &ready {
            level_of.insert(s, levels.len());
            remaining.remove(s);
        }
        levels.push(ready.into_iter().map(str::to_owned).collect());
    }
    Ok(levels)
}

fn find_cycle<'a>(remaining: &BTreeSet<&'a str>, deps: &dyn Fn(&str) -> Vec<&'a str>) -> Vec<String> {
    // Walk dependencies from any remaining service; within the remaining set every node has an
    // unresolved dependency, so the walk must revisit a node, and that loop is the cycle.
    let Some(&start) = remaining.iter().next() else { return Vec::new() };
    let mut path: Vec<&str> = vec![start];
    loop {
        let cur = path[path.len() - 1];
        let Some(next) = deps(cur).into_iter().find(|d| remaining.contains(d)) else {
            return path.iter().map(|s| (*s).to_owned()).collect();
        };
        if let Some(pos) = path.iter().position(|p| *p == next) {
            return path[pos..].iter().map(|s| (*s).to_owned()).collect();
        }
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::compose::load_file;
    use camino::Utf8Path;

    fn project(text: &str) -> Project {
        let f = load_file(Utf8Path::new("/x/c.yml"), text, &|_| None);
        assert!(!f.diagnostics.has_errors(), "{}", f.diagnostics);
        f.project
    }

    fn check(text: &str, expected: &[&str]) {
        let diags = validate(&project(text));
        let got: Vec<String> = diags.errors().map(|d| d.to_string()).collect();
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for (g, e) in got.iter().zip(expected) {
            assert!(g.contains(e), "`{g}` does not contain `{e}`");
        }
    }

    #[test]
    fn findings() {
        check("services:\n  a: {image: x}\n", &[]);
        check("services:\n  a: {}\n", &["neither `image` nor `build`"]);
        check(
            "services:\n  a: {image: x, depends_on: [bb]}\n  b: {image: x}\n",
            &["c.yml:2:30: `services.a.depends_on.bb`: `a` depends on `bb`"],
        );
        check("services:\n  a: {image: x, depends_on: [b]}\n  b: {image: x, depends_on: [a]}\n", &["dependency cycle: a -> b -> a"]);
        check(
            "services:\n  a: {image: x, ports: ['80:80']}\n  b: {image: x, ports: ['127.0.0.1:80:81']}\n",
            &["host port 80/tcp is already bound by service `a`"],
        );
        check("services:\n  a: {image: x, ports: ['127.0.0.1:80:80']}\n  b: {image: x, ports: ['127.0.0.2:80:81', '80:80/udp']}\n", &[]);
        check("services:\n  a: {image: x, networks: [nett]}\nnetworks:\n  net: {}\n", &["network `nett` is not declared"]);
        check("services:\n  a: {image: x, volumes: ['data:/d', './x:/y']}\n", &["named volume `data` is not declared"]);
    }

    #[test]
    fn levels() {
        let p = project(
            "services:\n  db: {image: x}\n  api: {image: x, depends_on: [db]}\n  web: {image: x, depends_on: [api, db]}\n  cache: {image: x}\n",
        );
        let levels = dependency_levels(&p, &["db", "api", "web", "cache"]).unwrap();
        assert_eq!(levels, vec![vec!["cache", "db"], vec!["api"], vec!["web"]]);
    }
}
