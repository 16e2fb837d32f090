//! Shared helpers for the talk and reap integration tests: a throw-away world with two
//! accounts, a predecessor session, a stand-in claude script, and a way to run a talk
//! in a separate process (so it can be signalled, killed, and given its own cwd).
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

#[path = "../common/folder_name.rs"]
mod folder_name;
pub use folder_name::reference_folder_name;

pub const ID: &str = "46621448-3caa-4bbb-8ccc-123456789abc";

/// Environment variable telling the child-entry test which plan to run.
pub const CHILD_PLAN_ENV: &str = "SEANCE_TEST_CHILD_PLAN";

/// A fixture file with `{KEY}` placeholders filled in.
pub fn fixture(name: &str, vars: &[(&str, &str)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/talk")
        .join(name);
    let mut text = fs::read_to_string(&path).unwrap();
    for (k, v) in vars {
        text = text.replace(&format!("{{{k}}}"), v);
    }
    text
}

/// How the stand-in claude behaves.
#[derive(Debug, Clone)]
pub struct Standin {
    /// Seconds to sleep (interruptibly) before exiting.
    pub sleep: u32,
    /// Exit code.
    pub exit: i32,
    /// Printed on stdout.
    pub stdout: String,
    /// A shell command run while "talking" (e.g. to change the index under seance).
    pub during: String,
}

impl Default for Standin {
    fn default() -> Self {
        Standin {
            sleep: 0,
            exit: 0,
            stdout: "ANSWER-FROM-CLAUDE".into(),
            during: String::new(),
        }
    }
}

/// One throw-away world: accounts `a` (the predecessor's) and `b` (current), a state
/// dir, the predecessor's project dir, and a separate "current directory".
pub struct World {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub a: PathBuf,
    pub b: PathBuf,
    pub state: PathBuf,
    pub proj: PathBuf,
    pub cur: PathBuf,
    pub source_folder: PathBuf,
    pub source: PathBuf,
    pub source_index: PathBuf,
    pub log: PathBuf,
}

impl World {
    /// A world whose predecessor ran in `<root>/<proj_name>`.
    pub fn new(proj_name: &str) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let a = root.join("acct-a");
        let b = root.join("acct-b");
        let proj = root.join(proj_name);
        fs::create_dir_all(&proj).unwrap();
        let cur = root.join("cur");
        fs::create_dir_all(&cur).unwrap();
        fs::create_dir_all(b.join("projects")).unwrap();
        let source_folder = a
            .join("projects")
            .join(reference_folder_name(proj.to_str().unwrap()));
        fs::create_dir_all(&source_folder).unwrap();
        let source = source_folder.join(format!("{ID}.jsonl"));
        let cwd = proj.to_str().unwrap();
        fs::write(
            &source,
            fixture("transcript.jsonl", &[("ID", ID), ("CWD", cwd)]),
        )
        .unwrap();
        let source_index = source_folder.join("sessions-index.json");
        fs::write(
            &source_index,
            fixture(
                "sessions-index.json",
                &[
                    ("ID", ID),
                    ("CWD", cwd),
                    ("FULLPATH", source.to_str().unwrap()),
                ],
            ),
        )
        .unwrap();
        // Read-only, as a guard on top of the hashes: a write would fail loudly.
        for p in [&source, &source_index] {
            fs::set_permissions(p, fs::Permissions::from_mode(0o444)).unwrap();
        }
        let log = root.join("claude.log");
        World {
            state: root.join("state/seance"),
            tmp,
            root,
            a,
            b,
            proj,
            cur,
            source_folder,
            source,
            source_index,
            log,
        }
    }

    /// The source index's entry for the session.
    pub fn source_entry(&self) -> serde_json::Map<String, serde_json::Value> {
        let doc: serde_json::Value =
            serde_json::from_slice(&fs::read(&self.source_index).unwrap()).unwrap();
        doc["entries"][0].as_object().unwrap().clone()
    }

    /// Bytes, mode and mtime of everything under account `a`: the predecessor's
    /// transcript, folder and index must come out of a talk exactly as they went in.
    pub fn predecessor_snapshot(&self) -> BTreeMap<PathBuf, (Vec<u8>, u32, i64, i64)> {
        let mut out = BTreeMap::new();
        for e in walkdir::WalkDir::new(&self.a).follow_links(false) {
            let e = e.unwrap();
            let m = fs::symlink_metadata(e.path()).unwrap();
            let bytes = if m.is_file() {
                fs::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            let mtime = if m.is_dir() { 0 } else { m.mtime_nsec() };
            out.insert(e.path().to_owned(), (bytes, m.mode(), m.mtime(), mtime));
        }
        out
    }

    /// The current account's project folder for `dir` (by the reference rule).
    pub fn target_folder(&self, dir: &Path) -> PathBuf {
        self.b.join("projects").join(reference_folder_name(
            dir.canonicalize().unwrap().to_str().unwrap(),
        ))
    }

    /// Writes the stand-in claude script and returns its path. It records its pid, cwd,
    /// argv, the two stripped env vars and every `<id>.jsonl` it can see in the current
    /// account (and what the index there says) into `<log>.<pid>`, touches
    /// `<log>.<pid>.ready`, runs `during`, sleeps, checks the link again, and exits.
    /// SIGINT/SIGTERM/SIGHUP are recorded and end it with 128+n.
    pub fn standin(&self, s: &Standin) -> PathBuf {
        let path = self.root.join(format!("claude-standin-{}", rand_suffix()));
        let script = format!(
            r#"#!/bin/bash
LOG="{log}.$$"
PROJECTS="{projects}"
ID="{id}"
report_links() {{
  for f in "$PROJECTS"/*/"$ID.jsonl"; do
    if [ -L "$f" ]; then echo "$1=$f -> $(readlink "$f")";
    elif [ -e "$f" ]; then echo "$1=$f (file)"; fi
  done
}}
{{
  echo "PID=$$"
  echo "CWD=$(pwd -P)"
  for a in "$@"; do printf 'ARG=%s\n' "$a"; done
  echo "CLAUDECODE=${{CLAUDECODE-<unset>}}"
  echo "CLAUDE_CODE_ENTRYPOINT=${{CLAUDE_CODE_ENTRYPOINT-<unset>}}"
  report_links LINK
  for i in "$PROJECTS"/*/sessions-index.json; do
    [ -f "$i" ] && echo "INDEX=$i $(tr -d '\n' < "$i")"
  done
}} > "$LOG"
on_sig() {{ echo "SIG=$1" >> "$LOG"; [ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null; exit $2; }}
trap 'on_sig INT 130' INT
trap 'on_sig TERM 143' TERM
trap 'on_sig HUP 129' HUP
touch "$LOG.ready"
{during}
if [ {sleep} -gt 0 ]; then
  sleep {sleep} & SLEEPER=$!
  wait $SLEEPER
fi
report_links LINK_AT_END >> "$LOG"
printf '%s\n' "{stdout}"
echo "EXIT={exit}" >> "$LOG"
exit {exit}
"#,
            log = self.log.display(),
            projects = self.b.join("projects").display(),
            id = ID,
            during = s.during,
            sleep = s.sleep,
            stdout = s.stdout,
            exit = s.exit,
        );
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// The default plan: talk to the predecessor from account `b`, one-shot.
    pub fn plan(&self, claude: &Path) -> PlanSpec {
        PlanSpec {
            session_id: ID.into(),
            source_transcript: Some(self.source.clone()),
            source_index_entry: Some(self.source_entry()),
            session_cwd: Some(self.proj.clone()),
            here: false,
            current_config_dir: self.b.clone(),
            claude: Some(claude.to_owned()),
            prompt: Some("where is the canary?".into()),
            passthrough: vec!["--model".into(), "x y".into()],
            state_dir: self.state.clone(),
            known_config_dirs: vec![self.a.clone(), self.b.clone()],
            title: Some("Lantern notes".into()),
            claude_json: None,
            ephemeral: false,
        }
    }

    /// Every stand-in log written so far, parsed as `KEY=value` lines.
    pub fn runs(&self) -> Vec<Vec<(String, String)>> {
        let dir = self.log.parent().unwrap();
        let name = self.log.file_name().unwrap().to_str().unwrap().to_owned();
        let mut logs: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                let n = p.file_name().unwrap().to_str().unwrap();
                n.starts_with(&format!("{name}.")) && !n.ends_with(".ready")
            })
            .collect();
        logs.sort();
        logs.iter()
            .map(|p| {
                fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect()
    }

    /// Waits until `n` stand-ins have signalled ready (at most 20 s).
    pub fn wait_ready(&self, n: usize) {
        let dir = self.log.parent().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = fs::read_dir(dir)
                .unwrap()
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_str().unwrap().ends_with(".ready"))
                .count();
            if ready >= n {
                return;
            }
            assert!(Instant::now() < deadline, "stand-in claude never started");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `*.jsonl` entries (files or links) anywhere under account `b`'s projects.
    pub fn target_jsonl(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(self.b.join("projects")) {
            let e = e.unwrap();
            if e.file_name().to_str().unwrap().ends_with(".jsonl") {
                out.push(e.path().to_owned());
            }
        }
        out
    }

    /// The ledger's records (empty when no ledger file).
    /// Writes `fixtures/talk/target-index.json` as the target folder's index (creating
    /// the folder), so "restored byte for byte" can be checked; returns its path and text.
    pub fn write_target_index(&self) -> (PathBuf, String) {
        let folder = self.target_folder(&self.proj);
        fs::create_dir_all(&folder).unwrap();
        let index = folder.join("sessions-index.json");
        let original = fixture("target-index.json", &[("RUN", self.proj.to_str().unwrap())]);
        fs::write(&index, &original).unwrap();
        (index, original)
    }

    pub fn ledger_len(&self) -> usize {
        seance::link::ledger::read_unlocked(&self.state)
            .unwrap()
            .links
            .len()
    }
}

/// Values of `key` in a stand-in log.
pub fn values<'a>(run: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    run.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// A [`seance::talk::TalkPlan`] that can cross a process boundary as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanSpec {
    pub session_id: String,
    pub source_transcript: Option<PathBuf>,
    pub source_index_entry: Option<serde_json::Map<String, serde_json::Value>>,
    pub session_cwd: Option<PathBuf>,
    pub here: bool,
    pub current_config_dir: PathBuf,
    pub claude: Option<PathBuf>,
    pub prompt: Option<String>,
    pub passthrough: Vec<String>,
    pub state_dir: PathBuf,
    pub known_config_dirs: Vec<PathBuf>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub claude_json: Option<PathBuf>,
    #[serde(default)]
    pub ephemeral: bool,
}

impl PlanSpec {
    pub fn to_plan(&self) -> seance::talk::TalkPlan {
        seance::talk::TalkPlan {
            session_id: self.session_id.clone(),
            source_transcript: self.source_transcript.clone(),
            source_index_entry: self.source_index_entry.clone(),
            session_cwd: self.session_cwd.clone(),
            here: self.here,
            current_config_dir: self.current_config_dir.clone(),
            claude: self.claude.clone(),
            prompt: self.prompt.clone(),
            passthrough: self.passthrough.iter().map(Into::into).collect(),
            state_dir: self.state_dir.clone(),
            known_config_dirs: self.known_config_dirs.clone(),
            title: self.title.clone(),
            owner_account: Some("acct-a".into()),
            current_account: "acct-b".into(),
            claude_json: self.claude_json.clone(),
            ephemeral: self.ephemeral,
        }
    }
}

/// Body of the child-entry test: when [`CHILD_PLAN_ENV`] names a plan file, run the
/// talk as seance's `main` would (errors printed once on stderr, exit 1) and exit.
/// Otherwise (a normal test run) do nothing.
pub fn child_entry() {
    let Some(plan_file) = std::env::var_os(CHILD_PLAN_ENV) else {
        return;
    };
    let spec: PlanSpec = serde_json::from_slice(&fs::read(plan_file).unwrap()).unwrap();
    // These tests look at the mechanics: say all of it, as -v does.
    seance::util::say::set_verbosity(seance::util::say::Verbosity::Verbose);
    let code = match seance::talk::talk(&spec.to_plan()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("seance: {e:#}");
            1
        }
    };
    std::process::exit(code);
}

/// Starts a talk in a child process (this test binary re-run with only `entry_test`),
/// in `cwd`, with `env` added and `CLAUDECODE`/`CLAUDE_CODE_ENTRYPOINT` set so the test
/// can check they are stripped.
pub fn spawn_talk(
    w: &World,
    entry_test: &str,
    plan: &PlanSpec,
    cwd: &Path,
    env: &[(&str, &str)],
) -> Child {
    let mut cmd = talk_child_command(w, entry_test, plan, cwd);
    cmd.env("CLAUDECODE", "1")
        .env("CLAUDE_CODE_ENTRYPOINT", "cli")
        .env_remove("SEANCE_TEST_FAULT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Runs a talk to completion in a child process.
pub fn run_talk(w: &World, entry_test: &str, plan: &PlanSpec, cwd: &Path) -> Output {
    spawn_talk(w, entry_test, plan, cwd, &[])
        .wait_with_output()
        .unwrap()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Sends `sig` to `pid`.
pub fn send_signal(pid: u32, sig: i32) {
    // SAFETY: plain kill(2) on a child of this test.
    let r = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig})");
}

/// Writes a stand-in claude in Python that records the origin of every SIGINT, SIGTERM
/// and SIGHUP it gets (`SIGINFO=<signo> <si_code> <si_pid>`, via `sigtimedwait`), until
/// one second after the first, then exits 130 (0 if none came within 20 s). `None` when
/// there is no python3 to run it.
pub fn origin_recording_standin(w: &World) -> Option<PathBuf> {
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .or_else(|| {
            let out = Command::new("sh")
                .args(["-c", "command -v python3"])
                .output()
                .ok()?;
            let p = text(&out.stdout).trim().to_owned();
            (!p.is_empty()).then(|| PathBuf::from(p))
        })?;
    let path = w.root.join(format!("claude-py-{}", rand_suffix()));
    let script = format!(
        r#"#!{python}
import os, signal, sys, time
LOG = "{log}.%d" % os.getpid()
SIGS = {{signal.SIGINT, signal.SIGTERM, signal.SIGHUP}}
signal.pthread_sigmask(signal.SIG_BLOCK, SIGS)
with open(LOG, "w") as f:
    f.write("PID=%d\n" % os.getpid())
open(LOG + ".ready", "w").close()
got, first, deadline = [], None, time.time() + 20
while time.time() < deadline and (first is None or time.time() < first + 1.0):
    info = signal.sigtimedwait(SIGS, 0.05)
    if info is not None:
        got.append(info)
        first = first or time.time()
with open(LOG, "a") as f:
    for i in got:
        f.write("SIGINFO=%d %d %d\n" % (i.si_signo, i.si_code, i.si_pid))
sys.exit(130 if got else 0)
"#,
        python = python.display(),
        log = w.log.display(),
    );
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    Some(path)
}

/// Starts a talk in a child process (this test binary, running `entry_test`) on a fresh
/// pseudo-terminal; see [`spawn_in_pty`].
pub fn spawn_talk_in_pty(
    w: &World,
    entry_test: &str,
    plan: &PlanSpec,
) -> Option<(Child, fs::File)> {
    spawn_in_pty(talk_child_command(w, entry_test, plan, &w.cur))
}

/// This test binary re-run with only `entry_test`, in `cwd`, told (through a plan file
/// under the world's root) which talk to run.
fn talk_child_command(w: &World, entry_test: &str, plan: &PlanSpec, cwd: &Path) -> Command {
    let plan_file = w.root.join(format!("plan-{}.json", rand_suffix()));
    fs::write(&plan_file, serde_json::to_vec(plan).unwrap()).unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        entry_test,
        "--exact",
        "--nocapture",
        "--test-threads=1",
        "-q",
    ])
    .current_dir(cwd)
    .env(CHILD_PLAN_ENV, &plan_file);
    cmd
}

