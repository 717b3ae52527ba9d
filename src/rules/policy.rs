//! The team's process settings the engine follows: daily RCs, manager
//! choice, urgent notice, reminders, exception lifetime and permissions.
//! Set in the rules language (`policy { ... }`); defaults follow the seed
//! release process.

use std::collections::BTreeMap;

use chrono::TimeDelta;
use chrono_tz::Tz;

use crate::command::Action;

#[derive(Debug, Clone, PartialEq)]
pub struct DailyPolicy {
    /// Minutes after local midnight, in `Policy::timezone`.
    pub at_minute: u16,
    /// Bit n set for weekday n (Monday = 0).
    pub days: u8,
    /// Cut only when there are new merged changes.
    pub only_with_changes: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RemindPolicy {
    /// First reminder this long after the RC is cut.
    pub first: TimeDelta,
    /// Then again this often.
    pub every: TimeDelta,
    /// Tell the manager when a change is still unverified this long after
    /// the cut.
    pub escalate_after: TimeDelta,
    /// Remind people only inside their working hours (their time zone).
    pub working_hours_only: bool,
    /// Working hours: weekday mask and minutes `[start, end)`.
    pub working_days: u8,
    pub working_start: u16,
    pub working_end: u16,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// The zone of the daily RC time.
    pub timezone: Tz,
    pub daily: Option<DailyPolicy>,
    /// Daily RCs prefer managers whose zone has this zone's UTC offset.
    pub prefer_timezone: Option<Tz>,
    /// Not the same daily manager twice in a row when anyone else qualifies.
    pub avoid_repeat: bool,
    pub urgent_notice: TimeDelta,
    pub remind: RemindPolicy,
    pub exception_lasts: TimeDelta,
    /// Roles allowed to take each action (`allow release to lead`); an
    /// action not listed is open to everyone.
    pub allow: BTreeMap<Action, Vec<String>>,
    /// The window releases to production follow (`gate release WINDOW`);
    /// `None` when written `gate release off`.
    pub release_gate: Option<String>,
    /// The window RC cuts follow (`gate cut WINDOW`); `None` (the default,
    /// or `gate cut off`) cuts at any time.
    pub cut_gate: Option<String>,
    /// Whether `gate release` was written (here or in the policy this one
    /// is merged over), rather than taken from the default.
    pub release_gate_written: bool,
}

impl Policy {
    /// The window a gate follows, `None` when the gate is off.
    pub fn gate(&self, kind: super::ast::GateKind) -> Option<&str> {
        match kind {
            super::ast::GateKind::Release => self.release_gate.as_deref(),
            super::ast::GateKind::Cut => self.cut_gate.as_deref(),
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            timezone: chrono_tz::America::New_York,
            daily: Some(DailyPolicy {
                at_minute: 7 * 60,
                days: 0b111_1111,
                only_with_changes: true,
            }),
            prefer_timezone: Some(chrono_tz::America::New_York),
            avoid_repeat: true,
            urgent_notice: TimeDelta::minutes(15),
            remind: RemindPolicy {
                first: TimeDelta::hours(1),
                every: TimeDelta::hours(4),
                escalate_after: TimeDelta::hours(24),
                working_hours_only: true,
                working_days: 0b001_1111,
                working_start: 9 * 60,
                working_end: 17 * 60,
            },
            exception_lasts: TimeDelta::hours(2),
            allow: BTreeMap::new(),
            release_gate: Some("production".to_owned()),
            cut_gate: None,
            release_gate_written: false,
        }
    }
}
