//! Hostile input and hostile surroundings, one behaviour per test: endless and huge inputs,
//! symbolic-link loops and FIFOs, terminal escapes, closed pipes, typos that would silently
//! change the answer. Each test is named after what it guards against.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fargate-sim"));
    c.current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

/// Runs with a deadline; a run past it is killed and the test fails (a hang is a defect).
fn run_within(cmd: &mut Command, secs: u64) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained while the child runs, so that a full pipe never blocks it.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), out.join().unwrap(), err.join().unwrap());
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running after {secs} s: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

const TRUST: &str = "examples/role-trust-policy.json";

/// A directory holding one clean policy, `a.json`.
fn dir_with_one_policy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(TRUST, dir.path().join("a.json")).unwrap();
    dir
}

#[test]
fn an_endless_case_file_is_an_error_not_an_abort() {
    let (code, _, err) = run_within(bin().args(["simulate", "--cases", "/dev/zero"]), 30);
    assert_eq!(code, Some(2));
    assert_eq!(
        err.trim_end(),
        "error: `/dev/zero` line 1 is longer than 2097152 bytes; a case is one policy set and one request on one line (is this a JSON Lines file?)"
    );
}

#[test]
fn an_endless_policy_is_cut_at_the_limit() {
    let (code, out, _) = run_within(
        bin().args(["validate", "--format", "json", "/dev/zero"]),
        30,
    );
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["code"], "IAM010");
    assert_eq!(
        v[0]["message"],
        "the document is more than 1048576 bytes; fargate-sim reads at most 1048576"
    );
}

#[test]
fn a_large_file_is_refused_by_its_size_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.json");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(3 << 30).unwrap(); // 3 GiB, sparse
    let (code, out, _) = run_within(bin().args(["validate", "--format", "json"]).arg(&p), 30);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v[0]["message"],
        "the document is 3221225472 bytes; fargate-sim reads at most 1048576"
    );
}

#[test]
fn a_symlink_loop_is_skipped_with_a_note_and_files_are_checked_once() {
    let dir = dir_with_one_policy();
    let d = dir.path();
    std::os::unix::fs::symlink(".", d.join("self")).unwrap();
    std::os::unix::fs::symlink(".", d.join("again")).unwrap();
    let (code, out, err) = run_within(bin().arg("validate").arg(d), 30);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, "1 file checked, no findings\n");
    assert!(err.contains("a symbolic link loop"), "{err}");
}

#[test]
fn a_fifo_in_a_directory_is_skipped_not_waited_for() {
    let dir = dir_with_one_policy();
    let d = dir.path();
    let fifo = d.join("p.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success(),
        "mkfifo"
    );
    let (code, out, err) = run_within(bin().arg("validate").arg(d), 30);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        err.contains(&format!(
            "note: skipped `{}`: not a regular file",
            fifo.display()
        )),
        "{err}"
    );
}

#[test]
fn a_dangling_link_is_skipped_and_the_others_are_checked() {
    let dir = dir_with_one_policy();
    let d = dir.path();
    std::os::unix::fs::symlink("nowhere.json", d.join("b.json")).unwrap();
    let (code, out, err) = run_within(bin().arg("validate").arg(d), 30);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(out, "1 file checked, no findings\n");
    assert!(err.contains("a dangling symbolic link"), "{err}");
}

#[test]
fn a_principal_with_terminal_escapes_is_shown_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("evil.json");
    // Escaped in the JSON (valid), so it reaches the message as ESC and BEL characters.
    std::fs::write(
        &p,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com\u001b[2J\u0007"},"Action":"sts:AssumeRole"}]}"#,
    )
    .unwrap();
    let (_, out, _) = run_within(bin().arg("validate").arg(&p), 30);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out:?}");
    assert!(out.contains("\\u{1b}[2J\\u{7}"), "{out}");
}

#[test]
fn a_raw_control_character_in_a_string_is_invalid_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("raw.json");
    std::fs::write(
        &p,
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"a\u{7}\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}",
    )
    .unwrap();
    let (code, out, _) = run_within(bin().args(["validate", "--format", "json"]).arg(&p), 30);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["code"], "IAM001");
    assert_eq!(v[0]["span"]["start"]["column"], 47);
}

#[test]
fn a_byte_order_mark_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bom.json");
    let mut text = vec![0xEF, 0xBB, 0xBF];
    text.extend(std::fs::read(TRUST).unwrap());
    std::fs::write(&p, text).unwrap();
    let (_, out, _) = run_within(bin().args(["validate", "--format", "json"]).arg(&p), 30);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v[0]["message"],
        "the document starts with a byte order mark (U+FEFF, bytes EF BB BF); IAM rejects it as malformed"
    );
}

