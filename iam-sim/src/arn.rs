//! ARNs: `arn:partition:service:region:account:resource`, where the resource part may itself
//! contain colons.

/// The six parts of an ARN, borrowed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    /// `aws`, `aws-cn`, …
    pub partition: &'a str,
    /// `s3`, `iam`, `sts`, `eks`, …
    pub service: &'a str,
    /// Region, empty for global services and S3.
    pub region: &'a str,
    /// Account id, empty for S3.
    pub account: &'a str,
    /// Everything after the fifth colon.
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN; `None` when it does not start with `arn:` or has fewer than six parts.
    pub fn parse(text: &'a str) -> Option<Self> {
        // One pass over the bytes for the first four colons after `arn:` (faster than a
        // generic splitter on these short strings; this runs on every ARN condition).
        let b = text.as_bytes();
        if !b.starts_with(b"arn:") {
            return None;
        }
        let mut cuts = [0usize; 4];
        let mut n = 0;
        for (i, c) in b.iter().enumerate().skip(4) {
            if *c == b':' {
                cuts[n] = i;
                n += 1;
                if n == 4 {
                    break;
                }
            }
        }
        if n < 4 {
            return None;
        }
        Some(Self {
            partition: text.get(4..cuts[0])?,
            service: text.get(cuts[0] + 1..cuts[1])?,
            region: text.get(cuts[1] + 1..cuts[2])?,
            account: text.get(cuts[2] + 1..cuts[3])?,
            resource: text.get(cuts[3] + 1..)?,
        })
    }

    /// The parts in order, `arn` excluded.
    pub fn parts(&self) -> [&'a str; 5] {
        [
            self.partition,
            self.service,
            self.region,
            self.account,
            self.resource,
        ]
    }
}

/// Whether `s` is a 12-digit account id.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_part_keeps_its_colons() {
        let a = Arn::parse(
            "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/x",
        )
        .unwrap();
        assert_eq!(a.account, "999999999999");
        assert_eq!(a.resource, "store/abc:111122223333:finance/x");
        assert_eq!(
            Arn::parse("arn:aws:s3:::b/k").map(|a| a.resource),
            Some("b/k")
        );
        assert!(Arn::parse("arn:aws:s3::b").is_none());
        assert!(Arn::parse("not-an-arn").is_none());
    }
}
