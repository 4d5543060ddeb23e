//! `Segment::open` refuses files that are not a segment of this build, with the right
//! `OpenError`: each case is a sealed memfd holding a hand-written header with one thing wrong.
//! A control case first proves the hand-written header is right (byte for byte what
//! `Segment::create` writes, and it opens). `Handoff::receive` is checked in a child process.

use electrode_shm::{
    Handoff, Layout, OpenError, PeerProcess, Segment, SegmentConfig, SegmentHeader, HANDOFF_ENV,
    LAYOUT_VERSION, MAGIC,
};
use electrode_tests::{watchdog, ChildGuard};
use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::FileExt;
use std::process::{Command, Stdio};
use std::time::Duration;

const PEER: &str = env!("CARGO_BIN_EXE_shm_peer");

/// The fields of a [`SegmentHeader`], as plain integers.
#[derive(Clone, Copy, Debug)]
struct Fields {
    magic: u64,
    version: u32,
    header_size: u32,
    total_size: u64,
    r2m: u64,
    m2r: u64,
    slot_count: u32,
    slot_size: u32,
    main_pid: u32,
}

impl Fields {
    fn valid(config: SegmentConfig) -> Fields {
        Fields {
            magic: MAGIC,
            version: LAYOUT_VERSION,
            header_size: std::mem::size_of::<SegmentHeader>() as u32,
            total_size: Layout::new(config).unwrap().total as u64,
            r2m: config.r2m_capacity as u64,
            m2r: config.m2r_capacity as u64,
            slot_count: config.slot_count,
            slot_size: config.slot_size,
            main_pid: std::process::id(),
        }
    }

    /// The `#[repr(C)]` layout of `SegmentHeader` (x86-64 / aarch64: little-endian, 56 bytes).
    fn encode(&self) -> [u8; 56] {
        let mut b = [0u8; 56];
        b[0..8].copy_from_slice(&self.magic.to_le_bytes());
        b[8..12].copy_from_slice(&self.version.to_le_bytes());
        b[12..16].copy_from_slice(&self.header_size.to_le_bytes());
        b[16..24].copy_from_slice(&self.total_size.to_le_bytes());
        b[24..32].copy_from_slice(&self.r2m.to_le_bytes());
        b[32..40].copy_from_slice(&self.m2r.to_le_bytes());
        b[40..44].copy_from_slice(&self.slot_count.to_le_bytes());
        b[44..48].copy_from_slice(&self.slot_size.to_le_bytes());
        b[48..52].copy_from_slice(&self.main_pid.to_le_bytes());
        // 52..56: renderer_pid = 0
        b
    }
}

fn config() -> SegmentConfig {
    SegmentConfig {
        r2m_capacity: 4096,
        m2r_capacity: 8192,
        slot_count: 4,
        slot_size: 64,
    }
}

/// A memfd of `len` bytes starting with `fields`, size-sealed if `seal`.
fn fake(fields: Fields, len: u64, seal: bool) -> File {
    let fd = memfd_create(
        c"electrode-test-fake",
        MemFdCreateFlag::MFD_CLOEXEC | MemFdCreateFlag::MFD_ALLOW_SEALING,
    )
    .expect("memfd_create");
    let file = File::from(fd);
    file.set_len(len).expect("size the memfd");
    file.write_all_at(&fields.encode(), 0)
        .expect("write the header");
    if seal {
        fcntl(
            file.as_raw_fd(),
            FcntlArg::F_ADD_SEALS(SealFlag::F_SEAL_SHRINK | SealFlag::F_SEAL_GROW),
        )
        .expect("seal the memfd");
    }
    file
}

fn open_fake(fields: Fields) -> Result<Segment, OpenError> {
    Segment::open(fake(fields, fields.total_size, true))
}

#[test]
fn the_hand_written_header_is_what_create_writes_and_it_opens() {
    let _dog = watchdog(
        Duration::from_secs(30),
        "the_hand_written_header_is_what_create_writes_and_it_opens",
    );
    assert_eq!(std::mem::size_of::<SegmentHeader>(), 56);
    let real = Segment::create(config()).unwrap();
    let mut bytes = [0u8; 56];
    real.file().read_exact_at(&mut bytes, 0).unwrap();
    assert_eq!(bytes, Fields::valid(config()).encode());

    let seg = open_fake(Fields::valid(config())).expect("a valid fake opens");
    assert_eq!(*seg.layout(), Layout::new(config()).unwrap());
    assert_eq!(seg.main_pid(), std::process::id());
}

#[test]
fn unsealed_file_is_not_sealed() {
    let _dog = watchdog(Duration::from_secs(30), "unsealed_file_is_not_sealed");
    let f = Fields::valid(config());
    assert!(matches!(
        Segment::open(fake(f, f.total_size, false)),
        Err(OpenError::NotSealed)
    ));
}

#[test]
fn wrong_magic_is_bad_magic() {
    let _dog = watchdog(Duration::from_secs(30), "wrong_magic_is_bad_magic");
    let magic = u64::from_le_bytes(*b"ELECTRD\x02");
    let f = Fields {
        magic,
        ..Fields::valid(config())
    };
    match open_fake(f) {
        Err(OpenError::BadMagic(m)) => assert_eq!(m, magic),
        other => panic!("expected BadMagic, got {:?}", other.err()),
    }
    let zeros = Fields {
        magic: 0,
        ..Fields::valid(config())
    };
    assert!(matches!(open_fake(zeros), Err(OpenError::BadMagic(0))));
}

