//! The diagnostics of broken infrastructure trees: copies of the repository's `infrastructure/`
//! with one thing broken, loaded, resolved and checked through [`Infra`]. Each finding must name
//! the file, the line and the field where there is one, say what is wrong and, where it can,
//! how to fix it; none may panic, and the shipped tree itself has no errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use camino::{Utf8Path, Utf8PathBuf};
use stack_config::infra::LoadOptions;
use stack_config::{Diagnostic, Diagnostics, Infra, Severity};

/// The repository's own infrastructure tree.
fn shipped() -> Utf8PathBuf {
    Utf8Path::new(env!("CARGO_MANIFEST_DIR")).join("../../infrastructure")
}

/// A copy of `infrastructure/` in a temporary directory (removed on drop), to break.
struct Tree {
    _dir: tempfile::TempDir,
    root: Utf8PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Utf8PathBuf::from_path_buf(dir.path().join("infrastructure")).expect("a UTF-8 temporary directory");
        stack_testkit::fixture::copy_tree(shipped().as_std_path(), root.as_std_path()).expect("copy infrastructure/");
        Tree { _dir: dir, root }
    }

    /// Rewrites one file with `f`, which must change it; returns the new text.
    fn edit(&self, rel: &str, f: impl FnOnce(&str) -> String) -> String {
        let path = self.root.join(rel);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let edited = f(&text);
        assert_ne!(edited, text, "the edit of {rel} changed nothing");
        std::fs::write(&path, &edited).expect("write");
        edited
    }

    fn path(&self, rel: &str) -> Utf8PathBuf {
        self.root.join(rel)
    }

    fn check(&self) -> Diagnostics {
        Infra::check(&self.root, &LoadOptions::default())
    }

    fn load(&self) -> Infra {
        let (infra, _warnings) =
            Infra::load(&self.root, &LoadOptions::default()).unwrap_or_else(|e| panic!("load: {}", list(e.diagnostics())));
        infra
    }
}

/// The one-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("no line with `{needle}`")) + 1
}

fn list(diags: &Diagnostics) -> String {
    diags.iter().map(|d| format!("{d}\n")).collect()
}

/// The only finding of `severity` in `diags` whose message contains `message`.
fn only<'a>(diags: &'a Diagnostics, severity: Severity, message: &str) -> &'a Diagnostic {
    let found: Vec<&Diagnostic> = diags.iter().filter(|d| d.severity == severity && d.message.contains(message)).collect();
    assert_eq!(found.len(), 1, "expected one {severity:?} with `{message}` in:\n{}", list(diags));
    found[0]
}

/// The errors of a failed resolve.
fn resolve_errors(infra: &Infra, env: &str, short_name: &str) -> Diagnostics {
    match infra.resolve(env, short_name) {
        Ok(_) => panic!("resolving {short_name} in {env} succeeded"),
        Err(e) => e.diagnostics().clone(),
    }
}

#[test]
fn the_shipped_tree_checks_without_errors() {
    let diags = Infra::check(&shipped(), &LoadOptions::default());
    assert!(!diags.has_errors(), "{}", list(&diags));
}

#[test]
fn unknown_short_name_suggests_the_closest() {
    let (infra, _) = Infra::load(&shipped(), &LoadOptions::default()).expect("the shipped tree loads");
    let diags = resolve_errors(&infra, "local", "s_a_db");
    assert_eq!(diags.len(), 1, "{}", list(&diags));
    let d = only(&diags, Severity::Error, "unknown deployment `s_a_db`");
    assert_eq!(d.file, shipped().join("config/containerDeploymentConfig.json"));
    assert_eq!(d.field, "deployments");
    assert_eq!(d.help.as_deref(), Some("did you mean `s_a_dbs`?"));
}

