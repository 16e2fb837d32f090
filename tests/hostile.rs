//! Hostile and broken input: crafted ids, broken transcripts, indexes and events,
//! tricky symlinks and names, unreadable files, a 100 MB single-line transcript; a talk
//! in a tree where all but seance's own places is read-only; the permissions of what
//! seance creates; and property tests of the index patch, folder naming and prefix
//! resolution against independent references.

mod rel_support;

#[cfg(target_os = "linux")]
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
#[cfg(target_os = "linux")]
use std::os::unix::fs::PermissionsExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
#[cfg(target_os = "linux")]
use std::process::Command;
use std::process::Stdio;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rel_support::*;
use serde_json::{Map, Value, json};

#[cfg(target_os = "linux")] // setpriv (util-linux) runs seance as another user
const NOBODY: u32 = 65534;

#[test]
fn hostile_ids_are_refused_before_any_file_is_touched() {
    let w = World::new();
    w.add_session(&sid(1), "good", true);
    let claude = w.standin(&w.target_folder(&w.proj), 0);
    // A name is looked up as a listing looks: seance's own metadata cache may be
    // written; nothing else may change.
    let cache = w.cache_home.clone();
    let before = snapshot(&w.root, |p| p.starts_with(&cache));
    let long = "a".repeat(100_000);
    // Text that is not id-like is a name (issue 13): only ever compared with titles.
    let cases: Vec<(&OsStr, &str)> = vec![
        (OsStr::new("../../etc/passwd"), "no session is named"),
        (OsStr::new("/etc/passwd"), "no session is named"),
        (OsStr::new(".."), "no session is named"),
        (OsStr::new("abcd/../../x"), "no session is named"),
        (OsStr::new("0000 1111"), "no session is named"),
        (OsStr::new("'; rm -rf / #"), "no session is named"),
        (OsStr::new("\u{1b}[31mdead"), "no session is named"),
        (OsStr::new(&long), "is not a session id"),
        (OsStr::new("abc"), "no session is named"),
        (OsStr::new(""), "is not a session id"),
        (OsStr::new("  "), "is not a session id"),
        (OsStr::new("----"), "no session matches"),
        (OsStr::new("ffffffff"), "no session matches"),
        (OsStr::from_bytes(b"\xff\xfe0000"), "invalid UTF-8"),
    ];
    for (id, says) in &cases {
        let mut talk = std::ffi::OsString::from("--talk=");
        talk.push(id);
        let out = w
            .seance()
            .arg(talk)
            .arg("--claude")
            .arg(&claude)
            .output()
            .unwrap();
        let stderr = text(&out.stderr);
        let ctx = format!("{:?}: {}", id.to_string_lossy(), show(&out));
        assert!(matches!(out.status.code(), Some(1 | 2)), "{ctx}");
        assert!(stderr.contains(says), "{ctx}");
        assert!(!stderr.contains("panicked"), "{ctx}");
        assert!(stderr.len() < 2000, "message bounded: {ctx}");
        assert!(!stderr.contains('\u{1b}'), "escapes not echoed: {ctx}");
    }
    assert!(w.runs().is_empty(), "claude never ran");
    let after = snapshot(&w.root, |p| p.starts_with(&cache));
    assert!(after == before, "touched:\n{}", diff(&before, &after));
    // NUL cannot cross argv; the library turns it away too.
    assert!(seance::discover::resolve::normalize("abcd\0ef").is_err());
}

