//! Cross-reference check of the Terraform tree: module inputs and outputs, and each environment's `terraform.tfvars`.
//!
//! [`lint`] reads `.tf` files with the `hcl-edit` parser (the parser under `hcl-rs`, used directly
//! because it keeps byte spans) and needs neither the `terraform` binary nor any provider. It
//! checks what `terraform validate` would catch only after a provider download:
//!
//! - every argument of a `module "x" { source = "./…" | "../…" }` block, other than the
//!   meta-arguments (`source`, `version`, `providers`, `count`, `for_each`, `depends_on`), is a
//!   `variable` the module declares (with a did-you-mean hint when a declared one is close);
//! - every module variable without a `default` is passed;
//! - every `module.NAME.OUTPUT` reference names a declared module call and an `output` of it;
//! - every `var.NAME` reference names a declared variable;
//! - in each environment (`environments/*`), `terraform.tfvars` sets only declared variables and
//!   every variable without a `default` — except the ones marked `sensitive = true`: those are
//!   secrets, expected from `TF_VAR_*` environment variables, and must *not* be in the file.
//!
//! Module calls with a registry or git source are not followed. The directories checked are
//! every folder under `environments/` and `modules/` plus every folder a local `source` reaches.
//!
//! Line numbers come from the parser's byte spans (the attribute, block or reference itself),
//! counted into lines of the file text; they are exact. A finding has no line when it is about a
//! missing thing (a `terraform.tfvars` without an entry) rather than something written.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::path::{Component, Path, PathBuf};

use hcl_edit::Span;
use hcl_edit::expr::{Expression, Traversal, TraversalOperator};
use hcl_edit::structure::{Block, Body};
use hcl_edit::visit::{Visit, visit_traversal};
use serde::Serialize;
use stack_config::suggest::{Rules, closest_with};

use crate::{Error, Result};

/// One problem in the Terraform tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of problem it is (stable, for tests and JSON output).
    pub kind: FindingKind,
    /// The file to fix: the terraform root (with `.` and `name/..` removed) joined with the
    /// file's path inside it.
    pub file: PathBuf,
    /// One-based line in `file`, when the problem is something written there.
    pub line: Option<usize>,
    /// What is wrong, naming the variable, output or module.
    pub message: String,
    /// How to fix it, when there is more to say than the message.
    pub help: Option<String>,
}

/// The kinds of [`Finding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FindingKind {
    /// A `.tf` or `.tfvars` file is not valid HCL; its folder's other checks are skipped.
    Parse,
    /// A module's local `source` is not a folder.
    ModuleSource,
    /// A module call passes an argument the module declares no variable for.
    UndeclaredArgument,
    /// A module call does not pass a variable the module requires (no default).
    MissingArgument,
    /// `module.NAME…` names no module call of the folder.
    UnknownModule,
    /// `module.NAME.OUTPUT` names no output of the module.
    UnknownOutput,
    /// `var.NAME` names no declared variable.
    UnknownVariable,
    /// An environment variable without default (and not sensitive) is not set in `terraform.tfvars`.
    TfvarsMissing,
    /// `terraform.tfvars` sets a variable the environment does not declare.
    TfvarsUndeclared,
    /// `terraform.tfvars` sets a sensitive variable: secrets come from `TF_VAR_*`.
    TfvarsSecret,
}

