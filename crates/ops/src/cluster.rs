//! The cluster steps the workflows share with the `k8s` commands, reporting to a [`Console`]:
//! an overlay's apply and a reconnecting port-forward.

use std::net::SocketAddr;
use std::sync::Arc;

use stack_config::Infra;
use stack_k8s::cluster::session::{Apply, ApplyReport, Event, Forward, Mode, Purpose, Session, Target};

use crate::{Console, Error};

/// [`Session::apply_overlay`] with its notes and events as the console's progress. The report
/// is returned whether or not the rollouts succeeded ([`ApplyReport::failure`] says).
pub async fn apply(infra: &Infra, target: &Target, mode: Mode, options: &Apply, console: &Console<'_>) -> Result<ApplyReport, Error> {
    let mut notes = |n: &str| console.progress(n);
    let mut events = |e: Event<'_>| console.progress(&e.to_string());
    Ok(Session::apply_overlay(infra, target, mode, options, &mut notes, &mut events).await?)
}

/// Forwards `forward` to the overlay's service until the future is dropped, reconnecting when
/// the pod is replaced. The first result line names the bound address (a local port 0 picks
/// one): scripts wait for it. Reconnection failures (every line with `verbose`) go to the
/// console's background lines.
pub async fn port_forward(infra: &Infra, target: &Target, mode: Mode, forward: &Forward, console: &Console<'_>) -> Result<(), Error> {
    let (session, notes) = Session::for_overlay(infra, target, Purpose::Inspect, mode).await?;
    notes.iter().for_each(|n| console.progress(n));
    let (verbose, background) = (console.verbose, console.background.clone());
    let events = Arc::new(move |line: &str| {
        if verbose || line.contains("failed") {
            background(line);
        }
    });
    let namespace = session.namespace().to_owned();
    let mut ready = |bound: SocketAddr| {
        let (service, remote) = (&forward.service, forward.remote);
        (console.result)(&format!("Forwarding from {bound} -> {service}:{remote} (namespace {namespace}); Ctrl-C stops"))
    };
    Ok(session.port_forward(forward, &mut ready, events).await?)
}
