//! Managed toolchains end to end with real archives made here, served by a
//! loopback HTTP server: download, checksum mismatch, truncated download,
//! import, pack → import, concurrent installs, selection order, and TinyGo's
//! selection and command line (with a stand-in compiler: TinyGo itself cannot
//! be installed on the CI machine).

use crate::support::toolchain as toolchain_support;

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use pelato::toolchain::install::{self, Outcome, Quiet};
use pelato::toolchain::{
    select, Catalog, InstallOptions, Spec, Store, ToolchainError, ToolchainKind, ToolchainSource,
};
use toolchain_support::*;

fn spec(s: &str) -> Spec {
    Spec::parse(s).expect("spec")
}

fn url_only(mirror: Option<String>, sha256: Option<String>) -> InstallOptions {
    InstallOptions {
        source: pelato::toolchain::SourceKind::Url,
        mirror,
        sha256,
        ..InstallOptions::default()
    }
}

/// A store with nothing in it but dot-folders (locks, empty staging).
fn assert_nothing_installed(store: &Store) {
    assert!(store.list().expect("list").is_empty());
    let dir = store.toolchains_dir();
    let visible: Vec<String> = names_in(&dir)
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect();
    assert!(visible.is_empty(), "left behind: {visible:?}");
    let staging = names_in(&dir.join(".staging"));
    assert!(staging.is_empty(), "staging left behind: {staging:?}");
}

/// A server + manifests with go 1.99.1 (pinned), go 1.98.0 (pinned),
/// tinygo 0.77.0 (accepts Go 1.98 only).
struct World {
    server: Server,
    manifests: std::path::PathBuf,
    catalog: Catalog,
    go99: Vec<u8>,
    go98: Vec<u8>,
    tiny: Vec<u8>,
    _tmp: tempfile::TempDir,
}

fn world() -> World {
    let tmp = tempfile::tempdir().expect("tempdir");
    let server = Server::start();
    let go99 = go_archive("1.99.1");
    let go98 = go_archive("1.98.0");
    let tiny = tinygo_archive("0.77.0");
    let entries = vec![
        Entry {
            kind: "go",
            version: "1.99.1",
            url: server.route(
                &format!("/dl/{}", archive_name("go", "1.99.1")),
                Reply::Body(go99.clone()),
            ),
            sha256: sha256(&go99),
            go_range: None,
        },
        Entry {
            kind: "go",
            version: "1.98.0",
            url: server.route(
                &format!("/dl/{}", archive_name("go", "1.98.0")),
                Reply::Body(go98.clone()),
            ),
            sha256: sha256(&go98),
            go_range: None,
        },
        Entry {
            kind: "tinygo",
            version: "0.77.0",
            url: server.route(
                &format!("/dl/{}", archive_name("tinygo", "0.77.0")),
                Reply::Body(tiny.clone()),
            ),
            sha256: sha256(&tiny),
            go_range: Some(("1.98", "1.98")),
        },
    ];
    let manifests = write_manifests(&tmp.path().join("manifests"), &entries);
    let catalog = catalog(&manifests);
    World {
        server,
        manifests,
        catalog,
        go99,
        go98,
        tiny,
        _tmp: tmp,
    }
}

