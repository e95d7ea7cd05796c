//! Redaction of secret values (and of passwords inside URLs) from text before it is shown or
//! logged.

use std::ops::Range;

/// What every redacted span becomes.
const MASK: &str = "******";

/// Shorter values are not registered: masking every `a` or `db` would make output unreadable
/// while hiding nothing of value.
const MIN_SECRET_CHARS: usize = 4;

/// Replaces known secret values in text.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Secret values, longest first, without duplicates.
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a secret value and its URL-encoded form; values shorter than 4 characters are
    /// ignored.
    pub fn add(&mut self, secret: &str) {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return;
        }
        // A password usually also appears percent-encoded inside a connection URL.
        let encoded = percent_encode(secret);
        for value in [secret.to_owned(), encoded] {
            if !self.secrets.contains(&value) {
                self.secrets.push(value);
            }
        }
        self.secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
    }

    /// Masks every occurrence of every secret, and the password of every
    /// `scheme://user:password@` in `text`, registered or not.
    pub fn redact(&self, text: &str) -> String {
        let mut spans = userinfo_passwords(text);
        for secret in &self.secrets {
            spans.extend(occurrences(text, secret));
        }
        mask(text, spans)
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }
}

/// Masks the password of a URL (`scheme://user:******@host/...`); a URL without a password is
/// returned unchanged.
pub fn redact_uri(uri: &str) -> String {
    mask(uri, userinfo_passwords(uri))
}

/// Byte ranges of the non-empty passwords in every `scheme://user:password@host` of `text`.
pub(crate) fn userinfo_passwords(text: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find("://")) {
        let separator = from + found;
        from = separator + 3;
        let before = text.get(..separator).unwrap_or_default();
        let scheme_start = before.rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))).map_or(0, |i| i + 1);
        let scheme = before.get(scheme_start..).unwrap_or_default();
        if !scheme.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let rest = text.get(from..).unwrap_or_default();
        // The authority ends where the path, query or fragment starts, or where the URL
        // visibly ends in prose or markup.
        let authority_len =
            rest.find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`')).unwrap_or(rest.len());
        let authority = rest.get(..authority_len).unwrap_or_default();
        // The last `@` ends the user info, so an unencoded `@` in a password stays hidden.
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let userinfo = authority.get(..at).unwrap_or_default();
        let Some(colon) = userinfo.find(':') else {
            continue;
        };
        if colon + 1 < at {
            spans.push(from + colon + 1..from + at);
        }
    }
    spans
}

/// Every occurrence of `needle`, overlapping ones included, so that masking the union hides
/// all of them.
fn occurrences(text: &str, needle: &str) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    if needle.is_empty() {
        return spans;
    }
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find(needle)) {
        let start = from + found;
        spans.push(start..start + needle.len());
        let step = text.get(start..).and_then(|rest| rest.chars().next()).map_or(1, char::len_utf8);
        from = start + step;
    }
    spans
}

/// Replaces the union of `spans` with masks; overlapping or touching spans become one mask,
/// so that no fragment of a secret survives between two of them.
fn mask(text: &str, mut spans: Vec<Range<usize>>) -> String {
    if spans.is_empty() {
        return text.to_owned();
    }
    spans.sort_by_key(|span| span.start);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut current: Option<Range<usize>> = None;
    for span in spans {
        match &mut current {
            Some(open) if span.start <= open.end => open.end = open.end.max(span.end),
            _ => {
                if let Some(done) = current.take() {
                    out.push_str(text.get(copied..done.start).unwrap_or_default());
                    out.push_str(MASK);
                    copied = done.end;
                }
                current = Some(span);
            }
        }
    }
    if let Some(done) = current {
        out.push_str(text.get(copied..done.start).unwrap_or_default());
        out.push_str(MASK);
        copied = done.end;
    }
    out.push_str(text.get(copied..).unwrap_or_default());
    out
}

/// RFC 3986 percent-encoding of everything but unreserved characters (for the userinfo part of
/// a URI, and for matching the encoded form of a secret).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    fn check(secrets: &[&str], input: &str, expected: &str) {
        let mut redactor = Redactor::new();
        for secret in secrets {
            redactor.add(secret);
        }
        assert_eq!(redactor.redact(input), expected, "input {input:?}");
    }

    #[test]
    fn redacts_registered_values() {
        check(&["hunter22"], "password is hunter22.", "password is ******.");
        check(&["hunter22"], "hunter22hunter22", "******");
        check(&["hunter22"], "nothing to see", "nothing to see");
        check(&[], "plain text", "plain text");
        check(&["abc"], "abc is too short to redact", "abc is too short to redact");
        check(&["pässwörd"], "x pässwörd y", "x ****** y");
    }

    #[test]
    fn overlapping_secrets_leave_no_fragment() {
        check(&["abcdef", "cdefgh"], "xx abcdefgh yy", "xx ****** yy");
        check(&["aaaa"], "aaaaaa", "******");
        check(&["token-1234", "1234"], "token-1234", "******");
    }

    #[test]
    fn redacts_url_encoded_form() {
        check(&["p@ss word/1"], "url p%40ss%20word%2F1 raw p@ss word/1", "url ****** raw ******");
    }

    #[test]
    fn masks_userinfo_passwords() {
        check(&[], "connect to postgres://app:s3cret@db:5432/app?x=1 now", "connect to postgres://app:******@db:5432/app?x=1 now");
        check(&[], "redis://:pw@cache", "redis://:******@cache");
        check(&[], "http://user@host/a:b@c", "http://user@host/a:b@c");
        check(&[], "amqp://u:p@ss@broker", "amqp://u:******@broker");
        check(&[], "://u:p@h and 1x://u:p@h", "://u:p@h and 1x://u:p@h");
        assert!(Redactor::new().is_empty());
    }

    #[test]
    fn redact_uri_masks_only_passwords() {
        assert_eq!(redact_uri("postgres://app:pw@db/app"), "postgres://app:******@db/app");
        assert_eq!(redact_uri("postgres://app@db/app"), "postgres://app@db/app");
        assert_eq!(redact_uri("postgres://app:@db/app"), "postgres://app:@db/app");
        assert_eq!(redact_uri("https://example.com/x"), "https://example.com/x");
    }

    proptest! {
        #[test]
        fn registered_secret_never_survives(
            prefix in any::<String>(),
            // Without `*`, a secret cannot reappear by touching a mask.
            secret in "[^*\\p{C}]{4,12}",
            suffix in any::<String>(),
        ) {
            let mut redactor = Redactor::new();
            redactor.add(&secret);
            let text = format!("{prefix}{secret}{suffix}");
            let redacted = redactor.redact(&text);
            prop_assert!(!redacted.contains(&secret));
        }

        #[test]
        fn redaction_never_panics(text in any::<String>(), secret in any::<String>()) {
            let mut redactor = Redactor::new();
            redactor.add(&secret);
            let _ = redactor.redact(&text);
            let _ = redact_uri(&text);
        }
    }
}
