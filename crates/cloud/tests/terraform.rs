//! The Terraform runner and the plan summary, without Terraform: the summary is read from
//! hand-written plan JSON in the shape `terraform show -json` prints, and the runner's error
//! handling is exercised with a fake `terraform` shell script written into a temporary folder.
//! The fake is a stand-in for our tests of process handling; it is not Terraform.
//! `tests/terraform_real.rs` runs the real binary on a provider-free configuration.

#![cfg(unix)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use stack_cloud::Error;
use stack_cloud::terraform::{Binary, Counts, Options, Plan, PlanSummary, Step, Stream, Terraform, TypeCounts};

fn fixture(name: &str) -> PlanSummary {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    PlanSummary::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn counts(add: usize, change: usize, destroy: usize, replace: usize, read: usize) -> Counts {
    Counts { add, change, destroy, replace, read, forget: 0 }
}

fn row(resource_type: &str, counts: Counts) -> TypeCounts {
    TypeCounts { resource_type: resource_type.to_owned(), counts }
}

#[test]
fn first_time_create_of_vpc_and_eks() {
    let summary = fixture("plan-create-eks.json");
    assert_eq!(summary.terraform_version.as_deref(), Some("1.11.4"));
    assert_eq!(
        summary.resource_types,
        vec![
            row("aws_eip", counts(1, 0, 0, 0, 0)),
            row("aws_eks_cluster", counts(1, 0, 0, 0, 0)),
            row("aws_eks_node_group", counts(1, 0, 0, 0, 0)),
            row("aws_iam_openid_connect_provider", counts(1, 0, 0, 0, 0)),
            row("aws_iam_role", counts(2, 0, 0, 0, 0)),
            row("aws_internet_gateway", counts(1, 0, 0, 0, 0)),
            row("aws_nat_gateway", counts(1, 0, 0, 0, 0)),
            row("aws_subnet", counts(4, 0, 0, 0, 0)),
            row("aws_vpc", counts(1, 0, 0, 0, 0)),
            row("tls_certificate", counts(0, 0, 0, 0, 1)),
        ]
    );
    assert_eq!(summary.totals, counts(13, 0, 0, 0, 1));
    assert!(summary.replaced.is_empty());
    assert_eq!(summary.changed_outputs, ["cluster_endpoint", "cluster_name", "region"]);
    assert!(!summary.changes_nothing());
}

#[test]
fn update_and_replacements() {
    let summary = fixture("plan-update-replace.json");
    assert_eq!(
        summary.resource_types,
        vec![
            row("aws_eks_node_group", counts(0, 1, 0, 0, 0)),
            row("aws_launch_template", counts(0, 0, 0, 1, 0)),
            row("aws_security_group_rule", counts(0, 0, 1, 0, 0)),
            row("aws_subnet", counts(0, 0, 0, 1, 0)),
        ]
    );
    assert_eq!(summary.totals, counts(0, 1, 1, 2, 0));
    assert_eq!(summary.replaced, ["module.eks.aws_launch_template.nodes", "module.networking.aws_subnet.private[1]"]);
    assert_eq!(summary.changed_outputs, ["private_subnet_ids"]);
}

#[test]
fn empty_plan() {
    let summary = fixture("plan-empty.json");
    assert!(summary.resource_types.is_empty());
    assert_eq!(summary.totals, Counts::default());
    assert!(summary.replaced.is_empty() && summary.changed_outputs.is_empty());
    assert!(summary.changes_nothing());
    assert_eq!(summary.to_string(), "No changes: the infrastructure matches the configuration.\n");
}

#[test]
fn plan_without_resource_changes() {
    // Terraform leaves `resource_changes` out when the configuration has no resources at all.
    let summary = PlanSummary::from_json(r#"{"format_version":"1.2","terraform_version":"1.11.4"}"#).expect("plan");
    assert!(summary.changes_nothing());
}

#[test]
fn table() {
    let text = fixture("plan-update-replace.json").to_string();
    let expected = "\
TYPE                         ADD   CHANGE  DESTROY  REPLACE     READ   FORGET
aws_eks_node_group             0        1        0        0        0        0
aws_launch_template            0        0        0        1        0        0
aws_security_group_rule        0        0        1        0        0        0
aws_subnet                     0        0        0        1        0        0
total                          0        1        1        2        0        0

Replaced (destroyed, then created again):
  module.eks.aws_launch_template.nodes
  module.networking.aws_subnet.private[1]

Changed outputs: private_subnet_ids
";
    assert_eq!(text, expected);
}

#[test]
fn json_is_camel_case() {
    let json = serde_json::to_value(fixture("plan-update-replace.json")).expect("json");
    assert_eq!(json["terraformVersion"], "1.11.4");
    assert_eq!(json["totals"], serde_json::json!({"add":0,"change":1,"destroy":1,"replace":2,"read":0,"forget":0}));
    assert_eq!(
        json["resourceTypes"][0],
        serde_json::json!({"type":"aws_eks_node_group","add":0,"change":1,"destroy":0,"replace":0,"read":0,"forget":0})
    );
    assert_eq!(json["replaced"][1], "module.networking.aws_subnet.private[1]");
    assert_eq!(json["changedOutputs"], serde_json::json!(["private_subnet_ids"]));
}

// The runner.

/// Writing an executable while another test thread forks can make `exec` fail with ETXTBSY
/// (the child briefly holds the file open); scripts are written under the write lock and run
/// under the read lock.
static EXEC: RwLock<()> = RwLock::new(());

/// A tree with `environments/<env>` (and its `backend.hcl` when `backend`) and a `bin` folder.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new(environment: &str, backend: bool) -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = dir.path().join("environments").join(environment);
        fs::create_dir_all(&env).expect("env dir");
        if backend {
            fs::write(env.join("backend.hcl"), "bucket = \"test\"\n").expect("backend.hcl");
        }
        fs::create_dir_all(dir.path().join("bin")).expect("bin dir");
        Tree { dir }
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// Writes a fake `terraform` (a shell script, not Terraform) into `bin`.
    fn fake_terraform(&self, body: &str) {
        let _guard = EXEC.write().unwrap_or_else(|e| e.into_inner());
        let path = self.bin().join("terraform");
        fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write fake terraform");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    fn options(&self, environment: &str) -> Options {
        let mut options = Options::new(self.dir.path(), environment);
        options.binary = Binary::SearchIn(self.bin().into_os_string());
        options
    }

    fn invoked(&self) -> bool {
        self.bin().join("invoked").exists()
    }
}

/// Runs `f` with the lines it reports collected.
fn collect<T>(f: impl FnOnce(&mut dyn FnMut(Stream, &str)) -> T) -> (T, Vec<(Stream, String)>) {
    let _guard = EXEC.read().unwrap_or_else(|e| e.into_inner());
    let mut lines = Vec::new();
    let result = f(&mut |stream, line| lines.push((stream, line.to_owned())));
    (result, lines)
}

#[test]
fn missing_binary_names_where_it_looked_and_how_to_install() {
    let tree = Tree::new("dev", true);
    let error = Terraform::new(tree.options("dev")).expect_err("no terraform in an empty folder");
    let Error::TerraformNotFound { looked_in } = &error else { panic!("{error:?}") };
    assert_eq!(looked_in, &format!("`{}`", tree.bin().display()));
    assert!(error.to_string().contains("help: install Terraform 1.11 or later"), "{error}");

    let mut options = tree.options("dev");
    options.binary = Binary::Exact(tree.bin().join("no-such-terraform"));
    assert!(matches!(Terraform::new(options), Err(Error::TerraformNotFound { .. })));
}

#[test]
fn missing_environment_folder() {
    let tree = Tree::new("dev", true);
    tree.fake_terraform("exit 0");
    let error = Terraform::new(tree.options("qa")).expect_err("no qa folder");
    assert!(matches!(&error, Error::TerraformEnvironment { environment, .. } if environment == "qa"), "{error:?}");
}

#[test]
fn non_zero_exit_keeps_the_last_20_stderr_lines() {
    let tree = Tree::new("dev", true);
    tree.fake_terraform(
        "echo \"fake terraform: $*\"\n\
         i=1; while [ $i -le 25 ]; do echo \"fake stderr line $i\" >&2; i=$((i+1)); done\n\
         exit 3",
    );
    let terraform = Terraform::new(tree.options("dev")).expect("fake terraform found");
    let (result, lines) = collect(|on_line| terraform.run(Step::Plan, on_line));
    let error = result.expect_err("exit 3");
    let Error::TerraformFailed { step, environment, code, stderr_tail } = &error else { panic!("{error:?}") };
    assert_eq!((*step, environment.as_str(), *code), (Step::Plan, "dev", Some(3)));
    let expected: Vec<String> = (6..=25).map(|i| format!("fake stderr line {i}")).collect();
    assert_eq!(stderr_tail, &expected);
    let message = error.to_string();
    assert!(message.starts_with("terraform plan failed for environment `dev` (exit code 3)\n  | fake stderr line 6\n"), "{message}");
    assert!(message.ends_with("\n  | fake stderr line 25"), "{message}");

    // Every line was streamed, stdout included; the argv reached the binary unchanged.
    assert_eq!(lines.iter().filter(|(s, _)| *s == Stream::Stderr).count(), 25);
    let chdir = format!("-chdir={}", tree.dir.path().join("environments/dev").display());
    assert_eq!(
        lines.iter().find(|(s, _)| *s == Stream::Stdout).map(|(_, l)| l.as_str()),
        Some(format!("fake terraform: {chdir} plan -input=false -no-color -out=.terraform/srvthreds.tfplan").as_str())
    );
}

#[test]
fn a_failed_init_says_what_init_needs() {
    let tree = Tree::new("dev", true);
    // The fake prints what Terraform prints without registry access, then a blank line.
    tree.fake_terraform(
        "echo 'Error: Failed to query available provider packages' >&2\n\
         echo '' >&2\n\
         echo 'Could not retrieve the list of available versions for provider hashicorp/aws' >&2\n\
         echo '' >&2\n\
         exit 1",
    );
    let terraform = Terraform::new(tree.options("dev")).expect("fake terraform found");
    let (result, _) = collect(|on_line| terraform.init(on_line));
    let error = result.expect_err("exit 1");
    assert_eq!(
        error.to_string(),
        "terraform init failed for environment `dev` (exit code 1)\n\
         \x20 | Error: Failed to query available provider packages\n\
         \x20 |\n\
         \x20 | Could not retrieve the list of available versions for provider hashicorp/aws\n\
         \x20 help: `terraform init` downloads the providers from registry.terraform.io and opens the S3 state backend: \
         it needs network access and AWS credentials (the lines above are Terraform's own explanation)"
    );
}

#[test]
fn plan_reads_the_summary_from_show() {
    let tree = Tree::new("staging", true);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plan-update-replace.json");
    tree.fake_terraform(&format!(
        "case \"$2\" in\n  plan) echo 'fake plan output' ;;\n  show) cat '{}' ;;\n  *) exit 9 ;;\nesac",
        fixture.display()
    ));
    let terraform = Terraform::new(tree.options("staging")).expect("fake terraform found");
    let (summary, lines) = collect(|on_line| terraform.plan(Plan::Changes, on_line));
    let summary = summary.expect("summary");
    assert_eq!(summary.totals, counts(0, 1, 1, 2, 0));
    // The JSON of `show` is returned, not streamed.
    assert_eq!(lines, [(Stream::Stdout, "fake plan output".to_owned())]);
}

#[test]
fn init_needs_backend_settings() {
    let tree = Tree::new("dev", false);
    tree.fake_terraform("touch \"$(dirname \"$0\")/invoked\"");
    let terraform = Terraform::new(tree.options("dev")).expect("fake terraform found");
    let (result, _) = collect(|on_line| terraform.init(on_line));
    let error = result.expect_err("no backend.hcl");
    assert!(matches!(&error, Error::TerraformBackendConfig { environment, .. } if environment == "dev"), "{error:?}");
    assert!(error.to_string().contains("help: copy backend.hcl.example"), "{error}");
    assert!(!tree.invoked());
}

#[test]
fn apply_and_destroy_need_confirmation() {
    let tree = Tree::new("dev", true);
    tree.fake_terraform("touch \"$(dirname \"$0\")/invoked\"");
    let terraform = Terraform::new(tree.options("dev")).expect("fake terraform found");
    let (apply, _) = collect(|on_line| terraform.apply(Plan::Changes, on_line));
    assert!(matches!(apply, Err(Error::TerraformNotConfirmed { step: Step::Apply, .. })), "{apply:?}");
    let (destroy, _) = collect(|on_line| terraform.destroy(on_line));
    assert!(matches!(destroy, Err(Error::TerraformNotConfirmed { step: Step::Destroy, .. })), "{destroy:?}");
    assert!(!tree.invoked());

    let mut options = tree.options("dev");
    options.yes = true;
    let terraform = Terraform::new(options).expect("fake terraform found");
    let (destroy, _) = collect(|on_line| terraform.destroy(on_line));
    destroy.expect("confirmed destroy of dev runs");
    assert!(tree.invoked());
}

#[test]
fn destroying_prod_needs_the_extra_permission() {
    let tree = Tree::new("prod", true);
    tree.fake_terraform("touch \"$(dirname \"$0\")/invoked\"");
    let mut options = tree.options("prod");
    options.yes = true;
    let terraform = Terraform::new(options.clone()).expect("fake terraform found");
    let (destroy, _) = collect(|on_line| terraform.destroy(on_line));
    assert!(matches!(&destroy, Err(Error::TerraformProdDestroy { environment }) if environment == "prod"), "{destroy:?}");
    let (apply, _) = collect(|on_line| terraform.apply(Plan::Destroy, on_line));
    assert!(matches!(apply, Err(Error::TerraformProdDestroy { .. })), "{apply:?}");
    assert!(!tree.invoked());

    options.allow_prod_destroy = true;
    let terraform = Terraform::new(options).expect("fake terraform found");
    let (destroy, _) = collect(|on_line| terraform.destroy(on_line));
    destroy.expect("explicitly allowed");
    assert!(tree.invoked());
}

// The operator's action: init, plan, confirmation, apply, through a fake `terraform` that logs
// its calls and shows the plan of `fixture`.

use stack_cloud::terraform::action::{self, Action, Confirm, DryRunNote, Event};

/// A fake `terraform` that appends its subcommand to `bin/calls` and prints `fixture` for `show`.
fn action_tree(environment: &str, fixture: &str) -> Tree {
    let tree = Tree::new(environment, true);
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(fixture);
    tree.fake_terraform(&format!(
        "echo \"$2\" >> \"$(dirname \"$0\")/calls\"\n\
         case \"$2\" in\n  plan) echo 'fake plan output' ;;\n  show) cat '{}' ;;\nesac",
        fixture.display()
    ));
    tree
}

fn calls(tree: &Tree) -> Vec<String> {
    fs::read_to_string(tree.bin().join("calls")).unwrap_or_default().lines().map(str::to_owned).collect()
}

fn action_options(tree: &Tree, environment: &str, action: Action, confirm: Confirm) -> action::Options {
    action::Options { action, terraform: tree.options(environment), confirm }
}

/// Runs the action, answering `answer` when asked; returns the result, the events as text and
/// the questions asked.
fn run_action(options: &action::Options, answer: &str) -> (stack_cloud::Result<action::Report>, Vec<String>, Vec<String>) {
    let _guard = EXEC.read().unwrap_or_else(|e| e.into_inner());
    let mut events = Vec::new();
    let mut asked = Vec::new();
    let result = action::run(options, &mut |event: Event<'_>| events.push(event.to_string()), &mut |question| {
        asked.push(question.to_string());
        Ok(question.accepts(answer))
    });
    (result, events, asked)
}

