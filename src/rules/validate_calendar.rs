//! Validation of named calendars and of the date forms that came with
//! them (offsets, Easter, whole months, days of every month, cadences).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;

use super::ast::{self, Spanned, Verb, When};
use super::calendar::{self, Cadence, MonthPoint, YearlyBase, YearlyDay};
use super::model::{Calendar, Clause, DateMatch, DayMatch, IcsCalendar, Minutes};
use super::suggest::{closest, known_list};
use super::validate::Validator;
use super::{ics, source};

/// The largest day offset: a year either way.
const MAX_OFFSET: i32 = 366;

impl Validator<'_> {
    pub(super) fn calendar(&mut self, file: usize, def: &ast::CalendarDef) -> Option<Calendar> {
        if let Some(path) = &def.file {
            // A calendar whose file is broken still exists (empty), so the
            // windows using it report nothing more.
            let ics = self.ics_file(file, path).unwrap_or_else(|| IcsCalendar {
                file: path.node.clone(),
                events: Vec::new(),
            });
            return Some(Calendar {
                name: def.name.node.clone(),
                description: def
                    .description
                    .as_ref()
                    .map(|d| d.node.clone())
                    .unwrap_or_default(),
                entries: Vec::new(),
                file: Some(Arc::new(ics)),
                origin: self.origin(file, def.span),
            });
        }
        let before = self.errors.len();
        let mut entries = Vec::with_capacity(def.entries.len());
        for e in &def.entries {
            // An entry is a `closed` clause of dates; `open calendar` flips it.
            let clause = ast::Clause {
                verb: Verb::Closed,
                when: When::Dated {
                    dates: e.dates.clone(),
                    time: e.time,
                },
                cadence: e.cadence,
                label: e.label.clone(),
                span: e.span,
            };
            if let Some(mut c) = self.clause(file, &clause) {
                c.calendar = Some(def.name.node.clone());
                entries.push(c);
            }
        }
        if self.errors.len() > before {
            return None;
        }
        Some(Calendar {
            name: def.name.node.clone(),
            description: def
                .description
                .as_ref()
                .map(|d| d.node.clone())
                .unwrap_or_default(),
            entries,
            file: None,
            origin: self.origin(file, def.span),
        })
    }

    /// `from "holidays.ics"`: the file (read with the rules, see
    /// [`source::read_sources`]) and its events.
    fn ics_file(&mut self, file: usize, path: &Spanned<String>) -> Option<IcsCalendar> {
        let name = match source::ics_name(&self.sources[file].name, &path.node) {
            Ok(n) => n,
            Err(help) => {
                let d = self.push(
                    file,
                    path.span,
                    "bad-calendar-file",
                    format!("`{}` cannot be a calendar file", path.node),
                    "not a file next to the rules",
                );
                d.help = Some(help);
                return None;
            }
        };
        let Some(index) = self.sources.iter().position(|s| s.name == name) else {
            let d = self.push(
                file,
                path.span,
                "missing-calendar-file",
                format!("cannot read the calendar file `{name}`"),
                "no such file",
            );
            d.help =
                Some("put the `.ics` file in the same directory as this rules file".to_owned());
            return None;
        };
        match ics::read(&self.sources[index].text) {
            Ok(events) => Some(IcsCalendar {
                file: name,
                events: events
                    .into_iter()
                    .map(|e| {
                        let origin = self.origin(index, e.span);
                        (e, origin)
                    })
                    .collect(),
            }),
            Err(p) => {
                let d = self.push(index, p.span, "bad-calendar-file", p.message, p.label);
                d.help = Some(p.help);
                None
            }
        }
    }

    /// `open calendar NAME` / `closed calendar NAME`: one clause per entry,
    /// each keeping its own line and label (the clause's label where the
    /// entry has none).
    pub(super) fn calendar_clauses(
        &mut self,
        file: usize,
        c: &ast::Clause,
        name: &Spanned<String>,
        tz: Tz,
    ) -> Option<Vec<Clause>> {
        let Some(cal) = self.calendars.get(&name.node).map(Arc::clone) else {
            let known: Vec<&str> = self.calendars.keys().map(String::as_str).collect();
            let help = match closest(&name.node, known.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if known.is_empty() => {
                    "define it at the top level: `calendar NAME { dec 25 \"Christmas\" }`"
                        .to_owned()
                }
                None => format!("calendars defined: {}", known_list(&known)),
            };
            let d = self.push(
                file,
                name.span,
                "unknown-calendar",
                format!("unknown calendar `{}`", name.node),
                "no calendar of this name",
            );
            d.help = Some(help);
            return None;
        };
        let cadence = match &c.cadence {
            Some(k) => Some(self.cadence(file, k)?),
            None => None,
        };
        let label = c.label.as_ref().map(|l| l.node.clone());
        if let Some(ics) = &cal.file {
            let made = self
                .ics_clauses
                .entry((cal.name.clone(), tz))
                .or_insert_with(|| ics_clauses(ics, &cal.name, tz).into())
                .clone();
            return Some(
                made.iter()
                    .map(|e| Clause {
                        open: c.verb == Verb::Open,
                        cadence,
                        ..e.clone()
                    })
                    .collect(),
            );
        }
        Some(
            cal.entries
                .iter()
                .map(|e| Clause {
                    open: c.verb == Verb::Open,
                    cadence: e.cadence.or(cadence),
                    label: e.label.clone().or_else(|| label.clone()),
                    ..e.clone()
                })
                .collect(),
        )
    }

    pub(super) fn cadence(&mut self, file: usize, k: &ast::CadenceAst) -> Option<Cadence> {
        let from = self.date(file, k.from);
        if !(2..=52).contains(&k.weeks.node) {
            let d = self.push(
                file,
                k.weeks.span,
                "bad-cadence",
                format!("`every {} weeks` is not a cadence", k.weeks.node),
                "from 2 to 52",
            );
            d.help = Some("write a number of weeks from 2 to 52, like `every 2 weeks`".to_owned());
            return None;
        }
        Some(Cadence {
            weeks: k.weeks.node,
            monday: calendar::monday_of(from?),
        })
    }

    fn yearly_day(&mut self, file: usize, d: &ast::YearlyDayAst) -> Option<YearlyDay> {
        let base = match d.base {
            ast::YearlyBase::MonthDay(md) => {
                let (m, day) = self.month_day(file, md)?;
                YearlyBase::MonthDay(m, day)
            }
            ast::YearlyBase::NthWeekday {
                ordinal,
                weekday,
                month,
            } => YearlyBase::NthWeekday {
                nth: nth(ordinal),
                weekday,
                month,
            },
            ast::YearlyBase::Easter => YearlyBase::Easter,
            ast::YearlyBase::OrthodoxEaster => YearlyBase::OrthodoxEaster,
        };
        if d.offset.abs() > MAX_OFFSET {
            let d = self.push(
                file,
                d.span,
                "bad-offset",
                format!("a day offset of {} days is more than a year", d.offset),
                "too far",
            );
            d.help = Some(format!("offsets go up to {MAX_OFFSET} days either way"));
            return None;
        }
        Some(YearlyDay {
            base,
            offset: d.offset,
        })
    }

    fn month_point(&mut self, file: usize, p: &ast::MonthPointAst) -> Option<MonthPoint> {
        Some(match *p {
            ast::MonthPointAst::Day(n) => {
                if !(1..=31).contains(&n.node) {
                    let d = self.push(
                        file,
                        n.span,
                        "impossible-date",
                        format!("no month has a day {}", n.node),
                        "no such day",
                    );
                    d.help = Some("write a day from 1 to 31, or `last day every month`".to_owned());
                    return None;
                }
                MonthPoint::Day(n.node)
            }
            ast::MonthPointAst::LastDay => MonthPoint::LastDay,
            ast::MonthPointAst::Nth(o, wd) => MonthPoint::Nth(nth(o), wd),
            ast::MonthPointAst::Weekday(o) => MonthPoint::Workday(nth(o)),
        })
    }

    /// The date forms of [`ast::DateSpec`] that `date_spec` hands over.
    pub(super) fn calendar_date_spec(
        &mut self,
        file: usize,
        d: &Spanned<ast::DateSpec>,
    ) -> Option<DateMatch> {
        match &d.node {
            ast::DateSpec::Anchored { from, to } => {
                let a = self.yearly_day(file, from);
                let b = match to {
                    Some(t) => self.yearly_day(file, t),
                    None => a,
                };
                Some(DateMatch::Anchored { from: a?, to: b? })
            }
            ast::DateSpec::Months { from, to } => {
                let to = to.unwrap_or(*from);
                Some(DateMatch::Yearly {
                    from: (*from, 1),
                    to: (to, 31),
                })
            }
            ast::DateSpec::Monthly { from, to } => {
                let a = self.month_point(file, from);
                let b = match to {
                    Some(t) => self.month_point(file, t),
                    None => a,
                };
                Some(DateMatch::Monthly { from: a?, to: b? })
            }
            ast::DateSpec::Range { .. }
            | ast::DateSpec::Yearly { .. }
            | ast::DateSpec::NthWeekday { .. } => self.date_spec(file, d),
        }
    }
}

