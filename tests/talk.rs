//! `talk()` end to end with a stand-in claude: each talk runs in a child process (this
//! test binary re-run with only `child_entry`), so it has its own cwd and can be
//! signalled like the real binary.

mod talk_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use talk_support::*;

const ENTRY: &str = "child_entry";

/// Not a test of its own: the entry point of the child processes the other tests start.
#[test]
fn child_entry() {
    talk_support::child_entry();
}

/// The fork id seance passed to claude (`--session-id <id>`): a new v4 UUID.
fn fork_id_arg(run: &[(String, String)]) -> String {
    let args = values(run, "ARG");
    let at = args
        .iter()
        .position(|a| *a == "--session-id")
        .unwrap_or_else(|| panic!("no --session-id in {args:?}"));
    let id = args[at + 1].to_owned();
    assert!(seance::discover::is_uuid(&id) && &id[14..15] == "4", "{id}");
    id
}

fn link_in(w: &World, dir: &std::path::Path) -> std::path::PathBuf {
    w.target_folder(dir).join(format!("{ID}.jsonl"))
}

#[test]
fn one_shot_links_runs_claude_and_undoes_everything() {
    let w = World::new("proj");
    let before = w.predecessor_snapshot();
    let claude = w.standin(&Standin {
        exit: 7,
        ..Default::default()
    });
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(7), "{stderr}");

    let runs = w.runs();
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    let fork = fork_id_arg(r);
    assert_eq!(
        values(r, "ARG"),
        [
            "--fork-session",
            "--resume",
            ID,
            "--session-id",
            &fork,
            "--model",
            "x y",
            "-p",
            "--",
            "where is the canary?",
        ]
    );
    assert_eq!(values(r, "CWD"), [w.proj.to_str().unwrap()]);
    assert_eq!(values(r, "CLAUDECODE"), ["<unset>"]);
    assert_eq!(values(r, "CLAUDE_CODE_ENTRYPOINT"), ["<unset>"]);
    let link = link_in(&w, &w.proj);
    assert_eq!(
        values(r, "LINK"),
        [format!("{} -> {}", link.display(), w.source.display())]
    );
    // The index seance created while claude ran carries every source field.
    let index = values(r, "INDEX");
    assert_eq!(index.len(), 1, "{index:?}");
    let (path, json) = index[0].split_once(' ').unwrap();
    assert_eq!(
        path,
        link.with_file_name("sessions-index.json").to_str().unwrap()
    );
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut want = w.source_entry();
    want.insert("fullPath".into(), link.to_str().unwrap().into());
    assert_eq!(doc["entries"][0], serde_json::Value::Object(want.clone()));
    let keys: Vec<_> = doc["entries"][0].as_object().unwrap().keys().collect();
    assert_eq!(keys, want.keys().collect::<Vec<_>>(), "field order kept");
    assert_eq!(doc["originalPath"], w.proj.to_str().unwrap());

    // One-shot: stdout is claude's stdout only; seance speaks on stderr.
    assert!(stdout.contains("ANSWER-FROM-CLAUDE\n"), "{stdout}");
    assert!(!stdout.contains("seance"), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "seance: talking to 46621448 \"Lantern notes\" (account acct-a) in {}\n",
            w.proj.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("seance: linked"), "{stderr}");

    // Undone: no link, no folder, no ledger record; the predecessor untouched.
    assert!(w.target_jsonl().is_empty());
    assert!(!w.target_folder(&w.proj).exists());
    assert_eq!(w.ledger_len(), 0);
    assert_eq!(w.predecessor_snapshot(), before);
}

#[test]
fn here_runs_in_the_current_directory() {
    let w = World::new("proj");
    let claude = w.standin(&Standin::default());
    let mut plan = w.plan(&claude);
    plan.here = true;
    let out = run_talk(&w, ENTRY, &plan, &w.cur);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!("in {} (--here)\n", w.cur.display())),
        "{stderr}"
    );
    let r = &w.runs()[0];
    assert_eq!(values(r, "CWD"), [w.cur.to_str().unwrap()]);
    assert_eq!(
        values(r, "LINK"),
        [format!(
            "{} -> {}",
            link_in(&w, &w.cur).display(),
            w.source.display()
        )]
    );
    assert!(w.target_jsonl().is_empty());
}

