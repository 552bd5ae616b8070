//! A problem found in a user's project files, with where it is and how to
//! fix it: what every check of workflow.yaml and the task files reports.

use std::fmt;
use std::path::PathBuf;

/// One problem found in a project, with where it is and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// File the problem is in, relative to the project root when it is inside
    /// it (e.g. `workflow.yaml`, `tasks/convert.go`).
    pub file: PathBuf,
    /// 1-based line in `file`, when known.
    pub line: Option<usize>,
    /// Task name, or `task #N` (1-based) for a task without a usable name.
    pub task: Option<String>,
    /// Field of workflow.yaml concerned (e.g. `version`, `tests`).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
    /// A concrete way to fix it.
    pub fix: Option<String>,
}

impl Diagnostic {
    /// A diagnostic about `file` with only a message.
    pub fn new(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            line: None,
            task: None,
            field: None,
            message: message.into(),
            fix: None,
        }
    }

    /// Sets the line.
    pub fn with_line(mut self, line: Option<usize>) -> Self {
        self.line = line;
        self
    }

    /// Sets the task.
    pub fn with_task(mut self, task: impl Into<String>) -> Self {
        self.task = Some(task.into());
        self
    }

    /// Sets the field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Sets the fix.
    pub fn with_fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

/// Whether a task label is a generated `task #N` rather than a name.
pub(crate) fn is_numbered_label(task: &str) -> bool {
    task.strip_prefix("task #")
        .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(task) = &self.task {
            if is_numbered_label(task) {
                f.write_str(task)?;
            } else {
                write!(f, "task {task:?}")?;
            }
            if self.field.is_some() {
                f.write_str(", ")?;
            } else {
                f.write_str(": ")?;
            }
        }
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " — fix: {fix}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_display() {
        let d = Diagnostic::new("workflow.yaml", "\"1.0\" is not a semantic version")
            .with_line(Some(14))
            .with_task("convert")
            .with_field("version")
            .with_fix("write MAJOR.MINOR.PATCH, e.g. 1.0.0");
        assert_eq!(
            d.to_string(),
            "workflow.yaml:14: task \"convert\", field `version`: \"1.0\" is not a semantic version — fix: write MAJOR.MINOR.PATCH, e.g. 1.0.0"
        );
        let d = Diagnostic::new("workflow.yaml", "missing").with_task("task #2");
        assert_eq!(d.to_string(), "workflow.yaml: task #2: missing");
    }
}
