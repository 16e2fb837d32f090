//! The listing as a table that fits the terminal, made for reading at 80 columns: the
//! title keeps at least 30 characters, paths and actors are cut from the left so the
//! part that names them stays, forks and live sessions are marked, the footer wraps.
//!
//! Text that came from files (titles, prompts, paths) is untrusted and goes through
//! `sanitize` before reaching a terminal; JSON carries the raw values.

use std::io::{self, Write};
use std::path::Path;

use chrono::{DateTime, Local, Utc};
use console::{Style, measure_text_width, pad_str, truncate_str};

use crate::cli::SortKey;
use crate::discover::Session;
use crate::search::Matches;
use crate::util::sanitize::for_terminal;
use crate::util::timefmt::compact;

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
    /// The order of the rows: its time is the one the date column shows.
    pub sort: SortKey,
}

/// Mark of a session whose claude is running now.
pub const LIVE_MARK: &str = "●";
/// Mark of a fork.
pub const FORK_MARK: &str = "↳";

/// The title keeps at least this many columns (all of a shorter one) while the project
/// and actor columns are shown.
const TITLE_MIN: usize = 30;
/// The project and actor columns keep at least this many columns (`…/crew/max`).
const PATH_MIN: usize = 10;
/// An account name wider than this is cut.
const ACCOUNT_MAX: usize = 16;

pub use crate::util::sanitize::tilde;

/// `path` in at most `width` columns, cut from the left so its last components stay:
/// `/tmp/ls1/gastown/crew/max` in 10 columns is `…/crew/max`. When not even the last
/// component fits, its end is kept (`…ongname`).
pub fn cut_left(path: &str, width: usize) -> String {
    if measure_text_width(path) <= width {
        return path.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let parts: Vec<&str> = path.split('/').collect();
    let mut tail = String::new();
    for part in parts.iter().rev() {
        let candidate = if tail.is_empty() {
            (*part).to_owned()
        } else {
            format!("{part}/{tail}")
        };
        if measure_text_width(&candidate) + 2 > width {
            break;
        }
        tail = candidate;
    }
    if !tail.is_empty() {
        return format!("…/{tail}");
    }
    // Keep the end of the last component, by display width.
    cut_to_tail(parts.last().copied().unwrap_or(path), width)
}

/// The marks of a session: [`LIVE_MARK`] when its claude runs now, [`FORK_MARK`] when it
/// is a fork; empty for neither.
pub fn marks(s: &Session) -> &'static str {
    match (s.live.is_some(), s.forked_from.is_some()) {
        (true, true) => "●↳",
        (true, false) => LIVE_MARK,
        (false, true) => FORK_MARK,
        (false, false) => "",
    }
}

/// What names a session in a row, sanitised: for a fork the first prompt asked in it
/// (its title is its parent's, copied), else the title; `-` when neither is known.
pub fn shown_title(s: &Session) -> String {
    let text = if s.forked_from.is_some() {
        s.first_prompt.as_deref().or(s.title.as_deref())
    } else {
        s.title.as_deref()
    };
    cell(text)
}

/// The time the order uses (`sort`), compact (see [`compact`]), in local time; `-` when
/// unknown.
pub fn date_cell(s: &Session, sort: SortKey, now: DateTime<Utc>) -> String {
    let t = match sort {
        SortKey::Active => s.last_active_at.or(s.started_at),
        SortKey::Started => s.started_at,
    };
    t.map_or("-".into(), |t| compact(&t, now, &Local))
}

/// The account name, with `*` when it is the current account.
pub fn account_cell(s: &Session) -> String {
    let name = cell(s.account.as_deref());
    if s.current_account {
        format!("{name}*")
    } else {
        name
    }
}

/// The project directory with the home directory shown as `~`, or `-`.
pub fn project_cell(s: &Session, home: Option<&Path>) -> String {
    cell(s.cwd.as_deref().map(|c| tilde(c, home)).as_deref())
}

/// One sanitised cell; `-` when the value is missing.
fn cell(s: Option<&str>) -> String {
    for_terminal(s.unwrap_or("-")).into_owned()
}

/// How a column's cells are cut to its width.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Keep the start, end with `…`.
    Right,
    /// Keep the last path components (see [`cut_left`]).
    LeftPath,
}

struct Column {
    header: &'static str,
    cells: Vec<String>,
    /// Width this column asks for; flexible columns may get less.
    want: usize,
    /// The least a flexible column keeps before columns are dropped.
    min: usize,
    flexible: bool,
    cut: Cut,
    style: Style,
}