#[test]
fn download_verifies_and_installs_once() {
    let w = world();
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let out = install::install(
        &store,
        &w.catalog,
        &spec("go@1.99"),
        &url_only(None, None),
        &mut Quiet,
    )
    .expect("install");
    let Outcome::Installed(i) = out else {
        panic!("expected a fresh install")
    };
    assert_eq!(i.name(), format!("go-1.99.1-{}", platform()));
    assert_eq!(i.meta.sha256, sha256(&w.go99));
    assert!(
        i.meta.origin.starts_with("url http://127.0.0.1:"),
        "{}",
        i.meta.origin
    );
    assert_eq!(i.meta.artifact, archive_name("go", "1.99.1"));
    assert!(i.compiler().ends_with("go/bin/go"));
    assert_eq!(i.goroot(), Some(i.dir.join("go")));
    assert!(i.dir.join("go/src/runtime/x.go").is_file());
    assert!(i
        .dir
        .join(pelato::toolchain::store::METADATA_FILE)
        .is_file());
    // Nothing else is left: no download, no staging folder.
    assert!(!i.dir.join(".download").exists());
    assert!(names_in(&store.toolchains_dir().join(".staging")).is_empty());

    // Installing again downloads nothing.
    let again = install::install(
        &store,
        &w.catalog,
        &spec("go@1.99.1"),
        &url_only(None, None),
        &mut Quiet,
    )
    .expect("again");
    assert!(matches!(again, Outcome::AlreadyInstalled(_)));
    assert_eq!(
        w.server
            .hits(&format!("/dl/{}", archive_name("go", "1.99.1"))),
        1
    );

    // The store lists it, finds it by spec, and can remove it.
    assert_eq!(store.find(&spec("go@1.99")).expect("find").len(), 1);
    assert!(store.find(&spec("go@1.98")).expect("find").is_empty());
    store.remove(&i).expect("remove");
    assert_nothing_installed(&store);
}

#[test]
fn mirror_serves_the_same_files() {
    let w = world();
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let path = format!("/mirror/{}", archive_name("go", "1.98.0"));
    w.server.route(&path, Reply::Body(w.go98.clone()));
    let mirror = format!("{}/mirror/", w.server.base);
    let out = install::install(
        &store,
        &w.catalog,
        &spec("go@1.98"),
        &url_only(Some(mirror), None),
        &mut Quiet,
    )
    .expect("install from mirror");
    assert!(
        out.installed().meta.origin.contains("/mirror/go1.98.0."),
        "{}",
        out.installed().meta.origin
    );
    assert_eq!(w.server.hits(&path), 1);
    assert_eq!(
        w.server
            .hits(&format!("/dl/{}", archive_name("go", "1.98.0"))),
        0
    );
}

#[test]
fn checksum_mismatch_is_refused_and_leaves_nothing() {
    let w = world();
    // The server now serves a different (valid) archive under the pinned name.
    w.server.route(
        &format!("/dl/{}", archive_name("go", "1.99.1")),
        Reply::Body(go_archive("1.99.2")),
    );
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let e = install::install(
        &store,
        &w.catalog,
        &spec("go@1.99"),
        &url_only(None, None),
        &mut Quiet,
    )
    .unwrap_err();
    assert!(
        matches!(e, ToolchainError::ChecksumMismatch { .. }),
        "{e:?}"
    );
    let s = e.to_string();
    assert!(
        s.contains(&sha256(&w.go99)) && s.contains("nothing was installed"),
        "{s}"
    );
    assert_nothing_installed(&store);
}

#[test]
fn truncated_download_is_refused_and_leaves_nothing() {
    let w = world();
    let half = w.go99.len() / 2;
    w.server.route(
        &format!("/dl/{}", archive_name("go", "1.99.1")),
        Reply::Truncated(w.go99.clone(), half),
    );
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let e = install::install(
        &store,
        &w.catalog,
        &spec("go@1.99"),
        &url_only(None, None),
        &mut Quiet,
    )
    .unwrap_err();
    match &e {
        ToolchainError::Truncated { got, expected, .. } => {
            assert_eq!(*expected, w.go99.len() as u64);
            assert!(*got <= half as u64, "{got}");
        }
        ToolchainError::Download { reason, .. } => assert!(reason.contains("after"), "{reason}"),
        other => panic!("expected a truncated download, got {other:?}"),
    }
    assert_nothing_installed(&store);
}

