//! The Terraform runner: `init`, `plan`, `show`, `apply`, `destroy` and `output` in one environment
//! folder (`environments/<env>` of the Terraform tree), and the plan summary.
//!
//! Every step runs `terraform -chdir=<environment folder> <step> -input=false -no-color ...`
//! (without `-input` for `show` and `output`, which reject it) with
//! `TF_IN_AUTOMATION=1`, so the command line printed by a dry run is complete and can be pasted
//! into a shell. [`command_line`] builds the arguments and is pure, so tests check them exactly.
//!
//! Decisions:
//!
//! - `init` always passes `-backend-config=backend.hcl` and [`Terraform::init`] refuses to start
//!   when that file is missing (with a hint to copy `backend.hcl.example`). The environments
//!   declare `backend "s3" {}`; with `-backend=false` a later `plan` fails anyway ("Backend
//!   initialization required"), and a silent local state for a shared environment would be worse.
//! - `plan` writes a plan file (`.terraform/srvthreds.tfplan` in the environment folder, which
//!   is git-ignored) and [`Terraform::plan`] reads it back with `show -json` into a
//!   [`PlanSummary`]. `apply` applies exactly that saved plan, so what was shown is what happens.
//! - `apply` and `destroy` run only when [`Options::yes`] is set: asking the operator is the
//!   caller's job, this crate only refuses to act without the answer. `destroy` of a production
//!   environment (`prod` or `production`) is refused unless [`Options::allow_prod_destroy`] is
//!   set as well.
//! - Steps run through `stack_process::run`: output lines are handed to a callback as they come
//!   ([`Stream`] says which pipe); a step that exits non-zero becomes [`Error::TerraformFailed`]
//!   with the exit code and the last [`STDERR_TAIL`] lines of its stderr, which hold Terraform's
//!   own explanation.
//!
//! The operator's workflow over these steps (plan, confirmation, apply of the saved plan, and the
//! dry run's command list) is [`action`].
//!
//! This module never prints; nothing here needs the `aws` feature.

pub mod action;
mod summary;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use stack_process::Stream;
use stack_process::{Deliver, TailOf};
pub use summary::{Counts, PlanSummary, TypeCounts};

use crate::{Error, Result};

/// How many stderr lines a failed step keeps for its error.
pub const STDERR_TAIL: usize = 20;

/// The plan file `plan` writes and `apply` reads, relative to the environment folder.
pub const PLAN_FILE: &str = ".terraform/srvthreds.tfplan";

/// The backend settings file `init` reads, relative to the environment folder.
pub const BACKEND_CONFIG: &str = "backend.hcl";

/// Where to run Terraform and what the caller has confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The environment's name (`dev`, `staging`, `prod`); it names the folder and appears in errors.
    pub environment: String,
    /// The environment folder, e.g. `infrastructure/terraform/environments/dev`.
    pub dir: PathBuf,
    /// Where to look for `terraform`.
    pub binary: Binary,
    /// Extra `-var-file` arguments for `plan` and `destroy`, relative to `dir` or absolute.
    pub var_files: Vec<PathBuf>,
    /// The caller has confirmed `apply` or `destroy` (a `--yes` flag or an answer on a terminal).
    pub yes: bool,
    /// The caller explicitly allows destroying a production environment.
    pub allow_prod_destroy: bool,
}

/// How the `terraform` binary is found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Binary {
    /// `terraform` on this process's `PATH`.
    #[default]
    Path,
    /// `terraform` in these folders (a `PATH`-like list, separated as `PATH` is on this system).
    SearchIn(OsString),
    /// This file.
    Exact(PathBuf),
}

/// What a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The changes that make the environment match the configuration (`plan`).
    Changes,
    /// The removal of everything in the environment (`plan -destroy`).
    Destroy,
}

/// One Terraform invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `init -backend-config=backend.hcl`.
    Init,
    /// `plan -out=PLAN_FILE`.
    Plan,
    /// `plan -destroy -out=PLAN_FILE`: what `destroy` would remove.
    PlanDestroy,
    /// `show -json PLAN_FILE`.
    Show,
    /// `apply PLAN_FILE`: the saved plan, exactly as shown.
    Apply,
    /// `destroy -auto-approve`.
    Destroy,
    /// `output -json`.
    Output,
}

/// A located `terraform` binary and the options of one environment.
#[derive(Debug, Clone)]
pub struct Terraform {
    program: PathBuf,
    options: Options,
}

/// The arguments of `step` after the program name, as [`Terraform`] runs them.
pub fn command_line(step: Step, options: &Options) -> Vec<String> {
    let mut args = vec![format!("-chdir={}", options.dir.display()), step.name().to_owned()];
    // `show` and `output` never ask for input and reject `-input`.
    if !matches!(step, Step::Show | Step::Output) {
        args.push("-input=false".to_owned());
    }
    args.push("-no-color".to_owned());
    let var_files = options.var_files.iter().map(|f| format!("-var-file={}", f.display()));
    match step {
        Step::Init => args.push(format!("-backend-config={BACKEND_CONFIG}")),
        Step::Plan => {
            args.extend(var_files);
            args.push(format!("-out={PLAN_FILE}"));
        }
        Step::PlanDestroy => {
            args.push("-destroy".to_owned());
            args.extend(var_files);
            args.push(format!("-out={PLAN_FILE}"));
        }
        Step::Show => args.extend(["-json".to_owned(), PLAN_FILE.to_owned()]),
        Step::Apply => args.push(PLAN_FILE.to_owned()),
        Step::Destroy => {
            args.extend(var_files);
            args.push("-auto-approve".to_owned());
        }
        Step::Output => args.push("-json".to_owned()),
    }
    args
}

