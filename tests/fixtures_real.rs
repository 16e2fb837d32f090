//! The transcripts in `fixtures/real/<version>/`, written by the real Claude Code CLI of
//! each supported version (see `fixtures/real/README.md`), are listed the way that
//! version's `manifest.json` says, and seance's bounded reads of them (and of every
//! line-prefix of them: a session still being written, or cut short by a crash) agree
//! with a full parse. Needs no claude: these run everywhere.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::{DateTime, Utc};
use seance::discover::transcript::read_meta;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real")
}

/// Every `fixtures/real/<version>/` directory, oldest version first.
fn version_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .expect("read fixtures/real")
        .map(|e| e.expect("fixtures/real entry").path())
        .filter(|p| p.join("manifest.json").is_file())
        .collect();
    let key = |p: &PathBuf| -> Vec<u64> {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        name.split('.').map(|n| n.parse().unwrap_or(0)).collect()
    };
    dirs.sort_by_key(key);
    dirs
}

fn manifest(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("read manifest");
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn time(value: &Value, what: &str) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{what} is a string: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{what}={text}: {e}"))
        .with_timezone(&Utc)
}

/// Copies `from` (a fixture account) to `to`.
fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk fixtures");
        let dest = to.join(entry.path().strip_prefix(from).expect("under"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy fixture");
        }
    }
}

