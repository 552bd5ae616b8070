//! Registry credentials: explicit Basic credentials or the Docker config, scoped to one host.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::{PushControl, PushError, RegistryAuth};

/// Credentials found in a Docker config for one registry host. `Debug` never shows secrets.
#[derive(Clone, PartialEq, Eq)]
pub enum DockerCredential {
    /// User name and password (`auths[host].auth`, or a credential helper's answer).
    Basic {
        /// User name.
        username: String,
        /// Password or token.
        password: String,
    },
    /// A registry bearer token (`auths[host].registrytoken`).
    Bearer {
        /// The token.
        token: String,
    },
}

impl fmt::Debug for DockerCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DockerCredential::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &format_args!("<redacted>"))
                .finish(),
            DockerCredential::Bearer { .. } => f
                .debug_struct("Bearer")
                .field("token", &format_args!("<redacted>"))
                .finish(),
        }
    }
}

/// `$DOCKER_CONFIG/config.json` when `DOCKER_CONFIG` is set, else `$HOME/.docker/config.json`.
pub fn default_docker_config_path() -> Option<PathBuf> {
    if let Some(dir) = crate::config::from_process("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    crate::config::from_process("HOME")
        .map(|home| PathBuf::from(home).join(".docker").join("config.json"))
}

/// Looks up the credentials a Docker config file holds for exactly `registry_host`
/// (`host[:port]`, no scheme or path). Order, as Docker does it: `credHelpers[host]`, then
/// `credsStore`, then `auths[host]` (`auth` = base64 `user:password`, or `registrytoken`).
/// Credential helpers are run as `docker-credential-<name> get` with the host on stdin.
///
/// A missing file, or no entry for that host, is `Ok(None)`. Entries for other hosts are never
/// returned; errors never contain secrets.
pub fn docker_config_credentials(
    config_path: &Path,
    registry_host: &str,
) -> Result<Option<DockerCredential>, PushError> {
    lookup(config_path, registry_host, &|name| {
        PathBuf::from(format!("docker-credential-{name}"))
    })
}

/// [`docker_config_credentials`] with an injectable credential-helper program resolver.
pub(crate) fn lookup(
    config_path: &Path,
    registry_host: &str,
    helper_program: &dyn Fn(&str) -> PathBuf,
) -> Result<Option<DockerCredential>, PushError> {
    let text = match std::fs::read_to_string(config_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(PushError::Credentials(format!(
                "cannot read {}: {e}",
                config_path.display()
            )))
        }
    };
    let config: Value = serde_json::from_str(&text).map_err(|e| {
        PushError::Credentials(format!(
            "{} is not valid JSON (line {}, column {})",
            config_path.display(),
            e.line(),
            e.column()
        ))
    })?;
    let host = normalize_host(registry_host);
    if host.is_empty() {
        return Ok(None);
    }
    let server_url = helper_server_url(&host);

    // 1. A helper for this very registry.
    if let Some(helpers) = config.get("credHelpers").and_then(Value::as_object) {
        for (key, helper) in helpers {
            if normalize_host(key) == host {
                if let Some(name) = helper.as_str().filter(|n| !n.is_empty()) {
                    return run_helper(config_path, name, &server_url, helper_program);
                }
            }
        }
    }
    // 2. The default credential store.
    if let Some(store) = config
        .get("credsStore")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    {
        if let Some(found) = run_helper(config_path, store, &server_url, helper_program)? {
            return Ok(Some(found));
        }
    }
    // 3. Inline auths.
    if let Some(auths) = config.get("auths").and_then(Value::as_object) {
        for (key, entry) in auths {
            if normalize_host(key) != host {
                continue;
            }
            if let Some(token) = entry
                .get("registrytoken")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                return Ok(Some(DockerCredential::Bearer {
                    token: token.to_string(),
                }));
            }
            if let Some(auth) = entry
                .get("auth")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
            {
                let decoded = base64_decode(auth)
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        PushError::Credentials(format!(
                            "the `auth` entry for {host} in {} is not base64 of user:password",
                            config_path.display()
                        ))
                    })?;
                let (user, password) = decoded.split_once(':').ok_or_else(|| {
                    PushError::Credentials(format!(
                        "the `auth` entry for {host} in {} is not base64 of user:password",
                        config_path.display()
                    ))
                })?;
                return Ok(Some(DockerCredential::Basic {
                    username: user.to_string(),
                    password: password.trim_end_matches(['\n', '\r']).to_string(),
                }));
            }
            if let (Some(user), Some(password)) = (
                entry.get("username").and_then(Value::as_str),
                entry.get("password").and_then(Value::as_str),
            ) {
                return Ok(Some(DockerCredential::Basic {
                    username: user.to_string(),
                    password: password.to_string(),
                }));
            }
        }
    }
    Ok(None)
}

