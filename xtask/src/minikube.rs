//! `cargo xtask minikube up|down|status`: the steps of `stack_k8s::minikube::Plan`, printed with
//! `--dry-run`, carried out one by one otherwise (the roadmap's `setup-minikube.sh`).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context as _, bail};
use serde::Serialize;
use stack_compose::EngineOptions;
use stack_config::Infra;
use stack_config::environment::Minikube as Settings;
use stack_config::infra::Resolved;
use stack_k8s::minikube::{Action, CatalogueRun, DockerEnv, OverlaySummary, Plan, PlanInputs, Status, Step};

use crate::Context;
use crate::flags::{self, Minikube};
use crate::local::{self, RunFlags};
use crate::output::note;

/// The catalogue deployment that builds the images (`cargo xtask services build`).
const BUILD: &str = "b_a_s";
/// The catalogue deployment that starts the host databases (`cargo xtask db start`).
const DATABASES: &str = "s_a_dbs";
/// Lines of a failed command's stderr shown in the error.
const TAIL: usize = 20;

/// Runs `minikube up|down|status`.
pub fn run(cx: &Context, action: Minikube) -> anyhow::Result<ExitCode> {
    let (infra, warnings) = Infra::load(&cx.infra, &crate::load_options())?;
    if !cx.quiet {
        for w in warnings.iter() {
            note(&w.to_string());
        }
    }
    let settings = infra.environments.minikube.clone().with_context(|| {
        format!(
            "{} has no `minikube` section\n  help: add one (profile, driver, cpus, memoryMb, diskSize, addons, overlay)",
            infra.environments.file
        )
    })?;
    match action {
        Minikube::Up(args) => up(cx, &infra, &settings, !args.no_port_forward),
        Minikube::Down => down(cx, &settings),
        Minikube::Status => status(cx, &settings),
    }
}

/// `minikube up`: every step of [`Plan::up`], in order. Idempotent: a running cluster is not
/// started again, unchanged images are not rebuilt, and the apply converges.
fn up(cx: &Context, infra: &Infra, settings: &Settings, port_forward: bool) -> anyhow::Result<ExitCode> {
    // A missing tool fails before anything changes (and before the slow rebuild with the backends).
    let tools = if cx.dry_run { None } else { Some(Tools { minikube: find_minikube()?, kubectl: find_kubectl()? }) };
    if !cx.dry_run
        && let Some(code) = crate::backend::ensure_full("minikube up")?
    {
        return Ok(code);
    }
    let (build, databases) = (resolve(infra, &cx.env, BUILD)?, resolve(infra, &cx.env, DATABASES)?);
    let plan = Plan::up(settings, &inputs(cx, infra, settings, &build, &databases, port_forward)?);
    let Some(tools) = tools else { return print_plan(cx, &plan) };
    let mut run = Run { cx, plan: &plan, done: Vec::new() };
    let mut engine = None;
    let mut running = false;
    for step in &plan.steps {
        run.announce(step);
        match (step.id.as_str(), &step.action) {
            ("find-minikube", _) => run.detail(&format!("found {}", tools.minikube.display())),
            ("find-kubectl", _) => run.detail(&format!("found {}", tools.kubectl.display())),
            ("status", Action::Exec(argv)) => {
                let out =
                    run.exec(step, argv, &tools, Echo::Capture, &[0, 1, 2, 3, 4, 5, 6, 7, stack_k8s::minikube::EXIT_GUEST_NOT_FOUND])?;
                let state = Status::parse(out.code, &out.stdout).with_context(|| run.failed(step))?;
                running = state.running();
                run.detail(&format!("host {}, apiserver {}", state.host, state.apiserver));
            }
            ("start", Action::Exec(_)) if running => run.detail("already running: skipped"),
            ("docker-env", Action::Exec(argv)) => {
                let out = run.exec(step, argv, &tools, Echo::Capture, &[0])?;
                let env = DockerEnv::parse(&out.stdout).with_context(|| run.failed(step))?;
                run.detail(&format!("DOCKER_HOST={}", env.host));
                // Only the docker-env values, never this process's DOCKER_* variables.
                engine = Some(EngineOptions::from_env(&|k| env.get(k)));
            }
            ("build-images", _) => {
                let engine = engine.as_ref().context("internal error: build-images before docker-env")?;
                let code = local::execute_on(&cx.nested(), infra, &build, RunFlags::default(), engine).with_context(|| run.failed(step))?;
                run.check(step, code)?;
            }
            ("db-start", _) => {
                let code = local::execute(&cx.nested(), infra, &databases, RunFlags::default()).with_context(|| run.failed(step))?;
                run.check(step, code)?;
            }
            ("apply", _) => {
                let code = crate::cluster::apply(&cx.nested(), &apply_args(settings)).with_context(|| run.failed(step))?;
                run.check(step, code)?;
            }
            ("wait", _) => run.detail("done: the apply waited for every rollout"),
            ("port-forward", _) => {
                let pf = settings.port_forward.as_ref().context("internal error: port-forward step without settings")?;
                if !cx.quiet {
                    note(&format!(
                        "minikube up: done. svc/{} at http://localhost:{} (Ctrl-C ends the forward; the cluster keeps running)",
                        pf.service, pf.local_port
                    ));
                }
                // The forward runs until interrupted: with --output json, the summary is the one
                // document on stdout, printed before it starts.
                if cx.out.is_json() {
                    run.done.push(step.id.clone());
                    let summary = Summary { profile: &settings.profile, result: "ready", steps: &run.done };
                    cx.out.json(&summary)?;
                }
                let args = flags::PortForward {
                    target: target(settings),
                    service: pf.service.clone(),
                    ports: format!("{}:{}", pf.local_port, pf.remote_port),
                    address: "127.0.0.1".into(),
                };
                return crate::cluster::port_forward(&cx.nested(), &args).with_context(|| run.failed(step));
            }
            (_, Action::Exec(argv)) => {
                run.exec(step, argv, &tools, Echo::Stderr, &[0])?;
            }
            (id, _) => bail!("internal error: no executor for step `{id}`"),
        }
        run.done.push(step.id.clone());
    }
    let text = format!(
        "minikube up: profile {p} ready, overlay {o} applied\n  port-forward: cargo xtask k8s port-forward --overlay {o} --context {p} SERVICE PORTS",
        p = settings.profile,
        o = settings.overlay
    );
    finish(cx, &Summary { profile: &settings.profile, result: "ready", steps: &run.done }, &text)
}

