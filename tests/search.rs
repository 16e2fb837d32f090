//! Integration tests of `--search` on the fixtures in `fixtures/search/`: what counts as
//! conversation (and what never does), JSON escapes, smart case, `-F`, filters, the
//! table and JSON outputs, and bad input.

mod list_support;

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use serde_json::Value;

use list_support::*;

const CONVO: &str = "5e000001-1111-4111-8111-000000000001";
const V332: &str = "5e000002-2222-4222-8222-000000000002";
const TITLES: &str = "5e000003-3333-4333-8333-000000000003";
const PARENT: &str = "5e000004-4444-4444-8444-000000000004";
const SIDECAR: &str = "5e000005-5555-4555-8555-000000000005";
const INDEXED: &str = "5e000006-6666-4666-8666-000000000006";

/// The fixture `fixtures/search/<name>` with `SID` replaced by `id`.
fn search_fixture(name: &str, id: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/search")
        .join(name);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path:?}: {e}"))
        .replace("SID", id)
}

/// A sandbox holding every fixture: the conversation and the 2.1.332 session in the
/// current account, the titled, subagent, sidecar and indexed sessions in a second one.
fn corpus() -> Sandbox {
    let sb = Sandbox::new();
    let other = account(&sb.home.join(".claude-work"));
    transcript(
        &sb.current,
        "-home-dev-work-convo",
        CONVO,
        search_fixture("conversation.jsonl", CONVO),
    );
    transcript(
        &sb.current,
        "-home-dev-work-v332",
        V332,
        search_fixture("v332.jsonl", V332),
    );
    transcript(
        &other,
        "-home-dev-work-titles",
        TITLES,
        search_fixture("titles.jsonl", TITLES),
    );
    let parent = transcript(
        &other,
        "-home-dev-work-parent",
        PARENT,
        search_fixture("parent.jsonl", PARENT),
    );
    let sub = parent.with_file_name(PARENT).join("subagents");
    fs::create_dir_all(&sub).unwrap();
    fs::write(
        sub.join("agent-ag1.jsonl"),
        search_fixture("subagent.jsonl", PARENT),
    )
    .unwrap();
    // A session renamed in 2.1.332's picker: the title only in the sidecar.
    let side = transcript(
        &other,
        "-home-dev-work-parent",
        SIDECAR,
        user_line("/home/dev/work/parent", "2026-11-17T10:00:00.000Z", "plain"),
    );
    let dir = side.with_file_name(SIDECAR);
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("custom-title.json"),
        r#"{"customTitle":"Sidecar Title Plum","by":"user","at":"2026-11-17T10:00:05Z"}"#,
    )
    .unwrap();
    // A session whose summary is only in the legacy index.
    transcript(
        &other,
        "-home-dev-work-parent",
        INDEXED,
        user_line(
            "/home/dev/work/parent",
            "2026-11-16T10:00:00.000Z",
            "indexed",
        ),
    );
    let index = serde_json::json!({"version":1,"entries":[
        {"sessionId": INDEXED, "summary": "Index Summary Grape", "customTitle": "Indexed rename"}]});
    fs::write(
        side.with_file_name("sessions-index.json"),
        index.to_string(),
    )
    .unwrap();
    sb
}

/// The ids `seance --json -n 0 --search <args>` lists, sorted.
fn found(sb: &Sandbox, args: &[&str]) -> Vec<String> {
    let mut a = vec!["--search"];
    a.extend_from_slice(args);
    let mut got: Vec<String> = ids(&sb.json(&a)).iter().map(|s| s.to_string()).collect();
    got.sort();
    got
}

#[test]
fn metadata_is_never_a_hit() {
    let sb = corpus();
    // Every place the marker sits: cwd, gitBranch, tool ids, skill listing, request
    // shapes and blobs, prompt snapshot, toolUseResult, meta and system records,
    // last-prompt, queue-operation, agent-name, cost-state.
    assert_eq!(found(&sb, &["metaneedle"]), Vec::<String>::new());
    for m in [
        "metaneedle-cwd",
        "metaneedle-branch",
        "metaneedle-skill",
        "metaneedle-shape",
        "metaneedle-blob",
        "metaneedle-request",
        "metaneedle-snapshot",
        "metaneedle-dup",
        "metaneedle-reminder",
        "metaneedle-lastprompt",
        "metaneedle-queue",
    ] {
        assert_eq!(found(&sb, &[m]), Vec::<String>::new(), "{m}");
    }
    // Ids are metadata too.
    assert_eq!(found(&sb, &[&CONVO[..13]]), Vec::<String>::new());
    // The raw bytes do hold it: ripgrep's answer would differ.
    let raw = fs::read_to_string(
        sb.current
            .join("projects/-home-dev-work-v332")
            .join(format!("{V332}.jsonl")),
    )
    .unwrap();
    assert!(raw.contains("metaneedle-shape") && raw.contains("metaneedle-snapshot"));
}

