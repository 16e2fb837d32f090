//! Claude Code's project-folder naming: which folder under `<config>/projects/` holds the
//! transcripts of a given working directory. `claude --resume <id>` only looks there, so
//! a link must land in exactly the folder Claude Code would compute.

use std::fs;
use std::path::{Path, PathBuf};

/// Longest folder name Claude Code writes before it cuts and appends a hash
/// (in UTF-16 code units, which are also bytes here: every unit maps to one ASCII byte).
pub const MAX_FOLDER_NAME: usize = 200;

/// Claude Code's folder name for `path` (which should already be canonical: Claude Code
/// resolves symlinks in the cwd first).
///
/// Rule (checked against Claude Code 2.1.197): every UTF-16 code unit outside
/// `[A-Za-z0-9]` becomes `-` (an astral character, two units, gives `--`). When the
/// result is longer than [`MAX_FOLDER_NAME`], it is cut to that length and
/// `-<hash>` appended, where `<hash>` is the absolute value of the Java-style 32-bit
/// string hash of the full path, in lower-case base 36.
///
/// A path that is not valid UTF-8 is read lossily (each bad byte becomes U+FFFD), which
/// is what Node does when it decodes such a path.
pub fn project_folder_name(path: &Path) -> String {
    let text = path.to_string_lossy();
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut name: String = units
        .iter()
        .map(|&u| {
            if u < 0x80 && (u as u8).is_ascii_alphanumeric() {
                u as u8 as char
            } else {
                '-'
            }
        })
        .collect();
    if name.len() > MAX_FOLDER_NAME {
        name.truncate(MAX_FOLDER_NAME);
        name.push('-');
        name.push_str(&base36(java_string_hash(&units).unsigned_abs() as u64));
    }
    name
}

/// The folder under `projects_dir` that Claude Code uses for `dir` (already canonical).
///
/// For a long name (over [`MAX_FOLDER_NAME`]) an existing folder in `projects_dir` whose
/// name has the same first 200 characters followed by `-` is reused, because builds are
/// reported to differ in the hash they append; when several match, the alphabetically
/// first wins so the choice is stable. Unreadable `projects_dir` just means "no reuse".
pub fn project_folder_for(projects_dir: &Path, dir: &Path) -> PathBuf {
    let name = project_folder_name(dir);
    if name.len() > MAX_FOLDER_NAME {
        let prefix = format!("{}-", &name[..MAX_FOLDER_NAME]);
        if let Ok(read) = fs::read_dir(projects_dir) {
            let mut found: Vec<String> = read
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                .filter_map(|e| e.file_name().into_string().ok())
                .filter(|n| n.starts_with(&prefix) && n.len() > prefix.len())
                .collect();
            found.sort();
            if let Some(existing) = found.into_iter().next() {
                return projects_dir.join(existing);
            }
        }
    }
    projects_dir.join(name)
}

