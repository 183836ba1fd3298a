//! The binary's surface: help, exit codes.

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
}

#[test]
fn help_lists_subcommands_and_exit_codes() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "demo",
        "simulate",
        "localstack",
        "Exit status:",
        "could not run",
    ] {
        assert!(text.contains(word), "--help lacks {word}:\n{text}");
    }
}

#[test]
fn demo_help_exits_zero() {
    let out = bin().args(["demo", "--help"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--keep"));
}

#[test]
fn unknown_flag_exits_two() {
    let out = bin().arg("--no-such-flag").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let out = bin()
        .args(args)
        .env_remove("ROLE_ARN")
        .envs(envs.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn simulate_explains_a_trust_policy_mismatch_with_file_line_and_column() {
    let (code, out, _) = run(
        &[
            "simulate",
            "--trust",
            "examples/role-trust-policy.json",
            "--principal",
            "eks-fargate-pods.amazonaws.com",
            "--action",
            "sts:AssumeRole",
            "--resource",
            "arn:aws:iam::000000000000:role/s3-read",
            "--context",
            "aws:SourceArn=arn:aws:eks:eu-west-1:000000000000:fargateprofile/other/test/1a2b",
        ],
        &[],
    );
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with("ImplicitDeny: implicitly denied: the role's trust policy does not allow"),
        "{out}"
    );
    assert!(
        out.contains("examples/role-trust-policy.json:8:11"),
        "{out}"
    );
    assert!(
        out.contains("condition `ArnLike` on `aws:SourceArn` is false"),
        "{out}"
    );
}

#[test]
fn simulate_json_allows_the_matching_profile() {
    let (code, out, _) = run(
        &[
            "simulate",
            "--trust",
            "examples/role-trust-policy.json",
            "--principal",
            "eks-fargate-pods.amazonaws.com",
            "--action",
            "sts:AssumeRole",
            "--resource",
            "arn:aws:iam::000000000000:role/s3-read",
            "--context",
            "aws:SourceArn=arn:aws:eks:eu-west-1:000000000000:fargateprofile/fargate-sim/s3/1a2b",
            "--format",
            "json",
        ],
        &[],
    );
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["decision"], "Allow");
    assert_eq!(v["reasons"][0]["file"], "examples/role-trust-policy.json");
}

#[test]
fn simulate_cases_reports_each_line_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.jsonl");
    let allow = r#"{"id":"ok","policies":{"identity":[{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}]},"request":{"principal":"arn:aws:iam::111122223333:user/u","action":"s3:GetObject","resource":"arn:aws:s3:::b/k"},"expected":"Allow"}"#;
    let wrong = allow
        .replace("\"id\":\"ok\"", "\"id\":\"wrong\"")
        .replace("\"expected\":\"Allow\"", "\"expected\":\"ExplicitDeny\"");
    std::fs::write(&path, format!("{allow}\n{wrong}\n")).unwrap();
    let (code, out, _) = run(&["simulate", "--cases", path.to_str().unwrap()], &[]);
    assert_eq!(code, Some(1), "a mismatch exits 1");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["ok"], true);
    assert_eq!(lines[1]["ok"], false);
    assert_eq!(lines[2]["summary"]["mismatched"], 1);

    std::fs::write(&path, format!("{allow}\nnot json\n{{\"id\":\"x\"}}\n")).unwrap();
    let (code, out, _) = run(&["simulate", "--cases", path.to_str().unwrap()], &[]);
    assert_eq!(
        code,
        Some(2),
        "unreadable lines exit 2 after the others ran"
    );
    assert!(
        out.contains("\"line\":2") && out.contains("\"line\":3") && out.contains("\"ok\":true"),
        "{out}"
    );
    let (code, _, err) = run(&["simulate", "--cases", "/no/such/file.jsonl"], &[]);
    assert_eq!(code, Some(2));
    assert!(err.contains("cannot read"));
}

