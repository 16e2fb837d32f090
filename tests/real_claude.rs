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
    // Painted over the resumed answer: looked for on the screen (see expect_screen).
    pty.expect_screen("MARKERS: CANARY-21 CANARY-22", SCREEN);
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

// ---- Issue 11 §2-3, issue 12 item 9, issue 17: what a talk says, with the real CLI. ----

/// The real claude's version as `(major, minor, patch)`, from `claude --version`
/// (`2.1.332 (Claude Code)`).
fn claude_version(world: &World) -> (u32, u32, u32) {
    let out = Command::new(&world.claude)
        .arg("--version")
        .output()
        .expect("run claude --version");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut parts = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|p| {
            p.parse::<u32>()
                .unwrap_or_else(|_| panic!("version {text:?}"))
        });
    let mut next = || parts.next().unwrap_or_else(|| panic!("version {text:?}"));
    (next(), next(), next())
}

/// The fork id seance reported in `text` (`... went on as <id> in account <name>`),
/// whitespace ignored (a terminal may drop it).
fn reported_fork(text: &str, account: &str) -> String {
    let flat = support::pty::squash(text);
    let after = flat
        .split("theconversationwentonas")
        .nth(1)
        .unwrap_or_else(|| panic!("no fork reported in:\n{text}"));
    let id: String = after.chars().take(36).collect();
    assert!(
        after[36..].starts_with(&format!("inaccount{account}")),
        "the fork is reported with its account: {after}"
    );
    id
}

/// Issue 11 §3: a one-shot talk names its fork; the fork's transcript holds the
/// predecessor's conversation; the command seance gives resumes it; stdout stays the
/// answer alone. Issue 12 item 9: a prompt starting with `-` reaches claude as a prompt.
#[test]
fn real_fork_id_reported_and_resumable() {
    let Some((world, alpha, beta)) = two_accounts("real_fork_id_reported_and_resumable") else {
        return;
    };
    let project = world.workdir("beta-fork-id");
    let made = world.make_session(&beta, &project, "The lamp is lit. CANARY-71");
    let alpha_before = alpha.transcripts();
    let elsewhere = world.workdir("elsewhere");
    let mut cmd = world.seance_cmd(&alpha, &[&beta], &elsewhere);
    cmd.args([
        "--talk",
        &made.id[..8],
        "--prompt=-v: which lamp? CANARY-72",
    ]);
    let done = world.run(&mut cmd);
    done.assert_success("seance --talk -p");
    assert_eq!(
        done.stdout, "MARKERS: CANARY-71 CANARY-72\n",
        "stdout is the answer alone, to a prompt that starts with -v"
    );
    let fork = assert_one_fork(&alpha, &alpha_before, &project, &["CANARY-71", "CANARY-72"]);
    let id = reported_fork(&done.stderr, "alpha");
    assert_eq!(
        fork.file_stem().and_then(|s| s.to_str()),
        Some(id.as_str()),
        "seance names the fork claude wrote:\n{}",
        done.stderr
    );
    let resume = format!(
        "resume it: cd {} && claude --resume {id}",
        project.display()
    );
    assert!(done.stderr.contains(&resume), "{}", done.stderr);
    assert_eq!(done.stderr.lines().count(), 3, "{}", done.stderr);
    assert_no_links(&alpha);

    // The command works as said: claude alone, in that directory, resumes the fork.
    let mut again = world.claude_cmd(&alpha, &project);
    again.args(["-p", "--resume", &id, "Still lit? CANARY-73"]);
    let answer = world.run(&mut again);
    answer.assert_success("claude --resume <fork>");
    assert_eq!(answer.stdout, "MARKERS: CANARY-71 CANARY-72 CANARY-73\n");
}

