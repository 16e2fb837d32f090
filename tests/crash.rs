//! Crashes: the real `seance --talk` killed with SIGKILL before each of its file-system
//! changing system calls in turn (found by tracing it with ptrace), and at each of its
//! fault-injection points; afterwards a `--reap` or the next `--talk` must bring the
//! current account back to its state before the talk, byte for byte, and no reader may
//! ever have seen a torn index or ledger. Also: a full disk and a read-only target.
//! Tracing (ptrace) and the private mounts (unshare) are Linux's: those tests are built
//! on Linux only; the fault-point crashes run everywhere.

mod rel_support;

use std::collections::BTreeMap;
use std::fs;
#[cfg(target_os = "linux")]
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
#[cfg(target_os = "linux")]
use std::process::{Command, Stdio};

use rel_support::*;

/// How a traced run ended.
#[derive(Debug)]
#[cfg(target_os = "linux")]
enum Ended {
    /// Exited with this code.
    Exited(i32),
    /// Killed by the tracer before its n-th changing syscall (which did not run).
    KilledAt(#[allow(dead_code)] String),
    /// Died of this signal on its own.
    Signaled(#[allow(dead_code)] i32),
}

/// Syscalls that change the file system (or start claude), counted as crash points.
#[cfg(target_os = "linux")]
fn changing_syscall(nr: u64, args: &[u64; 6]) -> Option<&'static str> {
    let nr = nr as libc::c_long;
    let open_flags_change = |flags: u64| {
        let f = flags as libc::c_int;
        f & (libc::O_CREAT | libc::O_TRUNC | libc::O_WRONLY | libc::O_RDWR) != 0
    };
    #[cfg(target_arch = "x86_64")]
    {
        match nr {
            libc::SYS_rename => return Some("rename"),
            libc::SYS_mkdir => return Some("mkdir"),
            libc::SYS_rmdir => return Some("rmdir"),
            libc::SYS_unlink => return Some("unlink"),
            libc::SYS_symlink => return Some("symlink"),
            libc::SYS_link => return Some("link"),
            libc::SYS_chmod => return Some("chmod"),
            libc::SYS_open if open_flags_change(args[1]) => return Some("open"),
            libc::SYS_vfork | libc::SYS_fork => return Some("fork"),
            _ => {}
        }
    }
    Some(match nr {
        // Writes to stdin/stdout/stderr are messages, not state.
        libc::SYS_write | libc::SYS_pwrite64 | libc::SYS_writev if args[0] > 2 => "write",
        libc::SYS_openat if open_flags_change(args[2]) => "openat",
        libc::SYS_renameat | libc::SYS_renameat2 => "renameat",
        libc::SYS_mkdirat => "mkdirat",
        libc::SYS_unlinkat => "unlinkat",
        libc::SYS_symlinkat => "symlinkat",
        libc::SYS_linkat => "linkat",
        libc::SYS_fsync | libc::SYS_fdatasync => "fsync",
        libc::SYS_fchmod | libc::SYS_fchmodat => "fchmod",
        libc::SYS_ftruncate => "ftruncate",
        libc::SYS_flock => "flock",
        libc::SYS_clone | libc::SYS_clone3 => "clone",
        _ => return None,
    })
}

/// `PTRACE_GET_SYSCALL_INFO` (Linux 5.3): op, then nr and args at an entry stop.
#[cfg(target_os = "linux")]
fn syscall_entry(pid: libc::pid_t) -> Option<(u64, [u64; 6])> {
    const PTRACE_GET_SYSCALL_INFO: libc::c_uint = 0x420e;
    const OP_ENTRY: u8 = 1;
    // struct ptrace_syscall_info: u8 op, pad, u32 arch, u64 ip, u64 sp, then
    // entry { u64 nr; u64 args[6]; }.
    let mut buf = [0u64; 12];
    // SAFETY: the kernel writes at most size_of_val(&buf) bytes into buf.
    let n = unsafe {
        libc::ptrace(
            PTRACE_GET_SYSCALL_INFO,
            pid,
            std::mem::size_of_val(&buf),
            buf.as_mut_ptr(),
        )
    };
    assert!(
        n > 0,
        "PTRACE_GET_SYSCALL_INFO failed (Linux >= 5.3 needed)"
    );
    if buf[0] as u8 != OP_ENTRY {
        return None;
    }
    let mut args = [0u64; 6];
    args.copy_from_slice(&buf[4..10]);
    Some((buf[3], args))
}

/// Runs `cmd` under ptrace, following only its main thread (helper threads and the
/// claude it spawns run untraced), and kills it with SIGKILL at the entry of its
/// `kill_at`-th changing syscall (1-based) if given. Returns how it ended and the names
/// of the changing syscalls it entered. `None` when ptrace is not allowed here.
#[cfg(target_os = "linux")]
fn traced(cmd: &mut Command, kill_at: Option<usize>) -> Option<(Ended, Vec<&'static str>)> {
    // SAFETY: ptrace(TRACEME) is async-signal-safe; nothing else runs before exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.raw_os_error() == Some(libc::EPERM) => return None,
        Err(e) => panic!("spawning a traced seance: {e}"),
    };
    let pid = child.id() as libc::pid_t;
    let wait = || {
        let mut status = 0;
        // SAFETY: waitpid on our own child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::__WALL) };
        assert_eq!(r, pid, "waitpid: {}", std::io::Error::last_os_error());
        status
    };
    let status = wait();
    assert!(
        libc::WIFSTOPPED(status),
        "traced child did not stop at exec"
    );
    // SAFETY: plain ptrace requests on our stopped tracee.
    unsafe {
        let opts = libc::PTRACE_O_TRACESYSGOOD | libc::PTRACE_O_EXITKILL;
        assert_eq!(libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, opts), 0);
    }
    let mut seen = Vec::new();
    let mut deliver = 0;
    loop {
        // SAFETY: resume the stopped tracee until its next syscall stop.
        unsafe { libc::ptrace(libc::PTRACE_SYSCALL, pid, 0, deliver) };
        deliver = 0;
        let status = wait();
        if libc::WIFEXITED(status) {
            return Some((Ended::Exited(libc::WEXITSTATUS(status)), seen));
        }
        if libc::WIFSIGNALED(status) {
            return Some((Ended::Signaled(libc::WTERMSIG(status)), seen));
        }
        let sig = libc::WSTOPSIG(status);
        if sig != (libc::SIGTRAP | 0x80) {
            // A real signal: pass it on (SIGTRAP from exec excepted).
            if sig != libc::SIGTRAP {
                deliver = sig;
            }
            continue;
        }
        let Some((nr, args)) = syscall_entry(pid) else {
            continue;
        };
        let Some(name) = changing_syscall(nr, &args) else {
            continue;
        };
        seen.push(name);
        if kill_at == Some(seen.len()) {
            // SAFETY: kill our stopped tracee; the pending syscall never runs.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let status = wait();
            assert!(libc::WIFSIGNALED(status), "tracee survived SIGKILL");
            return Some((Ended::KilledAt(format!("#{} {name}", seen.len())), seen));
        }
    }
}