#[test]
fn http_errors_name_the_url() {
    let w = world();
    w.server.route(
        &format!("/dl/{}", archive_name("go", "1.99.1")),
        Reply::Status(404),
    );
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let e = install::install(
        &store,
        &w.catalog,
        &spec("go@1.99"),
        &url_only(None, None),
        &mut Quiet,
    )
    .unwrap_err();
    let s = e.to_string();
    assert!(matches!(e, ToolchainError::Download { .. }), "{e:?}");
    assert!(
        s.contains("404") && s.contains(&w.server.base) && s.contains("PELATO_TOOLCHAIN_MIRROR"),
        "{s}"
    );
    assert_nothing_installed(&store);
}

#[test]
fn unverified_entries_need_an_explicit_sha256() {
    let w = world();
    let bytes = go_archive("1.97.0");
    let url = w
        .server
        .route("/dl/unverified.tar.gz", Reply::Body(bytes.clone()));
    let t = tempfile::tempdir().expect("tmp");
    let manifests = write_manifests(
        t.path(),
        &[Entry {
            kind: "go",
            version: "1.97.0",
            url,
            sha256: "unverified".into(),
            go_range: None,
        }],
    );
    let catalog = catalog(&manifests);
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let e = install::install(
        &store,
        &catalog,
        &spec("go@1.97"),
        &url_only(None, None),
        &mut Quiet,
    )
    .unwrap_err();
    assert!(matches!(e, ToolchainError::Unverified { .. }), "{e:?}");
    assert!(e.to_string().contains("--sha256"), "{e}");
    assert_eq!(
        w.server.hits("/dl/unverified.tar.gz"),
        0,
        "nothing may be downloaded"
    );
    // A wrong explicit checksum: downloaded, refused.
    let e = install::install(
        &store,
        &catalog,
        &spec("go@1.97"),
        &url_only(None, Some("0".repeat(64))),
        &mut Quiet,
    )
    .unwrap_err();
    assert!(
        matches!(e, ToolchainError::ChecksumMismatch { .. }),
        "{e:?}"
    );
    assert_nothing_installed(&store);
    // The right one: installed.
    install::install(
        &store,
        &catalog,
        &spec("go@1.97"),
        &url_only(None, Some(sha256(&bytes))),
        &mut Quiet,
    )
    .expect("install with --sha256");
    // An explicit checksum that contradicts a pinned one is refused up front.
    let e = install::install(
        &store,
        &w.catalog,
        &spec("go@1.99"),
        &url_only(None, Some("1".repeat(64))),
        &mut Quiet,
    )
    .unwrap_err();
    assert!(e.to_string().contains("manifest pins sha256"), "{e}");
}

#[test]
fn unsafe_archives_are_refused() {
    let t = tempfile::tempdir().expect("tmp");
    // An entry named ../evil (written byte by byte: tar::Builder refuses it).
    let mut raw = Vec::new();
    {
        let mut b = tar::Builder::new(&mut raw);
        let mut h = tar::Header::new_old();
        let name = b"go/../../evil";
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_size(1);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, &b"x"[..]).expect("append");
        b.finish().expect("finish");
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).expect("gz");
    let evil = gz.finish().expect("gz");
    let p = t.path().join("evil.tar.gz");
    fs::write(&p, evil).expect("write");
    let dest = t.path().join("dest/inner");
    fs::create_dir_all(&dest).expect("mkdir");
    let e = install::unpack_tar_gz(&p, &dest, &mut Quiet).unwrap_err();
    assert!(e.to_string().contains("outside"), "{e}");
    assert!(!t.path().join("dest/evil").exists() && !t.path().join("evil").exists());

    // A symlink pointing out of the folder.
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, "go/bin/go", "/bin/sh").expect("link");
    let bytes = b.into_inner().expect("tar").finish().expect("gz");
    let p = t.path().join("link.tar.gz");
    fs::write(&p, bytes).expect("write");
    let e = install::unpack_tar_gz(&p, &dest, &mut Quiet).unwrap_err();
    assert!(e.to_string().contains("links to"), "{e}");

    // Not an archive at all.
    let p = t.path().join("junk.tar.gz");
    fs::write(&p, b"this is not gzip").expect("write");
    assert!(install::unpack_tar_gz(&p, &dest, &mut Quiet).is_err());
}