/// Writes the table: a header row, one row per session (marks, first 8 characters of the
/// id, account (`*` marks the current one), the time of the order (`style.sort`), actor,
/// project dir and title), fitted to `style.width`, then a blank line and the footer
/// (`footer` words wrapped to the width). Every cell is one line of sanitised text.
///
/// Errors: I/O errors from `out`.
pub fn write_table(
    out: &mut dyn Write,
    sessions: &[&Session],
    style: &TableStyle,
    footer: &str,
) -> io::Result<()> {
    write_table_searched(out, sessions, None, style, footer)
}

/// [`write_table`]; with `matches` (one per session, as `--search` gives them) a `HITS`
/// column (matching messages) follows the date, and under each row one line shows who
/// said the first hit and the text around it, sanitised, the match in bold red when
/// colour is on.
///
/// Errors: I/O errors from `out`.
pub fn write_table_searched(
    out: &mut dyn Write,
    sessions: &[&Session],
    matches: Option<&[Matches]>,
    style: &TableStyle,
    footer: &str,
) -> io::Result<()> {
    let mut cols = columns(sessions, style);
    if let Some(m) = matches {
        let counts = (0..sessions.len())
            .map(|i| m.get(i).map_or("-".into(), |m| m.count.to_string()))
            .collect();
        let hits = column(
            "HITS",
            counts,
            None,
            styled(Style::new().magenta(), style.color),
        );
        cols.insert(hits_at(&cols), hits);
    }
    let widths = fit(&mut cols, style.width);
    let mut w = io::BufWriter::new(out);
    write_header(&mut w, &cols, &widths, style.color)?;
    for row in 0..sessions.len() {
        writeln!(w, "{}", row_line(&cols, &widths, row).trim_end())?;
        if let Some(line) = matches
            .and_then(|m| m.get(row))
            .and_then(|m| snippet_line(m, style))
        {
            writeln!(w, "{line}")?;
        }
    }
    writeln!(w)?;
    for line in wrap(footer, style.width) {
        writeln!(w, "{line}")?;
    }
    w.flush()
}

/// Where the `HITS` column goes: after the date column, or last.
fn hits_at(cols: &[Column]) -> usize {
    cols.iter()
        .position(|c| c.header == "ACTIVE" || c.header == "STARTED")
        .map_or(cols.len(), |i| i + 1)
}

/// The footer's legend for `sessions`: the current-account star, and the live and fork
/// marks when some row carries them.
pub fn legend(sessions: &[&Session]) -> String {
    let mut parts = vec!["* = current account".to_owned()];
    if sessions.iter().any(|s| s.live.is_some()) {
        parts.push(format!("{LIVE_MARK} = running now"));
    }
    if sessions.iter().any(|s| s.forked_from.is_some()) {
        parts.push(format!("{FORK_MARK} = fork, shown by its own first prompt"));
    }
    parts.join(", ")
}

/// `text` cut into lines of at most `width` columns at spaces (a word wider than the
/// width is cut with `…`).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let word = truncate_str(word, width, "…");
        if !line.is_empty() && measure_text_width(&line) + 1 + measure_text_width(&word) > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `s` with colour forced on or off, whatever the terminal detection says.
fn styled(s: Style, color: bool) -> Style {
    s.force_styling(color)
}

/// A column whose wanted width is its widest cell or its header, whichever is wider.
fn column(header: &'static str, cells: Vec<String>, cut: Option<Cut>, style: Style) -> Column {
    let want = cells
        .iter()
        .map(|s| measure_text_width(s))
        .max()
        .unwrap_or(0)
        .max(header.len());
    let min = match header {
        "TITLE" => want.min(TITLE_MIN),
        _ => want.min(PATH_MIN),
    };
    Column {
        header,
        cells,
        want,
        min,
        flexible: cut.is_some(),
        cut: cut.unwrap_or(Cut::Right),
        style,
    }
}

