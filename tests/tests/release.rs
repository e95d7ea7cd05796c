//! The release pipeline's parts against real components: `images push` to the real registry
//! (`../shared/tools/local-k8s/registry.sh`, the CNCF distribution registry on localhost:5000;
//! `.ci/run` starts it), whose digests must be what the registry itself reports; and a release
//! record pinning the overlay (`k8s render --images`, `k8s pin`) the way real
//! `kubectl kustomize` renders the pinned file.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use camino::Utf8Path;
use stack_tests::{InfraCopy, describe, repo_root, require_engine, stdout, test_image_vars, xtask};

/// The images the service build produces and `images push` pushes (not the builder).
const PUSHED: &[&str] = &["srvthreds-bootstrap", "srvthreds-engine", "srvthreds-persistence-agent", "srvthreds-session-agent"];

fn registry() -> String {
    let registry = std::env::var("LOCAL_REGISTRY").unwrap_or_else(|_| "localhost:5000".to_owned());
    let out =
        Command::new("curl").args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", &format!("http://{registry}/v2/")]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "200",
        "no registry answers on {registry}: .ci/run starts one; by hand: `eval \"$(../shared/tools/local-k8s/registry.sh)\"`\n{}",
        describe(&out)
    );
    registry
}

/// `Docker-Content-Digest` of `GET /v2/<repo>/manifests/<tag>`, as the registry reports it.
fn registry_digest(registry: &str, repo: &str, tag: &str) -> String {
    let url = format!("http://{registry}/v2/{repo}/manifests/{tag}");
    let accept = "Accept: application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.index.v1+json";
    let out = Command::new("curl").args(["-sS", "-D", "-", "-o", "/dev/null", "-H", accept, &url]).output().unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).to_string();
    headers
        .lines()
        .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("docker-content-digest")).map(|(_, v)| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("no Docker-Content-Digest for {url}:\n{headers}"))
}

fn push(args: &[&str]) -> std::process::Output {
    let mut cmd = xtask();
    cmd.args(["images", "push"]).args(args);
    for (k, v) in test_image_vars() {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn images_push_reports_the_registrys_digests_and_a_second_push_uploads_nothing() {
    require_engine();
    let registry = registry();
    // A namespace of this run, so the record names only what this push wrote.
    let namespace = format!("{registry}/push-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let record = Utf8Path::from_path(dir.path()).unwrap().join("release.json");

    let plan = push(&["--registry", &namespace, "--record", record.as_str(), "--dry-run"]);
    assert!(plan.status.success(), "{}", describe(&plan));
    assert!(stdout(&plan).contains("nothing is built, tagged or pushed"), "{}", describe(&plan));
    assert!(!record.exists(), "a dry run wrote the release record");

    let first = push(&["--registry", &namespace, "--record", record.as_str(), "--output", "json"]);
    assert!(first.status.success(), "{}", describe(&first));
    let pushed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&first.stdout).unwrap_or_else(|e| panic!("not one JSON document ({e})\n{}", describe(&first)));
    assert_eq!(pushed.keys().map(String::as_str).collect::<Vec<_>>(), PUSHED, "{}", describe(&first));

    let release: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let head = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(repo_root()).output().unwrap();
    assert_eq!(release["revision"], String::from_utf8_lossy(&head.stdout).trim(), "{release:#}");
    for name in PUSHED {
        let image = &release["images"][name];
        let (repository, tag, digest) =
            (image["repository"].as_str().unwrap(), image["tag"].as_str().unwrap(), image["digest"].as_str().unwrap());
        assert_eq!(pushed[*name], format!("{repository}@{digest}"));
        let repo = repository.strip_prefix(&format!("{registry}/")).unwrap();
        assert_eq!(registry_digest(&registry, repo, tag), digest, "{name}: the registry's digest differs from the reported one");
    }

    // The same sources again: the same tags and digests, and no layer uploaded.
    let second = push(&["--registry", &namespace, "--record", record.as_str()]);
    assert!(second.status.success(), "{}", describe(&second));
    assert!(stdout(&second).contains("nothing uploaded: the registry had every layer"), "{}", describe(&second));
    let again: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(again["images"], release["images"], "an unchanged source gave other tags or digests");
}

/// A release record of made-up digests for the four service images.
fn made_up_release(dir: &Utf8Path) -> (camino::Utf8PathBuf, serde_json::Value) {
    let images: serde_json::Map<String, serde_json::Value> = PUSHED
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let digest = format!("sha256:{}", format!("{i:x}").repeat(64));
            (name.to_string(), serde_json::json!({"repository": format!("registry.example:5000/{name}"), "tag": "t1", "digest": digest}))
        })
        .collect();
    let release = serde_json::json!({"version": 1, "registry": "registry.example:5000", "revision": null, "created": "2026-12-02T00:00:00Z", "images": images});
    let path = dir.join("release.json");
    std::fs::write(&path, serde_json::to_string_pretty(&release).unwrap()).unwrap();
    (path, release)
}