/// `cmd` with its output thrown away (hundreds of runs would drown the test's own).
#[cfg(target_os = "linux")]
fn quiet(mut cmd: Command) -> Command {
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    cmd
}

/// A world with one indexed session, the talk's target folder either absent or holding
/// an index with a foreign entry, and a stand-in claude that exits at once.
struct Setup {
    w: World,
    id: String,
    target: PathBuf,
    claude: PathBuf,
    existing_index: bool,
}

fn setup(existing_index: bool) -> Setup {
    let w = World::new();
    let id = sid(0xc0ffee);
    w.add_session(&id, "crash me", true);
    let target = w.target_folder(&w.proj);
    if existing_index {
        fs::create_dir_all(&target).unwrap();
        fs::write(
            target.join("sessions-index.json"),
            format!(
                "{{\n  \"version\": 1,\n  \"entries\": [{{\"sessionId\": \"foreign\", \"x\": [1]}}],\n  \"originalPath\": \"{}\",\n  \"zz\": true\n}}\n",
                w.proj.display()
            ),
        )
        .unwrap();
        // A forked conversation claude wrote earlier: must never be touched.
        fs::write(target.join(format!("{}.jsonl", sid(7))), b"{\"x\":1}\n").unwrap();
    }
    let claude = w.standin(&target, 0);
    Setup {
        w,
        id,
        target,
        claude,
        existing_index,
    }
}

/// Everything under the current account; lock files left out where the target folder
/// existed before (seance, like `gt seance`, leaves the lock it took in a folder it did
/// not create). In a folder seance created, nothing may be left, lock included.
fn account_state(s: &Setup) -> BTreeMap<PathBuf, Node> {
    if s.existing_index {
        snapshot(&s.w.b, is_lock)
    } else {
        snapshot(&s.w.b, |_| false)
    }
}

