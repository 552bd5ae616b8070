//! The Go task checker: a task file must be `package main` with exactly one
//! `func exec_task(arg string) string`. A small lexer, no Go parser: comments
//! and literals are blanked out, then the tokens are read.

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;

/// The signature every task file must define.
pub const EXEC_TASK_SIGNATURE: &str = "func exec_task(arg string) string";

#[derive(Debug)]
struct GoTok<'a> {
    text: &'a str,
    start: usize,
    line: usize,
}

/// Replaces comments and string/rune literals by spaces (newlines kept).
fn strip_go(source: &str) -> String {
    #[derive(PartialEq)]
    enum St {
        Code,
        Line,
        Block,
        Str,
        Raw,
        Rune,
    }
    let mut out = String::with_capacity(source.len());
    let mut st = St::Code;
    let mut chars = source.chars().peekable();
    let blank = |c: char, out: &mut String| out.push(if c == '\n' { '\n' } else { ' ' });
    while let Some(c) = chars.next() {
        match st {
            St::Code => match c {
                '/' if chars.peek() == Some(&'/') => {
                    st = St::Line;
                    out.push(' ');
                }
                '/' if chars.peek() == Some(&'*') => {
                    chars.next();
                    st = St::Block;
                    out.push_str("  ");
                }
                '"' => {
                    st = St::Str;
                    out.push(' ');
                }
                '`' => {
                    st = St::Raw;
                    out.push(' ');
                }
                '\'' => {
                    st = St::Rune;
                    out.push(' ');
                }
                _ => out.push(c),
            },
            St::Line => {
                if c == '\n' {
                    st = St::Code;
                }
                blank(c, &mut out);
            }
            St::Block => {
                if c == '*' && chars.peek() == Some(&'/') {
                    chars.next();
                    out.push(' ');
                    st = St::Code;
                }
                blank(c, &mut out);
            }
            St::Str | St::Rune => {
                let close = if st == St::Str { '"' } else { '\'' };
                if c == '\\' {
                    out.push(' ');
                    if let Some(n) = chars.next() {
                        blank(n, &mut out);
                    }
                    continue;
                }
                if c == close || c == '\n' {
                    st = St::Code;
                }
                blank(c, &mut out);
            }
            St::Raw => {
                if c == '`' {
                    st = St::Code;
                }
                blank(c, &mut out);
            }
        }
    }
    out
}

fn go_tokens(cleaned: &str) -> Vec<GoTok<'_>> {
    let mut toks = Vec::new();
    let mut line = 1;
    let mut iter = cleaned.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c == '\n' {
            line += 1;
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        if c.is_alphanumeric() || c == '_' {
            let mut end = i + c.len_utf8();
            while let Some(&(j, n)) = iter.peek() {
                if n.is_alphanumeric() || n == '_' {
                    end = j + n.len_utf8();
                    iter.next();
                } else {
                    break;
                }
            }
            toks.push(GoTok {
                text: &cleaned[i..end],
                start: i,
                line,
            });
        } else {
            toks.push(GoTok {
                text: &cleaned[i..i + c.len_utf8()],
                start: i,
                line,
            });
        }
    }
    toks
}

fn is_go_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// Whether the tokens after `exec_task` form `(ident string) string`.
fn exec_task_signature_ok(sig: &[&str]) -> bool {
    let rest = match sig {
        ["(", p, "string", ")", rest @ ..] if is_go_ident(p) => rest,
        ["(", p, "string", ",", ")", rest @ ..] if is_go_ident(p) => rest,
        _ => return false,
    };
    match rest {
        ["string"] | ["(", "string", ")"] => true,
        ["(", r, "string", ")"] => is_go_ident(r),
        _ => false,
    }
}

