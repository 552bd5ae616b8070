//! The user's cache and data folders by platform conventions. The environment is read through
//! a lookup the caller passes (the settings layer passes the process environment over the
//! project's `.env`), so nothing here reads the process environment itself.

use std::path::{Path, PathBuf};

/// A variable lookup: the value of a variable, or `None` when unset.
pub type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn nonempty(env: Lookup<'_>, name: &str) -> Option<String> {
    env(name).filter(|v| !v.trim().is_empty())
}

/// An absolute folder from `name` (XDG says relative values are to be ignored).
fn absolute(env: Lookup<'_>, name: &str) -> Option<PathBuf> {
    nonempty(env, name)
        .map(PathBuf::from)
        .filter(|p| Path::new(p).is_absolute())
}

/// The user's cache folder: `$XDG_CACHE_HOME`, else `~/.cache`.
pub fn cache_home(env: Lookup<'_>) -> Option<PathBuf> {
    absolute(env, "XDG_CACHE_HOME")
        .or_else(|| nonempty(env, "HOME").map(|h| PathBuf::from(h).join(".cache")))
}

/// The user's data folder: `$XDG_DATA_HOME`, else `~/.local/share`
/// (`~/Library/Application Support` on macOS, `%LOCALAPPDATA%` on Windows).
pub fn data_home(env: Lookup<'_>) -> Option<PathBuf> {
    if cfg!(windows) {
        return nonempty(env, "LOCALAPPDATA").map(PathBuf::from);
    }
    if cfg!(target_os = "macos") {
        return nonempty(env, "HOME").map(|h| PathBuf::from(h).join("Library/Application Support"));
    }
    if let Some(x) = absolute(env, "XDG_DATA_HOME") {
        return Some(x);
    }
    nonempty(env, "HOME").map(|h| PathBuf::from(h).join(".local/share"))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn xdg_then_home() {
        let env = |n: &str| match n {
            "HOME" => Some("/home/u".to_string()),
            "XDG_CACHE_HOME" => Some("relative/ignored".to_string()),
            "XDG_DATA_HOME" => Some("/data".to_string()),
            _ => None,
        };
        assert_eq!(cache_home(&env), Some(PathBuf::from("/home/u/.cache")));
        assert_eq!(data_home(&env), Some(PathBuf::from("/data")));
        assert_eq!(cache_home(&|_: &str| None), None);
    }
}
