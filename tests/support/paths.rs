//! Claude Code's project-folder naming, written out independently of seance's own code so
//! tests can say where a fork must land, and whole-tree snapshots to prove a tree did not
//! change.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[path = "../common/folder_name.rs"]
mod folder_name;

/// The project folder Claude Code uses for `cwd` (which must already be symlink-free).
pub fn project_folder_name(cwd: &Path) -> String {
    folder_name::reference_folder_name(cwd.to_str().expect("test paths are UTF-8"))
}

/// One entry of a [`snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A directory.
    Dir,
    /// A regular file with its full contents.
    File(Vec<u8>),
    /// A symlink with its target as stored.
    Link(PathBuf),
}

/// Every entry under `root` (relative path -> node), not following symlinks. Two equal
/// snapshots mean the tree is byte-identical.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    let mut map = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).follow_links(false).min_depth(1) {
        let entry = entry.expect("walk snapshot tree");
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("under root")
            .to_path_buf();
        let kind = entry.file_type();
        let node = if kind.is_symlink() {
            Node::Link(std::fs::read_link(entry.path()).expect("read link"))
        } else if kind.is_dir() {
            Node::Dir
        } else {
            Node::File(std::fs::read(entry.path()).expect("read snapshot file"))
        };
        map.insert(rel, node);
    }
    map
}

/// Panics with the paths that differ between two snapshots.
pub fn assert_same_tree(
    before: &BTreeMap<PathBuf, Node>,
    after: &BTreeMap<PathBuf, Node>,
    what: &str,
) {
    if before == after {
        return;
    }
    let mut diffs = Vec::new();
    for (path, node) in before {
        match after.get(path) {
            None => diffs.push(format!("removed {}", path.display())),
            Some(other) if other != node => diffs.push(format!("changed {}", path.display())),
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        diffs.push(format!("added {}", path.display()));
    }
    panic!("{what} changed:\n  {}", diffs.join("\n  "));
}
