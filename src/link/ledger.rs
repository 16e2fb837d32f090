//! seance's ledger of the links it made: what to undo, and who still needs each link.
//! It lets a later seance clean up after one that was killed (SIGKILL leaves no chance to
//! undo), and lets two seances share one link with the last one out removing it.
//!
//! One JSON file, `<state_dir>/ledger.json`, always replaced atomically and only while
//! holding `<state_dir>/ledger.lock`.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::link::index_patch::IndexPatch;
use crate::link::lock::{LEDGER_LOCK_TIMEOUT, with_lock};
use crate::platform::process;
use crate::util::atomic::{create_private_dir_all, write_atomic};

/// File name of the ledger inside the state dir.
pub const LEDGER_FILE: &str = "ledger.json";
/// File name of the ledger's lock inside the state dir.
pub const LEDGER_LOCK: &str = "ledger.lock";
/// Version written in the ledger; a newer one is refused rather than misread.
pub const LEDGER_VERSION: u32 = 1;

/// A process, identified so that a recycled pid is not mistaken for it: the pid plus the
/// process start time ([`crate::platform::process::ProcessInfo::start_time`]: clock ticks
/// after boot on Linux, microseconds after the epoch on macOS). The ledger never leaves
/// the machine, so the unit only has to be this machine's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcId {
    /// Process id.
    pub pid: u32,
    /// Start time (0 where the platform cannot tell).
    pub start_time: u64,
}

impl ProcId {
    /// This process.
    pub fn current() -> ProcId {
        let pid = std::process::id();
        ProcId {
            pid,
            start_time: process::info(pid).map_or(0, |i| i.start_time),
        }
    }

    /// The live process `pid`, if there is one (a zombie counts as gone).
    pub fn of(pid: u32) -> Option<ProcId> {
        if !process::exists(pid) {
            return None;
        }
        match process::info(pid) {
            Some(i) if i.zombie => None,
            Some(i) => Some(ProcId {
                pid,
                start_time: i.start_time,
            }),
            None => Some(ProcId { pid, start_time: 0 }),
        }
    }

    /// Whether this very process still runs: same pid, same start time, not a zombie.
    pub fn is_alive(&self) -> bool {
        if !process::exists(self.pid) {
            return false;
        }
        match process::info(self.pid) {
            Some(i) => !i.zombie && i.start_time == self.start_time,
            // The platform cannot tell (or the pid is another user's now): only a
            // record made without a start time can be matched, by pid alone.
            None => self.start_time == 0,
        }
    }
}

/// One seance process sharing a link, and the claude it runs once it runs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    /// The seance process.
    pub seance: ProcId,
    /// Its claude child, once spawned: a claude orphaned by a killed seance still uses
    /// the link, so the link stays until both are gone.
    #[serde(default)]
    pub claude: Option<ProcId>,
}

impl Owner {
    /// True while the seance or its claude still runs.
    pub fn is_alive(&self) -> bool {
        self.seance.is_alive() || self.claude.is_some_and(|c| c.is_alive())
    }
}

/// One link seance made (or is about to make), with everything needed to undo it.
///
/// Written before the link is created (`made_link: false`), so that a seance killed
/// between the two still leaves a record the reaper acts on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    /// Full session id.
    pub session_id: String,
    /// The symlink: `<current account>/projects/<folder>/<id>.jsonl`.
    pub link: PathBuf,
    /// What it points to: the owner account's transcript (absolute, canonical).
    pub source: PathBuf,
    /// The project folder holding the link.
    pub folder: PathBuf,
    /// Whether seance created that folder (then it removes it when otherwise empty).
    /// Handed over to another record of the same folder when this one is undone first.
    pub folder_created: bool,
    /// Directories above the folder that did not exist either and seance created
    /// (`projects/`, a config dir that did not exist yet), innermost first: removed
    /// after the folder when they are empty. Absent in ledgers written before.
    #[serde(default)]
    pub parents_created: Vec<PathBuf>,
    /// Whether the symlink has been created yet.
    pub made_link: bool,
    /// The index patch, once made.
    #[serde(default)]
    pub index: Option<IndexPatch>,
    /// The seances sharing this link; the last one to leave undoes it.
    pub owners: Vec<Owner>,
}