#[test]
fn vanished_or_unknown_session_dir_falls_back_to_the_current_one() {
    for cwd in [Some("gone-dir"), None] {
        let w = World::new("proj");
        let claude = w.standin(&Standin::default());
        let mut plan = w.plan(&claude);
        plan.session_cwd = cwd.map(|c| w.root.join(c));
        let out = run_talk(&w, ENTRY, &plan, &w.cur);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let why = if cwd.is_some() {
            "no longer exists"
        } else {
            "records no directory"
        };
        assert!(stderr.contains(why), "{stderr}");
        assert_eq!(values(&w.runs()[0], "CWD"), [w.cur.to_str().unwrap()]);
    }
}

#[test]
fn long_and_non_ascii_paths_use_claudes_folder_name() {
    let name = format!("{}/ü😀 é.x_y/{}", "a".repeat(120), "c".repeat(90));
    let w = World::new(&name);
    let before = w.predecessor_snapshot();
    let claude = w.standin(&Standin::default());
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let folder = w.target_folder(&w.proj);
    let folder_name = folder.file_name().unwrap().to_str().unwrap();
    assert!(folder_name.len() > 200 && folder_name.as_bytes()[200] == b'-');
    assert!(folder_name.contains("--x-y-"), "{folder_name}");
    let link = folder.join(format!("{ID}.jsonl"));
    assert_eq!(
        values(&w.runs()[0], "LINK"),
        [format!("{} -> {}", link.display(), w.source.display())]
    );
    assert!(w.target_jsonl().is_empty());
    assert_eq!(w.predecessor_snapshot(), before);

    // Another build's hash: a folder with the same 200-character prefix is reused, and
    // (not being ours) kept afterwards.
    let w = World::new(&name);
    let ours = w.target_folder(&w.proj);
    let ours = ours.file_name().unwrap().to_str().unwrap();
    let theirs =
        w.b.join("projects")
            .join(format!("{}-otherbuild", &ours[..200]));
    fs::create_dir_all(&theirs).unwrap();
    let claude = w.standin(&Standin::default());
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let link = theirs.join(format!("{ID}.jsonl"));
    assert_eq!(
        values(&w.runs()[0], "LINK"),
        [format!("{} -> {}", link.display(), w.source.display())]
    );
    assert!(theirs.is_dir());
    assert!(fs::symlink_metadata(&link).is_err());
}

#[test]
fn existing_index_is_patched_and_restored_byte_for_byte() {
    let w = World::new("proj");
    let (index, original) = w.write_target_index();
    fs::set_permissions(&index, fs::Permissions::from_mode(0o640)).unwrap();
    let claude = w.standin(&Standin::default());
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    let seen = values(&w.runs()[0], "INDEX")[0]
        .split_once(' ')
        .unwrap()
        .1
        .to_owned();
    let doc: serde_json::Value = serde_json::from_str(&seen).unwrap();
    let top: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        top,
        ["version", "entries", "originalPath", "topLevelUnknown"]
    );
    assert_eq!(doc["entries"][0]["weird"], serde_json::json!({"x": []}));
    assert_eq!(doc["entries"][1]["sessionId"], ID);
    assert_eq!(doc["entries"][1]["zFutureField"]["kept"][1], "two");

    assert_eq!(fs::read_to_string(&index).unwrap(), original);
    assert_eq!(
        fs::metadata(&index).unwrap().permissions().mode() & 0o777,
        0o640
    );
    assert!(
        index.parent().unwrap().is_dir(),
        "a folder seance did not create stays"
    );
}