/// Right after a crash: whatever is there parses (index, ledger), never a torn file.
fn assert_nothing_torn(s: &Setup, ctx: &str) {
    let index = s.target.join("sessions-index.json");
    if let Ok(bytes) = fs::read(&index) {
        let doc: serde_json::Value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{ctx}: torn index ({e}): {}", text(&bytes)));
        assert!(doc["entries"].is_array(), "{ctx}: {doc}");
    }
    seance::link::ledger::read_unlocked(&s.w.state())
        .unwrap_or_else(|e| panic!("{ctx}: torn ledger: {e:#}"));
}

/// A temp file of seance's atomic writes: `.<name>.<random>.tmp`.
fn is_seance_temp(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') && n.ends_with(".tmp"))
}

/// Recovers by `--reap` or by another (untraced, complete) talk, then checks the
/// account is back to `before` (no temp file of a killed write left either) and the
/// source account untouched.
fn recover_and_check(
    s: &Setup,
    by_talk: bool,
    before: &BTreeMap<PathBuf, Node>,
    before_a: &BTreeMap<PathBuf, Node>,
    ctx: &str,
) {
    s.w.wait_standins_gone();
    let out = if by_talk {
        s.w.talk_cmd(&s.id, &s.claude).output().unwrap()
    } else {
        s.w.seance().arg("--reap").output().unwrap()
    };
    assert_eq!(out.status.code(), Some(0), "{ctx}: {}", show(&out));
    s.w.wait_standins_gone();
    let after = account_state(s);
    let state = snapshot(&s.w.state(), |_| false);
    assert!(
        after == *before,
        "{ctx}: recovered by {} but the account differs:\n{}\n{}",
        if by_talk { "--talk" } else { "--reap" },
        diff(before, &after),
        show(&out)
    );
    let temps: Vec<&PathBuf> = state.keys().filter(|p| is_seance_temp(p)).collect();
    assert!(
        temps.is_empty(),
        "{ctx}: temp files left in the state dir: {temps:?}"
    );
    assert_eq!(s.w.ledger_len(), 0, "{ctx}");
    assert_eq!(
        snapshot(&s.w.a, |_| false),
        *before_a,
        "{ctx}: source changed"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn sigkill_before_every_changing_syscall_is_recovered() {
    let mut total = 0;
    for existing_index in [true, false] {
        let s = setup(existing_index);
        let before = account_state(&s);
        let before_a = snapshot(&s.w.a, |_| false);
        // A clean run first: how many crash points are there?
        let Some((ended, points)) = traced(&mut quiet(s.w.talk_cmd(&s.id, &s.claude)), None) else {
            unavailable("ptrace");
            return;
        };
        assert!(matches!(ended, Ended::Exited(0)), "{ended:?}");
        assert!(points.contains(&"symlinkat") || points.contains(&"symlink"));
        assert!(points.len() >= 20, "suspiciously few points: {points:?}");
        recover_and_check(&s, false, &before, &before_a, "clean run");
        // Kill before point 1, 2, ... until a run gets through them all (the count
        // can differ a little from the clean run: the state dir exists by then).
        for k in 1.. {
            assert!(k < 10 * points.len(), "never got through");
            let (ended, _) = traced(&mut quiet(s.w.talk_cmd(&s.id, &s.claude)), Some(k)).unwrap();
            let ctx = format!("index={existing_index} kill before #{k} ({ended:?})");
            match ended {
                Ended::KilledAt(_) => {}
                Ended::Exited(0) => {
                    assert!(
                        k > points.len() / 2,
                        "{ctx}: far fewer points than the clean run"
                    );
                    break;
                }
                _ => panic!("{ctx}"),
            }
            assert_nothing_torn(&s, &ctx);
            recover_and_check(&s, k % 2 == 0, &before, &before_a, &ctx);
            total += 1;
        }
    }
    eprintln!("crash: killed seance at {total} syscall points, all recovered byte for byte");
}

#[test]
fn sigkill_at_each_fault_point_is_recovered_by_reap_or_next_talk() {
    let mut tried = 0;
    for point in [
        "after-intent",
        "after-link",
        "after-index",
        "after-spawn",
        "during-undo",
    ] {
        for existing_index in [true, false] {
            for by_talk in [true, false] {
                let s = setup(existing_index);
                let before = account_state(&s);
                let before_a = snapshot(&s.w.a, |_| false);
                let out =
                    s.w.talk_cmd(&s.id, &s.claude)
                        .env("SEANCE_TEST_FAULT", point)
                        .output()
                        .unwrap();
                let ctx = format!("{point} index={existing_index} talk={by_talk}");
                assert_eq!(
                    out.status.signal(),
                    Some(libc::SIGKILL),
                    "{ctx}: {}",
                    show(&out)
                );
                assert_nothing_torn(&s, &ctx);
                recover_and_check(&s, by_talk, &before, &before_a, &ctx);
                tried += 1;
            }
        }
    }
    assert_eq!(tried, 20);
}

/// Runs `script` (sh) in a private mount namespace; `None` when mounts are not allowed.
#[cfg(target_os = "linux")]
fn in_mount_namespace(script: &str) -> Option<std::process::Output> {
    for unshare in [&["-m"][..], &["-rm"][..]] {
        let probe = Command::new("unshare")
            .args(unshare)
            .args(["sh", "-c", "mount -t tmpfs -o size=16k tmpfs /mnt 2>/dev/null || mount -t tmpfs -o size=16k tmpfs /tmp"])
            .stderr(Stdio::null())
            .status();
        if probe.is_ok_and(|s| s.success()) {
            let out = Command::new("unshare")
                .args(unshare)
                .args(["sh", "-ec", script])
                .output()
                .unwrap();
            return Some(out);
        }
    }
    None
}

#[cfg(target_os = "linux")]
fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// The command line of `cmd` (program, args, env, cwd) as a shell line.
#[cfg(target_os = "linux")]
fn shell_line(cmd: &Command) -> String {
    let mut line = String::new();
    if let Some(dir) = cmd.get_current_dir() {
        line.push_str(&format!("cd {} && ", shell_quote(dir)));
    }
    line.push_str("env");
    // `env` wants its -u options before any assignment.
    for (k, v) in cmd.get_envs() {
        if v.is_none() {
            line.push_str(&format!(" -u {}", k.to_str().unwrap()));
        }
    }
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            let v = shell_quote(Path::new(v));
            line.push_str(&format!(" {}={v}", k.to_str().unwrap()));
        }
    }
    line.push(' ');
    line.push_str(&shell_quote(Path::new(cmd.get_program())));
    for a in cmd.get_args() {
        line.push(' ');
        line.push_str(&shell_quote(Path::new(a)));
    }
    line
}

