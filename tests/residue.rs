//! What a talk leaves behind and where it may write (issue 12, items 1-5 and 7): a
//! plain talk leaves nothing but claude's fork; overlapping talks into a folder the
//! current account did not have leave nothing; nothing is written through a project
//! folder that is a symlink; an index that is a symlink or someone else's is not
//! rewritten; a relative `CLAUDE_CONFIG_DIR` names the same account for claude and for
//! a later `--reap`; a config dir that did not exist is not left behind.
//!
//! Every test runs the real `seance` binary with a bash stand-in for claude.

mod rel_support;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rel_support::*;

/// A stand-in claude for these tests, driven by its environment:
/// - logs `ID=<id> CWD=<cwd> CCD=<$CLAUDE_CONFIG_DIR>` to `<root>/runs/<pid>`;
/// - checks that `$CLAUDE_CONFIG_DIR/projects/$STANDIN_FOLDER/<id>.jsonl` (resolved in
///   its own cwd, as claude does) reads back as a transcript, else logs `LOST`;
/// - with `STANDIN_WAIT` set, waits until `<root>/release-<id>` exists (at most 20 s);
/// - with `STANDIN_FORK` set, writes a fork `<new uuid>.jsonl` into that folder.
fn standin(w: &World) -> PathBuf {
    let runs = w.root.join("runs");
    fs::create_dir_all(&runs).unwrap();
    let path = w.root.join("claude-residue");
    let script = format!(
        r#"#!/bin/bash
LOG="{runs}/$$"
ID=""; prev=""
for a in "$@"; do [ "$prev" = "--resume" ] && ID="$a"; prev="$a"; done
FOLDER="$CLAUDE_CONFIG_DIR/projects/$STANDIN_FOLDER"
echo "ID=$ID CWD=$PWD CCD=$CLAUDE_CONFIG_DIR" > "$LOG"
if [ ! -L "$FOLDER/$ID.jsonl" ] && [ ! -f "$FOLDER/$ID.jsonl" ] || ! head -c 1 "$FOLDER/$ID.jsonl" 2>/dev/null | grep -q '{{'; then
  echo "LOST $FOLDER/$ID.jsonl" >> "$LOG"
fi
if [ -n "$STANDIN_WAIT" ]; then
  for _ in $(seq 1 400); do [ -e "{root}/release-$ID" ] && break; sleep 0.05; done
fi
if [ -n "$STANDIN_FORK" ]; then
  echo '{{"type":"user","cwd":"'"$PWD"'"}}' > "$FOLDER/$(cat /proc/sys/kernel/random/uuid).jsonl"
fi
echo "DONE" >> "$LOG"
echo "ANSWER $ID"
"#,
        runs = runs.display(),
        root = w.root.display(),
    );
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// `seance --talk <id> -p q` with [`standin`] resuming into the project folder of `dir`.
fn talk(w: &World, id: &str, dir: &Path, claude: &Path) -> Command {
    let mut cmd = w.talk_cmd(id, claude);
    cmd.env(
        "STANDIN_FOLDER",
        reference_folder_name(dir.to_str().unwrap()),
    );
    cmd
}

/// Adds session `id` run in `dir` to account `a` (indexed or not).
fn add_session_in(w: &World, id: &str, dir: &Path, indexed: bool) {
    fs::create_dir_all(dir).unwrap();
    let folder = w.source_folder(dir);
    fs::create_dir_all(&folder).unwrap();
    let path = folder.join(format!("{id}.jsonl"));
    fs::write(&path, transcript(id, dir.to_str().unwrap(), "t")).unwrap();
    if indexed {
        let index = folder.join("sessions-index.json");
        let mut doc: serde_json::Value = fs::read(&index)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(|| serde_json::json!({"version": 1, "entries": []}));
        doc["entries"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"sessionId": id, "fullPath": path, "summary": "t"}));
        fs::write(&index, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    }
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    text(&out.stderr)
}

