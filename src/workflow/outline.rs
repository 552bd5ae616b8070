//! Line numbers: a rough outline of workflow.yaml's block structure, so that
//! a problem found in the parsed value can name its line.

#[derive(Debug)]
struct OutlineLine {
    /// 1-based line number.
    no: usize,
    /// Column of the first non-space character.
    indent: usize,
    /// Column of the first `- ` marker, when the line starts a sequence item.
    dash: Option<usize>,
    /// Key on this line and its column.
    key: Option<(String, usize)>,
    /// Text after `key:` (comment removed), or after the dashes.
    value: String,
}

/// One step of a path into the YAML document.
#[derive(Debug, Clone, Copy)]
pub(super) enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

#[derive(Debug, Default)]
pub(super) struct Outline {
    lines: Vec<OutlineLine>,
}

fn strip_yaml_comment(value: &str) -> &str {
    let v = value.trim();
    if v.starts_with('"') || v.starts_with('\'') {
        return v;
    }
    let mut prev_ws = true;
    for (i, c) in v.char_indices() {
        if c == '#' && prev_ws {
            return v[..i].trim_end();
        }
        prev_ws = c == ' ' || c == '\t';
    }
    v
}

/// Splits `key: value` (plain or quoted key); `None` when the text holds no key.
fn split_key(s: &str) -> Option<(String, &str)> {
    let first = s.chars().next()?;
    if first == '"' || first == '\'' {
        let mut escaped = false;
        let mut end = None;
        for (i, c) in s.char_indices().skip(1) {
            if first == '"' && !escaped && c == '\\' {
                escaped = true;
                continue;
            }
            if c == first && !escaped {
                end = Some(i);
                break;
            }
            escaped = false;
        }
        let end = end?;
        let key = s[1..end].to_string();
        let after = s[end + 1..].trim_start();
        let rest = after.strip_prefix(':')?;
        if rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t') {
            return Some((key, strip_yaml_comment(rest)));
        }
        return None;
    }
    if "[{&*!|>%@`#?,".contains(first) {
        return None;
    }
    let mut prev_ws = false;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if c == '#' && prev_ws {
            return None;
        }
        if c == ':' {
            let next = iter.peek().map(|&(_, n)| n);
            if next.is_none() || next == Some(' ') || next == Some('\t') {
                let key = s[..i].trim_end().to_string();
                return Some((key, strip_yaml_comment(&s[i + 1..])));
            }
        }
        prev_ws = c == ' ' || c == '\t';
    }
    None
}

impl Outline {
    pub(super) fn parse(text: &str) -> Outline {
        let mut lines = Vec::new();
        let mut block_parent: Option<usize> = None;
        for (i, raw) in text.lines().enumerate() {
            let indent = raw.bytes().take_while(|b| *b == b' ').count();
            let rest = &raw[indent..];
            if rest.trim().is_empty() {
                continue;
            }
            if let Some(col) = block_parent {
                if indent > col {
                    continue;
                }
                block_parent = None;
            }
            if rest.starts_with('#') {
                continue;
            }
            if indent == 0 && (rest.starts_with("---") || rest.starts_with("...")) {
                continue;
            }
            let mut col = indent;
            let mut s = rest;
            let mut dash = None;
            while s == "-" || s.starts_with("- ") || s.starts_with("-\t") {
                if dash.is_none() {
                    dash = Some(col);
                }
                let after = &s[1..];
                let ws = after
                    .bytes()
                    .take_while(|b| *b == b' ' || *b == b'\t')
                    .count();
                col += 1 + ws;
                s = &after[ws..];
            }
            let (key, value) = match split_key(s) {
                Some((k, v)) => (Some((k, col)), v.to_string()),
                None => (None, strip_yaml_comment(s).to_string()),
            };
            if value.starts_with('|') || value.starts_with('>') {
                block_parent = Some(match (&key, dash) {
                    (Some((_, c)), _) => *c,
                    (None, Some(d)) => d,
                    (None, None) => indent,
                });
            }
            lines.push(OutlineLine {
                no: i + 1,
                indent,
                dash,
                key,
                value,
            });
        }
        Outline { lines }
    }

    pub(super) fn find_key(
        &self,
        range: std::ops::Range<usize>,
        key: &str,
    ) -> Option<(usize, usize)> {
        let first = range.clone().find(|&j| self.lines[j].key.is_some())?;
        let col = self.lines[first].key.as_ref()?.1;
        let idx = range.clone().find(|&j| {
            self.lines[j]
                .key
                .as_ref()
                .is_some_and(|(k, c)| *c == col && k == key)
        })?;
        let end = (idx + 1..range.end)
            .find(|&m| {
                let l = &self.lines[m];
                l.indent < col || (l.indent == col && l.dash != Some(col))
            })
            .unwrap_or(range.end);
        Some((idx, end))
    }

