//! Any text through the policy parser and every validation mode: no panic, and every finding's
//! span lies inside the text on character boundaries (the renderers slice with it).
#![no_main]

use iam_sim::validate::{Options, PolicyType, Purpose, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let purposes = [
        None,
        Some(Purpose::FargatePodExecution {
            cluster: Some("fargate-sim".into()),
            region: Some("eu-west-1".into()),
            account: Some("111122223333".into()),
        }),
        Some(Purpose::Irsa {
            oidc_provider: Some(
                "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC"
                    .into(),
            ),
            namespace: Some("test".into()),
            service_account: Some("s3".into()),
        }),
    ];
    for (i, purpose) in purposes.into_iter().enumerate() {
        let opts = Options {
            policy_type: [None, Some(PolicyType::Trust), Some(PolicyType::Identity)][i % 3],
            purpose,
            ..Options::default()
        };
        for d in validate(text, &opts).findings {
            assert!(d.span.start <= d.span.end && d.span.end <= text.len(), "{d:?}");
            assert!(
                text.is_char_boundary(d.span.start) && text.is_char_boundary(d.span.end),
                "{d:?}"
            );
        }
    }
});
