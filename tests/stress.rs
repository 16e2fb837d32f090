//! Concurrency: many talks at once into one project folder while another process
//! (standing in for `gt seance`) keeps rewriting the same `sessions-index.json` under a
//! flock on `<index>.lock`, and listings run all along. Nothing may be lost, nothing
//! left behind, no reader may see a torn file, and no talk may lose its link.

mod rel_support;

use std::fs;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rel_support::*;

const SESSIONS: u32 = 12;
const TALKS_PER_SESSION: u32 = 2;
const FOREIGN_AT_START: usize = 3;
const REWRITER_ENV: &str = "SEANCE_TEST_REWRITER";

/// Not a test of its own: the `gt seance` stand-in the stress test runs as a separate
/// process (this test binary re-run with only this test and [`REWRITER_ENV`] set).
///
/// Until `<index>.stop` exists it loops: flock `<index>.lock`, read and parse the index
/// (a parse failure is counted), bump the top-level `gtCounter`, every fifth round add a
/// foreign entry, replace the file atomically, unlock. It prints
/// `ROUNDS=<n> ADDED=<k> BAD=<parse failures>` at the end.
#[test]
fn rewriter_entry() {
    let Some(index) = std::env::var_os(REWRITER_ENV).map(PathBuf::from) else {
        return;
    };
    let lock_path = PathBuf::from(format!("{}.lock", index.display()));
    let stop = PathBuf::from(format!("{}.stop", index.display()));
    let (mut rounds, mut added, mut bad) = (0u64, 0u64, 0u64);
    while !stop.exists() {
        let lock = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .unwrap();
        // SAFETY: flock on an fd we own.
        assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
        match serde_json::from_slice::<serde_json::Value>(&fs::read(&index).unwrap()) {
            Ok(mut doc) => {
                rounds += 1;
                doc["gtCounter"] = rounds.into();
                if rounds % 5 == 0 {
                    let id = format!("foreign-added-{added}");
                    doc["entries"]
                        .as_array_mut()
                        .unwrap()
                        .push(serde_json::json!({
                            "sessionId": id, "fullPath": format!("/elsewhere/{id}.jsonl")
                        }));
                    added += 1;
                }
                let tmp = index.with_extension("gt-tmp");
                let mut f = fs::File::create(&tmp).unwrap();
                f.write_all(&serde_json::to_vec_pretty(&doc).unwrap())
                    .unwrap();
                f.sync_all().unwrap();
                fs::rename(&tmp, &index).unwrap();
            }
            Err(_) => bad += 1,
        }
        drop(lock);
        std::thread::sleep(Duration::from_millis(3));
    }
    println!("ROUNDS={rounds} ADDED={added} BAD={bad}");
    std::process::exit(0);
}

fn spawn_rewriter(index: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["rewriter_entry", "--exact", "--nocapture", "-q"])
        .env(REWRITER_ENV, index)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn parse_kv(s: &str, key: &str) -> u64 {
    s.split_whitespace()
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {s:?}"))
        .parse()
        .unwrap()
}

