//! Port preflight: a host port that is already taken is found before anything is created, with
//! what holds it (a container, or a process by name and pid).

use std::collections::HashMap;
use std::net::{Ipv4Addr, TcpListener, UdpSocket};

use bollard::query_parameters::ListContainersOptionsBuilder;
use stack_config::compose::Port;

use crate::{Engine, Error, Result, labels};

/// The containers of a service that this run keeps, starts or replaces.
#[derive(Debug, Default)]
pub(crate) struct OwnContainers {
    /// Running (or paused, restarting): their published ports are theirs.
    pub running: Vec<String>,
    /// Not running: they hold no port, so their ports must be free, except where the engine's
    /// own proxy for them holds it (a start that an interrupted run left the engine finishing).
    pub stopped: Vec<String>,
}

impl Engine {
    /// The published ports of `services` (of compose project `project`) that something other
    /// than the service's own containers holds, each as the error `up` stops with; read only
    /// (the preflight `doctor` shares with `up`).
    pub async fn port_conflicts(&self, project: &str, services: &[&stack_config::compose::Service]) -> Result<Vec<Error>> {
        let containers = self.project_containers(project).await?;
        let mut conflicts = Vec::new();
        for svc in services {
            let mine = containers.iter().filter(|c| c.service == svc.name);
            let (running, stopped): (Vec<_>, Vec<_>) = mine.partition(|c| matches!(c.state.as_str(), "running" | "paused" | "restarting"));
            let own = OwnContainers {
                running: running.into_iter().map(|c| c.name.clone()).collect(),
                stopped: stopped.into_iter().map(|c| c.name.clone()).collect(),
            };
            for port in &svc.ports {
                match self.check_port(&svc.name, port, &own).await {
                    Err(e @ Error::PortInUse { .. }) => conflicts.push(e),
                    other => other?,
                }
            }
        }
        Ok(conflicts)
    }

    /// Checks that `port` of `service` can be bound, given the service's own containers.
    pub(crate) async fn check_port(&self, service: &str, port: &Port, own: &OwnContainers) -> Result<()> {
        let Some(published) = port.published else { return Ok(()) };
        // The service's own running container (kept or replaced by this run) may hold the port.
        for name in &own.running {
            if self.binds_port(name, published, &port.protocol).await? {
                return Ok(());
            }
        }
        if let Some(holder) = self.port_holder_container(published, &port.protocol).await? {
            if own.running.contains(&holder.0) || own.stopped.contains(&holder.0) {
                return Ok(());
            }
            return Err(Error::PortInUse {
                service: service.to_owned(),
                port: published,
                protocol: port.protocol.clone(),
                holder: holder.1,
            });
        }
        let ip: std::net::IpAddr = port.host_ip.as_deref().and_then(|i| i.parse().ok()).unwrap_or(Ipv4Addr::UNSPECIFIED.into());
        let free = match port.protocol.as_str() {
            "udp" => UdpSocket::bind((ip, published)).is_ok(),
            _ => TcpListener::bind((ip, published)).is_ok(),
        };
        if free {
            return Ok(());
        }
        let holder = process_holding(published, &port.protocol);
        if let Some(target) = holder.as_ref().and_then(|h| h.pid).and_then(proxy_target) {
            for name in &own.stopped {
                if self.addresses_of(name).await?.contains(&target) {
                    return Ok(());
                }
            }
        }
        let holder = holder.map_or_else(|| "another process (it could not be identified)".to_owned(), |h| h.description);
        Err(Error::PortInUse { service: service.to_owned(), port: published, protocol: port.protocol.clone(), holder })
    }

    /// The addresses of container `name` on its networks (none when it has not started).
    async fn addresses_of(&self, name: &str) -> Result<Vec<String>> {
        let info = match self.docker().inspect_container(name, None).await {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(Vec::new()),
            Err(e) => return Err(Error::Api { operation: format!("inspect container {name}"), source: e }),
        };
        let networks = info.network_settings.and_then(|n| n.networks).unwrap_or_default();
        Ok(networks.into_values().filter_map(|e| e.ip_address).filter(|ip| !ip.is_empty()).collect())
    }

