//! Forks: which session each fork was made from, when it was made, and what it asked.
//!
//! Claude Code records no parent (2.1.197 and 2.1.332 write no `forkedFrom`, checked):
//! `--fork-session` starts the new transcript with copies of the parent's conversation
//! records, same `uuid`, same `timestamp`, only `sessionId` rewritten (2.1.332 leaves out
//! the parent's `api-request*`, `queue-operation` and similar lines). Sessions that share
//! the `uuid` of their first prompt are therefore one conversation forked, and the
//! records give the rest:
//!
//! - a member's *copied* records are those an older member already holds, its *own* the
//!   others; a member with no copied record is the root;
//! - its parent is the oldest member holding its last copied record (that record's
//!   writer): this names the nearest ancestor, also when the parent went on after the
//!   fork (its later records are in no fork of the earlier point) and for forks of forks;
//! - it was made at its first own record (`started_at`), and its first prompt is the
//!   first real prompt among its own records.
//!
//! "Older" needs an order that copies cannot tie. Each member is dated by its *birth*:
//! the earlier of its file's birth time ([`crate::platform::fs::birth_time`]) and the
//! time of the first bookkeeping line in its head
//! ([`super::transcript::TranscriptMeta::bookkeeping_at`], written by the fork itself).
//! Both are after every record the fork copied, so a parent is always older than its
//! fork. Where neither is known (no birth time on the file system and a head without
//! bookkeeping lines), the first timestamp is used, which a fork shares with its parent:
//! the tie then goes to the member holding fewer records (a parent that has not gone on
//! is a prefix of its fork), then to the smaller id. A file
//! copied from elsewhere (a restore, `rsync`) is born when copied, so it is the
//! bookkeeping time that keeps such members in order.

use std::hash::BuildHasher;
use std::io::{self, BufReader, Read};
use std::path::Path;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use hashbrown::HashMap;
use memchr::memmem::Finder;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::transcript::{Message, Prompt, Raw, RecordUuid, TranscriptMeta};
use crate::util::fsread::{Line, for_each_line};
use crate::util::jsonscan;
use crate::util::timefmt::parse_timestamp;

/// Lines longer than this (16 MiB) are skipped when reading a chain: their record is
/// left out rather than held in memory.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// One conversation record of a chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainRecord {
    /// The record's `uuid`, as a number.
    pub uuid: u128,
    /// Its `timestamp`, in milliseconds since the Unix epoch.
    pub at_ms: Option<i64>,
}

/// A transcript's conversation records (every line with a UUID-shaped `uuid`) in file
/// order, and its real prompts. Read in full, so only for sessions that need it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chain {
    /// The records, in file order.
    pub records: Vec<ChainRecord>,
    /// The real user prompts (as [`TranscriptMeta::first_prompt`] picks them): index into
    /// `records`, and the text clipped to [`super::transcript::MAX_TEXT_CHARS`].
    pub prompts: Vec<(u32, String)>,
}

/// A UUID's 32 hex digits as a number; `None` for anything not shaped like a UUID.
fn uuid_number(s: &str) -> Option<u128> {
    super::uuid_bytes(s.as_bytes(), super::HexCase::Any).map(u128::from_be_bytes)
}

static UUID_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"uuid\""));
/// How far from either end of a record line its short members are looked for (4 KiB;
/// Claude Code's members around `type` and after `uuid`, `cwd` and `sessionId` among
/// them, take a few hundred bytes).
const NEAR_END: usize = 4096;
static TYPE_KEY: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b",\"type\":"));
static UUID_MEMBER: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b",\"uuid\":"));

/// Reads the chain of the transcript at `path`, whose size was `size` bytes: every line
/// up to that size, one at a time (a line over 16 MiB is skipped unread).
///
/// Errors: opening (a file that is not regular is refused without blocking) or reading.
pub fn read_chain(path: &Path, size: u64) -> io::Result<Chain> {
    let (file, _) = crate::util::fsread::open_regular(path)?;
    let reader = BufReader::with_capacity(256 * 1024, file.take(size));
    let mut chain = Chain::default();
    for_each_line(reader, MAX_LINE, |line| {
        if let Line::Whole(line) = line {
            add_line(&mut chain, line);
        }
    })?;
    Ok(chain)
}

