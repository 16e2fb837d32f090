#!/usr/bin/env python3
"""Adds stage stamps to a listing, for measuring (never commit the patched tree).

    benches/stage_stamps.py            # patch src/ in place, then build
    cargo build --release && cp target/release/seance /tmp/seance-stamped
    git checkout src/                  # undo

With SEANCE_T set, the patched seance prints to stderr one line per stage of a listing:

    T <wall ms since start> <process CPU ms, user+sys> <stage> ord <free chunks>
      fast <fast-bin chunks> used <bytes in use> free <bytes free> arena <bytes> mmap <bytes>

(the last six from glibc's mallinfo2, summed over every arena; Linux only). A stage's
time is its line's minus the line before. Stages: scan start, walk+cache+events (the
folder walk with the cache load and the events file beside it), metas (cached rows
taken, transcripts read), groups+chains, links, trim, merge transcripts, merge index,
events+titles+copies+live, scan done, select, json.

Each anchor below must still be in the source: the script stops at the first that is
not, naming it, so a stale patch fails loudly instead of measuring the wrong thing.
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent

STAMP_FN = '''
#[doc(hidden)]
pub fn tstamp(label: &str) {
    static T0: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if !*ON.get_or_init(|| std::env::var_os("SEANCE_T").is_some()) {
        return;
    }
    let t0 = T0.get_or_init(std::time::Instant::now);
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let cpu = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) as f64 * 1000.0
        + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) as f64 / 1000.0;
    let mi = unsafe { libc::mallinfo2() };
    eprintln!(
        "T {:8.2} {:8.2} {label:28} ord {:7} fast {:7} used {:9} free {:9} arena {:9} mmap {:9}",
        t0.elapsed().as_secs_f64() * 1000.0,
        cpu,
        mi.ordblks,
        mi.smblks,
        mi.uordblks,
        mi.fordblks,
        mi.arena,
        mi.hblkhd
    );
}
'''

# (file, anchor, stamp label): the stamp goes right after the anchor.
AFTER = [
    ("src/discover/mod.rs",
     "} = list_folders(&folders, &owners, &opts, events_file, &mut warnings);",
     "walk+cache+events"),
    ("src/discover/mod.rs", "let (mut metas, stale) = read_metadata(&found, cache);", "metas"),
    ("src/discover/mod.rs", "let chains = fill_chains(&groups, &found, &mut metas);",
     "groups+chains"),
    ("src/discover/mod.rs", "let forks = link_forks(&groups, &found, &metas);", "links"),
    ("src/discover/mod.rs", "crate::platform::memory::release_free();", "trim"),
    ("src/discover/mod.rs", "merge.transcripts(opts.accounts, found, metas, forks);",
     "merge transcripts"),
    ("src/discover/mod.rs", "merge.index_files(opts.accounts, index_files, opts.want);",
     "merge index"),
    ("src/discover/mod.rs", "mark_live(&mut merge.sessions, opts.accounts);",
     "events+titles+copies+live"),
    ("src/discover/mod.rs", "pub fn scan(opts: ScanOptions) -> Catalog {", "scan start"),
    ("src/list/mod.rs", "let catalog = scan_all(cfg);", "scan done"),
    ("src/list/mod.rs", "let sel = select_searched(&catalog.sessions, &cfg.filters);", "select"),
    ("src/list/mod.rs", "let result = print(cfg, &sel, catalog.sessions.len());", "json"),
    ("src/run.rs", "fn run(cli: &Cli) -> Result<i32> {", "run start"),
]


def main() -> int:
    lib = ROOT / "src/lib.rs"
    text = lib.read_text()
    if "pub fn tstamp" in text:
        print("stage_stamps.py: src/ is already patched (git checkout src/ undoes it)",
              file=sys.stderr)
        return 1
    files = {}
    for rel, anchor, label in AFTER:
        src = files.setdefault(rel, (ROOT / rel).read_text())
        if src.count(anchor) != 1:
            print(f"stage_stamps.py: anchor not found once in {rel}: {anchor}", file=sys.stderr)
            return 1
        files[rel] = src.replace(anchor, f'{anchor}\n    crate::tstamp("{label}");', 1)
    for rel, src in files.items():
        (ROOT / rel).write_text(src)
    lib.write_text(text + STAMP_FN)
    print("stage_stamps.py: patched; build, run with SEANCE_T=1, then git checkout src/",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
