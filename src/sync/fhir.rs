//! The FHIR target (`[sync] format = "fhir"`): the events of one person become one FHIR R4
//! `transaction` Bundle of that person's current record, POSTed to the server's base URL.
//!
//! Why the current record and not the event: a FHIR server holds current state, not our event
//! log, and every entry is a conditional update, so sending the record again — a retry, or an
//! older event after a newer one went — changes nothing. The outbox's rules stay the native
//! contract's: the answers are sorted into the same [`Reply`] the batch endpoint gives, so
//! backoff, holds, pauses and dead letters work alike. A refusal's `OperationOutcome` is the
//! error the sync panel and `sync status` show.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::client::{HubClient, Item, RawAnswer, Reply};
use super::settings::SyncSettings;
use crate::fhir;
use crate::store::{OutboxEvent, Store};

pub const CONTENT_TYPE: &str = "application/fhir+json";

/// One person's transaction, and the batch positions of the events it carries.
pub struct PersonTransaction {
    pub events: Vec<usize>,
    /// The Bundle, or why none can be made (the person is not in the database).
    pub bundle: Result<String, String>,
}

/// Groups the batch by person, in the order each person first appears, and maps each person's
/// record as it stands now.
pub fn transactions(
    store: &Store,
    settings: &SyncSettings,
    batch: &[OutboxEvent],
) -> anyhow::Result<Vec<PersonTransaction>> {
    let mut order: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, event) in batch.iter().enumerate() {
        match order.iter_mut().find(|(p, _)| *p == event.person_id) {
            Some((_, events)) => events.push(i),
            None => order.push((&event.person_id, vec![i])),
        }
    }
    let options = fhir::Options {
        today: chrono::Local::now().date_naive(),
        rules: settings.rules.clone(),
        recipient: settings.fhir_recipient,
    };
    let mut out = Vec::with_capacity(order.len());
    for (person_id, events) in order {
        let bundle = match store.load_record(person_id)? {
            Some(record) => {
                let bundle = fhir::transaction(&fhir::person_resources(&record, &options));
                Ok(serde_json::to_string(&bundle)?)
            }
            None => Err("the person is not in the database any more".to_string()),
        };
        out.push(PersonTransaction { events, bundle });
    }
    Ok(out)
}

/// Posts the transactions one by one. A failure that is not about one person's data (no answer,
/// 401/403, 429, 5xx) on the first stops the pass as a whole-request failure; on a later one the
/// rest wait for the next pass (their events stay deferred), which meets the same failure first.
pub async fn post(
    client: &HubClient,
    url: &str,
    people: Vec<PersonTransaction>,
    events: usize,
    now: DateTime<Utc>,
) -> Reply {
    let mut items = vec![Item::Deferred; events];
    for (n, person) in people.into_iter().enumerate() {
        let mut set = |item: Item| {
            for &i in &person.events {
                if let Some(slot) = items.get_mut(i) {
                    *slot = item.clone();
                }
            }
        };
        let body = match person.bundle {
            Ok(body) => body,
            Err(why) => {
                set(Item::Rejected {
                    status: 422,
                    kind: "not-found".into(),
                    detail: why,
                });
                continue;
            }
        };
        let answer = match client.post_raw(url, CONTENT_TYPE, body, now).await {
            Ok(answer) => answer,
            Err(reply) if n == 0 => return reply,
            Err(_) => break,
        };
        match judge(&answer) {
            Verdict::Stored => set(Item::Stored),
            Verdict::Refused {
                status,
                kind,
                words,
            } => set(Item::Rejected {
                status,
                kind,
                detail: words,
            }),
            Verdict::Request { status, problem } if n == 0 => {
                return Reply::Status {
                    status,
                    retry_after: answer.retry_after,
                    problem,
                };
            }
            Verdict::Request { .. } => break,
        }
    }
    Reply::Items(items)
}

enum Verdict {
    Stored,
    /// About this person's data: dead-letters their events (409: retried shortly).
    Refused {
        status: u16,
        kind: String,
        words: String,
    },
    /// About the request as a whole: credentials, load, an unreadable answer.
    Request {
        status: u16,
        problem: String,
    },
}