/// The table's columns in display order, each holding one cell per session; the marks
/// column only when some session is live or a fork, the actor column only when some
/// session has one (Gas Town towns).
fn columns(sessions: &[&Session], style: &TableStyle) -> Vec<Column> {
    let st = |s: Style| styled(s, style.color);
    let each =
        |f: &dyn Fn(&Session) -> String| -> Vec<String> { sessions.iter().map(|s| f(s)).collect() };
    let date = match style.sort {
        SortKey::Active => "ACTIVE",
        SortKey::Started => "STARTED",
    };
    let mut account = column(
        "ACCOUNT",
        each(&account_cell),
        None,
        st(Style::new().cyan()),
    );
    account.want = account.want.min(ACCOUNT_MAX);
    let mut cols = vec![
        column(
            "",
            each(&|s| marks(s).to_owned()),
            None,
            st(Style::new().green()),
        ),
        column(
            "ID",
            each(&|s| s.session_id.chars().take(8).collect()),
            None,
            st(Style::new().yellow()),
        ),
        account,
        column(
            date,
            each(&|s| date_cell(s, style.sort, style.now)),
            None,
            st(Style::new().dim()),
        ),
        column(
            "ACTOR",
            each(&|s| cell(s.actor.as_deref())),
            Some(Cut::LeftPath),
            st(Style::new().green()),
        ),
        column(
            "PROJECT",
            each(&|s| project_cell(s, style.home.as_deref())),
            Some(Cut::LeftPath),
            st(Style::new().blue()),
        ),
        column(
            "TITLE",
            each(&shown_title),
            Some(Cut::Right),
            Style::new().force_styling(false),
        ),
    ];
    if sessions.iter().all(|s| s.actor.is_none()) {
        cols.retain(|c| c.header != "ACTOR");
    }
    if sessions.iter().all(|s| marks(s).is_empty()) {
        cols.retain(|c| !c.header.is_empty());
    }
    cols
}

/// Writes the bold header row, each header padded to its column's width.
fn write_header(
    w: &mut dyn Write,
    cols: &[Column],
    widths: &[usize],
    color: bool,
) -> io::Result<()> {
    let mut header = String::new();
    for (i, (c, &wd)) in cols.iter().zip(widths).enumerate() {
        header.push_str(&pad_str(c.header, wd, console::Alignment::Left, None));
        if i + 1 < cols.len() {
            header.push_str(gap(c));
        }
    }
    let bold = styled(Style::new().bold(), color);
    writeln!(w, "{}", bold.apply_to(header.trim_end()))
}

/// The gap after column `c`: one space after the marks, two after the others.
fn gap(c: &Column) -> &'static str {
    if c.header.is_empty() { " " } else { "  " }
}

/// Columns taken by the gaps between `cols`.
fn gaps(cols: &[Column]) -> usize {
    cols.iter()
        .take(cols.len().saturating_sub(1))
        .map(|c| gap(c).len())
        .sum()
}

/// Session `row` as one line: each cell cut to its column's width (`…`), padded (except
/// the last), styled, and joined with [`gap`]s.
fn row_line(cols: &[Column], widths: &[usize], row: usize) -> String {
    let mut line = String::new();
    for (i, (c, &wd)) in cols.iter().zip(widths).enumerate() {
        let text = match c.cut {
            Cut::Right => truncate_str(&c.cells[row], wd, "…").into_owned(),
            Cut::LeftPath => cut_left(&c.cells[row], wd),
        };
        let last = i + 1 == cols.len();
        let padded = if last {
            text
        } else {
            pad_str(&text, wd, console::Alignment::Left, None).into_owned()
        };
        line.push_str(&c.style.apply_to(padded).to_string());
        if !last {
            line.push_str(gap(c));
        }
    }
    line
}

/// Chooses column widths summing (with the gaps) to at most `width`. Fixed
/// columns keep their size; flexible ones first get their minimum (title 30, project
/// and actor 10, or less when their text is shorter), then project and actor grow to a
/// quarter of the room each, the title takes the rest, and what it does not need goes
/// back to the project, then the actor. When the minimums do not fit, the actor is
/// dropped, then the project; then the title's minimum falls to 8 and the date, the
/// account and the marks go, in that order.
fn fit(cols: &mut Vec<Column>, width: usize) -> Vec<usize> {
    let mut title_min_cut = false;
    loop {
        let fixed: usize = cols.iter().filter(|c| !c.flexible).map(|c| c.want).sum();
        let room = width.saturating_sub(fixed + gaps(cols));
        let need: usize = cols.iter().filter(|c| c.flexible).map(|c| c.min).sum();
        if room < need && cols.len() > 1 {
            let order: &[&str] = if title_min_cut {
                &["ACTIVE", "STARTED", "ACCOUNT", ""]
            } else {
                &["ACTOR", "PROJECT"]
            };
            if let Some(pos) = order
                .iter()
                .find_map(|h| cols.iter().position(|c| c.header == *h))
            {
                cols.remove(pos);
                continue;
            }
            if !title_min_cut {
                title_min_cut = true;
                for c in cols.iter_mut().filter(|c| c.header == "TITLE") {
                    c.min = c.want.min(8);
                }
                continue;
            }
        }
        return grow(cols, room);
    }
}

