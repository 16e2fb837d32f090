//! Corpus generator for seance's listing benchmark (issue 5): writes N accounts of Claude
//! Code transcripts plus a Gas Town town, shaped like the real thing, deterministically.
//!
//! Built as the `gen-corpus` example so it never ships in the `seance` binary:
//! `cargo run --release --example gen-corpus -- <root> --sessions 20000 --accounts 4`.
//!
//! Layout written under `<root>`:
//! - `home/.claude`, `home/.claude-work`, `home/.claude-alt`, `home/.ccs/instances/x`, ...
//!   (one config dir per account), each with `projects/<folder>/<uuid>.jsonl`, some
//!   `<uuid>/subagents/agent-<id>.jsonl`, `memory/` folders, and stale, partial, corrupt or
//!   fresh `sessions-index.json` files;
//! - `town/mayor/town.json`, `town/mayor/accounts.json`, `town/.events.jsonl`;
//! - `corpus.json`, the parameters and totals (the bench script keys its reuse on it).
//!
//! Record shapes follow what Claude Code writes: `--shape 197` (the default) those of a
//! real 2.1.197 `-p` session, `--shape 332` those of real 2.1.332 sessions (request shapes,
//! 7.5 KB and 57–63 KB prompt snapshots, `api-request` per model call, `cost-state` last;
//! a one-turn session is ~160 KB). Sizes are lognormal around `--median-kb` with about 1%
//! of files of several MB, half of those holding a single line of several MB.
//!
//! `--preset zipf` (the default) spreads sessions over projects of very unequal sizes and a
//! Gas Town of agents; `--preset independent` rebuilds issue 14's independent corpus:
//! `--accounts` x `--folders` x `--per-folder` sessions, 1% files of 6 MB, 15% with
//! subagents, `session_start` events for half, index files in half the folders (a few
//! broken), custom or AI titles on about 65%.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use clap::Parser;

/// Command line of the generator.
#[derive(Parser, Debug)]
#[command(about = "Generate a synthetic Claude Code + Gas Town corpus for seance's benchmark")]
struct Args {
    /// Output root; `home/`, `town/` and `corpus.json` are created inside it.
    root: PathBuf,
    /// Number of top-level sessions (transcripts), spread over the accounts.
    #[arg(long, default_value_t = 20_000)]
    sessions: usize,
    /// Number of accounts (config dirs).
    #[arg(long, default_value_t = 4)]
    accounts: usize,
    /// Median transcript size in KiB (the lognormal's median; 1% of files are several MB).
    #[arg(long, default_value_t = 40)]
    median_kb: u64,
    /// Seed of the generator; the same seed and `--now` give byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of lines in the town's `.events.jsonl`.
    #[arg(long, default_value_t = 30_000)]
    events_lines: usize,
    /// "Now" in Unix seconds; mtimes and timestamps fall in the 60 days before it.
    /// Defaults to the start of the current UTC day, so reruns on one day agree.
    #[arg(long)]
    now: Option<i64>,
    /// Writer threads (default: available parallelism).
    #[arg(long)]
    threads: Option<usize>,
    /// Record shapes of the transcripts: `197` (Claude Code 2.1.197, ~9 KB for a one-turn
    /// session) or `332` (2.1.332: request shapes and prompt snapshots, ~140 KB a turn).
    #[arg(long, value_enum, default_value_t = Shape::V197)]
    shape: Shape,
    /// Corpus layout: `zipf` (projects of very unequal sizes, a town of agents) or
    /// `independent` (`--folders` folders per account, `--per-folder` sessions in each,
    /// 6 MB big files, 15% subagents, session_start events for half the sessions, index
    /// files in half the folders, titles on about 65%); `--sessions` is ignored then.
    #[arg(long, value_enum, default_value_t = Preset::Zipf)]
    preset: Preset,
    /// Project folders per account (`--preset independent`).
    #[arg(long, default_value_t = 100)]
    folders: usize,
    /// Sessions per project folder (`--preset independent`).
    #[arg(long, default_value_t = 50)]
    per_folder: usize,
}

/// Which Claude Code version's record shapes a transcript has.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum Shape {
    /// Claude Code 2.1.197.
    #[value(name = "197")]
    V197,
    /// Claude Code 2.1.332.
    #[value(name = "332")]
    V332,
}

/// How sessions are spread over accounts and folders, and the odds of the extras.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
enum Preset {
    /// The issue-5 corpus: Zipf-like projects, a Gas Town of agents.
    Zipf,
    /// The corpus of issue 14's independent run: a grid of accounts x folders x sessions.
    Independent,
}

fn main() -> Result<()> {
    let mut args = Args::parse();
    // Absolute, so cwds and config_dir paths written into the corpus mean the same thing
    // from anywhere.
    fs::create_dir_all(&args.root).with_context(|| format!("creating {}", args.root.display()))?;
    args.root = fs::canonicalize(&args.root)?;
    anyhow::ensure!(args.accounts >= 1, "--accounts must be at least 1");
    anyhow::ensure!(args.median_kb >= 1, "--median-kb must be at least 1");
    if args.preset == Preset::Independent {
        anyhow::ensure!(
            args.folders >= 1 && args.per_folder >= 1,
            "--folders and --per-folder must be at least 1"
        );
        args.sessions = args.accounts * args.folders * args.per_folder;
    }
    let started = Instant::now();
    let now = args.now.unwrap_or_else(|| {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        secs - secs % 86_400
    });
    let filler = Filler::new(args.seed);
    let plan = Plan::new(&args, now);
    plan.create_dirs()?;
    let totals = write_sessions(&plan, &filler, args.threads)?;
    let index_files = plan.write_indexes(&filler)?;
    plan.write_account_files()?;
    let events_bytes = plan.write_town(&filler, args.events_lines)?;
    let manifest = serde_json::json!({
        "generator": "seance gen-corpus 3",
        "preset": format!("{:?}", args.preset).to_lowercase(),
        "shape": match args.shape { Shape::V197 => "2.1.197", Shape::V332 => "2.1.332" },
        "sessions": args.sessions,
        "accounts": args.accounts,
        "median_kb": args.median_kb,
        "seed": args.seed,
        "events_lines": args.events_lines,
        "now": now,
        "account_dirs": plan.accounts.iter().map(|a| a.dir.display().to_string()).collect::<Vec<_>>(),
        "jsonl_files": totals.files,
        "jsonl_bytes": totals.bytes,
        "subagent_files": totals.subagents,
        "index_files": index_files,
        "titled_sessions": plan.sessions.iter().filter(|s| s.ai_title.is_some() || s.custom_title.is_some()).count(),
        "events_bytes": events_bytes,
    });
    fs::write(
        args.root.join("corpus.json"),
        serde_json::to_vec_pretty(&manifest)?,
    )
    .context("writing corpus.json")?;
    eprintln!(
        "gen-corpus: {} sessions ({} jsonl files incl. {} subagent, {:.1} MiB) over {} accounts, \
         {} index files, events {:.1} MiB, in {:.1?}",
        args.sessions,
        totals.files,
        totals.subagents,
        totals.bytes as f64 / 1048576.0,
        args.accounts,
        index_files,
        events_bytes as f64 / 1048576.0,
        started.elapsed()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Randomness: a small deterministic PRNG (SplitMix64), one stream per session, so the
// output does not depend on how sessions are spread over threads.

/// SplitMix64: tiny, fast, and good enough for synthetic data.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Self {
        let mut r = Rng(seed ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(stream.wrapping_add(1)));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((self.next() as u128 * n as u128) >> 64) as usize
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(1e-300);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
    /// A random UUID v4 in its canonical lowercase form.
    fn uuid(&mut self) -> String {
        let a = self.next();
        let b = self.next();
        let a = (a & !0xF000) | 0x4000; // version 4 in the third group
        let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000; // variant 10
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xFFFF,
            a & 0xFFFF,
            b >> 48,
            b & 0xFFFF_FFFF_FFFF
        )
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let _ = write!(s, "{:016x}", self.next());
        }
        s.truncate(n);
        s
    }
}

// ---------------------------------------------------------------------------------------
// Filler text: a large buffer of JSON-string-safe words (with JSON escapes, ANSI escapes
// and non-ASCII text like real tool output has), sliced only at spaces so every slice is
// valid inside a JSON string.

struct Filler {
    text: Vec<u8>,
}

const WORDS: &[&str] = &[
    "the",
    "a",
    "fn",
    "let",
    "mut",
    "impl",
    "pub",
    "struct",
    "return",
    "Ok(())",
    "=>",
    "{",
    "}",
    "self.inner",
    "src/main.rs:42:17",
    "error[E0308]:",
    "warning:",
    "mismatched",
    "types",
    "expected",
    "found",
    "cargo",
    "test",
    "--release",
    "passed;",
    "failed;",
    "\\n",
    "\\n\\n",
    "\\t",
    "\\\"quoted\\\"",
    "caf\u{e9}",
    "na\u{ef}ve",
    "\u{65e5}\u{672c}\u{8a9e}",
    "\u{2014}",
    "\\u001b[31m",
    "\\u001b[0m",
    "let's",
    "check",
    "the",
    "config",
    "file",
    "where",
    "did",
    "you",
    "put",
    "handoff",
    "notes",
    "function",
    "returns",
    "value",
    "\\\\path\\\\to",
    "/home/dev/src/lib.rs",
    "0x7ffd",
    "TODO:",
    "42",
    "1.2.3",
    "git",
    "diff",
    "+added",
    "-removed",
    "@@",
    "-1,7",
    "+1,9",
    "@@",
    "assert_eq!(a,",
    "b);",
];

