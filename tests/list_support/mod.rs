//! Tree builders for the listing's integration tests: a sandboxed home, accounts,
//! transcripts copied from `fixtures/list/`, and a `seance` command that sees only them.
#![allow(dead_code)] // each test binary uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// Session ids used across the tests (UUID v4 shape, distinct first 8 characters).
pub const TITLED: &str = "aaaa0001-1111-4111-8111-000000000001";
pub const AI: &str = "bbbb0002-2222-4222-8222-000000000002";
pub const SUMMARISED: &str = "cccc0003-3333-4333-8333-000000000003";
pub const PLAIN: &str = "dddd0004-4444-4444-8444-000000000004";
pub const FORKED: &str = "eeee0005-5555-4555-8555-000000000005";
pub const UNTITLED: &str = "ffff0006-6666-4666-8666-000000000006";
pub const GONE: &str = "abab0007-7777-4777-8777-000000000007";
pub const EVONLY: &str = "cdcd0008-8888-4888-8888-000000000008";

/// Environment variables that would let the real machine leak into a test.
const SCRUBBED: &[&str] = &[
    "GT_ROOT",
    "GT_TOWN_ROOT",
    "SEANCE_ACCOUNT_DIRS",
    "SEANCE_EVENTS",
    "SEANCE_CLAUDE",
    "NO_COLOR",
    "CLAUDECODE",
    "CLAUDE_CODE_ENTRYPOINT",
    "COLUMNS",
    "TZ",
];

/// A sandbox: a temp dir holding `home/` (with `home/.claude` as the current account),
/// `cwd/` (where seance runs, outside any town) and the XDG directories.
pub struct Sandbox {
    pub tmp: TempDir,
    pub home: PathBuf,
    pub cwd: PathBuf,
    pub cache_home: PathBuf,
    /// The current account: `$CLAUDE_CONFIG_DIR`.
    pub current: PathBuf,
}

impl Sandbox {
    /// A fresh sandbox with an empty current account `home/.claude` (with `projects/`).
    pub fn new() -> Sandbox {
        let tmp = tempfile::tempdir().unwrap();
        // Canonical, so paths the program prints (after canonicalising) compare equal.
        let root = fs::canonicalize(tmp.path()).unwrap();
        let home = root.join("home");
        let cwd = root.join("cwd");
        let cache_home = root.join("xdg-cache");
        for d in [&home, &cwd, &cache_home] {
            fs::create_dir_all(d).unwrap();
        }
        let current = home.join(".claude");
        fs::create_dir_all(current.join("projects")).unwrap();
        Sandbox {
            tmp,
            home,
            cwd,
            cache_home,
            current,
        }
    }

    pub fn root(&self) -> PathBuf {
        self.home.parent().unwrap().to_path_buf()
    }

    /// The cache file seance keeps under `$XDG_CACHE_HOME`.
    pub fn cache_file(&self) -> PathBuf {
        self.cache_home
            .join("seance")
            .join(seance::discover::cache::CACHE_FILE)
    }

