//! Integration tests of the metadata cache (`$XDG_CACHE_HOME/seance/transcripts-v1.bin`):
//! a listing served from the cache equals a fresh one, a changed transcript is re-read,
//! a corrupt cache is harmless, and `--no-cache` writes nothing.

mod list_support;

use std::fs;
use std::io::Write;

use serde_json::Value;

use list_support::*;
use seance::discover::cache::{self, Cache, CacheKey};
use seance::discover::transcript::TranscriptMeta;

fn fixtures(sb: &Sandbox) {
    fixture_transcript(&sb.current, "-a", TITLED, "titled.jsonl");
    fixture_transcript(&sb.current, "-a", AI, "ai-titled.jsonl");
    fixture_transcript(&sb.current, "-b", SUMMARISED, "summarised.jsonl");
    fixture_transcript(&sb.current, "-b", PLAIN, "plain.jsonl");
    fixture_transcript(&sb.current, "-c", FORKED, "forked.jsonl");
    fixture_transcript(&sb.current, "-c", UNTITLED, "untitled.jsonl");
}

fn cache_rows(sb: &Sandbox) -> Vec<(CacheKey, TranscriptMeta)> {
    Cache::load(&sb.cache_file()).into_rows()
}

#[test]
fn a_listing_from_the_cache_equals_a_fresh_one() {
    let sb = Sandbox::new();
    fixtures(&sb);
    let fresh = sb.json(&["--no-cache"]);
    assert!(!sb.cache_file().exists());
    let first = sb.json(&[]);
    assert!(sb.cache_file().exists());
    assert_eq!(cache_rows(&sb).len(), 6);
    let cached = sb.json(&[]);
    assert_eq!(fresh.len(), 6);
    assert_eq!(first, fresh);
    assert_eq!(cached, fresh);
}

#[test]
fn the_second_run_is_served_from_the_cache() {
    // Proof that the equality above compares a cached row, not a second fresh read:
    // a cache row whose size and mtime match is believed.
    let sb = Sandbox::new();
    fixtures(&sb);
    sb.json(&[]);
    let mut rows = cache_rows(&sb);
    assert_eq!(rows.len(), 6);
    for (k, m) in &mut rows {
        if k.path.to_str().unwrap().contains(TITLED) {
            m.title = Some("from the cache".into());
        }
    }
    cache::save(&sb.cache_file(), rows.iter().map(|(k, m)| (k, m).into())).unwrap();
    assert_eq!(row(&sb.json(&[]), TITLED)["title"], "from the cache");
    assert_eq!(
        row(&sb.json(&["--no-cache"]), TITLED)["title"],
        "My parser rename"
    );
}

#[test]
fn a_changed_transcript_is_read_again() {
    let sb = Sandbox::new();
    fixtures(&sb);
    let before = sb.json(&[]);
    let path = sb.current.join(format!("projects/-b/{PLAIN}.jsonl"));
    let mut f = fs::OpenOptions::new().append(true).open(&path).unwrap();
    writeln!(
        f,
        r#"{{"type":"custom-title","customTitle":"Renamed later"}}"#
    )
    .unwrap();
    writeln!(
        f,
        "{}",
        user_line("/work/plain", "2026-03-10T00:00:00.000Z", "more")
    )
    .unwrap();
    drop(f);
    stamp(&path);
    let after = sb.json(&[]);
    let r = row(&after, PLAIN);
    assert_eq!(r["title"], "Renamed later");
    assert_eq!(r["last_active_at"], "2026-03-10T00:00:00.000Z");
    assert_eq!(r["size_bytes"], fs::metadata(&path).unwrap().len());
    assert_ne!(row(&before, PLAIN)["size_bytes"], r["size_bytes"]);
    assert_eq!(after, sb.json(&["--no-cache"]));
    // The other rows did not change.
    for id in [TITLED, AI, SUMMARISED, FORKED, UNTITLED] {
        assert_eq!(row(&before, id), row(&after, id), "{id}");
    }
}

#[test]
fn a_same_size_rewrite_with_a_new_mtime_is_read_again() {
    let sb = Sandbox::new();
    let ts = "2026-03-01T00:00:00Z";
    let path = transcript(&sb.current, "-a", TITLED, convo("/w", ts, ts, "title AAAA"));
    set_mtime(&path, 1_770_000_000);
    assert_eq!(sb.json(&[])[0]["title"], "title AAAA");
    fs::write(&path, convo("/w", ts, ts, "title BBBB")).unwrap();
    set_mtime(&path, 1_770_000_001);
    assert_eq!(sb.json(&[])[0]["title"], "title BBBB");
}

#[test]
fn a_deleted_transcript_leaves_the_listing_and_the_cache() {
    let sb = Sandbox::new();
    fixtures(&sb);
    sb.json(&[]);
    fs::remove_file(sb.current.join(format!("projects/-c/{FORKED}.jsonl"))).unwrap();
    let rows = sb.json(&[]);
    assert_eq!(rows.len(), 5);
    assert!(!ids(&rows).contains(&FORKED));
    assert_eq!(cache_rows(&sb).len(), 5);
}

#[test]
fn a_corrupt_cache_gives_correct_output_and_is_rebuilt() {
    let sb = Sandbox::new();
    fixtures(&sb);
    let fresh = sb.json(&["--no-cache"]);
    fs::create_dir_all(sb.cache_file().parent().unwrap()).unwrap();
    sb.json(&[]);
    let good = fs::read(sb.cache_file()).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let junk: [&[u8]; 6] = [
        b"{\"version\":1,\"rows\":[{\"path\":",
        b"\x00\x01\x02binary",
        b"[]",
        &good[..good.len() / 2],
        &flipped,
        b"",
    ];
    for j in junk {
        fs::write(sb.cache_file(), j).unwrap();
        let (code, out, err) = sb.run(&["--json", "-n", "0"]);
        assert_eq!(code, 0, "{err}");
        let rows: Vec<Value> = serde_json::from_str(&out).unwrap();
        assert_eq!(rows, fresh, "cache {j:?}");
        assert_eq!(cache_rows(&sb).len(), 6, "not rebuilt after {j:?}");
    }
}

#[test]
fn no_cache_writes_no_cache() {
    let sb = Sandbox::new();
    fixtures(&sb);
    sb.json(&["--no-cache"]);
    assert!(!sb.cache_file().exists());
    assert!(!sb.cache_home.join("seance").exists());
    // Nor does it touch one that exists.
    sb.json(&[]);
    let before = fs::read(sb.cache_file()).unwrap();
    fixture_transcript(&sb.current, "-d", GONE, "plain.jsonl");
    sb.json(&["--no-cache"]);
    assert_eq!(fs::read(sb.cache_file()).unwrap(), before);
}

#[test]
fn an_unwritable_cache_location_does_not_fail_the_listing() {
    let sb = Sandbox::new();
    fixtures(&sb);
    // XDG_CACHE_HOME is a regular file: no directory can be made under it, root or not.
    let file = sb.root().join("cache-is-a-file");
    fs::write(&file, "x").unwrap();
    let out = sb
        .cmd()
        .env("XDG_CACHE_HOME", &file)
        .args(["--json", "-n", "0"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows.len(), 6);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