/// Checks the Terraform tree at `terraform_root` (the folder holding `environments/` and
/// `modules/`) and returns its findings, sorted by file and line; empty means clean.
///
/// # Errors
///
/// Only when the check cannot run: no `environments/` folder, or a folder or file that cannot
/// be read. A file that does not parse is a [`FindingKind::Parse`] finding, not an error.
pub fn lint(terraform_root: &Path) -> Result<Vec<Finding>> {
    // One spelling per folder, whether it is reached by listing `modules/` or through a
    // `source = "../../modules/x"`.
    let terraform_root = normalize(terraform_root);
    let environments = terraform_root.join("environments");
    if !environments.is_dir() {
        return Err(Error::NoTerraformEnvironments { path: environments });
    }
    let env_dirs = subdirs(&environments)?;
    let modules = terraform_root.join("modules");
    let module_dirs = if modules.is_dir() { subdirs(&modules)? } else { Vec::new() };

    let mut findings = Vec::new();
    let mut tree: BTreeMap<PathBuf, Folder> = BTreeMap::new();
    let mut queue: Vec<PathBuf> = env_dirs.iter().chain(&module_dirs).cloned().collect();
    while let Some(dir) = queue.pop() {
        if tree.contains_key(&dir) {
            continue;
        }
        let folder = Folder::load(&dir, &mut findings)?;
        for call in &folder.calls {
            if let Some(target) = call.local_target(&dir).filter(|t| t.is_dir() && !tree.contains_key(t)) {
                queue.push(target);
            }
        }
        tree.insert(dir, folder);
    }

    for (dir, folder) in &tree {
        if folder.parsed {
            check_folder(dir, folder, &tree, &mut findings);
        }
    }
    for dir in &env_dirs {
        if let Some(folder) = tree.get(dir).filter(|f| f.parsed) {
            check_tfvars(dir, folder, &mut findings)?;
        }
    }
    findings.sort_by(|a, b| (&a.file, a.line, &a.message).cmp(&(&b.file, b.line, &b.message)));
    Ok(findings)
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Arguments of a `module` block that are not input variables.
const META_ARGUMENTS: [&str; 6] = ["source", "version", "providers", "count", "for_each", "depends_on"];

/// Top-level blocks whose `module.…` traversals are addresses, not references.
const ADDRESS_BLOCKS: [&str; 3] = ["moved", "removed", "import"];

/// What one Terraform folder (a root or child module) declares and references.
#[derive(Debug, Default)]
struct Folder {
    /// False when a file failed to parse: the declarations are incomplete, so checks against
    /// them would only repeat the parse error.
    parsed: bool,
    variables: BTreeMap<String, Variable>,
    outputs: BTreeSet<String>,
    calls: Vec<ModuleCall>,
    references: Vec<Reference>,
}

#[derive(Debug)]
struct Variable {
    has_default: bool,
    sensitive: bool,
    file: PathBuf,
    line: usize,
}

#[derive(Debug)]
struct ModuleCall {
    name: String,
    source: Option<String>,
    file: PathBuf,
    line: usize,
    source_line: usize,
    arguments: Vec<(String, usize)>,
}

/// A `module.NAME[.OUTPUT]` or `var.NAME` reference.
#[derive(Debug)]
struct Reference {
    root: Root,
    name: String,
    attribute: Option<String>,
    file: PathBuf,
    line: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Module,
    Var,
}

impl Folder {
    fn load(dir: &Path, findings: &mut Vec<Finding>) -> Result<Folder> {
        let mut folder = Folder { parsed: true, ..Folder::default() };
        let mut files = fs::read_dir(dir)
            .and_then(|entries| entries.map(|e| e.map(|e| e.path())).collect::<std::io::Result<Vec<_>>>())
            .map_err(|source| Error::ReadTerraformDir { path: dir.to_path_buf(), source })?;
        files.retain(|p| p.is_file() && p.extension().is_some_and(|e| e == "tf"));
        files.sort();
        for file in files {
            let Some((text, body)) = parse_file(&file, findings)? else {
                folder.parsed = false;
                continue;
            };
            let lines = Lines::new(&text);
            folder.collect(&file, &body, &lines);
        }
        Ok(folder)
    }

    fn collect(&mut self, file: &Path, body: &Body, lines: &Lines) {
        for block in body.blocks() {
            let Some(label) = single_label(block) else { continue };
            let line = lines.of(block);
            match block.ident.as_str() {
                "variable" => {
                    let has_default = block.body.has_attribute("default");
                    let sensitive = block.body.get_attribute("sensitive").and_then(|a| a.value.as_bool()).unwrap_or(false);
                    self.variables.insert(label.to_owned(), Variable { has_default, sensitive, file: file.to_path_buf(), line });
                }
                "output" => {
                    self.outputs.insert(label.to_owned());
                }
                "module" => {
                    let source_attr = block.body.get_attribute("source");
                    let arguments = block
                        .body
                        .attributes()
                        .filter(|a| !META_ARGUMENTS.contains(&a.key.as_str()))
                        .map(|a| (a.key.as_str().to_owned(), lines.of(a)))
                        .collect();
                    self.calls.push(ModuleCall {
                        name: label.to_owned(),
                        source: source_attr.and_then(|a| a.value.as_str()).map(str::to_owned),
                        file: file.to_path_buf(),
                        line,
                        source_line: source_attr.map_or(line, |a| lines.of(a)),
                        arguments,
                    });
                }
                _ => {}
            }
        }
        // `moved`, `removed` and `import` blocks hold resource addresses (`module.old`,
        // `module.x.aws_vpc.this`), not expressions that read module outputs.
        let mut collector = References { file, lines, found: &mut self.references };
        for structure in body.iter() {
            if !structure.as_block().is_some_and(|b| ADDRESS_BLOCKS.contains(&b.ident.as_str())) {
                collector.visit_structure(structure);
            }
        }
    }
}

impl ModuleCall {
    /// The folder of a local source (`./…` or `../…`), resolved lexically against `dir`.
    fn local_target(&self, dir: &Path) -> Option<PathBuf> {
        let source = self.source.as_deref()?;
        (source.starts_with("./") || source.starts_with("../")).then(|| normalize(&dir.join(source)))
    }
}

/// Collects `module.…` and `var.…` traversals anywhere in a body, with their lines.
struct References<'a> {
    file: &'a Path,
    lines: &'a Lines,
    found: &'a mut Vec<Reference>,
}

