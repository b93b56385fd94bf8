//! Parsers for the kernel's socket tables: `/proc/net/{tcp,tcp6,udp,udp6}`, `/proc/net/packet`
//! and `/proc/net/unix`. They fill caller-owned vectors of plain `Copy` entries, so a poll
//! that finds nothing new allocates nothing.

use podwarden_api::event::{L4Protocol, TcpState};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One row of a TCP or UDP table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SockEntry {
    pub protocol: L4Protocol,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    /// Raw state number (`st` column).
    pub state: u8,
    pub uid: u32,
    /// Socket inode; 0 for sockets no longer owned by a file (TIME_WAIT, orphans).
    pub inode: u64,
}

/// TCP state numbers of `/proc/net/tcp`.
pub const TCP_LISTEN: u8 = 0x0A;

impl SockEntry {
    /// A TCP socket in `LISTEN`, or a UDP socket with no peer (bound, receiving).
    pub fn is_listening(&self) -> bool {
        match self.protocol {
            L4Protocol::Tcp => self.state == TCP_LISTEN,
            _ => self.remote.port() == 0 && self.remote.ip().is_unspecified(),
        }
    }

    /// The TCP state as the event model names it; `None` for UDP.
    pub fn tcp_state(&self) -> Option<TcpState> {
        if self.protocol != L4Protocol::Tcp {
            return None;
        }
        Some(match self.state {
            0x01 => TcpState::Established,
            0x02 => TcpState::SynSent,
            0x03 => TcpState::SynRecv,
            0x04 => TcpState::FinWait1,
            0x05 => TcpState::FinWait2,
            0x06 => TcpState::TimeWait,
            0x07 => TcpState::Close,
            0x08 => TcpState::CloseWait,
            0x09 => TcpState::LastAck,
            0x0A => TcpState::Listen,
            _ => TcpState::Closing,
        })
    }
}

/// Parses a TCP/UDP table (IPv4 or IPv6, told apart by the address width) and appends its
/// rows to `out`. Malformed rows are skipped.
pub fn parse_inet_table(text: &[u8], protocol: L4Protocol, out: &mut Vec<SockEntry>) {
    for line in text.split(|&b| b == b'\n').skip(1) {
        if let Some(entry) = parse_inet_row(line, protocol) {
            out.push(entry);
        }
    }
}

fn parse_inet_row(line: &[u8], protocol: L4Protocol) -> Option<SockEntry> {
    // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    let mut fields = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|f| !f.is_empty());
    let _slot = fields.next()?;
    let local = parse_endpoint(fields.next()?)?;
    let remote = parse_endpoint(fields.next()?)?;
    let state = u8::from_str_radix(std::str::from_utf8(fields.next()?).ok()?, 16).ok()?;
    let _queues = fields.next()?;
    let _timer = fields.next()?;
    let _retransmits = fields.next()?;
    let uid = super::procfs::parse_u32(fields.next()?)?;
    let _timeout = fields.next()?;
    let inode = super::procfs::parse_u64(fields.next()?)?;
    Some(SockEntry {
        protocol,
        local,
        remote,
        state,
        uid,
        inode,
    })
}

/// `0100007F:1F90` (IPv4) or 32 hex digits `:` port (IPv6). The kernel prints each 32-bit
/// word of the address as a native-endian integer, so the bytes come back with `to_ne_bytes`.
fn parse_endpoint(text: &[u8]) -> Option<SocketAddr> {
    let colon = text.iter().position(|&b| b == b':')?;
    let (addr, port) = text.split_at(colon);
    let port = u16::from_str_radix(std::str::from_utf8(port.get(1..)?).ok()?, 16).ok()?;
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(hex_word(addr)?.to_ne_bytes())),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in addr.chunks(8).enumerate() {
                let word = hex_word(chunk)?.to_ne_bytes();
                bytes.get_mut(i * 4..i * 4 + 4)?.copy_from_slice(&word);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn hex_word(text: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(text).ok()?, 16).ok()
}

/// One row of `/proc/net/packet` (an `AF_PACKET` socket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketEntry {
    /// `SOCK_RAW` (3) or `SOCK_DGRAM` (2).
    pub socket_type: u16,
    /// Ethernet protocol (host order).
    pub protocol: u16,
    pub uid: u32,
    pub inode: u64,
}

impl PacketEntry {
    /// The kernel's name for the socket type.
    pub fn type_name(&self) -> &'static str {
        match self.socket_type {
            2 => "dgram",
            3 => "raw",
            _ => "other",
        }
    }
}

/// Parses `/proc/net/packet`: `sk RefCnt Type Proto Iface R Rmem User Inode`.
pub fn parse_packet_table(text: &[u8], out: &mut Vec<PacketEntry>) {
    for line in text.split(|&b| b == b'\n').skip(1) {
        let mut fields = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let row = (|| {
            let _sk = fields.next()?;
            let _refs = fields.next()?;
            let socket_type = super::procfs::parse_u32(fields.next()?)?;
            let proto = u16::from_str_radix(std::str::from_utf8(fields.next()?).ok()?, 16).ok()?;
            let _iface = fields.next()?;
            let _running = fields.next()?;
            let _rmem = fields.next()?;
            let uid = super::procfs::parse_u32(fields.next()?)?;
            let inode = super::procfs::parse_u64(fields.next()?)?;
            Some(PacketEntry {
                socket_type: u16::try_from(socket_type).ok()?,
                // The kernel prints `ntohs(num)`: already in host order.
                protocol: proto,
                uid,
                inode,
            })
        })();
        if let Some(entry) = row {
            out.push(entry);
        }
    }
}

/// Whether `/proc/net/unix` lists a socket with this inode (`Num RefCount Protocol Flags Type
/// St Inode Path`).
pub fn unix_table_has_inode(text: &[u8], inode: u64) -> bool {
    text.split(|&b| b == b'\n').skip(1).any(|line| {
        line.split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty())
            .nth(6)
            .and_then(super::procfs::parse_u64)
            == Some(inode)
    })
}
