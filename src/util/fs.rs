//! Writing files atomically, with the mode a newly created file gets.
//!
//! [`write_atomic`] writes to a temporary file beside the destination and renames it into
//! place, so a reader sees the old content or the new, never a part. The temporary file is
//! created the way `open(2)` creates any file (mode `0666` less the umask, so `0644` under
//! umask `022`), not with the private `0600` of a `mkstemp`-style temporary file: the mode
//! survives the rename, and a component in `build/` must be readable by the rest of a team on
//! a shared build box.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of the temporary files [`write_atomic`] creates (they start with a dot, so listings
/// and globs skip them).
pub const TMP_PREFIX: &str = ".pelato-tmp-";

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A temporary path beside `path`, unique within this machine.
fn temp_beside(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new("."));
    dir.join(format!(
        "{TMP_PREFIX}{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename,
/// creating the folder if needed. The file gets the mode a new file gets (`0666` less the
/// umask). On error the temporary file is removed and `path` is untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let tmp = temp_beside(path);
    let result = (|| {
        // `OpenOptions` creates with mode 0o666 on Unix; the kernel applies the umask.
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Creates a new, empty folder `parent/<prefix><unique>` with the mode a new
/// folder gets (`0777` less the umask), unlike a private `mkdtemp`-style
/// temporary folder: for staging output that is renamed into place.
pub fn create_staging_dir(parent: &Path, prefix: &str) -> io::Result<PathBuf> {
    fs::create_dir_all(parent)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for attempt in 0..100u32 {
        let dir = parent.join(format!("{prefix}{}-{nanos}-{attempt}", std::process::id()));
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free staging folder name in {}", parent.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("out.bin");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("out.bin")]);
    }

    #[cfg(unix)]
    #[test]
    fn gets_the_mode_of_a_newly_created_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // What the umask gives a plain new file, whatever the umask is here.
        let plain = dir.path().join("plain");
        fs::File::create(&plain).unwrap();
        let want = fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        let p = dir.path().join("atomic");
        write_atomic(&p, b"x").unwrap();
        let got = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, want, "got {got:o}, a new file gets {want:o}");
    }

    #[cfg(unix)]
    #[test]
    fn staging_dirs_get_the_mode_of_a_new_folder_and_are_distinct() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        fs::create_dir(&plain).unwrap();
        let want = fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        let a = create_staging_dir(dir.path(), ".x-").unwrap();
        let b = create_staging_dir(dir.path(), ".x-").unwrap();
        assert_ne!(a, b);
        let got = fs::metadata(&a).unwrap().permissions().mode() & 0o777;
        assert_eq!(got, want, "got {got:o}, a new folder gets {want:o}");
    }
}
