//! `release`: the deployment step of the pipeline, on any Kubernetes environment (features
//! `cluster` and `health`). Take the images (push them, or a release record: a promotion
//! builds and pushes nothing), pin the overlay to their digests, and if that changes anything
//! on the cluster: apply, wait for every rollout and Job, run the smoke tests ([`crate::smoke`]);
//! on any failure roll every changed Deployment back to its revision from before, wait for that,
//! and report one error that says what failed and what now runs.
//!
//! A release of what already runs applies nothing ("nothing to do"). A dry run builds, pushes
//! and changes nothing: it lists the pushes, the pins, the objects that would change (the API
//! server's dry run) and the smoke checks. The wrong-cluster guard is checked before anything.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use camino::Utf8PathBuf;
use serde::Serialize;
use stack_config::Infra;
use stack_config::release::{Image, Release};
use stack_k8s::cluster::Diffs;
use stack_k8s::cluster::diff::ObjectDiff;
use stack_k8s::cluster::session::{self, Conflicts, Event, Mode, OnFailure, Prune, Purpose, RolledBack, Session, Target};

use crate::images::{self, PushPlan};
use crate::smoke::{self, SmokeReport};
use crate::{Console, Error};

/// Where the images come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Build what is stale and push (`--registry`).
    Push(images::Options),
    /// A release record (`--images release.json`): promote exactly those digests.
    Record(Utf8PathBuf),
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The overlay (a name under `k8s/overlays`, or a kustomization directory); `None`: the
    /// environment's ([`overlay_for`]).
    pub overlay: Option<String>,
    /// The kube context; `None`: the current one (naming it lifts the guard).
    pub context: Option<String>,
    pub source: Source,
    /// The deadline of the rollouts (and of the rollback's).
    pub wait: Duration,
    pub smoke: smoke::Options,
    pub mode: Mode,
}

/// A Deployment rolled back, and the images it runs again.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restored {
    #[serde(flatten)]
    pub rolled_back: RolledBack,
    pub images: Vec<String>,
}

/// What a release did, or (dry run) would do.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseReport {
    pub overlay: String,
    pub namespace: String,
    pub context: Option<String>,
    pub dry_run: bool,
    /// `pushed to R` or `record FILE`.
    pub source: String,
    /// Image name → the reference the overlay is pinned to (`repository@digest`; a dry run of
    /// a push: `repository:tag`, the digest is known after the push).
    pub images: BTreeMap<String, String>,
    /// A dry run of a push: what would be built and pushed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushPlan>,
    /// Layers uploaded by the push (`None`: no push).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<usize>,
    /// The objects that change (a dry run: would change), with their diffs.
    pub changes: Vec<ObjectDiff>,
    pub nothing_to_do: bool,
    /// The apply's counts (`2 created, 1 configured, …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applied: Option<String>,
    /// The checks the smoke tests make (a dry run lists them).
    pub smoke_plan: smoke::Plan,
    /// The smoke tests' results (`None`: they did not run).
    pub smoke: Option<SmokeReport>,
    pub rolled_back: Vec<Restored>,
    pub ok: bool,
    /// What failed, what was rolled back and to which images.
    pub error: Option<String>,
}

impl fmt::Display for ReleaseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dry = if self.dry_run { " (dry run: nothing is built, pushed, applied or changed)" } else { "" };
        writeln!(f, "release of overlay {} to namespace {}{dry}", self.overlay, self.namespace)?;
        if let Some(plan) = &self.push {
            writeln!(f, "{plan}")?;
        }
        match self.uploaded {
            Some(0) => writeln!(f, "images {}: nothing uploaded, the registry had every layer", self.source)?,
            Some(n) => writeln!(f, "images {}: {n} layers uploaded", self.source)?,
            None if self.push.is_some() => {
                writeln!(f, "pins by tag (the digests are known after the push; an image rebuilt first is pinned then):")?
            }
            None => writeln!(f, "images from {}", self.source)?,
        }
        for (name, reference) in &self.images {
            writeln!(f, "  pin {name} to {reference}")?;
        }
        if self.nothing_to_do {
            return writeln!(f, "nothing to do: the cluster runs these images and objects already");
        }
        if self.dry_run {
            writeln!(f, "{} objects would change:", self.changes.len())?;
            writeln!(f, "{}", Diffs(self.changes.clone()))?;
            writeln!(f, "then wait for every rollout and Job, and run the smoke tests:")?;
            return write!(f, "{}", self.smoke_plan);
        }
        if let Some(applied) = &self.applied {
            writeln!(f, "applied: {applied}")?;
        }
        if let Some(smoke) = &self.smoke {
            write!(f, "{smoke}")?;
        }
        match &self.error {
            Some(error) => writeln!(f, "release FAILED: {error}"),
            None => writeln!(f, "released: every rollout is done and the smoke tests passed"),
        }
    }
}

/// The overlay of `env`'s environment (`release --env E`), or `overlay` when one is named.
pub fn overlay_for(infra: &Infra, env: &str, overlay: Option<&str>) -> Result<String, Error> {
    if let Some(o) = overlay {
        return Ok(o.to_owned());
    }
    let environment = infra.environments.get(env)?;
    environment.overlay.clone().ok_or_else(|| {
        format!(
            "environment `{env}` has no Kubernetes overlay (it runs on Docker)\n  help: name one with --overlay O, or an environment with an overlay (--env dev|staging|prod)"
        )
        .into()
    })
}