/// Docker's `ConvertToHostname`: drop `http(s)://` and any path; lower case.
/// Docker Hub's aliases all map to `index.docker.io`.
fn normalize_host(key: &str) -> String {
    let key = key.trim();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or("").to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "registry-1.docker.io" | "index.docker.io" => "index.docker.io".to_string(),
        _ => host,
    }
}

fn helper_server_url(host: &str) -> String {
    if host == "index.docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        host.to_string()
    }
}

fn run_helper(
    config_path: &Path,
    name: &str,
    server_url: &str,
    helper_program: &dyn Fn(&str) -> PathBuf,
) -> Result<Option<DockerCredential>, PushError> {
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(PushError::Credentials(format!(
            "credential helper name {name:?} in {} is not valid",
            config_path.display()
        )));
    }
    let program = helper_program(name);
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            PushError::Credentials(format!(
                "cannot run credential helper docker-credential-{name} (configured in {}): {e}",
                config_path.display()
            ))
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading gives EPIPE here; its exit status tells the rest.
        let _ = stdin.write_all(server_url.as_bytes());
    }
    let output = child.wait_with_output().map_err(|e| {
        PushError::Credentials(format!("credential helper docker-credential-{name}: {e}"))
    })?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stdout).to_ascii_lowercase()
            + &String::from_utf8_lossy(&output.stderr).to_ascii_lowercase();
        if text.contains("credentials not found") || text.contains("not found") {
            return Ok(None);
        }
        return Err(PushError::Credentials(format!(
            "credential helper docker-credential-{name} failed for {server_url} ({})",
            output.status
        )));
    }
    let answer: Value = serde_json::from_slice(&output.stdout).map_err(|_| {
        PushError::Credentials(format!(
            "credential helper docker-credential-{name} did not answer JSON for {server_url}"
        ))
    })?;
    let user = answer.get("Username").and_then(Value::as_str).unwrap_or("");
    let secret = answer.get("Secret").and_then(Value::as_str).unwrap_or("");
    if secret.is_empty() {
        return Ok(None);
    }
    if user == "<token>" {
        // An identity (refresh) token: only usable through an OAuth2 token exchange, which the
        // registry client does not do. Present it as the password of a token user.
        return Ok(Some(DockerCredential::Basic {
            username: "<token>".to_string(),
            password: secret.to_string(),
        }));
    }
    Ok(Some(DockerCredential::Basic {
        username: user.to_string(),
        password: secret.to_string(),
    }))
}

/// Standard base64 (padding optional, whitespace ignored).
pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    }
    let clean: Vec<u8> = input.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let trimmed = match clean.iter().position(|&c| c == b'=') {
        Some(p) => {
            if clean[p..].iter().any(|&c| c != b'=') || clean.len() - p > 2 {
                return None;
            }
            &clean[..p]
        }
        None => &clean[..],
    };
    if trimmed.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    for chunk in trimmed.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// Standard base64 with padding.
