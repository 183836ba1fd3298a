//! What the timed harnesses share.
#![allow(dead_code, reason = "each harness uses some of these helpers")]

use std::time::Duration;

/// The `p` quantile (0 to 1) of a sample, nearest rank; zero for an empty sample.
pub fn pct(v: &mut [Duration], p: f64) -> Duration {
    if v.is_empty() {
        return Duration::ZERO;
    }
    v.sort_unstable();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

use emulator::gateway::Gateway;
use emulator::{Clients, Creds, LocalStack};

/// A number from the environment (`ROUNDS`, `CLIENTS`, …), else `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// LocalStack (found or started) and a two-worker runtime, as every harness runs.
pub fn localstack_and_runtime() -> (LocalStack, tokio::runtime::Runtime) {
    #[allow(clippy::print_stderr, reason = "a harness reports LocalStack's start")]
    let ls = LocalStack::obtain(&|p| eprintln!("[localstack] {p:?}")).expect("LocalStack");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    (ls, rt)
}

/// The endpoint in front of `ls`, and the account root's clients of it.
pub async fn endpoint(ls: &LocalStack) -> (Gateway, Clients) {
    let root = Creds::test_account();
    let gw = Gateway::start(ls.endpoint(), "eu-west-1", "000000000000", root.clone())
        .await
        .expect("endpoint");
    let admin = Clients::new(gw.endpoint(), "eu-west-1", &root).await;
    (gw, admin)
}

/// An IAM user made through the endpoint (so that it knows the key) and a role `role` that
/// trusts it (the account root may not assume roles); the user's key.
pub async fn user_trusted_by(admin: &Clients, user: &str, role: &str) -> Creds {
    let creds = admin.create_user_with_key(user).await.expect("user");
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:user/{user}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    admin
        .iam
        .create_role()
        .role_name(role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("role");
    creds
}

/// A session of `role`, assumed by `as_user`.
pub async fn assume(as_user: &Clients, role: &str, session: &str) -> Creds {
    let a = as_user
        .sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::000000000000:role/{role}"))
        .role_session_name(session)
        .send()
        .await
        .expect("AssumeRole");
    let c = a.credentials().expect("credentials");
    Creds {
        access_key_id: c.access_key_id().into(),
        secret_access_key: c.secret_access_key().into(),
        session_token: Some(c.session_token().into()),
    }
}
