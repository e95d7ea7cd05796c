//! EKS through our own commands against moto, the AWS API emulator (never a real account).
//! `.ci/run` installs `moto[server]` and boto3 in a virtualenv; the test fails when they are
//! missing rather than skip. The plain `cargo xtask` build lacks the AWS backend, so these runs
//! also prove that xtask re-runs itself with `--features full`.

// A failed unwrap in a test is the test failing, with its line.
#![allow(clippy::unwrap_used)]

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
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

    /// Runs a boto3 snippet against this server (`eks` is a ready client); returns its stdout.
    fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3\neks = boto3.client('eks', endpoint_url='{}', region_name='us-west-2', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}",
            self.url
        );
        let out = Command::new(venv().join("bin/python")).arg("-c").arg(script).output().expect("python");
        assert!(out.status.success(), "boto3 against moto failed\n{}", describe(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn xtask(&self, args: &[&str]) -> std::process::Output {
        self.command(args).output().expect("run xtask")
    }

    /// `cargo xtask ARGS` with the AWS SDK pointed at this server, not run yet.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = xtask();
        cmd.args(args)
            .env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-west-2")
            .env_remove("AWS_PROFILE");
        cmd
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
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("one JSON document ({e})\n{}", describe(&out)));
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

const CREATE_DEV: &str = "print(eks.create_cluster(name='srvthreds-dev', roleArn='arn:aws:iam::123456789012:role/eks', resourcesVpcConfig={'subnetIds': ['subnet-1', 'subnet-2']}, version='1.31')['cluster']['arn'])";

/// The cluster as moto describes it, through boto3.
fn describe_dev(moto: &Moto) -> Value {
    let out = moto.boto("import json\nprint(json.dumps(eks.describe_cluster(name='srvthreds-dev')['cluster'], default=str))");
    serde_json::from_str(&out).expect("describe_cluster JSON")
}

/// A kubeconfig as kubectl itself reads it (`kubectl config view --raw -o json`): proof that the
/// file is a valid kubeconfig, and its content as JSON.
fn kubectl_view(file: &Path) -> Value {
    let out = Command::new("kubectl")
        .args(["config", "view", "--raw", "-o", "json", "--kubeconfig"])
        .arg(file)
        .output()
        .expect("kubectl is installed on these machines");
    assert!(out.status.success(), "kubectl rejects the kubeconfig\n{}", describe(&out));
    serde_json::from_slice(&out.stdout).expect("kubectl prints JSON")
}

fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array().and_then(|items| items.iter().find(|i| i["name"] == name)).unwrap_or_else(|| panic!("no `{name}` in {list}"))
}

