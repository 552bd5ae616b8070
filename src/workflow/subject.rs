//! NATS subjects: what a task may subscribe to and publish on, and matching.

/// Role of a NATS subject: what the task does with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectRole {
    /// Subscription (`source_topic`): `*` as a whole token and `>` as the whole
    /// last token are allowed.
    Subscribe,
    /// Publication (`dest_topic`): no wildcards at all.
    Publish,
}

/// Checks a NATS subject for its role; the error describes the problem.
pub fn validate_subject(subject: &str, role: SubjectRole) -> Result<(), String> {
    if subject.is_empty() {
        return Err("the subject is empty".into());
    }
    if let Some(c) = subject
        .chars()
        .find(|c| c.is_whitespace() || c.is_control())
    {
        let what = if c.is_whitespace() {
            "whitespace"
        } else {
            "a control character"
        };
        return Err(format!(
            "{subject:?} contains {what} ({c:?}); NATS subjects cannot contain spaces, tabs or control characters"
        ));
    }
    if subject.starts_with('.') || subject.ends_with('.') || subject.contains("..") {
        return Err(format!(
            "{subject:?} has an empty token (a leading dot, a trailing dot or two dots in a row)"
        ));
    }
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, tok) in tokens.iter().enumerate() {
        let has_wild = tok.contains('*') || tok.contains('>');
        if !has_wild {
            continue;
        }
        match role {
            SubjectRole::Publish => {
                return Err(format!(
                    "{subject:?} contains a wildcard (`*` or `>`); a task can only publish to a concrete subject"
                ));
            }
            SubjectRole::Subscribe => {
                if *tok == "*" {
                    continue;
                }
                if *tok == ">" {
                    if i + 1 != tokens.len() {
                        return Err(format!(
                            "{subject:?} uses `>` before the last token; `>` may only be the whole last token"
                        ));
                    }
                    continue;
                }
                return Err(format!(
                    "{subject:?} has the token {tok:?}; wildcards must be whole tokens (`*` or a final `>`)"
                ));
            }
        }
    }
    Ok(())
}

/// Whether `subject` (concrete) would be delivered to a subscription on `pattern`.
pub fn subject_matches(pattern: &str, subject: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let s: Vec<&str> = subject.split('.').collect();
    for (i, pt) in p.iter().enumerate() {
        if *pt == ">" {
            return s.len() > i;
        }
        match s.get(i) {
            Some(st) if *pt == "*" || pt == st => {}
            _ => return false,
        }
    }
    p.len() == s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_for_subscription() {
        use SubjectRole::Subscribe as S;
        for ok in [
            "orders",
            "orders.new",
            "orders.*",
            "*.new",
            "orders.>",
            ">",
            "a.*.c.>",
            "$SYS.x",
            "a-b_c.d",
        ] {
            assert!(validate_subject(ok, S).is_ok(), "{ok}");
        }
        for bad in [
            "",
            " ",
            "orders new",
            "orders.\tnew",
            ".orders",
            "orders.",
            "orders..new",
            "orders*",
            "or*ders.x",
            "orders.>.new",
            "orders.>x",
            "a\u{7}b",
        ] {
            assert!(validate_subject(bad, S).is_err(), "{bad:?}");
        }
        assert!(validate_subject("orders.>.x", S)
            .unwrap_err()
            .contains("last token"));
        assert!(validate_subject("a..b", S)
            .unwrap_err()
            .contains("empty token"));
        assert!(validate_subject("a b", S)
            .unwrap_err()
            .contains("whitespace"));
    }

    #[test]
    fn subjects_for_publication() {
        use SubjectRole::Publish as P;
        assert!(validate_subject("orders.converted", P).is_ok());
        for bad in ["orders.*", "orders.>", ">", "*", "orders*", "a..b", ""] {
            assert!(validate_subject(bad, P).is_err(), "{bad:?}");
        }
        assert!(validate_subject("orders.*", P)
            .unwrap_err()
            .contains("wildcard"));
    }

    #[test]
    fn subject_matching() {
        assert!(subject_matches("a.b", "a.b"));
        assert!(subject_matches("a.*", "a.b"));
        assert!(!subject_matches("a.*", "a.b.c"));
        assert!(subject_matches("a.>", "a.b.c"));
        assert!(!subject_matches("a.>", "a"));
        assert!(subject_matches(">", "x"));
        assert!(!subject_matches("a.b", "a.c"));
    }
}