/// Starts `cmd` on a fresh pseudo-terminal, as its session leader with the terminal as
/// its controlling tty (so it and its children form the foreground process group, as
/// in an interactive shell). Returns the child and the terminal's master side; `None`
/// when no pty can be had here.
pub fn spawn_in_pty(mut cmd: Command) -> Option<(Child, fs::File)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two fds; the null pointers mean default name/termios/size.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if r != 0 {
        return None;
    }
    // SAFETY: both fds were just returned by openpty and are owned here.
    let (master, slave) = unsafe { (fs::File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd.spawn().ok()?;
    Some((child, master))
}

/// Reads everything from a pty master on a thread (so nothing blocks on a full
/// terminal buffer); join it after the child exited and the master was dropped.
pub fn drain(master: &fs::File) -> std::thread::JoinHandle<Vec<u8>> {
    use std::io::Read;
    let mut reader = master.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        out
    })
}

/// The built `seance` binary, run in `w.cur` with an environment that points every
/// directory into the world: account `b` is current (`CLAUDE_CONFIG_DIR`), account `a`
/// is known through `SEANCE_ACCOUNT_DIRS`, state and cache under the world's root, and
/// `SEANCE_CLAUDE` names `claude`. `CLAUDECODE`/`CLAUDE_CODE_ENTRYPOINT` are set so
/// tests can see them stripped.
pub fn seance_bin(w: &World, claude: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seance"));
    cmd.current_dir(&w.cur)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", w.root.join("home"))
        .env("XDG_STATE_HOME", w.state.parent().unwrap())
        .env("XDG_CACHE_HOME", w.root.join("cache"))
        .env("CLAUDE_CONFIG_DIR", &w.b)
        .env("SEANCE_ACCOUNT_DIRS", &w.a)
        .env("SEANCE_CLAUDE", claude)
        .env("CLAUDECODE", "1")
        .env("CLAUDE_CODE_ENTRYPOINT", "cli")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}
