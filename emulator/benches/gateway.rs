//! Timed harness: GetObject latency straight to LocalStack vs through the IAM gateway, in one
//! run, interleaved (`cargo bench -p emulator --bench gateway`). Prints p50/p90/p99 for each
//! path and the overhead. Set `FARGATE_SIM_LOCALSTACK_URL` to reuse a running LocalStack.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod support;
use support::pct;

use std::time::{Duration, Instant};

use emulator::Clients;
use emulator::s3::primitives::ByteStream;

fn main() {
    let rounds = support::env_u64("ROUNDS", 2000) as usize;
    let (ls, rt) = support::localstack_and_runtime();
    rt.block_on(async {
        let (gw, admin) = support::endpoint(&ls).await;
        let bucket = format!("bench-{}", std::process::id());
        admin.create_bucket_in(&bucket, "eu-west-1").await.unwrap();
        admin
            .s3
            .put_object()
            .bucket(&bucket)
            .key("k")
            .body(ByteStream::from_static(b"0123456789abcdef"))
            .send()
            .await
            .unwrap();
        let role = format!("bench-{}", std::process::id());
        let user = format!("bench-user-{}", std::process::id());
        let user_creds = support::user_trusted_by(&admin, &user, &role).await;
        let as_user = Clients::new(gw.endpoint(), "eu-west-1", &user_creds).await;
        admin
            .iam
            .attach_role_policy()
            .role_name(&role)
            .policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
            .send()
            .await
            .unwrap();
        let session = support::assume(&as_user, &role, "bench").await;
        let via = Clients::new(gw.endpoint(), "eu-west-1", &session).await;
        let direct = Clients::new(ls.endpoint(), "eu-west-1", &session).await;
        // Warm up both paths (connection pools, policy cache).
        for _ in 0..50 {
            direct
                .s3
                .get_object()
                .bucket(&bucket)
                .key("k")
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap();
            via.s3
                .get_object()
                .bucket(&bucket)
                .key("k")
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap();
        }
        let (mut d, mut g) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
        for _ in 0..rounds {
            let t = Instant::now();
            direct
                .s3
                .get_object()
                .bucket(&bucket)
                .key("k")
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap();
            d.push(t.elapsed());
            let t = Instant::now();
            via.s3
                .get_object()
                .bucket(&bucket)
                .key("k")
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap();
            g.push(t.elapsed());
        }
        let show = |v: &mut Vec<Duration>| (pct(v, 0.5), pct(v, 0.9), pct(v, 0.99));
        let (d50, d90, d99) = show(&mut d);
        let (g50, g90, g99) = show(&mut g);
        println!("GetObject, {rounds} rounds interleaved, 16-byte object");
        println!("direct to LocalStack: p50 {d50:?}  p90 {d90:?}  p99 {d99:?}");
        println!("through the gateway:  p50 {g50:?}  p90 {g90:?}  p99 {g99:?}");
        println!(
            "overhead:             p50 {:?}  p99 {:?}",
            g50.saturating_sub(d50),
            g99.saturating_sub(d99)
        );
        admin
            .iam
            .detach_role_policy()
            .role_name(&role)
            .policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
            .send()
            .await
            .unwrap();
        admin
            .iam
            .delete_role()
            .role_name(&role)
            .send()
            .await
            .unwrap();
        admin
            .s3
            .delete_object()
            .bucket(&bucket)
            .key("k")
            .send()
            .await
            .unwrap();
        admin
            .s3
            .delete_bucket()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
    });
}
