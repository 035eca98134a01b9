//! Failures grouped by cause: a reason as a dead letter or a dead row
//! records it ("failed 5 attempts; last error: handler charge-card: HTTP 503
//! Service Unavailable: order 42 is locked") said without what changes from
//! one message to the next — the handler, the code (SQLSTATE, HTTP status,
//! exit status) and the message with ids and numbers masked — so a
//! thousand dead letters of one outage are one line. The commands read the
//! letters or rows, group them here (pure functions), print the groups, and
//! act on one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::output::{self, Column};

/// A reason without its particulars: the key of its group.
pub fn normalize(reason: &str) -> String {
    let mut rest = reason.trim();
    // "failed 5 attempts; last error: …": the count differs, the cause not.
    if let Some((_, last)) = rest.split_once("; last error: ") {
        rest = last;
    }
    let mut out = String::new();
    // The handler's name stays as it is: it is the cause's address.
    if let Some(after) = rest.strip_prefix("handler ")
        && let Some((name, message)) = after.split_once(": ")
    {
        out.push_str(&format!("handler {name}: "));
        rest = message;
    }
    out.push_str(&mask(rest));
    out
}

/// Words that carry a code which names the cause: kept as they are.
const CODES: &[&str] = &["SQLSTATE", "HTTP", "exited", "status"];

/// `text` with every id, number and quoted value masked, except the codes
/// that follow [`CODES`].
fn mask(text: &str) -> String {
    let mut out = Vec::new();
    let mut keep_next = false;
    for word in text.split_whitespace() {
        if keep_next {
            out.push(word.to_string());
            keep_next = false;
            continue;
        }
        keep_next = CODES.contains(&word);
        out.push(mask_word(word));
    }
    out.join(" ")
}

/// A word with its ids and numbers masked: a UUID becomes `<id>`, a run of
/// digits `#`, a long hex run `<hex>`; the punctuation around stays.
fn mask_word(word: &str) -> String {
    let core = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '_');
    if core.is_empty() {
        return word.to_string();
    }
    let masked = if uuid::Uuid::parse_str(core).is_ok() {
        "<id>".to_string()
    } else if core.len() >= 12 && core.chars().all(|c| c.is_ascii_hexdigit()) {
        "<hex>".to_string()
    } else {
        let mut m = String::new();
        let mut in_digits = false;
        for c in core.chars() {
            if c.is_ascii_digit() {
                if !in_digits {
                    m.push('#');
                }
                in_digits = true;
            } else {
                m.push(c);
                in_digits = false;
            }
        }
        m
    };
    word.replacen(core, &masked, 1)
}

/// The short, stable name of a group: the first 8 hex digits of the
/// SHA-256 of its normalized reason.
pub fn key(normalized: &str) -> String {
    hex::encode(&Sha256::digest(normalized.as_bytes())[..4])
}

/// One failure to group: what it failed with, where it is, when, and how
/// an operator names it.
#[derive(Debug, Clone)]
pub struct Failure {
    pub reason: String,
    /// The queue (of a dead letter) or the topic (of a dead row).
    pub place: String,
    pub at: Option<DateTime<Utc>>,
    pub id: String,
}

/// Failures of one cause.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// 1 for the largest group; what `--reason N` takes.
    pub group: usize,
    /// Stable across runs; `--reason` takes it too.
    pub key: String,
    pub reason: String,
    pub count: usize,
    /// Queues (or topics) the failures are in, in order of first sight.
    pub places: Vec<String>,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// One failure of the group, to look at.
    pub example: String,
    /// Every failure's id, in the order given.
    #[serde(skip)]
    pub ids: Vec<String>,
}

/// Group failures by cause: the largest group first (then the one seen
/// first, then by key), numbered from 1.
pub fn group(failures: &[Failure]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for f in failures {
        let reason = normalize(&f.reason);
        let n = *index.entry(reason.clone()).or_insert_with(|| {
            groups.push(Group {
                group: 0,
                key: key(&reason),
                reason,
                count: 0,
                places: Vec::new(),
                first_seen: None,
                last_seen: None,
                example: f.id.clone(),
                ids: Vec::new(),
            });
            groups.len() - 1
        });
        let g = &mut groups[n];
        g.count += 1;
        g.ids.push(f.id.clone());
        if !g.places.contains(&f.place) {
            g.places.push(f.place.clone());
        }
        if let Some(at) = f.at {
            g.first_seen = Some(g.first_seen.map_or(at, |t| t.min(at)));
            g.last_seen = Some(g.last_seen.map_or(at, |t| t.max(at)));
        }
    }
    groups.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.first_seen.cmp(&b.first_seen))
            .then(a.key.cmp(&b.key))
    });
    for (n, g) in groups.iter_mut().enumerate() {
        g.group = n + 1;
    }
    groups
}