    /// `seance` with the sandbox's environment and nothing of the real machine's.
    pub fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// The same as [`Sandbox::cmd`], as a plain `std::process::Command`.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("seance"));
        for v in SCRUBBED {
            c.env_remove(v);
        }
        let root = self.root();
        c.env("HOME", &self.home)
            .env("XDG_CACHE_HOME", &self.cache_home)
            .env("XDG_STATE_HOME", root.join("xdg-state"))
            .env("XDG_CONFIG_HOME", root.join("xdg-config"))
            .env("CLAUDE_CONFIG_DIR", &self.current)
            // Table times are local: pin the zone.
            .env("TZ", "UTC")
            .current_dir(&self.cwd);
        c
    }

    /// Runs `seance --json -n 0 <args>`, asserts exit 0, and returns the rows.
    pub fn json(&self, args: &[&str]) -> Vec<Value> {
        let out = self
            .cmd()
            .args(["--json", "-n", "0"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "exit {:?}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        match serde_json::from_slice(&out.stdout).unwrap() {
            Value::Array(rows) => rows,
            other => panic!("--json printed a non-array: {other}"),
        }
    }

    /// Runs seance with `args` and returns (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd().args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Creates an account (config dir with `projects/`) at `dir` and returns `dir`.
pub fn account(dir: &Path) -> PathBuf {
    fs::create_dir_all(dir.join("projects")).unwrap();
    dir.to_path_buf()
}

/// The fixture `fixtures/list/<name>` with each `(placeholder, value)` replaced.
pub fn fixture(name: &str, subst: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/list")
        .join(name);
    let mut text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    for (from, to) in subst {
        text = text.replace(from, to);
    }
    text
}

/// Writes `contents` to `<account>/projects/<folder>/<id>.jsonl`, dates it (see
/// [`stamp`]) and returns its path.
pub fn transcript(account: &Path, folder: &str, id: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let dir = account.join("projects").join(folder);
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{id}.jsonl"));
    fs::write(&path, contents).unwrap();
    stamp(&path);
    path
}

/// Sets the mtime of the transcript at `path` to the last `timestamp` written in it, as
/// Claude Code's own writes leave it (the listing orders by mtime); a file with no
/// timestamp keeps its mtime.
pub fn stamp(path: &Path) {
    let text = String::from_utf8_lossy(&fs::read(path).unwrap()).into_owned();
    let key = "\"timestamp\":\"";
    let Some(at) = text.rfind(key) else { return };
    let rest = &text[at + key.len()..];
    let Some(end) = rest.find('"') else { return };
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(&rest[..end]) else {
        return;
    };
    let Ok(ms) = u64::try_from(t.timestamp_millis()) else {
        return;
    };
    let f = fs::File::options().append(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_millis(ms))
        .unwrap();
}

/// Copies fixture `name` to `<account>/projects/<folder>/<id>.jsonl`.
pub fn fixture_transcript(account: &Path, folder: &str, id: &str, name: &str) -> PathBuf {
    transcript(account, folder, id, fixture(name, &[("SID", id)]))
}

/// One user record as Claude Code writes it.
pub fn user_line(cwd: &str, ts: &str, text: &str) -> String {
    serde_json::json!({"type":"user","cwd":cwd,"timestamp":ts,
        "message":{"role":"user","content":text}})
    .to_string()
}

/// A two-line transcript: a user prompt at `start` and an assistant reply at `end`.
pub fn convo(cwd: &str, start: &str, end: &str, prompt: &str) -> String {
    let reply = serde_json::json!({"type":"assistant","cwd":cwd,"timestamp":end,
        "message":{"role":"assistant","content":"ok"}});
    format!("{}\n{reply}\n", user_line(cwd, start, prompt))
}

/// Sets a file's mtime to `secs` seconds since the Unix epoch.
pub fn set_mtime(path: &Path, secs: u64) {
    let f = fs::File::options().append(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

/// The ids of `rows`, in order.
pub fn ids(rows: &[Value]) -> Vec<&str> {
    rows.iter()
        .map(|r| r["session_id"].as_str().unwrap())
        .collect()
}

/// The row of `id`, panicking when it is not there exactly once.
pub fn row<'a>(rows: &'a [Value], id: &str) -> &'a Value {
    let found: Vec<&Value> = rows.iter().filter(|r| r["session_id"] == id).collect();
    assert_eq!(
        found.len(),
        1,
        "{id} listed {} times in {rows:#?}",
        found.len()
    );
    found[0]
}

/// True when running with root's powers: permission bits do not stop reads.
pub fn reads_ignore_permissions(probe_dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let d = probe_dir.join("perm-probe");
    fs::create_dir_all(&d).unwrap();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o000)).unwrap();
    let readable = fs::read_dir(&d).is_ok();
    fs::set_permissions(&d, fs::Permissions::from_mode(0o755)).unwrap();
    fs::remove_dir(&d).unwrap();
    readable
}
