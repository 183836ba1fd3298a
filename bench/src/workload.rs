//! The workload: evaluation cases in the case schema and trust-policy files, generated from a
//! fixed seed. Every case's `expected` decision and every file's defect label is known by
//! construction (the generator decides whether the request matches before writing it), so the
//! correctness columns do not take any tool's word — this project's included.

use serde_json::{Value, json};

/// A small deterministic generator (SplitMix64): the same seed gives the same workload on every
/// machine, without a dependency.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: usize, den: usize) -> bool {
        self.below(den) < num
    }

    /// A lowercase name like `team-4f2a`.
    pub fn name(&mut self, prefix: &str) -> String {
        format!("{prefix}-{:04x}", self.next_u64() & 0xffff)
    }
}

const REGIONS: &[&str] = &["eu-west-1", "us-east-1", "ap-southeast-2", "eu-central-1"];
const FARGATE: &str = "eks-fargate-pods.amazonaws.com";

fn account(rng: &mut Rng) -> String {
    format!("{:012}", 100_000_000_000 + rng.next_u64() % 800_000_000_000)
}

fn other_account(rng: &mut Rng, not: &str) -> String {
    loop {
        let a = account(rng);
        if a != not {
            return a;
        }
    }
}

fn uuid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// The `request` of a case (`resourceAccount` only when given).
fn request(
    principal: &str,
    action: &str,
    resource: &str,
    account: Option<&str>,
    context: Value,
) -> Value {
    let mut r = json!({ "principal": principal, "action": action, "resource": resource, "context": context });
    if let Some(a) = account {
        r["resourceAccount"] = json!(a);
    }
    r
}

/// One evaluation case: the JSON line and the features the differential report groups by.
fn case(
    id: usize,
    group: &str,
    policies: Value,
    request: Value,
    expected: &str,
    tags: &[&str],
) -> Value {
    json!({
        "id": format!("{group}-{id:05}"),
        "group": group,
        "policies": policies,
        "request": request,
        "expected": expected,
        "tags": tags,
    })
}

/// `n` evaluation cases from `seed`, mixing the families of the issue: Fargate trust policies
/// with `aws:SourceArn`, IRSA web-identity trust, S3 identity and bucket policies, denies,
/// `NotAction`/`NotResource`, and every condition operator family.
pub fn cases(seed: u64, n: usize) -> Vec<Value> {
    let mut rng = Rng::new(seed);
    let families: [fn(&mut Rng, usize) -> Value; 8] = [
        fargate_trust,
        irsa_trust,
        s3_identity,
        s3_deny,
        not_elements,
        bucket_policy,
        conditions,
        vpc_endpoint,
    ];
    (0..n)
        .map(|i| {
            // Conditions get two shares: they hold the most operator variety.
            let f = match rng.below(9) {
                8 => 6,
                k => k,
            };
            families[f](&mut rng, i)
        })
        .collect()
}

fn role_arn(acct: &str, role: &str) -> String {
    format!("arn:aws:iam::{acct}:role/{role}")
}

