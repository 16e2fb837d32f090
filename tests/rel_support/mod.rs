//! Helpers for the reliability tests (stress, crash, hostile): a throw-away world with
//! two accounts and any number of predecessor sessions, the real `seance` binary pointed
//! into it, stand-in claude scripts, and byte-for-byte snapshots of directory trees.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "../common/folder_name.rs"]
mod folder_name;
pub use folder_name::reference_folder_name;

/// A session id built from a small number (distinct first 8 characters per `n`).
pub fn sid(n: u32) -> String {
    format!("{n:08x}-1111-4222-8333-{n:012x}")
}

/// One transcript line set for session `id` run in `cwd` with title `title`.
pub fn transcript(id: &str, cwd: &str, title: &str) -> String {
    let user = serde_json::json!({
        "parentUuid": null, "isSidechain": false, "userType": "external", "cwd": cwd,
        "sessionId": id, "version": "2.1.197", "gitBranch": "main", "type": "user",
        "message": {"role": "user", "content": format!("prompt of {title}")},
        "uuid": "a1b2c3d4-0000-4000-8000-000000000001",
        "timestamp": "2026-11-20T09:00:01.000Z", "entrypoint": "cli"
    });
    let t = serde_json::json!({"type": "custom-title", "customTitle": title, "sessionId": id});
    format!("{user}\n{t}\n")
}

/// A throw-away world: account `a` (predecessors), account `b` (current), a home, state
/// and cache dirs, the predecessors' project dir and a separate current directory.
pub struct World {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub a: PathBuf,
    pub b: PathBuf,
    pub home: PathBuf,
    pub state_home: PathBuf,
    pub cache_home: PathBuf,
    pub proj: PathBuf,
    pub cur: PathBuf,
}

impl World {
    pub fn new() -> World {
        World::new_in(None)
    }

    /// A world under `parent` (default: the system temp dir).
    pub fn new_in(parent: Option<&Path>) -> World {
        let tmp = match parent {
            Some(p) => tempfile::tempdir_in(p).unwrap(),
            None => tempfile::tempdir().unwrap(),
        };
        let root = tmp.path().canonicalize().unwrap();
        let w = World {
            a: root.join("acct-a"),
            b: root.join("acct-b"),
            home: root.join("home"),
            state_home: root.join("state"),
            cache_home: root.join("cache"),
            proj: root.join("proj"),
            cur: root.join("cur"),
            root,
            tmp,
        };
        for d in [
            &w.a.join("projects"),
            &w.b.join("projects"),
            &w.home,
            &w.proj,
            &w.cur,
        ] {
            fs::create_dir_all(d).unwrap();
        }
        w
    }

    /// seance's state dir (`$XDG_STATE_HOME/seance`).
    pub fn state(&self) -> PathBuf {
        self.state_home.join("seance")
    }

    /// Account `a`'s project folder for `dir`.
    pub fn source_folder(&self, dir: &Path) -> PathBuf {
        self.a
            .join("projects")
            .join(reference_folder_name(dir.to_str().unwrap()))
    }

    /// Account `b`'s project folder for `dir` (where links go).
    pub fn target_folder(&self, dir: &Path) -> PathBuf {
        self.b
            .join("projects")
            .join(reference_folder_name(dir.to_str().unwrap()))
    }

