//! Pod addresses. A Fargate pod runs on a node of its own, named after the IPv4 address its
//! network interface gets in one of its profile's subnets (`fargate-ip-192-168-97-4.…`). Each
//! subnet hands out its addresses once: AWS keeps the first four and the last address of every
//! subnet, an address is free again only when its pod is deleted, and a full subnet gives no
//! address (the pod stays Pending, as on EKS when a subnet runs out).

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::Ipv4Addr;

/// An IPv4 block, `a.b.c.d/n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    base: u32,
    prefix: u8,
}

impl Cidr {
    /// Parses `192.168.0.0/19`; host bits must be zero and the prefix at most /28 (the smallest
    /// subnet AWS allows).
    ///
    /// # Errors
    /// A sentence saying what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (ip, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` is not a CIDR block like 192.168.0.0/19"))?;
        let ip: Ipv4Addr = ip
            .parse()
            .map_err(|_| format!("`{text}`: `{ip}` is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .ok()
            .filter(|p| (16..=28).contains(p))
            .ok_or_else(|| format!("`{text}`: a subnet's prefix is /16 to /28"))?;
        let base = u32::from(ip);
        if base & !mask(prefix) != 0 {
            return Err(format!("`{text}`: the host bits are not zero"));
        }
        Ok(Self { base, prefix })
    }

    fn size(self) -> u32 {
        1 << (32 - u32::from(self.prefix))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

/// The blocks given to subnets that name none, in order: eksctl's default VPC is
/// 192.168.0.0/16, carved into /19 subnets.
pub fn default_cidr(index: usize) -> Cidr {
    let third = (32 * (index % 8)) as u32;
    Cidr {
        base: u32::from(Ipv4Addr::new(192, 168, 0, 0)) | (third << 8),
        prefix: 19,
    }
}

/// Addresses reserved by AWS at the start of every subnet (network, router, DNS, future use).
const RESERVED_START: u32 = 4;

#[derive(Debug, Clone)]
struct SubnetAddresses {
    cidr: Cidr,
    /// The next offset to try; moves forward and wraps, so a released address is reused last.
    cursor: u32,
    used: HashSet<u32>,
}

impl SubnetAddresses {
    fn new(cidr: Cidr) -> Self {
        Self {
            cidr,
            cursor: RESERVED_START,
            used: HashSet::new(),
        }
    }

    /// Offsets that can be handed out: after the reserved four, before the broadcast address.
    fn usable(&self) -> u32 {
        self.cidr.size().saturating_sub(RESERVED_START + 1)
    }

    fn allocate(&mut self) -> Option<Ipv4Addr> {
        if self.used.len() as u32 >= self.usable() {
            return None;
        }
        let last = self.cidr.size() - 2;
        loop {
            let offset = self.cursor;
            self.cursor = if offset >= last {
                RESERVED_START
            } else {
                offset + 1
            };
            if self.used.insert(offset) {
                return Some(Ipv4Addr::from(self.cidr.base + offset));
            }
        }
    }

    fn release(&mut self, ip: Ipv4Addr) -> bool {
        let v = u32::from(ip);
        v & mask(self.cidr.prefix) == self.cidr.base && self.used.remove(&(v - self.cidr.base))
    }
}

/// The addresses of a cluster's subnets.
#[derive(Debug, Clone, Default)]
pub struct AddressPool {
    subnets: BTreeMap<String, SubnetAddresses>,
    turn: usize,
}

impl AddressPool {
    /// A pool over `subnets` (subnet id and block).
    pub fn new<'a>(subnets: impl IntoIterator<Item = (&'a str, Cidr)>) -> Self {
        Self {
            subnets: subnets
                .into_iter()
                .map(|(id, c)| (id.to_owned(), SubnetAddresses::new(c)))
                .collect(),
            turn: 0,
        }
    }

    /// An address from one of `subnet_ids`, taking them in turn (as Fargate spreads pods over
    /// a profile's subnets); `None` when every one of them is full or unknown.
    pub fn allocate(&mut self, subnet_ids: &[String]) -> Option<Ipv4Addr> {
        if subnet_ids.is_empty() {
            return None;
        }
        let start = self.turn;
        self.turn = self.turn.wrapping_add(1);
        (0..subnet_ids.len()).find_map(|i| {
            let id = &subnet_ids[(start + i) % subnet_ids.len()];
            self.subnets.get_mut(id).and_then(SubnetAddresses::allocate)
        })
    }

    /// Frees an address when its pod is gone.
    pub fn release(&mut self, ip: Ipv4Addr) {
        for s in self.subnets.values_mut() {
            if s.release(ip) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(cidr: &str) -> AddressPool {
        AddressPool::new([(
            "subnet-a",
            Cidr::parse(cidr).unwrap_or_else(|e| panic!("{e}")),
        )])
    }

    #[test]
    fn the_reserved_addresses_are_never_handed_out() {
        let mut p = pool("10.0.0.0/28");
        let ids = vec!["subnet-a".to_owned()];
        let got: Vec<String> = std::iter::from_fn(|| p.allocate(&ids))
            .map(|a| a.to_string())
            .collect();
        // 16 addresses: .0–.3 reserved, .15 the broadcast address.
        assert_eq!(got.first().map(String::as_str), Some("10.0.0.4"));
        assert_eq!(got.last().map(String::as_str), Some("10.0.0.14"));
        assert_eq!(got.len(), 11);
    }

    #[test]
    fn addresses_stay_unique_while_pods_live_and_are_reused_after() {
        let mut p = pool("192.168.96.0/19");
        let ids = vec!["subnet-a".to_owned()];
        let mut seen = HashSet::new();
        while let Some(a) = p.allocate(&ids) {
            assert!(seen.insert(a), "{a} handed out twice");
        }
        assert_eq!(seen.len(), 8192 - 5);
        let freed = Ipv4Addr::new(192, 168, 100, 7);
        p.release(freed);
        assert_eq!(p.allocate(&ids), Some(freed));
        assert_eq!(p.allocate(&ids), None);
    }

    #[test]
    fn subnets_are_taken_in_turn() {
        let mut p = AddressPool::new([("a", default_cidr(3)), ("b", default_cidr(4))]);
        let ids = vec!["a".to_owned(), "b".to_owned()];
        let got: Vec<String> = (0..3)
            .filter_map(|_| p.allocate(&ids))
            .map(|a| a.to_string())
            .collect();
        assert_eq!(got, ["192.168.96.4", "192.168.128.4", "192.168.96.5"]);
    }

    #[test]
    fn a_block_with_host_bits_is_refused() {
        assert!(Cidr::parse("192.168.1.1/19").is_err());
        assert!(Cidr::parse("192.168.0.0/29").is_err());
    }
}