fn fargate_trust(rng: &mut Rng, id: usize) -> Value {
    let acct = account(rng);
    let region = *rng.pick(REGIONS);
    let cluster = rng.name("cluster");
    let role = rng.name("pod-exec");
    let pattern = format!("arn:aws:eks:{region}:{acct}:fargateprofile/{cluster}/*");
    let with_account = rng.chance(1, 3);
    let op = *rng.pick(&["ArnLike", "ArnLike", "ArnEquals", "StringLike"]);
    let mut cond = json!({ op: { "aws:SourceArn": pattern } });
    if with_account {
        cond["StringEquals"] = json!({ "aws:SourceAccount": acct });
    }
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": FARGATE },
            "Action": "sts:AssumeRole",
            "Condition": cond,
        }]
    });
    let good_arn = format!(
        "arn:aws:eks:{region}:{acct}:fargateprofile/{cluster}/{}/{}",
        rng.name("profile"),
        uuid(rng)
    );
    let mut principal = FARGATE.to_owned();
    let mut action = "sts:AssumeRole".to_owned();
    let mut ctx = json!({ "aws:SourceArn": good_arn, "aws:SourceAccount": acct });
    let mut expected = "Allow";
    let mut tags = vec!["service-principal", op];
    match rng.below(10) {
        0 => {
            ctx["aws:SourceArn"] = json!(good_arn.replace(&cluster, "other-cluster"));
            expected = "ImplicitDeny";
        }
        1 => {
            let other = if region == "eu-west-1" {
                "us-west-2"
            } else {
                "eu-west-1"
            };
            ctx["aws:SourceArn"] = json!(good_arn.replacen(region, other, 1));
            expected = "ImplicitDeny";
        }
        2 => {
            let other = other_account(rng, &acct);
            ctx["aws:SourceArn"] = json!(good_arn.replacen(&acct, &other, 1));
            ctx["aws:SourceAccount"] = json!(other);
            expected = "ImplicitDeny";
        }
        3 => {
            ctx.as_object_mut().map(|m| m.remove("aws:SourceArn"));
            expected = "ImplicitDeny";
            tags.push("missing-key");
        }
        4 => {
            principal = "eks.amazonaws.com".into();
            expected = "ImplicitDeny";
        }
        5 => {
            action = "sts:TagSession".into();
            expected = "ImplicitDeny";
        }
        _ => {}
    }
    case(
        id,
        "fargate-trust",
        json!({ "trust": trust }),
        request(&principal, &action, &role_arn(&acct, &role), None, ctx),
        expected,
        &tags,
    )
}

fn irsa_trust(rng: &mut Rng, id: usize) -> Value {
    let acct = account(rng);
    let region = *rng.pick(REGIONS);
    let oidc_id = format!(
        "{:032X}",
        u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64())
    );
    let host = format!("oidc.eks.{region}.amazonaws.com/id/{oidc_id}");
    let provider = format!("arn:aws:iam::{acct}:oidc-provider/{host}");
    let ns = rng.name("ns");
    let sa = rng.name("sa");
    let like = rng.chance(1, 3);
    let sub_pattern = if like {
        format!("system:serviceaccount:{ns}:*")
    } else {
        format!("system:serviceaccount:{ns}:{sa}")
    };
    let cond = if like {
        json!({
            "StringLike": { format!("{host}:sub"): sub_pattern },
            "StringEquals": { format!("{host}:aud"): "sts.amazonaws.com" },
        })
    } else {
        json!({
            "StringEquals": {
                format!("{host}:sub"): sub_pattern,
                format!("{host}:aud"): "sts.amazonaws.com",
            }
        })
    };
    let trust = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Federated": provider },
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": cond,
        }]
    });
    let mut ctx = json!({
        format!("{host}:sub"): format!("system:serviceaccount:{ns}:{sa}"),
        format!("{host}:aud"): "sts.amazonaws.com",
    });
    let mut expected = "Allow";
    let mut tags = vec!["federated", "oidc-keys"];
    match rng.below(8) {
        0 => {
            ctx[format!("{host}:sub")] = json!(format!("system:serviceaccount:other:{sa}"));
            expected = "ImplicitDeny";
        }
        1 if !like => {
            ctx[format!("{host}:sub")] = json!(format!("system:serviceaccount:{ns}:other"));
            expected = "ImplicitDeny";
        }
        2 => {
            ctx[format!("{host}:aud")] = json!("example.com");
            expected = "ImplicitDeny";
        }
        3 => {
            ctx.as_object_mut()
                .map(|m| m.remove(&format!("{host}:sub")));
            expected = "ImplicitDeny";
            tags.push("missing-key");
        }
        _ => {}
    }
    case(
        id,
        "irsa-trust",
        json!({ "trust": trust }),
        request(
            &provider,
            "sts:AssumeRoleWithWebIdentity",
            &role_arn(&acct, &rng.name("irsa")),
            None,
            ctx,
        ),
        expected,
        &tags,
    )
}

/// The AWS managed policy `AmazonS3ReadOnlyAccess`, as AWS publishes it.
fn s3_read_only() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": ["s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"],
            "Resource": "*"
        }]
    })
}

