//! The multi-agency release of information: scope, signed date, expiry, guardian signature and
//! 42 CFR Part 2 consent, saved together as the paper form has them.

use chrono::NaiveDate;

use super::form::{Field, Form, options, parse_date, pick, position};
use crate::domain::{Consent, ConsentScope, PersonRecord};
use crate::store::{CONSENT_AHEAD_DAYS, CONSENT_PAST_DAYS, Command, SetConsent};

/// Fields: 0 scope, 1 signed on, 2 expires on, 3 signed by parent/guardian, 4 Part 2 consent.
pub fn consent_form(record: &PersonRecord) -> Form {
    let c = &record.consent;
    let mut scopes = vec!["not signed".to_string()];
    scopes.extend(options(ConsentScope::all(), ConsentScope::label));
    let scope = c.scope.map_or(0, |s| position(ConsentScope::all(), &s) + 1);
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    let who = if record.person.youth {
        "Youth facility: a parent or guardian signs the consent."
    } else {
        "The person signs the consent; a guardian only if one is appointed."
    };
    Form::new(
        "Consent (release of information)",
        vec![
            Field::choice("Scope", scopes, scope),
            Field::text(
                "Signed on",
                date(c.signed_on),
                "YYYY-MM-DD, empty = not signed",
            ),
            Field::text(
                "Expires on",
                date(c.expires_on),
                "YYYY-MM-DD, empty = no expiry",
            ),
            Field::toggle("Parent/guardian signed", c.signed_by_guardian),
            Field::toggle("Part 2 (SUD) consent", c.part2),
        ],
    )
    .with_info(vec![
        who.to_string(),
        "Part 2: the person's written consent to share substance-use treatment records.".into(),
    ])
}

/// A date typed into field `i`, checked against the calendar and the plausible range.
pub(super) fn date_in_range(
    form: &mut Form,
    i: usize,
    today: NaiveDate,
    past_days: i64,
    ahead_days: i64,
) -> Option<NaiveDate> {
    match parse_date(form.text(i)) {
        Ok(Some(d)) if ahead_days == 0 && d > today => {
            form.set_error(i, format!("{d} is in the future"));
            None
        }
        Ok(Some(d)) if (d - today).num_days() > ahead_days => {
            form.set_error(i, format!("{d} is too far ahead; check the year"));
            None
        }
        Ok(Some(d)) if (today - d).num_days() > past_days => {
            form.set_error(i, format!("{d} is too long ago; check the year"));
            None
        }
        Ok(d) => d,
        Err(e) => {
            form.set_error(i, e);
            None
        }
    }
}

pub fn consent_submit(
    form: &mut Form,
    record: &PersonRecord,
    version: i64,
    today: NaiveDate,
) -> Option<Command> {
    let scope = pick(ConsentScope::all(), form.index(0), true);
    let signed_on = date_in_range(form, 1, today, CONSENT_PAST_DAYS, 0);
    let expires_on = date_in_range(form, 2, today, CONSENT_PAST_DAYS, CONSENT_AHEAD_DAYS);
    let (guardian, part2) = (form.on(3), form.on(4));
    let typed = |form: &Form, i: usize| !form.text(i).trim().is_empty();
    if let Some(signed) = signed_on {
        if scope.is_none() {
            form.set_error(0, "a signed consent says what it covers");
        }
        if let Some(expires) = expires_on.filter(|e| *e < signed) {
            form.set_error(2, format!("{expires} is before the signed date {signed}"));
        }
        if record.person.youth && !guardian {
            form.set_error(3, "a parent or guardian signs for a youth");
        }
    } else if !typed(form, 1) && (scope.is_some() || typed(form, 2) || guardian || part2) {
        form.set_error(
            1,
            "a consent with a scope, expiry, guardian or Part 2 needs its signed date",
        );
    }
    if form.has_errors() {
        return None;
    }
    Some(
        SetConsent {
            person_id: record.person.id.clone(),
            version,
            consent: Consent {
                scope,
                signed_on,
                expires_on,
                signed_by_guardian: guardian,
                part2,
            },
        }
        .into(),
    )
}
