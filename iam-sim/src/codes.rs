//! The finding codes: one table gives each code its variant, its stable code, its kebab-case
//! name, its severity and a one-line summary. Findings are built from a variant, so a code that
//! is not in the table cannot be written; `docs/findings.md` has a section for each (a test
//! checks both ways).

use std::fmt;

use crate::diag::Severity;

macro_rules! codes {
    ($($variant:ident = ($code:literal, $name:literal, $severity:ident, $summary:literal),)*) => {
        /// A finding's kind.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in the table's order (`IAM0xx`, `AA1xx`, `FS2xx`, `FS3xx`).
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The stable code, e.g. `IAM001`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The kebab-case name, e.g. `json-syntax`.
            #[must_use]
            pub const fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            /// The severity, from Access Analyzer's four.
            #[must_use]
            pub const fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// One line: what the finding means.
            #[must_use]
            pub const fn summary(self) -> &'static str {
                match self { $(Code::$variant => $summary,)* }
            }
        }
    };
}

codes! {
    JsonSyntax = ("IAM001", "json-syntax", Error, "not valid JSON"),
    NotAnObject = ("IAM002", "not-an-object", Error, "the policy or a statement is not a JSON object"),
    DuplicateKey = ("IAM003", "duplicate-key", Error, "a key appears twice in one object"),
    UnknownElement = ("IAM004", "unknown-element", Error, "an element IAM does not know"),
    WrongType = ("IAM005", "wrong-type", Error, "a value of the wrong JSON type"),
    MissingStatement = ("IAM006", "missing-statement", Error, "no Statement, or an empty one"),
    InvalidVersion = ("IAM007", "invalid-version", Error, "Version is not 2012-10-17 or 2008-10-17"),
    InvalidEffect = ("IAM008", "invalid-effect", Error, "Effect missing or not exactly Allow or Deny"),
    ConflictingElements = ("IAM009", "conflicting-elements", Error, "Action with NotAction, Principal with NotPrincipal, …"),
    DocumentTooLarge = ("IAM010", "document-too-large", Error, "larger than fargate-sim reads"),
    InvalidCharacters = ("IAM011", "invalid-characters", Error, "characters IAM does not accept"),
    TrustPolicyResource = ("IAM012", "trust-policy-resource", Error, "Resource or NotResource in a trust policy"),
    TrustPolicyNotPrincipal = ("IAM013", "trust-policy-not-principal", Error, "NotPrincipal in a trust policy"),
    MissingPrincipal = ("IAM014", "missing-principal", Error, "a trust or resource policy statement without Principal"),
    PrincipalInIdentityPolicy = ("IAM015", "principal-in-identity-policy", Error, "Principal in an identity-based policy"),
    InvalidPrincipal = ("IAM016", "invalid-principal", Error, "a principal IAM rejects"),
    InvalidSid = ("IAM017", "invalid-sid", Error, "a Sid with characters other than letters and digits"),
    DuplicateSid = ("IAM018", "duplicate-sid", Error, "two statements with the same Sid"),
    TrustPolicyTooLarge = ("IAM019", "trust-policy-too-large", Error, "over the role trust policy quota"),
    MissingAction = ("IAM020", "missing-action", Error, "a statement without Action or NotAction"),
    InvalidAction = ("IAM021", "invalid-action", Error, "an action IAM cannot parse"),
    MissingResource = ("IAM022", "missing-resource", Error, "an identity or resource policy statement without Resource"),
    EmptySid = ("IAM023", "empty-sid", Suggestion, "an empty Sid"),
    InvalidResource = ("IAM024", "invalid-resource", Error, "a resource that is neither * nor an ARN"),
    MissingVersion = ("AA101", "missing-version", Warning, "no Version element"),
    VariableUnsupportedInVersion = ("AA102", "variable-unsupported-in-version", Error, "a policy variable without Version 2012-10-17"),
    InvalidConditionOperator = ("AA103", "invalid-condition-operator", Error, "an unknown condition operator"),
    ConditionTypeMismatch = ("AA104", "condition-type-mismatch", Error, "a condition value of the wrong type for its operator"),
    WildcardWithoutLikeOperator = ("AA105", "wildcard-without-like-operator", Warning, "* or ? in a value of an Equals operator"),
    NullWithIfExists = ("AA106", "null-with-if-exists", Error, "NullIfExists"),
    ForallvaluesWithSingleValuedKey = ("AA107", "forallvalues-with-single-valued-key", SecurityWarning, "ForAllValues on a single-valued key"),
    MismatchedActionForPrincipal = ("AA108", "mismatched-action-for-principal", Error, "an action that does not fit the federated principal"),
    MissingConditionKeyForOidcPrincipal = ("AA109", "missing-condition-key-for-oidc-principal", SecurityWarning, "an OIDC trust without conditions on the provider's keys"),
    ForanyvalueWithAudienceClaim = ("AA110", "foranyvalue-with-audience-claim", SecurityWarning, "ForAnyValue on the single-valued aud claim"),
    UnknownAction = ("AA111", "unknown-action", Error, "an action the service does not have, or a pattern that matches none"),
    RedundantStatement = ("AA112", "redundant-statement", Suggestion, "a statement that repeats another"),
    StringLikeWithArnKey = ("AA113", "string-like-with-arn-key", SecurityWarning, "StringLike on an ARN-typed key"),
    TrustPolicyAction = ("AA114", "trust-policy-action", Error, "an action a trust policy cannot grant"),
    UnknownService = ("AA115", "unknown-service", Error, "a service prefix AWS does not have"),
    UnknownConditionKey = ("AA116", "unknown-condition-key", Error, "a condition key that is neither global nor its service's"),
    ConditionKeyNotForActions = ("AA117", "condition-key-not-for-actions", Warning, "a service's condition key that no action of the statement supports"),
    ResourceNotForActions = ("AA118", "resource-not-for-actions", Warning, "a resource ARN that no action of the statement acts on"),
    OldVersion = ("AA119", "old-version", Warning, "Version 2008-10-17: policy variables are literal text"),
    TrustOpenToEveryone = ("FS201", "trust-open-to-everyone", SecurityWarning, "anyone may assume the role"),
    FargateServicePrincipal = ("FS202", "fargate-service-principal", Error, "the Fargate pods service principal is missing or misspelled"),
    FargateAction = ("FS203", "fargate-action", Error, "Fargate needs sts:AssumeRole"),
    FargateConfusedDeputy = ("FS204", "fargate-confused-deputy", SecurityWarning, "no aws:SourceArn or aws:SourceAccount condition"),
    FargateSourceArnMismatch = ("FS205", "fargate-source-arn-mismatch", Error, "the aws:SourceArn condition cannot match this cluster's profiles"),
    IrsaFederatedPrincipal = ("FS206", "irsa-federated-principal", Error, "no statement trusts an OIDC provider with AssumeRoleWithWebIdentity"),
    IrsaMissingSub = ("FS207", "irsa-missing-sub", SecurityWarning, "no condition on the :sub claim"),
    IrsaSubWildcardInEquals = ("FS208", "irsa-sub-wildcard-in-equals", Warning, "a * in a StringEquals :sub value is literal"),
    IrsaAudience = ("FS209", "irsa-audience", Error, "the :aud claim is not sts.amazonaws.com"),
    IrsaSubMismatch = ("FS210", "irsa-sub-mismatch", Error, "the :sub condition names another namespace or service account"),
    IrsaProviderMismatch = ("FS211", "irsa-provider-mismatch", Error, "the trusted OIDC provider is not this cluster's"),
    ValueNotKnown = ("FS301", "value-not-known", Suggestion, "a policy or a value in it that is not known until apply or deploy: the checks that need it were skipped"),
    NoPolicy = ("FS302", "no-policy", Warning, "a Terraform plan or CloudFormation template with no IAM policy in it"),
    TemplateSyntax = ("FS303", "template-syntax", Error, "a Terraform plan or CloudFormation template that cannot be read"),
}

impl Code {
    /// The code named by `code` (`AA111`), if there is one.
    #[must_use]
    pub fn parse(code: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == code)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_unique() {
        for (i, a) in Code::ALL.iter().enumerate() {
            for b in &Code::ALL[i + 1..] {
                assert_ne!(a.as_str(), b.as_str());
                assert_ne!(a.name(), b.name());
            }
        }
    }

    #[test]
    fn a_code_is_found_by_its_string() {
        assert_eq!(Code::parse("AA111"), Some(Code::UnknownAction));
        assert_eq!(Code::parse("AA999"), None);
    }
}
