//! Any line through the case reader: no panic; a case that reads is decided, and the
//! allocation-free decision agrees with the explained one.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(case) = iam_sim::cases::parse_case(line) {
        let full = case.set.evaluate(&case.request);
        assert_eq!(case.set.decide(&case.request), full.decision);
        let _ = iam_sim::explain::explain(&case.set, &case.request, &full);
    }
});
