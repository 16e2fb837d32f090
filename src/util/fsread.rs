//! Bounded reads of files seance does not own: regular files only, never more than a
//! stated number of bytes in memory.
//!
//! Every file seance reads comes from Claude Code, Gas Town or the user, and any of them
//! may be a FIFO (an open would block for ever), a device (`/dev/zero` never ends) or
//! simply huge. Opening through [`open_regular`] refuses all but regular files without
//! blocking; [`read_capped`] also refuses files larger than a cap.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, BufRead, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Opens `path` for reading if it is a regular file (after following symlinks), without
/// blocking on a FIFO and without making a terminal device the controlling terminal.
///
/// Errors: the open's own error (`NotFound`, `PermissionDenied`, ...), or
/// `InvalidInput` "not a regular file" for a FIFO, socket, device or directory.
pub fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)?;
    checked_regular(file)
}

/// A directory held open so that files in it are opened by name ([`DirHandle::open_regular`]):
/// the kernel then looks up one name instead of walking the directory's whole path again
/// for each file. A first listing opens every transcript of a project folder; through
/// this, `openat` takes 5.3% of its CPU where `open` took 6.7% (v332 corpus, perf; see
/// BENCHMARKS.md, fourth pass).
#[derive(Debug)]
pub struct DirHandle(std::os::fd::OwnedFd);

impl DirHandle {
    /// Opens the directory `path` (following symlinks).
    ///
    /// Errors: the open's own error (`NotFound`, `PermissionDenied`, or `ENOTDIR` for
    /// anything but a directory).
    pub fn open(path: &Path) -> io::Result<DirHandle> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        Ok(DirHandle(rustix::fs::open(path, flags, Mode::empty())?))
    }

    /// [`open_regular`] for the entry `name` of this directory (a name, not a path:
    /// `name` must not hold a `/`; a symlink is followed).
    ///
    /// Errors: as [`open_regular`].
    pub fn open_regular(&self, name: &std::ffi::OsStr) -> io::Result<(File, Metadata)> {
        use rustix::fs::{Mode, OFlags};
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        let file = File::from(rustix::fs::openat(&self.0, name, flags, Mode::empty())?);
        checked_regular(file)
    }
}

/// `file` with its metadata when it is a regular file.
fn checked_regular(file: File) -> io::Result<(File, Metadata)> {
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    // O_NONBLOCK has no effect on regular files' reads; it only kept the open from
    // blocking on a FIFO, so it can stay.
    Ok((file, meta))
}

/// Reads the whole of the regular file `path` when it holds at most `max` bytes.
///
/// Errors: those of [`open_regular`], read errors, or `InvalidData` "larger than N
/// bytes" when the file is (or grows while read to) more than `max` bytes: nothing past
/// `max + 1` bytes is ever read.
pub fn read_capped(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > max {
        return Err(too_large(max));
    }
    let mut buf = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1)).read_to_end(&mut buf)?;
    if buf.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(buf)
}

/// One line from [`for_each_line`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The whole line, without its `\n`.
    Whole(&'a [u8]),
    /// A line longer than the cap: only its first `max_line` bytes (the rest was read
    /// past and dropped).
    Long(&'a [u8]),
}

/// Streams the lines of `reader` (split on `\n`; a last line without one counts) to
/// `each`, never holding more than `max_line` bytes of a line: a longer line is handed
/// over as [`Line::Long`] with its head only. Memory stays at `max_line` plus the
/// reader's buffer whatever the input (a file of NUL bytes with no newline is one long
/// line).
///
/// Errors: read errors other than `Interrupted` (which is retried).
pub fn for_each_line<R: BufRead>(
    reader: R,
    max_line: usize,
    mut each: impl FnMut(Line<'_>),
) -> io::Result<()> {
    for_each_line_ended(reader, max_line, |line, _| each(line)).map(drop)
}

/// [`for_each_line`], also telling `each` whether the line ended with a `\n` (only the
/// last line of the input may not), and giving the number of bytes read up to and
/// including the last `\n`: where a later read of the same, grown, input can resume.
///
/// Errors: as [`for_each_line`].
pub fn for_each_line_ended<R: BufRead>(
    mut reader: R,
    max_line: usize,
    mut each: impl FnMut(Line<'_>, bool),
) -> io::Result<u64> {
    let mut line: Vec<u8> = Vec::new();
    let mut long = false;
    let mut read = 0u64;
    let mut ended_at = 0u64;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            break;
        }
        // Lines wholly inside the reader's buffer are handed over in place, uncopied.
        if line.is_empty() && !long {
            let mut used = 0;
            while let Some(i) = memchr::memchr(b'\n', &chunk[used..]) {
                let part = &chunk[used..used + i];
                each(
                    if part.len() > max_line {
                        Line::Long(&part[..max_line])
                    } else {
                        Line::Whole(part)
                    },
                    true,
                );
                used += i + 1;
            }
            if used > 0 {
                reader.consume(used);
                read += used as u64;
                ended_at = read;
                continue;
            }
        }
        let newline = memchr::memchr(b'\n', chunk);
        let part = &chunk[..newline.unwrap_or(chunk.len())];
        if !long {
            let room = max_line - line.len();
            if part.len() > room {
                line.extend_from_slice(&part[..room]);
                long = true;
            } else {
                line.extend_from_slice(part);
            }
        }
        let used = newline.map_or(chunk.len(), |i| i + 1);
        reader.consume(used);
        read += used as u64;
        if newline.is_some() {
            ended_at = read;
            each(
                if long {
                    Line::Long(&line)
                } else {
                    Line::Whole(&line)
                },
                true,
            );
            line.clear();
            long = false;
        }
    }
    if long {
        each(Line::Long(&line), false);
    } else if !line.is_empty() {
        each(Line::Whole(&line), false);
    }
    Ok(ended_at)
}

fn too_large(max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than {max} bytes"),
    )
}