    pub(super) fn find_index(
        &self,
        range: std::ops::Range<usize>,
        index: usize,
    ) -> Option<(usize, usize)> {
        let first = range.clone().find(|&j| self.lines[j].dash.is_some())?;
        let col = self.lines[first].dash?;
        let mut starts = Vec::new();
        for j in range.clone() {
            let l = &self.lines[j];
            if l.indent < col {
                break;
            }
            if l.dash == Some(col) {
                starts.push(j);
            }
        }
        let start = *starts.get(index)?;
        let end = starts.get(index + 1).copied().unwrap_or(range.end);
        Some((start, end))
    }

    /// Walks `path`; returns the outline index of every step that was found.
    pub(super) fn walk(&self, path: &[Seg<'_>]) -> Vec<usize> {
        let mut found = Vec::new();
        let mut range = 0..self.lines.len();
        for seg in path {
            let step = match *seg {
                Seg::Key(k) => self
                    .find_key(range.clone(), k)
                    .map(|(i, end)| (i, i + 1, end)),
                Seg::Index(n) => self
                    .find_index(range.clone(), n)
                    .map(|(i, end)| (i, i, end)),
            };
            match step {
                Some((idx, start, end)) => {
                    found.push(idx);
                    range = start..end;
                }
                None => break,
            }
        }
        found
    }

    /// Line of the deepest node of `path` that was found.
    pub(super) fn line_best(&self, path: &[Seg<'_>]) -> Option<usize> {
        self.walk(path).last().map(|&i| self.lines[i].no)
    }

    /// Raw text of the value at `path`, when the whole path was found on a key line.
    pub(super) fn raw_value(&self, path: &[Seg<'_>]) -> Option<&str> {
        let found = self.walk(path);
        if found.len() != path.len() {
            return None;
        }
        found.last().map(|&i| self.lines[i].value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::check::task_path;

    const SAMPLE: &str = "\
# comment
project_name: demo   # trailing
tasks:
  - name: first
    type: processor
    code: tasks/a.go
    tests:
      - name: one
        input: |
          name: not a key
          version: nope
        expect: \"x\"
      - input: \"y\"
        expect: \"\"
    version: 1.0
  -   name: second

      version: 2.0.0
- name: bogus
";

    #[test]
    fn outline_locates_lines() {
        let o = Outline::parse(SAMPLE);
        assert_eq!(o.line_best(&[Seg::Key("project_name")]), Some(2));
        assert_eq!(o.line_best(&[Seg::Key("tasks")]), Some(3));
        assert_eq!(o.line_best(&[Seg::Key("tasks"), Seg::Index(0)]), Some(4));
        assert_eq!(o.line_best(&task_path(0, "name")), Some(4));
        assert_eq!(o.line_best(&task_path(0, "code")), Some(6));
        assert_eq!(o.line_best(&task_path(0, "version")), Some(15));
        assert_eq!(o.raw_value(&task_path(0, "version")), Some("1.0"));
        let case = |j, k| {
            [
                Seg::Key("tasks"),
                Seg::Index(0),
                Seg::Key("tests"),
                Seg::Index(j),
                Seg::Key(k),
            ]
        };
        assert_eq!(o.line_best(&case(0, "name")), Some(8));
        assert_eq!(o.line_best(&case(0, "expect")), Some(12));
        assert_eq!(o.line_best(&case(1, "input")), Some(13));
        assert_eq!(o.line_best(&case(1, "expect")), Some(14));
        assert_eq!(o.line_best(&task_path(1, "name")), Some(16));
        assert_eq!(o.line_best(&task_path(1, "version")), Some(18));
        // Missing field: falls back to the task's line.
        assert_eq!(o.line_best(&task_path(1, "code")), Some(16));
        assert_eq!(o.raw_value(&task_path(1, "code")), None);
        assert_eq!(o.line_best(&[Seg::Key("project_name")]), Some(2));
        assert_eq!(o.raw_value(&[Seg::Key("project_name")]), Some("demo"));
    }

    #[test]
    fn outline_compact_sequences() {
        let text = "project_name: x\ntasks:\n- name: a\n  version: 1.0\n- name: b\n  code: c\n";
        let o = Outline::parse(text);
        assert_eq!(o.line_best(&task_path(0, "version")), Some(4));
        assert_eq!(o.line_best(&task_path(1, "code")), Some(6));
        assert_eq!(o.line_best(&[Seg::Key("tasks"), Seg::Index(1)]), Some(5));
    }
}
