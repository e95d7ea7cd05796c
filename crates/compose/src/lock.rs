//! A per-project lock, so two runs on one project cannot interleave: the second waits, and says
//! which process it waits for.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};

use crate::progress::{Event, Progress};
use crate::{Error, Result};

/// Held while a run changes a project; released on drop (also when the process dies).
#[derive(Debug)]
pub struct ProjectLock {
    _file: File,
}

impl ProjectLock {
    /// The lock file of `project` (in `$XDG_RUNTIME_DIR`, else the temp directory).
    pub fn path(project: &str) -> std::path::PathBuf {
        let dir = std::env::var_os("XDG_RUNTIME_DIR").map(std::path::PathBuf::from).unwrap_or_else(std::env::temp_dir);
        let safe: String = project.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
        dir.join(format!("stack-compose-{safe}.lock"))
    }

    /// Takes the lock of `project`, waiting for another holder with a progress event.
    pub async fn acquire(project: &str, progress: &dyn Progress) -> Result<ProjectLock> {
        let path = ProjectLock::path(project);
        let err = |reason: String| Error::Lock { project: project.to_owned(), path: path.display().to_string(), reason };
        let mut file =
            OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(|e| err(e.to_string()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = if holder.trim().is_empty() { "unknown process".to_owned() } else { format!("pid {}", holder.trim()) };
                progress.event(&Event::WaitingForLock { project: project.to_owned(), holder });
                let waiting = file.try_clone().map_err(|e| err(e.to_string()))?;
                tokio::task::spawn_blocking(move || waiting.lock())
                    .await
                    .map_err(|e| err(e.to_string()))?
                    .map_err(|e| err(e.to_string()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(err(e.to_string())),
        }
        file.set_len(0).map_err(|e| err(e.to_string()))?;
        file.rewind().map_err(|e| err(e.to_string()))?;
        write!(file, "{}", std::process::id()).map_err(|e| err(e.to_string()))?;
        Ok(ProjectLock { _file: file })
    }
}
