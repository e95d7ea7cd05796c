//! Live progress on a terminal (indicatif): a line per image build (step n/m), push (layers
//! done of those announced) and wait (what it waits for, elapsed against the deadline), redrawn
//! in place on stderr while it lasts, then left as the same plain line a non-terminal gets;
//! every other event is a plain line above them. Nothing goes to stdout.
//!
//! [`Live::wanted`]: only when stderr is a terminal and `CI` is not set, so logs, pipes and CI
//! get plain, greppable lines without control sequences.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::progress::Event;

/// The live display of one command; clones share it.
#[derive(Clone)]
pub struct Live {
    inner: Arc<Inner>,
}

struct Inner {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
    deadline: Duration,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Live").field("deadline", &self.inner.deadline).finish_non_exhaustive()
    }
}

/// Whether `CI` asks for plain output: set to anything but empty, `0` or `false`.
pub fn ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

impl Live {
    /// Whether this process should draw live progress: stderr is a terminal and `CI` is unset.
    pub fn wanted() -> bool {
        std::io::stderr().is_terminal() && !ci(std::env::var("CI").ok().as_deref())
    }

    /// A live display on stderr; `deadline` is what a wait is measured against.
    pub fn new(deadline: Duration) -> Live {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        Live { inner: Arc::new(Inner { multi, bars: Mutex::new(HashMap::new()), deadline }) }
    }

    /// A plain line above the live ones.
    pub fn line(&self, line: &str) {
        // A closed stderr is not an error of the command.
        let _ = self.inner.multi.println(line);
    }

    /// Runs `f` (which writes to another stream) with the live lines cleared, then redraws them.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.inner.multi.suspend(f)
    }

    /// Shows `event`; `build_lines`: image build output too.
    pub fn event(&self, event: &Event, build_lines: bool) {
        match event {
            Event::ImageBuilding { image } => self.start(&format!("image {image}"), &event.to_string(), None),
            Event::ImageBuildLine { image, line } => {
                if let Some((n, m)) = build_step(line) {
                    self.update(&format!("image {image}"), Some((n, m)), &format!("image {image}: step {n}/{m}"));
                }
                if build_lines {
                    self.line(&event.to_string());
                }
            }
            Event::ImageBuilt { image, .. } => self.finish(&format!("image {image}"), &event.to_string()),
            Event::ImagePushing { reference } => self.start(&format!("push {reference}"), &event.to_string(), Some(0)),
            Event::LayerPushed { reference, done, layers, .. } => {
                self.update(&format!("push {reference}"), Some((*done as u64, *layers as u64)), &format!("push {reference}: layers"));
            }
            Event::ImagePushed { reference, .. } => self.finish(&format!("push {reference}"), &event.to_string()),
            Event::Waiting { service, .. } => self.start(&format!("wait {service}"), &event.to_string(), None),
            Event::Ready { service, .. } | Event::JobCompleted { service, .. } => {
                self.finish(&format!("wait {service}"), &event.to_string())
            }
            _ => self.line(&event.to_string()),
        }
    }

    /// A live line `key` showing `message`: a spinner with the elapsed time against the
    /// deadline, or (`Some(length)`) a bar of `length` steps.
    pub fn start(&self, key: &str, message: &str, length: Option<u64>) {
        let deadline = format!("{}s", self.inner.deadline.as_secs());
        let bar = match length {
            Some(len) => ProgressBar::new(len).with_style(style("{spinner} {msg} [{bar:20}] {pos}/{len} {elapsed}")),
            None => ProgressBar::new_spinner().with_style(style("{spinner} {msg} ({elapsed} of {prefix})")),
        };
        let bar = self.inner.multi.add(bar.with_prefix(deadline).with_message(message.to_owned()));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Some(old) = self.bars().insert(key.to_owned(), bar) {
            old.finish_and_clear();
        }
    }

    /// Moves line `key` (started if it was not) to step `n` of `m`.
    pub fn update(&self, key: &str, step: Option<(u64, u64)>, message: &str) {
        if !self.bars().contains_key(key) {
            self.start(key, message, step.map(|(_, m)| m));
        }
        if let Some(bar) = self.bars().get(key) {
            if let Some((n, m)) = step {
                if bar.length() == Some(0) || bar.length().is_none() {
                    bar.set_style(style("{spinner} {msg} [{bar:20}] {pos}/{len} {elapsed}"));
                }
                bar.set_length(m);
                bar.set_position(n);
            }
            bar.set_message(message.to_owned());
        }
    }

    /// Ends line `key`, leaving `line` in its place.
    pub fn finish(&self, key: &str, line: &str) {
        if let Some(bar) = self.bars().remove(key) {
            bar.finish_and_clear();
            self.inner.multi.remove(&bar);
        }
        self.line(line);
    }

    fn bars(&self) -> std::sync::MutexGuard<'_, HashMap<String, ProgressBar>> {
        self.inner.bars.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for bar in self.bars.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner).values() {
            bar.finish_and_clear();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()).progress_chars("=> ")
}

/// `Step 3/7 : RUN ...` (the engine's build output) as (3, 7).
fn build_step(line: &str) -> Option<(u64, u64)> {
    let rest = line.trim_start().strip_prefix("Step ")?;
    let (n, rest) = rest.split_once('/')?;
    let m: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((n.parse().ok()?, m.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_steps_are_read_from_the_engine_output() {
        assert_eq!(build_step("Step 3/7 : RUN npm ci"), Some((3, 7)));
        assert_eq!(build_step(" ---> Running in 1a2b"), None);
        assert_eq!(build_step("Step x/7"), None);
    }

    #[test]
    fn ci_means_plain_unless_it_says_false() {
        assert!(ci(Some("true")) && ci(Some("1")));
        assert!(!ci(None) && !ci(Some("")) && !ci(Some("false")) && !ci(Some("0")));
    }
}
