//! `/proc` parsers on captured fixtures, and the reader on this live machine.

use podwarden_agent::collect::net::{
    PacketEntry, SockEntry, parse_inet_table, parse_packet_table, unix_table_has_inode,
};
use podwarden_agent::collect::procfs::{
    ExeLink, ProcFs, RelPath, Stat, Status, container_id_from_cgroup, namespace_inode, parse_btime,
    parse_cmdline, parse_exe_link, parse_loginuid, parse_stat, parse_status, socket_inode,
};
use podwarden_api::event::L4Protocol;
use std::net::SocketAddr;
use std::path::Path;

fn check_stat(input: &str, expected: Option<(u32, &str, u8, u32, u64)>) {
    let got = parse_stat(input.as_bytes()).map(|s: Stat| {
        (
            s.pid,
            String::from_utf8_lossy(s.comm.as_bytes()).into_owned(),
            s.state,
            s.ppid,
            s.start_ticks,
        )
    });
    let expected =
        expected.map(|(pid, comm, state, ppid, start)| (pid, comm.to_string(), state, ppid, start));
    assert_eq!(got, expected, "{input:?}");
}

#[test]
fn stat_lines() {
    // Captured from this machine (`cat /proc/self/stat`).
    check_stat(
        "8249 (cat) R 8247 8247 23051 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 571401 3133440 359 18446744073709551615 94596966219776 0\n",
        Some((8249, "cat", b'R', 8247, 571401)),
    );
    // A name with spaces and parentheses: fields are counted after the last `)`.
    check_stat(
        "77 (evil) S 1 x) S 5 77 77 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 999 0 12 0\n",
        Some((77, "evil) S 1 x", b'S', 5, 999)),
    );
    check_stat("12 (sh) S 1 12 12 0 -1 0 0 0\n", None); // cut short
    check_stat("garbage", None);
    check_stat("", None);
    check_stat(
        "x (sh) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 1 0",
        None,
    ); // bad pid
}

