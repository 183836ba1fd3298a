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

/// A query-protocol (STS, IAM) error document: `Sender` when the caller is at fault,
/// `Receiver` when the service is.
pub fn query_error(
    service: &str,
    sender: bool,
    code: &str,
    message: &str,
    request_id: &str,
) -> String {
    let namespace = match service {
        "iam" => "https://iam.amazonaws.com/doc/2010-05-08/",
        _ => "https://sts.amazonaws.com/doc/2011-06-15/",
    };
    format!(
        "<ErrorResponse xmlns=\"{namespace}\">\n  <Error>\n    <Type>{}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n",
        if sender { "Sender" } else { "Receiver" },
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
        let doc = query_error(
            "sts",
            true,
            "AccessDenied",
            "User: x is not authorized to perform: sts:AssumeRole on resource: y",
            "R2",
        );
        assert_eq!(xml_text(&doc, "Code"), Some("AccessDenied"));
        assert!(
            doc.starts_with("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">")
        );
    }

    #[test]
    fn an_iam_service_fault_is_a_receiver_error_in_iams_namespace() {
        let doc = query_error(
            "iam",
            false,
            "ServiceUnavailable",
            "LocalStack <down>",
            "R1",
        );
        assert_eq!(
            doc,
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  <Error>\n    <Type>Receiver</Type>\n    <Code>ServiceUnavailable</Code>\n    <Message>LocalStack &lt;down&gt;</Message>\n  </Error>\n  <RequestId>R1</RequestId>\n</ErrorResponse>\n"
        );
    }
}
