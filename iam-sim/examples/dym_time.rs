#![allow(missing_docs, clippy::print_stdout)]
fn main() {
    for (w, c) in [
        (
            "eks-fargate-pod.amazonaws.com",
            iam_sim::validate::KNOWN_SERVICE_PRINCIPALS,
        ),
        (
            "Conditions",
            &[
                "Sid",
                "Effect",
                "Principal",
                "NotPrincipal",
                "Action",
                "NotAction",
                "Resource",
                "NotResource",
                "Condition",
            ][..],
        ),
    ] {
        let t = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..10_000 {
            n += usize::from(iam_sim::policy::did_you_mean(std::hint::black_box(w), c).is_some());
        }
        println!(
            "{w}: {n} {:?} per call, {} candidates",
            t.elapsed() / 10_000,
            c.len()
        );
    }
}