#[test]
fn talks_at_once_with_gt_rewriting_the_index_lose_nothing() {
    let w = World::new();
    let ids: Vec<String> = (1..=SESSIONS).map(|n| sid(0xa000 + n)).collect();
    for (n, id) in ids.iter().enumerate() {
        w.add_session(id, &format!("title-{n}"), true);
    }
    let before_a = snapshot(&w.a, |_| false);

    // The target folder exists, with an index holding foreign entries.
    let target = w.target_folder(&w.proj);
    fs::create_dir_all(&target).unwrap();
    let index = target.join("sessions-index.json");
    let foreign: Vec<serde_json::Value> = (0..FOREIGN_AT_START)
        .map(|i| serde_json::json!({"sessionId": format!("foreign-{i}"), "fullPath": format!("/x/{i}.jsonl"), "keep": i}))
        .collect();
    fs::write(
        &index,
        serde_json::to_vec_pretty(&serde_json::json!({
            "version": 1, "entries": foreign, "originalPath": w.proj
        }))
        .unwrap(),
    )
    .unwrap();
    let claude = w.standin(&target, 1500);

    let stop_all = Arc::new(AtomicBool::new(false));
    // A reader that never locks: every version of the index and ledger must parse.
    let reads = Arc::new(AtomicUsize::new(0));
    let monitor = {
        let (stop, reads) = (Arc::clone(&stop_all), Arc::clone(&reads));
        let (index, ledger) = (index.clone(), w.state().join("ledger.json"));
        std::thread::spawn(move || {
            let mut torn = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                for p in [&index, &ledger] {
                    if let Ok(bytes) = fs::read(p) {
                        reads.fetch_add(1, Ordering::SeqCst);
                        if serde_json::from_slice::<serde_json::Value>(&bytes).is_err() {
                            torn.push(format!("{}: {}", p.display(), text(&bytes)));
                        }
                    }
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            torn
        })
    };
    // Listings all along: never a crash, every row whole, every session there once.
    let listings = Arc::new(AtomicUsize::new(0));
    let lister = {
        let (stop, listings) = (Arc::clone(&stop_all), Arc::clone(&listings));
        let mut json = w.seance();
        json.args(["--json", "-n", "0"]);
        let mut table = w.seance();
        table.args(["-n", "0"]);
        let ids = ids.clone();
        std::thread::spawn(move || {
            let mut problems = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let out = json.output().unwrap();
                listings.fetch_add(1, Ordering::SeqCst);
                if !out.status.success() {
                    problems.push(show(&out));
                    continue;
                }
                let rows: Vec<serde_json::Value> = match serde_json::from_slice(&out.stdout) {
                    Ok(r) => r,
                    Err(e) => {
                        problems.push(format!("bad JSON ({e}): {}", show(&out)));
                        continue;
                    }
                };
                for (n, id) in ids.iter().enumerate() {
                    let mine: Vec<_> = rows.iter().filter(|r| r["session_id"] == **id).collect();
                    if mine.len() != 1 || mine[0]["title"] != format!("title-{n}") {
                        problems.push(format!("{id}: {mine:?}"));
                    }
                }
                let out = table.output().unwrap();
                listings.fetch_add(1, Ordering::SeqCst);
                let shown = text(&out.stdout);
                if !out.status.success() || ids.iter().any(|id| !shown.contains(&id[..8])) {
                    problems.push(show(&out));
                }
            }
            problems
        })
    };
    let mut rewriter = spawn_rewriter(&index);

    let start = Instant::now();
    let talks: Vec<(String, Child)> = ids
        .iter()
        .flat_map(|id| (0..TALKS_PER_SESSION).map(move |_| id.clone()))
        .map(|id| {
            let child = w
                .talk_cmd(&id[..8], &claude)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (id, child)
        })
        .collect();
    let mut failures = Vec::new();
    for (id, child) in talks {
        let out = child.wait_with_output().unwrap();
        if out.status.code() != Some(0) || !text(&out.stdout).contains(&format!("ANSWER {id}")) {
            failures.push(format!("{id}: {}", show(&out)));
        }
    }
    let elapsed = start.elapsed();

    fs::write(format!("{}.stop", index.display()), b"").unwrap();
    let gt = rewriter.wait().unwrap();
    let mut gt_out = String::new();
    std::io::Read::read_to_string(rewriter.stdout.as_mut().unwrap(), &mut gt_out).unwrap();
    assert!(gt.success(), "rewriter: {gt_out}");
    stop_all.store(true, Ordering::SeqCst);
    let torn = monitor.join().unwrap();
    let list_problems = lister.join().unwrap();

    assert!(
        failures.is_empty(),
        "talks failed:\n{}",
        failures.join("\n")
    );
    assert!(
        torn.is_empty(),
        "a reader saw a torn file:\n{}",
        torn.join("\n")
    );
    assert!(
        list_problems.is_empty(),
        "listing went wrong:\n{}",
        list_problems.join("\n")
    );
    let (rounds, added, bad) = (
        parse_kv(&gt_out, "ROUNDS"),
        parse_kv(&gt_out, "ADDED"),
        parse_kv(&gt_out, "BAD"),
    );
    assert_eq!(bad, 0, "the rewriter read a torn index");
    assert!(rounds > 10, "the rewriter hardly ran: {gt_out}");

    // Every talk saw its link for its whole run.
    let runs = w.runs();
    assert_eq!(runs.len(), (SESSIONS * TALKS_PER_SESSION) as usize);
    for (pid, log) in &runs {
        assert!(
            !log.contains("LOST") && log.contains("DONE"),
            "stand-in {pid}: {log}"
        );
    }
    // Every foreign entry survived, in order; no seance entry, no link, no record.
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
    let got: Vec<&str> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sessionId"].as_str().unwrap())
        .collect();
    let mut want: Vec<String> = (0..FOREIGN_AT_START)
        .map(|i| format!("foreign-{i}"))
        .collect();
    want.extend((0..added).map(|k| format!("foreign-added-{k}")));
    assert_eq!(got, want, "foreign entries lost or seance entries left");
    assert_eq!(
        doc["gtCounter"], rounds,
        "the rewriter's last write survived"
    );
    assert_eq!(doc["originalPath"], w.proj.to_str().unwrap());
    let left: Vec<_> = fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with("sessions-index.json"))
        .collect();
    assert!(left.is_empty(), "left in the target folder: {left:?}");
    assert_eq!(w.ledger_len(), 0);
    assert_eq!(
        snapshot(&w.a, |_| false),
        before_a,
        "the source account changed"
    );
    eprintln!(
        "stress: {} talks in {elapsed:?}; gt rewrote the index {rounds} times (+{added} entries); \
         {} lock-free reads, {} listings",
        runs.len(),
        reads.load(Ordering::SeqCst),
        listings.load(Ordering::SeqCst)
    );
}

