//! Integration tests of the listing (`seance` with no `--talk`): accounts, sessions,
//! the index and events sources, merging, ordering, filters, JSON schema, exit codes.

mod list_support;

use std::fs;
use std::os::unix::fs::symlink;

use serde::Deserialize;
use serde_json::Value;

use list_support::*;

/// The `--json` row, pinned: every field with its type, and nothing else.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the fields are there to be checked by serde, not read
struct Row {
    session_id: String,
    account: Option<String>,
    config_dir: Option<String>,
    current_account: bool,
    cwd: Option<String>,
    project_folder: Option<String>,
    transcript: Option<String>,
    transcript_missing: bool,
    title: Option<String>,
    first_prompt: Option<String>,
    actor: Option<String>,
    role: Option<String>,
    topic: Option<String>,
    git_branch: Option<String>,
    started_at: Option<String>,
    last_active_at: Option<String>,
    size_bytes: Option<u64>,
    sources: Vec<SourceKind>,
    copies: usize,
    forked_from: Option<String>,
    live: Option<LiveRow>,
    /// Only with `--search`: the key is absent otherwise.
    #[serde(default)]
    matches: Option<MatchesRow>,
}

/// `matches` of a `--search` row.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct MatchesRow {
    count: u64,
    snippets: Vec<SnippetRow>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SnippetRow {
    text: String,
    role: SnippetRole,
    timestamp: Option<String>,
    subagent: bool,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum SnippetRole {
    User,
    Assistant,
    ToolUse,
    ToolResult,
    Title,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct LiveRow {
    pid: u32,
    status: Option<String>,
    kind: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum SourceKind {
    Transcript,
    Index,
    Events,
}

/// A sandbox with a transcript, an index-only session and an events-only session, all
/// three sources seeing the titled one.
fn three_sources() -> Sandbox {
    let sb = Sandbox::new();
    let folder = "-work-titled";
    fixture_transcript(&sb.current, folder, TITLED, "titled.jsonl");
    fixture_transcript(&sb.current, folder, UNTITLED, "untitled.jsonl");
    fs::write(
        sb.current
            .join("projects")
            .join(folder)
            .join("sessions-index.json"),
        fixture(
            "sessions-index.json",
            &[("UNTITLED_ID", UNTITLED), ("GONE_ID", GONE)],
        ),
    )
    .unwrap();
    let events = sb.root().join("events.jsonl");
    fs::write(
        &events,
        fixture(
            "events.jsonl",
            &[("TITLED_ID", TITLED), ("EVONLY_ID", EVONLY)],
        ),
    )
    .unwrap();
    sb
}

fn is_rfc3339_utc_z(s: &str) -> bool {
    s.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(s).is_ok()
}

#[test]
fn json_rows_match_the_pinned_schema() {
    let sb = three_sources();
    let events = sb.root().join("events.jsonl");
    let out = sb
        .cmd()
        .args(["--json", "-n", "0", "--events"])
        .arg(&events)
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Row> = serde_json::from_slice(&out.stdout).expect("schema changed");
    let ids: Vec<&str> = rows.iter().map(|r| r.session_id.as_str()).collect();
    assert_eq!(rows.len(), 5, "{ids:?}");
    for r in &rows {
        for t in [&r.started_at, &r.last_active_at].into_iter().flatten() {
            assert!(is_rfc3339_utc_z(t), "{t} is not RFC 3339 UTC with Z");
        }
    }
    let by = |id: &str| rows.iter().find(|r| r.session_id == id).unwrap();
    assert_eq!(
        by(TITLED).sources,
        [SourceKind::Transcript, SourceKind::Events]
    );
    assert_eq!(
        by(UNTITLED).sources,
        [SourceKind::Transcript, SourceKind::Index]
    );
    assert_eq!(by(GONE).sources, [SourceKind::Index]);
    assert_eq!(by(EVONLY).sources, [SourceKind::Events]);
    assert_eq!(by("deacon-4242").sources, [SourceKind::Events]);
    // No `matches` key at all without --search.
    let raw: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(raw.iter().all(|r| r.get("matches").is_none()));
}

#[test]
fn search_rows_add_a_pinned_matches_object() {
    let sb = three_sources();
    let out = sb
        .cmd()
        .args(["--json", "-n", "0", "--search", "."])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Row> = serde_json::from_slice(&out.stdout).expect("schema changed");
    assert!(!rows.is_empty());
    for r in &rows {
        let m = r
            .matches
            .as_ref()
            .expect("a matches object on every --search row");
        assert!(m.count >= 1 && !m.snippets.is_empty() && m.snippets.len() <= 3);
        for s in &m.snippets {
            assert!(s.timestamp.as_deref().is_none_or(is_rfc3339_utc_z));
        }
    }
}

#[test]
fn json_is_an_empty_array_when_nothing_is_found() {
    let sb = Sandbox::new();
    let out = sb.cmd().arg("--json").output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, Value::Array(vec![]));
    // Filters that match nothing give the same.
    fixture_transcript(&sb.current, "-w", PLAIN, "plain.jsonl");
    assert!(sb.json(&["--grep", "no such words"]).is_empty());
}

#[test]
fn transcript_fields_come_from_head_and_tail() {
    let sb = Sandbox::new();
    let path = fixture_transcript(&sb.current, "-work-titled", TITLED, "titled.jsonl");
    fixture_transcript(&sb.current, "-work-fork", FORKED, "forked.jsonl");
    let rows = sb.json(&[]);
    let r = row(&rows, TITLED);
    assert_eq!(r["account"], ".claude");
    assert_eq!(r["config_dir"], sb.current.to_str().unwrap());
    assert_eq!(r["current_account"], true);
    assert_eq!(r["cwd"], "/work/titled");
    assert_eq!(r["project_folder"], "-work-titled");
    assert_eq!(r["transcript"], path.to_str().unwrap());
    assert_eq!(r["transcript_missing"], false);
    assert_eq!(r["first_prompt"], "fix the parser");
    assert_eq!(r["git_branch"], "feature/x");
    assert_eq!(r["started_at"], "2026-03-01T09:00:00.000Z");
    assert_eq!(r["last_active_at"], "2026-03-01T10:30:00.000Z");
    assert_eq!(r["size_bytes"], fs::metadata(&path).unwrap().len());
    assert_eq!(r["forked_from"], Value::Null);
    assert_eq!(r["actor"], Value::Null);
    assert_eq!(
        row(&rows, FORKED)["forked_from"],
        "11111111-1111-4111-8111-111111111111"
    );
}

#[test]
fn title_precedence_is_custom_then_ai_then_summary_then_first_prompt() {
    let sb = Sandbox::new();
    fixture_transcript(&sb.current, "-a", TITLED, "titled.jsonl");
    fixture_transcript(&sb.current, "-a", AI, "ai-titled.jsonl");
    fixture_transcript(&sb.current, "-a", SUMMARISED, "summarised.jsonl");
    fixture_transcript(&sb.current, "-a", PLAIN, "plain.jsonl");
    let rows = sb.json(&[]);
    assert_eq!(row(&rows, TITLED)["title"], "My parser rename");
    assert_eq!(row(&rows, AI)["title"], "Docs (AI)");
    assert_eq!(row(&rows, SUMMARISED)["title"], "Build summary");
    assert_eq!(row(&rows, PLAIN)["title"], "where is the config loaded");
    // An empty gitBranch (outside git) is no branch.
    assert_eq!(row(&rows, PLAIN)["git_branch"], Value::Null);
}

#[test]
fn newest_activity_first_or_newest_start_and_recent_limits() {
    let sb = Sandbox::new();
    // Started in one order, last active (the file's mtime) in another.
    let starts = [
        (PLAIN, "2026-03-01T00:00:00Z", "2026-03-09T00:00:00Z"),
        (AI, "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z"),
        (TITLED, "2026-03-02T00:00:00Z", "2026-03-08T00:00:00Z"),
        (FORKED, "2026-03-05T00:00:00Z", "2026-03-05T00:01:00Z"),
    ];
    for (id, s, e) in starts {
        transcript(&sb.current, "-w", id, convo("/w", s, e, id));
    }
    assert_eq!(ids(&sb.json(&[])), [PLAIN, TITLED, FORKED, AI]);
    assert_eq!(
        ids(&sb.json(&["--sort", "active"])),
        [PLAIN, TITLED, FORKED, AI]
    );
    assert_eq!(
        ids(&sb.json(&["--sort", "started"])),
        [FORKED, AI, TITLED, PLAIN]
    );
    // The mtime decides, not the last timestamp inside: a write just now comes first.
    let ai = sb.current.join(format!("projects/-w/{AI}.jsonl"));
    set_mtime(&ai, 1_900_000_000);
    let rows = sb.json(&[]);
    assert_eq!(ids(&rows), [AI, PLAIN, TITLED, FORKED]);
    assert_eq!(rows[0]["last_active_at"], "2030-03-17T17:46:40.000Z");
    let out = sb.cmd().args(["--json", "-n", "2"]).output().unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&rows), [AI, PLAIN]);
    // The default is 20.
    for i in 0..22 {
        let id = format!("0000{i:04}-0000-4000-8000-000000000000");
        transcript(
            &sb.current,
            "-many",
            &id,
            convo("/m", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00Z", "x"),
        );
    }
    let out = sb.cmd().arg("--json").output().unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 20);
    assert_eq!(sb.json(&[]).len(), 26);
}