/// Widths for `cols` sharing `room` columns among the flexible ones (see [`fit`]).
fn grow(cols: &[Column], room: usize) -> Vec<usize> {
    let mut widths: Vec<usize> = cols
        .iter()
        .map(|c| if c.flexible { 0 } else { c.want })
        .collect();
    let mut left = room;
    for (i, c) in cols.iter().enumerate().filter(|(_, c)| c.flexible) {
        widths[i] = c.min.min(left);
        left -= widths[i];
    }
    let pos = |h: &str| cols.iter().position(|c| c.header == h);
    let mut widen = |i: usize, cap: usize, widths: &mut Vec<usize>| {
        let extra = cols[i].want.min(cap).saturating_sub(widths[i]).min(left);
        widths[i] += extra;
        left -= extra;
    };
    for h in ["ACTOR", "PROJECT"] {
        if let Some(i) = pos(h) {
            widen(i, room / 4, &mut widths);
        }
    }
    for h in ["TITLE", "PROJECT", "ACTOR"] {
        if let Some(i) = pos(h) {
            widen(i, usize::MAX, &mut widths);
        }
    }
    widths
}

/// The line under a `--search` row: `    <role>: …before MATCH after…`, fitted to the
/// width with the match kept in view; line breaks and runs of blanks shown as one space.
fn snippet_line(m: &Matches, style: &TableStyle) -> Option<String> {
    let sn = m.snippets.first()?;
    let label = if sn.subagent {
        format!("    {} (subagent): ", sn.role.as_str())
    } else {
        format!("    {}: ", sn.role.as_str())
    };
    let text = &sn.text;
    let (before, hit, after) = (
        flat(text.get(..sn.hit.start)?),
        flat(text.get(sn.hit.clone())?),
        flat(text.get(sn.hit.end..)?),
    );
    let mut room = style.width.saturating_sub(measure_text_width(&label));
    let before = tail(before.trim_start(), (room / 4).max(1));
    room = room.saturating_sub(measure_text_width(&before));
    let hit = truncate_str(&hit, room, "…").into_owned();
    room = room.saturating_sub(measure_text_width(&hit));
    let after = truncate_str(&after, room, "…");
    let dim = styled(Style::new().dim(), style.color);
    let red = styled(Style::new().red().bold(), style.color);
    Some(format!(
        "{}{before}{}{after}",
        dim.apply_to(label),
        red.apply_to(hit)
    ))
}

/// `s` on one line: every run of whitespace one space, then sanitised.
fn flat(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for c in s.chars() {
        if c.is_whitespace() {
            blank = true;
            continue;
        }
        if blank {
            out.push(' ');
            blank = false;
        }
        out.push(c);
    }
    if blank {
        out.push(' ');
    }
    for_terminal(&out).into_owned()
}

/// The end of `s` that fits in `width` columns, with `…` in front when cut.
fn tail(s: &str, width: usize) -> String {
    if measure_text_width(s) <= width {
        return s.to_owned();
    }
    cut_to_tail(s, width)
}

