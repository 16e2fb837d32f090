//! Claude Code's project-folder naming, written out independently of `seance::link::folder`
//! (a plain loop over UTF-16 units) so tests check the library against a second reading
//! of the rule, and can say where a link or fork must land. Included by each test support
//! module with `#[path]`.

/// The project folder Claude Code 2.1.197 uses for `path` (already symlink-free): every
/// UTF-16 unit outside `[A-Za-z0-9]` becomes `-`; a result over 200 characters is cut to
/// 200 and gets `-` plus the base-36 absolute value of the Java `String.hashCode` of the
/// whole path appended.
pub fn reference_folder_name(path: &str) -> String {
    let units: Vec<u16> = path.encode_utf16().collect();
    let name: String = units
        .iter()
        .map(|&u| match u8::try_from(u) {
            Ok(b) if b.is_ascii_alphanumeric() => char::from(b),
            _ => '-',
        })
        .collect();
    if name.len() <= 200 {
        return name;
    }
    let mut hash: i32 = 0;
    for &u in &units {
        hash = hash.wrapping_mul(31).wrapping_add(i32::from(u));
    }
    let mut n = i64::from(hash).unsigned_abs();
    let mut digits = Vec::new();
    loop {
        digits.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    format!(
        "{}-{}",
        &name[..200],
        String::from_utf8(digits).expect("ascii digits")
    )
}