#[test]
fn last_active_falls_back_to_mtime() {
    let sb = Sandbox::new();
    let p = transcript(
        &sb.current,
        "-w",
        PLAIN,
        r#"{"type":"user","cwd":"/w","message":{"role":"user","content":"no clocks here"}}"#
            .to_owned()
            + "\n",
    );
    set_mtime(&p, 1_767_225_600); // 2026-01-01T00:00:00Z
    let rows = sb.json(&[]);
    let r = row(&rows, PLAIN);
    assert_eq!(r["last_active_at"], "2026-01-01T00:00:00.000Z");
    assert_eq!(r["title"], "no clocks here");
}

#[test]
fn every_account_source_is_scanned_and_named() {
    let sb = Sandbox::new();
    let flag = account(&sb.root().join("accts/flagged"));
    let env1 = account(&sb.root().join("accts/env-one"));
    let env2 = account(&sb.root().join("accts/env-two"));
    let auto = account(&sb.home.join(".claude-work"));
    let ccs = account(&sb.home.join(".ccs/instances/personal"));
    // Not accounts: no projects/ folder.
    fs::create_dir_all(sb.home.join(".claude-empty")).unwrap();
    fs::create_dir_all(sb.home.join(".ccs/instances/bare")).unwrap();
    let cases = [
        (&sb.current, TITLED, ".claude"),
        (&flag, AI, "flagged"),
        (&env1, SUMMARISED, "env-one"),
        (&env2, PLAIN, "env-two"),
        (&auto, FORKED, ".claude-work"),
        (&ccs, UNTITLED, "personal"),
    ];
    for (acct, id, _) in cases {
        transcript(
            acct,
            "-w",
            id,
            convo("/w", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "hi"),
        );
    }
    let env = format!("{}::{}", env1.display(), env2.display());
    let out = sb
        .cmd()
        .args(["--json", "-n", "0", "--account-dir"])
        .arg(&flag)
        .env("SEANCE_ACCOUNT_DIRS", &env)
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), cases.len(), "{rows:#?}");
    for (acct, id, name) in cases {
        let r = row(&rows, id);
        assert_eq!(r["account"], name, "{id}");
        assert_eq!(r["config_dir"], acct.to_str().unwrap(), "{id}");
        assert_eq!(r["current_account"], name == ".claude", "{id}");
    }
    // Without the flag and the variable, those two sources are gone.
    let rows = sb.json(&[]);
    assert_eq!(rows.len(), 3);
    // --account-dir is repeatable and expands ~/.
    let rows = sb.json(&[
        "--account-dir",
        flag.to_str().unwrap(),
        "--account-dir",
        "~/../accts/env-one",
    ]);
    assert_eq!(rows.len(), 5);
    assert_eq!(row(&rows, SUMMARISED)["account"], "env-one");
}