#[test]
#[cfg(target_os = "linux")]
fn full_disk_is_a_clear_error_and_leaves_nothing() {
    for (existing_index, state_on_full_disk) in [(true, false), (false, false), (true, true)] {
        let s = setup(existing_index);
        let before = account_state(&s);
        let cmd = s.w.talk_cmd(&s.id, &s.claude);
        // Mount a tiny tmpfs over account b's projects (and maybe the state dir), copy
        // the projects in, fill the disk, talk, and record the tree after.
        let projects = s.w.b.join("projects");
        let state = s.w.state_home.clone();
        let script = format!(
            "cp -a {p} {p}.orig\n\
             mount -t tmpfs -o size=64k,nr_inodes=64 tmpfs {p}\n\
             cp -a {p}.orig/. {p}/\n\
             {state_mount}\
             dd if=/dev/zero of={p}/.filler bs=4k 2>/dev/null || true\n\
             {state_fill}\
             set +e\n\
             {talk}\n\
             echo \"EXIT=$?\"\n\
             rm -f {p}/.filler {s}/.filler\n\
             cp -a {p}/. {p}.after/\n",
            p = shell_quote(&projects),
            s = shell_quote(&state),
            state_mount = if state_on_full_disk {
                format!(
                    "mkdir -p {s}\nmount -t tmpfs -o size=16k tmpfs {s}\n",
                    s = shell_quote(&state)
                )
            } else {
                String::new()
            },
            state_fill = if state_on_full_disk {
                format!(
                    "dd if=/dev/zero of={s}/.filler bs=4k 2>/dev/null || true\n",
                    s = shell_quote(&state)
                )
            } else {
                String::new()
            },
            talk = shell_line(&cmd),
        );
        fs::create_dir_all(projects.with_extension("after")).unwrap();
        let Some(out) = in_mount_namespace(&script) else {
            unavailable("mounting a tmpfs (unshare -m or unshare -rm)");
            return;
        };
        let ctx = format!("index={existing_index} state_full={state_on_full_disk}");
        let stdout = text(&out.stdout);
        assert!(stdout.contains("EXIT=1"), "{ctx}: {}", show(&out));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("No space left on device"),
            "{ctx}: unclear error: {stderr}"
        );
        assert!(stderr.contains("seance: "), "{ctx}: {stderr}");
        assert!(!stderr.contains("panicked"), "{ctx}: {stderr}");
        assert!(s.w.runs().is_empty(), "{ctx}: claude ran");
        eprintln!("{ctx}: {}", stderr.trim_end());
        // What the talk left on the full disk equals what was there before.
        // The mount point itself is tmpfs's root (mode 1777): compare what is inside.
        let mut after = snapshot(&projects.with_extension("after"), is_lock);
        after.remove(Path::new(""));
        let before_projects: BTreeMap<_, _> = before
            .iter()
            .filter_map(|(p, n)| {
                let rel = p.strip_prefix("projects").ok()?;
                (!rel.as_os_str().is_empty()).then(|| (rel.to_owned(), n.clone()))
            })
            .collect();
        assert!(
            after == before_projects,
            "{ctx}: left behind on the full disk:\n{}",
            diff(&before_projects, &after)
        );
        if !state_on_full_disk {
            assert_eq!(s.w.ledger_len(), 0, "{ctx}");
        }
    }
}

