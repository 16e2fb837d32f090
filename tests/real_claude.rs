//! Proves seance against the real Claude Code CLI: each `real_*` test makes sessions with
//! the real `claude`, talks to them through the `seance` binary, and checks what the model
//! was shown and what was left on disk. The harness is in `tests/support`.
//!
//! The claude binary comes from `SEANCE_TEST_CLAUDE` or `PATH`; without one these tests
//! print one line and pass, except under `CI=true`, where they fail.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::account::Account;
use support::claude::require_claude;
use support::paths::{assert_same_tree, project_folder_name, snapshot};
#[cfg(target_os = "linux")]
use support::procs;
use support::pty::{Ended, Pty};
use support::world::World;

/// How long to wait for anything on claude's screen.
const SCREEN: Duration = Duration::from_secs(60);

/// A world with the current account `alpha` and another account `beta`.
fn two_accounts(test: &str) -> Option<(World, Account, Account)> {
    let claude = require_claude(test)?;
    let world = World::new(claude);
    let alpha = world.account("alpha");
    let beta = world.account("beta");
    Some((world, alpha, beta))
}

/// The regular-file transcripts `account` has that are not in `before`.
fn new_files(account: &Account, before: &[PathBuf]) -> Vec<PathBuf> {
    World::new_transcripts(account, before)
        .into_iter()
        .filter(|p| p.symlink_metadata().is_ok_and(|m| m.is_file()))
        .collect()
}

/// Asserts `account` gained exactly one transcript since `before`, in the project folder
/// Claude Code uses for `cwd`, containing every marker; returns it.
fn assert_one_fork(account: &Account, before: &[PathBuf], cwd: &Path, markers: &[&str]) -> PathBuf {
    let new = new_files(account, before);
    assert_eq!(
        new.len(),
        1,
        "expected one fork in {}, got {new:?}",
        account.name
    );
    let fork = new.into_iter().next().expect("one fork");
    let folder = fork.parent().and_then(|p| p.file_name()).expect("folder");
    assert_eq!(
        folder.to_str(),
        Some(project_folder_name(cwd).as_str()),
        "the fork must land in the folder Claude Code uses for {}",
        cwd.display()
    );
    let text = std::fs::read_to_string(&fork).expect("read fork");
    for marker in markers {
        assert!(
            text.contains(marker),
            "fork {} lacks {marker}",
            fork.display()
        );
    }
    fork
}

fn assert_no_links(account: &Account) {
    let links = account.links();
    assert!(
        links.is_empty(),
        "seance left links in {}: {links:?}",
        account.name
    );
}

fn seance_talk_p(world: &World, cmd: &mut Command) -> String {
    let done = world.run(cmd);
    done.assert_success("seance --talk -p");
    done.stdout
}

/// Issue 4, test 1: a session of account beta, asked one-shot from account alpha while
/// standing in an unrelated directory.
#[test]
fn real_cross_account_one_shot() {
    let Some((world, alpha, beta)) = two_accounts("real_cross_account_one_shot") else {
        return;
    };
    let project = world.workdir("beta-project");
    let made = world.make_session(&beta, &project, "The map is under the stairs. CANARY-11");
    assert_eq!(made.answer, "MARKERS: CANARY-11\n");
    let beta_before = snapshot(&beta.dir);
    let alpha_before = alpha.transcripts();
    let elsewhere = world.workdir("somewhere-else");
    let asked_before = world.mock.message_bodies().len();

    let mut cmd = world.seance_cmd(&alpha, &[&beta], &elsewhere);
    cmd.args(["--talk", &made.id[..8], "-p", "Where is the map? CANARY-12"]);
    let stdout = seance_talk_p(&world, &mut cmd);

    assert_eq!(
        stdout, "MARKERS: CANARY-11 CANARY-12\n",
        "seance's stdout must be exactly claude's answer, which must show beta's marker"
    );
    let asked = world.mock.message_bodies();
    assert!(
        asked[asked_before..]
            .iter()
            .any(|b| b.contains("CANARY-11")),
        "the model was never shown beta's conversation"
    );
    assert_same_tree(&beta_before, &snapshot(&beta.dir), "beta's config dir");
    assert_one_fork(&alpha, &alpha_before, &project, &["CANARY-11", "CANARY-12"]);
    assert_no_links(&alpha);
}

