//! Drawing the picker: the query line with counts, the rows (marks, id, date, account,
//! project tail, title, as in the table), a preview of the highlighted session, and a
//! line of keys. Every text that came from a file is sanitised first.

use chrono::{DateTime, Local, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Position, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::State;
use crate::discover::Session;
use crate::list::table::{
    account_cell, cut_left, date_cell, marks, project_cell, shown_title, wrap,
};
use crate::util::sanitize::for_terminal;
use crate::util::timefmt::age;

/// Draws the whole picker for `st` on `f`; notes the list's height in `st` (for PgUp and
/// PgDn).
pub fn draw(f: &mut Frame, st: &State) {
    let area = f.area();
    let preview_h = preview_height(area);
    let side = area.width >= 120 && area.height >= 10;
    let outer = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(if side { 0 } else { preview_h }),
            Constraint::Length(1),
        ])
        .split(area);
    let (list_area, preview_area) = if side {
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(58), Constraint::Percentage(42)])
            .split(outer[1]);
        (cols[0], Some(cols[1]))
    } else {
        (outer[1], (preview_h > 0).then_some(outer[2]))
    };
    query_line(f, outer[0], st);
    st.list_height.set(list_area.height as usize);
    // The highlighted row stays on screen whatever the height became.
    st.scroll();
    rows(f, list_area, st);
    if let Some(p) = preview_area {
        preview(f, p, st, side);
    }
    keys_line(f, outer[3], st);
}

/// Lines given to the preview below the list: none on a short terminal.
fn preview_height(area: Rect) -> u16 {
    match area.height {
        0..=15 => 0,
        16..=29 => 9,
        _ => 12,
    }
}

fn style(st: &State, color: Color) -> Style {
    if st.color {
        Style::default().fg(color)
    } else {
        Style::default()
    }
}

/// `> query` with the cursor after it, and the counts (and whether the folders are still
/// being read) on the right.
fn query_line(f: &mut Frame, area: Rect, st: &State) {
    // While the folders are read the rows are the newest the cache knows.
    let counts = format!(
        "{}{}/{}",
        if st.scanning {
            "reading folders… "
        } else {
            ""
        },
        st.shown.len(),
        st.rows.len(),
    );
    let query = for_terminal(&st.query).into_owned();
    let room = (area.width as usize).saturating_sub(counts.chars().count() + 3);
    let shown_query: String = {
        // Keep the end of a query too long for the line.
        let n = query.chars().count();
        query.chars().skip(n.saturating_sub(room)).collect()
    };
    let left = Line::from(vec![
        Span::styled("> ", style(st, Color::Magenta).add_modifier(Modifier::BOLD)),
        Span::raw(shown_query.clone()),
    ]);
    f.render_widget(Paragraph::new(left), area);
    let right = Paragraph::new(Span::styled(counts, style(st, Color::DarkGray)))
        .alignment(ratatui::layout::Alignment::Right);
    f.render_widget(right, area);
    let x = area.x + 2 + ratatui::text::Line::raw(shown_query).width() as u16;
    f.set_cursor_position(Position::new(x.min(area.right().saturating_sub(1)), area.y));
}

/// Column widths of the rows on screen.
struct Widths {
    date: usize,
    /// 0 when dropped (narrow terminals).
    account: usize,
    /// 0 when dropped (narrow terminals).
    project: usize,
}

/// The widths the rows on screen need (`width` columns in all): the date and the
/// account as wide as their widest cell (an account at most 12), the project a sixth of
/// the width (10 to 24 columns); account and project are dropped below 60 columns.
fn widths(st: &State, visible: &[&Session], width: usize, now: DateTime<Utc>) -> Widths {
    let widest = |f: &dyn Fn(&Session) -> String| {
        visible
            .iter()
            .map(|s| Line::raw(f(s)).width())
            .max()
            .unwrap_or(0)
    };
    let date = widest(&|s| date_cell(s, st.sort, now));
    if width < 60 {
        return Widths {
            date,
            account: 0,
            project: 0,
        };
    }
    Widths {
        date,
        account: widest(&account_cell).min(12),
        project: widest(&|s| project_cell(s, st.home.as_deref()))
            .clamp(1, (width / 6).clamp(10, 24)),
    }
}

/// One row: marks, id, date, account, project tail, title, cut to `width`; plain (no
/// colour) when `selected`, as it is shown reversed.
fn row_line<'a>(
    st: &State,
    s: &Session,
    w: &Widths,
    width: usize,
    now: DateTime<Utc>,
    selected: bool,
) -> Line<'a> {
    let pad = |t: String, n: usize| {
        let fill = n.saturating_sub(Line::raw(t.clone()).width());
        format!("{t}{} ", " ".repeat(fill))
    };
    let style = |c: Color| {
        if selected {
            Style::default()
        } else {
            style(st, c)
        }
    };
    let mut spans = vec![
        Span::styled(pad(marks(s).to_owned(), 2), style(Color::Green)),
        Span::styled(
            pad(s.session_id.chars().take(8).collect(), 8),
            style(Color::Yellow),
        ),
        Span::styled(
            pad(date_cell(s, st.sort, now), w.date),
            style(Color::DarkGray),
        ),
    ];
    let mut used = 3 + 9 + w.date + 1;
    if w.account > 0 {
        let acct = console::truncate_str(&account_cell(s), w.account, "…").into_owned();
        spans.push(Span::styled(pad(acct, w.account), style(Color::Cyan)));
        used += w.account + 1;
    }
    if w.project > 0 {
        let proj = cut_left(&project_cell(s, st.home.as_deref()), w.project);
        spans.push(Span::styled(pad(proj, w.project), style(Color::Blue)));
        used += w.project + 1;
    }
    let title =
        console::truncate_str(&shown_title(s), width.saturating_sub(used), "…").into_owned();
    spans.push(Span::raw(title));
    Line::from(spans)
}