#[test]
#[cfg(target_os = "linux")]
fn read_only_target_is_a_clear_error_and_leaves_nothing() {
    for existing_index in [true, false] {
        let s = setup(existing_index);
        let projects = s.w.b.join("projects");
        let before = account_state(&s);
        let cmd = s.w.talk_cmd(&s.id, &s.claude);
        let script = format!(
            "mount --bind -o ro {p} {p}\n\
             set +e\n\
             {talk}\n\
             echo \"EXIT=$?\"\n",
            p = shell_quote(&projects),
            talk = shell_line(&cmd),
        );
        let Some(out) = in_mount_namespace(&script) else {
            unavailable("a read-only bind mount (unshare -m or unshare -rm)");
            return;
        };
        let ctx = format!("index={existing_index}");
        assert!(
            text(&out.stdout).contains("EXIT=1"),
            "{ctx}: {}",
            show(&out)
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("Read-only file system"),
            "{ctx}: unclear error: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{ctx}: {stderr}");
        assert!(s.w.runs().is_empty(), "{ctx}: claude ran");
        let after = account_state(&s);
        assert!(after == before, "{ctx}: {}", diff(&before, &after));
        assert_eq!(s.w.ledger_len(), 0, "{ctx}");
    }
}

/// The helpers above stay honest: a kill point past the last one never fires.
#[test]
#[cfg(target_os = "linux")]
fn tracer_counts_and_kills_where_asked() {
    let s = setup(false);
    let Some((ended, points)) = traced(s.w.seance().arg("--reap"), None) else {
        unavailable("ptrace");
        return;
    };
    assert!(matches!(ended, Ended::Exited(0)), "{ended:?}");
    // A reap on a fresh world takes the ledger lock: it creates the state dir and lock.
    assert!(
        points.contains(&"mkdirat") || points.contains(&"mkdir"),
        "{points:?}"
    );
    let (ended, _) = traced(s.w.seance().arg("--reap"), Some(1)).unwrap();
    assert!(matches!(ended, Ended::KilledAt(_)), "{ended:?}");
    let (ended, _) = traced(s.w.seance().arg("--reap"), Some(10_000)).unwrap();
    assert!(matches!(ended, Ended::Exited(0)), "{ended:?}");
}

/// A seance killed between spawning claude and noting its pid in the ledger must not
/// leave a claude running on a link the next reap takes away. claude is sent SIGTERM
/// when its seance dies (by the watchdog of src/platform/tether.rs, which it registered
/// with before exec), so no stand-in ever reports its link lost.
#[test]
#[cfg(target_os = "linux")]
fn kill_between_spawn_and_set_child_leaves_no_claude_on_a_reaped_link() {
    let s = setup(true);
    let other = sid(0xd00d);
    s.w.add_session(&other, "another", true);
    let long = s.w.standin(&s.target, 2500);
    let Some((_, points)) = traced(&mut quiet(s.w.talk_cmd(&s.id, &s.claude)), None) else {
        unavailable("ptrace");
        return;
    };
    let spawn = points
        .iter()
        .rposition(|p| *p == "clone" || *p == "clone3")
        .expect("a clone among the points");
    s.w.wait_standins_gone();
    fs::remove_dir_all(s.w.root.join("runs")).unwrap();
    fs::create_dir_all(s.w.root.join("runs")).unwrap();
    let (ended, _) = traced(&mut quiet(s.w.talk_cmd(&s.id, &long)), Some(spawn + 2)).unwrap();
    assert!(matches!(ended, Ended::KilledAt(_)), "{ended:?}");
    std::thread::sleep(std::time::Duration::from_millis(300));
    // Any talk reaps at its start.
    let out = s.w.talk_cmd(&other, &s.claude).output().unwrap();
    s.w.wait_standins_gone();
    for (pid, log) in s.w.runs() {
        assert!(
            !log.contains("LOST"),
            "stand-in {pid} lost its link: {log}\n{}",
            show(&out)
        );
    }
}
