//! A large Terraform plan, made the way `terraform show -json` writes one (minified; every
//! policy in `planned_values` and again in `resource_changes`; a `configuration` section):
//! roles with Fargate trust policies, identity policies of twenty statements, bucket
//! policies, spread over nested modules. Shared by the benchmark and `examples/big_plan.rs`.

use serde_json::{Value, json};

fn trust(i: usize) -> String {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:eks:eu-west-1:111122223333:fargateprofile/cluster-{}/*", i % 7)}}
    }]})
    .to_string()
}

fn identity(i: usize) -> String {
    let statements: Vec<Value> = (0..20)
        .map(|k| {
            json!({
                "Sid": format!("Read{k}"),
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:ListBucket", "s3:GetObjectVersion", "s3:GetBucketLocation"],
                "Resource": [format!("arn:aws:s3:::bucket-{i}-{k}"), format!("arn:aws:s3:::bucket-{i}-{k}/*")],
                "Condition": {"StringEquals": {"aws:ResourceAccount": "111122223333"}}
            })
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

fn bucket(i: usize) -> String {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [format!("arn:aws:s3:::bucket-{i}"), format!("arn:aws:s3:::bucket-{i}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    }]})
    .to_string()
}

/// A plan with `n` policies (a third each of roles, identity policies and bucket policies).
#[must_use]
pub fn plan(n: usize) -> String {
    let mut planned = Vec::new();
    let mut changes = Vec::new();
    for i in 0..n {
        let module = format!("module.team{}.module.app{}", i % 10, i % 37);
        let (ty, attr, doc) = match i % 3 {
            0 => ("aws_iam_role", "assume_role_policy", trust(i)),
            1 => ("aws_iam_policy", "policy", identity(i)),
            _ => ("aws_s3_bucket_policy", "policy", bucket(i)),
        };
        let address = format!("{module}.{ty}.r{i}");
        let values = json!({attr: doc, "name": format!("r{i}"), "path": "/", "tags": null});
        planned.push(
            json!({"address": address, "mode": "managed", "type": ty, "name": format!("r{i}"),
            "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
            "values": values, "sensitive_values": {}}),
        );
        changes.push(
            json!({"address": address, "module_address": module, "mode": "managed", "type": ty,
            "name": format!("r{i}"), "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {"actions": ["create"], "before": null, "after": values,
                "after_unknown": {"arn": true, "id": true, "tags_all": true},
                "before_sensitive": false, "after_sensitive": {"tags_all": {}}}}),
        );
    }
    json!({
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "planned_values": {"root_module": {"child_modules": [{"address": "module.all", "resources": planned}]}},
        "resource_changes": changes,
        "configuration": {"root_module": {"module_calls": {}}}
    })
    .to_string()
}