#[test]
fn plan_only_plans() {
    let tree = action_tree("dev", "plan-update-replace.json");
    // A plan needs no confirmation, so none being available does not matter.
    let (report, events, asked) = run_action(&action_options(&tree, "dev", Action::Plan, Confirm::Unavailable), "");
    let report = report.expect("plan");
    assert!(!report.applied);
    assert_eq!(report.summary, fixture("plan-update-replace.json"));
    assert_eq!(calls(&tree), ["init", "plan", "show"]);
    assert_eq!(events, ["terraform init (dev)", "terraform plan (dev)", "fake plan output"]);
    assert!(asked.is_empty(), "{asked:?}");
    // The human text is the summary; the JSON has the fields `cloud plan --output json` prints.
    assert_eq!(report.to_string(), report.summary.to_string());
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["environment"], "dev");
    assert_eq!(json["action"], "plan");
    assert_eq!(json["applied"], false);
    assert_eq!(json["summary"], serde_json::to_value(&report.summary).expect("summary json"));
}

#[test]
fn apply_confirmed_applies_the_saved_plan() {
    let tree = action_tree("staging", "plan-update-replace.json");
    let (report, events, asked) = run_action(&action_options(&tree, "staging", Action::Apply, Confirm::Ask), "yes\n");
    let report = report.expect("confirmed apply");
    assert!(report.applied);
    assert_eq!(calls(&tree), ["init", "plan", "show", "apply"]);
    assert_eq!(events.last().map(String::as_str), Some("terraform apply (staging)"));
    assert_eq!(asked.len(), 1);
    assert!(asked[0].starts_with(&fixture("plan-update-replace.json").to_string()), "{}", asked[0]);
    assert!(asked[0].ends_with("on environment `staging`?\nType `yes` to continue: "), "{}", asked[0]);
    assert!(report.to_string().ends_with("the plan above was applied to environment `staging`"), "{report}");

    // Confirmed in advance: nothing is asked.
    let tree = action_tree("staging", "plan-update-replace.json");
    let (report, _, asked) = run_action(&action_options(&tree, "staging", Action::Apply, Confirm::Yes), "");
    assert!(report.expect("apply").applied);
    assert!(asked.is_empty());
    assert_eq!(calls(&tree), ["init", "plan", "show", "apply"]);
}