/// Issue 11 §3: `--ephemeral` answers with the predecessor's context and saves nothing.
#[test]
fn real_ephemeral_saves_no_transcript() {
    let Some((world, alpha, beta)) = two_accounts("real_ephemeral_saves_no_transcript") else {
        return;
    };
    let project = world.workdir("beta-ephemeral");
    let made = world.make_session(&beta, &project, "Whisper this. CANARY-74");
    let alpha_before = snapshot(&alpha.dir);
    let beta_before = snapshot(&beta.dir);
    let mut cmd = world.seance_cmd(&alpha, &[&beta], &project);
    cmd.args([
        "--talk",
        &made.id,
        "-p",
        "Repeat it. CANARY-75",
        "--ephemeral",
    ]);
    let done = world.run(&mut cmd);
    done.assert_success("seance --talk -p --ephemeral");
    assert_eq!(done.stdout, "MARKERS: CANARY-74 CANARY-75\n");
    assert!(
        done.stderr.contains("nothing was kept (--ephemeral)"),
        "{}",
        done.stderr
    );
    assert!(alpha.transcripts().is_empty(), "no transcript in alpha");
    let after = snapshot(&alpha.dir);
    let new: Vec<_> = after
        .keys()
        .filter(|p| !alpha_before.contains_key(*p) && p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert!(new.is_empty(), "alpha gained transcripts: {new:?}");
    assert_same_tree(&beta_before, &snapshot(&beta.dir), "beta's config dir");
}

/// Issue 11 §2: an interactive talk into a directory the current account has not
/// trusted says so before claude asks. Answering No: claude ends without starting
/// (on 2.1.332 No is the highlighted answer, on 2.1.197 Yes is, so No is chosen by its
/// number there), and seance explains it with the remedy, exiting with claude's status.
/// Answering Yes: claude starts, and seance reports the fork it went on in.
#[test]
fn real_trust_notice_before_and_explanation_after() {
    let Some((world, alpha, beta)) = two_accounts("real_trust_notice_before_and_explanation_after")
    else {
        return;
    };
    let newer = claude_version(&world) >= (2, 1, 332);
    let project = world.workdir("beta-untrusted");
    let made = world.make_session(&beta, &project, "Knock first. CANARY-76");
    let talk = || {
        let mut cmd = world.seance_cmd(&alpha, &[&beta], &project);
        cmd.args(["--talk", &made.id]);
        let mut pty = Pty::spawn(cmd);
        pty.expect(
            &format!(
                "seance: claude will ask whether you trust {}",
                project.display()
            ),
            SCREEN,
        );
        pty.expect("run seance again with --here", SCREEN);
        pty.expect("Is this a project you created or one you trust?", SCREEN);
        // The highlighted answer, per version.
        let highlighted = if newer {
            "❯ No, exit"
        } else {
            "❯ 1. Yes, I trust this folder"
        };
        pty.expect(highlighted, SCREEN);
        pty.settle(Duration::from_millis(500));
        pty
    };

    let mut pty = talk();
    pty.send_line(if newer { "" } else { "2" });
    if newer {
        pty.expect(
            "Claude Code didn't start because this folder isn't trusted",
            SCREEN,
        );
    }
    pty.expect(
        &format!(
            "seance: claude did not start: this account does not trust {}",
            project.display()
        ),
        SCREEN,
    );
    pty.expect(
        "seance: run seance again and answer Yes, or add --here",
        SCREEN,
    );
    assert_eq!(pty.wait(SCREEN), Ended::Code(1), "claude's status");
    assert!(
        new_files(&alpha, &[]).is_empty(),
        "a refused claude wrote nothing"
    );
    assert_no_links(&alpha);

    let before = alpha.transcripts();
    let mut pty = talk();
    // Down (ESC [ B) then Enter on 2.1.332; Enter alone on 2.1.197.
    pty.send_line(if newer { "\x1b[B" } else { "" });
    // The input box's hint line ("? for shortcuts" or, after this dialog on 2.1.332,
    // "auto mode on"); both end in "for agents".
    pty.expect("for agents", SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line("Came in. CANARY-77");
    pty.expect("MARKERS: CANARY-76 CANARY-77", SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line("/exit");
    pty.expect("claude --resume", SCREEN);
    pty.expect("seance: resume it:", SCREEN);
    assert_eq!(pty.wait(SCREEN), Ended::Code(0));
    let fork = assert_one_fork(&alpha, &before, &project, &["CANARY-76", "CANARY-77"]);
    let id = reported_fork(&pty.text(), "alpha");
    assert_eq!(fork.file_stem().and_then(|s| s.to_str()), Some(id.as_str()));
    assert!(
        support::pty::squash(&pty.text()).contains(&format!("claude--resume{id}")),
        "claude's own goodbye names the same fork"
    );
    assert!(!pty.text().contains("claude did not start"));
    assert_no_links(&alpha);
}

/// Waits for `needle` on `pty` while reading `other` too: a claude whose terminal is not
/// read blocks on its next write, maybe holding a lock the other one waits for.
fn expect_draining(pty: &mut Pty, other: &mut Pty, needle: &str) {
    let deadline = std::time::Instant::now() + SCREEN;
    while !support::pty::squash(&pty.text()).contains(&support::pty::squash(needle))
        && std::time::Instant::now() < deadline
    {
        pty.settle(Duration::from_millis(100));
        other.settle(Duration::from_millis(100));
    }
    pty.expect(needle, Duration::from_secs(1));
}

/// Issue 12, item 6: a second seance with its own ledger (another `XDG_STATE_HOME`)
/// finds the first one's live link, links nothing, and relies on it. The first talk
/// ends and removes the link while the second claude runs: that claude keeps working,
/// because claude reads the resumed transcript only at start-up (checked with strace
/// on 2.1.197 and 2.1.332, see RELIABILITY.md), so a link removed afterwards is never
/// missed.
#[test]
fn real_link_removed_after_start_up_is_not_missed() {
    let Some((world, alpha, beta)) = two_accounts("real_link_removed_after_start_up_is_not_missed")
    else {
        return;
    };
    let project = world.workdir("shared-predecessor");
    let made = world.make_session(
        &beta,
        &project,
        "The spare key is taped under the desk. CANARY-6001",
    );
    alpha.trust(&project);
    let alpha_before = alpha.transcripts();
    let elsewhere = world.workdir("elsewhere");
    let talk = |state: &str| {
        let mut cmd = world.seance_cmd(&alpha, &[&beta], &elsewhere);
        // -v: "no link needed" is one of the mechanics only -v shows.
        cmd.env("XDG_STATE_HOME", world.path().join(state))
            .args(["-v", "--talk", &made.id]);
        cmd
    };

    // "for agents" is in the input box's hint line of both 2.1.197 and 2.1.332 (the
    // latter shows no "? for shortcuts").
    let mut first = Pty::spawn(talk("state-one"));
    first.expect("❯", SCREEN);
    first.expect("for agents", SCREEN);
    assert_eq!(
        alpha.links().len(),
        1,
        "the first seance linked the session"
    );
    // Its own mock too, so neither claude's requests wait behind the other's.
    let second_mock = support::mock_api::MockApi::start();
    let mut second_cmd = talk("state-two");
    second_cmd.env("ANTHROPIC_BASE_URL", second_mock.base_url());
    let mut second = Pty::spawn(second_cmd);
    expect_draining(&mut second, &mut first, "no link needed");
    expect_draining(&mut second, &mut first, "for agents");

    // The first talk ends: its seance removes the link the second one relies on. (It
    // asks nothing first: two interactive 2.1.197 claudes answering at once in one
    // account sometimes stalled one of them for a minute, which is not what is tested.)
    second.settle(Duration::from_millis(500));
    first.settle(Duration::from_millis(500));
    first.send_line("/exit");
    let deadline = std::time::Instant::now() + SCREEN;
    while first.exited().is_none() && std::time::Instant::now() < deadline {
        first.settle(Duration::from_millis(100));
        second.settle(Duration::from_millis(100));
    }
    assert_eq!(first.wait(SCREEN), Ended::Code(0));
    assert_no_links(&alpha);

    // The second claude still has the whole predecessor, and forks as usual. The
    // answer is looked for on the emulated screen: it is painted over the resumed
    // answer ("MARKERS: CANARY-6001"), and a diffing TUI leaves out the cells that
    // already hold the right character (2.1.197 once sent "ARKERS: ..." without its
    // "M"), so the stream can lack text the screen shows.
    second.settle(Duration::from_millis(500));
    second.send_line("And the spare? CANARY-6003");
    second.expect_screen("MARKERS: CANARY-6001 CANARY-6003", SCREEN);
    second.settle(Duration::from_millis(500));
    second.send_line("/exit");
    assert_eq!(second.wait(SCREEN), Ended::Code(0));
    // The first talk asked nothing: 2.1.197 still writes its fork, 2.1.332 does not.
    let forks = new_files(&alpha, &alpha_before);
    assert!(
        (1..=2).contains(&forks.len()),
        "at most one fork per talk: {forks:?}"
    );
    let texts: Vec<String> = forks
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("read fork"))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("CANARY-6001") && t.contains("CANARY-6003")),
        "the second fork holds the predecessor and its own turn"
    );
    assert_no_links(&alpha);
}

