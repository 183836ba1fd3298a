//! Timed harness: the endpoint's overhead over LocalStack for STS AssumeRole and IAM calls by
//! an IAM user (so every call is authenticated and decided), in one run, interleaved
//! (`cargo bench -p emulator --bench endpoint_overhead`; `ROUNDS=1000` by default). Set
//! `FARGATE_SIM_LOCALSTACK_URL` to reuse a running LocalStack.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod support;
use support::pct;

use std::future::Future;
use std::time::{Duration, Instant};

use emulator::Clients;

async fn interleaved<F, G, A, B>(
    rounds: usize,
    mut direct: F,
    mut via: G,
) -> (Vec<Duration>, Vec<Duration>)
where
    F: FnMut() -> A,
    G: FnMut() -> B,
    A: Future<Output = ()>,
    B: Future<Output = ()>,
{
    for _ in 0..50 {
        direct().await;
        via().await;
    }
    let (mut d, mut g) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let t = Instant::now();
        direct().await;
        d.push(t.elapsed());
        let t = Instant::now();
        via().await;
        g.push(t.elapsed());
    }
    (d, g)
}

fn report(what: &str, mut d: Vec<Duration>, mut g: Vec<Duration>) {
    let ms = |x: Duration| x.as_secs_f64() * 1e3;
    let (d50, d99) = (pct(&mut d, 0.5), pct(&mut d, 0.99));
    let (g50, g99) = (pct(&mut g, 0.5), pct(&mut g, 0.99));
    println!(
        "{what:<22} direct p50 {:.3} ms p99 {:.3} ms | endpoint p50 {:.3} ms p99 {:.3} ms | overhead p50 {:.3} ms p99 {:.3} ms",
        ms(d50),
        ms(d99),
        ms(g50),
        ms(g99),
        ms(g50.saturating_sub(d50)),
        ms(g99.saturating_sub(d99))
    );
}

fn main() {
    let rounds = support::env_u64("ROUNDS", 1000) as usize;
    let (ls, rt) = support::localstack_and_runtime();
    rt.block_on(async {
        let (gw, admin) = support::endpoint(&ls).await;
        let id = std::process::id();
        let user = format!("bench-user-{id}");
        let role = format!("bench-role-{id}");
        let creds = support::user_trusted_by(&admin, &user, &role).await;
        admin
            .iam
            .put_user_policy()
            .user_name(&user)
            .policy_name("bench")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:GetRole","sts:AssumeRole"],"Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
        let role_arn = format!("arn:aws:iam::000000000000:role/{role}");
        let via = Clients::new(gw.endpoint(), "eu-west-1", &creds).await;
        let direct = Clients::new(ls.endpoint(), "eu-west-1", &creds).await;
        println!("{rounds} calls each, interleaved, by an IAM user (decided by iam-sim through the endpoint):");
        let (d, g) = interleaved(
            rounds,
            || { let c = direct.clone(); let r = role_arn.clone(); async move { c.sts.assume_role().role_arn(r).role_session_name("b").send().await.unwrap(); } },
            || { let c = via.clone(); let r = role_arn.clone(); async move { c.sts.assume_role().role_arn(r).role_session_name("b").send().await.unwrap(); } },
        )
        .await;
        report("STS AssumeRole", d, g);
        let (d, g) = interleaved(
            rounds,
            || { let c = direct.clone(); let r = role.clone(); async move { c.iam.get_role().role_name(r).send().await.unwrap(); } },
            || { let c = via.clone(); let r = role.clone(); async move { c.iam.get_role().role_name(r).send().await.unwrap(); } },
        )
        .await;
        report("IAM GetRole", d, g);
    });
}
