//! Driving an interactive program (seance running claude's TUI) in a pseudo-terminal:
//! wait for text on the screen, type lines, wait for the exit status, all with deadlines.
//!
//! The TUI paints with ANSI escapes and skips cells that already hold a blank (so spaces
//! between words often never reach the terminal as spaces). Matching is therefore done on
//! the output with escape sequences and all whitespace removed.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use expectrl::process::unix::WaitStatus;
use expectrl::session::OsSession;

/// A child running on a pseudo-terminal of 200x50 cells.
pub struct Pty {
    session: OsSession,
    raw: Vec<u8>,
    /// Byte offset in the squashed text up to which earlier `expect`s matched.
    seen: usize,
    exit: Option<WaitStatus>,
}

/// How a PTY child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Exited with this code.
    Code(i32),
    /// Killed by this signal number.
    Signal(i32),
}

impl Pty {
    /// Starts `cmd` (env and cwd already set) on a fresh pseudo-terminal.
    pub fn spawn(cmd: Command) -> Pty {
        let shown = format!("{cmd:?}");
        let mut session =
            OsSession::spawn(cmd).unwrap_or_else(|e| panic!("spawn {shown} on a pty: {e}"));
        session
            .get_process_mut()
            .set_window_size(200, 50)
            .expect("set pty window size");
        Pty {
            session,
            raw: Vec::new(),
            seen: 0,
            exit: None,
        }
    }

    /// Process id of the child on the terminal.
    pub fn pid(&self) -> i32 {
        self.session.get_process().pid().as_raw()
    }

    /// Everything the child printed so far, escapes removed.
    pub fn text(&self) -> String {
        strip_ansi(&self.raw)
    }

    /// Waits until `needle` appears in the output after the previous match, ignoring
    /// whitespace on both sides (a needle ending in a digit must not be followed by one);
    /// panics with the recent output after `limit`.
    pub fn expect(&mut self, needle: &str, limit: Duration) {
        self.expect_any(&[needle], limit);
    }

