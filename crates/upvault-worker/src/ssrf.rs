//! The outbound-fetch guard (SPEC.md §4, STYLE.md §6).
//!
//! A URL import may only reach public http(s) servers unless the operator sets
//! `[remote_upload] allow_private_addresses = true`. The guard has three parts, because reqwest
//! reaches an address by three roads:
//!
//! - the host of the first URL, when it is an IP literal, is checked by [`check_url`] before the
//!   request (reqwest does not call a resolver for IP literals);
//! - every host name, of the first URL and of every redirect, goes through [`PublicOnlyResolver`],
//!   which drops non-public addresses, so the address checked is the address dialled (no gap for
//!   DNS rebinding between a check and the connect);
//! - every redirect goes through [`check_redirect`] (scheme, IP-literal hosts) and is counted.
//!
//! `url` already normalises the odd IPv4 spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`) to
//! dotted quads, so they reach [`is_public_ip`] as ordinary addresses.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// Most redirects one fetch follows.
pub const MAX_REDIRECTS: usize = 5;

/// How the outbound HTTP client behaves.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Lifts the guard (tests, trusted networks).
    pub allow_private_addresses: bool,
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// Longest silence while waiting for the response or between body chunks.
    pub idle_timeout: Duration,
    /// `User-Agent` sent to remote servers.
    pub user_agent: String,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            allow_private_addresses: false,
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            user_agent: concat!("upvault/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// Why the guard refused a URL. It travels inside reqwest's error as the source, so a caller can
/// find it with [`refusal_of`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The host is, or resolves only to, non-public addresses.
    NonPublicAddress,
    /// The scheme is not http or https (or the URL has no host).
    UnsupportedScheme,
    /// More than [`MAX_REDIRECTS`] redirects.
    TooManyRedirects,
}

impl Refusal {
    /// What went wrong, for the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NonPublicAddress => "the host resolves only to non-public addresses",
            Refusal::UnsupportedScheme => "only http and https URLs may be fetched",
            Refusal::TooManyRedirects => "too many redirects",
        }
    }

    /// A sentence for the user who scheduled the import.
    pub fn user_message(self) -> &'static str {
        match self {
            Refusal::NonPublicAddress => "The URL points to a non-public address.",
            Refusal::UnsupportedScheme => {
                "The URL redirected to an address that is not http:// or https://."
            }
            Refusal::TooManyRedirects => "The URL redirected too many times.",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Refusal {}

/// The guard's refusal somewhere in an error's source chain, if any.
pub fn refusal_of(err: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    let mut current = Some(err);
    while let Some(err) = current {
        if let Some(refusal) = err.downcast_ref::<Refusal>() {
            return Some(*refusal);
        }
        current = err.source();
    }
    None
}

/// Whether an address is on the public internet. Embedded IPv4 addresses (IPv4-mapped,
/// IPv4-compatible, NAT64, 6to4) are judged as the IPv4 address they reach.
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const NON_PUBLIC: &[([u8; 4], u32)] = &[
        ([0, 0, 0, 0], 8),       // "this network"
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // CGNAT shared space
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local (cloud metadata)
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // TEST-NET-1
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // TEST-NET-2
        ([203, 0, 113, 0], 24),  // TEST-NET-3
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, and 255.255.255.255 broadcast
    ];
    !NON_PUBLIC
        .iter()
        .any(|(net, prefix)| in_v4(ip, *net, *prefix))
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(net) & mask
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    let low_v4 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    // ::/96 (IPv4-compatible, with :: and ::1 inside it) and ::ffff:0:0/96 (IPv4-mapped).
    if bits >> 32 == 0 || bits >> 32 == 0xffff {
        return is_public_v4(low_v4);
    }
    // 64:ff9b::/96, well-known NAT64 prefix.
    if in_v6(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
        return is_public_v4(low_v4);
    }
    // 2002::/16, 6to4: the IPv4 address is in bits 16..48.
    if in_v6(ip, Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16) {
        return is_public_v4(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    // Only global unicast (2000::/3) is public; this leaves out ::/8 leftovers, 100::/64
    // discard, 64:ff9b:1::/48 local NAT64, fc00::/7 ULA, fe80::/10 link-local, fec0::/10
    // site-local, ff00::/8 multicast.
    if !in_v6(ip, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3) {
        return false;
    }
    const NON_PUBLIC: &[(Ipv6Addr, u32)] = &[
        (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 32), // Teredo (embeds a client IPv4)
        (Ipv6Addr::new(0x2001, 0x2, 0, 0, 0, 0, 0, 0), 48), // benchmarking
        (Ipv6Addr::new(0x2001, 0x10, 0, 0, 0, 0, 0, 0), 28), // ORCHID
        (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28), // ORCHIDv2
        (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
        (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation (RFC 9637)
    ];
    !NON_PUBLIC
        .iter()
        .any(|(net, prefix)| in_v6(ip, *net, *prefix))
}

/// Checks a URL before it is fetched: http(s) with a host, and, unless `allow_private`, an
/// IP-literal host must be public. Host names are checked when they are resolved.
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), Refusal> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::UnsupportedScheme);
    }
    let ip = match url.host() {
        None => return Err(Refusal::UnsupportedScheme),
        Some(Host::Domain(_)) => return Ok(()),
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
    };
    if allow_private || is_public_ip(ip) {
        Ok(())
    } else {
        Err(Refusal::NonPublicAddress)
    }
}