#[test]
fn simulate_reports_malformed_policy_json_with_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.json");
    std::fs::write(
        &path,
        "{\n  \"Statement\": [\n    {\"Effect\": \"Allow\",}\n  ]\n}\n",
    )
    .unwrap();
    let (code, _, err) = run(
        &[
            "simulate",
            "--identity",
            path.to_str().unwrap(),
            "--principal",
            "arn:aws:iam::1:user/u",
            "--action",
            "s3:GetObject",
        ],
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(
        err.contains("p.json:3:") && err.contains("IAM001 json-syntax"),
        "{err}"
    );
}

#[test]
fn schedule_places_the_chapter_pods() {
    let (code, out, _) = run(
        &[
            "schedule",
            "--cluster",
            "examples/execution-role-cluster.yaml",
            "--pods",
            "examples/s3-pod.yaml",
            "--pods",
            "examples/test-pod.yaml",
            "--format",
            "json",
        ],
        &[("ROLE_ARN", "arn:aws:iam::000000000000:role/s3-read")],
    );
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["name"], "s3");
    assert_eq!(v[0]["profile"], "s3");
    assert_eq!(v[0]["pending"], false);
    assert_eq!(v[0]["capacityProvisioned"], "0.25vCPU 1GB");
    assert_eq!(v[1]["name"], "test");
    assert_eq!(
        v[1]["profile"],
        serde_json::Value::Null,
        "the s3 profile needs the app label"
    );
}

#[test]
fn schedule_names_an_unset_variable_and_exits_two() {
    let (code, _, err) = run(
        &[
            "schedule",
            "--cluster",
            "examples/execution-role-cluster.yaml",
        ],
        &[],
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("`ROLE_ARN` is not set"), "{err}");
}

const S3_READ_PATTERNS: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:Get*","sts:AssumeRole"],"Resource":"*"}]}"#;

fn policy_file(text: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), text).unwrap();
    f
}

/// `simulate` with `S3_READ_PATTERNS` as alice's identity policy, asking `action` on
/// `arn:aws:s3:::b/k`, with `extra` flags.
fn simulate_alice(action: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let f = policy_file(S3_READ_PATTERNS);
    let path = f.path().to_str().unwrap();
    let mut args = vec![
        "simulate",
        "--identity",
        path,
        "--principal",
        "arn:aws:iam::111122223333:user/alice",
        "--action",
        action,
        "--resource",
        "arn:aws:s3:::b/k",
    ];
    args.extend_from_slice(extra);
    run(&args, &[])
}

#[test]
fn simulate_refuses_an_action_aws_does_not_have() {
    let (code, out, err) = simulate_alice("s3:GetObjekt", &[]);
    assert_eq!(code, Some(2), "{out}");
    assert_eq!(
        err.trim_end(),
        "error: the action `s3:GetObjekt` does not exist: Amazon S3 has no action `GetObjekt` (did you mean `s3:GetObject`?)"
    );
}

#[test]
fn simulate_explain_actions_lists_what_a_pattern_covers() {
    let (code, out, _) = simulate_alice("s3:GetObject", &["--explain-actions"]);
    assert_eq!(code, Some(0), "{out}");
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("`s3:Get*` covers"))
        .unwrap_or_else(|| panic!("no coverage line:\n{out}"));
    assert!(
        line.contains(" actions: s3:GetAccelerateConfiguration, "),
        "{line}"
    );
    assert!(line.contains(", s3:GetObject, "), "{line}");
    assert!(!line.contains("s3:PutObject"), "{line}");
    // Only patterns are expanded.
    assert!(!out.contains("`sts:AssumeRole` covers"), "{out}");
}

#[test]
fn simulate_without_explain_actions_lists_no_coverage() {
    let (_, out, _) = simulate_alice("s3:GetObject", &[]);
    assert!(!out.contains("covers"), "{out}");
}