#[test]
fn current_account_is_home_claude_resolved_when_no_config_dir_is_set() {
    let sb = Sandbox::new();
    let real = account(&sb.root().join("accts/work"));
    fs::remove_dir_all(&sb.current).unwrap();
    symlink(&real, &sb.current).unwrap();
    transcript(
        &real,
        "-w",
        PLAIN,
        convo("/w", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "hi"),
    );
    let other = account(&sb.home.join(".claude-other"));
    transcript(
        &other,
        "-w",
        AI,
        convo("/w", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "hi"),
    );
    let out = sb
        .cmd()
        .env_remove("CLAUDE_CONFIG_DIR")
        .args(["--json", "-n", "0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 2, "{rows:#?}");
    assert_eq!(row(&rows, PLAIN)["current_account"], true);
    assert_eq!(row(&rows, AI)["current_account"], false);
    assert_eq!(row(&rows, AI)["account"], ".claude-other");
}

/// Writes a town at `<root>/town` whose accounts.json names `work` (via `~/`) and
/// `home` (absolute), with one session in each.
fn town(sb: &Sandbox) -> std::path::PathBuf {
    let town = sb.root().join("town");
    fs::create_dir_all(town.join("mayor")).unwrap();
    fs::write(
        town.join("mayor/accounts.json"),
        fixture("accounts.json", &[("HOME_ABS", sb.home.to_str().unwrap())]),
    )
    .unwrap();
    let work = account(&sb.home.join(".claude-accounts/work"));
    let home = account(&sb.home.join("elsewhere/home"));
    transcript(
        &work,
        "-w",
        AI,
        convo("/w", "2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z", "hi"),
    );
    transcript(
        &home,
        "-w",
        PLAIN,
        convo("/w", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "hi"),
    );
    town
}

#[test]
fn town_accounts_json_names_accounts_by_handle() {
    for var in ["GT_ROOT", "GT_TOWN_ROOT"] {
        let sb = Sandbox::new();
        let town = town(&sb);
        let out = sb
            .cmd()
            .env(var, &town)
            .args(["--json", "-n", "0"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{var}");
        let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(row(&rows, AI)["account"], "work", "{var}");
        assert_eq!(row(&rows, PLAIN)["account"], "home", "{var}");
        assert_eq!(
            row(&rows, AI)["config_dir"],
            sb.home.join(".claude-accounts/work").to_str().unwrap()
        );
    }
}

#[test]
fn town_is_found_from_the_working_directory() {
    let sb = Sandbox::new();
    let town = town(&sb);
    fs::write(town.join("mayor/town.json"), "{}").unwrap();
    // An inner directory with its own mayor/ (no town.json) does not win.
    let deep = town.join("gastown/crew/joe");
    fs::create_dir_all(deep.join("mayor")).unwrap();
    fs::write(
        town.join(".events.jsonl"),
        fixture("events.jsonl", &[("TITLED_ID", AI), ("EVONLY_ID", EVONLY)]),
    )
    .unwrap();
    let out = sb
        .cmd()
        .current_dir(&deep)
        .args(["--json", "-n", "0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(row(&rows, AI)["account"], "work");
    assert_eq!(row(&rows, AI)["actor"], "gastown/crew/joe");
    assert_eq!(row(&rows, EVONLY)["actor"], "beads/polecats/nux");
    // From the sandbox's own cwd there is no town: no handles, no events.
    let rows = sb.json(&[]);
    assert!(rows.iter().all(|r| r["account"] != "work"), "{rows:#?}");
    assert!(rows.iter().all(|r| r["actor"].is_null()));
}

#[test]
fn accounts_are_deduplicated_by_canonical_path_and_by_store() {
    let sb = Sandbox::new();
    let work = account(&sb.root().join("accts/work"));
    transcript(
        &work,
        "-w",
        AI,
        convo("/w", "2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z", "hi"),
    );
    // The same dir through a symlink, and a second account whose projects/ is work's.
    symlink(&work, sb.home.join(".claude-alias")).unwrap();
    let shared = sb.home.join(".claude-shared");
    fs::create_dir_all(&shared).unwrap();
    symlink(work.join("projects"), shared.join("projects")).unwrap();
    let rows = sb.json(&[
        "--account-dir",
        work.to_str().unwrap(),
        "--account-dir",
        work.to_str().unwrap(),
    ]);
    assert_eq!(ids(&rows), [AI]);
    assert_eq!(rows[0]["account"], "work");
}

#[test]
fn a_link_into_another_account_is_listed_once_under_its_owner() {
    let sb = Sandbox::new();
    let other = account(&sb.home.join(".claude-other"));
    let target = transcript(
        &other,
        "-w",
        AI,
        convo("/w", "2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z", "hi"),
    );
    let dir = sb.current.join("projects/-w");
    fs::create_dir_all(&dir).unwrap();
    symlink(&target, dir.join(format!("{AI}.jsonl"))).unwrap();
    // A link to a file outside every account is a session of the account holding it.
    let outside = sb.root().join("outside.jsonl");
    fs::write(
        &outside,
        convo(
            "/o",
            "2026-03-01T00:00:00Z",
            "2026-03-01T00:00:00Z",
            "outside",
        ),
    )
    .unwrap();
    stamp(&outside);
    symlink(&outside, dir.join(format!("{PLAIN}.jsonl"))).unwrap();
    let rows = sb.json(&[]);
    assert_eq!(ids(&rows), [AI, PLAIN]);
    assert_eq!(rows[0]["account"], ".claude-other");
    assert_eq!(rows[0]["transcript"], target.to_str().unwrap());
    assert_eq!(rows[1]["account"], ".claude");
    assert_eq!(rows[1]["title"], "outside");
}

#[test]
fn subagents_nested_files_and_other_names_are_not_sessions() {
    let sb = Sandbox::new();
    let folder = sb.current.join("projects/-w");
    transcript(
        &sb.current,
        "-w",
        PLAIN,
        convo("/w", "2026-03-02T00:00:00Z", "2026-03-02T00:00:00Z", "real"),
    );
    let sub = folder.join(PLAIN).join("subagents");
    fs::create_dir_all(&sub).unwrap();
    fs::write(
        sub.join(format!("{AI}.jsonl")),
        convo("/w", "2026-03-03T00:00:00Z", "2026-03-03T00:00:00Z", "sub"),
    )
    .unwrap();
    fs::write(
        sub.join("agent-1234.jsonl"),
        convo("/w", "2026-03-03T00:00:00Z", "2026-03-03T00:00:00Z", "sub"),
    )
    .unwrap();
    let deeper = folder.join("memory/x");
    fs::create_dir_all(&deeper).unwrap();
    fs::write(
        deeper.join(format!("{TITLED}.jsonl")),
        convo("/w", "2026-03-03T00:00:00Z", "2026-03-03T00:00:00Z", "deep"),
    )
    .unwrap();
    fs::write(
        folder.join("notes.jsonl"),
        convo("/w", "2026-03-03T00:00:00Z", "2026-03-03T00:00:00Z", "x"),
    )
    .unwrap();
    fs::write(
        folder.join(format!("{FORKED}.json")),
        convo("/w", "2026-03-03T00:00:00Z", "2026-03-03T00:00:00Z", "x"),
    )
    .unwrap();
    // A transcript directly in projects/ is in no project folder.
    fs::write(
        sb.current.join(format!("projects/{SUMMARISED}.jsonl")),
        convo("/w", "2026-03-03T00:00:00Z", "2026-03-03T00:00:00Z", "x"),
    )
    .unwrap();
    assert_eq!(ids(&sb.json(&[])), [PLAIN]);
}

#[test]
fn index_enriches_and_adds_sessions_whose_transcript_is_gone() {
    let sb = three_sources();
    let rows = sb.json(&[]);
    let u = row(&rows, UNTITLED);
    assert_eq!(u["title"], "Summary from the index");
    assert_eq!(u["sources"], serde_json::json!(["transcript", "index"]));
    assert_eq!(u["transcript_missing"], false);
    // The transcript's own title beats the index's summary.
    assert_eq!(row(&rows, TITLED)["title"], "My parser rename");
    let g = row(&rows, GONE);
    assert_eq!(g["transcript"], Value::Null);
    assert_eq!(g["transcript_missing"], true);
    assert_eq!(g["account"], ".claude");
    assert_eq!(g["current_account"], true);
    assert_eq!(g["project_folder"], "-work-titled");
    assert_eq!(g["title"], "Index-only rename");
    assert_eq!(g["first_prompt"], "the transcript of this one is gone");
    assert_eq!(g["cwd"], "/work/indexed");
    assert_eq!(g["git_branch"], "old");
    assert_eq!(g["started_at"], "2026-02-01T12:00:00.000Z");
    assert_eq!(g["last_active_at"], "2026-02-01T13:00:00.000Z");
    assert_eq!(g["size_bytes"], Value::Null);
    assert_eq!(g["sources"], serde_json::json!(["index"]));
}

#[test]
fn events_add_actor_role_topic_and_events_only_sessions() {
    let sb = three_sources();
    let events = sb.root().join("events.jsonl");
    let via_flag = sb.json(&["--events", events.to_str().unwrap()]);
    let out = sb
        .cmd()
        .env("SEANCE_EVENTS", &events)
        .args(["--json", "-n", "0"])
        .output()
        .unwrap();
    let via_env: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(via_flag, via_env);
    let rows = via_flag;
    let t = row(&rows, TITLED);
    assert_eq!(t["actor"], "gastown/crew/joe");
    assert_eq!(t["role"], "gastown/crew/joe");
    assert_eq!(t["topic"], Value::Null);
    // The transcript's cwd beats the event's.
    assert_eq!(t["cwd"], "/work/titled");
    assert_eq!(t["account"], ".claude");
    let e = row(&rows, EVONLY);
    assert_eq!(e["account"], Value::Null);
    assert_eq!(e["config_dir"], Value::Null);
    assert_eq!(e["transcript"], Value::Null);
    assert_eq!(e["current_account"], false);
    assert_eq!(e["cwd"], "/gt/beads/polecats/nux");
    assert_eq!(e["started_at"], "2026-03-08T07:00:00.000Z");
    let d = row(&rows, "deacon-4242");
    assert_eq!(d["topic"], "patrol");
    assert_eq!(d["role"], "deacon");
    // Without an events source, neither events-only session is listed.
    let rows = sb.json(&[]);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["actor"].is_null()));
}

#[test]
fn events_with_huge_and_bad_lines_are_read_past() {
    let sb = Sandbox::new();
    let events = sb.root().join("events.jsonl");
    let big = "x".repeat(3 * 1024 * 1024);
    let mut text = String::new();
    text += &format!(
        "{{\"ts\":\"2026-03-01T00:00:00Z\",\"type\":\"mail\",\"actor\":\"mayor\",\"payload\":{{\"body\":\"{big}\"}}}}\n"
    );
    text += "not json\n";
    text += "[1,2,3]\n";
    text += "{\"type\":\"session_start\",\"payload\":{\"session_id\":42}}\n";
    text += "{\"type\":\"session_start\",\"actor\":7,\"payload\":\"nope\"}\n";
    text += "{\"type\":\"session_start\",\"payload\":{\"session_id\":[\"x\"]}}\n";
    text += &format!(
        "{{\"ts\":\"2026-03-02T00:00:00Z\",\"type\":\"session_start\",\"actor\":\"rig/crew/amy\",\"payload\":{{\"session_id\":\"{EVONLY}\",\"role\":\"crew\",\"big\":\"{big}\"}}}}\n"
    );
    // An actor that is not a string is dropped, the session kept.
    text += &format!(
        "{{\"ts\":\"2026-03-03T00:00:00Z\",\"type\":\"session_start\",\"actor\":7,\"payload\":{{\"session_id\":\"{GONE}\",\"role\":3}}}}\n"
    );
    fs::write(&events, text).unwrap();
    let (code, out, err) = sb.run(&["--json", "-n", "0", "--events", events.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(ids(&rows), [GONE, EVONLY]);
    assert_eq!(row(&rows, EVONLY)["actor"], "rig/crew/amy");
    assert_eq!(row(&rows, GONE)["actor"], Value::Null);
    assert_eq!(row(&rows, GONE)["role"], Value::Null);
    let warn: Vec<&str> = err.lines().filter(|l| l.contains("events")).collect();
    assert_eq!(warn.len(), 1, "{err}");
    assert!(warn[0].contains(events.to_str().unwrap()), "{err}");
    // A missing events file is no problem at all.
    let (code, _, err) = sb.run(&["--events", "/nonexistent/events.jsonl"]);
    assert_eq!(code, 0);
    assert_eq!(err, "");
}

#[test]
fn events_appended_or_rewritten_between_listings_are_seen() {
    let sb = Sandbox::new();
    let events = sb.root().join("events.jsonl");
    let ev = events.to_str().unwrap();
    let start = |id: &str, actor: &str| {
        format!(
            "{{\"ts\":\"2026-03-02T00:00:00Z\",\"type\":\"session_start\",\"actor\":\"{actor}\",\"payload\":{{\"session_id\":\"{id}\"}}}}\n"
        )
    };
    let append = |text: &str| {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(&events).unwrap();
        f.write_all(text.as_bytes()).unwrap();
    };
    let listing = |args: &[&str]| {
        let mut all = vec!["--json", "-n", "0", "--events", ev];
        all.extend(args);
        let (code, out, err) = sb.run(&all);
        assert_eq!(code, 0, "{err}");
        let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
        let bad = err
            .lines()
            .find(|l| l.contains("events files with bad lines"))
            .map(str::to_owned);
        let ids: Vec<String> = ids(&rows).into_iter().map(str::to_owned).collect();
        (ids, bad)
    };
    fs::write(&events, start(GONE, "a")).unwrap();
    assert_eq!(listing(&[]), (vec![GONE.to_owned()], None));
    let kept = sb.cache_file().with_file_name("events.bin");
    assert!(
        kept.is_file(),
        "the events cache is kept beside the metadata cache"
    );
    // Appended lines, one of them torn (no newline yet): read as a whole read does.
    append(&format!("not json\n{}", start(EVONLY, "b").trim_end()));
    let (rows, bad) = listing(&["-v"]);
    assert_eq!(rows, [GONE, EVONLY]);
    assert!(bad.unwrap().contains("1 lines are not valid"));
    append("\n");
    assert_eq!(listing(&[]).0, [GONE, EVONLY]);
    // Rewritten shorter: read whole, the old lines are gone.
    fs::write(&events, start(EVONLY, "c")).unwrap();
    assert_eq!(listing(&[]), (vec![EVONLY.to_owned()], None));
    // --no-cache reads whole and gives the same.
    append(&start(GONE, "d"));
    assert_eq!(listing(&[]).0, [GONE, EVONLY]);
    assert_eq!(listing(&["--no-cache"]).0, [GONE, EVONLY]);
}

fn filter_sandbox() -> Sandbox {
    let sb = Sandbox::new();
    let other = account(&sb.home.join(".claude-Work"));
    let now = chrono::Utc::now();
    let ago = |h: i64| {
        (now - chrono::Duration::hours(h)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    // (account, id, cwd, started, last active, prompt)
    transcript(
        &sb.current,
        "-a",
        TITLED,
        convo("/src/alpha", &ago(300), &ago(1), "Fix The PARSER"),
    );
    transcript(
        &sb.current,
        "-b",
        AI,
        convo("/src/beta", &ago(200), &ago(100), "write docs"),
    );
    transcript(
        &other,
        "-a",
        PLAIN,
        convo("/src/alpha-two", &ago(48), &ago(47), "parser again"),
    );
    transcript(
        &other,
        "-g",
        FORKED,
        convo("/src/gamma", &ago(30 * 24), &ago(30 * 24), "old things"),
    );
    let events = sb.root().join("events.jsonl");
    let ev = |id: &str, actor: &str| {
        format!(
            "{{\"ts\":\"2026-01-01T00:00:00Z\",\"type\":\"session_start\",\"actor\":\"{actor}\",\"payload\":{{\"session_id\":\"{id}\",\"role\":\"{actor}\"}}}}\n"
        )
    };
    fs::write(
        &events,
        ev(TITLED, "gastown/crew/joe") + &ev(AI, "beads/polecats/nux") + &ev(PLAIN, "mayor"),
    )
    .unwrap();
    sb
}

#[test]
fn filters_narrow_the_listing() {
    let sb = filter_sandbox();
    let ev = sb.root().join("events.jsonl");
    let ev = ev.to_str().unwrap();
    let q = |args: &[&str]| {
        let mut a = vec!["--events", ev];
        a.extend_from_slice(args);
        let mut got: Vec<String> = ids(&sb.json(&a)).iter().map(|s| s.to_string()).collect();
        got.sort();
        got
    };
    let set = |ids: &[&str]| {
        let mut v: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(q(&[]), set(&[TITLED, AI, PLAIN, FORKED]));
    assert_eq!(q(&["--role", "CREW"]), set(&[TITLED]));
    assert_eq!(q(&["--role", "polecats"]), set(&[AI]));
    assert_eq!(q(&["--rig", "GasTown"]), set(&[TITLED]));
    assert_eq!(q(&["--rig", "beads"]), set(&[AI]));
    assert_eq!(q(&["--account", ".claude"]), set(&[TITLED, AI]));
    assert_eq!(q(&["--account", ".CLAUDE-work"]), set(&[PLAIN, FORKED]));
    assert_eq!(q(&["--project", "alpha"]), set(&[TITLED, PLAIN]));
    assert_eq!(q(&["--project", "/src/gamma"]), set(&[FORKED]));
    // --since compares last activity, not the start.
    assert_eq!(q(&["--since", "90m"]), set(&[TITLED]));
    assert_eq!(q(&["--since", "50h"]), set(&[TITLED, PLAIN]));
    assert_eq!(q(&["--since", "7d"]), set(&[TITLED, AI, PLAIN]));
    assert_eq!(q(&["--since", "2w"]), set(&[TITLED, AI, PLAIN]));
    let day = (chrono::Utc::now() - chrono::Duration::days(2))
        .format("%Y-%m-%d")
        .to_string();
    assert!(q(&["--since", &day]).contains(&PLAIN.to_string()));
    assert!(!q(&["--since", &day]).contains(&FORKED.to_string()));
    let instant = (chrono::Utc::now() - chrono::Duration::hours(3)).to_rfc3339();
    assert_eq!(q(&["--since", &instant]), set(&[TITLED]));
    assert_eq!(q(&["--grep", "parser"]), set(&[TITLED, PLAIN]));
    assert_eq!(q(&["--grep", "DOCS"]), set(&[AI]));
    // Filters combine.
    assert_eq!(
        q(&["--grep", "parser", "--account", ".claude-work"]),
        set(&[PLAIN])
    );
    assert_eq!(q(&["--role", "crew", "--project", "beta"]), set(&[]));
}

#[test]
fn grep_matches_the_first_prompt_when_a_title_hides_it() {
    let sb = Sandbox::new();
    fixture_transcript(&sb.current, "-a", TITLED, "titled.jsonl");
    assert_eq!(ids(&sb.json(&["--grep", "FIX THE PARSER"])), [TITLED]);
    assert_eq!(ids(&sb.json(&["--grep", "parser rename"])), [TITLED]);
}

#[test]
fn exit_codes_for_runtime_and_usage_errors() {
    let sb = Sandbox::new();
    let (code, out, err) = sb.run(&["--account", "nosuch"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.starts_with("seance: "), "{err}");
    assert!(err.contains("nosuch"), "{err}");
    let (code, _, err) = sb.run(&["-p", "x"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = sb.run(&["--no-such-flag"]);
    assert_eq!(code, 2);
    let (code, _, _) = sb.run(&["-n", "many"]);
    assert_eq!(code, 2);
    let (code, _, _) = sb.run(&["--color", "sometimes"]);
    assert_eq!(code, 2);
    let (code, _, _) = sb.run(&["--dry-run"]);
    assert_eq!(code, 2);
    let (code, out, _) = sb.run(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Exit status"));
    let (code, _, _) = sb.run(&[]);
    assert_eq!(code, 0);
}

#[test]
fn large_transcripts_are_read_at_both_ends() {
    let sb = Sandbox::new();
    let big = "y".repeat(3 * 1024 * 1024);
    // A first record longer than the 64 KiB head window, a multi-MB middle, and the
    // title records at the end.
    let first = serde_json::json!({"type":"user","cwd":"/big","gitBranch":"trunk",
        "timestamp":"2026-03-01T00:00:00.000Z","message":{"role":"user","content":big}});
    let middle = serde_json::json!({"type":"assistant","cwd":"/big",
        "timestamp":"2026-03-01T00:30:00.000Z","message":{"role":"assistant","content":big}});
    let text = format!(
        "{first}\n{middle}\n{}\n{}\n",
        user_line("/big", "2026-03-01T01:00:00.000Z", "the end"),
        r#"{"type":"ai-title","aiTitle":"Big session"}"#,
    );
    let p = transcript(&sb.current, "-big", TITLED, &text);
    // The last line is longer than the tail window.
    let huge_last = format!(
        "{}\n{}\n",
        user_line("/huge", "2026-03-02T00:00:00.000Z", "short start"),
        // Claude Code writes `timestamp` after `message`, near the end of the line.
        serde_json::json!({"type":"assistant","message":{"role":"assistant","content":big},
            "timestamp":"2026-03-02T05:00:00.000Z"})
    );
    transcript(&sb.current, "-big", AI, &huge_last);
    let rows = sb.json(&[]);
    let r = row(&rows, TITLED);
    assert_eq!(r["cwd"], "/big");
    assert_eq!(r["git_branch"], "trunk");
    assert_eq!(r["title"], "Big session");
    assert_eq!(r["started_at"], "2026-03-01T00:00:00.000Z");
    assert_eq!(r["last_active_at"], "2026-03-01T01:00:00.000Z");
    assert_eq!(r["size_bytes"], fs::metadata(&p).unwrap().len());
    let r = row(&rows, AI);
    assert_eq!(r["title"], "short start");
    assert_eq!(r["started_at"], "2026-03-02T00:00:00.000Z");
    assert_eq!(r["last_active_at"], "2026-03-02T05:00:00.000Z");
}

#[test]
fn bad_account_sources_are_warnings_not_failures() {
    let sb = Sandbox::new();
    transcript(
        &sb.current,
        "-w",
        PLAIN,
        convo("/w", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "hi"),
    );
    let town = sb.root().join("town");
    fs::create_dir_all(town.join("mayor")).unwrap();
    fs::write(town.join("mayor/accounts.json"), "{\"accounts\": [1,").unwrap();
    let missing = sb.root().join("no-such-account");
    let out = sb
        .cmd()
        .env("GT_ROOT", &town)
        .env("SEANCE_ACCOUNT_DIRS", sb.root().join("also-missing"))
        .args(["--json", "--account-dir"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&rows), [PLAIN]);
    let err = String::from_utf8(out.stderr).unwrap();
    let warns: Vec<&str> = err.lines().collect();
    assert_eq!(warns.len(), 2, "{err}");
    assert!(
        warns
            .iter()
            .any(|l| l.contains("accounts.json") && l.contains(": 1 ")),
        "{err}"
    );
    assert!(
        warns
            .iter()
            .any(|l| l.contains("missing account") && l.contains(": 2 ")),
        "{err}"
    );
    // A missing current account is no error: it simply has no sessions yet.
    fs::remove_dir_all(&sb.current).unwrap();
    let (code, out, err) = sb.run(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(sb.current.to_str().unwrap()), "{out}");
}

#[test]
fn the_current_account_takes_its_town_handle() {
    let sb = Sandbox::new();
    let town = town(&sb);
    let work = sb.home.join(".claude-accounts/work");
    let out = sb
        .cmd()
        .env("GT_ROOT", &town)
        .env("CLAUDE_CONFIG_DIR", &work)
        .args(["--json", "-n", "0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let r = row(&rows, AI);
    assert_eq!(r["account"], "work");
    assert_eq!(r["current_account"], true);
    assert_eq!(row(&rows, PLAIN)["current_account"], false);
    // --account accepts the handle, case-insensitively, and the directory.
    let out = sb
        .cmd()
        .env("GT_ROOT", &town)
        .args(["--json", "-n", "0", "--account", "WORK"])
        .output()
        .unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&rows), [AI]);
    let out = sb
        .cmd()
        .env("GT_ROOT", &town)
        .args(["--json", "-n", "0", "--account"])
        .arg(sb.home.join("elsewhere/home"))
        .output()
        .unwrap();
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids(&rows), [PLAIN]);
}

#[test]
fn a_closed_stdout_is_a_quiet_success() {
    let sb = Sandbox::new();
    for i in 0..300 {
        let id = format!("{i:08x}-0000-4000-8000-000000000000");
        transcript(
            &sb.current,
            "-many",
            &id,
            convo("/m", "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z", "x"),
        );
    }
    for args in [&["--json", "-n", "0"][..], &["-n", "0"]] {
        let mut cmd = sb.std_cmd();
        let mut child = cmd
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Like `seance | head -c 0`: the reader goes away before the listing is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn equal_start_times_are_ordered_by_id_and_the_first_event_wins() {
    let sb = Sandbox::new();
    let ts = "2026-03-01T00:00:00Z";
    for id in [PLAIN, TITLED, AI] {
        transcript(&sb.current, "-w", id, convo("/w", ts, ts, "x"));
    }
    let events = sb.root().join("events.jsonl");
    let ev = |actor: &str, t: &str| {
        format!(
            "{{\"ts\":\"{t}\",\"type\":\"session_start\",\"actor\":\"{actor}\",\"payload\":{{\"session_id\":\"{EVONLY}\",\"role\":\"{actor}\"}}}}\n"
        )
    };
    // A restart of the same session later on does not change who started it.
    fs::write(
        &events,
        ev("rig/crew/first", "2026-02-01T00:00:00Z")
            + &ev("rig/crew/second", "2026-02-02T00:00:00Z"),
    )
    .unwrap();
    let rows = sb.json(&["--events", events.to_str().unwrap()]);
    assert_eq!(ids(&rows), [TITLED, AI, PLAIN, EVONLY]);
    let e = row(&rows, EVONLY);
    assert_eq!(e["actor"], "rig/crew/first");
    assert_eq!(e["started_at"], "2026-02-01T00:00:00.000Z");
}

// ---- Issue 11 (§4, §5): forks, title sidecars, "HEAD" branches, live sessions ----

/// A record of a conversation as Claude Code writes it: `uuid`, `timestamp`, `sessionId`.
fn record(kind: &str, sid: &str, uuid: &str, ts: &str, text: &str, branch: &str) -> String {
    serde_json::json!({"type": kind, "uuid": uuid, "sessionId": sid, "timestamp": ts,
        "cwd": "/w/fork", "gitBranch": branch, "message": {"role": kind, "content": text}})
    .to_string()
}

/// A `-p` transcript: its queue-operation line (written by the session's own claude, at
/// `made`), records copied from a parent (`copied`, re-stamped with `sid`), then its own.
fn p_session(
    sid: &str,
    made: &str,
    copied: &[(&str, &str, &str, &str)],
    own: &[(&str, &str, &str, &str)],
) -> String {
    let mut lines = vec![
        serde_json::json!({"type":"queue-operation","operation":"enqueue","timestamp":made,"sessionId":sid}).to_string(),
    ];
    for (kind, uuid, ts, text) in copied.iter().chain(own) {
        lines.push(record(kind, sid, uuid, ts, text, "HEAD"));
    }
    lines.join("\n") + "\n"
}

const P_ID: &str = "0a000001-0000-4000-8000-000000000001";
const F1_ID: &str = "0b000002-0000-4000-8000-000000000002";
const F2_ID: &str = "0c000003-0000-4000-8000-000000000003";
const G_ID: &str = "0d000004-0000-4000-8000-000000000004";

fn u(n: u32) -> String {
    format!("{n:08x}-1111-4111-8111-111111111111")
}

/// P (asked at 10:00, went on at 10:20), F1 forked from P at 10:10, F2 from P at 10:30
/// (after P went on), G from F1 at 10:40. Written youngest first, so the files' birth
/// times say the opposite of the truth: only what the transcripts say can order them.
fn fork_family(sb: &Sandbox) {
    let (u1, u2, u3, u4, u5, u6, u7, u8) = (u(1), u(2), u(3), u(4), u(5), u(6), u(7), u(8));
    let p_first = [
        (
            "user",
            u1.as_str(),
            "2026-04-01T10:00:00.000Z",
            "root question",
        ),
        (
            "assistant",
            u2.as_str(),
            "2026-04-01T10:00:01.000Z",
            "root answer",
        ),
    ];
    let p_later = [
        ("user", u5.as_str(), "2026-04-01T10:20:00.000Z", "P goes on"),
        ("assistant", u6.as_str(), "2026-04-01T10:20:01.000Z", "ok"),
    ];
    let f1_own = [
        ("user", u3.as_str(), "2026-04-01T10:10:00.000Z", "F1 asks"),
        ("assistant", u4.as_str(), "2026-04-01T10:10:01.000Z", "ok"),
    ];
    let both: Vec<_> = p_first.iter().chain(&p_later).copied().collect();
    let f1_all: Vec<_> = p_first.iter().chain(&f1_own).copied().collect();
    let g_own = [("user", u7.as_str(), "2026-04-01T10:40:00.000Z", "G asks")];
    let f2_own = [("user", u8.as_str(), "2026-04-01T10:30:00.000Z", "F2 asks")];
    let folder = "-w-fork";
    transcript(
        &sb.current,
        folder,
        G_ID,
        p_session(G_ID, "2026-04-01T10:39:59.000Z", &f1_all, &g_own),
    );
    transcript(
        &sb.current,
        folder,
        F2_ID,
        p_session(F2_ID, "2026-04-01T10:29:59.000Z", &both, &f2_own),
    );
    transcript(
        &sb.current,
        folder,
        F1_ID,
        p_session(F1_ID, "2026-04-01T10:09:59.000Z", &p_first, &f1_own),
    );
    transcript(
        &sb.current,
        folder,
        P_ID,
        p_session(P_ID, "2026-04-01T09:59:59.000Z", &[], &both),
    );
}

#[test]
fn forks_name_their_nearest_parent_start_when_made_and_keep_their_own_prompt() {
    let sb = Sandbox::new();
    fork_family(&sb);
    // Twice: the second listing comes from the cache.
    for _ in 0..2 {
        // By start: the default order is by last activity (the files' mtimes).
        let rows = sb.json(&["--sort", "started"]);
        let typed: Vec<Row> = serde_json::from_value(Value::Array(rows.clone())).expect("schema");
        assert_eq!(typed.len(), 4);
        let p = row(&rows, P_ID);
        assert_eq!(p["forked_from"], Value::Null, "{p:#}");
        assert_eq!(p["started_at"], "2026-04-01T09:59:59.000Z");
        assert_eq!(p["first_prompt"], "root question");
        for (id, parent, made, asked) in [
            (F1_ID, P_ID, "2026-04-01T10:10:00.000Z", "F1 asks"),
            (F2_ID, P_ID, "2026-04-01T10:30:00.000Z", "F2 asks"),
            (G_ID, F1_ID, "2026-04-01T10:40:00.000Z", "G asks"),
        ] {
            let r = row(&rows, id);
            assert_eq!(r["forked_from"], parent, "{r:#}");
            assert_eq!(
                r["started_at"], made,
                "a fork starts when it was made: {r:#}"
            );
            assert_eq!(r["first_prompt"], asked, "{r:#}");
            assert_eq!(r["title"], asked, "untitled: shown by its own first prompt");
            // Outside git Claude Code writes "HEAD": no branch.
            assert_eq!(r["git_branch"], Value::Null, "{r:#}");
        }
        // Newest first, by when each was made (they all copy P's first record time).
        assert_eq!(ids(&rows), [G_ID, F2_ID, F1_ID, P_ID]);
    }
}

#[test]
fn a_fork_keeps_the_title_its_records_carry() {
    let sb = Sandbox::new();
    fork_family(&sb);
    let f1 = sb
        .current
        .join("projects/-w-fork")
        .join(format!("{F1_ID}.jsonl"));
    let mut text = fs::read_to_string(&f1).unwrap();
    text.push_str(&format!(
        "{{\"type\":\"custom-title\",\"customTitle\":\"Copied name\",\"sessionId\":\"{F1_ID}\"}}\n"
    ));
    fs::write(&f1, text).unwrap();
    let rows = sb.json(&[]);
    let r = row(&rows, F1_ID);
    assert_eq!(r["title"], "Copied name");
    assert_eq!(r["first_prompt"], "F1 asks");
}

#[test]
fn title_sidecar_ranks_below_rename_records_and_a_bad_one_is_a_warning() {
    let sb = Sandbox::new();
    let path = fixture_transcript(&sb.current, "-s", AI, "ai-titled.jsonl");
    fixture_transcript(&sb.current, "-s", TITLED, "titled.jsonl");
    fixture_transcript(&sb.current, "-s", PLAIN, "plain.jsonl");
    let sidecar_of = |id: &str| path.parent().unwrap().join(id).join("custom-title.json");
    for id in [AI, TITLED] {
        fs::create_dir_all(sidecar_of(id).parent().unwrap().join("subagents")).unwrap();
        fs::write(
            sidecar_of(id),
            r#"{"customTitle":"Picked in the picker","by":"user","at":"2026-03-01T11:00:00Z"}"#,
        )
        .unwrap();
    }
    // A folder named like a session, without a transcript, has nothing to say.
    fs::create_dir_all(path.parent().unwrap().join(UNTITLED)).unwrap();
    let rows = sb.json(&[]);
    // Over an AI title; under a `custom-title` record (as 2.1.332's picker ranks them).
    assert_eq!(row(&rows, AI)["title"], "Picked in the picker");
    assert_eq!(row(&rows, TITLED)["title"], "My parser rename");
    assert_eq!(row(&rows, PLAIN)["title"], "where is the config loaded");
    let sidecar = sidecar_of(AI);
    // Changed: seen through the cache (the sidecar's own size and mtime).
    fs::write(&sidecar, r#"{"customTitle":"Renamed again","by":"user"}"#).unwrap();
    set_mtime(&sidecar, 1_900_000_000);
    assert_eq!(row(&sb.json(&[]), AI)["title"], "Renamed again");
    // Bad JSON: one warning, the records' title.
    fs::write(&sidecar, "{\"customTitle\": ").unwrap();
    let (code, out, err) = sb.run(&["--json"]);
    assert_eq!(code, 0);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(row(&rows, AI)["title"], "Docs (AI)");
    assert!(err.contains("malformed title files ignored: 1"), "{err}");
    // A FIFO is refused without blocking; gone is gone.
    fs::remove_file(&sidecar).unwrap();
    let c = std::ffi::CString::new(sidecar.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo only reads the NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (code, out, _) = sb.run(&["--json", "--no-cache"]);
    assert_eq!(code, 0);
    let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(row(&rows, AI)["title"], "Docs (AI)");
    fs::remove_file(&sidecar).unwrap();
    assert_eq!(row(&sb.json(&[]), AI)["title"], "Docs (AI)");
}

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

#[test]
fn live_is_a_running_registered_process_started_when_it_says() {
    let sb = Sandbox::new();
    for id in [TITLED, AI, PLAIN, SUMMARISED] {
        fixture_transcript(&sb.current, "-l", id, "plain.jsonl");
    }
    let registry = sb.current.join("sessions");
    fs::create_dir_all(&registry).unwrap();
    let mut running = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let pid = running.id();
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    let now = now_ms();
    let entry = |pid: u32, sid: &str, started: u128| {
        format!(
            r#"{{"pid":{pid},"sessionId":"{sid}","cwd":"/w","startedAt":{started},"kind":"interactive","status":"busy","version":"2.1.332"}}"#
        )
    };
    // The live one; a crashed claude's leftover (dead pid); a pid now in use by a
    // process that started an hour after that claude registered; and junk.
    fs::write(
        registry.join(format!("{pid}.json")),
        entry(pid, TITLED, now),
    )
    .unwrap();
    fs::write(registry.join(format!("{dead}.json")), entry(dead, AI, now)).unwrap();
    let mine = std::process::id();
    fs::write(
        registry.join(format!("{mine}.json")),
        entry(mine, PLAIN, now - 3_600_000),
    )
    .unwrap();
    fs::write(registry.join("77.json"), "{\"pid\":").unwrap();
    let rows = sb.json(&[]);
    let typed: Vec<Row> = serde_json::from_value(Value::Array(rows.clone())).expect("schema");
    assert_eq!(typed.len(), 4);
    let live = &row(&rows, TITLED)["live"];
    assert_eq!(
        *live,
        serde_json::json!({"pid": pid, "status": "busy", "kind": "interactive"})
    );
    for id in [AI, PLAIN, SUMMARISED] {
        assert_eq!(row(&rows, id)["live"], Value::Null, "{id}");
    }
    running.kill().unwrap();
    running.wait().unwrap();
    assert_eq!(row(&sb.json(&[]), TITLED)["live"], Value::Null, "ended");
}
