//! `images push`: build what is stale (the catalogue's build entry, builder image first), tag
//! every service image `registry/<name>:<tag>` (the build's content hash unless a tag is given,
//! so unchanged sources give the same tag), push it, and write the release record naming each
//! image by digest.

use std::time::{Duration, SystemTime};

use camino::{Utf8Path, Utf8PathBuf};
use serde::Serialize;
use stack_compose::push::{Credentials, Pushed};
use stack_compose::{Engine, EngineOptions, entry};
use stack_config::Infra;
use stack_config::infra::Resolved;
use stack_config::release::{Image, Release};

use crate::{Console, Error};

/// How many hex digits of the content hash make the default tag.
const TAG_DIGITS: usize = 16;

/// What to push where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The registry host (`localhost:5000`, `<account>.dkr.ecr.<region>.amazonaws.com`), or
    /// `host/path` for a namespace inside it (`ghcr.io/org`).
    pub registry: String,
    /// The tag of every image; `None`: each image's content hash.
    pub tag: Option<String>,
    /// The login; `None`: the Docker credential config's, if it has one for the registry.
    pub credentials: Option<Credentials>,
    /// Where the release record goes.
    pub record: Utf8PathBuf,
    /// The deadline of the build's waits.
    pub wait: Duration,
}

impl Options {
    /// Push to `registry` under each image's content hash, with the Docker credential config's
    /// login, writing the record to `record`.
    pub fn new(registry: &str, record: Utf8PathBuf, wait: Duration) -> Options {
        Options { registry: registry.to_owned(), tag: None, credentials: None, record, wait }
    }
}

/// One image to push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Planned {
    /// The name the manifests use (`srvthreds-engine`).
    pub name: String,
    /// The local image (`srvthreds-engine:dev`).
    pub image: String,
    pub repository: String,
    /// `None` when the tag is the content hash of an image that must be rebuilt first.
    pub tag: Option<String>,
    /// Whether the build is stale (the image is rebuilt before the push).
    pub rebuild: bool,
}

/// What `images push --dry-run` prints: nothing is built, tagged or pushed.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PushPlan {
    pub registry: String,
    pub build: String,
    pub images: Vec<Planned>,
    pub record: Utf8PathBuf,
}

/// The result of a push: JSON is one object, image name → `repository@sha256:…`.
#[derive(Debug, Clone)]
pub struct PushReport {
    pub release: Release,
    pub pushed: Vec<Pushed>,
    pub record: Utf8PathBuf,
}

impl Serialize for PushReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.release.images.iter().map(|(name, image)| (name, image.reference())))
    }
}

impl PushReport {
    /// Layers uploaded by this push, over all images.
    pub fn uploaded(&self) -> usize {
        self.pushed.iter().map(|p| p.uploaded).sum()
    }
}

impl std::fmt::Display for PushReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rows: Vec<Vec<String>> = self
            .pushed
            .iter()
            .map(|p| vec![format!("{}:{}", p.repository, p.tag), p.digest.clone(), format!("{}/{}", p.uploaded, p.uploaded + p.present)])
            .collect();
        let header = ["IMAGE", "DIGEST", "LAYERS UPLOADED"].map(str::to_owned).to_vec();
        writeln!(f, "{}", stack_config::table::table(&[vec![header], rows].concat()).trim_end())?;
        match self.uploaded() {
            0 => writeln!(f, "nothing uploaded: the registry had every layer")?,
            n => writeln!(f, "{n} layers uploaded")?,
        }
        write!(f, "release record: {}", self.record)
    }
}

impl std::fmt::Display for PushPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "images push to {} (dry run: nothing is built, tagged or pushed)", self.registry)?;
        writeln!(f, "  build: catalogue entry {} (stale images only, builder first)", self.build)?;
        for p in &self.images {
            let tag = p.tag.clone().unwrap_or_else(|| "<content hash after the rebuild>".to_owned());
            let how = if p.rebuild { "rebuild, then push" } else { "push" };
            writeln!(f, "  {how} {} as {}:{tag}", p.image, p.repository)?;
        }
        write!(f, "  write the release record {}", self.record)
    }
}

/// The catalogue's build entry in `env`, or in `local` when `env` has none (images are the same
/// for every environment: only the manifests differ).
pub fn build_entry(infra: &Infra, env: &str) -> Result<Resolved, Error> {
    match infra.resolve(env, crate::minikube::BUILD) {
        Ok((resolved, _)) => Ok(resolved),
        Err(_) if env != "local" => Ok(infra.resolve("local", crate::minikube::BUILD)?.0),
        Err(e) => Err(e.into()),
    }
}