/// Issue 4, test 2: an interactive talk in a pseudo-terminal, ended with `/exit`.
#[test]
fn real_interactive_talk_in_pty() {
    let Some((world, alpha, beta)) = two_accounts("real_interactive_talk_in_pty") else {
        return;
    };
    let project = world.workdir("beta-interactive");
    let made = world.make_session(&beta, &project, "The key is in the teapot. CANARY-21");
    alpha.trust(&project);
    let alpha_before = alpha.transcripts();
    let beta_before = snapshot(&beta.dir);
    let elsewhere = world.workdir("elsewhere");

    let mut cmd = world.seance_cmd(&alpha, &[&beta], &elsewhere);
    cmd.args(["--talk", &made.id]);
    let mut pty = Pty::spawn(cmd);
    pty.expect_claude_prompt(SCREEN);
    assert_eq!(
        alpha.links().len(),
        1,
        "while claude runs, alpha's project folder holds the link to beta's transcript"
    );
    pty.settle(Duration::from_millis(500));
    pty.send_line("Where is the key? CANARY-22");
    pty.expect("MARKERS: CANARY-21 CANARY-22", SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line("/exit");
    pty.expect("claude --resume", SCREEN);
    assert_eq!(
        pty.wait(SCREEN),
        Ended::Code(0),
        "seance exits 0 after /exit"
    );

    assert_no_links(&alpha);
    let fork = assert_one_fork(&alpha, &alpha_before, &project, &["CANARY-21", "CANARY-22"]);
    let fork_id = fork.file_stem().and_then(|s| s.to_str()).expect("fork id");
    assert!(
        support::pty::squash(&pty.text()).contains(&format!("claude--resume{fork_id}")),
        "claude's goodbye names the fork {fork_id}"
    );
    assert_same_tree(&beta_before, &snapshot(&beta.dir), "beta's config dir");
}

/// Issue 4, test 3: inside a Gas Town town, the current account is the one `~/.claude`
/// points at and the others come from `mayor/accounts.json`; sessions are named by
/// `session_start` events.
#[test]
fn real_gas_town_lists_and_talks() {
    let Some((world, alpha, beta)) = two_accounts("real_gas_town_lists_and_talks") else {
        return;
    };
    let town = world.workdir("town");
    let crew = world.workdir("town/gastown/crew/joe");
    std::fs::create_dir_all(town.join("mayor")).expect("mkdir mayor");
    std::fs::write(
        town.join("mayor/town.json"),
        r#"{"type":"town","version":1,"name":"test-town"}"#,
    )
    .expect("write town.json");
    let accounts = serde_json::json!({
        "version": 1,
        "accounts": {
            "alpha": {"email": "alpha@example.invalid", "config_dir": alpha.dir},
            "beta": {"email": "beta@example.invalid", "config_dir": beta.dir},
        },
        "default": "alpha"
    });
    std::fs::write(town.join("mayor/accounts.json"), accounts.to_string()).expect("accounts");
    std::os::unix::fs::symlink(&alpha.dir, world.home.join(".claude")).expect("~/.claude link");
    // Without CLAUDE_CONFIG_DIR claude reads ~/.claude.json, not the one in the config dir.
    std::fs::copy(alpha.config_file(), world.home.join(".claude.json")).expect("~/.claude.json");

    let made = world.make_session(&beta, &crew, "I left the bead in the hook. CANARY-31");
    let event = |ts: &str, kind: &str, actor: &str, session: &str| {
        serde_json::json!({"ts": ts, "source": "gt", "type": kind, "actor": actor,
            "payload": {"actor_pid": format!("{actor}-4242"), "cwd": crew, "role": actor,
                        "session_id": session},
            "visibility": "feed"})
        .to_string()
    };
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let events = [
        event(&now, "mail", "gastown/crew/joe", "n/a"),
        event(&now, "session_start", "gastown/crew/joe", &made.id),
        event(
            &now,
            "session_start",
            "gastown/witness",
            "11111111-2222-4333-8444-555555555555",
        ),
    ];
    std::fs::write(town.join(".events.jsonl"), events.join("\n") + "\n").expect("events");

    let town_cmd = |args: &[&str]| {
        let mut cmd = world.seance_cmd(&alpha, &[], &crew);
        cmd.env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("SEANCE_ACCOUNT_DIRS")
            .env("GT_ROOT", &town)
            .args(args);
        cmd
    };

    let listed = world.run(&mut town_cmd(&["--role", "crew", "--json"]));
    listed.assert_success("seance --role crew --json");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&listed.stdout).expect("--json prints a JSON array");
    assert!(
        rows.iter().all(|r| r["actor"]
            .as_str()
            .is_some_and(|a| a.to_lowercase().contains("crew"))),
        "--role crew keeps only crew actors: {rows:#?}"
    );
    let row = rows
        .iter()
        .find(|r| r["session_id"] == made.id.as_str())
        .unwrap_or_else(|| panic!("beta's crew session is listed: {rows:#?}"));
    assert_eq!(row["actor"], "gastown/crew/joe");
    assert_eq!(row["account"], "beta");
    assert_eq!(row["config_dir"], beta.dir.to_str().expect("utf-8"));
    assert_eq!(row["current_account"], false);
    assert_eq!(row["cwd"], crew.to_str().expect("utf-8"));

    let alpha_before = alpha.transcripts();
    let stdout = seance_talk_p(
        &world,
        &mut town_cmd(&["--talk", &made.id, "-p", "Where is the bead? CANARY-32"]),
    );
    assert_eq!(stdout, "MARKERS: CANARY-31 CANARY-32\n");
    assert_one_fork(&alpha, &alpha_before, &crew, &["CANARY-31", "CANARY-32"]);
    assert_no_links(&alpha);
}