#[test]
fn index_changed_by_someone_else_loses_only_our_entry() {
    let w = World::new("proj");
    let (index, original) = w.write_target_index();
    let claude = w.standin(&Standin {
        during: format!(
            "sed -i 's/\"topLevelUnknown\":true/\"topLevelUnknown\":true,\"foreign\":1/' '{}'",
            index.display()
        ),
        ..Default::default()
    });
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
    let before: serde_json::Value = serde_json::from_str(&original).unwrap();
    assert_eq!(after["foreign"], 1);
    assert_eq!(after["entries"], before["entries"]);
    assert_eq!(after["originalPath"], before["originalPath"]);
    assert_eq!(after["topLevelUnknown"], true);
}

#[test]
fn a_regular_file_at_the_target_is_used_not_replaced() {
    let w = World::new("proj");
    let before = w.predecessor_snapshot();
    let link = link_in(&w, &w.proj);
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    fs::write(&link, b"a local copy\n").unwrap();
    let claude = w.standin(&Standin::default());
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no link needed"), "{stderr}");
    assert_eq!(
        values(&w.runs()[0], "LINK"),
        [format!("{} (file)", link.display())]
    );
    assert_eq!(fs::read(&link).unwrap(), b"a local copy\n");
    assert!(!link.with_file_name("sessions-index.json").exists());
    assert_eq!(w.predecessor_snapshot(), before);
}

#[test]
fn a_foreign_live_link_at_the_target_is_an_error() {
    let w = World::new("proj");
    let link = link_in(&w, &w.proj);
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    let other = w.root.join("other.jsonl");
    fs::write(&other, b"{}\n").unwrap();
    std::os::unix::fs::symlink(&other, &link).unwrap();
    let claude = w.standin(&Standin::default());
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(link.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains(other.to_str().unwrap()), "{stderr}");
    assert!(w.runs().is_empty(), "claude must not run");
    assert_eq!(fs::read_link(&link).unwrap(), other);
    assert_eq!(w.ledger_len(), 0);
}

#[test]
fn missing_or_unexecutable_claude_fails_before_anything_is_linked() {
    let w = World::new("proj");
    let missing = w.root.join("no-such-claude");
    let noexec = w.root.join("claude-noexec");
    fs::write(&noexec, b"#!/bin/sh\n").unwrap();
    fs::set_permissions(&noexec, fs::Permissions::from_mode(0o644)).unwrap();
    for (claude, says) in [(&missing, "no-such-claude"), (&noexec, "not executable")] {
        let out = run_talk(&w, ENTRY, &w.plan(claude), &w.cur);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert_eq!(
            stderr.matches("seance:").count(),
            1,
            "printed once: {stderr}"
        );
        assert!(fs::read_dir(w.b.join("projects")).unwrap().next().is_none());
        assert!(!w.state.exists(), "nothing touched, not even the ledger");
    }
}

#[test]
fn no_transcript_means_nothing_to_resume() {
    let w = World::new("proj");
    let claude = w.standin(&Standin::default());
    let mut plan = w.plan(&claude);
    plan.source_transcript = None;
    let out = run_talk(&w, ENTRY, &plan, &w.cur);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("nothing to resume"), "{stderr}");
    assert!(w.runs().is_empty());
}

#[test]
fn shared_projects_store_needs_no_link_and_never_writes_the_source() {
    let w = World::new("proj");
    fs::remove_dir(w.b.join("projects")).unwrap();
    std::os::unix::fs::symlink(w.a.join("projects"), w.b.join("projects")).unwrap();
    let before = w.predecessor_snapshot();
    let claude = w.standin(&Standin::default());
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no link needed"), "{stderr}");
    assert_eq!(w.predecessor_snapshot(), before);
}