/// Java's `String.hashCode` over UTF-16 units: `h = 31*h + unit`, wrapping at 32 bits.
fn java_string_hash(units: &[u16]) -> i32 {
    units
        .iter()
        .fold(0i32, |h, &u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// Lower-case base-36 digits of `n` (as JavaScript's `Number.prototype.toString(36)`).
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    if n == 0 {
        return "0".to_owned();
    }
    let mut out = Vec::new();
    while n > 0 {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    String::from_utf8(out).expect("base-36 digits are ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_every_non_alphanumeric_unit() {
        assert_eq!(
            project_folder_name(Path::new("/home/u/my_proj.v2 x")),
            "-home-u-my-proj-v2-x"
        );
        // Runs are not collapsed.
        assert_eq!(project_folder_name(Path::new("/a//b..c")), "-a--b--c");
    }

    #[test]
    fn non_ascii_gives_one_dash_per_utf16_unit() {
        assert_eq!(project_folder_name(Path::new("/tmp/über")), "-tmp--ber");
        // U+1F600 is two UTF-16 units.
        assert_eq!(project_folder_name(Path::new("/tmp/a😀b")), "-tmp-a--b");
        // CJK in the BMP: one unit each.
        assert_eq!(project_folder_name(Path::new("/日本")), "---");
    }

    #[test]
    fn java_hash_matches_known_values() {
        // Values of "abc".hashCode() and "hello".hashCode() in Java.
        let h = |s: &str| java_string_hash(&s.encode_utf16().collect::<Vec<_>>());
        assert_eq!(h("abc"), 96354);
        assert_eq!(h("hello"), 99162322);
        assert_eq!(h(""), 0);
        // Overflow wraps: "polygenelubricants".hashCode() == Integer.MIN_VALUE.
        assert_eq!(h("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn base36_like_javascript() {
        assert_eq!(base36(0), "0");
        assert_eq!(base36(35), "z");
        assert_eq!(base36(36), "10");
        // Math.abs(-2147483648).toString(36) in JS.
        assert_eq!(base36(2147483648), "zik0zk");
    }

    #[test]
    fn exactly_200_is_not_cut() {
        let path = format!("/{}", "a".repeat(199));
        let name = project_folder_name(Path::new(&path));
        assert_eq!(name.len(), 200);
        assert!(!name[1..].contains('-'));
    }

    #[test]
    fn long_names_are_cut_and_hashed() {
        let path = format!("/{}", "a".repeat(249));
        let name = project_folder_name(Path::new(&path));
        let units: Vec<u16> = path.encode_utf16().collect();
        let hash = base36(java_string_hash(&units).unsigned_abs() as u64);
        assert_eq!(name, format!("-{}-{}", "a".repeat(199), hash));
        // The reference note: 250 chars became 200 + "-" + a 6-digit base-36 hash.
        assert!(name.len() > 201 && name.len() <= 201 + 7);
    }

    #[test]
    fn matches_a_folder_the_real_claude_made() {
        // Observed: Claude Code 2.1.197, `claude -p` run in this directory, created
        // exactly this folder (207 characters, hash `iboi2g`).
        let path = format!(
            "/tmp/talk-smoke/{}/ü😀 é.x_y/{}",
            "a".repeat(120),
            "c".repeat(90)
        );
        let want = format!(
            "-tmp-talk-smoke-{}-------x-y-{}-iboi2g",
            "a".repeat(120),
            "c".repeat(53)
        );
        assert_eq!(want.len(), 207);
        assert_eq!(project_folder_name(Path::new(&path)), want);
        assert_eq!(
            project_folder_name(Path::new("/tmp/talk-smoke/proj.dir ü")),
            "-tmp-talk-smoke-proj-dir--"
        );
    }

    #[test]
    fn long_name_hash_is_over_the_original_path_not_the_name() {
        let a = format!("/{}_", "a".repeat(240));
        let b = format!("/{}.", "a".repeat(240));
        // Same sanitized text, different paths: different hashes.
        assert_ne!(
            project_folder_name(Path::new(&a)),
            project_folder_name(Path::new(&b))
        );
    }

    #[test]
    fn long_names_reuse_an_existing_folder_with_the_same_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let path = format!("/{}", "b".repeat(300));
        let ours = project_folder_name(Path::new(&path));
        let other = format!("{}-otherhash", &ours[..200]);
        fs::create_dir(tmp.path().join(&other)).unwrap();
        assert_eq!(
            project_folder_for(tmp.path(), Path::new(&path)),
            tmp.path().join(&other)
        );
        // Short names never look around.
        assert_eq!(
            project_folder_for(tmp.path(), Path::new("/x")),
            tmp.path().join("-x")
        );
    }

    #[test]
    fn long_name_without_existing_folder_uses_our_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let path = format!("/{}", "c".repeat(300));
        assert_eq!(
            project_folder_for(tmp.path(), Path::new(&path)),
            tmp.path().join(project_folder_name(Path::new(&path)))
        );
        // A missing projects dir is not an error.
        assert_eq!(
            project_folder_for(&tmp.path().join("nope"), Path::new(&path)),
            tmp.path()
                .join("nope")
                .join(project_folder_name(Path::new(&path)))
        );
    }

    /// A second, deliberately naive reading of the rule: per char, `len_utf16` dashes.
    fn reference(path: &str) -> String {
        let mut out = String::new();
        for c in path.chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else {
                out.extend(std::iter::repeat_n('-', c.len_utf16()));
            }
        }
        if out.chars().count() > 200 {
            let mut h: i32 = 0;
            for u in path.encode_utf16() {
                h = h.wrapping_mul(31).wrapping_add(u as i32);
            }
            let hash = base36((h as i64).unsigned_abs());
            out = format!("{}-{hash}", out.chars().take(200).collect::<String>());
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn matches_reference_around_the_limit(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::string::string_regex("[A-Za-z0-9]{1,40}").unwrap(),
                    proptest::string::string_regex("[._ -]{1,3}").unwrap(),
                    proptest::string::string_regex("[\\u{e0}-\\u{ff}\\u{4e00}-\\u{4e10}]{1,4}").unwrap(),
                    proptest::string::string_regex("[\\u{1f600}-\\u{1f64f}\\u{10000}-\\u{10010}]{1,3}").unwrap(),
                ],
                1..40,
            )
        ) {
            let path = format!("/{}", parts.join("/"));
            let name = project_folder_name(Path::new(&path));
            proptest::prop_assert_eq!(&name, &reference(&path));
            proptest::prop_assert!(name.is_ascii());
        }
    }
}