/// Issue 4, test 4a: the predecessor ran in a long, non-ASCII directory whose project
/// folder name is cut at 200 characters and hashed.
#[test]
fn real_long_non_ascii_cwd() {
    let Some((world, alpha, beta)) = two_accounts("real_long_non_ascii_cwd") else {
        return;
    };
    let deep = format!(
        "naïve café 🔥/{}/{}",
        "ü".repeat(70),
        "segment-with.dots_and spaces".repeat(4)
    );
    let project = world.workdir(&deep);
    let folder = project_folder_name(&project);
    assert!(
        folder.len() > 200,
        "the test path must need the hashed form"
    );
    let made = world.make_session(&beta, &project, "Long roads. CANARY-41");
    assert_eq!(
        made.transcript
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str()),
        Some(folder.as_str()),
        "the harness's folder rule must agree with claude's own"
    );
    let alpha_before = alpha.transcripts();
    let elsewhere = world.workdir("elsewhere");
    let mut cmd = world.seance_cmd(&alpha, &[&beta], &elsewhere);
    cmd.args(["--talk", &made.id, "-p", "Which road? CANARY-42"]);
    assert_eq!(
        seance_talk_p(&world, &mut cmd),
        "MARKERS: CANARY-41 CANARY-42\n"
    );
    assert_one_fork(&alpha, &alpha_before, &project, &["CANARY-41", "CANARY-42"]);
    assert_no_links(&alpha);
}

