//! The netlink process connector (`NETLINK_CONNECTOR`, `CN_IDX_PROC`): exec, fork and exit
//! notifications as they happen, so that processes shorter-lived than the poll interval are
//! still read. It needs `CAP_NET_ADMIN` in the initial user namespace and reports pids of the
//! initial pid namespace, so the agent only uses it there; elsewhere polling does the work.

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
    #[error("not in the initial pid and user namespaces (the connector reports their pids)")]
    NotInitialNamespace,
    #[error("no CAP_NET_ADMIN")]
    NoCapability,
    #[error("netlink connector: {0}")]
    Io(#[from] std::io::Error),
}

impl ProcConnector {
    /// Opens and subscribes when the agent runs where the connector's pids are its own.
    /// `pid_ns_depth` is the number of `NSpid` entries of the agent, `cap_effective` its
    /// `CapEff`, `initial_user_ns` whether `/proc/self/uid_map` is the identity map.
    pub fn open(
        pid_ns_depth: u32,
        cap_effective: u64,
        initial_user_ns: bool,
    ) -> Result<ProcConnector, ConnectorError> {
        if pid_ns_depth != 1 || !initial_user_ns {
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
