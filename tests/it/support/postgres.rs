//! A throw-away Postgres cluster for tests: Debian's `postgresql` binaries
//! (`initdb` + `pg_ctl`), on 127.0.0.1 and a free port, in a temp dir, with
//! password (scram) authentication. Stopped and deleted on drop.
//!
//! `initdb` refuses to run as root; as root, the server runs as the `postgres`
//! system user (via `runuser`).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// Superuser name.
    pub user: String,
    /// Its password.
    pub password: String,
    /// Database the tests use.
    pub database: String,
}

fn find_bin() -> PathBuf {
    if let Ok(p) = which::which("pg_ctl") {
        if let Ok(real) = std::fs::canonicalize(&p) {
            return real.parent().expect("bin dir").to_path_buf();
        }
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| rd.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.pop()
        .filter(|d| d.join("pg_ctl").exists())
        .expect("Postgres binaries not found: apt-get install postgresql (scripts/setup does)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

impl Postgres {
    /// Initializes and starts a cluster, and creates database `pelato`.
    pub fn start() -> Postgres {
        let bin = find_bin();
        let dir = tempfile::Builder::new()
            .prefix("pelato-pg-")
            .tempdir()
            .expect("tempdir");
        let root = is_root();
        if root {
            // The postgres user must own the cluster dir (and reach it).
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()));
            run(Command::new("chmod").arg("755").arg(dir.path()));
        }
        let password = format!("pw-{}", std::process::id());
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, &password).expect("pwfile");
        if root {
            run(Command::new("chown").arg("postgres:postgres").arg(&pwfile));
        }
        let data = dir.path().join("data");
        let pg = Postgres {
            bin,
            port: free_port(),
            user: "pelato".into(),
            password,
            database: "pelato".into(),
            dir,
        };
        pg.run_as_owner(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                "pelato",
                "--pwfile",
                path_str(&pwfile),
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
            ],
        );
        let sock = pg.dir.path().to_path_buf();
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off",
            pg.port,
            sock.display()
        );
        let log = pg.dir.path().join("server.log");
        pg.run_as_owner(
            "pg_ctl",
            &[
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-o",
                &opts,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        pg.psql_db("postgres", "CREATE DATABASE pelato");
        pg
    }

    fn run_as_owner(&self, tool: &str, args: &[&str]) {
        let exe = self.bin.join(tool);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(self.dir.path());
        run(&mut cmd);
    }

    /// Runs SQL in database `db` with psql; returns its unaligned output.
    pub fn psql_db(&self, db: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                &self.user,
                "-d",
                db,
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-X", "-A", "-t", "-c", sql])
            .env("PGPASSWORD", &self.password)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Runs SQL in the test database.
    pub fn psql(&self, sql: &str) -> String {
        self.psql_db(&self.database, sql)
    }

    /// The harness's connection settings for this cluster.
    pub fn config(&self) -> pelato::harness::PostgresConfig {
        pelato::harness::PostgresConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            username: self.user.clone(),
            password: self.password.clone(),
            database: self.database.clone(),
            tls_required: false,
        }
    }

    /// The POSTGRES_* variables for this cluster (for `pelato` subprocesses).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("POSTGRES_HOST", "127.0.0.1".into()),
            ("POSTGRES_PORT", self.port.to_string()),
            ("POSTGRES_USERNAME", self.user.clone()),
            ("POSTGRES_PASSWORD", self.password.clone()),
            ("POSTGRES_DATABASE", self.database.clone()),
        ]
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let exe = self.bin.join("pg_ctl");
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let _ = cmd
            .args(["-D", path_str(&data), "-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
