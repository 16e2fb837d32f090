//! The picker: `seance --talk` with no id opens a full-screen list of the sessions the
//! filters select, on `/dev/tty`. Type to filter (fuzzy; an exact substring ranks
//! first), move with the arrows, Ctrl-N/Ctrl-P, PgUp/PgDn, Home/End; Enter picks, Esc or
//! Ctrl-C leaves.
//!
//! The first rows come from the metadata cache at once; the folders are walked on
//! another thread meanwhile and the list is replaced by the walk's when it completes,
//! keeping what was typed and highlighted. A session picked from the cache that has gone
//! since is looked up again by the caller and fails cleanly.

use std::cell::Cell;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::Duration;

use anyhow::{Context, Result};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::cli::SortKey;
use crate::config::{Config, Filters};
use crate::discover::{self, ScanOptions, Session};
use crate::list::select;

mod rank;
mod term;
mod view;

pub use rank::{Ranker, haystack};
pub use term::terminal_available;

/// Sessions drawn from the head of the metadata cache before the walk completes: the
/// transcripts modified last, many screens' worth. (Decoding all 20,000 rows of a big
/// cache costs more than the first frame may.)
const HEAD_ROWS: usize = 1000;
// The cache sorts only its newest rows.
const _: () = assert!(HEAD_ROWS <= crate::discover::cache::NEWEST_ROWS);

/// How the picker ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// Enter on this session: its id and its account's config dir (the copy shown).
    Session {
        /// The full session id.
        id: String,
        /// The owning account's config dir.
        config_dir: Option<PathBuf>,
    },
    /// Esc or Ctrl-C.
    Left,
    /// SIGTERM, SIGHUP or SIGINT arrived (its number).
    Signal(i32),
}

/// The picker's state for one list of sessions.
pub struct State<'a> {
    /// The selected sessions, in the listing's order.
    rows: Vec<&'a Session>,
    /// Built after the first frame: ranking needs every row's text.
    ranker: Option<Ranker>,
    /// The rows matching the query, best first (indexes into `rows`).
    shown: Vec<u32>,
    /// What was typed.
    query: String,
    /// Position of the highlighted row in `shown`.
    cursor: usize,
    /// First row of `shown` on screen.
    offset: Cell<usize>,
    /// Rows the list had room for at the last draw.
    list_height: Cell<usize>,
    /// The folders are still being walked.
    scanning: bool,
    /// Colour the screen (`NO_COLOR` unset).
    color: bool,
    home: Option<PathBuf>,
    sort: SortKey,
}

/// What survives replacing the list: the query and the highlighted copy.
#[derive(Debug, Default)]
struct Carry {
    query: String,
    highlighted: Option<(String, Option<PathBuf>)>,
}

/// What a key did.
enum Action {
    Nothing,
    Redraw,
    Done(Picked),
}

impl<'a> State<'a> {
    fn new(rows: Vec<&'a Session>, cfg: &Config, filters: &Filters, scanning: bool) -> State<'a> {
        let shown = (0..rows.len() as u32).collect();
        State {
            rows,
            ranker: None,
            shown,
            query: String::new(),
            cursor: 0,
            offset: Cell::new(0),
            list_height: Cell::new(10),
            scanning,
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
            home: cfg.home.clone(),
            sort: filters.sort,
        }
    }

    /// The highlighted session.
    pub fn current(&self) -> Option<&'a Session> {
        self.shown.get(self.cursor).map(|&i| self.rows[i as usize])
    }

    /// Builds the ranker if it is not built yet.
    fn prepare(&mut self) {
        if self.ranker.is_none() {
            self.ranker = Some(Ranker::new(&self.rows));
        }
    }

    /// Re-ranks for the query and highlights the best match.
    fn requery(&mut self) {
        self.prepare();
        if let Some(r) = self.ranker.as_mut() {
            self.shown = r.rank(&self.query);
        }
        self.cursor = 0;
        self.offset.set(0);
    }