/// `…` and as much of the end of `s` as fits beside it in `width` columns, whether or not
/// `s` would fit whole.
fn cut_to_tail(s: &str, width: usize) -> String {
    let mut kept = Vec::new();
    let mut used = 1; // the `…`
    for c in s.chars().rev() {
        let w = measure_text_width(c.encode_utf8(&mut [0; 4]));
        if used + w > width {
            break;
        }
        used += w;
        kept.push(c);
    }
    std::iter::once('…').chain(kept.into_iter().rev()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::Live;

    #[test]
    fn tilde_abbreviates_home_only_at_a_boundary() {
        let h = Some(Path::new("/home/u"));
        assert_eq!(tilde("/home/u/proj", h), "~/proj");
        assert_eq!(tilde("/home/u", h), "~");
        assert_eq!(tilde("/home/user2/x", h), "/home/user2/x");
        assert_eq!(tilde("/srv/x", None), "/srv/x");
    }

    #[test]
    fn paths_are_cut_from_the_left_by_components() {
        assert_eq!(cut_left("/tmp/ls1/gastown/crew/max", 10), "…/crew/max");
        assert_eq!(cut_left("/tmp/ls1/gastown/crew/max", 13), "…/crew/max");
        assert_eq!(
            cut_left("/tmp/ls1/gastown/crew/max", 18),
            "…/gastown/crew/max"
        );
        assert_eq!(cut_left("/tmp/x", 10), "/tmp/x");
        assert_eq!(cut_left("gastown/crew/max", 10), "…/crew/max");
        assert_eq!(cut_left("/w/averyveryverylongname", 8), "…ongname");
        for w in 0..30 {
            let c = cut_left("/a/bb/項目/dddd/eeeee", w);
            assert!(measure_text_width(&c) <= w, "{c:?} at {w}");
        }
    }

    #[test]
    fn footer_text_wraps_to_the_width() {
        let text = "3 sessions, newest activity first. * = current account. Talk to one: seance --talk <ID or name>";
        for w in [20, 40, 80] {
            let lines = wrap(text, w);
            assert!(
                lines.iter().all(|l| measure_text_width(l) <= w),
                "{lines:?}"
            );
            assert_eq!(lines.join(" "), text);
        }
    }

    fn session(id: &str, title: &str, cwd: &str) -> Session {
        let mut s = Session::new(id.to_owned());
        s.account = Some("work".into());
        s.cwd = Some(cwd.into());
        s.title = Some(title.into());
        s.first_prompt = Some(format!("first prompt of {id}"));
        s.last_active_at = Some(Utc::now() - chrono::Duration::hours(3));
        s
    }

    /// Rows of the table at 80 columns, without colour: the issue-13 reading test.
    #[test]
    fn eighty_columns_keep_the_title_the_project_tail_and_the_marks() {
        let long = "Move the lantern migration before the schema split and document why";
        let mut plain = session(
            "aaaa1111-0000-4000-8000-000000000000",
            long,
            "/tmp/ls1/gastown/crew/max",
        );
        plain.current_account = true;
        let mut fork = session(
            "bbbb2222-0000-4000-8000-000000000000",
            long,
            "/tmp/ls1/gastown/crew/max",
        );
        fork.forked_from = Some(plain.session_id.clone());
        fork.first_prompt = Some("And where did the key go after the split?".into());
        let mut live = session("cccc3333-0000-4000-8000-000000000000", "short", "/srv/p");
        live.live = Some(Box::new(Live {
            pid: 42,
            status: Some("busy".into()),
            kind: None,
        }));
        let rows = [&plain, &fork, &live];
        let style = TableStyle {
            width: 80,
            color: false,
            home: None,
            now: Utc::now(),
            sort: SortKey::Active,
        };
        let footer = format!(
            "3 sessions, newest activity first. {}. Talk to one: seance --talk <ID or name> [-p \"question\"], or pick: seance --talk",
            legend(&rows)
        );
        let mut out = Vec::new();
        write_table(&mut out, &rows, &style, &footer).unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            assert!(
                measure_text_width(line) <= 80,
                "{line:?} is too wide:\n{text}"
            );
        }
        let lines: Vec<&str> = text.lines().collect();
        // Every cell is one column per character here, so characters count columns.
        let title_at = lines[0].find("TITLE").unwrap();
        let from = |line: &str| line.chars().skip(title_at).collect::<String>();
        let plain_title = from(lines[1]);
        assert!(plain_title.chars().count() >= 30, "{plain_title:?}\n{text}");
        assert!(
            plain_title.starts_with("Move the lantern migration bef"),
            "{text}"
        );
        assert!(lines[1].contains("…/crew/max"), "{text}");
        assert!(lines[2].starts_with(FORK_MARK), "{text}");
        assert!(
            from(lines[2]).starts_with("And where did the key go"),
            "{text}"
        );
        assert!(lines[3].starts_with(LIVE_MARK), "{text}");
        assert!(lines[3].ends_with("short"), "{text}");
        assert!(text.contains("3h ago"), "{text}");
        // The footer wrapped: more than one line after the blank one, none too wide.
        let footer_lines = &lines[5..];
        assert!(footer_lines.len() >= 2, "{text}");
        assert!(footer_lines.join(" ").contains("↳ = fork"), "{text}");
    }

    #[test]
    fn narrow_terminals_drop_columns_but_never_overflow() {
        let mut s = session(
            "aaaa1111-0000-4000-8000-000000000000",
            &"t ".repeat(50),
            "/a/b/c/d",
        );
        s.actor = Some("gastown/crew/max".into());
        for width in [20, 40, 60, 80, 100, 140] {
            let style = TableStyle {
                width,
                color: false,
                home: None,
                now: Utc::now(),
                sort: SortKey::Started,
            };
            let mut out = Vec::new();
            write_table(&mut out, &[&s], &style, "a footer of several words").unwrap();
            let text = String::from_utf8(out).unwrap();
            for line in text.lines() {
                assert!(measure_text_width(line) <= width, "{line:?} at {width}");
            }
            assert!(text.contains("TITLE"), "{text}");
        }
    }
}