/// Makes a FIFO at `path` (mode 0600), for tests of what reads refuse; panics when it
/// cannot.
#[cfg(test)]
pub(crate) fn make_fifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo only reads the NUL-terminated path.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {path:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_capped_and_long_ones_flagged() {
        let input = b"short\n0123456789abc\n\nexact-10ch\nlast".to_vec();
        let mut got = Vec::new();
        // A 4-byte buffer makes lines span many reads.
        let reader = io::BufReader::with_capacity(4, &input[..]);
        for_each_line(reader, 10, |l| {
            got.push(match l {
                Line::Whole(b) => format!("W:{}", String::from_utf8_lossy(b)),
                Line::Long(b) => format!("L:{}", String::from_utf8_lossy(b)),
            });
        })
        .unwrap();
        assert_eq!(
            got,
            ["W:short", "L:0123456789", "W:", "W:exact-10ch", "W:last"]
        );
        let mut got = Vec::new();
        for_each_line(&b"no newline and far too long"[..], 5, |l| {
            got.push(format!("{l:?}"));
        })
        .unwrap();
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("Long"), "{got:?}");
    }

    #[test]
    fn ended_lines_and_where_the_last_one_ended() {
        let mut got = Vec::new();
        let reader = io::BufReader::with_capacity(3, &b"ab\n0123456789abc\ntorn"[..]);
        let at = for_each_line_ended(reader, 10, |l, ended| got.push((format!("{l:?}"), ended)))
            .unwrap();
        assert_eq!(at, 17, "just past the second newline");
        let ended: Vec<bool> = got.iter().map(|g| g.1).collect();
        assert_eq!(ended, [true, true, false]);
        assert!(got[1].0.starts_with("Long"), "{got:?}");
        let mut n = 0;
        assert_eq!(
            for_each_line_ended(&b"x\n\n"[..], 10, |_, _| n += 1).unwrap(),
            3
        );
        assert_eq!(n, 2);
        assert_eq!(
            for_each_line_ended(&b"no newline"[..], 4, |_, _| {}).unwrap(),
            0
        );
        assert_eq!(for_each_line_ended(&b""[..], 4, |_, _| {}).unwrap(), 0);
    }

    proptest::proptest! {
        /// Whatever the buffer size (lines handed over in place or pieced together),
        /// the lines, their flags and the resume offset are those of a plain split.
        #[test]
        fn any_buffer_size_gives_a_plain_split(
            input in proptest::collection::vec(proptest::sample::select(b"ab\n".to_vec()), 0..200),
            capacity in 1usize..64,
            max_line in 1usize..12,
        ) {
            let mut got = Vec::new();
            let reader = io::BufReader::with_capacity(capacity, &input[..]);
            let at = for_each_line_ended(reader, max_line, |l, ended| got.push((format!("{l:?}"), ended)))
                .unwrap();
            let mut want = Vec::new();
            let mut parts: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
            let last = parts.pop().unwrap();
            for p in parts {
                want.push((p, true));
            }
            if !last.is_empty() {
                want.push((last, false));
            }
            let want: Vec<(String, bool)> = want
                .into_iter()
                .map(|(p, ended)| {
                    let l = if p.len() > max_line { Line::Long(&p[..max_line]) } else { Line::Whole(p) };
                    (format!("{l:?}"), ended)
                })
                .collect();
            proptest::prop_assert_eq!(got, want);
            let ended_at = input.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            proptest::prop_assert_eq!(at, ended_at as u64);
        }
    }

    #[test]
    fn refuses_fifos_devices_dirs_and_big_files() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        make_fifo(&fifo);
        let e = read_capped(&fifo, 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        let e = read_capped(Path::new("/dev/zero"), 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{e}");
        assert!(read_capped(tmp.path(), 10).is_err());
        let f = tmp.path().join("f");
        std::fs::write(&f, b"0123456789A").unwrap();
        let e = read_capped(&f, 10).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData, "{e}");
        assert_eq!(read_capped(&f, 11).unwrap(), b"0123456789A");
        assert_eq!(
            read_capped(&tmp.path().join("none"), 1).unwrap_err().kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn a_dir_handle_opens_by_name_what_open_regular_opens() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DirHandle::open(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("f"), b"abc").unwrap();
        std::os::unix::fs::symlink(tmp.path().join("f"), tmp.path().join("link")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", tmp.path().join("dev")).unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        let fifo = tmp.path().join("fifo");
        make_fifo(&fifo);
        let name = std::ffi::OsStr::new;
        for n in ["f", "link"] {
            let (mut file, meta) = dir.open_regular(name(n)).unwrap();
            let mut got = String::new();
            file.read_to_string(&mut got).unwrap();
            assert_eq!((got.as_str(), meta.len()), ("abc", 3), "{n}");
        }
        // The FIFO is refused without blocking, as by path.
        for n in ["fifo", "dev", "sub"] {
            let e = dir.open_regular(name(n)).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{n}: {e}");
        }
        let e = dir.open_regular(name("none")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(
            DirHandle::open(&tmp.path().join("f")).is_err(),
            "a file is no directory"
        );
        assert!(DirHandle::open(&tmp.path().join("none")).is_err());
    }
}