/// The rows that fit, scrolled so the highlighted one shows, the highlighted one
/// reversed; or a word on why there are none.
fn rows(f: &mut Frame, area: Rect, st: &State) {
    let height = area.height as usize;
    if st.shown.is_empty() {
        let why = if st.rows.is_empty() && st.scanning {
            "Reading the accounts' project folders…"
        } else if st.rows.is_empty() {
            "No sessions match the filters."
        } else {
            "Nothing matches what you typed."
        };
        f.render_widget(
            Paragraph::new(Span::styled(why, style(st, Color::DarkGray))),
            area,
        );
        return;
    }
    let offset = st.offset.get();
    let visible: Vec<&Session> = st
        .shown
        .iter()
        .skip(offset)
        .take(height)
        .map(|&i| st.rows[i as usize])
        .collect();
    let now = Utc::now();
    let w = widths(st, &visible, area.width as usize, now);
    let lines: Vec<Line> = visible
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let selected = offset + k == st.cursor;
            let line = row_line(st, s, &w, area.width as usize, now, selected);
            if selected {
                line.style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), area);
}

/// Bytes as `12 KB`, `3.4 MB` (with a no-break space, so a wrap keeps them together).
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1000 => format!("{b}\u{a0}B"),
        b if b < 1_000_000 => format!("{:.0}\u{a0}KB", b as f64 / 1e3),
        b if b < 1_000_000_000 => format!("{:.1}\u{a0}MB", b as f64 / 1e6),
        b => format!("{:.1}\u{a0}GB", b as f64 / 1e9),
    }
}

/// The preview's lines for `s`: title; first and last prompt; directory, branch and
/// account; actor, role and topic; start, last activity and size; id, fork parent and
/// whether it runs now. Label and value pairs are joined by ` · ` so a narrow terminal
/// wraps between them.
fn preview_lines(st: &State, s: &Session) -> Vec<Line<'static>> {
    let dim = |l: &str| Span::styled(l.to_owned(), style(st, Color::DarkGray));
    let text = |v: Option<&str>| for_terminal(v.unwrap_or("-")).into_owned();
    let line = |pairs: Vec<(&str, String)>| {
        let mut spans = Vec::new();
        for (i, (label, value)) in pairs.into_iter().enumerate() {
            if i > 0 {
                spans.push(dim(" · "));
            }
            spans.push(dim(&format!("{label} ")));
            spans.push(Span::raw(value));
        }
        Line::from(spans)
    };
    let when = |t: Option<DateTime<Utc>>| {
        t.map_or("-".into(), |t| {
            let ago = age(&t, Utc::now());
            if (Utc::now() - t).num_hours() < 24 {
                ago
            } else {
                t.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string()
            }
        })
    };
    let mut lines = vec![
        Line::from(Span::styled(
            text(s.title.as_deref()),
            Style::default().add_modifier(Modifier::BOLD),
        )),
        line(vec![("first prompt", text(s.first_prompt.as_deref()))]),
        line(vec![("last prompt", text(s.last_prompt.as_deref()))]),
        line(vec![
            ("in", project_cell(s, st.home.as_deref())),
            ("branch", text(s.git_branch.as_deref())),
            ("account", account_cell(s)),
        ]),
    ];
    if s.actor.is_some() {
        let mut who = vec![("actor", text(s.actor.as_deref()))];
        for (l, v) in [("role", &s.role), ("topic", &s.topic)] {
            if let Some(v) = v {
                who.push((l, text(Some(v))));
            }
        }
        lines.push(line(who));
    }
    lines.push(line(vec![
        ("started", when(s.started_at)),
        ("active", when(s.last_active_at)),
        ("size", s.size_bytes.map_or("-".into(), size)),
    ]));
    let mut what = vec![("id", text(Some(&s.session_id)))];
    if let Some(p) = &s.forked_from {
        what.push(("fork of", text(Some(p))));
    }
    if let Some(l) = &s.live {
        let status = l.status.as_deref().map(for_terminal).unwrap_or_default();
        what.push((
            "running now, pid",
            format!("{} {status}", l.pid).trim_end().to_owned(),
        ));
    }
    lines.push(line(what));
    lines
}

/// The highlighted session's details, under a rule (or beside the list, with a border,
/// on a wide terminal).
fn preview(f: &mut Frame, area: Rect, st: &State, side: bool) {
    let block = if side {
        Block::default().borders(Borders::LEFT)
    } else {
        Block::default().borders(Borders::TOP)
    }
    .border_style(style(st, Color::DarkGray));
    let lines = st
        .current()
        .map(|s| preview_lines(st, s))
        .unwrap_or_default();
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// The keys, shortened to fit.
fn keys_line(f: &mut Frame, area: Rect, st: &State) {
    let full = "↑↓ ^N ^P PgUp PgDn Home End: move · Enter: talk · Esc: leave · type to filter";
    let text = wrap(full, area.width as usize)
        .into_iter()
        .next()
        .unwrap_or_default();
    let text = if text.chars().count() < full.chars().count() {
        "↑↓ move · Enter talk · Esc leave".to_owned()
    } else {
        text
    };
    f.render_widget(
        Paragraph::new(Span::styled(text, style(st, Color::DarkGray))),
        area,
    );
}