impl Visit for References<'_> {
    fn visit_traversal(&mut self, node: &Traversal) {
        let root = match &node.expr {
            Expression::Variable(v) if v.as_str() == "module" => Some(Root::Module),
            Expression::Variable(v) if v.as_str() == "var" => Some(Root::Var),
            _ => None,
        };
        let mut attributes = node.operators.iter().map(|op| op.value());
        if let (Some(root), Some(TraversalOperator::GetAttr(name))) = (root, attributes.next()) {
            // `module.x[0].out` and `module.x[*].out`: skip index and splat operators.
            let attribute = attributes.find_map(|op| match op {
                TraversalOperator::GetAttr(attr) => Some(attr.as_str().to_owned()),
                _ => None,
            });
            self.found.push(Reference {
                root,
                name: name.as_str().to_owned(),
                attribute,
                file: self.file.to_path_buf(),
                line: self.lines.of(node),
            });
        }
        visit_traversal(self, node);
    }
}

/// Module calls, module outputs and variable references of one folder.
fn check_folder(dir: &Path, folder: &Folder, tree: &BTreeMap<PathBuf, Folder>, findings: &mut Vec<Finding>) {
    let mut targets: BTreeMap<&str, &Folder> = BTreeMap::new();
    for call in &folder.calls {
        let Some(target_dir) = call.local_target(dir) else {
            tracing::debug!(module = %call.name, source = call.source.as_deref(), "not following a non-local module source");
            continue;
        };
        let Some(target) = tree.get(&target_dir) else {
            findings.push(Finding {
                kind: FindingKind::ModuleSource,
                file: call.file.clone(),
                line: Some(call.source_line),
                message: format!("module `{}`: source `{}` is not a folder", call.name, call.source.as_deref().unwrap_or("")),
                help: Some(format!("expected a Terraform module at `{}`", target_dir.display())),
            });
            continue;
        };
        targets.insert(&call.name, target);
        if !target.parsed {
            continue;
        }
        let source = call.source.as_deref().unwrap_or("");
        for (argument, line) in &call.arguments {
            if target.variables.contains_key(argument) {
                continue;
            }
            let help = match suggest(argument, target.variables.keys().map(String::as_str)) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("remove it, or declare `variable \"{argument}\"` in `{}`", target_dir.display()),
            };
            findings.push(Finding {
                kind: FindingKind::UndeclaredArgument,
                file: call.file.clone(),
                line: Some(*line),
                message: format!("module `{}` ({source}) declares no variable `{argument}`", call.name),
                help: Some(help),
            });
        }
        for (name, variable) in &target.variables {
            if variable.has_default || call.arguments.iter().any(|(a, _)| a == name) {
                continue;
            }
            findings.push(Finding {
                kind: FindingKind::MissingArgument,
                file: call.file.clone(),
                line: Some(call.line),
                message: format!("module `{}` ({source}) requires variable `{name}`, which this call does not pass", call.name),
                help: Some(format!(
                    "add `{name} = ...` to the module block (declared without default at {}:{})",
                    variable.file.display(),
                    variable.line
                )),
            });
        }
    }

    let call_names: BTreeSet<&str> = folder.calls.iter().map(|c| c.name.as_str()).collect();
    for reference in &folder.references {
        let name = reference.name.as_str();
        let finding = match reference.root {
            Root::Var if !folder.variables.contains_key(name) => Some((
                FindingKind::UnknownVariable,
                format!("reference to undeclared variable `var.{name}`"),
                suggest(name, folder.variables.keys().map(String::as_str)).map(|c| format!("did you mean `var.{c}`?")),
            )),
            Root::Var => None,
            Root::Module if !call_names.contains(name) => Some((
                FindingKind::UnknownModule,
                format!("reference to undeclared module `module.{name}`"),
                suggest(name, call_names.iter().copied()).map(|c| format!("did you mean `module.{c}`?")),
            )),
            Root::Module => {
                let target = targets.get(name).filter(|t| t.parsed);
                match (target, &reference.attribute) {
                    (Some(target), Some(output)) if !target.outputs.contains(output) => Some((
                        FindingKind::UnknownOutput,
                        format!("module `{name}` has no output `{output}`"),
                        Some(match suggest(output, target.outputs.iter().map(String::as_str)) {
                            Some(close) => format!("did you mean `module.{name}.{close}`?"),
                            None => format!("declare `output \"{output}\"` in the module, or use one it has"),
                        }),
                    )),
                    _ => None,
                }
            }
        };
        if let Some((kind, message, help)) = finding {
            findings.push(Finding { kind, file: reference.file.clone(), line: Some(reference.line), message, help });
        }
    }
}