#[test]
fn crafted_index_ids_are_refused_and_non_utf8_run_dirs_are_undone() {
    let w = World::new();
    let good = sid(0x600d);
    w.add_session(&good, "good", true);
    // An index-only "session" whose id walks out of the folder.
    let idx = w.source_folder(&w.proj).join("sessions-index.json");
    let mut doc: Value = serde_json::from_slice(&fs::read(&idx).unwrap()).unwrap();
    let evil = w.root.join("evil");
    doc["entries"].as_array_mut().unwrap().push(json!({
        "sessionId": format!("0badbeef/../../../../..{}", evil.display()),
        "fullPath": evil.join("x.jsonl"),
    }));
    fs::write(&idx, serde_json::to_vec(&doc).unwrap()).unwrap();
    let claude = w.standin(&w.target_folder(&w.proj), 0);
    let before = snapshot(&w.b, |_| false);
    let out = w.talk_cmd("0badbeef", &claude).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("no transcript to resume"),
        "{}",
        show(&out)
    );
    assert!(!evil.exists());
    assert!(snapshot(&w.b, |_| false) == before);

    // --here from a directory whose name is not UTF-8: its project folder name is
    // ASCII (Claude Code's encoding), so the talk works and is undone completely.
    let odd = w.root.join(OsStr::from_bytes(b"odd-\xff-dir"));
    fs::create_dir_all(&odd).unwrap();
    let out = w
        .talk_cmd(&good, &claude)
        .arg("--here")
        .current_dir(&odd)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(!text(&out.stderr).contains("panicked"));
    assert!(
        snapshot(&w.b, |_| false) == before,
        "the account is back as it was"
    );
    assert_eq!(w.runs().len(), 1, "claude ran once");
    assert_eq!(w.ledger_len(), 0);
}

/// A world full of broken and crafted input around two good sessions.
fn hostile_world() -> (World, Vec<String>) {
    let w = World::new();
    let good = vec![sid(0x600d1), sid(0x600d2)];
    w.add_session(&good[0], "good one", true);
    w.add_session(&good[1], "good \u{1b}[31mtwo\u{202e}", false);
    let a = w.a.join("projects");
    let b = w.b.join("projects");
    let folder = w.source_folder(&w.proj);
    let put = |dir: &Path, n: u32, bytes: &[u8]| {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join(format!("{}.jsonl", sid(n))), bytes).unwrap();
    };
    // Transcripts: binary, empty, nested beyond any parser's limit, wrong types.
    put(
        &folder,
        0xbad1,
        &[0u8, 159, 146, 150, 255, 10, 0, 1, 2, 3, 10, 255],
    );
    put(&folder, 0xbad2, b"");
    let nested = format!("{}{}\n", "[".repeat(200_000), "]".repeat(200_000));
    put(&folder, 0xbad3, nested.as_bytes());
    let nested_obj = format!("{}1{}\n", "{\"a\":".repeat(100_000), "}".repeat(100_000));
    put(&folder, 0xbad4, nested_obj.as_bytes());
    put(
        &folder,
        0xbad5,
        br#"{"type":123,"cwd":["x"],"timestamp":{},"gitBranch":7,"message":{"content":5}}
{"type":"user","message":"not an object","timestamp":"not a time"}
{"type":"custom-title","customTitle":{"nested":true}}
{"type":"user","message":{"content":[1,null,{"type":"text","text":7}]}}
"#,
    );
    // Not a transcript at all: a fifo and a link to an endless device (must not hang).
    let fifo = folder.join(format!("{}.jsonl", sid(0xbad6)));
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    symlink("/dev/zero", folder.join(format!("{}.jsonl", sid(0xbad7)))).unwrap();
    // Symlink loops: a transcript pointing at itself, folders pointing at each other.
    let me = folder.join(format!("{}.jsonl", sid(0xbad8)));
    symlink(&me, &me).unwrap();
    symlink(a.join("loop-2"), a.join("loop-1")).unwrap();
    symlink(a.join("loop-1"), a.join("loop-2")).unwrap();
    // Project folders that are symlinks to / and to another folder.
    symlink("/", b.join("root-link")).unwrap();
    symlink(&folder, b.join("same-as-a")).unwrap();
    symlink(&a, a.join("projects-itself")).unwrap();
    // Non-UTF-8 names: a folder (holding nothing), a transcript name.
    let bad_dir = b.join(OsStr::from_bytes(b"-tmp-\xff\xfe"));
    fs::create_dir_all(&bad_dir).unwrap();
    fs::write(bad_dir.join(OsStr::from_bytes(b"\xff.jsonl")), b"{}\n").unwrap();
    // Indexes: an array, a string, binary, entries that are not objects.
    let idx = |dir: &Path, body: &[u8]| {
        fs::create_dir_all(dir).unwrap();
        fs::write(dir.join("sessions-index.json"), body).unwrap();
    };
    idx(&b.join("-idx-array"), b"[1,2,3]");
    idx(&b.join("-idx-string"), b"\"hello\"");
    idx(&b.join("-idx-binary"), &[0xff, 0, 0xfe, b'{']);
    idx(
        &b.join("-idx-entries"),
        br#"{"version":"x","entries":[1,"two",null,[],{"sessionId":5},{"sessionId":"zz","created":7,"summary":{}}]}"#,
    );
    idx(&b.join("-idx-entries-obj"), br#"{"entries":{"a":1}}"#);
    (w, good)
}

