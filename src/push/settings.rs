//! `REGISTRY_URL` parsing and the plain-HTTP rule.

use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use super::{Destination, PushError, RegistryAuth, RegistryTarget};

/// A registry string split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedRegistry {
    /// `host[:port]` as given (IPv6 hosts in brackets), host lower-cased.
    pub host_port: String,
    /// Host without port and brackets.
    pub host: String,
    /// Repository path prefix (`team` in `host:5000/team`), if any.
    pub prefix: Option<String>,
    /// `Some(true)` for `http://`, `Some(false)` for `https://`, `None` without a scheme.
    pub plain_http: Option<bool>,
}

/// Parses `host[:port][/prefix]`, with an optional `http://` or `https://` scheme.
pub(crate) fn parse_registry(input: &str) -> Result<ParsedRegistry, PushError> {
    let bad = |why: &str| {
        PushError::InvalidSettings(format!(
            "registry {:?}: {why} (expected host[:port][/path], e.g. localhost:5000, \
             http://127.0.0.1:5000 or https://reg.example/team)",
            crate::util::url::redact_userinfo(input)
        ))
    };
    let s = input.trim();
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    let (plain_http, rest) = if let Some(r) = strip_prefix_ci(s, "http://") {
        (Some(true), r)
    } else if let Some(r) = strip_prefix_ci(s, "https://") {
        (Some(false), r)
    } else if s.contains("://") {
        return Err(bad("only http:// and https:// are supported"));
    } else {
        (None, s)
    };
    if rest.contains(['?', '#']) {
        return Err(bad("a query or fragment is not allowed"));
    }
    let rest = rest.trim_end_matches('/');
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return Err(bad(
            "credentials in the URL are not accepted; use REGISTRY_USER and REGISTRY_PASSWORD",
        ));
    }
    if authority.is_empty() {
        return Err(bad("the host is missing"));
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| bad("the host is malformed"))?;
    if let Some(port) = port {
        if port.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(bad("the port is not a number between 1 and 65535"));
        }
    }
    let host_ok = if host.starts_with('[') {
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<Ipv6Addr>()
            .is_ok()
    } else {
        host.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            && !host.is_empty()
    };
    if !host_ok {
        return Err(bad("the host is malformed"));
    }
    let path = if path == "v2" {
        ""
    } else {
        path.strip_prefix("v2/").unwrap_or(path)
    };
    let prefix = if path.is_empty() {
        None
    } else {
        super::artifact::validate_repository(path)
            .map_err(|_| bad("the path must be a lower-case repository prefix such as team"))?;
        Some(path.to_string())
    };
    let host_lc = host.to_ascii_lowercase();
    let host_port = match port {
        Some(p) => format!("{host_lc}:{p}"),
        None => host_lc.clone(),
    };
    Ok(ParsedRegistry {
        host_port,
        host: host_lc
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        prefix,
        plain_http,
    })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix) {
        Some(&s[prefix.len()..])
    } else {
        None
    }
}

/// Splits `host:port`, `[v6]:port`, `host`, `[v6]`.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let host = &authority[..=end];
        let rest = &authority[end + 1..];
        if rest.is_empty() {
            Some((host, None))
        } else {
            Some((host, Some(rest.strip_prefix(':')?)))
        }
    } else {
        match authority.split_once(':') {
            Some((h, p)) if !p.contains(':') => Some((h, Some(p))),
            Some(_) => None,
            None => Some((authority, None)),
        }
    }
}

/// Whether `host_port` (`host[:port]`) may be reached over plain HTTP: loopback hosts
/// (`127.0.0.0/8`, `localhost`, `[::1]`) always, any other host only when `insecure_hosts` lists
/// it, either as `host` (any port) or as `host:port`. Everything else uses HTTPS.
pub fn plain_http_allowed(host_port: &str, insecure_hosts: &[String]) -> bool {
    let Ok(parsed) = parse_registry(host_port) else {
        return false;
    };
    if is_loopback(&parsed.host) {
        return true;
    }
    insecure_hosts
        .iter()
        .any(|entry| match parse_registry(entry) {
            Ok(e) => {
                e.host_port == parsed.host_port
                    || (e.host_port == e.host_bracketed() && e.host == parsed.host)
            }
            Err(_) => false,
        })
}