fn judge(answer: &RawAnswer) -> Verdict {
    let status = answer.status;
    let parsed: Option<Value> = serde_json::from_slice(&answer.body).ok();
    if (200..300).contains(&status) {
        let is_response = parsed
            .as_ref()
            .is_some_and(|v| v["resourceType"] == "Bundle" && v["type"] == "transaction-response");
        return if is_response {
            Verdict::Stored
        } else {
            Verdict::Request {
                status: 502,
                problem: format!(
                    "{status}: the server's answer to a transaction is not a \
                     transaction-response Bundle (is the URL a FHIR server's base?)"
                ),
            }
        };
    }
    let (code, words) = parsed.as_ref().and_then(outcome_words).unwrap_or_else(|| {
        (
            "error".into(),
            "the answer holds no OperationOutcome".into(),
        )
    });
    match status {
        401 | 403 | 408 | 425 | 429 | 500..=599 => Verdict::Request {
            status,
            problem: format!("{status} OperationOutcome {code}: {words}"),
        },
        // A concurrent change at the server: the same transaction goes again shortly.
        409 => Verdict::Refused {
            status,
            kind: "in-flight".into(),
            words,
        },
        _ => Verdict::Refused {
            status,
            kind: code,
            words,
        },
    }
}

/// The first issue's code, and every issue as `severity code: diagnostics (at where)`.
pub fn outcome_words(outcome: &Value) -> Option<(String, String)> {
    if outcome["resourceType"] != "OperationOutcome" {
        return None;
    }
    let issues = outcome["issue"].as_array()?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let words: Vec<String> = issues
        .iter()
        .map(|i| {
            let mut w = format!("{} {}", text(&i["severity"]), text(&i["code"]));
            let detail = i["diagnostics"]
                .as_str()
                .or_else(|| i["details"]["text"].as_str())
                .unwrap_or_default();
            if !detail.is_empty() {
                w.push_str(": ");
                w.push_str(detail);
            }
            if let Some(at) = i["expression"].as_array().and_then(|e| e.first()) {
                w.push_str(&format!(" (at {})", text(at)));
            }
            w
        })
        .collect();
    let code = issues.first().map(|i| text(&i["code"])).unwrap_or_default();
    Some((code, words.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &Value) -> RawAnswer {
        RawAnswer {
            status,
            retry_after: None,
            body: body.to_string().into_bytes(),
        }
    }

    #[test]
    fn answers_sorted_like_the_native_contract() {
        let outcome = serde_json::json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "invalid",
                       "diagnostics": "Patient.birthDate: not a date",
                       "expression": ["Bundle.entry[3].resource.birthDate"]}],
        });
        match judge(&answer(422, &outcome)) {
            Verdict::Refused {
                status,
                kind,
                words,
            } => {
                assert_eq!((status, kind.as_str()), (422, "invalid"));
                assert_eq!(
                    words,
                    "error invalid: Patient.birthDate: not a date (at Bundle.entry[3].resource.birthDate)"
                );
            }
            _ => panic!("a 422 is about the data"),
        }
        assert!(matches!(
            judge(&answer(401, &outcome)),
            Verdict::Request { status: 401, ref problem } if problem.starts_with("401 OperationOutcome invalid")
        ));
        assert!(matches!(
            judge(&answer(503, &Value::Null)),
            Verdict::Request { status: 503, .. }
        ));
        assert!(matches!(
            judge(&answer(409, &outcome)),
            Verdict::Refused { ref kind, .. } if kind == "in-flight"
        ));
        let response =
            serde_json::json!({"resourceType": "Bundle", "type": "transaction-response"});
        assert!(matches!(judge(&answer(200, &response)), Verdict::Stored));
        // A 200 from something that is not a FHIR server is not a delivery.
        assert!(matches!(
            judge(&answer(200, &serde_json::json!({"ok": true}))),
            Verdict::Request { status: 502, .. }
        ));
    }
}