#[test]
fn apply_declined_changes_nothing() {
    let tree = action_tree("dev", "plan-update-replace.json");
    let (result, _, asked) = run_action(&action_options(&tree, "dev", Action::Apply, Confirm::Ask), "y");
    let error = result.expect_err("declined");
    assert!(matches!(&error, Error::TerraformDeclined { action: Action::Apply, environment } if environment == "dev"), "{error:?}");
    assert_eq!(error.to_string(), "terraform apply of environment `dev` cancelled: nothing was changed");
    assert_eq!(asked.len(), 1);
    assert_eq!(calls(&tree), ["init", "plan", "show"]);
}

#[test]
fn a_destroy_is_confirmed_with_the_environments_name() {
    let tree = action_tree("dev", "plan-update-replace.json");
    let (result, _, asked) = run_action(&action_options(&tree, "dev", Action::Destroy, Confirm::Ask), "yes");
    assert!(matches!(result, Err(Error::TerraformDeclined { action: Action::Destroy, .. })), "{result:?}");
    assert!(asked[0].ends_with("Type `dev` to continue: "), "{}", asked[0]);

    let tree = action_tree("dev", "plan-update-replace.json");
    let (result, _, _) = run_action(&action_options(&tree, "dev", Action::Destroy, Confirm::Ask), " dev ");
    assert!(result.expect("destroy").applied);
    assert_eq!(calls(&tree), ["init", "plan", "show", "apply"]);
}

