//! Load on the endpoint: many concurrent clients for a while, every decision checked
//! (`cargo bench -p emulator --bench gateway_load`; `CLIENTS=200 SECONDS=60` by default).
//! Each client cycles through a GetObject its session may do (200 and the object's bytes), a
//! PutObject it may not (403 AccessDenied), an EKS DescribeCluster it may not
//! (AccessDeniedException), and an AssumeRole by the IAM user (a new session each time, so the
//! session table's bound is exercised), through one endpoint in front of LocalStack.
//! Prints requests, wrong answers, failures, p50/p99/max latency per kind and the process's
//! resident memory after warm-up and at the end. Set `FARGATE_SIM_LOCALSTACK_URL` to reuse a
//! running LocalStack.
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod support;
use support::pct;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use emulator::Clients;
use emulator::s3::primitives::ByteStream;

const BODY: &[u8] = b"0123456789abcdef";

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

#[derive(Default)]
struct Counts {
    requests: AtomicU64,
    wrong: AtomicU64,
    failed: AtomicU64,
}

fn main() {
    let clients = support::env_u64("CLIENTS", 200) as usize;
    let seconds = support::env_u64("SECONDS", 60);
    // ASSUME=0 replaces the AssumeRole calls with GetObject: every session is then one the
    // run made at its start, so memory shows what the traffic itself costs.
    let assume = support::env_u64("ASSUME", 1) != 0;
    let (ls, rt) = support::localstack_and_runtime();
    rt.block_on(async {
        let (gw, admin) = support::endpoint(&ls).await;
        let id = std::process::id();
        let bucket = format!("load-{id}");
        admin.create_bucket_in(&bucket, "eu-west-1").await.unwrap();
        admin.s3.put_object().bucket(&bucket).key("k").body(ByteStream::from_static(BODY)).send().await.unwrap();
        let role = format!("load-{id}");
        let user = format!("bench-user-{id}");
        let user_creds = support::user_trusted_by(&admin, &user, &role).await;
        let as_user = Clients::new(gw.endpoint(), "eu-west-1", &user_creds).await;
        admin.iam.attach_role_policy().role_name(&role).policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess").send().await.unwrap();
        let session = support::assume(&as_user, &role, "load").await;
        let via = Clients::new(gw.endpoint(), "eu-west-1", &session).await;
        let role_arn = format!("arn:aws:iam::000000000000:role/{role}");
        for _ in 0..50 {
            via.s3.get_object().bucket(&bucket).key("k").send().await.unwrap();
        }
        let rss_start = rss_kib();
        let counts = Arc::new(Counts::default());
        let deadline = Instant::now() + Duration::from_secs(seconds);
        // Resident memory every tenth of the run: growth that levels off is buffers and
        // connections; growth that keeps on is a leak.
        let sampler = tokio::spawn(async move {
            let mut samples = Vec::new();
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_secs(seconds.max(10) / 10)).await;
                samples.push(rss_kib() / 1024);
            }
            samples
        });
        let mut tasks = Vec::new();
        for n in 0..clients {
            let (via, bucket, counts) = (via.clone(), bucket.clone(), counts.clone());
            let (as_user, role_arn) = (as_user.clone(), role_arn.clone());
            tasks.push(tokio::spawn(async move {
                let (mut gets, mut puts, mut eks, mut assumes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let mut i = n;
                while Instant::now() < deadline {
                    i += 1;
                    let t = Instant::now();
                    if i % 4 == 2 {
                        match via.eks.describe_cluster().name("load").send().await {
                            Err(e) => match e.as_service_error().and_then(|s| emulator::eks::error::ProvideErrorMetadata::code(s)) {
                                Some("AccessDeniedException") => {}
                                Some(_) => {
                                    counts.wrong.fetch_add(1, Ordering::Relaxed);
                                }
                                None => {
                                    counts.failed.fetch_add(1, Ordering::Relaxed);
                                }
                            },
                            Ok(_) => {
                                counts.wrong.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        eks.push(t.elapsed());
                    } else if i % 4 == 3 && assume {
                        match as_user.sts.assume_role().role_arn(&role_arn).role_session_name("load").send().await {
                            Ok(o) if o.credentials().is_some() => {}
                            Ok(_) => {
                                counts.wrong.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) if e.as_service_error().is_some() => {
                                counts.wrong.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                counts.failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        assumes.push(t.elapsed());
                    } else if i % 2 == 0 || i % 4 == 3 {
                        match via.s3.get_object().bucket(&bucket).key("k").send().await {
                            Ok(o) => {
                                let right = o
                                    .body
                                    .collect()
                                    .await
                                    .is_ok_and(|b| b.into_bytes().as_ref() == BODY);
                                if !right {
                                    counts.wrong.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            Err(e) if e.as_service_error().is_some() => {
                                counts.wrong.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => {
                                counts.failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        gets.push(t.elapsed());
                    } else {
                        let r = via.s3.put_object().bucket(&bucket).key(format!("w{n}")).body(ByteStream::from_static(b"x")).send().await;
                        match r {
                            Err(e) => match e.as_service_error().and_then(aws_code) {
                                Some("AccessDenied") => {}
                                Some(_) => {
                                    counts.wrong.fetch_add(1, Ordering::Relaxed);
                                }
                                None => {
                                    counts.failed.fetch_add(1, Ordering::Relaxed);
                                }
                            },
                            Ok(_) => {
                                counts.wrong.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        puts.push(t.elapsed());
                    }
                    counts.requests.fetch_add(1, Ordering::Relaxed);
                }
                (gets, puts, eks, assumes)
            }));
        }
        let (mut gets, mut puts, mut eks, mut assumes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for t in tasks {
            let (g, p, e, a) = t.await.unwrap();
            gets.extend(g);
            puts.extend(p);
            eks.extend(e);
            assumes.extend(a);
        }
        let rss_end = rss_kib();
        let samples = sampler.await.unwrap_or_default();
        let n = counts.requests.load(Ordering::Relaxed);
        println!("endpoint load: {clients} clients for {seconds} s");
        println!(
            "  requests {n} ({:.0}/s), wrong decisions {}, transport failures {}",
            n as f64 / seconds as f64,
            counts.wrong.load(Ordering::Relaxed),
            counts.failed.load(Ordering::Relaxed)
        );
        for (name, v) in [
            ("GetObject (Allow)", &mut gets),
            ("PutObject (AccessDenied)", &mut puts),
            ("EKS DescribeCluster (AccessDeniedException)", &mut eks),
            ("STS AssumeRole (Allow)", &mut assumes),
        ] {
            println!(
                "  {name}: {} requests, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                v.len(),
                pct(v, 0.5).as_secs_f64() * 1e3,
                pct(v, 0.99).as_secs_f64() * 1e3,
                pct(v, 1.0).as_secs_f64() * 1e3
            );
        }
        println!(
            "  resident memory after warm-up {} MiB, at the end {} MiB, every tenth of the run {:?} MiB (clients and gateway in one process)",
            rss_start / 1024,
            rss_end / 1024,
            samples
        );
        let _ = admin.iam.detach_role_policy().role_name(&role).policy_arn("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess").send().await;
        let _ = admin.iam.delete_role().role_name(&role).send().await;
        let _ = admin.s3.delete_object().bucket(&bucket).key("k").send().await;
        let _ = admin.s3.delete_bucket().bucket(&bucket).send().await;
    });
}

fn aws_code<E: emulator::s3::error::ProvideErrorMetadata>(e: &E) -> Option<&str> {
    e.code()
}