#[test]
fn index_lock_timeout_exits_1_naming_the_lock_and_links_nothing() {
    let w = World::new("proj");
    let folder = w.target_folder(&w.proj);
    fs::create_dir_all(&folder).unwrap();
    let lock = folder.join("sessions-index.json.lock");
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let lock2 = lock.clone();
    let holder = std::thread::spawn(move || {
        seance::link::lock::with_lock(&lock2, Duration::from_secs(1), || {
            held_tx.send(()).unwrap();
            done_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    held_rx.recv().unwrap();
    let claude = w.standin(&Standin::default());
    let start = Instant::now();
    let out = run_talk(&w, ENTRY, &w.plan(&claude), &w.cur);
    let waited = start.elapsed();
    done_tx.send(()).unwrap();
    holder.join().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(lock.to_str().unwrap()), "{stderr}");
    assert!(stderr.contains("timed out"), "{stderr}");
    assert!(waited >= Duration::from_secs(5), "{waited:?}");
    assert!(w.runs().is_empty());
    assert!(w.target_jsonl().is_empty());
    assert_eq!(w.ledger_len(), 0);
}

fn signal_during_talk(sig: i32, expect_code: i32, expect_name: &str) {
    let w = World::new("proj");
    let before = w.predecessor_snapshot();
    let claude = w.standin(&Standin {
        sleep: 30,
        ..Default::default()
    });
    let child = spawn_talk(&w, ENTRY, &w.plan(&claude), &w.cur, &[]);
    w.wait_ready(1);
    assert!(fs::symlink_metadata(link_in(&w, &w.proj)).is_ok());
    let start = Instant::now();
    send_signal(child.id(), sig);
    let out = child.wait_with_output().unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(expect_code), "{stderr}");
    assert_eq!(
        values(&w.runs()[0], "SIG"),
        [expect_name],
        "claude got it once"
    );
    assert!(w.target_jsonl().is_empty());
    assert!(!w.target_folder(&w.proj).exists());
    assert_eq!(w.ledger_len(), 0);
    assert_eq!(w.predecessor_snapshot(), before);
}

#[test]
fn sigterm_is_forwarded_then_undone() {
    signal_during_talk(libc::SIGTERM, 143, "TERM");
}

#[test]
fn sigint_from_kill_is_forwarded_then_undone() {
    signal_during_talk(libc::SIGINT, 130, "INT");
}

#[test]
fn sighup_is_forwarded_then_undone() {
    signal_during_talk(libc::SIGHUP, 129, "HUP");
}

#[test]
fn signal_during_setup_never_starts_claude() {
    let w = World::new("proj");
    let folder = w.target_folder(&w.proj);
    fs::create_dir_all(&folder).unwrap();
    let lock = folder.join("sessions-index.json.lock");
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        seance::link::lock::with_lock(&lock, Duration::from_secs(1), || {
            held_tx.send(()).unwrap();
            done_rx.recv().unwrap();
            Ok(())
        })
        .unwrap();
    });
    held_rx.recv().unwrap();
    let claude = w.standin(&Standin::default());
    let child = spawn_talk(&w, ENTRY, &w.plan(&claude), &w.cur, &[]);
    // Wait until it made the link and blocks on the index lock.
    let link = link_in(&w, &w.proj);
    let deadline = Instant::now() + Duration::from_secs(4);
    while fs::symlink_metadata(&link).is_err() {
        assert!(Instant::now() < deadline, "never linked");
        std::thread::sleep(Duration::from_millis(10));
    }
    send_signal(child.id(), libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(100));
    done_tx.send(()).unwrap();
    holder.join().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(w.runs().is_empty(), "claude must not start");
    assert!(fs::symlink_metadata(&link).is_err());
    assert!(!folder.join("sessions-index.json").exists());
    assert_eq!(w.ledger_len(), 0);
}