/// The top-level members of a line a chain needs, as written.
#[derive(Default)]
struct Fields<'a> {
    ty: Option<&'a [u8]>,
    uuid: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    is_meta: bool,
    is_compact_summary: bool,
    message: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    /// Keeps member `key` if it is one of those wanted; never stops the scan.
    fn take(&mut self, key: &[u8], value: &'a [u8]) -> bool {
        match key {
            b"type" => self.ty = Some(value),
            b"uuid" => self.uuid = Some(value),
            b"timestamp" => self.timestamp = Some(value),
            b"isMeta" => self.is_meta = value == b"true",
            b"isCompactSummary" => self.is_compact_summary = value == b"true",
            b"message" => self.message = Some(value),
            _ => {}
        }
        true
    }
}

/// The members of a record line found without stepping through its content, or `None`
/// when the line is not shaped as Claude Code writes it. Claude Code writes `uuid` and
/// `timestamp` after a record's content, and `type` either just before them (2.1.332)
/// or among the short members before the content (2.1.197). So: the members from the
/// last `,"type":` in the line's last [`NEAR_END`] bytes on, when they are the
/// object's own; else those from the start
/// up to `type` (given up past [`NEAR_END`] bytes) and those from the last `,"uuid":`
/// in the last [`NEAR_END`] bytes on. What lies between is not checked.
fn quick_fields(line: &[u8]) -> Option<Fields<'_>> {
    let near_end = line.len().saturating_sub(NEAR_END);
    let tail = &line[near_end..];
    let mut f = Fields::default();
    if let Some(at) = TYPE_KEY.find_iter(tail).last() {
        if jsonscan::last_members(line, near_end + at, |key, value| f.take(key, value)).is_some() {
            return Some(f);
        }
        // A nested `type`, in content that ends near the line's end.
        f = Fields::default();
    }
    let start = line.as_ptr() as usize;
    let mut near_start = true;
    jsonscan::members(line, |key, value| {
        f.take(key, value);
        near_start = value.as_ptr() as usize + value.len() - start <= NEAR_END;
        key != b"type" && near_start
    })?;
    if !near_start || f.ty.is_none() {
        return None;
    }
    let at = UUID_MEMBER.find_iter(tail).last()?;
    jsonscan::last_members(line, near_end + at, |key, value| f.take(key, value))?;
    Some(f)
}

/// Adds the line's record to `chain` if it has a UUID-shaped `uuid`, with its prompt if
/// it is a user record holding a real one. The line's members are found by
/// [`jsonscan`] without parsing the (often large) content, by [`quick_fields`] where
/// that gives all that is needed; only a user record's `message` is parsed. A
/// line that is not one JSON object (as far as the scan checks), or a user record
/// whose `message` does not parse, is left out.
fn add_line(chain: &mut Chain, line: &[u8]) {
    let is_user = |f: &Fields| f.ty.and_then(jsonscan::string).as_deref() == Some("user");
    let mut f = quick_fields(line);
    if f.as_ref()
        .is_none_or(|f| f.uuid.is_none() || f.ty.is_none() || is_user(f))
    {
        // A line with no `"uuid"` anywhere is no record. Searched only now: a record's
        // `uuid` follows its content, so the search would cross all of it, and the quick
        // read has found most records' `uuid` from the end.
        if f.as_ref().is_none_or(|f| f.uuid.is_none()) && UUID_KEY.find(line).is_none() {
            return;
        }
        let mut all = Fields::default();
        if jsonscan::members(line, |key, value| all.take(key, value)).is_none() {
            return;
        }
        f = Some(all);
    }
    let Some(f) = f else { return };
    let Some(uuid) = f
        .uuid
        .and_then(jsonscan::string)
        .and_then(|u| uuid_number(&u))
    else {
        return;
    };
    let may_prompt = !f.is_meta && !f.is_compact_summary && is_user(&f);
    let prompt = match (may_prompt, f.message) {
        (true, Some(m)) => match serde_json::from_slice::<Message<Prompt>>(m) {
            Ok(m) => m.prompt(),
            // A content the quick read refuses is read again raw.
            Err(_) => match serde_json::from_slice::<Message<Raw>>(m) {
                Ok(m) => m.prompt(),
                Err(_) => return,
            },
        },
        _ => None,
    };
    let at_ms = f
        .timestamp
        .and_then(jsonscan::string)
        .and_then(|t| parse_timestamp(&t))
        .map(|t| t.timestamp_millis());
    let index = u32::try_from(chain.records.len()).unwrap_or(u32::MAX);
    chain.records.push(ChainRecord { uuid, at_ms });
    if let Some(text) = prompt {
        chain.prompts.push((index, text));
    }
}