impl Filler {
    fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed, u64::MAX);
        let mut text = Vec::with_capacity(1 << 20);
        while text.len() < (1 << 20) {
            let w = rng.pick(WORDS);
            text.extend_from_slice(w.as_bytes());
            text.push(b' ');
        }
        Filler { text }
    }

    /// Appends about `n` bytes of filler (never splitting a word) to `out`.
    fn push(&self, out: &mut Vec<u8>, rng: &mut Rng, n: usize) {
        let len = self.text.len();
        let mut left = n;
        let mut pos = self.word_start(rng.below(len));
        let mut first = true;
        loop {
            if !first {
                out.push(b' ');
            }
            first = false;
            let want = left.min(len - pos);
            let end = if pos + want >= len {
                len - 1 // drop the trailing space
            } else {
                match memchr::memchr(b' ', &self.text[pos + want..]) {
                    Some(i) => pos + want + i,
                    None => len - 1,
                }
            };
            out.extend_from_slice(&self.text[pos..end]);
            let took = end - pos + 1;
            if took >= left {
                break;
            }
            left -= took;
            pos = 0;
        }
    }

    fn word_start(&self, at: usize) -> usize {
        match memchr::memchr(b' ', &self.text[at..]) {
            Some(i) if at + i + 1 < self.text.len() => at + i + 1,
            _ => 0,
        }
    }

    /// A short filler string of about `n` bytes.
    fn string(&self, rng: &mut Rng, n: usize) -> String {
        let mut v = Vec::with_capacity(n + 16);
        self.push(&mut v, rng, n);
        String::from_utf8(v).expect("filler is UTF-8")
    }
}

/// Escapes a string for inclusion inside JSON double quotes.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// ISO-8601 UTC with milliseconds, as in transcript `timestamp` fields.
fn iso_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// RFC 3339 UTC to the second, as in Gas Town's `ts`.
fn iso_s(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Claude Code's project folder name for a cwd: every UTF-16 unit outside [A-Za-z0-9]
/// becomes '-'; names over 200 chars are cut and suffixed with a Java-style hash in base 36.
fn project_folder(cwd: &str) -> String {
    let mut name = String::with_capacity(cwd.len());
    let mut h: i32 = 0;
    for u in cwd.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(u as i32);
        if u < 128 && (u as u8).is_ascii_alphanumeric() {
            name.push(u as u8 as char);
        } else {
            name.push('-');
        }
    }
    if name.len() <= 200 {
        return name;
    }
    let mut n = (h as i64).unsigned_abs();
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    name.truncate(200);
    name.push('-');
    name.push_str(std::str::from_utf8(&digits).expect("ascii"));
    name
}

// ---------------------------------------------------------------------------------------
// The plan: accounts, projects and sessions decided up front (sequentially, from one RNG
// stream), then written in parallel.

struct Account {
    handle: String,
    /// Path relative to `home`, as `accounts.json` names it after `~/`.
    rel: String,
    dir: PathBuf,
    /// Indices into `Plan::projects`.
    projects: Vec<usize>,
}

struct Project {
    cwd: String,
    folder: String,
    /// Gas Town actor (`<rig>/crew/<name>`, `mayor`, ...) when the cwd is a town agent dir.
    actor: Option<String>,
    branch: String,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Normal,
    /// Several MB made of ordinary records.
    Big,
    /// Several MB, most of it one line (a huge tool result), placed as said.
    HugeLine(HugeAt),
    Empty,
    /// Last line cut mid-record (a crash during an append).
    Truncated,
    /// Random bytes, not JSON at all.
    Binary,
    /// One garbage line in the middle.
    CorruptLine,
    /// Only `summary` records, as very old versions left behind.
    SummaryOnly,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum HugeAt {
    /// The first user prompt itself is megabytes (a pasted log).
    FirstPrompt,
    /// A huge tool result right after the first exchange (inside the first 64 KiB).
    Early,
    /// A huge tool result just before the closing title records.
    Late,
}

struct Session {
    account: usize,
    project: usize,
    id: String,
    start_ms: i64,
    target: usize,
    kind: Kind,
    entry: &'static str,
    version: &'static str,
    first_prompt: String,
    /// `None`: the session has no AI title (`--preset independent` leaves ~35% untitled).
    ai_title: Option<String>,
    custom_title: Option<String>,
    summary: Option<String>,
    /// The session this one was forked from.
    forked_from: Option<String>,
    /// Whether the fork says so in a `forkedFrom` field (2.1.197 does not).
    mark_fork: bool,
    /// uuid of the first prompt's record, shared with forks.
    first_uuid: String,
    subagents: usize,
    /// Whether the town's events file has a `session_start` for it (`independent`).
    gt_start: bool,
}

struct Plan {
    root: PathBuf,
    now_ms: i64,
    seed: u64,
    shape: Shape,
    preset: Preset,
    accounts: Vec<Account>,
    projects: Vec<Project>,
    sessions: Vec<Session>,
}

const ACCOUNT_DIRS: &[(&str, &str)] = &[
    ("personal", ".claude"),
    ("work", ".claude-work"),
    ("alt", ".claude-alt"),
    ("ccs-x", ".ccs/instances/x"),
    ("ccs-y", ".ccs/instances/y"),
    ("team", ".claude-accounts/team"),
];

const PROMPTS: &[&str] = &[
    "fix the flaky test in the {} module",
    "where did you put the handoff notes for {}?",
    "refactor {} so the parser owns its buffer",
    "why does cargo build fail on {} after the merge",
    "add a --json flag to {} and pin its schema",
    "review the diff in {} for correctness bugs",
    "the {} benchmark regressed 30%, find out why",
    "write integration tests for {} using a temp dir",
    "explain what {} does with the lock file",
    "migrate {} off the deprecated index format",
];
const NOUNS: &[&str] = &[
    "discover",
    "linker",
    "reaper",
    "events",
    "transcript",
    "accounts",
    "output",
    "config",
    "index patch",
    "talk runner",
    "sanitize",
    "folder encoding",
];
const TOOLS: &[&str] = &["Bash", "Read", "Edit", "Grep", "Glob", "Write", "TodoWrite"];
const VERSIONS: &[&str] = &["1.0.128", "2.0.14", "2.1.29", "2.1.88", "2.1.197"];
const RIGS: &[&str] = &["gastown", "beads", "seance"];
const CREW: &[&str] = &["joe", "max", "ana", "li"];
const EVENT_TYPES: &[&str] = &[
    "mail",
    "sling",
    "nudge",
    "hook",
    "done",
    "handoff",
    "merge_queued",
    "convoy",
    "escalate",
    "patrol_tick",
    "bead_update",
];

impl Plan {
    fn new(args: &Args, now: i64) -> Self {
        let mut rng = Rng::new(args.seed, 0);
        let root = args.root.clone();
        let home = root.join("home");
        let town = root.join("town");
        let now_ms = now * 1000;

        // Project pool: ordinary repos with awkward names, one over-long path, town agents.
        let mut projects = Vec::new();
        let independent = args.preset == Preset::Independent;
        let n_plain = if independent {
            args.folders
        } else {
            (args.sessions / 40).max(8)
        };
        for i in 0..n_plain {
            let name = format!("proj{i:04}");
            let cwd = match i % 10 {
                0 => format!("/home/dev/src/{name}_rs.v2"),
                1 => format!("/home/dev/My Projects/{name} copy"),
                2 => format!("/home/dev/src/caf\u{e9}-{name}"),
                3 => format!("/home/dev/work/acme/{name}/.worktrees/feature_x"),
                4 if i == 4 => format!("/home/dev/src/\u{1F680}-{name}"),
                _ => format!("/home/dev/src/{name}"),
            };
            projects.push(Project {
                folder: project_folder(&cwd),
                cwd,
                actor: None,
                branch: String::new(),
            });
        }
        let long = format!("/home/dev/{}/deep", "very-long-directory-name".repeat(10));
        projects.push(Project {
            folder: project_folder(&long),
            cwd: long,
            actor: None,
            branch: String::new(),
        });
        let mut town_projects = Vec::new();
        for rig in RIGS {
            let mut actors: Vec<String> = CREW.iter().map(|c| format!("{rig}/crew/{c}")).collect();
            actors.extend((0..3).map(|p| format!("{rig}/polecats/p{p}")));
            actors.push(format!("{rig}/witness"));
            actors.push(format!("{rig}/refinery"));
            for actor in actors {
                town_projects.push(projects.len());
                let cwd = format!("{}/{actor}", town.display());
                projects.push(Project {
                    folder: project_folder(&cwd),
                    cwd,
                    actor: Some(actor),
                    branch: String::new(),
                });
            }
        }
        for actor in ["mayor", "deacon"] {
            town_projects.push(projects.len());
            let cwd = format!("{}/{actor}", town.display());
            projects.push(Project {
                folder: project_folder(&cwd),
                cwd,
                actor: Some(actor.to_string()),
                branch: String::new(),
            });
        }
        for p in &mut projects {
            p.branch = match rng.below(4) {
                0 => "main".into(),
                1 => "HEAD".into(),
                2 => format!("feat/{}", rng.hex(6)),
                _ => String::new(),
            };
        }

        // Accounts: each sees a random ~half of the plain projects, all town projects
        // (Gas Town rotates agents over accounts), and the long path in the first one.
        let mut accounts = Vec::new();
        for k in 0..args.accounts {
            let (handle, rel) = match ACCOUNT_DIRS.get(k) {
                Some((h, r)) => (h.to_string(), r.to_string()),
                None => (format!("acct{k}"), format!(".claude-accounts/acct{k}")),
            };
            let mut ps: Vec<usize> = (0..n_plain).filter(|_| rng.chance(0.5)).collect();
            if ps.is_empty() {
                ps.push(k % n_plain);
            }
            if k == 0 {
                ps.push(n_plain);
            }
            ps.extend(&town_projects);
            if independent {
                ps = (0..n_plain).collect();
            }
            accounts.push(Account {
                handle,
                dir: home.join(&rel),
                rel,
                projects: ps,
            });
        }

        let median = (args.median_kb * 1024) as f64;
        let mut sessions: Vec<Session> = Vec::with_capacity(args.sessions);
        for i in 0..args.sessions {
            let (account, project) = if independent {
                // A grid: every folder of every account holds `per_folder` sessions.
                let f = i / args.per_folder;
                (f / args.folders, f % args.folders)
            } else {
                let account = rng.below(accounts.len());
                let ps = &accounts[account].projects;
                // Zipf-ish: a few projects hold most sessions.
                let rank = ((rng.unit().powf(2.5)) * ps.len() as f64) as usize;
                (account, ps[rank.min(ps.len() - 1)])
            };
            let roll = rng.unit();
            let kind = if roll < 0.005 {
                Kind::Big
            } else if roll < 0.010 {
                Kind::HugeLine(match rng.below(5) {
                    0 => HugeAt::FirstPrompt,
                    1 | 2 => HugeAt::Early,
                    _ => HugeAt::Late,
                })
            } else if roll < 0.0105 {
                Kind::Empty
            } else if roll < 0.0110 {
                Kind::Binary
            } else if roll < 0.0130 {
                Kind::Truncated
            } else if roll < 0.0150 {
                Kind::CorruptLine
            } else if roll < 0.0170 {
                Kind::SummaryOnly
            } else {
                Kind::Normal
            };
            let target = match kind {
                Kind::Big | Kind::HugeLine(_) if independent => 6 << 20,
                Kind::Big | Kind::HugeLine(_) => rng.range(2 << 20, 8 << 20),
                _ => {
                    let x = median * (0.9 * rng.normal()).exp();
                    (x as usize).clamp(6 * 1024, 4 << 20)
                }
            };
            let noun = rng.pick(NOUNS);
            // A fork copies its parent's records, so it shares the parent's first prompt
            // and that record's uuid; only some versions also write `forkedFrom`.
            let (forked_from, first_prompt, first_uuid) =
                if !sessions.is_empty() && rng.chance(0.02) {
                    let p = &sessions[rng.below(sessions.len())];
                    (
                        Some(p.id.clone()),
                        p.first_prompt.clone(),
                        p.first_uuid.clone(),
                    )
                } else {
                    (None, rng.pick(PROMPTS).replace("{}", noun), rng.uuid())
                };
            let start_ms = now_ms - rng.below(60 * 86_400_000) as i64;
            let mut s = Session {
                account,
                project,
                id: rng.uuid(),
                start_ms,
                target,
                kind,
                entry: if rng.chance(0.3) { "sdk-cli" } else { "cli" },
                version: match (rng.chance(0.6), args.shape) {
                    (_, Shape::V332) => "2.1.332",
                    (true, Shape::V197) => "2.1.197",
                    (false, Shape::V197) => rng.pick(VERSIONS),
                },
                ai_title: Some(format!(
                    "{} {}",
                    capitalize(noun),
                    rng.pick(&["fixes", "review", "refactor", "investigation", "handoff"])
                )),
                custom_title: rng
                    .chance(0.1)
                    .then(|| format!("my {noun} work #{}", rng.below(100))),
                summary: rng
                    .chance(0.03)
                    .then(|| format!("Summary: worked on {noun}")),
                first_prompt,
                first_uuid,
                mark_fork: forked_from.is_some() && rng.chance(0.5),
                forked_from,
                subagents: if rng.chance(if independent { 0.15 } else { 0.06 }) {
                    rng.range(1, 4)
                } else {
                    0
                },
                gt_start: false,
            };
            if independent {
                // About 65% carry a custom or AI title near the end; the rest none.
                if !rng.chance(0.65) {
                    s.ai_title = None;
                    s.custom_title = None;
                    s.summary = None;
                }
                s.gt_start = rng.chance(0.5);
            }
            sessions.push(s);
        }
        Plan {
            root,
            now_ms,
            seed: args.seed,
            shape: args.shape,
            preset: args.preset,
            accounts,
            projects,
            sessions,
        }
    }