#[test]
fn a_plan_without_changes_is_neither_asked_nor_applied() {
    let tree = action_tree("dev", "plan-empty.json");
    let (report, _, asked) = run_action(&action_options(&tree, "dev", Action::Apply, Confirm::Ask), "yes");
    let report = report.expect("nothing to do");
    assert!(!report.applied && asked.is_empty());
    assert_eq!(calls(&tree), ["init", "plan", "show"]);
    assert!(report.to_string().ends_with("\nnothing to apply: environment `dev` already matches"), "{report}");
}

#[test]
fn refusals_come_before_terraform_runs() {
    // Destroying prod without the explicit permission.
    let tree = action_tree("prod", "plan-update-replace.json");
    let (result, events, _) = run_action(&action_options(&tree, "prod", Action::Destroy, Confirm::Yes), "");
    let error = result.expect_err("prod destroy refused");
    assert!(matches!(&error, Error::TerraformProdDestroy { environment } if environment == "prod"), "{error:?}");
    assert!(events.is_empty() && calls(&tree).is_empty(), "{events:?}");

    // Nobody to ask.
    let (result, _, _) = run_action(&action_options(&tree, "prod", Action::Apply, Confirm::Unavailable), "");
    let error = result.expect_err("no confirmation possible");
    assert!(matches!(error, Error::TerraformConfirmationUnavailable { action: Action::Apply, .. }), "{error:?}");
    assert!(calls(&tree).is_empty());

    // With the permission, the destroy of prod goes ahead.
    let mut options = action_options(&tree, "prod", Action::Destroy, Confirm::Yes);
    options.terraform.allow_prod_destroy = true;
    let (result, _, _) = run_action(&options, "");
    assert!(result.expect("allowed").applied);
    assert_eq!(calls(&tree), ["init", "plan", "show", "apply"]);
}

