//! Recognises module problems in the Go tool's output and rewords them ([`explain`]).

use std::path::Path;

use super::{GoEnv, ModuleError, UserModule};

/// Turns a failed `go build`'s stderr into a [`ModuleError`] when the failure is about
/// modules (missing, checksum, vendor), else `None` (an ordinary compiler error).
/// `module_dir` is where the Go tool ran (`gen/<component>`), `root` the project.
pub fn explain(
    stderr: &str,
    task: &str,
    module_dir: &Path,
    root: &Path,
    user: Option<&UserModule>,
    go: &GoEnv,
) -> Option<ModuleError> {
    let lines: Vec<&str> = stderr.lines().collect();
    // go.sum mismatch: `verifying m@v: checksum mismatch` then `downloaded:` / `go.sum:`.
    for (i, l) in lines.iter().enumerate() {
        let Some(rest) = l.trim().strip_prefix("verifying ") else {
            continue;
        };
        let Some(mv) = rest.strip_suffix(": checksum mismatch") else {
            continue;
        };
        let field = |key: &str| {
            lines[i + 1..]
                .iter()
                .find_map(|x| x.trim().strip_prefix(key).map(|v| v.trim().to_string()))
                .unwrap_or_default()
        };
        let mv = mv.trim_end_matches("/go.mod");
        let (module, version) = mv.split_once('@').unwrap_or((mv, ""));
        return Some(ModuleError::Checksum {
            task: task.to_string(),
            module: module.to_string(),
            version: version.to_string(),
            downloaded: field("downloaded:"),
            expected: field("go.sum:"),
        });
    }
    if let Some(i) = lines
        .iter()
        .position(|l| l.contains("inconsistent vendoring"))
    {
        let detail: Vec<&str> = lines[i + 1..]
            .iter()
            .map(|l| l.trim())
            .take_while(|l| !l.starts_with("To ignore the vendor directory"))
            .filter(|l| !l.is_empty())
            .collect();
        return Some(ModuleError::InconsistentVendor {
            task: task.to_string(),
            detail: detail.join("\n"),
        });
    }
    for l in &lines {
        let (at, msg) = split_position(l, module_dir, root);
        let missing = |module: String, version: Option<String>| {
            let module = match user.and_then(|u| u.module_of(&module)) {
                Some((m, v)) if version.is_none() => return (m.to_string(), Some(v.to_string())),
                _ => module,
            };
            (module, version)
        };
        let found = if let Some(p) =
            msg.strip_prefix("missing go.sum entry for module providing package ")
        {
            let p = p.split_whitespace().next().unwrap_or(p);
            return Some(ModuleError::MissingSum {
                task: task.to_string(),
                module: p.to_string(),
                at: at.unwrap_or_else(|| "?".into()),
            });
        } else if let Some(p) = msg.strip_prefix("no required module provides package ") {
            Some(missing(first_word(p), None))
        } else if let Some(p) = msg.strip_prefix("cannot find module providing package ") {
            Some(missing(first_word(p), None))
        } else if msg == "module lookup disabled by GOPROXY=off" {
            // Go names the import only by position: read the import path there.
            let import = at
                .as_deref()
                .and_then(|a| import_at(root, a))
                .unwrap_or_default();
            Some(missing(import, None))
        } else if let Some((mv, why)) = msg.split_once(": ") {
            let module_missing = why.contains("module lookup disabled")
                || why.contains("no such file or directory")
                || why.contains("does not exist")
                || why.contains("404 Not Found")
                || why.contains("410 Gone")
                || why.contains("not found");
            match mv.split_once('@') {
                Some((m, v)) if module_missing && !m.contains(' ') => {
                    Some((m.to_string(), Some(v.to_string())))
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some((module, version)) = found {
            if module.is_empty() {
                continue;
            }
            return Some(ModuleError::Missing {
                task: task.to_string(),
                searched: go.places(user, &module),
                module,
                version,
                at: at.unwrap_or_else(|| "?".into()),
                reason: msg.to_string(),
            });
        }
    }
    None
}

fn first_word(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c == ';')
        .next()
        .unwrap_or(s)
        .to_string()
}

/// Splits `path:line:col: message` into the position in the user's terms (project-relative
/// path, `path:line`) and the message; a line without a position is all message.
fn split_position(line: &str, module_dir: &Path, root: &Path) -> (Option<String>, String) {
    let line = line.trim().trim_start_matches("go: ");
    let mut parts = line.splitn(4, ':');
    if let (Some(file), Some(l), Some(c), Some(msg)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    {
        if file.ends_with(".go") && l.parse::<u32>().is_ok() && c.parse::<u32>().is_ok() {
            return (
                Some(format!("{}:{l}", user_path(file, module_dir, root))),
                msg.trim().to_string(),
            );
        }
    }
    (None, line.to_string())
}

/// A path the Go tool printed (relative to `module_dir`, or a `//line` path relative to the
/// project) as a project-relative path when it is inside the project.
pub fn user_path(printed: &str, module_dir: &Path, root: &Path) -> String {
    let p = Path::new(printed.trim_start_matches("./"));
    let abs = if module_dir.join(p).exists() {
        module_dir.join(p)
    } else {
        root.join(p)
    };
    let canon = |x: &Path| std::fs::canonicalize(x).ok();
    match (canon(&abs), canon(root)) {
        (Some(a), Some(r)) => a
            .strip_prefix(&r)
            .map(|rel| rel.display().to_string())
            .unwrap_or_else(|_| printed.to_string()),
        _ => printed.to_string(),
    }
}

/// The quoted import path at `file:line` (project-relative).
fn import_at(root: &Path, at: &str) -> Option<String> {
    let (file, line) = at.rsplit_once(':')?;
    let n: usize = line.parse().ok()?;
    let text = std::fs::read_to_string(root.join(file)).ok()?;
    let l = text.lines().nth(n.checked_sub(1)?)?;
    let start = l.find('"')? + 1;
    let len = l[start..].find('"')?;
    Some(l[start..start + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> UserModule {
        UserModule::parse(
            Path::new("/nonexistent"),
            "module example.com/p\n\ngo 1.22\n\nrequire (\n\texample.com/lib v1.2.0 // indirect\n)\nreplace example.com/other => ../other\n",
        )
    }

    #[test]
    fn checksum_mismatch_names_module_and_hashes() {
        let go = GoEnv::offline(Path::new("/c"));
        let stderr = "go: downloading example.com/lib v1.2.0\nverifying example.com/lib@v1.2.0: checksum mismatch\n\tdownloaded: h1:AAA=\n\tgo.sum:     h1:BBB=\n\nSECURITY ERROR\n";
        let e = explain(
            stderr,
            "t",
            Path::new("/x"),
            Path::new("/x"),
            Some(&user()),
            &go,
        )
        .unwrap();
        assert_eq!(
            e,
            ModuleError::Checksum {
                task: "t".into(),
                module: "example.com/lib".into(),
                version: "v1.2.0".into(),
                downloaded: "h1:AAA=".into(),
                expected: "h1:BBB=".into()
            }
        );
    }

    #[test]
    fn missing_module_takes_version_from_go_mod() {
        let go = GoEnv::offline(Path::new("/c"));
        let stderr = "tasks/a.go:4:2: no required module provides package example.com/lib/sub; to add it:\n\tgo get example.com/lib/sub\n";
        let Some(ModuleError::Missing {
            module,
            version,
            at,
            searched,
            ..
        }) = explain(
            stderr,
            "t",
            Path::new("/x"),
            Path::new("/x"),
            Some(&user()),
            &go,
        )
        else {
            panic!("not recognised")
        };
        assert_eq!(
            (module.as_str(), version.as_deref(), at.as_str()),
            ("example.com/lib", Some("v1.2.0"), "tasks/a.go:4")
        );
        assert!(
            searched.iter().any(|s| s.contains("GOPROXY=off")),
            "{searched:?}"
        );
    }

    #[test]
    fn compiler_errors_are_not_module_errors() {
        let go = GoEnv::offline(Path::new("/c"));
        let stderr = "# example.com/p/gen/x\ntasks/a.go:7:2: undefined: foo\n";
        assert_eq!(
            explain(
                stderr,
                "t",
                Path::new("/x"),
                Path::new("/x"),
                Some(&user()),
                &go
            ),
            None
        );
    }

    #[test]
    fn go_mod_is_read() {
        let u = user();
        assert_eq!(u.path, "example.com/p");
        assert_eq!(
            u.module_of("example.com/lib/x"),
            Some(("example.com/lib", "v1.2.0"))
        );
        assert_eq!(u.module_of("example.com/library"), None);
        assert_eq!(
            u.replaces[0].dir.as_deref(),
            Some(Path::new("/nonexistent/../other"))
        );
    }
}