#[test]
fn environment_not_allowed_for_the_deployment() {
    let (infra, _) = Infra::load(&shipped(), &LoadOptions::default()).expect("the shipped tree loads");
    let diags = resolve_errors(&infra, "prod", "s_a_dbs");
    assert_eq!(diags.len(), 1, "{}", list(&diags));
    let d = only(&diags, Severity::Error, "deployment `s_a_dbs` is not allowed in environment `prod`");
    assert_eq!(d.file, shipped().join("config/containerDeploymentConfig.json"));
    assert_eq!(d.field, "deployments.s_a_dbs.environments");
    let catalogue = std::fs::read_to_string(&d.file).expect("read the catalogue");
    let line = d.location.expect("the deployment's location").line;
    assert!(catalogue.lines().nth(line - 1).is_some(), "line {line} is in the file");
    let help = d.help.as_deref().expect("a help line");
    assert!(help.starts_with("it runs in: ") && help.contains("local"), "{help}");
}

#[test]
fn wrong_type_names_file_line_and_field() {
    let tree = Tree::new();
    let text =
        tree.edit("config/containerDeploymentConfig.json", |t| t.replacen("\"environments\": [", "\"environments\": 7, \"x\": [", 1));
    let diags = tree.check();
    let d = only(&diags, Severity::Error, "expected a list, found a number");
    assert_eq!(d.file, tree.path("config/containerDeploymentConfig.json"));
    assert_eq!(d.field, "deployments[0].environments");
    assert_eq!(d.location.expect("a location").line, line_of(&text, "\"environments\": 7"));
    assert!(d.to_string().contains("containerDeploymentConfig.json:"), "{d}");
}

#[test]
fn invalid_json_names_line_and_column() {
    let tree = Tree::new();
    let text = tree.edit("config/environments.json", |t| t.replacen('}', "},", 1));
    let err = Infra::load(&tree.root, &LoadOptions::default()).expect_err("invalid JSON does not load");
    let diags = err.diagnostics();
    let d = only(diags, Severity::Error, "invalid JSON");
    assert_eq!(d.file, tree.path("config/environments.json"));
    let at = d.location.expect("a line and column");
    assert_eq!(at.line, line_of(&text, "},,"), "{d}");
    assert!(at.column > 1, "{d}");
    assert_eq!(Infra::check(&tree.root, &LoadOptions::default()), diags.clone().sorted(), "check reports the same");
}

#[test]
fn dependency_cycle_is_reported() {
    let tree = Tree::new();
    // The bootstrap job now also waits for the engine, which waits for the bootstrap job.
    tree.edit("local/compose/docker-compose-services.yml", |t| {
        let at = t.find("  srvthreds-bootstrap:\n").expect("bootstrap service");
        let deps = at + t[at..].find("    depends_on:\n").expect("its depends_on") + "    depends_on:\n".len();
        format!("{}      srvthreds-engine:\n        condition: service_started\n{}", &t[..deps], &t[deps..])
    });
    let diags = tree.check();
    let cycles: Vec<&Diagnostic> = diags.errors().filter(|d| d.message.contains("dependency cycle")).collect();
    assert!(!cycles.is_empty(), "{}", list(&diags));
    for d in cycles {
        assert_eq!(d.file, tree.path("local/compose/docker-compose-services.yml"), "{d}");
        assert!(d.message.contains("dependency cycle: srvthreds-bootstrap -> srvthreds-engine -> srvthreds-bootstrap"), "{d}");
        assert!(d.location.is_some(), "{d}");
    }
}

#[test]
fn duplicate_host_port_is_reported() {
    let tree = Tree::new();
    tree.edit("env/local.env.example", |t| t.replace("REDIS_PORT=6379", "REDIS_PORT=27017"));
    let diags = resolve_errors(&tree.load(), "local", "s_a_dbs");
    let d = only(&diags, Severity::Error, "host port 27017/tcp is already bound by service `mongo`");
    let compose = tree.path("local/compose/docker-compose-db.yml");
    assert_eq!(d.file, compose);
    assert!(d.field.starts_with("services.redis.ports"), "{d}");
    let text = std::fs::read_to_string(&compose).expect("read");
    assert_eq!(d.location.expect("the port's line").line, line_of(&text, "${REDIS_PORT:-6379}:6379"), "{d}");
}

