//! Names in workflow.yaml: component, project, task and target names, the
//! identifiers derived from them, provider references, toolchain pins, and
//! "did you mean" suggestions.

use super::{MAX_NAME_LEN, MAX_TASK_NAME_LEN};

/// Whether `p` can name a wasmCloud provider: a `wasmcloud+builtin://` name, or
/// an OCI reference with an explicit tag or digest (the host refuses `latest`).
pub fn is_valid_provider_ref(p: &str) -> bool {
    if let Some(name) = p.strip_prefix("wasmcloud+builtin://") {
        return !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    }
    let ok_chars = p
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    let last = p.rsplit('/').next().unwrap_or(p);
    ok_chars
        && p.contains('/')
        && (last.contains('@') || last.contains(':'))
        && !p.ends_with(":latest")
}

/// Whether `name` is a valid `component_name`: one OCI repository path
/// component, `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` (the OCI distribution
/// spec's grammar), at most 63 characters. `temp-convert`, `data_aggregation`
/// and `v1.convert` are valid; upper case, spaces, `___` and a leading or
/// trailing separator are not.
pub fn is_valid_component_name(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return false;
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // A run of [a-z0-9]+ ...
        let start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        // ... then one separator: `.`, `_`, `__` or `-+`, followed by more.
        let sep_start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &name[sep_start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok || i == bytes.len() {
            return false;
        }
    }
    true
}

/// The id wadm gives a component on the host, from its application and
/// component names: both lower-cased, every character other than an ASCII
/// letter or digit replaced by `_`, joined by `-` (wadm 0.21's
/// `compute_component_id`). Two component names that differ only in their
/// separators (`temp-convert`, `temp_convert`, `temp.convert`) get the same id.
pub fn host_component_id(app: &str, component: &str) -> String {
    format!("{}-{}", wadm_id_part(app), wadm_id_part(component))
}

/// One name as wadm writes it in a component id: lower-cased, every
/// character other than an ASCII letter or digit replaced by `_`.
pub(crate) fn wadm_id_part(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// A valid `component_name` close to `name`: lower-cased, with every run of
/// characters outside the OCI grammar turned into `-` and `_`/`.` kept where
/// they are legal (`Temp Sensor_Data` → `temp-sensor_data`); `task` if
/// nothing usable is left.
pub fn suggest_component_name(name: &str) -> String {
    let lower: String = name
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    // Re-join the alphanumeric runs with a legal separator each.
    let mut out = String::new();
    let mut sep = String::new();
    for c in lower.chars() {
        if c.is_ascii_alphanumeric() {
            if !out.is_empty() && !sep.is_empty() {
                let legal =
                    sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-');
                out.push_str(if legal { &sep } else { "-" });
            }
            sep.clear();
            out.push(c);
        } else {
            sep.push(c);
        }
    }
    if out.len() > MAX_NAME_LEN {
        out.truncate(MAX_NAME_LEN);
        while out.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
            out.pop();
        }
    }
    if out.is_empty() {
        "task".into()
    } else {
        out
    }
}

/// Turns any name into a valid component name in lower-kebab-case
/// (`ConvertCSV_v2` → `convert-csv-v2`); `task` if nothing usable is left.
pub fn kebab_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && i > 0 {
                let prev = chars[i - 1];
                let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
                if prev.is_ascii_lowercase()
                    || prev.is_ascii_digit()
                    || (prev.is_ascii_uppercase() && next_lower)
                {
                    out.push('-');
                }
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if out.len() > MAX_NAME_LEN {
        out.truncate(MAX_NAME_LEN);
        while out.ends_with('-') {
            out.pop();
        }
    }
    if out.is_empty() {
        "task".into()
    } else {
        out
    }
}

/// Whether `name` is an identifier-safe project name: ASCII letters,
/// digits, `-`, `_`; at most 63 characters. Such a name is its own
/// [`project_slug`].
pub fn is_valid_project_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The identifier PELATO uses where a name must be one (wadm application
/// names `<slug>-<component>`, runtime config names): `project_name` with
/// every run of characters other than ASCII letters, digits, `-` and `_`
/// replaced by one `-`, leading and trailing `-` trimmed, cut to 63
/// characters; `project` if nothing is left. Case is kept, so a name that is
/// already an identifier maps to itself: `Temperature data analysis` →
/// `Temperature-data-analysis`, `Test_project` → `Test_project`.
pub fn project_slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_matches('-').to_string();
    if out.len() > MAX_NAME_LEN {
        out.truncate(MAX_NAME_LEN);
        while out.ends_with('-') {
            out.pop();
        }
    }
    if out.is_empty() {
        "project".into()
    } else {
        out
    }
}

/// Checks a `project_name` (free text, as in the original PELATO: it may
/// contain spaces); the error describes the problem.
pub fn validate_project_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the project name is empty".into());
    }
    let n = name.chars().count();
    if n > MAX_TASK_NAME_LEN {
        return Err(format!(
            "the project name is {n} characters long; at most {MAX_TASK_NAME_LEN} are allowed"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "the project name {name:?} contains a control character"
        ));
    }
    Ok(())
}

/// Whether `label` is a valid target label: `[A-Za-z0-9._-]+`.
pub fn is_valid_target(label: &str) -> bool {
    !label.is_empty()
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

/// Checks a task `name`; the error describes the problem.
pub fn validate_task_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("the task name is empty".into());
    }
    let n = name.chars().count();
    if n > MAX_TASK_NAME_LEN {
        return Err(format!(
            "the task name is {n} characters long; at most {MAX_TASK_NAME_LEN} are allowed"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "the task name {name:?} contains a control character"
        ));
    }
    Ok(())
}

