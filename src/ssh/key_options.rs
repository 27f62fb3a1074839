//! The options before a key in `authorized_keys`, as OpenSSH writes them
//! (`name` or `name="value"`, comma-separated, `\"` inside quotes), and what `serve` makes of
//! each: `login=` names the board login, `from=` and `expiry-time=` are enforced, `restrict` and
//! the restrictions `serve` always applies are accepted, and anything else refuses the line —
//! an option the administrator relies on is never silently ignored.

use std::net::IpAddr;

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

/// Options that only restrict what `serve` never allows anyway.
const ALWAYS_IN_EFFECT: [&str; 5] = [
    "restrict",
    "no-port-forwarding",
    "no-agent-forwarding",
    "no-x11-forwarding",
    "no-user-rc",
];

/// What the options of one line say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyOptions {
    pub login: Option<String>,
    pub from: Option<FromPatterns>,
    pub expires: Option<DateTime<Utc>>,
}

impl KeyOptions {
    /// Parses the option text (everything before the key type). The error names the option.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut options = Self::default();
        for (name, value) in split_options(text)? {
            let lower = name.to_ascii_lowercase();
            match (lower.as_str(), value) {
                ("login", Some(value)) => set_once(&mut options.login, &name, value)?,
                ("from", Some(value)) => {
                    let patterns = FromPatterns::parse(&value)?;
                    set_once(&mut options.from, &name, patterns)?;
                }
                ("expiry-time", Some(value)) => {
                    let at = parse_expiry(&value)?;
                    set_once(&mut options.expires, &name, at)?;
                }
                ("login" | "from" | "expiry-time", None) => {
                    return Err(format!("option {name} needs a value: {name}=\"...\""));
                }
                (flag, None) if ALWAYS_IN_EFFECT.contains(&flag) => {}
                _ => {
                    return Err(format!(
                        "option {name} is not supported by reentry-board serve; the line is \
                         refused so it cannot work without it (accepted: login=, from=, \
                         expiry-time=, restrict, no-port-forwarding, no-agent-forwarding, \
                         no-X11-forwarding, no-user-rc)"
                    ));
                }
            }
        }
        Ok(options)
    }
}

fn set_once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("option {name} is given twice"));
    }
    *slot = Some(value);
    Ok(())
}

/// `a,b="x,y",c` -> `[(a, None), (b, Some("x,y")), (c, None)]`, with `\"` unescaped.
fn split_options(text: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c == ',' || c == '=' {
                break;
            }
            name.push(c);
            chars.next();
        }
        if name.is_empty() {
            return Err("an empty option (two commas in a row?)".into());
        }
        let value = if chars.peek() == Some(&'=') {
            chars.next();
            if chars.next() != Some('"') {
                return Err(format!("option {name}: the value must be in double quotes"));
            }
            let mut value = String::new();
            loop {
                match chars.next() {
                    None => return Err(format!("option {name}: missing closing quote")),
                    Some('"') => break,
                    Some('\\') if chars.peek() == Some(&'"') => {
                        chars.next();
                        value.push('"');
                    }
                    Some(c) => value.push(c),
                }
            }
            Some(value)
        } else {
            None
        };
        out.push((name, value));
        match chars.next() {
            None => return Ok(out),
            Some(',') => {}
            Some(c) => return Err(format!("unexpected {c:?} after an option")),
        }
    }
}

/// Splits a line into its options (if any) and the key text (type, base64, comment), skipping
/// quoted spaces as OpenSSH does: a line starting with a key type has no options.
pub fn split_line(line: &str) -> (&str, &str) {
    let first = line.split_whitespace().next().unwrap_or_default();
    if is_key_type(first) {
        return ("", line);
    }
    let mut quoted = false;
    let mut escaped = false;
    for (index, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => {
                return (&line[..index], line[index..].trim_start());
            }
            _ => {}
        }
    }
    (line, "")
}

fn is_key_type(word: &str) -> bool {
    word.starts_with("ssh-")
        || word.starts_with("ecdsa-sha2-")
        || word.starts_with("sk-")
        || word.starts_with("rsa-sha2-")
}

