//! Making a compose project safe to run beside others: a unique project name, no fixed
//! container names, networks and volumes named after the project and labelled with its owner,
//! and every published port moved to a free host port.

use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::net::{TcpListener, UdpSocket};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use stack_config::compose::{Network, Project};

use crate::{Error, Result};

/// `tk-<pid>-<counter>-<random>`: unique within the process by the counter, and across pid reuse
/// by the random part.
pub(crate) fn new_run_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random = std::hash::RandomState::new().hash_one((std::time::SystemTime::now(), n, std::process::id()));
    format!("tk-{}-{n}-{:06x}", std::process::id(), random & 0xff_ffff)
}

/// Makes the project safe to run beside others: no fixed container names, networks and volumes
/// named after the project (unless external, which are shared on purpose), and the owner's
/// labels on the networks and volumes too.
pub(crate) fn isolate(model: &mut Project, project: &str, selected: &[String], labels: &HashMap<String, String>) {
    for svc in model.services.values_mut() {
        svc.container_name = None;
    }
    let uses_default = selected.iter().filter_map(|s| model.services.get(s)).any(|s| s.networks.is_empty());
    if uses_default && !model.networks.contains_key("default") {
        // The driver's implicit default network, made explicit so it carries the labels.
        model.networks.insert("default".to_owned(), Network::default());
    }
    for (key, net) in model.networks.iter_mut().filter(|(_, n)| !n.external) {
        if net.name.as_deref().is_some_and(|n| !n.starts_with(project)) {
            net.name = Some(format!("{project}_{key}"));
        }
        net.labels.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    for vol in model.volumes.values_mut().filter(|v| !v.external) {
        if vol.name.as_deref().is_some_and(|n| !n.starts_with(project)) {
            vol.name = None;
        }
        vol.labels.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// Publishes every port of the selected services on a free host port.
pub(crate) fn assign_ports(model: &mut Project, selected: &[String]) -> Result<()> {
    for name in selected {
        let Some(svc) = model.services.get_mut(name) else { continue };
        for port in &mut svc.ports {
            let free = free_port(&port.protocol).map_err(|source| Error::FreePort { service: name.clone(), source })?;
            port.published = Some(free);
        }
    }
    Ok(())
}

/// A port the system reports free on all interfaces for `protocol` (`tcp` or `udp`), never
/// handed out twice in this process (so parallel harnesses, and tests that pick ports of their
/// own, cannot pick the same one before either has bound it).
pub fn free_port(protocol: &str) -> std::io::Result<u16> {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    for _ in 0..64 {
        let port = match protocol {
            "udp" => UdpSocket::bind("0.0.0.0:0")?.local_addr()?.port(),
            _ => TcpListener::bind("0.0.0.0:0")?.local_addr()?.port(),
        };
        if HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner()).insert(port) {
            return Ok(port);
        }
    }
    Err(std::io::Error::other("the system kept offering ports this process has handed out already"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use stack_config::compose::{Port, Service, ServiceNetwork, Volume};

    use super::*;
    use crate::owner;

    #[test]
    fn run_ids_are_unique_and_valid_project_names() {
        let a = new_run_id();
        let b = new_run_id();
        assert_ne!(a, b);
        let prefix = format!("tk-{}-", std::process::id());
        for id in [&a, &b] {
            assert!(id.starts_with(&prefix), "{id}");
            assert!(id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{id}");
        }
    }

    #[test]
    fn free_ports_are_never_handed_out_twice() {
        let ports: Vec<u16> = (0..50).map(|_| free_port("tcp").unwrap()).collect();
        let unique: BTreeSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), ports.len());
        assert!(free_port("udp").unwrap() > 0);
    }

    #[test]
    fn isolation_renames_shared_resources_and_rewrites_ports() {
        let mut model = Project::default();
        let port = |target| Port { host_ip: None, published: Some(6379), target, protocol: "tcp".to_owned(), location: Default::default() };
        let redis = Service {
            name: "redis".to_owned(),
            container_name: Some("redis".to_owned()),
            ports: vec![port(6379), port(6380)],
            networks: BTreeMap::from([("net".to_owned(), ServiceNetwork::default())]),
            ..Service::default()
        };
        let other = Service { name: "other".to_owned(), ports: vec![port(1)], ..Service::default() };
        model.services.insert("redis".to_owned(), redis);
        model.services.insert("other".to_owned(), other);
        model.networks.insert("net".to_owned(), Network { name: Some("srvthreds-net".to_owned()), ..Network::default() });
        model.networks.insert("ext".to_owned(), Network { name: Some("shared".to_owned()), external: true, ..Network::default() });
        model.volumes.insert("data".to_owned(), Volume { name: Some("fixed".to_owned()), ..Volume::default() });
        let selected = vec!["redis".to_owned()];
        let labels = HashMap::from([(owner::RUN_ID.to_owned(), "tk-1-0-abc".to_owned())]);
        isolate(&mut model, "tk-1-0-abc", &selected, &labels);
        assign_ports(&mut model, &selected).unwrap();

        let redis = &model.services["redis"];
        assert_eq!(redis.container_name, None);
        let published: Vec<u16> = redis.ports.iter().filter_map(|p| p.published).collect();
        assert_eq!(published.len(), 2);
        assert!(published.iter().all(|p| *p != 6379) && published[0] != published[1], "{published:?}");
        assert_eq!(model.services["other"].ports[0].published, Some(6379), "only selected services are rewritten");
        assert_eq!(model.networks["net"].name.as_deref(), Some("tk-1-0-abc_net"));
        assert_eq!(model.networks["net"].labels[owner::RUN_ID], "tk-1-0-abc");
        assert_eq!(model.networks["ext"].name.as_deref(), Some("shared"));
        assert!(model.networks["ext"].labels.is_empty());
        assert!(!model.networks.contains_key("default"), "redis names its network");
        assert_eq!(model.volumes["data"].name, None);
        assert_eq!(model.volumes["data"].engine_name("tk-1-0-abc", "data"), "tk-1-0-abc_data");
    }
}