/// Checks a `toolchain` value: `go@VERSION` or `tinygo@VERSION` (VERSION like `1.25`).
pub fn validate_toolchain_spec(spec: &str) -> Result<(), String> {
    let Some((kind, version)) = spec.split_once('@') else {
        return Err(format!("{spec:?} is not of the form `kind@version`"));
    };
    if kind != "go" && kind != "tinygo" {
        return Err(format!(
            "{spec:?} names the toolchain {kind:?}; only `go` and `tinygo` are supported"
        ));
    }
    let parts: Vec<&str> = version.split('.').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "{spec:?} has the version {version:?}; expected numbers like `1.25` or `0.39.0`"
        ));
    }
    Ok(())
}

/// Levenshtein edit distance between two strings (by characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let len = lower.chars().count();
    let threshold = match len {
        0..=3 => 1,
        4..=7 => 2,
        _ => 3,
    };
    if let Some(c) = candidates.iter().find(|c| **c == lower) {
        return Some(c);
    }
    // A shortened key such as `dest` for `dest_topic`.
    if len >= 4 {
        let mut prefixed = candidates.iter().filter(|c| c.starts_with(&lower));
        if let (Some(c), None) = (prefixed.next(), prefixed.next()) {
            return Some(c);
        }
    }
    let mut best: Option<(usize, &'a str)> = None;
    for &c in candidates {
        let d = edit_distance(&lower, c);
        if d <= threshold && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    if let Some((_, c)) = best {
        return Some(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::check::{TASK_KEYS, TEST_KEYS, TOP_KEYS};

    #[test]
    fn component_names() {
        // The OCI distribution spec's path component grammar.
        for ok in [
            "a",
            "convert",
            "convert-2",
            "0x",
            "a1-b2",
            "con_vert",
            "con__vert",
            "con.vert",
            "a---b",
            "celsius_to_kelvin_conversion",
        ] {
            assert!(is_valid_component_name(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "_a",
            "a_",
            ".a",
            "a.",
            "a___b",
            "a..b",
            "a._b",
            "Convert",
            "a b",
            &"a".repeat(64),
        ] {
            assert!(!is_valid_component_name(bad), "{bad}");
        }
        assert!(is_valid_component_name(&"a".repeat(63)));
        assert_eq!(kebab_case("ConvertCSV_v2"), "convert-csv-v2");
        assert_eq!(kebab_case("myTask"), "my-task");
        assert_eq!(kebab_case("HTTPServer"), "http-server");
        assert_eq!(kebab_case("--Weird  Name!!"), "weird-name");
        assert_eq!(kebab_case("___"), "task");
        assert!(is_valid_component_name(&kebab_case(&"Ab".repeat(60))));
        for name in [
            "Temp Sensor",
            "a___b",
            "__x__",
            "Ünïcode name",
            &"Ab_".repeat(40),
        ] {
            let s = suggest_component_name(name);
            assert!(is_valid_component_name(&s), "{name:?} -> {s:?}");
        }
        assert_eq!(
            host_component_id("Temperature-data-analysis-temp-filter", "temp_filter"),
            "temperature_data_analysis_temp_filter-temp_filter"
        );
    }

    #[test]
    fn project_slugs() {
        assert_eq!(
            project_slug("Temperature data analysis"),
            "Temperature-data-analysis"
        );
        assert_eq!(project_slug("Test_project"), "Test_project");
        assert_eq!(project_slug("  a  /  b  "), "a-b");
        assert_eq!(project_slug("–––"), "project");
        assert!(project_slug(&"x y".repeat(50)).len() <= MAX_NAME_LEN);
        // A name that is already an identifier is its own slug.
        for name in ["iot-sensors", "legacy_orders", "My_Project-1"] {
            assert!(is_valid_project_name(name));
            assert_eq!(project_slug(name), name);
        }
    }

    #[test]
    fn project_task_and_target_names() {
        assert!(is_valid_project_name("My_Project-1"));
        assert!(!is_valid_project_name("my project"));
        assert!(!is_valid_project_name(""));
        assert!(!is_valid_project_name(&"p".repeat(64)));
        assert!(validate_task_name("Convert CSV → JSON").is_ok());
        assert!(validate_task_name("").is_err());
        assert!(validate_task_name("  ").is_err());
        assert!(validate_task_name("a\nb").is_err());
        assert!(validate_task_name(&"n".repeat(129)).is_err());
        assert!(validate_task_name(&"n".repeat(128)).is_ok());
        assert!(is_valid_target("edge-1.eu_west"));
        assert!(!is_valid_target("edge 1"));
        assert!(!is_valid_target(""));
    }

    #[test]
    fn toolchain_specs() {
        assert!(validate_toolchain_spec("go@1.25").is_ok());
        assert!(validate_toolchain_spec("tinygo@0.39.0").is_ok());
        assert!(validate_toolchain_spec("go").is_err());
        assert!(validate_toolchain_spec("rust@1.80").is_err());
        assert!(validate_toolchain_spec("go@latest").is_err());
        assert!(validate_toolchain_spec("go@1..2").is_err());
    }

    #[test]
    fn edit_distance_and_suggestions() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(suggest("tagets", TASK_KEYS), Some("targets"));
        assert_eq!(suggest("sorce_topic", TASK_KEYS), Some("source_topic"));
        assert_eq!(suggest("Version", TASK_KEYS), Some("version"));
        assert_eq!(suggest("dest", TASK_KEYS), Some("dest_topic"));
        assert_eq!(suggest("expected", TEST_KEYS), Some("expect"));
        assert_eq!(suggest("project", TOP_KEYS), Some("project_name"));
        assert_eq!(suggest("zzzzzz", TASK_KEYS), None);
        assert_eq!(suggest("test", TASK_KEYS), Some("tests"));
        assert_eq!(suggest("componen", TASK_KEYS), Some("component_name"));
    }
}