/// `minikube down`: `minikube stop`, keeping the cluster; the host databases keep running.
fn down(cx: &Context, settings: &Settings) -> anyhow::Result<ExitCode> {
    let plan = Plan::down(settings);
    if cx.dry_run {
        return print_plan(cx, &plan);
    }
    let tools = Tools { minikube: find_minikube()?, kubectl: PathBuf::new() };
    let mut run = Run { cx, plan: &plan, done: Vec::new() };
    for step in &plan.steps {
        run.announce(step);
        match &step.action {
            Action::Exec(argv) => {
                let out = run.exec(step, argv, &tools, Echo::Stderr, &[0, stack_k8s::minikube::EXIT_GUEST_NOT_FOUND])?;
                if out.code == Some(stack_k8s::minikube::EXIT_GUEST_NOT_FOUND) {
                    let text = format!("minikube profile {} does not exist: nothing to stop", settings.profile);
                    return finish(cx, &Summary { profile: &settings.profile, result: "absent", steps: &run.done }, &text);
                }
            }
            _ => run.detail(&format!("found {}", tools.minikube.display())),
        }
        run.done.push(step.id.clone());
    }
    let text = format!(
        "minikube profile {p} stopped; the cluster is kept (`minikube delete --profile {p}` removes it)\n  note: the host databases keep running (shared with the Docker workflow): `cargo xtask db stop` stops them",
        p = settings.profile
    );
    finish(cx, &Summary { profile: &settings.profile, result: "stopped", steps: &run.done }, &text)
}

/// The result of `up` or `down`, for `--output json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    profile: &'a str,
    /// `ready` (up), `stopped` or `absent` (down).
    result: &'a str,
    /// The ids of the steps carried out.
    steps: &'a [String],
}