impl ParsedRegistry {
    /// The host as it appears in `host_port` (IPv6 in brackets).
    fn host_bracketed(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

/// Builds a [`RegistryTarget`] from the `REGISTRY_URL`, `REGISTRY_USER` and `REGISTRY_PASSWORD`
/// settings.
///
/// `url` is `host[:port][/prefix]` with an optional scheme: `localhost:5000`,
/// `http://127.0.0.1:5000`, `https://reg.example/team`. An explicit `http://` marks the host as
/// insecure (plain HTTP); without a scheme or with `https://`, plain HTTP is used only for
/// loopback hosts. A user and a password give [`RegistryAuth::Basic`]; neither gives
/// [`RegistryAuth::DockerConfig`]; only one of them is an error.
pub fn registry_from_settings(
    url: &str,
    user: Option<&str>,
    password: Option<&str>,
) -> Result<RegistryTarget, PushError> {
    let parsed = parse_registry(url)?;
    let registry = match &parsed.prefix {
        Some(prefix) => format!("{}/{prefix}", parsed.host_port),
        None => parsed.host_port.clone(),
    };
    let user = user.filter(|u| !u.is_empty());
    let password = password.filter(|p| !p.is_empty());
    let auth = match (user, password) {
        (Some(user), Some(password)) => RegistryAuth::Basic {
            user: user.to_string(),
            password: password.to_string(),
        },
        (None, None) => RegistryAuth::DockerConfig,
        (Some(_), None) => {
            return Err(PushError::InvalidSettings(
                "REGISTRY_USER is set but REGISTRY_PASSWORD is not".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(PushError::InvalidSettings(
                "REGISTRY_PASSWORD is set but REGISTRY_USER is not".into(),
            ))
        }
    };
    let insecure_hosts = if parsed.plain_http == Some(true) {
        vec![parsed.host_port.clone()]
    } else {
        Vec::new()
    };
    Ok(RegistryTarget {
        registry,
        auth,
        insecure_hosts,
    })
}

/// The destination for the settings: the registry when `registry_url` is set (and not empty),
/// else the local OCI layout at `layout_dir`.
pub fn destination_from_settings(
    registry_url: Option<&str>,
    user: Option<&str>,
    password: Option<&str>,
    layout_dir: &Path,
) -> Result<Destination, PushError> {
    match registry_url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => Ok(Destination::Registry(registry_from_settings(
            url, user, password,
        )?)),
        None => Ok(Destination::Layout(layout_dir.to_path_buf())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_urls() {
        let t = registry_from_settings("localhost:5000", None, None).unwrap();
        assert_eq!(t.registry, "localhost:5000");
        assert_eq!(t.auth, RegistryAuth::DockerConfig);
        assert!(t.insecure_hosts.is_empty());

        let t = registry_from_settings("http://127.0.0.1:5000", Some("u"), Some("p")).unwrap();
        assert_eq!(t.registry, "127.0.0.1:5000");
        assert_eq!(t.insecure_hosts, vec!["127.0.0.1:5000".to_string()]);
        assert_eq!(
            t.auth,
            RegistryAuth::Basic {
                user: "u".into(),
                password: "p".into()
            }
        );

        let t = registry_from_settings("https://Reg.Example/team/", None, None).unwrap();
        assert_eq!(t.registry, "reg.example/team");
        assert!(t.insecure_hosts.is_empty());

        let t = registry_from_settings("http://build-box:5000/a/b", None, None).unwrap();
        assert_eq!(t.registry, "build-box:5000/a/b");
        assert_eq!(t.insecure_hosts, vec!["build-box:5000".to_string()]);

        let t = registry_from_settings("[::1]:5000", None, None).unwrap();
        assert_eq!(t.registry, "[::1]:5000");
        let t = registry_from_settings("https://reg.example/v2/", None, None).unwrap();
        assert_eq!(t.registry, "reg.example");

        let p = parse_registry("HTTP://LocalHost:5000/team").unwrap();
        assert_eq!(p.host, "localhost");
        assert_eq!(p.prefix.as_deref(), Some("team"));
        assert_eq!(p.plain_http, Some(true));
    }

    #[test]
    fn rejects_bad_registry_urls() {
        for bad in [
            "",
            "   ",
            "ftp://reg.example",
            "reg.example:notaport",
            "reg.example:0",
            "reg.example:70000",
            "reg example",
            "https://reg.example/Team",
            "https://reg.example/?x=1",
            "a:b:c",
            "[::1",
        ] {
            assert!(registry_from_settings(bad, None, None).is_err(), "{bad:?}");
        }
        let e = registry_from_settings("https://bob:hunter2@reg.example", None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("REGISTRY_USER") && !e.contains("hunter2"), "{e}");
        assert!(registry_from_settings("reg.example", Some("u"), None).is_err());
        assert!(registry_from_settings("reg.example", None, Some("p")).is_err());
        assert_eq!(
            registry_from_settings("reg.example", Some(""), Some(""))
                .unwrap()
                .auth,
            RegistryAuth::DockerConfig
        );
    }

    #[test]
    fn plain_http_only_for_loopback_and_listed_hosts() {
        let none: Vec<String> = vec![];
        for local in [
            "localhost:5000",
            "LOCALHOST",
            "127.0.0.1:5000",
            "127.1.2.3:80",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(plain_http_allowed(local, &none), "{local}");
        }
        for remote in [
            "reg.example",
            "reg.example:5000",
            "192.0.2.2:5000",
            "10.0.0.1",
            "128.0.0.1:5000",
            "localhost.evil.example",
            "[::2]:5000",
        ] {
            assert!(!plain_http_allowed(remote, &none), "{remote}");
        }
        let listed = vec![
            "reg.example:5000".to_string(),
            "http://build-box".to_string(),
        ];
        assert!(plain_http_allowed("reg.example:5000", &listed));
        assert!(!plain_http_allowed("reg.example:5001", &listed));
        assert!(!plain_http_allowed("reg.example", &listed));
        assert!(plain_http_allowed("build-box:5000", &listed));
        assert!(plain_http_allowed("BUILD-BOX", &listed));
        assert!(!plain_http_allowed("other-box", &listed));
    }

    #[test]
    fn destination_defaults_to_layout() {
        let dir = Path::new("/tmp/layout");
        assert_eq!(
            destination_from_settings(None, None, None, dir).unwrap(),
            Destination::Layout(dir.to_path_buf())
        );
        assert_eq!(
            destination_from_settings(Some(" "), None, None, dir).unwrap(),
            Destination::Layout(dir.to_path_buf())
        );
        assert!(matches!(
            destination_from_settings(Some("localhost:5000"), None, None, dir).unwrap(),
            Destination::Registry(_)
        ));
    }
}