/// Container name → (image, pull policy) of every pod template in rendered objects.
fn containers(objects: &[serde_json::Value]) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for o in objects {
        for c in o["spec"]["template"]["spec"]["containers"].as_array().into_iter().flatten() {
            let name = format!("{}/{}", o["metadata"]["name"].as_str().unwrap(), c["name"].as_str().unwrap());
            out.push((name, c["image"].as_str().unwrap().to_owned(), c["imagePullPolicy"].as_str().unwrap_or_default().to_owned()));
        }
    }
    out.sort();
    out
}

fn render(infra: &InfraCopy, args: &[&str]) -> Vec<serde_json::Value> {
    let mut full = vec!["--output", "json", "k8s", "render", "--overlay", "minikube"];
    full.extend_from_slice(args);
    let out = infra.xtask(&full);
    assert!(out.status.success(), "{}", describe(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e})\n{}", describe(&out)))
}

#[test]
fn a_release_record_pins_the_render_and_k8s_pin_writes_what_kubectl_renders_the_same() {
    let infra = InfraCopy::new();
    let dir = tempfile::tempdir().unwrap();
    let (record, release) = made_up_release(Utf8Path::from_path(dir.path()).unwrap());
    let reference = |name: &str| {
        format!("{}@{}", release["images"][name]["repository"].as_str().unwrap(), release["images"][name]["digest"].as_str().unwrap())
    };

    // Render with the pins: every service container runs its digest and may pull it.
    let plain = containers(&render(&infra, &[]));
    let pinned = containers(&render(&infra, &["--images", record.as_str()]));
    assert_eq!(plain.len(), pinned.len());
    for ((name, before, _), (_, image, policy)) in plain.iter().zip(&pinned) {
        let service = stack_k8s::pin::image_name(before);
        if PUSHED.contains(&service) {
            assert_eq!(image, &reference(service), "{name}");
            assert_eq!(policy, "IfNotPresent", "{name}: a pinned image must be pullable");
        } else {
            assert_eq!(image, before, "{name}: an image the record does not name changed");
        }
    }
    let committed = infra.root().join("k8s/overlays/minikube/kustomization.yaml");
    let original = std::fs::read_to_string(&committed).unwrap();

    // `k8s pin --dry-run` changes nothing; `k8s pin` writes the entries, keeping every comment.
    let dry = infra.xtask(&["k8s", "pin", "--overlay", "minikube", "--images", record.as_str(), "--dry-run"]);
    assert!(dry.status.success(), "{}", describe(&dry));
    assert_eq!(std::fs::read_to_string(&committed).unwrap(), original, "a dry run changed the kustomization");
    let pin = infra.xtask(&["k8s", "pin", "--overlay", "minikube", "--images", record.as_str()]);
    assert!(pin.status.success(), "{}", describe(&pin));
    assert!(stdout(&pin).contains("updated srvthreds-engine"), "{}", describe(&pin));
    let written = std::fs::read_to_string(&committed).unwrap();
    let comments = |t: &str| t.lines().filter(|l| l.trim_start().starts_with('#')).map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(comments(&written), comments(&original), "pinning lost or moved a comment");
    let again = infra.xtask(&["k8s", "pin", "--overlay", "minikube", "--images", record.as_str()]);
    assert!(stdout(&again).contains("nothing changed"), "{}", describe(&again));

    // Real kubectl renders the pinned file with the same images (the overlay's Never patch
    // stays in the file: `k8s pin` says so).
    let kubectl = Command::new("kubectl").args(["kustomize", committed.parent().unwrap().as_str()]).output().unwrap();
    assert!(kubectl.status.success(), "{}", describe(&kubectl));
    let by_kubectl: Vec<serde_json::Value> = stack_k8s::render::from_yaml(&String::from_utf8_lossy(&kubectl.stdout)).unwrap();
    let by_kubectl: Vec<(String, String)> = containers(&by_kubectl).into_iter().map(|(n, i, _)| (n, i)).collect();
    let ours: Vec<(String, String)> = pinned.into_iter().map(|(n, i, _)| (n, i)).collect();
    assert_eq!(by_kubectl, ours, "kubectl renders the pinned kustomization with other images than `render --images`");
    assert!(stdout(&pin).contains("imagePullPolicy to Never"), "{}", describe(&pin));
}
