//! The EKS API adapter on any request: routes, bodies and query strings read without a panic,
//! every answer a status EKS uses with a JSON body, and runs on a control plane that keeps its
//! invariants (a profile named in a list can be described).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use scheduler::cluster::{InMemoryRoles, SeqIds};
use scheduler::control_plane::{ApiServer, ControlPlane};

#[derive(Debug, Arbitrary)]
struct Call<'a> {
    method: u8,
    path: &'a str,
    query: Option<&'a str>,
    body: &'a [u8],
    at: u8,
}

fuzz_target!(|calls: Vec<Call<'_>>| {
    let mut plane = ControlPlane::new(
        "eu-west-1",
        "000000000000",
        ApiServer {
            endpoint: "http://127.0.0.1:1".into(),
            certificate_authority: "Q0E=".into(),
        },
        Box::new(SeqIds::new(1)),
        Box::new(|| Box::new(SeqIds::new(2))),
    );
    let roles = InMemoryRoles::default();
    for c in calls.iter().take(32) {
        let method = ["GET", "POST", "DELETE", "PUT"][usize::from(c.method % 4)];
        let req = endpoint::eks::Request {
            method,
            path: c.path,
            query: c.query,
            body: c.body,
        };
        let answer = match endpoint::eks::parse(&req) {
            Ok(call) => {
                let _ = call.accesses(&plane);
                call.run(&mut plane, &roles, f64::from(c.at))
            }
            Err(r) => r,
        };
        assert!(
            matches!(answer.status, 200 | 400 | 404 | 409 | 413),
            "status {} for {method} {}",
            answer.status,
            c.path
        );
        assert_eq!(answer.status == 200, answer.error_type.is_none());
        assert!(
            serde_json::from_str::<serde_json::Value>(&answer.body).is_ok(),
            "not JSON: {}",
            answer.body
        );
    }
});