/// An environment's `terraform.tfvars` against its variables.
fn check_tfvars(dir: &Path, folder: &Folder, findings: &mut Vec<Finding>) -> Result<()> {
    let file = dir.join("terraform.tfvars");
    let mut set = BTreeSet::new();
    if file.is_file() {
        let Some((text, body)) = parse_file(&file, findings)? else { return Ok(()) };
        let lines = Lines::new(&text);
        for attribute in body.attributes() {
            let name = attribute.key.as_str();
            set.insert(name.to_owned());
            let line = Some(lines.of(attribute));
            match folder.variables.get(name) {
                None => findings.push(Finding {
                    kind: FindingKind::TfvarsUndeclared,
                    file: file.clone(),
                    line,
                    message: format!("sets `{name}`, which the environment does not declare"),
                    help: Some(match suggest(name, folder.variables.keys().map(String::as_str)) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("remove it, or declare `variable \"{name}\"` in `{}`", dir.display()),
                    }),
                }),
                Some(variable) if variable.sensitive => findings.push(Finding {
                    kind: FindingKind::TfvarsSecret,
                    file: file.clone(),
                    line,
                    message: format!("sets sensitive variable `{name}` in a committed file"),
                    help: Some(format!("remove it; secrets come from the environment: export TF_VAR_{name}=...")),
                }),
                Some(_) => {}
            }
        }
    }
    for (name, variable) in &folder.variables {
        if variable.has_default || variable.sensitive || set.contains(name) {
            continue;
        }
        findings.push(Finding {
            kind: FindingKind::TfvarsMissing,
            file: file.clone(),
            line: None,
            message: format!("does not set `{name}`, which has no default"),
            help: Some(format!(
                "set `{name} = ...` here, or give it a default; a secret is marked `sensitive = true` and comes from TF_VAR_{name} (declared at {}:{})",
                variable.file.display(),
                variable.line
            )),
        });
    }
    Ok(())
}

/// Reads and parses one file; `None` (with a [`FindingKind::Parse`] finding) when it is not HCL.
fn parse_file(file: &Path, findings: &mut Vec<Finding>) -> Result<Option<(String, Body)>> {
    let text = fs::read_to_string(file).map_err(|source| Error::ReadTerraformFile { path: file.to_path_buf(), source })?;
    match hcl_edit::parser::parse_body(&text) {
        Ok(body) => Ok(Some((text, body))),
        Err(error) => {
            findings.push(Finding {
                kind: FindingKind::Parse,
                file: file.to_path_buf(),
                line: Some(error.location().line()),
                message: format!("not valid HCL: {}", error.message()),
                help: Some(format!("column {}: `{}`", error.location().column(), error.line().trim())),
            });
            Ok(None)
        }
    }
}

/// The sub-folders of `dir`, sorted.
fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let read = |dir: &Path| -> std::io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                out.push(path);
            }
        }
        out.sort();
        Ok(out)
    };
    read(dir).map_err(|source| Error::ReadTerraformDir { path: dir.to_path_buf(), source })
}

