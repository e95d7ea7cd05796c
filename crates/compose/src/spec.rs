//! A service's container definition for the engine, and the config hash that decides whether a
//! running container still matches its definition.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, Mount, MountType, NetworkingConfig, PortBinding, RestartPolicy,
    RestartPolicyNameEnum,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use stack_config::compose::{MountKind, Project, Restart, Service};

use crate::context::hex;
use crate::labels;

/// Everything needed to create one container of a service.
#[derive(Debug, Clone)]
pub struct Spec {
    pub container: String,
    pub body: ContainerCreateBody,
    /// Networks to connect after creation (the API takes one at create time), with aliases.
    pub extra_networks: Vec<(String, Vec<String>)>,
    pub config_hash: String,
}

/// What goes into the config hash: the definition as the engine will see it plus the image ID,
/// so a rebuilt image or a changed setting recreates the container, and nothing else does.
#[derive(Serialize)]
struct HashInput<'a> {
    project: &'a str,
    image_id: &'a str,
    command: &'a Option<Vec<String>>,
    entrypoint: &'a Option<Vec<String>>,
    env: &'a [String],
    ports: Vec<String>,
    expose: &'a [String],
    mounts: Vec<(String, Option<String>, String, bool)>,
    networks: Vec<(String, Vec<String>)>,
    healthcheck: Option<&'a HealthConfig>,
    restart: Option<&'static str>,
    cpus: Option<String>,
    memory: Option<u64>,
    labels: &'a std::collections::BTreeMap<String, String>,
    extra_hosts: &'a [String],
    hostname: &'a Option<String>,
}

/// Resolves the service's environment: `KEY` without a value takes the caller's variable, and is
/// left out when the caller has none (as Compose does).
pub fn environment(svc: &Service, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    svc.environment.iter().filter_map(|(k, v)| v.clone().or_else(|| lookup(k)).map(|v| format!("{k}={v}"))).collect()
}

