//! `pelato toolchain …` as a user runs it, against stand-in archives on a
//! loopback server (PELATO_TOOLCHAIN_MANIFESTS points at test manifests).

use crate::support::toolchain as toolchain_support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use toolchain_support::*;

struct Cli {
    home: tempfile::TempDir,
    manifests: std::path::PathBuf,
    _tmp: tempfile::TempDir,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        self.run_in(self.home.path(), args)
    }

    fn run_in(&self, home: &Path, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_pelato"))
            .arg("toolchain")
            .args(args)
            .env("PELATO_HOME", home)
            .env("PELATO_TOOLCHAIN_MANIFESTS", &self.manifests)
            .env("PATH", "/nonexistent")
            .env_remove("PELATO_GO")
            .env_remove("PELATO_TINYGO")
            .env_remove("PELATO_TOOLCHAIN_MIRROR")
            .env_remove("PELATO_TOOLCHAIN_SOURCE")
            .output()
            .expect("run pelato")
    }
}

fn text(o: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn setup(server: &Server) -> Cli {
    let tmp = tempfile::tempdir().expect("tmp");
    let go = go_archive("1.99.1");
    let tiny = tinygo_archive("0.77.0");
    let unverified = go_archive("1.97.0");
    let entries = [
        Entry {
            kind: "go",
            version: "1.99.1",
            url: server.route("/go.tgz", Reply::Body(go.clone())),
            sha256: sha256(&go),
            go_range: None,
        },
        Entry {
            kind: "go",
            version: "1.97.0",
            url: server.route("/go97.tgz", Reply::Body(unverified)),
            sha256: "unverified".into(),
            go_range: None,
        },
        Entry {
            kind: "tinygo",
            version: "0.77.0",
            url: server.route("/tiny.tgz", Reply::Body(tiny.clone())),
            sha256: sha256(&tiny),
            go_range: Some(("1.99", "1.99")),
        },
    ];
    let manifests = write_manifests(&tmp.path().join("m"), &entries);
    Cli {
        home: tempfile::tempdir().expect("home"),
        manifests,
        _tmp: tmp,
    }
}

#[test]
fn install_list_pack_import_remove() {
    let server = Server::start();
    let cli = setup(&server);

    let o = cli.run(&["install", "go@1.99", "--from", "url"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("installed go@1.99.1"), "{}", text(&o));
    let o = cli.run(&["install", "go@1.99"]);
    assert!(
        o.status.success() && text(&o).contains("already installed"),
        "{}",
        text(&o)
    );

    // list: the store, PATH, the pinned manifests, and a project's choice.
    let project = tempfile::tempdir().expect("project");
    fs::create_dir_all(project.path().join("tasks")).expect("tasks");
    fs::write(
        project.path().join("tasks/echo.go"),
        "package main\n\nfunc exec_task(arg string) string { return arg }\n",
    )
    .expect("task");
    fs::write(
        project.path().join("workflow.yaml"),
        "project_name: demo\ntoolchain: go@1.99\ntasks:\n  - name: echo\n    type: processor_nats\n    code: tasks/echo.go\n    targets: [edge]\n    source_topic: a.b\n    dest_topic: a.c\n    component_name: echo\n    version: 1.0.0\n",
    )
    .expect("workflow");
    let p = project.path().to_string_lossy().into_owned();
    let o = cli.run(&["list", "--project", &p]);
    let s = text(&o);
    assert!(o.status.success(), "{s}");
    assert!(s.contains("go@1.99.1") && s.contains("sha256"), "{s}");
    assert!(s.contains("(no go or tinygo)"), "{s}");
    assert!(
        s.contains("go@1.97.0") && s.contains("checksum unverified"),
        "{s}"
    );
    assert!(
        s.contains("tinygo@0.77.0") && s.contains("needs Go 1.99–1.99"),
        "{s}"
    );
    assert!(s.contains("pins `toolchain: go@1.99`"), "{s}");
    assert!(s.contains("because workflow.yaml pins"), "{s}");

    // pack → import into another home.
    let out_dir = tempfile::tempdir().expect("out");
    let bundle = out_dir.path().join("bundle.tar.gz");
    let b = bundle.to_string_lossy().into_owned();
    let o = cli.run(&["pack", &b]);
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let sha = stdout
        .split_whitespace()
        .next()
        .expect("sha256 on stdout")
        .to_string();
    assert_eq!(sha, sha256(&fs::read(&bundle).expect("bundle")));
    assert!(
        text(&o).contains(&format!(
            "pelato toolchain import bundle.tar.gz --sha256 {sha}"
        )),
        "{}",
        text(&o)
    );
    let other = tempfile::tempdir().expect("other home");
    let o = cli.run_in(other.path(), &["import", &b]);
    assert!(
        !o.status.success() && text(&o).contains("--sha256"),
        "{}",
        text(&o)
    );
    let o = cli.run_in(other.path(), &["import", &b, "--sha256", &sha]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cli.run_in(other.path(), &["list"]);
    assert!(text(&o).contains("packed from: url"), "{}", text(&o));

    // remove.
    let o = cli.run(&["remove", "go@1.99"]);
    assert!(
        o.status.success() && text(&o).contains("removed go@1.99.1"),
        "{}",
        text(&o)
    );
    let o = cli.run(&["remove", "go@1.99"]);
    assert!(
        !o.status.success() && text(&o).contains("not installed"),
        "{}",
        text(&o)
    );
    let o = cli.run(&["list"]);
    assert!(text(&o).contains("(nothing installed)"), "{}", text(&o));
    let o = cli.run(&["pack", &b]);
    assert!(
        !o.status.success() && text(&o).contains("nothing is installed"),
        "{}",
        text(&o)
    );
}

#[test]
fn refusals_say_what_to_do() {
    let server = Server::start();
    let cli = setup(&server);

    let o = cli.run(&["install", "go@1.97"]);
    let s = text(&o);
    assert!(!o.status.success(), "{s}");
    assert!(
        s.contains("no verified sha256") && s.contains("--sha256 <hex>"),
        "{s}"
    );
    assert_eq!(server.hits("/go97.tgz"), 0);

    let o = cli.run(&["install", "go@1.5"]);
    assert!(
        !o.status.success() && text(&o).contains("known: go@1.99.1, go@1.97.0"),
        "{}",
        text(&o)
    );
    let o = cli.run(&["install", "rust@1"]);
    assert!(
        !o.status.success() && text(&o).contains("only `go` and `tinygo`"),
        "{}",
        text(&o)
    );
    let o = cli.run(&["install", "go@1.99", "--from", "ftp"]);
    assert!(
        !o.status.success() && text(&o).contains("`auto`, `url` or `pip`"),
        "{}",
        text(&o)
    );
    let o = cli.run(&["install", "go@1.99", "--sha256", "xyz"]);
    assert!(
        !o.status.success() && text(&o).contains("64 hexadecimal"),
        "{}",
        text(&o)
    );

    // A mirror that serves something else: refused, nothing installed.
    let bogus = go_archive("6.6.6");
    server.route(
        &format!("/mirror/{}", archive_name("go", "1.99.1")),
        Reply::Body(bogus),
    );
    let o = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .args(["toolchain", "install", "go@1.99"])
        .env("PELATO_HOME", cli.home.path())
        .env("PELATO_TOOLCHAIN_MANIFESTS", &cli.manifests)
        .env("PELATO_TOOLCHAIN_MIRROR", format!("{}/mirror", server.base))
        .env("PELATO_TOOLCHAIN_SOURCE", "url")
        .output()
        .expect("run");
    let s = text(&o);
    assert!(
        !o.status.success() && s.contains("sha256 mismatch") && s.contains("/mirror/"),
        "{s}"
    );
    let o = cli.run(&["list"]);
    assert!(text(&o).contains("(nothing installed)"), "{}", text(&o));

    // import of a file the manifests do not know.
    let t = tempfile::tempdir().expect("tmp");
    let f = t.path().join("random.tar.gz");
    fs::write(&f, b"junk").expect("write");
    let o = cli.run(&["import", &f.to_string_lossy()]);
    assert!(
        !o.status.success() && text(&o).contains("not a file pinned"),
        "{}",
        text(&o)
    );
}

#[test]
fn tinygo_install_and_missing_go() {
    let server = Server::start();
    let cli = setup(&server);
    let o = cli.run(&["install", "tinygo@0.77"]);
    assert!(o.status.success(), "{}", text(&o));
    // No managed Go 1.99 yet: the project's pin says exactly what to install.
    let o = cli.run(&["list", "--project", "/nonexistent-project"]);
    let s = text(&o);
    assert!(s.contains("tinygo@0.77.0"), "{s}");
    assert!(s.contains("pelato toolchain install go@1.99"), "{s}");
    let o = cli.run(&["install", "go@1.99"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = cli.run(&["list"]);
    let s = text(&o);
    assert!(s.contains("uses tinygo 0.77.0"), "{s}");
    assert!(s.contains("newest managed toolchain"), "{s}");
}

#[test]
fn help_lists_the_subcommands() {
    let o = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .args(["toolchain", "--help"])
        .output()
        .expect("run");
    let s = text(&o);
    assert!(o.status.success(), "{s}");
    for sub in ["list", "install", "import", "pack", "remove"] {
        assert!(s.contains(sub), "{sub} missing:\n{s}");
    }
}