/// What the fork analysis needs of one transcript.
pub struct Member<'a> {
    /// The session id.
    pub id: &'a str,
    /// The transcript's metadata (its chain filled by [`fill_chains`]).
    pub meta: &'a TranscriptMeta,
    /// The transcript file's birth time, where known.
    pub file_born: Option<DateTime<Utc>>,
}

/// What the analysis found for a fork.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fork {
    /// The session it was forked from.
    pub parent: String,
    /// When it was made: its first own record's timestamp.
    pub made_at: Option<DateTime<Utc>>,
    /// The first prompt asked in it (`None` when none was).
    pub first_prompt: Option<String>,
}

/// Indices of the transcripts that share their first prompt's uuid with another, grouped
/// (each group in ascending order; the groups in no particular order).
pub fn groups(metas: &[Option<&TranscriptMeta>]) -> Vec<Vec<usize>> {
    // The uuids are hashed in parallel: the serial pass below then reads a uuid's bytes
    // (likely not in this core's cache) only to confirm a match.
    let hasher = hashbrown::DefaultHashBuilder::default();
    let uuids: Vec<Option<(&RecordUuid, u64)>> = metas
        .par_iter()
        .map(|m| {
            let u = (*m)?.first_prompt_uuid.as_ref()?;
            Some((u, hasher.hash_one(u)))
        })
        .collect();
    // Each uuid's first transcript, and its group once a second one shares it: almost
    // every uuid has one transcript, so no list is made until a second turns up.
    let mut by_uuid: hashbrown::HashTable<(usize, Option<usize>)> =
        hashbrown::HashTable::with_capacity(metas.len());
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let uuid = |i: usize| uuids[i];
    for (i, &(u, hash)) in uuids
        .iter()
        .enumerate()
        .filter_map(|(i, u)| Some((i, u.as_ref()?)))
    {
        let entry = by_uuid.entry(
            hash,
            |&(first, _)| uuid(first).is_some_and(|(f, _)| f == u),
            |&(first, _)| uuid(first).map_or(0, |(_, h)| h),
        );
        match entry {
            hashbrown::hash_table::Entry::Vacant(e) => {
                e.insert((i, None));
            }
            hashbrown::hash_table::Entry::Occupied(mut e) => match e.get_mut() {
                (_, Some(g)) => groups[*g].push(i),
                (first, group @ None) => {
                    *group = Some(groups.len());
                    groups.push(vec![*first, i]);
                }
            },
        }
    }
    groups
}

/// The fork analysis of one group (members sharing a first prompt's uuid): for each
/// member, in `members`' order, its [`Fork`] or `None` for the root.
pub fn link_group(members: &[Member]) -> Vec<Option<Fork>> {
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by_key(|&i| birth_key(&members[i]));
    let mut out = vec![None; members.len()];
    // Each record's uuid, with the oldest member holding it (its writer).
    // Record uuids are random: foldhash (hashbrown's default) is enough, and several
    // times cheaper than SipHash on 16-byte keys.
    let records: usize = members
        .iter()
        .filter_map(|m| m.meta.chain.as_ref())
        .map(|c| c.records.len())
        .sum();
    let mut holder: HashMap<u128, usize> = HashMap::with_capacity(records);
    for (rank, &i) in order.iter().enumerate() {
        let m = &members[i];
        let Some(chain) = &m.meta.chain else {
            // Unreadable now: by time alone, a fork of the oldest member.
            if rank > 0 {
                out[i] = Some(Fork {
                    parent: members[order[0]].id.to_owned(),
                    made_at: None,
                    first_prompt: m.meta.first_prompt.clone(),
                });
            }
            continue;
        };
        out[i] = analyse(members, chain, &holder);
        for r in &chain.records {
            holder.entry(r.uuid).or_insert(i);
        }
    }
    out
}