    fn project_dir(&self, account: usize, project: usize) -> PathBuf {
        self.accounts[account]
            .dir
            .join("projects")
            .join(&self.projects[project].folder)
    }

    fn create_dirs(&self) -> Result<()> {
        let mut rng = Rng::new(self.seed, 1);
        for (a, acct) in self.accounts.iter().enumerate() {
            for &p in &acct.projects {
                let dir = self.project_dir(a, p);
                fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                if rng.chance(0.3) {
                    fs::create_dir_all(dir.join("memory"))?;
                    if rng.chance(0.5) {
                        fs::write(
                            dir.join("memory/MEMORY.md"),
                            "# Memory\n- prefers small commits\n",
                        )?;
                    }
                }
            }
        }
        for p in &self.projects {
            if p.actor.is_some() {
                fs::create_dir_all(&p.cwd)?;
            }
        }
        fs::create_dir_all(self.root.join("town/mayor"))?;
        Ok(())
    }
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

// ---------------------------------------------------------------------------------------
// Transcripts.

#[derive(Default)]
struct Totals {
    files: usize,
    subagents: usize,
    bytes: u64,
}

fn write_sessions(plan: &Plan, filler: &Filler, threads: Option<usize>) -> Result<Totals> {
    let n = threads
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(2)
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Vec<Result<Totals>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| -> Result<Totals> {
                    let mut t = Totals::default();
                    let mut buf = Vec::with_capacity(1 << 20);
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= plan.sessions.len() {
                            return Ok(t);
                        }
                        write_session(plan, filler, i, &mut buf, &mut t)?;
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("writer thread panicked"))
            .collect()
    });
    let mut total = Totals::default();
    for r in results {
        let t = r?;
        total.files += t.files;
        total.subagents += t.subagents;
        total.bytes += t.bytes;
    }
    Ok(total)
}

fn write_file(path: &Path, data: &[u8], mtime_ms: i64) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(data)
        .with_context(|| format!("writing {}", path.display()))?;
    let t = UNIX_EPOCH + Duration::from_millis(mtime_ms.max(0) as u64);
    f.set_modified(t)
        .with_context(|| format!("setting mtime of {}", path.display()))?;
    Ok(())
}

fn write_session(
    plan: &Plan,
    filler: &Filler,
    i: usize,
    buf: &mut Vec<u8>,
    t: &mut Totals,
) -> Result<()> {
    let s = &plan.sessions[i];
    let p = &plan.projects[s.project];
    let dir = plan.project_dir(s.account, s.project);
    let mut rng = Rng::new(plan.seed, 1000 + i as u64);
    buf.clear();
    let end_ms = {
        let mut tx = Tx {
            buf,
            rng: &mut rng,
            filler,
            s,
            p,
            ts: s.start_ms,
            parent: None,
            agent: None,
            shape: plan.shape,
            turn: 0,
        };
        tx.transcript();
        tx.ts
    }
    .min(plan.now_ms);
    write_file(&dir.join(format!("{}.jsonl", s.id)), buf, end_ms)?;
    t.files += 1;
    t.bytes += buf.len() as u64;

    if s.subagents > 0 {
        let sub = dir.join(&s.id).join("subagents");
        fs::create_dir_all(&sub)?;
        for _ in 0..s.subagents {
            let agent = rng.hex(17);
            buf.clear();
            let mut tx = Tx {
                buf,
                rng: &mut rng,
                filler,
                s,
                p,
                ts: s.start_ms + 60_000,
                parent: None,
                agent: Some(agent.clone()),
                shape: plan.shape,
                turn: 0,
            };
            tx.subagent();
            let end = tx.ts.min(plan.now_ms);
            write_file(&sub.join(format!("agent-{agent}.jsonl")), buf, end)?;
            t.files += 1;
            t.subagents += 1;
            t.bytes += buf.len() as u64;
        }
    }
    Ok(())
}