#[test]
fn import_verifies_against_the_manifest() {
    let w = world();
    let t = tempfile::tempdir().expect("tmp");
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let python = Path::new("python3");

    // The right bytes under the pinned name: installed, no network.
    let good = t.path().join(archive_name("go", "1.99.1"));
    fs::write(&good, &w.go99).expect("write");
    let out = install::import(&store, &w.catalog, &good, None, python, &mut Quiet).expect("import");
    assert_eq!(out.len(), 1);
    let i = out[0].installed();
    assert!(i.meta.origin.starts_with("import "), "{}", i.meta.origin);
    assert_eq!(i.meta.sha256, sha256(&w.go99));
    assert_eq!(
        w.server
            .hits(&format!("/dl/{}", archive_name("go", "1.99.1"))),
        0
    );
    // Again: already there.
    let out = install::import(&store, &w.catalog, &good, None, python, &mut Quiet).expect("again");
    assert!(matches!(out[0], Outcome::AlreadyInstalled(_)));

    // Wrong bytes under a pinned name: refused, nothing left.
    let bad = t.path().join("other").join(archive_name("go", "1.98.0"));
    fs::create_dir_all(bad.parent().expect("parent")).expect("mkdir");
    fs::write(&bad, &w.go99).expect("write");
    let e = install::import(&store, &w.catalog, &bad, None, python, &mut Quiet).unwrap_err();
    assert!(
        matches!(e, ToolchainError::ChecksumMismatch { .. }),
        "{e:?}"
    );
    assert!(store.find(&spec("go@1.98")).expect("find").is_empty());

    // A name the manifests do not know.
    let unknown = t.path().join("mystery.tar.gz");
    fs::write(&unknown, &w.go99).expect("write");
    let e = install::import(&store, &w.catalog, &unknown, None, python, &mut Quiet).unwrap_err();
    assert!(matches!(e, ToolchainError::UnknownFile { .. }), "{e:?}");
    assert!(e.to_string().contains(&archive_name("go", "1.98.0")), "{e}");

    // A missing file.
    let e = install::import(
        &store,
        &w.catalog,
        &t.path().join("nope.tar.gz"),
        None,
        python,
        &mut Quiet,
    )
    .unwrap_err();
    assert!(e.to_string().contains("no such file"), "{e}");
}

