//! Go modules, offline (issue 16), with the real Go and no network: a project with its own
//! go.mod, a `helpers` package, a second module through `replace`, `vendor/`, a `file://`
//! GOPROXY mirror, go.sum tampering, a missing module, a task folder, and the cache key.
//! Every component's output is compared with the same `exec_task` run natively (`go run`).

use crate::support::project as support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use pelato::build::BuildError;
use pelato::gomod::ModuleError;
use pelato::harness::{Harness, Message};
use pelato::pipeline::{self, Project, TaskReport};
use support::{go, options};

const WORKFLOW: &str = "project_name: mods
tasks:
  - name: shout
    type: processor
    code: shout.go
    targets: [edge]
    source_topic: in.shout
    dest_topic: out.shout
    component_name: shout
    version: 1.0.0
  - name: convert
    type: processor
    code: convert/
    targets: [edge]
    source_topic: in.convert
    dest_topic: out.convert
    component_name: convert
    version: 1.0.0
  - name: plain
    type: processor
    code: plain.go
    targets: [edge]
    source_topic: in.plain
    dest_topic: out.plain
    component_name: plain
    version: 1.0.0
";

/// Inputs each task is called with (natively and as a component).
const CASES: [(&str, &str); 3] = [
    ("shout", "hello modules"),
    ("convert", "21.5"),
    ("plain", "abc"),
];

/// `parent/proj` (the user's module, example.com/proj) and `parent/lib` (example.com/lib,
/// reached through `replace`).
struct Fixture {
    parent: tempfile::TempDir,
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

impl Fixture {
    fn new() -> Fixture {
        let parent = tempfile::tempdir().unwrap();
        let f = Fixture { parent };
        let lib = f.lib();
        write(&lib.join("go.mod"), "module example.com/lib\n\ngo 1.22\n");
        write(
            &lib.join("lib.go"),
            "package lib\n\nimport \"strings\"\n\n// Shout upper-cases s and adds a bang.\nfunc Shout(s string) string { return strings.ToUpper(s) + \"!\" }\n",
        );
        let p = f.proj();
        write(&p.join("workflow.yaml"), WORKFLOW);
        write(
            &p.join("go.mod"),
            "module example.com/proj\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n\nreplace example.com/lib => ../lib\n",
        );
        write(
            &p.join("helpers/helpers.go"),
            "package helpers\n\nimport \"example.com/lib\"\n\n// Frame shouts s between brackets.\nfunc Frame(s string) string { return \"[\" + lib.Shout(s) + \"]\" }\n",
        );
        write(
            &p.join("units/units.go"),
            "package units\n\n// Kelvin converts Celsius.\nfunc Kelvin(c float64) float64 { return c + 273.15 }\n",
        );
        write(
            &p.join("tasks/shout.go"),
            "package main\n\nimport \"example.com/proj/helpers\"\n\nfunc exec_task(arg string) string { return helpers.Frame(arg) }\n",
        );
        write(
            &p.join("tasks/plain.go"),
            "package main\n\nimport \"strings\"\n\nfunc exec_task(arg string) string { return strings.Repeat(arg, 2) }\n",
        );
        // A task folder of three files.
        write(
            &p.join("tasks/convert/main.go"),
            "package main\n\nfunc exec_task(arg string) string { return format(kelvin(parse(arg))) }\n",
        );
        write(
            &p.join("tasks/convert/parse.go"),
            "package main\n\nimport \"strconv\"\n\nfunc parse(s string) float64 { v, _ := strconv.ParseFloat(s, 64); return v }\n",
        );
        write(
            &p.join("tasks/convert/format.go"),
            "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/proj/units\"\n)\n\nfunc kelvin(c float64) float64 { return units.Kelvin(c) }\n\nfunc format(k float64) string { return fmt.Sprintf(\"%.2f K\", k) }\n",
        );
        f.set_env(&[]);
        f
    }

    fn proj(&self) -> PathBuf {
        self.parent.path().join("proj")
    }