/// The decision on one redirect hop: the same rules as [`check_url`].
pub fn check_redirect(url: &Url, allow_private: bool) -> Result<(), Refusal> {
    check_url(url, allow_private)
}

/// The redirect policy: at most [`MAX_REDIRECTS`] hops, each passing [`check_redirect`].
pub fn redirect_policy(allow_private: bool) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` holds every URL requested so far, the first one included.
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(Refusal::TooManyRedirects);
        }
        match check_redirect(attempt.url(), allow_private) {
            Ok(()) => attempt.follow(),
            Err(refusal) => attempt.error(refusal),
        }
    })
}

/// A resolver that, unless `allow_private`, keeps only public addresses and fails when none
/// remain. reqwest dials only what it returns, on the first request and after every redirect.
#[derive(Debug, Clone, Copy)]
pub struct PublicOnlyResolver {
    /// Keep every address.
    pub allow_private: bool,
}

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(format!("no addresses found for {host}").into());
            }
            let kept: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| allow_private || is_public_ip(addr.ip()))
                .collect();
            if kept.is_empty() {
                return Err(Box::new(Refusal::NonPublicAddress) as _);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The guarded HTTP client: no proxies (a proxy would dial for us, unchecked), the resolver and
/// redirect policy above, and the timeouts of `config`.
pub fn build_client(config: &FetchConfig) -> anyhow::Result<reqwest::Client> {
    let allow_private = config.allow_private_addresses;
    let client = reqwest::Client::builder()
        .no_proxy()
        .dns_resolver(Arc::new(PublicOnlyResolver { allow_private }))
        .redirect(redirect_policy(allow_private))
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.idle_timeout)
        .user_agent(config.user_agent.clone())
        .build()?;
    Ok(client)
}

/// Why a guarded fetch did not get a response.
#[derive(Debug)]
pub enum FetchError {
    /// The guard refused the URL, a redirect or the resolved addresses.
    Refused(Refusal),
    /// The request failed otherwise.
    Http(reqwest::Error),
}

impl FetchError {
    fn from_reqwest(err: reqwest::Error) -> Self {
        match refusal_of(&err) {
            Some(refusal) => FetchError::Refused(refusal),
            None => FetchError::Http(err),
        }
    }

    /// A sentence for the user; never the internals.
    pub fn user_message(&self) -> &'static str {
        match self {
            FetchError::Refused(refusal) => refusal.user_message(),
            FetchError::Http(err) if err.is_timeout() => {
                "The remote server did not answer in time."
            }
            FetchError::Http(err) if err.is_connect() => "Could not connect to the remote server.",
            FetchError::Http(_) => "The download from the remote server failed.",
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Refused(refusal) => write!(f, "refused: {refusal}"),
            FetchError::Http(err) => write!(f, "{err}"),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Refused(refusal) => Some(refusal),
            FetchError::Http(err) => Some(err),
        }
    }
}

/// GETs `url` with a client from [`build_client`], checking the first URL's host literal first.
pub async fn guarded_get(
    client: &reqwest::Client,
    url: &Url,
    allow_private: bool,
) -> Result<reqwest::Response, FetchError> {
    check_url(url, allow_private).map_err(FetchError::Refused)?;
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(FetchError::from_reqwest)?;
    // reqwest hands back, unfollowed and without asking the policy, a redirect whose target it
    // cannot express as an http URI (`file:///etc/passwd`). Nothing was fetched from it, but the
    // user should hear why rather than "HTTP 302".
    if response.status().is_redirection() {
        let target = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|location| response.url().join(location).ok());
        if let Some(target) = target {
            if !matches!(target.scheme(), "http" | "https") {
                return Err(FetchError::Refused(Refusal::UnsupportedScheme));
            }
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        let cases: &[(&str, bool)] = &[
            // IPv4 non-public
            ("0.0.0.0", false),
            ("0.1.2.3", false),
            ("10.0.0.1", false),
            ("10.255.255.255", false),
            ("100.64.0.1", false),
            ("100.127.255.254", false),
            ("127.0.0.1", false),
            ("127.255.0.1", false),
            ("169.254.169.254", false),
            ("172.16.0.1", false),
            ("172.31.255.255", false),
            ("192.0.0.8", false),
            ("192.0.2.1", false),
            ("192.88.99.1", false),
            ("192.168.1.1", false),
            ("198.18.0.1", false),
            ("198.19.255.255", false),
            ("198.51.100.7", false),
            ("203.0.113.9", false),
            ("224.0.0.1", false),
            ("239.255.255.250", false),
            ("240.0.0.1", false),
            ("255.255.255.255", false),
            // IPv4 public, including the neighbours of the ranges
            ("8.8.8.8", true),
            ("1.1.1.1", true),
            ("100.63.255.255", true),
            ("100.128.0.0", true),
            ("172.15.255.255", true),
            ("172.32.0.0", true),
            ("192.0.1.1", true),
            ("198.17.255.255", true),
            ("198.20.0.0", true),
            ("223.255.255.255", true),
            // IPv6 non-public
            ("::", false),
            ("::1", false),
            ("fc00::1", false),
            ("fd12:3456::1", false),
            ("fe80::1", false),
            ("febf::1", false),
            ("fec0::1", false),
            ("ff02::1", false),
            ("2001:db8::1", false),
            ("3fff::1", false),
            ("100::1", false),
            ("2001::1", false),
            // embedded IPv4, non-public
            ("::ffff:127.0.0.1", false),
            ("::ffff:10.0.0.1", false),
            ("::ffff:169.254.169.254", false),
            ("::127.0.0.1", false),
            ("::10.0.0.1", false),
            ("64:ff9b::7f00:1", false),
            ("64:ff9b::a00:1", false),
            ("64:ff9b:1::1", false),
            ("2002:7f00:1::1", false),
            ("2002:c0a8:101::1", false),
            // IPv6 public
            ("2606:4700::1111", true),
            ("2a00:1450:4001:800::200e", true),
            ("::ffff:8.8.8.8", true),
            ("::8.8.8.8", true),
            ("64:ff9b::808:808", true),
            ("2002:808:808::1", true),
        ];
        for (text, public) in cases {
            let ip: IpAddr = text.parse().expect(text);
            assert_eq!(is_public_ip(ip), *public, "{text}");
        }
    }

    fn url(text: &str) -> Url {
        Url::parse(text).expect(text)
    }

    #[test]
    fn odd_ipv4_spellings_are_normalised_and_refused() {
        for text in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://017700000001/",
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:127.0.0.1]/",
            "https://169.254.169.254/latest/meta-data/",
            "http://0/",
        ] {
            assert_eq!(
                check_url(&url(text), false),
                Err(Refusal::NonPublicAddress),
                "{text}"
            );
            assert_eq!(check_url(&url(text), true), Ok(()), "{text}");
        }
        assert_eq!(
            url("http://2130706433/").host(),
            Some(Host::Ipv4(Ipv4Addr::LOCALHOST))
        );
    }

    #[test]
    fn redirect_decisions() {
        for (text, allow_private, expected) in [
            (
                "http://127.0.0.1:8080/",
                false,
                Err(Refusal::NonPublicAddress),
            ),
            ("http://[::1]/", false, Err(Refusal::NonPublicAddress)),
            ("http://10.1.2.3/", false, Err(Refusal::NonPublicAddress)),
            ("http://2130706433/", false, Err(Refusal::NonPublicAddress)),
            ("http://127.0.0.1:8080/", true, Ok(())),
            ("file:///etc/passwd", false, Err(Refusal::UnsupportedScheme)),
            ("file:///etc/passwd", true, Err(Refusal::UnsupportedScheme)),
            ("ftp://example.com/x", true, Err(Refusal::UnsupportedScheme)),
            (
                "gopher://example.com/",
                true,
                Err(Refusal::UnsupportedScheme),
            ),
            ("data:text/plain,hi", true, Err(Refusal::UnsupportedScheme)),
            ("https://8.8.8.8/", false, Ok(())),
            ("https://example.com/a", false, Ok(())),
            // host names are judged by the resolver when dialled
            ("http://localhost/", false, Ok(())),
        ] {
            assert_eq!(
                check_redirect(&url(text), allow_private),
                expected,
                "{text}"
            );
        }
    }

    #[test]
    fn finds_refusal_in_chain() {
        let wrapped = FetchError::Refused(Refusal::TooManyRedirects);
        assert_eq!(refusal_of(&wrapped), Some(Refusal::TooManyRedirects));
        let plain = std::io::Error::other("x");
        assert_eq!(refusal_of(&plain), None);
    }
}