#[test]
fn pack_then_import_round_trips() {
    let w = world();
    let a_home = tempfile::tempdir().expect("a");
    let b_home = tempfile::tempdir().expect("b");
    let a = Store::at(a_home.path());
    let b = Store::at(b_home.path());
    for s in ["go@1.99", "tinygo@0.77", "go@1.98"] {
        install::install(&a, &w.catalog, &spec(s), &url_only(None, None), &mut Quiet)
            .expect("install");
    }
    let t = tempfile::tempdir().expect("tmp");
    let out = t.path().join("toolchains.tar.gz");
    let installed = a.list().expect("list");
    let packed = install::pack(&installed, &out, &mut Quiet).expect("pack");
    assert_eq!(packed.toolchains.len(), 3);
    assert_eq!(packed.sha256, sha256(&fs::read(&out).expect("read")));
    let side = fs::read_to_string(install::sidecar(&out)).expect("sidecar");
    assert_eq!(side, format!("{}  toolchains.tar.gz\n", packed.sha256));
    assert!(install::is_bundle(&out));

    // Without the checksum: refused. With a wrong one: refused.
    let python = Path::new("python3");
    let e = install::import(&b, &w.catalog, &out, None, python, &mut Quiet).unwrap_err();
    assert!(
        matches!(e, ToolchainError::BundleNeedsSha256 { .. }),
        "{e:?}"
    );
    let e = install::import(
        &b,
        &w.catalog,
        &out,
        Some(&"a".repeat(64)),
        python,
        &mut Quiet,
    )
    .unwrap_err();
    assert!(
        matches!(e, ToolchainError::ChecksumMismatch { .. }),
        "{e:?}"
    );
    assert!(b.list().expect("list").is_empty());

    // With it: every toolchain arrives, same files, same modes, same sha256.
    let got = install::import(
        &b,
        &w.catalog,
        &out,
        Some(&packed.sha256),
        python,
        &mut Quiet,
    )
    .expect("import");
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|o| matches!(o, Outcome::Installed(_))));
    let listed_a = a.list().expect("a");
    let listed_b = b.list().expect("b");
    assert_eq!(listed_a.len(), listed_b.len());
    for (x, y) in listed_a.iter().zip(&listed_b) {
        assert_eq!(x.name(), y.name());
        assert_eq!(x.meta.sha256, y.meta.sha256);
        assert!(
            y.meta.origin.contains("packed from: url "),
            "{}",
            y.meta.origin
        );
        let cx = fs::read(x.compiler()).expect("x");
        let cy = fs::read(y.compiler()).expect("y");
        assert_eq!(cx, cy);
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(y.compiler())
            .expect("meta")
            .permissions()
            .mode();
        assert!(mode & 0o111 != 0, "compiler lost its execute bit: {mode:o}");
    }
    assert!(names_in(&b.toolchains_dir().join(".staging")).is_empty());
    // Importing again changes nothing.
    let again = install::import(
        &b,
        &w.catalog,
        &out,
        Some(&packed.sha256),
        python,
        &mut Quiet,
    )
    .expect("again");
    assert!(again
        .iter()
        .all(|o| matches!(o, Outcome::AlreadyInstalled(_))));
    // And the imported Go is selectable.
    let sel = select(Some("go@1.99"), |_| None, &b, None).expect("select");
    assert_eq!(
        sel.toolchain.sha256.as_deref(),
        Some(sha256(&w.go99).as_str())
    );
}

#[test]
fn concurrent_installs_wait_for_each_other() {
    let w = Arc::new(world());
    w.server.set_delay(Duration::from_millis(300));
    let home = tempfile::tempdir().expect("home");
    let root = home.path().to_path_buf();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let w = w.clone();
            let root = root.clone();
            std::thread::spawn(move || {
                let store = Store::at(root);
                install::install(
                    &store,
                    &w.catalog,
                    &spec("go@1.99"),
                    &url_only(None, None),
                    &mut Quiet,
                )
            })
        })
        .collect();
    let outcomes: Vec<Outcome> = handles
        .into_iter()
        .map(|h| h.join().expect("thread").expect("install"))
        .collect();
    let fresh = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Installed(_)))
        .count();
    assert_eq!(
        fresh, 1,
        "exactly one installs, the others wait and find it"
    );
    assert_eq!(
        w.server
            .hits(&format!("/dl/{}", archive_name("go", "1.99.1"))),
        1
    );
    let store = Store::at(&root);
    assert_eq!(store.list().expect("list").len(), 1);
    assert!(names_in(&store.toolchains_dir().join(".staging")).is_empty());
}

fn path_of(dirs: &[&Path]) -> Option<OsString> {
    std::env::join_paths(dirs).ok()
}