/// Every stand-in log, asserting none lost its link and all finished.
fn assert_runs_kept_their_links(w: &World, n: usize) {
    let runs = w.runs();
    assert_eq!(runs.len(), n, "{runs:?}");
    for (pid, log) in runs {
        assert!(
            !log.contains("LOST") && log.contains("DONE"),
            "{pid}: {log}"
        );
    }
}

/// The account `b` gained exactly `forks` new `*.jsonl` files, all regular files in
/// the project folder of `dir`, and nothing else (no lock, no index, no folder of its
/// own but that one).
fn assert_only_forks(
    w: &World,
    before: &std::collections::BTreeMap<PathBuf, Node>,
    dir: &Path,
    forks: usize,
) {
    let after = snapshot(&w.b, |_| false);
    let folder = PathBuf::from("projects").join(reference_folder_name(dir.to_str().unwrap()));
    let mut new: Vec<&PathBuf> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    new.sort();
    let mut want_forks = 0;
    for p in &new {
        if **p == folder && forks > 0 {
            continue;
        }
        let is_fork = p.parent() == Some(folder.as_path())
            && p.extension().is_some_and(|x| x == "jsonl")
            && matches!(after[*p], Node::File { .. });
        assert!(is_fork, "left behind: {} (all new: {new:?})", p.display());
        want_forks += 1;
    }
    assert_eq!(want_forks, forks, "new: {new:?}");
    for (p, n) in before {
        assert_eq!(after.get(p), Some(n), "{} changed", p.display());
    }
}

#[test]
fn a_plain_talk_into_a_new_folder_leaves_only_claudes_fork() {
    let w = World::new();
    let id = sid(0x1001);
    add_session_in(&w, &id, &w.proj, false);
    let claude = standin(&w);
    let before = snapshot(&w.b, |_| false);
    run_ok(talk(&w, &id, &w.proj, &claude).env("STANDIN_FORK", "1"));
    assert_runs_kept_their_links(&w, 1);
    // Not even an empty sessions-index.json.lock beside the fork.
    assert_only_forks(&w, &before, &w.proj, 1);
    // Into a folder that exists, a plain talk (no index to patch) takes no lock either.
    fs::create_dir_all(w.target_folder(&w.proj)).unwrap();
    let before = snapshot(&w.b, |_| false);
    run_ok(&mut talk(&w, &id, &w.proj, &claude));
    assert_only_forks(&w, &before, &w.proj, 0);
    assert_eq!(w.ledger_len(), 0);
}

