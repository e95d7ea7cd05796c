//! Tests of the Terraform cross-reference check: the real tree is clean, and each kind of mistake in a small fixture tree is found with its file, line and a fix.

use std::fs;
use std::path::{Path, PathBuf};

use stack_cloud::Error;
use stack_cloud::lint::{Finding, FindingKind, lint};
use stack_testkit::fixture::copy_tree;

/// A small, clean Terraform tree in a temporary folder: one module (`net`) and one environment
/// (`dev`) that calls it. Each test breaks one thing.
struct Fixture {
    dir: tempfile::TempDir,
}

const MODULE_VARIABLES: &str = r#"variable "cluster_name" {
  type = string
}

variable "vpc_cidr" {
  type = string
}

variable "tags" {
  type    = map(string)
  default = {}
}
"#;

const MODULE_OUTPUTS: &str = r#"output "vpc_id" {
  value = "vpc-${var.cluster_name}"
}

output "vpc_cidr_block" {
  value = var.vpc_cidr
}
"#;

const ENV_MAIN: &str = r#"module "net" {
  source = "../../modules/net"

  cluster_name = var.cluster_name
  vpc_cidr     = var.vpc_cidr
}
"#;

const ENV_VARIABLES: &str = r#"variable "cluster_name" {
  type = string
}

variable "vpc_cidr" {
  type = string
}

variable "api_key" {
  type      = string
  sensitive = true
}

variable "region" {
  type    = string
  default = "us-west-2"
}
"#;

const ENV_TFVARS: &str = r#"cluster_name = "srvthreds-dev"
vpc_cidr     = "10.10.0.0/16"
"#;

const ENV_OUTPUTS: &str = r#"output "vpc_id" {
  value = module.net.vpc_id
}
"#;

impl Fixture {
    fn new() -> Fixture {
        let fixture = Fixture { dir: tempfile::tempdir().expect("temporary folder") };
        fixture.write("modules/net/variables.tf", MODULE_VARIABLES);
        fixture.write("modules/net/outputs.tf", MODULE_OUTPUTS);
        fixture.write("modules/net/main.tf", "locals {\n  cidr = var.vpc_cidr\n}\n");
        fixture.write("environments/dev/main.tf", ENV_MAIN);
        fixture.write("environments/dev/variables.tf", ENV_VARIABLES);
        fixture.write("environments/dev/terraform.tfvars", ENV_TFVARS);
        fixture.write("environments/dev/outputs.tf", ENV_OUTPUTS);
        fixture
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn path(&self, relative: &str) -> PathBuf {
        self.root().join(relative)
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.path(relative);
        fs::create_dir_all(path.parent().expect("a file in a folder")).expect("create folder");
        fs::write(path, text).expect("write fixture file");
    }

    fn lint(&self) -> Vec<Finding> {
        lint(self.root()).expect("lint runs")
    }

    /// Lints and expects exactly one finding.
    fn single(&self) -> Finding {
        let mut findings = self.lint();
        assert_eq!(findings.len(), 1, "expected one finding, got:\n{}", render(&findings));
        findings.remove(0)
    }

    /// Lints and expects exactly one finding, of `kind`, in `file` (relative to the fixture) at
    /// `line`.
    fn single_at(&self, kind: FindingKind, file: &str, line: Option<usize>) -> Finding {
        let finding = self.single();
        assert_eq!((finding.kind, &finding.file, finding.line), (kind, &self.path(file), line), "{finding}");
        finding
    }
}

fn render(findings: &[Finding]) -> String {
    findings.iter().map(|f| format!("{f}\n")).collect()
}

#[test]
fn the_real_terraform_tree_is_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure/terraform");
    let findings = lint(&root).expect("lint runs on infrastructure/terraform");
    assert!(findings.is_empty(), "findings in infrastructure/terraform:\n{}", render(&findings));
}

