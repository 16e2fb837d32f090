//! Finding the predecessor (issue 13, and issue 12 item 11): the picker in a
//! pseudo-terminal, `--last`, names, and the filters choosing which copy of an id a
//! talk uses. A stand-in claude records its arguments and the links it sees.

mod list_support;
mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use list_support::*;
use support::pty::{Ended, Pty};

const SCREEN: Duration = Duration::from_secs(20);

const APPLES: &str = "a0a0a0a0-0000-4000-8000-000000000001";
const BANANAS: &str = "b0b0b0b0-0000-4000-8000-000000000002";
const CHERRIES: &str = "c0c0c0c0-0000-4000-8000-000000000003";

/// A sandbox with a stand-in claude: it writes `ARG=`, `CWD=` and, for every link in
/// the current account's project folders, `LINK=<target>` lines to `runs/<pid>`, then
/// prints `ANSWER`.
struct Finder {
    sb: Sandbox,
    claude: PathBuf,
    runs: PathBuf,
}

impl Finder {
    fn new() -> Finder {
        let sb = Sandbox::new();
        let runs = sb.root().join("runs");
        fs::create_dir_all(&runs).unwrap();
        let claude = sb.root().join("claude-standin");
        fs::write(
            &claude,
            format!(
                r#"#!/bin/sh
LOG="{runs}/$$"
{{
  for a in "$@"; do printf 'ARG=%s\n' "$a"; done
  echo "CWD=$(pwd -P)"
  for f in "$CLAUDE_CONFIG_DIR"/projects/*/*.jsonl; do
    [ -L "$f" ] && echo "LINK=$(readlink "$f")"
  done
}} > "$LOG"
echo ANSWER
"#,
                runs = runs.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&claude, fs::Permissions::from_mode(0o755)).unwrap();
        Finder { sb, claude, runs }
    }

    /// `seance` with the sandbox's environment and the stand-in claude.
    fn cmd(&self) -> std::process::Command {
        let mut c = self.sb.std_cmd();
        c.env("SEANCE_CLAUDE", &self.claude);
        c
    }

    /// Runs `seance <args>` with no controlling terminal; returns (code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let mut c = self.cmd();
        c.args(args);
        detach(&mut c);
        let out = c.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Every stand-in run so far, as `(key, value)` lines.
    fn runs(&self) -> Vec<Vec<(String, String)>> {
        let mut files: Vec<PathBuf> = fs::read_dir(&self.runs)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect()
    }

    /// The session id the only run so far resumed, and the links it saw.
    fn resumed(&self) -> (String, Vec<String>) {
        let runs = self.runs();
        assert_eq!(runs.len(), 1, "{runs:?}");
        let args: Vec<&str> = values(&runs[0], "ARG");
        let at = args
            .iter()
            .position(|a| *a == "--resume")
            .expect("--resume");
        (
            args[at + 1].to_owned(),
            values(&runs[0], "LINK")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Links left in the current account's project folders.
    fn links(&self) -> Vec<PathBuf> {
        walkdir::WalkDir::new(self.sb.current.join("projects"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.path_is_symlink())
            .map(|e| e.path().to_owned())
            .collect()
    }

    /// A fork of `parent` in `account`: it starts with a record naming its parent, as
    /// Claude Code's `forkedFrom` does, then `extra` lines.
    fn fork(&self, account: &Path, id: &str, parent: &str, at: &str, extra: &[String]) -> PathBuf {
        let head = serde_json::json!({"type":"user","cwd":"/nowhere/w","timestamp":at,
            "forkedFrom":{"sessionId":parent},"message":{"role":"user","content":"and then?"}});
        let mut text = format!("{head}\n");
        for l in extra {
            text.push_str(l);
            text.push('\n');
        }
        transcript(account, "-w", id, text)
    }

    /// A session in `account` in folder `-w`, started and last active at `at`, with
    /// `extra` lines (title records) appended before it is dated.
    fn session(
        &self,
        account: &Path,
        id: &str,
        at: &str,
        prompt: &str,
        extra: &[String],
    ) -> PathBuf {
        let mut text = convo("/nowhere/w", at, at, prompt);
        for l in extra {
            text.push_str(l);
            text.push('\n');
        }
        transcript(account, "-w", id, text)
    }
}

fn values<'a>(run: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    run.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn custom_title(t: &str) -> String {
    serde_json::json!({"type":"custom-title","customTitle":t}).to_string()
}

fn agent_name(n: &str) -> String {
    serde_json::json!({"type":"agent-name","agentName":n}).to_string()
}

/// Starts the child in a new session, without a controlling terminal, so `/dev/tty`
/// cannot be opened whatever terminal the test runner has.
fn detach(c: &mut std::process::Command) {
    // SAFETY: setsid is async-signal-safe and touches no memory of the parent.
    unsafe {
        c.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}

/// Three sessions of the current account: apples (oldest), bananas, cherries (newest).
fn fruit() -> Finder {
    let f = Finder::new();
    let cur = f.sb.current.clone();
    f.session(
        &cur,
        APPLES,
        "2026-03-01T00:00:00Z",
        "apples in the orchard",
        &[],
    );
    f.session(
        &cur,
        BANANAS,
        "2026-03-02T00:00:00Z",
        "bananas on the boat",
        &[],
    );
    f.session(
        &cur,
        CHERRIES,
        "2026-03-03T00:00:00Z",
        "cherries for the pie",
        &[],
    );
    f
}

// ---- The picker ----

#[test]
fn picker_typing_a_unique_word_and_enter_talks_to_that_session() {
    let f = fruit();
    let mut c = f.cmd();
    c.args(["--talk", "-p", "what was it?"]);
    let mut pty = Pty::spawn(c);
    // The first frame lists the three, newest first, and the count.
    pty.expect_screen("3/3", SCREEN);
    pty.expect_screen("cherries for the pie", SCREEN);
    for ch in "bananas".chars() {
        pty.send(&ch.to_string());
    }
    // The query echoed and the list re-ranked are one frame.
    pty.expect_screen("> bananas", SCREEN);
    pty.send("\r");
    assert_eq!(pty.wait(SCREEN), Ended::Code(0), "{}", pty.text());
    let (id, links) = f.resumed();
    assert_eq!(id, BANANAS);
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(pty.text().contains("ANSWER"), "{}", pty.text());
    assert!(f.links().is_empty(), "the link is undone");
}

#[test]
fn picker_moves_with_keys_and_answers_to_a_redirected_stdout() {
    let f = fruit();
    let out = f.sb.root().join("answer.txt");
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(r#""$SEANCE" --talk -p 'where?' > "$OUT"; exit $?"#)
        .env("SEANCE", assert_cmd::cargo::cargo_bin("seance"))
        .env("OUT", &out);
    let seance = f.cmd();
    for (k, v) in seance.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    c.current_dir(seance.get_current_dir().unwrap());
    let mut pty = Pty::spawn(c);
    pty.expect_screen("3/3", SCREEN);
    // Down twice from cherries: apples; Ctrl-P back up: bananas; End: apples; Home:
    // cherries; Ctrl-N: bananas.
    for key in ["\x1b[B", "\x1b[B", "\x10", "\x1b[F", "\x1b[H", "\x0e"] {
        pty.send(key);
        pty.settle(Duration::from_millis(150));
    }
    pty.send("\r");
    assert_eq!(pty.wait(SCREEN), Ended::Code(0), "{}", pty.text());
    assert_eq!(f.resumed().0, BANANAS);
    assert_eq!(fs::read_to_string(&out).unwrap(), "ANSWER\n");
    assert!(!pty.text().contains("ANSWER"), "stdout went to the file");
}

#[test]
fn picker_esc_and_ctrl_c_leave_with_130_and_link_nothing() {
    let f = fruit();
    for key in ["\x1b", "\x03"] {
        let mut c = f.cmd();
        c.args(["--talk"]);
        let mut pty = Pty::spawn(c);
        pty.expect_screen("3/3", SCREEN);
        pty.send("ban");
        pty.expect_screen("> ban", SCREEN);
        pty.send(key);
        assert_eq!(
            pty.wait(SCREEN),
            Ended::Code(130),
            "{key:?}: {}",
            pty.text()
        );
        assert_restored(&pty.raw());
    }
    assert!(f.runs().is_empty(), "claude never ran");
    assert!(f.links().is_empty());
}

#[test]
fn picker_gives_the_terminal_back_on_sigterm() {
    let f = fruit();
    let mut c = std::process::Command::new("sh");
    // After seance: is the terminal cooked again (icanon, echo)?
    c.arg("-c")
        .arg(r#""$SEANCE" --talk; echo "STATUS=$?"; stty -a"#)
        .env("SEANCE", assert_cmd::cargo::cargo_bin("seance"));
    let seance = f.cmd();
    for (k, v) in seance.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let mut pty = Pty::spawn(c);
    pty.expect_screen("3/3", SCREEN);
    let seance_pid = support::procs::only_child(pty.pid(), SCREEN);
    support::procs::signal(seance_pid, libc::SIGTERM);
    pty.expect("STATUS=143", SCREEN);
    assert_eq!(pty.wait(SCREEN), Ended::Code(0));
    let text = pty.text();
    let stty = &text[text.find("STATUS=143").unwrap()..];
    assert!(stty.contains(" icanon") && stty.contains(" echo"), "{stty}");
    assert!(!stty.contains("-icanon"), "{stty}");
    assert_restored(&pty.raw());
    assert!(f.runs().is_empty());
}

#[test]
fn picker_gives_the_terminal_back_on_panic() {
    let f = fruit();
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(r#""$SEANCE" --talk; echo "STATUS=$?"; stty -a"#)
        .env("SEANCE", assert_cmd::cargo::cargo_bin("seance"));
    let seance = f.cmd();
    for (k, v) in seance.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.env("SEANCE_TEST_FAULT", "picker-panic");
    let mut pty = Pty::spawn(c);
    pty.expect("STATUS=101", SCREEN);
    assert_eq!(pty.wait(SCREEN), Ended::Code(0));
    let text = pty.text();
    assert!(text.contains("test fault: picker-panic"), "{text}");
    let stty = &text[text.find("STATUS=101").unwrap()..];
    assert!(stty.contains(" icanon") && stty.contains(" echo"), "{stty}");
    assert!(!stty.contains("-icanon"), "{stty}");
    // The message was printed after the main screen came back, so it can be read.
    let raw = String::from_utf8_lossy(&pty.raw()).into_owned();
    let left = raw.find("\x1b[?1049l").expect("alternate screen left");
    assert!(raw[left..].contains("picker-panic"), "{raw:?}");
    assert!(f.runs().is_empty());
}

/// The alternate screen was left and the cursor shown after the picker drew.
fn assert_restored(raw: &[u8]) {
    let raw = String::from_utf8_lossy(raw);
    let entered = raw.rfind("\x1b[?1049h").expect("alternate screen entered");
    let left = raw.rfind("\x1b[?1049l").expect("alternate screen left");
    assert!(left > entered, "left before entering?");
    assert!(raw[entered..].contains("\x1b[?25h"), "cursor shown again");
}

#[test]
fn picker_shows_only_what_the_filters_select() {
    let f = fruit();
    let other = account(&f.sb.home.join(".claude-other"));
    f.session(
        &other,
        "d0d0d0d0-0000-4000-8000-000000000004",
        "2026-03-04T00:00:00Z",
        "dates in the desert",
        &[],
    );
    let mut c = f.cmd();
    c.args(["--talk", "--account", ".claude-other", "-p", "q"]);
    let mut pty = Pty::spawn(c);
    pty.expect_screen("1/1", SCREEN);
    pty.expect_screen("dates in the desert", SCREEN);
    pty.send("\x1b");
    assert_eq!(pty.wait(SCREEN), Ended::Code(130));
    // -n limits the picker only when given.
    let mut c = f.cmd();
    c.args(["--talk", "-n", "2"]);
    let mut pty = Pty::spawn(c);
    pty.expect_screen("2/2", SCREEN);
    pty.send("\x1b");
    assert_eq!(pty.wait(SCREEN), Ended::Code(130));
}

#[test]
fn picker_reconciles_the_cached_rows_with_the_walk() {
    let f = fruit();
    // A listing fills the cache; then one session goes and another comes.
    let (code, _, _) = f.run(&["-n", "0"]);
    assert_eq!(code, 0);
    fs::remove_file(f.sb.current.join(format!("projects/-w/{APPLES}.jsonl"))).unwrap();
    let cur = f.sb.current.clone();
    f.session(
        &cur,
        "e0e0e0e0-0000-4000-8000-000000000005",
        "2026-03-05T00:00:00Z",
        "elderberries at dusk",
        &[],
    );
    let mut c = f.cmd();
    c.args(["--talk"]);
    let mut pty = Pty::spawn(c);
    // The walk's rows: the new session is there...
    pty.expect_screen("elderberries at dusk", SCREEN);
    // ...and the first frame, drawn from the cache before the walk began, had the
    // session whose file was already gone.
    assert!(
        support::pty::squash(&pty.text()).contains("applesintheorchard"),
        "{}",
        pty.text()
    );
    pty.send("orchard");
    pty.expect_screen("Nothing matches", SCREEN);
    pty.send("\x1b");
    assert_eq!(pty.wait(SCREEN), Ended::Code(130));
}

#[test]
fn talk_without_an_id_and_without_a_terminal_is_a_usage_error() {
    let f = fruit();
    let (code, out, err) = f.run(&["--talk", "-p", "q"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no terminal"), "{err}");
    assert!(err.contains("--talk <ID or name>"), "{err}");
    assert!(out.is_empty());
    assert!(f.runs().is_empty());
}

// ---- Names ----

#[test]
fn names_match_custom_titles_and_agent_names_exactly_in_any_case() {
    let f = Finder::new();
    let cur = f.sb.current.clone();
    let lantern = "11110000-0000-4000-8000-000000000001";
    let mapper = "22220000-0000-4000-8000-000000000002";
    let twin_a = "33330000-0000-4000-8000-000000000003";
    let twin_b = "44440000-0000-4000-8000-000000000004";
    let cafe = "55550000-0000-4000-8000-000000000005";
    f.session(
        &cur,
        lantern,
        "2026-03-01T00:00:00Z",
        "where is the lantern",
        &[custom_title("Lantern notes"), agent_name("Lantern notes")],
    );
    f.session(
        &cur,
        mapper,
        "2026-03-02T00:00:00Z",
        "draw the map",
        &[agent_name("Mapper")],
    );
    f.session(
        &cur,
        twin_a,
        "2026-03-03T00:00:00Z",
        "one",
        &[custom_title("Twin")],
    );
    f.session(
        &cur,
        twin_b,
        "2026-03-04T00:00:00Z",
        "two",
        &[custom_title("twin")],
    );
    f.session(
        &cur,
        cafe,
        "2026-03-05T00:00:00Z",
        "coffee",
        &[custom_title("cafe")],
    );
    let talk = |name: &str| {
        let (code, _, err) = f.run(&["--talk", name, "-p", "q"]);
        let runs = f.runs();
        for r in fs::read_dir(&f.runs).unwrap() {
            fs::remove_file(r.unwrap().path()).unwrap();
        }
        let resumed = runs.first().map(|r| {
            let args = values(r, "ARG");
            args[args.iter().position(|a| *a == "--resume").unwrap() + 1].to_owned()
        });
        (code, resumed, err)
    };
    assert_eq!(talk("lantern NOTES").1.as_deref(), Some(lantern));
    assert_eq!(talk("  Lantern notes ").1.as_deref(), Some(lantern));
    assert_eq!(talk("mapper").1.as_deref(), Some(mapper));
    // Text that looks like an id but names no id is tried as a name.
    assert_eq!(talk("cafe").1.as_deref(), Some(cafe));
    // Two of one name: the ambiguity error lists both, nothing runs.
    let (code, resumed, err) = talk("TWIN");
    assert_eq!((code, resumed), (1, None), "{err}");
    assert!(
        err.contains("ambiguous") && err.contains(twin_a) && err.contains(twin_b),
        "{err}"
    );
    // A part of a name is no name.
    let (code, resumed, err) = talk("Lantern");
    assert_eq!((code, resumed), (1, None), "{err}");
    assert!(err.contains("no session is named 'Lantern'"), "{err}");
}

#[test]
fn a_fork_that_copied_its_parents_name_does_not_make_it_ambiguous() {
    let f = Finder::new();
    let cur = f.sb.current.clone();
    let parent = "11110000-0000-4000-8000-000000000001";
    let fork = "22220000-0000-4000-8000-000000000002";
    f.session(
        &cur,
        parent,
        "2026-03-01T00:00:00Z",
        "the lantern",
        &[custom_title("Lantern notes")],
    );
    f.fork(
        &cur,
        fork,
        parent,
        "2026-03-02T00:00:00Z",
        &[custom_title("Lantern notes")],
    );
    let (code, _, err) = f.run(&["--talk", "Lantern notes", "-p", "q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f.resumed().0, parent);
}

// ---- Filters choose the copy (issue 12, item 11) ----

#[test]
fn account_filter_chooses_the_copy_for_the_listing_and_the_talk() {
    let f = Finder::new();
    let id = "46621448-3caa-4bbb-8ccc-123456789abc";
    let mut files = Vec::new();
    for (name, at) in [
        ("a", "2026-03-03T00:00:00Z"),
        ("b", "2026-03-01T00:00:00Z"),
        ("c", "2026-03-02T00:00:00Z"),
    ] {
        let acct = account(&f.sb.home.join(format!(".claude-{name}")));
        files.push(f.session(&acct, id, at, &format!("copy in {name}"), &[]));
    }
    let rows = f.sb.json(&[]);
    assert_eq!(rows.len(), 1, "one row per id");
    assert_eq!(rows[0]["account"], ".claude-a", "the newest copy");
    assert_eq!(rows[0]["copies"], 3);
    let rows = f.sb.json(&["--account", ".claude-c"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["account"], ".claude-c");
    assert_eq!(rows[0]["first_prompt"], "copy in c");
    // The talk uses the copy the filter chose, by full id and by prefix.
    for arg in [id, &id[..8]] {
        for r in fs::read_dir(&f.runs).unwrap() {
            fs::remove_file(r.unwrap().path()).unwrap();
        }
        let (code, _, err) = f.run(&["--account", ".claude-c", "--talk", arg, "-p", "q"]);
        assert_eq!(code, 0, "{err}");
        let (resumed, links) = f.resumed();
        assert_eq!(resumed, id);
        assert_eq!(links, [files[2].to_str().unwrap()], "{err}");
        assert!(err.contains("(account .claude-c)"), "{err}");
    }
    // Without the filter: the newest copy.
    for r in fs::read_dir(&f.runs).unwrap() {
        fs::remove_file(r.unwrap().path()).unwrap();
    }
    let (code, _, err) = f.run(&["--talk", id, "-p", "q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f.resumed().1, [files[0].to_str().unwrap()]);
    // A filter that excludes every copy: not found, saying which filters applied.
    let (code, _, err) = f.run(&["--project", "elsewhere", "--talk", id, "-p", "q"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--project elsewhere"), "{err}");
}

// ---- --last ----

#[test]
fn last_talks_to_the_newest_predecessor_skipping_forks() {
    let f = fruit();
    let cur = f.sb.current.clone();
    // The newest of all is a fork (an earlier talk's): skipped.
    f.fork(
        &cur,
        "f0f0f0f0-0000-4000-8000-000000000006",
        CHERRIES,
        "2026-03-09T00:00:00Z",
        &[],
    );
    let (code, out, err) = f.run(&["--last", "-p", "q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "ANSWER\n");
    assert_eq!(f.resumed().0, CHERRIES);
    let chose: Vec<&str> = err.lines().filter(|l| l.contains("--last chose")).collect();
    assert_eq!(chose.len(), 1, "{err}");
    // Only the fork matches: nothing to talk to, and the message says why.
    let (code, _, err) = f.run(&["--last", "--grep", "and then", "-p", "q"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("1 are forks"), "{err}");
    assert!(err.contains("--grep and then"), "{err}");
    assert!(
        chose[0].contains(CHERRIES)
            && chose[0].contains(".claude")
            && chose[0].contains("cherries for the pie"),
        "{err}"
    );
}

#[test]
fn last_obeys_the_filters_and_says_where_it_looked_when_nothing_matches() {
    let f = fruit();
    let (code, _, err) = f.run(&["--last", "--grep", "apples", "-p", "q"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(f.resumed().0, APPLES);
    let (code, out, err) = f.run(&["--last", "--grep", "kumquat", "-p", "q"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("--grep kumquat"), "{err}");
    assert!(err.contains(f.sb.current.to_str().unwrap()), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(f.runs().len(), 1, "nothing ran the second time");
}

#[test]
fn last_skips_the_session_it_runs_inside() {
    let f = fruit();
    // A "claude" registered in the current account runs seance: its session is cherries.
    let sessions = f.sb.current.join("sessions");
    fs::create_dir_all(&sessions).unwrap();
    let mut c = std::process::Command::new("sh");
    c.arg("-c")
        .arg(format!(
            r#"printf '{{"pid":%d,"sessionId":"{CHERRIES}","cwd":"/w"}}' $$ > "$REG/$$.json"; "$SEANCE" --last -p q; exit $?"#
        ))
        .env("REG", &sessions)
        .env("SEANCE", assert_cmd::cargo::cargo_bin("seance"));
    let seance = f.cmd();
    for (k, v) in seance.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    c.current_dir(seance.get_current_dir().unwrap());
    detach(&mut c);
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert_eq!(f.resumed().0, BANANAS, "{err}");
}

#[test]
fn help_names_the_picker_last_names_sort_and_130() {
    let f = Finder::new();
    let (code, out, _) = f.run(&["--help"]);
    assert_eq!(code, 0);
    for word in [
        "--last",
        "--sort",
        "pick",
        "Lantern notes",
        "130",
        "newest activity first",
    ] {
        assert!(out.contains(word), "{word} missing from --help:\n{out}");
    }
}