#[test]
fn stat_fields_used_by_the_agent() {
    let stat = parse_stat(b"10 (a) S 2 3 4 34817 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 55 0 9 0").unwrap();
    assert_eq!((stat.pgrp, stat.session, stat.tty_nr), (3, 4, 34817));
    assert_eq!((stat.utime, stat.stime, stat.rss_pages), (7, 8, 9));
    assert_eq!(stat.flags, 0);
    assert!(!stat.is_kernel_thread());
    // Captured: `cat /proc/2/stat` (kthreadd) and a shell that is pid 2 of a pid namespace.
    let kthreadd =
        parse_stat(b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 2 0 0 20 0 1 0 2 0 0 0").unwrap();
    assert_eq!(kthreadd.flags, 0x20_8040);
    assert!(kthreadd.is_kernel_thread());
    let workload =
        parse_stat(b"2 (sh) S 0 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0 0").unwrap();
    assert!(!workload.is_kernel_thread());
}

fn check_status(input: &str, expected: Status) {
    assert_eq!(parse_status(input.as_bytes()), expected, "{input:?}");
}

#[test]
fn status_files() {
    check_status(
        "Name:\thead\nUmask:\t0022\nState:\tR (running)\nTgid:\t8250\nNgid:\t0\nPid:\t8250\nPPid:\t8247\nTracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nNSpid:\t8250\nCapInh:\t0000000000000000\nCapPrm:\t000001fffeffffff\nCapEff:\t000001fffeffffff\n",
        Status {
            uid: 0,
            gid: 0,
            cap_inheritable: Some(0),
            cap_permitted: Some(0x1ff_feff_ffff),
            cap_effective: Some(0x1ff_feff_ffff),
            tracer_pid: 0,
            pid_ns_depth: 1,
        },
    );
    check_status(
        "Uid:\t33\t0\t0\t0\nGid:\t33\t33\t33\t33\nTracerPid:\t4242\nNSpid:\t9001\t7\n",
        Status {
            uid: 33,
            gid: 33,
            tracer_pid: 4242,
            pid_ns_depth: 2,
            ..Status::default()
        },
    );
    check_status("CapEff:\tnot-hex\n", Status::default());
    check_status("", Status::default());
}

#[test]
fn command_lines_and_links() {
    assert_eq!(
        parse_cmdline(b"sh\0-c\0echo hi\0"),
        vec!["sh", "-c", "echo hi"]
    );
    assert_eq!(parse_cmdline(b""), Vec::<String>::new());
    assert_eq!(parse_cmdline(b"a\0\0b\0"), vec!["a", "", "b"]);
    let check = |target: &str, expected: ExeLink| {
        assert_eq!(parse_exe_link(target.as_bytes()), expected, "{target}")
    };
    check(
        "/usr/bin/sleep",
        ExeLink {
            path: "/usr/bin/sleep".into(),
            deleted: false,
            memfd: false,
        },
    );
    check(
        "/tmp/x (deleted)",
        ExeLink {
            path: "/tmp/x".into(),
            deleted: true,
            memfd: false,
        },
    );
    check(
        "/memfd:payload (deleted)",
        ExeLink {
            path: "/memfd:payload".into(),
            deleted: false,
            memfd: true,
        },
    );
    assert_eq!(socket_inode(b"socket:[147527]"), Some(147527));
    assert_eq!(socket_inode(b"pipe:[5]"), None);
    assert_eq!(socket_inode(b"socket:[x]"), None);
    assert_eq!(namespace_inode(b"mnt:[4026531841]"), Some(4026531841));
    assert_eq!(namespace_inode(b"mnt:"), None);
    assert_eq!(parse_loginuid(b"4294967295"), None);
    assert_eq!(parse_loginuid(b"1000\n"), Some(1000));
    assert_eq!(
        parse_btime(b"cpu  1 2 3\nbtime 1700000000\nprocesses 5\n"),
        Some(1_700_000_000)
    );
    assert_eq!(parse_btime(b"cpu 1\n"), None);
}

#[test]
fn container_ids_from_cgroup_files() {
    let id = "3f1c2b0a9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b";
    let check = |text: &str, expected: Option<&str>| {
        assert_eq!(
            container_id_from_cgroup(text.as_bytes()).as_deref(),
            expected,
            "{text}"
        )
    };
    check(&format!("0::/system.slice/docker-{id}.scope\n"), Some(id));
    check(
        &format!("0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-{id}.scope\n"),
        Some(id),
    );
    check(
        &format!("12:pids:/kubepods/burstable/pod1234/{id}\n"),
        Some(id),
    );
    check("0::/user.slice/user-1000.slice/session-2.scope\n", None);
    check("9:name=systemd:/\n", None);
    // 65 hex digits is not an id.
    check(&format!("0::/x/{id}a\n"), None);
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn socket_tables() {
    // IPv4 rows captured from this machine plus an established connection.
    let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1076 1 0000000073731103 100 0 0 10 0\n\
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 147527 1 0000000026ea56bb 100 0 0 10 0\n\
   2: 0100007F:C350 0100007F:1538 01 00000000:00000000 00:00000000 00000000  1000        0 999 1 0 20 4 30 10 -1\n\
   3: not a row\n";
    let mut entries = Vec::new();
    parse_inet_table(tcp.as_bytes(), L4Protocol::Tcp, &mut entries);
    let expected = vec![
        SockEntry {
            protocol: L4Protocol::Tcp,
            local: addr("0.0.0.0:2024"),
            remote: addr("0.0.0.0:0"),
            state: 0x0A,
            uid: 0,
            inode: 1076,
        },
        SockEntry {
            protocol: L4Protocol::Tcp,
            local: addr("127.0.0.1:5432"),
            remote: addr("0.0.0.0:0"),
            state: 0x0A,
            uid: 101,
            inode: 147527,
        },
        SockEntry {
            protocol: L4Protocol::Tcp,
            local: addr("127.0.0.1:50000"),
            remote: addr("127.0.0.1:5432"),
            state: 0x01,
            uid: 1000,
            inode: 999,
        },
    ];
    assert_eq!(entries, expected);
    assert!(entries[0].is_listening() && !entries[2].is_listening());

    // IPv6: ::1 and an IPv4-mapped address.
    let tcp6 = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 42 1 0 100 0 0 10 0\n\
   1: 0000000000000000FFFF00000100007F:9C40 0000000000000000FFFF00000100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 43 1 0 20 4 30 10 -1\n";
    let mut entries = Vec::new();
    parse_inet_table(tcp6.as_bytes(), L4Protocol::Tcp, &mut entries);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].local, addr("[::1]:8080"));
    assert_eq!(entries[1].local, addr("[::ffff:127.0.0.1]:40000"));
    assert_eq!(entries[1].remote, addr("[::ffff:127.0.0.1]:8080"));

    // UDP: a bound socket (listening) and a connected one.
    let udp = "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
  100: 00000000:0044 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 77 2 0 0\n\
  101: 0100007F:D431 08080808:0035 01 00000000:00000000 00:00000000 00000000     0        0 78 2 0 0\n";
    let mut entries = Vec::new();
    parse_inet_table(udp.as_bytes(), L4Protocol::Udp, &mut entries);
    assert!(entries[0].is_listening());
    assert!(!entries[1].is_listening());
    assert_eq!(entries[1].remote, addr("8.8.8.8:53"));
    assert_eq!(entries[1].tcp_state(), None);
}

