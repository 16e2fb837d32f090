//! What a talk says on stderr, pinned line for line: by default, with `-v` and with
//! `-q`, for a one-shot talk and for an interactive one on a pseudo-terminal (issue 17);
//! the fork id and `--ephemeral` (issue 11 §3), the prompt after a lone `--` (issue 12
//! item 9), a closed stderr (item 15), a deleted current directory (item 14) and session
//! directories seance may not look at or enter (item 16). claude is a stand-in script.

mod talk_support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use talk_support::*;

/// A stand-in snippet that does what claude does with `--session-id U`: it writes the
/// fork `U.jsonl` into the project folder it resumed from (where seance's link is).
const WRITE_FORK: &str = r#"prev=; for a in "$@"; do [ "$prev" = --session-id ] && SID=$a; prev=$a; done
for f in "$PROJECTS"/*/"$ID.jsonl"; do
  [ -L "$f" ] && [ -n "$SID" ] && echo '{"type":"user"}' > "$(dirname "$f")/$SID.jsonl"
done"#;

/// The world's seance with `HOME` at the world's root, so paths show as `~/...`.
fn seance(w: &World, claude: &Path) -> Command {
    let mut cmd = seance_bin(w, claude);
    cmd.env("HOME", &w.root);
    cmd
}

/// The stderr lines of `out`, after checking it exited with `code`.
fn lines(out: &Output, code: i32) -> Vec<String> {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    stderr.lines().map(str::to_owned).collect()
}

/// The value after `--session-id` in the stand-in's argv.
fn fork_arg(w: &World) -> String {
    let runs = w.runs();
    let args = values(&runs[0], "ARG");
    let at = args
        .iter()
        .position(|a| *a == "--session-id")
        .expect("--session-id");
    args[at + 1].to_owned()
}

fn one_shot(w: &World, flags: &[&str]) -> (Output, String) {
    let claude = w.standin(&Standin {
        during: WRITE_FORK.into(),
        ..Default::default()
    });
    let out = seance(w, &claude)
        .args(["--talk", &ID[..8], "-p", "where is it?"])
        .args(flags)
        .output()
        .unwrap();
    let fork = fork_arg(w);
    (out, fork)
}

const START: &str = r#"seance: talking to 46621448 "canary hunt" (account acct-a) in ~/proj"#;

fn continues(fork: &str) -> [String; 2] {
    [
        format!("seance: the conversation went on as {fork} in account acct-b"),
        format!("seance: resume it: cd ~/proj && claude --resume {fork}"),
    ]
}

#[test]
fn one_shot_default_says_which_session_where_and_where_it_went_on() {
    let w = World::new("proj");
    let (out, fork) = one_shot(&w, &[]);
    assert_eq!(
        text(&out.stdout),
        "ANSWER-FROM-CLAUDE\n",
        "stdout is the answer alone"
    );
    let [c1, c2] = continues(&fork);
    assert_eq!(lines(&out, 0), [START.to_owned(), c1, c2]);
    // The fork the stand-in wrote is where the message says, and nothing else is left.
    let fork_file = w.target_folder(&w.proj).join(format!("{fork}.jsonl"));
    assert!(fork_file.is_file());
    assert_eq!(w.target_jsonl(), [fork_file]);
}

#[test]
fn one_shot_verbose_adds_the_mechanics() {
    let w = World::new("proj");
    let (out, fork) = one_shot(&w, &["-v"]);
    let folder = format!(
        "~/acct-b/projects/{}",
        reference_folder_name(w.proj.to_str().unwrap())
    );
    let link = format!("{folder}/{ID}.jsonl");
    let source = w
        .source
        .to_str()
        .unwrap()
        .replace(w.root.to_str().unwrap(), "~");
    let [c1, c2] = continues(&fork);
    assert_eq!(
        lines(&out, 0),
        [
            START.to_owned(),
            format!("seance: linked {link}"),
            format!("seance:     -> {source}"),
            format!("seance: added the session to {folder}/sessions-index.json"),
            format!("seance: undone: index file {folder}/sessions-index.json"),
            format!("seance: undone: link {link}"),
            c1,
            c2,
        ]
    );
}

#[test]
fn one_shot_quiet_says_nothing_but_errors() {
    let w = World::new("proj");
    let (out, _) = one_shot(&w, &["-q"]);
    assert_eq!(text(&out.stdout), "ANSWER-FROM-CLAUDE\n");
    assert!(lines(&out, 0).is_empty());
    let claude = w.standin(&Standin::default());
    let out = seance(&w, &claude)
        .args(["--talk", "ffffffff", "-p", "q", "-q"])
        .output()
        .unwrap();
    let err = lines(&out, 1);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].starts_with("seance: no session matches 'ffffffff'"),
        "{err:?}"
    );
    let out = seance(&w, &claude).args(["-q", "-v"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "-q and -v conflict");
}

#[test]
fn a_prompt_starting_with_a_dash_follows_a_lone_double_dash() {
    let w = World::new("proj");
    let claude = w.standin(&Standin::default());
    let out = seance(&w, &claude)
        .args([
            "--talk",
            ID,
            "--prompt=-v: what changed?",
            "--",
            "--model",
            "m",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let runs = w.runs();
    let args = values(&runs[0], "ARG");
    assert_eq!(
        args[args.len() - 5..],
        ["--model", "m", "-p", "--", "-v: what changed?"]
    );
}

#[test]
fn ephemeral_keeps_nothing_and_needs_a_prompt() {
    let w = World::new("proj");
    let claude = w.standin(&Standin {
        during: WRITE_FORK.into(),
        ..Default::default()
    });
    let out = seance(&w, &claude)
        .args(["--talk", ID, "-p", "q", "--ephemeral"])
        .output()
        .unwrap();
    assert_eq!(
        lines(&out, 0),
        [
            START.to_owned(),
            "seance: nothing was kept (--ephemeral): no fork of the session was saved".into()
        ]
    );
    let runs = w.runs();
    let args = values(&runs[0], "ARG");
    assert!(args.contains(&"--no-session-persistence"), "{args:?}");
    assert!(!args.contains(&"--session-id"), "{args:?}");
    assert!(
        w.target_jsonl().is_empty(),
        "the stand-in wrote no fork without an id"
    );
    for args in [&["--talk", ID, "--ephemeral"][..], &["--ephemeral"][..]] {
        let out = seance(&w, &claude).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn the_users_own_session_id_names_the_fork() {
    let w = World::new("proj");
    let claude = w.standin(&Standin {
        during: WRITE_FORK.into(),
        ..Default::default()
    });
    let mine = "11111111-2222-4333-8444-555555555555";
    let out = seance(&w, &claude)
        .args(["--talk", ID, "-p", "q", "--", "--session-id", mine])
        .output()
        .unwrap();
    let runs = w.runs();
    let args = values(&runs[0], "ARG");
    assert_eq!(
        args.iter().filter(|a| **a == "--session-id").count(),
        1,
        "{args:?}"
    );
    let [c1, c2] = continues(mine);
    assert_eq!(lines(&out, 0), [START.to_owned(), c1, c2]);
}

#[test]
fn no_fork_written_means_nothing_kept() {
    let w = World::new("proj");
    let claude = w.standin(&Standin {
        exit: 3,
        ..Default::default()
    });
    let out = seance(&w, &claude)
        .args(["--talk", ID, "-p", "q"])
        .output()
        .unwrap();
    assert_eq!(
        lines(&out, 3),
        [
            START.to_owned(),
            "seance: nothing was kept: claude saved no fork of the session".into()
        ]
    );
}

/// Runs `cmd` on a pseudo-terminal; returns its exit code and the screen's lines.
fn on_pty(cmd: Command) -> Option<(i32, Vec<String>)> {
    let Some((mut child, master)) = spawn_in_pty(cmd) else {
        eprintln!("skipped: no pseudo-terminal available");
        return None;
    };
    let drain = drain(&master);
    let status = child.wait().unwrap();
    drop(master);
    let screen = text(&drain.join().unwrap());
    let lines = screen
        .lines()
        .map(|l| l.trim_end_matches('\r').to_owned())
        .collect();
    Some((status.code().expect("exited"), lines))
}

/// Writes account b's `.claude.json` trusting `dir` (with an unrelated big field, as
/// real ones have).
fn trust(w: &World, dir: &Path) {
    let doc = serde_json::json!({
        "numStartups": 3,
        "projects": {
            "/elsewhere": {"hasTrustDialogAccepted": true},
            dir.to_str().unwrap(): {"hasTrustDialogAccepted": true, "history": ["x".repeat(100_000)]},
        }
    });
    fs::write(w.b.join(".claude.json"), doc.to_string()).unwrap();
}

#[test]
fn interactive_on_a_pty_default_verbose_and_quiet() {
    let w = World::new("proj");
    trust(&w, &w.root);
    let claude = w.standin(&Standin {
        during: WRITE_FORK.into(),
        ..Default::default()
    });
    let run = |flags: &[&str]| {
        let mut cmd = seance(&w, &claude);
        cmd.args(["--talk", &ID[..8]]).args(flags);
        on_pty(cmd)
    };
    let Some((code, screen)) = run(&[]) else {
        return;
    };
    assert_eq!(code, 0, "{screen:?}");
    let fork = fork_arg(&w);
    let [c1, c2] = continues(&fork);
    assert_eq!(
        screen,
        [START.to_owned(), "ANSWER-FROM-CLAUDE".into(), c1, c2]
    );

    let Some((code, screen)) = run(&["-q"]) else {
        return;
    };
    assert_eq!((code, screen), (0, vec!["ANSWER-FROM-CLAUDE".to_owned()]));

    let Some((code, screen)) = run(&["-v"]) else {
        return;
    };
    assert_eq!(code, 0, "{screen:?}");
    assert_eq!(screen.len(), 9, "{screen:#?}");
    assert_eq!(screen[0], START);
    assert!(
        screen[1].starts_with("seance: linked ~/acct-b/projects/"),
        "{screen:#?}"
    );
    assert!(screen[4] == "ANSWER-FROM-CLAUDE", "{screen:#?}");
    assert!(
        screen[6].starts_with("seance: undone: link ~/acct-b/"),
        "{screen:#?}"
    );
    assert!(
        screen[7].starts_with("seance: the conversation went on as "),
        "{screen:#?}"
    );
}

#[test]
fn interactive_untrusted_dir_is_announced_and_a_refusal_explained() {
    let w = World::new("proj");
    trust(&w, Path::new("/somewhere/else"));
    // claude refusing the folder: exits 1 having written nothing.
    let claude = w.standin(&Standin {
        exit: 1,
        stdout: "Claude Code didn't start because this folder isn't trusted.".into(),
        ..Default::default()
    });
    let mut cmd = seance(&w, &claude);
    cmd.args(["--talk", ID]);
    let Some((code, screen)) = on_pty(cmd) else {
        return;
    };
    assert_eq!(code, 1, "claude's status: {screen:?}");
    assert_eq!(
        screen,
        [
            START,
            "seance: claude will ask whether you trust ~/proj: answer Yes to resume there",
            "seance: (or No, then run seance again with --here to resume in the current directory)",
            "Claude Code didn't start because this folder isn't trusted.",
            "seance: claude did not start: this account does not trust ~/proj",
            "seance: run seance again and answer Yes, or add --here to resume in the current directory",
        ]
    );
    // With -q only the explanation of the failure remains.
    let mut cmd = seance(&w, &claude);
    cmd.args(["--talk", ID, "-q"]);
    let Some((code, screen)) = on_pty(cmd) else {
        return;
    };
    assert_eq!(code, 1);
    assert_eq!(screen.len(), 3, "{screen:#?}");
    assert!(
        screen[1].starts_with("seance: claude did not start"),
        "{screen:#?}"
    );
}

#[test]
fn a_closed_stderr_changes_nothing() {
    let w = World::new("proj");
    let claude = w.standin(&Standin {
        during: WRITE_FORK.into(),
        ..Default::default()
    });
    let closed = |cmd: &mut Command| {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        cmd.stderr(Stdio::from(writer)).output().unwrap()
    };
    let out = closed(seance(&w, &claude).args(["--talk", ID, "-p", "q", "-v"]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "ANSWER-FROM-CLAUDE\n");
    let out = closed(seance(&w, &claude).args(["--talk", "ffffffff", "-p", "q"]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "a runtime error stays 1, not a panic's 101"
    );
    // A listing with warnings to give (a corrupt transcript).
    fs::write(
        w.source_folder
            .join("00000000-0000-4000-8000-000000000000.jsonl"),
        "{",
    )
    .unwrap();
    let out = closed(seance(&w, &claude).args(["-v"]));
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("canary hunt"));
}

/// `sh -c 'cd <dir> && rmdir <dir> && exec seance ...'`: seance started in a directory
/// that no longer exists.
fn in_deleted_dir(w: &World, claude: &Path, args: &[&str]) -> Output {
    let gone = w.root.join("removed-worktree");
    fs::create_dir_all(&gone).unwrap();
    let seance_cmd = seance(w, claude);
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"cd "$1" && rmdir "$1" && shift && exec "$@""#)
        .arg("sh")
        .arg(&gone)
        .arg(seance_cmd.get_program())
        .args(args)
        .env_clear()
        .envs(seance_cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(Stdio::null());
    cmd.output().unwrap()
}

#[test]
fn a_deleted_current_directory_breaks_only_here() {
    let w = World::new("proj");
    let claude = w.standin(&Standin::default());
    let out = in_deleted_dir(&w, &claude, &["--json", "-n", "0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(ID));
    let out = in_deleted_dir(&w, &claude, &["--reap"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = in_deleted_dir(&w, &claude, &["--talk", ID, "-p", "q"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ANSWER-FROM-CLAUDE\n");
    assert_eq!(values(&w.runs()[0], "CWD"), [w.proj.to_str().unwrap()]);
    let out = in_deleted_dir(&w, &claude, &["--talk", ID, "-p", "q", "--here"]);
    let err = lines(&out, 1);
    assert_eq!(err.len(), 1, "{err:?}");
    assert!(
        err[0].starts_with("seance: --here needs the current directory, which cannot be read"),
        "{err:?}"
    );
    assert_eq!(w.runs().len(), 1, "claude did not run");
    assert!(w.target_jsonl().is_empty());
}

/// Runs `cmd` as an unprivileged user when the tests run as root (root may enter any
/// directory), making the world theirs first.
fn unprivileged(w: &World, cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    const NOBODY: u32 = 65534;
    for e in walkdir::WalkDir::new(&w.root) {
        let p = e.unwrap().into_path();
        std::os::unix::fs::lchown(&p, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    fs::set_permissions(&w.root, fs::Permissions::from_mode(0o755)).unwrap();
    cmd.uid(NOBODY).gid(NOBODY);
}

#[test]
fn a_session_directory_seance_may_not_look_at_or_enter_is_named() {
    let w = World::new("locked/proj");
    let claude = w.standin(&Standin::default());
    let locked = w.root.join("locked");
    let talk = |w: &World| {
        let mut cmd = seance(w, &claude);
        cmd.args(["--talk", ID, "-p", "q"]);
        unprivileged(w, &mut cmd);
        cmd.output().unwrap()
    };
    let say = |out: &Output| text(&out.stderr);

    // May stat the directory but not enter it.
    fs::set_permissions(&w.proj, fs::Permissions::from_mode(0o600)).unwrap();
    let out = talk(&w);
    let err = lines(&out, 1);
    assert_eq!(err.len(), 1, "{err:?}");
    assert_eq!(
        err[0],
        "seance: cannot enter the session's directory ~/locked/proj: Permission denied \
         (os error 13); claude must run there (add --here to resume in the current directory \
         instead)"
    );
    assert!(!say(&out).contains("starting"), "{}", say(&out));

    // May not even look at it: a directory above it is not searchable.
    fs::set_permissions(&w.proj, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o600)).unwrap();
    let out = talk(&w);
    let err = lines(&out, 1);
    assert!(
        err[err.len() - 1].starts_with(
            "seance: cannot tell whether the session's directory ~/locked/proj exists"
        ),
        "{err:?}"
    );
    assert!(!say(&out).contains("no longer exists"), "{}", say(&out));
    assert!(w.runs().is_empty(), "claude never ran");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Issue 12 item 13: text from files (a transcript's `cwd`, an account's name) reaches
/// stderr neutralised, in the talk's lines, "looked in", "known:" and the ambiguity list:
/// no escape sequence, and no line that is not seance's own.
#[test]
fn text_from_files_reaches_stderr_neutralised() {
    let w = World::new("proj");
    let hostile = w.root.join("x\x1b]52;c;QUJD\x07\nseance: fake line\x1b[2J");
    fs::create_dir_all(&hostile).unwrap();
    let cwd_json = serde_json::to_string(hostile.to_str().unwrap()).unwrap();
    fs::set_permissions(&w.source, fs::Permissions::from_mode(0o644)).unwrap();
    fs::write(
        &w.source,
        fixture(
            "transcript.jsonl",
            &[("ID", ID), ("CWD", &cwd_json[1..cwd_json.len() - 1])],
        ),
    )
    .unwrap();
    // A second account whose name (its directory's) is hostile, holding a session whose
    // id shares the first 8 characters with ID.
    let evil = w.root.join("evil\x1b]0;pwned\x07\nseance: fake account");
    let folder = evil.join("projects/-p");
    fs::create_dir_all(&folder).unwrap();
    let twin = format!("{}0000-4000-8000-000000000000", &ID[..9]);
    fs::write(
        folder.join(format!("{twin}.jsonl")),
        fixture("transcript.jsonl", &[("ID", &twin), ("CWD", "/p")]),
    )
    .unwrap();
    let claude = w.standin(&Standin {
        during: WRITE_FORK.into(),
        ..Default::default()
    });
    let run = |args: &[&str]| {
        let mut cmd = seance(&w, &claude);
        cmd.arg("--account-dir").arg(&evil).args(args);
        cmd.output().unwrap()
    };
    let cases: [(&[&str], i32, &str); 4] = [
        (&["--talk", ID, "-p", "q", "-v"], 0, "talking to"),
        (&["--talk", &ID[..8], "-p", "q"], 1, "is ambiguous"),
        (&["--talk", "ffffffff", "-p", "q"], 1, "looked in"),
        (&["--account", "nope"], 1, "known:"),
    ];
    for (args, code, says) in cases {
        let out = run(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains(['\x1b', '\x07']), "{args:?}: {stderr:?}");
        for line in stderr.lines() {
            assert!(
                line.starts_with("seance: ") || line.starts_with("  "),
                "{args:?}: a line not seance's own: {line:?}"
            );
            assert!(
                !line.trim_start().starts_with("seance: fake"),
                "{args:?}: {line:?}"
            );
        }
    }
    // claude ran in the hostile directory (the stand-in's log is line-based).
    let first_line = hostile.to_str().unwrap().lines().next().unwrap();
    assert_eq!(values(&w.runs()[0], "CWD"), [first_line]);
}
