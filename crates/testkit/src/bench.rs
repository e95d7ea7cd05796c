//! Benchmark of `db start` against Docker Compose v1 on the same compose files and images:
//! from command start to every store healthy, cold (images present, no containers) and
//! re-run (everything already up and settled: Docker itself reports every store healthy, the
//! state a developer re-runs from). Runs are interleaved; figures are printed, never asserted.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

/// What to compare.
#[derive(Debug, Clone)]
pub struct Options {
    /// The xtask binary (usually the current executable).
    pub xtask: PathBuf,
    /// The infrastructure tree.
    pub infra: PathBuf,
    /// Runs of each tool and mode.
    pub runs: usize,
    /// Variables pointing the compose files at local images (`cargo xtask test-images`).
    pub image_vars: Vec<(String, String)>,
    /// Deadline for one run to reach all-healthy.
    pub deadline: Duration,
}

/// Timings in seconds.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    pub tool: String,
    pub mode: String,
    pub runs: Vec<f64>,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

/// The result: four series and the ratios ours/compose.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub series: Vec<Series>,
    pub cold_ratio: f64,
    pub rerun_ratio: f64,
}

impl std::fmt::Display for Report {
    /// The series side by side, then the ratios.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut rows = vec![["tool", "mode", "median s", "min s", "max s", "runs"].map(str::to_owned).to_vec()];
        for s in &self.series {
            let runs: Vec<String> = s.runs.iter().map(|r| format!("{r:.2}")).collect();
            let cells = [s.median, s.min, s.max].map(|v| format!("{v:.2}"));
            rows.push([s.tool.clone(), s.mode.clone()].into_iter().chain(cells).chain([runs.join(" ")]).collect());
        }
        write!(
            f,
            "{}ratio ours/compose (medians): cold {:.2}, re-run {:.2}",
            stack_config::table::table(&rows),
            self.cold_ratio,
            self.rerun_ratio
        )
    }
}

/// What [`compare_with_compose`] would do, for a dry run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DryRun {
    pub dry_run: bool,
    pub would: String,
}

impl DryRun {
    pub fn new(runs: usize) -> DryRun {
        DryRun {
            dry_run: true,
            would: format!(
                "start and remove the data layer {runs} times each with this toolkit and with docker-compose, cold and re-run, in projects of their own"
            ),
        }
    }
}

impl std::fmt::Display for DryRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "dry run: would {}; nothing was run", self.would)
    }
}

const SERVICES: [&str; 3] = ["mongo", "redis", "rabbitmq"];

/// `bench compose`: builds or finds the local test images of `repo_root`, then
/// [`compare_with_compose`] with `xtask` on the tree `infra`.
pub fn run(xtask: PathBuf, infra: PathBuf, repo_root: &camino::Utf8Path, runs: usize, deadline: Duration) -> Result<Report, String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let images = rt.block_on(async {
        let engine = stack_compose::Engine::connect(&stack_compose::EngineOptions::from_env(&|k| std::env::var(k).ok())).await?;
        crate::images::ensure(&engine, repo_root, &stack_compose::entry::Quiet).await
    });
    let image_vars = images.map_err(|e| e.to_string())?.vars;
    compare_with_compose(&Options { xtask, infra, runs: runs.max(1), image_vars, deadline })
}

