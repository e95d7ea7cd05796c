//! Image builds (tar context, `.dockerignore`, args, target; skipped when the inputs are
//! unchanged) and pulls of missing images.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use stack_config::compose::{Project, Service};

use crate::plan::image_name;
use crate::progress::{Event, Progress};
use crate::{Engine, Error, Result, context, labels};

/// How builds are decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildPolicy {
    /// Build when the image is missing or its build inputs changed.
    #[default]
    WhenChanged,
    /// Always build (the engine's layer cache still applies).
    Always,
    /// Never build; a missing image is an error.
    Never,
    /// Decide as [`BuildPolicy::WhenChanged`] and build nothing (a dry run): an image that
    /// would be built is reported with `skipped: false` and an empty `id`, and images built on
    /// it count as changed too.
    Plan,
}

/// One image produced or confirmed by [`Engine::build_images`].
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Built {
    pub service: String,
    pub image: String,
    pub id: String,
    pub skipped: bool,
    /// The hash of the build's inputs (context files, Dockerfile, target, args, base images):
    /// the same sources give the same hash. Under [`BuildPolicy::Plan`], the hash of an image
    /// whose base would be rebuilt is not final.
    pub build_hash: String,
}

impl Engine {
    /// The image's ID, or `None` when the engine does not have it.
    pub async fn image_id(&self, image: &str) -> Result<Option<String>> {
        match self.docker().inspect_image(image).await {
            Ok(i) => Ok(i.id),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
            Err(e) => Err(Error::Api { operation: format!("inspect image {image}"), source: e }),
        }
    }

    async fn image_label(&self, image: &str, key: &str) -> Result<Option<String>> {
        match self.docker().inspect_image(image).await {
            Ok(i) => Ok(i.config.and_then(|c| c.labels).and_then(|l| l.get(key).cloned())),
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
            Err(e) => Err(Error::Api { operation: format!("inspect image {image}"), source: e }),
        }
    }

