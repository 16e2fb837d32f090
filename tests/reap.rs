//! The reaper after crashes: a seance killed with SIGKILL (by the test, or by itself at
//! a fault-injection point) leaves a link, an index entry and a ledger record; the next
//! reap must undo exactly those, and never under a claude that still runs.

mod talk_support;

use std::fs;
use std::os::unix::process::ExitStatusExt;

use seance::link::reaper::reap;
use talk_support::*;

const ENTRY: &str = "child_entry";

/// Not a test of its own: the entry point of the child processes the other tests start.
#[test]
fn child_entry() {
    talk_support::child_entry();
}

/// A world whose target folder already has an index, so "restored byte for byte" can be
/// checked; returns it with the index path and its original text.
fn world_with_index() -> (World, std::path::PathBuf, String) {
    let w = World::new("proj");
    let (index, original) = w.write_target_index();
    (w, index, original)
}

/// Polls until `pid` is gone (it is not our child), failing after 10 s.
fn wait_gone(pid: u32, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while seance::link::ledger::ProcId::of(pid).is_some() {
        assert!(std::time::Instant::now() < deadline, "{what} did not exit");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until every claude the ledger noted is gone: a killed seance's claude dies
/// with it, possibly before its stand-in logged anything.
fn wait_noted_claudes_gone(w: &World) {
    for rec in seance::link::ledger::read_unlocked(&w.state).unwrap().links {
        for owner in rec.owners {
            if let Some(c) = owner.claude {
                wait_gone(c.pid, "claude of a killed seance");
            }
        }
    }
}

#[test]
fn sigkill_ends_claude_too_and_reap_removes_what_was_left() {
    let (w, index, original) = world_with_index();
    let before = w.predecessor_snapshot();
    let claude = w.standin(&Standin {
        sleep: 30,
        ..Default::default()
    });
    let mut child = spawn_talk(&w, ENTRY, &w.plan(&claude), &w.cur, &[]);
    w.wait_ready(1);
    send_signal(child.id(), libc::SIGKILL);
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    let link = w.target_folder(&w.proj).join(format!("{ID}.jsonl"));
    assert_eq!(fs::read_link(&link).unwrap(), w.source, "left behind");

    // seance's watchdog (src/platform/tether.rs) ends claude with its seance: the test
    // signals nothing to claude here.
    let claude_pid: u32 = values(&w.runs()[0], "PID")[0].parse().unwrap();
    wait_gone(claude_pid, "claude of a killed seance");
    assert_eq!(values(&w.runs()[0], "SIG"), ["TERM"]);

    let dry = reap(&w.b, &w.state, true).unwrap();
    assert!(dry.to_string().contains("would remove link"), "{dry}");
    assert!(
        fs::symlink_metadata(&link).is_ok(),
        "dry run changes nothing"
    );

    let report = reap(&w.b, &w.state, false).unwrap();
    let text = report.to_string();
    assert!(text.contains("removed link"), "{text}");
    assert!(text.contains("index restored"), "{text}");
    assert!(fs::symlink_metadata(&link).is_err());
    assert_eq!(fs::read_to_string(&index).unwrap(), original);
    assert_eq!(w.ledger_len(), 0);
    assert_eq!(w.predecessor_snapshot(), before);
}

#[test]
fn a_claude_that_outlives_its_killed_seance_keeps_its_link_until_it_exits() {
    let (w, _index, _original) = world_with_index();
    // A claude that ignores SIGTERM and runs on until the test kills it.
    let claude = w.standin(&Standin {
        during: r#"trap 'echo SIG=TERM-ignored >> "$LOG"' TERM; echo IGNORING=TERM >> "$LOG"
while :; do sleep 0.05; done"#
            .into(),
        ..Default::default()
    });
    let mut child = spawn_talk(&w, ENTRY, &w.plan(&claude), &w.cur, &[]);
    w.wait_ready(1);
    // Kill seance only once the ledger knows its claude and claude ignores SIGTERM
    // (`ready` is touched before `during` runs: a SIGTERM in between would end it).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while w
        .runs()
        .first()
        .is_none_or(|r| values(r, "IGNORING").is_empty())
        || !seance::link::ledger::read_unlocked(&w.state)
            .unwrap()
            .links
            .iter()
            .any(|r| r.owners.iter().any(|o| o.claude.is_some()))
    {
        assert!(std::time::Instant::now() < deadline, "claude never noted");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    send_signal(child.id(), libc::SIGKILL);
    assert_eq!(child.wait().unwrap().signal(), Some(libc::SIGKILL));
    let link = w.target_folder(&w.proj).join(format!("{ID}.jsonl"));
    let claude_pid: u32 = values(&w.runs()[0], "PID")[0].parse().unwrap();

    // It got SIGTERM, ignored it and runs on: the link must stay.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while values(&w.runs()[0], "SIG").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no SIGTERM reached claude"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(values(&w.runs()[0], "SIG"), ["TERM-ignored"]);
    let report = reap(&w.b, &w.state, false).unwrap();
    assert!(report.is_empty(), "{report}");
    assert!(fs::symlink_metadata(&link).is_ok());

    send_signal(claude_pid, libc::SIGKILL);
    wait_gone(claude_pid, "stubborn claude");
    let report = reap(&w.b, &w.state, false).unwrap();
    assert!(report.to_string().contains("removed link"), "{report}");
    assert!(fs::symlink_metadata(&link).is_err());
    assert_eq!(w.ledger_len(), 0);
}

#[test]
fn every_fault_point_is_reaped_back_to_the_start() {
    for point in [
        "after-intent",
        "after-link",
        "after-index",
        "after-spawn",
        "during-undo",
    ] {
        for with_index in [true, false] {
            let (w, index, original) = world_with_index();
            if !with_index {
                fs::remove_dir_all(w.target_folder(&w.proj)).unwrap();
            }
            let before = w.predecessor_snapshot();
            let claude = w.standin(&Standin::default());
            let child = spawn_talk(
                &w,
                ENTRY,
                &w.plan(&claude),
                &w.cur,
                &[("SEANCE_TEST_FAULT", point)],
            );
            let out = child.wait_with_output().unwrap();
            assert_eq!(
                out.status.signal(),
                Some(libc::SIGKILL),
                "{point}: {}",
                text(&out.stderr)
            );
            // The stand-in (if it ran) exits at once, or dies with its seance, maybe
            // before it logged anything: wait for the claude the ledger noted.
            wait_noted_claudes_gone(&w);
            let report = reap(&w.b, &w.state, false).unwrap();
            let ctx = format!("{point} index={with_index}: {report}");
            assert!(w.target_jsonl().is_empty(), "{ctx}");
            assert_eq!(w.ledger_len(), 0, "{ctx}");
            if with_index {
                assert_eq!(fs::read_to_string(&index).unwrap(), original, "{ctx}");
            } else {
                // Left with at most the empty folder and its lock file: never a
                // half-written index.
                assert!(!index.exists(), "{ctx}");
            }
            assert_eq!(w.predecessor_snapshot(), before, "{ctx}");
            // A second reap finds nothing.
            assert!(reap(&w.b, &w.state, false).unwrap().is_empty(), "{ctx}");
        }
    }
}

#[test]
fn a_talk_after_a_crash_reaps_first() {
    let (w, index, original) = world_with_index();
    let claude = w.standin(&Standin::default());
    let child = spawn_talk(
        &w,
        ENTRY,
        &w.plan(&claude),
        &w.cur,
        &[("SEANCE_TEST_FAULT", "after-index")],
    );
    assert_eq!(
        child.wait_with_output().unwrap().status.signal(),
        Some(libc::SIGKILL)
    );
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("seance: reaped: link "), "{stderr}");
    assert_eq!(fs::read_to_string(&index).unwrap(), original);
    assert!(w.target_jsonl().is_empty());
}

#[test]
fn sweeps_dangling_links_like_gt_seance_but_never_files_or_live_links() {
    let w = World::new("proj");
    let folder = w.b.join("projects/-some-project");
    fs::create_dir_all(&folder).unwrap();
    let dangling = folder.join("aaaaaaaa-0000-4000-8000-000000000000.jsonl");
    std::os::unix::fs::symlink(w.root.join("deleted-by-cleanup.jsonl"), &dangling).unwrap();
    let live = folder.join(format!("{ID}.jsonl"));
    std::os::unix::fs::symlink(&w.source, &live).unwrap();
    let file = folder.join("bbbbbbbb-0000-4000-8000-000000000000.jsonl");
    fs::write(&file, b"{}\n").unwrap();
    let index = folder.join("sessions-index.json");
    fs::write(
        &index,
        format!(
            "{{\"version\":1,\"entries\":[{{\"sessionId\":\"aaaaaaaa-0000-4000-8000-000000000000\",\"fullPath\":\"{}\"}},{{\"sessionId\":\"keep\",\"fullPath\":\"/k.jsonl\",\"x\":1}}],\"originalPath\":\"/some/project\"}}",
            dangling.display()
        ),
    )
    .unwrap();

    let dry = reap(&w.b, &w.state, true).unwrap();
    assert_eq!(dry.actions.len(), 2, "{dry}");
    assert!(fs::symlink_metadata(&dangling).is_ok());

    let report = reap(&w.b, &w.state, false).unwrap();
    let lines: Vec<_> = report.to_string().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with("removed link: ") && lines[0].contains("dangling"));
    assert!(lines[1].starts_with("removed index entry: "));
    assert!(fs::symlink_metadata(&dangling).is_err());
    assert_eq!(fs::read_link(&live).unwrap(), w.source);
    assert!(file.exists());
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
    assert_eq!(doc["entries"].as_array().unwrap().len(), 1);
    assert_eq!(doc["entries"][0]["x"], 1);
    assert_eq!(doc["originalPath"], "/some/project");
}

#[test]
fn bin_sigkill_then_reap_dry_run_then_reap() {
    let (w, index, original) = world_with_index();
    let before = w.predecessor_snapshot();
    let claude = w.standin(&Standin::default());
    let killed = seance_bin(&w, &claude)
        .args(["--talk", ID, "-p", "q"])
        .env("SEANCE_TEST_FAULT", "after-spawn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let killed_pid = killed.id();
    let out = killed.wait_with_output().unwrap();
    assert_eq!(out.status.signal(), Some(libc::SIGKILL));
    let link = w.target_folder(&w.proj).join(format!("{ID}.jsonl"));
    assert!(fs::symlink_metadata(&link).is_ok());
    // claude dies with its seance (it may not even have logged yet).
    wait_noted_claudes_gone(&w);

    let out = seance_bin(&w, &claude)
        .args(["--reap", "--dry-run"])
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("would remove link"), "{stdout}");
    assert!(fs::symlink_metadata(&link).is_ok());

    let out = seance_bin(&w, &claude).arg("--reap").output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.contains("removed link"), "{stdout}");
    assert!(
        stdout.contains(&format!("owner pid {killed_pid} gone")),
        "the report names the dead seance: {stdout}"
    );
    assert!(fs::symlink_metadata(&link).is_err());
    assert_eq!(fs::read_to_string(&index).unwrap(), original);
    assert_eq!(w.predecessor_snapshot(), before);

    let out = seance_bin(&w, &claude).arg("--reap").output().unwrap();
    assert_eq!(text(&out.stdout), "Nothing to reap.\n");
}