/// Writes one transcript's records into `buf`, keeping the parent chain and clock.
struct Tx<'a> {
    buf: &'a mut Vec<u8>,
    rng: &'a mut Rng,
    filler: &'a Filler,
    s: &'a Session,
    p: &'a Project,
    ts: i64,
    parent: Option<String>,
    agent: Option<String>,
    shape: Shape,
    /// Turns (user prompts) written so far, for 2.1.332's `turnPosition`.
    turn: usize,
}

impl Tx<'_> {
    fn tick(&mut self) {
        self.ts += 200 + self.rng.below(30_000) as i64;
    }

    /// Opens a conversation record: `{"parentUuid":..,"isSidechain":..,` (+ agent/fork).
    fn open(&mut self) -> String {
        let uuid = self.rng.uuid();
        let b = &mut *self.buf;
        match &self.parent {
            Some(p) => {
                let _ = write!(b, "{{\"parentUuid\":\"{p}\",");
            }
            None => b.extend_from_slice(b"{\"parentUuid\":null,"),
        }
        let _ = write!(b, "\"isSidechain\":{},", self.agent.is_some());
        if let Some(a) = &self.agent {
            let _ = write!(b, "\"agentId\":\"{a}\",");
        }
        if let Some(f) = self.s.forked_from.as_ref().filter(|_| self.s.mark_fork) {
            let _ = write!(
                b,
                "\"forkedFrom\":{{\"sessionId\":\"{f}\",\"messageUuid\":\"{}\"}},",
                self.rng.uuid()
            );
        }
        uuid
    }

    /// Closes a conversation record with the common fields and a newline.
    fn close(&mut self, uuid: String) {
        self.tick();
        let ts = iso_ms(self.ts);
        let b = &mut *self.buf;
        let _ = write!(
            b,
            ",\"uuid\":\"{uuid}\",\"timestamp\":\"{ts}\",\"userType\":\"external\",\"entrypoint\":\"{}\",\"cwd\":\"{}\",\"sessionId\":\"{}\",\"version\":\"{}\"",
            self.s.entry,
            esc(&self.p.cwd),
            self.s.id,
            self.s.version
        );
        if !self.p.branch.is_empty() {
            let _ = write!(b, ",\"gitBranch\":\"{}\"", self.p.branch);
        }
        b.extend_from_slice(b"}\n");
        self.parent = Some(uuid);
    }

    /// A user prompt record; the session's first one carries the uuid forks share.
    fn user_prompt(&mut self, text: &str, extra: usize, first: bool) {
        let mut u = self.open();
        if first {
            u = self.s.first_uuid.clone();
        }
        let blocks = self.rng.chance(0.3);
        let pid = self.rng.uuid();
        let _ = write!(
            self.buf,
            "\"promptId\":\"{pid}\",\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":"
        );
        if blocks {
            let _ = write!(self.buf, "[{{\"type\":\"text\",\"text\":\"{}", esc(text));
        } else {
            let _ = write!(self.buf, "\"{}", esc(text));
        }
        if extra > 0 {
            self.buf.extend_from_slice(b"\\n\\n");
            self.filler.push(self.buf, self.rng, extra);
        }
        self.buf
            .extend_from_slice(if blocks { b"\"}]}" } else { b"\"}" });
        let _ = write!(self.buf, ",\"permissionMode\":\"default\"");
        if self.shape == Shape::V332 {
            self.turn += 1;
            let sdk = self.s.entry == "sdk-cli";
            let src = if sdk { "sdk" } else { "repl" };
            let _ = write!(
                self.buf,
                ",\"promptSource\":\"{src}\",\"sentAtMs\":{},\"rowSource\":\"local\",\"turnOrigin\":\"{src}\",\"turnPosition\":{{\"promptIndex\":0,\"turnIndex\":{}}}",
                self.ts, self.turn
            );
        }
        self.close(u);
    }

    /// A meta/injected user record that is not a real prompt.
    fn user_meta(&mut self) {
        let u = self.open();
        let text = match self.rng.below(3) {
            0 => {
                "<local-command-caveat>Caveat: The messages below were generated by the user while running local commands. DO NOT respond to these messages.</local-command-caveat>"
            }
            1 => {
                "<command-name>/clear</command-name>\\n<command-message>clear</command-message>\\n<command-args></command-args>"
            }
            _ => {
                "<system-reminder>The user opened the file src/lib.rs in the IDE.</system-reminder>"
            }
        };
        let _ = write!(
            self.buf,
            "\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":\"{text}\"}},\"isMeta\":true"
        );
        self.close(u);
    }

    fn attachment(&mut self, n: usize) {
        let u = self.open();
        self.buf.extend_from_slice(
            b"\"attachment\":{\"type\":\"skill_listing\",\"content\":\"- deep-research: ",
        );
        self.filler.push(self.buf, self.rng, n);
        self.buf
            .extend_from_slice(b"\",\"skillCount\":13,\"isInitial\":true},\"type\":\"attachment\"");
        self.close(u);
    }

    fn assistant_text(&mut self, n: usize) {
        let u = self.open();
        let id = self.rng.hex(24);
        let _ = write!(
            self.buf,
            "\"message\":{{\"id\":\"msg_{id}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4-8\",\"content\":[{{\"type\":\"text\",\"text\":\""
        );
        self.filler.push(self.buf, self.rng, n);
        self.buf.extend_from_slice(b"\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":1204,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":51820,\"output_tokens\":312,\"service_tier\":\"standard\"}},\"type\":\"assistant\"");
        self.close(u);
    }

    /// An assistant `tool_use` followed by the user `tool_result` of about `n` bytes
    /// (half in the result block, half in `toolUseResult`, as Claude Code duplicates it).
    fn tool_pair(&mut self, n: usize) {
        let tool = self.rng.pick(TOOLS);
        let tid = format!("toolu_01{}", self.rng.hex(22));
        let u = self.open();
        let id = self.rng.hex(24);
        let _ = write!(
            self.buf,
            "\"message\":{{\"id\":\"msg_{id}\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4-8\",\"content\":[{{\"type\":\"tool_use\",\"id\":\"{tid}\",\"name\":\"{tool}\",\"input\":{{\"command\":\""
        );
        let cmd = self.rng.range(20, 200);
        self.filler.push(self.buf, self.rng, cmd);
        self.buf.extend_from_slice(b"\",\"description\":\"Run it\"}}],\"stop_reason\":\"tool_use\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":3,\"output_tokens\":88}},\"type\":\"assistant\"");
        self.close(u);

        let u = self.open();
        let _ = write!(
            self.buf,
            "\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":[{{\"tool_use_id\":\"{tid}\",\"type\":\"tool_result\",\"content\":\""
        );
        self.filler.push(self.buf, self.rng, n / 2);
        self.buf
            .extend_from_slice(b"\",\"is_error\":false}]},\"toolUseResult\":{\"stdout\":\"");
        self.filler.push(self.buf, self.rng, n / 2);
        self.buf
            .extend_from_slice(b"\",\"stderr\":\"\",\"interrupted\":false,\"isImage\":false}");
        self.close(u);
    }

    fn system(&mut self) {
        let u = self.open();
        self.buf.extend_from_slice(b"\"type\":\"system\",\"subtype\":\"compact_boundary\",\"content\":\"Conversation compacted\",\"isMeta\":false,\"level\":\"info\"");
        self.close(u);
    }

    fn line(&mut self, s: &str) {
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(b'\n');
    }

    fn titles(&mut self) {
        let id = self.s.id.clone();
        let leaf = self.parent.clone().unwrap_or_default();
        if let Some(sm) = &self.s.summary {
            self.line(&format!(
                "{{\"type\":\"summary\",\"summary\":\"{}\",\"leafUuid\":\"{leaf}\"}}",
                esc(sm)
            ));
        }
        if let Some(ai) = &self.s.ai_title {
            self.line(&format!(
                "{{\"type\":\"ai-title\",\"aiTitle\":\"{}\",\"sessionId\":\"{id}\"}}",
                esc(ai)
            ));
        }
        if let Some(ct) = &self.s.custom_title {
            self.line(&format!(
                "{{\"type\":\"custom-title\",\"customTitle\":\"{}\",\"sessionId\":\"{id}\"}}",
                esc(ct)
            ));
        }
    }

    fn transcript(&mut self) {
        let s = self.s;
        match s.kind {
            Kind::Empty => return,
            Kind::Binary => {
                let n = self.rng.range(100, 20_000);
                for _ in 0..n {
                    let b = self.rng.next() as u8;
                    self.buf.push(b);
                }
                return;
            }
            Kind::SummaryOnly => {
                for _ in 0..self.rng.range(1, 4) {
                    let leaf = self.rng.uuid();
                    self.line(&format!(
                        "{{\"type\":\"summary\",\"summary\":\"{}\",\"leafUuid\":\"{leaf}\"}}",
                        esc(s.ai_title.as_deref().unwrap_or(&s.first_prompt))
                    ));
                }
                return;
            }
            _ => {}
        }
        if self.shape == Shape::V332 {
            self.transcript_332();
            self.damage();
            return;
        }
        let id = s.id.clone();
        let ts0 = iso_ms(self.ts);
        if self.rng.chance(0.5) {
            self.line(&format!(
                "{{\"type\":\"mode\",\"mode\":\"normal\",\"sessionId\":\"{id}\"}}"
            ));
        }
        if s.entry == "sdk-cli" {
            self.line(&format!("{{\"type\":\"queue-operation\",\"operation\":\"enqueue\",\"timestamp\":\"{ts0}\",\"sessionId\":\"{id}\",\"content\":\"{}\"}}", esc(&s.first_prompt)));
            self.line(&format!("{{\"type\":\"queue-operation\",\"operation\":\"dequeue\",\"timestamp\":\"{ts0}\",\"sessionId\":\"{id}\"}}"));
        } else {
            let m = self.rng.uuid();
            self.line(&format!("{{\"type\":\"file-history-snapshot\",\"messageId\":\"{m}\",\"snapshot\":{{\"messageId\":\"{m}\",\"trackedFileBackups\":{{}},\"timestamp\":\"{ts0}\"}},\"isSnapshotUpdate\":false}}"));
            if self.rng.chance(0.2) {
                self.user_meta();
            }
        }
        let huge = match s.kind {
            Kind::HugeLine(at) => Some(at),
            _ => None,
        };
        let huge_n = s.target.saturating_sub(20_000);
        let prompt = s.first_prompt.clone();
        let extra = if huge == Some(HugeAt::FirstPrompt) {
            huge_n
        } else if self.rng.chance(0.2) {
            self.rng.range(100, 3000)
        } else {
            0
        };
        self.user_prompt(&prompt, extra, true);
        if self.rng.chance(0.7) {
            let n = self.rng.range(1500, 5000);
            self.attachment(n);
        }
        let n = self.rng.range(100, 1500);
        self.assistant_text(n);
        if huge == Some(HugeAt::Early) {
            self.tool_pair(huge_n);
        }
        if self.rng.chance(0.5) {
            // Claude Code writes the AI title early and re-appends it near the end.
            self.titles();
        }
        let tail_budget = if huge == Some(HugeAt::Late) {
            huge_n + 2000
        } else {
            2000
        };
        while self.buf.len() + tail_budget < s.target {
            let left = s.target - tail_budget - self.buf.len();
            match self.rng.below(10) {
                0..=4 => {
                    // Tool output sizes are themselves heavy-tailed.
                    let n = (800.0 * (1.2 * self.rng.normal()).exp()) as usize;
                    self.tool_pair(n.clamp(50, left.max(50)));
                }
                5..=7 => {
                    let n = self.rng.range(50, 1200).min(left.max(50));
                    self.assistant_text(n);
                }
                8 => {
                    let noun = self.rng.pick(NOUNS);
                    let p = self.rng.pick(PROMPTS).replace("{}", noun);
                    self.user_prompt(&p, 0, false);
                }
                _ => {
                    if self.rng.chance(0.1) {
                        self.system();
                    } else if self.rng.chance(0.3) {
                        self.user_meta();
                    } else {
                        self.line(&format!("{{\"type\":\"progress\",\"data\":{{\"type\":\"hook_progress\",\"hookEvent\":\"PostToolUse\"}},\"sessionId\":\"{id}\",\"timestamp\":\"{}\"}}", iso_ms(self.ts)));
                    }
                }
            }
        }
        if huge == Some(HugeAt::Late) {
            self.tool_pair(huge_n);
            let n = self.rng.range(100, 800);
            self.assistant_text(n);
        }
        self.titles();
        let leaf = self.parent.clone().unwrap_or_default();
        self.line(&format!(
            "{{\"type\":\"last-prompt\",\"lastPrompt\":\"{}\",\"leafUuid\":\"{leaf}\",\"sessionId\":\"{id}\"}}",
            esc(&prompt)
        ));
        self.damage();
    }

    /// Cuts the last line (`Truncated`) or splices a garbage line into the middle
    /// (`CorruptLine`).
    fn damage(&mut self) {
        match self.s.kind {
            Kind::Truncated => {
                let n = self.rng.range(200, 3000);
                self.assistant_text(n);
                let cut = self.rng.range(10, 150);
                let len = self.buf.len();
                self.buf.truncate(len - cut);
            }
            Kind::CorruptLine => {
                // Splice a garbage line into the middle, on a line boundary.
                let mid = self.buf.len() / 2;
                let at =
                    memchr::memchr(b'\n', &self.buf[mid..]).map_or(self.buf.len(), |i| mid + i + 1);
                let garbage = b"{\"type\":\"user\",\"message\":{\"role\":\"user\",\"content\":\"tru\x00\xff\xfe nated\n".to_vec();
                self.buf.splice(at..at, garbage);
            }
            _ => {}
        }
    }

    fn subagent(&mut self) {
        let target = self.rng.range(4_000, 60_000);
        let task = format!("Search the codebase for {}", self.rng.pick(NOUNS));
        let u = self.open();
        let _ = write!(
            self.buf,
            "\"type\":\"user\",\"message\":{{\"role\":\"user\",\"content\":\"{}\"}}",
            esc(&task)
        );
        self.close(u);
        while self.buf.len() < target {
            let n = self.rng.range(200, 4000);
            self.tool_pair(n);
            let n = self.rng.range(50, 600);
            self.assistant_text(n);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Claude Code 2.1.332 records. Shapes and sizes copied from real 2.1.332 transcripts (a
// `-p` session resumed twice with `--name`, and an interactive one of three turns with
// `/rename`, made offline against benches/mock_api.py): the text is filler, the nesting
// (tool schemas inside request shapes and prompt snapshots) is theirs, because a JSON
// parser pays per value, not per byte.

const BETAS: &str = "[\"claude-code-20250219\",\"interleaved-thinking-2025-05-14\",\"context-management-2025-06-27\",\"per-turn-control-2026-07-01\",\"mid-conversation-tool-changes-2026-07-01\",\"advanced-tool-use-2025-11-20\",\"effort-2025-11-24\"]";

impl Tx<'_> {
    /// A JSON array of tool definitions of about `n` bytes: name, description and an
    /// `input_schema` with a few described properties, as requests carry them.
    fn tools(&mut self, n: usize) {
        let start = self.buf.len();
        self.buf.push(b'[');
        let mut first = true;
        while self.buf.len() - start < n {
            if !first {
                self.buf.push(b',');
            }
            first = false;
            let name = self.rng.pick(TOOLS);
            let _ = write!(self.buf, "{{\"name\":\"{name}\",\"description\":\"");
            let d = self.rng.range(300, 3000);
            self.filler.push(self.buf, self.rng, d);
            self.buf.extend_from_slice(b"\",\"input_schema\":{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"type\":\"object\",\"properties\":{");
            let props = self.rng.range(1, 6);
            for k in 0..props {
                let ty = self.rng.pick(&["string", "number", "boolean", "array"]);
                let _ = write!(
                    self.buf,
                    "{}\"p{k}\":{{\"type\":\"{ty}\",\"description\":\"",
                    if k > 0 { "," } else { "" }
                );
                let d = self.rng.range(30, 300);
                self.filler.push(self.buf, self.rng, d);
                self.buf.extend_from_slice(b"\"}");
            }
            self.buf
                .extend_from_slice(b"},\"required\":[\"p0\"],\"additionalProperties\":false}}");
        }
        self.buf.push(b']');
    }

    /// An `attachment` record of the given type whose body is about `n` bytes of text.
    fn attachment_332(&mut self, ty: &str, n: usize) {
        let u = self.open();
        let _ = write!(
            self.buf,
            "\"attachment\":{{\"type\":\"{ty}\",\"content\":\""
        );
        self.filler.push(self.buf, self.rng, n);
        self.buf.extend_from_slice(b"\"},\"type\":\"attachment\"");
        if self.rng.chance(0.5) {
            self.buf
                .extend_from_slice(b",\"rendered\":[{\"content\":\"<system-reminder>");
            let k = self.rng.range(100, 800);
            self.filler.push(self.buf, self.rng, k);
            self.buf
                .extend_from_slice(b"</system-reminder>\"}],\"renderedRole\":\"system\"");
        }
        self.close(u);
    }

    /// The `prompt_snapshot` attachment: the system prompt as ~10 strings and the tool
    /// definitions, on one line of about `n` bytes (7.5 KB before the first request,
    /// 57–63 KB after a turn).
    fn prompt_snapshot(&mut self, n: usize) {
        let u = self.open();
        self.buf.extend_from_slice(
            b"\"attachment\":{\"type\":\"prompt_snapshot\",\"systemPrompt\":[\"",
        );
        let sys = (n / 8).clamp(1000, 7200);
        for k in 0..10 {
            if k > 0 {
                self.buf.extend_from_slice(b"\",\"");
            }
            self.filler.push(self.buf, self.rng, sys / 10);
        }
        self.buf.extend_from_slice(b"\"],\"tools\":");
        self.tools(n.saturating_sub(sys + 900));
        self.buf.extend_from_slice(b",\"cliPrefix\":\"You are Claude Code, Anthropic's official CLI for Claude.\",\"reminderFold\":false,\"systemTurns\":true,\"toolChangeHeader\":true,\"inlineTools\":false,\"keptReminders\":false,\"echoWireToolInputs\":false,\"contextRendering\":\"announced\"},\"type\":\"attachment\"");
        self.close(u);
    }

    /// `api-request-shape` (~38–43 KB, once near the head), then its two blobs.
    fn request_shape(&mut self) {
        let id = self.s.id.clone();
        let hash = self.rng.hex(64);
        let _ = write!(
            self.buf,
            "{{\"type\":\"api-request-shape\",\"sessionId\":\"{id}\",\"shapeHash\":\"{hash}\",\"timestamp\":\"{}\",\"version\":\"2.1.332\",\"shape\":{{\"system\":[{{\"type\":\"text\",\"text\":\"You are a Claude agent, built on Anthropic's Claude Agent SDK.\"}},{{\"type\":\"text\",\"text\":\"",
            iso_ms(self.ts)
        );
        let n = self.rng.range(7000, 7500);
        self.filler.push(self.buf, self.rng, n);
        self.buf.extend_from_slice(b"\"}],\"tools\":");
        let n = self.rng.range(31_000, 35_500);
        self.tools(n);
        self.buf.extend_from_slice(b"}}\n");
        for n in [self.rng.range(1400, 1600), self.rng.range(9500, 11_300)] {
            let h = self.rng.hex(64);
            let _ = write!(
                self.buf,
                "{{\"type\":\"api-request-blob\",\"sessionId\":\"{id}\",\"hash\":\"{h}\",\"message\":{{\"role\":\"user\",\"content\":[{{\"type\":\"text\",\"text\":\""
            );
            self.filler.push(self.buf, self.rng, n);
            self.buf.extend_from_slice(b"\"}]}}\n");
        }
    }

    /// One `api-request` record (~1.2–1.5 KB), written before every model call.
    fn api_request(&mut self) {
        self.tick();
        let id = self.s.id.clone();
        let rid = self.rng.uuid();
        let hash = self.rng.hex(64);
        let src = if self.s.entry == "sdk-cli" {
            "sdk"
        } else {
            "repl_main_thread"
        };
        let _ = write!(
            self.buf,
            "{{\"type\":\"api-request\",\"sessionId\":\"{id}\",\"id\":\"{rid}\",\"timestamp\":\"{}\",\"version\":\"2.1.332\",\"querySource\":\"{src}\",\"shapeHash\":\"{hash}\",\"params\":{{\"model\":\"claude-opus-5-5\",\"betas\":{BETAS},\"max_tokens\":128000,\"thinking\":{{\"type\":\"adaptive\",\"display\":\"omitted\"}},\"context_management\":{{\"edits\":[{{\"type\":\"clear_thinking_20251015\",\"keep\":\"all\"}}]}},\"metadata\":{{\"user_id\":\"",
            iso_ms(self.ts)
        );
        let n = self.rng.range(300, 600);
        self.filler.push(self.buf, self.rng, n);
        let _ = writeln!(
            self.buf,
            "\"}}}},\"messageHashes\":[\"{}\",\"{}\"]}}",
            self.rng.hex(64),
            self.rng.hex(64)
        );
    }

    fn small_line(&mut self, ty: &str, rest: &str) {
        let id = self.s.id.clone();
        self.line(&format!(
            "{{\"type\":\"{ty}\"{rest},\"sessionId\":\"{id}\"}}"
        ));
    }

    fn cost_state(&mut self) {
        let id = self.s.id.clone();
        let ms = self.ts - self.s.start_ms;
        self.line(&format!("{{\"type\":\"cost-state\",\"sessionId\":\"{id}\",\"totalCostUSD\":0.4213,\"totalAPIDuration\":{ms},\"totalAPIDurationWithoutRetries\":{ms},\"totalToolDuration\":0,\"totalLinesAdded\":12,\"totalLinesRemoved\":3,\"totalDuration\":{ms},\"startTime\":{},\"modelUsage\":{{\"claude-opus-5-5\":{{\"inputTokens\":1,\"outputTokens\":1,\"thinkingTokens\":0,\"cacheReadInputTokens\":0,\"cacheCreationInputTokens\":0,\"cacheCreationEphemeral5mInputTokens\":0,\"cacheCreationEphemeral1hInputTokens\":0,\"webSearchRequests\":0,\"costUSD\":0.4213}}}},\"hasUnknownModelCost\":false}}", self.s.start_ms));
    }

    fn file_history_snapshot(&mut self) {
        let m = self.rng.uuid();
        let ts = iso_ms(self.ts);
        self.line(&format!("{{\"type\":\"file-history-snapshot\",\"messageId\":\"{m}\",\"snapshot\":{{\"messageId\":\"{m}\",\"trackedFileBackups\":{{}},\"timestamp\":\"{ts}\"}},\"isSnapshotUpdate\":false}}"));
    }

    /// The end of a turn: a prompt snapshot (always after the first turn, about every
    /// other turn after that), `turn_duration` for interactive runs, `last-prompt`.
    fn end_turn(&mut self, first: bool) {
        if first || self.rng.chance(0.5) {
            let n = self.rng.range(57_000, 63_600);
            self.prompt_snapshot(n);
        }
        if self.s.entry == "cli" {
            let u = self.open();
            let ms = self.rng.range(2000, 90_000);
            let _ = write!(
                self.buf,
                "\"type\":\"system\",\"subtype\":\"turn_duration\",\"durationMs\":{ms},\"isMeta\":false"
            );
            self.close(u);
        }
        let leaf = self.parent.clone().unwrap_or_default();
        let p = esc(&self.s.first_prompt);
        self.small_line(
            "last-prompt",
            &format!(",\"lastPrompt\":\"{p}\",\"leafUuid\":\"{leaf}\""),
        );
    }

    /// A whole transcript in 2.1.332's shapes, to about `s.target` bytes.
    fn transcript_332(&mut self) {
        let s = self.s;
        let id = s.id.clone();
        let ts0 = iso_ms(self.ts);
        let sdk = s.entry == "sdk-cli";
        if sdk {
            self.line(&format!("{{\"type\":\"queue-operation\",\"operation\":\"enqueue\",\"timestamp\":\"{ts0}\",\"sessionId\":\"{id}\",\"content\":\"{}\"}}", esc(&s.first_prompt)));
            self.line(&format!("{{\"type\":\"queue-operation\",\"operation\":\"dequeue\",\"timestamp\":\"{ts0}\",\"sessionId\":\"{id}\"}}"));
        } else {
            self.small_line("mode", ",\"mode\":\"normal\"");
            self.small_line("permission-mode", ",\"permissionMode\":\"auto\"");
            self.small_line("atis-latch", ",\"atis\":\"\"");
            self.file_history_snapshot();
            if self.rng.chance(0.2) {
                self.user_meta();
            }
        }
        let huge = match s.kind {
            Kind::HugeLine(at) => Some(at),
            _ => None,
        };
        let huge_n = s.target.saturating_sub(200_000).max(1 << 20);
        let prompt = s.first_prompt.clone();
        let extra = if huge == Some(HugeAt::FirstPrompt) {
            huge_n
        } else if self.rng.chance(0.2) {
            self.rng.range(100, 3000)
        } else {
            0
        };
        self.user_prompt(&prompt, extra, true);
        // The attachments of a first turn, in the order and about the sizes seen.
        for (ty, lo, hi) in [
            ("environment", 1300, 1500),
            ("model", 700, 900),
            ("deferred_tools_delta", 1200, 1400),
            ("agent_listing_delta", 3700, 6100),
            ("skill_listing", 13_400, 13_900),
        ] {
            let n = self.rng.range(lo, hi);
            self.attachment_332(ty, n);
        }
        if !sdk {
            let n = self.rng.range(900, 1100);
            self.attachment_332("auto_mode", n);
        } else {
            self.small_line("atis-latch", ",\"atis\":\"\"");
        }
        for (ty, lo, hi) in [
            ("session_context", 1300, 1500),
            ("date", 400, 600),
            ("remote_session_change", 1200, 1400),
        ] {
            let n = self.rng.range(lo, hi);
            self.attachment_332(ty, n);
        }
        let n = self.rng.range(7400, 8000);
        self.prompt_snapshot(n);
        self.request_shape();
        self.api_request();
        let n = self.rng.range(100, 1500);
        self.assistant_text(n);
        if huge == Some(HugeAt::Early) {
            self.tool_pair(huge_n);
        }
        self.end_turn(true);
        if self.rng.chance(0.5) {
            self.titles();
        }
        // Later turns: prompts, model calls with tool use, turn ends.
        let tail_budget = if huge == Some(HugeAt::Late) {
            huge_n + 2000
        } else {
            2000
        };
        while self.buf.len() + tail_budget < s.target {
            let left = s.target - tail_budget - self.buf.len();
            match self.rng.below(20) {
                0..=1 => {
                    self.end_turn(false);
                    if !sdk {
                        self.file_history_snapshot();
                    }
                    let noun = self.rng.pick(NOUNS);
                    let p = self.rng.pick(PROMPTS).replace("{}", noun);
                    self.user_prompt(&p, 0, false);
                }
                2..=11 => {
                    self.api_request();
                    let n = (800.0 * (1.2 * self.rng.normal()).exp()) as usize;
                    self.tool_pair(n.clamp(50, left.max(50)));
                }
                12..=17 => {
                    self.api_request();
                    let n = self.rng.range(50, 1200).min(left.max(50));
                    self.assistant_text(n);
                }
                _ => {
                    if self.rng.chance(0.3) {
                        self.user_meta();
                    } else {
                        self.line(&format!("{{\"type\":\"progress\",\"data\":{{\"type\":\"hook_progress\",\"hookEvent\":\"PostToolUse\"}},\"sessionId\":\"{id}\",\"timestamp\":\"{}\"}}", iso_ms(self.ts)));
                    }
                }
            }
        }
        if huge == Some(HugeAt::Late) {
            self.api_request();
            self.tool_pair(huge_n);
            self.api_request();
            let n = self.rng.range(100, 800);
            self.assistant_text(n);
        }
        if self.turn > 1 {
            self.end_turn(false);
        }
        self.titles();
        if let Some(ct) = &s.custom_title {
            let ct = esc(ct);
            self.small_line("agent-name", &format!(",\"agentName\":\"{ct}\""));
        }
        let leaf = self.parent.clone().unwrap_or_default();
        self.small_line(
            "last-prompt",
            &format!(
                ",\"lastPrompt\":\"{}\",\"leafUuid\":\"{leaf}\"",
                esc(&prompt)
            ),
        );
        self.cost_state();
    }
}

// ---------------------------------------------------------------------------------------
// Index files, account files, the town.

impl Plan {
    /// Writes `sessions-index.json` into about a third of the project folders, in every
    /// state seen in the wild: fresh, stale (old mtimes, missing sessions, dangling
    /// entries), truncated, corrupt, empty, zero bytes. Returns how many were written.
    fn write_indexes(&self, filler: &Filler) -> Result<usize> {
        let mut rng = Rng::new(self.seed, 2);
        let mut by_folder: std::collections::BTreeMap<(usize, usize), Vec<usize>> =
            Default::default();
        for (i, s) in self.sessions.iter().enumerate() {
            by_folder.entry((s.account, s.project)).or_default().push(i);
        }
        let mut written = 0;
        let independent = self.preset == Preset::Independent;
        for (&(a, p), members) in &by_folder {
            if !rng.chance(if independent { 0.5 } else { 0.35 }) {
                continue;
            }
            let dir = self.project_dir(a, p);
            let path = dir.join("sessions-index.json");
            let state = if independent {
                // A few broken (5% empty, zero bytes or corrupt, 3% truncated), the rest
                // stale or fresh in the same proportions as below.
                match rng.below(100) {
                    s @ 0..=7 => s,
                    s => 8 + s % 12,
                }
            } else {
                rng.below(20)
            };
            let body: Vec<u8> = match state {
                0 => Vec::new(),
                1 | 2 => b"{\"version\":1,\"entries\":[],\"originalPath\":\""
                    .iter()
                    .copied()
                    .chain(esc(&self.projects[p].cwd).bytes())
                    .chain(b"\"}".iter().copied())
                    .collect(),
                3 | 4 => {
                    let mut v = b"{\"version\":1,\"entries\":[{\"sessionId\":".to_vec();
                    v.extend_from_slice(&filler.string(&mut rng, 300).into_bytes());
                    v
                }
                _ => {
                    let fresh = state >= 17;
                    let mut entries = Vec::new();
                    for &i in members {
                        let s = &self.sessions[i];
                        if !fresh && rng.chance(0.4) {
                            continue; // stale: written before these sessions existed
                        }
                        entries.push(self.index_entry(s, &dir, &mut rng, fresh));
                    }
                    if !fresh {
                        for _ in 0..rng.range(0, 3) {
                            // Dangling: the transcript was cleaned up long ago.
                            let gone = Session {
                                id: rng.uuid(),
                                start_ms: self.now_ms - 90 * 86_400_000,
                                ..self.sessions[members[0]].clone_meta()
                            };
                            entries.push(self.index_entry(&gone, &dir, &mut rng, false));
                        }
                    }
                    let doc = serde_json::json!({
                        "version": 1,
                        "entries": entries,
                        "originalPath": self.projects[p].cwd,
                    });
                    let mut v = serde_json::to_vec_pretty(&doc)?;
                    if (5..8).contains(&state) {
                        let cut = rng.range(v.len() / 4, v.len() * 3 / 4);
                        v.truncate(cut); // partial write
                    }
                    v
                }
            };
            fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
            if rng.chance(0.1) {
                fs::write(dir.join("sessions-index.json.lock"), b"")?;
            }
            written += 1;
        }
        Ok(written)
    }

    fn index_entry(
        &self,
        s: &Session,
        dir: &Path,
        rng: &mut Rng,
        fresh: bool,
    ) -> serde_json::Value {
        let modified = if fresh {
            s.start_ms + 3_600_000
        } else {
            s.start_ms + rng.below(600_000) as i64
        };
        let mut e = serde_json::json!({
            "sessionId": s.id,
            "fullPath": dir.join(format!("{}.jsonl", s.id)).display().to_string(),
            "fileMtime": modified,
            "firstPrompt": s.first_prompt,
            "summary": s.summary.clone().unwrap_or_else(|| format!("Index summary: {}", s.ai_title.as_deref().unwrap_or("-"))),
            "messageCount": rng.range(2, 400),
            "created": iso_ms(s.start_ms),
            "modified": iso_ms(modified),
            "gitBranch": self.projects[s.project].branch,
            "projectPath": self.projects[s.project].cwd,
            "isSidechain": false,
        });
        if let Some(ct) = &s.custom_title {
            e["customTitle"] = ct.clone().into();
        }
        if rng.chance(0.2) {
            e["someFutureField"] = serde_json::json!({"x": 1});
        }
        e
    }

    /// Per-account odds and ends Claude Code keeps beside `projects/`.
    fn write_account_files(&self) -> Result<()> {
        let mut rng = Rng::new(self.seed, 3);
        for acct in &self.accounts {
            let d = &acct.dir;
            fs::write(
                d.join(".claude.json"),
                format!(
                    "{{\"hasCompletedOnboarding\":true,\"theme\":\"dark\",\"oauthAccount\":{{\"emailAddress\":\"{}@example.com\"}}}}\n",
                    acct.handle
                ),
            )?;
            fs::write(d.join("settings.json"), "{}\n")?;
            fs::create_dir_all(d.join("sessions"))?;
            let mine: Vec<&Session> = self
                .sessions
                .iter()
                .filter(|s| self.accounts[s.account].dir == *d)
                .take(2)
                .collect();
            for s in mine {
                let pid = 3_000_000 + rng.below(1_000_000);
                fs::write(
                    d.join("sessions").join(format!("{pid}.json")),
                    format!(
                        "{{\"pid\":{pid},\"sessionId\":\"{}\",\"cwd\":\"{}\",\"startedAt\":{}}}\n",
                        s.id,
                        esc(&self.projects[s.project].cwd),
                        s.start_ms
                    ),
                )?;
            }
            let mut hist = String::new();
            for _ in 0..50 {
                let _ = writeln!(
                    hist,
                    "{{\"display\":\"{}\",\"timestamp\":{}}}",
                    rng.pick(PROMPTS).replace("{}", rng.pick(NOUNS)),
                    self.now_ms - rng.below(86_400_000) as i64
                );
            }
            fs::write(d.join("history.jsonl"), hist)?;
        }
        Ok(())
    }

    /// Writes the town: `mayor/town.json`, `mayor/accounts.json`, `.events.jsonl`.
    /// Returns the size of the events file in bytes.
    fn write_town(&self, filler: &Filler, lines: usize) -> Result<u64> {
        let town = self.root.join("town");
        fs::write(town.join("mayor/town.json"), "{\"name\":\"bench-town\"}\n")?;
        let mut accts = serde_json::Map::new();
        for (k, a) in self.accounts.iter().enumerate() {
            // Mix `~/` and absolute forms, as users write both.
            let config_dir = if k % 2 == 0 {
                format!("~/{}", a.rel)
            } else {
                a.dir.display().to_string()
            };
            accts.insert(
                a.handle.clone(),
                serde_json::json!({"email": format!("{}@example.com", a.handle), "config_dir": config_dir}),
            );
        }
        let doc = serde_json::json!({
            "version": 1,
            "accounts": accts,
            "default": self.accounts.get(1).unwrap_or(&self.accounts[0]).handle,
        });
        fs::write(
            town.join("mayor/accounts.json"),
            serde_json::to_vec_pretty(&doc)?,
        )?;

        let mut rng = Rng::new(self.seed, 4);
        // (ts, line) pairs; sorted by time before writing, as appends arrive in order.
        let mut events: Vec<(i64, Vec<u8>)> = Vec::with_capacity(lines);
        let independent = self.preset == Preset::Independent;
        let town_sessions: Vec<&Session> = self
            .sessions
            .iter()
            .filter(|s| {
                if independent {
                    s.gt_start
                } else {
                    self.projects[s.project].actor.is_some()
                }
            })
            .collect();
        let starts = if independent {
            // One per marked session, plus 2% fallbacks; other events as many again.
            town_sessions.len() + town_sessions.len() / 50
        } else {
            (lines / 6).min(town_sessions.len() + lines / 60)
        };
        let lines = if independent {
            lines.max(starts * 2)
        } else {
            lines
        };
        let mut next_start = 0;
        for _ in 0..starts {
            let (ts, actor, cwd, sid) = if independent && next_start < town_sessions.len() {
                let s = town_sessions[next_start];
                next_start += 1;
                let actor = match rng.below(3) {
                    0 => format!("{}/crew/{}", rng.pick(RIGS), rng.pick(CREW)),
                    1 => format!("{}/polecats/p{}", rng.pick(RIGS), rng.below(3)),
                    _ => "mayor".to_string(),
                };
                (
                    s.start_ms,
                    actor,
                    Some(self.projects[s.project].cwd.clone()),
                    s.id.clone(),
                )
            } else if !independent && !town_sessions.is_empty() && rng.chance(0.9) {
                let s = rng.pick(&town_sessions);
                let p = &self.projects[s.project];
                (
                    s.start_ms,
                    p.actor.clone().unwrap_or_default(),
                    Some(p.cwd.clone()),
                    s.id.clone(),
                )
            } else {
                let actor = format!("{}/crew/{}", rng.pick(RIGS), rng.pick(CREW));
                let sid = if rng.chance(0.5) {
                    format!("{actor}-{}", rng.range(1000, 99_999)) // non-UUID fallback
                } else {
                    rng.uuid() // a session whose transcript is gone
                };
                (
                    self.now_ms - rng.below(60 * 86_400_000) as i64,
                    actor,
                    None,
                    sid,
                )
            };
            let mut payload = serde_json::json!({
                "actor_pid": format!("{actor}-{}", rng.range(1000, 99_999)),
                "role": actor,
                "session_id": sid,
            });
            if let Some(c) = cwd {
                payload["cwd"] = c.into();
            }
            if actor.contains("witness") || actor.contains("refinery") || actor == "deacon" {
                payload["topic"] = "patrol".into();
            }
            let line = serde_json::json!({
                "ts": iso_s(ts), "source": "gt", "type": "session_start", "actor": actor,
                "payload": payload, "visibility": "feed",
            });
            events.push((ts, serde_json::to_vec(&line)?));
        }
        let huge_lines = 4.min(lines / 1000);
        while events.len() < lines {
            let ts = self.now_ms - rng.below(60 * 86_400_000) as i64;
            let actor = format!("{}/polecats/p{}", rng.pick(RIGS), rng.below(3));
            let ty = rng.pick(EVENT_TYPES);
            let n = if events.len() < starts + huge_lines {
                rng.range(1 << 20, 4 << 20)
            } else {
                (300.0 * (1.0 * rng.normal()).exp()) as usize
            };
            let mut line = Vec::with_capacity(n + 200);
            let _ = write!(
                line,
                "{{\"ts\":\"{}\",\"source\":\"gt\",\"type\":\"{ty}\",\"actor\":\"{actor}\",\"payload\":{{\"subject\":\"",
                iso_s(ts)
            );
            filler.push(&mut line, &mut rng, n);
            line.extend_from_slice(b"\"},\"visibility\":\"feed\"}");
            events.push((ts, line));
        }
        events.sort_by_key(|e| e.0);
        // A few corrupt lines: a torn append, binary junk, a blank line.
        for k in 0..lines.min(5) {
            let at = rng.below(events.len());
            let bad: Vec<u8> = match k % 3 {
                0 => b"{\"ts\":\"2026-01-01T00:00:00Z\",\"type\":\"session_st".to_vec(),
                1 => (0..64)
                    .map(|_| rng.next() as u8)
                    .filter(|&b| b != b'\n')
                    .collect(),
                _ => Vec::new(),
            };
            let ts = events[at].0;
            events.insert(at, (ts, bad));
        }
        let path = town.join(".events.jsonl");
        let mut f = io::BufWriter::new(File::create(&path)?);
        let mut bytes = 0u64;
        for (_, l) in &events {
            f.write_all(l)?;
            f.write_all(b"\n")?;
            bytes += l.len() as u64 + 1;
        }
        f.flush()?;
        Ok(bytes)
    }
}

impl Session {
    /// A copy of the descriptive fields, for inventing index entries of deleted sessions.
    fn clone_meta(&self) -> Session {
        Session {
            account: self.account,
            project: self.project,
            id: self.id.clone(),
            start_ms: self.start_ms,
            target: self.target,
            kind: self.kind,
            entry: self.entry,
            version: self.version,
            first_prompt: self.first_prompt.clone(),
            ai_title: self.ai_title.clone(),
            custom_title: self.custom_title.clone(),
            summary: self.summary.clone(),
            forked_from: None,
            mark_fork: false,
            first_uuid: self.first_uuid.clone(),
            subagents: 0,
            gt_start: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_follow_claude_code() {
        assert_eq!(
            project_folder("/home/u/my_proj.v2 x"),
            "-home-u-my-proj-v2-x"
        );
        assert_eq!(project_folder("/a/\u{fc}"), "-a--");
        assert_eq!(project_folder("/a/\u{1F680}"), "-a---");
        let long = project_folder(&format!("/{}", "x".repeat(249)));
        assert_eq!(long.len(), 200 + 1 + long.rsplit('-').next().unwrap().len());
    }

    #[test]
    fn filler_slices_are_valid_json_strings() {
        let f = Filler::new(7);
        let mut rng = Rng::new(7, 7);
        for n in [0, 1, 10, 1000, 3 << 20] {
            let mut v = b"\"".to_vec();
            f.push(&mut v, &mut rng, n);
            v.push(b'"');
            let s: String = serde_json::from_slice(&v).expect("valid JSON string");
            assert!(s.len() + 64 >= n / 2);
        }
    }

    fn plan(extra: &[&str]) -> Plan {
        let mut argv = vec!["gen-corpus", "/nonexistent", "--now", "1790000000"];
        argv.extend_from_slice(extra);
        let args = Args::parse_from(argv);
        let mut args = args;
        if args.preset == Preset::Independent {
            args.sessions = args.accounts * args.folders * args.per_folder;
        }
        Plan::new(&args, 1_790_000_000)
    }

    fn transcript_of(plan: &Plan, i: usize) -> Vec<u8> {
        let filler = Filler::new(plan.seed);
        let mut rng = Rng::new(plan.seed, 1000 + i as u64);
        let mut buf = Vec::new();
        let s = &plan.sessions[i];
        let mut tx = Tx {
            buf: &mut buf,
            rng: &mut rng,
            filler: &filler,
            s,
            p: &plan.projects[s.project],
            ts: s.start_ms,
            parent: None,
            agent: None,
            shape: plan.shape,
            turn: 0,
        };
        tx.transcript();
        buf
    }

    #[test]
    fn v332_transcripts_have_the_real_records() {
        let plan = plan(&["--sessions", "60", "--shape", "332", "--median-kb", "200"]);
        let mut checked = 0;
        for i in 0..plan.sessions.len() {
            if plan.sessions[i].kind != Kind::Normal {
                continue;
            }
            let buf = transcript_of(&plan, i);
            let lines: Vec<serde_json::Value> = buf
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).expect("every line is JSON"))
                .collect();
            let ty = |v: &serde_json::Value| v["type"].as_str().unwrap_or("").to_string();
            let has = |t: &str| lines.iter().any(|v| ty(v) == t);
            assert!(has("api-request-shape") && has("api-request") && has("cost-state"));
            assert_eq!(ty(lines.last().unwrap()), "cost-state");
            let snapshots = lines
                .iter()
                .filter(|v| v["attachment"]["type"] == "prompt_snapshot")
                .map(|v| v.to_string().len())
                .collect::<Vec<_>>();
            assert!(snapshots.iter().any(|&n| n > 50_000), "{snapshots:?}");
            assert!(buf.len() > 140_000);
            checked += 1;
        }
        assert!(checked > 50);
    }

    #[test]
    fn independent_preset_is_a_grid() {
        let plan = plan(&[
            "--preset",
            "independent",
            "--folders",
            "10",
            "--per-folder",
            "20",
        ]);
        assert_eq!(plan.sessions.len(), 4 * 10 * 20);
        let mut per = std::collections::HashMap::new();
        for s in &plan.sessions {
            *per.entry((s.account, s.project)).or_insert(0) += 1;
        }
        assert_eq!(per.len(), 40);
        assert!(per.values().all(|&n| n == 20));
        let titled = plan
            .sessions
            .iter()
            .filter(|s| s.ai_title.is_some())
            .count();
        assert!((440..600).contains(&titled), "{titled}");
        let starts = plan.sessions.iter().filter(|s| s.gt_start).count();
        assert!((320..480).contains(&starts), "{starts}");
    }

    #[test]
    fn uuids_are_v4() {
        let mut rng = Rng::new(1, 1);
        let u = rng.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"));
    }
}
