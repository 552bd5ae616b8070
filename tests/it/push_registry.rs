//! Push tests against a real registry (Debian `docker-registry`, distribution 2.8) and local OCI
//! layouts. The registry must be installed: `apt-get install docker-registry apache2-utils`.

use crate::support::registry;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pelato::push::{
    artifact_config, copy_layout_to_registry_with, push, push_with, registry_from_settings,
    validate_layout, ComponentArtifact, Destination, PushControl, PushError, PushEvent,
    PushOptions, RegistryAuth, RegistryTarget, RetryPolicy,
};
use registry::{component, free_port, sha256_digest, Registry, OCI_MANIFEST};
use serde_json::Value;

const HANDLER: &str = "wasmcloud:messaging/handler@0.2.0";
const CONSUMER: &str = "wasmcloud:messaging/consumer@0.2.0";

fn fast() -> PushControl {
    PushControl {
        retry: RetryPolicy {
            attempts: 3,
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
        },
        connect_timeout: Duration::from_secs(2),
        read_timeout: Duration::from_secs(30),
        ..PushControl::default()
    }
}

fn artifact(name: &str, version: &str, wasm: Vec<u8>) -> ComponentArtifact {
    ComponentArtifact {
        wasm,
        name: name.to_string(),
        version: version.to_string(),
        annotations: BTreeMap::from([
            ("task".to_string(), "temp-convert".to_string()),
            ("template".to_string(), "messaging-handler".to_string()),
            ("dev.pelato.toolchain".to_string(), "go1.24".to_string()),
        ]),
        source: Some("https://example.com/pelato/temp-convert".to_string()),
    }
}

fn anon(addr: &str) -> Destination {
    Destination::Registry(RegistryTarget {
        registry: addr.to_string(),
        auth: RegistryAuth::Anonymous,
        insecure_hosts: vec![],
    })
}

fn basic(addr: &str, user: &str, password: &str) -> Destination {
    Destination::Registry(RegistryTarget {
        registry: addr.to_string(),
        auth: RegistryAuth::Basic {
            user: user.to_string(),
            password: password.to_string(),
        },
        insecure_hosts: vec![],
    })
}