const S3_ACTIONS: &[(&str, bool)] = &[
    // (action, acts on an object)
    ("s3:GetObject", true),
    ("s3:PutObject", true),
    ("s3:DeleteObject", true),
    ("s3:GetObjectTagging", true),
    ("s3:ListBucket", false),
    ("s3:GetBucketPolicy", false),
    ("s3:PutBucketPolicy", false),
];

fn caller(rng: &mut Rng, acct: &str) -> (String, String) {
    let role = rng.name("app");
    let principal = if rng.chance(1, 2) {
        format!(
            "arn:aws:sts::{acct}:assumed-role/{role}/{}",
            rng.name("session")
        )
    } else {
        role_arn(acct, &role)
    };
    (principal, role)
}

/// A request action, sometimes in another letter case: AWS matches actions case-insensitively.
fn spell(rng: &mut Rng, action: &str, tags: &mut Vec<&str>) -> String {
    if rng.chance(1, 8) {
        tags.push("action-case");
        action.to_ascii_lowercase()
    } else {
        action.to_owned()
    }
}

fn s3_identity(rng: &mut Rng, id: usize) -> Value {
    let acct = account(rng);
    let (principal, _) = caller(rng, &acct);
    let bucket = rng.name("bucket");
    let (action, on_object) = *rng.pick(S3_ACTIONS);
    let target_bucket = if rng.chance(1, 5) {
        rng.name("elsewhere")
    } else {
        bucket.clone()
    };
    let resource = if on_object {
        format!("arn:aws:s3:::{target_bucket}/data/{}.json", rng.name("obj"))
    } else {
        format!("arn:aws:s3:::{target_bucket}")
    };
    let mut tags = vec!["identity"];
    let (policy, allowed) = if rng.chance(1, 2) {
        let verb = action.split(':').nth(1).unwrap_or("");
        (
            s3_read_only(),
            verb.starts_with("Get") || verb.starts_with("List"),
        )
    } else {
        tags.push("scoped");
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Objects", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": format!("arn:aws:s3:::{bucket}/*")},
                {"Sid": "Bucket", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": format!("arn:aws:s3:::{bucket}")}
            ]
        });
        let ok = target_bucket == bucket
            && matches!(action, "s3:GetObject" | "s3:PutObject" | "s3:ListBucket");
        (policy, ok)
    };
    let action = spell(rng, action, &mut tags);
    case(
        id,
        "s3-identity",
        json!({ "identity": [policy] }),
        request(&principal, &action, &resource, Some(&acct), json!({})),
        if allowed { "Allow" } else { "ImplicitDeny" },
        &tags,
    )
}

fn s3_deny(rng: &mut Rng, id: usize) -> Value {
    let acct = account(rng);
    let (principal, _) = caller(rng, &acct);
    let bucket = rng.name("bucket");
    let deny_delete = rng.chance(1, 2);
    let deny = if deny_delete {
        json!({"Effect": "Deny", "Action": ["s3:DeleteObject", "s3:PutBucketPolicy"], "Resource": "*"})
    } else {
        json!({"Effect": "Deny", "Action": "s3:*", "Resource": format!("arn:aws:s3:::{bucket}/secret/*")})
    };
    let policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            deny
        ]
    });
    let (action, on_object) = *rng.pick(S3_ACTIONS);
    let secret = rng.chance(1, 2);
    let resource = if on_object {
        let dir = if secret { "secret" } else { "public" };
        format!("arn:aws:s3:::{bucket}/{dir}/{}", rng.name("obj"))
    } else {
        format!("arn:aws:s3:::{bucket}")
    };
    let denied = if deny_delete {
        matches!(action, "s3:DeleteObject" | "s3:PutBucketPolicy")
    } else {
        on_object && secret
    };
    let mut tags = vec!["identity", "deny"];
    let action = spell(rng, action, &mut tags);
    case(
        id,
        "s3-deny",
        json!({ "identity": [policy] }),
        request(&principal, &action, &resource, Some(&acct), json!({})),
        if denied { "ExplicitDeny" } else { "Allow" },
        &tags,
    )
}

