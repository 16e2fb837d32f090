//! Shell completion and the manual page: `--completions <shell>` scripts, the values a Tab
//! offers (session ids newest first with titles, accounts, Gas Town actors and rigs), that
//! ids come from the metadata cache when there is one, and that `--man` documents every
//! option.

mod list_support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use list_support::*;
use seance::discover::cache::{self, Cache};

const OLD: &str = "0a0a0001-1111-4111-8111-000000000001";
const MID: &str = "0b0b0002-2222-4222-8222-000000000002";
const NEW: &str = "0c0c0003-3333-4333-8333-000000000003";

/// The current account holds OLD and NEW, account `other` (via `SEANCE_ACCOUNT_DIRS`)
/// holds MID; each titled by its first prompt, active at distinct times.
fn three_sessions(sb: &Sandbox) -> std::path::PathBuf {
    let other = account(&sb.root().join("accounts/other"));
    let day = |d: u32| format!("2026-11-{d:02}T10:00:00Z");
    transcript(
        &sb.current,
        "-w-a",
        OLD,
        convo("/w/a", &day(1), &day(2), "Old lantern work"),
    );
    transcript(
        &other,
        "-w-b",
        MID,
        convo("/w/b", &day(3), &day(4), "Middle bridge work"),
    );
    transcript(
        &sb.current,
        "-w-c",
        NEW,
        convo("/w/c", &day(5), &day(6), "New tower work"),
    );
    other
}

/// `cmd` seeing account `other` too.
fn with_other(other: &Path, mut cmd: Command) -> Command {
    cmd.env("SEANCE_ACCOUNT_DIRS", other);
    cmd
}

/// What one Tab offers through the fish protocol, as `(value, description)` pairs.
/// `words` are the command line up to and including the word being completed.
fn tab(sb: &Sandbox, other: Option<&Path>, words: &[&str]) -> Vec<(String, String)> {
    let mut cmd = sb.std_cmd();
    if let Some(o) = other {
        cmd = with_other(o, cmd);
    }
    let out = cmd
        .env("SEANCE_COMPLETE", "fish")
        .arg("--")
        .arg("seance")
        .args(words)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "completion failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (v, h) = l.split_once('\t').unwrap_or((l, ""));
            (v.to_string(), h.to_string())
        })
        .collect()
}

/// The values offered, without the flags: `--talk`'s value is optional (no value opens
/// the picker), so after `--talk ` the shell is offered the other flags too.
fn values(offered: &[(String, String)]) -> Vec<&str> {
    offered
        .iter()
        .map(|(v, _)| v.as_str())
        .filter(|v| !v.starts_with('-'))
        .collect()
}

