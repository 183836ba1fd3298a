//! The validation corpus (`tests/validate-corpus/`): every file through `fargate-sim validate`
//! in the human, JSON and SARIF formats, snapshot-tested. The folder names the options:
//! `plain/` detects the policy type, `identity/` passes `--policy-type identity`, `fargate/`
//! checks against an EKS Fargate pod execution role of cluster `fargate-sim`, `irsa/` against
//! service account `test/s3-reader` of that cluster's OIDC provider, `terraform/` holds plans
//! (`terraform show -json`) and `cloudformation/` templates, read with `--account` and
//! `--region` for the pseudo parameters. Every SARIF log is checked against the SARIF 2.1.0
//! schema.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const OIDC: &str = "arn:aws:iam::000000000000:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/5C2A9B11E0F24C1DA1C7D0C6A33B0E77";

fn args_for(folder: &str) -> Vec<&'static str> {
    match folder {
        "identity" => vec!["--policy-type", "identity"],
        "fargate" => vec![
            "--role",
            "fargate-pod-execution",
            "--cluster",
            "fargate-sim",
            "--region",
            "eu-west-1",
            "--account",
            "000000000000",
        ],
        "irsa" => vec![
            "--role",
            "irsa",
            "--oidc-provider",
            OIDC,
            "--namespace",
            "test",
            "--service-account",
            "s3-reader",
        ],
        // Pseudo parameters for templates; plans need nothing.
        "cloudformation" => vec!["--account", "111122223333", "--region", "eu-west-1"],
        _ => vec![],
    }
}

fn run(rel: &str, folder: &str, format: &str) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .arg("validate")
        .args(args_for(folder))
        .args(["--format", format, rel])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The SARIF 2.1.0 schema (OASIS), as the `serde-sarif` crate ships it: found through `cargo
/// metadata`, so the test reads the very file the SARIF types were generated from.
fn sarif_schema_path() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only this platform's packages: the others may not be downloaded.
    let host = String::from_utf8(Command::new("rustc").arg("-vV").output().unwrap().stdout)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_owned))
        .unwrap();
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif is a dependency");
    Path::new(manifest).with_file_name("src/schema.json")
}

/// Checks a SARIF log against the schema, formats (URIs) included.
fn assert_valid_sarif(log: &serde_json::Value, what: &str) {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    let v = V.get_or_init(|| {
        let mut schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(sarif_schema_path()).unwrap()).unwrap();
        // The published schema's pattern for `language` (of a run and of a tool component) has
        // a stray `]`, which the draft-07 meta-schema's `regex` format refuses; the fixed
        // pattern is what the schema's description means (a language tag such as `en` or
        // `en-US`). fargate-sim writes no `language`.
        for def in ["run", "toolComponent"] {
            let lang = &mut schema["definitions"][def]["properties"]["language"]["pattern"];
            assert_eq!(lang, "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$");
            *lang = serde_json::Value::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
        }
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap()
    });
    let errors: Vec<String> = v
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: the SARIF log breaks the schema:\n{}",
        errors.join("\n")
    );
}

#[test]
fn a_sarif_log_that_breaks_the_schema_is_caught() {
    // The check itself can fail: a result without a message is not SARIF.
    let bad = serde_json::json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"ruleId": "A"}]}]});
    let caught = std::panic::catch_unwind(|| assert_valid_sarif(&bad, "bad"));
    assert!(caught.is_err());
}

#[test]
fn corpus_snapshots() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    insta::glob!("validate-corpus/*/*.{json,yaml}", |path| {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let folder = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("");
        let (code_h, human) = run(&rel, folder, "human");
        let (code_j, json) = run(&rel, folder, "json");
        let (code_s, sarif) = run(&rel, folder, "sarif");
        assert_eq!(
            (code_h, code_j),
            (code_j, code_s),
            "the format does not change the exit status"
        );
        let good = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("good-"));
        let findings: serde_json::Value = serde_json::from_str(&json).unwrap();
        let n = findings.as_array().map_or(0, Vec::len);
        if good {
            assert_eq!(n, 0, "{rel} should validate clean:\n{human}");
            assert_eq!(code_h, 0);
        } else {
            assert!(n >= 1, "{rel} has a defect the validator must find");
        }
        let sarif_v: serde_json::Value = serde_json::from_str(&sarif).unwrap();
        assert_eq!(sarif_v["version"], "2.1.0");
        assert_valid_sarif(&sarif_v, &rel);
        assert_eq!(
            sarif_v["runs"][0]["results"].as_array().map_or(0, Vec::len),
            n
        );
        // One format per snapshot, each reviewed on its own (the exit status is the same for
        // all three, asserted above, and kept with the human output).
        insta::assert_snapshot!("human", format!("exit {code_h}\n{human}"));
        insta::assert_snapshot!("json", json);
        insta::assert_snapshot!("sarif", sarif);
    });
}

