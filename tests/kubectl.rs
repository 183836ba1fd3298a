//! The Kubernetes API of `up`'s clusters driven by the real `kubectl` (v1.32 on this machine
//! image): discovery and namespaces, with the API server's lines and errors.

use std::process::{Command, Output};

use emulator::{Emulator, Options};
use s3_harness::{Clients, Creds, localstack};

use crate::support::{localstack as shared, unique};

/// An ACTIVE cluster `fargate-sim` on the endpoint at `endpoint` (its IAM role made first);
/// the account root's clients.
async fn create_cluster(endpoint: &str) -> Clients {
    let root = Clients::new(endpoint, "eu-west-1", &Creds::test_account()).await;
    let role = unique("eks-cluster");
    let created = root
        .iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
    root.eks
        .create_cluster()
        .name("fargate-sim")
        .role_arn(created.role().unwrap().arn())
        .resources_vpc_config(
            s3_harness::eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-a")
                .subnet_ids("subnet-b")
                .build(),
        )
        .send()
        .await
        .unwrap();
    root
}

/// An emulator with an ACTIVE cluster `fargate-sim`; the kubeconfig for it (a temporary
/// directory holding it and kubectl's cache).
async fn cluster() -> (Emulator, tempfile::TempDir) {
    let emu = Emulator::start(Options {
        eks_delay: 0.0,
        localstack: localstack::Options {
            endpoint: Some(shared().endpoint().to_owned()),
            ..localstack::Options::default()
        },
        ..Options::default()
    })
    .await
    .unwrap();
    let root = create_cluster(emu.endpoint()).await;
    let endpoint = root
        .eks
        .describe_cluster()
        .name("fargate-sim")
        .send()
        .await
        .unwrap()
        .cluster()
        .and_then(|c| c.endpoint().map(str::to_owned))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config"),
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{server: \"{endpoint}\"}}\n  name: fargate-sim\ncontexts:\n- context: {{cluster: fargate-sim, user: fargate-sim}}\n  name: fargate-sim\ncurrent-context: fargate-sim\nusers:\n- name: fargate-sim\n  user: {{}}\n"
        ),
    )
    .unwrap();
    (emu, dir)
}

/// `kubectl ARGS` with the cluster's kubeconfig and nothing else of the host's environment.
fn kubectl_command(dir: &tempfile::TempDir, args: &[&str]) -> Command {
    let mut cmd = Command::new("kubectl");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("KUBECONFIG", dir.path().join("config"))
        .args(args);
    cmd
}

