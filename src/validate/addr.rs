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
}