/// The help line of a failed step (empty when Terraform's own lines say it all).
///
/// `init` is the step that reaches the network: the provider registry and the S3 backend.
pub fn failure_help(step: Step) -> &'static str {
    match step {
        Step::Init => {
            "\n  help: `terraform init` downloads the providers from registry.terraform.io and opens the S3 state backend: \
             it needs network access and AWS credentials (the lines above are Terraform's own explanation)"
        }
        _ => "",
    }
}

/// True for the environment names this crate treats as production.
pub fn is_production(environment: &str) -> bool {
    matches!(environment, "prod" | "production")
}

impl Options {
    /// Options for `environment` under the Terraform tree at `terraform_root` (the folder holding
    /// `environments/`): `terraform` from `PATH`, nothing confirmed.
    pub fn new(terraform_root: &Path, environment: &str) -> Options {
        Options {
            environment: environment.to_owned(),
            dir: terraform_root.join("environments").join(environment),
            binary: Binary::Path,
            var_files: Vec::new(),
            yes: false,
            allow_prod_destroy: false,
        }
    }
}

impl Plan {
    /// The step that makes this plan.
    pub fn step(self) -> Step {
        match self {
            Plan::Changes => Step::Plan,
            Plan::Destroy => Step::PlanDestroy,
        }
    }
}

impl Step {
    /// Terraform's name of the subcommand.
    pub fn name(self) -> &'static str {
        match self {
            Step::Init => "init",
            Step::Plan | Step::PlanDestroy => "plan",
            Step::Show => "show",
            Step::Apply => "apply",
            Step::Destroy => "destroy",
            Step::Output => "output",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::PlanDestroy => f.write_str("plan -destroy"),
            other => f.write_str(other.name()),
        }
    }
}

impl Terraform {
    /// Finds the `terraform` binary and checks that the environment folder exists.
    pub fn new(options: Options) -> Result<Terraform> {
        if !options.dir.is_dir() {
            return Err(Error::TerraformEnvironment { environment: options.environment, dir: options.dir });
        }
        let program = find_binary(&options.binary)?;
        Ok(Terraform { program, options })
    }

    /// The binary that runs.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// The options this runner was made with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Fails when the options do not allow destroying this environment (a production one without
    /// [`Options::allow_prod_destroy`]); callers use it to refuse before planning.
    pub fn ensure_destroy_allowed(&self) -> Result<()> {
        if is_production(&self.options.environment) && !self.options.allow_prod_destroy {
            return Err(Error::TerraformProdDestroy { environment: self.options.environment.clone() });
        }
        Ok(())
    }

    /// `terraform init`; refuses when the environment has no `backend.hcl`.
    pub fn init(&self, on_line: &mut dyn FnMut(Stream, &str)) -> Result<()> {
        let backend = self.options.dir.join(BACKEND_CONFIG);
        if !backend.is_file() {
            return Err(Error::TerraformBackendConfig { environment: self.options.environment.clone(), path: backend });
        }
        self.run(Step::Init, on_line).map(drop)
    }

    /// `terraform plan -out=…` (with `-destroy` for [`Plan::Destroy`]), then `show -json` into a
    /// summary.
    pub fn plan(&self, plan: Plan, on_line: &mut dyn FnMut(Stream, &str)) -> Result<PlanSummary> {
        self.run(plan.step(), on_line)?;
        let json = self.run(Step::Show, on_line)?;
        PlanSummary::from_json(&json).map_err(|source| Error::TerraformPlanJson { environment: self.options.environment.clone(), source })
    }

    /// `terraform apply` of the plan file the last [`Terraform::plan`] wrote; needs [`Options::yes`].
    ///
    /// `plan` says what the saved plan was made for: a [`Plan::Destroy`] destroys, so it is held
    /// to the production rule too.
    pub fn apply(&self, plan: Plan, on_line: &mut dyn FnMut(Stream, &str)) -> Result<()> {
        self.check_confirmed(Step::Apply)?;
        if plan == Plan::Destroy {
            self.ensure_destroy_allowed()?;
        }
        self.run(Step::Apply, on_line).map(drop)
    }

    /// `terraform destroy -auto-approve`; needs [`Options::yes`], and on production
    /// [`Options::allow_prod_destroy`] as well.
    pub fn destroy(&self, on_line: &mut dyn FnMut(Stream, &str)) -> Result<()> {
        self.ensure_destroy_allowed()?;
        self.check_confirmed(Step::Destroy)?;
        self.run(Step::Destroy, on_line).map(drop)
    }