#[test]
fn the_eks_documented_policies_validate_clean() {
    // The trust policies the EKS user guide recommends: the Fargate pod execution role and IRSA.
    for (rel, folder) in [
        (
            "tests/validate-corpus/fargate/good-recommended.json",
            "fargate",
        ),
        ("tests/validate-corpus/irsa/good-recommended.json", "irsa"),
    ] {
        let (code, out) = run(rel, folder, "human");
        assert_eq!(
            (code, out.as_str()),
            (0, "1 file checked, no findings\n"),
            "{rel}"
        );
    }
}

#[test]
fn a_directory_is_walked_and_one_bad_file_does_not_stop_the_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.json"), "{ not json").unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/b.json"), r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#).unwrap();
    std::fs::write(dir.path().join("ignored.txt"), "x").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .args(["validate", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["IAM001", "IAM016"]);
}

#[test]
fn exit_status_follows_fail_on_and_bad_paths_exit_two() {
    let bin = env!("CARGO_BIN_EXE_fargate-sim");
    let dir = env!("CARGO_MANIFEST_DIR");
    let warn_only = "tests/validate-corpus/plain/bad-missing-version.json";
    let code = |args: &[&str]| {
        Command::new(bin)
            .arg("validate")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(
        code(&[warn_only]),
        Some(1),
        "a warning fails at the default --fail-on warning"
    );
    assert_eq!(code(&["--fail-on", "error", warn_only]), Some(0));
    assert_eq!(code(&["/no/such/policy.json"]), Some(2));
    assert_eq!(
        code(&["--role", "irsa", "--namespace", "x", warn_only]),
        Some(2),
        "--namespace needs --service-account"
    );
}

#[test]
fn stdin_is_read_with_a_dash() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .args(["validate", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks-fargate-pod.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("-:1:") && text.contains("did you mean `eks-fargate-pods.amazonaws.com`?"),
        "{text}"
    );
}

#[test]
fn every_documented_finding_code_exists() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md"))
            .unwrap();
    let headings: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .filter(|h| h.starts_with(|c: char| c.is_ascii_uppercase()) && h.len() <= 6)
        .collect();
    for h in &headings {
        assert!(
            iam_sim::codes::Code::parse(h).is_some(),
            "docs/findings.md documents {h}, which no finding has"
        );
    }
    assert_eq!(headings.len(), iam_sim::codes::Code::ALL.len());
}

#[test]
fn every_finding_code_has_a_documentation_page() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/findings.md"))
            .unwrap();
    for code in iam_sim::codes::Code::ALL {
        let name = code.name();
        assert!(
            doc.contains(&format!(
                "## {code}\n\n**{name}** — {}",
                code.severity().as_str()
            )),
            "docs/findings.md lacks {code} {name}"
        );
    }
}

fn validate_with(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .arg("validate")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const UNKNOWN_ACTION: &str = "tests/validate-corpus/plain/bad-unknown-action.json";

#[test]
fn ignore_leaves_a_code_out_counts_it_and_does_not_fail() {
    let (code, out, _) = validate_with(&["--ignore", "AA111", UNKNOWN_ACTION]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        out,
        "1 file checked, no findings (1 suppressed by --ignore)\n"
    );
}

#[test]
fn ignore_refuses_a_code_that_does_not_exist() {
    let (code, _, err) = validate_with(&["--ignore", "unknown-action", UNKNOWN_ACTION]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("`unknown-action` is not a finding code (docs/findings.md lists them); `unknown-action` is the name of AA111, write `AA111`"),
        "{err}"
    );
}

#[test]
fn show_suppressed_marks_ignored_findings_in_json() {
    let (code, out, _) = validate_with(&[
        "--ignore",
        "AA111",
        "--show-suppressed",
        "--format",
        "json",
        UNKNOWN_ACTION,
    ]);
    assert_eq!(code, Some(0));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["code"], "AA111");
    assert_eq!(v[0]["suppressed"], true);
}

