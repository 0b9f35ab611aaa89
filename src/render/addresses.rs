//! What the nodes' host names resolved to. Names are looked up at the edge
//! (plan and apply, through [`crate::resolve`]) before anything is
//! rendered; rendering only reads this map: the firewall and pg_hba.conf let
//! the cluster's own nodes in by address.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Host name -> its addresses, or why the lookup failed. A host written as
/// an address stands for itself and is never in the map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addresses {
    names: BTreeMap<String, Result<Vec<IpAddr>, String>>,
    missing: Missing,
}

/// What a host name that was not looked up, or whose lookup failed, gives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Missing {
    /// An error: the rules would leave the node out (plan, apply).
    #[default]
    Refuse,
    /// No address: rendering only checks the templates (validate), or
    /// stands for a state already there (the base of `plan --base`).
    Skip,
}

/// A host name without addresses to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub host: String,
    /// The resolver's reason.
    pub reason: String,
}

impl fmt::Display for Unresolved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host name `{}` does not resolve: {}", self.host, self.reason)
    }
}

impl Addresses {
    /// The result of looking up each name.
    pub fn resolved(names: BTreeMap<String, Result<Vec<IpAddr>, String>>) -> Addresses {
        Addresses {
            names,
            missing: Missing::Refuse,
        }
    }

    /// Nothing looked up: host names render without addresses (validate
    /// checks the templates, never the network).
    pub fn unresolved() -> Addresses {
        Addresses {
            names: BTreeMap::new(),
            missing: Missing::Skip,
        }
    }

    /// The same lookups, with the names that failed rendering without
    /// addresses (a state simulated as applied).
    pub fn lenient(&self) -> Addresses {
        Addresses {
            missing: Missing::Skip,
            ..self.clone()
        }
    }

    /// The addresses of `host`: itself when it is an address, else what the
    /// name resolved to.
    ///
    /// Errors: a name whose lookup failed, or that was not looked up.
    pub fn of(&self, host: &str) -> Result<Vec<IpAddr>, Unresolved> {
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let failed = |reason: &str| Unresolved {
            host: host.to_string(),
            reason: reason.to_string(),
        };
        match (self.names.get(host), self.missing) {
            (Some(Ok(addrs)), _) => Ok(addrs.clone()),
            (_, Missing::Skip) => Ok(Vec::new()),
            (Some(Err(reason)), Missing::Refuse) => Err(failed(reason)),
            (None, Missing::Refuse) => Err(failed("it was not looked up")),
        }
    }

    /// What the host name `host` resolved to, for showing beside it; none
    /// for an address or a name without addresses.
    pub fn shown(&self, host: &str) -> Vec<IpAddr> {
        match self.names.get(host) {
            Some(Ok(addrs)) => addrs.clone(),
            _ => Vec::new(),
        }
    }

    /// The first of `hosts` without addresses, unless names may go without.
    pub fn first_unresolved<'h>(&self, mut hosts: impl Iterator<Item = &'h str>) -> Option<Unresolved> {
        hosts.find_map(|h| self.of(h).err())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses_stand_for_themselves_and_names_for_what_they_resolved_to() {
        let a = Addresses::resolved(BTreeMap::from([
            (
                "db1.example.internal".to_string(),
                Ok(vec![ip("10.0.0.11"), ip("fd00::11")]),
            ),
            ("db2.invalid".to_string(), Err("no such host".to_string())),
        ]));
        assert_eq!(a.of("10.0.0.12"), Ok(vec![ip("10.0.0.12")]));
        assert_eq!(
            a.of("db1.example.internal"),
            Ok(vec![ip("10.0.0.11"), ip("fd00::11")])
        );
        assert_eq!(
            a.of("db2.invalid").unwrap_err().to_string(),
            "host name `db2.invalid` does not resolve: no such host"
        );
        assert_eq!(
            a.of("db3.example.internal").unwrap_err().reason,
            "it was not looked up"
        );
        assert_eq!(a.shown("10.0.0.12"), Vec::<IpAddr>::new());
        assert_eq!(a.shown("db1.example.internal").len(), 2);
        assert_eq!(
            a.first_unresolved(["10.0.0.12", "db1.example.internal", "db2.invalid"].into_iter())
                .map(|u| u.host),
            Some("db2.invalid".to_string())
        );
        let lenient = a.lenient();
        assert_eq!(lenient.of("db2.invalid"), Ok(Vec::new()));
        assert_eq!(lenient.of("db1.example.internal").unwrap().len(), 2);
        assert_eq!(Addresses::unresolved().of("db1.example.internal"), Ok(Vec::new()));
    }
}
