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

#[cfg(test)]
mod proptests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// A project of `n` services where service `i` may depend only on services `< i` (a DAG),
    /// plus optionally one back edge that closes a cycle.
    fn project(n: usize, edges: &[(usize, usize)], back_edge: Option<(usize, usize)>) -> Project {
        let mut p = Project::default();
        for i in 0..n {
            let mut svc = Service { name: format!("s{i}"), image: Some("x".to_owned()), ..Service::default() };
            for &(from, to) in edges {
                if from == i && to < from {
                    svc.depends_on.insert(
                        format!("s{to}"),
                        Dependency { condition: Condition::ServiceStarted, required: true, location: Default::default() },
                    );
                }
            }
            if let Some((from, to)) = back_edge
                && from == i
            {
                svc.depends_on.insert(
                    format!("s{to}"),
                    Dependency { condition: Condition::ServiceHealthy, required: true, location: Default::default() },
                );
            }
            p.services.insert(svc.name.clone(), svc);
        }
        p
    }

    proptest! {
        #[test]
        fn levels_put_every_dependency_first(n in 1usize..12, edges in proptest::collection::vec((0usize..12, 0usize..12), 0..40)) {
            let p = project(n, &edges, None);
            let names: Vec<&str> = p.services.keys().map(String::as_str).collect();
            let levels = dependency_levels(&p, &names).unwrap();
            let level_of = |s: &str| levels.iter().position(|l| l.iter().any(|x| x == s)).unwrap();
            prop_assert_eq!(levels.iter().map(Vec::len).sum::<usize>(), n);
            for svc in p.services.values() {
                for dep in svc.depends_on.keys() {
                    prop_assert!(level_of(dep) < level_of(&svc.name));
                }
            }
            // Each service sits as early as its dependencies allow: level 0, or right after its
            // deepest dependency.
            for svc in p.services.values() {
                let expected = svc.depends_on.keys().map(|d| level_of(d) + 1).max().unwrap_or(0);
                prop_assert_eq!(level_of(&svc.name), expected);
            }
            prop_assert!(!validate(&p).has_errors());
        }

        #[test]
        fn a_back_edge_is_a_reported_cycle(n in 2usize..10, from_seed in 0usize..100, to_seed in 0usize..100) {
            // A chain s0 <- s1 <- ... <- s(n-1), then s_a depends on s_b with b > a.
            let chain: Vec<(usize, usize)> = (1..n).map(|i| (i, i - 1)).collect();
            let a = from_seed % (n - 1);
            let b = a + 1 + to_seed % (n - 1 - a);
            let p = project(n, &chain, Some((a, b)));
            let names: Vec<&str> = p.services.keys().map(String::as_str).collect();
            let cycle = dependency_levels(&p, &names).unwrap_err();
            prop_assert!(cycle.len() >= 2);
            // Consecutive members of the reported cycle really depend on each other.
            for w in 0..cycle.len() {
                let next = &cycle[(w + 1) % cycle.len()];
                prop_assert!(p.services[&cycle[w]].depends_on.contains_key(next), "{:?}", cycle);
            }
            let diags = validate(&p);
            prop_assert!(diags.errors().any(|d| d.message.starts_with("dependency cycle:")));
        }
    }
}
