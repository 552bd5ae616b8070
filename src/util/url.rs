//! URLs in messages.

/// `s` with any `user:password@` part replaced by `<redacted>@`: never echo
/// credentials given inside a URL.
pub fn redact_userinfo(s: &str) -> String {
    match (s.find("://"), s.find('@')) {
        (Some(i), Some(at)) if at > i => format!("{}://<redacted>@{}", &s[..i], &s[at + 1..]),
        (None, Some(at)) => format!("<redacted>@{}", &s[at + 1..]),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn credentials_are_hidden() {
        use super::redact_userinfo as r;
        assert_eq!(r("nats://u:p@h:4222"), "nats://<redacted>@h:4222");
        assert_eq!(r("u:p@h"), "<redacted>@h");
        assert_eq!(r("nats://h:4222"), "nats://h:4222");
    }
}
