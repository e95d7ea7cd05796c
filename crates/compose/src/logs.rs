//! Container logs, merged across services and prefixed like Docker Compose does.

use bollard::query_parameters::LogsOptionsBuilder;
use futures_util::stream::{BoxStream, SelectAll};
use futures_util::{StreamExt, stream};

use crate::Engine;
use crate::observe::Container;

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
    pub fn logs<'a>(&'a self, containers: &[Container], follow: bool, tail: &str) -> BoxStream<'a, LogLine> {
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
}