/// `seance --json -n 0` over copies of the fixture accounts of `dir` (`work` current,
/// `home` another account), as rows, and the temp root the accounts were copied to.
fn list(dir: &Path) -> (Vec<Value>, tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().canonicalize().expect("canonicalize");
    let (work, home) = (root.join("work"), root.join("home"));
    copy_tree(&dir.join("accounts/work"), &work);
    copy_tree(&dir.join("accounts/home"), &home);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seance"));
    cmd.env_clear()
        .env("HOME", root.join("home-dir"))
        .env("XDG_CACHE_HOME", root.join("cache"))
        .env("XDG_STATE_HOME", root.join("state"))
        .env("CLAUDE_CONFIG_DIR", &work)
        .env("SEANCE_ACCOUNT_DIRS", &home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(&root)
        .args(["--json", "-n", "0"]);
    let done = support::claude::run_with_deadline(&mut cmd, Duration::from_secs(60));
    done.assert_success("seance --json -n 0");
    let rows = serde_json::from_str(&done.stdout).expect("JSON array");
    (rows, temp, root)
}

/// Checks one session of a manifest against its listed row.
fn check_row(version: &str, want: &Value, row: &Value, sessions: &[Value], root: &Path) {
    let at = format!("{version} {}", want["id"]);
    for key in ["account", "cwd", "title", "first_prompt"] {
        assert_eq!(row[key], want[key], "{at}: {key} of {row:#}");
    }
    assert_eq!(
        row["current_account"],
        want["account"] == "work",
        "{at}: {row:#}"
    );
    // 2.1.197 and 2.1.332 write `gitBranch: "HEAD"` outside a git repository: that is
    // no branch.
    if want["git_branch"] == "HEAD" {
        assert_eq!(row["git_branch"], Value::Null, "{at}: {row:#}");
    } else {
        assert_eq!(row["git_branch"], want["git_branch"], "{at}: {row:#}");
    }
    let transcript = PathBuf::from(row["transcript"].as_str().expect("transcript path"));
    assert!(transcript.starts_with(root), "{at}: {row:#}");
    let text = std::fs::read_to_string(&transcript).expect("read listed transcript");
    assert_eq!(row["size_bytes"], text.len(), "{at}: {row:#}");
    for marker in want["markers"].as_array().expect("markers") {
        let marker = marker.as_str().expect("marker");
        assert!(text.contains(marker), "{at}: the transcript lacks {marker}");
    }
    // Last activity is the transcript's modification time, as in Claude Code's picker
    // (here: when the test copied the fixture), to the millisecond JSON carries.
    let last = time(&row["last_active_at"], "last_active_at");
    let mtime: DateTime<Utc> = std::fs::metadata(&transcript)
        .and_then(|m| m.modified())
        .expect("transcript mtime")
        .into();
    assert_eq!(
        last.timestamp_millis(),
        mtime.timestamp_millis(),
        "{at}: last_active_at is the transcript's mtime"
    );
    let started = time(&row["started_at"], "started_at");
    match want.get("copied_from").and_then(Value::as_str) {
        None => {
            assert_eq!(started, time(&want["first_timestamp"], "first"), "{at}");
            assert_eq!(row["forked_from"], Value::Null, "{at}: {row:#}");
        }
        Some(parent) => {
            // A fork starts when it is made: after its parent's last record (the parent
            // did not go on), and no later than its own last one.
            let parent_row = sessions
                .iter()
                .find(|s| s["id"] == parent)
                .expect("parent in the manifest");
            let parent_last = time(&parent_row["last_timestamp"], "parent's last");
            assert!(
                parent_last <= started && started <= last,
                "{at}: the fork's start {started} is not between its parent's last record \
                 {parent_last} and its own last {last}"
            );
            assert_eq!(row["forked_from"], parent, "{at}: {row:#}");
        }
    }
}

#[test]
fn fixtures_real_listed_as_manifest_says() {
    let dirs = version_dirs();
    assert!(
        dirs.len() >= 2,
        "fixtures of the oldest and newest CLI: {dirs:?}"
    );
    for dir in dirs {
        let manifest = manifest(&dir);
        let version = dir.file_name().and_then(|n| n.to_str()).expect("name");
        assert_eq!(manifest["version"], version, "{}", dir.display());
        let sessions = manifest["sessions"].as_array().expect("sessions");
        let (rows, _temp, root) = list(&dir);
        assert_eq!(rows.len(), sessions.len(), "{version}: {rows:#?}");
        for want in sessions {
            let row = rows
                .iter()
                .find(|r| r["session_id"] == want["id"])
                .unwrap_or_else(|| panic!("{version} {} is listed: {rows:#?}", want["id"]));
            check_row(version, want, row, sessions, &root);
        }
    }
}

/// What a full parse of transcript `lines` says: cwd, first prompt, title (the last
/// custom title, else AI title, else summary, else the first prompt, else the last
/// prompt), and the first and last timestamps in file order.
#[derive(Debug, PartialEq)]
struct Parsed {
    cwd: Option<String>,
    first_prompt: Option<String>,
    title: Option<String>,
    first_timestamp: Option<DateTime<Utc>>,
    last_timestamp: Option<DateTime<Utc>>,
}

fn full_parse(lines: &[&str]) -> Parsed {
    let records: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let text = |v: &Value, key: &str| v[key].as_str().map(str::to_string);
    let last_of = |ty: &str, key: &str| {
        records
            .iter()
            .rev()
            .find(|r| r["type"] == ty && r[key].is_string())
            .and_then(|r| text(r, key))
    };
    let typed = |content: &Value| -> Option<String> {
        let t = match content {
            Value::String(s) => s.clone(),
            Value::Array(blocks) => blocks
                .iter()
                .find(|b| b["type"] == "text")
                .and_then(|b| text(b, "text"))?,
            _ => return None,
        };
        (!t.trim_start().starts_with('<')).then(|| t.trim().to_string())
    };
    let first_prompt = records
        .iter()
        .filter(|r| r["type"] == "user" && r["isMeta"] != true)
        .find_map(|r| typed(&r["message"]["content"]));
    let stamps: Vec<DateTime<Utc>> = records
        .iter()
        .filter_map(|r| r["timestamp"].as_str())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .collect();
    let title = last_of("custom-title", "customTitle")
        .or_else(|| last_of("ai-title", "aiTitle"))
        .or_else(|| last_of("summary", "summary"))
        .or_else(|| first_prompt.clone())
        .or_else(|| last_of("last-prompt", "lastPrompt"));
    Parsed {
        cwd: records.iter().find_map(|r| text(r, "cwd")),
        first_prompt,
        title,
        first_timestamp: stamps.first().copied(),
        last_timestamp: stamps.last().copied(),
    }
}

/// seance reads a transcript's first and last 64 KiB only; a 2.1.332 turn writes well
/// over 100 KB (a 38 KB `api-request-shape` near the head, 57 KB `prompt_snapshot`
/// lines). On every real transcript, and on each of its line-prefixes (what a session
/// still being written, or cut short, looks like), those reads agree with a full parse.
#[test]
fn bounded_reads_of_real_transcripts_agree_with_a_full_parse() {
    let temp = tempfile::tempdir().expect("temp dir");
    let cut = temp.path().join("cut.jsonl");
    let mut checked = 0;
    for dir in version_dirs() {
        for entry in walkdir::WalkDir::new(dir.join("accounts")) {
            let entry = entry.expect("walk fixtures");
            if entry.path().extension().is_none_or(|e| e != "jsonl") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).expect("read fixture");
            let lines: Vec<&str> = text.lines().collect();
            for n in 1..=lines.len() {
                let prefix = lines[..n].join("\n") + "\n";
                std::fs::write(&cut, &prefix).expect("write prefix");
                let meta = read_meta(&cut, prefix.len() as u64).expect("read_meta");
                let got = Parsed {
                    cwd: meta.cwd,
                    first_prompt: meta.first_prompt,
                    title: meta.title,
                    first_timestamp: meta.first_timestamp,
                    last_timestamp: meta.last_timestamp,
                };
                let want = full_parse(&lines[..n]);
                assert_eq!(
                    got,
                    want,
                    "{} cut after line {n} ({} bytes)",
                    entry.path().display(),
                    prefix.len()
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "checked only {checked} prefixes");
}