fn force() -> PushOptions {
    PushOptions { force: true }
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn push_then_pull_back_matches_the_wasm_artifact_layout() {
    let reg = Registry::start();
    let wasm = component(1, 0);
    let art = artifact("temp-convert", "1.0.0", wasm.clone());
    let out = push_with(&art, &anon(&reg.addr()), &PushOptions::default(), &fast())
        .await
        .unwrap();

    assert_eq!(out.reference, format!("{}/temp-convert:1.0.0", reg.addr()));
    assert_eq!(
        out.pinned_reference,
        format!("{}/temp-convert@{}", reg.addr(), out.digest)
    );
    assert_eq!(out.layer_digest, sha256_digest(&wasm));
    assert_eq!(out.blobs_uploaded, 2);
    assert!(!out.already_present);
    assert!(out.bytes_uploaded > wasm.len() as u64);

    // Manifest, fetched independently with the OCI Accept header.
    let m = reg.manifest("temp-convert", "1.0.0").expect("tag exists");
    assert_eq!(m.header("content-type"), Some(OCI_MANIFEST));
    assert_eq!(m.header("docker-content-digest"), Some(out.digest.as_str()));
    assert_eq!(sha256_digest(&m.body), out.digest);
    let mj = m.json();
    assert_eq!(mj["schemaVersion"], 2);
    assert_eq!(mj["mediaType"], OCI_MANIFEST);
    assert_eq!(
        mj["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    let layers = mj["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1, "exactly one layer");
    assert_eq!(layers[0]["mediaType"], "application/wasm");
    assert_eq!(layers[0]["digest"], sha256_digest(&wasm).as_str());
    assert_eq!(layers[0]["size"], wasm.len() as u64);
    let ann = &mj["annotations"];
    assert_eq!(ann["org.opencontainers.image.version"], "1.0.0");
    assert_eq!(ann["org.opencontainers.image.title"], "temp-convert");
    assert_eq!(
        ann["org.opencontainers.image.source"],
        "https://example.com/pelato/temp-convert"
    );
    let created = ann["org.opencontainers.image.created"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    assert_eq!(ann["dev.pelato.task"], "temp-convert");
    assert_eq!(ann["dev.pelato.template"], "messaging-handler");
    assert_eq!(ann["dev.pelato.toolchain"], "go1.24");

    // Config body with the component's real imports and exports.
    let config_digest = mj["config"]["digest"].as_str().unwrap();
    let config_bytes = reg.blob("temp-convert", config_digest);
    assert_eq!(sha256_digest(&config_bytes), config_digest);
    assert_eq!(mj["config"]["size"], config_bytes.len() as u64);
    let config: Value = serde_json::from_slice(&config_bytes).unwrap();
    assert_eq!(config["architecture"], "wasm");
    assert_eq!(config["os"], "wasip2");
    assert_eq!(config["created"], created);
    assert_eq!(strs(&config["layerDigests"]), vec![sha256_digest(&wasm)]);
    let exports = strs(&config["component"]["exports"]);
    let imports = strs(&config["component"]["imports"]);
    assert_eq!(exports, vec![HANDLER.to_string()]);
    assert!(imports.contains(&CONSUMER.to_string()), "{imports:?}");
    assert!(
        imports.contains(&"wasmcloud:messaging/types@0.2.0".to_string()),
        "{imports:?}"
    );
    assert!(config["component"]["target"].is_null());
    assert_eq!(
        config,
        artifact_config(&wasm, &sha256_digest(&wasm), created).unwrap()
    );

    // The layer is the component, byte for byte; the pinned reference resolves.
    assert_eq!(reg.blob("temp-convert", &sha256_digest(&wasm)), wasm);
    assert!(reg.manifest("temp-convert", &out.digest).is_some());
}

#[tokio::test]
async fn repush_uploads_nothing_and_shared_blobs_are_skipped() {
    let reg = Registry::start();
    let wasm = component(2, 1000);
    let art = artifact("temp-convert", "1.0.0", wasm.clone());
    let first = push_with(&art, &anon(&reg.addr()), &PushOptions::default(), &fast())
        .await
        .unwrap();
    assert_eq!(first.blobs_uploaded, 2);

    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let ctl = PushControl {
        on_event: Some(Arc::new(move |e: &PushEvent| {
            sink.lock().unwrap().push(e.clone())
        })),
        ..fast()
    };
    let again = push_with(&art, &anon(&reg.addr()), &PushOptions::default(), &ctl)
        .await
        .unwrap();
    assert_eq!(again.blobs_uploaded, 0);
    assert_eq!(again.bytes_uploaded, 0);
    assert!(again.already_present);
    assert_eq!(again.digest, first.digest);
    assert_eq!(again.pinned_reference, first.pinned_reference);
    assert!(
        events.lock().unwrap().is_empty(),
        "{:?}",
        events.lock().unwrap()
    );

    // Same component, new tag: the layer is already there; at most the config is uploaded
    // (none when the creation time is the same second, as the config is then identical).
    let next = push_with(
        &artifact("temp-convert", "1.0.1", wasm.clone()),
        &anon(&reg.addr()),
        &PushOptions::default(),
        &ctl,
    )
    .await
    .unwrap();
    assert!(next.blobs_uploaded <= 1, "{next:?}");
    assert!(!next.already_present);
    let ev = events.lock().unwrap().clone();
    assert!(ev.contains(&PushEvent::BlobSkipped {
        digest: sha256_digest(&wasm),
        size: wasm.len() as u64
    }));
    assert!(matches!(ev.last(), Some(PushEvent::Tagged { .. })));

    // A registry path prefix becomes part of the repository.
    let out = push_with(
        &artifact("temp-convert", "1.0.0", wasm.clone()),
        &anon(&format!("{}/team", reg.addr())),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap();
    assert_eq!(
        out.reference,
        format!("{}/team/temp-convert:1.0.0", reg.addr())
    );
    let m = reg.manifest("team/temp-convert", "1.0.0").unwrap();
    assert_eq!(sha256_digest(&m.body), out.digest);
}

#[tokio::test]
async fn a_different_component_under_an_existing_tag_needs_force() {
    let reg = Registry::start();
    let old = component(3, 0);
    let new = component(4, 0);
    let first = push_with(
        &artifact("temp-convert", "1.0.0", old.clone()),
        &anon(&reg.addr()),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap();

    let err = push_with(
        &artifact("temp-convert", "1.0.0", new.clone()),
        &anon(&reg.addr()),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    eprintln!("error: {msg}");
    assert!(matches!(err, PushError::TagExists { .. }), "{err:?}");
    assert!(msg.contains("--force"), "{msg}");
    assert!(msg.contains(&first.digest), "{msg}");
    assert!(
        msg.contains(&format!("{}/temp-convert:1.0.0", reg.addr())),
        "{msg}"
    );
    // The registry still serves the old artifact and never got the new layer.
    let m = reg.manifest("temp-convert", "1.0.0").unwrap();
    assert_eq!(sha256_digest(&m.body), first.digest);
    let probe = reg.get(
        &format!("/v2/temp-convert/blobs/{}", sha256_digest(&new)),
        None,
    );
    assert_eq!(probe.status, 404);

    let forced = push_with(
        &artifact("temp-convert", "1.0.0", new.clone()),
        &anon(&reg.addr()),
        &force(),
        &fast(),
    )
    .await
    .unwrap();
    assert_ne!(forced.digest, first.digest);
    let m = reg.manifest("temp-convert", "1.0.0").unwrap();
    assert_eq!(sha256_digest(&m.body), forced.digest);
    assert_eq!(
        m.json()["layers"][0]["digest"],
        sha256_digest(&new).as_str()
    );
}

#[tokio::test]
async fn basic_auth_right_and_wrong_credentials() {
    let reg = Registry::start_with_auth("pelato", "s3cret-Pa55");
    let wasm = component(5, 0);

    let ok = push_with(
        &artifact("secured", "1.0.0", wasm.clone()),
        &basic(&reg.addr(), "pelato", "s3cret-Pa55"),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap();
    assert_eq!(ok.blobs_uploaded, 2);
    let m = reg.manifest("secured", "1.0.0").unwrap();
    assert_eq!(sha256_digest(&m.body), ok.digest);

    let wrong = "wr0ng-Pa55-word";
    let err = push_with(
        &artifact("secured", "2.0.0", component(6, 0)),
        &basic(&reg.addr(), "pelato", wrong),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    eprintln!("error: {msg}");
    let dbg = format!("{err:?}");
    assert!(
        matches!(err, PushError::Unauthorized { status: 401, .. }),
        "{err:?}"
    );
    assert!(msg.contains("401") && msg.contains(&reg.addr()), "{msg}");
    assert!(msg.contains("secured:2.0.0"), "{msg}");
    assert!(msg.contains("rejected the credentials"), "{msg}");
    let b64 = registry::base64(format!("pelato:{wrong}").as_bytes());
    for text in [&msg, &dbg] {
        assert!(!text.contains(wrong) && !text.contains(&b64), "{text}");
    }
    assert!(reg.manifest("secured", "2.0.0").is_none(), "nothing tagged");

    let err = push_with(
        &artifact("secured", "2.0.0", component(6, 0)),
        &anon(&reg.addr()),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap_err();
    eprintln!("error: {err}");
    assert!(err.to_string().contains("requires credentials"), "{err}");

    // Docker config: credentials for this host are used ...
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("config.json");
    std::fs::write(
        &cfg,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
            reg.addr(),
            registry::base64(b"pelato:s3cret-Pa55")
        ),
    )
    .unwrap();
    let docker_dest = Destination::Registry(RegistryTarget {
        registry: reg.addr(),
        auth: RegistryAuth::DockerConfig,
        insecure_hosts: vec![],
    });
    let ctl = PushControl {
        docker_config: Some(cfg.clone()),
        ..fast()
    };
    let out = push_with(
        &artifact("secured", "3.0.0", wasm.clone()),
        &docker_dest,
        &PushOptions::default(),
        &ctl,
    )
    .await
    .unwrap();
    assert!(out.blobs_uploaded <= 1, "layer shared with 1.0.0: {out:?}");
    // ... and credentials stored for another host are not.
    std::fs::write(
        &cfg,
        format!(
            r#"{{"auths":{{"127.0.0.1:{}":{{"auth":"{}"}}}}}}"#,
            reg.port.wrapping_add(1),
            registry::base64(b"pelato:s3cret-Pa55")
        ),
    )
    .unwrap();
    let err = push_with(
        &artifact("secured", "4.0.0", wasm.clone()),
        &docker_dest,
        &PushOptions::default(),
        &ctl,
    )
    .await
    .unwrap_err();
    eprintln!("error: {err}");
    assert!(err.to_string().contains("requires credentials"), "{err}");
}

#[tokio::test]
async fn unreachable_registry_fails_clearly_after_bounded_retries() {
    let port = free_port("127.0.0.1");
    let addr = format!("127.0.0.1:{port}");
    let start = Instant::now();
    // Default control: 3 tries, 200 ms then 400 ms.
    let err = push(
        &artifact("temp-convert", "1.0.0", component(7, 0)),
        &anon(&addr),
        &PushOptions::default(),
    )
    .await
    .unwrap_err();
    let elapsed = start.elapsed();
    let msg = err.to_string();
    eprintln!("error: {msg}");
    assert!(
        matches!(err, PushError::Unreachable { attempts: 3, .. }),
        "{err:?}"
    );
    assert!(
        msg.contains(&format!("cannot reach registry {addr}")),
        "{msg}"
    );
    assert!(msg.contains("temp-convert:1.0.0"), "{msg}");
    assert!(msg.to_lowercase().contains("refused"), "{msg}");
    assert!(elapsed >= Duration::from_millis(550), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
}

#[tokio::test]
async fn registry_dying_before_the_manifest_leaves_no_tag() {
    let mut reg = Registry::start();
    let pid = reg.pid();
    let addr = reg.addr();
    let killed = Arc::new(AtomicUsize::new(0));
    let k = killed.clone();
    let ctl = PushControl {
        on_event: Some(Arc::new(move |e: &PushEvent| {
            if matches!(e, PushEvent::WritingManifest { .. }) {
                let _ = std::process::Command::new("sh")
                    .args(["-c", &format!("kill -9 {pid}")])
                    .status();
                let deadline = Instant::now() + Duration::from_secs(5);
                while std::net::TcpStream::connect(&addr).is_ok() && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(10));
                }
                k.fetch_add(1, Ordering::SeqCst);
            }
        })),
        ..fast()
    };
    let wasm = component(8, 64 * 1024);
    let art = artifact("temp-convert", "1.0.0", wasm.clone());
    let err = push_with(&art, &anon(&reg.addr()), &PushOptions::default(), &ctl)
        .await
        .unwrap_err();
    assert_eq!(killed.load(Ordering::SeqCst), 1);
    assert!(
        matches!(
            err,
            PushError::Unreachable { .. } | PushError::ConnectionDropped { .. }
        ),
        "{err:?}"
    );
    eprintln!("error: {err}");
    assert!(err.to_string().contains(&reg.addr()), "{err}");

    reg.restart();
    assert!(
        reg.manifest("temp-convert", "1.0.0").is_none(),
        "the tag must not exist after a failed push"
    );
    // The blobs did make it: the retry does not upload the component again (only the config
    // when the creation second changed in between) and then tags.
    let events = Arc::new(Mutex::new(Vec::new()));
    let sink = events.clone();
    let ctl = PushControl {
        on_event: Some(Arc::new(move |e: &PushEvent| {
            sink.lock().unwrap().push(e.clone())
        })),
        ..fast()
    };
    let out = push_with(&art, &anon(&reg.addr()), &PushOptions::default(), &ctl)
        .await
        .unwrap();
    assert!(out.blobs_uploaded <= 1, "{out:?}");
    assert!(events.lock().unwrap().contains(&PushEvent::BlobSkipped {
        digest: sha256_digest(&wasm),
        size: wasm.len() as u64
    }));
    assert!(!out.already_present);
    assert!(reg.manifest("temp-convert", "1.0.0").is_some());
}

#[tokio::test]
async fn https_against_a_plain_http_registry_is_a_tls_error() {
    let Some(ip) = registry::non_loopback_ipv4() else {
        eprintln!("no non-loopback IPv4 address on this machine: TLS test not applicable");
        return;
    };
    let reg = Registry::start_on(&ip);
    let wasm = component(9, 0);
    let err = push_with(
        &artifact("temp-convert", "1.0.0", wasm.clone()),
        &anon(&reg.addr()),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    eprintln!("error: {msg}");
    assert!(matches!(err, PushError::Tls { .. }), "{err:?}");
    assert!(
        msg.contains(&reg.addr()) && msg.contains("insecure"),
        "{msg}"
    );
    assert!(reg.manifest("temp-convert", "1.0.0").is_none());

    // Listed as insecure, or named with http://, it works.
    let dest = Destination::Registry(RegistryTarget {
        registry: reg.addr(),
        auth: RegistryAuth::Anonymous,
        insecure_hosts: vec![reg.addr()],
    });
    push_with(
        &artifact("temp-convert", "1.0.0", wasm.clone()),
        &dest,
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap();
    let mut target = registry_from_settings(&format!("http://{}", reg.addr()), None, None).unwrap();
    target.auth = RegistryAuth::Anonymous;
    let out = push_with(
        &artifact("temp-convert", "1.0.0", wasm),
        &Destination::Registry(target),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap();
    assert!(out.already_present);
}

/// A fake registry answering every request through `answer(method, path)`: `Some((status,
/// body))` is sent back, `None` drops the connection. Returns the address and the request log.
fn fake_registry(
    answer: fn(&str, &str) -> Option<(u16, String)>,
) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let l = l.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&buf).to_string();
                let mut first = text.lines().next().unwrap_or("").split_whitespace();
                let method = first.next().unwrap_or("").to_string();
                let path = first.next().unwrap_or("").to_string();
                l.lock().unwrap().push(format!("{method} {path}"));
                match answer(&method, &path) {
                    Some((status, body)) => {
                        let _ = write!(
                            stream,
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                    }
                    None => {
                        let _ = stream.shutdown(std::net::Shutdown::Both);
                    }
                }
            });
        }
    });
    (addr, log)
}

fn count(log: &Arc<Mutex<Vec<String>>>, needle: &str) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(needle))
        .count()
}

#[tokio::test]
async fn server_errors_are_retried_then_reported() {
    let (addr, log) = fake_registry(|_, path| {
        if path == "/v2/" {
            Some((200, "{}".into()))
        } else {
            Some((503, r#"{"errors":[]}"#.into()))
        }
    });
    let err = push_with(
        &artifact("temp-convert", "1.0.0", component(10, 0)),
        &anon(&addr),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    eprintln!("error: {msg}");
    assert!(
        matches!(
            err,
            PushError::Server {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(msg.contains("HTTP 503") && msg.contains(&addr), "{msg}");
    assert_eq!(
        count(&log, "/manifests/1.0.0"),
        3,
        "{:?}",
        log.lock().unwrap()
    );
    assert_eq!(count(&log, "PUT"), 0, "nothing written");
}

#[tokio::test]
async fn dropped_connections_are_retried_then_reported() {
    let (addr, log) = fake_registry(|_, _| None);
    let err = push_with(
        &artifact("temp-convert", "1.0.0", component(11, 0)),
        &anon(&addr),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, PushError::ConnectionDropped { attempts: 3, .. }),
        "{err:?}"
    );
    eprintln!("error: {err}");
    assert!(err.to_string().contains("dropped") && err.to_string().contains(&addr));
    assert!(
        count(&log, "/manifests/1.0.0") >= 3,
        "{:?}",
        log.lock().unwrap()
    );
}

#[tokio::test]
async fn missing_repository_and_forbidden_are_clear() {
    let (addr, _) = fake_registry(|method, path| {
        match (method, path) {
        (_, "/v2/") => Some((200, "{}".into())),
        ("POST", _) => Some((
            404,
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#
                .into(),
        )),
        _ => Some((
            404,
            r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#.into(),
        )),
    }
    });
    let err = push_with(
        &artifact("temp-convert", "1.0.0", component(12, 0)),
        &anon(&addr),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap_err();
    eprintln!("error: {err}");
    assert!(
        matches!(err, PushError::RepositoryNotFound { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("no repository") && err.to_string().contains(&addr));

    let (addr, _) = fake_registry(|_, path| {
        if path == "/v2/" {
            Some((200, "{}".into()))
        } else {
            Some((
                403,
                r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#
                    .into(),
            ))
        }
    });
    let err = push_with(
        &artifact("temp-convert", "1.0.0", component(12, 0)),
        &basic(&addr, "someone", "pw-xyz-123"),
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, PushError::Unauthorized { status: 403, .. }),
        "{err:?}"
    );
    eprintln!("error: {err}");
    assert!(!err.to_string().contains("pw-xyz-123"));
}

#[tokio::test]
async fn invalid_artifacts_are_refused_before_any_network() {
    let dest = anon("127.0.0.1:1");
    let core = b"\0asm\x01\0\0\0".to_vec();
    for (art, needle) in [
        (artifact("temp-convert", "1.0.0", core), "component"),
        (
            artifact("Temp", "1.0.0", component(13, 0)),
            "repository name",
        ),
        (
            artifact("temp-convert", "latest", component(13, 0)),
            "semantic version",
        ),
        (
            artifact("temp-convert", "1.0.0+b1", component(13, 0)),
            "build metadata",
        ),
    ] {
        let err = push_with(&art, &dest, &PushOptions::default(), &fast())
            .await
            .unwrap_err();
        assert!(matches!(err, PushError::InvalidArtifact(_)), "{err:?}");
        assert!(err.to_string().contains(needle), "{err}");
    }
}

fn index_refs(layout: &Path) -> Vec<(String, String)> {
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["annotations"]["org.opencontainers.image.ref.name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                m["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn blob_file(layout: &Path, digest: &str) -> std::path::PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap())
}

#[tokio::test]
async fn local_layout_holds_many_components_and_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("oci");
    let dest = Destination::Layout(layout.clone());
    let a = component(20, 0);
    let b = component(21, 0);
    let out_a = push(
        &artifact("alpha", "1.0.0", a.clone()),
        &dest,
        &PushOptions::default(),
    )
    .await
    .unwrap();
    let out_b = push(
        &artifact("beta", "2.0.0", b.clone()),
        &dest,
        &PushOptions::default(),
    )
    .await
    .unwrap();
    let abs = std::path::absolute(&layout).unwrap();
    assert_eq!(
        out_a.reference,
        format!("oci-layout:{}:alpha:1.0.0", abs.display())
    );
    assert_eq!(
        out_a.pinned_reference,
        format!("oci-layout:{}:alpha@{}", abs.display(), out_a.digest)
    );
    assert_eq!(out_a.blobs_uploaded, 2);
    validate_layout(&layout).unwrap();
    assert_eq!(
        std::fs::read_to_string(layout.join("oci-layout")).unwrap(),
        r#"{"imageLayoutVersion":"1.0.0"}"#
    );
    let refs = index_refs(&layout);
    assert_eq!(
        refs,
        vec![
            ("alpha:1.0.0".to_string(), out_a.digest.clone()),
            ("beta:2.0.0".to_string(), out_b.digest.clone()),
        ]
    );
    assert_eq!(
        std::fs::read(blob_file(&layout, &out_a.layer_digest)).unwrap(),
        a
    );
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(blob_file(&layout, &out_a.digest)).unwrap()).unwrap();
    assert_eq!(manifest["mediaType"], OCI_MANIFEST);
    assert_eq!(manifest["layers"][0]["mediaType"], "application/wasm");

    // Re-push: nothing written.
    let again = push(
        &artifact("alpha", "1.0.0", a.clone()),
        &dest,
        &PushOptions::default(),
    )
    .await
    .unwrap();
    assert!(again.already_present);
    assert_eq!(again.blobs_uploaded, 0);
    assert_eq!(again.digest, out_a.digest);

    // Same tag, different component: refused without force, replaced with it.
    let c = component(22, 0);
    let err = push(
        &artifact("alpha", "1.0.0", c.clone()),
        &dest,
        &PushOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, PushError::TagExists { .. }), "{err:?}");
    assert!(err.to_string().contains("--force"), "{err}");
    assert_eq!(index_refs(&layout)[0].1, out_a.digest);
    let forced = push(&artifact("alpha", "1.0.0", c.clone()), &dest, &force())
        .await
        .unwrap();
    let refs = index_refs(&layout);
    assert_eq!(refs.iter().filter(|(r, _)| r == "alpha:1.0.0").count(), 1);
    assert!(refs.contains(&("alpha:1.0.0".to_string(), forced.digest.clone())));
    validate_layout(&layout).unwrap();

    // No temp or lock file left behind.
    let leftovers: Vec<String> = std::fs::read_dir(&layout)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // Corrupt beta's layer: validation names it.
    let layer = blob_file(&layout, &out_b.layer_digest);
    let mut bytes = std::fs::read(&layer).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();
    let problems = validate_layout(&layout).unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&out_b.layer_digest) && p.contains("corrupt")),
        "{problems:?}"
    );
    // A push of the same component repairs it.
    push(
        &artifact("beta", "2.0.0", b.clone()),
        &dest,
        &PushOptions::default(),
    )
    .await
    .unwrap();
    validate_layout(&layout).unwrap();
}

#[test]
fn concurrent_layout_pushes_do_not_corrupt_the_index() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("oci");
    let handles: Vec<_> = (0..6u64)
        .map(|i| {
            let layout = layout.clone();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(push(
                    &artifact(&format!("comp{i}"), "1.0.0", component(30 + i, 4096)),
                    &Destination::Layout(layout),
                    &PushOptions::default(),
                ))
                .unwrap()
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    validate_layout(&layout).unwrap();
    let mut refs: Vec<String> = index_refs(&layout).into_iter().map(|(r, _)| r).collect();
    refs.sort();
    assert_eq!(
        refs,
        (0..6).map(|i| format!("comp{i}:1.0.0")).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn layout_copies_to_a_registry_byte_for_byte() {
    let reg = Registry::start();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("oci");
    let wasm = component(40, 2048);
    let local = push(
        &artifact("temp-convert", "1.2.3", wasm.clone()),
        &Destination::Layout(layout.clone()),
        &PushOptions::default(),
    )
    .await
    .unwrap();
    let Destination::Registry(target) = anon(&reg.addr()) else {
        unreachable!()
    };
    let out = copy_layout_to_registry_with(
        &layout,
        "temp-convert",
        "1.2.3",
        &target,
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap();
    assert_eq!(out.digest, local.digest, "same manifest bytes, same digest");
    assert_eq!(out.reference, format!("{}/temp-convert:1.2.3", reg.addr()));
    assert_eq!(out.blobs_uploaded, 2);
    let m = reg.manifest("temp-convert", "1.2.3").unwrap();
    assert_eq!(
        m.body,
        std::fs::read(blob_file(&layout, &local.digest)).unwrap()
    );
    let mj = m.json();
    let config_digest = mj["config"]["digest"].as_str().unwrap();
    assert_eq!(
        reg.blob("temp-convert", config_digest),
        std::fs::read(blob_file(&layout, config_digest)).unwrap()
    );
    assert_eq!(reg.blob("temp-convert", &sha256_digest(&wasm)), wasm);

    // Again: already there.
    let again = copy_layout_to_registry_with(
        &layout,
        "temp-convert",
        "1.2.3",
        &target,
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap();
    assert!(again.already_present);
    assert_eq!(again.blobs_uploaded, 0);

    // Unknown component, and a corrupt layout, fail clearly.
    let err = copy_layout_to_registry_with(
        &layout,
        "temp-convert",
        "9.9.9",
        &target,
        &PushOptions::default(),
        &fast(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, PushError::NotInLayout { .. }), "{err:?}");
    std::fs::write(blob_file(&layout, &sha256_digest(&wasm)), b"garbage").unwrap();
    let err =
        copy_layout_to_registry_with(&layout, "temp-convert", "1.2.3", &target, &force(), &fast())
            .await
            .unwrap_err();
    assert!(err.to_string().contains("corrupt"), "{err}");
}