    /// Builds `services` (in the given order: bases first) of `project` named `name`.
    pub async fn build_images(
        &self,
        name: &str,
        project: &Project,
        services: &[&Service],
        policy: BuildPolicy,
        progress: &dyn Progress,
    ) -> Result<Vec<Built>> {
        let mut out = Vec::new();
        // IDs of images built here, so a change of a base image changes its dependents' hash.
        let mut ids: BTreeMap<String, String> = BTreeMap::new();
        for svc in services {
            let Some(build) = &svc.build else { continue };
            let image = image_name(name, svc);
            let ctx = context::pack(&build.context, build.dockerfile.as_deref())?;
            let args: HashMap<String, String> = build.args.iter().map(|(k, v)| (k.clone(), v.clone().unwrap_or_default())).collect();
            let mut hash = Sha256::new();
            hash.update(ctx.files_hash.as_bytes());
            hash.update(ctx.dockerfile.as_bytes());
            hash.update(build.target.as_deref().unwrap_or_default().as_bytes());
            let sorted: BTreeMap<_, _> = args.iter().collect();
            for (k, v) in &sorted {
                hash.update(format!("\0{k}={v}").as_bytes());
                let base = match ids.get(*v) {
                    Some(id) => Some(id.clone()),
                    None if project.services.values().any(|s| s.build.is_some() && image_name(name, s) == **v) => self.image_id(v).await?,
                    None => None,
                };
                if let Some(id) = base {
                    hash.update(format!("\0base={id}").as_bytes());
                }
            }
            let build_hash = context::hex(&hash.finalize());
            if policy != BuildPolicy::Always && self.image_label(&image, labels::BUILD_HASH).await?.as_deref() == Some(build_hash.as_str())
            {
                let id = self.image_id(&image).await?.unwrap_or_default();
                progress.event(&Event::ImageUpToDate { image: image.clone() });
                ids.insert(image.clone(), id.clone());
                out.push(Built { service: svc.name.clone(), image, id, skipped: true, build_hash });
                continue;
            }
            if policy == BuildPolicy::Never {
                return Err(Error::Build {
                    image,
                    message: "the image is missing or out of date and builds are disabled".to_owned(),
                    tail: String::new(),
                });
            }
            if policy == BuildPolicy::Plan {
                // Its ID will change: images built on it will be rebuilt too.
                ids.insert(image.clone(), format!("(rebuilt {build_hash})"));
                out.push(Built { service: svc.name.clone(), image, id: String::new(), skipped: false, build_hash });
                continue;
            }
            progress.event(&Event::ImageBuilding { image: image.clone() });
            let started = Instant::now();
            let mut image_labels = HashMap::from([
                (labels::BUILD_HASH.to_owned(), build_hash.clone()),
                (labels::MANAGED_BY.to_owned(), labels::MANAGER.to_owned()),
            ]);
            image_labels.insert(labels::PROJECT.to_owned(), name.to_owned());
            let mut options = BuildImageOptionsBuilder::default()
                .dockerfile(&ctx.dockerfile)
                .t(&image)
                .rm(true)
                .forcerm(true)
                .buildargs(&args)
                .labels(&image_labels);
            if let Some(target) = &build.target {
                options = options.target(target);
            }
            let mut stream = self.docker().build_image(options.build(), None, Some(bollard::body_full(ctx.tar.into())));
            let mut tail: Vec<String> = Vec::new();
            let mut id = String::new();
            while let Some(item) = stream.next().await {
                match item {
                    Ok(info) => {
                        if let Some(line) = info.stream {
                            for l in line.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                                progress.event(&Event::ImageBuildLine { image: image.clone(), line: l.to_owned() });
                                push_tail(&mut tail, l);
                            }
                        }
                        if let Some(aux) = info.aux.and_then(|a| a.id) {
                            id = aux;
                        }
                        if let Some(detail) = info.error_detail {
                            let message = detail.message.unwrap_or_else(|| "unknown build error".to_owned());
                            return Err(Error::Build { image, message, tail: tail.join("\n") });
                        }
                    }
                    Err(e) => return Err(Error::Build { image, message: e.to_string(), tail: tail.join("\n") }),
                }
            }
            if id.is_empty() {
                id = self.image_id(&image).await?.unwrap_or_default();
            }
            progress.event(&Event::ImageBuilt { image: image.clone(), elapsed: started.elapsed() });
            ids.insert(image.clone(), id.clone());
            out.push(Built { service: svc.name.clone(), image, id, skipped: false, build_hash });
        }
        Ok(out)
    }

    /// Makes sure `svc`'s image is present, pulling it when missing. An image that cannot be
    /// pulled is an error naming the variable that overrides it.
    pub async fn ensure_image(&self, svc: &Service, image: &str, progress: &dyn Progress) -> Result<String> {
        if let Some(id) = self.image_id(image).await? {
            return Ok(id);
        }
        progress.event(&Event::ImagePulling { image: image.to_owned() });
        let options = CreateImageOptionsBuilder::default().from_image(image).build();
        let mut stream = self.docker().create_image(Some(options), None, None);
        let mut failure = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail {
                        failure = detail.message;
                    }
                }
                Err(e) => {
                    failure = Some(e.to_string());
                    break;
                }
            }
        }
        match (failure, self.image_id(image).await?) {
            (None, Some(id)) => Ok(id),
            (reason, _) => {
                let help = match svc.image_vars.first() {
                    Some(var) => format!(
                        "build or load a local image and point {var} at it (e.g. `{var}=my/image:tag` in the env file or the shell)"
                    ),
                    None => format!("build or load {image} locally (`docker load`, `docker build -t {image} ...`)"),
                };
                Err(Error::Pull {
                    image: image.to_owned(),
                    service: svc.name.clone(),
                    reason: reason.unwrap_or_else(|| "the pull finished without the image".to_owned()),
                    help,
                })
            }
        }
    }
}

fn push_tail(tail: &mut Vec<String>, line: &str) {
    tail.push(line.to_owned());
    if tail.len() > 30 {
        tail.remove(0);
    }
}