/// The group `wanted` names — its number in the listing, or its key —
/// or why there is none.
pub fn pick<'a>(groups: &'a [Group], wanted: &str) -> Result<&'a Group, String> {
    let by_key = groups.iter().find(|g| g.key == wanted);
    let by_number = wanted
        .parse::<usize>()
        .ok()
        .and_then(|n| groups.iter().find(|g| g.group == n));
    by_key.or(by_number).ok_or_else(|| {
        if groups.is_empty() {
            "there are no failures to group".to_string()
        } else {
            format!(
                "there is no group {wanted:?}: the groups are 1 to {} (or their keys) — `--by \
                 reason` lists them",
                groups.len()
            )
        }
    })
}

/// Groups as a table that fits the terminal: the reason gets what is left.
/// `places` heads the column of queues (or topics).
pub fn print(groups: &[Group], places: &'static str, wide: bool) -> std::io::Result<()> {
    let now = Utc::now();
    let seen = |t: Option<DateTime<Utc>>| t.map_or("-".into(), |t| output::age(now - t) + " ago");
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.group.to_string(),
                g.count.to_string(),
                g.places.join(", "),
                seen(g.first_seen),
                seen(g.last_seen),
                g.key.clone(),
                g.example.clone(),
                g.reason.clone(),
            ]
        })
        .collect();
    output::fitted(
        &[
            Column::fixed("#"),
            Column::fixed("count"),
            Column::flex(places, 12),
            Column::fixed("first"),
            Column::fixed("last"),
            Column::optional("key"),
            Column::optional("example"),
            Column::flex("reason", 24),
        ],
        &rows,
        wide,
        "--wide shows every column in full, -o json every field",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_keeps_its_handler_and_code_and_masks_the_particulars() {
        assert_eq!(
            normalize(
                "failed 5 attempts; last error: handler charge-card: HTTP 503 Service \
                 Unavailable: order 42 is locked"
            ),
            "handler charge-card: HTTP 503 Service Unavailable: order # is locked"
        );
        assert_eq!(
            normalize(
                "handler apply: SQLSTATE 23505: duplicate key value violates unique constraint \
                 \"orders_pkey\": Key (id)=(1234) already exists"
            ),
            "handler apply: SQLSTATE 23505: duplicate key value violates unique constraint \
             \"orders_pkey\": Key (id)=(#) already exists"
        );
        assert_eq!(
            normalize(
                "handler job: /usr/local/bin/on-order exited 3: no template for 7f3c2a9e-0c1d-4e5f-8a9b-0123456789ab"
            ),
            "handler job: /usr/local/bin/on-order exited 3: no template for <id>"
        );
        // The same cause, other particulars: one group.
        assert_eq!(
            normalize("failed 3 attempts; last error: handler h: HTTP 500: order 7 failed"),
            normalize("failed 5 attempts; last error: handler h: HTTP 500: order 19 failed")
        );
        // Another code or handler: another group.
        assert_ne!(
            normalize("handler h: HTTP 500: x"),
            normalize("handler h: HTTP 502: x")
        );
        assert_ne!(
            normalize("handler a: HTTP 500: x"),
            normalize("handler b: HTTP 500: x")
        );
    }

    #[test]
    fn groups_are_counted_placed_dated_and_numbered_largest_first() {
        let at = |s: i64| Some(DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap());
        let f = |reason: &str, place: &str, s: i64, id: &str| Failure {
            reason: reason.into(),
            place: place.into(),
            at: at(s),
            id: id.into(),
        };
        let failures = [
            f("handler a: HTTP 503: order 1", "billing", 10, "m1"),
            f(
                "handler b: SQLSTATE 22012: division by zero",
                "stock",
                5,
                "m2",
            ),
            f("handler a: HTTP 503: order 2", "shipping", 20, "m3"),
            f("handler a: HTTP 503: order 3", "billing", 1, "m4"),
        ];
        let groups = group(&failures);
        assert_eq!(groups.len(), 2);
        let g = &groups[0];
        assert_eq!((g.group, g.count), (1, 3));
        assert_eq!(g.places, ["billing", "shipping"]);
        assert_eq!((g.first_seen, g.last_seen), (at(1), at(20)));
        assert_eq!(g.example, "m1");
        assert_eq!(g.ids, ["m1", "m3", "m4"]);
        assert_eq!(groups[1].ids, ["m2"]);
        assert_eq!(pick(&groups, "2").unwrap().ids, ["m2"]);
        assert_eq!(pick(&groups, &groups[1].key).unwrap().ids, ["m2"]);
        assert!(pick(&groups, "3").unwrap_err().contains("1 to 2"));
    }
}