#[test]
fn two_concurrent_talks_share_one_link_until_the_last_leaves() {
    let w = World::new("proj");
    let before = w.predecessor_snapshot();
    let long = w.standin(&Standin {
        sleep: 3,
        ..Default::default()
    });
    let short = w.standin(&Standin::default());
    let first = spawn_talk(&w, ENTRY, &w.plan(&long), &w.cur, &[]);
    w.wait_ready(1);
    let out = run_talk(&w, ENTRY, &w.plan(&short), &w.cur);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("sharing the link"), "{stderr}");
    // The second one left; the first's claude still runs: the link must stay.
    let link = link_in(&w, &w.proj);
    assert_eq!(fs::read_link(&link).unwrap(), w.source);
    let index = link.with_file_name("sessions-index.json");
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
    assert_eq!(
        doc["entries"].as_array().unwrap().len(),
        1,
        "one shared entry"
    );
    assert_eq!(w.ledger_len(), 1);

    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let runs = w.runs();
    let long_run = runs
        .iter()
        .find(|r| !values(r, "LINK_AT_END").is_empty())
        .expect("the long claude still saw the link at its end");
    assert_eq!(values(long_run, "EXIT"), ["0"]);
    assert!(w.target_jsonl().is_empty());
    assert!(!index.exists());
    assert_eq!(w.ledger_len(), 0);
    assert_eq!(w.predecessor_snapshot(), before);
}

/// Interactive use: the terminal's ^C goes to the whole foreground process group, so
/// claude gets it straight from the kernel; seance must not send it a second one (an
/// interactive claude would take one ^C for two). A SIGINT sent to seance alone by a
/// process is forwarded, once.
#[test]
fn terminal_ctrl_c_reaches_claude_once_and_kill_int_is_forwarded() {
    use std::io::Write;
    let w = World::new("proj");
    let Some(claude) = origin_recording_standin(&w) else {
        eprintln!("skipped: no python3 for the origin-recording stand-in");
        return;
    };
    let Some((mut child, mut master)) = spawn_talk_in_pty(&w, ENTRY, &w.plan(&claude)) else {
        eprintln!("skipped: no pseudo-terminal available");
        return;
    };
    let drain = drain(&master);
    w.wait_ready(1);
    master.write_all(b"\x03").unwrap();
    let status = child.wait().unwrap();
    drop(master);
    let screen = text(&drain.join().unwrap());
    assert_eq!(status.code(), Some(130), "{screen}");
    let infos = values(&w.runs()[0], "SIGINFO")
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    assert_eq!(
        infos,
        [format!("{} {} 0", libc::SIGINT, libc::SI_KERNEL)],
        "exactly one SIGINT, from the terminal: {screen}"
    );
    assert!(w.target_jsonl().is_empty());

    // The same stand-in, SIGINT sent to seance by a process: forwarded once, by seance.
    let w = World::new("proj");
    let claude = origin_recording_standin(&w).unwrap();
    let child = spawn_talk(&w, ENTRY, &w.plan(&claude), &w.cur, &[]);
    w.wait_ready(1);
    send_signal(child.id(), libc::SIGINT);
    let seance_pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert_eq!(
        values(&w.runs()[0], "SIGINFO"),
        [format!("{} {} {seance_pid}", libc::SIGINT, libc::SI_USER)]
    );
    assert!(w.target_jsonl().is_empty());
}

