//! Reading workflow.yaml: the file's own failures (missing, too large, not
//! UTF-8) and YAML syntax, turned into diagnostics.

use std::fs;
use std::io;
use std::path::Path;

use serde_yaml::Value;

use super::error::{invalid, WorkflowError};
use super::{Diagnostic, WORKFLOW_FILE};

/// workflow.yaml files larger than this are rejected without being parsed.
const MAX_WORKFLOW_BYTES: u64 = 4 * 1024 * 1024;

/// Reads workflow.yaml, turning the common failures into diagnostics.
pub(super) fn read_workflow(
    root: &Path,
    file: &Path,
    display: &Path,
) -> Result<String, WorkflowError> {
    let meta = match fs::metadata(file) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let near: Option<String> = fs::read_dir(root).ok().and_then(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .find(|n| {
                        let l = n.to_lowercase();
                        n != WORKFLOW_FILE && (l == "workflow.yaml" || l == "workflow.yml")
                    })
            });
            let fix = match near {
                Some(n) => format!("rename {n} to {WORKFLOW_FILE}"),
                None => format!(
                    "create {} with a `project_name:` line and a `tasks:` list (one entry per tasks/*.go file)",
                    file.display()
                ),
            };
            return Err(invalid(
                Diagnostic::new(
                    display,
                    format!(
                        "no {WORKFLOW_FILE} in the project folder {}",
                        root.display()
                    ),
                )
                .with_fix(fix),
            ));
        }
        Err(e) => {
            return Err(WorkflowError::Io {
                path: file.to_path_buf(),
                source: e,
            })
        }
    };
    if !meta.is_file() {
        return Err(invalid(
            Diagnostic::new(display, format!("{WORKFLOW_FILE} is not a regular file"))
                .with_fix(format!("replace it with a {WORKFLOW_FILE} file")),
        ));
    }
    if meta.len() > MAX_WORKFLOW_BYTES {
        return Err(invalid(
            Diagnostic::new(
                display,
                format!(
                    "{WORKFLOW_FILE} is {} bytes; at most {MAX_WORKFLOW_BYTES} are accepted",
                    meta.len()
                ),
            )
            .with_fix("keep workflow.yaml to the project's settings and task list"),
        ));
    }
    let bytes = fs::read(file).map_err(|e| WorkflowError::Io {
        path: file.to_path_buf(),
        source: e,
    })?;
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Ok(text)
        }
        Err(e) => {
            let upto = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..upto].iter().filter(|b| **b == b'\n').count() + 1;
            Err(invalid(
                Diagnostic::new(
                    display,
                    format!("{WORKFLOW_FILE} is not UTF-8 text (invalid byte at line {line})"),
                )
                .with_line(Some(line))
                .with_fix("save workflow.yaml as UTF-8"),
            ))
        }
    }
}

/// For "... while parsing a flow sequence at line L column C": (L, C, `[`).
fn flow_opening(msg: &str) -> Option<(usize, usize, char)> {
    if !msg.contains("did not find expected") {
        return None;
    }
    let (rest, bracket) =
        if let Some(r) = msg.split("while parsing a flow sequence at line ").nth(1) {
            (r, '[')
        } else {
            (
                msg.split("while parsing a flow mapping at line ").nth(1)?,
                '{',
            )
        };
    let mut words = rest.split_whitespace();
    let line = words.next()?.parse().ok()?;
    let column = match (words.next(), words.next()) {
        (Some("column"), Some(c)) => c
            .trim_end_matches(|ch: char| !ch.is_ascii_digit())
            .parse()
            .ok()?,
        _ => return None,
    };
    Some((line, column, bracket))
}

/// The original PELATO's thesis prints workflow.yaml with every line after
/// the first indented by four more spaces (a typesetting artifact, e.g.
/// `project_name: Test_project` then `    tasks:`), which is not valid YAML.
/// When `text` has that shape — the first line at column 0, every later
/// non-blank line indented by at least `n > 0` spaces — returns it with `n`
/// spaces removed from those lines, and `n`. Line numbers do not change.
fn dedent_listing(text: &str) -> Option<(String, usize)> {
    let mut lines = text.lines();
    let first = lines.next()?;
    if first.is_empty() || first.starts_with([' ', '\t']) {
        return None;
    }
    let n = lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches(' ').len())
        .min()?;
    if n == 0 {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i == 0 || l.trim().is_empty() {
            out.push_str(l);
        } else {
            out.push_str(&l[n..]);
        }
    }
    Some((out, n))
}

