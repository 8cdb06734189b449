//! The address of the client behind a request: the connection's peer, or — only when the peer is
//! a trusted proxy (`NEXUS_TRUSTED_PROXIES`) — the address that proxy saw, from `X-Forwarded-For`.
//! Rate limits, brute-force protection, API-key allowlists and usage records all use this one
//! answer, so a client cannot pick its own address by sending the header itself.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::state::AppState;

pub fn client_ip(req: &HttpRequest, state: &AppState) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>();
    Some(resolve(peer, &forwarded, &state.trusted_proxies))
}

/// Walks `X-Forwarded-For` from the right (the hop nearest to us) past trusted proxies; the first
/// address not trusted is the client. A malformed entry stops the walk at the last good hop: what
/// lies to its left was written by someone we cannot vouch for.
fn resolve(peer: IpAddr, forwarded: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if !is_trusted(&client) {
        return client;
    }
    let hops = forwarded
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else { break };
        client = ip;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = ["10.0.0.0/8".parse().expect("a range")];
        assert_eq!(resolve(ip("203.0.113.9"), &["1.2.3.4"], &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn a_trusted_proxy_chain_is_walked_from_the_right() {
        let trusted = ["10.0.0.0/8".parse().expect("a range")];
        let forwarded = ["6.6.6.6, 198.51.100.7", "10.1.1.1"];
        assert_eq!(resolve(ip("10.0.0.2"), &forwarded, &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn a_malformed_hop_stops_the_walk() {
        let trusted = ["10.0.0.0/8".parse().expect("a range")];
        assert_eq!(resolve(ip("10.0.0.2"), &["1.2.3.4, junk"], &trusted), ip("10.0.0.2"));
        assert_eq!(resolve(ip("10.0.0.2"), &[], &trusted), ip("10.0.0.2"));
    }
}