/// The images `images push` would push, without building or contacting the registry.
pub fn plan(infra: &Infra, env: &str, options: &Options) -> Result<PushPlan, Error> {
    let build = build_entry(infra, env)?;
    let built = runtime()?.block_on(async {
        let engine = Engine::connect(&EngineOptions::from_env(&|k| std::env::var(k).ok())).await?;
        entry::build(&engine, &build, stack_compose::BuildPolicy::Plan, &stack_compose::progress::Silent).await
    })?;
    let images = pushed_images(&build, &built)
        .map(|b| {
            let name = name_of(&b.image);
            Planned {
                repository: format!("{}/{name}", options.registry),
                // The content hash is final only for an image that is up to date: a rebuilt base changes
                // its dependents' hashes.
                tag: options.tag.clone().or_else(|| b.skipped.then(|| short(&b.build_hash))),
                rebuild: !b.skipped,
                image: b.image.clone(),
                name,
            }
        })
        .collect();
    Ok(PushPlan { registry: options.registry.clone(), build: build.deployment.short_name.clone(), images, record: options.record.clone() })
}

/// Builds what is stale, pushes every service image, writes the release record.
pub fn push(infra: &Infra, env: &str, options: &Options, console: &Console<'_>) -> Result<PushReport, Error> {
    let build = build_entry(infra, env)?;
    // The login first: a registry that refuses us fails before a build.
    let credentials = match &options.credentials {
        Some(c) => Some(c.clone()),
        None => login(&options.registry)?,
    };
    let engine_options = EngineOptions::from_env(&|k| std::env::var(k).ok());
    let entry_options = entry::Options { wait_timeout: options.wait, ..Default::default() };
    let report = entry::run(&build, infra.repo_root().as_std_path(), &engine_options, &entry_options, console.compose)?;
    let entry::Report::Build(built) = report else {
        return Err(format!("catalogue entry {} is not a build", build.deployment.short_name).into());
    };
    let mut release = Release::new(&options.registry, revision(&infra.repo_root()), SystemTime::now());
    let pushed = runtime()?.block_on(async {
        let engine = Engine::connect(&engine_options).await?;
        let mut pushed = Vec::new();
        for b in pushed_images(&build, &built) {
            let name = name_of(&b.image);
            let repository = format!("{}/{name}", options.registry);
            let tag = options.tag.clone().unwrap_or_else(|| short(&b.build_hash));
            let p = engine.push_image(&b.image, &repository, &tag, credentials.as_ref(), console.compose).await?;
            release.images.insert(name, Image::new(&p.repository, &p.tag, &p.digest));
            pushed.push(p);
        }
        Ok::<_, Error>(pushed)
    })?;
    write_record(&options.record, &release)?;
    Ok(PushReport { release, pushed, record: options.record.clone() })
}

/// The login for `registry`: ECR's GetAuthorizationToken for an ECR host (feature `aws`),
/// else the Docker credential config's entry, if any.
pub fn login(registry: &str) -> Result<Option<Credentials>, Error> {
    let host = registry.split('/').next().unwrap_or_default();
    let Some(region) = stack_cloud::ecr::region_of(registry) else {
        return Ok(Credentials::from_docker_config(host, &|k| std::env::var(k).ok())?);
    };
    #[cfg(feature = "aws")]
    {
        let options = stack_cloud::eks::Options { region: region.to_owned(), endpoint_url: None };
        let login = runtime()?.block_on(stack_cloud::ecr::login(&options))?;
        Ok(Some(Credentials { username: login.username, password: login.password, server: host.to_owned() }))
    }
    #[cfg(not(feature = "aws"))]
    Err(format!("{registry} is an ECR registry (region {region}): its login needs the AWS SDK (feature `aws`)").into())
}

/// Writes the record through a temporary file beside it, so a reader never sees half of one.
fn write_record(path: &Utf8Path, release: &Release) -> Result<(), Error> {
    let tmp = Utf8PathBuf::from(format!("{path}.tmp"));
    std::fs::write(&tmp, release.to_json()).map_err(|e| format!("writing the release record {tmp}: {e}"))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("writing the release record {path}: {e}"))?;
    Ok(())
}

/// The built images that services run: not the ones that are only the base of other builds
/// (the builder image, named in a build arg).
fn pushed_images<'b>(build: &Resolved, built: &'b [stack_compose::build::Built]) -> impl Iterator<Item = &'b stack_compose::build::Built> {
    let project = build.compose.as_ref();
    let bases: Vec<String> = project
        .map(|p| p.services.values().filter_map(|s| s.build.as_ref()).flat_map(|b| b.args.values().flatten().cloned()).collect())
        .unwrap_or_default();
    built.iter().filter(move |b| !bases.contains(&b.image))
}

/// `srvthreds-engine:dev` → `srvthreds-engine`; a registry prefix is kept (`host/x:1` → `host/x`).
fn name_of(image: &str) -> String {
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].find(':') {
        Some(colon) => image[..last_slash + colon].to_owned(),
        None => image.to_owned(),
    }
}

fn short(hash: &str) -> String {
    hash.chars().take(TAG_DIGITS).collect()
}

/// The repository's commit, when it is a git checkout.
fn revision(repo: &Utf8Path) -> Option<String> {
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).current_dir(repo).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn runtime() -> Result<tokio::runtime::Runtime, Error> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_drop_the_tag_and_keep_the_registry() {
        assert_eq!(name_of("srvthreds-engine:dev"), "srvthreds-engine");
        assert_eq!(name_of("localhost:5000/x:1"), "localhost:5000/x");
        assert_eq!(name_of("plain"), "plain");
    }
}