    /// Whether container `name` is configured to publish host `port`.
    async fn binds_port(&self, name: &str, port: u16, protocol: &str) -> Result<bool> {
        let info = match self.docker().inspect_container(name, None).await {
            Ok(info) => info,
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => return Ok(false),
            Err(e) => return Err(Error::Api { operation: format!("inspect container {name}"), source: e }),
        };
        let bindings = info.host_config.and_then(|h| h.port_bindings).unwrap_or_default();
        Ok(bindings.iter().any(|(key, list)| {
            key.ends_with(&format!("/{protocol}")) && list.iter().flatten().any(|b| b.host_port.as_deref() == Some(&port.to_string()))
        }))
    }

    /// The container publishing `port`, as (name, description).
    async fn port_holder_container(&self, port: u16, protocol: &str) -> Result<Option<(String, String)>> {
        let filters = HashMap::from([("publish".to_owned(), vec![format!("{port}/{protocol}")])]);
        let options = ListContainersOptionsBuilder::default().filters(&filters).build();
        let list = self
            .docker()
            .list_containers(Some(options))
            .await
            .map_err(|e| Error::Api { operation: format!("list containers publishing {port}"), source: e })?;
        Ok(list.into_iter().next().map(|c| {
            let name = c.names.unwrap_or_default().first().map(|n| n.trim_start_matches('/').to_owned()).unwrap_or_default();
            let labels = c.labels.unwrap_or_default();
            let desc = match labels.get(labels::PROJECT) {
                Some(p) => format!("container {name} (project {p}, service {})", labels.get(labels::SERVICE).cloned().unwrap_or_default()),
                None => format!("container {name}"),
            };
            (name, desc)
        }))
    }
}

/// A process that holds a port.
#[derive(Debug)]
struct Holder {
    /// `process NAME (pid N)`, or why it could not be named.
    description: String,
    pid: Option<u32>,
}

/// The container address a `docker-proxy` process forwards to (`-container-ip`), if `pid` is one.
fn proxy_target(pid: u32) -> Option<String> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<String> = cmdline.split(|b| *b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
    if !args.first().is_some_and(|a| a.ends_with("docker-proxy")) {
        return None;
    }
    args.iter().position(|a| a == "-container-ip").and_then(|i| args.get(i + 1)).cloned()
}

/// Finds the process listening on `port` through /proc (Linux): socket inode, then the process
/// whose file descriptors include it.
fn process_holding(port: u16, protocol: &str) -> Option<Holder> {
    let tables: &[&str] = if protocol == "udp" { &["/proc/net/udp", "/proc/net/udp6"] } else { &["/proc/net/tcp", "/proc/net/tcp6"] };
    let mut inodes = Vec::new();
    for table in tables {
        let Ok(text) = std::fs::read_to_string(table) else { continue };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9)) else { continue };
            let listening = protocol == "udp" || *state == "0A";
            let port_hex = local.rsplit(':').next().unwrap_or_default();
            if listening && u16::from_str_radix(port_hex, 16).ok() == Some(port) {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && inodes.iter().any(|i| target.as_os_str() == i.as_str())
            {
                let name = std::fs::read_to_string(entry.path().join("comm")).map(|c| c.trim().to_owned()).unwrap_or_default();
                return Some(Holder { description: format!("process {name} (pid {pid})"), pid: Some(pid) });
            }
        }
    }
    Some(Holder { description: "a socket of a process this user cannot see".to_owned(), pid: None })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn finds_the_process_holding_a_port() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let holder = process_holding(port, "tcp").unwrap();
        assert!(holder.description.contains(&format!("pid {}", std::process::id())), "{holder:?}");
        assert_eq!(holder.pid, Some(std::process::id()));
        assert_eq!(proxy_target(std::process::id()), None, "this test is no docker-proxy");
    }
}