#[test]
fn invalid_utf8_is_named_by_its_byte() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("latin1.json");
    std::fs::write(
        &p,
        b"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"caf\xe9\"}]}",
    )
    .unwrap();
    let (_, out, _) = run_within(bin().args(["validate", "--format", "json"]).arg(&p), 30);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["code"], "IAM011");
    assert_eq!(
        v[0]["message"],
        "the file is not UTF-8 text: byte 0xE9 at offset 48 does not begin a UTF-8 character; IAM reads policies as UTF-8"
    );
}

#[test]
fn standard_input_twice_is_refused() {
    let (code, _, err) = run_within(bin().args(["validate", "-", "-"]), 30);
    assert_eq!(code, Some(2));
    assert_eq!(
        err.trim_end(),
        "error: `-` (standard input) is given more than once; it can be read only once"
    );
}

/// Starts the command with stdout a pipe whose reading end is closed before the command
/// starts, so that its first write fails (a pipe closed only after the spawn races with a fast
/// command whose whole output fits in the pipe's buffer), and returns its status.
fn with_closed_stdout(cmd: &mut Command) -> Option<i32> {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    status.code()
}

#[test]
fn a_closed_pipe_ends_validate_quietly() {
    assert_eq!(
        with_closed_stdout(bin().args(["validate", TRUST])),
        Some(141)
    );
}

#[test]
fn a_closed_pipe_ends_schedule_quietly() {
    assert_eq!(
        with_closed_stdout(bin().args([
            "schedule",
            "--cluster",
            "examples/new-namespace-cluster.yaml",
            "--pods",
            "examples/test-pod.yaml"
        ])),
        Some(141)
    );
}

#[test]
fn a_closed_pipe_ends_simulate_cases_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cases.jsonl");
    let line = format!(
        "{}\n",
        serde_json::json!({"request": {"principal": "eks-fargate-pods.amazonaws.com", "action": "sts:AssumeRole"}, "policies": {"trust": serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(TRUST).unwrap()).unwrap()}})
    );
    std::fs::File::create(&p)
        .unwrap()
        .write_all(line.repeat(20_000).as_bytes())
        .unwrap();
    assert_eq!(
        with_closed_stdout(bin().args(["simulate", "--cases"]).arg(&p)),
        Some(141)
    );
}

#[test]
fn a_wildcard_action_is_not_a_request() {
    let (code, out, err) = run_within(
        bin().args([
            "simulate",
            "--trust",
            TRUST,
            "--principal",
            "eks-fargate-pods.amazonaws.com",
            "--action",
            "s3:*",
        ]),
        30,
    );
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(
        err.trim_end(),
        "error: the action `s3:*` has a wildcard; a request names one action (for example s3:GetObject): ask once per action"
    );
}

