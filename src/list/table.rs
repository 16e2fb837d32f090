//! The listing as a table that fits the terminal.
//!
//! Text that came from files (titles, prompts, paths) is untrusted and goes through
//! `sanitize` before reaching a terminal; JSON carries the raw values.

use std::io::{self, Write};
use std::path::Path;

use chrono::{DateTime, Utc};
use console::{Style, measure_text_width, pad_str, truncate_str};

use crate::discover::Session;
use crate::util::sanitize::for_terminal;
use crate::util::timefmt::{age, short};

/// How to draw the table, decided once by the caller.
#[derive(Debug, Clone)]
pub struct TableStyle {
    /// Total width in columns.
    pub width: usize,
    /// Whether to emit colour escapes.
    pub color: bool,
    /// Home directory, abbreviated to `~` in project paths.
    pub home: Option<std::path::PathBuf>,
    /// "Now", for ages.
    pub now: DateTime<Utc>,
}

pub use crate::util::sanitize::tilde;

struct Column {
    header: &'static str,
    cells: Vec<String>,
    /// Width this column asks for; flexible columns may get less.
    want: usize,
    flexible: bool,
    style: Style,
}

/// Writes the table: a header row, one row per session (first 8 characters of the id,
/// account (`*` marks the current one), started, last active, actor, project dir and
/// title), fitted to `style.width` by shrinking the project and title columns and, on
/// very narrow terminals, dropping columns. Every cell is one line of sanitised text.
///
/// Errors: I/O errors from `out`.
pub fn write_table(
    out: &mut dyn Write,
    sessions: &[&Session],
    style: &TableStyle,
) -> io::Result<()> {
    let mut cols = columns(sessions, style);
    let widths = fit(&mut cols, style.width);
    let mut w = io::BufWriter::new(out);
    write_header(&mut w, &cols, &widths, style.color)?;
    for row in 0..sessions.len() {
        writeln!(w, "{}", row_line(&cols, &widths, row).trim_end())?;
    }
    w.flush()
}

/// `s` with colour forced on or off, whatever the terminal detection says.
fn styled(s: Style, color: bool) -> Style {
    s.force_styling(color)
}

/// One sanitised cell; `-` when the value is missing.
fn cell(s: Option<&str>) -> String {
    for_terminal(s.unwrap_or("-")).into_owned()
}

/// A column whose wanted width is its widest cell or its header, whichever is wider.
fn column(header: &'static str, cells: Vec<String>, flexible: bool, style: Style) -> Column {
    let want = cells
        .iter()
        .map(|s| measure_text_width(s))
        .max()
        .unwrap_or(0)
        .max(header.len());
    Column {
        header,
        cells,
        want,
        flexible,
        style,
    }
}

/// The table's columns in display order, each holding one cell per session; the actor
/// column only when some session has one (Gas Town towns).
fn columns(sessions: &[&Session], style: &TableStyle) -> Vec<Column> {
    let st = |s: Style| styled(s, style.color);
    let each =
        |f: &dyn Fn(&Session) -> String| -> Vec<String> { sessions.iter().map(|s| f(s)).collect() };
    let mut cols = vec![
        column(
            "ID",
            each(&|s| s.session_id.chars().take(8).collect()),
            false,
            st(Style::new().yellow()),
        ),
        column(
            "ACCOUNT",
            each(&account_cell),
            false,
            st(Style::new().cyan()),
        ),
        column(
            "STARTED",
            each(&|s| s.started_at.as_ref().map_or("-".into(), short)),
            false,
            st(Style::new().dim()),
        ),
        column(
            "ACTIVE",
            each(&|s| active_cell(s, style.now)),
            false,
            st(Style::new().dim()),
        ),
        column(
            "ACTOR",
            each(&|s| cell(s.actor.as_deref())),
            true,
            st(Style::new().green()),
        ),
        column(
            "PROJECT",
            each(&|s| project_cell(s, style.home.as_deref())),
            true,
            st(Style::new().blue()),
        ),
        column(
            "TITLE",
            each(&|s| cell(s.title.as_deref())),
            true,
            Style::new().force_styling(false),
        ),
    ];
    if sessions.iter().all(|s| s.actor.is_none()) {
        cols.retain(|c| c.header != "ACTOR");
    }
    cols
}

/// The account name, with `*` when it is the current account.
fn account_cell(s: &Session) -> String {
    let name = cell(s.account.as_deref());
    if s.current_account {
        format!("{name}*")
    } else {
        name
    }
}