/// Several talks to one session at once, with another tool rewriting the index under
/// its lock all along: every claude sees the link until it ends, exactly one entry of
/// ours is in the index while any talk runs, and at the end only the other tool's
/// changes remain.
#[test]
fn many_concurrent_talks_with_a_foreign_index_writer() {
    const TALKS: usize = 8;
    let w = World::new("proj");
    let before = w.predecessor_snapshot();
    let (index, _) = w.write_target_index();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (stop, index) = (stop.clone(), index.clone());
        std::thread::spawn(move || {
            let mut n = 0;
            let mut max_ours = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let lock = seance::link::lock::lock_path_for(&index);
                seance::link::lock::with_lock(&lock, Duration::from_secs(5), || {
                    let mut doc: serde_json::Value = serde_json::from_slice(&fs::read(&index)?)?;
                    let entries = doc["entries"].as_array_mut().unwrap();
                    let ours = entries.iter().filter(|e| e["sessionId"] == ID).count();
                    max_ours = max_ours.max(ours);
                    entries.push(
                        serde_json::json!({"sessionId": format!("foreign-{n}"), "fullPath": "/f"}),
                    );
                    seance::util::atomic::write_atomic(&index, &serde_json::to_vec(&doc)?)?;
                    Ok(())
                })
                .unwrap();
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            (n, max_ours)
        })
    };
    let children: Vec<_> = (0..TALKS)
        .map(|i| {
            let claude = w.standin(&Standin {
                sleep: (i % 3) as u32,
                ..Default::default()
            });
            spawn_talk(&w, ENTRY, &w.plan(&claude), &w.cur, &[])
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (written, max_ours) = writer.join().unwrap();

    let runs = w.runs();
    assert_eq!(runs.len(), TALKS);
    for r in &runs {
        assert_eq!(values(r, "LINK").len(), 1, "{r:?}");
        assert_eq!(values(r, "LINK_AT_END").len(), 1, "{r:?}");
    }
    assert!(max_ours <= 1, "our entry was added {max_ours} times");
    assert!(w.target_jsonl().is_empty());
    assert_eq!(w.ledger_len(), 0);
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
    let entries = doc["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1 + written, "original + every foreign entry");
    assert!(entries.iter().all(|e| e["sessionId"] != ID));
    assert_eq!(doc["topLevelUnknown"], true);
    assert_eq!(w.predecessor_snapshot(), before);
}

// ---- The binary: flags, exit codes, signals, sharing (through the CLI wiring). ----

#[test]
fn bin_prefix_one_shot_prints_only_claudes_answer() {
    let w = World::new("proj");
    let before = w.predecessor_snapshot();
    let claude = w.standin(&Standin::default());
    let out = seance_bin(&w, &claude)
        .args(["--talk", &ID[..8].to_uppercase(), "-p", "where?", "--"])
        .args(["--model", "opus", "-p", "not ours"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        text(&out.stdout),
        "ANSWER-FROM-CLAUDE\n",
        "stdout is claude's alone"
    );
    let r = &w.runs()[0];
    let fork = fork_id_arg(r);
    assert_eq!(
        values(r, "ARG"),
        [
            "--fork-session",
            "--resume",
            ID,
            "--session-id",
            &fork,
            "--model",
            "opus",
            "-p",
            "not ours",
            "-p",
            "--",
            "where?"
        ]
    );
    assert_eq!(values(r, "CWD"), [w.proj.to_str().unwrap()]);
    assert_eq!(values(r, "CLAUDECODE"), ["<unset>"]);
    assert_eq!(values(r, "LINK").len(), 1);
    assert!(stderr.contains("seance: talking to 46621448"), "{stderr}");
    assert!(w.target_jsonl().is_empty());
    assert_eq!(w.ledger_len(), 0);
    assert_eq!(w.predecessor_snapshot(), before);
}

#[test]
fn bin_exit_status_is_claudes() {
    let w = World::new("proj");
    let claude = w.standin(&Standin {
        exit: 42,
        ..Default::default()
    });
    let out = seance_bin(&w, &claude)
        .args(["--talk", ID, "--here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(42), "{}", text(&out.stderr));
    assert_eq!(values(&w.runs()[0], "CWD"), [w.cur.to_str().unwrap()]);
    assert!(w.target_jsonl().is_empty());
}

#[test]
fn bin_usage_errors_exit_2() {
    let w = World::new("proj");
    let claude = w.standin(&Standin::default());
    for args in [
        &["-p", "hi"][..],
        &["--here"][..],
        &["--dry-run"][..],
        &["--reap", "--talk", ID][..],
        &["--", "--model", "x"][..],
    ] {
        let out = seance_bin(&w, &claude).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert!(w.runs().is_empty());
}

#[test]
fn bin_missing_claude_exits_1_before_linking() {
    let w = World::new("proj");
    let missing = w.root.join("no-claude-here");
    let out = seance_bin(&w, &missing)
        .args(["--talk", ID, "-p", "q"])
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no-claude-here"), "{stderr}");
    assert!(text(&out.stdout).is_empty());
    assert!(w.target_jsonl().is_empty());
    assert!(!w.state.join("ledger.json").exists());
    // --claude wins over SEANCE_CLAUDE.
    let claude = w.standin(&Standin::default());
    let out = seance_bin(&w, &missing)
        .args(["--talk", ID, "-p", "q", "--claude"])
        .arg(&claude)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn bin_unknown_id_exits_1() {
    let w = World::new("proj");
    let claude = w.standin(&Standin::default());
    let out = seance_bin(&w, &claude)
        .args(["--talk", "ffffffff", "-p", "q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(w.runs().is_empty());
}

fn bin_signal(sig: i32, code: i32, name: &str) {
    let w = World::new("proj");
    let claude = w.standin(&Standin {
        sleep: 30,
        ..Default::default()
    });
    let child = seance_bin(&w, &claude)
        .args(["--talk", &ID[..6], "-p", "q"])
        .spawn()
        .unwrap();
    w.wait_ready(1);
    send_signal(child.id(), sig);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
    assert_eq!(values(&w.runs()[0], "SIG"), [name]);
    assert!(w.target_jsonl().is_empty());
    assert_eq!(w.ledger_len(), 0);
}

#[test]
fn bin_sigterm_forwarded_then_undone() {
    bin_signal(libc::SIGTERM, 143, "TERM");
}

#[test]
fn bin_sigint_forwarded_then_undone() {
    bin_signal(libc::SIGINT, 130, "INT");
}

#[test]
fn bin_two_concurrent_talks_share_one_link() {
    let w = World::new("proj");
    let long = w.standin(&Standin {
        sleep: 2,
        ..Default::default()
    });
    let short = w.standin(&Standin::default());
    let first = seance_bin(&w, &long)
        .args(["--talk", ID, "-p", "q"])
        .spawn()
        .unwrap();
    w.wait_ready(1);
    let out = seance_bin(&w, &short)
        .args(["--talk", ID, "-p", "q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let link = link_in(&w, &w.proj);
    assert_eq!(
        fs::read_link(&link).unwrap(),
        w.source,
        "still there for the first"
    );
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(w.runs().iter().any(|r| values(r, "LINK_AT_END").len() == 1));
    assert!(w.target_jsonl().is_empty());
    assert_eq!(w.ledger_len(), 0);
}

#[test]
fn bin_interactive_on_a_terminal_ctrl_c_reaches_claude_once() {
    use std::io::Write;
    let w = World::new("proj");
    let Some(claude) = origin_recording_standin(&w) else {
        eprintln!("skipped: no python3 for the origin-recording stand-in");
        return;
    };
    let mut cmd = seance_bin(&w, &claude);
    cmd.args(["--talk", &ID[..8]]);
    let Some((mut child, mut master)) = spawn_in_pty(cmd) else {
        eprintln!("skipped: no pseudo-terminal available");
        return;
    };
    let drain = drain(&master);
    w.wait_ready(1);
    assert!(fs::symlink_metadata(link_in(&w, &w.proj)).is_ok());
    master.write_all(b"\x03").unwrap();
    let status = child.wait().unwrap();
    drop(master);
    let screen = text(&drain.join().unwrap());
    assert_eq!(status.code(), Some(130), "{screen}");
    let r = &w.runs()[0];
    assert_eq!(
        values(r, "SIGINFO"),
        [format!("{} {} 0", libc::SIGINT, libc::SI_KERNEL)],
        "{screen}"
    );
    assert!(screen.contains("seance: talking to 46621448"), "{screen}");
    assert!(w.target_jsonl().is_empty());
    assert_eq!(w.ledger_len(), 0);
}

#[test]
fn bin_sighup_forwarded_then_undone() {
    bin_signal(libc::SIGHUP, 129, "HUP");
}
