//! The operator's Terraform action on one environment as one call: `plan` (init, plan, summary),
//! `apply` (the same, a confirmation, then the saved plan applied) and `destroy` (init,
//! `plan -destroy`, confirmation, that plan applied), and the command list of its dry run.
//!
//! Decisions:
//!
//! - The confirmation is asked through a callback given a [`Confirmation`] (the plan and the
//!   word to type: `yes` for an apply, the environment's name for a destroy); the caller owns the
//!   terminal. When no answer can come ([`Confirm::Unavailable`]) a changing action is refused
//!   before `init`, not after minutes of planning.
//! - A plan that changes nothing is not applied and nothing is asked.
//! - A destroy of production is refused before `init` unless the Terraform options allow it.
//! - Errors and help texts describe what is needed ("confirm non-interactively"), never a flag of
//!   a particular command line.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::{BACKEND_CONFIG, Plan, PlanSummary, Step, Stream, Terraform, command_line, is_production};
use crate::{Error, Result};

/// What the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Init, plan, summary; changes nothing.
    Plan,
    /// Init, plan, summary, confirmation, apply of that plan.
    Apply,
    /// Init, `plan -destroy`, summary, confirmation, apply of that plan.
    Destroy,
}

/// How a changing action is confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    /// Confirmed in advance: nothing is asked.
    Yes,
    /// Ask through the callback once the plan is known.
    Ask,
    /// Nobody can be asked (not a terminal): a changing action is refused before it starts.
    Unavailable,
}

/// One action on one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub action: Action,
    /// Where and how Terraform runs, and whether a production destroy is allowed. Its `yes` is
    /// not read: the confirmation comes from `confirm`.
    pub terraform: super::Options,
    pub confirm: Confirm,
}

/// What [`run`] reports while it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A Terraform step starts in the environment.
    Step { step: Step, environment: &'a str },
    /// A line of Terraform's output (not the JSON of `show`).
    Line(Stream, &'a str),
}

/// The question asked before a plan is applied.
#[derive(Debug, Clone, Copy)]
pub struct Confirmation<'a> {
    pub environment: &'a str,
    pub action: Action,
    /// The plan that would be applied.
    pub summary: &'a PlanSummary,
    /// The answer that confirms: `yes`, or the environment's name for a destroy.
    pub expected: &'a str,
}

/// The result of [`run`]; serialises to the camelCase JSON document, displays as the human text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub environment: String,
    pub action: Action,
    pub summary: PlanSummary,
    /// Whether the plan was applied (always false for [`Action::Plan`] and for a plan that
    /// changes nothing).
    pub applied: bool,
}

/// The commands an action would run, and what would stop it; [`plan_dry_run`] runs nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRunPlan {
    pub environment: String,
    /// Each command's argv, `terraform` first.
    pub commands: Vec<Vec<String>>,
    /// What a real run would meet first; not part of the JSON document.
    #[serde(skip)]
    pub notes: Vec<DryRunNote>,
}

/// Something a real run of a dry-run plan would stop at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DryRunNote {
    /// `init` needs the backend settings, and they are missing.
    NoBackendConfig { path: PathBuf },
    /// A destroy of production would be refused without the explicit permission.
    ProdDestroyRefused { environment: String },
}