/// Parses the YAML text, turning syntax problems, alias bombs and empty files
/// into a diagnostic. Returns the value, the text it was read from (see
/// [`dedent_listing`]) and the notes about how it was read.
pub(super) fn parse_yaml(
    display: &Path,
    text: &str,
) -> Result<(Value, String, Vec<Diagnostic>), WorkflowError> {
    match parse_yaml_text(display, text) {
        Ok(v) => Ok((v, text.to_string(), Vec::new())),
        Err(first) => {
            let Some((dedented, n)) = dedent_listing(text) else {
                return Err(first);
            };
            let Ok(v) = parse_yaml_text(display, &dedented) else {
                return Err(first);
            };
            let last = text.lines().count();
            let note = Diagnostic::new(
                display,
                format!("every line after the first is indented by {n} more spaces than line 1 (as in the original PELATO thesis's listings), which YAML does not allow; it was read as if lines 2-{last} were not indented by those {n} spaces"),
            )
            .with_line(Some(2))
            .with_fix(format!("remove {n} spaces at the start of lines 2-{last}"));
            Ok((v, dedented, vec![note]))
        }
    }
}

/// [`parse_yaml`] on the text as it is.
fn parse_yaml_text(display: &Path, text: &str) -> Result<Value, WorkflowError> {
    let diag = |msg: String| Diagnostic::new(display, msg);
    let mut value: Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let msg = e.to_string();
            let line = e.location().map(|l| l.line());
            let d = if msg.contains("repetition limit exceeded") {
                diag(format!(
                    "{WORKFLOW_FILE} uses YAML aliases (`*name`) that expand to an enormous document (an \"alias bomb\"); it was rejected without being expanded"
                ))
                .with_fix("write the values out instead of referencing anchors (`&name` / `*name`)")
            } else if msg.contains("recursion limit exceeded") {
                diag(format!("{WORKFLOW_FILE} is nested too deeply ({msg})"))
                    .with_line(line)
                    .with_fix("flatten the structure: workflow.yaml needs only a few levels (top level, tasks, tests)")
            } else if msg.contains("more than one document") {
                diag(format!(
                    "{WORKFLOW_FILE} contains more than one YAML document (`---` separators)"
                ))
                .with_fix("keep a single document: remove the extra `---` lines")
            } else {
                let opened = flow_opening(&msg);
                let line = opened.map(|(l, _, _)| l).or(line);
                let raw_line = line.and_then(|l| text.lines().nth(l.saturating_sub(1)));
                let stray_end = text
                    .lines()
                    .enumerate()
                    .find(|(_, l)| l.trim() == "..." && l.starts_with(' '));
                let fix = if raw_line.is_some_and(|l| {
                    l.starts_with('\t') || l.trim_start_matches(' ').starts_with('\t')
                }) {
                    "indent with spaces, not tabs".to_string()
                } else if let Some((i, _)) = stray_end {
                    format!("line {}: an indented `...` is not YAML (`...` ends a document only at the start of a line); to mark omitted tasks, delete the line or make it a comment (`# ...`)", i + 1)
                } else if let Some((l, c, bracket)) = opened {
                    format!(
                        "close the `{bracket}` opened at line {l}, column {c} (or quote the value if the `{bracket}` is meant as text)"
                    )
                } else {
                    match e.location() {
                        Some(l) => format!(
                            "fix the YAML near line {}, column {} (check the indentation, the space after each `key:`, and quote values containing `: ` or ` #`)",
                            l.line(),
                            l.column()
                        ),
                        None => "fix the YAML syntax (check indentation and quoting)".to_string(),
                    }
                };
                diag(format!("{WORKFLOW_FILE} is not valid YAML: {msg}"))
                    .with_line(line)
                    .with_fix(fix)
            };
            return Err(invalid(d));
        }
    };
    if let Err(e) = value.apply_merge() {
        return Err(invalid(
            diag(format!(
                "{WORKFLOW_FILE} has an invalid merge key (`<<`): {e}"
            ))
            .with_fix("merge only mappings: `<<: *defaults` where `&defaults` is a mapping"),
        ));
    }
    if value.is_null() {
        let only_comments = text.lines().any(|l| l.trim_start().starts_with('#'));
        let what = if only_comments {
            "contains only comments"
        } else {
            "is empty"
        };
        return Err(invalid(diag(format!("{WORKFLOW_FILE} {what}")).with_fix(
            "write at least `project_name: my-project` and a `tasks:` list with one entry per tasks/*.go file",
        )));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_indentation_is_undone_only_when_every_later_line_has_it() {
        let (t, n) = dedent_listing("a: 1\n    b:\n      - c\n\n    ...\n").unwrap();
        assert_eq!((t.as_str(), n), ("a: 1\nb:\n  - c\n\n...\n", 4));
        assert!(dedent_listing("a: 1\nb: 2\n").is_none());
        assert!(dedent_listing("  a: 1\n  b: 2\n").is_none());
        assert!(dedent_listing("a: 1\n").is_none());
    }
}
