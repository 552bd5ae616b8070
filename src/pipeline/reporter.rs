//! How the pipeline tells what it is doing: a [`Reporter`] receives stage
//! changes and lines of progress; the CLI renders them (live bars, plain
//! lines, nothing when quiet), a library user may ignore them ([`Silent`]).

/// A pipeline stage of one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Rendering the task's Go module and manifest.
    Gen,
    /// Compiling the Go module to a wasip1 core module.
    Compile,
    /// Pre-initializing the core module after Go's init.
    Snapshot,
    /// Turning the core module into a component.
    Componentize,
    /// Running the task's test cases in the harness.
    Test,
    /// Publishing the component as an OCI artifact.
    Push,
    /// Putting and deploying the wadm application.
    Deploy,
}

impl Stage {
    /// The stage's name as shown and recorded (`compile`, `push`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Gen => "gen",
            Stage::Compile => "compile",
            Stage::Snapshot => "snapshot",
            Stage::Componentize => "componentize",
            Stage::Test => "test",
            Stage::Push => "push",
            Stage::Deploy => "deploy",
        }
    }

    /// The stage the build module names `name` (`compile`, `snapshot`,
    /// `componentize`).
    pub fn from_build(name: &str) -> Stage {
        match name {
            "compile" => Stage::Compile,
            "snapshot" => Stage::Snapshot,
            _ => Stage::Componentize,
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// Receives what the pipeline is doing. Called from build worker threads,
/// hence `Send + Sync`.
pub trait Reporter: Send + Sync {
    /// Task `component` entered `stage`.
    fn stage(&self, component: &str, stage: Stage);
    /// A line of progress (a quiet renderer drops it).
    fn info(&self, line: &str);
    /// A line to show even when quiet: a failure or a warning.
    fn warn(&self, line: &str);
}

/// A [`Reporter`] that drops everything: the default of
/// [`RunOptions`](super::RunOptions).
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn stage(&self, _: &str, _: Stage) {}
    fn info(&self, _: &str) {}
    fn warn(&self, _: &str) {}
}
