//! Problems met while scanning, collected by kind so a listing over thousands of files
//! reports one line per kind instead of failing or flooding stderr.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Problems met while scanning, grouped by kind. A broken file among thousands is a
/// warning, never a failure: the listing goes on and shows every good session.
#[derive(Debug, Default)]
pub struct Warnings {
    kinds: BTreeMap<&'static str, Vec<(PathBuf, String)>>,
}

impl Warnings {
    /// Records one problem of `kind` (a plural phrase such as `"corrupt transcripts
    /// skipped"`) about `path`.
    pub fn add(&mut self, kind: &'static str, path: &Path, detail: &str) {
        self.kinds
            .entry(kind)
            .or_default()
            .push((path.to_path_buf(), detail.to_owned()));
    }

    /// Adds every problem of `other`.
    pub fn extend(&mut self, other: Warnings) {
        for (k, v) in other.kinds {
            self.kinds.entry(k).or_default().extend(v);
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_empty()
    }

    /// Number of problems of `kind`.
    pub fn count(&self, kind: &str) -> usize {
        self.kinds.get(kind).map_or(0, Vec::len)
    }

    /// Writes one summary line per kind (`seance: warning: corrupt transcripts skipped: 3
    /// (/path and 2 more; -v lists each)`), or with `verbose` one line per problem.
    /// Paths are sanitised for a terminal.
    pub fn report(&self, verbose: bool, out: &mut dyn Write) -> io::Result<()> {
        for (kind, items) in &self.kinds {
            if verbose {
                for (path, detail) in items {
                    let p = path.display().to_string();
                    writeln!(
                        out,
                        "seance: warning: {kind}: {}: {}",
                        crate::util::sanitize::for_terminal(&p),
                        crate::util::sanitize::for_terminal(detail)
                    )?;
                }
            } else {
                let first = items[0].0.display().to_string();
                let more = match items.len() {
                    1 => String::new(),
                    n => format!(" and {} more; -v lists each", n - 1),
                };
                writeln!(
                    out,
                    "seance: warning: {kind}: {} ({}{more})",
                    items.len(),
                    crate::util::sanitize::for_terminal(&first)
                )?;
            }
        }
        Ok(())
    }
}