fn nth(o: ast::Ordinal) -> i8 {
    match o {
        ast::Ordinal::Nth(n) => i8::try_from(n).unwrap_or(1),
        ast::Ordinal::Last => -1,
    }
}

/// The clauses of an iCalendar file's events in a window's time zone: for
/// each event, one clause for its whole days and one for each time of day
/// it covers part of a day at, each with its days as sorted ranges.
fn ics_clauses(ics: &IcsCalendar, calendar: &str, tz: Tz) -> Vec<Clause> {
    let mut out = Vec::new();
    for (event, origin) in &ics.events {
        let mut whole: Vec<NaiveDate> = Vec::new();
        let mut parts: BTreeMap<(u16, u16), Vec<NaiveDate>> = BTreeMap::new();
        for (start, end) in &event.occurrences {
            ics::day_pieces(
                start.local(tz),
                end.local(tz),
                |d| whole.push(d),
                |d, from, to| parts.entry((from, to)).or_default().push(d),
            );
        }
        let clause = |days: Vec<NaiveDate>, time: Option<Minutes>| Clause {
            open: false,
            days: DayMatch::Dates(vec![DateMatch::Days(ranges(days).into())]),
            time,
            cadence: None,
            label: Some(event.summary.clone()),
            calendar: Some(calendar.to_owned()),
            origin: origin.clone(),
        };
        if !whole.is_empty() {
            out.push(clause(whole, None));
        }
        for ((start, end), days) in parts {
            out.push(clause(days, Some(Minutes { start, end })));
        }
    }
    out
}

/// Days as inclusive ranges, sorted, consecutive days joined.
fn ranges(mut days: Vec<NaiveDate>) -> Vec<(NaiveDate, NaiveDate)> {
    days.sort_unstable();
    days.dedup();
    let mut out: Vec<(NaiveDate, NaiveDate)> = Vec::new();
    for d in days {
        match out.last_mut() {
            Some((_, to)) if to.succ_opt() == Some(d) => *to = d,
            _ => out.push((d, d)),
        }
    }
    out
}
