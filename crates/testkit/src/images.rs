//! The local test images: recipes under `tests/fixtures/images/`, built through the compose
//! driver (so a recipe whose files did not change is not rebuilt) on a base image made with
//! `mmdebstrap`, since no registry can be reached.

use std::collections::BTreeMap;
use std::process::Command;

use camino::Utf8Path;
use stack_compose::progress::Progress;
use stack_compose::{BuildPolicy, Engine};
use stack_config::compose::{Build, Project, Service};

use crate::{Error, Result};

/// The base image every recipe starts from.
pub const BASE_IMAGE: &str = "srvthreds-test/debian:bookworm";

/// Recipe directory, image tag, build args.
type Recipe = (&'static str, &'static str, &'static [(&'static str, &'static str)]);

/// The recipes, in build order.
const RECIPES: &[Recipe] = &[
    ("node", "srvthreds-test/node:18", &[]),
    ("redis", "srvthreds-test/redis:7.0", &[]),
    ("rabbitmq", "srvthreds-test/rabbitmq:3.10-management", &[]),
    ("mongo-standin", "srvthreds-test/mongo-standin:7.0", &[]),
];

/// The variables that point the compose files at the test images, in `NAME=VALUE` order.
#[derive(Debug, Clone)]
pub struct TestImages {
    pub vars: Vec<(String, String)>,
}

impl serde::Serialize for TestImages {
    /// As one object, `{NAME: VALUE}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_map(self.vars.iter().map(|(k, v)| (k, v)))
    }
}

impl std::fmt::Display for TestImages {
    /// `NAME=VALUE` lines, for `eval`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lines: Vec<String> = self.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::fmt::Display for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.make_base {
            writeln!(f, "would make the base image {BASE_IMAGE}")?;
        }
        for (image, build) in &self.images {
            writeln!(f, "{image}: {}", if *build { "would be built" } else { "up to date" })?;
        }
        f.write_str("dry run: nothing was built")
    }
}

/// What [`ensure`] would do, found without changing anything.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The base image must be made first (it is missing).
    pub make_base: bool,
    /// Every image, and whether it would be built (`false`: up to date).
    pub images: Vec<(String, bool)>,
    /// The variables [`ensure`] returns.
    pub vars: Vec<(String, String)>,
}

/// What [`ensure`] would make and build, changing nothing.
pub async fn plan(engine: &Engine, repo_root: &Utf8Path, progress: &dyn Progress) -> Result<Plan> {
    let make_base = engine.image_id(BASE_IMAGE).await?.is_none();
    let project = recipe_project(repo_root)?;
    let order: Vec<&Service> = RECIPES.iter().filter_map(|(dir, _, _)| project.services.get(*dir)).collect();
    let built = engine.build_images("srvthreds-test", &project, &order, BuildPolicy::Plan, progress).await?;
    // Without the base, every recipe builds.
    let images = built.into_iter().map(|b| (b.image, make_base || !b.skipped)).collect();
    Ok(Plan { make_base, images, vars: vars() })
}

/// Makes the base image when missing, then builds every recipe whose inputs changed.
/// `repo_root` is the repository holding `tests/fixtures/images`.
pub async fn ensure(engine: &Engine, repo_root: &Utf8Path, progress: &dyn Progress) -> Result<TestImages> {
    let recipes = repo_root.join("tests/fixtures/images");
    if engine.image_id(BASE_IMAGE).await?.is_none() {
        // The base is a root file system from Debian's packages piped into `docker import`:
        // the recipe's own script does it (it is the only step that is not a Dockerfile).
        let script = recipes.join("base.sh");
        let out = Command::new("bash").arg(&script).env("BASE_IMAGE", BASE_IMAGE).output().map_err(|e| Error::BaseImage {
            image: BASE_IMAGE.to_owned(),
            status: format!("cannot run {script}: {e}"),
            output: String::new(),
        })?;
        if !out.status.success() {
            let text = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = text.lines().rev().take(20).collect();
            return Err(Error::BaseImage {
                image: BASE_IMAGE.to_owned(),
                status: out.status.to_string(),
                output: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
            });
        }
    }
    let project = recipe_project(repo_root)?;
    let order: Vec<&Service> = RECIPES.iter().filter_map(|(dir, _, _)| project.services.get(*dir)).collect();
    engine.build_images("srvthreds-test", &project, &order, BuildPolicy::WhenChanged, progress).await?;
    Ok(TestImages { vars: vars() })
}

/// The recipes as a compose project (one service per recipe, each with its build).
fn recipe_project(repo_root: &Utf8Path) -> Result<Project> {
    let recipes = repo_root.join("tests/fixtures/images");
    let mut project = Project::default();
    for (dir, image, args) in RECIPES {
        let context = recipes.join(dir);
        if !context.join("Dockerfile").is_file() {
            return Err(Error::Recipe(context.to_string()));
        }
        let svc = Service {
            name: (*dir).to_owned(),
            image: Some((*image).to_owned()),
            build: Some(Build {
                context,
                dockerfile: None,
                target: None,
                args: args.iter().map(|(k, v)| ((*k).to_owned(), Some((*v).to_owned()))).collect::<BTreeMap<_, _>>(),
            }),
            ..Service::default()
        };
        project.services.insert((*dir).to_owned(), svc);
    }
    Ok(project)
}

/// The variables that point the compose files at the test images.
fn vars() -> Vec<(String, String)> {
    let image = |dir: &str| RECIPES.iter().find(|r| r.0 == dir).map(|r| r.1.to_owned()).unwrap_or_default();
    vec![
        ("MONGO_IMAGE".to_owned(), image("mongo-standin")),
        ("REDIS_IMAGE".to_owned(), image("redis")),
        ("RABBITMQ_IMAGE".to_owned(), image("rabbitmq")),
        ("NODE_IMAGE".to_owned(), image("node")),
        ("SRVTHREDS_APP_DIR".to_owned(), "tests/fixtures/srvthreds-app".to_owned()),
    ]
}
