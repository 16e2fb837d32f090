//! The picker's screen: `/dev/tty` (stdout may be redirected) in raw mode on the
//! alternate screen, given back as it was on every way out: a normal return, an error,
//! a panic (a panic hook restores before the message is printed) and SIGTERM, SIGHUP or
//! SIGINT (caught while the picker runs; the event loop sees them and returns).

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Once};

use anyhow::{Context, Result};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::Show;
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    BeginSynchronizedUpdate, Clear, ClearType, EndSynchronizedUpdate, EnterAlternateScreen,
    LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The picker's terminal backend: buffered writes to `/dev/tty`.
pub type Backend = CrosstermBackend<BufWriter<File>>;

/// True while this process holds the terminal in raw mode on the alternate screen.
static HELD: AtomicBool = AtomicBool::new(false);

/// True when there is a terminal to draw the picker on: `/dev/tty` opens for reading
/// and writing (it does not when seance has no controlling terminal).
pub fn terminal_available() -> bool {
    open_tty().is_ok()
}

fn open_tty() -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open("/dev/tty")
}

/// The terminal, held: raw mode, alternate screen, signal handlers. Dropping it gives
/// the terminal back.
pub struct Screen {
    /// The ratatui terminal drawing on `/dev/tty`.
    pub terminal: Terminal<Backend>,
    signals: Vec<signal_hook_registry::SigId>,
    caught: Arc<AtomicI32>,
}

impl Screen {
    /// Takes the terminal.
    ///
    /// Errors: `/dev/tty` cannot be opened, or raw mode or the alternate screen cannot
    /// be set up (whatever was set up is undone first).
    pub fn open() -> Result<Screen> {
        let mut tty = open_tty().context("opening /dev/tty")?;
        install_panic_hook();
        let caught = Arc::new(AtomicI32::new(0));
        let mut signals = Vec::new();
        for sig in [SIGTERM, SIGHUP, SIGINT] {
            let caught = Arc::clone(&caught);
            // SAFETY: the action only stores to an atomic, which is async-signal-safe.
            let id = unsafe {
                signal_hook_registry::register(sig, move || {
                    let _ = caught.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
                })
            }
            .with_context(|| format!("installing a handler for signal {sig}"))?;
            signals.push(id);
        }
        let screen = Screen {
            terminal: Terminal::new(CrosstermBackend::new(BufWriter::new(
                tty.try_clone().context("opening /dev/tty")?,
            )))
            .context("setting up the terminal")?,
            signals,
            caught,
        };
        enable_raw_mode().context("putting the terminal in raw mode")?;
        HELD.store(true, Ordering::SeqCst);
        // Cleared by hand: ratatui's clear() asks the terminal where the cursor is,
        // which costs a round trip (and hangs until a timeout on a terminal that does
        // not answer).
        execute!(tty, EnterAlternateScreen, Clear(ClearType::All))
            .context("switching to the alternate screen")?;
        Ok(screen)
    }

    /// The first of SIGTERM, SIGHUP, SIGINT that arrived since [`Screen::open`].
    pub fn signal(&self) -> Option<i32> {
        Some(self.caught.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }

    /// Draws one frame inside a synchronized update (the terminal shows it whole, and
    /// the benchmark sees where a frame ends).
    ///
    /// Errors: writing to the terminal.
    pub fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame)) -> io::Result<()> {
        execute!(self.terminal.backend_mut(), BeginSynchronizedUpdate)?;
        self.terminal.draw(render)?;
        execute!(self.terminal.backend_mut(), EndSynchronizedUpdate)
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.terminal.backend_mut().flush();
        restore();
        for id in self.signals.drain(..) {
            signal_hook_registry::unregister(id);
        }
    }
}

/// Gives the terminal back, once: cursor shown, main screen, cooked mode.
fn restore() {
    if HELD.swap(false, Ordering::SeqCst) {
        if let Ok(mut tty) = open_tty() {
            let _ = execute!(tty, Show, LeaveAlternateScreen);
        }
        let _ = disable_raw_mode();
    }
}

/// Restores the terminal before a panic's message is printed (so it is readable and the
/// shell is usable), then runs the previous hook.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
