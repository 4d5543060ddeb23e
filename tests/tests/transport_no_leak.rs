//! SIGKILLing a main leaves nothing behind: its renderers notice and exit on their own, no
//! process holds or maps its segments any more, and nothing was ever created in `/dev/shm`.
//! Segments are memfds: they have no name in any filesystem (link count 0) and are reachable
//! only through `/proc/<pid>/fd` of a process holding them, so they vanish with their holders.

use electrode_tests::procfs::{self, FileId, SEGMENT_MEMFD};
use electrode_tests::{spawn_sleeping_main, watchdog, ChildGuard, SleepingMain};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::Duration;

const PEER: &str = env!("CARGO_BIN_EXE_shm_peer");
const RENDERERS: usize = 2;

/// Check that `pid` holds and maps segments only as anonymous memfds, never through `/dev/shm`;
/// return the segments it holds open.
fn check_anonymous(pid: u32, who: &str) -> BTreeSet<FileId> {
    for (target, _) in procfs::fds(pid).expect("list fds") {
        assert!(
            !target.starts_with("/dev/shm"),
            "{who} holds {target} open: a named shared-memory file"
        );
        if target.starts_with(SEGMENT_MEMFD) {
            assert!(
                target.ends_with("(deleted)"),
                "{who}'s segment {target} has a name"
            );
        }
    }
    for (_, path) in procfs::mapped_files(pid).expect("read maps") {
        assert!(
            !path.starts_with("/dev/shm"),
            "{who} maps {path}: a named shared-memory file"
        );
    }
    procfs::segment_fds(pid).expect("list segment fds")
}

/// The link count of every segment fd of `pid` (0 = no name anywhere).
fn segment_link_counts(pid: u32) -> Vec<u64> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("list fds")
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path())
                .is_ok_and(|t| t.to_string_lossy().starts_with(SEGMENT_MEMFD))
        })
        .map(|e| std::fs::metadata(e.path()).expect("stat a segment").nlink())
        .collect()
}

#[test]
fn killing_main_leaves_no_segment_and_no_dev_shm_entry() {
    let _dog = watchdog(
        Duration::from_secs(60),
        "killing_main_leaves_no_segment_and_no_dev_shm_entry",
    );
    let shm_before = procfs::dev_shm().expect("list /dev/shm");
    let SleepingMain {
        child: mut main,
        renderers,
        lines,
    } = spawn_sleeping_main(Path::new(PEER), "wait-for-main-death", RENDERERS)
        .expect("start an intermediate main");
    assert_eq!(renderers.len(), RENDERERS);

    // While everyone is alive: main holds one memfd per renderer, each renderer holds and maps
    // its own, none of them has a name, and none is in /dev/shm.
    let segments = check_anonymous(main.pid(), "main");
    assert_eq!(
        segments.len(),
        RENDERERS,
        "main should hold one segment memfd per renderer"
    );
    assert!(segment_link_counts(main.pid()).iter().all(|&n| n == 0));
    for &r in &renderers {
        let held = check_anonymous(r, "a renderer");
        assert_eq!(
            held.len(),
            1,
            "renderer {r} should hold exactly its segment"
        );
        assert!(
            held.is_subset(&segments),
            "renderer {r} holds a foreign segment"
        );
        let mapped = procfs::mapped_segments(r).expect("read maps");
        let ino = held.iter().next().unwrap().ino;
        assert!(
            mapped.contains(&ino),
            "renderer {r} does not map its segment"
        );
        assert!(segment_link_counts(r).iter().all(|&n| n == 0));
    }
    // The /proc scan that must come up empty at the end sees exactly these processes now.
    let holding: BTreeSet<u32> = procfs::holders(&segments)
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    let expected: BTreeSet<u32> = renderers.iter().copied().chain([main.pid()]).collect();
    assert_eq!(holding, expected, "processes holding the segments");
    assert!(
        !Path::new("/dev/shm/electrode-segment").exists(),
        "a segment is reachable by name"
    );
    let named: Vec<_> = procfs::dev_shm()
        .expect("list /dev/shm")
        .into_iter()
        .filter(|n| n.to_string_lossy().contains("electrode"))
        .collect();
    assert!(named.is_empty(), "Electrode entries in /dev/shm: {named:?}");

    main.kill().expect("SIGKILL main");
    let status = main.wait().expect("reap main");
    assert_eq!(status.signal(), Some(libc::SIGKILL), "main: {status}");
    // The renderers were reparented to us; they must exit by themselves (the watchdog fails
    // the test if one lingers), having seen PeerGone.
    for pid in renderers {
        let status = ChildGuard::adopt(pid).wait().expect("reap a renderer");
        assert!(status.success(), "renderer {pid}: {status}");
    }
    let reports: Vec<String> = lines.map(|l| l.expect("read reports")).collect();
    assert_eq!(
        reports.iter().filter(|l| l.ends_with(" PeerGone")).count(),
        2 * RENDERERS,
        "every renderer's two waits end with PeerGone: {reports:?}"
    );

    // Nothing holds or maps the segments any more: their memory is gone.
    let holders = procfs::holders(&segments);
    assert!(
        holders.is_empty(),
        "segments still held after main and its renderers died: {holders:?}"
    );
    let shm_after = procfs::dev_shm().expect("list /dev/shm");
    let new: Vec<_> = shm_after.difference(&shm_before).collect();
    assert!(new.is_empty(), "new entries in /dev/shm: {new:?}");
}