/// Events with wrong types, binary lines, and one very long line.
fn hostile_events(w: &World) -> PathBuf {
    let path = w.root.join("events.jsonl");
    let mut f = fs::File::create(&path).unwrap();
    for line in [
        r#"{"type":"session_start","payload":"str"}"#,
        r#"{"ts":5,"type":"session_start","actor":7,"payload":{"session_id":7,"cwd":[]}}"#,
        r#"{"ts":"yesterday","type":"session_start","payload":{"session_id":"../../x"}}"#,
        r#"[1,2,3]"#,
        "\u{0}\u{1}garbage",
        r#"{"ts":"2026-11-20T09:00:00Z","type":"session_start","actor":"gastown/crew/joe","payload":{"session_id":"gastown/crew/joe-4242"}}"#,
    ] {
        writeln!(f, "{line}").unwrap();
    }
    writeln!(
        f,
        "{{\"type\":\"mail\",\"payload\":{{\"body\":\"{}\"}}}}",
        "x".repeat(3 << 20)
    )
    .unwrap();
    path
}

#[test]
fn broken_input_is_skipped_and_listing_exits_0_with_the_good_sessions() {
    let (w, good) = hostile_world();
    let events = hostile_events(&w);
    let before_a = snapshot(&w.a, |p| {
        p.file_name()
            .is_some_and(|n| n.as_bytes().contains(&b'\xff'))
    });
    for json in [true, false] {
        let mut cmd = w.seance();
        cmd.args(["-n", "0", "-v", "--events"]).arg(&events);
        if json {
            cmd.arg("--json");
        }
        let start = Instant::now();
        let out = cmd.output().unwrap();
        let took = start.elapsed();
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        let ctx = format!("json={json}: {}", show(&out));
        assert_eq!(out.status.code(), Some(0), "{ctx}");
        assert!(took < Duration::from_secs(20), "took {took:?}: {ctx}");
        assert!(!stderr.contains("panicked"), "{ctx}");
        assert!(stderr.contains("symlink loops skipped"), "{ctx}");
        assert!(stderr.contains("malformed index files ignored"), "{ctx}");
        assert!(stderr.contains("corrupt transcripts skipped"), "{ctx}");
        assert!(stderr.contains("empty transcripts skipped"), "{ctx}");
        if json {
            let rows: Vec<Value> = serde_json::from_str(&stdout).unwrap();
            for (id, title) in good.iter().zip(["good one", "good \u{1b}[31mtwo\u{202e}"]) {
                let row: Vec<_> = rows.iter().filter(|r| r["session_id"] == **id).collect();
                assert_eq!(row.len(), 1, "{id} once: {ctx}");
                assert_eq!(row[0]["title"], title, "JSON carries the raw title");
            }
            assert!(
                rows.iter()
                    .any(|r| r["session_id"] == "gastown/crew/joe-4242")
            );
            assert!(
                !rows.iter().any(|r| r["session_id"] == sid(0xbad2)),
                "empty one listed"
            );
        } else {
            for id in &good {
                assert!(stdout.contains(&id[..8]), "{ctx}");
            }
            assert!(stdout.contains("good one"), "{ctx}");
            assert!(
                !stdout.contains('\u{1b}') && !stdout.contains('\u{202e}'),
                "{ctx}"
            );
        }
    }
    // Listing never writes into an account.
    let after_a = snapshot(&w.a, |p| {
        p.file_name()
            .is_some_and(|n| n.as_bytes().contains(&b'\xff'))
    });
    assert!(after_a == before_a, "{}", diff(&before_a, &after_a));

    // A talk next to all this still works, and leaves the hostile things alone.
    let claude = w.standin(&w.target_folder(&w.proj), 0);
    let out = w.talk_cmd(&good[0][..8], &claude).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(fs::symlink_metadata(w.b.join("projects/root-link")).is_ok());
    assert!(fs::symlink_metadata(w.a.join("projects/loop-1")).is_ok());
}