    /// `terraform output -json`: the root outputs as Terraform prints them.
    pub fn output(&self, on_line: &mut dyn FnMut(Stream, &str)) -> Result<serde_json::Value> {
        let json = self.run(Step::Output, on_line)?;
        serde_json::from_str(&json).map_err(|source| Error::TerraformOutputJson { environment: self.options.environment.clone(), source })
    }

    /// Runs one step. Lines go to `on_line` as they come, except the stdout of `show` and
    /// `output`, which is JSON and is returned instead (their stderr still streams).
    pub fn run(&self, step: Step, on_line: &mut dyn FnMut(Stream, &str)) -> Result<String> {
        let capture = matches!(step, Step::Show | Step::Output);
        let io_error = |source| Error::RunTerraform { step, environment: self.options.environment.clone(), source };
        tracing::debug!(step = %step, environment = %self.options.environment, program = %self.program.display(), "running terraform");
        let mut command = Command::new(&self.program);
        command.args(command_line(step, &self.options)).env("TF_IN_AUTOMATION", "1");
        let options = stack_process::Options {
            capture_stdout: capture,
            deliver: if capture { Deliver::Stderr } else { Deliver::All },
            tail_lines: STDERR_TAIL,
            tail_of: TailOf::Stderr,
            ..stack_process::Options::default()
        };
        match stack_process::run(command, &options, on_line) {
            Ok(finished) => Ok(finished.stdout),
            Err(stack_process::Error::Start { source, .. } | stack_process::Error::Wait { source, .. }) => Err(io_error(source)),
            Err(stack_process::Error::Failed { code, tail, .. }) => {
                let mut stderr_tail: Vec<String> = tail.split('\n').map(str::to_owned).collect();
                // Terraform ends its messages with blank lines; they would only pad the error.
                while stderr_tail.last().is_some_and(|line| line.trim().is_empty()) {
                    stderr_tail.pop();
                }
                Err(Error::TerraformFailed { step, environment: self.options.environment.clone(), code, stderr_tail })
            }
        }
    }

    fn check_confirmed(&self, step: Step) -> Result<()> {
        if self.options.yes { Ok(()) } else { Err(Error::TerraformNotConfirmed { step, environment: self.options.environment.clone() }) }
    }
}

/// Finds `terraform` as `binary` says.
fn find_binary(binary: &Binary) -> Result<PathBuf> {
    let found = match binary {
        Binary::Path => which::which("terraform"),
        Binary::SearchIn(paths) => {
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            which::which_in("terraform", Some(paths), cwd)
        }
        Binary::Exact(path) => which::which(path),
    };
    found.map_err(|_| Error::TerraformNotFound {
        looked_in: match binary {
            Binary::Path => "PATH".to_owned(),
            Binary::SearchIn(paths) => format!("`{}`", paths.to_string_lossy()),
            Binary::Exact(path) => format!("`{}`", path.display()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(environment: &str) -> Options {
        Options::new(Path::new("infrastructure/terraform"), environment)
    }

    fn check(step: Step, options: &Options, expected: &[&str]) {
        assert_eq!(command_line(step, options), expected, "{step}");
    }

    #[test]
    fn command_lines() {
        let dev = options("dev");
        let chdir = "-chdir=infrastructure/terraform/environments/dev";
        check(Step::Init, &dev, &[chdir, "init", "-input=false", "-no-color", "-backend-config=backend.hcl"]);
        check(Step::Plan, &dev, &[chdir, "plan", "-input=false", "-no-color", "-out=.terraform/srvthreds.tfplan"]);
        check(Step::PlanDestroy, &dev, &[chdir, "plan", "-input=false", "-no-color", "-destroy", "-out=.terraform/srvthreds.tfplan"]);
        check(Step::Show, &dev, &[chdir, "show", "-no-color", "-json", ".terraform/srvthreds.tfplan"]);
        check(Step::Apply, &dev, &[chdir, "apply", "-input=false", "-no-color", ".terraform/srvthreds.tfplan"]);
        check(Step::Destroy, &dev, &[chdir, "destroy", "-input=false", "-no-color", "-auto-approve"]);
        check(Step::Output, &dev, &[chdir, "output", "-no-color", "-json"]);
    }

    #[test]
    fn var_files_go_to_plan_and_destroy_only() {
        let mut dev = options("dev");
        dev.var_files = vec![PathBuf::from("extra.tfvars")];
        let chdir = "-chdir=infrastructure/terraform/environments/dev";
        check(
            Step::Plan,
            &dev,
            &[chdir, "plan", "-input=false", "-no-color", "-var-file=extra.tfvars", "-out=.terraform/srvthreds.tfplan"],
        );
        check(Step::Destroy, &dev, &[chdir, "destroy", "-input=false", "-no-color", "-var-file=extra.tfvars", "-auto-approve"]);
        check(Step::Apply, &dev, &[chdir, "apply", "-input=false", "-no-color", ".terraform/srvthreds.tfplan"]);
    }

    #[test]
    fn production_names() {
        assert!(is_production("prod"));
        assert!(is_production("production"));
        assert!(!is_production("staging"));
    }
}
