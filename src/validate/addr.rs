//! Host names, IP addresses and CIDR ranges.

use ipnet::IpNet;
use std::net::IpAddr;

/// Whether `host` is an IP address or a DNS host name. Something that looks
/// like an IPv4 address (digits and dots only) must be a valid one.
pub fn valid_host(host: &str) -> bool {
    if host.parse::<IpAddr>().is_ok() {
        return true;
    }
    if host.contains(':') || host.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return false;
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// An `allowed_ips` entry: an address (as a /32 or /128) or a CIDR range.
pub fn parse_allowed(entry: &str) -> Option<IpNet> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(IpNet::from(ip));
    }
    entry.parse::<IpNet>().ok()
}

/// The form two spellings of one host share: an IP address in its
/// canonical form (`2001:DB8:0::1` -> `2001:db8::1`, `::ffff:192.0.2.11` ->
/// `192.0.2.11`), a host name in lowercase without a final dot.
pub fn canonical_host(host: &str) -> String {
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.to_canonical().to_string(),
        Err(_) => host.trim_end_matches('.').to_ascii_lowercase(),
    }
}

/// Why an IP address cannot be a node's host, if it cannot.
pub fn unusable_host(host: &str) -> Option<&'static str> {
    let ip = host.parse::<IpAddr>().ok()?.to_canonical();
    if ip.is_unspecified() {
        return Some("the unspecified address, which names no host");
    }
    if ip.is_loopback() {
        return Some("a loopback address: every node would reach itself there, not its peers");
    }
    if ip.is_multicast() {
        return Some("a multicast address, which names a group, not a host");
    }
    match ip {
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the broadcast address, which names no single host"),
        _ => None,
    }
}

/// Whether an `allowed_ips` range lets in every address of its family
/// (`0.0.0.0/0`, `::/0`).
pub fn is_everyone(net: &IpNet) -> bool {
    net.prefix_len() == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        for ok in ["10.0.0.1", "2001:db8::1", "db1.example.internal", "h1", "a-b"] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in [
            "10.0.0.300",
            "10.0.0",
            "2001:db8:::1",
            "",
            "-a",
            "a..b",
            "a_b",
            "ex ample",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
    }

    #[test]
    fn allowed() {
        assert_eq!(
            parse_allowed("203.0.113.7").map(|n| n.to_string()),
            Some("203.0.113.7/32".into())
        );
        assert_eq!(
            parse_allowed("2001:db8::/48").map(|n| n.to_string()),
            Some("2001:db8::/48".into())
        );
        assert!(parse_allowed("10.0.0.0/33").is_none());
        assert!(parse_allowed("10.0.0.256").is_none());
        assert!(parse_allowed("example.com").is_none());
    }

    #[test]
    fn spellings_of_one_host_share_a_canonical_form() {
        assert_eq!(canonical_host("2001:DB8:0::1"), canonical_host("2001:db8::1"));
        assert_eq!(canonical_host("::ffff:192.0.2.11"), "192.0.2.11");
        assert_eq!(canonical_host("DB1.Example."), "db1.example");
        assert_ne!(canonical_host("10.0.0.1"), canonical_host("10.0.0.2"));
    }

    #[test]
    fn addresses_that_name_no_node() {
        for bad in [
            "0.0.0.0",
            "::",
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
            "ff02::1",
            "255.255.255.255",
        ] {
            assert!(unusable_host(bad).is_some(), "{bad}");
        }
        for ok in ["10.0.0.1", "192.0.2.11", "2001:db8::1", "db1.example"] {
            assert_eq!(unusable_host(ok), None, "{ok}");
        }
    }

    #[test]
    fn open_to_everyone() {
        for all in ["0.0.0.0/0", "::/0"] {
            assert!(parse_allowed(all).is_some_and(|n| is_everyone(&n)), "{all}");
        }
        assert!(!parse_allowed("0.0.0.0/1").is_some_and(|n| is_everyone(&n)));
        assert!(!parse_allowed("0.0.0.0").is_some_and(|n| is_everyone(&n)));
    }
}
