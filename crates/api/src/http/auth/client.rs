//! The client's address: the peer's, unless the peer is a trusted proxy (`trusted_proxies`),
//! in which case `X-Forwarded-For` names it.
//!
//! Anyone can send `X-Forwarded-For`, so it is read only from a trusted peer, and from the
//! right: each proxy appends the address it received the request from, so the entries right
//! of the first untrusted one were written by our proxies, and the first untrusted address
//! from the right is the client (what it wrote itself, further left, is ignored).

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The networks whose `X-Forwarded-For` is believed. Empty (the default): none.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

const X_FORWARDED_FOR: &str = "x-forwarded-for";

impl TrustedProxies {
    /// Parses the `trusted_proxies` setting: CIDRs (`10.0.0.0/8`, `fd00::/8`) or single
    /// addresses. The error names the entry at fault.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|e| {
                let e = e.trim();
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| {
                        format!(
                            "trusted_proxies: {e:?} is not a CIDR such as 10.0.0.0/8 or \
                             fd00::/8, nor an address"
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client of a request that came from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // Several header lines are one list, in order (RFC 9110 §5.3).
        let hops: Vec<&str> = headers
            .get_all(X_FORWARDED_FOR)
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            // Not an address: nothing further left can be believed; the last trusted hop is
            // the nearest thing to the client we know.
            let Some(address) = parse_hop(hop) else {
                return client;
            };
            client = address;
            if !self.trusts(address) {
                return address;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, possibly with a port (`192.0.2.1:4711`,
/// `[2001:db8::1]:4711`), as some proxies write it.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(|a| a.to_canonical())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append(
                HeaderName::from_static(X_FORWARDED_FOR),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_setting_takes_cidrs_and_addresses_and_names_a_bad_entry() {
        assert!(TrustedProxies::parse(&[]).is_ok());
        let ok = [
            "10.0.0.0/8",
            "127.0.0.1",
            "fd00::/8",
            "::1",
            " 192.168.1.7/24 ",
        ];
        assert!(TrustedProxies::parse(&ok.map(String::from)).is_ok());
        for bad in [
            "10.0.0/8",
            "10.0.0.0/33",
            "proxy.local",
            "",
            "10.0.0.0/8,10.1.0.0/16",
        ] {
            let e = TrustedProxies::parse(&[bad.to_owned()]).unwrap_err();
            assert!(e.starts_with("trusted_proxies:"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn forwarded_addresses_are_read_from_the_right_and_only_through_trusted_proxies() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1/32"]);
        // (peer, X-Forwarded-For lines, the client)
        let cases: &[(&str, &[&str], &str)] = &[
            // An untrusted peer: its header is ignored.
            ("203.0.113.9", &["198.51.100.1"], "203.0.113.9"),
            // A trusted peer without the header: the peer.
            ("10.1.1.1", &[], "10.1.1.1"),
            // One proxy.
            ("10.1.1.1", &["198.51.100.1"], "198.51.100.1"),
            // The client wrote its own entry first: ignored, the proxy's entry wins.
            ("10.1.1.1", &["1.2.3.4, 198.51.100.1"], "198.51.100.1"),
            // Two proxies of ours.
            (
                "10.1.1.1",
                &["1.2.3.4, 198.51.100.1, 10.2.2.2"],
                "198.51.100.1",
            ),
            // Several header lines are one list.
            (
                "10.1.1.1",
                &["1.2.3.4", "198.51.100.1, 10.2.2.2"],
                "198.51.100.1",
            ),
            // Ports and IPv4-mapped IPv6.
            ("10.1.1.1", &["198.51.100.1:4711"], "198.51.100.1"),
            ("::ffff:127.0.0.1", &["2001:db8::7"], "2001:db8::7"),
            ("10.1.1.1", &["[2001:db8::7]:443"], "2001:db8::7"),
            // Garbage left of our proxies: the last trusted hop.
            ("10.1.1.1", &["garbage, 10.2.2.2"], "10.2.2.2"),
            // Only proxies: the leftmost.
            ("10.1.1.1", &["10.3.3.3, 10.2.2.2"], "10.3.3.3"),
        ];
        for (peer, xff, client) in cases {
            assert_eq!(
                p.client(ip(peer), &headers(xff)),
                ip(client),
                "{peer} {xff:?}"
            );
        }
        // No proxies trusted (the default): always the peer.
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("127.0.0.1"), &headers(&["198.51.100.1"])),
            ip("127.0.0.1")
        );
    }
}
