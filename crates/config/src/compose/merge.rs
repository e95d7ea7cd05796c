//! Merging compose files the way `docker compose -f a -f b` does.

use super::model::*;

/// Merges `over` into `base`: later files override scalars, extend lists and merge mappings
/// by key, following the compose specification's merge rules.
pub fn merge(mut base: Project, over: Project) -> Project {
    base.files.extend(over.files);
    for (name, svc) in over.services {
        match base.services.remove(&name) {
            Some(existing) => {
                base.services.insert(name, merge_service(existing, svc));
            }
            None => {
                base.services.insert(name, svc);
            }
        }
    }
    for (name, net) in over.networks {
        let merged = match base.networks.remove(&name) {
            Some(b) => Network {
                name: net.name.or(b.name),
                external: net.external || b.external,
                driver: net.driver.or(b.driver),
                labels: b.labels.into_iter().chain(net.labels).collect(),
            },
            None => net,
        };
        base.networks.insert(name, merged);
    }
    for (name, vol) in over.volumes {
        let merged = match base.volumes.remove(&name) {
            Some(b) => Volume {
                name: vol.name.or(b.name),
                external: vol.external || b.external,
                driver: vol.driver.or(b.driver),
                labels: b.labels.into_iter().chain(vol.labels).collect(),
            },
            None => vol,
        };
        base.volumes.insert(name, merged);
    }
    base
}

fn merge_service(mut b: Service, o: Service) -> Service {
    // The first definition stays the origin: it is where the service was introduced.
    if o.image.is_some() {
        b.image_vars = o.image_vars;
    }
    b.image = o.image.or(b.image);
    b.build = match (b.build, o.build) {
        (Some(mut bb), Some(ob)) => {
            bb.context = ob.context;
            bb.dockerfile = ob.dockerfile.or(bb.dockerfile);
            bb.target = ob.target.or(bb.target);
            bb.args.extend(ob.args);
            Some(bb)
        }
        (bb, ob) => ob.or(bb),
    };
    b.command = o.command.or(b.command);
    b.entrypoint = o.entrypoint.or(b.entrypoint);
    b.environment.extend(o.environment);
    extend_unique(&mut b.env_file, o.env_file);
    for port in o.ports {
        if !b
            .ports
            .iter()
            .any(|p| (&p.host_ip, p.published, p.target, &p.protocol) == (&port.host_ip, port.published, port.target, &port.protocol))
        {
            b.ports.push(port);
        }
    }
    extend_unique(&mut b.expose, o.expose);
    for mount in o.volumes {
        b.volumes.retain(|m| m.target != mount.target);
        b.volumes.push(mount);
    }
    b.networks.extend(o.networks);
    b.depends_on.extend(o.depends_on);
    b.healthcheck = o.healthcheck.or(b.healthcheck);
    b.restart = o.restart.or(b.restart);
    b.limits.cpus = o.limits.cpus.or(b.limits.cpus);
    b.limits.memory_bytes = o.limits.memory_bytes.or(b.limits.memory_bytes);
    extend_unique(&mut b.profiles, o.profiles);
    b.labels.extend(o.labels);
    extend_unique(&mut b.extra_hosts, o.extra_hosts);
    b.container_name = o.container_name.or(b.container_name);
    b.hostname = o.hostname.or(b.hostname);
    b
}

fn extend_unique<T: PartialEq>(into: &mut Vec<T>, from: Vec<T>) {
    for item in from {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::compose::load_file;
    use camino::Utf8Path;

    fn load(text: &str) -> Project {
        let f = load_file(Utf8Path::new("/x/c.yml"), text, &|_| None);
        assert!(!f.diagnostics.has_errors(), "{}", f.diagnostics);
        f.project
    }

    #[test]
    fn later_files_override_and_extend() {
        let a =
            load("services:\n  web:\n    image: a\n    ports: ['80:80']\n    environment: {A: '1', B: '2'}\n    volumes: ['d:/data']\n");
        let b = load(
            "services:\n  web:\n    image: b\n    ports: ['81:81']\n    environment: {B: '3'}\n    volumes: ['e:/data']\n  db:\n    image: db\n",
        );
        let m = merge(a, b);
        let web = &m.services["web"];
        assert_eq!(web.image.as_deref(), Some("b"));
        assert_eq!(web.ports.iter().map(|p| p.target).collect::<Vec<_>>(), vec![80, 81]);
        assert_eq!(web.environment["A"].as_deref(), Some("1"));
        assert_eq!(web.environment["B"].as_deref(), Some("3"));
        assert_eq!(web.volumes.len(), 1);
        assert_eq!(web.volumes[0].source.as_deref(), Some("e"));
        assert!(m.services.contains_key("db"));
        assert_eq!(m.files.len(), 2);
    }
}