#[test]
fn a_100_mb_single_line_transcript_lists_in_bounded_time_and_memory() {
    let w = World::new();
    let id = sid(0xb16);
    let folder = w.source_folder(&w.proj);
    fs::create_dir_all(&folder).unwrap();
    let path = folder.join(format!("{id}.jsonl"));
    {
        let mut f = std::io::BufWriter::new(fs::File::create(&path).unwrap());
        write!(
            f,
            "{{\"type\":\"user\",\"cwd\":\"{}\",\"gitBranch\":\"big\",\"timestamp\":\"2026-11-20T09:00:01.000Z\",\"sessionId\":\"{id}\",\"message\":{{\"role\":\"user\",\"content\":\"",
            w.proj.display()
        )
        .unwrap();
        let chunk = "0123456789abcdef".repeat(4096);
        for _ in 0..(100 << 20) / chunk.len() {
            f.write_all(chunk.as_bytes()).unwrap();
        }
        writeln!(f, "\"}},\"timestamp\":\"2026-11-20T10:00:00.000Z\"}}").unwrap();
    }
    let size = fs::metadata(&path).unwrap().len();
    assert!(size > 100 << 20);
    let start = Instant::now();
    #[expect(clippy::zombie_processes, reason = "reaped by wait4 below")]
    let mut child = w
        .seance()
        .args(["--json", "-n", "0", "--no-cache"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    // wait4 on this child's pid: its own peak RSS, not that of whatever other test in
    // this binary happened to run a child at the same time.
    let mut status = 0;
    // SAFETY: wait4 fills `status` and `ru` for our own child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    assert_eq!(unsafe { libc::wait4(pid, &mut status, 0, &mut ru) }, pid);
    let took = start.elapsed();
    let out = std::process::Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(status),
        stdout,
        stderr,
    };
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 1, "{}", show(&out));
    assert_eq!(rows[0]["session_id"], id.as_str());
    assert_eq!(rows[0]["cwd"], w.proj.to_str().unwrap());
    assert_eq!(rows[0]["git_branch"], "big");
    assert_eq!(rows[0]["size_bytes"], size);
    assert_eq!(rows[0]["started_at"], "2026-11-20T09:00:01.000Z");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // ru_maxrss is in KiB on Linux, in bytes on macOS.
    let max_rss_mb = ru.ru_maxrss
        / if cfg!(target_os = "macos") {
            1 << 20
        } else {
            1 << 10
        };
    assert!(max_rss_mb < 64, "seance peaked at {max_rss_mb} MiB");
    eprintln!("100 MB line: listed in {took:?}; seance peaked at {max_rss_mb} MiB");
}

#[cfg(target_os = "linux")]
/// Whether `setpriv` can run a command as `nobody` here.
fn can_drop_to_nobody() -> bool {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(target_os = "linux")]
/// `cmd` run as `nobody` through `setpriv` (env and cwd kept), with `bin` (a copy of
/// seance that `nobody` can reach) as its program.
fn as_nobody(cmd: &Command, bin: &Path) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(bin)
        .args(cmd.get_args())
        .stdin(std::process::Stdio::null());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        c.current_dir(d);
    }
    c
}

#[cfg(target_os = "linux")]
fn chown_tree(path: &Path, uid: u32) {
    for e in walkdir::WalkDir::new(path) {
        let e = e.unwrap();
        std::os::unix::fs::lchown(e.path(), Some(uid), Some(uid)).unwrap();
    }
}

