//! The `pelato` command line: a thin clap front end over the `pelato` library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;

/// From a plain Go function to a WebAssembly component on wasmCloud.
#[derive(Parser)]
#[command(name = "pelato", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate workflow.yaml and render a Go module and wadm manifest per task.
    Gen(commands::gen::GenArgs),
    /// Generate, then compile and componentize every task.
    Build(commands::build::BuildArgs),
    /// Build if needed, then run every task's test cases in the embedded harness.
    Test(commands::test::TestArgs),
    /// Build if needed, deliver one message to a component, print what it published.
    Call(commands::call::CallArgs),
    /// Build if needed, then measure the per-message cost of components (p50/p99).
    Bench(commands::bench::BenchArgs),
    /// The whole pipeline: gen → build → test → push → deploy.
    Brush(commands::brush::BrushArgs),
    /// Build what is stale, then publish components as OCI artifacts.
    Push(commands::push::PushArgs),
    /// Put and deploy the wadm applications over NATS and follow their status.
    Deploy(commands::deploy::DeployArgs),
    /// Undeploy and delete the project's wadm applications.
    Remove(commands::deploy::RemoveArgs),
    /// Show the status of the project's wadm applications.
    Status(commands::deploy::StatusArgs),
    /// Summarise the runs recorded with ENABLE_METRICS=true.
    Metrics(commands::metrics::MetricsArgs),
    /// Make the project build offline: `go mod tidy` + `go mod vendor` for its tasks' imports.
    Vendor(commands::vendor::VendorArgs),
    /// Remove generated files and/or the shared cache.
    Clean(commands::clean::CleanArgs),
    /// List the built-in and user templates with their WIT worlds.
    Templates(commands::templates::TemplatesArgs),
    /// Manage locally installed Go/TinyGo toolchains: list, install, import, pack, remove.
    Toolchain(commands::toolchain::ToolchainArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Gen(a) => a.exec(),
        Command::Build(a) => a.exec(),
        Command::Test(a) => a.exec(),
        Command::Call(a) => a.exec(),
        Command::Bench(a) => a.exec(),
        Command::Brush(a) => a.exec(),
        Command::Push(a) => a.exec(),
        Command::Deploy(a) => a.exec(),
        Command::Remove(a) => a.exec(),
        Command::Status(a) => a.exec(),
        Command::Metrics(a) => a.exec(),
        Command::Vendor(a) => a.exec(),
        Command::Clean(a) => a.exec(),
        Command::Templates(a) => a.exec(),
        Command::Toolchain(a) => a.exec(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