pub(crate) fn base64_encode(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let mut buf = [0u8; 3];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = (u32::from(buf[0]) << 16) | (u32::from(buf[1]) << 8) | u32::from(buf[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Credentials resolved for one registry host, plus the secret strings that must be scrubbed
/// from any message.
pub(crate) struct ResolvedAuth {
    pub auth: oci_client::secrets::RegistryAuth,
    pub secrets: Vec<String>,
    pub has_credentials: bool,
}

/// Resolves `auth` for `host` (`host[:port]`).
pub(crate) fn resolve(
    auth: &RegistryAuth,
    host: &str,
    ctl: &PushControl,
) -> Result<ResolvedAuth, PushError> {
    use oci_client::secrets::RegistryAuth as Oci;
    let basic = |user: &str, password: &str| ResolvedAuth {
        auth: Oci::Basic(user.to_string(), password.to_string()),
        secrets: secret_forms(user, password),
        has_credentials: true,
    };
    match auth {
        RegistryAuth::Anonymous => Ok(ResolvedAuth {
            auth: Oci::Anonymous,
            secrets: Vec::new(),
            has_credentials: false,
        }),
        RegistryAuth::Basic { user, password } => Ok(basic(user, password)),
        RegistryAuth::DockerConfig => {
            let path = match ctl
                .docker_config
                .clone()
                .or_else(default_docker_config_path)
            {
                Some(p) => p,
                None => {
                    return resolve(&RegistryAuth::Anonymous, host, ctl);
                }
            };
            match docker_config_credentials(&path, host)? {
                None => resolve(&RegistryAuth::Anonymous, host, ctl),
                Some(DockerCredential::Basic { username, password }) => {
                    Ok(basic(&username, &password))
                }
                Some(DockerCredential::Bearer { token }) => Ok(ResolvedAuth {
                    auth: Oci::Bearer(token.clone()),
                    secrets: vec![token],
                    has_credentials: true,
                }),
            }
        }
    }
}

fn secret_forms(user: &str, password: &str) -> Vec<String> {
    if password.is_empty() {
        return Vec::new();
    }
    vec![
        password.to_string(),
        base64_encode(format!("{user}:{password}").as_bytes()),
    ]
}

/// Replaces every secret in `text` with `<redacted>`.
pub(crate) fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        out = out.replace(s.as_str(), "<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_config(dir: &Path, json: &str) -> PathBuf {
        let p = dir.join("config.json");
        std::fs::write(&p, json).unwrap();
        p
    }

    #[test]
    fn base64_roundtrip() {
        for s in ["", "a", "ab", "abc", "user:pass", "üñí:cødé!"] {
            let e = base64_encode(s.as_bytes());
            assert_eq!(base64_decode(&e).unwrap(), s.as_bytes(), "{s}");
            assert_eq!(
                base64_decode(e.trim_end_matches('=')).unwrap(),
                s.as_bytes()
            );
        }
        assert_eq!(base64_encode(b"user:pass"), "dXNlcjpwYXNz");
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("ab=c").is_none());
        assert!(base64_decode("@@@@").is_none());
    }

    #[test]
    fn auths_lookup_is_scoped_to_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_config(
            dir.path(),
            &format!(
                r#"{{"auths":{{
                    "reg.example:5000":{{"auth":"{}"}},
                    "https://other.example/v1/":{{"auth":"{}"}},
                    "https://index.docker.io/v1/":{{"auth":"{}"}},
                    "tok.example":{{"registrytoken":"tkn"}}
                }}}}"#,
                base64_encode(b"alice:s3cret"),
                base64_encode(b"bob:hunter2"),
                base64_encode(b"hub:hubpass"),
            ),
        );
        let c = docker_config_credentials(&p, "reg.example:5000")
            .unwrap()
            .unwrap();
        assert_eq!(
            c,
            DockerCredential::Basic {
                username: "alice".into(),
                password: "s3cret".into()
            }
        );
        // Scheme and path of the key are ignored, the port is not.
        assert!(matches!(
            docker_config_credentials(&p, "other.example").unwrap(),
            Some(DockerCredential::Basic { username, .. }) if username == "bob"
        ));
        assert_eq!(docker_config_credentials(&p, "reg.example").unwrap(), None);
        assert_eq!(
            docker_config_credentials(&p, "reg.example:5001").unwrap(),
            None
        );
        assert_eq!(docker_config_credentials(&p, "evil.example").unwrap(), None);
        assert!(matches!(
            docker_config_credentials(&p, "docker.io").unwrap(),
            Some(DockerCredential::Basic { username, .. }) if username == "hub"
        ));
        assert_eq!(
            docker_config_credentials(&p, "tok.example").unwrap(),
            Some(DockerCredential::Bearer {
                token: "tkn".into()
            })
        );
        // Missing file: nothing, no error.
        assert_eq!(
            docker_config_credentials(&dir.path().join("nope.json"), "reg.example:5000").unwrap(),
            None
        );
    }

    #[test]
    fn malformed_config_errors_do_not_leak() {
        let dir = tempfile::tempdir().unwrap();
        let p = write_config(dir.path(), r#"{"auths":{"h":{"auth":"%%%%"}}}"#);
        let e = docker_config_credentials(&p, "h").unwrap_err().to_string();
        assert!(e.contains("not base64"), "{e}");
        let p = write_config(dir.path(), r#"{"auths": {"h": "hunter2-oops"#);
        let e = docker_config_credentials(&p, "h").unwrap_err().to_string();
        assert!(
            e.contains("not valid JSON") && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[cfg(unix)]
    fn fake_helper(dir: &Path, name: &str, script: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(format!("docker-credential-{name}"));
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn credential_helpers() {
        let dir = tempfile::tempdir().unwrap();
        // Answers only for reg.example:5000, records what it was asked.
        let script = format!(
            "#!/bin/sh\nread host\necho \"$host\" >> {log}\nif [ \"$host\" = reg.example:5000 ]; then\n  echo '{{\"ServerURL\":\"reg.example:5000\",\"Username\":\"helper-user\",\"Secret\":\"helper-pass\"}}'\nelse\n  echo 'credentials not found in native keychain'; exit 1\nfi\n",
            log = dir.path().join("asked.log").display()
        );
        fake_helper(dir.path(), "fake", &script);
        fake_helper(dir.path(), "broken", "#!/bin/sh\necho boom >&2\nexit 3\n");
        let resolver = |name: &str| dir.path().join(format!("docker-credential-{name}"));

        let p = write_config(
            dir.path(),
            &format!(
                r#"{{"credHelpers":{{"reg.example:5000":"fake","broken.example":"broken"}},
                    "auths":{{"reg.example:5000":{{"auth":"{}"}}}}}}"#,
                base64_encode(b"inline:inline")
            ),
        );
        let c = lookup(&p, "reg.example:5000", &resolver).unwrap().unwrap();
        assert_eq!(
            c,
            DockerCredential::Basic {
                username: "helper-user".into(),
                password: "helper-pass".into()
            }
        );
        assert!(!format!("{c:?}").contains("helper-pass"));
        // A host without a helper entry is not sent to the helper.
        assert_eq!(lookup(&p, "elsewhere.example", &resolver).unwrap(), None);
        let asked = std::fs::read_to_string(dir.path().join("asked.log")).unwrap();
        assert_eq!(asked.trim(), "reg.example:5000");
        let e = lookup(&p, "broken.example", &resolver)
            .unwrap_err()
            .to_string();
        assert!(e.contains("docker-credential-broken failed"), "{e}");
        let e = lookup(&p, "reg.example:5000", &|_: &str| {
            dir.path().join("missing")
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("cannot run credential helper"), "{e}");

        // credsStore: used for every host; "not found" falls back to the inline auths.
        let p = write_config(
            dir.path(),
            &format!(
                r#"{{"credsStore":"fake","auths":{{"inline.example":{{"auth":"{}"}}}}}}"#,
                base64_encode(b"inline:pw")
            ),
        );
        assert!(matches!(
            lookup(&p, "reg.example:5000", &resolver).unwrap(),
            Some(DockerCredential::Basic { username, .. }) if username == "helper-user"
        ));
        assert!(matches!(
            lookup(&p, "inline.example", &resolver).unwrap(),
            Some(DockerCredential::Basic { username, .. }) if username == "inline"
        ));
    }

    #[test]
    fn redaction() {
        let auth = RegistryAuth::Basic {
            user: "alice".into(),
            password: "s3cret-pw".into(),
        };
        let shown = format!("{auth:?}");
        assert!(
            shown.contains("alice") && !shown.contains("s3cret-pw"),
            "{shown}"
        );
        let target = super::super::RegistryTarget {
            registry: "reg.example".into(),
            auth,
            insecure_hosts: vec![],
        };
        assert!(!format!("{target:?}").contains("s3cret-pw"));
        let t = DockerCredential::Bearer {
            token: "tok-123".into(),
        };
        assert!(!format!("{t:?}").contains("tok-123"));
        let secrets = secret_forms("alice", "s3cret-pw");
        let msg = scrub("body: s3cret-pw / Basic YWxpY2U6czNjcmV0LXB3", &secrets);
        assert!(
            !msg.contains("s3cret-pw") && !msg.contains("YWxpY2U6czNjcmV0LXB3"),
            "{msg}"
        );
    }
}