#[test]
fn packet_and_unix_tables() {
    let packet = "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n\
0000000000000000 3      3    0003   0     1 0      0      31337\n\
0000000000000000 3      2    0800   2     1 0      1000   31338\n\
short row\n";
    let mut entries = Vec::new();
    parse_packet_table(packet.as_bytes(), &mut entries);
    assert_eq!(
        entries,
        vec![
            PacketEntry {
                socket_type: 3,
                protocol: 3,
                uid: 0,
                inode: 31337
            },
            PacketEntry {
                socket_type: 2,
                protocol: 0x0800,
                uid: 1000,
                inode: 31338
            },
        ]
    );
    assert_eq!(entries[0].type_name(), "raw");
    let unix = "Num       RefCount Protocol Flags    Type St Inode Path\n\
00000000b48fdbe1: 00000002 00000000 00010000 0001 01 147528 /var/run/postgresql/.s.PGSQL.5432\n\
00000000cfd41048: 00000003 00000000 00000000 0001 03 255403\n";
    assert!(unix_table_has_inode(unix.as_bytes(), 255403));
    assert!(unix_table_has_inode(unix.as_bytes(), 147528));
    assert!(!unix_table_has_inode(unix.as_bytes(), 1));
}

#[test]
fn live_proc_lists_and_reads_this_process() {
    let proc = ProcFs::open(Path::new("/proc")).unwrap();
    let mut dirent = Vec::with_capacity(32 * 1024);
    let mut pids = Vec::new();
    proc.list_pids(&mut dirent, &mut pids).unwrap();
    let me = std::process::id();
    assert!(pids.contains(&me), "{me} not in {} pids", pids.len());
    // Listing again reuses the buffers and gives the same process.
    proc.list_pids(&mut dirent, &mut pids).unwrap();
    assert!(pids.contains(&me));
    let mut buf = Vec::new();
    proc.read(RelPath::pid(me, "stat").as_cstr(), &mut buf, 4096)
        .unwrap();
    let stat = parse_stat(&buf).unwrap();
    assert_eq!(stat.pid, me);
    let started = proc.start_time_ns(stat.start_ticks);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    assert!(
        started <= now && now - started < 24 * 3600 * 1_000_000_000,
        "started {started}, now {now}"
    );
    proc.readlink(RelPath::pid(me, "exe").as_cstr(), &mut buf)
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buf).contains("it-"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    // A read is bounded.
    assert_eq!(
        proc.read(RelPath::pid(me, "status").as_cstr(), &mut buf, 10)
            .unwrap(),
        10
    );
}

fn check_sockstat(texts: &[&str], expected: [u64; 8]) {
    let mut counts = [0u64; 8];
    for text in texts {
        podwarden_agent::collect::sockets::parse_sockstat_inuse(text.as_bytes(), &mut counts);
    }
    assert_eq!(counts, expected, "{texts:?}");
}

#[test]
fn sockstat_inuse_counters() {
    // Captured from this machine: `cat /proc/net/sockstat /proc/net/sockstat6`.
    let v4 = "sockets: used 40\nTCP: inuse 3 orphan 0 tw 2787 alloc 3 mem 0\nUDP: inuse 1 mem 0\nUDPLITE: inuse 0\nRAW: inuse 2\nFRAG: inuse 0 memory 0\n";
    let v6 =
        "TCP6: inuse 4\nUDP6: inuse 5\nUDPLITE6: inuse 0\nRAW6: inuse 6\nFRAG6: inuse 0 memory 0\n";
    check_sockstat(&[v4, v6], [3, 1, 0, 2, 4, 5, 0, 6]);
    check_sockstat(&[v4], [3, 1, 0, 2, 0, 0, 0, 0]);
    // The TIME_WAIT count is not a counter that is kept (it moves with every closed socket).
    check_sockstat(
        &["TCP: inuse 3 orphan 0 tw 1 alloc 3 mem 0\n"],
        [3, 0, 0, 0, 0, 0, 0, 0],
    );
    check_sockstat(&["TCP: tw 9\nUDP: inuse x\ngarbage\n\n"], [0; 8]);
    check_sockstat(&[""], [0; 8]);
}