fn single_label(block: &Block) -> Option<&str> {
    match block.labels.as_slice() {
        [label] => Some(label.as_str()),
        _ => None,
    }
}

/// Removes `.` and `name/..` pairs without touching the file system, so that paths stay as
/// the caller wrote them (relative roots stay relative) and each folder has one key.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Byte offset to one-based line number for one file's text.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Lines { starts }
    }

    /// The line where a parsed node starts. Parsed nodes always carry a span; line 1 stands in
    /// if one ever does not.
    fn of(&self, node: &impl Span) -> usize {
        node.span().map_or(1, |span| self.starts.partition_point(|&start| start <= span.start))
    }
}

/// The lint's did-you-mean rules: a declared name that contains the written one or is contained
/// in it (`vpc_cidr` → `vpc_cidr_block`; both at least 4 characters) ranks first, then an edit
/// distance of at most a third of the name's length (at least 1), smallest first. The distance
/// is the one of [`stack_config::suggest`]: case is ignored and a swap of neighbours is one edit.
const CLOSE: Rules = Rules { extra_edits: 0, containment: true };

/// The candidate closest to `name` under the lint's rules ([`CLOSE`]), when it is close enough
/// to be a likely typo.
fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    closest_with(name, candidates, CLOSE)
}

/// [`lint`] of `<infra>/terraform` as diagnostics of a `config check` report (none when the tree
/// has no Terraform).
pub fn diagnostics(infra: &camino::Utf8Path) -> Result<stack_config::Diagnostics> {
    let mut diags = stack_config::Diagnostics::new();
    let root = infra.join("terraform");
    if !root.is_dir() {
        return Ok(diags);
    }
    for f in lint(root.as_std_path())? {
        let file =
            camino::Utf8PathBuf::from_path_buf(f.file.clone()).unwrap_or_else(|p| camino::Utf8PathBuf::from(p.display().to_string()));
        let location = f.line.map(|line| stack_config::node::Location { line, column: 1 });
        diags.push(stack_config::Diagnostic::error(&file, location, "", f.message.clone()).with_help_opt(f.help.clone()));
    }
    Ok(diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let declared = ["cluster_name", "subnet_ids", "vpc_cidr_block", "tags"];
        let check = |name: &str, expected: Option<&str>| {
            assert_eq!(suggest(name, declared.iter().copied()), expected, "{name}");
        };
        check("clustr_name", Some("cluster_name"));
        check("subnet_id", Some("subnet_ids"));
        check("vpc_cidr", Some("vpc_cidr_block"));
        check("vpc_cidr_blocks", Some("vpc_cidr_block"));
        check("tag", Some("tags"));
        check("instance_size", None);
        check("region", None);
    }

    #[test]
    fn normalize_resolves_parent_components_lexically() {
        assert_eq!(normalize(Path::new("tf/environments/dev/../../modules/eks")), PathBuf::from("tf/modules/eks"));
        assert_eq!(normalize(Path::new("./a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../x/../y")), PathBuf::from("../y"));
    }

    #[test]
    fn lines_are_one_based_and_count_from_span_starts() {
        let text = "a = 1\n\nmodule \"m\" {\n  source = \"./m\"\n  x = module.n.out\n}\n";
        let body = hcl_edit::parser::parse_body(text).expect("valid HCL");
        let lines = Lines::new(text);
        let block = body.blocks().next().expect("one block");
        assert_eq!(lines.of(body.attributes().next().expect("one attribute")), 1);
        assert_eq!(lines.of(block), 3);
        assert_eq!(lines.of(block.body.get_attribute("x").expect("x")), 5);
    }

    #[test]
    fn display_puts_the_line_after_the_file_and_the_help_below() {
        let finding = Finding {
            kind: FindingKind::UndeclaredArgument,
            file: PathBuf::from("environments/dev/main.tf"),
            line: Some(12),
            message: "module `eks` (../../modules/eks) declares no variable `clustr_name`".into(),
            help: Some("did you mean `cluster_name`?".into()),
        };
        assert_eq!(
            finding.to_string(),
            "environments/dev/main.tf:12: module `eks` (../../modules/eks) declares no variable `clustr_name`\n  help: did you mean `cluster_name`?"
        );
        let finding = Finding { line: None, help: None, ..finding };
        assert_eq!(finding.to_string(), "environments/dev/main.tf: module `eks` (../../modules/eks) declares no variable `clustr_name`");
    }
}