/// Prints the result: `summary` as JSON, else `text`.
fn finish(cx: &Context, summary: &Summary<'_>, text: &str) -> anyhow::Result<ExitCode> {
    if cx.out.is_json() {
        cx.out.json(summary)?;
    } else {
        cx.out.text(text)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The state of a profile, for `--output json`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusReport<'a> {
    profile: &'a str,
    running: bool,
    #[serde(flatten)]
    state: &'a Status,
}

/// `minikube status`: minikube's view, then the overlay's workloads when the API server runs.
/// Exit 0 only when the cluster runs (and its workloads report healthy).
fn status(cx: &Context, settings: &Settings) -> anyhow::Result<ExitCode> {
    let plan = Plan::status(settings);
    if cx.dry_run {
        return print_plan(cx, &plan);
    }
    let tools = Tools { minikube: find_minikube()?, kubectl: PathBuf::new() };
    let run = Run { cx, plan: &plan, done: Vec::new() };
    let step = plan.step("status").context("internal error: status plan without its status step")?;
    let argv = step.argv().context("internal error: the status step runs no command")?;
    let codes: Vec<i32> = (0..=7).chain([stack_k8s::minikube::EXIT_GUEST_NOT_FOUND]).collect();
    let out = run.exec(step, argv, &tools, Echo::Quiet, &codes)?;
    let state = Status::parse(out.code, &out.stdout)?;
    let running = state.running();
    // The workloads need the Kubernetes backend: re-run there before printing anything.
    if running
        && !cx.out.is_json()
        && let Some(code) = crate::backend::ensure_full("minikube status")?
    {
        return Ok(code);
    }
    if cx.out.is_json() {
        cx.out.json(&StatusReport { profile: &settings.profile, running, state: &state })?;
        if running && !cx.quiet {
            note(&format!(
                "note: workloads: cargo xtask k8s status --overlay {} --context {} --output json",
                settings.overlay, settings.profile
            ));
        }
    } else {
        let rows = vec![
            vec!["PROFILE".to_owned(), "HOST".into(), "KUBELET".into(), "APISERVER".into(), "KUBECONFIG".into()],
            vec![settings.profile.clone(), state.host.clone(), state.kubelet.clone(), state.apiserver.clone(), state.kubeconfig.clone()],
        ];
        cx.out.text(&crate::output::table(&rows))?;
    }
    if !running {
        if !cx.quiet {
            note(&format!("note: profile {} is not running: `cargo xtask minikube up` starts it", settings.profile));
        }
        return Ok(ExitCode::FAILURE);
    }
    if cx.out.is_json() {
        return Ok(ExitCode::SUCCESS);
    }
    crate::cluster::status(cx, &target(settings))
}

/// The external tools, found on `PATH`.
struct Tools {
    minikube: PathBuf,
    kubectl: PathBuf,
}

fn find_minikube() -> anyhow::Result<PathBuf> {
    which::which("minikube").map_err(|_| {
        anyhow::anyhow!(
            "minikube is not installed (looked on PATH); nothing was changed\n  help: install it: https://minikube.sigs.k8s.io/docs/start/ (e.g. `curl -LO https://storage.googleapis.com/minikube/releases/latest/minikube-linux-amd64 && sudo install minikube-linux-amd64 /usr/local/bin/minikube`)"
        )
    })
}

fn find_kubectl() -> anyhow::Result<PathBuf> {
    which::which("kubectl").map_err(|_| {
        anyhow::anyhow!(
            "kubectl is not installed (looked on PATH); nothing was changed\n  help: install it: https://kubernetes.io/docs/tasks/tools/ (or put `minikube kubectl --` behind an alias named kubectl)"
        )
    })
}

/// The catalogue deployment `short_name` in `env`, printing its warnings.
fn resolve(infra: &Infra, env: &str, short_name: &str) -> anyhow::Result<Resolved> {
    let (resolved, warnings) = infra.resolve(env, short_name)?;
    for w in warnings.iter() {
        note(&w.to_string());
    }
    Ok(resolved)
}

/// The plan's inputs: the build and database deployments, the images the build produces, and
/// the rendered overlay (native renderer, no cluster needed).
fn inputs(
    cx: &Context,
    infra: &Infra,
    settings: &Settings,
    build: &Resolved,
    databases: &Resolved,
    port_forward: bool,
) -> anyhow::Result<PlanInputs> {
    let built_images = build
        .compose
        .as_ref()
        .map(|project| {
            build
                .services
                .iter()
                .filter_map(|s| project.services.get(s))
                .map(|svc| stack_compose::plan::image_name(&build.project_name, svc))
                .collect()
        })
        .unwrap_or_default();
    let prepared = crate::k8s::prepare(cx, infra, &settings.overlay, crate::k8s::Purpose::Inspect)?;
    let objects = stack_k8s::render::render(&prepared.dir)?;
    let catalogue = |r: &Resolved| CatalogueRun { short_name: r.deployment.short_name.clone(), services: r.services.clone() };
    Ok(PlanInputs {
        overlay: OverlaySummary::from_objects(&objects),
        build: catalogue(build),
        built_images,
        databases: catalogue(databases),
        wait_timeout_secs: cx.wait_timeout,
        port_forward,
    })
}

fn print_plan(cx: &Context, plan: &Plan) -> anyhow::Result<ExitCode> {
    if cx.out.is_json() {
        cx.out.json(plan)?;
    } else {
        cx.out.text(&plan.to_string())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The overlay in the profile's kube context: naming the context lifts the wrong-cluster guard.
fn target(settings: &Settings) -> flags::Target {
    flags::Target { overlay: flags::Overlay { overlay: settings.overlay.clone() }, context: Some(settings.profile.clone()) }
}

fn apply_args(settings: &Settings) -> flags::Apply {
    flags::Apply { target: target(settings), force_conflicts: false, no_prune: false, no_wait: false, rollback_on_failure: false }
}

/// Where a command's stdout goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Echo {
    /// Captured and returned (it is data: JSON, KEY=VALUE lines); stderr is shown.
    Capture,
    /// Captured, and stderr too: nothing is shown unless the command fails.
    Quiet,
    /// Shown on our stderr as progress (unless --quiet).
    Stderr,
}

/// What a finished command printed.
struct Finished {
    code: Option<i32>,
    stdout: String,
}

/// A plan being carried out: prints progress and names what was done when a step fails.
struct Run<'a> {
    cx: &'a Context,
    plan: &'a Plan,
    done: Vec<String>,
}

impl Run<'_> {
    fn announce(&self, step: &Step) {
        if self.cx.quiet {
            return;
        }
        note(&format!("==> [{}] {}", step.id, step.description));
        if let Action::Exec(argv) = &step.action {
            note(&format!("    $ {}", stack_k8s::minikube::shell_line(argv)));
        }
    }

    fn detail(&self, text: &str) {
        if !self.cx.quiet {
            note(&format!("    {text}"));
        }
    }

    /// The context of a failed step: which steps ran and which did not.
    fn failed(&self, step: &Step) -> String {
        let pending: Vec<&str> =
            self.plan.steps.iter().map(|s| s.id.as_str()).filter(|id| *id != step.id && !self.done.iter().any(|d| d == id)).collect();
        format!(
            "step `{}` of minikube {} failed (done: {}; not done: {})",
            step.id,
            self.plan.command,
            if self.done.is_empty() { "nothing".to_owned() } else { self.done.join(", ") },
            if pending.is_empty() { "nothing".to_owned() } else { pending.join(", ") }
        )
    }

    fn check(&self, step: &Step, code: ExitCode) -> anyhow::Result<()> {
        if code != ExitCode::SUCCESS {
            bail!("{}: it exited unsuccessfully", self.failed(step));
        }
        Ok(())
    }

    /// Runs `argv` (its program found by `which`); an exit code outside `ok` is an error naming
    /// the step, the code and the last lines of its stderr.
    fn exec(&self, step: &Step, argv: &[String], tools: &Tools, echo: Echo, ok: &[i32]) -> anyhow::Result<Finished> {
        let (program, args) = argv.split_first().context("internal error: empty argv")?;
        let path = match program.as_str() {
            "minikube" => tools.minikube.clone(),
            "kubectl" => tools.kubectl.clone(),
            other => which::which(other).with_context(|| format!("{other} is not installed (looked on PATH)"))?,
        };
        let mut child = Command::new(&path)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("{}: cannot start {}", self.failed(step), path.display()))?;
        let show = !self.cx.quiet;
        let stderr = child.stderr.take().map(|s| lines(s, show && echo != Echo::Quiet));
        let stdout_lines = child.stdout.take().map(|s| lines(s, show && echo == Echo::Stderr));
        let status = child.wait().with_context(|| format!("{}: waiting for {program}", self.failed(step)))?;
        let stdout = stdout_lines.map(|h| h.join().unwrap_or_default()).unwrap_or_default().join("\n");
        let stderr = stderr.map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        if status.code().is_some_and(|c| ok.contains(&c)) {
            return Ok(Finished { code: status.code(), stdout });
        }
        let tail = stderr.iter().skip(stderr.len().saturating_sub(TAIL)).cloned().collect::<Vec<_>>().join("\n");
        bail!(
            "{}: `{}` exited with {}{}",
            self.failed(step),
            stack_k8s::minikube::shell_line(argv),
            status.code().map_or_else(|| "a signal".to_owned(), |c| format!("code {c}")),
            if tail.is_empty() { String::new() } else { format!("; last lines of its stderr:\n{tail}") }
        )
    }
}

/// Reads a stream line by line on a thread, echoing each line to stderr when `show`.
fn lines(stream: impl Read + Send + 'static, show: bool) -> std::thread::JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if show {
                note(&format!("    {line}"));
            }
            all.push(line);
        }
        all
    })
}
