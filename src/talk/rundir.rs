//! Where claude runs: the session's own directory when it still exists, else the
//! current one (claude resumes only from the project folder of its working directory).
//!
//! The current directory is asked for only when it is needed (`--here`, or a session
//! directory that is gone): a deleted current directory breaks nothing else.

use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use super::messages::Place;
use crate::util::sanitize;

/// Where claude will run, and why there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The directory (as given, not canonicalized: claude shows it to the user).
    pub dir: PathBuf,
    /// Why this one (said on stderr).
    pub place: Place,
}

/// Chooses the run directory: the session's own cwd when it is an existing directory
/// and `here` is false; otherwise the current one, from `current` (called only then).
///
/// Errors, each naming the path and what is wrong with it: the session's directory
/// cannot be looked at (a directory above it is not searchable) or is one seance may
/// not enter; the current directory is needed but cannot be read (deleted) or entered.
pub fn choose_run_dir(
    session_cwd: Option<&Path>,
    here: bool,
    current: impl FnOnce() -> io::Result<PathBuf>,
) -> Result<RunDir> {
    let fallback = match (session_cwd, here) {
        (_, true) => Place::Here,
        (None, false) => Place::NoDir,
        (Some(cwd), false) => match std::fs::metadata(cwd) {
            Ok(m) if m.is_dir() => {
                enterable(cwd, "the session's directory")?;
                return Ok(RunDir {
                    dir: cwd.to_owned(),
                    place: Place::Own,
                });
            }
            Ok(_) => Place::NotDir(cwd.to_owned()),
            Err(e)
                if e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                Place::Gone(cwd.to_owned())
            }
            Err(e) if e.kind() == ErrorKind::PermissionDenied => bail!(
                "cannot tell whether the session's directory {} exists: a directory above it \
                 may not be searched ({e}); fix its permissions, or add --here to resume in \
                 the current directory",
                sanitize::path(cwd)
            ),
            Err(e) => bail!(
                "cannot look at the session's directory {}: {e}",
                sanitize::path(cwd)
            ),
        },
    };
    let dir = current().map_err(|e| {
        let why = match &fallback {
            Place::Here => "--here needs the current directory".to_owned(),
            Place::Gone(own) | Place::NotDir(own) => format!(
                "the session's directory {} is gone, so claude would run in the current directory",
                sanitize::path(own)
            ),
            _ => "the session records no directory, so claude would run in the current one"
                .to_owned(),
        };
        anyhow!("{why}, which cannot be read ({e}); was it deleted?")
    })?;
    enterable(&dir, "the current directory")?;
    Ok(RunDir {
        dir,
        place: fallback,
    })
}

/// Checks that seance (and so claude) may enter `dir` (search permission), so a refusal
/// names the directory instead of failing as "starting claude: Permission denied".
fn enterable(dir: &Path, what: &str) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        bail!("{what} {} has a NUL byte in its name", sanitize::path(dir));
    };
    // SAFETY: access() only reads the NUL-terminated path.
    if unsafe { libc::access(c.as_ptr(), libc::X_OK) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    bail!(
        "cannot enter {what} {}: {e}; claude must run there (add --here to resume in the \
         current directory instead)",
        sanitize::path(dir)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn run_dir_rule() {
        let tmp = tempfile::tempdir().unwrap();
        let cur = tmp.path().join("cur");
        fs::create_dir_all(&cur).unwrap();
        let current = || Ok(cur.clone());
        let own = tmp.path().join("own");
        fs::create_dir_all(&own).unwrap();
        let r = choose_run_dir(Some(&own), false, current).unwrap();
        assert_eq!((r.dir, r.place), (own.clone(), Place::Own));
        let r = choose_run_dir(Some(&own), true, current).unwrap();
        assert_eq!((r.dir, r.place), (cur.clone(), Place::Here));
        let gone = tmp.path().join("gone");
        let r = choose_run_dir(Some(&gone), false, current).unwrap();
        assert_eq!((r.dir, r.place), (cur.clone(), Place::Gone(gone)));
        let file = tmp.path().join("file");
        fs::write(&file, b"").unwrap();
        let r = choose_run_dir(Some(&file), false, current).unwrap();
        assert_eq!(r.place, Place::NotDir(file.clone()));
        let under_file = file.join("x");
        let r = choose_run_dir(Some(&under_file), false, current).unwrap();
        assert_eq!(r.place, Place::Gone(under_file));
        let r = choose_run_dir(None, false, current).unwrap();
        assert_eq!((r.dir, r.place), (cur.clone(), Place::NoDir));
    }

    #[test]
    fn the_current_directory_is_read_only_when_needed() {
        let tmp = tempfile::tempdir().unwrap();
        let deleted = || Err(io::Error::from(ErrorKind::NotFound));
        let r = choose_run_dir(Some(tmp.path()), false, deleted).unwrap();
        assert_eq!(r.place, Place::Own);
        let e = choose_run_dir(Some(tmp.path()), true, deleted).unwrap_err();
        assert!(
            e.to_string().contains("--here needs the current directory"),
            "{e}"
        );
        let e = choose_run_dir(Some(&tmp.path().join("gone")), false, deleted).unwrap_err();
        assert!(e.to_string().contains("is gone"), "{e}");
    }
}
