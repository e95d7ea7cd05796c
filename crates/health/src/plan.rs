//! The checks of one environment as one value: the ones to run and the ones whose service was
//! never deployed, narrowed to what the caller asked for, then run into one [`Report`].

use stack_config::infra::Resolved;

use crate::targets::{Addresses, cloud_checks, docker_checks_by_deployment};
use crate::{Check, CheckReport, Report, RetryPolicy, Status};

/// Whether a service that was never deployed fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Absent {
    /// Reported as not deployed; no failure.
    #[default]
    Allowed,
    /// A failure: every service must be there.
    Fails,
}

/// Checks to run, and checks of services that are not deployed (with why).
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub run: Vec<Check>,
    pub absent: Vec<(Check, String)>,
}

/// A Docker catalogue entry without a compose project has no services to check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("deployment `{deployment}` has no compose project: nothing to check")]
pub struct NoComposeProject {
    pub deployment: String,
}

/// A name asked for is not a check of the plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no check named `{name}`{}", hint.as_deref().map(|h| format!("\n  help: {h}")).unwrap_or_default())]
pub struct UnknownCheck {
    pub name: String,
    pub hint: Option<String>,
}

impl Plan {
    /// The checks of the services of `resolved` (a Docker catalogue entry): a service with a
    /// container in the project (`deployed`, in any state) is checked, so a stopped one fails;
    /// one without was never started here and is reported as not deployed.
    pub fn docker(resolved: &Resolved, deployed: &dyn Fn(&str) -> bool, addresses: &Addresses) -> Result<Plan, NoComposeProject> {
        let project = resolved.compose.as_ref().ok_or_else(|| NoComposeProject { deployment: resolved.deployment.short_name.clone() })?;
        let (run, never) = docker_checks_by_deployment(project, &resolved.services, deployed, addresses);
        let why = format!("no container in project {}: never started here", resolved.project_name);
        Ok(Plan { run, absent: never.into_iter().map(|c| (c, why.clone())).collect() })
    }

    /// The checks of a cloud environment's managed stores, from its variables; the second
    /// value names the variables that are not set (no check for them).
    pub fn cloud(vars: &dyn Fn(&str) -> Option<String>) -> (Plan, Vec<&'static str>) {
        let (run, missing) = cloud_checks(vars);
        (Plan { run, absent: Vec::new() }, missing)
    }

    /// Keeps only the checks named in `only` (all when it is empty); a name that is no check
    /// is an error with the closest name.
    pub fn only(&mut self, only: &[String]) -> Result<(), UnknownCheck> {
        if only.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = self.run.iter().chain(self.absent.iter().map(|(c, _)| c)).map(|c| c.name.clone()).collect();
        if let Some(wanted) = only.iter().find(|w| !names.contains(w)) {
            let hint = stack_config::suggest::did_you_mean(wanted, names.iter().map(String::as_str));
            return Err(UnknownCheck { name: wanted.clone(), hint });
        }
        self.run.retain(|c| only.contains(&c.name));
        self.absent.retain(|(c, _)| only.contains(&c.name));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.run.is_empty() && self.absent.is_empty()
    }

    /// Runs the checks concurrently under `policy`; the absent ones are reported as not deployed
    /// (a failure with [`Absent::Fails`]).
    pub async fn run(&self, policy: &RetryPolicy, absent: Absent) -> Report {
        let mut checks = crate::run_all(&self.run, policy).await.checks;
        checks.extend(self.absent.iter().map(|(c, why)| {
            let mut report = CheckReport::not_deployed(c, why);
            if absent == Absent::Fails {
                report.status = Status::Fail;
                report.last_error = Some(format!("{why} (every service is required)"));
                report.detail = None;
            }
            report
        }));
        Report::new(checks)
    }
}