#[test]
fn the_environment_roots_share_one_copy_of_their_terraform_files() {
    // Only the values differ between environments: each root's `.tf` files are links to `root/`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure/terraform");
    for environment in ["dev", "staging", "prod"] {
        let dir = root.join("environments").join(environment);
        for file in ["main.tf", "variables.tf", "outputs.tf"] {
            let link = fs::read_link(dir.join(file)).unwrap_or_else(|e| panic!("environments/{environment}/{file} is not a link: {e}"));
            assert_eq!(link, Path::new("../../root").join(file), "environments/{environment}/{file}");
            assert!(dir.join(file).is_file(), "environments/{environment}/{file} points nowhere");
        }
        for file in ["terraform.tfvars", "backend.hcl.example"] {
            let meta = fs::symlink_metadata(dir.join(file)).unwrap_or_else(|e| panic!("environments/{environment}/{file}: {e}"));
            assert!(meta.is_file(), "environments/{environment}/{file} is the environment's own file");
        }
    }
}

#[test]
fn the_fixture_is_clean_and_a_sensitive_variable_may_be_absent_from_tfvars() {
    // `api_key` is sensitive, has no default and is not in terraform.tfvars: it comes from TF_VAR_api_key.
    let findings = Fixture::new().lint();
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn an_undeclared_argument_names_file_line_variable_and_module_and_suggests_the_close_one() {
    let fixture = Fixture::new();
    fixture.write(
        "environments/dev/main.tf",
        "module \"net\" {\n  source = \"../../modules/net\"\n\n  cluster_name = var.cluster_name\n  vpc_cidr     = var.vpc_cidr\n  tag          = {}\n}\n",
    );
    let finding = fixture.single_at(FindingKind::UndeclaredArgument, "environments/dev/main.tf", Some(6));
    assert_eq!(finding.message, "module `net` (../../modules/net) declares no variable `tag`");
    assert_eq!(finding.help.as_deref(), Some("did you mean `tags`?"));
    let shown = finding.to_string();
    assert!(shown.starts_with(&format!("{}:6: ", fixture.path("environments/dev/main.tf").display())), "{shown}");
    assert!(shown.ends_with("\n  help: did you mean `tags`?"), "{shown}");
}

#[test]
fn a_misspelt_required_argument_is_both_undeclared_and_missing() {
    let fixture = Fixture::new();
    fixture.write(
        "environments/dev/main.tf",
        "module \"net\" {\n  source = \"../../modules/net\"\n\n  clustr_name = var.cluster_name\n  vpc_cidr    = var.vpc_cidr\n}\n",
    );
    let findings = fixture.lint();
    let kinds: Vec<_> = findings.iter().map(|f| (f.kind, f.line)).collect();
    assert_eq!(kinds, [(FindingKind::MissingArgument, Some(1)), (FindingKind::UndeclaredArgument, Some(4))], "{}", render(&findings));
    assert_eq!(findings[1].help.as_deref(), Some("did you mean `cluster_name`?"));
}

#[test]
fn an_unknown_argument_without_a_close_variable_says_where_to_declare_it() {
    let fixture = Fixture::new();
    fixture.write(
        "environments/dev/main.tf",
        "module \"net\" {\n  source = \"../../modules/net\"\n\n  cluster_name  = var.cluster_name\n  vpc_cidr      = var.vpc_cidr\n  instance_size = \"M10\"\n}\n",
    );
    let finding = fixture.single();
    assert_eq!(finding.kind, FindingKind::UndeclaredArgument);
    assert!(finding.message.contains("`instance_size`"), "{finding}");
    let help = finding.help.expect("help");
    assert!(help.starts_with("remove it, or declare `variable \"instance_size\"`"), "{help}");
}

#[test]
fn meta_arguments_are_not_variables() {
    let fixture = Fixture::new();
    fixture.write(
        "environments/dev/main.tf",
        "module \"net\" {\n  source     = \"../../modules/net\"\n  count      = 1\n  depends_on = []\n  providers  = {}\n\n  cluster_name = var.cluster_name\n  vpc_cidr     = var.vpc_cidr\n}\n",
    );
    fixture.write("environments/dev/outputs.tf", "output \"vpc_id\" {\n  value = module.net[0].vpc_id\n}\n");
    let findings = fixture.lint();
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn a_required_variable_that_is_not_passed_is_reported_at_the_module_block() {
    let fixture = Fixture::new();
    fixture.write(
        "environments/dev/main.tf",
        "# network\n\nmodule \"net\" {\n  source = \"../../modules/net\"\n\n  cluster_name = var.cluster_name\n}\n",
    );
    let finding = fixture.single_at(FindingKind::MissingArgument, "environments/dev/main.tf", Some(3));
    assert_eq!(finding.message, "module `net` (../../modules/net) requires variable `vpc_cidr`, which this call does not pass");
    let help = finding.help.expect("help");
    assert!(help.contains(&format!("{}:5", fixture.path("modules/net/variables.tf").display())), "{help}");
}

#[test]
fn an_unknown_module_output_is_reported_where_it_is_referenced() {
    let fixture = Fixture::new();
    fixture.write(
        "environments/dev/outputs.tf",
        "output \"vpc_id\" {\n  value = module.net.vpc_id\n}\n\noutput \"cidr\" {\n  value = \"${module.net.vpc_cidr}/x\"\n}\n",
    );
    let finding = fixture.single_at(FindingKind::UnknownOutput, "environments/dev/outputs.tf", Some(6));
    assert_eq!(finding.message, "module `net` has no output `vpc_cidr`");
    assert_eq!(finding.help.as_deref(), Some("did you mean `module.net.vpc_cidr_block`?"));
}

#[test]
fn a_reference_to_an_undeclared_module_or_variable_is_reported() {
    let fixture = Fixture::new();
    fixture.write(
        "environments/dev/outputs.tf",
        "output \"vpc_id\" {\n  value = module.nett.vpc_id\n}\n\noutput \"region\" {\n  value = var.regoin\n}\n",
    );
    let findings = fixture.lint();
    let summary: Vec<_> = findings.iter().map(|f| (f.kind, f.line, f.help.clone())).collect();
    assert_eq!(
        summary,
        [
            (FindingKind::UnknownModule, Some(2), Some("did you mean `module.net`?".to_owned())),
            (FindingKind::UnknownVariable, Some(6), Some("did you mean `var.region`?".to_owned())),
        ],
        "{}",
        render(&findings)
    );
}

#[test]
fn tfvars_setting_an_undeclared_variable_is_reported_with_its_line() {
    let fixture = Fixture::new();
    fixture.write("environments/dev/terraform.tfvars", &format!("{ENV_TFVARS}\n# typo\nregoin = \"us-east-1\"\n"));
    let finding = fixture.single_at(FindingKind::TfvarsUndeclared, "environments/dev/terraform.tfvars", Some(5));
    assert_eq!(finding.message, "sets `regoin`, which the environment does not declare");
    assert_eq!(finding.help.as_deref(), Some("did you mean `region`?"));
}

#[test]
fn a_non_sensitive_required_variable_missing_from_tfvars_is_reported() {
    let fixture = Fixture::new();
    fixture.write("environments/dev/terraform.tfvars", "cluster_name = \"srvthreds-dev\"\n");
    let finding = fixture.single_at(FindingKind::TfvarsMissing, "environments/dev/terraform.tfvars", None);
    assert_eq!(finding.message, "does not set `vpc_cidr`, which has no default");
    assert!(finding.help.expect("help").contains("TF_VAR_vpc_cidr"));
}

#[test]
fn a_missing_tfvars_file_reports_every_non_sensitive_required_variable() {
    let fixture = Fixture::new();
    fs::remove_file(fixture.path("environments/dev/terraform.tfvars")).expect("remove tfvars");
    let findings = fixture.lint();
    let names: Vec<_> = findings.iter().map(|f| (f.kind, f.message.as_str())).collect();
    assert_eq!(
        names,
        [
            (FindingKind::TfvarsMissing, "does not set `cluster_name`, which has no default"),
            (FindingKind::TfvarsMissing, "does not set `vpc_cidr`, which has no default"),
        ]
    );
}

#[test]
fn a_secret_in_tfvars_is_reported() {
    let fixture = Fixture::new();
    fixture.write("environments/dev/terraform.tfvars", &format!("{ENV_TFVARS}api_key = \"hunter2\"\n"));
    let finding = fixture.single();
    assert_eq!(finding.kind, FindingKind::TfvarsSecret);
    assert_eq!(finding.line, Some(3));
    assert_eq!(finding.message, "sets sensitive variable `api_key` in a committed file");
    assert_eq!(finding.help.as_deref(), Some("remove it; secrets come from the environment: export TF_VAR_api_key=..."));
}

#[test]
fn a_parse_error_is_a_finding_with_file_and_line_and_stops_that_folders_checks() {
    let fixture = Fixture::new();
    // The module's variables become unreadable: the call's arguments are then not checked against them.
    fixture.write("modules/net/variables.tf", "variable \"cluster_name\" {\n  type = string\n\nvariable \"vpc_cidr\" {\n");
    let finding = fixture.single();
    assert_eq!(finding.kind, FindingKind::Parse);
    assert_eq!(finding.file, fixture.path("modules/net/variables.tf"));
    assert!(finding.line.is_some_and(|line| line >= 1), "{finding}");
    assert!(finding.message.starts_with("not valid HCL"), "{finding}");
}

#[test]
fn a_local_module_source_that_is_not_a_folder_is_reported() {
    let fixture = Fixture::new();
    fixture.write("environments/dev/main.tf", &ENV_MAIN.replace("modules/net", "modules/network"));
    let findings = fixture.lint();
    assert_eq!(findings.len(), 1, "{}", render(&findings));
    assert_eq!(findings[0].kind, FindingKind::ModuleSource);
    assert_eq!(findings[0].line, Some(2));
    assert!(findings[0].message.contains("../../modules/network"), "{}", findings[0]);
}

#[test]
fn registry_sources_are_not_followed() {
    let fixture = Fixture::new();
    fixture.write(
        "environments/dev/main.tf",
        &format!(
            "{ENV_MAIN}\nmodule \"vpc\" {{\n  source  = \"terraform-aws-modules/vpc/aws\"\n  version = \"~> 5.0\"\n  anything = true\n}}\n"
        ),
    );
    fixture.write("environments/dev/outputs.tf", &format!("{ENV_OUTPUTS}\noutput \"x\" {{\n  value = module.vpc.whatever\n}}\n"));
    let findings = fixture.lint();
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn module_to_module_calls_are_checked_too() {
    let fixture = Fixture::new();
    fixture.write("modules/app/variables.tf", "variable \"vpc_id\" {\n  type = string\n}\n");
    fixture.write("modules/app/main.tf", "module \"net\" {\n  source = \"../net\"\n\n  cluster_name = \"x\"\n  vpc_cidr     = \"10.0.0.0/16\"\n  vpc          = var.vpc_id\n}\n");
    let finding = fixture.single_at(FindingKind::UndeclaredArgument, "modules/app/main.tf", Some(6));
    assert_eq!(finding.message, "module `net` (../net) declares no variable `vpc`");
}

#[test]
fn addresses_in_moved_removed_and_import_blocks_are_not_references() {
    let fixture = Fixture::new();
    fixture.write(
        "environments/dev/refactor.tf",
        "moved {\n  from = module.network\n  to   = module.net\n}\n\nimport {\n  to = module.net.aws_vpc.this\n  id = \"vpc-1\"\n}\n",
    );
    let findings = fixture.lint();
    assert!(findings.is_empty(), "{}", render(&findings));
}

#[test]
fn a_tree_without_environments_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let error = lint(dir.path()).expect_err("no environments folder");
    assert!(matches!(&error, Error::NoTerraformEnvironments { path } if path == &dir.path().join("environments")), "{error:?}");
    assert!(error.to_string().contains("help: pass the folder that holds `environments/`"), "{error}");
}

#[test]
fn findings_serialize_with_kebab_case_kinds() {
    let fixture = Fixture::new();
    fixture.write("environments/dev/terraform.tfvars", &format!("{ENV_TFVARS}api_key = \"x\"\n"));
    let json = serde_json::to_value(fixture.lint()).expect("findings serialize");
    assert_eq!(json[0]["kind"], "tfvars-secret");
    assert_eq!(json[0]["line"], 3);
}

/// A copy of the real tree with one edit to `file` (relative to `infrastructure/terraform`);
/// returns the copy, the edited file's path and its new text.
fn real_tree_with(file: &str, from: &str, to: &str) -> (tempfile::TempDir, PathBuf, String) {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure/terraform");
    let copy = tempfile::tempdir().expect("temporary folder");
    copy_tree(&source, copy.path()).expect("copy the terraform tree");
    let path = copy.path().join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {file}: {e}"));
    let broken = text.replacen(from, to, 1);
    assert_ne!(broken, text, "{file} has `{from}`");
    fs::write(&path, &broken).unwrap_or_else(|e| panic!("write {file}: {e}"));
    (copy, path, broken)
}

/// The one-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line with `{needle}`")) + 1
}

#[test]
fn the_real_tree_with_a_misspelt_argument_fails_naming_the_file_and_the_variable() {
    // The environment root calls srvthreds-stack, which calls eks: the module-in-module call is checked.
    let (copy, main, broken) = real_tree_with(
        "modules/srvthreds-stack/main.tf",
        "  kubernetes_version           = var.kubernetes_version",
        "  kubernetes_versoin           = var.kubernetes_version",
    );
    let (block, line) = (line_of(&broken, "module \"eks\" {"), line_of(&broken, "kubernetes_versoin"));

    let findings = lint(copy.path()).expect("lint runs");
    let summary: Vec<_> = findings.iter().map(|f| (f.kind, f.file.clone(), f.line)).collect();
    assert_eq!(
        summary,
        [(FindingKind::MissingArgument, main.clone(), Some(block)), (FindingKind::UndeclaredArgument, main.clone(), Some(line))],
        "{}",
        render(&findings)
    );
    assert!(findings[1].message.contains("`kubernetes_versoin`") && findings[1].message.contains("module `eks`"), "{}", findings[1]);
    assert_eq!(findings[1].help.as_deref(), Some("did you mean `kubernetes_version`?"));
}

#[test]
fn the_real_tree_with_a_misspelt_pass_through_in_an_environment_root_names_the_root() {
    // The same edit as the xtask `cloud lint` test (tests/tests/config_cli.rs), which expects line 78.
    let (copy, main, broken) = real_tree_with("environments/prod/main.tf", "  cluster_name       =", "  cluster_nme       =");
    let (block, line) = (line_of(&broken, "module \"stack\" {"), line_of(&broken, "cluster_nme"));
    assert_eq!(line, 78, "tests/tests/config_cli.rs expects the finding at environments/prod/main.tf:78");

    let findings = lint(copy.path()).expect("lint runs");
    let summary: Vec<_> = findings.iter().map(|f| (f.kind, f.file.clone(), f.line)).collect();
    assert_eq!(
        summary,
        [(FindingKind::MissingArgument, main.clone(), Some(block)), (FindingKind::UndeclaredArgument, main.clone(), Some(line))],
        "{}",
        render(&findings)
    );
    assert!(findings[1].message.contains("module `stack` (../../modules/srvthreds-stack)"), "{}", findings[1]);
    assert_eq!(findings[1].help.as_deref(), Some("did you mean `cluster_name`?"));
}

#[test]
fn the_real_tree_with_an_output_the_stack_does_not_have_names_the_root() {
    let (copy, outputs, broken) =
        real_tree_with("environments/dev/outputs.tf", "value = module.stack.redis_port", "value = module.stack.redis_prt");
    let findings = lint(copy.path()).expect("lint runs");
    let summary: Vec<_> = findings.iter().map(|f| (f.kind, f.file.clone(), f.line)).collect();
    assert_eq!(summary, [(FindingKind::UnknownOutput, outputs, Some(line_of(&broken, "redis_prt")))], "{}", render(&findings));
    assert_eq!(findings[0].help.as_deref(), Some("did you mean `module.stack.redis_port`?"));
}
