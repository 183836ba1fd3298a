//! What the end-to-end tests share: one LocalStack per test binary.

use std::sync::OnceLock;

use s3_harness::LocalStack;

static SHARED: OnceLock<Result<LocalStack, String>> = OnceLock::new();

/// The LocalStack shared by every test of this binary: the one named by
/// `FARGATE_SIM_LOCALSTACK_URL` / `AWS_ENDPOINT_URL`, else a container, else host mode.
/// Started once; statics are never dropped, so the host-mode watchdog stops it when the test
/// process exits.
pub fn localstack() -> &'static LocalStack {
    let result = SHARED.get_or_init(|| {
        LocalStack::obtain(&|p| eprintln!("[localstack] {p:?}")).map_err(|e| e.to_string())
    });
    match result {
        Ok(ls) => ls,
        Err(e) => panic!("no LocalStack for the tests: {e}"),
    }
}

/// A name unique to this process and call site, for buckets and roles.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The chapter's trust policy for a pod execution role (`examples/role-trust-policy.json`).
pub fn fargate_trust() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/role-trust-policy.json"
    ))
    .unwrap()
}