/// `from="..."`: OpenSSH's pattern list. Each entry is an address pattern with `*` and `?`, or a
/// CIDR block; `!` in front denies. A client is allowed when some entry matches and no denying
/// entry does. Names are not looked up, so a host-name pattern could never match and is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromPatterns {
    entries: Vec<FromEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FromEntry {
    negated: bool,
    pattern: AddrPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AddrPattern {
    Cidr { net: IpAddr, bits: u8 },
    Wildcard(String),
}

impl FromPatterns {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for raw in text.split(',') {
            let raw = raw.trim();
            let (negated, body) = match raw.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            if body.is_empty() {
                return Err(format!("from=\"{text}\": an empty pattern"));
            }
            let pattern = if let Some((addr, bits)) = body.split_once('/') {
                parse_cidr(addr, bits).map_err(|why| format!("from=: {body:?} {why}"))?
            } else if body
                .chars()
                .all(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '*' | '?'))
            {
                AddrPattern::Wildcard(body.to_ascii_lowercase())
            } else {
                return Err(format!(
                    "from=: {body:?} is a host name; serve does not look names up, so give \
                     addresses (wildcards * and ? allowed) or CIDR blocks such as 10.20.0.0/16"
                ));
            };
            entries.push(FromEntry { negated, pattern });
        }
        Ok(Self { entries })
    }

    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        let text = ip.to_string();
        let mut allowed = false;
        for entry in &self.entries {
            let hit = match &entry.pattern {
                AddrPattern::Cidr { net, bits } => in_block(ip, *net, *bits),
                AddrPattern::Wildcard(pattern) => wildcard(pattern.as_bytes(), text.as_bytes()),
            };
            if hit && entry.negated {
                return false;
            }
            allowed |= hit;
        }
        allowed
    }
}

fn parse_cidr(addr: &str, bits: &str) -> Result<AddrPattern, String> {
    let net: IpAddr = addr
        .parse()
        .map_err(|_| "is not an address/prefix-length block".to_string())?;
    let max = if net.is_ipv4() { 32 } else { 128 };
    let bits: u8 = bits
        .parse()
        .ok()
        .filter(|b| *b <= max)
        .ok_or_else(|| format!("has a prefix length that is not 0 to {max}"))?;
    if masked(net, bits) != net {
        return Err(format!(
            "has bits set after the first {bits}; did you mean {}/{bits}?",
            masked(net, bits)
        ));
    }
    Ok(AddrPattern::Cidr { net, bits })
}

fn masked(ip: IpAddr, bits: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    ip.is_ipv4() == net.is_ipv4() && masked(ip, bits) == net
}

/// `*` any run, `?` one character (OpenSSH's match_pattern).
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|skip| wildcard(rest, &text[skip..])),
        Some((b'?', rest)) => !text.is_empty() && wildcard(rest, &text[1..]),
        Some((c, rest)) => text.first() == Some(c) && wildcard(rest, &text[1..]),
    }
}