/// Issue 4, test 4b: the predecessor's directory no longer exists, so claude runs in the
/// current directory and the fork lands there.
#[test]
fn real_deleted_cwd_falls_back_to_current_dir() {
    let Some((world, alpha, beta)) = two_accounts("real_deleted_cwd_falls_back_to_current_dir")
    else {
        return;
    };
    let gone = world.workdir("gone-soon");
    let made = world.make_session(&beta, &gone, "Packed and left. CANARY-43");
    std::fs::remove_dir(&gone).expect("remove the predecessor's cwd");
    let standing = world.workdir("standing-here");
    let alpha_before = alpha.transcripts();
    let mut cmd = world.seance_cmd(&alpha, &[&beta], &standing);
    cmd.args(["--talk", &made.id, "-p", "Where to? CANARY-44"]);
    assert_eq!(
        seance_talk_p(&world, &mut cmd),
        "MARKERS: CANARY-43 CANARY-44\n"
    );
    assert_one_fork(
        &alpha,
        &alpha_before,
        &standing,
        &["CANARY-43", "CANARY-44"],
    );
    assert_no_links(&alpha);
}

/// Issue 4, test 4c: `--here` resumes in the current directory although the
/// predecessor's still exists.
#[test]
fn real_here_resumes_in_current_dir() {
    let Some((world, alpha, beta)) = two_accounts("real_here_resumes_in_current_dir") else {
        return;
    };
    let origin = world.workdir("origin");
    let made = world.make_session(&beta, &origin, "Origin story. CANARY-45");
    let standing = world.workdir("right-here");
    let alpha_before = alpha.transcripts();
    let mut cmd = world.seance_cmd(&alpha, &[&beta], &standing);
    cmd.args(["--talk", &made.id, "--here", "-p", "And now? CANARY-46"]);
    assert_eq!(
        seance_talk_p(&world, &mut cmd),
        "MARKERS: CANARY-45 CANARY-46\n"
    );
    assert_one_fork(
        &alpha,
        &alpha_before,
        &standing,
        &["CANARY-45", "CANARY-46"],
    );
    assert_no_links(&alpha);
}

/// `sh` running `cmd` (same env and cwd), then printing `seance-exit=<status>` and
/// lingering, so seance is not the terminal's session leader: when it exits, nothing but
/// seance itself can have ended claude.
#[cfg(target_os = "linux")]
fn under_shell(cmd: &Command) -> Command {
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(r#""$0" "$@"; echo "seance-exit=$?"; sleep 60"#)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .env_clear();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value {
            sh.env(key, value);
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        sh.current_dir(dir);
    }
    sh
}

/// Issue 4, test 5a: SIGTERM to seance during an interactive talk ends claude and removes
/// the link.
#[cfg(target_os = "linux")] // the signal tests find processes in /proc
#[test]
fn real_sigterm_ends_claude_and_unlinks() {
    let Some((world, alpha, beta)) = two_accounts("real_sigterm_ends_claude_and_unlinks") else {
        return;
    };
    let project = world.workdir("beta-sigterm");
    let made = world.make_session(&beta, &project, "Hold on. CANARY-51");
    alpha.trust(&project);
    let beta_before = snapshot(&beta.dir);
    let mut cmd = world.seance_cmd(&alpha, &[&beta], &project);
    cmd.args(["--talk", &made.id]);
    let mut pty = Pty::spawn(under_shell(&cmd));
    pty.expect_claude_prompt(SCREEN);
    let seance = procs::only_child(pty.pid(), Duration::from_secs(10));
    let claude = procs::only_child(seance, Duration::from_secs(10));
    assert_eq!(alpha.links().len(), 1, "the link exists while claude runs");

    procs::signal(seance, libc::SIGTERM);
    pty.expect("seance-exit=", SCREEN);
    pty.settle(Duration::from_millis(200));
    let status: String = support::pty::squash(&pty.text())
        .split("seance-exit=")
        .nth(1)
        .unwrap_or_default()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(
        status, "143",
        "seance reports claude's death by SIGTERM as 128+15"
    );
    assert!(
        procs::wait_gone(claude, Duration::from_secs(2)),
        "claude (pid {claude}) still runs after seance ended on SIGTERM"
    );
    assert_no_links(&alpha);
    assert_same_tree(&beta_before, &snapshot(&beta.dir), "beta's config dir");
}

