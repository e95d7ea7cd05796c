//! EKS through our own commands against moto, the AWS API emulator (never a real account).
//! `.ci/run` installs `moto[server]` and boto3 in a virtualenv; the test fails when they are
//! missing rather than skip. The plain `cargo xtask` build lacks the AWS backend, so these runs
//! also prove that xtask re-runs itself with `--features full`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use stack_tests::{describe, free_port, stderr, xtask};

/// The virtualenv `.ci/run` makes; `SRVTHREDS_VENV` overrides it.
fn venv() -> PathBuf {
    let dir = PathBuf::from(std::env::var("SRVTHREDS_VENV").unwrap_or_else(|_| "/opt/srvthreds-venv".to_owned()));
    assert!(dir.join("bin/moto_server").is_file(), "moto_server not found in {} (.ci/run installs moto[server] there)", dir.display());
    dir
}

struct Moto {
    child: Child,
    url: String,
}

impl Moto {
    fn start() -> Moto {
        let port = free_port();
        let child = Command::new(venv().join("bin/moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "moto_server did not listen on {port} within 30s");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, url: format!("http://127.0.0.1:{port}") }
    }

    /// Runs a boto3 snippet against this server (`eks` is a ready client).
    fn boto(&self, code: &str) {
        let script = format!(
            "import boto3\neks = boto3.client('eks', endpoint_url='{}', region_name='us-west-2', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}",
            self.url
        );
        let out = Command::new(venv().join("bin/python")).arg("-c").arg(script).output().expect("python");
        assert!(out.status.success(), "boto3 against moto failed\n{}", describe(&out));
    }

    fn xtask(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = xtask();
        cmd.args(args)
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-west-2")
            .env_remove("AWS_PROFILE");
        cmd.output().expect("run xtask")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn cloud_status_reports_the_cluster_and_node_groups_from_moto() {
    let moto = Moto::start();
    moto.boto(
        "eks.create_cluster(name='srvthreds-dev', roleArn='arn:aws:iam::123456789012:role/eks', resourcesVpcConfig={'subnetIds': ['subnet-1', 'subnet-2']}, version='1.31')\n\
         eks.create_nodegroup(clusterName='srvthreds-dev', nodegroupName='general', nodeRole='arn:aws:iam::123456789012:role/node', subnets=['subnet-1'], instanceTypes=['t3.large'], scalingConfig={'minSize': 1, 'maxSize': 3, 'desiredSize': 2})",
    );
    let out = moto.xtask(&["--env", "dev", "cloud", "status", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(stderr(&out).contains("--features full"), "the plain build re-ran itself with the backend\n{}", describe(&out));
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("one JSON document ({e})\n{}", describe(&out)));
    assert_eq!(report["cluster"]["name"], "srvthreds-dev", "{report}");
    assert_eq!(report["cluster"]["status"], "ACTIVE", "{report}");
    assert_eq!(report["cluster"]["version"], "1.31", "{report}");
    assert!(report["cluster"]["endpoint"].as_str().is_some_and(|e| !e.is_empty()), "{report}");
    let groups = report["nodegroups"].as_array().expect("nodegroups");
    assert_eq!(groups.len(), 1, "{report}");
    assert_eq!(groups[0]["name"], "general");
    assert_eq!(groups[0]["desiredSize"], 2);
    assert_eq!(groups[0]["instanceTypes"][0], "t3.large");
}

#[test]
fn cloud_status_of_a_missing_cluster_is_a_clear_error() {
    let moto = Moto::start();
    let out = moto.xtask(&["--env", "staging", "cloud", "status"]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert_ne!(out.status.code(), Some(101), "panicked\n{}", describe(&out));
    assert!(stderr(&out).contains("srvthreds-staging"), "{}", describe(&out));
}

#[test]
fn cloud_status_of_a_docker_environment_says_so() {
    let moto = Moto::start();
    let out = moto.xtask(&["--env", "local", "cloud", "status"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("environment `local` has no EKS cluster"), "{}", describe(&out));
}