impl LinkRecord {
    /// Whether any owner still runs.
    pub fn has_live_owner(&self) -> bool {
        self.owners.iter().any(Owner::is_alive)
    }
}

/// The ledger's contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Format version ([`LEDGER_VERSION`]).
    pub version: u32,
    /// Every link seance made and has not undone yet.
    pub links: Vec<LinkRecord>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            version: LEDGER_VERSION,
            links: Vec::new(),
        }
    }
}

impl Ledger {
    /// Position of the record for `link`, if any.
    pub fn position(&self, link: &Path) -> Option<usize> {
        self.links.iter().position(|r| r.link == link)
    }
}

/// The ledger while its lock is held: change [`LedgerTxn::ledger`] and call
/// [`LedgerTxn::save`] as often as needed (each save is atomic).
pub struct LedgerTxn {
    path: PathBuf,
    /// The contents, as loaded (then as changed).
    pub ledger: Ledger,
}

impl LedgerTxn {
    /// Writes the ledger atomically (0600 for a new file).
    ///
    /// Errors: I/O, naming the ledger file.
    pub fn save(&self) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(&self.ledger)
            .with_context(|| format!("serializing the ledger {}", self.path.display()))?;
        bytes.push(b'\n');
        write_atomic(&self.path, &bytes)
    }
}

/// `<state_dir>/ledger.json`.
pub fn ledger_path(state_dir: &Path) -> PathBuf {
    state_dir.join(LEDGER_FILE)
}

/// Runs `f` on the ledger while holding its lock (waiting at most
/// [`LEDGER_LOCK_TIMEOUT`]), creating `state_dir` (0700) if needed. Saves at the end
/// when `f` succeeded and changed the ledger since its last save.
///
/// Errors: lock timeout, I/O, a ledger that is not ours to read (bad JSON, newer
/// version), each naming the file; or `f`'s error (then nothing more is saved).
pub fn with_ledger<T>(state_dir: &Path, f: impl FnOnce(&mut LedgerTxn) -> Result<T>) -> Result<T> {
    create_private_dir_all(state_dir)?;
    with_lock(&state_dir.join(LEDGER_LOCK), LEDGER_LOCK_TIMEOUT, || {
        let path = ledger_path(state_dir);
        // Under the lock no live writer owns a temp file: any is a dead one's.
        crate::util::atomic::remove_orphan_temps(&path)?;
        let ledger = read(&path)?;
        let mut txn = LedgerTxn {
            path,
            ledger: ledger.clone(),
        };
        let out = f(&mut txn)?;
        if txn.ledger != ledger {
            txn.save()?;
        }
        Ok(out)
    })
}

/// Reads the ledger without locking or creating anything (for `--reap --dry-run`);
/// an absent file is an empty ledger.
///
/// Errors: as [`with_ledger`] minus the lock.
pub fn read_unlocked(state_dir: &Path) -> Result<Ledger> {
    read(&ledger_path(state_dir))
}

/// Largest ledger read, in bytes: one record is about a kilobyte.
const MAX_LEDGER_BYTES: u64 = 16 << 20;

