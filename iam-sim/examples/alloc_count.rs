#![allow(missing_docs)]
const TRUST: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:eks:eu-west-1:111122223333:fargateprofile/demo/*"}},
    "Principal": {"Service": "eks-fargate-pods.amazonaws.com"},
    "Action": "sts:AssumeRole"
  }]
}"#;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let opts = iam_sim::validate::Options::default();
    let mut k = 0;
    for _ in 0..n {
        k += iam_sim::validate::validate(std::hint::black_box(TRUST), &opts)
            .findings
            .len();
    }
    std::process::exit(i32::from(k > 0));
}
