//! Input that used to hang, bloat or be misread (issue 12, items 8, 10 and 12): every
//! file seance reads is read as a regular file only and bounded, whatever sits at its
//! path (a FIFO, `/dev/zero`, half a gigabyte of NUL bytes); ids that differ only in
//! case are told apart; one bad entry of `mayor/accounts.json` costs only that entry.
//!
//! Every test runs the real `seance` binary.

mod rel_support;

use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rel_support::*;

/// Runs `cmd` with a deadline: returns its output, its own peak RSS in MiB and how long
/// it took; kills it and panics (naming `what`) when it runs past `limit`, which is how
/// a read that blocks or never ends shows.
fn run_bounded(what: &str, cmd: &mut Command, limit: Duration) -> (Output, i64, Duration) {
    let start = Instant::now();
    #[expect(clippy::zombie_processes, reason = "reaped by wait4 below")]
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 on our own child, filling `status` and `ru`.
        let got = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if got == pid {
            break;
        }
        if start.elapsed() > limit {
            // SAFETY: kill and reap our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::wait4(pid, &mut status, 0, &mut ru);
            }
            panic!(
                "{what}: seance still ran after {limit:?} (peak {} MiB)",
                ru.ru_maxrss / 1024
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = start.elapsed();
    let output = Output {
        status: std::os::unix::process::ExitStatusExt::from_raw(status),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    (output, ru.ru_maxrss / 1024, took)
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo only reads the NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

/// What can sit at a path seance reads.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// A FIFO nobody writes to: an open without O_NONBLOCK waits for ever.
    Fifo,
    /// A symlink to `/dev/zero`: never ends.
    DevZero,
    /// A sparse regular file of 512 MiB of NUL bytes, no newline.
    Zeros,
}

fn plant(path: &Path, h: Hostile) {
    let _ = fs::remove_file(path);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    match h {
        Hostile::Fifo => mkfifo(path),
        Hostile::DevZero => symlink("/dev/zero", path).unwrap(),
        Hostile::Zeros => fs::File::create(path).unwrap().set_len(512 << 20).unwrap(),
    }
}

#[test]
fn no_file_seance_reads_can_hang_it_or_bloat_it() {
    let w = World::new();
    let (one, two) = (sid(0x8001), sid(0x8002));
    w.add_session(&one, "first good", false);
    w.add_session(&two, "second good", false);
    let town = w.root.join("town");
    fs::create_dir_all(town.join("mayor")).unwrap();
    fs::write(town.join("mayor/town.json"), "{}").unwrap();
    let events = town.join(".events.jsonl");
    let accounts = town.join("mayor/accounts.json");
    let index = w.source_folder(&w.proj).join("sessions-index.json");
    let cache = w.cache_home.join("seance/transcripts.bin");
    let slots: [(&str, &PathBuf, &str); 4] = [
        ("events", &events, "events"),
        ("accounts.json", &accounts, "accounts.json"),
        ("index", &index, "index"),
        ("cache", &cache, ""),
    ];
    for (name, path, warns) in slots {
        for h in [Hostile::Fifo, Hostile::DevZero, Hostile::Zeros] {
            plant(path, h);
            let what = format!("{name} as {h:?}");
            let mut cmd = w.seance();
            cmd.env("GT_ROOT", &town).args(["--json", "-n", "0"]);
            let (out, rss, took) = run_bounded(&what, &mut cmd, Duration::from_secs(30));
            let ctx = format!("{what}: {took:?}, {rss} MiB: {}", show(&out));
            assert_eq!(out.status.code(), Some(0), "{ctx}");
            assert!(rss < 64, "{ctx}");
            let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
            for id in [&one, &two] {
                assert!(rows.iter().any(|r| r["session_id"] == **id), "{ctx}");
            }
            let stderr = text(&out.stderr);
            if !warns.is_empty() {
                assert!(
                    stderr
                        .lines()
                        .any(|l| l.contains("warning") && l.contains(warns)),
                    "no warning for it: {ctx}"
                );
            }
            fs::remove_file(path).unwrap();
            eprintln!("{what}: listed in {took:?}, peak {rss} MiB");
        }
    }
    // The ledger: a talk's reap refuses it with one message, without waiting on it.
    let ledger = w.state().join("ledger.json");
    for h in [Hostile::Fifo, Hostile::DevZero, Hostile::Zeros] {
        plant(&ledger, h);
        let what = format!("ledger as {h:?}");
        let (out, rss, _) = run_bounded(&what, w.seance().arg("--reap"), Duration::from_secs(30));
        let ctx = format!("{what}, {rss} MiB: {}", show(&out));
        assert_eq!(out.status.code(), Some(1), "{ctx}");
        assert!(text(&out.stderr).contains("ledger.json"), "{ctx}");
        assert!(rss < 64, "{ctx}");
        fs::remove_file(&ledger).unwrap();
    }
}

#[test]
fn ids_that_differ_only_in_case_exact_wins_otherwise_ambiguous() {
    let w = World::new();
    let lower = "abcdef01-1111-4222-8333-000000000001".to_owned();
    let upper = lower.to_uppercase();
    w.add_session(&lower, "the lower one", false);
    w.add_session(&upper, "the upper one", false);
    // Listed as the two sessions they are.
    let out = w.seance().args(["--json", "-n", "0"]).output().unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2, "{}", show(&out));
    let claude = w.standin(&w.target_folder(&w.proj), 0);
    for id in [&lower, &upper] {
        let out = w.talk_cmd(id, &claude).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
        assert!(
            text(&out.stdout).contains(&format!("ANSWER {id}")),
            "--talk {id} talked to the other one: {}",
            show(&out)
        );
    }
    // Neither typed exactly: ambiguous, naming both.
    for q in [
        "abcdef01",
        "ABCDEF01-1111",
        "AbCdEf01-1111-4222-8333-000000000001",
    ] {
        let out = w.talk_cmd(q, &claude).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{q}: {}", show(&out));
        assert!(
            stderr.contains("ambiguous") && stderr.contains(&lower) && stderr.contains(&upper),
            "{q}: {stderr}"
        );
    }
    assert_eq!(w.runs().len(), 2);
}

#[test]
fn one_wrong_typed_accounts_entry_costs_only_that_entry() {
    let w = World::new();
    let id = sid(0x1200);
    w.add_session(&id, "from the town", false);
    let town = w.root.join("town");
    fs::create_dir_all(town.join("mayor")).unwrap();
    fs::write(town.join("mayor/town.json"), "{}").unwrap();
    let accounts = serde_json::json!({
        "version": 1,
        "accounts": {
            "bad": {"email": "x@y", "config_dir": 42},
            "worse": "not an object",
            "work": {"email": "a@b", "config_dir": w.a},
        },
        "default": "work"
    });
    fs::write(town.join("mayor/accounts.json"), accounts.to_string()).unwrap();
    let out = w
        .seance()
        .env_remove("SEANCE_ACCOUNT_DIRS")
        .env("GT_ROOT", &town)
        .args(["--json", "-n", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let row = rows
        .iter()
        .find(|r| r["session_id"] == id.as_str())
        .unwrap_or_else(|| panic!("the good account was ignored: {}", show(&out)));
    assert_eq!(row["account"], "work");
    let stderr = text(&out.stderr);
    let warned: Vec<&str> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warned.len(), 1, "{stderr}");
    assert!(
        warned[0].contains("bad accounts.json entries skipped: 2"),
        "{stderr}"
    );
}