fn warm_cache(sb: &Sandbox, other: &Path) {
    let out = with_other(other, sb.std_cmd())
        .args(["-n", "0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(sb.cache_file().exists(), "the listing writes the cache");
}

#[test]
fn talk_offers_ids_newest_first_with_title_and_account() {
    let sb = Sandbox::new();
    let other = three_sessions(&sb);
    // Newest of all, but not a UUID: --talk could not take it, so it is not offered.
    let odd = "0d0d-not-a-uuid";
    let odd_convo = convo(
        "/w/d",
        "2026-11-07T10:00:00Z",
        "2026-11-08T10:00:00Z",
        "Odd one",
    );
    transcript(&sb.current, "-w-d", odd, odd_convo);
    warm_cache(&sb, &other);
    let offered = tab(&sb, Some(&other), &["--talk", ""]);
    assert_eq!(values(&offered), [NEW, MID, OLD]);
    assert!(
        offered[0].1.starts_with("New tower work (.claude, "),
        "{offered:?}"
    );
    assert!(
        offered[1].1.starts_with("Middle bridge work (other, "),
        "{offered:?}"
    );

    let offered = tab(&sb, Some(&other), &["--talk", "0B0B"]);
    assert_eq!(
        values(&offered),
        [MID],
        "a typed prefix narrows, in any case"
    );
    let offered = tab(&sb, Some(&other), &["-t", "0a"]);
    assert_eq!(values(&offered), [OLD], "the short flag completes too");
    assert!(tab(&sb, Some(&other), &["--talk", "9"]).is_empty());
}

#[test]
fn talk_ids_come_from_the_cache_without_rereading_transcripts() {
    let sb = Sandbox::new();
    let other = three_sessions(&sb);
    warm_cache(&sb, &other);
    // A title only the cache knows proves the Tab read the cache, not the transcript.
    let mut rows = Cache::load(&sb.cache_file()).into_rows();
    for (k, m) in &mut rows {
        if k.path.to_string_lossy().contains(NEW) {
            m.title = Some("only in the cache".into());
        }
    }
    cache::save(&sb.cache_file(), rows.iter().map(|(k, m)| (k, m).into())).unwrap();
    let offered = tab(&sb, Some(&other), &["--talk", ""]);
    assert!(offered[0].1.starts_with("only in the cache"), "{offered:?}");

    // A transcript removed since the cache was written is not offered.
    fs::remove_file(sb.current.join(format!("projects/-w-a/{OLD}.jsonl"))).unwrap();
    assert_eq!(values(&tab(&sb, Some(&other), &["--talk", ""])), [NEW, MID]);

    // Sessions of an account not seen from here are not offered, though cached.
    assert_eq!(values(&tab(&sb, None, &["--talk", ""])), [NEW]);
}

#[test]
fn talk_without_a_cache_scans_once_and_writes_it() {
    let sb = Sandbox::new();
    let other = three_sessions(&sb);
    assert!(!sb.cache_file().exists());
    let offered = tab(&sb, Some(&other), &["--talk", ""]);
    assert_eq!(values(&offered), [NEW, MID, OLD]);
    assert!(
        offered[2].1.starts_with("Old lantern work (.claude, "),
        "{offered:?}"
    );
    assert!(
        sb.cache_file().exists(),
        "the scan leaves a cache for the next Tab"
    );
    assert_eq!(Cache::load(&sb.cache_file()).len(), 3);
}

#[test]
fn bash_script_completes_ids_when_bash_calls_it() {
    let sb = Sandbox::new();
    let other = three_sessions(&sb);
    warm_cache(&sb, &other);
    let script = with_other(&other, sb.std_cmd())
        .args(["--completions", "bash"])
        .output()
        .unwrap();
    assert!(script.status.success());
    let script = String::from_utf8(script.stdout).unwrap();
    assert!(
        script.contains(env!("CARGO_BIN_EXE_seance")),
        "run by its path, the script calls that path back:\n{script}"
    );
    let script_file = sb.root().join("seance.bash");
    fs::write(&script_file, &script).unwrap();
    // What bash does on `seance --talk 0<Tab>`: set COMP_* and call the function.
    let driver = format!(
        r#"source {}
COMP_WORDS=(seance --talk 0); COMP_CWORD=2; COMP_TYPE=9; COMP_LINE="seance --talk 0"; COMP_POINT=${{#COMP_LINE}}
_clap_complete_seance seance 0 --talk
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script_file.display()
    );
    // bash with seance's sandboxed environment.
    let template = with_other(&other, sb.std_cmd());
    let mut bash = Command::new("bash");
    for (k, v) in template.get_envs() {
        match v {
            Some(v) => bash.env(k, v),
            None => bash.env_remove(k),
        };
    }
    let out = bash
        .args(["--noprofile", "--norc", "-c", &driver])
        .current_dir(&sb.cwd)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(reply, [NEW, MID, OLD], "COMPREPLY, newest first");
}

#[test]
fn accounts_actors_and_rigs_complete() {
    let sb = Sandbox::new();
    let other = three_sessions(&sb);
    let offered = tab(&sb, Some(&other), &["--account", ""]);
    assert_eq!(values(&offered), [".claude", "other"]);
    assert!(offered[0].1.ends_with(", current"), "{offered:?}");
    assert_eq!(
        values(&tab(&sb, Some(&other), &["--account", "OT"])),
        ["other"]
    );

    let events = sb.root().join("events.jsonl");
    let start = |ts: &str, actor: &str, id: &str| {
        serde_json::json!({"ts": ts, "type": "session_start", "actor": actor,
            "payload": {"session_id": id, "role": actor}})
        .to_string()
    };
    let lines = [
        start("2026-11-01T10:00:00Z", "gastown/crew/joe", OLD),
        start("2026-11-03T10:00:00Z", "beads/polecats/p1", MID),
        start("2026-11-05T10:00:00Z", "gastown/crew/joe", NEW),
        start("2026-11-02T10:00:00Z", "mayor", "mayor-4242"),
        r#"{"ts":"2026-11-06T10:00:00Z","type":"mail","actor":"deacon","payload":{}}"#.into(),
    ];
    fs::write(&events, lines.join("\n") + "\n").unwrap();
    let ev = events.to_str().unwrap();
    let mut words = vec!["--events", ev, "--role", ""];
    // --events on the line is not seen by the completer; SEANCE_EVENTS is.
    let tab_ev = |words: &[&str]| {
        let out = with_other(&other, sb.std_cmd())
            .env("SEANCE_EVENTS", &events)
            .env("SEANCE_COMPLETE", "fish")
            .arg("--")
            .arg("seance")
            .args(words)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let roles = tab_ev(&words);
    let lines: Vec<&str> = roles.lines().collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l.split('\t').next().unwrap())
            .collect::<Vec<_>>(),
        ["gastown/crew/joe", "beads/polecats/p1", "mayor"],
        "actors, most recently started first:\n{roles}"
    );
    assert!(lines[0].contains("\t2 sessions"), "{roles}");
    words[2] = "--rig";
    let rigs = tab_ev(&words);
    let rigs: Vec<&str> = rigs
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(rigs, ["gastown", "beads"], "rigs: first segments only");
    // A line appended since is seen (the events cache reads only what is new).
    let newer = start("2026-11-07T10:00:00Z", "witness/crew/w", "w-1") + "\n";
    fs::OpenOptions::new()
        .append(true)
        .open(&events)
        .unwrap()
        .write_all(newer.as_bytes())
        .unwrap();
    let rigs = tab_ev(&words);
    let rigs: Vec<&str> = rigs
        .lines()
        .map(|l| l.split('\t').next().unwrap())
        .collect();
    assert_eq!(rigs, ["witness", "gastown", "beads"], "appended line seen");
}

#[test]
fn every_shell_gets_a_script() {
    let sb = Sandbox::new();
    for (shell, mark) in [
        ("bash", "complete -o nospace"),
        ("zsh", "compdef"),
        ("fish", "complete --keep-order"),
        ("elvish", "set edit:completion:arg-completer[seance]"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let (code, out, err) = sb.run(&["--completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        assert!(out.contains(mark), "{shell} script lacks {mark}:\n{out}");
        assert!(out.contains("SEANCE_COMPLETE"), "{shell}:\n{out}");
    }
    let (code, _, err) = sb.run(&["--completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is a usage error: {err}");
}

#[test]
fn man_page_documents_every_option_and_the_extra_sections() {
    let sb = Sandbox::new();
    let (code, page, err) = sb.run(&["--man"]);
    assert_eq!(code, 0, "{err}");
    for arg in seance::cli::Cli::command().get_arguments() {
        if let Some(long) = arg.get_long() {
            let roff = format!("\\-\\-{}", long.replace('-', "\\-"));
            assert!(page.contains(&roff), "--{long} is not in the man page");
        }
    }
    for needle in [
        ".SH ENVIRONMENT",
        "SEANCE_ACCOUNT_DIRS",
        "CLAUDE_CONFIG_DIR",
        "GT_ROOT",
        ".SH ACCOUNTS",
        "mayor/accounts.json",
        ".SH \"EXIT STATUS\"",
        "128+n",
        ".SH EXAMPLES",
    ] {
        assert!(page.contains(needle), "no {needle} in the man page");
    }
    // Where groff is installed, the page must format without a warning.
    if Path::new("/usr/bin/groff").exists() {
        let file = sb.root().join("seance.1");
        fs::write(&file, &page).unwrap();
        let out = Command::new("groff")
            .args(["-man", "-Tutf8", "-ww", "-z"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "groff warnings");
    }
}