#[test]
fn conversation_is_found_wherever_it_was_said() {
    let sb = corpus();
    let one = |id: &str| vec![id.to_string()];
    assert_eq!(found(&sb, &["assistantonly-kiwi"]), one(CONVO));
    assert_eq!(found(&sb, &["tooluse-mango"]), one(CONVO));
    assert_eq!(found(&sb, &["toolresult-papaya"]), one(CONVO));
    assert_eq!(found(&sb, &["subagent-quince"]), one(PARENT));
    assert_eq!(found(&sb, &["second session words"]), one(V332));
    // Titles: custom, AI and summary records, the sidecar, the index.
    assert_eq!(found(&sb, &["custom title fig"]), one(TITLES));
    assert_eq!(found(&sb, &["ai title lime"]), one(TITLES));
    assert_eq!(found(&sb, &["summary record pear"]), one(TITLES));
    assert_eq!(found(&sb, &["sidecar title plum"]), one(SIDECAR));
    assert_eq!(found(&sb, &["index summary grape"]), one(INDEXED));
    assert_eq!(found(&sb, &["indexed rename"]), one(INDEXED));
    // Regex alternatives span sessions.
    assert_eq!(
        found(&sb, &["kiwi|quince"]),
        [CONVO.to_string(), PARENT.to_string()]
    );
}

