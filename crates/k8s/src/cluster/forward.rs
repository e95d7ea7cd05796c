//! A port-forward that survives pod replacement.
//!
//! `kubectl port-forward svc/x` picks one pod when it starts and dies with it. Here every
//! accepted connection picks a ready pod behind the Service at that moment (waiting for one
//! while a rollout or restart replaces them), so the local port keeps working across pod
//! restarts, rollouts and rollbacks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Api, ListParams};
use tokio::net::{TcpListener, TcpStream};

use super::api_error;
use super::rollout::{pod_ready, selector_string};
use crate::error::{Error, Result};

/// How long a new connection waits for a ready pod.
const READY_WAIT: Duration = Duration::from_secs(60);

/// What to forward to.
#[derive(Debug, Clone)]
pub struct ForwardTarget {
    pub namespace: String,
    /// A Service name (`session-agent`), or `pod/NAME`.
    pub target: String,
    /// The Service port (or, for a pod, the container port).
    pub port: u16,
}

/// What the forward reports: one line per event.
pub type Events = Arc<dyn Fn(&str) + Send + Sync>;

/// Binds `local` (an error naming the address when it is taken), then returns the bound address
/// and a future that serves connections until dropped.
pub async fn bind(local: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(local).await.map_err(|e| Error::Rejected {
        resource: format!("local address {local}"),
        message: format!("cannot listen: {e}"),
        help: Some(format!("free port {} or forward from another local port (LOCAL:REMOTE)", local.port())),
    })
}

/// Serves `listener` for ever: each connection goes to a ready pod of `target`.
pub async fn serve(client: kube::Client, listener: TcpListener, target: ForwardTarget, events: Events) -> Result<()> {
    // Check the target once up front, so a typo fails at once instead of on first use.
    resolve(&client, &target).await?;
    loop {
        let (socket, peer) = listener.accept().await.map_err(|e| Error::Rejected {
            resource: "the local listener".to_owned(),
            message: format!("accept failed: {e}"),
            help: None,
        })?;
        let (client, target, events) = (client.clone(), target.clone(), events.clone());
        tokio::spawn(async move {
            if let Err(e) = connect(client, socket, &target, &events).await {
                events(&format!("connection from {peer} failed: {e}"));
            }
        });
    }
}

async fn connect(client: kube::Client, mut socket: TcpStream, target: &ForwardTarget, events: &Events) -> Result<()> {
    let deadline = tokio::time::Instant::now() + READY_WAIT;
    let (pod, port) = loop {
        match resolve(&client, target).await? {
            Some(found) => break found,
            None if tokio::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(500)).await,
            None => {
                return Err(Error::NotFound {
                    what: format!("a ready pod behind {} after {}s", target.target, READY_WAIT.as_secs()),
                    help: Some("the overlay's status lists its workloads".to_owned()),
                });
            }
        }
    };
    let pods: Api<Pod> = Api::namespaced(client, &target.namespace);
    let mut forwarder = pods.portforward(&pod, &[port]).await.map_err(|e| api_error("port-forward to", format!("pod/{pod}"), e))?;
    let Some(mut upstream) = forwarder.take_stream(port) else {
        return Err(Error::Rejected { resource: format!("pod/{pod}"), message: format!("no stream for port {port}"), help: None });
    };
    events(&format!("connection → pod/{pod}:{port}"));
    let _ = tokio::io::copy_bidirectional(&mut socket, &mut upstream).await;
    drop(upstream);
    forwarder.abort();
    Ok(())
}

/// A ready pod of the target and the container port to reach on it; `None` while none is ready.
/// An unknown Service or port is an error.
async fn resolve(client: &kube::Client, target: &ForwardTarget) -> Result<Option<(String, u16)>> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), &target.namespace);
    if let Some(name) = target.target.strip_prefix("pod/") {
        let pod = pods.get_opt(name).await.map_err(|e| api_error("read", format!("pod/{name}"), e))?;
        return Ok(pod.filter(pod_ready).map(|_| (name.to_owned(), target.port)));
    }
    let name = target.target.strip_prefix("svc/").or_else(|| target.target.strip_prefix("service/")).unwrap_or(&target.target);
    let services: Api<Service> = Api::namespaced(client.clone(), &target.namespace);
    let service =
        services.get_opt(name).await.map_err(|e| api_error("read", format!("service/{name}"), e))?.ok_or_else(|| Error::NotFound {
            what: format!("service/{name} in namespace {}", target.namespace),
            help: Some("name a Service of the overlay (`kubectl get svc -n NAMESPACE`), or `pod/NAME`".to_owned()),
        })?;
    let spec = service.spec.unwrap_or_default();
    let ports = spec.ports.unwrap_or_default();
    let Some(service_port) = ports.iter().find(|p| p.port == i32::from(target.port)) else {
        return Err(Error::NotFound {
            what: format!("port {} on service/{name}", target.port),
            help: Some(format!("its ports: {}", ports.iter().map(|p| p.port.to_string()).collect::<Vec<_>>().join(", "))),
        });
    };
    let selector = selector_string(spec.selector.unwrap_or_default());
    let list =
        pods.list(&ListParams::default().labels(&selector)).await.map_err(|e| api_error("list pods of", format!("service/{name}"), e))?;
    let Some(pod) = list.items.into_iter().filter(|p| p.metadata.deletion_timestamp.is_none()).find(pod_ready) else {
        return Ok(None);
    };
    let port = match &service_port.target_port {
        None => service_port.port,
        Some(IntOrString::Int(p)) => *p,
        Some(IntOrString::String(named)) => pod
            .spec
            .iter()
            .flat_map(|s| s.containers.iter())
            .flat_map(|c| c.ports.iter().flatten())
            .find(|p| p.name.as_deref() == Some(named.as_str()))
            .map(|p| p.container_port)
            .ok_or_else(|| Error::NotFound { what: format!("container port `{named}` of service/{name}'s pods"), help: None })?,
    };
    let port = u16::try_from(port).map_err(|_| Error::Rejected {
        resource: format!("service/{name}"),
        message: format!("port {port} is out of range"),
        help: None,
    })?;
    Ok(pod.metadata.name.map(|n| (n, port)))
}

/// `LOCAL:REMOTE`, or one `PORT` for both.
pub fn parse_ports(ports: &str) -> Result<(u16, u16)> {
    let parse = |p: &str| {
        p.trim().parse::<u16>().map_err(|_| Error::Rejected {
            resource: format!("port spec `{ports}`"),
            message: format!("`{p}` is not a port number"),
            help: Some("give LOCAL:REMOTE (e.g. 3000:3000) or one PORT".to_owned()),
        })
    };
    match ports.split_once(':') {
        Some((local, remote)) => Ok((parse(local)?, parse(remote)?)),
        None => parse(ports).map(|p| (p, p)),
    }
}

#[cfg(test)]
mod port_tests {
    #![allow(clippy::unwrap_used)]
    use super::parse_ports;

    #[test]
    fn local_remote_and_one_port() {
        assert_eq!(parse_ports("8080:3000").unwrap(), (8080, 3000));
        assert_eq!(parse_ports("3000").unwrap(), (3000, 3000));
        let e = parse_ports("80:http").unwrap_err().to_string();
        assert!(e.contains("`http` is not a port number") && e.contains("LOCAL:REMOTE"), "{e}");
    }
}
