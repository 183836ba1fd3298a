//! The error documents S3 and STS answer with, byte for byte in the shape the SDKs parse.

/// Escapes text for an XML element.
pub fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// S3's `AccessDenied` message: who, what, on which resource, and which policy type lacked an
/// allow (or held the explicit deny), as AWS words it since 2023.
pub fn access_denied_message(
    principal: &str,
    action: &str,
    resource: &str,
    clause: &str,
) -> String {
    let mut m = format!(
        "User: {principal} is not authorized to perform: {action} on resource: \"{resource}\""
    );
    if !clause.is_empty() {
        m.push(' ');
        m.push_str(clause);
    }
    m
}

/// An S3 error document.
pub fn s3_error(code: &str, message: &str, resource: Option<&str>, request_id: &str) -> String {
    let resource = resource
        .map(|r| format!("<Resource>{}</Resource>", xml_escape(r)))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>{resource}<RequestId>{request_id}</RequestId><HostId>fargate-sim</HostId></Error>",
        xml_escape(code),
        xml_escape(message)
    )
}

/// An STS (query protocol) error document.
pub fn sts_error(code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        xml_escape(code),
        xml_escape(message)
    )
}

/// The text between `<tag>` and `</tag>`, first occurrence.
pub fn xml_text<'a>(doc: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = doc.find(&open)? + open.len();
    let end = doc[start..].find(&close)? + start;
    Some(&doc[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_access_denied_document() {
        let m = access_denied_message(
            "arn:aws:sts::000000000000:assumed-role/s3-read/pod",
            "s3:GetObject",
            "arn:aws:s3:::b/k",
            "because no identity-based policy allows the s3:GetObject action",
        );
        assert_eq!(
            m,
            "User: arn:aws:sts::000000000000:assumed-role/s3-read/pod is not authorized to perform: s3:GetObject on resource: \"arn:aws:s3:::b/k\" because no identity-based policy allows the s3:GetObject action"
        );
        let doc = s3_error("AccessDenied", &m, Some("/b/k"), "R1");
        assert!(doc.contains("<Code>AccessDenied</Code>"));
        assert!(doc.contains("&quot;arn:aws:s3:::b/k&quot;"));
        assert_eq!(xml_text(&doc, "RequestId"), Some("R1"));
    }

    #[test]
    fn sts_document() {
        let doc = sts_error(
            "AccessDenied",
            "User: x is not authorized to perform: sts:AssumeRole on resource: y",
            "R2",
        );
        assert_eq!(xml_text(&doc, "Code"), Some("AccessDenied"));
        assert!(
            doc.starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">")
        );
    }
}