#[test]
fn phrases_split_by_json_escapes_are_found() {
    let sb = corpus();
    let one = vec![CONVO.to_string()];
    // A quote (`\"` on disk), a line break (`\n`), raw and `\u`-escaped non-ASCII.
    assert_eq!(found(&sb, &["said \"open sesame\" twice"]), one);
    assert_eq!(found(&sb, &["said \"open sesame\"", "-F"]), one);
    assert_eq!(found(&sb, &[r"line one\nline two"]), one);
    assert_eq!(found(&sb, &[r"twice\.\s+line one"]), one);
    assert_eq!(found(&sb, &["crème brûlée"]), one);
    assert_eq!(found(&sb, &["déjà vu"]), one);
    assert_eq!(found(&sb, &[r"d\wj\w vu"]), one);
    // The escape itself is not text: `\n` literally (backslash, n) is not in it.
    assert!(found(&sb, &[r"one\nline", "-F"]).is_empty());
    assert!(found(&sb, &[r#"said \\"open"#]).is_empty());
}

#[test]
fn smart_case_both_ways_and_fixed_strings() {
    let sb = corpus();
    let one = vec![CONVO.to_string()];
    // Lowercase: any case, non-ASCII folded too.
    assert_eq!(
        found(&sb, &["ASSISTANTONLY-KIWI".to_lowercase().as_str()]),
        one
    );
    assert_eq!(found(&sb, &["CRÈME".to_lowercase().as_str()]), one);
    // An uppercase letter: exact case.
    assert_eq!(found(&sb, &["Crème brûlée"]), one);
    assert!(found(&sb, &["CRÈME"]).is_empty());
    assert!(found(&sb, &["Assistantonly-kiwi"]).is_empty());
    // `\W` is a class, not an uppercase letter: still case-insensitive.
    assert_eq!(found(&sb, &[r"shed\W\scrème"]), one);
    assert!(found(&sb, &[r"shed\W\sCRÈME"]).is_empty());
    // -F: regex characters are literal.
    assert!(found(&sb, &["assistantonly.kiwi", "-F"]).is_empty());
    assert_eq!(found(&sb, &["assistantonly.kiwi"]), one);
    assert_eq!(found(&sb, &["src/a.rs:1: toolresult", "-F"]), one);
    assert!(found(&sb, &["(kiwi", "-F"]).is_empty());
}

#[test]
fn an_invalid_pattern_is_a_usage_error() {
    let sb = corpus();
    let (code, out, err) = sb.run(&["--search", "lantern("]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("invalid --search pattern"), "{err}");
    assert!(err.contains("unclosed group"), "{err}");
    let (code, _, err) = sb.run(&["-F", "x"]);
    assert_eq!(code, 2, "-F needs --search: {err}");
    let (code, _, _) = sb.run(&["--search", "lantern(", "-F"]);
    assert_eq!(code, 0);
}

#[test]
fn search_combines_with_the_other_filters() {
    let sb = corpus();
    // "words" is in V332's prompt, "prompt" in TITLES' one, "plain"/"indexed" in others.
    let all = found(&sb, &["words|session prompt|plain|indexed"]);
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(
        found(&sb, &["words|session prompt", "--account", ".claude-work"]),
        [TITLES.to_string()]
    );
    assert_eq!(
        found(&sb, &["words|session prompt|plain", "--project", "v332"]),
        [V332.to_string()]
    );
    assert_eq!(
        found(&sb, &["words|plain", "--grep", "PLAIN"]),
        [SIDECAR.to_string()]
    );
    assert!(found(&sb, &["kiwi", "--account", ".claude-work"]).is_empty());
    assert!(found(&sb, &["kiwi", "--since", "2099-01-01"]).is_empty());
    // -n cuts the hits, newest first, and the rows shown still carry full counts.
    let limited = |args: &[&str]| -> Vec<Value> {
        let out = sb.cmd().arg("--json").args(args).output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let rows = limited(&["--search", "words|session prompt|plain|indexed", "-n", "2"]);
    assert_eq!(ids(&rows), [V332, TITLES]);
    let (code, out, _) = sb.run(&["--search", "words|session prompt|plain|indexed", "-n", "2"]);
    assert_eq!(code, 0);
    assert!(out.contains("2 of 4 sessions"), "{out}");
    let rows = limited(&["--search", "e", "-n", "1"]);
    assert_eq!(ids(&rows), [V332]);
    let all_rows = sb.json(&["--search", "e"]);
    assert_eq!(rows[0]["matches"], row(&all_rows, V332)["matches"]);
}

#[test]
fn json_rows_carry_matches_only_with_search() {
    let sb = corpus();
    for r in sb.json(&[]) {
        assert!(r.get("matches").is_none(), "{r}");
    }
    let rows = sb.json(&["--search", "kiwi|papaya|mango|lantern"]);
    let m = &row(&rows, CONVO)["matches"];
    // Four records: the prompt, the assistant text, the tool call, the tool result.
    assert_eq!(m["count"], 4, "{m}");
    let snippets = m["snippets"].as_array().unwrap();
    assert_eq!(snippets.len(), 3, "at most three: {m}");
    let roles: Vec<&str> = snippets
        .iter()
        .map(|s| s["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "tool_use"]);
    assert_eq!(snippets[0]["timestamp"], "2026-11-20T10:00:01.000Z");
    assert_eq!(snippets[0]["subagent"], false);
    assert!(
        snippets[0]["text"]
            .as_str()
            .unwrap()
            .contains("\"open sesame\" twice.\nline one"),
        "raw text, line breaks and all: {m}"
    );
    let rows = sb.json(&["--search", "quince"]);
    let s = &row(&rows, PARENT)["matches"]["snippets"][0];
    assert_eq!(s["subagent"], true, "{s}");
    assert_eq!(s["role"], "assistant");
    // A title repeated in many records counts once; titles have no time.
    let rows = sb.json(&["--search", "fig"]);
    let m = &row(&rows, TITLES)["matches"];
    assert_eq!(m["count"], 1, "{m}");
    assert_eq!(m["snippets"][0]["role"], "title");
    assert_eq!(m["snippets"][0]["timestamp"], Value::Null);
}

#[test]
fn the_table_shows_hits_and_a_snippet_under_each_row() {
    let sb = corpus();
    let (code, out, err) = sb.run(&["--search", "quince|kiwi", "--color", "never"]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("HITS"), "{out}");
    let at = |id: &str| lines.iter().position(|l| l.starts_with(&id[..8])).unwrap();
    assert!(lines[at(CONVO) + 1].starts_with("    assistant: "), "{out}");
    assert!(lines[at(CONVO) + 1].contains("kiwi"), "{out}");
    assert!(
        lines[at(PARENT) + 1].starts_with("    assistant (subagent): "),
        "{out}"
    );
    // Colour: the match alone is highlighted.
    let (_, out, _) = sb.run(&["--search", "kiwi", "--color", "always"]);
    assert!(out.contains("\u{1b}[31m\u{1b}[1mkiwi\u{1b}[0m"), "{out:?}");
    // A snippet's control characters never reach the terminal.
    let id = "5e000007-7777-4777-8777-000000000007";
    transcript(
        &sb.current,
        "-x",
        id,
        user_line(
            "/x",
            "2026-11-22T00:00:00.000Z",
            "evil \u{1b}]0;pwned\u{7} hostile-kiwi \u{202e}",
        ),
    );
    let (_, out, _) = sb.run(&["--search", "hostile-kiwi", "--color", "never"]);
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{202e}'),
        "{out:?}"
    );
    assert!(out.contains("hostile-kiwi"), "{out}");
}

#[test]
fn bad_input_never_panics_and_never_gives_a_false_hit() {
    let sb = Sandbox::new();
    let ts = "2026-11-22T00:00:00.000Z";
    let good = user_line("/w", ts, "a good line");
    // Corrupt lines, invalid UTF-8, a truncated last line, a NUL-filled file.
    let mut bad = Vec::new();
    bad.extend_from_slice(good.as_bytes());
    bad.extend_from_slice(b"\n{\"type\":\"user\",\"message\":{\"content\":\"corrupt-fig\"\n");
    bad.extend_from_slice(
        b"{\"type\":\"user\",\"message\":{\"content\":\"bad \xff\xfe utf8-fig\"}}\n",
    );
    bad.extend_from_slice(b"\x00\x00 not json at all corrupt-fig\n");
    bad.extend_from_slice(b"{\"type\":\"user\",\"message\":{\"content\":\"truncated-fig");
    let id_bad = "bad00001-1111-4111-8111-000000000001";
    transcript(&sb.current, "-w", id_bad, &bad);
    // A line over the 16 MiB cap holding the marker, then a normal hit.
    let id_huge = "bad00002-2222-4222-8222-000000000002";
    let path = transcript(&sb.current, "-w", id_huge, format!("{good}\n"));
    {
        let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
        let filler = "huge-fig ".repeat(1 << 20);
        writeln!(
            f,
            "{{\"type\":\"user\",\"message\":{{\"content\":\"{filler}{filler}\"}}}}"
        )
        .unwrap();
        writeln!(
            f,
            "{}",
            user_line("/w", ts, "after the huge line: late-fig")
        )
        .unwrap();
    }
    let out = sb
        .cmd()
        .args(["--json", "-n", "0", "--search", "fig"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    // Invalid UTF-8 in a valid record is searched as far as it decodes.
    let m = &row(&rows, id_bad)["matches"];
    assert_eq!(m["count"], 1, "{m}");
    assert!(
        m["snippets"][0]["text"]
            .as_str()
            .unwrap()
            .contains("utf8-fig")
    );
    // The huge line is skipped, with one warning line; the rest of the file is searched.
    let m = &row(&rows, id_huge)["matches"];
    assert_eq!(m["count"], 1, "{m}");
    assert!(
        m["snippets"][0]["text"]
            .as_str()
            .unwrap()
            .contains("late-fig")
    );
    let huge: Vec<&str> = err.lines().filter(|l| l.contains("16 MiB")).collect();
    assert_eq!(huge.len(), 1, "{err}");
    assert!(err.contains("corrupt lines not searched"), "{err}");
    // Only the huge line held this one: no hit.
    assert!(sb.json(&["--search", "huge-fig"]).is_empty());
    assert!(
        sb.json(&["--search", "corrupt-fig|truncated-fig"])
            .is_empty()
    );
}

#[test]
fn a_transcript_that_shrinks_or_grows_while_searched_gives_no_false_hit() {
    let sb = Sandbox::new();
    let id = "bad00003-3333-4333-8333-000000000003";
    let ts = "2026-11-22T00:00:00.000Z";
    // 40 MB of conversation whose only marker is in metadata.
    let line = serde_json::json!({"type":"user","cwd":"/w/meta-plum","timestamp":ts,
        "message":{"role":"user","content":"filler ".repeat(500)}})
    .to_string();
    let body = format!("{line}\n").repeat(40_000_000 / line.len());
    let path = transcript(&sb.current, "-w", id, &body);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = {
        let (stop, path, body) = (stop.clone(), path.clone(), body.clone());
        std::thread::spawn(move || {
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let f = fs::OpenOptions::new().write(true).open(&path).unwrap();
                // Cut mid-line, then grow again.
                f.set_len((body.len() / 3 + i * 7919) as u64 % body.len() as u64)
                    .unwrap();
                drop(f);
                fs::write(&path, &body).unwrap();
                i += 1;
            }
        })
    };
    for _ in 0..5 {
        let out = sb
            .cmd()
            .args(["--json", "-n", "0", "--search", "meta-plum"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        assert!(rows.is_empty(), "{rows:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    churn.join().unwrap();
}
