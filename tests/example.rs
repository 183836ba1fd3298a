//! The test a user would copy into their own project: start the emulator, set up a bucket and
//! a role with the official SDK, and check that IAM is enforced. It uses only the library's
//! public entry points (`Emulator`, `Clients`) and starts (or finds, through
//! `FARGATE_SIM_LOCALSTACK_URL`) its own LocalStack, as a user's test would.

use emulator::{Emulator, Options};
use s3_harness::s3::error::ProvideErrorMetadata;
use s3_harness::s3::primitives::ByteStream;
use s3_harness::{Clients, Creds};

#[tokio::test(flavor = "multi_thread")]
async fn a_role_without_s3_get_object_gets_access_denied() {
    let emu = Emulator::start(Options::default()).await.unwrap();
    let root = Clients::new(emu.endpoint(), emu.region(), &emu.root_credentials()).await;
    let tag = std::process::id();

    // A bucket with an object, as the account root.
    let bucket = format!("example-{tag}");
    root.create_bucket_in(&bucket, emu.region()).await.unwrap();
    root.s3
        .put_object()
        .bucket(&bucket)
        .key("hello.txt")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap();

    // An IAM user (the root may not assume roles), and a role it may assume that has no S3
    // permission at all.
    let user = format!("example-dev-{tag}");
    let dev = Clients::new(
        emu.endpoint(),
        emu.region(),
        &root.create_user_with_key(&user).await.unwrap(),
    )
    .await;
    let role = format!("example-no-s3-{tag}");
    let trust = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::000000000000:user/{user}"}},"Action":"sts:AssumeRole"}}]}}"#
    );
    root.iam
        .create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let session = dev
        .sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::000000000000:role/{role}"))
        .role_session_name("test")
        .send()
        .await
        .unwrap();
    let c = session.credentials().unwrap();
    let as_role = Clients::new(
        emu.endpoint(),
        emu.region(),
        &Creds {
            access_key_id: c.access_key_id().to_owned(),
            secret_access_key: c.secret_access_key().to_owned(),
            session_token: Some(c.session_token().to_owned()),
        },
    )
    .await;

    // The role may not read the object: S3's AccessDenied, in AWS's words.
    let err = as_role
        .s3
        .get_object()
        .bucket(&bucket)
        .key("hello.txt")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(err.code(), Some("AccessDenied"));
    assert_eq!(
        err.message(),
        Some(
            format!(
                "User: arn:aws:sts::000000000000:assumed-role/{role}/test is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::{bucket}/hello.txt\" because no identity-based policy allows the s3:GetObject action"
            )
            .as_str()
        )
    );
}