/// Starts a talk whose stand-in waits for its release, and waits until it runs.
fn start_waiting_talk(w: &World, id: &str, dir: &Path, claude: &Path, runs_before: usize) -> Child {
    let child = talk(w, id, dir, claude)
        .env("STANDIN_WAIT", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while w.runs().len() <= runs_before {
        assert!(Instant::now() < deadline, "the stand-in for {id} never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn release_and_wait(w: &World, id: &str, child: Child) {
    fs::write(w.root.join(format!("release-{id}")), b"").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{id}: {}", show(&out));
}

#[test]
fn overlapping_talks_into_a_new_folder_leave_nothing() {
    // Talk 1 creates the folder, talk 2 (another session of the same project) starts
    // before talk 1 ends; every mix of indexed sessions and of end orders.
    for (n, (first_indexed, second_indexed, first_ends_first)) in [
        (true, true, true),
        (true, true, false),
        (false, true, true),
        (true, false, true),
        (false, false, true),
        (false, true, false),
    ]
    .into_iter()
    .enumerate()
    {
        let w = World::new();
        let ctx = format!("case {n}: {first_indexed} {second_indexed} {first_ends_first}");
        let (s1, s2) = (sid(0x2001), sid(0x2002));
        add_session_in(&w, &s1, &w.proj, first_indexed);
        add_session_in(&w, &s2, &w.proj, second_indexed);
        let claude = standin(&w);
        let before = snapshot(&w.b, |_| false);
        let t1 = start_waiting_talk(&w, &s1, &w.proj, &claude, 0);
        let t2 = start_waiting_talk(&w, &s2, &w.proj, &claude, 1);
        if first_ends_first {
            release_and_wait(&w, &s1, t1);
            release_and_wait(&w, &s2, t2);
        } else {
            release_and_wait(&w, &s2, t2);
            release_and_wait(&w, &s1, t1);
        }
        assert_runs_kept_their_links(&w, 2);
        let after = snapshot(&w.b, |_| false);
        assert!(
            after == before,
            "{ctx}: left behind:\n{}",
            diff(&before, &after)
        );
        assert_eq!(w.ledger_len(), 0, "{ctx}");
        let out = w.seance().arg("--reap").output().unwrap();
        assert_eq!(text(&out.stdout), "Nothing to reap.\n", "{ctx}");
    }
}

#[test]
fn overlapping_talks_killed_then_reaped_leave_nothing() {
    // The same overlap, but both seances are killed with SIGKILL while their claudes
    // run; one `--reap` after the claudes ended puts the account back as it was.
    let w = World::new();
    let (s1, s2) = (sid(0x2101), sid(0x2102));
    add_session_in(&w, &s1, &w.proj, true);
    add_session_in(&w, &s2, &w.proj, false);
    let claude = standin(&w);
    let before = snapshot(&w.b, |_| false);
    let mut t1 = start_waiting_talk(&w, &s1, &w.proj, &claude, 0);
    let mut t2 = start_waiting_talk(&w, &s2, &w.proj, &claude, 1);
    for t in [&mut t1, &mut t2] {
        t.kill().unwrap();
        t.wait().unwrap();
    }
    for id in [&s1, &s2] {
        fs::write(w.root.join(format!("release-{id}")), b"").unwrap();
    }
    w.wait_standins_gone();
    let out = w.seance().arg("--reap").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let after = snapshot(&w.b, |_| false);
    assert!(after == before, "left behind:\n{}", diff(&before, &after));
    assert_eq!(w.ledger_len(), 0);
}

#[test]
fn a_config_dir_that_did_not_exist_is_not_left_behind() {
    let w = World::new();
    let (s1, s2) = (sid(0x7001), sid(0x7002));
    let other = w.root.join("proj-two");
    add_session_in(&w, &s1, &w.proj, true);
    add_session_in(&w, &s2, &other, false);
    let claude = standin(&w);
    let fresh = w.root.join("fresh-account");
    let fresh_talk = |id: &str, dir: &Path| {
        let mut cmd = talk(&w, id, dir, &claude);
        cmd.env("CLAUDE_CONFIG_DIR", &fresh);
        cmd
    };
    // One talk, claude writes nothing: no config dir, no projects/.
    run_ok(&mut fresh_talk(&s1, &w.proj));
    assert!(!fresh.exists(), "{} left behind", fresh.display());
    // Two overlapping talks into two folders: the first to end cannot remove
    // projects/, the last one does.
    for first_ends_first in [true, false] {
        let n = w.runs().len();
        let t1 = fresh_talk(&s1, &w.proj)
            .env("STANDIN_WAIT", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_runs(&w, n + 1);
        let t2 = fresh_talk(&s2, &other)
            .env("STANDIN_WAIT", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_runs(&w, n + 2);
        let order = if first_ends_first {
            [(&s1, t1), (&s2, t2)]
        } else {
            [(&s2, t2), (&s1, t1)]
        };
        for (id, child) in order {
            release_and_wait(&w, id, child);
            let _ = fs::remove_file(w.root.join(format!("release-{id}")));
        }
        assert!(!fresh.exists(), "{first_ends_first}: {fresh:?} left behind");
    }
    // When claude writes its fork, that stays, with the directories holding it.
    run_ok(fresh_talk(&s2, &other).env("STANDIN_FORK", "1"));
    let folder = fresh
        .join("projects")
        .join(reference_folder_name(other.to_str().unwrap()));
    let left: Vec<_> = fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_runs_kept_their_links(&w, 6);
    assert_eq!(w.ledger_len(), 0);
}

fn wait_runs(w: &World, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while w.runs().len() < n {
        assert!(Instant::now() < deadline, "stand-in {n} never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_reaper_never_writes_through_a_folder_symlink() {
    let w = World::new();
    // Account a's folder holds a dangling link of its own (a's business), and the
    // current account's folder `-linked` is a symlink to it.
    let a_folder = w.source_folder(&w.proj);
    fs::create_dir_all(&a_folder).unwrap();
    let dangling = a_folder.join(format!("{}.jsonl", sid(0x3001)));
    symlink(w.root.join("gone.jsonl"), &dangling).unwrap();
    fs::write(
        a_folder.join(format!(".sessions-index.json.{}.tmp", "AbC123")),
        b"{",
    )
    .unwrap();
    symlink(&a_folder, w.b.join("projects/-linked")).unwrap();
    let elsewhere = w.root.join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    symlink(
        w.root.join("gone2.jsonl"),
        elsewhere.join(format!("{}.jsonl", sid(0x3002))),
    )
    .unwrap();
    symlink(&elsewhere, w.b.join("projects/-elsewhere")).unwrap();
    let before_a = snapshot(&w.a, |_| false);
    let before_else = snapshot(&elsewhere, |_| false);
    let out = w.seance().arg("--reap").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert_eq!(text(&out.stdout), "Nothing to reap.\n", "{}", show(&out));
    assert!(
        snapshot(&w.a, |_| false) == before_a,
        "account a was written through the link"
    );
    assert!(snapshot(&elsewhere, |_| false) == before_else);
    // A talk reaps first: the same holds.
    let id = sid(0x3003);
    add_session_in(&w, &id, &w.root.join("p3"), false);
    let before_a = snapshot(&w.a, |_| false);
    run_ok(&mut talk(&w, &id, &w.root.join("p3"), &standin(&w)));
    assert!(snapshot(&w.a, |_| false) == before_a);
    assert!(snapshot(&elsewhere, |_| false) == before_else);
}

#[test]
fn the_linker_never_writes_through_a_folder_symlink() {
    let w = World::new();
    let id = sid(0x3101);
    add_session_in(&w, &id, &w.proj, true);
    let claude = standin(&w);
    let target = w.target_folder(&w.proj);
    // The current account's folder for the run directory links somewhere else.
    let elsewhere = w.root.join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    symlink(&elsewhere, &target).unwrap();
    let out = talk(&w, &id, &w.proj, &claude).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(target.to_str().unwrap()) && stderr.contains("symlink"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "wrote through the link"
    );
    assert!(w.runs().is_empty());
    assert_eq!(w.ledger_len(), 0);
    // Linked to the owner's own folder: the transcript is already there, so the talk
    // needs no link and writes nothing (no index patch, no lock) in account a.
    fs::remove_file(&target).unwrap();
    symlink(w.source_folder(&w.proj), &target).unwrap();
    let before_a = snapshot(&w.a, |_| false);
    // -v: "no link needed" is one of the mechanics only -v shows.
    let stderr = run_ok(talk(&w, &id, &w.proj, &claude).arg("-v"));
    assert!(stderr.contains("no link needed"), "{stderr}");
    assert!(snapshot(&w.a, |_| false) == before_a, "account a changed");
    assert_eq!(w.ledger_len(), 0);
}

#[test]
fn an_index_that_is_a_symlink_or_someone_elses_is_not_rewritten() {
    let w = World::new();
    let id = sid(0x4001);
    add_session_in(&w, &id, &w.proj, true);
    let claude = standin(&w);
    let target = w.target_folder(&w.proj);
    fs::create_dir_all(&target).unwrap();
    let index = target.join("sessions-index.json");
    let real = w.root.join("real-index.json");
    let doc = br#"{"version":1,"entries":[],"originalPath":"/x"}"#;
    fs::write(&real, doc).unwrap();
    symlink(&real, &index).unwrap();
    let stderr = run_ok(&mut talk(&w, &id, &w.proj, &claude));
    let warned: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warned.len(), 1, "{stderr}");
    assert!(
        warned[0].starts_with("seance: warning: not patching")
            && warned[0].contains("symlink")
            && warned[0].contains(index.to_str().unwrap()),
        "{stderr}"
    );
    assert_eq!(fs::read_link(&index).unwrap(), real, "still a symlink");
    assert_eq!(fs::read(&real).unwrap(), doc);
    assert_runs_kept_their_links(&w, 1);

    // Owned by another user (tests run as root, so any other uid will do).
    fs::remove_file(&index).unwrap();
    fs::write(&index, doc).unwrap();
    let nobody = 65534;
    std::os::unix::fs::chown(&index, Some(nobody), Some(nobody)).unwrap();
    let stderr = run_ok(&mut talk(&w, &id, &w.proj, &claude));
    assert!(
        stderr.contains("seance: warning: not patching") && stderr.contains("owned by"),
        "{stderr}"
    );
    let meta = fs::symlink_metadata(&index).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (nobody, nobody));
    assert_eq!(fs::read(&index).unwrap(), doc);
    assert_runs_kept_their_links(&w, 2);
    assert_eq!(w.ledger_len(), 0);
}

#[test]
fn a_relative_claude_config_dir_names_the_same_account_for_claude_and_reap() {
    let w = World::new();
    let id = sid(0x5001);
    add_session_in(&w, &id, &w.proj, true);
    let claude = standin(&w);
    // seance runs in the world's root, where `acct-b` names account b; claude runs in
    // the session's directory, where it would name nothing.
    let rel = |cmd: &mut Command| {
        cmd.current_dir(&w.root).env("CLAUDE_CONFIG_DIR", "acct-b");
    };
    let mut cmd = talk(&w, &id, &w.proj, &claude);
    rel(&mut cmd);
    run_ok(&mut cmd);
    assert_runs_kept_their_links(&w, 1);
    let runs = w.runs();
    assert!(
        runs[0].1.contains(&format!("CCD={}", w.b.display())),
        "claude was given a relative config dir: {}",
        runs[0].1
    );
    assert!(
        !w.proj.join("acct-b").exists(),
        "a stray config dir in the project"
    );

    // Started in a directory that is gone (removed by a shell that then execs seance
    // in it), a relative path cannot be resolved: said so, naming it.
    let gone = w.root.join("gone");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "mkdir -p '{g}' && cd '{g}' && rmdir '{g}' && exec '{bin}' -n 1",
            g = gone.display(),
            bin = env!("CARGO_BIN_EXE_seance")
        ))
        .envs(w.seance().get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env("CLAUDE_CONFIG_DIR", "acct-b")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("CLAUDE_CONFIG_DIR is the relative path acct-b"),
        "{}",
        show(&out)
    );

    // Killed after claude started: the ledger holds absolute paths, so a reap from
    // another directory finds the record and removes the link.
    let before = snapshot(&w.b, |_| false);
    let mut cmd = talk(&w, &id, &w.proj, &claude);
    rel(&mut cmd);
    let out = cmd
        .env("SEANCE_TEST_FAULT", "after-spawn")
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal_or_none(),
        Some(libc::SIGKILL),
        "{}",
        show(&out)
    );
    w.wait_standins_gone();
    let ledger = fs::read_to_string(w.state().join("ledger.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&ledger).unwrap();
    for rec in doc["links"].as_array().unwrap() {
        for key in ["link", "source", "folder"] {
            let p = rec[key].as_str().unwrap();
            assert!(Path::new(p).is_absolute(), "{key} = {p}");
        }
    }
    let out = w
        .seance()
        .current_dir(&w.cur)
        .arg("--reap")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(text(&out.stdout).contains("removed link"), "{}", show(&out));
    assert_eq!(w.ledger_len(), 0);
    let after = snapshot(&w.b, |_| false);
    assert!(after == before, "left behind:\n{}", diff(&before, &after));
}

trait SignalOrNone {
    fn signal_or_none(&self) -> Option<i32>;
}

impl SignalOrNone for std::process::ExitStatus {
    fn signal_or_none(&self) -> Option<i32> {
        std::os::unix::process::ExitStatusExt::signal(self)
    }
}
