//! Rules for fleet.toml.

use crate::diag::Diagnostic;
use crate::load::doc::Doc;
use crate::model::Fleet;

pub fn check(fleet: &Fleet, doc: &Doc) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let file = doc.file.as_str();
    let err = |ptr: &str, field: &str, msg: String, label: &str| {
        Diagnostic::error(file, msg)
            .field(field)
            .at(doc.value_span(ptr))
            .label(label)
    };
    if let Err((why, label)) = positive_duration(&fleet.ssh.connect_timeout) {
        out.push(
            err("/ssh/connect_timeout", "ssh.connect_timeout", why, label)
                .help("write a duration such as \"10s\", \"500ms\" or \"1m\""),
        );
    }
    for (key, path) in [
        ("identity", &fleet.ssh.identity),
        ("known_hosts", &fleet.ssh.known_hosts),
    ] {
        if !(path.starts_with('/') || path.starts_with("~/")) {
            out.push(
                err(
                    &format!("/ssh/{key}"),
                    &format!("ssh.{key}"),
                    format!("`{path}` is a relative path"),
                    "relative path",
                )
                .help("use an absolute path or one starting with ~/; keys never live in the repository"),
            );
        }
    }
    if let Some(notify) = &fleet.notify {
        if let Some(url) = &notify.webhook {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                out.push(
                    err(
                        "/notify/webhook",
                        "notify.webhook",
                        format!("`{url}` is not an http(s) URL"),
                        "not a URL",
                    )
                    .help("write a URL such as \"https://hooks.example.internal/dbfleet\""),
                );
            }
        }
        if let Some(email) = &notify.email {
            if !(email.smtp.starts_with("smtp://") || email.smtp.starts_with("smtps://")) {
                out.push(
                    err(
                        "/notify/email/smtp",
                        "notify.email.smtp",
                        format!("`{}` is not an SMTP URL", email.smtp),
                        "not an SMTP URL",
                    )
                    .help("write smtp://host:port (STARTTLS) or smtps://host:port (TLS)"),
                );
            }
            let addrs = std::iter::once(("/notify/email/from".to_string(), &email.from)).chain(
                email
                    .to
                    .iter()
                    .enumerate()
                    .map(|(i, a)| (format!("/notify/email/to/{i}"), a)),
            );
            for (ptr, a) in addrs {
                if !a.contains('@') || a.starts_with('@') || a.ends_with('@') {
                    let field = crate::load::doc::field_path(&ptr);
                    out.push(err(
                        &ptr,
                        &field,
                        format!("`{a}` is not an email address"),
                        "not an email address",
                    ));
                }
            }
        }
    }
    if let Some(dns) = &fleet.dns {
        let ok = dns
            .server
            .rsplit_once(':')
            .is_some_and(|(h, p)| p.parse::<u16>().is_ok() && super::valid_host(h.trim_matches(['[', ']'])));
        if !ok {
            out.push(
                err(
                    "/dns/server",
                    "dns.server",
                    format!("`{}` is not host:port", dns.server),
                    "not host:port",
                )
                .help("write the DNS server as address:port, e.g. \"10.0.0.53:53\""),
            );
        }
        if !dns.zone.ends_with('.') {
            out.push(
                err(
                    "/dns/zone",
                    "dns.zone",
                    format!("zone `{}` is not fully qualified", dns.zone),
                    "missing the final dot",
                )
                .help(format!("write \"{}.\"", dns.zone)),
            );
        }
    }
    out
}

/// A duration that must be longer than zero (a timeout of 0 would give up
/// before trying): the message and label when it is not.
pub fn positive_duration(text: &str) -> Result<std::time::Duration, (String, &'static str)> {
    match humantime::parse_duration(text) {
        Err(_) => Err((format!("`{text}` is not a duration"), "not a duration")),
        Ok(d) if d.is_zero() => Err((
            format!("`{text}` is zero: the timeout must be longer than 0"),
            "must be > 0",
        )),
        Ok(d) => Ok(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_must_be_positive() {
        assert_eq!(
            positive_duration("10s").ok(),
            Some(std::time::Duration::from_secs(10))
        );
        for zero in ["0s", "0ms", "0"] {
            let (why, label) = positive_duration(zero).expect_err(zero);
            assert_eq!(label, "must be > 0", "{zero}");
            assert!(why.contains("longer than 0"), "{why}");
        }
        assert_eq!(positive_duration("soon").map_err(|e| e.1), Err("not a duration"));
    }
}