#[test]
fn missing_compose_file_is_reported() {
    let tree = Tree::new();
    std::fs::remove_file(tree.path("local/compose/docker-compose-services.yml")).expect("rm");
    let diags = tree.check();
    let missing: Vec<&Diagnostic> =
        diags.errors().filter(|d| d.message.contains("file `local/compose/docker-compose-services.yml` not found")).collect();
    assert!(!missing.is_empty(), "{}", list(&diags));
    for d in missing {
        assert_eq!(d.file, tree.path("config/containerDeploymentConfig.json"), "{d}");
        assert!(d.message.contains(tree.path("local/compose/docker-compose-services.yml").as_str()), "names where it looked: {d}");
        assert!(d.location.is_some(), "the catalogue line naming the file: {d}");
        assert_eq!(d.help.as_deref(), Some("paths in the catalogue are relative to the infrastructure root"));
    }
}

#[test]
fn unterminated_interpolation_is_reported() {
    let tree = Tree::new();
    let text = tree.edit("local/compose/docker-compose-db.yml", |t| t.replacen("${MONGO_IMAGE:-mongo:7.0}", "${MONGO_IMAGE:-mongo:7.0", 1));
    let diags = tree.check();
    let found: Vec<&Diagnostic> = diags.errors().filter(|d| d.message.contains("unterminated `${`")).collect();
    assert!(!found.is_empty(), "{}", list(&diags));
    for d in found {
        assert_eq!(d.file, tree.path("local/compose/docker-compose-db.yml"), "{d}");
        assert_eq!(d.field, "services.mongo.image", "{d}");
        assert_eq!(d.location.expect("a location").line, line_of(&text, "${MONGO_IMAGE:-mongo:7.0"), "{d}");
    }
}

#[test]
fn invalid_yaml_names_line() {
    let tree = Tree::new();
    let text = tree.edit("local/compose/docker-compose-db.yml", |t| t.replacen("services:\n", "services:\n  - [unclosed\n", 1));
    let diags = tree.check();
    let found: Vec<&Diagnostic> = diags.errors().filter(|d| d.message.contains("invalid YAML")).collect();
    assert!(!found.is_empty(), "{}", list(&diags));
    let unclosed = line_of(&text, "[unclosed");
    for d in found {
        assert_eq!(d.file, tree.path("local/compose/docker-compose-db.yml"), "{d}");
        let line = d.location.expect("a location").line;
        assert!(line >= unclosed, "the error is at or after the unclosed list (line {unclosed}): {d}");
    }
}

#[test]
fn unsupported_compose_key_is_a_warning_naming_it() {
    let tree = Tree::new();
    let text = tree.edit("local/compose/docker-compose-db.yml", |t| t.replacen("  redis:\n", "  redis:\n    tmpfs: /run\n", 1));
    let diags = tree.check();
    assert!(!diags.has_errors(), "a warning must not fail the check:\n{}", list(&diags));
    let d = only(&diags, Severity::Warning, "unsupported key `tmpfs` is ignored");
    assert_eq!(d.file, tree.path("local/compose/docker-compose-db.yml"));
    assert_eq!(d.field, "services.redis.tmpfs");
    assert_eq!(d.location.expect("a location").line, line_of(&text, "tmpfs: /run"));
    assert!(d.to_string().starts_with("warning:"), "{d}");
}

#[test]
fn missing_infra_dir_is_a_clear_error() {
    let root = Utf8Path::new("/nonexistent/infra");
    let err = Infra::load(root, &LoadOptions::default()).expect_err("no tree there");
    let diags = err.diagnostics();
    let d = diags
        .iter()
        .find(|d| d.file == root.join("config/containerDeploymentConfig.json"))
        .unwrap_or_else(|| panic!("no finding about the catalogue:\n{}", list(diags)));
    assert_eq!(d.severity, Severity::Error);
    assert!(d.message.starts_with("cannot read: "), "{d}");
    assert_eq!(d.help.as_deref(), Some("/nonexistent/infra is not a directory: pass the infrastructure tree with --infra DIR"));
    assert!(Infra::check(root, &LoadOptions::default()).has_errors(), "check fails too");
}