#[test]
fn library_help_names_no_command_line_flag() {
    let tree = action_tree("prod", "plan-update-replace.json");
    for (action, confirm) in [(Action::Destroy, Confirm::Yes), (Action::Apply, Confirm::Unavailable)] {
        let (result, _, _) = run_action(&action_options(&tree, "prod", action, confirm), "");
        let message = result.expect_err("refused").to_string();
        assert!(message.contains("help: ") && !message.contains("--") && !message.contains("xtask"), "{message}");
    }
}

#[test]
fn dry_run_lists_the_exact_commands() {
    let tree = Tree::new("prod", false);
    let options = action_options(&tree, "prod", Action::Destroy, Confirm::Yes);
    let dry_run = action::plan_dry_run(&options);
    let dir = tree.dir.path().join("environments/prod");
    let chdir = format!("-chdir={}", dir.display());
    let command = |args: &[&str]| {
        std::iter::once("terraform").chain([chdir.as_str()]).chain(args.iter().copied()).map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(
        dry_run.commands,
        [
            command(&["init", "-input=false", "-no-color", "-backend-config=backend.hcl"]),
            command(&["plan", "-input=false", "-no-color", "-destroy", "-out=.terraform/srvthreds.tfplan"]),
            command(&["show", "-no-color", "-json", ".terraform/srvthreds.tfplan"]),
            command(&["apply", "-input=false", "-no-color", ".terraform/srvthreds.tfplan"]),
        ]
    );
    assert_eq!(
        dry_run.notes,
        [DryRunNote::NoBackendConfig { path: dir.join("backend.hcl") }, DryRunNote::ProdDestroyRefused { environment: "prod".to_owned() }]
    );
    let lines: Vec<String> = dry_run.commands.iter().map(|argv| stack_process::shell_line(argv)).collect();
    assert_eq!(dry_run.to_string(), lines.join("\n"));
    let json = serde_json::to_value(&dry_run).expect("json");
    assert_eq!(json, serde_json::json!({"environment": "prod", "commands": dry_run.commands}));

    // A plan: three commands; with backend settings and no destroy, no notes.
    let tree = Tree::new("dev", true);
    let dry_run = action::plan_dry_run(&action_options(&tree, "dev", Action::Plan, Confirm::Unavailable));
    assert_eq!(dry_run.commands.iter().map(|argv| argv[2].as_str()).collect::<Vec<_>>(), ["init", "plan", "show"]);
    assert!(dry_run.notes.is_empty(), "{:?}", dry_run.notes);
}
