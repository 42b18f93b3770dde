//! Who the client is: the peer address of the connection, or, when the peer is one of the
//! operator's trusted reverse proxies, the right-most address of `X-Forwarded-For` that is not
//! a trusted proxy. Every per-address rule (rate limits, login lockout, guest download limits,
//! folder-password guesses) reads this one value.

use crate::AppState;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use http::request::Parts;
use http::HeaderMap;
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The networks whose `X-Forwarded-For` is believed (`[http] trusted_proxies`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`, `::1/128`) or bare addresses (one host); the error names
    /// the entry that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("{entry:?} is not an address or a CIDR such as 10.0.0.0/8")
                    })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer`: `peer` itself unless it is trusted; then
    /// `X-Forwarded-For` read from the right, skipping trusted proxies, up to the first address
    /// that is not one (what a client writes further left is never believed). A chain made
    /// only of trusted hops gives its left-most address; an unreadable entry stops the walk at
    /// the last address known good.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = peer.to_canonical();
        if !self.contains(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect();
        for hop in hops.into_iter().rev() {
            let Some(ip) = parse_hop(hop) else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = hop.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    hop.strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<Ipv6Addr>().ok())
        .map(|ip| IpAddr::V6(ip).to_canonical())
}

/// The client's address (see [`TrustedProxies::client_ip`]); unspecified when the request did
/// not come over a connection (router tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The key per-address counters use: the address, or its /64 for IPv6, which is what one
    /// subscriber is usually given (counting single IPv6 addresses would let a client take a
    /// fresh identity for every request).
    pub fn counter_key(&self) -> String {
        match self.0 {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => {
                let mut segments = ip.segments();
                segments[4..].fill(0);
                format!("{}/64", Ipv6Addr::from(segments))
            }
        }
    }
}

impl std::fmt::Display for ClientIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<S> FromRequestParts<S> for ClientIp
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        Ok(ClientIp::resolve(
            &mut parts.extensions,
            &parts.headers,
            &state,
        ))
    }
}

impl ClientIp {
    /// The client of a request, resolved once and kept in its extensions for later asks.
    pub(crate) fn resolve(
        extensions: &mut http::Extensions,
        headers: &HeaderMap,
        state: &AppState,
    ) -> Self {
        if let Some(known) = extensions.get::<ClientIp>() {
            return *known;
        }
        let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<SocketAddr>>() else {
            return ClientIp(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        };
        let ip = state.config.trusted_proxies.client_ip(peer.ip(), headers);
        let client = ClientIp(ip);
        extensions.insert(client);
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in xff {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8"]).unwrap();
        let got = proxies.client_ip(ip("203.0.113.9"), &headers(&["1.1.1.1"]));
        assert_eq!(got, ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(ip("10.0.0.1"), &headers(&["1.1.1.1"])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(&["10.0.0.0/8", "192.168.1.1"]).unwrap();
        // The client forged "6.6.6.6"; the first proxy appended the real peer 198.51.100.7.
        let xff = headers(&["6.6.6.6, 198.51.100.7", "10.1.2.3"]);
        assert_eq!(
            proxies.client_ip(ip("192.168.1.1"), &xff),
            ip("198.51.100.7")
        );
        // Only trusted hops: the left-most of them.
        let xff = headers(&["10.9.9.9, 10.1.2.3"]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &xff), ip("10.9.9.9"));
        // Garbage stops the walk at the last good address.
        let xff = headers(&["nonsense, 10.1.2.3"]);
        assert_eq!(proxies.client_ip(ip("10.0.0.1"), &xff), ip("10.1.2.3"));
        // No header: the proxy itself.
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &headers(&[])),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn hops_may_carry_ports_and_brackets() {
        assert_eq!(parse_hop("1.2.3.4:80"), Some(ip("1.2.3.4")));
        assert_eq!(parse_hop("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_hop("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_hop("::ffff:1.2.3.4"), Some(ip("1.2.3.4")));
        assert_eq!(parse_hop("unknown"), None);
    }

    #[test]
    fn bad_entries_are_named() {
        let err = TrustedProxies::parse(&["10.0.0.0/8", "proxy.local"]).unwrap_err();
        assert!(err.contains("proxy.local"), "{err}");
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        let a = ClientIp(ip("2001:db8:1:2:aaaa::1")).counter_key();
        let b = ClientIp(ip("2001:db8:1:2:bbbb::2")).counter_key();
        assert_eq!(a, b);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(ClientIp(ip("192.0.2.1")).counter_key(), "192.0.2.1");
    }
}
