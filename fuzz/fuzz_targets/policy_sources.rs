//! Any text read as a Terraform plan and as a CloudFormation template (JSON or YAML): no panic,
//! no hang; every policy found maps its spans back inside the file on character boundaries,
//! and so does every finding of the validator on it.
#![no_main]

use iam_sim::Span;
use iam_sim::validate::{Options, validate};
use libfuzzer_sys::fuzz_target;
use policy_sources::{Document, InputType, Pseudo, extract};

fn inside(text: &str, s: Span) {
    assert!(s.start <= s.end && s.end <= text.len(), "{s:?} of {}", text.len());
    assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end), "{s:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let pseudo = Pseudo {
        account: Some("111122223333".into()),
        region: Some("eu-west-1".into()),
    };
    let _ = InputType::detect(text);
    for kind in [InputType::TerraformPlan, InputType::CloudFormation] {
        let x = extract(text, kind, &pseudo);
        if let Some(d) = &x.problem {
            inside(text, d.span);
        }
        for p in &x.policies {
            match &p.document {
                Document::NotKnown { file, .. } => inside(text, *file),
                Document::Known(r) => {
                    for u in &r.unknowns {
                        inside(text, u.file);
                    }
                    for d in validate(&r.text, &Options::default()).findings {
                        inside(text, r.map.map(d.span, text));
                    }
                }
            }
        }
    }
});
