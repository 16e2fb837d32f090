//! Where claude runs: the session's own directory when it still exists, else the
//! current one (claude resumes only from the project folder of its working directory).

use std::path::{Path, PathBuf};

/// Where claude will run, and why (said on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    /// The directory (as given, not canonicalized: claude shows it to the user).
    pub dir: PathBuf,
    /// One sentence for the user.
    pub why: String,
}

/// Chooses the run directory: the session's own cwd when it is an existing directory
/// and `here` is false; otherwise `current`.
pub fn choose_run_dir(session_cwd: Option<&Path>, here: bool, current: &Path) -> RunDir {
    let cur = current.display();
    match (session_cwd, here) {
        (_, true) => RunDir {
            dir: current.to_owned(),
            why: format!("running in the current directory {cur} (--here)"),
        },
        (Some(cwd), false) if cwd.is_dir() => RunDir {
            dir: cwd.to_owned(),
            why: format!("running in the session's own directory {}", cwd.display()),
        },
        (Some(cwd), false) => RunDir {
            dir: current.to_owned(),
            why: format!(
                "the session's directory {} no longer exists; running in the current directory {cur}",
                cwd.display()
            ),
        },
        (None, false) => RunDir {
            dir: current.to_owned(),
            why: format!(
                "the session records no directory; running in the current directory {cur}"
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn run_dir_rule() {
        let tmp = tempfile::tempdir().unwrap();
        let cur = tmp.path().join("cur");
        let own = tmp.path().join("own");
        fs::create_dir_all(&own).unwrap();
        let r = choose_run_dir(Some(&own), false, &cur);
        assert_eq!(r.dir, own);
        assert!(r.why.contains("session's own"));
        let r = choose_run_dir(Some(&own), true, &cur);
        assert_eq!(r.dir, cur);
        assert!(r.why.contains("--here"));
        let gone = tmp.path().join("gone");
        let r = choose_run_dir(Some(&gone), false, &cur);
        assert_eq!(r.dir, cur);
        assert!(r.why.contains("no longer exists"));
        let file = tmp.path().join("file");
        fs::write(&file, b"").unwrap();
        assert_eq!(choose_run_dir(Some(&file), false, &cur).dir, cur);
        let r = choose_run_dir(None, false, &cur);
        assert_eq!(r.dir, cur);
        assert!(r.why.contains("records no directory"));
    }
}