fn read(path: &Path) -> Result<Ledger> {
    let bytes = match crate::util::fsread::read_capped(path, MAX_LEDGER_BYTES) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Ledger::default()),
        Err(e) => return Err(e).with_context(|| format!("reading the ledger {}", path.display())),
    };
    let ledger: Ledger = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "the ledger {} is not valid (move it aside to continue)",
            path.display()
        )
    })?;
    anyhow::ensure!(
        ledger.version <= LEDGER_VERSION,
        "the ledger {} has version {}, newer than this seance understands ({LEDGER_VERSION})",
        path.display(),
        ledger.version
    );
    Ok(ledger)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::process::Command;

    #[test]
    fn current_process_is_alive_and_has_start_time() {
        let me = ProcId::current();
        assert!(me.is_alive());
        assert!(me.start_time > 0, "Linux and macOS tell start times");
        assert_eq!(ProcId::of(me.pid), Some(me));
    }

    #[test]
    fn recycled_pid_is_not_the_owner() {
        let me = ProcId::current();
        let impostor = ProcId {
            pid: me.pid,
            start_time: me.start_time + 1,
        };
        assert!(!impostor.is_alive());
    }

    #[test]
    fn exited_and_zombie_processes_are_dead() {
        let mut child = Command::new("true").spawn().unwrap();
        let id = ProcId::of(child.id());
        // Wait until it is a zombie (exited, not yet reaped).
        for _ in 0..200 {
            if process::info(child.id()).is_some_and(|i| i.zombie) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if let Some(id) = id {
            assert!(!id.is_alive(), "a zombie holds nothing");
        }
        child.wait().unwrap();
        // Reaped: gone for good (a recycled pid would carry another start time).
        assert!(id.is_none_or(|p| !p.is_alive()));
        assert!(
            !ProcId {
                pid: 0,
                start_time: 0
            }
            .is_alive()
        );
        assert!(
            !ProcId {
                pid: u32::MAX,
                start_time: 0
            }
            .is_alive()
        );
    }

    #[test]
    fn owner_alive_while_claude_runs() {
        let dead = ProcId {
            pid: u32::MAX,
            start_time: 1,
        };
        let me = ProcId::current();
        assert!(
            Owner {
                seance: dead,
                claude: Some(me)
            }
            .is_alive()
        );
        assert!(
            !Owner {
                seance: dead,
                claude: None
            }
            .is_alive()
        );
        assert!(
            Owner {
                seance: me,
                claude: None
            }
            .is_alive()
        );
    }

    fn record(link: &str) -> LinkRecord {
        LinkRecord {
            session_id: "s".into(),
            link: link.into(),
            source: "/src/s.jsonl".into(),
            folder: "/f".into(),
            folder_created: false,
            parents_created: Vec::new(),
            made_link: true,
            index: None,
            owners: vec![Owner {
                seance: ProcId::current(),
                claude: None,
            }],
        }
    }

    #[test]
    fn with_ledger_round_trips_and_saves_only_on_change() {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("state/seance");
        // Reading an absent ledger creates nothing but the dir and lock.
        let n = with_ledger(&state, |t| Ok(t.ledger.links.len())).unwrap();
        assert_eq!(n, 0);
        assert!(!ledger_path(&state).exists());
        with_ledger(&state, |t| {
            t.ledger.links.push(record("/l/a.jsonl"));
            Ok(())
        })
        .unwrap();
        let l = read_unlocked(&state).unwrap();
        assert_eq!(l.links, vec![record("/l/a.jsonl")]);
        assert_eq!(l.position(Path::new("/l/a.jsonl")), Some(0));
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(ledger_path(&state))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let dmode = fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(dmode & 0o777, 0o700);
    }

    #[test]
    fn failing_closure_saves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let r: Result<()> = with_ledger(tmp.path(), |t| {
            t.ledger.links.push(record("/l/a.jsonl"));
            anyhow::bail!("nope")
        });
        assert!(r.is_err());
        assert!(read_unlocked(tmp.path()).unwrap().links.is_empty());
    }

    #[test]
    fn bad_ledger_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(ledger_path(tmp.path()), b"{oops").unwrap();
        let err = read_unlocked(tmp.path()).unwrap_err();
        assert!(format!("{err:#}").contains("ledger.json"));
        fs::write(ledger_path(tmp.path()), br#"{"version":99,"links":[]}"#).unwrap();
        let err = with_ledger(tmp.path(), |_| Ok(())).unwrap_err();
        assert!(format!("{err:#}").contains("version 99"));
    }
}