/// Builds the create request for replica `number` of `svc`.
pub fn spec(
    name: &str,
    project: &Project,
    svc: &Service,
    image: &str,
    image_id: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    extra_labels: &HashMap<String, String>,
) -> Spec {
    let container = crate::plan::container_name(name, svc);
    let env = environment(svc, lookup);
    let net_name = |key: &str| -> String {
        if key == "default" {
            format!("{name}_default")
        } else {
            project.networks.get(key).map(|n| n.engine_name(name, key)).unwrap_or_else(|| key.to_owned())
        }
    };
    let mut networks: Vec<(String, Vec<String>)> = if svc.networks.is_empty() {
        vec![(net_name("default"), vec![svc.name.clone()])]
    } else {
        svc.networks
            .iter()
            .map(|(key, n)| {
                let mut aliases = n.aliases.clone();
                if !aliases.contains(&svc.name) {
                    aliases.push(svc.name.clone());
                }
                (net_name(key), aliases)
            })
            .collect()
    };
    networks.sort();
    let mounts: Vec<Mount> = svc
        .volumes
        .iter()
        .map(|m| Mount {
            target: Some(m.target.clone()),
            source: match (m.kind, &m.source) {
                (MountKind::Volume, Some(s)) => Some(project.volumes.get(s).map(|v| v.engine_name(name, s)).unwrap_or_else(|| s.clone())),
                (_, s) => s.clone(),
            },
            typ: Some(match m.kind {
                MountKind::Volume => MountType::VOLUME,
                MountKind::Bind => MountType::BIND,
                MountKind::Tmpfs => MountType::TMPFS,
            }),
            read_only: Some(m.read_only),
            ..Default::default()
        })
        .collect();
    let mut exposed: Vec<String> = svc.ports.iter().map(|p| format!("{}/{}", p.target, p.protocol)).collect();
    exposed.extend(svc.expose.iter().map(|e| if e.contains('/') { e.clone() } else { format!("{e}/tcp") }));
    exposed.sort();
    exposed.dedup();
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &svc.ports {
        let entry = bindings.entry(format!("{}/{}", p.target, p.protocol)).or_insert_with(|| Some(Vec::new()));
        if let Some(list) = entry {
            list.push(PortBinding { host_ip: p.host_ip.clone(), host_port: Some(p.published.map(|n| n.to_string()).unwrap_or_default()) });
        }
    }
    let nanos = |d: Option<std::time::Duration>| d.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let health = svc.healthcheck.as_ref().map(|h| {
        if h.disable {
            HealthConfig { test: Some(vec!["NONE".to_owned()]), ..Default::default() }
        } else {
            HealthConfig {
                test: Some(h.test.clone()),
                interval: nanos(h.interval),
                timeout: nanos(h.timeout),
                start_period: nanos(h.start_period),
                retries: h.retries.map(|r| i64::try_from(r).unwrap_or(i64::MAX)),
                start_interval: None,
            }
        }
    });
    let restart = svc.restart.map(|r| RestartPolicy {
        name: Some(match r {
            Restart::No => RestartPolicyNameEnum::NO,
            Restart::Always => RestartPolicyNameEnum::ALWAYS,
            Restart::OnFailure => RestartPolicyNameEnum::ON_FAILURE,
            Restart::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
        }),
        maximum_retry_count: None,
    });
    let hash_input = HashInput {
        project: name,
        image_id,
        command: &svc.command,
        entrypoint: &svc.entrypoint,
        env: &env,
        ports: svc.ports.iter().map(|p| format!("{:?}:{:?}:{}/{}", p.host_ip, p.published, p.target, p.protocol)).collect(),
        expose: &svc.expose,
        mounts: svc.volumes.iter().map(|m| (format!("{:?}", m.kind), m.source.clone(), m.target.clone(), m.read_only)).collect(),
        networks: networks.clone(),
        healthcheck: health.as_ref(),
        restart: svc.restart.map(Restart::as_str),
        cpus: svc.limits.cpus.map(|c| format!("{c:.3}")),
        memory: svc.limits.memory_bytes,
        labels: &svc.labels,
        extra_hosts: &svc.extra_hosts,
        hostname: &svc.hostname,
    };
    let config_hash = hex(&Sha256::digest(serde_json::to_vec(&hash_input).unwrap_or_default()));
    let mut all_labels: HashMap<String, String> = svc.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    all_labels.extend(extra_labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    let workdir = project.files.first().and_then(|f| f.parent()).map(|p| p.to_string()).unwrap_or_default();
    for (k, v) in [
        (labels::PROJECT, name.to_owned()),
        (labels::SERVICE, svc.name.clone()),
        (labels::NUMBER, "1".to_owned()),
        (labels::ONEOFF, "False".to_owned()),
        (labels::CONFIG_HASH, config_hash.clone()),
        (labels::VERSION, labels::version()),
        (labels::WORKING_DIR, workdir),
        (labels::CONFIG_FILES, project.files.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(",")),
        (labels::MANAGED_BY, labels::MANAGER.to_owned()),
    ] {
        all_labels.insert(k.to_owned(), v);
    }
    let (first, rest) = match networks.split_first() {
        Some((f, r)) => (Some(f.clone()), r.to_vec()),
        None => (None, Vec::new()),
    };
    let networking_config = first.as_ref().map(|(net, aliases)| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(net.clone(), EndpointSettings { aliases: Some(aliases.clone()), ..Default::default() })])),
    });
    let host_config = HostConfig {
        mounts: (!mounts.is_empty()).then_some(mounts),
        port_bindings: (!bindings.is_empty()).then_some(bindings),
        restart_policy: restart,
        memory: svc.limits.memory_bytes.map(|m| i64::try_from(m).unwrap_or(i64::MAX)),
        nano_cpus: svc.limits.cpus.map(|c| (c * 1e9) as i64),
        extra_hosts: (!svc.extra_hosts.is_empty()).then(|| svc.extra_hosts.clone()),
        network_mode: first.as_ref().map(|(n, _)| n.clone()),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        cmd: svc.command.clone(),
        entrypoint: svc.entrypoint.clone(),
        env: Some(env),
        labels: Some(all_labels),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        healthcheck: health,
        hostname: svc.hostname.clone(),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    };
    Spec { container, body, extra_networks: rest, config_hash }
}
