//! Protocol readiness for harness stacks: besides passing its healthcheck, every store must
//! answer its own protocol through its published port (Redis PING with the password, MongoDB
//! ping and a PRIMARY for a replica set, AMQP open), through `stack-health`'s probes.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use stack_compose::ReadyProbe;
use stack_config::compose::{Project, Service};
use stack_health::targets::{Addresses, docker_checks};

/// The [`ReadyProbe`] the harness hands to the compose driver.
#[derive(Debug, Clone, Copy, Default)]
pub struct HealthProbe;

impl ReadyProbe for HealthProbe {
    fn probe<'a>(
        &'a self,
        service: &'a Service,
        _ports: &'a [(u16, u16)],
    ) -> Pin<Box<dyn Future<Output = Option<Result<String, String>>> + Send + 'a>> {
        Box::pin(async move {
            // The checks come from the service's own definition: its published ports and the
            // credentials in its command and environment.
            let mut one = Project::default();
            one.services.insert(service.name.clone(), service.clone());
            let check = docker_checks(&one, std::slice::from_ref(&service.name), &Addresses::default())
                .into_iter()
                .find(|c| c.name == service.name)?;
            Some(stack_health::probe_once(&check.target, Duration::from_secs(2)).await.map_err(|e| e.to_string()))
        })
    }
}