/// Starts an interactive talk to `id`, waits for claude's prompt, then SIGKILLs claude
/// and seance; returns the link they left behind.
#[cfg(target_os = "linux")]
fn talk_and_kill(world: &World, alpha: &Account, beta: &Account, id: &str, cwd: &Path) -> PathBuf {
    let mut cmd = world.seance_cmd(alpha, &[beta], cwd);
    cmd.args(["--talk", id]);
    let mut pty = Pty::spawn(cmd);
    pty.expect_claude_prompt(SCREEN);
    let seance = pty.pid();
    let claude = procs::only_child(seance, Duration::from_secs(10));
    procs::signal(claude, libc::SIGKILL);
    procs::signal(seance, libc::SIGKILL);
    assert_eq!(pty.wait(SCREEN), Ended::Signal(libc::SIGKILL));
    assert!(
        procs::wait_gone(claude, Duration::from_secs(10)),
        "claude survived SIGKILL"
    );
    let links = alpha.links();
    assert_eq!(
        links.len(),
        1,
        "a SIGKILLed talk leaves its link behind: {links:?}"
    );
    links.into_iter().next().expect("one link")
}

/// Issue 4, test 5b: SIGKILL leaves a link; `--reap` (not `--reap --dry-run`) and the next
/// `--talk` remove it, and the linked transcript survives.
#[cfg(target_os = "linux")] // the signal tests find processes in /proc
#[test]
fn real_sigkill_leftover_is_reaped() {
    let Some((world, alpha, beta)) = two_accounts("real_sigkill_leftover_is_reaped") else {
        return;
    };
    let first = world.workdir("beta-first");
    let second = world.workdir("beta-second");
    let one = world.make_session(&beta, &first, "First. CANARY-52");
    let two = world.make_session(&beta, &second, "Second. CANARY-53");
    alpha.trust(&first);
    let beta_before = snapshot(&beta.dir);

    let link = talk_and_kill(&world, &alpha, &beta, &one.id, &first);
    let dry = world.run(
        world
            .seance_cmd(&alpha, &[&beta], &first)
            .args(["--reap", "--dry-run"]),
    );
    dry.assert_success("seance --reap --dry-run");
    assert!(link.symlink_metadata().is_ok(), "--dry-run removes nothing");
    let reap = world.run(world.seance_cmd(&alpha, &[&beta], &first).args(["--reap"]));
    reap.assert_success("seance --reap");
    assert!(
        link.symlink_metadata().is_err(),
        "--reap removes the leftover link {}",
        link.display()
    );
    assert_no_links(&alpha);

    let link = talk_and_kill(&world, &alpha, &beta, &one.id, &first);
    let mut cmd = world.seance_cmd(&alpha, &[&beta], &second);
    cmd.args(["--talk", &two.id, "-p", "Next. CANARY-54"]);
    assert_eq!(
        seance_talk_p(&world, &mut cmd),
        "MARKERS: CANARY-53 CANARY-54\n"
    );
    assert!(
        link.symlink_metadata().is_err(),
        "the next --talk removes the leftover link {}",
        link.display()
    );
    assert_no_links(&alpha);
    assert!(one.transcript.is_file() && two.transcript.is_file());
    assert_same_tree(&beta_before, &snapshot(&beta.dir), "beta's config dir");
}