/// Checks an ExecCredential printed by `cloud token` for a cluster in `region`, decoding its token
/// with Python's own base64url and URL parsers.
fn check_exec_credential(stdout: &[u8], region: &str) {
    let credential: Value =
        serde_json::from_slice(stdout).unwrap_or_else(|e| panic!("one JSON document ({e}): {}", String::from_utf8_lossy(stdout)));
    assert_eq!(credential["kind"], "ExecCredential", "{credential}");
    assert_eq!(credential["apiVersion"], "client.authentication.k8s.io/v1beta1", "{credential}");
    assert_eq!(credential["spec"], json!({}), "{credential}");
    let token = credential["status"]["token"].as_str().expect("status.token");
    let expiration = credential["status"]["expirationTimestamp"].as_str().expect("status.expirationTimestamp");
    let script = r#"
import base64, datetime, json, sys, urllib.parse
token, expiration = sys.argv[1], sys.argv[2]
assert token.startswith('k8s-aws-v1.'), token
data = token[len('k8s-aws-v1.'):]
assert '=' not in data and '+' not in data and '/' not in data, data
url = base64.urlsafe_b64decode(data + '=' * (-len(data) % 4)).decode()
parts = urllib.parse.urlsplit(url)
query = dict(urllib.parse.parse_qsl(parts.query, strict_parsing=True))
signed = datetime.datetime.strptime(query['X-Amz-Date'], '%Y%m%dT%H%M%SZ').replace(tzinfo=datetime.timezone.utc)
expires = datetime.datetime.strptime(expiration, '%Y-%m-%dT%H:%M:%SZ').replace(tzinfo=datetime.timezone.utc)
now = datetime.datetime.now(datetime.timezone.utc)
print(json.dumps({'scheme': parts.scheme, 'host': parts.netloc, 'path': parts.path, 'query': query,
    'signedAgo': (now - signed).total_seconds(), 'validFor': (expires - signed).total_seconds()}))
"#;
    let out = Command::new(venv().join("bin/python")).arg("-c").arg(script).arg(token).arg(expiration).output().expect("python");
    assert!(out.status.success(), "the token does not decode\n{}", describe(&out));
    let url: Value = serde_json::from_slice(&out.stdout).expect("decoded URL JSON");
    assert_eq!(url["scheme"], "https", "{url}");
    assert_eq!(url["host"], format!("sts.{region}.amazonaws.com"), "{url}");
    assert_eq!(url["path"], "/", "{url}");
    let query = &url["query"];
    assert_eq!(query["Action"], "GetCallerIdentity", "{url}");
    assert_eq!(query["Version"], "2011-06-15", "{url}");
    assert_eq!(query["X-Amz-Algorithm"], "AWS4-HMAC-SHA256", "{url}");
    assert_eq!(query["X-Amz-Expires"], "60", "{url}");
    let signed_headers = query["X-Amz-SignedHeaders"].as_str().expect("X-Amz-SignedHeaders");
    assert!(signed_headers.split(';').any(|h| h == "x-k8s-aws-id"), "{url}");
    assert!(signed_headers.split(';').any(|h| h == "host"), "{url}");
    let credential_scope = query["X-Amz-Credential"].as_str().expect("X-Amz-Credential");
    assert!(credential_scope.starts_with("testing/"), "the access key of the environment: {url}");
    assert!(credential_scope.ends_with(&format!("/{region}/sts/aws4_request")), "{url}");
    assert_eq!(query["X-Amz-Signature"].as_str().map(str::len), Some(64), "{url}");
    // Signed just now; clients renew before EKS stops accepting it (15 minutes after signing).
    let ago = url["signedAgo"].as_f64().expect("a number");
    assert!((-5.0..120.0).contains(&ago), "{url}");
    let valid_for = url["validFor"].as_f64().expect("a number");
    assert!(valid_for > 600.0 && valid_for < 900.0, "{url}");
}

