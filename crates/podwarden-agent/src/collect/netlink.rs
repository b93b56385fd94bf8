//! The netlink process connector (`NETLINK_CONNECTOR`, `CN_IDX_PROC`): exec, fork and exit
//! notifications as they happen, so that processes shorter-lived than the poll interval are
//! still read. It needs `CAP_NET_ADMIN` in the initial user namespace and reports pids of the
//! initial pid namespace, so the agent only uses it there; elsewhere polling does the work.
//!
//! Whether the agent is in the initial namespaces is read from the namespace inodes
//! (`/proc/self/ns/pid`, `/proc/self/ns/user`): the kernel gives the initial ones fixed
//! numbers. `NSpid` of `/proc/self/status` cannot tell: it lists the pids from the procfs
//! mount's namespace down, so inside a pod with its own `/proc` it has one entry too.

use rustix::net::netlink::SocketAddrNetlink;
use rustix::net::{AddressFamily, RecvFlags, SendFlags, SocketFlags, SocketType};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const NLMSG_DONE: u16 = 3;
const NLMSG_HEADER: usize = 16;
const CN_MSG_HEADER: usize = 20;

const PROC_EVENT_FORK: u32 = 0x0000_0001;
const PROC_EVENT_EXEC: u32 = 0x0000_0002;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// Inode number of the initial user namespace (`PROC_USER_INIT_INO`, include/linux/proc_ns.h).
pub const PROC_USER_INIT_INO: u64 = 0xEFFF_FFFD;
/// Inode number of the initial pid namespace (`PROC_PID_INIT_INO`).
pub const PROC_PID_INIT_INO: u64 = 0xEFFF_FFFC;

/// Whether the namespaces read from `/proc/self/ns/{pid,user}` are the initial ones (where
/// the connector's pids are the agent's pids). Unreadable namespaces count as not initial.
pub fn in_initial_namespaces(pid_ns: Option<u64>, user_ns: Option<u64>) -> bool {
    pid_ns == Some(PROC_PID_INIT_INO) && user_ns == Some(PROC_USER_INIT_INO)
}

/// One notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcNotice {
    /// A new process (not a thread) was forked.
    Fork { pid: u32 },
    /// A process executed a new program.
    Exec { pid: u32 },
    /// A process exited.
    Exit { pid: u32 },
}

/// A subscribed connector socket.
#[derive(Debug)]
pub struct ProcConnector {
    socket: OwnedFd,
    buf: Vec<u8>,
    /// Notifications lost because the socket buffer overflowed (`ENOBUFS`).
    pub overruns: u64,
}

/// Why the connector is not used.
#[derive(Debug, thiserror::Error)]
pub enum ConnectorError {
    #[error("not in the initial pid and user namespaces, whose pids the connector reports")]
    NotInitialNamespace,
    #[error("no CAP_NET_ADMIN")]
    NoCapability,
    #[error("netlink connector: {0}")]
    Io(#[from] std::io::Error),
}

impl ProcConnector {
    /// Opens and subscribes when the agent runs where the connector's pids are its own.
    /// `initial_namespaces` is [`in_initial_namespaces`] of the agent, `cap_effective` its
    /// `CapEff`.
    pub fn open(
        initial_namespaces: bool,
        cap_effective: u64,
    ) -> Result<ProcConnector, ConnectorError> {
        if !initial_namespaces {
            return Err(ConnectorError::NotInitialNamespace);
        }
        const CAP_NET_ADMIN: u64 = 12;
        if cap_effective & (1 << CAP_NET_ADMIN) == 0 {
            return Err(ConnectorError::NoCapability);
        }
        let socket = rustix::net::socket_with(
            AddressFamily::NETLINK,
            SocketType::DGRAM,
            SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
            Some(rustix::net::netlink::CONNECTOR),
        )
        .map_err(std::io::Error::from)?;
        rustix::net::bind(&socket, &SocketAddrNetlink::new(0, CN_IDX_PROC))
            .map_err(std::io::Error::from)?;
        let mut message = Vec::with_capacity(NLMSG_HEADER + CN_MSG_HEADER + 4);
        let total = (NLMSG_HEADER + CN_MSG_HEADER + 4) as u32;
        message.extend_from_slice(&total.to_ne_bytes());
        message.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        message.extend_from_slice(&0u16.to_ne_bytes()); // flags
        message.extend_from_slice(&0u32.to_ne_bytes()); // seq
        message.extend_from_slice(&std::process::id().to_ne_bytes()); // port id
        message.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        message.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        message.extend_from_slice(&0u32.to_ne_bytes()); // seq
        message.extend_from_slice(&0u32.to_ne_bytes()); // ack
        message.extend_from_slice(&4u16.to_ne_bytes()); // len
        message.extend_from_slice(&0u16.to_ne_bytes()); // flags
        message.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
        rustix::net::sendto(
            &socket,
            &message,
            SendFlags::empty(),
            &SocketAddrNetlink::new(0, 0),
        )
        .map_err(std::io::Error::from)?;
        Ok(ProcConnector {
            socket,
            buf: vec![0; 64 * 1024],
            overruns: 0,
        })
    }