/// Runs the release (see the module's documentation). A failed rollout or smoke test is in
/// the report (`ok: false`, `error`), not an `Err`; an `Err` means the release could not be
/// attempted or a step could not talk to the cluster.
pub fn run(infra: &Infra, env: &str, options: &Options, console: &Console<'_>) -> Result<ReleaseReport, Error> {
    // The overlay first: a wrong name fails before a push.
    let overlay = overlay_for(infra, env, options.overlay.as_deref())?;
    let dry_run = options.mode == Mode::DryRun;
    // The images, before any runtime of ours (the push runs its own).
    let (release, push, uploaded, source) = match &options.source {
        Source::Record(path) => (Release::read(path)?, None, None, format!("record {path}")),
        Source::Push(push) if dry_run => {
            let plan = images::plan(infra, env, push)?;
            let mut release = Release::new(&push.registry, None, std::time::SystemTime::now());
            // Only a final tag can be pinned in the plan; a rebuilt image's is known after the build.
            for p in plan.images.iter().filter(|p| p.tag.is_some()) {
                release.images.insert(p.name.clone(), Image::new(&p.repository, p.tag.as_deref().unwrap_or_default(), ""));
            }
            (release, Some(plan), None, format!("to be pushed to {}", push.registry))
        }
        Source::Push(push) => {
            let report = images::push(infra, env, push, console)?;
            (report.release.clone(), None, Some(report.uploaded()), format!("pushed to {}", push.registry))
        }
    };
    let images = release.images.iter().map(|(name, image)| (name.clone(), image.reference())).collect();
    let target = Target { overlay, context: options.context.clone(), images: Some(release) };
    crate::block_on("releasing", async {
        let (session, notes) = Session::for_overlay(infra, &target, Purpose::Apply, options.mode).await?;
        notes.iter().for_each(|n| console.progress(n));
        console.progress(&session.connected());
        session.guard()?;
        let mut report = ReleaseReport {
            overlay: session.overlay().to_owned(),
            namespace: session.namespace().to_owned(),
            context: session.info().context.clone(),
            dry_run,
            source,
            images,
            push,
            uploaded,
            changes: Vec::new(),
            nothing_to_do: false,
            applied: None,
            smoke_plan: smoke::Plan::of(session.objects()),
            smoke: None,
            rolled_back: Vec::new(),
            ok: true,
            error: None,
        };
        report.changes = session.diff(Prune::Delete).await?;
        if dry_run {
            return Ok(report);
        }
        if report.changes.is_empty() {
            report.nothing_to_do = true;
            return Ok(report);
        }
        let mut events = |e: Event<'_>| console.progress(&e.to_string());
        let before = session.revisions().await?;
        let apply = session::Apply {
            conflicts: Conflicts::Refuse,
            prune: Prune::Delete,
            wait: Some(options.wait),
            // Both a failed rollout and a failed smoke test go back to `before` (read once).
            on_failure: OnFailure::Stay,
        };
        console.progress(&format!(
            "applying {} changed objects, then waiting for {} workloads (up to {}s)",
            report.changes.len(),
            session.workloads().len(),
            options.wait.as_secs()
        ));
        let applied = session.apply(&apply, &mut events).await?;
        report.applied = Some(applied.summary());
        let (failure, rolled_back) = if let Some(error) = &applied.error {
            (format!("the rollout failed: {}", chain(error)), session.roll_back_to(&before, options.wait, &mut events).await?)
        } else {
            console.progress("every rollout is done; running the smoke tests");
            match smoke::run(&session, &options.smoke).await {
                Ok(smoke) if smoke.ok => {
                    report.smoke = Some(smoke);
                    return Ok(report);
                }
                Ok(smoke) => {
                    let failure = smoke.summary();
                    report.smoke = Some(smoke);
                    (failure, session.roll_back_to(&before, options.wait, &mut events).await?)
                }
                Err(e) => (format!("the smoke tests could not run: {e}"), session.roll_back_to(&before, options.wait, &mut events).await?),
            }
        };
        let status = session.status().await?;
        report.rolled_back = rolled_back
            .into_iter()
            .map(|r| {
                let images = status.workloads.iter().find(|w| w.name == r.workload.name).map(|w| w.images.clone()).unwrap_or_default();
                Restored { rolled_back: r, images }
            })
            .collect();
        let restored = if report.rolled_back.is_empty() {
            "nothing was rolled back (no changed Deployment had a revision from before this release)".to_owned()
        } else {
            let each: Vec<String> = report.rolled_back.iter().map(|r| format!("{} (now {})", r.rolled_back, r.images.join(", "))).collect();
            format!("rolled back {}", each.join("; "))
        };
        report.ok = false;
        report.error = Some(format!("release of overlay {} failed: {failure}; {restored}", report.overlay));
        Ok(report)
    })
}

/// An error with its sources, `: `-separated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}