#[test]
fn a_wildcard_resource_is_not_a_request() {
    let (code, _, err) = run_within(
        bin().args([
            "simulate",
            "--trust",
            TRUST,
            "--principal",
            "eks-fargate-pods.amazonaws.com",
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::b/*",
        ]),
        30,
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("the resource `arn:aws:s3:::b/*` has a wildcard"),
        "{err}"
    );
}

#[test]
fn a_misspelt_clusterconfig_section_is_an_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("cluster.yaml");
    std::fs::write(
        &p,
        "apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata:\n  name: c\n  region: eu-west-1\nfargateProfile:\n  - name: fp\n    selectors:\n      - namespace: test\n",
    )
    .unwrap();
    let (code, _, err) = run_within(
        bin()
            .args(["schedule", "--cluster"])
            .arg(&p)
            .args(["--pods", "examples/test-pod.yaml"]),
        30,
    );
    assert_eq!(code, Some(2));
    assert_eq!(
        err.trim_end(),
        format!(
            "error: {}:6: unknown field `fargateProfile` in ClusterConfig (did you mean `fargateProfiles`?); eksctl rejects fields it does not know",
            p.display()
        )
    );
}

#[test]
fn sarif_uris_are_percent_encoded_and_columns_are_code_points() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a #1 100%.json");
    std::fs::write(&p, r#"{"Version":"2012-10-17","Statement":[}"#).unwrap();
    let (_, out, _) = run_within(bin().args(["validate", "--format", "sarif"]).arg(&p), 30);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let uri =
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .to_owned();
    assert!(uri.ends_with("/a%20%231%20100%25.json"), "{uri}");
    assert_eq!(v["runs"][0]["columnKind"], "unicodeCodePoints");
}

#[test]
fn ten_thousand_findings_render_in_human_format_without_stalling() {
    // Quadratic rendering took minutes here; linear takes well under the deadline.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("many.json");
    let st = r#"{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}"#;
    let text = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[\n{}\n]}}",
        vec![st; 10_000].join(",\n")
    );
    std::fs::write(&p, text).unwrap();
    let (code, out, _) = run_within(
        bin()
            .args([
                "validate",
                "--fail-on",
                "suggestion",
                "--trust-policy-quota",
                "100000000",
            ])
            .arg(&p),
        60,
    );
    assert_eq!(code, Some(1));
    assert!(out.lines().count() > 10_000);
}

#[test]
fn twenty_thousand_findings_on_one_minified_line_render_without_stalling() {
    // Each finding's window used to be found by walking the line from its start: three minutes
    // for this document in a debug build; now well under the deadline.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("minified.json");
    let actions: Vec<String> = (0..20_000)
        .map(|i| format!("\"ec2:DescribeInstancez{i}\""))
        .collect();
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":[{}],"Resource":"*"}}]}}"#,
        actions.join(",")
    );
    std::fs::write(&p, text).unwrap();
    let (code, out, _) = run_within(bin().arg("validate").arg(&p), 60);
    assert_eq!(code, Some(1));
    let last = out
        .lines()
        .filter(|l| l.contains("ec2:DescribeInstancez19999"))
        .nth(1)
        .unwrap_or_else(|| panic!("no source line for the last finding"));
    // The window around the last finding is shown, not the line's start.
    assert!(!last.contains("Version"), "{last}");
}

#[test]
fn status_refuses_an_endpoint_off_this_machine() {
    let (code, _, err) = run_within(
        bin().args(["localstack", "status", "--endpoint", "http://10.0.0.1:4566"]),
        30,
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains(
            "refusing `http://10.0.0.1:4566` (from --endpoint): it is not a loopback address"
        ),
        "{err}"
    );
}

#[test]
fn a_host_name_is_refused_without_being_looked_up() {
    let (code, _, err) = run_within(
        bin()
            .args(["demo", "--endpoint", "http://localstack.example:4566"])
            .env("FARGATE_SIM_CACHE_DIR", std::env::temp_dir()),
        30,
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("other names are not looked up"), "{err}");
}

#[test]
fn a_dead_endpoint_from_the_flag_hints_at_the_flag() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (code, _, err) = run_within(bin().args(["localstack", "status", "--endpoint", &url]), 30);
    assert_eq!(code, Some(2));
    assert!(
        err.trim_end()
            .ends_with("start it, or leave out --endpoint to let fargate-sim start one"),
        "{err}"
    );
}

#[test]
fn a_plan_larger_than_a_policy_is_read_when_its_first_bytes_say_plan() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("plan.json");
    let padding = "x".repeat(2 << 20);
    let plan = format!(
        r#"{{"format_version":"1.2","variables":{{"pad":{{"value":"{padding}"}}}},"planned_values":{{"root_module":{{"resources":[{{"address":"aws_iam_policy.p","type":"aws_iam_policy","values":{{"policy":"{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":\"s3:GetObjekt\",\"Resource\":\"*\"}}]}}"}}}}]}}}}}}"#
    );
    std::fs::write(&p, plan).unwrap();
    let (code, out, _) = run_within(bin().args(["validate", "--format", "json"]).arg(&p), 30);
    assert_eq!(code, Some(1), "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["code"], "AA111");
    assert_eq!(v[0]["resource"], "aws_iam_policy.p");
}

#[test]
fn a_plan_over_the_plan_limit_is_refused_by_its_size_before_it_is_read() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("plan.json");
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(br#"{"format_version":"1.2","planned_values":"#)
        .unwrap();
    f.set_len(300 << 20).unwrap(); // 300 MiB, sparse
    let (code, out, _) = run_within(bin().args(["validate", "--format", "json"]).arg(&p), 30);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v[0]["message"],
        "the file is 314572800 bytes; fargate-sim reads Terraform plans and CloudFormation templates up to 268435456 bytes"
    );
}

#[test]
fn a_yaml_template_whose_aliases_multiply_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("laughs.yaml");
    let mut doc = String::from("Resources:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..15 {
        let k = i - 1;
        doc.push_str(&format!(
            "  a{i}: &a{i} [*a{k}, *a{k}, *a{k}, *a{k}, *a{k}, *a{k}, *a{k}, *a{k}, *a{k}, *a{k}]\n"
        ));
    }
    std::fs::write(&p, doc).unwrap();
    let (code, out, _) = run_within(bin().args(["validate", "--format", "json"]).arg(&p), 30);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["code"], "FS303");
    assert!(
        v[0]["message"]
            .as_str()
            .unwrap()
            .contains("aliases expand the document past 1000000 nodes"),
        "{out}"
    );
}

#[test]
fn a_deeply_nested_plan_is_a_finding_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("plan.json");
    let deep = format!(
        r#"{{"format_version":"1.2","planned_values":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    std::fs::write(&p, deep).unwrap();
    let (code, out, _) = run_within(bin().args(["validate", "--format", "json"]).arg(&p), 30);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["code"], "FS303");
}