/// Copied and own records of one chain against the records of every older member.
fn analyse(members: &[Member], chain: &Chain, holder: &HashMap<u128, usize>) -> Option<Fork> {
    let last_copied = chain
        .records
        .iter()
        .rposition(|r| holder.contains_key(&r.uuid))?;
    let parent = holder[&chain.records[last_copied].uuid];
    let own = |i: usize| !holder.contains_key(&chain.records[i].uuid);
    let made_at = (0..chain.records.len())
        .filter(|&i| own(i))
        .filter_map(|i| chain.records[i].at_ms)
        .min()
        .and_then(DateTime::<Utc>::from_timestamp_millis);
    let first_prompt = chain
        .prompts
        .iter()
        .find(|(i, _)| own(*i as usize))
        .map(|(_, text)| text.clone());
    Some(Fork {
        parent: members[parent].id.to_owned(),
        made_at,
        first_prompt,
    })
}

/// A time that sorts after every known one when unknown.
type LateIfUnknown = (bool, Option<DateTime<Utc>>);

fn late_if_unknown(t: Option<DateTime<Utc>>) -> LateIfUnknown {
    (t.is_none(), t)
}

/// Sort key for "older": birth (earliest known), then file birth, then first timestamp,
/// then fewer records first (a parent that has not gone on is a prefix of its fork),
/// then id. Unknown times sort last.
fn birth_key<'a>(m: &Member<'a>) -> (LateIfUnknown, LateIfUnknown, LateIfUnknown, usize, &'a str) {
    let born = match (m.file_born, m.meta.bookkeeping_at) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let records = m.meta.chain.as_ref().map_or(0, |c| c.records.len());
    (
        late_if_unknown(born),
        late_if_unknown(m.file_born),
        late_if_unknown(m.meta.first_timestamp),
        records,
        m.id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ts(s: &str) -> DateTime<Utc> {
        parse_timestamp(s).unwrap()
    }

    fn rec(u: u128, at: &str) -> ChainRecord {
        ChainRecord {
            uuid: u,
            at_ms: Some(ts(at).timestamp_millis()),
        }
    }

    fn meta(records: Vec<ChainRecord>, prompts: &[(u32, &str)], book: &str) -> TranscriptMeta {
        TranscriptMeta {
            first_timestamp: records
                .first()
                .and_then(|r| r.at_ms)
                .and_then(DateTime::from_timestamp_millis),
            bookkeeping_at: Some(ts(book)),
            chain: Some(Box::new(Chain {
                records,
                prompts: prompts.iter().map(|(i, t)| (*i, (*t).to_owned())).collect(),
            })),
            ..Default::default()
        }
    }

    const T0: &str = "2026-01-01T00:00:00.000Z";
    const T1: &str = "2026-01-01T00:00:01.000Z";
    const T2: &str = "2026-01-01T00:00:02.000Z";
    const T3: &str = "2026-01-01T00:00:03.000Z";
    const T4: &str = "2026-01-01T00:00:04.000Z";
    const T5: &str = "2026-01-01T00:00:05.000Z";

    #[test]
    fn siblings_a_parent_that_went_on_and_a_fork_of_a_fork() {
        // P: prompt 1, answer 2 at T0; goes on with 7, 8 at T3.
        let p = meta(
            vec![rec(1, T0), rec(2, T0), rec(7, T3), rec(8, T3)],
            &[(0, "root"), (2, "P goes on")],
            T0,
        );
        // F1 forks P at T1; F2 forks P at T4 after P went on; G forks F1 at T5.
        let f1 = meta(
            vec![rec(1, T0), rec(2, T0), rec(3, T1), rec(4, T1)],
            &[(0, "root"), (2, "F1 asks")],
            T1,
        );
        let f2 = meta(
            vec![rec(1, T0), rec(2, T0), rec(7, T3), rec(8, T3), rec(9, T4)],
            &[(0, "root"), (2, "P goes on"), (4, "F2 asks")],
            T4,
        );
        let g = meta(
            vec![rec(1, T0), rec(2, T0), rec(3, T1), rec(4, T1), rec(5, T5)],
            &[(0, "root"), (2, "F1 asks"), (4, "G asks")],
            T5,
        );
        // Every file reports the same (useless) birth time, as after a copy.
        let born = Some(ts("2026-06-01T00:00:00Z"));
        let ids = ["g", "f2", "p", "f1"];
        let metas = [&g, &f2, &p, &f1];
        let members: Vec<Member> = ids
            .iter()
            .zip(metas)
            .map(|(id, meta)| Member {
                id,
                meta,
                file_born: born,
            })
            .collect();
        let got = link_group(&members);
        let parent = |i: usize| got[i].as_ref().map(|f| f.parent.as_str());
        assert_eq!(parent(2), None, "p is the root");
        assert_eq!(parent(3), Some("p"));
        assert_eq!(parent(1), Some("p"), "f2 copied p's later records");
        assert_eq!(parent(0), Some("f1"), "g copied f1's own records");
        let f = got[0].as_ref().unwrap();
        assert_eq!(f.made_at, Some(ts(T5)));
        assert_eq!(f.first_prompt.as_deref(), Some("G asks"));
        assert_eq!(
            got[1].as_ref().unwrap().first_prompt.as_deref(),
            Some("F2 asks")
        );
    }

    #[test]
    fn birth_time_orders_members_without_bookkeeping_lines() {
        let mut p = meta(vec![rec(1, T0), rec(2, T0)], &[(0, "root")], T0);
        let mut f = meta(
            vec![rec(1, T0), rec(2, T0), rec(3, T2)],
            &[(0, "root"), (2, "mine")],
            T0,
        );
        p.bookkeeping_at = None;
        f.bookkeeping_at = None;
        let members = [
            Member {
                id: "a-fork",
                meta: &f,
                file_born: Some(ts(T2)),
            },
            Member {
                id: "b-parent",
                meta: &p,
                file_born: Some(ts(T0)),
            },
        ];
        let got = link_group(&members);
        assert_eq!(got[0].as_ref().map(|f| f.parent.as_str()), Some("b-parent"));
        assert_eq!(got[1], None);
        // With no birth time either, the parent not gone on is a prefix: fewer records
        // means older.
        let members = [
            Member {
                id: "a-fork",
                meta: &f,
                file_born: None,
            },
            Member {
                id: "b-parent",
                meta: &p,
                file_born: None,
            },
        ];
        let got = link_group(&members);
        assert_eq!(got[0].as_ref().map(|f| f.parent.as_str()), Some("b-parent"));
    }

    #[test]
    fn chain_reading_skips_what_is_not_a_record() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let u1 = "11111111-1111-4111-8111-111111111111";
        let u2 = "22222222-2222-4222-8222-222222222222";
        writeln!(f, r#"{{"type":"queue-operation","timestamp":"{T0}"}}"#).unwrap();
        writeln!(
            f,
            r#"{{"type":"user","uuid":"{u1}","timestamp":"{T1}","message":{{"content":"hello"}}}}"#
        )
        .unwrap();
        writeln!(f, "not json {{\"uuid\"").unwrap();
        writeln!(
            f,
            r#"{{"type":"user","uuid":"not-a-uuid","timestamp":"{T1}"}}"#
        )
        .unwrap();
        writeln!(
            f,
            r#"{{"type":"user","isMeta":true,"uuid":"{u2}","message":{{"content":"meta"}}}}"#
        )
        .unwrap();
        // Read without its content first (no `"user"` in it), then again as a user record.
        writeln!(
            f,
            r#"{{"type":"\u0075ser","uuid":"{u2}","message":{{"content":"escaped"}}}}"#
        )
        .unwrap();
        writeln!(
            f,
            r#"{{"type":"assistant","uuid":"{u2}","message":{{"content":"not a prompt"}}}}"#
        )
        .unwrap();
        write!(f, r#"{{"type":"user","uuid":"{u1}","message":{{"content":[{{"type":"text","text":"cut"}}]}}}}"#).unwrap();
        let size = f.as_file().metadata().unwrap().len();
        let c = read_chain(f.path(), size).unwrap();
        assert_eq!(c.records.len(), 5);
        assert_eq!(c.records[0].uuid, 0x11111111111141118111111111111111);
        assert_eq!(c.records[0].at_ms, Some(ts(T1).timestamp_millis()));
        assert_eq!(c.records[1].at_ms, None);
        assert_eq!(
            c.prompts,
            [
                (0, "hello".to_owned()),
                (2, "escaped".to_owned()),
                (4, "cut".to_owned())
            ]
        );
        // Only the first `size` bytes count (a file still being written).
        let c = read_chain(f.path(), 10).unwrap();
        assert!(c.records.is_empty());
    }

    /// A record's `type`, `uuid` and `timestamp` as written.
    type Short<'a> = [Option<&'a [u8]>; 3];

    /// What a full scan of `line` gives for the members a chain needs.
    fn full(line: &[u8]) -> Option<Short<'_>> {
        let mut f = Fields::default();
        jsonscan::members(line, |k, v| f.take(k, v))?;
        Some([f.ty, f.uuid, f.timestamp])
    }

    #[test]
    fn quick_fields_agree_with_a_full_scan_or_give_up() {
        let big = "x\\\"".repeat(2000);
        let nested = r#"{"a":[{"k":1,"type":"user","uuid":"N"}],"b":{"c":2,"uuid":"N2"}}"#;
        let lines = [
            // 2.1.332: content first, type/uuid/timestamp after it.
            format!(
                r#"{{"parentUuid":null,"attachment":{{"t":"{big}","n":{nested}}},"type":"attachment","uuid":"U","timestamp":"T","cwd":"/x"}}"#
            ),
            // 2.1.197: type before the content, uuid after it.
            format!(
                r#"{{"parentUuid":"P","cwd":"/x","type":"assistant","message":{{"content":"{big}","n":{nested}}},"uuid":"U","timestamp":"T"}}"#
            ),
            // A nested `,"type":`/`,"uuid":` after the object's own: refused, so a full scan.
            format!(r#"{{"type":"assistant","uuid":"U","message":{{"n":{nested}}}}}"#),
            format!(r#"{{"x":1,"type":"assistant","uuid":"U","message":{{"n":{nested}}}}}"#),
            // The type far from both ends.
            format!(r#"{{"a":"{big}","type":"system","b":"{big}","uuid":"U"}}"#),
            // Not shaped like an object at the end.
            r#"{"parentUuid":"P","type":"assistant","message":{},"uuid":"U""#.to_owned(),
        ];
        let mut quick = 0;
        for line in &lines {
            let line = line.as_bytes();
            if let Some(f) = quick_fields(line) {
                quick += 1;
                assert_eq!(Some([f.ty, f.uuid, f.timestamp]), full(line));
            }
        }
        assert_eq!(quick, 2, "the two shapes");
        assert!(quick_fields(lines[2].as_bytes()).is_none());
        assert!(quick_fields(lines[4].as_bytes()).is_none());
        assert!(quick_fields(lines[5].as_bytes()).is_none());
    }

    #[test]
    fn uuid_numbers() {
        assert_eq!(
            uuid_number("0123abcd-EF45-4678-9abc-def012345678"),
            Some(0x0123abcd_ef45_4678_9abc_def012345678)
        );
        assert_eq!(uuid_number("0123abcd-ef45-4678-9abc-def01234567"), None);
        assert_eq!(uuid_number("0123abcd-ef45-4678-9abc-def01234567g"), None);
        assert_eq!(uuid_number("0123abcdef45-4678-9abc-def012345678-"), None);
    }

    #[test]
    fn overlong_lines_are_skipped_not_held() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        let u1 = "11111111-1111-4111-8111-111111111111";
        let huge = "x".repeat(MAX_LINE + 10);
        writeln!(
            f,
            r#"{{"type":"user","uuid":"{u1}","message":{{"content":"{huge}"}}}}"#
        )
        .unwrap();
        writeln!(
            f,
            r#"{{"type":"user","uuid":"{u1}","message":{{"content":"after"}}}}"#
        )
        .unwrap();
        let size = f.as_file().metadata().unwrap().len();
        let c = read_chain(f.path(), size).unwrap();
        assert_eq!(c.records.len(), 1);
        assert_eq!(c.prompts, [(0, "after".to_owned())]);
    }
}
