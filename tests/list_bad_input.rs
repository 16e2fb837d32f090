//! Integration tests of the listing against broken files: each is skipped with one
//! warning line per kind on stderr (each file with `-v`), the exit status stays 0 and
//! every good session is still shown.

mod list_support;

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use serde_json::Value;

use list_support::*;

/// Ids for the broken transcripts (UUID-shaped, so they are taken for sessions).
const CORRUPT: &str = "0bad0001-0000-4000-8000-000000000001";
const BINARY: &str = "0bad0002-0000-4000-8000-000000000002";
const EMPTY: &str = "0bad0003-0000-4000-8000-000000000003";
const TRUNCATED: &str = "0bad0004-0000-4000-8000-000000000004";
const DANGLING: &str = "0bad0005-0000-4000-8000-000000000005";
const LOOP_A: &str = "0bad0006-0000-4000-8000-000000000006";
const LOOP_B: &str = "0bad0007-0000-4000-8000-000000000007";

fn good(acct: &Path, folder: &str, id: &str, day: u32) {
    let ts = format!("2026-03-{day:02}T00:00:00Z");
    transcript(acct, folder, id, convo("/w", &ts, &ts, id));
}

/// Writes a broken index into `<acct>/projects/<folder>/` beside one good transcript.
fn bad_index(acct: &Path, folder: &str, id: &str, day: u32, index: &str) {
    good(acct, folder, id, day);
    fs::write(
        acct.join("projects")
            .join(folder)
            .join("sessions-index.json"),
        index,
    )
    .unwrap();
}

fn warning_lines(err: &str) -> Vec<&str> {
    err.lines()
        .filter(|l| l.starts_with("seance: warning: "))
        .collect()
}

#[test]
fn broken_transcripts_are_skipped_with_one_warning_per_kind() {
    let sb = Sandbox::new();
    let a = &sb.current;
    good(a, "-good", TITLED, 1);
    good(a, "-good", AI, 2);
    transcript(a, "-bad", CORRUPT, "this is not json\nnor is this\n");
    let mut bin: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    bin[0] = 0x89;
    transcript(a, "-bad", BINARY, &bin);
    transcript(a, "-bad", EMPTY, "");
    // A second corrupt and a second empty file: still one line per kind.
    transcript(a, "-bad2", &CORRUPT.replace("0001", "0011"), "<<<>>>\n");
    transcript(a, "-bad2", &EMPTY.replace("0003", "0033"), "");
    // Truncated mid-line: the complete lines still count.
    let full = convo(
        "/trunc",
        "2026-03-03T00:00:00Z",
        "2026-03-03T00:05:00Z",
        "cut off",
    );
    transcript(a, "-bad", TRUNCATED, &full[..full.len() - 20]);

    let (code, out, err) = sb.run(&["--json", "-n", "0"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&rows), [TRUNCATED, AI, TITLED], "{err}");
    assert_eq!(row(&rows, TRUNCATED)["title"], "cut off");
    assert_eq!(row(&rows, TRUNCATED)["cwd"], "/trunc");
    let warns = warning_lines(&err);
    let corrupt: Vec<_> = warns.iter().filter(|l| l.contains("corrupt")).collect();
    let empty: Vec<_> = warns.iter().filter(|l| l.contains("empty")).collect();
    assert_eq!(corrupt.len(), 1, "{err}");
    assert_eq!(empty.len(), 1, "{err}");
    // Three corrupt (text, text, binary), two empty.
    assert!(corrupt[0].contains(": 3 "), "{err}");
    assert!(empty[0].contains(": 2 "), "{err}");
    assert_eq!(warns.len(), 2, "{err}");

    // -v names every file.
    let (code, _, err) = sb.run(&["--json", "-v"]);
    assert_eq!(code, 0);
    for id in [CORRUPT, BINARY, EMPTY] {
        assert_eq!(
            err.lines().filter(|l| l.contains(id)).count(),
            1,
            "{id}: {err}"
        );
    }
    assert_eq!(warning_lines(&err).len(), 5, "{err}");

    // The table shows the same sessions and the same warnings.
    let (code, out, err) = sb.run(&[]);
    assert_eq!(code, 0);
    for id in [TITLED, AI, TRUNCATED] {
        assert!(out.contains(&id[..8]), "{id}: {out}");
    }
    for id in [CORRUPT, BINARY, EMPTY] {
        assert!(!out.contains(&id[..8]), "{id}: {out}");
    }
    assert_eq!(warning_lines(&err).len(), 2, "{err}");
}