#[test]
fn talks_at_once_into_a_folder_that_did_not_exist_leave_nothing() {
    // The folder is made by whichever talk comes first and must go with the last one
    // out, with no index, lock or record left, whatever the order the talks end in.
    // Every other session has a source index entry (so its talk patches an index in
    // the new folder), the rest have none.
    let w = World::new();
    let ids: Vec<String> = (1..=SESSIONS).map(|n| sid(0xa100 + n)).collect();
    for (n, id) in ids.iter().enumerate() {
        w.add_session(id, &format!("title-{n}"), n % 2 == 0);
    }
    let before_a = snapshot(&w.a, |_| false);
    let before_b = snapshot(&w.b, |_| false);
    let target = w.target_folder(&w.proj);
    let claude = w.standin(&target, 1500);
    let start = Instant::now();
    let talks: Vec<(String, Child)> = ids
        .iter()
        .flat_map(|id| (0..TALKS_PER_SESSION).map(move |_| id.clone()))
        .map(|id| {
            let child = w
                .talk_cmd(&id[..8], &claude)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (id, child)
        })
        .collect();
    let mut failures = Vec::new();
    for (id, child) in talks {
        let out = child.wait_with_output().unwrap();
        if out.status.code() != Some(0) || !text(&out.stdout).contains(&format!("ANSWER {id}")) {
            failures.push(format!("{id}: {}", show(&out)));
        }
    }
    let elapsed = start.elapsed();
    assert!(
        failures.is_empty(),
        "talks failed:\n{}",
        failures.join("\n")
    );
    let runs = w.runs();
    assert_eq!(runs.len(), (SESSIONS * TALKS_PER_SESSION) as usize);
    for (pid, log) in &runs {
        assert!(
            !log.contains("LOST") && log.contains("DONE"),
            "stand-in {pid}: {log}"
        );
    }
    // Byte for byte as before: no folder, no sessions-index.json, no lock.
    let after_b = snapshot(&w.b, |_| false);
    assert!(
        after_b == before_b,
        "left behind:\n{}",
        diff(&before_b, &after_b)
    );
    assert_eq!(w.ledger_len(), 0);
    let out = w.seance().arg("--reap").output().unwrap();
    assert_eq!(text(&out.stdout), "Nothing to reap.\n", "{}", show(&out));
    assert!(
        snapshot(&w.a, |_| false) == before_a,
        "the source account changed"
    );
    eprintln!(
        "stress-new-folder: {} talks in {elapsed:?} into a folder none had; nothing left",
        runs.len()
    );
}

