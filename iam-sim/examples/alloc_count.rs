#![allow(missing_docs)]
//! Validates the small Fargate trust policy N times (`alloc_count N [no-inference]`), for
//! allocation counts (`valgrind`) and instruction counts (`valgrind --tool=callgrind`): run it
//! with two N and subtract.
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
    // `alloc_count N no-inference`: without the purpose checks a Fargate principal brings.
    let infer = std::env::args().nth(2).as_deref() != Some("no-inference");
    let opts = iam_sim::validate::Options {
        infer_purpose: infer,
        ..Default::default()
    };
    let mut k = 0;
    for _ in 0..n {
        k += iam_sim::validate::validate(std::hint::black_box(TRUST), &opts)
            .findings
            .len();
    }
    std::process::exit(i32::from(k > 0));
}