    fn lib(&self) -> PathBuf {
        self.parent.path().join("lib")
    }

    fn mod_cache(&self) -> PathBuf {
        self.parent.path().join("modcache")
    }

    /// The project's `.env`: a private module cache, plus `extra` Go variables.
    fn set_env(&self, extra: &[(&str, &str)]) {
        let mut text = format!("GOMODCACHE={}\n", self.mod_cache().display());
        for (k, v) in extra {
            text.push_str(&format!("{k}={v}\n"));
        }
        write(&self.proj().join(".env"), &text);
    }

    /// The Go variables of `.env` (for the native runs).
    fn env_vars(&self) -> Vec<(String, String)> {
        fs::read_to_string(self.proj().join(".env"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load(&self) -> Project {
        Project::load(&self.proj()).unwrap_or_else(|e| panic!("project should load: {e}"))
    }

    fn build(&self) -> Vec<TaskReport> {
        let project = self.load();
        pipeline::build(&project, &go(), &options(&project), &|_| {})
    }

    /// Runs `exec_task` of `task` natively with `go run`: the task's files plus a small
    /// `main` in a throw-away package of the user's module.
    fn native(&self, task: &str, input: &str) -> String {
        let dir = self.proj().join("cmd").join(format!("native_{task}"));
        fs::create_dir_all(&dir).unwrap();
        let src = self.proj().join("tasks");
        if src.join(task).is_dir() {
            for e in fs::read_dir(src.join(task)).unwrap() {
                let e = e.unwrap();
                fs::copy(e.path(), dir.join(e.file_name())).unwrap();
            }
        } else {
            fs::copy(src.join(format!("{task}.go")), dir.join("task.go")).unwrap();
        }
        write(
            &dir.join("zz_main.go"),
            "package main\n\nimport (\n\t\"fmt\"\n\t\"io\"\n\t\"os\"\n)\n\nfunc main() {\n\tb, _ := io.ReadAll(os.Stdin)\n\tfmt.Print(exec_task(string(b)))\n}\n",
        );
        let go_bin = go().path.clone();
        let mut cmd = Command::new(go_bin);
        cmd.current_dir(self.proj())
            .args(["run", &format!("./cmd/native_{task}")])
            .env("GOTOOLCHAIN", "local")
            .env("GOWORK", "off")
            .env("GOPROXY", "off")
            .env("GOSUMDB", "off")
            .env_remove("GOFLAGS")
            .env_remove("GOROOT")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        for (k, v) in self.env_vars() {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("go run");
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        fs::remove_dir_all(self.proj().join("cmd")).unwrap();
        assert!(
            out.status.success(),
            "native run of {task} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Every task built, and each component answers like the native run.
    fn assert_matches_native(&self, reports: &[TaskReport]) {
        let project = self.load();
        let harness = Harness::new(options(&project).harness).unwrap();
        for (task, input) in CASES {
            let b = built(reports, task);
            let expected = self.native(task, input);
            let c = harness.load_file(&b.path).unwrap();
            let d = c
                .deliver(&Message::new(format!("in.{task}"), input))
                .unwrap();
            assert_eq!(
                d.body_to(&format!("out.{task}")).as_deref(),
                Some(expected.as_str()),
                "{task}: the component and `go run` disagree"
            );
        }
    }
}

fn built<'a>(reports: &'a [TaskReport], component: &str) -> &'a pelato::build::Built {
    let r = reports
        .iter()
        .find(|r| r.component == component)
        .expect("task");
    match &r.build {
        Some(Ok(b)) => b,
        other => panic!(
            "{component} did not build: gen={:?} build={:?}",
            r.gen
                .as_ref()
                .map(|g| g.as_ref().err().map(|e| e.to_string())),
            other
                .as_ref()
                .map(|b| b.as_ref().err().map(|e| e.to_string()))
        ),
    }
}

fn build_error<'a>(reports: &'a [TaskReport], component: &str) -> &'a BuildError {
    let r = reports
        .iter()
        .find(|r| r.component == component)
        .expect("task");
    match &r.build {
        Some(Err(e)) => e,
        other => panic!("{component} should fail to build, got {other:?}"),
    }
}

fn go_cmd(dir: &Path, args: &[&str], envs: &[(String, String)]) -> std::process::Output {
    let mut cmd = Command::new(go().path.clone());
    cmd.current_dir(dir)
        .args(args)
        .env("GOTOOLCHAIN", "local")
        .env("GOWORK", "off")
        .env("GOPROXY", "off")
        .env("GOSUMDB", "off")
        .env_remove("GOROOT")
        .env_remove("GOFLAGS");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn own_packages_and_a_replaced_module_build_and_match_go_run() {
    let f = Fixture::new();
    let reports = f.build();
    f.assert_matches_native(&reports);
    // The generated package lives inside the user's module: no go.mod of its own, and
    // `go build` in gen/<component> works with the documented environment.
    let gen_dir = f.proj().join("gen/shout");
    assert!(!gen_dir.join("go.mod").exists());
    let mut envs = f.env_vars();
    envs.extend([
        ("GOOS".into(), "wasip1".into()),
        ("GOARCH".into(), "wasm".into()),
    ]);
    let out = go_cmd(
        &gen_dir,
        &["build", "-buildmode=c-shared", "-o", "x.wasm", "."],
        &envs,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The user's own `go build ./...` (native) skips the generated wasip1-only packages.
    let out = go_cmd(
        &f.proj(),
        &["vet", "./helpers/...", "./units/...", "./gen/..."],
        &f.env_vars(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn compiler_errors_in_a_helper_point_at_the_users_file() {
    let f = Fixture::new();
    write(
        &f.proj().join("helpers/helpers.go"),
        "package helpers\n\nimport \"example.com/lib\"\n\nfunc Frame(s string) string { return \"[\" + lib.Shout(s) + missing }\n",
    );
    let reports = f.build();
    let e = build_error(&reports, "shout").to_string();
    assert!(e.contains("helpers/helpers.go:5:"), "{e}");
    assert!(!e.contains("../"), "{e}");
    // Tasks that do not import the helper still build.
    built(&reports, "plain");
    built(&reports, "convert");
}

#[test]
fn vendor_folder_builds_with_the_module_source_removed() {
    let f = Fixture::new();
    // `pelato vendor`, through the CLI.
    let out = Command::new(env!("CARGO_BIN_EXE_pelato"))
        .arg("vendor")
        .arg(f.proj())
        .env("GOMODCACHE", f.mod_cache())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let modules = fs::read_to_string(f.proj().join("vendor/modules.txt")).unwrap();
    assert!(
        modules.contains("# example.com/lib v1.0.0 => ../lib"),
        "{modules}"
    );
    assert!(f.proj().join("vendor/example.com/lib/lib.go").is_file());
    fs::remove_dir_all(f.lib()).unwrap();
    let reports = f.build();
    f.assert_matches_native(&reports);
}

#[test]
fn missing_module_names_module_task_places_and_fix_and_writes_nothing() {
    let f = Fixture::new();
    fs::remove_dir_all(f.lib()).unwrap();
    // No replace any more: the module must come from the (empty) cache or a proxy.
    write(
        &f.proj().join("go.mod"),
        "module example.com/proj\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n",
    );
    // go.sum knows the module (as a project carried over would); its source is nowhere.
    write(
        &f.proj().join("go.sum"),
        "example.com/lib v1.0.0 h1:ZxxbuPLiLVZ4ZpvehiJlG/hFG3jMHieucZi/D8v/swk=\nexample.com/lib v1.0.0/go.mod h1:Dx1zv02UsdsagVg8JGP9CfaRr9j4IApAGUMhJrQ+NLw=\n",
    );
    let reports = f.build();
    match build_error(&reports, "shout") {
        BuildError::Module { source, .. } => {
            let ModuleError::Missing {
                task,
                module,
                version,
                at,
                searched,
                ..
            } = &**source
            else {
                panic!("expected a missing module, got {source:?}")
            };
            assert_eq!(task, "shout");
            assert_eq!(module, "example.com/lib");
            assert_eq!(version.as_deref(), Some("v1.0.0"));
            assert!(at.starts_with("helpers/helpers.go:3"), "{at}");
            let searched = searched.join("; ");
            assert!(
                searched.contains(&f.mod_cache().display().to_string()),
                "{searched}"
            );
            assert!(searched.contains("GOPROXY=off"), "{searched}");
        }
        other => panic!("expected a missing module, got {other:?}"),
    }
    let text = build_error(&reports, "shout").to_string();
    assert!(text.contains("pelato vendor"), "{text}");
    assert!(text.contains("GOPROXY"), "{text}");
    assert!(!f.proj().join("build/shout.wasm").exists());
    built(&reports, "plain");
}

/// Lays out a `file://` GOPROXY mirror serving example.com/lib v1.0.0 from `lib`, with the
/// zip written by Go's archive/zip (a small program run with `go run`).
fn mirror(f: &Fixture) -> PathBuf {
    let root = f.parent.path().join("mirror");
    let v = root.join("example.com/lib/@v");
    fs::create_dir_all(&v).unwrap();
    fs::write(v.join("list"), "v1.0.0\n").unwrap();
    fs::write(
        v.join("v1.0.0.info"),
        "{\"Version\":\"v1.0.0\",\"Time\":\"2024-01-01T00:00:00Z\"}\n",
    )
    .unwrap();
    fs::copy(f.lib().join("go.mod"), v.join("v1.0.0.mod")).unwrap();
    let zipper = f.parent.path().join("zipper");
    write(&zipper.join("go.mod"), "module zipper\n\ngo 1.22\n");
    write(
        &zipper.join("main.go"),
        r#"package main

import (
	"archive/zip"
	"os"
	"path/filepath"
)

// zipper SRC PREFIX OUT: every file of SRC as PREFIX/relative/path.
func main() {
	src, prefix, out := os.Args[1], os.Args[2], os.Args[3]
	f, err := os.Create(out)
	if err != nil {
		panic(err)
	}
	w := zip.NewWriter(f)
	err = filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		e, err := w.Create(prefix + "/" + filepath.ToSlash(rel))
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = e.Write(b)
		return err
	})
	if err != nil {
		panic(err)
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	f.Close()
}
"#,
    );
    let out = go_cmd(
        &zipper,
        &[
            "run",
            ".",
            f.lib().to_str().unwrap(),
            "example.com/lib@v1.0.0",
            v.join("v1.0.0.zip").to_str().unwrap(),
        ],
        &[("GOMODCACHE".into(), f.mod_cache().display().to_string())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    root
}

/// The project without its `replace`: example.com/lib comes from the mirror.
fn use_mirror(f: &Fixture) -> PathBuf {
    let root = mirror(f);
    fs::remove_dir_all(f.lib()).unwrap();
    write(
        &f.proj().join("go.mod"),
        "module example.com/proj\n\ngo 1.22\n\nrequire example.com/lib v1.0.0\n",
    );
    f.set_env(&[
        ("GOPROXY", &format!("file://{}", root.display())),
        ("GOFLAGS", "-mod=mod"),
    ]);
    root
}

#[test]
fn file_proxy_mirror_with_mod_mod() {
    let f = Fixture::new();
    // The mirror is made from the module's source, which is then removed.
    use_mirror(&f);
    let reports = f.build();
    f.assert_matches_native(&reports);
    let sum = fs::read_to_string(f.proj().join("go.sum")).unwrap();
    assert!(sum.contains("example.com/lib v1.0.0 h1:"), "{sum}");
}

#[test]
fn tampered_go_sum_is_refused_with_the_module_named() {
    let f = Fixture::new();
    use_mirror(&f);
    // A well-formed go.sum whose hash for the module's content is wrong.
    write(
        &f.proj().join("go.sum"),
        "example.com/lib v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    );
    let reports = f.build();
    match build_error(&reports, "shout") {
        BuildError::Module { source, .. } => {
            let ModuleError::Checksum {
                module,
                version,
                expected,
                downloaded,
                ..
            } = &**source
            else {
                panic!("expected a checksum mismatch, got {source:?}")
            };
            assert_eq!(
                (module.as_str(), version.as_str()),
                ("example.com/lib", "v1.0.0")
            );
            assert_eq!(expected, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
            assert!(
                downloaded.starts_with("h1:") && downloaded != expected,
                "{downloaded}"
            );
        }
        other => panic!("expected a checksum mismatch, got {other:?}"),
    }
    assert!(!f.proj().join("build/shout.wasm").exists());
    assert!(build_error(&reports, "shout")
        .to_string()
        .contains("go.sum"));
}

#[test]
fn editing_a_helper_rebuilds_exactly_the_tasks_that_import_it() {
    let f = Fixture::new();
    let first = f.build();
    for (task, _) in CASES {
        built(&first, task);
    }
    let again = f.build();
    for (task, _) in CASES {
        assert!(built(&again, task).cached, "{task} should be cached");
    }
    // helpers is imported by shout only; units by convert only.
    write(
        &f.proj().join("helpers/helpers.go"),
        "package helpers\n\nimport \"example.com/lib\"\n\n// Frame shouts s between braces.\nfunc Frame(s string) string { return \"{\" + lib.Shout(s) + \"}\" }\n",
    );
    let after = f.build();
    assert!(!built(&after, "shout").cached, "shout imports helpers");
    assert!(
        built(&after, "convert").cached,
        "convert does not import helpers"
    );
    assert!(
        built(&after, "plain").cached,
        "plain does not import helpers"
    );
    f.assert_matches_native(&after);
    // The replaced module is an input of the task that reaches it through helpers.
    write(
        &f.lib().join("lib.go"),
        "package lib\n\n// Shout adds two bangs.\nfunc Shout(s string) string { return s + \"!!\" }\n",
    );
    let after = f.build();
    assert!(!built(&after, "shout").cached);
    assert!(built(&after, "convert").cached);
    // go.mod is an input of every task.
    let gomod = fs::read_to_string(f.proj().join("go.mod")).unwrap();
    write(&f.proj().join("go.mod"), &format!("{gomod}\n// edited\n"));
    let after = f.build();
    for (task, _) in CASES {
        assert!(!built(&after, task).cached, "{task}: go.mod changed");
    }
}

#[test]
fn a_task_folder_is_checked_as_one_task() {
    let f = Fixture::new();
    let dir = f.proj().join("tasks/convert");
    let load_err = || match Project::load(&f.proj()) {
        Ok(_) => panic!("the workflow should be refused"),
        Err(e) => e.to_string(),
    };
    // exec_task in two files.
    write(
        &dir.join("parse.go"),
        "package main\n\nfunc exec_task(arg string) string { return arg }\n",
    );
    let e = load_err();
    assert!(
        e.contains("declared in several files of tasks/convert/"),
        "{e}"
    );
    assert!(
        e.contains("tasks/convert/main.go") && e.contains("tasks/convert/parse.go"),
        "{e}"
    );
    // exec_task in none.
    fs::remove_file(dir.join("main.go")).unwrap();
    write(
        &dir.join("parse.go"),
        "package main\n\nfunc parse(s string) string { return s }\n",
    );
    let e = load_err();
    assert!(e.contains("none of the files of tasks/convert/"), "{e}");
    // A file of another package is named.
    write(
        &dir.join("main.go"),
        "package main\n\nfunc exec_task(arg string) string { return parse(arg) }\n",
    );
    write(&dir.join("format.go"), "package other\n");
    let e = load_err();
    assert!(
        e.contains("tasks/convert/format.go declares `package other`"),
        "{e}"
    );
    // An empty folder.
    for n in ["main.go", "parse.go", "format.go"] {
        fs::remove_file(dir.join(n)).unwrap();
    }
    let e = load_err();
    assert!(e.contains("holds no .go files"), "{e}");
}