/// The hooks of `.pre-commit-hooks.yaml`: `(id, entry split into words)`.
fn pre_commit_hooks() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    let hooks: Vec<serde_json::Value> = serde_yaml_ng::from_str(&text).unwrap();
    hooks
        .iter()
        .map(|h| {
            (
                h["id"].as_str().unwrap().to_owned(),
                h["entry"]
                    .as_str()
                    .unwrap()
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
            )
        })
        .collect()
}

fn run_hook(id: &str, file: &str) -> Option<i32> {
    let hooks = pre_commit_hooks();
    let (_, entry) = hooks
        .iter()
        .find(|(i, _)| i == id)
        .expect("the hook exists");
    assert_eq!(
        entry[0], "fargate-sim",
        "the hook runs the binary cargo installs"
    );
    Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .args(&entry[1..])
        .arg(file)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
        .status
        .code()
}

#[test]
fn the_policy_hook_passes_a_clean_policy_and_fails_a_defect() {
    let hook = "fargate-sim-validate";
    assert_eq!(
        run_hook(hook, "tests/validate-corpus/fargate/good-recommended.json"),
        Some(0)
    );
    assert_eq!(
        run_hook(hook, "tests/validate-corpus/plain/bad-global-key-typo.json"),
        Some(1)
    );
}

#[test]
fn the_cloudformation_hook_passes_a_clean_template_and_fails_a_defect() {
    let hook = "fargate-sim-validate-cloudformation";
    assert_eq!(
        run_hook(
            hook,
            "tests/validate-corpus/cloudformation/good-recommended.yaml"
        ),
        Some(0)
    );
    assert_eq!(
        run_hook(
            hook,
            "tests/validate-corpus/cloudformation/bad-long-forms.json"
        ),
        Some(1)
    );
}

#[test]
fn the_terraform_hook_passes_a_clean_plan_and_fails_a_defect() {
    let hook = "fargate-sim-validate-terraform-plan";
    assert_eq!(
        run_hook(
            hook,
            "tests/validate-corpus/terraform/good-recommended.json"
        ),
        Some(0)
    );
    assert_eq!(
        run_hook(hook, "tests/validate-corpus/terraform/bad-root-module.json"),
        Some(1)
    );
    assert_eq!(
        run_hook(hook, "tests/validate-corpus/terraform/bad-no-policies.json"),
        Some(3)
    );
}

/// Runs the `Validate` step of `action.yml` as the runner would: its script, with bash, with
/// the step's environment (the paths and flags given).
fn run_action_step(paths: &str, args: &str) -> (Option<i32>, String, serde_json::Value) {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action.yml")).unwrap();
    let action: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
    let step = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "validate")
        .unwrap();
    let script = step["run"].as_str().unwrap();
    assert!(
        !script.contains("${{"),
        "inputs reach the script through the environment only"
    );
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("github-output");
    let sarif = dir.path().join("out.sarif");
    let out = Command::new("bash")
        .args(["-e", "-c", script])
        .env("FARGATE_SIM", env!("CARGO_BIN_EXE_fargate-sim"))
        .env("PATHS", paths)
        .env("ARGS", args)
        .env("SARIF_FILE", &sarif)
        .env("GITHUB_OUTPUT", &output)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let outputs = std::fs::read_to_string(&output).unwrap_or_default();
    let log = std::fs::read_to_string(&sarif)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    (out.status.code(), outputs, log)
}

#[test]
fn the_action_writes_sarif_and_reports_findings_through_its_output() {
    let (code, outputs, log) = run_action_step(
        "tests/validate-corpus/fargate/good-recommended.json tests/validate-corpus/plain/bad-unknown-action.json",
        "--fail-on error",
    );
    assert_eq!(code, Some(0), "the step leaves failing to its last step");
    assert_eq!(outputs, "exit-code=1\n");
    assert_valid_sarif(&log, "action");
    assert_eq!(log["runs"][0]["results"][0]["ruleId"], "AA111");
}