#[test]
fn wrong_version_is_bad_version() {
    let _dog = watchdog(Duration::from_secs(30), "wrong_version_is_bad_version");
    for found in [0, LAYOUT_VERSION + 1, u32::MAX] {
        let f = Fields {
            version: found,
            ..Fields::valid(config())
        };
        match open_fake(f) {
            Err(OpenError::BadVersion { found: v, expected }) => {
                assert_eq!((v, expected), (found, LAYOUT_VERSION));
            }
            other => panic!(
                "version {found}: expected BadVersion, got {:?}",
                other.err()
            ),
        }
    }
}

#[test]
fn truncated_files_are_bad_layout() {
    let _dog = watchdog(Duration::from_secs(30), "truncated_files_are_bad_layout");
    let f = Fields::valid(config());
    // Shorter than the header says, by a page and by one byte.
    for len in [f.total_size - 4096, f.total_size - 1] {
        match Segment::open(fake(f, len, true)) {
            Err(OpenError::BadLayout(_)) => {}
            other => panic!("{len} bytes: expected BadLayout, got {:?}", other.err()),
        }
    }
    // Shorter than a header page.
    for len in [56, 4095] {
        match Segment::open(fake(f, len, true)) {
            Err(OpenError::BadLayout(_)) => {}
            other => panic!("{len} bytes: expected BadLayout, got {:?}", other.err()),
        }
    }
    // Longer than the header says.
    match Segment::open(fake(f, f.total_size + 4096, true)) {
        Err(OpenError::BadLayout(_)) => {}
        other => panic!("longer file: expected BadLayout, got {:?}", other.err()),
    }
}

#[test]
fn impossible_sizes_in_the_header_are_bad_layout() {
    let _dog = watchdog(
        Duration::from_secs(30),
        "impossible_sizes_in_the_header_are_bad_layout",
    );
    let v = Fields::valid(config());
    let cases = [
        (
            "header size",
            Fields {
                header_size: 64,
                ..v
            },
        ),
        (
            "ring not a power of two",
            Fields {
                r2m: 4096 + 16,
                ..v
            },
        ),
        ("ring too small", Fields { m2r: 2048, ..v }),
        ("ring beyond usize", Fields { r2m: u64::MAX, ..v }),
        ("no slots", Fields { slot_count: 0, ..v }),
        (
            "slot size not a multiple of 16",
            Fields { slot_size: 65, ..v },
        ),
    ];
    for (what, f) in cases {
        match open_fake(f) {
            Err(OpenError::BadLayout(_)) => {}
            other => panic!("{what}: expected BadLayout, got {:?}", other.err()),
        }
    }
    // The header and the file agree on a size that is not the layout's.
    let f = Fields {
        total_size: v.total_size + 4096,
        ..v
    };
    match Segment::open(fake(f, f.total_size, true)) {
        Err(OpenError::BadLayout(_)) => {}
        other => panic!("total size: expected BadLayout, got {:?}", other.err()),
    }
}

/// Run `shm_peer open-from-env` with `setup` applied; return its one line of output.
fn open_from_env_in_child(setup: impl FnOnce(&mut Command)) -> String {
    let mut cmd = Command::new(PEER);
    cmd.arg("open-from-env")
        .env_remove(HANDOFF_ENV)
        .stdout(Stdio::piped());
    setup(&mut cmd);
    let mut child = ChildGuard::spawn(&mut cmd).expect("spawn shm_peer");
    let mut out = String::new();
    child
        .take_stdout()
        .unwrap()
        .read_to_string(&mut out)
        .expect("read its output");
    let status = child.wait().expect("reap shm_peer");
    assert!(status.success(), "shm_peer: {status}");
    out.trim_end().to_owned()
}

#[test]
fn from_env_without_a_valid_handoff_is_no_handoff() {
    let _dog = watchdog(
        Duration::from_secs(60),
        "from_env_without_a_valid_handoff_is_no_handoff",
    );
    // This process was not handed a segment.
    assert!(matches!(Handoff::from_env(), Err(OpenError::NoHandoff(_))));
    // Control: a real handoff opens.
    let seg = Segment::create(config()).unwrap();
    let me = PeerProcess::open(std::process::id()).unwrap();
    let line = open_from_env_in_child(|c| {
        let fds = Handoff::prepare(c, &me).unwrap();
        Handoff::send_segment(&fds, &seg).unwrap();
    });
    assert_eq!(line, "ok");
    // A handoff whose first record is not a segment, or that never sends one (main's end
    // closed: the child does not wait for its deadline).
    let line = open_from_env_in_child(|c| {
        let fds = Handoff::prepare(c, &me).unwrap();
        fds.send(99, &[seg.file().as_fd()]).unwrap();
    });
    assert!(line.starts_with("error NoHandoff: "), "{line}");
    let line = open_from_env_in_child(|c| drop(Handoff::prepare(c, &me).unwrap()));
    assert!(line.starts_with("error Io: "), "{line}");
    for value in [
        None,
        Some("garbage"),
        Some("5,5,1"),
        Some("1000,1001,1"),
        Some("3,4,5,6"),
    ] {
        let line = open_from_env_in_child(|c| {
            if let Some(v) = value {
                c.env(HANDOFF_ENV, v);
            }
        });
        assert!(
            line.starts_with("error NoHandoff: "),
            "ELECTRODE_SHM={value:?}: {line}"
        );
    }
}
