//! Bounded reads of files seance does not own: regular files only, never more than a
//! stated number of bytes in memory.
//!
//! Every file seance reads comes from Claude Code, Gas Town or the user, and any of them
//! may be a FIFO (an open would block for ever), a device (`/dev/zero` never ends) or
//! simply huge. Opening through [`open_regular`] refuses all but regular files without
//! blocking; [`read_capped`] also refuses files larger than a cap.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
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

fn too_large(max: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("larger than {max} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_fifos_devices_dirs_and_big_files() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: mkfifo only reads the NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
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
}