    /// Takes over what `carry` kept from the previous list.
    fn restore(&mut self, carry: Carry) {
        // With nothing typed every row shows in order: no ranking needed yet (the
        // ranker is built after this frame is drawn).
        if !carry.query.is_empty() {
            self.query = carry.query;
            self.requery();
        }
        if let Some((id, dir)) = carry.highlighted {
            let at = self.shown.iter().position(|&i| {
                let s = self.rows[i as usize];
                s.session_id == id && s.config_dir.as_deref() == dir.as_deref()
            });
            self.cursor = at.unwrap_or(0);
            self.scroll();
        }
    }

    fn carry(&self) -> Carry {
        Carry {
            query: self.query.clone(),
            highlighted: self.current().map(|s| {
                (
                    s.session_id.clone(),
                    s.config_dir.as_deref().map(std::path::Path::to_path_buf),
                )
            }),
        }
    }

    /// Moves the highlight by `delta` rows, within the list.
    fn step(&mut self, delta: isize) {
        let last = self.shown.len().saturating_sub(1);
        self.cursor = self.cursor.saturating_add_signed(delta).min(last);
        self.scroll();
    }

    /// Scrolls so the highlighted row is on screen.
    fn scroll(&self) {
        let h = self.list_height.get().max(1);
        let off = self.offset.get();
        if self.cursor < off {
            self.offset.set(self.cursor);
        } else if self.cursor >= off + h {
            self.offset.set(self.cursor + 1 - h);
        }
    }

    /// Applies one key.
    fn key(&mut self, k: KeyEvent) -> Action {
        if k.kind == KeyEventKind::Release {
            return Action::Nothing;
        }
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let page = self.list_height.get().max(1) as isize;
        match (k.code, ctrl) {
            (KeyCode::Esc, _) | (KeyCode::Char('c'), true) => return Action::Done(Picked::Left),
            (KeyCode::Enter, _) => {
                return match self.current() {
                    Some(s) => Action::Done(Picked::Session {
                        id: s.session_id.clone(),
                        config_dir: s.config_dir.as_deref().map(std::path::Path::to_path_buf),
                    }),
                    None => Action::Nothing,
                };
            }
            (KeyCode::Up, _) | (KeyCode::Char('p' | 'k'), true) => self.step(-1),
            (KeyCode::Down, _) | (KeyCode::Char('n' | 'j'), true) => self.step(1),
            (KeyCode::PageUp, _) => self.step(-page),
            (KeyCode::PageDown, _) => self.step(page),
            (KeyCode::Home, _) => self.step(isize::MIN),
            (KeyCode::End, _) => self.step(isize::MAX),
            (KeyCode::Backspace, _) => {
                self.query.pop();
                self.requery();
            }
            (KeyCode::Char('u'), true) => {
                self.query.clear();
                self.requery();
            }
            (KeyCode::Char('w'), true) => {
                let kept = self.query.trim_end().rfind(' ').map_or(0, |i| i + 1);
                self.query.truncate(kept);
                self.requery();
            }
            (KeyCode::Char(c), false) if !k.modifiers.contains(KeyModifiers::ALT) => {
                self.query.push(c);
                self.requery();
            }
            _ => return Action::Nothing,
        }
        Action::Redraw
    }
}

/// How one list's event loop ended.
enum Step {
    Done(Picked),
    /// The walk completed: its list replaces the shown one.
    Reconcile(Listed),
}

/// A list for the picker: the sessions it shows, in order, and, when it was made off
/// the screen's thread, their ranker.
#[derive(Default)]
struct Listed {
    rows: Vec<Session>,
    ranker: Option<Ranker>,
}