fn not_elements(rng: &mut Rng, id: usize) -> Value {
    let acct = account(rng);
    let (principal, _) = caller(rng, &acct);
    let bucket = rng.name("bucket");
    let (policy, action, resource, expected, tag) = match rng.below(3) {
        0 => {
            // Everything except IAM and Organizations.
            let policy = json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}
            ]});
            let (action, expected) = *rng.pick(&[
                ("s3:GetObject", "Allow"),
                ("ec2:DescribeInstances", "Allow"),
                ("iam:CreateRole", "ImplicitDeny"),
                ("organizations:ListAccounts", "ImplicitDeny"),
            ]);
            (policy, action, "*".to_owned(), expected, "not-action")
        }
        1 => {
            let policy = json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:GetObject", "NotResource": format!("arn:aws:s3:::{bucket}/private/*")}
            ]});
            let private = rng.chance(1, 2);
            let dir = if private { "private" } else { "shared" };
            (
                policy,
                "s3:GetObject",
                format!("arn:aws:s3:::{bucket}/{dir}/x.txt"),
                if private { "ImplicitDeny" } else { "Allow" },
                "not-resource",
            )
        }
        _ => {
            let policy = json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "NotAction": ["s3:Get*", "s3:List*"], "Resource": "*"}
            ]});
            // Each action on the kind of resource it acts on.
            let (action, on_object, expected) = *rng.pick(&[
                ("s3:GetObject", true, "Allow"),
                ("s3:ListBucket", false, "Allow"),
                ("s3:PutObject", true, "ExplicitDeny"),
                ("s3:DeleteBucket", false, "ExplicitDeny"),
            ]);
            let resource = if on_object {
                format!("arn:aws:s3:::{bucket}/k.txt")
            } else {
                format!("arn:aws:s3:::{bucket}")
            };
            (policy, action, resource, expected, "deny-not-action")
        }
    };
    let mut tags = vec!["identity", tag];
    let action = spell(rng, action, &mut tags);
    case(
        id,
        "not-elements",
        json!({ "identity": [policy] }),
        request(&principal, &action, &resource, Some(&acct), json!({})),
        expected,
        &tags,
    )
}

fn bucket_policy(rng: &mut Rng, id: usize) -> Value {
    // Cross-account: the caller's identity policy and the bucket policy must both allow.
    let caller_acct = account(rng);
    let owner = other_account(rng, &caller_acct);
    let role = rng.name("reader");
    let principal = role_arn(&caller_acct, &role);
    let bucket = rng.name("shared");
    let object = format!("arn:aws:s3:::{bucket}/reports/{}.csv", rng.name("r"));
    let identity = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}
    ]});
    let grant = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}
    ]});
    let refuse = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{caller_acct}:root")}, "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")},
        {"Effect": "Deny", "Principal": {"AWS": principal}, "Action": "s3:*", "Resource": format!("arn:aws:s3:::{bucket}/reports/*")}
    ]});
    let (policies, expected, tag) = match rng.below(4) {
        0 => (
            json!({"identity": [identity], "resource": grant}),
            "Allow",
            "both",
        ),
        1 => (
            json!({"identity": [identity]}),
            "ImplicitDeny",
            "identity-only",
        ),
        2 => (json!({"resource": grant}), "ImplicitDeny", "bucket-only"),
        _ => (
            json!({"identity": [identity], "resource": refuse}),
            "ExplicitDeny",
            "bucket-deny",
        ),
    };
    case(
        id,
        "bucket-policy",
        policies,
        request(&principal, "s3:GetObject", &object, Some(&owner), json!({})),
        expected,
        &["cross-account", "resource-policy", tag],
    )
}

/// A pod's S3 read through the cluster's S3 gateway VPC endpoint: the endpoint policy must allow
/// as well (a Deny there wins), and a bucket policy may refuse requests from other endpoints.
fn vpc_endpoint(rng: &mut Rng, id: usize) -> Value {
    let acct = account(rng);
    let principal = format!(
        "arn:aws:sts::{acct}:assumed-role/{}/{}",
        rng.name("s3-read"),
        rng.name("pod")
    );
    let bucket = rng.name("data");
    let object = format!("arn:aws:s3:::{bucket}/{}.txt", rng.name("o"));
    let vpce = format!("vpce-{:08x}", rng.next_u64() & 0xffff_ffff);
    let other_vpce = format!("vpce-{:08x}", rng.next_u64() & 0xffff_ffff);
    let identity = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{bucket}/*")}
    ]});
    let endpoint = |resource: String| {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": resource}
        ]})
    };
    let only_this_endpoint = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [format!("arn:aws:s3:::{bucket}"), format!("arn:aws:s3:::{bucket}/*")],
         "Condition": {"StringNotEquals": {"aws:SourceVpce": vpce}}}
    ]});
    let open = endpoint(format!("arn:aws:s3:::{bucket}/*"));
    let (policies, through, expected, tag) = match rng.below(4) {
        0 => (
            json!({"identity": [identity], "endpoint": open}),
            &vpce,
            "Allow",
            "endpoint-allows",
        ),
        1 => (
            json!({"identity": [identity], "endpoint": endpoint("arn:aws:s3:::other-bucket/*".into())}),
            &vpce,
            "ImplicitDeny",
            "endpoint-lacks-allow",
        ),
        2 => (
            json!({"identity": [identity], "endpoint": open, "resource": only_this_endpoint}),
            &vpce,
            "Allow",
            "bucket-this-endpoint",
        ),
        _ => (
            json!({"identity": [identity], "endpoint": open, "resource": only_this_endpoint}),
            &other_vpce,
            "ExplicitDeny",
            "bucket-other-endpoint",
        ),
    };
    let mut req = request(&principal, "s3:GetObject", &object, Some(&acct), json!({}));
    req["sourceVpce"] = json!(through);
    req["sourceVpc"] = json!("vpc-0a1b2c3d");
    let tags: &[&str] = if policies.get("resource").is_some() {
        &["vpc-endpoint", "resource-policy", tag]
    } else {
        &["vpc-endpoint", tag]
    };
    case(id, "vpc-endpoint", policies, req, expected, tags)
}

/// One condition test: operator, key, policy value, a request value that satisfies it and one
/// that does not (`None`: the key is absent from the request).
struct CondTest {
    op: &'static str,
    key: &'static str,
    policy: Value,
    yes: Option<Value>,
    no: Option<Value>,
    /// Whether the test is on a `ListBucket` key (`s3:prefix`, `s3:max-keys`): the request is
    /// then `ListBucket` on the bucket, otherwise `GetObject` on an object.
    bucket_action: bool,
}

fn cond_tests(principal: &str, acct: &str) -> Vec<CondTest> {
    let t = |op, key, policy: Value, yes: Option<Value>, no: Option<Value>| CondTest {
        op,
        key,
        policy,
        yes,
        no,
        bucket_action: key.starts_with("s3:"),
    };
    let team_arn = format!("arn:aws:iam::{acct}:role/app-*");
    vec![
        t(
            "StringEquals",
            "aws:PrincipalTag/team",
            json!("blue"),
            Some(json!("blue")),
            Some(json!("red")),
        ),
        t(
            "StringNotEquals",
            "aws:PrincipalTag/team",
            json!("red"),
            Some(json!("blue")),
            Some(json!("red")),
        ),
        t(
            "StringEqualsIgnoreCase",
            "aws:PrincipalTag/team",
            json!("Blue"),
            Some(json!("BLUE")),
            Some(json!("green")),
        ),
        t(
            "StringNotEqualsIgnoreCase",
            "aws:PrincipalTag/team",
            json!("RED"),
            Some(json!("blue")),
            Some(json!("red")),
        ),
        t(
            "StringLike",
            "s3:prefix",
            json!("home/alice/*"),
            Some(json!("home/alice/notes")),
            Some(json!("home/bob/notes")),
        ),
        t(
            "StringNotLike",
            "s3:prefix",
            json!("private/*"),
            Some(json!("public/a")),
            Some(json!("private/a")),
        ),
        t(
            "NumericLessThan",
            "s3:max-keys",
            json!("100"),
            Some(json!("10")),
            Some(json!("500")),
        ),
        t(
            "NumericGreaterThanEquals",
            "s3:max-keys",
            json!("10"),
            Some(json!("10")),
            Some(json!("9")),
        ),
        t(
            "NumericEquals",
            "s3:max-keys",
            json!("25"),
            Some(json!("25")),
            Some(json!("26")),
        ),
        t(
            "DateLessThan",
            "aws:CurrentTime",
            json!("2030-01-01T00:00:00Z"),
            Some(json!("2026-11-25T12:00:00Z")),
            Some(json!("2031-06-01T00:00:00Z")),
        ),
        t(
            "DateGreaterThanEquals",
            "aws:CurrentTime",
            json!("2026-01-01T00:00:00Z"),
            Some(json!("2026-11-25T12:00:00Z")),
            Some(json!("2025-12-31T23:59:59Z")),
        ),
        t(
            "Bool",
            "aws:SecureTransport",
            json!("true"),
            Some(json!("true")),
            Some(json!("false")),
        ),
        t(
            "Bool",
            "aws:MultiFactorAuthPresent",
            json!("true"),
            Some(json!("true")),
            None,
        ),
        t(
            "IpAddress",
            "aws:SourceIp",
            json!("10.0.0.0/8"),
            Some(json!("10.1.2.3")),
            Some(json!("192.168.1.1")),
        ),
        t(
            "NotIpAddress",
            "aws:SourceIp",
            json!("192.0.2.0/24"),
            Some(json!("198.51.100.7")),
            Some(json!("192.0.2.44")),
        ),
        t(
            "ArnLike",
            "aws:PrincipalArn",
            json!(team_arn),
            Some(json!(principal)),
            Some(json!(format!("arn:aws:iam::{acct}:role/ops-admin"))),
        ),
        t(
            "ArnNotLike",
            "aws:PrincipalArn",
            json!(format!("arn:aws:iam::{acct}:role/ops-*")),
            Some(json!(principal)),
            Some(json!(format!("arn:aws:iam::{acct}:role/ops-admin"))),
        ),
        t(
            "ArnEquals",
            "aws:SourceArn",
            json!(format!("arn:aws:sns:eu-west-1:{acct}:topic")),
            Some(json!(format!("arn:aws:sns:eu-west-1:{acct}:topic"))),
            Some(json!(format!("arn:aws:sns:eu-west-1:{acct}:other"))),
        ),
        t(
            "Null",
            "aws:TokenIssueTime",
            json!("true"),
            None,
            Some(json!("2026-11-25T11:00:00Z")),
        ),
        t(
            "Null",
            "aws:PrincipalTag/team",
            json!("false"),
            Some(json!("blue")),
            None,
        ),
        t(
            "StringEqualsIfExists",
            "aws:PrincipalTag/team",
            json!("blue"),
            None,
            Some(json!("red")),
        ),
        t(
            "ForAnyValue:StringEquals",
            "aws:TagKeys",
            json!(["env", "team"]),
            Some(json!(["team", "cost"])),
            Some(json!(["cost"])),
        ),
        t(
            "ForAllValues:StringEquals",
            "aws:TagKeys",
            json!(["env", "team"]),
            Some(json!(["env"])),
            Some(json!(["env", "cost"])),
        ),
        t(
            "ForAnyValue:StringLike",
            "aws:TagKeys",
            json!("team-*"),
            Some(json!(["team-a", "x"])),
            Some(json!(["x", "y"])),
        ),
        t(
            "BinaryEquals",
            "aws:PrincipalTag/blob",
            json!("ZmFyZ2F0ZQ=="),
            Some(json!("ZmFyZ2F0ZQ==")),
            Some(json!("b3RoZXI=")),
        ),
    ]
}

fn conditions(rng: &mut Rng, id: usize) -> Value {
    let acct = account(rng);
    let role = format!("app-{:04x}", rng.next_u64() & 0xffff);
    let principal = role_arn(&acct, &role);
    let tests = cond_tests(&principal, &acct);
    let test = &tests[rng.below(tests.len())];
    let bucket = rng.name("data");
    let (action, resource) = if test.bucket_action {
        ("s3:ListBucket", format!("arn:aws:s3:::{bucket}"))
    } else {
        ("s3:GetObject", format!("arn:aws:s3:::{bucket}/k.txt"))
    };
    let satisfied = rng.chance(1, 2);
    let value = if satisfied { &test.yes } else { &test.no };
    let mut ctx = serde_json::Map::new();
    if let Some(v) = value {
        ctx.insert(test.key.to_owned(), v.clone());
    }
    // Deny flavour: allow everything, deny when the condition holds.
    let deny_flavour = rng.chance(1, 3);
    let cond = json!({ test.op: { test.key: test.policy } });
    let (policy, expected) = if deny_flavour {
        (
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                {"Effect": "Deny", "Action": action, "Resource": "*", "Condition": cond}
            ]}),
            if satisfied { "ExplicitDeny" } else { "Allow" },
        )
    } else {
        (
            json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": action, "Resource": "*", "Condition": cond}
            ]}),
            if satisfied { "Allow" } else { "ImplicitDeny" },
        )
    };
    let mut tags = vec!["identity", "condition", test.op];
    if value.is_none() {
        tags.push("missing-key");
    }
    if test.op.starts_with("For") {
        tags.push("set-operator");
    }
    case(
        id,
        "conditions",
        json!({ "identity": [policy] }),
        request(
            &principal,
            action,
            &resource,
            Some(&acct),
            Value::Object(ctx),
        ),
        expected,
        &tags,
    )
}

/// A trust-policy file for the validation benchmark.
pub struct TrustFile {
    /// File name (`0001-fargate-clean.json`).
    pub name: String,
    /// The text.
    pub text: String,
    /// `fargate` or `irsa`: what the role is for (this project's `--role`).
    pub purpose: &'static str,
    /// The cluster, region and account the role is meant for.
    pub cluster: String,
    /// Region.
    pub region: String,
    /// Account.
    pub account: String,
    /// The one defect planted in it, or `None` for a clean, AWS-recommended policy.
    pub defect: Option<&'static str>,
}

/// `n` trust-policy files: about a third clean (the EKS user guide's recommended execution-role
/// and IRSA trust policies, in varied layouts), the rest with one planted defect each.
pub fn trust_files(seed: u64, n: usize) -> Vec<TrustFile> {
    let mut rng = Rng::new(seed ^ 0x7472_7573_7421);
    (0..n).map(|i| trust_file(&mut rng, i)).collect()
}

const FARGATE_DEFECTS: &[&str] = &[
    "principal-star",
    "aws-star-no-condition",
    "cluster-principal",
    "service-typo",
    "wrong-action",
    "no-source-condition",
    "resource-element",
    "not-principal",
    "duplicate-sid",
    "sid-characters",
    "bad-version",
    "trailing-comma",
    "unknown-element",
    "effect-case",
    "source-arn-other-cluster",
];

const IRSA_DEFECTS: &[&str] = &[
    "assume-role-with-federated",
    "no-sub-condition",
    "sub-wildcard-with-equals",
    "wrong-audience",
    "principal-star",
    "bad-version",
];

fn trust_file(rng: &mut Rng, i: usize) -> TrustFile {
    let acct = account(rng);
    let region = (*rng.pick(REGIONS)).to_owned();
    let cluster = rng.name("cluster");
    let irsa = rng.chance(1, 3);
    let defect = if rng.chance(1, 3) {
        None
    } else if irsa {
        Some(*rng.pick(IRSA_DEFECTS))
    } else {
        Some(*rng.pick(FARGATE_DEFECTS))
    };
    let mut doc = if irsa {
        let host = format!(
            "oidc.eks.{region}.amazonaws.com/id/{:032X}",
            u128::from(rng.next_u64())
        );
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::{acct}:oidc-provider/{host}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{host}:sub"): "system:serviceaccount:default:my-service-account",
                    format!("{host}:aud"): "sts.amazonaws.com"
                }}
            }]
        })
    } else {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:eks:{region}:{acct}:fargateprofile/{cluster}/*")}},
                "Principal": {"Service": FARGATE},
                "Action": "sts:AssumeRole"
            }]
        })
    };
    let st = &mut doc["Statement"][0];
    let mut raw_suffix = None;
    match defect {
        None => {
            if rng.chance(1, 2) {
                st["Sid"] = json!(if irsa { "IrsaTrust" } else { "FargatePods" });
            }
        }
        Some("principal-star") => st["Principal"] = json!("*"),
        Some("aws-star-no-condition") => {
            st["Principal"] = json!({"AWS": "*"});
            st.as_object_mut().map(|m| m.remove("Condition"));
        }
        Some("cluster-principal") => st["Principal"] = json!({"Service": "eks.amazonaws.com"}),
        Some("service-typo") => {
            st["Principal"] = json!({"Service": "eks-fargate-pod.amazonaws.com"})
        }
        Some("wrong-action") => st["Action"] = json!("sts:AssumeRoleWithWebIdentity"),
        Some("no-source-condition") => {
            st.as_object_mut().map(|m| m.remove("Condition"));
        }
        Some("resource-element") => st["Resource"] = json!("*"),
        Some("not-principal") => {
            let p = st["Principal"].clone();
            st.as_object_mut().map(|m| m.remove("Principal"));
            st["NotPrincipal"] = p;
        }
        Some("duplicate-sid") => {
            st["Sid"] = json!("Trust");
            let copy = st.clone();
            if let Some(list) = doc["Statement"].as_array_mut() {
                list.push(copy);
            }
        }
        Some("sid-characters") => st["Sid"] = json!("fargate pods trust"),
        Some("bad-version") => doc["Version"] = json!("2012-10-18"),
        Some("trailing-comma") => raw_suffix = Some("trailing-comma"),
        Some("unknown-element") => st["Conditions"] = st["Condition"].take(),
        Some("effect-case") => st["Effect"] = json!("allow"),
        Some("source-arn-other-cluster") => {
            st["Condition"]["ArnLike"]["aws:SourceArn"] = json!(format!(
                "arn:aws:eks:{region}:{acct}:fargateprofile/other-cluster/*"
            ));
        }
        Some("assume-role-with-federated") => st["Action"] = json!("sts:AssumeRole"),
        Some("no-sub-condition") => {
            if let Some(m) = st["Condition"]["StringEquals"].as_object_mut() {
                m.retain(|k, _| !k.ends_with(":sub"));
            }
        }
        Some("sub-wildcard-with-equals") => {
            if let Some(m) = st["Condition"]["StringEquals"].as_object_mut() {
                for (k, v) in m.iter_mut() {
                    if k.ends_with(":sub") {
                        *v = json!("system:serviceaccount:default:*");
                    }
                }
            }
        }
        Some("wrong-audience") => {
            if let Some(m) = st["Condition"]["StringEquals"].as_object_mut() {
                for (k, v) in m.iter_mut() {
                    if k.ends_with(":aud") {
                        *v = json!("sts.amazonaws.com.cn.example");
                    }
                }
            }
        }
        Some(_) => {}
    }
    let mut text = if rng.chance(1, 2) {
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    } else {
        doc.to_string()
    };
    if raw_suffix.is_some() {
        // `"Action": "sts:AssumeRole"` is the last member of the statement in this layout.
        if let Some(at) = text.rfind("\"sts:AssumeRole\"") {
            text.insert(at + "\"sts:AssumeRole\"".len(), ',');
        }
    }
    let purpose = if irsa { "irsa" } else { "fargate" };
    TrustFile {
        name: format!("{i:04}-{purpose}-{}.json", defect.unwrap_or("clean")),
        text,
        purpose,
        cluster,
        region,
        account: acct,
        defect,
    }
}