/// Runs `options.action`: events go to `on_event`, and `confirm` is asked (under
/// [`Confirm::Ask`]) whether to apply a plan that changes something; it answers whether the
/// operator confirmed ([`Confirmation::accepts`] checks an answer).
pub fn run(
    options: &Options,
    on_event: &mut dyn FnMut(Event<'_>),
    confirm: &mut dyn FnMut(&Confirmation<'_>) -> std::io::Result<bool>,
) -> Result<Report> {
    let action = options.action;
    let environment = options.terraform.environment.as_str();
    // Refuse before minutes of init and plan when the answer cannot come.
    if action != Action::Plan && options.confirm == Confirm::Unavailable {
        return Err(Error::TerraformConfirmationUnavailable { action, environment: environment.to_owned() });
    }
    let mut terraform_options = options.terraform.clone();
    terraform_options.yes = false;
    let terraform = Terraform::new(terraform_options.clone())?;
    let plan = action.plan();
    if plan == Plan::Destroy {
        terraform.ensure_destroy_allowed()?;
    }
    on_event(Event::Step { step: Step::Init, environment });
    terraform.init(&mut |stream, line| on_event(Event::Line(stream, line)))?;
    on_event(Event::Step { step: plan.step(), environment });
    let summary = terraform.plan(plan, &mut |stream, line| on_event(Event::Line(stream, line)))?;

    let mut applied = false;
    if action != Action::Plan && !summary.changes_nothing() {
        if options.confirm == Confirm::Ask {
            let expected = if plan == Plan::Destroy { environment } else { "yes" };
            let question = Confirmation { environment, action, summary: &summary, expected };
            let confirmed =
                confirm(&question).map_err(|source| Error::ReadConfirmation { action, environment: environment.to_owned(), source })?;
            if !confirmed {
                return Err(Error::TerraformDeclined { action, environment: environment.to_owned() });
            }
        }
        terraform_options.yes = true;
        let terraform = Terraform::new(terraform_options)?;
        on_event(Event::Step { step: Step::Apply, environment });
        terraform.apply(plan, &mut |stream, line| on_event(Event::Line(stream, line)))?;
        applied = true;
    }
    Ok(Report { environment: environment.to_owned(), action, summary, applied })
}

/// The command lines `options.action` would run, exactly, and what would stop a real run; runs
/// nothing and needs no `terraform` binary.
pub fn plan_dry_run(options: &Options) -> DryRunPlan {
    let steps: &[Step] = match options.action {
        Action::Plan => &[Step::Init, Step::Plan, Step::Show],
        Action::Apply => &[Step::Init, Step::Plan, Step::Show, Step::Apply],
        Action::Destroy => &[Step::Init, Step::PlanDestroy, Step::Show, Step::Apply],
    };
    let commands =
        steps.iter().map(|step| std::iter::once("terraform".to_owned()).chain(command_line(*step, &options.terraform)).collect()).collect();
    let mut notes = Vec::new();
    let backend = options.terraform.dir.join(BACKEND_CONFIG);
    if !backend.is_file() {
        notes.push(DryRunNote::NoBackendConfig { path: backend });
    }
    let environment = &options.terraform.environment;
    if options.action == Action::Destroy && is_production(environment) && !options.terraform.allow_prod_destroy {
        notes.push(DryRunNote::ProdDestroyRefused { environment: environment.clone() });
    }
    DryRunPlan { environment: environment.clone(), commands, notes }
}

impl Action {
    /// `plan`, `apply` or `destroy`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Plan => "plan",
            Action::Apply => "apply",
            Action::Destroy => "destroy",
        }
    }

    /// The plan this action makes.
    pub fn plan(self) -> Plan {
        match self {
            Action::Plan | Action::Apply => Plan::Changes,
            Action::Destroy => Plan::Destroy,
        }
    }
}

impl Confirm {
    /// [`Confirm::Yes`] when confirmed in advance; else [`Confirm::Ask`] when stdin is a
    /// terminal, [`Confirm::Unavailable`] when it is not.
    pub fn on_terminal(yes: bool) -> Confirm {
        match (yes, std::io::IsTerminal::is_terminal(&std::io::stdin())) {
            (true, _) => Confirm::Yes,
            (false, true) => Confirm::Ask,
            (false, false) => Confirm::Unavailable,
        }
    }
}

/// A confirmation callback for [`run`] on the terminal: the question on stderr, the answer
/// line from stdin.
pub fn ask_on_terminal(question: &Confirmation<'_>) -> std::io::Result<bool> {
    use std::io::{BufRead, Write};
    writeln!(std::io::stderr().lock(), "{question}")?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(question.accepts(&answer))
}

impl Confirmation<'_> {
    /// Whether `answer` (a line as typed, surrounding blanks ignored) confirms.
    pub fn accepts(&self, answer: &str) -> bool {
        answer.trim() == self.expected
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Event<'_> {
    /// `terraform init (dev)` for a step, the line itself for output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Step { step, environment } => write!(f, "terraform {step} ({environment})"),
            Event::Line(_, line) => f.write_str(line),
        }
    }
}

impl fmt::Display for Confirmation<'_> {
    /// The plan, then the question.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\nRun `terraform {}` with the plan above on environment `{}`?\nType `{}` to continue: ",
            self.summary, self.action, self.environment, self.expected
        )
    }
}

impl fmt::Display for Report {
    /// The plan summary, then (for `apply` and `destroy`) what became of it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.summary)?;
        match (self.action, self.applied) {
            (Action::Plan, _) => Ok(()),
            (action, false) => write!(f, "\nnothing to {action}: environment `{}` already matches", self.environment),
            (action, true) => write!(f, "\nterraform {action}: the plan above was applied to environment `{}`", self.environment),
        }
    }
}

impl fmt::Display for DryRunPlan {
    /// One shell line per command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.commands.iter().map(|argv| stack_process::shell_line(argv)).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl fmt::Display for DryRunNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DryRunNote::NoBackendConfig { path } => {
                write!(f, "{} does not exist yet; `init` needs it (copy backend.hcl.example)", path.display())
            }
            DryRunNote::ProdDestroyRefused { environment } => {
                write!(f, "destroying `{environment}` would be refused without the explicit permission to destroy production")
            }
        }
    }
}