#[cfg(target_os = "linux")]
/// Makes the world readable (not writable) by others, with a copy of the binary.
fn open_for_nobody(w: &World) -> PathBuf {
    fs::set_permissions(&w.root, fs::Permissions::from_mode(0o755)).unwrap();
    let bin = w.root.join("bin/seance");
    fs::create_dir_all(bin.parent().unwrap()).unwrap();
    fs::copy(env!("CARGO_BIN_EXE_seance"), &bin).unwrap();
    fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

#[cfg(target_os = "linux")]
/// Writes a stand-in claude that records, with `stat`, the mode of each given path.
fn mode_recording_standin(w: &World, paths: &[(&str, PathBuf)]) -> PathBuf {
    let runs = w.root.join("runs");
    fs::create_dir_all(&runs).unwrap();
    let mut script = format!("#!/bin/bash\nLOG=\"{}/$$\"\n", runs.display());
    for (name, p) in paths {
        script.push_str(&format!(
            "echo \"{name}=$(stat -c %a '{}' 2>&1)\" >> \"$LOG\"\n",
            p.display()
        ));
    }
    script.push_str("echo DONE >> \"$LOG\"\necho ANSWER\n");
    let path = w.root.join("claude-modes");
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[cfg(target_os = "linux")]
fn modes(log: &str) -> BTreeMap<String, String> {
    log.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(target_os = "linux")] // setpriv (util-linux) runs seance as another user
#[test]
fn a_talk_writes_only_in_projects_state_and_cache_with_private_modes() {
    if !can_drop_to_nobody() {
        unavailable("setpriv (util-linux) to run seance as another user");
        return;
    }
    let w = World::new();
    let id = sid(0x5afe);
    w.add_session(&id, "confined", true);
    let bin = open_for_nobody(&w);
    let target = w.target_folder(&w.proj);
    let state = w.state();
    let claude = mode_recording_standin(
        &w,
        &[
            ("folder", target.clone()),
            ("index", target.join("sessions-index.json")),
            ("index_lock", target.join("sessions-index.json.lock")),
            ("state", state.clone()),
            ("ledger", state.join("ledger.json")),
            ("ledger_lock", state.join("ledger.lock")),
        ],
    );
    // Writable by nobody: the current account's projects/, the state and cache homes,
    // and the stand-in's log dir. Everything else stays root's, so a write anywhere else
    // fails with EACCES.
    fs::create_dir_all(&w.state_home).unwrap();
    fs::create_dir_all(&w.cache_home).unwrap();
    for p in [
        w.b.join("projects"),
        w.state_home.clone(),
        w.cache_home.clone(),
        w.root.join("runs"),
    ] {
        chown_tree(&p, NOBODY);
    }
    let allowed = |p: &Path| {
        p.starts_with(w.b.join("projects"))
            || p.starts_with(&w.state_home)
            || p.starts_with(&w.cache_home)
            || p.starts_with(w.root.join("runs"))
    };
    let before = snapshot(&w.root, allowed);

    let mut talk = w.talk_cmd(&id[..8], &claude);
    talk.env("TMPDIR", w.root.join("no-tmp"));
    let out = as_nobody(&talk, &bin).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let runs = w.runs();
    assert_eq!(runs.len(), 1, "{}", show(&out));
    let m = modes(&runs[0].1);
    assert_eq!(m["folder"], "700", "{m:?}");
    assert_eq!(m["index"], "600", "{m:?}");
    assert_eq!(m["index_lock"], "600", "{m:?}");
    assert_eq!(m["state"], "700", "{m:?}");
    assert_eq!(m["ledger"], "600", "{m:?}");
    assert_eq!(m["ledger_lock"], "600", "{m:?}");

    // A listing as nobody writes its cache, privately.
    let mut list = w.seance();
    list.args(["-n", "0"]);
    let out = as_nobody(&list, &bin).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let cache_dir = w.cache_home.join("seance");
    let cache_file = fs::read_dir(&cache_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache_dir), 0o700);
    assert_eq!(mode(&cache_file), 0o600, "{}", cache_file.display());

    // Nothing outside the allowed places changed (the source account included), and
    // inside projects/ nothing is left.
    let after = snapshot(&w.root, allowed);
    assert!(
        after == before,
        "written outside:\n{}",
        diff(&before, &after)
    );
    let left = snapshot(&w.b.join("projects"), is_lock);
    assert_eq!(left.len(), 1, "left in projects/: {:?}", left.keys());

    // An existing index with other modes keeps them through the patch.
    fs::create_dir_all(&target).unwrap();
    let index = target.join("sessions-index.json");
    fs::write(&index, br#"{"version":1,"entries":[]}"#).unwrap();
    fs::set_permissions(&index, fs::Permissions::from_mode(0o644)).unwrap();
    chown_tree(&target, NOBODY);
    let out = as_nobody(&w.talk_cmd(&id[..8], &claude), &bin)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let m = modes(&w.runs().iter().find(|r| r.0 != runs[0].0).unwrap().1);
    assert_eq!(m["index"], "644", "{m:?}");
    assert_eq!(mode(&index), 0o644);
}

#[cfg(target_os = "linux")] // setpriv (util-linux) runs seance as another user
#[test]
fn permission_denied_is_a_warning_and_listing_goes_on() {
    if !can_drop_to_nobody() {
        unavailable("setpriv (util-linux) to run seance as another user");
        return;
    }
    let w = World::new();
    let good = sid(0x600d);
    w.add_session(&good, "readable", false);
    let bin = open_for_nobody(&w);
    // A folder nobody cannot enter, and a transcript nobody cannot read.
    let closed = w.a.join("projects/-closed");
    fs::create_dir_all(&closed).unwrap();
    fs::write(
        closed.join(format!("{}.jsonl", sid(0xc105e))),
        transcript(&sid(0xc105e), "/x", "hidden"),
    )
    .unwrap();
    fs::set_permissions(&closed, fs::Permissions::from_mode(0o000)).unwrap();
    let unreadable = w
        .source_folder(&w.proj)
        .join(format!("{}.jsonl", sid(0x5ec)));
    fs::write(&unreadable, transcript(&sid(0x5ec), "/x", "secret")).unwrap();
    fs::set_permissions(&unreadable, fs::Permissions::from_mode(0o000)).unwrap();
    let mut list = w.seance();
    list.args(["--json", "-n", "0", "-v"]);
    let out = as_nobody(&list, &bin).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = rows
        .iter()
        .map(|r| r["session_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [good.as_str()], "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("Permission denied"), "{stderr}");
    assert!(stderr.contains("-closed"), "{stderr}");
    assert!(stderr.contains(&sid(0x5ec)), "{stderr}");
}

// ---- property tests -------------------------------------------------------------

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        // Any finite float, and integers far beyond u64: with serde_json's
        // `arbitrary_precision` a number keeps its text through a rewrite.
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[1-9][0-9]{20,40}".prop_map(|digits| serde_json::from_str(&digits).unwrap()),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Arbitrary valid index documents: `entries` holds objects with arbitrary fields (and,
/// as seen on disks, values that are not objects); arbitrary top-level keys around it.
fn arb_index() -> impl Strategy<Value = Map<String, Value>> {
    let entry = prop_oneof![
        4 => (any::<String>(), any::<String>(), proptest::collection::vec((any::<String>(), arb_json()), 0..4))
            .prop_map(|(id, path, extra)| {
                let mut e = Map::new();
                for (k, v) in extra {
                    e.insert(k, v);
                }
                e.insert("sessionId".into(), Value::String(id));
                e.insert("fullPath".into(), Value::String(path));
                Value::Object(e)
            }),
        1 => arb_json(),
    ];
    (
        proptest::collection::vec(entry, 0..6),
        proptest::collection::vec(("[^e].*", arb_json()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(entries, extra, entries_first)| {
            let mut doc = Map::new();
            if entries_first {
                doc.insert("entries".into(), Value::Array(entries.clone()));
            }
            for (k, v) in extra {
                doc.insert(k, v);
            }
            doc.insert("entries".into(), Value::Array(entries));
            doc
        })
}

/// The document laid out as some writer might: compact, 2- or 4-space, tabs, CRLF.
fn layout(doc: &Map<String, Value>, style: u8, newline: bool) -> Vec<u8> {
    let mut out = match style % 4 {
        0 => serde_json::to_vec(doc).unwrap(),
        1 => serde_json::to_vec_pretty(doc).unwrap(),
        2 => {
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(doc, &mut ser).unwrap();
            buf
        }
        _ => {
            // Tabs and CRLF: a raw newline only ever appears between tokens.
            let mut buf = Vec::new();
            let fmt = serde_json::ser::PrettyFormatter::with_indent(b"\t");
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(doc, &mut ser).unwrap();
            String::from_utf8(buf)
                .unwrap()
                .replace('\n', "\r\n")
                .into_bytes()
        }
    };
    if newline {
        out.push(b'\n');
    }
    out
}

fn our_entry() -> Map<String, Value> {
    json!({"sessionId": "46621448-3caa-4bbb-8ccc-123456789abc", "fullPath": "/src/x.jsonl",
           "summary": "s", "zUnknown": {"a": [1, 2]}})
    .as_object()
    .unwrap()
    .clone()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Patch then undo gives back the exact bytes, whatever the document and layout;
    /// after someone else reformats the file meanwhile, the same document (in order).
    #[test]
    fn index_patch_then_undo_is_the_identity(doc in arb_index(), style in 0u8..4, newline in any::<bool>()) {
        use seance::link::index_patch::*;
        let before = layout(&doc, style, newline);
        let entry = entry_for_link(&our_entry(), Path::new("/target/projects/-p/46621448-3caa-4bbb-8ccc-123456789abc.jsonl")).unwrap();
        let AddPlan::Write(after) = plan_add(Some(&before), &entry, "/p") else {
            panic!("a valid index always takes the entry");
        };
        let parsed: Map<String, Value> = serde_json::from_slice(&after).unwrap();
        let entries = parsed["entries"].as_array().unwrap();
        prop_assert_eq!(entries.last().unwrap(), &Value::Object(entry.clone()));
        prop_assert_eq!(entries.len(), doc["entries"].as_array().unwrap().len() + 1);
        let patch = IndexPatch {
            path: "/target/projects/-p/sessions-index.json".into(),
            created: false,
            entry: entry.clone(),
            before: Some(String::from_utf8(before.clone()).unwrap()),
            after_digest: digest(&after),
        };
        prop_assert_eq!(plan_undo(Some(&after), &patch), UndoPlan::Write(before.clone()));
        let reformatted = layout(&parsed, style + 1, !newline);
        let UndoPlan::Write(undone) = plan_undo(Some(&reformatted), &patch) else {
            panic!("our entry is there to remove");
        };
        let undone: Map<String, Value> = serde_json::from_slice(&undone).unwrap();
        prop_assert_eq!(serde_json::to_string(&undone).unwrap(), serde_json::to_string(&doc).unwrap());
    }

    /// The same through the file-level API, with locks and atomic writes, on disk.
    #[test]
    fn index_apply_then_undo_on_disk_is_the_identity(doc in arb_index(), style in 0u8..4) {
        use seance::link::index_patch::*;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(INDEX_FILE);
        let before = layout(&doc, style, true);
        fs::write(&path, &before).unwrap();
        let entry = entry_for_link(&our_entry(), &tmp.path().join("x.jsonl")).unwrap();
        let patch = apply(&path, &entry, "/p", Duration::from_secs(5), |_| Ok(())).unwrap().unwrap();
        prop_assert_ne!(fs::read(&path).unwrap(), before.clone());
        prop_assert_eq!(undo(&patch, Duration::from_secs(5)).unwrap(), UndoOutcome::Restored);
        prop_assert_eq!(fs::read(&path).unwrap(), before);
        let names: Vec<_> = fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        prop_assert_eq!(names.len(), 2, "index and its lock only: {:?}", names);
    }

    /// Folder names match an independent reading of Claude Code's rule on arbitrary
    /// paths, astral characters included, with lengths around the 200 cut.
    #[test]
    fn folder_naming_matches_the_reference(
        chars in proptest::collection::vec(prop_oneof![
            3 => proptest::char::range('a', 'z'),
            1 => proptest::char::range('0', '9'),
            1 => proptest::sample::select(vec!['/', '.', '_', ' ', '-', '~', '\u{0}', '\u{7f}']),
            1 => proptest::char::range('\u{80}', '\u{d7ff}'),
            1 => proptest::char::range('\u{e000}', '\u{ffff}'),
            1 => proptest::char::range('\u{10000}', '\u{10ffff}'),
        ], 1..260),
    ) {
        let path: String = std::iter::once('/').chain(chars).collect();
        let name = seance::link::folder::project_folder_name(Path::new(&path));
        prop_assert_eq!(&name, &reference_folder_name(&path));
        prop_assert!(name.is_ascii() && !name.contains('/'));
        let units = path.encode_utf16().count();
        if units <= 200 {
            prop_assert_eq!(name.len(), units);
        } else {
            prop_assert_eq!(name.as_bytes()[200], b'-');
            prop_assert!(name.len() <= 201 + 7);
        }
    }

    /// Prefix resolution never returns a session whose id does not start with the
    /// prefix, and never picks one of several.
    #[test]
    fn prefix_resolution_is_sound(
        ids in proptest::collection::vec(
            prop_oneof![
                "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                "0000[0-9a-f]{4}-1111-4222-8333-[0-9a-f]{12}",
                "0000000[0-9A-F]-1111-4222-8333-000000000000",
                "[0-9a-z/-]{1,40}",
            ],
            0..12,
        ),
        dup in any::<bool>(),
        pick in any::<prop::sample::Index>(),
        cut in 4usize..=36,
        upper in any::<bool>(),
        random in "[0-9a-f-]{4,36}",
        use_random in any::<bool>(),
    ) {
        let mut ids = ids;
        if dup && !ids.is_empty() {
            let again = ids[0].clone();
            ids.push(again);
        }
        // The same id in another case: a different session (issue 12, item 10).
        if upper && !ids.is_empty() && ids[0] != ids[0].to_uppercase() {
            let shout = ids[0].to_uppercase();
            ids.push(shout);
        }
        let raw = if use_random || ids.is_empty() {
            random
        } else {
            let id = &ids[pick.index(ids.len())];
            id.chars().take(cut).collect()
        };
        let raw = if upper { raw.to_uppercase() } else { raw };
        let Ok(prefix) = seance::discover::resolve::normalize(&raw) else {
            // Only non-ids are refused.
            prop_assert!(raw.len() < 4 || raw.bytes().any(|b| !(b.is_ascii_hexdigit() || b == b'-')));
            return Ok(());
        };
        let sessions: Vec<_> = ids.iter().map(|id| session(id)).collect();
        let starts = |id: &str| id.len() >= prefix.len() && id[..prefix.len()].eq_ignore_ascii_case(&prefix);
        // Ids that differ only in case are different sessions; the same id twice is one.
        let mut matching: Vec<String> = ids.iter().filter(|id| starts(id)).cloned().collect();
        matching.sort();
        matching.dedup();
        let exact = matching.contains(&prefix);
        match seance::discover::resolve::resolve(&sessions, &prefix, "test") {
            Ok(s) => {
                prop_assert!(starts(&s.session_id), "{} does not start with {}", s.session_id, prefix);
                if matching.len() > 1 {
                    prop_assert_eq!(&s.session_id, &prefix, "picked one of {:?}", matching);
                }
            }
            Err(seance::discover::resolve::ResolveError::Ambiguous { candidates, .. }) => {
                prop_assert!(matching.len() > 1 && !exact);
                prop_assert!(candidates.iter().all(|(id, _, _)| starts(id)));
                prop_assert_eq!(candidates.len(), matching.len());
            }
            Err(seance::discover::resolve::ResolveError::NotFound { .. }) => prop_assert!(matching.is_empty()),
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

/// A session with only an id and an account.
fn session(id: &str) -> seance::discover::Session {
    let mut s = seance::discover::Session::new(id.to_owned());
    s.account = Some("a".into());
    s
}