// ---- Issue 11 (§4, §5): forks, title sidecars, "HEAD" branches, live sessions ----

/// `seance --json -n 0` from `cwd` with `current` and `others`, as rows.
fn listed(
    world: &World,
    current: &Account,
    others: &[&Account],
    cwd: &Path,
) -> Vec<serde_json::Value> {
    let done = world.run(
        world
            .seance_cmd(current, others, cwd)
            .args(["--json", "-n", "0"]),
    );
    done.assert_success("seance --json -n 0");
    serde_json::from_str(&done.stdout).expect("--json prints a JSON array")
}

fn row_of<'a>(rows: &'a [serde_json::Value], id: &str) -> &'a serde_json::Value {
    rows.iter()
        .find(|r| r["session_id"] == id)
        .unwrap_or_else(|| panic!("session {id} is listed: {rows:#?}"))
}

fn id_of(transcript: &Path) -> String {
    transcript
        .file_stem()
        .and_then(|s| s.to_str())
        .expect("utf-8 session id")
        .to_string()
}

/// One interactive talk to `id` on a pty, one question, `/exit`; returns the fork it made
/// and the times just before the talk started and just after it ended.
fn interactive_talk(
    world: &World,
    alpha: &Account,
    beta: &Account,
    id: &str,
    question: &str,
    answer: &str,
) -> (
    String,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
) {
    let before = alpha.transcripts();
    let elsewhere = world.workdir("elsewhere");
    let began = chrono::Utc::now();
    let mut cmd = world.seance_cmd(alpha, &[beta], &elsewhere);
    cmd.args(["--talk", id]);
    let mut pty = Pty::spawn(cmd);
    pty.expect_claude_prompt(SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line(question);
    // Painted over the resumed answer: looked for on the screen (see expect_screen).
    pty.expect_screen(answer, SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line("/exit");
    pty.expect("claude --resume", SCREEN);
    assert_eq!(
        pty.wait(SCREEN),
        Ended::Code(0),
        "seance exits 0 after /exit"
    );
    let ended = chrono::Utc::now();
    let new = new_files(alpha, &before);
    assert_eq!(new.len(), 1, "one fork per talk: {new:?}");
    (id_of(&new[0]), began, ended)
}

/// Issue 11 §4: three interactive talks to one predecessor (which goes on by itself
/// between the first and the second), then a one-shot talk to the first fork: every fork
/// names its own parent, starts when it was made and shows the question asked in it.
#[test]
fn real_three_interactive_talks_name_their_parent() {
    let Some((world, alpha, beta)) = two_accounts("real_three_interactive_talks_name_their_parent")
    else {
        return;
    };
    let project = world.workdir("predecessor");
    let made = world.make_session(&beta, &project, "The predecessor speaks. CANARY-71");
    alpha.trust(&project);
    let mut forks = Vec::new();
    for n in 1..=3 {
        if n == 2 {
            // The predecessor goes on after the first fork (its own account, no fork).
            let mut cmd = world.claude_cmd(&beta, &project);
            cmd.args(["--resume", &made.id, "-p", "Going on alone. CANARY-75"]);
            let done = support::claude::run_with_deadline(&mut cmd, support::world::CLAUDE_LIMIT);
            done.assert_success("claude --resume -p");
            assert_eq!(done.stdout, "MARKERS: CANARY-71 CANARY-75\n");
        }
        let question = format!("Talk number {n}. CANARY-7{n}{n}");
        let answer = if n == 1 {
            "MARKERS: CANARY-71 CANARY-711".to_string()
        } else {
            format!("MARKERS: CANARY-71 CANARY-75 CANARY-7{n}{n}")
        };
        forks.push((
            interactive_talk(&world, &alpha, &beta, &made.id, &question, &answer),
            question,
        ));
    }
    let first_fork = forks[0].0.0.clone();
    let deep_before = alpha.transcripts();
    let elsewhere = world.workdir("elsewhere");
    let mut cmd = world.seance_cmd(&alpha, &[&beta], &elsewhere);
    cmd.args(["--talk", &first_fork, "-p", "Deeper still. CANARY-799"]);
    assert_eq!(
        seance_talk_p(&world, &mut cmd),
        "MARKERS: CANARY-71 CANARY-711 CANARY-799\n"
    );
    let deep = new_files(&alpha, &deep_before);
    assert_eq!(deep.len(), 1, "{deep:?}");
    let deep = id_of(&deep[0]);

    let rows = listed(&world, &alpha, &[&beta], &elsewhere);
    assert_eq!(rows.len(), 5, "{rows:#?}");
    let root = row_of(&rows, &made.id);
    assert_eq!(root["forked_from"], serde_json::Value::Null, "{root:#}");
    assert_eq!(root["first_prompt"], "The predecessor speaks. CANARY-71");
    let mut last = parse_time(root, "started_at");
    for ((fork, began, ended), question) in &forks {
        let r = row_of(&rows, fork);
        assert_eq!(r["forked_from"], made.id.as_str(), "{r:#}");
        assert_eq!(r["first_prompt"], question.as_str(), "{r:#}");
        assert_eq!(r["account"], "alpha");
        // Transcript times have milliseconds; a second of slack each way.
        let started = parse_time(r, "started_at");
        assert!(
            *began - chrono::Duration::seconds(1) <= started
                && started <= *ended + chrono::Duration::seconds(1),
            "a fork starts when it was made, within its talk {began}..{ended}: {r:#}"
        );
        assert!(started > last, "made one after the other: {rows:#?}");
        last = started;
    }
    let d = row_of(&rows, &deep);
    assert_eq!(
        d["forked_from"],
        first_fork.as_str(),
        "a fork of a fork: {d:#}"
    );
    assert_eq!(d["first_prompt"], "Deeper still. CANARY-799");
}

/// Opens claude's session picker in `dir` and returns its screen (squashed) once the
/// list shows, then closes it with Esc.
fn picker_screen(
    world: &World,
    account: &Account,
    dir: &Path,
    keys: impl FnOnce(&mut Pty),
) -> String {
    let mut cmd = world.claude_cmd(account, dir);
    cmd.arg("--resume");
    let mut pty = Pty::spawn(cmd);
    pty.expect("Ctrl+R to rename", SCREEN);
    pty.settle(Duration::from_millis(800));
    keys(&mut pty);
    let screen = support::pty::squash(&pty.text());
    pty.send_keys(b"\x1b");
    pty.wait(SCREEN);
    screen
}

/// Issue 11 §5: a rename made in claude's picker (Ctrl+R) is the title seance shows, and
/// when the transcript's records change under it, seance shows what claude's own picker
/// shows: with the rename records gone, the `custom-title.json` sidecar (2.1.332; 2.1.197
/// writes none and shows the AI title); with a later rename record, that record.
#[test]
fn real_picker_rename_and_title_sidecar() {
    let Some((world, alpha, _beta)) = two_accounts("real_picker_rename_and_title_sidecar") else {
        return;
    };
    let dir = world.workdir("renamed");
    alpha.trust(&dir);
    let before = alpha.transcripts();
    let mut pty = Pty::spawn(world.claude_cmd(&alpha, &dir));
    pty.expect_claude_prompt(SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line("To be renamed. CANARY-81");
    pty.expect("MARKERS: CANARY-81", SCREEN);
    pty.settle(Duration::from_millis(500));
    pty.send_line("/exit");
    pty.expect("claude --resume", SCREEN);
    assert_eq!(pty.wait(SCREEN), Ended::Code(0));
    let made = new_files(&alpha, &before);
    assert_eq!(made.len(), 1, "{made:?}");
    let transcript = made[0].clone();
    let id = id_of(&transcript);

    picker_screen(&world, &alpha, &dir, |pty| {
        pty.send_keys(b"\x12");
        pty.expect("Enter to save", SCREEN);
        pty.settle(Duration::from_millis(300));
        // Whatever the box holds (2.1.197 fills in the old title), select it away.
        pty.send_keys(b"\x15");
        pty.send_line("PickerName81");
        pty.expect("PickerName81", SCREEN);
        pty.settle(Duration::from_millis(1500));
    });
    let elsewhere = world.workdir("elsewhere");
    let rows = listed(&world, &alpha, &[], &elsewhere);
    assert_eq!(row_of(&rows, &id)["title"], "PickerName81");

    let sidecar = transcript.with_extension("").join("custom-title.json");
    // Which name the picker shows now; seance must show the same.
    let agree = |names: &[&str]| -> String {
        let screen = picker_screen(&world, &alpha, &dir, |_| {});
        let shown: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| screen.contains(n))
            .collect();
        assert_eq!(
            shown.len(),
            1,
            "the picker shows one of {names:?}: {screen}"
        );
        let rows = listed(&world, &alpha, &[], &elsewhere);
        assert_eq!(
            row_of(&rows, &id)["title"],
            shown[0],
            "seance shows what the picker shows"
        );
        shown[0].to_owned()
    };

    // The rename records gone (as beyond the picker's windows), an AI title instead.
    let text = std::fs::read_to_string(&transcript).expect("read transcript");
    let mut kept: String = text
        .lines()
        .filter(|l| {
            !l.contains(r#""type":"custom-title""#) && !l.contains(r#""type":"agent-name""#)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    kept.push_str(&format!(
        "{{\"type\":\"ai-title\",\"aiTitle\":\"AiName83\",\"sessionId\":\"{id}\"}}\n"
    ));
    std::fs::write(&transcript, kept).expect("rewrite transcript");
    let shown = agree(&["PickerName81", "AiName83"]);
    assert_eq!(
        shown == "PickerName81",
        sidecar.is_file(),
        "the sidecar ({}) is shown exactly when there is one",
        sidecar.display()
    );

    // A later rename record (as an older claude's /rename writes it) beats the sidecar.
    let mut text = std::fs::read_to_string(&transcript).expect("read transcript");
    text.push_str(&format!(
        "{{\"type\":\"custom-title\",\"customTitle\":\"RecordName82\",\"sessionId\":\"{id}\"}}\n"
    ));
    std::fs::write(&transcript, text).expect("append a title record");
    assert_eq!(
        agree(&["PickerName81", "RecordName82", "AiName83"]),
        "RecordName82"
    );
}

/// Issue 11 §5: outside git claude writes the branch "HEAD"; seance shows none.
#[test]
fn real_head_is_no_branch() {
    let Some((world, alpha, _beta)) = two_accounts("real_head_is_no_branch") else {
        return;
    };
    let plain = world.workdir("not-a-repo");
    let made = world.make_session(&alpha, &plain, "No branch here. CANARY-85");
    let text = std::fs::read_to_string(&made.transcript).expect("read transcript");
    assert!(
        text.contains(r#""gitBranch":"HEAD""#),
        "claude wrote HEAD outside git"
    );
    let repo = world.git_repo("a-repo", "trunk-85");
    let in_repo = world.make_session(&alpha, &repo, "A branch here. CANARY-86");
    let rows = listed(&world, &alpha, &[], &plain);
    assert_eq!(
        row_of(&rows, &made.id)["git_branch"],
        serde_json::Value::Null
    );
    assert_eq!(row_of(&rows, &in_repo.id)["git_branch"], "trunk-85");
    let table = world.run(world.seance_cmd(&alpha, &[], &plain).env("COLUMNS", "200"));
    table.assert_success("seance");
    assert!(!table.stdout.contains("HEAD"), "{}", table.stdout);
}

/// Issue 11 §5: a session is live while its interactive claude runs (and can be talked
/// to meanwhile, with a word that it is running), not after it exits, and not after
/// a crash that left its registry entry behind.
#[cfg(target_os = "linux")] // SIGKILL of the claude found by pid
#[test]
fn real_live_session_marked_while_claude_runs() {
    let Some((world, alpha, _beta)) = two_accounts("real_live_session_marked_while_claude_runs")
    else {
        return;
    };
    let dir = world.workdir("live");
    alpha.trust(&dir);
    let elsewhere = world.workdir("elsewhere");
    let start_live = |marker: &str| {
        let before = alpha.transcripts();
        let mut pty = Pty::spawn(world.claude_cmd(&alpha, &dir));
        pty.expect_claude_prompt(SCREEN);
        pty.settle(Duration::from_millis(500));
        pty.send_line(&format!("Still here. {marker}"));
        pty.expect(&format!("MARKERS: {marker}"), SCREEN);
        pty.settle(Duration::from_millis(500));
        let made = new_files(&alpha, &before);
        assert_eq!(made.len(), 1, "{made:?}");
        (pty, id_of(&made[0]))
    };

    let (mut pty, id) = start_live("CANARY-91");
    let pid = u32::try_from(pty.pid()).expect("pid");
    let rows = listed(&world, &alpha, &[], &elsewhere);
    let live = &row_of(&rows, &id)["live"];
    assert_eq!(live["pid"], pid, "{live:#}");
    assert_eq!(live["kind"], "interactive", "{live:#}");
    assert!(live["status"].is_string(), "{live:#}");
    assert_eq!(live.as_object().map(|o| o.len()), Some(3), "{live:#}");

    // Talking to it works, and says it is running.
    let mut cmd = world.seance_cmd(&alpha, &[], &elsewhere);
    cmd.args(["--talk", &id, "-p", "Are you there? CANARY-92"]);
    let done = world.run(&mut cmd);
    done.assert_success("seance --talk <live> -p");
    assert_eq!(done.stdout, "MARKERS: CANARY-91 CANARY-92\n");
    assert!(
        done.stderr.contains("still running") && done.stderr.contains(&pid.to_string()),
        "{}",
        done.stderr
    );

    pty.send_line("/exit");
    pty.expect("claude --resume", SCREEN);
    assert_eq!(pty.wait(SCREEN), Ended::Code(0));
    let rows = listed(&world, &alpha, &[], &elsewhere);
    assert_eq!(row_of(&rows, &id)["live"], serde_json::Value::Null, "ended");

    // A crash leaves the entry behind; its dead pid is not live.
    let (mut pty, crashed) = start_live("CANARY-93");
    let pid = pty.pid();
    procs::signal(pid, libc::SIGKILL);
    assert_eq!(pty.wait(SCREEN), Ended::Signal(libc::SIGKILL));
    let entry = alpha.dir.join("sessions").join(format!("{pid}.json"));
    assert!(entry.is_file(), "claude killed leaves {}", entry.display());
    let rows = listed(&world, &alpha, &[], &elsewhere);
    assert_eq!(
        row_of(&rows, &crashed)["live"],
        serde_json::Value::Null,
        "crashed"
    );
}

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
        pty.text().contains(&lantern.id[..8]),
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
    for version in ["2.1.197", "2.1.332"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/real")
            .join(version);
        let manifest: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("manifest.json")).expect("read manifest"),
        )
        .expect("manifest is JSON");
        let renamed = manifest["sessions"]
            .as_array()
            .expect("sessions")
            .iter()
            .find(|s| s["title"] == "Lantern notes" && s.get("copied_from").is_none())
            .expect("the renamed session")["id"]
            .as_str()
            .expect("id")
            .to_owned();
        let fixtures = dir.join("accounts");
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
            done.stdout.contains(&format!("--resume {renamed}")),
            "{version}: {}",
            done.stdout
        );
    }
}