    /// Like [`Pty::expect`] for whichever of `needles` appears first after the previous
    /// match (the earliest on the screen wins); returns its index.
    pub fn expect_any(&mut self, needles: &[&str], limit: Duration) -> usize {
        let start = Instant::now();
        let wants: Vec<String> = needles.iter().map(|n| squash(n)).collect();
        loop {
            let eof = self.pump();
            let text = self.text();
            let flat = squash(&text);
            let found = wants
                .iter()
                .enumerate()
                .filter_map(|(i, want)| find_after(&flat, self.seen, want).map(|end| (end, i)))
                .min();
            if let Some((end, i)) = found {
                self.seen = end;
                return i;
            }
            if eof || start.elapsed() > limit {
                panic!(
                    "waited {:?} for {needles:?} on the terminal ({}); recent output:\n{}",
                    start.elapsed(),
                    if eof {
                        "child closed the terminal"
                    } else {
                        "timeout"
                    },
                    tail(&text, 3000)
                );
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Waits for claude's input box: the `❯` prompt, then the footer under it, which
    /// appears once the TUI accepts typing: `? for shortcuts` on 2.1.197, the permission
    /// mode's `(shift+tab to cycle)` on 2.1.332 (whose interactive mode defaults to auto).
    pub fn expect_claude_prompt(&mut self, limit: Duration) {
        self.expect("❯", limit);
        self.expect_any(&["? for shortcuts", "shift+tab to cycle"], limit);
    }

    /// Types `line` and, after a pause so the TUI does not take it for a paste, Enter.
    pub fn send_line(&mut self, line: &str) {
        self.session
            .write_all(line.as_bytes())
            .expect("write to pty");
        self.session.flush().expect("flush pty");
        self.settle(Duration::from_millis(400));
        self.session.write_all(b"\r").expect("write Enter to pty");
        self.session.flush().expect("flush pty");
    }

    /// Types `keys` as they are (control keys included), with no Enter.
    pub fn send_keys(&mut self, keys: &[u8]) {
        self.session.write_all(keys).expect("write keys to pty");
        self.session.flush().expect("flush pty");
    }

    /// The screen as a terminal of this size would show it now (the output replayed
    /// through a terminal emulator), one line per row, trailing blanks trimmed. Unlike
    /// [`Pty::text`] this sees what a diffing TUI left on screen, not what it sent.
    pub fn screen(&mut self) -> String {
        self.pump();
        let size = |n: u16| std::num::NonZeroU16::new(n).expect("non-zero");
        let mut parser = vt100::Parser::new(size(50), size(200), 0);
        parser.process(&self.raw);
        parser.screen().contents()
    }

    /// Waits until `needle` is on the screen (see [`Pty::screen`]); panics with the
    /// screen after `limit`.
    ///
    /// The way to wait for an answer painted where an earlier one was (a resumed or
    /// second answer, `MARKERS: A` then `MARKERS: A B`): claude's diffing renderer skips
    /// the cells that already hold the right character, so the stream [`Pty::expect`]
    /// reads can lack text the screen shows (2.1.197 has sent `ARKERS: ...` without its
    /// `M`, and dropped the spaces between markers).
    pub fn expect_screen(&mut self, needle: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            let eof = self.pump();
            let screen = self.screen();
            if screen.contains(needle) {
                return;
            }
            if eof || start.elapsed() > limit {
                panic!(
                    "waited {:?} for {needle:?} on the screen ({}); screen:\n{screen}",
                    start.elapsed(),
                    if eof {
                        "child closed the terminal"
                    } else {
                        "timeout"
                    },
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types `keys` as they are (no Enter, no pause).
    pub fn send(&mut self, keys: &str) {
        self.session
            .write_all(keys.as_bytes())
            .expect("write to pty");
        self.session.flush().expect("flush pty");
    }

    /// Everything the child printed so far, escapes and all.
    pub fn raw(&mut self) -> Vec<u8> {
        self.pump();
        self.raw.clone()
    }

    /// Keeps reading output for `pause` (so the child never blocks on a full terminal).
    pub fn settle(&mut self, pause: Duration) {
        let start = Instant::now();
        while start.elapsed() < pause {
            if self.pump() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the child to end, reading its output meanwhile; panics after `limit`.
    pub fn wait(&mut self, limit: Duration) -> Ended {
        let start = Instant::now();
        loop {
            self.pump();
            if let Some(ended) = self.exited() {
                return ended;
            }
            if start.elapsed() > limit {
                panic!(
                    "child still running after {limit:?}; recent output:\n{}",
                    tail(&self.text(), 3000)
                );
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// The exit, if the child has ended (reaps it once).
    pub fn exited(&mut self) -> Option<Ended> {
        if self.exit.is_none() {
            match self.session.get_process().status() {
                Ok(WaitStatus::StillAlive) | Err(_) => {}
                Ok(status) => self.exit = Some(status),
            }
        }
        match self.exit? {
            WaitStatus::Exited(_, code) => Some(Ended::Code(code)),
            WaitStatus::Signaled(_, signal, _) => Some(Ended::Signal(signal as i32)),
            _ => None,
        }
    }

    /// Reads whatever output is available; returns true at end of file.
    fn pump(&mut self) -> bool {
        let mut buf = [0u8; 8192];
        loop {
            match self.session.try_read(&mut buf) {
                Ok(0) => return true,
                Ok(n) => self.raw.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                // EIO is how Linux reports a pty whose other side has closed.
                Err(_) => return true,
            }
        }
    }
}

/// Whether `needle` (already squashed) occurs in the output squashed so far after the
/// previous match.
fn find_after(flat: &str, from: usize, want: &str) -> Option<usize> {
    let mut from = from.min(flat.len());
    while let Some(at) = flat.get(from..).and_then(|rest| rest.find(want)) {
        let end = from + at + want.len();
        let digit_end = want.ends_with(|c: char| c.is_ascii_digit());
        let digit_next = flat[end..].starts_with(|c: char| c.is_ascii_digit());
        if !(digit_end && digit_next) {
            return Some(end);
        }
        from = from + at + 1;
    }
    None
}

/// `text` without any whitespace.
pub fn squash(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// `bytes` decoded lossily with CSI, OSC and two-byte escape sequences removed; a
/// cursor-forward (`ESC [ n C`) becomes one space so words stay apart when it is used.
pub fn strip_ansi(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('[') => {
                let mut last = None;
                for d in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&d) {
                        last = Some(d);
                        break;
                    }
                }
                if last == Some('C') {
                    out.push(' ');
                }
            }
            Some(']') => {
                while let Some(d) = chars.next() {
                    if d == '\u{7}' {
                        break;
                    }
                    if d == '\u{1b}' && chars.peek() == Some(&'\\') {
                        chars.next();
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}