/// How long ago the session was last active, or `-`.
fn active_cell(s: &Session, now: DateTime<Utc>) -> String {
    s.last_active_at
        .as_ref()
        .map_or("-".into(), |t| age(t, now))
}

/// The project directory with the home directory shown as `~`, or `-`.
fn project_cell(s: &Session, home: Option<&Path>) -> String {
    cell(s.cwd.as_deref().map(|c| tilde(c, home)).as_deref())
}

/// Writes the bold header row, each header padded to its column's width.
fn write_header(
    w: &mut dyn Write,
    cols: &[Column],
    widths: &[usize],
    color: bool,
) -> io::Result<()> {
    let header: Vec<String> = cols
        .iter()
        .zip(widths)
        .map(|(c, &wd)| pad_str(c.header, wd, console::Alignment::Left, None).into_owned())
        .collect();
    let bold = styled(Style::new().bold(), color);
    writeln!(w, "{}", bold.apply_to(header.join("  ").trim_end()))
}

/// Session `row` as one line: each cell truncated with `…` to its column's width, padded
/// (except the last), styled, and joined with two-space gaps.
fn row_line(cols: &[Column], widths: &[usize], row: usize) -> String {
    let mut line = String::new();
    for (i, (c, &wd)) in cols.iter().zip(widths).enumerate() {
        let text = truncate_str(&c.cells[row], wd, "…");
        let last = i + 1 == cols.len();
        let padded = if last {
            text.into_owned()
        } else {
            pad_str(&text, wd, console::Alignment::Left, None).into_owned()
        };
        line.push_str(&c.style.apply_to(padded).to_string());
        if !last {
            line.push_str("  ");
        }
    }
    line
}

/// Chooses column widths summing (with two-space gaps) to at most `width`: fixed columns
/// keep their size, flexible ones share the rest (title first, then project, then
/// actor), and columns are dropped from the right-hand flexible ones inward when even
/// that cannot fit.
fn fit(cols: &mut Vec<Column>, width: usize) -> Vec<usize> {
    const MIN_FLEX: usize = 8;
    loop {
        let gaps = 2 * cols.len().saturating_sub(1);
        let fixed: usize = cols.iter().filter(|c| !c.flexible).map(|c| c.want).sum();
        let flex: Vec<usize> = cols
            .iter()
            .enumerate()
            .filter(|(_, c)| c.flexible)
            .map(|(i, _)| i)
            .collect();
        let room = width.saturating_sub(fixed + gaps);
        let need_min: usize = flex.iter().map(|&i| cols[i].want.min(MIN_FLEX)).sum();
        if room < need_min && cols.len() > 2 {
            // Drop the least useful column that is left: actor, then project, then the
            // times, then the account.
            let order = ["ACTOR", "PROJECT", "ACTIVE", "STARTED", "ACCOUNT", "TITLE"];
            if let Some(pos) = order
                .iter()
                .find_map(|h| cols.iter().position(|c| c.header == *h))
            {
                cols.remove(pos);
                continue;
            }
        }
        let mut widths: Vec<usize> = cols
            .iter()
            .map(|c| if c.flexible { 0 } else { c.want })
            .collect();
        // Give every flexible column its minimum first.
        let mut left = room;
        for &i in &flex {
            let m = cols[i].want.min(MIN_FLEX).min(left);
            widths[i] = m;
            left -= m;
        }
        // Actor and project may take a third of the room each, the title all that is
        // left; what the title does not need goes back to the project, then the actor.
        let pos = |h: &str| cols.iter().position(|c| c.header == h);
        let mut grow = |i: usize, cap: usize, widths: &mut Vec<usize>| {
            let extra = cols[i].want.min(cap).saturating_sub(widths[i]).min(left);
            widths[i] += extra;
            left -= extra;
        };
        for h in ["ACTOR", "PROJECT"] {
            if let Some(i) = pos(h) {
                grow(i, room / 3, &mut widths);
            }
        }
        for h in ["TITLE", "PROJECT", "ACTOR"] {
            if let Some(i) = pos(h) {
                grow(i, usize::MAX, &mut widths);
            }
        }
        return widths;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_abbreviates_home_only_at_a_boundary() {
        let h = Some(Path::new("/home/u"));
        assert_eq!(tilde("/home/u/proj", h), "~/proj");
        assert_eq!(tilde("/home/u", h), "~");
        assert_eq!(tilde("/home/user2/x", h), "/home/user2/x");
        assert_eq!(tilde("/srv/x", None), "/srv/x");
    }
}
