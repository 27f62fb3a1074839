//! The board as computed for one day: everyone in custody with their readiness, soonest release
//! first, unknown dates after every known one, then by name and booking number.

use std::cmp::Ordering;

use chrono::NaiveDate;

use super::{CustodyStatus, PersonRecord, Readiness, Rules, readiness};

/// One person on the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardRow {
    pub record: PersonRecord,
    pub readiness: Readiness,
}

/// Below this many people a second thread costs more than it saves.
const PARALLEL_FROM: usize = 2_000;

/// Everyone still in custody (including people who left the roster feed and await confirmation),
/// with readiness for `today`, soonest release first.
pub fn build(records: Vec<PersonRecord>, today: NaiveDate, rules: &Rules) -> Vec<BoardRow> {
    let mut records: Vec<PersonRecord> = records
        .into_iter()
        .filter(|r| {
            matches!(
                r.person.custody,
                CustodyStatus::InCustody | CustodyStatus::LeftRoster
            )
        })
        .collect();
    // The store loads in this order already, so this is one pass that finds nothing to move.
    if !records.is_sorted_by(|a, b| board_order(a, b) != Ordering::Greater) {
        // Stable, as equal people keep their order; indices, since a record is large to move.
        let mut order: Vec<usize> = (0..records.len()).collect();
        order.sort_by(|&a, &b| match (records.get(a), records.get(b)) {
            (Some(a), Some(b)) => board_order(a, b),
            _ => Ordering::Equal,
        });
        records = permuted(records, &order);
    }
    par_map(records, |record| {
        let readiness = readiness(&record, today, rules);
        BoardRow { record, readiness }
    })
}

/// The board's order: soonest release first, unknown dates last, then by name ignoring case (so
/// `GARCIA` and `Garcia` from different feeds sort together), then by booking number, which makes
/// the order total so equal names never swap places between reloads.
pub fn board_order(a: &PersonRecord, b: &PersonRecord) -> Ordering {
    let date = |r: &PersonRecord| (r.release.date.is_none(), r.release.date);
    date(a)
        .cmp(&date(b))
        .then_with(|| cmp_lowercase(&a.person.name.last, &b.person.name.last))
        .then_with(|| cmp_lowercase(&a.person.name.first, &b.person.name.first))
        .then_with(|| a.person.booking_id.cmp(&b.person.booking_id))
}

/// The indices of `items` in the order `cmp` gives.
pub fn sorted_order<T>(items: &[T], cmp: impl Fn(&T, &T) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_unstable_by(|&a, &b| match (items.get(a), items.get(b)) {
        (Some(a), Some(b)) => cmp(a, b),
        _ => Ordering::Equal,
    });
    order
}

/// `items` rearranged into `order` (a permutation of its indices), each moved once.
pub fn permuted<T>(items: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    order
        .iter()
        .filter_map(|&i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

/// `a.to_lowercase().cmp(&b.to_lowercase())`, without allocating for plain ASCII names.
fn cmp_lowercase(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.to_lowercase().cmp(&b.to_lowercase())
    }
}

/// `items.into_iter().map(f).collect()`, on two threads for a big board: the timeline of 100,000
/// people is most of the time to the first board, and each person's is independent.
pub fn par_map<T: Send, U: Send>(mut items: Vec<T>, f: impl Fn(T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < PARALLEL_FROM || threads < 2 {
        return items.into_iter().map(f).collect();
    }
    let second = items.split_off(items.len() / 2);
    let f = &f;
    std::thread::scope(|s| {
        let other = s.spawn(move || second.into_iter().map(f).collect::<Vec<U>>());
        let mut out: Vec<U> = items.into_iter().map(f).collect();
        match other.join() {
            Ok(rest) => out.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        out
    })
}

/// `items.iter().map(f).collect()`, split like [`par_map`].
pub fn par_map_ref<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if items.len() < PARALLEL_FROM || threads < 2 {
        return items.iter().map(f).collect();
    }
    let (first, second) = items.split_at(items.len() / 2);
    let f = &f;
    std::thread::scope(|s| {
        let other = s.spawn(move || second.iter().map(f).collect::<Vec<U>>());
        let mut out: Vec<U> = first.iter().map(f).collect();
        match other.join() {
            Ok(rest) => out.extend(rest),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercase_order_matches_allocating_lowercase() {
        let names = [
            "garcia",
            "GARCIA",
            "Garcia-Lopez",
            "García",
            "ÉLODIE",
            "élodie",
            "",
            "Z",
            "a",
        ];
        for a in names {
            for b in names {
                assert_eq!(
                    cmp_lowercase(a, b),
                    a.to_lowercase().cmp(&b.to_lowercase()),
                    "{a} vs {b}"
                );
            }
        }
    }

    #[test]
    fn sorted_order_then_permuted_sorts() {
        let items = vec!["c", "a", "b", "d"];
        let order = sorted_order(&items, |a, b| a.cmp(b));
        assert_eq!(order, [1, 2, 0, 3]);
        assert_eq!(permuted(items, &order), ["a", "b", "c", "d"]);
    }

    #[test]
    fn par_map_keeps_order() {
        let items: Vec<usize> = (0..5_000).collect();
        let doubled = par_map(items.clone(), |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(
            par_map_ref(&items, |i| i + 1),
            (1..5_001).collect::<Vec<_>>()
        );
    }
}