#[test]
fn broken_index_files_are_ignored_and_their_folders_still_listed() {
    let sb = Sandbox::new();
    let a = &sb.current;
    bad_index(a, "-notjson", TITLED, 1, "{\"version\": 1, \"entries\": [");
    bad_index(a, "-array", AI, 2, "[1, 2, 3]");
    bad_index(a, "-string", SUMMARISED, 3, "\"entries\"");
    bad_index(a, "-entries-obj", FORKED, 4, "{\"entries\": {}}");
    let gone = GONE;
    bad_index(
        a,
        "-bad-entries",
        PLAIN,
        5,
        &format!(
            "{{\"version\":1,\"entries\":[1, \"x\", null, [], {{\"noId\":true}}, {{\"sessionId\":7}}, \
             {{\"sessionId\":\"{gone}\",\"summary\":\"still here\",\"created\":\"2026-03-06T00:00:00Z\"}}]}}"
        ),
    );
    let (code, out, err) = sb.run(&["--json", "-n", "0"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&rows), [gone, PLAIN, FORKED, SUMMARISED, AI, TITLED]);
    assert_eq!(row(&rows, gone)["title"], "still here");
    assert_eq!(row(&rows, gone)["transcript_missing"], true);
    let warns = warning_lines(&err);
    assert_eq!(warns.len(), 2, "{err}");
    let malformed = warns
        .iter()
        .find(|l| l.contains("malformed index"))
        .unwrap();
    assert!(malformed.contains(": 4 "), "{err}");
    let entries = warns.iter().find(|l| l.contains("bad entries")).unwrap();
    assert!(entries.contains(": 1 "), "{err}");
    let (_, _, err) = sb.run(&["-v", "--json"]);
    assert_eq!(warning_lines(&err).len(), 5, "{err}");
    for folder in [
        "-notjson",
        "-array",
        "-string",
        "-entries-obj",
        "-bad-entries",
    ] {
        assert!(
            err.contains(&format!("{folder}/sessions-index.json")),
            "{folder}: {err}"
        );
    }
}

#[test]
fn dangling_links_and_symlink_loops_are_skipped() {
    let sb = Sandbox::new();
    let a = &sb.current;
    good(a, "-w", TITLED, 1);
    let dir = a.join("projects/-w");
    symlink(
        sb.root().join("deleted.jsonl"),
        dir.join(format!("{DANGLING}.jsonl")),
    )
    .unwrap();
    symlink(
        dir.join(format!("{LOOP_B}.jsonl")),
        dir.join(format!("{LOOP_A}.jsonl")),
    )
    .unwrap();
    symlink(
        dir.join(format!("{LOOP_A}.jsonl")),
        dir.join(format!("{LOOP_B}.jsonl")),
    )
    .unwrap();
    // Project folders that are links: one dangling, one to itself, one to projects/.
    let projects = a.join("projects");
    symlink(sb.root().join("no-such-dir"), projects.join("-gone")).unwrap();
    symlink(projects.join("-self"), projects.join("-self")).unwrap();
    symlink(&projects, projects.join("-up")).unwrap();
    // A valid folder link is listed once, not twice.
    symlink(&dir, projects.join("-w-alias")).unwrap();

    let (code, out, err) = sb.run(&["--json", "-n", "0"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&rows), [TITLED], "{err}");
    let warns = warning_lines(&err);
    assert!(
        warns
            .iter()
            .any(|l| l.contains("dangling links skipped: 2 ")),
        "{err}"
    );
    assert!(
        warns.iter().any(|l| l.contains("symlink loops skipped: ")),
        "{err}"
    );
    let (_, _, err) = sb.run(&["--json", "-v"]);
    let named = |kind: &str, name: &str| {
        err.lines()
            .any(|l| l.contains(kind) && l.contains(&format!("/{name}")))
    };
    for name in [DANGLING, "-gone"] {
        assert!(named("dangling links skipped", name), "{name}: {err}");
    }
    for name in [LOOP_A, LOOP_B, "-up"] {
        assert!(named("symlink loops skipped", name), "{name}: {err}");
    }
    assert!(named("skipped", "-self"), "{err}");
}