/// Runs the comparison. Errors are descriptive strings: this is a measuring tool.
pub fn compare_with_compose(options: &Options) -> Result<Report, String> {
    which_compose()?;
    let env_file = options.infra.join("env/test.env.example");
    let compose_dir = options.infra.join("local/compose");
    let mut ours_cold = Vec::new();
    let mut ours_rerun = Vec::new();
    let mut compose_cold = Vec::new();
    let mut compose_rerun = Vec::new();
    let vars = |project: &str, base: u16| -> Vec<(String, String)> {
        let mut v = options.image_vars.clone();
        for (k, val) in [
            ("COMPOSE_PROJECT_NAME", project.to_owned()),
            ("SRVTHREDS_NETWORK", format!("{project}-net")),
            ("MONGO_PORT", (base).to_string()),
            ("REDIS_PORT", (base + 1).to_string()),
            ("RABBITMQ_PORT", (base + 2).to_string()),
            ("RABBITMQ_MANAGEMENT_PORT", (base + 3).to_string()),
        ] {
            v.push((k.to_owned(), val));
        }
        v
    };
    let ours_vars = vars("bench-ours", 47017);
    let compose_vars = vars("bench-compose", 48017);
    for _ in 0..options.runs {
        clean("bench-ours");
        clean("bench-compose");
        // Ours: the command returns when every store is ready.
        let ours = |vars: &[(String, String)]| -> Result<f64, String> {
            let started = Instant::now();
            let out = Command::new(&options.xtask)
                .args(["--env", "test", "--infra"])
                .arg(&options.infra)
                .args(["-q", "db", "start"])
                .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .env("CI", "true")
                .stdout(Stdio::null())
                .output()
                .map_err(|e| format!("running xtask: {e}"))?;
            if !out.status.success() {
                return Err(format!("xtask db start failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
            Ok(started.elapsed().as_secs_f64())
        };
        ours_cold.push(ours(&ours_vars)?);
        settle(&SERVICES.map(|s| format!("bench-ours-{s}-1")), options.deadline)?;
        ours_rerun.push(ours(&ours_vars)?);
        // Docker Compose v1: `up -d`, then poll `docker inspect` until every store is healthy.
        let compose = |vars: &[(String, String)]| -> Result<f64, String> {
            let started = Instant::now();
            let out = Command::new("docker-compose")
                .arg("--env-file")
                .arg(&env_file)
                .args(["-p", "bench-compose", "-f", "docker-compose-db.yml", "-f", "docker-compose-services.yml", "up", "-d"])
                .args(SERVICES)
                .current_dir(&compose_dir)
                .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdout(Stdio::null())
                .output()
                .map_err(|e| format!("running docker-compose: {e}"))?;
            if !out.status.success() {
                return Err(format!("docker-compose up failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
            let names: Vec<String> = SERVICES.iter().map(|s| format!("bench-compose_{s}_1")).collect();
            loop {
                let out = Command::new("docker")
                    .args(["inspect", "-f", "{{.State.Health.Status}}"])
                    .args(&names)
                    .output()
                    .map_err(|e| format!("docker inspect: {e}"))?;
                let text = String::from_utf8_lossy(&out.stdout);
                if out.status.success() && text.lines().count() == names.len() && text.lines().all(|l| l.trim() == "healthy") {
                    break;
                }
                if started.elapsed() > options.deadline {
                    return Err(format!("docker-compose stores not healthy within {}s: {text}", options.deadline.as_secs()));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Ok(started.elapsed().as_secs_f64())
        };
        compose_cold.push(compose(&compose_vars)?);
        settle(&SERVICES.map(|s| format!("bench-compose_{s}_1")), options.deadline)?;
        compose_rerun.push(compose(&compose_vars)?);
    }
    clean("bench-ours");
    clean("bench-compose");
    let series = |tool: &str, mode: &str, runs: Vec<f64>| {
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        let median = if sorted.is_empty() {
            0.0
        } else if sorted.len() % 2 == 1 {
            sorted[sorted.len() / 2]
        } else {
            (sorted[sorted.len() / 2 - 1] + sorted[sorted.len() / 2]) / 2.0
        };
        Series {
            tool: tool.to_owned(),
            mode: mode.to_owned(),
            min: sorted.first().copied().unwrap_or(0.0),
            max: sorted.last().copied().unwrap_or(0.0),
            median,
            runs,
        }
    };
    let s = vec![
        series("stack-compose (cargo xtask db start)", "cold", ours_cold),
        series("docker-compose 1.29 up -d + inspect", "cold", compose_cold),
        series("stack-compose (cargo xtask db start)", "re-run", ours_rerun),
        series("docker-compose 1.29 up -d + inspect", "re-run", compose_rerun),
    ];
    let ratio = |a: &Series, b: &Series| if b.median > 0.0 { a.median / b.median } else { 0.0 };
    Ok(Report { cold_ratio: ratio(&s[0], &s[1]), rerun_ratio: ratio(&s[2], &s[3]), series: s })
}

/// Waits (untimed) until Docker reports every container healthy.
fn settle(names: &[String], deadline: Duration) -> Result<(), String> {
    let started = Instant::now();
    loop {
        let out = Command::new("docker")
            .args(["inspect", "-f", "{{.State.Health.Status}}"])
            .args(names)
            .output()
            .map_err(|e| format!("docker inspect: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if out.status.success() && text.lines().count() == names.len() && text.lines().all(|l| l.trim() == "healthy") {
            return Ok(());
        }
        if started.elapsed() > deadline {
            return Err(format!("{} not healthy within {}s: {text}", names.join(", "), deadline.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn which_compose() -> Result<(), String> {
    match Command::new("docker-compose").arg("version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("docker-compose (Compose v1) not found: apt-get install docker-compose".to_owned()),
    }
}

/// Removes every container, network and volume of `project`.
fn clean(project: &str) {
    let label = format!("label=com.docker.compose.project={project}");
    let lines = |args: &[&str]| -> Vec<String> {
        Command::new("docker")
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).lines().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let ids = lines(&["ps", "-aq", "--filter", &label]);
    if !ids.is_empty() {
        let _ = Command::new("docker").args(["rm", "-f", "-v"]).args(&ids).output();
    }
    for kind in ["network", "volume"] {
        for n in lines(&[kind, "ls", "-q", "--filter", &label]) {
            let _ = Command::new("docker").args([kind, "rm", &n]).output();
        }
    }
}
