//! Container logs, merged across services and prefixed like Docker Compose does.

use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::stream::{BoxStream, SelectAll};
use futures_util::{StreamExt, stream};

use crate::observe::Container;
use crate::{Engine, Error, Result};

/// Whether a log stream ends at the end of the logs or keeps following new output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    No,
    Yes,
}

/// Which services of a project to show.
#[derive(Debug, Clone, Copy)]
pub enum Services<'a> {
    /// Every container of the project.
    All,
    /// These services (a catalogue entry's, or the ones named).
    Only(&'a [String]),
}

/// One line of a container's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub service: String,
    pub container: String,
    pub line: String,
}

impl LogLine {
    /// `service-1  | line`, with the prefix padded to `width`.
    pub fn prefixed(&self, width: usize) -> String {
        format!("{:width$} | {}", self.service, self.line)
    }
}

impl Engine {
    /// The logs of `containers`, interleaved as they arrive; `tail` is a line count or `all`.
    pub fn logs<'a>(&'a self, containers: &[Container], follow: Follow, tail: &str) -> BoxStream<'a, LogLine> {
        let follow = follow == Follow::Yes;
        let mut all: SelectAll<BoxStream<'a, LogLine>> = SelectAll::new();
        for c in containers {
            let options = LogsOptionsBuilder::default().follow(follow).stdout(true).stderr(true).tail(tail).build();
            let (service, container) = (c.service.clone(), c.name.clone());
            let s = self
                .docker()
                .logs(&c.name, Some(options))
                .filter_map(|r| async move { r.ok() })
                .flat_map(move |chunk| {
                    let text = String::from_utf8_lossy(&chunk.into_bytes()).into_owned();
                    let (service, container) = (service.clone(), container.clone());
                    stream::iter(
                        text.lines()
                            .map(|l| LogLine { service: service.clone(), container: container.clone(), line: l.to_owned() })
                            .collect::<Vec<_>>(),
                    )
                })
                .boxed();
            all.push(s);
        }
        all.boxed()
    }

    /// The logs of `services` of `project`, redacted with `redactor` and prefixed with their
    /// service (padded as Compose does), line by line into `sink`. With [`Follow::Yes`] it runs
    /// until the caller drops the future.
    pub async fn project_logs(
        &self,
        project: &str,
        services: Services<'_>,
        follow: Follow,
        tail: &str,
        redactor: &stack_config::secret::Redactor,
        sink: &mut (dyn FnMut(&str) + Send),
    ) -> Result<()> {
        let containers: Vec<_> = self
            .project_containers(project)
            .await?
            .into_iter()
            .filter(|c| match services {
                Services::All => true,
                Services::Only(names) => names.contains(&c.service),
            })
            .collect();
        if containers.is_empty() {
            return Err(Error::NoContainers { project: project.to_owned() });
        }
        let width = containers.iter().map(|c| c.service.len()).max().unwrap_or(0);
        let mut stream = self.logs(&containers, follow, tail);
        while let Some(mut line) = stream.next().await {
            line.line = redactor.redact(&line.line);
            sink(&line.prefixed(width));
        }
        Ok(())
    }
}