#[test]
fn the_action_step_fails_when_the_tool_cannot_run() {
    let (code, outputs, _) = run_action_step("tests/no-such-file.json", "");
    assert_eq!(code, Some(2));
    assert_eq!(outputs, "exit-code=2\n");
}

/// Runs `validate` in `dir`.
fn validate_in(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fargate-sim"))
        .arg("validate")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn corpus(rel: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/validate-corpus")
            .join(rel),
    )
    .unwrap()
}

/// A folder with a configuration file, `legacy/old.json` and `new.json` (each an unknown
/// action, AA111, an error) and `warn.json` (a missing Version, AA101, a warning).
fn configured(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("legacy")).unwrap();
    std::fs::write(
        dir.path().join("legacy/old.json"),
        corpus("plain/bad-unknown-action.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("new.json"),
        corpus("plain/bad-unknown-action.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("warn.json"),
        corpus("plain/bad-missing-version.json"),
    )
    .unwrap();
    std::fs::write(dir.path().join("fargate-sim.toml"), config).unwrap();
    dir
}

#[test]
fn the_configuration_file_gives_default_flags_that_flags_override() {
    let dir = configured("[validate]\nfail-on = \"error\"\n");
    assert_eq!(validate_in(dir.path(), &["warn.json"]).0, Some(0));
    assert_eq!(
        validate_in(dir.path(), &["--fail-on", "warning", "warn.json"]).0,
        Some(1)
    );
}

#[test]
fn the_configuration_file_is_found_from_a_subfolder() {
    let dir = configured("[validate]\nignore = [\"AA111\"]\n");
    let (code, out, _) = validate_in(&dir.path().join("legacy"), &["old.json"]);
    assert_eq!(
        (code, out.as_str()),
        (
            Some(0),
            "1 file checked, no findings (1 suppressed by --ignore)\n"
        )
    );
}

#[test]
fn a_suppress_rule_leaves_out_findings_under_its_paths_only() {
    let dir = configured(
        "[[validate.suppress]]\npaths = [\"legacy/**\"]\ncodes = [\"AA111\"]\nreason = \"legacy policies, tracked in TICKET-1\"\n",
    );
    let (code, out, _) = validate_in(
        dir.path(),
        &["--show-suppressed", "legacy/old.json", "new.json"],
    );
    assert_eq!(code, Some(1), "new.json still counts");
    assert!(
        out.contains("  suppressed: fargate-sim.toml: legacy policies, tracked in TICKET-1\n"),
        "{out}"
    );
    assert!(out.ends_with("2 files checked: 1 error, 0 security warnings, 0 warnings, 0 suggestions (1 suppressed by fargate-sim.toml)\n"), "{out}");
}

#[test]
fn a_suppress_rule_matches_resources_of_a_plan() {
    let dir = configured("[[validate.suppress]]\nresources = [\"aws_iam_policy.*\"]\n");
    std::fs::write(
        dir.path().join("plan.json"),
        corpus("terraform/bad-root-module.json"),
    )
    .unwrap();
    let (code, out, _) = validate_in(dir.path(), &["--format", "json", "plan.json"]);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let codes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["FS204"],
        "AA111 of aws_iam_policy.s3_read is left out"
    );
}

#[test]
fn a_bad_configuration_key_names_the_file_line_and_column() {
    let dir = configured("[validate]\nfail_on = \"error\"\n");
    let (code, _, err) = validate_in(dir.path(), &["warn.json"]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with("error: `")
            && err.contains("fargate-sim.toml:2:1`: unknown field `fail_on`"),
        "{err}"
    );
}

