//! Finding the real `claude` binary, deciding whether a real-CLI test runs or skips, and
//! running child processes with a deadline so a hung CLI fails a test instead of CI.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Names the claude binary to test against (a path). Without it, `claude` on `PATH`.
pub const CLAUDE_ENV: &str = "SEANCE_TEST_CLAUDE";
/// When set, each real-CLI test that runs (does not skip) creates a file named after
/// itself in this directory, so `.ci/run` can prove the tests ran.
pub const RAN_DIR_ENV: &str = "SEANCE_REAL_TESTS_RAN_DIR";

/// The claude binary for a real-CLI test named `test`, or `None` to skip it.
///
/// Looks at `$SEANCE_TEST_CLAUDE` (must point at an existing file when set), then
/// `claude` on `PATH`. When none is found it prints one line and returns `None`, except
/// under `CI=true`, where it panics: a real-CLI test that skips in CI proves nothing.
pub fn require_claude(test: &str) -> Option<PathBuf> {
    let found = locate_claude();
    let Some(path) = found else {
        let how =
            format!("set {CLAUDE_ENV}=/path/to/claude, put `claude` on PATH, or run scripts/test");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "real-claude test `{test}` found no claude CLI and CI=true forbids skipping: {how}"
            );
        }
        // Once per test binary, and past libtest's capture of eprintln!, so it is seen.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED the real-claude tests (no claude CLI): {how}"
            );
        });
        return None;
    };
    if let Some(dir) = std::env::var_os(RAN_DIR_ENV) {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create real-test marker dir");
        std::fs::write(dir.join(test), path.to_string_lossy().as_bytes())
            .expect("write real-test marker");
    }
    Some(path)
}

/// `$SEANCE_TEST_CLAUDE` or `claude` on `PATH`, made absolute. Panics if the variable
/// names something that is not a file (a typo there must not turn into a silent skip).
pub fn locate_claude() -> Option<PathBuf> {
    if let Some(value) = std::env::var_os(CLAUDE_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&value);
        assert!(
            path.is_file(),
            "{CLAUDE_ENV}={} does not name a file",
            path.display()
        );
        return Some(path.canonicalize().expect("canonicalize claude path"));
    }
    let path_var = std::env::var_os("PATH")?;
    std::env::split_paths(&path_var)
        .map(|dir| dir.join("claude"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What a finished child printed and how it ended.
#[derive(Debug)]
pub struct Finished {
    /// Exit status (`code()` is `None` when a signal ended it).
    pub status: ExitStatus,
    /// Everything written to stdout, lossily decoded.
    pub stdout: String,
    /// Everything written to stderr, lossily decoded.
    pub stderr: String,
}

impl Finished {
    /// Panics with both streams unless the child exited 0.
    pub fn assert_success(&self, what: &str) -> &Finished {
        assert!(
            self.status.success(),
            "{what} failed with {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `cmd` with stdin closed and both outputs captured; kills it and panics after
/// `limit`.
pub fn run_with_deadline(cmd: &mut Command, limit: Duration) -> Finished {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {shown}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
            panic!("{shown} ran over {limit:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Finished {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// The environment every claude (and seance) child gets, apart from
/// `CLAUDE_CONFIG_DIR`: the mock API, telemetry and updates off, and `HOME`/`XDG_*`
/// inside the test's temp dir so nothing reads or writes the real home.
pub fn base_env(home: &Path, mock_url: &str) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    let mut set = |k: &str, v: OsString| env.push((k.into(), v));
    set("HOME", home.into());
    set("XDG_CONFIG_HOME", home.join(".config").into());
    set("XDG_STATE_HOME", home.join(".local/state").into());
    set("XDG_CACHE_HOME", home.join(".cache").into());
    set("XDG_DATA_HOME", home.join(".local/share").into());
    set("PATH", std::env::var_os("PATH").unwrap_or_default());
    set("TERM", "xterm-256color".into());
    set("LANG", "C.UTF-8".into());
    set("ANTHROPIC_BASE_URL", mock_url.into());
    set("ANTHROPIC_API_KEY", super::account::API_KEY.into());
    set("DISABLE_TELEMETRY", "1".into());
    set("DISABLE_AUTOUPDATER", "1".into());
    set("DISABLE_ERROR_REPORTING", "1".into());
    set("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into());
    env
}