    /// Writes session `id` (run in `self.proj`) into account `a`, with an entry in the
    /// folder's index when `indexed`. Returns the transcript path.
    pub fn add_session(&self, id: &str, title: &str, indexed: bool) -> PathBuf {
        let folder = self.source_folder(&self.proj);
        fs::create_dir_all(&folder).unwrap();
        let path = folder.join(format!("{id}.jsonl"));
        let cwd = self.proj.to_str().unwrap();
        fs::write(&path, transcript(id, cwd, title)).unwrap();
        if indexed {
            let index = folder.join("sessions-index.json");
            let mut doc: serde_json::Value = fs::read(&index)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_else(
                    || serde_json::json!({"version": 1, "entries": [], "originalPath": cwd}),
                );
            doc["entries"]
                .as_array_mut()
                .unwrap()
                .push(serde_json::json!({
                    "sessionId": id, "fullPath": path, "firstPrompt": format!("prompt of {title}"),
                    "summary": title, "messageCount": 1, "projectPath": cwd,
                    "zUnknown": {"kept": [1, "two"]}
                }));
            fs::write(&index, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
        }
        path
    }

    /// The real binary with every directory pointed into this world, run from `cur`.
    pub fn seance(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_seance"));
        cmd.current_dir(&self.cur)
            .env("HOME", &self.home)
            .env("CLAUDE_CONFIG_DIR", &self.b)
            .env("SEANCE_ACCOUNT_DIRS", &self.a)
            .env("XDG_STATE_HOME", &self.state_home)
            .env("XDG_CACHE_HOME", &self.cache_home)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for var in [
            "GT_ROOT",
            "GT_TOWN_ROOT",
            "SEANCE_EVENTS",
            "SEANCE_CLAUDE",
            "CLAUDECODE",
            "CLAUDE_CODE_ENTRYPOINT",
            "SEANCE_TEST_FAULT",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// `seance --talk <id> -p q --claude <claude>`, as a command to adjust and run.
    pub fn talk_cmd(&self, id: &str, claude: &Path) -> Command {
        let mut cmd = self.seance();
        cmd.arg("--talk")
            .arg(id)
            .arg("-p")
            .arg("where is it?")
            .arg("--claude")
            .arg(claude);
        cmd
    }

    /// Writes a stand-in claude: logs its pid, its parent's (seance's) pid and the id to `<root>/runs/<pid>`,
    /// checks every 50 ms for a random 0..`max_ms` ms that the link of the session it
    /// was asked to resume (in `target`) is a symlink whose target reads back as a
    /// transcript, and writes `LOST` to its log if it ever is not.
    pub fn standin(&self, target: &Path, max_ms: u32) -> PathBuf {
        let runs = self.root.join("runs");
        fs::create_dir_all(&runs).unwrap();
        let path = self.root.join(format!("claude-{max_ms}"));
        let script = format!(
            r#"#!/bin/bash
LOG="{runs}/$$"
ID=""
prev=""
for a in "$@"; do [ "$prev" = "--resume" ] && ID="$a"; prev="$a"; done
LINK="{target}/$ID.jsonl"
echo "PID=$$ PPID=$PPID ID=$ID" > "$LOG"
check() {{
  if [ ! -L "$LINK" ] || ! head -c 1 "$LINK" 2>/dev/null | grep -q '{{'; then echo "LOST $1" >> "$LOG"; fi
}}
check start
end=$(( $(date +%s%N) / 1000000 + RANDOM % ({max_ms} + 1) ))
while [ $(( $(date +%s%N) / 1000000 )) -lt $end ]; do sleep 0.05; check during; done
check end
echo "DONE" >> "$LOG"
echo "ANSWER $ID"
"#,
            runs = runs.display(),
            target = target.display(),
            max_ms = max_ms,
        );
        fs::write(&path, script).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// Every stand-in log: (pid, whole text).
    pub fn runs(&self) -> Vec<(u32, String)> {
        let Ok(rd) = fs::read_dir(self.root.join("runs")) else {
            return Vec::new();
        };
        let mut out: Vec<(u32, String)> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let pid = e.file_name().to_str()?.parse().ok()?;
                Some((pid, fs::read_to_string(e.path()).ok()?))
            })
            .collect();
        out.sort();
        out
    }

    /// Waits (at most 10 s) until no stand-in that ever logged, and no claude the
    /// ledger noted, is still running: a killed seance's claude dies with it, maybe
    /// before it logged anything.
    pub fn wait_standins_gone(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let noted = seance::link::ledger::read_unlocked(&self.state())
            .map(|l| l.links)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|r| r.owners)
            .filter_map(|o| o.claude.map(|c| c.pid));
        let logged = self.runs().into_iter().map(|(pid, _)| pid);
        for pid in logged.chain(noted) {
            while seance::link::ledger::ProcId::of(pid).is_some() {
                assert!(Instant::now() < deadline, "stand-in {pid} did not exit");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }

    /// The ledger's record count; panics if the ledger does not parse.
    pub fn ledger_len(&self) -> usize {
        seance::link::ledger::read_unlocked(&self.state())
            .expect("the ledger always parses")
            .links
            .len()
    }
}

/// What a snapshot records of one directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File { bytes: Vec<u8>, mode: u32 },
    Dir { mode: u32 },
    Link { target: PathBuf },
    Other { mode: u32 },
}

/// Every entry under `dir` (not following links), by path relative to `dir`, with
/// contents; entries for which `skip` is true are left out.
pub fn snapshot(dir: &Path, skip: impl Fn(&Path) -> bool) -> BTreeMap<PathBuf, Node> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for e in walkdir::WalkDir::new(dir).follow_links(false) {
        let e = e.unwrap();
        if skip(e.path()) {
            continue;
        }
        let m = fs::symlink_metadata(e.path()).unwrap();
        let mode = m.mode() & 0o7777;
        let node = if m.file_type().is_symlink() {
            Node::Link {
                target: fs::read_link(e.path()).unwrap(),
            }
        } else if m.is_file() {
            Node::File {
                bytes: fs::read(e.path()).unwrap(),
                mode,
            }
        } else if m.is_dir() {
            Node::Dir { mode }
        } else {
            Node::Other { mode }
        };
        out.insert(e.path().strip_prefix(dir).unwrap().to_owned(), node);
    }
    out
}

/// A readable diff of two snapshots (paths only), for assertion messages.
pub fn diff(a: &BTreeMap<PathBuf, Node>, b: &BTreeMap<PathBuf, Node>) -> String {
    let mut out = Vec::new();
    for (p, n) in a {
        match b.get(p) {
            None => out.push(format!("- {}", p.display())),
            Some(m) if m != n => out.push(format!("~ {}", p.display())),
            _ => {}
        }
    }
    for p in b.keys().filter(|p| !a.contains_key(*p)) {
        out.push(format!("+ {}", p.display()));
    }
    out.join("\n")
}

/// True for the index lock file, which seance (like `gt seance`) leaves in a folder it
/// did not create: removing a lock someone may be about to take is not safe.
pub fn is_lock(p: &Path) -> bool {
    p.extension().is_some_and(|x| x == "lock")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `out` as a readable message.
pub fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

/// Whether the tests run in CI (`CI` set to anything but empty/`false`/`0`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A mechanism a test needs is missing: fail in CI, say so loudly elsewhere.
/// Returns normally only outside CI.
pub fn unavailable(what: &str) {
    if in_ci() {
        panic!("{what} is unavailable, and CI=true forbids skipping this test");
    }
    eprintln!("SKIPPED (not in CI): {what} is unavailable here");
}
