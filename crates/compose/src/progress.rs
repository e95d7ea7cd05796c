//! Progress events: what the driver is doing, for a caller to show (the driver never prints).

use std::fmt;
use std::time::Duration;

/// Receives progress events. Implementations must be cheap: events arrive from many tasks.
pub trait Progress: Sync {
    fn event(&self, event: &Event);
}

/// Discards every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: &Event) {}
}

/// One step of the driver's work.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    WaitingForLock {
        project: String,
        holder: String,
    },
    NetworkCreated {
        name: String,
    },
    NetworkExists {
        name: String,
    },
    NetworkRemoved {
        name: String,
    },
    VolumeCreated {
        name: String,
    },
    VolumeExists {
        name: String,
    },
    VolumeRemoved {
        name: String,
    },
    ImageBuilding {
        image: String,
    },
    ImageBuildLine {
        image: String,
        line: String,
    },
    ImageBuilt {
        image: String,
        elapsed: Duration,
    },
    ImageUpToDate {
        image: String,
    },
    ImagePulling {
        image: String,
    },
    ImagePushing {
        reference: String,
    },
    /// A layer of a push finished: `done` of the `layers` announced so far.
    LayerPushed {
        reference: String,
        done: usize,
        layers: usize,
        state: String,
    },
    ImagePushed {
        reference: String,
        digest: String,
        uploaded: usize,
        present: usize,
    },
    ContainerCreated {
        service: String,
        container: String,
        reason: String,
    },
    ContainerStarted {
        service: String,
        container: String,
    },
    ContainerUpToDate {
        service: String,
        container: String,
    },
    Waiting {
        service: String,
        condition: String,
    },
    Ready {
        service: String,
        condition: String,
        elapsed: Duration,
    },
    JobCompleted {
        service: String,
        exit_code: i64,
    },
    ReplicaSetInitiated {
        service: String,
        set: String,
    },
    ReplicaSetReady {
        service: String,
        set: String,
    },
    ContainerStopped {
        service: String,
        container: String,
    },
    ContainerRemoved {
        service: String,
        container: String,
    },
    Orphan {
        service: String,
        container: String,
        removed: bool,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = |d: &Duration| format!("{:.1}s", d.as_secs_f64());
        match self {
            Event::WaitingForLock { project, holder } => write!(f, "waiting: another run holds project {project} ({holder})"),
            Event::NetworkCreated { name } => write!(f, "network {name}: created"),
            Event::NetworkExists { name } => write!(f, "network {name}: up to date"),
            Event::NetworkRemoved { name } => write!(f, "network {name}: removed"),
            Event::VolumeCreated { name } => write!(f, "volume {name}: created"),
            Event::VolumeExists { name } => write!(f, "volume {name}: up to date"),
            Event::VolumeRemoved { name } => write!(f, "volume {name}: removed"),
            Event::ImageBuilding { image } => write!(f, "image {image}: building"),
            Event::ImageBuildLine { image, line } => write!(f, "image {image}: {line}"),
            Event::ImageBuilt { image, elapsed } => write!(f, "image {image}: built in {}", secs(elapsed)),
            Event::ImageUpToDate { image } => write!(f, "image {image}: up to date (build inputs unchanged)"),
            Event::ImagePulling { image } => write!(f, "image {image}: pulling"),
            Event::ImagePushing { reference } => write!(f, "push {reference}: pushing"),
            Event::LayerPushed { reference, done, layers, state } => write!(f, "push {reference}: layer {done}/{layers} {state}"),
            Event::ImagePushed { reference, digest, uploaded: 0, present } => {
                write!(f, "push {reference}: {digest}; nothing uploaded, the registry had all {present} layers")
            }
            Event::ImagePushed { reference, digest, uploaded, present } => {
                write!(f, "push {reference}: {digest}; {uploaded} layers uploaded, {present} already in the registry")
            }
            Event::ContainerCreated { service, container, reason } => write!(f, "{service}: created {container} ({reason})"),
            Event::ContainerStarted { service, container } => write!(f, "{service}: started {container}"),
            Event::ContainerUpToDate { service, container } => write!(f, "{service}: {container} up to date"),
            Event::Waiting { service, condition } => write!(f, "{service}: waiting until {condition}"),
            Event::Ready { service, condition, elapsed } => write!(f, "{service}: {condition} after {}", secs(elapsed)),
            Event::JobCompleted { service, exit_code } => write!(f, "{service}: exited with code {exit_code}"),
            Event::ReplicaSetInitiated { service, set } => write!(f, "{service}: replica set {set} initiated"),
            Event::ReplicaSetReady { service, set } => write!(f, "{service}: replica set {set} has a primary"),
            Event::ContainerStopped { service, container } => write!(f, "{service}: stopped {container}"),
            Event::ContainerRemoved { service, container } => write!(f, "{service}: removed {container}"),
            Event::Orphan { service, container, removed: true } => {
                write!(f, "orphan {container} (service {service} is no longer in the compose files): removed")
            }
            Event::Orphan { service, container, removed: false } => {
                write!(f, "warning: orphan {container} (service {service} is no longer in the compose files); `down` removes it")
            }
        }
    }
}