#[test]
fn a_bad_configuration_value_names_the_choices() {
    let dir = configured("[validate]\nformat = \"xml\"\n");
    let (code, _, err) = validate_in(dir.path(), &["warn.json"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("format = \"xml\" is not one of human, json, sarif, access-analyzer"),
        "{err}"
    );
}

#[test]
fn a_baseline_reports_only_new_findings() {
    let dir = configured("");
    let (code, _, err) = validate_in(
        dir.path(),
        &["--write-baseline", "baseline.json", "new.json"],
    );
    assert_eq!(code, Some(1), "writing a baseline still reports");
    assert!(
        err.contains("wrote 1 finding(s) to the baseline `baseline.json`"),
        "{err}"
    );
    let (code, out, _) = validate_in(dir.path(), &["--baseline", "baseline.json", "new.json"]);
    assert_eq!(
        (code, out.as_str()),
        (
            Some(0),
            "1 file checked, no findings (1 suppressed by the baseline)\n"
        )
    );
    // A new defect in the same file is not in the baseline.
    let changed = corpus("plain/bad-unknown-action.json")
        .replace("\"Effect\"", "\"Sid\": \"a-b\", \"Effect\"");
    std::fs::write(dir.path().join("new.json"), changed).unwrap();
    let (code, out, _) = validate_in(dir.path(), &["--baseline", "baseline.json", "new.json"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("IAM017") && !out.contains("AA111"), "{out}");
}

#[test]
fn a_baseline_that_is_not_one_is_refused() {
    let dir = configured("");
    std::fs::write(dir.path().join("b.json"), "{\"version\": 1}").unwrap();
    let (code, _, err) = validate_in(dir.path(), &["--baseline", "b.json", "new.json"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("not a fargate-sim baseline") && err.contains("missing field `findings`"),
        "{err}"
    );
}

#[test]
fn access_analyzer_format_has_validate_policys_shape() {
    let (code, out, _) = validate_with(&["--format", "access-analyzer", UNKNOWN_ACTION]);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"findings": [{
            "findingDetails": "`s3:GetObjekt` is not an action of Amazon S3 (did you mean `s3:GetObject`?)",
            "findingType": "ERROR",
            "issueCode": "INVALID_ACTION",
            "learnMoreLink": "https://example.invalid/fargate-sim/blob/main/docs/findings.md#aa111",
            "locations": [{
                "path": [{"value": "Statement"}, {"index": 0}, {"value": "Action"}],
                "span": {
                    "start": {"line": 6, "column": 16, "offset": 93},
                    "end": {"line": 6, "column": 30, "offset": 107}
                }
            }]
        }]})
    );
}

#[test]
fn a_folder_walk_reads_templates_and_plans_and_skips_other_yaml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("stack.yaml"),
        corpus("cloudformation/bad-short-forms.yaml"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("pod.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("plan.json"),
        corpus("terraform/good-recommended.json"),
    )
    .unwrap();
    let (_, out, _) = validate_in(dir.path(), &["--format", "json", "."]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut files: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    files.dedup();
    assert_eq!(files, ["./stack.yaml"]);
    let (_, human, _) = validate_in(dir.path(), &["."]);
    assert!(human.ends_with("2 files checked (2 Terraform plans or CloudFormation templates): 1 error, 0 security warnings, 1 warning, 5 suggestions\n"), "{human}");
}

#[test]
fn a_plan_without_policies_exits_3() {
    let (code, out, _) = validate_with(&["tests/validate-corpus/terraform/bad-no-policies.json"]);
    assert_eq!(code, Some(3), "{out}");
}

#[test]
fn a_plan_without_policies_beside_a_failing_file_exits_1() {
    let (code, _, _) = validate_with(&[
        "tests/validate-corpus/terraform/bad-no-policies.json",
        UNKNOWN_ACTION,
    ]);
    assert_eq!(code, Some(1));
}

#[test]
fn the_fargate_checks_run_without_role_when_the_principal_says_so() {
    // The README's own command, on a trust policy without aws:SourceArn.
    let (code, out, _) = validate_with(&["tests/validate-corpus/fargate/bad-confused-deputy.json"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("FS204 fargate-confused-deputy"), "{out}");
}

#[test]
fn the_irsa_checks_run_without_role_when_the_principal_says_so() {
    let (code, out, _) =
        validate_with(&["tests/validate-corpus/irsa/bad-sub-wildcard-equals.json"]);
    assert_eq!(code, Some(1));
    assert!(out.contains("FS208 irsa-sub-wildcard-in-equals"), "{out}");
}
