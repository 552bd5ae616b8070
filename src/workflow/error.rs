//! Why a project could not be loaded.

use std::io;
use std::path::PathBuf;

use crate::diagnostic::Diagnostic;

/// Why a project could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// A file or folder could not be read for a reason other than the
    /// project's content (permissions, I/O failure).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The path that could not be read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The project is invalid; every problem found is listed.
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
}

impl WorkflowError {
    /// The diagnostics of an [`WorkflowError::Invalid`] error (empty for I/O errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            WorkflowError::Invalid(d) => d,
            WorkflowError::Io { .. } => &[],
        }
    }
}

fn render_diagnostics(diags: &[Diagnostic]) -> String {
    let n = diags.len();
    let mut out = format!(
        "{n} problem{} found in the project:",
        if n == 1 { "" } else { "s" }
    );
    for d in diags {
        out.push_str("\n  ");
        out.push_str(&d.to_string());
    }
    out
}

/// A [`WorkflowError::Invalid`] with one diagnostic.
pub(crate) fn invalid(d: Diagnostic) -> WorkflowError {
    WorkflowError::Invalid(vec![d])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_rendered() {
        let d = Diagnostic::new("workflow.yaml", "missing").with_task("task #2");
        let e = WorkflowError::Invalid(vec![d.clone(), d]);
        let s = e.to_string();
        assert!(s.starts_with("2 problems found"));
        assert_eq!(s.lines().count(), 3);
    }
}