/// `expiry-time="YYYYMMDD[HHMM[SS]]"` in the server's local time, or UTC with a trailing `Z`.
fn parse_expiry(text: &str) -> Result<DateTime<Utc>, String> {
    let bad = || {
        format!(
            "expiry-time=\"{text}\" is not YYYYMMDD, YYYYMMDDHHMM or YYYYMMDDHHMMSS (local time; \
             Z at the end for UTC)"
        )
    };
    let (digits, utc) = match text.strip_suffix(['Z', 'z']) {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    if !digits.chars().all(|c| c.is_ascii_digit()) || ![8, 12, 14].contains(&digits.len()) {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        digits.get(range).and_then(|s| s.parse().ok())
    };
    let year = number(0..4).and_then(|y| i32::try_from(y).ok());
    let date = NaiveDate::from_ymd_opt(
        year.ok_or_else(bad)?,
        number(4..6).ok_or_else(bad)?,
        number(6..8).ok_or_else(bad)?,
    )
    .ok_or_else(bad)?;
    let time = NaiveTime::from_hms_opt(
        number(8..10).unwrap_or(0),
        number(10..12).unwrap_or(0),
        number(12..14).unwrap_or(0),
    )
    .ok_or_else(bad)?;
    let naive = NaiveDateTime::new(date, time);
    if utc {
        return Ok(naive.and_utc());
    }
    // A time skipped by a clock change has no local meaning; the earlier reading of an
    // ambiguous one expires the key sooner.
    Local
        .from_local_datetime(&naive)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
        .ok_or_else(|| format!("expiry-time=\"{text}\" does not exist in local time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn options_split_with_quotes_and_escapes() {
        let parsed = split_options(r#"login="bob",from="10.0.0.1,10.0.0.2",restrict"#).unwrap();
        assert_eq!(
            parsed,
            vec![
                ("login".into(), Some("bob".into())),
                ("from".into(), Some("10.0.0.1,10.0.0.2".into())),
                ("restrict".into(), None),
            ]
        );
        let escaped = split_options(r#"login="a\"b""#).unwrap();
        assert_eq!(escaped[0].1.as_deref(), Some("a\"b"));
        assert!(split_options(r#"login="open"#).is_err());
        assert!(split_options("a,,b").is_err());
    }

    #[test]
    fn lines_split_at_the_first_unquoted_space() {
        assert_eq!(
            split_line(r#"from="10.0.0.1, 10.0.0.2",login="x" ssh-ed25519 AAAA c"#),
            (
                r#"from="10.0.0.1, 10.0.0.2",login="x""#,
                "ssh-ed25519 AAAA c"
            )
        );
        assert_eq!(split_line("ssh-ed25519 AAAA c"), ("", "ssh-ed25519 AAAA c"));
    }

    #[test]
    fn unknown_and_repeated_options_refuse_with_the_name() {
        let err = KeyOptions::parse(r#"command="/bin/sh""#).unwrap_err();
        assert!(err.starts_with("option command is not supported"), "{err}");
        let err = KeyOptions::parse("no-pty").unwrap_err();
        assert!(err.contains("no-pty"), "{err}");
        let err = KeyOptions::parse(r#"login="a",login="b""#).unwrap_err();
        assert!(err.contains("given twice"), "{err}");
        let ok = KeyOptions::parse(r#"restrict,No-Port-Forwarding,login="a""#).unwrap();
        assert_eq!(ok.login.as_deref(), Some("a"));
    }

    #[test]
    fn from_patterns_match_like_openssh() {
        let p = FromPatterns::parse("10.20.0.0/16,192.168.1.*,!10.20.9.9").unwrap();
        assert!(p.allows(ip("10.20.3.4")));
        assert!(p.allows(ip("192.168.1.77")));
        assert!(p.allows(ip("::ffff:10.20.3.4")), "IPv4-mapped IPv6");
        assert!(!p.allows(ip("10.20.9.9")), "negated");
        assert!(!p.allows(ip("10.21.0.1")));
        assert!(!p.allows(ip("127.0.0.1")));
        let v6 = FromPatterns::parse("fd00::/8").unwrap();
        assert!(v6.allows(ip("fd12::1")) && !v6.allows(ip("10.0.0.1")));
        let one = FromPatterns::parse("127.0.0.?").unwrap();
        assert!(one.allows(ip("127.0.0.1")) && !one.allows(ip("127.0.0.10")));
        assert!(
            FromPatterns::parse("10.1.2.3/8")
                .unwrap_err()
                .contains("10.0.0.0/8")
        );
        assert!(FromPatterns::parse("10.0.0.0/33").is_err());
        assert!(
            FromPatterns::parse("*.jail.local")
                .unwrap_err()
                .contains("host name")
        );
        assert!(FromPatterns::parse("10.0.0.1,").is_err());
    }

    #[test]
    fn expiry_times_in_local_time_or_utc() {
        assert_eq!(
            parse_expiry("20260301123000Z").unwrap().to_rfc3339(),
            "2026-03-01T12:30:00+00:00"
        );
        assert_eq!(
            parse_expiry("20260301Z").unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        let local = parse_expiry("202603011230").unwrap();
        assert_eq!(
            local.with_timezone(&Local).format("%H:%M").to_string(),
            "12:30"
        );
        for bad in [
            "2026-03-01",
            "20260230",
            "2026030112",
            "20260301250000",
            "soon",
        ] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
    }
}
