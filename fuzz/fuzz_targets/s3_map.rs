//! Any method, path and query through the S3 request mapper: no panic, and every mapped
//! request names an `s3:` action and a resource in the bucket it addresses.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../emulator/src/gateway/s3map.rs"]
mod s3map;

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    method: &'a str,
    path: &'a str,
    query: Option<&'a str>,
    copy_source: bool,
    body: &'a str,
}

fuzz_target!(|input: Input<'_>| {
    let _ = s3map::delete_keys(input.body);
    if let Ok(access) = s3map::map(input.method, input.path, input.query, input.copy_source) {
        assert!(access.action.starts_with("s3:"), "{access:?}");
        match &access.bucket {
            Some(b) => assert!(
                access.resource == format!("arn:aws:s3:::{b}")
                    || access.resource.starts_with(&format!("arn:aws:s3:::{b}/")),
                "{access:?}"
            ),
            None => assert_eq!(access.resource, "*", "{access:?}"),
        }
    }
});