#[test]
fn unreadable_directories_and_files_do_not_stop_the_listing() {
    let sb = Sandbox::new();
    let a = &sb.current;
    good(a, "-ok", TITLED, 1);
    good(a, "-locked", AI, 2);
    good(a, "-ok2", PLAIN, 3);
    let locked = a.join("projects/-locked");
    let locked_file = a.join(format!("projects/-ok2/{PLAIN}.jsonl"));
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(&locked_file, fs::Permissions::from_mode(0o000)).unwrap();
    let root_powers = reads_ignore_permissions(&sb.root());

    let (code, out, err) = sb.run(&["--json", "-n", "0"]);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    let got = ids(&rows);
    assert!(got.contains(&TITLED), "{got:?}");
    if root_powers {
        // Running as root (as in CI containers), mode 000 does not stop reads, so
        // nothing is unreadable: the weaker property is that nothing is lost or doubled
        // and nothing is reported.
        assert_eq!(got, [PLAIN, AI, TITLED], "{err}");
        assert!(warning_lines(&err).is_empty(), "{err}");
    } else {
        assert_eq!(got, [TITLED], "{err}");
        let warns = warning_lines(&err);
        assert!(
            warns.iter().any(|l| l.contains("unreadable directories")),
            "{err}"
        );
        assert!(
            warns.iter().any(|l| l.contains("unreadable transcripts")),
            "{err}"
        );
    }
}

#[test]
fn an_account_whose_projects_is_not_a_directory_does_not_stop_the_listing() {
    // A failure that permissions cannot hide from root: `projects/` of this account is
    // a link to a regular file. The other accounts are listed as usual.
    let sb = Sandbox::new();
    good(&sb.current, "-w", TITLED, 1);
    let other = sb.home.join(".claude-broken");
    fs::create_dir_all(&other).unwrap();
    fs::write(sb.root().join("plain-file"), "x").unwrap();
    symlink(sb.root().join("plain-file"), other.join("projects")).unwrap();
    let (code, out, err) = sb.run(&[
        "--json",
        "-n",
        "0",
        "--account-dir",
        other.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&rows), [TITLED]);
}

#[test]
fn an_events_path_that_cannot_be_read_is_a_warning() {
    let sb = Sandbox::new();
    good(&sb.current, "-w", TITLED, 1);
    let dir = sb.root().join("events-dir");
    fs::create_dir_all(&dir).unwrap();
    let (code, out, err) = sb.run(&["--json", "--events", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&rows), [TITLED]);
    let warns = warning_lines(&err);
    assert_eq!(warns.len(), 1, "{err}");
    assert!(warns[0].contains("events-dir"), "{err}");
}

#[test]
fn paths_in_warnings_cannot_drive_the_terminal() {
    let sb = Sandbox::new();
    good(&sb.current, "-w", TITLED, 1);
    let projects = sb.current.join("projects");
    symlink(
        sb.root().join("nowhere"),
        projects.join("-\x1b]0;pwned\x07"),
    )
    .unwrap();
    for args in [&["--json"][..], &["--json", "-v"]] {
        let out = sb.cmd().args(args).output().unwrap();
        assert!(out.status.success());
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains("dangling"), "{err:?}");
        assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    }
}