    /// The socket (to wait on).
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Drains every pending notification into `out`.
    pub fn drain(&mut self, out: &mut Vec<ProcNotice>) {
        loop {
            match rustix::net::recv(&self.socket, &mut self.buf[..], RecvFlags::DONTWAIT) {
                Ok((0, _)) => break,
                Ok((n, _)) => parse_datagram(self.buf.get(..n).unwrap_or_default(), out),
                Err(rustix::io::Errno::NOBUFS) => self.overruns += 1,
                Err(rustix::io::Errno::INTR) => continue,
                Err(_) => break,
            }
        }
    }
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// Parses one datagram (one or more netlink messages each carrying a `proc_event`).
pub fn parse_datagram(mut bytes: &[u8], out: &mut Vec<ProcNotice>) {
    while bytes.len() >= NLMSG_HEADER {
        let Some(len) = u32_at(bytes, 0).map(|l| l as usize) else {
            return;
        };
        if len < NLMSG_HEADER || len > bytes.len() {
            return;
        }
        let message = bytes.get(..len).unwrap_or_default();
        // proc_event: what, cpu, timestamp (8 bytes), then the event data.
        let event = NLMSG_HEADER + CN_MSG_HEADER;
        let data = event + 16;
        if let Some(what) = u32_at(message, event) {
            let notice = match what {
                PROC_EVENT_FORK => {
                    // parent_pid, parent_tgid, child_pid, child_tgid: threads have pid != tgid.
                    match (u32_at(message, data + 8), u32_at(message, data + 12)) {
                        (Some(pid), Some(tgid)) if pid == tgid => Some(ProcNotice::Fork { pid }),
                        _ => None,
                    }
                }
                PROC_EVENT_EXEC => {
                    u32_at(message, data + 4).map(|tgid| ProcNotice::Exec { pid: tgid })
                }
                PROC_EVENT_EXIT => match (u32_at(message, data), u32_at(message, data + 4)) {
                    (Some(pid), Some(tgid)) if pid == tgid => Some(ProcNotice::Exit { pid }),
                    _ => None,
                },
                _ => None,
            };
            out.extend(notice);
        }
        // Messages are padded to 4 bytes.
        let advance = (len + 3) & !3;
        bytes = bytes.get(advance.min(bytes.len())..).unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connector_is_only_used_in_the_initial_namespaces() {
        let check = |pid_ns: Option<u64>, user_ns: Option<u64>, expected: bool| {
            assert_eq!(
                in_initial_namespaces(pid_ns, user_ns),
                expected,
                "{pid_ns:?} {user_ns:?}"
            );
        };
        check(Some(4_026_531_836), Some(4_026_531_837), true);
        // A pod's pid namespace in the host's user namespace (its own /proc says NSpid: 1).
        check(Some(4_026_532_181), Some(4_026_531_837), false);
        check(Some(4_026_531_836), Some(4_026_532_200), false);
        check(None, Some(4_026_531_837), false);
        check(Some(4_026_531_836), None, false);
    }

    #[test]
    fn open_refuses_outside_the_initial_namespaces() {
        assert!(matches!(
            ProcConnector::open(false, u64::MAX),
            Err(ConnectorError::NotInitialNamespace)
        ));
        assert!(matches!(
            ProcConnector::open(true, 0),
            Err(ConnectorError::NoCapability)
        ));
    }

    fn datagram(what: u32, data: [u32; 4]) -> Vec<u8> {
        let mut bytes = Vec::new();
        let total = (NLMSG_HEADER + CN_MSG_HEADER + 16 + 16) as u32;
        bytes.extend_from_slice(&total.to_ne_bytes());
        bytes.extend_from_slice(&[0; NLMSG_HEADER - 4]);
        bytes.extend_from_slice(&[0; CN_MSG_HEADER]);
        bytes.extend_from_slice(&what.to_ne_bytes());
        bytes.extend_from_slice(&[0; 12]); // cpu, timestamp
        for word in data {
            bytes.extend_from_slice(&word.to_ne_bytes());
        }
        bytes
    }

    #[test]
    fn datagrams() {
        let check = |bytes: Vec<u8>, expected: Vec<ProcNotice>| {
            let mut out = Vec::new();
            parse_datagram(&bytes, &mut out);
            assert_eq!(out, expected);
        };
        check(
            datagram(PROC_EVENT_FORK, [10, 10, 11, 11]),
            vec![ProcNotice::Fork { pid: 11 }],
        );
        // A new thread (pid != tgid) is not a process.
        check(datagram(PROC_EVENT_FORK, [10, 10, 12, 11]), vec![]);
        check(
            datagram(PROC_EVENT_EXEC, [11, 11, 0, 0]),
            vec![ProcNotice::Exec { pid: 11 }],
        );
        check(
            datagram(PROC_EVENT_EXIT, [11, 11, 0, 0]),
            vec![ProcNotice::Exit { pid: 11 }],
        );
        let mut two = datagram(PROC_EVENT_EXEC, [5, 5, 0, 0]);
        two.extend(datagram(PROC_EVENT_EXIT, [6, 6, 0, 0]));
        check(
            two,
            vec![ProcNotice::Exec { pid: 5 }, ProcNotice::Exit { pid: 6 }],
        );
        // Cut short or lying about its length: nothing, no panic.
        let mut short = datagram(PROC_EVENT_EXEC, [5, 5, 0, 0]);
        short.truncate(30);
        check(short, vec![]);
        let mut lying = datagram(PROC_EVENT_EXEC, [5, 5, 0, 0]);
        lying[0] = 0xff;
        check(lying, vec![]);
        check(Vec::new(), vec![]);
    }
}