fn parse_time(row: &serde_json::Value, key: &str) -> chrono::DateTime<chrono::Utc> {
    let text = row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is a string in {row:#}"));
    assert!(
        text.ends_with('Z'),
        "{key} is RFC 3339 in UTC with Z: {text}"
    );
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{key}={text}: {e}"))
        .with_timezone(&chrono::Utc)
}

/// Issue 4, test 6: sessions the real CLI wrote (`-p` in a git repo, interactive with a
/// `/rename`, `-p` outside git) are listed with the right title, cwd, branch, account and
/// times.
#[test]
fn real_listing_shows_real_sessions() {
    let Some((world, alpha, beta)) = two_accounts("real_listing_shows_real_sessions") else {
        return;
    };
    // Transcript timestamps have milliseconds; the JSON may round to seconds.
    let t0 = chrono::Utc::now() - chrono::Duration::seconds(1);
    let repo = world.git_repo("listed-repo", "feature/listing");
    let in_repo = world.make_session(&beta, &repo, "Listed from a repo. CANARY-61");
    let plain = world.workdir("listed-plain");
    let outside = world.make_session(&alpha, &plain, "Listed outside git. CANARY-62");

    let talk_dir = world.workdir("listed-talk");
    alpha.trust(&talk_dir);
    let before = alpha.transcripts();
    let mut pty = Pty::spawn(world.claude_cmd(&alpha, &talk_dir));
    pty.expect_claude_prompt(SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line("Talked by hand. CANARY-63");
    pty.expect("MARKERS: CANARY-63", SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line("/rename Renamed by hand");
    pty.expect("Session renamed to: Renamed by hand", SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line("/exit");
    pty.expect("claude --resume", SCREEN);
    assert_eq!(pty.wait(SCREEN), Ended::Code(0));
    let talked = new_files(&alpha, &before);
    assert_eq!(talked.len(), 1, "one interactive transcript: {talked:?}");
    let talked = talked.into_iter().next().expect("one");
    let talked_id = talked
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("id")
        .to_string();
    let t1 = chrono::Utc::now() + chrono::Duration::seconds(1);

    let elsewhere = world.workdir("elsewhere");
    let listed = world.run(world.seance_cmd(&alpha, &[&beta], &elsewhere).arg("--json"));
    listed.assert_success("seance --json");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&listed.stdout).expect("--json prints a JSON array");
    assert_eq!(rows.len(), 3, "exactly the three sessions: {rows:#?}");

    let expect = [
        (
            &in_repo.id,
            &beta,
            &repo,
            "Listed from a repo. CANARY-61",
            Some("feature/listing"),
            &in_repo.transcript,
        ),
        (
            &outside.id,
            &alpha,
            &plain,
            "Listed outside git. CANARY-62",
            None,
            &outside.transcript,
        ),
        (
            &talked_id,
            &alpha,
            &talk_dir,
            "Renamed by hand",
            None,
            &talked,
        ),
    ];
    for (id, account, cwd, title, branch, transcript) in expect {
        let row = rows
            .iter()
            .find(|r| r["session_id"] == id.as_str())
            .unwrap_or_else(|| panic!("session {id} is listed: {rows:#?}"));
        assert_eq!(row["account"], account.name.as_str(), "{row:#}");
        assert_eq!(
            row["config_dir"],
            account.dir.to_str().expect("utf-8"),
            "{row:#}"
        );
        assert_eq!(row["current_account"], account.name == "alpha", "{row:#}");
        assert_eq!(row["cwd"], cwd.to_str().expect("utf-8"), "{row:#}");
        assert_eq!(
            row["project_folder"],
            project_folder_name(cwd).as_str(),
            "{row:#}"
        );
        assert_eq!(
            row["transcript"],
            transcript.to_str().expect("utf-8"),
            "{row:#}"
        );
        assert_eq!(row["title"], title, "{row:#}");
        assert_eq!(
            row["size_bytes"],
            std::fs::metadata(transcript).expect("stat").len(),
            "{row:#}"
        );
        if let Some(branch) = branch {
            assert_eq!(row["git_branch"], branch, "{row:#}");
        }
        let started = parse_time(row, "started_at");
        let last = parse_time(row, "last_active_at");
        assert!(
            t0 <= started && started <= last && last <= t1,
            "times out of range: {row:#}"
        );
    }
    let renamed = rows
        .iter()
        .find(|r| r["session_id"] == talked_id.as_str())
        .expect("listed");
    assert_eq!(
        renamed["first_prompt"], "Talked by hand. CANARY-63",
        "{renamed:#}"
    );
}

/// The mock answers the way claude expects without any claude involved: a quick check of
/// the harness itself, so a broken mock is not mistaken for a seance bug.
#[test]
fn harness_mock_api_round_trip() {
    use std::io::{Read, Write};
    let mock = support::mock_api::MockApi::start();
    let post = |body: &str| {
        let addr = mock.base_url().trim_start_matches("http://").to_string();
        let mut stream = std::net::TcpStream::connect(addr).expect("connect mock");
        write!(
            stream,
            "POST /v1/messages?beta=true HTTP/1.1\r\nHost: x\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .expect("send");
        let mut reply = String::new();
        stream.read_to_string(&mut reply).expect("read reply");
        reply
    };
    let streamed =
        post(r#"{"stream":true,"messages":[{"content":"CANARY-9 then CANARY-10, CANARY-9"}]}"#);
    assert!(streamed.contains("text/event-stream"), "{streamed}");
    let events: Vec<&str> = streamed
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(
        events,
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    assert!(
        streamed.contains(r#""text":"MARKERS: CANARY-9 CANARY-10""#),
        "{streamed}"
    );
    let plain = post(r#"{"messages":[{"content":"no markers"}]}"#);
    assert!(
        plain.contains("application/json") && plain.contains(r#""text":"MARKERS: none""#),
        "{plain}"
    );
    let bodies = mock.message_bodies();
    assert_eq!(bodies.len(), 2);
    assert!(bodies[0].contains("CANARY-10"));
}

/// The committed transcripts in `fixtures/real/` (written by the real CLI) are listed the
/// way `fixtures/real/manifest.json` says. Needs no claude: it runs everywhere.
/// Issue 13: the picker in a pseudo-terminal, with the real claude behind it. Two
/// sessions in two accounts; typing a word that only one holds and Enter asks that one
/// the question (one-shot), and its answer shows it was that conversation.
#[test]
fn real_picker_types_a_word_and_asks_that_session() {
    let Some((world, alpha, beta)) = two_accounts("real_picker_types_a_word_and_asks_that_session")
    else {
        return;
    };
    let project = world.workdir("beta-picker");
    let lantern = world.make_session(&beta, &project, "The lantern is in the shed. CANARY-51");
    world.make_session(
        &alpha,
        &world.workdir("alpha-other"),
        "The compass is in the drawer. CANARY-52",
    );
    let alpha_before = alpha.transcripts();
    let beta_before = snapshot(&beta.dir);
    let elsewhere = world.workdir("elsewhere");
    let mut cmd = world.seance_cmd(&alpha, &[&beta], &elsewhere);
    cmd.args(["--talk", "-p", "Where is the lantern? CANARY-53"]);
    let mut pty = Pty::spawn(cmd);
    pty.expect_screen("2/2", SCREEN);
    pty.expect_screen("The lantern is in the shed", SCREEN);
    pty.send("lantern shed");
    pty.expect_screen("> lantern shed", SCREEN);
    pty.send("\r");
    pty.expect("MARKERS: CANARY-51 CANARY-53", SCREEN);
    assert_eq!(pty.wait(SCREEN), Ended::Code(0), "{}", pty.text());
    assert!(
        pty.text().contains(&lantern.id),
        "seance said which session"
    );
    assert_one_fork(&alpha, &alpha_before, &project, &["CANARY-51", "CANARY-53"]);
    assert_same_tree(&beta_before, &snapshot(&beta.dir), "beta's config dir");
    assert_no_links(&alpha);
}

/// Issue 13, names, on transcripts the real CLI wrote: `/rename Lantern notes` left a
/// custom-title and an agent-name record; its fork copied both. The name finds the
/// renamed session, not its fork (no claude needed: `echo` stands in).
#[test]
fn fixtures_real_names_find_the_renamed_session() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real/accounts");
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().canonicalize().expect("canonicalize");
    for entry in walkdir::WalkDir::new(&fixtures) {
        let entry = entry.expect("walk fixtures");
        let to = root.join(entry.path().strip_prefix(&fixtures).expect("under"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &to).expect("copy fixture");
        }
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seance"));
    cmd.env_clear()
        .env("HOME", root.join("home-dir"))
        .env("XDG_CACHE_HOME", root.join("cache"))
        .env("XDG_STATE_HOME", root.join("state"))
        .env("CLAUDE_CONFIG_DIR", root.join("work"))
        .env("SEANCE_ACCOUNT_DIRS", root.join("home"))
        .env("SEANCE_CLAUDE", "/bin/echo")
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(&root)
        .args(["--talk", "LANTERN NOTES", "-p", "q"]);
    let done = support::claude::run_with_deadline(&mut cmd, Duration::from_secs(60));
    done.assert_success("seance --talk 'LANTERN NOTES'");
    assert!(
        done.stdout
            .contains("--resume 48790847-da2f-4e75-a16d-89d37a253f61"),
        "{}",
        done.stdout
    );
}

#[test]
fn fixtures_real_listed_as_manifest_says() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/real");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures.join("manifest.json")).expect("read manifest"),
    )
    .expect("manifest is JSON");
    let temp = tempfile::tempdir().expect("temp dir");
    let root = temp.path().canonicalize().expect("canonicalize");
    let copy = |name: &str| {
        let from = fixtures.join("accounts").join(name);
        for entry in walkdir::WalkDir::new(&from) {
            let entry = entry.expect("walk fixtures");
            let to = root
                .join(name)
                .join(entry.path().strip_prefix(&from).expect("under"));
            if entry.file_type().is_dir() {
                std::fs::create_dir_all(&to).expect("mkdir");
            } else {
                std::fs::copy(entry.path(), &to).expect("copy fixture");
            }
        }
        root.join(name)
    };
    let (work, home) = (copy("work"), copy("home"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_seance"));
    cmd.env_clear()
        .env("HOME", root.join("home-dir"))
        .env("XDG_CACHE_HOME", root.join("cache"))
        .env("XDG_STATE_HOME", root.join("state"))
        .env("CLAUDE_CONFIG_DIR", &work)
        .env("SEANCE_ACCOUNT_DIRS", &home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(&root)
        .args(["--json", "-n", "0"]);
    let done = support::claude::run_with_deadline(&mut cmd, Duration::from_secs(60));
    done.assert_success("seance --json -n 0");
    let rows: Vec<serde_json::Value> = serde_json::from_str(&done.stdout).expect("JSON array");
    let sessions = manifest["sessions"].as_array().expect("sessions");
    assert_eq!(rows.len(), sessions.len(), "{rows:#?}");
    for want in sessions {
        let row = rows
            .iter()
            .find(|r| r["session_id"] == want["id"])
            .unwrap_or_else(|| panic!("{} is listed: {rows:#?}", want["id"]));
        for key in ["account", "cwd", "title"] {
            assert_eq!(row[key], want[key], "{key} of {row:#}");
        }
        assert_eq!(row["current_account"], want["account"] == "work", "{row:#}");
        if want["git_branch"] != "HEAD" {
            assert_eq!(row["git_branch"], want["git_branch"], "{row:#}");
        }
        // 2.1.197 writes no forkedFrom: the fork is found by the first prompt's uuid,
        // which the fork copies from its parent.
        let parent = want.get("copied_from").cloned().unwrap_or_default();
        assert_eq!(row["forked_from"], parent, "{row:#}");
    }
}
