//! `roster`: people who left the roster feed, and confirming how they left.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::{DepartureKind, RosterAction, RosterArgs};
use crate::clock::SystemClock;
use crate::domain::NameFormat;
use crate::store::Departure;

use super::{Context, actor, db_or_config, open_store, open_to_read};

pub fn run(ctx: &Context, args: &RosterArgs) -> anyhow::Result<ExitCode> {
    let path = db_or_config(ctx, args.db.as_ref())?;
    let clock = std::sync::Arc::new(SystemClock);
    let out = &mut std::io::stdout().lock();
    match &args.action {
        RosterAction::Left => {
            let left = open_to_read(ctx, &path, clock)?.roster_left()?;
            if left.is_empty() {
                writeln!(out, "nobody has left the roster unconfirmed")?;
            } else {
                writeln!(
                    out,
                    "left the roster — released or transferred? ({})",
                    left.len()
                )?;
                for l in &left {
                    writeln!(
                        out,
                        "  {:<14} {:<24} {:<12} expected {}",
                        l.booking_id,
                        l.name.formatted(NameFormat::LastInitial),
                        l.unit,
                        l.release_date
                            .map_or_else(|| "unknown".to_string(), |d| d.to_string()),
                    )?;
                }
            }
        }
        RosterAction::Confirm {
            booking,
            how,
            on,
            reason,
            destination,
            destination_text,
        } => {
            let mut store = open_store(ctx, &path, clock.clone())?;
            let actor = actor(&store)?;
            let departure = match how {
                DepartureKind::Released => Departure::Released,
                DepartureKind::Transferred => Departure::Transferred {
                    destination_kind: destination.clone(),
                    destination_text: destination_text.clone(),
                },
            };
            let on = on.unwrap_or_else(|| crate::clock::Clock::today(&*clock));
            store.confirm_departure(&actor, booking, &departure, on, reason)?;
            let how = match how {
                DepartureKind::Released => "released",
                DepartureKind::Transferred => "transferred",
            };
            writeln!(out, "{booking}: {how} on {on}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