#[test]
fn selection_order_pin_env_store_path() {
    let w = world();
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let t = tempfile::tempdir().expect("tmp");
    let path_go = script(&t.path().join("pathbin/go"), &go_script("1.97.0"));
    let env_go = script(&t.path().join("envbin/go"), &go_script("1.96.0"));
    let path = path_of(&[&t.path().join("pathbin")]);
    let env_value = env_go.to_string_lossy().into_owned();
    let with_env = |n: &str| (n == "PELATO_GO").then(|| env_value.clone());
    let no_env = |_: &str| None;

    // Empty store: no pin → env, then PATH.
    let s = select(None, with_env, &store, path.clone()).expect("env");
    assert_eq!(s.toolchain.path, env_go);
    assert!(s.reason.contains("PELATO_GO"), "{}", s.reason);
    let s = select(None, no_env, &store, path.clone()).expect("path");
    assert_eq!(s.toolchain.path, path_go);
    assert_eq!(s.toolchain.source, ToolchainSource::Path);
    assert!(s.reason.contains("PATH"), "{}", s.reason);
    assert!(s.toolchain.sha256.is_none());

    // A pin nothing satisfies: the exact install command, and what was found.
    let e = select(Some("go@1.99"), with_env, &store, path.clone()).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, ToolchainError::PinnedMissing { .. }), "{e:?}");
    assert!(msg.contains("pelato toolchain install go@1.99"), "{msg}");
    assert!(msg.contains("1.97.0") && msg.contains("1.96.0"), "{msg}");

    install::install(
        &store,
        &w.catalog,
        &spec("go@1.99"),
        &url_only(None, None),
        &mut Quiet,
    )
    .expect("install");
    let managed_dir = store.find(&spec("go@1.99")).expect("find")[0].dir.clone();

    // 1. The pin wins over everything.
    let s = select(Some("go@1.99"), with_env, &store, path.clone()).expect("pin");
    assert_eq!(
        s.toolchain.source,
        ToolchainSource::Managed(managed_dir.clone())
    );
    assert_eq!(s.toolchain.goroot, Some(managed_dir.join("go")));
    assert_eq!(
        s.toolchain.sha256.as_deref(),
        Some(sha256(&w.go99).as_str())
    );
    assert!(
        s.reason.contains("workflow.yaml pins `toolchain: go@1.99`"),
        "{}",
        s.reason
    );
    // A pin the store lacks but PELATO_GO or PATH has, by version.
    let s = select(Some("go@1.96"), with_env, &store, path.clone()).expect("pin via env");
    assert_eq!(s.toolchain.path, env_go);
    let s = select(Some("go@1.97"), with_env, &store, path.clone()).expect("pin via PATH");
    assert_eq!(s.toolchain.path, path_go);
    // 2. No pin: the env override beats the store.
    let s = select(None, with_env, &store, path.clone()).expect("env");
    assert_eq!(s.toolchain.path, env_go);
    // 3. Then the store beats PATH.
    let s = select(None, no_env, &store, path.clone()).expect("store");
    assert_eq!(s.toolchain.source, ToolchainSource::Managed(managed_dir));
    assert!(s.reason.contains("managed"), "{}", s.reason);
    // A broken pin is a spec error.
    assert!(matches!(
        select(Some("rust@1"), no_env, &store, path.clone()),
        Err(ToolchainError::BadSpec { .. })
    ));
    // Provenance: the pinned archive's sha256 for managed, the executable's otherwise.
    let p = select(None, no_env, &store, path.clone())
        .expect("store")
        .toolchain
        .provenance()
        .expect("prov");
    assert_eq!(
        (p.kind.as_str(), p.version.as_str(), p.sha256_of.as_str()),
        ("go", "1.99.1", "archive")
    );
    assert_eq!(p.sha256, sha256(&w.go99));
    assert!(p
        .annotations()
        .iter()
        .any(|(k, v)| k == "toolchain.sha256" && *v == p.sha256));
    let p = select(None, with_env, &store, path)
        .expect("env")
        .toolchain
        .provenance()
        .expect("prov");
    assert_eq!(p.sha256_of, "executable");
    assert_eq!(p.sha256, sha256(&fs::read(&env_go).expect("read")));
    assert_eq!(p.source, "env");
}