/// What the picker lists of `sessions`: the filters' selection, in its order, of those
/// with a transcript (only a transcript can be resumed; index entries and Gas Town
/// events alone are not listed).
fn listed(sessions: Vec<Session>, filters: &Filters) -> Vec<Session> {
    let keep: Vec<usize> = {
        let (rows, _) = select(&sessions, filters);
        // Every row is an element of `sessions`: its index is its offset there.
        let base = sessions.as_ptr().addr();
        let size = std::mem::size_of::<Session>();
        rows.iter()
            .filter(|s| s.transcript.is_some())
            .map(|s| (std::ptr::from_ref::<Session>(s).addr() - base) / size)
            .collect()
    };
    let mut slots: Vec<Option<Session>> = sessions.into_iter().map(Some).collect();
    keep.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// Runs the picker over the sessions `filters` select and returns how it ended. The
/// terminal is given back before this returns, whatever happens.
///
/// Errors: the terminal cannot be set up, read or written.
pub fn pick(cfg: &Config, filters: &Filters) -> Result<Picked> {
    let (head, _) = cfg
        .cache_file
        .as_deref()
        .map(|f| discover::from_cache(&cfg.accounts, f, HEAD_ROWS))
        .unwrap_or_default();
    let mut list = Listed {
        rows: listed(head, filters),
        ranker: None,
    };
    let mut screen = term::Screen::open()?;
    let mut walk = None;
    let mut carry = Carry::default();
    loop {
        // Before the walk has started the rows are the cache's; after, the walk's.
        let mut st = State::new(list.rows.iter().collect(), cfg, filters, walk.is_none());
        st.ranker = list.ranker.take();
        st.restore(std::mem::take(&mut carry));
        screen
            .draw(|f| view::draw(f, &st))
            .context("drawing the picker")?;
        // Tests check that a panic gives the terminal back.
        if std::env::var_os(crate::link::guard::FAULT_ENV).is_some_and(|v| v == "picker-panic") {
            panic!("test fault: picker-panic");
        }
        // The walk starts once the first rows are on the screen.
        let rx = walk.get_or_insert_with(|| start_walk(cfg, filters));
        match events(&mut screen, &mut st, rx)? {
            Step::Done(p) => return Ok(p),
            Step::Reconcile(new) => {
                carry = st.carry();
                drop(st);
                list = new;
            }
        }
    }
}

/// Walks every account on another thread (with the cache, as a listing does) and makes
/// the list there, ranker and all, so the screen's thread only swaps it in; the list
/// arrives on the returned channel.
fn start_walk(cfg: &Config, filters: &Filters) -> Receiver<Listed> {
    let (tx, rx) = mpsc::channel();
    let accounts = cfg.accounts.clone();
    let events = cfg.events_file.clone();
    let cache = cfg.cache_file.clone();
    let filters = filters.clone();
    std::thread::spawn(move || {
        let catalog = discover::scan(ScanOptions {
            accounts: &accounts,
            events_file: events.as_deref(),
            want: None,
            cache_file: cache.as_deref(),
            exact_id: None,
        });
        let rows = listed(catalog.sessions, &filters);
        let ranker = Ranker::new(&rows.iter().collect::<Vec<_>>());
        let _ = tx.send(Listed {
            rows,
            ranker: Some(ranker),
        });
    });
    rx
}

/// Reacts to keys, signals and the walk's end until a pick, a leave or a new list.
fn events(screen: &mut term::Screen, st: &mut State, walk: &Receiver<Listed>) -> Result<Step> {
    st.prepare();
    loop {
        if let Some(sig) = screen.signal() {
            return Ok(Step::Done(Picked::Signal(sig)));
        }
        if st.scanning {
            match walk.try_recv() {
                Ok(list) => return Ok(Step::Reconcile(list)),
                Err(TryRecvError::Disconnected) => {
                    st.scanning = false;
                    screen
                        .draw(|f| view::draw(f, st))
                        .context("drawing the picker")?;
                }
                Err(TryRecvError::Empty) => {}
            }
        }
        if !event::poll(Duration::from_millis(25)).context("reading the terminal")? {
            continue;
        }
        let mut redraw = false;
        // Take every event already waiting (a paste, fast typing) before drawing.
        loop {
            match event::read().context("reading the terminal")? {
                Event::Key(k) => match st.key(k) {
                    Action::Done(p) => return Ok(Step::Done(p)),
                    Action::Redraw => redraw = true,
                    Action::Nothing => {}
                },
                Event::Resize(..) => redraw = true,
                _ => {}
            }
            if !event::poll(Duration::ZERO).context("reading the terminal")? {
                break;
            }
        }
        if redraw {
            screen
                .draw(|f| view::draw(f, st))
                .context("drawing the picker")?;
        }
    }
}
