//! One-shot jobs (the Bootstrap job): dependencies up, then the job's container run to
//! completion with its logs streamed, and its exit code handed back.

use std::time::Duration;

use bollard::query_parameters::{LogsOptionsBuilder, WaitContainerOptionsBuilder};
use futures_util::StreamExt;
use stack_config::compose::Service;

use crate::lock::ProjectLock;
use crate::plan::image_name;
use crate::progress::{Event, Progress};
use crate::spec::spec;
use crate::up::{Stack, UpOptions};
use crate::{Engine, Error, Result};

impl Engine {
    /// Runs `service` to completion: its dependencies are brought up first (and waited for), any
    /// previous container of the job is replaced, each log line goes to `on_log`, and the job's
    /// exit code is returned (a non-zero code is not an `Err`: the caller propagates it).
    pub async fn run_job(
        &self,
        stack: &Stack<'_>,
        service: &str,
        options: &UpOptions,
        progress: &dyn Progress,
        on_log: &(dyn Fn(&str) + Sync),
    ) -> Result<i64> {
        let svc: &Service = stack.project.services.get(service).ok_or_else(|| Error::UnknownService(service.to_owned()))?;
        let deps: Vec<String> =
            stack_config::infra::select_services(stack.project, Some(&[service.to_owned()]), stack_config::deployment::DeployCommand::Up)
                .map_err(|_| Error::UnknownService(service.to_owned()))?
                .into_iter()
                .filter(|s| s != service)
                .collect();
        if !deps.is_empty() {
            let dep_stack = Stack { services: &deps, ..*stack };
            self.up(&dep_stack, options, progress).await?;
        }
        let _lock = ProjectLock::acquire(stack.name, progress).await?;
        let image = image_name(stack.name, svc);
        let order: Vec<&Service> = crate::plan::build_order(stack.project, stack.name, &[svc]).into_iter().map(|(s, _)| s).collect();
        let mut image_id = None;
        for b in self.build_images(stack.name, stack.project, &order, options.build, progress).await? {
            if b.service == svc.name {
                image_id = Some(b.id);
            }
        }
        let image_id = match image_id {
            Some(id) => id,
            None => self.ensure_image(svc, &image, progress).await?,
        };
        let spec = spec(stack.name, stack.project, svc, &image, &image_id, stack.lookup, &options.labels);
        self.remove_container(&spec.container, true).await?;
        let create = bollard::query_parameters::CreateContainerOptionsBuilder::default().name(&spec.container).build();
        self.docker()
            .create_container(Some(create), spec.body.clone())
            .await
            .map_err(|e| Error::Api { operation: format!("create container {}", spec.container), source: e })?;
        progress.event(&Event::ContainerCreated {
            service: svc.name.clone(),
            container: spec.container.clone(),
            reason: "job run".to_owned(),
        });
        self.docker()
            .start_container(&spec.container, None)
            .await
            .map_err(|e| Error::Api { operation: format!("start container {}", spec.container), source: e })?;
        progress.event(&Event::ContainerStarted { service: svc.name.clone(), container: spec.container.clone() });
        let logs = async {
            let options = LogsOptionsBuilder::default().follow(true).stdout(true).stderr(true).build();
            let mut stream = self.docker().logs(&spec.container, Some(options));
            while let Some(Ok(chunk)) = stream.next().await {
                for line in String::from_utf8_lossy(&chunk.into_bytes()).lines() {
                    on_log(&stack.redactor.redact(line));
                }
            }
        };
        let wait = async {
            let options = WaitContainerOptionsBuilder::default().condition("not-running").build();
            let mut stream = self.docker().wait_container(&spec.container, Some(options));
            match stream.next().await {
                Some(Ok(r)) => Ok(r.status_code),
                // bollard reports a non-zero exit as an error carrying the code.
                Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
                Some(Err(e)) => Err(Error::Api { operation: format!("wait for container {}", spec.container), source: e }),
                None => Err(Error::Wait {
                    service: svc.name.clone(),
                    container: spec.container.clone(),
                    reason: "ended without an exit code".to_owned(),
                    probe: String::new(),
                    logs: String::new(),
                }),
            }
        };
        let (code, ()) = tokio::join!(wait, async {
            // The log stream ends when the container stops; a short grace lets it flush.
            let _ = tokio::time::timeout(Duration::from_secs(24 * 3600), logs).await;
        });
        let code = code?;
        progress.event(&Event::JobCompleted { service: svc.name.clone(), exit_code: code });
        Ok(code)
    }
}