/// Checks a Go task file without a Go parser.
///
/// Comments and literals are ignored. The file must declare `package main`
/// and exactly one `func exec_task(<name> string) string` (whitespace and the
/// parameter name are free). Other functions and imports are not checked.
/// Diagnostics name `display_path` and carry the Go file's line numbers.
pub fn check_go_task(display_path: &Path, source: &str) -> Vec<Diagnostic> {
    let shown = display_path.display().to_string();
    let mut diags = Vec::new();
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let cleaned = strip_go(source);
    let toks = go_tokens(&cleaned);
    let diag = |line: Option<usize>, msg: String, fix: String| {
        Diagnostic::new(display_path, msg)
            .with_line(line)
            .with_fix(fix)
    };

    match (toks.first(), toks.get(1)) {
        (Some(p), Some(name)) if p.text == "package" => {
            if name.text != "main" {
                diags.push(diag(
                    Some(name.line),
                    format!(
                        "{shown} declares `package {}`; PELATO tasks are `package main`",
                        name.text
                    ),
                    format!("change line {} to `package main`", name.line),
                ));
            }
        }
        (None, _) => {
            diags.push(diag(
                None,
                format!("{shown} is empty (no `package main` and no `exec_task`)"),
                format!(
                    "write the task: `package main` on the first line, then `{EXEC_TASK_SIGNATURE} {{ ... }}`"
                ),
            ));
            return diags;
        }
        (Some(t), _) => {
            diags.push(diag(
                Some(t.line),
                format!("{shown} has no `package` clause at the top"),
                "add `package main` as the first line of the file".into(),
            ));
        }
    }

    let mut exact: Vec<usize> = Vec::new();
    let mut wrong: Vec<(usize, String)> = Vec::new();
    let mut similar: Vec<(usize, String)> = Vec::new();
    let mut methods: Vec<usize> = Vec::new();
    for (i, t) in toks.iter().enumerate() {
        if t.text != "func" {
            continue;
        }
        let Some(name) = toks.get(i + 1) else {
            continue;
        };
        if name.text == "(" {
            // A method: `func (r T) exec_task(...)`.
            let mut depth = 0usize;
            let mut k = i + 1;
            while let Some(tk) = toks.get(k) {
                match tk.text {
                    "(" => depth += 1,
                    ")" => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            if toks.get(k + 1).is_some_and(|n| n.text == "exec_task") {
                methods.push(t.line);
            }
            continue;
        }
        if name.text != "exec_task" {
            let norm: String = name
                .text
                .chars()
                .filter(|c| *c != '_')
                .flat_map(char::to_lowercase)
                .collect();
            if norm == "exectask" {
                similar.push((t.line, name.text.to_string()));
            }
            continue;
        }
        // Collect the signature up to the body's `{` at parenthesis depth 0.
        let mut depth = 0i32;
        let mut k = i + 2;
        let mut sig: Vec<&str> = Vec::new();
        let mut end = name.start + name.text.len();
        while let Some(tk) = toks.get(k) {
            if tk.text == "{" && depth == 0 {
                break;
            }
            if sig.len() >= 64 || tk.text == "func" && depth == 0 && !sig.is_empty() {
                break;
            }
            match tk.text {
                "(" | "[" => depth += 1,
                ")" | "]" => depth -= 1,
                _ => {}
            }
            sig.push(tk.text);
            end = tk.start + tk.text.len();
            k += 1;
        }
        if exec_task_signature_ok(&sig) {
            exact.push(t.line);
        } else {
            let found = cleaned
                .get(t.start..end)
                .unwrap_or("func exec_task")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace("( ", "(")
                .replace(" )", ")");
            wrong.push((t.line, found));
        }
    }

    for (line, found) in &wrong {
        diags.push(diag(
            Some(*line),
            format!(
                "`func exec_task` has the wrong signature: found `{found}`, expected `{EXEC_TASK_SIGNATURE}`"
            ),
            format!(
                "change line {line} to `{EXEC_TASK_SIGNATURE} {{` (one string parameter, one string result)"
            ),
        ));
    }
    if exact.len() > 1 {
        let lines: Vec<String> = exact.iter().map(ToString::to_string).collect();
        diags.push(diag(
            exact.get(1).copied(),
            format!(
                "`func exec_task` is declared {} times (lines {})",
                exact.len(),
                lines.join(", ")
            ),
            "keep exactly one `func exec_task`".into(),
        ));
    }
    if exact.is_empty() && wrong.is_empty() {
        let mut msg = format!("{shown} has no `{EXEC_TASK_SIGNATURE}`");
        let mut line = None;
        let fix;
        if let Some((l, name)) = similar.first() {
            msg.push_str(&format!(" (line {l} declares `func {name}`)"));
            line = Some(*l);
            fix = format!("rename `{name}` to `exec_task`: `{EXEC_TASK_SIGNATURE}`");
        } else if let Some(l) = methods.first() {
            msg.push_str(&format!(
                " (line {l} declares `exec_task` as a method; it must be a plain function)"
            ));
            line = Some(*l);
            fix = format!("remove the receiver: `{EXEC_TASK_SIGNATURE} {{ ... }}`");
        } else {
            fix = format!(
                "add `{EXEC_TASK_SIGNATURE} {{ ... }}`; PELATO calls it with each input message and uses the string it returns"
            );
        }
        diags.push(diag(line, msg, fix));
    }
    diags
}

/// Checks a task's Go files : one file as [`check_go_task`]; a folder's files each
/// for `package main`, and `exec_task` declared in exactly one of them.
pub fn check_go_task_files(display_path: &Path, files: &[(PathBuf, String)]) -> Vec<Diagnostic> {
    if let [(file, src)] = files {
        if file == display_path {
            return check_go_task(file, src);
        }
    }
    let mut diags = Vec::new();
    let mut declaring = Vec::new();
    for (file, src) in files {
        let declares = go_tokens(&strip_go(src))
            .windows(2)
            .any(|w| w[0].text == "func" && w[1].text == "exec_task");
        let missing = format!("{} has no `{EXEC_TASK_SIGNATURE}`", file.display());
        for d in check_go_task(file, src) {
            if declares || !d.message.starts_with(&missing) {
                diags.push(d);
            }
        }
        if declares {
            declaring.push(file.display().to_string());
        }
    }
    let shown = format!("{}/", display_path.display());
    match declaring.len() {
        0 => diags.push(
            Diagnostic::new(
                display_path,
                format!("none of the files of {shown} declares `{EXEC_TASK_SIGNATURE}`"),
            )
            .with_fix(format!(
                "add `{EXEC_TASK_SIGNATURE} {{ ... }}` to one file of {shown}"
            )),
        ),
        1 => {}
        _ => diags.push(
            Diagnostic::new(
                display_path,
                format!(
                    "`func exec_task` is declared in several files of {shown}: {}",
                    declaring.join(", ")
                ),
            )
            .with_fix("keep exactly one `func exec_task` in the folder"),
        ),
    }
    diags
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(src: &str) -> Vec<Diagnostic> {
        check_go_task(Path::new("tasks/x.go"), src)
    }

    #[test]
    fn go_check_accepts_valid_variants() {
        for src in [
            "package main\n\nfunc exec_task(arg string) string { return arg }\n",
            "// c\npackage   main\nimport \"strings\"\nfunc exec_task( input   string ) string {\n return strings.ToUpper(input)\n}\nfunc helper() {}\n",
            "package main\nfunc exec_task(s string) (string) { return s }\n",
            "\u{feff}package main\nfunc exec_task(s string) string { return s }\n",
            "package main\nfunc exec_task(s string,) (out string) { out = s; return }\n",
            "/* func exec_task(x int) int {} */ package main\nvar s = \"func exec_task(x int)\"\nfunc exec_task(a string) string { return `package foo` }\n",
        ] {
            assert_eq!(go(src), Vec::new(), "{src}");
        }
    }

    #[test]
    fn go_check_wrong_package() {
        let d = go("package foo\n\nfunc exec_task(arg string) string { return arg }\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].line, Some(1));
        assert!(d[0]
            .message
            .contains("tasks/x.go declares `package foo`; PELATO tasks are `package main`"));
        assert_eq!(d[0].file, Path::new("tasks/x.go"));
        let d = go("import \"fmt\"\nfunc exec_task(arg string) string { return arg }\n");
        assert!(d[0].message.contains("no `package` clause"), "{d:?}");
    }

    #[test]
    fn go_check_missing_and_mistyped() {
        let d = go("package main\n\nfunc main() {}\n");
        assert_eq!(d.len(), 1);
        assert!(d[0]
            .message
            .contains("has no `func exec_task(arg string) string`"));
        assert!(d[0]
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("func exec_task(arg string) string"));

        let d = go("package main\n\nfunc ExecTask(arg string) string { return arg }\n");
        assert!(d[0].message.contains("ExecTask"));
        assert_eq!(d[0].line, Some(3));

        let d = go("package main\n\n// x\nfunc exec_task(n int) (string, error) {\n\treturn \"\", nil\n}\n");
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].line, Some(4));
        assert!(
            d[0].message
                .contains("found `func exec_task(n int) (string, error)`"),
            "{}",
            d[0].message
        );
        assert!(d[0]
            .message
            .contains("expected `func exec_task(arg string) string`"));

        let d = go(
            "package main\ntype T struct{}\nfunc (t T) exec_task(a string) string { return a }\n",
        );
        assert!(d[0].message.contains("method"), "{d:?}");

        let d = go("package main\nfunc exec_task(a string) string { return a }\nfunc exec_task(b string) string { return b }\n");
        assert!(d[0].message.contains("2 times"), "{d:?}");

        let d = go("");
        assert!(d[0].message.contains("empty"));
    }
}
