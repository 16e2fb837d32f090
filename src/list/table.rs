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

/// `/home/u/x` → `~/x` when `home` is `/home/u`.
pub fn tilde(path: &str, home: Option<&Path>) -> String {
    if let Some(h) = home
        .and_then(|h| h.to_str())
        .filter(|h| !h.is_empty() && *h != "/")
    {
        if path == h {
            return "~".to_owned();
        }
        if let Some(rest) = path.strip_prefix(h).filter(|r| r.starts_with('/')) {
            return format!("~{rest}");
        }
    }
    path.to_owned()
}

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
    let styled = |s: Style| {
        if style.color {
            s.force_styling(true)
        } else {
            s.force_styling(false)
        }
    };
    let cell = |s: Option<&str>| for_terminal(s.unwrap_or("-")).into_owned();
    let mut cols = vec![
        Column {
            header: "ID",
            cells: sessions
                .iter()
                .map(|s| s.session_id.chars().take(8).collect())
                .collect(),
            want: 8,
            flexible: false,
            style: styled(Style::new().yellow()),
        },
        Column {
            header: "ACCOUNT",
            cells: sessions
                .iter()
                .map(|s| {
                    let name = cell(s.account.as_deref());
                    if s.current_account {
                        format!("{name}*")
                    } else {
                        name
                    }
                })
                .collect(),
            want: 0,
            flexible: false,
            style: styled(Style::new().cyan()),
        },
        Column {
            header: "STARTED",
            cells: sessions
                .iter()
                .map(|s| s.started_at.as_ref().map_or("-".into(), short))
                .collect(),
            want: 0,
            flexible: false,
            style: styled(Style::new().dim()),
        },
        Column {
            header: "ACTIVE",
            cells: sessions
                .iter()
                .map(|s| {
                    s.last_active_at
                        .as_ref()
                        .map_or("-".into(), |t| age(t, style.now))
                })
                .collect(),
            want: 0,
            flexible: false,
            style: styled(Style::new().dim()),
        },
        Column {
            header: "ACTOR",
            cells: sessions.iter().map(|s| cell(s.actor.as_deref())).collect(),
            want: 0,
            flexible: true,
            style: styled(Style::new().green()),
        },
        Column {
            header: "PROJECT",
            cells: sessions
                .iter()
                .map(|s| {
                    cell(
                        s.cwd
                            .as_deref()
                            .map(|c| tilde(c, style.home.as_deref()))
                            .as_deref(),
                    )
                })
                .collect(),
            want: 0,
            flexible: true,
            style: styled(Style::new().blue()),
        },
        Column {
            header: "TITLE",
            cells: sessions.iter().map(|s| cell(s.title.as_deref())).collect(),
            want: 0,
            flexible: true,
            style: Style::new().force_styling(false),
        },
    ];
    // The actor column only when some session has one (Gas Town towns).
    if sessions.iter().all(|s| s.actor.is_none()) {
        cols.retain(|c| c.header != "ACTOR");
    }
    for c in &mut cols {
        c.want = c
            .cells
            .iter()
            .map(|s| measure_text_width(s))
            .max()
            .unwrap_or(0)
            .max(c.header.len());
    }
    let widths = fit(&mut cols, style.width);

    let mut w = io::BufWriter::new(out);
    let header: Vec<String> = cols
        .iter()
        .zip(&widths)
        .map(|(c, &wd)| pad_str(c.header, wd, console::Alignment::Left, None).into_owned())
        .collect();
    let bold = styled(Style::new().bold());
    writeln!(w, "{}", bold.apply_to(header.join("  ").trim_end()))?;
    for row in 0..sessions.len() {
        let mut line = String::new();
        for (i, (c, &wd)) in cols.iter().zip(&widths).enumerate() {
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
        writeln!(w, "{}", line.trim_end())?;
    }
    w.flush()
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
