//! The one inter-process lock: an OS file lock (`flock` on Unix, `LockFileEx` on Windows) on
//! a lock file. The OS drops the lock when its holder exits, however it exits, so a crashed
//! holder never leaves a lock behind and nothing has to guess whether a holder is alive.
//!
//! On Unix the lock file is removed when the lock is released. A waiter that opened the file
//! before it was removed then holds a lock on a file no longer at `path`; it notices (the file
//! at `path` is another one, or none) and starts again, so two holders never coexist.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

/// An exclusive lock held on a lock file, released on drop.
#[derive(Debug)]
pub struct LockedFile {
    file: Option<File>,
    path: PathBuf,
}

impl LockedFile {
    /// Takes the lock on `path` (creating the file and its folder), waiting for another holder
    /// if needed; `on_wait` is called once, before waiting.
    pub fn acquire(path: &Path, on_wait: &mut dyn FnMut()) -> io::Result<LockedFile> {
        let mut told = false;
        loop {
            let file = open(path)?;
            #[allow(clippy::incompatible_msrv)] // std::fs::File::lock: Rust 1.89
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    if !told {
                        told = true;
                        on_wait();
                    }
                    #[allow(clippy::incompatible_msrv)]
                    file.lock()?;
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
            if still_at(&file, path)? {
                return Ok(LockedFile {
                    file: Some(file),
                    path: path.to_path_buf(),
                });
            }
        }
    }

    /// Takes the lock on `path` if nobody holds it: `None` when somebody does.
    pub fn try_acquire(path: &Path) -> io::Result<Option<LockedFile>> {
        loop {
            let file = open(path)?;
            #[allow(clippy::incompatible_msrv)]
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Ok(None),
                Err(TryLockError::Error(e)) => return Err(e),
            }
            if still_at(&file, path)? {
                return Ok(Some(LockedFile {
                    file: Some(file),
                    path: path.to_path_buf(),
                }));
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockedFile {
    fn drop(&mut self) {
        // Remove while still holding the lock, then release it by closing the file.
        if cfg!(unix) {
            let _ = fs::remove_file(&self.path);
        }
        drop(self.file.take());
    }
}

fn open(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

/// Whether the locked `file` is still the file at `path` (not removed by a previous holder).
#[cfg(unix)]
fn still_at(file: &File, path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let held = file.metadata()?;
    match fs::metadata(path) {
        Ok(now) => Ok(now.dev() == held.dev() && now.ino() == held.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Lock files are never removed off Unix, so the locked file is always the one at `path`.
#[cfg(not(unix))]
fn still_at(_file: &File, _path: &Path) -> io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn exclusive_released_on_drop_and_leftovers_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locks").join("x.lock");
        let held = LockedFile::acquire(&path, &mut || panic!("nobody holds it")).unwrap();
        assert!(LockedFile::try_acquire(&path).unwrap().is_none());
        drop(held);
        // A file left behind (e.g. by an older pelato or a killed process) holds no lock.
        fs::write(&path, "999999999\n").unwrap();
        assert!(LockedFile::try_acquire(&path).unwrap().is_some());
    }

    #[test]
    fn waiters_never_hold_it_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = Arc::new(dir.path().join("x.lock"));
        let inside = Arc::new(AtomicUsize::new(0));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, inside) = (path.clone(), inside.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let _l = LockedFile::acquire(&path, &mut || {}).unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                        std::thread::yield_now();
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    }
}