#[test]
fn cloud_kubeconfig_merges_a_private_entry_whose_exec_plugin_prints_a_token() {
    let moto = Moto::start();
    let arn = moto.boto(CREATE_DEV).trim().to_owned();
    assert!(arn.starts_with("arn:aws:eks:us-west-2:"), "{arn}");
    let cluster = describe_dev(&moto);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kube/config");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: minikube\n  cluster:\n    server: https://192.168.49.2:8443\n    insecure-skip-tls-verify: true\ncontexts:\n- name: minikube\n  context:\n    cluster: minikube\n    user: minikube\n    namespace: srvthreds\nusers:\n- name: minikube\n  user:\n    token: static-test-token\ncurrent-context: minikube\n",
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let file_arg = file.to_str().unwrap();

    let out = moto.xtask(&["--env", "dev", "cloud", "kubeconfig", "--kubeconfig", file_arg, "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("one JSON document ({e})\n{}", describe(&out)));
    assert_eq!(report["outcome"], "updated", "{report}");
    assert_eq!(report["context"], arn.as_str(), "{report}");
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "kubeconfig files are private");

    let config = kubectl_view(&file);
    assert_eq!(config["current-context"], arn.as_str(), "{config}");
    assert_eq!(config["clusters"].as_array().unwrap().len(), 2, "{config}");
    assert_eq!(named(&config["clusters"], "minikube")["cluster"]["server"], "https://192.168.49.2:8443", "unrelated entries are kept");
    assert_eq!(named(&config["contexts"], "minikube")["context"]["namespace"], "srvthreds");
    assert_eq!(named(&config["users"], "minikube")["user"]["token"], "static-test-token");
    let eks_cluster = &named(&config["clusters"], &arn)["cluster"];
    assert_eq!(eks_cluster["server"], cluster["endpoint"], "{config}");
    assert_eq!(eks_cluster["certificate-authority-data"], cluster["certificateAuthority"]["data"], "EKS's CA data as given");
    let context = &named(&config["contexts"], &arn)["context"];
    assert_eq!((&context["cluster"], &context["user"]), (&json!(arn), &json!(arn)), "{config}");
    let exec = &named(&config["users"], &arn)["user"]["exec"];
    assert_eq!(exec["apiVersion"], "client.authentication.k8s.io/v1beta1", "{exec}");
    assert_eq!(exec["args"], json!(["cloud", "token", "--cluster", "srvthreds-dev", "--region", "us-west-2"]), "{exec}");
    assert_eq!(exec["interactiveMode"], "Never", "{exec}");
    let command = PathBuf::from(exec["command"].as_str().expect("exec.command"));
    assert!(command.is_absolute() && command.is_file(), "the plugin names this toolkit's binary by absolute path: {exec}");
    // A full build's own file, which a plain build never replaces; the report says which.
    assert!(command.components().any(|c| c.as_os_str() == "full"), "the plugin names the full build: {exec}");
    assert!(report.to_string().contains(exec["command"].as_str().unwrap()), "the report names the binary: {report}");

    // The exec plugin, run as kubectl runs it: from another folder, with the AWS environment only.
    let args: Vec<&str> = exec["args"].as_array().unwrap().iter().map(|a| a.as_str().expect("a string")).collect();
    let plugin = Command::new(&command)
        .args(&args)
        .current_dir(dir.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .output()
        .expect("run the exec plugin");
    assert!(plugin.status.success(), "{}", describe(&plugin));
    check_exec_credential(&plugin.stdout, "us-west-2");

    // Idempotent: the same entry again changes nothing and says so.
    let out = moto.xtask(&["--env", "dev", "cloud", "kubeconfig", "--kubeconfig", file_arg, "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["outcome"], "unchanged", "{report}");

    // An alias names the context; the cluster and user entries keep the ARN.
    let out = moto.xtask(&["--env", "dev", "cloud", "kubeconfig", "--kubeconfig", file_arg, "--alias", "srvthreds-dev"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("context `srvthreds-dev`"), "{}", describe(&out));
    let config = kubectl_view(&file);
    assert_eq!(config["current-context"], "srvthreds-dev", "{config}");
    assert_eq!(config["contexts"].as_array().unwrap().len(), 3, "{config}");
    assert_eq!(named(&config["contexts"], "srvthreds-dev")["context"]["cluster"], arn.as_str());
    assert_eq!(config["clusters"].as_array().unwrap().len(), 2, "{config}");
    assert_eq!(config["users"].as_array().unwrap().len(), 2, "{config}");
}

#[test]
fn cloud_kubeconfig_creates_a_new_file_and_its_folder() {
    let moto = Moto::start();
    moto.boto(CREATE_DEV);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new/.kube/config");
    let out = moto.xtask(&["--env", "dev", "cloud", "kubeconfig", "--kubeconfig", file.to_str().unwrap(), "--alias", "dev"]);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let config = kubectl_view(&file);
    assert_eq!(config["current-context"], "dev", "{config}");
    assert_eq!(config["clusters"].as_array().unwrap().len(), 1, "{config}");
}

#[test]
fn cloud_kubeconfig_dry_run_writes_nothing() {
    let moto = Moto::start();
    moto.boto(CREATE_DEV);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new/.kube/config");
    let out = moto.xtask(&["--env", "dev", "--dry-run", "--output", "json", "cloud", "kubeconfig", "--kubeconfig", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", describe(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not one JSON document ({e})\n{}", describe(&out)));
    assert_eq!(plan["dryRun"], true, "{plan}");
    assert!(!file.exists() && !dir.path().join("new").exists(), "a dry run wrote the kubeconfig");
}

#[test]
fn cloud_kubeconfig_of_a_missing_cluster_fails_and_writes_nothing() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config");
    let out = moto.xtask(&["--env", "staging", "cloud", "kubeconfig", "--kubeconfig", file.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", describe(&out));
    assert_ne!(out.status.code(), Some(101), "panicked\n{}", describe(&out));
    assert!(stderr(&out).contains("srvthreds-staging"), "{}", describe(&out));
    assert!(!file.exists(), "nothing was written");
}

#[test]
fn cloud_token_prints_an_exec_credential_with_a_presigned_sts_url() {
    let moto = Moto::start();
    let out = moto.xtask(&["cloud", "token", "--cluster", "srvthreds-dev"]);
    assert!(out.status.success(), "{}", describe(&out));
    check_exec_credential(&out.stdout, "us-west-2");
    let out = moto.xtask(&["cloud", "token", "--cluster", "srvthreds-prod", "--region", "eu-west-1"]);
    assert!(out.status.success(), "{}", describe(&out));
    check_exec_credential(&out.stdout, "eu-west-1");
}

#[test]
fn cloud_status_wait_returns_at_once_for_an_active_cluster() {
    let moto = Moto::start();
    moto.boto(CREATE_DEV);
    let out = moto.xtask(&["--env", "dev", "cloud", "status", "--wait", "--wait-timeout", "30", "--output", "json"]);
    assert!(out.status.success(), "{}", describe(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["cluster"]["status"], "ACTIVE", "{report}");
    assert!(report["cluster"].get("certificate_authority_data").is_none(), "the CA stays out of status reports: {report}");
}

/// `images push` to an ECR registry takes its login from ECR's GetAuthorizationToken (moto
/// here), before any build, and never prints it. There is no ECR registry to push to: the push
/// itself fails when dockerd cannot reach the ECR host, which shows the login passed; with no
/// ECR answering, the command fails at the login, before building anything.
#[test]
fn images_push_to_ecr_logs_in_through_get_authorization_token_and_hides_the_token() {
    let moto = Moto::start();
    let token = moto.boto(
        "import base64\necr = boto3.client('ecr', endpoint_url=eks.meta.endpoint_url, region_name='us-west-2', aws_access_key_id='testing', aws_secret_access_key='testing')\nprint(base64.b64decode(ecr.get_authorization_token()['authorizationData'][0]['authorizationToken']).decode())",
    );
    let password = token.trim().strip_prefix("AWS:").unwrap_or_else(|| panic!("moto's token is not AWS:<password>: {token}")).to_owned();
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("release.json");
    let registry = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
    let push = |endpoint: &str| {
        let mut cmd = moto.command(&["images", "push", "--registry", registry, "--record", record.to_str().unwrap()]);
        cmd.env("AWS_ENDPOINT_URL", endpoint).env("SRVTHREDS_TAG", "ecr-moto");
        for (k, v) in stack_tests::test_image_vars() {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };

    let out = push(&moto.url);
    assert!(!out.status.success(), "a push to an unreachable ECR host succeeded\n{}", describe(&out));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(text.contains(&format!("pushing {registry}/srvthreds-")), "the push did not get past the login\n{}", describe(&out));
    assert!(!text.contains(&password), "the ECR password was printed\n{}", describe(&out));
    assert!(!record.exists(), "a failed push wrote the release record");

    // No ECR answers: the login fails, and nothing is built.
    let out = push(&format!("http://127.0.0.1:{}", free_port()));
    assert!(!out.status.success(), "{}", describe(&out));
    let text = stderr(&out);
    assert!(!text.contains("image srvthreds-builder") && !text.contains("pushing"), "built or pushed without a login\n{}", describe(&out));
}