#[test]
fn managed_tinygo_runs_with_a_managed_go() {
    let w = world();
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let opts = url_only(None, None);
    install::install(&store, &w.catalog, &spec("tinygo@0.77"), &opts, &mut Quiet).expect("tinygo");
    install::install(&store, &w.catalog, &spec("go@1.99"), &opts, &mut Quiet).expect("go 1.99");
    let tiny = &store.find(&spec("tinygo")).expect("find")[0];
    assert_eq!(tiny.meta.go_min.as_deref(), Some("1.98"));

    // TinyGo 0.77 accepts only Go 1.98: the managed 1.99 does not do.
    let e = select(Some("tinygo@0.77"), |_| None, &store, None).unwrap_err();
    assert!(matches!(e, ToolchainError::NeedsGo { .. }), "{e:?}");
    assert!(
        e.to_string().contains("pelato toolchain install go@1.98"),
        "{e}"
    );
    // Without a pin, the store's TinyGo is skipped and its Go used instead.
    let s = select(None, |_| None, &store, None).expect("go from store");
    assert_eq!(s.toolchain.kind, ToolchainKind::Go);

    install::install(&store, &w.catalog, &spec("go@1.98"), &opts, &mut Quiet).expect("go 1.98");
    let go98 = store.find(&spec("go@1.98")).expect("find")[0].clone();
    let s = select(Some("tinygo@0.77"), |_| None, &store, None).expect("tinygo");
    assert_eq!(s.toolchain.kind, ToolchainKind::TinyGo);
    assert_eq!(s.toolchain.goroot, Some(go98.dir.join("go")));
    assert!(s.reason.contains("GOROOT="), "{}", s.reason);
    // No pin: TinyGo first in the store, as on PATH.
    let s2 = select(None, |_| None, &store, None).expect("tinygo from store");
    assert_eq!(s2.toolchain.kind, ToolchainKind::TinyGo);

    // The command line: -target=wasip1 -buildmode=c-shared, GOROOT and PATH
    // from the managed Go, no toolchain switching, no module proxy.
    let t = tempfile::tempdir().expect("tmp");
    let module = t.path().join("module");
    fs::create_dir_all(&module).expect("mkdir");
    fs::write(module.join("go.mod"), "module x\n\ngo 1.24\n").expect("go.mod");
    let out = s
        .toolchain
        .compile(&module, &t.path().join("cache"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.wasm.starts_with(b"\0asm"));
    let tiny_root = tiny.dir.join("tinygo");
    let args = fs::read_to_string(tiny_root.join("args.log")).expect("args.log");
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(
        &args[..4],
        &[
            "build",
            "-target=wasip1",
            "-buildmode=c-shared",
            "-no-debug"
        ],
        "{args:?}"
    );
    assert_eq!(args[4], "-o");
    assert_eq!(args.last(), Some(&"."));
    let env = fs::read_to_string(tiny_root.join("env.log")).expect("env.log");
    let var = |k: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("{k} not set:\n{env}"))
            .to_string()
    };
    assert_eq!(var("GOROOT"), go98.dir.join("go").display().to_string());
    assert!(
        var("PATH").starts_with(&go98.dir.join("go/bin").display().to_string()),
        "{}",
        var("PATH")
    );
    assert_eq!(var("GOTOOLCHAIN"), "local");
    assert_eq!(var("GOPROXY"), "off");
    let _ = &w.tiny;
    let _ = &w.manifests;
}

#[test]
fn a_missing_pin_is_installed_only_when_asked() {
    let w = world();
    let home = tempfile::tempdir().expect("home");
    let store = Store::at(home.path());
    let opts = url_only(None, None);
    let e = pelato::toolchain::select_or_install(
        Some("tinygo@0.77"),
        false,
        |_| None,
        &store,
        None,
        &w.catalog,
        &opts,
        &mut Quiet,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("pelato toolchain install tinygo@0.77"),
        "{e}"
    );
    assert_nothing_installed(&store);
    // Asked to install: the TinyGo, then the Go it needs.
    let s = pelato::toolchain::select_or_install(
        Some("tinygo@0.77"),
        true,
        |_| None,
        &store,
        None,
        &w.catalog,
        &opts,
        &mut Quiet,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.toolchain.kind, ToolchainKind::TinyGo);
    let names: Vec<String> = store
        .list()
        .expect("list")
        .iter()
        .map(|i| i.spec().to_string())
        .collect();
    assert_eq!(names, ["go@1.98.0", "tinygo@0.77.0"]);
}
