//! One daemon per database. Two daemons on one SQLite file would each run
//! the scheduler and the outbox, so every reminder and every chat message
//! would go out twice. The daemon holds an exclusive lock on
//! `<database>.lock` for as long as it runs; the operating system releases
//! it when the process ends, however it ends (`kill -9` included), so a
//! crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Held for the daemon's lifetime; dropping it releases the lock.
#[derive(Debug)]
pub struct DatabaseLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another shipgate daemon{holder} is already running on the database {database} \
         (it holds {lock}); stop it first, or give this configuration its own `database`"
    )]
    Held {
        database: String,
        lock: String,
        holder: String,
    },
    #[error("cannot lock {lock}: {source}")]
    Io {
        lock: String,
        #[source]
        source: std::io::Error,
    },
}

/// The lock file that goes with a database file, by the database's real
/// path (so `./a.db`, an absolute path and a path through a symlinked
/// directory all share one lock).
pub fn lock_path(database: &Path) -> PathBuf {
    let real = std::fs::canonicalize(database).ok().or_else(|| {
        let dir = database.parent().filter(|p| !p.as_os_str().is_empty())?;
        Some(std::fs::canonicalize(dir).ok()?.join(database.file_name()?))
    });
    let mut name = real.unwrap_or_else(|| database.to_owned()).into_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

impl DatabaseLock {
    /// Takes the lock or says who holds it. Never waits.
    pub fn acquire(database: &Path) -> Result<DatabaseLock, LockError> {
        let path = lock_path(database);
        let io = |source| LockError::Io {
            lock: path.display().to_string(),
            source,
        };
        // Read-only is enough to lock: a lock file left by another user
        // (the service moved to a new account) does not stop the start.
        let mut file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
        {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && path.exists() => {
                File::open(&path).map_err(io)?
            }
            other => other.map_err(io)?,
        };
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                let pid = pid.trim();
                return Err(LockError::Held {
                    database: database.display().to_string(),
                    lock: path.display().to_string(),
                    holder: if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                        String::new()
                    } else {
                        format!(" (pid {pid})")
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        // Who holds it, for the next daemon's error message. Best effort:
        // the lock itself is what protects the database.
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|()| file.flush());
        Ok(DatabaseLock { _file: file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_database_is_refused_with_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("team.db");
        let first = DatabaseLock::acquire(&db).unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(first.path(), real.join("team.db.lock"));
        let err = DatabaseLock::acquire(&db).unwrap_err().to_string();
        assert!(err.contains("another shipgate daemon"), "{err}");
        assert!(
            err.contains(&format!("(pid {})", std::process::id())),
            "{err}"
        );
        assert!(err.contains("team.db.lock"), "{err}");
        drop(first);
        // Released on drop (and by the OS when a process dies).
        let again = DatabaseLock::acquire(&db).unwrap();
        drop(again);
    }

    #[test]
    fn one_database_by_two_paths_is_one_lock() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("data"), dir.path().join("link")).unwrap();
        let _a = DatabaseLock::acquire(&dir.path().join("data/team.db")).unwrap();
        let err = DatabaseLock::acquire(&dir.path().join("link/team.db")).unwrap_err();
        assert!(err.to_string().contains("another shipgate daemon"), "{err}");
        let err = DatabaseLock::acquire(&dir.path().join("data/../data/team.db")).unwrap_err();
        assert!(err.to_string().contains("another shipgate daemon"), "{err}");
    }

    #[test]
    fn different_databases_do_not_share_a_lock() {
        let dir = tempfile::tempdir().unwrap();
        let _a = DatabaseLock::acquire(&dir.path().join("a.db")).unwrap();
        let _b = DatabaseLock::acquire(&dir.path().join("b.db")).unwrap();
    }

    #[test]
    fn a_lock_in_a_missing_directory_is_an_io_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("nope").join("team.db");
        let err = DatabaseLock::acquire(&db).unwrap_err().to_string();
        assert!(err.contains("cannot lock"), "{err}");
        assert!(err.contains("team.db.lock"), "{err}");
    }
}
