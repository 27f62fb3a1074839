//! TLS failures in words an operator can act on, in one line: "the hub's certificate expired on
//! 2026-01-31", not rustls' debug text. Shared by the sender (the client side) and the hub.

use std::error::Error as StdError;

use rustls::{AlertDescription, CertificateError};

/// Which end of the connection we are: it decides whose certificate a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The sender: certificate problems are the hub's.
    Client,
    /// The hub: certificate problems are the client's.
    Server,
}

/// The rustls error somewhere in `error`'s chain, in words; `None` when TLS is not the cause.
pub fn describe(error: &(dyn StdError + 'static), side: Side) -> Option<String> {
    find_rustls(error).map(|e| words(e, side))
}

/// Walks the source chain; `io::Error` hides its inner error from `source()`, so it is opened too.
fn find_rustls<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(found) = find_rustls(inner)
        {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// One line for one rustls error.
pub fn words(error: &rustls::Error, side: Side) -> String {
    let whose = match side {
        Side::Client => "the hub's certificate",
        Side::Server => "the client's certificate",
    };
    match error {
        rustls::Error::InvalidCertificate(cert) => certificate_words(cert, whose, side),
        rustls::Error::NoCertificatesPresented => match side {
            Side::Client => "the hub sent no certificate".into(),
            Side::Server => "the client sent no certificate; this hub requires one signed by \
                             its client CA"
                .into(),
        },
        rustls::Error::AlertReceived(alert) => alert_words(*alert, side),
        rustls::Error::PeerIncompatible(why) => {
            format!("no TLS version or cipher in common with the other side ({why:?})")
        }
        rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => match side
        {
            Side::Client => "the hub did not answer in TLS (is it plain http, or another \
                                 service on that port?)"
                .into(),
            Side::Server => "the client did not speak TLS (plain http to an https port?)".into(),
        },
        other => format!("TLS error: {other}"),
    }
}

fn certificate_words(error: &CertificateError, whose: &str, side: Side) -> String {
    let day = |t: &rustls::pki_types::UnixTime| {
        chrono::DateTime::from_timestamp(i64::try_from(t.as_secs()).unwrap_or(i64::MAX), 0)
            .map_or_else(|| "?".to_string(), |d| d.format("%Y-%m-%d").to_string())
    };
    let ca_hint = match side {
        Side::Client => "; check ca_file (the county CA) in [sync]",
        Side::Server => "; it is not signed by the hub's client CA",
    };
    match error {
        CertificateError::Expired => format!("{whose} has expired"),
        CertificateError::ExpiredContext { not_after, .. } => {
            format!("{whose} expired on {}", day(not_after))
        }
        CertificateError::NotValidYet => format!("{whose} is not valid yet (check the clock)"),
        CertificateError::NotValidYetContext { not_before, .. } => {
            format!(
                "{whose} is valid only from {} (check the clock)",
                day(not_before)
            )
        }
        CertificateError::NotValidForName => format!("{whose} is not valid for this host name"),
        CertificateError::NotValidForNameContext {
            expected,
            presented,
        } => format!(
            "{whose} is not valid for {} (it names {})",
            expected.to_str(),
            if presented.is_empty() {
                "no host".to_string()
            } else {
                presented.join(", ")
            }
        ),
        CertificateError::UnknownIssuer => {
            format!("{whose} is signed by an unknown CA{ca_hint}")
        }
        CertificateError::BadSignature => format!("{whose} has a bad signature{ca_hint}"),
        CertificateError::Revoked => format!("{whose} has been revoked"),
        CertificateError::BadEncoding => format!("{whose} is malformed"),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            format!("{whose} is not made for this use (extended key usage)")
        }
        other => format!("{whose} was refused: {other}"),
    }
}

fn alert_words(alert: AlertDescription, side: Side) -> String {
    let other = match side {
        Side::Client => "the hub",
        Side::Server => "the client",
    };
    match (alert, side) {
        (AlertDescription::CertificateRequired, Side::Client) => {
            "the hub requires a client certificate; set client_cert and client_key in [sync]".into()
        }
        (AlertDescription::UnknownCA | AlertDescription::BadCertificate, Side::Client) => {
            "the hub refused our client certificate (not signed by a CA it trusts)".into()
        }
        (AlertDescription::CertificateExpired, Side::Client) => {
            "the hub refused our client certificate: it has expired".into()
        }
        (AlertDescription::UnknownCA, Side::Server) => {
            "the client does not trust the hub's certificate (unknown CA)".into()
        }
        (AlertDescription::CertificateExpired, Side::Server) => {
            "the client says the hub's certificate has expired".into()
        }
        (AlertDescription::BadCertificate, Side::Server) => {
            "the client refused the hub's certificate (wrong host name or untrusted CA)".into()
        }
        (alert, _) => format!("{other} ended the TLS handshake ({alert:?})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_problems_read_as_one_line() {
        let expired = rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: rustls::pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(
                1_800_000_000,
            )),
            not_after: rustls::pki_types::UnixTime::since_unix_epoch(
                std::time::Duration::from_secs(1_769_817_600),
            ),
        });
        assert_eq!(
            words(&expired, Side::Client),
            "the hub's certificate expired on 2026-01-31"
        );
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        assert!(words(&unknown, Side::Client).contains("unknown CA"));
        let none = rustls::Error::NoCertificatesPresented;
        assert!(words(&none, Side::Server).contains("sent no certificate"));
        let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, unknown);
        assert!(describe(&wrapped, Side::Client).is_some());
        assert!(describe(&std::io::Error::other("refused"), Side::Client).is_none());
        for text in [
            words(&expired, Side::Server),
            words(
                &rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
                Side::Client,
            ),
        ] {
            assert!(!text.contains('\n') && !text.contains("Context"), "{text}");
        }
    }
}