fn kubectl(dir: &tempfile::TempDir, args: &[&str]) -> Output {
    kubectl_command(dir, args).output().unwrap()
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_create_namespace_is_created() {
    let (_emu, dir) = cluster().await;
    let o = kubectl(&dir, &["create", "namespace", "test"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "namespace/test created\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_namespace_of_a_name_already_exists() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl(&dir, &["create", "namespace", "test"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "Error from server (AlreadyExists): namespaces \"test\" already exists\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_get_namespaces_shows_the_api_servers_table() {
    let (_emu, dir) = cluster().await;
    let o = kubectl(&dir, &["get", "namespaces"]);
    assert!(o.status.success(), "{}", err(&o));
    let text = out(&o);
    let mut lines = text.lines();
    assert_eq!(
        lines
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["NAME", "STATUS", "AGE"])
    );
    let names: Vec<&str> = lines
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(
        names,
        ["default", "kube-node-lease", "kube-public", "kube-system"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_that_is_not_a_label_is_invalid() {
    let (_emu, dir) = cluster().await;
    let o = kubectl(&dir, &["create", "namespace", "Test"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with(
            "The Namespace \"Test\" is invalid: metadata.name: Invalid value: \"Test\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-'"
        ),
        "{}",
        err(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_delete_namespace_waits_until_it_is_gone() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl(&dir, &["delete", "namespace", "test"]);
    assert!(o.status.success(), "{}", err(&o));
    assert_eq!(out(&o), "namespace \"test\" deleted\n");
    let o = kubectl(&dir, &["get", "namespace", "test"]);
    assert_eq!(
        err(&o),
        "Error from server (NotFound): namespaces \"test\" not found\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_that_does_not_exist_has_no_api() {
    let (emu, dir) = cluster().await;
    let config = std::fs::read_to_string(dir.path().join("config"))
        .unwrap()
        .replace("/k8s/fargate-sim", "/k8s/nope");
    std::fs::write(dir.path().join("config"), config).unwrap();
    let o = kubectl(&dir, &["get", "namespaces"]);
    assert_eq!(o.status.code(), Some(1), "{}", emu.endpoint());
    assert!(
        err(&o).contains("the server could not find the requested resource"),
        "{}",
        err(&o)
    );
}

/// `kubectl ARGS` with `stdin` as its standard input (`apply -f -`).
fn kubectl_in(dir: &tempfile::TempDir, args: &[&str], stdin: &str) -> Output {
    use std::io::Write as _;
    let mut child = kubectl_command(dir, args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A Fargate profile on the cluster selecting `namespace`, whose execution role (trusted by
/// Fargate pods) has `policy` attached when one is given.
async fn profile(emu: &Emulator, namespace: &str, policy: Option<&str>) {
    profile_at(emu.endpoint(), namespace, policy).await;
}

/// [`profile`] on the endpoint at `endpoint`.
async fn profile_at(endpoint: &str, namespace: &str, policy: Option<&str>) {
    let root = Clients::new(endpoint, "eu-west-1", &Creds::test_account()).await;
    let role = unique("pod-exec");
    let trust = crate::support::fargate_trust();
    let arn = root
        .iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    if let Some(p) = policy {
        root.iam
            .attach_role_policy()
            .role_name(&role)
            .policy_arn(p)
            .send()
            .await
            .unwrap();
    }
    root.eks
        .create_fargate_profile()
        .cluster_name("fargate-sim")
        .fargate_profile_name(namespace)
        .pod_execution_role_arn(arn)
        .selectors(
            s3_harness::eks::types::FargateProfileSelector::builder()
                .namespace(namespace)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

const WEB_POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: test\nspec:\n  containers:\n  - name: nginx\n    image: nginx:1.27\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_no_profile_selects_stays_pending_with_the_schedulers_event() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl_in(&dir, &["apply", "-f", "-"], WEB_POD);
    assert_eq!(out(&o), "pod/web created\n", "{}", err(&o));
    let o = kubectl(
        &dir,
        &[
            "-n",
            "test",
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.status.phase}",
        ],
    );
    assert_eq!(out(&o), "Pending");
    let o = kubectl(
        &dir,
        &[
            "-n",
            "test",
            "get",
            "events",
            "-o",
            "jsonpath={.items[*].message}",
        ],
    );
    assert_eq!(out(&o), "no nodes available to schedule pods");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_a_profile_selects_runs_on_its_own_fargate_node() {
    let (emu, dir) = cluster().await;
    profile(&emu, "test", None).await;
    kubectl(&dir, &["create", "namespace", "test"]);
    kubectl_in(&dir, &["apply", "-f", "-"], WEB_POD);
    let o = kubectl(
        &dir,
        &["-n", "test", "get", "pods", "-o", "wide", "--no-headers"],
    );
    let line = out(&o);
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cells[..4], ["web", "1/1", "Running", "0"], "{}", out(&o));
    assert!(cells[6].starts_with("fargate-ip-"), "{}", out(&o));
    let o = kubectl(
        &dir,
        &[
            "get",
            "nodes",
            "-l",
            "eks.amazonaws.com/compute-type=fargate",
            "-o",
            "name",
        ],
    );
    assert_eq!(out(&o), format!("node/{}\n", cells[6]));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_field_is_refused_under_strict_validation() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl_in(
        &dir,
        &["apply", "-f", "-"],
        &WEB_POD.replace("image:", "imagee: x\n    image:"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "Error from server (BadRequest): error when creating \"STDIN\": Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.containers[0].imagee\"\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reapply_may_change_the_image_but_not_the_rest_of_the_spec() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    kubectl_in(&dir, &["apply", "-f", "-"], WEB_POD);
    let o = kubectl_in(
        &dir,
        &["apply", "-f", "-"],
        &WEB_POD.replace("1.27", "1.28"),
    );
    assert_eq!(out(&o), "pod/web configured\n", "{}", err(&o));
    let o = kubectl_in(
        &dir,
        &["apply", "-f", "-"],
        &format!("{WEB_POD}    ports:\n    - containerPort: 80\n"),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with("The Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"),
        "{}",
        err(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_command_that_hangs_is_stopped_at_the_pods_deadline() {
    let (emu, dir) = cluster().await;
    profile(&emu, "test", None).await;
    // An endpoint that accepts and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    kubectl(&dir, &["create", "namespace", "test"]);
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hang\n  namespace: test\nspec:\n  restartPolicy: Never\n  activeDeadlineSeconds: 2\n  containers:\n  - name: aws\n    image: amazon/aws-cli\n    args: [\"s3\", \"ls\", \"--endpoint-url\", \"{url}\", \"--cli-read-timeout\", \"0\"]\n"
    );
    let o = kubectl_in(&dir, &["apply", "-f", "-"], &pod);
    assert!(o.status.success(), "{}", err(&o));
    let mut seen = String::new();
    for _ in 0..100 {
        let o = kubectl(
            &dir,
            &[
                "-n",
                "test",
                "get",
                "pod",
                "hang",
                "-o",
                "jsonpath={.status.phase} {.status.reason}",
            ],
        );
        seen = out(&o);
        if seen.starts_with("Failed") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(seen, "Failed DeadlineExceeded");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chapter_script_runs_as_the_chapter_says() {
    let emu = Emulator::start(Options {
        eks_delay: 0.0,
        localstack: localstack::Options {
            endpoint: Some(shared().endpoint().to_owned()),
            ..localstack::Options::default()
        },
        ..Options::default()
    })
    .await
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("kubeconfig");
    std::fs::write(
        &config,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster: {{server: \"{}/k8s/fargate-sim\"}}\n  name: c\ncontexts:\n- context: {{cluster: c, user: u}}\n  name: c\ncurrent-context: c\nusers:\n- name: u\n  user: {{}}\n",
            emu.endpoint()
        ),
    )
    .unwrap();
    let dirs = localstack::CacheDirs::new().unwrap();
    let aws_dir = localstack::ensure_environment(&dirs, &|_| {})
        .unwrap()
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}",
        aws_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (bucket, role) = (unique("chapter"), unique("s3-read"));
    let o = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/chapter.sh"))
        .env_clear()
        .env("PATH", path)
        .env("HOME", home.path())
        .env("KUBECONFIG", &config)
        .env("AWS_ENDPOINT_URL", emu.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", emu.region())
        .env("AWS_CONFIG_FILE", home.path().join("aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("aws-credentials"),
        )
        .env("FARGATE_SIM", env!("CARGO_BIN_EXE_fargate-sim"))
        .env("BUCKET", &bucket)
        .env("ROLE", &role)
        .output()
        .unwrap();
    let text = out(&o);
    assert!(o.status.success(), "{text}\n{}", err(&o));
    // Not on Fargate before the profile, still not after it, on Fargate after delete + apply.
    let nodes: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("node of test:"))
        .collect();
    assert_eq!(nodes.len(), 3, "{text}");
    assert_eq!(nodes[0].trim(), "");
    assert_eq!(nodes[1].trim(), "(a pod stays where it was placed)");
    assert!(nodes[2].trim().starts_with("fargate-ip-"), "{text}");
    // The pod's log holds the object.
    assert!(
        text.lines()
            .any(|l| l == format!("Hello from the bucket {bucket}")),
        "{text}"
    );
    // Nothing is left.
    let root = Clients::new(emu.endpoint(), emu.region(), &Creds::test_account()).await;
    assert!(root.s3.head_bucket().bucket(&bucket).send().await.is_err());
    assert!(root.iam.get_role().role_name(&role).send().await.is_err());
    let profiles = root
        .eks
        .list_fargate_profiles()
        .cluster_name("fargate-sim")
        .send()
        .await
        .unwrap();
    assert_eq!(profiles.fargate_profile_names(), ["fp-default"]);
    let o = Command::new("kubectl")
        .env_clear()
        .env("HOME", home.path())
        .env("KUBECONFIG", &config)
        .args(["get", "namespace", "test"])
        .output()
        .unwrap();
    assert_eq!(
        err(&o),
        "Error from server (NotFound): namespaces \"test\" not found\n"
    );
}

/// Waits (at most 20 s) until `kubectl ARGS` prints something `done` accepts; returns it.
fn until(dir: &tempfile::TempDir, args: &[&str], done: impl Fn(&str) -> bool) -> String {
    let mut seen = String::new();
    for _ in 0..100 {
        seen = out(&kubectl(dir, args));
        if done(&seen) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    seen
}

fn aws_pod(name: &str, restart: &str, args: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: test\nspec:\n  restartPolicy: {restart}\n  containers:\n  - name: aws\n    image: public.ecr.aws/aws-cli/aws-cli:2.22.0\n    args: {args}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn get_watch_shows_a_new_pod_and_the_server_outlives_the_client_closing_it() {
    use std::io::BufRead as _;
    let (emu, dir) = cluster().await;
    profile(&emu, "test", None).await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let mut watch = kubectl_command(&dir, &["-n", "test", "get", "pods", "-w", "--no-headers"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lines = std::io::BufReader::new(watch.stdout.take().unwrap()).lines();
    kubectl_in(&dir, &["apply", "-f", "-"], WEB_POD);
    let first = lines.map_while(Result::ok).find(|l| l.starts_with("web "));
    let cells: Vec<String> = first
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    assert_eq!(cells[..4], ["web", "1/1", "Running", "0"]);
    // The client goes away mid-stream; the server stays and answers the next request.
    watch.kill().unwrap();
    watch.wait().unwrap();
    let o = kubectl(&dir, &["-n", "test", "get", "pods", "-o", "name"]);
    assert_eq!(out(&o), "pod/web\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_follow_streams_the_aws_cli_while_it_runs_and_ends_with_it() {
    let (emu, dir) = cluster().await;
    profile(&emu, "test", None).await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl_in(
        &dir,
        &["apply", "-f", "-"],
        &aws_pod(
            "who",
            "Never",
            r#"["sts", "get-caller-identity", "--output", "text"]"#,
        ),
    );
    assert!(o.status.success(), "{}", err(&o));
    // Started while the process is starting: the stream ends when the process exits.
    let o = kubectl(&dir, &["-n", "test", "logs", "-f", "who"]);
    assert!(o.status.success(), "{}", err(&o));
    let log = out(&o);
    let cells: Vec<&str> = log.split_whitespace().collect();
    assert_eq!(cells.first(), Some(&"000000000000"), "{log}");
    assert!(
        cells[1].starts_with("arn:aws:sts::000000000000:assumed-role/pod-exec-")
            && cells[1].ends_with("/fargate-pod"),
        "{log}"
    );
    let phase = until(
        &dir,
        &["-n", "test", "get", "pod", "who", "--no-headers"],
        |s| s.contains("Completed"),
    );
    assert!(phase.starts_with("who   0/1   Completed   0 "), "{phase}");
}

#[tokio::test(flavor = "multi_thread")]
async fn describe_and_get_events_tell_the_pods_story() {
    let (emu, dir) = cluster().await;
    profile(&emu, "test", None).await;
    kubectl(&dir, &["create", "namespace", "test"]);
    kubectl_in(&dir, &["apply", "-f", "-"], WEB_POD);
    let node = out(&kubectl(
        &dir,
        &[
            "-n",
            "test",
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.spec.nodeName}",
        ],
    ));
    let o = kubectl(&dir, &["-n", "test", "describe", "pod", "web"]);
    let text = out(&o);
    assert!(
        text.contains(&format!("Node:             {node}/")),
        "{text}"
    );
    assert!(text.contains("Status:           Running\n"), "{text}");
    assert!(
        text.contains(&format!(
            "  Normal  Scheduled  0s    fargate-scheduler  Successfully assigned test/web to {node}\n"
        )) || text.contains(&format!(
            "  Normal  Scheduled  1s    fargate-scheduler  Successfully assigned test/web to {node}\n"
        )),
        "{text}"
    );
    let o = kubectl(&dir, &["-n", "test", "get", "events"]);
    let text = out(&o);
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    );
    let reasons: Vec<&str> = lines
        .map(|l| l.split_whitespace().nth(2).unwrap_or(""))
        .collect();
    assert_eq!(
        reasons,
        [
            "Scheduled",
            "Pulling",
            "Pulled",
            "Created",
            "Started",
            "Simulated"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_aws_command_with_restart_always_is_in_crash_loop_back_off() {
    let (emu, dir) = cluster().await;
    profile(&emu, "test", None).await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl_in(
        &dir,
        &["apply", "-f", "-"],
        &aws_pod(
            "crash",
            "Always",
            r#"["s3", "ls", "s3://no-policy-allows-this"]"#,
        ),
    );
    assert!(o.status.success(), "{}", err(&o));
    let line = until(
        &dir,
        &["-n", "test", "get", "pod", "crash", "--no-headers"],
        |s| s.contains("CrashLoopBackOff"),
    );
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells[..4],
        ["crash", "0/1", "CrashLoopBackOff", "1"],
        "{line}"
    );
    // Waiting to restart, the container's log is its last run's (the CLI's refusal).
    let o = kubectl(&dir, &["-n", "test", "logs", "crash"]);
    assert!(
        out(&o).contains("An error occurred (AccessDenied) when calling the ListObjectsV2 operation: User: arn:aws:sts::000000000000:assumed-role/pod-exec-"),
        "{}",
        out(&o)
    );
    let o = kubectl(&dir, &["-n", "test", "describe", "pod", "crash"]);
    assert!(
        out(&o).contains("Back-off restarting failed container aws in pod crash_test("),
        "{}",
        out(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_that_is_not_json_is_a_bad_request() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"apiVersion":"v1","kind":"Pod", bad"#,
    )
    .unwrap();
    let file = dir.path().join("bad.json");
    // `--raw` addresses the API server's own paths, without the server URL's path prefix.
    let o = kubectl(
        &dir,
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/test/pods",
            "-f",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with(
            "Error from server (BadRequest): couldn't get version/kind; json parse error: "
        ),
        "{}",
        err(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_10_mb_manifest_is_too_large_for_the_api_server() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let big = WEB_POD.replace(
        "  namespace: test\n",
        &format!(
            "  namespace: test\n  annotations:\n    big: \"{}\"\n",
            "x".repeat(10 << 20)
        ),
    );
    let o = kubectl_in(&dir, &["apply", "-f", "-"], &big);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        err(&o),
        "Error from server (RequestEntityTooLarge): error when creating \"STDIN\": Request entity too large: limit is 3145728\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_profile_deletes_the_pods_it_placed_and_their_nodes() {
    let (emu, dir) = cluster().await;
    profile(&emu, "test", None).await;
    kubectl(&dir, &["create", "namespace", "test"]);
    kubectl_in(&dir, &["apply", "-f", "-"], WEB_POD);
    assert_eq!(
        out(&kubectl(&dir, &["get", "nodes", "-o", "name"]))
            .lines()
            .count(),
        1
    );
    let root = Clients::new(emu.endpoint(), emu.region(), &Creds::test_account()).await;
    root.eks
        .delete_fargate_profile()
        .cluster_name("fargate-sim")
        .fargate_profile_name("test")
        .send()
        .await
        .unwrap();
    let o = kubectl(&dir, &["-n", "test", "get", "pods"]);
    assert_eq!(err(&o), "No resources found in test namespace.\n");
    let o = kubectl(&dir, &["get", "nodes"]);
    assert_eq!(err(&o), "No resources found\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kubeconfig_of_aws_eks_update_kubeconfig_works_over_http() {
    let (emu, dir) = cluster().await;
    let (mut cmd, home) = crate::endpoint::aws_command(emu.endpoint(), &Creds::test_account());
    let config = home.path().join("kubeconfig");
    let o = cmd
        .args([
            "eks",
            "update-kubeconfig",
            "--name",
            "fargate-sim",
            "--kubeconfig",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", err(&o));
    let o = kubectl_command(&dir, &["get", "namespaces", "-o", "name"])
        .env("KUBECONFIG", &config)
        .output()
        .unwrap();
    assert_eq!(
        out(&o),
        "namespace/default\nnamespace/kube-node-lease\nnamespace/kube-public\nnamespace/kube-system\n",
        "{}",
        err(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_v2_document_is_served_as_json() {
    let (_emu, dir) = cluster().await;
    let o = kubectl(&dir, &["get", "--raw", "/openapi/v2"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["swagger"], "2.0");
    assert_eq!(
        doc["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"]["operationId"],
        "patchCoreV1NamespacedPod"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_manifest_is_refused_before_anything_is_created() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl_in(
        &dir,
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n  namespace: test\n  labels: [\n",
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o)
            .starts_with("error: error parsing STDIN: error converting YAML to JSON: yaml: line "),
        "{}",
        err(&o)
    );
    let o = kubectl(&dir, &["-n", "test", "get", "pods"]);
    assert_eq!(err(&o), "No resources found in test namespace.\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_replace_takes_the_whole_pod_and_keeps_it_immutable() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    kubectl_in(&dir, &["apply", "-f", "-"], WEB_POD);
    // The pod as the server has it, with a new image: replaced.
    let stored = out(&kubectl(
        &dir,
        &["-n", "test", "get", "pod", "web", "-o", "json"],
    ));
    let o = kubectl_in(
        &dir,
        &["replace", "-f", "-"],
        &stored.replace("nginx:1.27", "nginx:1.28"),
    );
    assert_eq!(out(&o), "pod/web replaced\n", "{}", err(&o));
    let o = kubectl(
        &dir,
        &[
            "-n",
            "test",
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.spec.containers[0].image}",
        ],
    );
    assert_eq!(out(&o), "nginx:1.28");
    // The manifest alone lacks what admission set (the node, the scheduler): refused, as the
    // API server refuses it; --force deletes and creates instead.
    let o = kubectl_in(&dir, &["replace", "-f", "-"], WEB_POD);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        err(&o).starts_with("The Pod \"web\" is invalid: spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`"),
        "{}",
        err(&o)
    );
    let o = kubectl_in(&dir, &["replace", "--force", "-f", "-"], WEB_POD);
    assert_eq!(
        out(&o),
        "pod \"web\" deleted\npod/web replaced\n",
        "{}",
        err(&o)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_privileged_pod_a_profile_selects_gets_eks_refusal_and_stays_pending() {
    let (emu, dir) = cluster().await;
    profile(&emu, "test", None).await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl_in(
        &dir,
        &["apply", "-f", "-"],
        &format!("{WEB_POD}    securityContext:\n      privileged: true\n"),
    );
    assert_eq!(out(&o), "pod/web created\n", "{}", err(&o));
    let o = kubectl(
        &dir,
        &[
            "-n",
            "test",
            "get",
            "pod",
            "web",
            "-o",
            "jsonpath={.status.phase}: {.status.conditions[0].message}",
        ],
    );
    assert_eq!(
        out(&o),
        "Pending: Pod not supported on Fargate: invalid SecurityContext fields: Privileged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_namespace_has_its_default_service_account() {
    let (_emu, dir) = cluster().await;
    kubectl(&dir, &["create", "namespace", "test"]);
    let o = kubectl(
        &dir,
        &["-n", "test", "get", "serviceaccounts", "-o", "name"],
    );
    assert_eq!(out(&o), "serviceaccount/default\n", "{}", err(&o));
}

/// Sends SIGKILL to a process when dropped.
struct KillOnDrop(u64);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &self.0.to_string()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// Whether a process whose command line contains `needle` is running.
fn running(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_endpoint_leaves_no_container_process_behind() {
    let cache = tempfile::tempdir().unwrap();
    let o = crate::endpoint::fargate_sim(
        cache.path(),
        &["up", "--detach", "--port", "0", "--eks-delay", "0"],
    );
    assert!(o.status.success(), "{}", err(&o));
    let exports = out(&o);
    let endpoint = exports
        .lines()
        .find_map(|l| l.strip_prefix("export AWS_ENDPOINT_URL="))
        .unwrap()
        .to_owned();
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cache.path().join("up.json")).unwrap()).unwrap();
    let pid = state["pid"].as_u64().unwrap();
    // Whatever happens below, the detached endpoint does not outlive the test.
    let _stop = KillOnDrop(pid);
    // The cluster, a profile and a pod whose AWS CLI waits on a listener that never answers.
    create_cluster(&endpoint).await;
    profile_at(&endpoint, "test", None).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(cache.path().join("kubeconfig"), dir.path().join("config")).unwrap();
    kubectl(&dir, &["create", "namespace", "test"]);
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let o = kubectl_in(
        &dir,
        &["apply", "-f", "-"],
        &aws_pod(
            "hang",
            "Never",
            &format!(r#"["s3", "ls", "--endpoint-url", "{url}", "--cli-read-timeout", "0"]"#),
        ),
    );
    assert!(o.status.success(), "{}", err(&o));
    let mut started = false;
    for _ in 0..100 {
        started = running(&url);
        if started {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(started, "the container's AWS CLI never started");
    std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    let mut gone = false;
    for _ in 0..50 {
        gone = !running(&url);
        if gone {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(gone, "the AWS CLI outlived the endpoint that started it");
    drop(silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_namespace_applied_twice_is_unchanged_and_takes_labels_and_annotations() {
    let (_emu, dir) = cluster().await;
    let manifest =
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n  labels:\n    team: a\n";
    let o = kubectl_in(&dir, &["apply", "-f", "-"], manifest);
    assert_eq!(out(&o), "namespace/demo created\n", "{}", err(&o));
    let o = kubectl_in(&dir, &["apply", "-f", "-"], manifest);
    assert_eq!(out(&o), "namespace/demo unchanged\n", "{}", err(&o));
    let o = kubectl_in(
        &dir,
        &["apply", "-f", "-"],
        &manifest.replace("team: a", "team: b"),
    );
    assert_eq!(out(&o), "namespace/demo configured\n", "{}", err(&o));
    let o = kubectl(&dir, &["label", "namespace", "demo", "tier=web"]);
    assert_eq!(out(&o), "namespace/demo labeled\n", "{}", err(&o));
    let o = kubectl(&dir, &["annotate", "namespace", "demo", "owner=me"]);
    assert_eq!(out(&o), "namespace/demo annotated\n", "{}", err(&o));
    let o = kubectl(
        &dir,
        &[
            "get",
            "namespace",
            "demo",
            "-o",
            "jsonpath={.metadata.labels} {.metadata.annotations.owner}",
        ],
    );
    assert_eq!(
        out(&o),
        r#"{"kubernetes.io/metadata.name":"demo","team":"b","tier":"web"} me"#
    );
}