/// A small deterministic generator (xorshift), seeded per run and printed on failure.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Rounds of [`killed_at_random_round`] into an existing folder; `STRESS_SEED` replays
/// them.
const KILL_ROUNDS: u64 = 4;
/// Rounds of [`killed_at_random_round`] into a folder that did not exist.
const FRESH_KILL_ROUNDS: u64 = 2;

#[test]
fn talks_killed_at_random_while_others_run_are_reaped_and_lose_nothing() {
    let seed = std::env::var("STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    let (mut talks, mut killed) = (0, 0);
    // Rounds into a folder that exists with gt rewriting its index, then rounds into a
    // folder none of the talks found (made and removed by them).
    for round in 0..KILL_ROUNDS + FRESH_KILL_ROUNDS {
        let fresh = round >= KILL_ROUNDS;
        let (t, k) = killed_at_random_round(seed, round, fresh);
        talks += t;
        killed += k;
    }
    assert!(killed > 0, "seed {seed}: no talk was killed");
    eprintln!(
        "stress-kill: seed {seed}: {talks} talks, {killed} killed at random, all reaped; \
         no claude lost its link, no temp file left"
    );
}

/// One round (seeded from `base_seed` and `round`): 16 talks (8 sessions, twice each),
/// about half of them SIGKILLed at a random moment; then one `--reap`. Unless `fresh`,
/// the target folder exists with an index the `gt` rewriter keeps rewriting; when
/// `fresh`, the folder does not exist, half the sessions have a source index entry,
/// and afterwards the current account must be byte for byte as before. Returns
/// (talks, killed).
fn killed_at_random_round(base_seed: u64, round: u64, fresh: bool) -> (usize, usize) {
    const SESSIONS: u32 = 8;
    let mut rng = Rng(base_seed.wrapping_add(round * 7919));
    let w = World::new();
    let ids: Vec<String> = (1..=SESSIONS).map(|n| sid(0xb000 + n)).collect();
    for (n, id) in ids.iter().enumerate() {
        w.add_session(id, &format!("title-{n}"), !fresh || n % 2 == 0);
    }
    let before_a = snapshot(&w.a, |_| false);
    let before_b = snapshot(&w.b, |_| false);
    let target = w.target_folder(&w.proj);
    let index = target.join("sessions-index.json");
    // No claude loses its link while it runs: a killed seance's claude is ended with
    // it (PR_SET_PDEATHSIG), and a live seance's keeps its link to the end.
    let claude = w.standin(&target, 1200);
    let rewriter = (!fresh).then(|| {
        fs::create_dir_all(&target).unwrap();
        fs::write(
            &index,
            serde_json::to_vec_pretty(&serde_json::json!({
                "version": 1, "entries": [{"sessionId": "foreign-0", "keep": true}], "originalPath": w.proj
            }))
            .unwrap(),
        )
        .unwrap();
        spawn_rewriter(&index)
    });

    // Two talks per session; about half of all talks get SIGKILL at a random moment.
    let mut talks: Vec<(String, Child, Option<Duration>)> = Vec::new();
    for id in ids.iter().flat_map(|id| [id, id]) {
        let child = w
            .talk_cmd(&id[..8], &claude)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let kill = (rng.below(2) == 0).then(|| Duration::from_millis(rng.below(1500)));
        talks.push((id.clone(), child, kill));
    }
    let start = Instant::now();
    let mut pending: Vec<_> = talks
        .iter()
        .filter_map(|(_, c, k)| k.map(|k| (c.id(), k)))
        .collect();
    pending.sort_by_key(|(_, k)| *k);
    for (pid, at) in &pending {
        if let Some(wait) = at.checked_sub(start.elapsed()) {
            std::thread::sleep(wait);
        }
        // SAFETY: kill(2) on our own child (a zombie if it already ended: harmless).
        unsafe { libc::kill(*pid as libc::pid_t, libc::SIGKILL) };
    }
    let (mut killed, mut survived) = (Vec::new(), Vec::new());
    let mut failures = Vec::new();
    for (id, child, kill) in talks {
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        match (kill, out.status.code()) {
            (_, Some(0)) => survived.push(pid),
            (Some(_), None) => killed.push(pid),
            _ => failures.push(format!("{id}: {}", show(&out))),
        }
    }
    // Orphaned stand-ins of killed talks may still run: their links must hold until
    // they end; then one reap cleans up everything.
    w.wait_standins_gone();
    let out = w.seance().arg("--reap").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let ctx = format!(
        "STRESS_SEED={base_seed} round {round} fresh={fresh} ({} killed)",
        killed.len()
    );
    assert!(
        failures.is_empty(),
        "{ctx}: talks failed:\n{}",
        failures.join("\n")
    );
    // No claude loses its link while it runs: a killed seance's claude is ended with
    // it (by its watchdog, src/platform/tether.rs), and a live seance's keeps its link
    // to the end.
    for (pid, log) in w.runs() {
        assert!(
            !log.contains("LOST"),
            "{ctx}: stand-in {pid} lost its link: {log}"
        );
    }
    let Some(rewriter) = rewriter else {
        // Nothing of any talk is left: no folder, index, lock, link or record.
        let after_b = snapshot(&w.b, |_| false);
        assert!(
            after_b == before_b,
            "{ctx}: left behind:\n{}",
            diff(&before_b, &after_b)
        );
        assert_eq!(w.ledger_len(), 0, "{ctx}");
        assert_eq!(
            snapshot(&w.a, |_| false),
            before_a,
            "{ctx}: the source changed"
        );
        return (2 * SESSIONS as usize, killed.len());
    };
    fs::write(format!("{}.stop", index.display()), b"").unwrap();
    let gt = rewriter.wait_with_output().unwrap();
    let gt_out = text(&gt.stdout);
    assert_eq!(
        parse_kv(&gt_out, "BAD"),
        0,
        "{ctx}: the rewriter read a torn index"
    );
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(&index).unwrap()).unwrap();
    let got: Vec<&str> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["sessionId"].as_str().unwrap())
        .collect();
    let mut want = vec!["foreign-0".to_owned()];
    want.extend((0..parse_kv(&gt_out, "ADDED")).map(|k| format!("foreign-added-{k}")));
    assert_eq!(got, want, "{ctx}");
    assert_eq!(doc["gtCounter"], parse_kv(&gt_out, "ROUNDS"), "{ctx}");
    // Nothing but the index and its lock: no link, and no temp file of a killed write.
    let left: Vec<String> = fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        // The index, its lock and the rewriter's stop file; a temp file of a killed
        // write starts with a dot and stays in the list.
        .filter(|n| !n.starts_with("sessions-index.json"))
        .collect();
    assert!(
        left.is_empty(),
        "{ctx}: left in the target folder: {left:?}"
    );
    assert_eq!(w.ledger_len(), 0, "{ctx}");
    assert_eq!(
        snapshot(&w.a, |_| false),
        before_a,
        "{ctx}: the source account changed"
    );
    (2 * SESSIONS as usize, killed.len())
}
