//! The walk for calendars and the date forms they brought: named
//! calendars, yearly days with offsets and Easter, whole months, days of
//! every month and week cadences. See `parse.rs` for the rest of the walk.

use super::ast::*;
use super::parse::{Failed, P, R, Walker, month, weekday};
use super::syntax::Rule;

impl Walker<'_> {
    fn internal(&mut self, p: &P<'_>, what: &str) -> Failed {
        let span = self.span(p);
        self.error(
            span,
            "internal",
            format!("internal error: bad {what}"),
            "here",
        )
    }

    pub(super) fn calendar_def(&mut self, p: P<'_>) -> R<CalendarDef> {
        let span = self.span(&p);
        let mut name = None;
        let mut description = None;
        let mut entries = Vec::new();
        let mut file = None;
        let mut failed = false;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_calendar | Rule::lbrace | Rule::rbrace => {}
                Rule::name => name = Some(self.spanned_str(&c)),
                Rule::string | Rule::unclosed_string => match self.text(c) {
                    Ok(t) => description = Some(t),
                    Err(Failed) => failed = true,
                },
                Rule::calendar_entry => match self.calendar_entry(c) {
                    Ok(e) => entries.push(e),
                    Err(Failed) => failed = true,
                },
                Rule::calendar_file => {
                    for x in c.into_inner() {
                        match x.as_rule() {
                            Rule::kw_from => {}
                            Rule::string | Rule::unclosed_string => match self.text(x) {
                                Ok(t) => file = Some(t),
                                Err(Failed) => failed = true,
                            },
                            _ => return Err(self.unexpected(&x)),
                        }
                    }
                }
                _ => return Err(self.unexpected(&c)),
            }
        }
        let name = name.ok_or(Failed)?;
        if failed {
            return Err(Failed);
        }
        Ok(CalendarDef {
            name,
            description,
            entries,
            file,
            span,
        })
    }

    fn calendar_entry(&mut self, p: P<'_>) -> R<CalendarEntry> {
        let span = self.span(&p);
        let mut entry = CalendarEntry {
            dates: Vec::new(),
            time: None,
            cadence: None,
            label: None,
            span,
        };
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::dated => {
                    if let When::Dated { dates, time } = self.dated(c)? {
                        entry.dates = dates;
                        entry.time = time;
                    }
                }
                Rule::cadence => entry.cadence = Some(self.cadence(c)?),
                Rule::string | Rule::unclosed_string => entry.label = Some(self.text(c)?),
                _ => return Err(self.unexpected(&c)),
            }
        }
        Ok(entry)
    }

    pub(super) fn cadence(&mut self, p: P<'_>) -> R<CadenceAst> {
        let span = self.span(&p);
        let mut weeks = None;
        let mut from = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_every | Rule::kw_weeks | Rule::kw_from => {}
                Rule::number => {
                    let s = self.span(&c);
                    weeks = Some(Spanned::new(self.number(&c)?, s));
                }
                Rule::date => from = Some(self.date(&c)?),
                _ => return Err(self.unexpected(&c)),
            }
        }
        match (weeks, from) {
            (Some(weeks), Some(from)) => Ok(CadenceAst { weeks, from, span }),
            _ => Err(self.error(
                span,
                "internal",
                "internal error: bad cadence".into(),
                "here",
            )),
        }
    }

    /// `dec 24`, `dec 24..jan 1` and `4th thu nov` keep their own AST
    /// forms; offsets, Easter and ranges with a weekday of a month are
    /// [`DateSpec::Anchored`].
    pub(super) fn yearly_range(&mut self, p: P<'_>) -> R<DateSpec> {
        let mut days = Vec::new();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::dotdot => {}
                Rule::yearly_day => days.push(self.yearly_day(c)?),
                _ => return Err(self.unexpected(&c)),
            }
        }
        let plain = |d: &YearlyDayAst| match d.base {
            YearlyBase::MonthDay(md) if d.offset == 0 => Some(md),
            _ => None,
        };
        Ok(match days.as_slice() {
            [one] => match (plain(one), one.base) {
                (Some(md), _) => DateSpec::Yearly { from: md, to: None },
                (
                    None,
                    YearlyBase::NthWeekday {
                        ordinal,
                        weekday,
                        month,
                    },
                ) if one.offset == 0 => DateSpec::NthWeekday {
                    ordinal,
                    weekday,
                    month,
                },
                _ => DateSpec::Anchored {
                    from: *one,
                    to: None,
                },
            },
            [a, b] => match (plain(a), plain(b)) {
                (Some(x), Some(y)) => DateSpec::Yearly {
                    from: x,
                    to: Some(y),
                },
                _ => DateSpec::Anchored {
                    from: *a,
                    to: Some(*b),
                },
            },
            _ => return Err(Failed),
        })
    }

    fn yearly_day(&mut self, p: P<'_>) -> R<YearlyDayAst> {
        let span = self.span(&p);
        let mut base = None;
        let mut offset = 0;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::easter => {
                    let orthodox = c.into_inner().any(|x| x.as_rule() == Rule::kw_orthodox);
                    base = Some(if orthodox {
                        YearlyBase::OrthodoxEaster
                    } else {
                        YearlyBase::Easter
                    });
                }
                Rule::month_day => base = Some(YearlyBase::MonthDay(self.month_day(c)?)),
                Rule::nth_weekday => base = Some(self.nth_weekday(c)?),
                Rule::day_offset => {
                    let s = c.as_str().trim_end_matches('d');
                    offset = s.parse().map_err(|_| self.internal(&c, "day offset"))?;
                }
                _ => return Err(self.unexpected(&c)),
            }
        }
        Ok(YearlyDayAst {
            base: base.ok_or(Failed)?,
            offset,
            span,
        })
    }

    fn nth_weekday(&mut self, p: P<'_>) -> R<YearlyBase> {
        let mut ordinal = None;
        let mut wd = None;
        let mut month_no = None;
        let whole = p.clone();
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::ordinal => ordinal = Some(parse_ordinal(x.as_str())),
                Rule::day => wd = weekday(x.as_str()),
                Rule::month => month_no = month(x.as_str()),
                _ => return Err(self.unexpected(&x)),
            }
        }
        match (ordinal, wd, month_no) {
            (Some(ordinal), Some(weekday), Some(month)) => Ok(YearlyBase::NthWeekday {
                ordinal,
                weekday,
                month,
            }),
            _ => Err(self.internal(&whole, "weekday of month")),
        }
    }

    pub(super) fn month_range(&mut self, p: P<'_>) -> R<DateSpec> {
        let whole = p.clone();
        let ms: Vec<u32> = p
            .into_inner()
            .filter(|x| x.as_rule() == Rule::month)
            .filter_map(|x| month(x.as_str()))
            .collect();
        match ms.as_slice() {
            [one] => Ok(DateSpec::Months {
                from: *one,
                to: None,
            }),
            [a, b] => Ok(DateSpec::Months {
                from: *a,
                to: Some(*b),
            }),
            _ => Err(self.internal(&whole, "month range")),
        }
    }

    pub(super) fn monthly(&mut self, p: P<'_>) -> R<DateSpec> {
        let whole = p.clone();
        let mut points = Vec::new();
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::dotdot | Rule::kw_every | Rule::kw_month => {}
                Rule::month_point => points.push(self.month_point(c)?),
                _ => return Err(self.unexpected(&c)),
            }
        }
        match points.as_slice() {
            [one] => Ok(DateSpec::Monthly {
                from: *one,
                to: None,
            }),
            [a, b] => Ok(DateSpec::Monthly {
                from: *a,
                to: Some(*b),
            }),
            _ => Err(self.internal(&whole, "monthly day")),
        }
    }

    fn month_point(&mut self, p: P<'_>) -> R<MonthPointAst> {
        let whole = p.clone();
        let mut ordinal = None;
        let mut point = None;
        for c in p.into_inner() {
            match c.as_rule() {
                Rule::kw_day => {}
                Rule::day_of_month => {
                    let s = self.span(&c);
                    point = Some(MonthPointAst::Day(Spanned::new(self.number(&c)?, s)));
                }
                Rule::ordinal => ordinal = Some(parse_ordinal(c.as_str())),
                Rule::kw_weekday => point = ordinal.map(MonthPointAst::Weekday),
                Rule::day => {
                    point = match (ordinal, weekday(c.as_str())) {
                        (Some(o), Some(w)) => Some(MonthPointAst::Nth(o, w)),
                        _ => None,
                    }
                }
                _ => return Err(self.unexpected(&c)),
            }
        }
        // `1st day` is day 1 and `last day` the last; other `Nth day`s are
        // day N.
        let span = self.span(&whole);
        match (ordinal, point) {
            (_, Some(p)) => Ok(p),
            (Some(Ordinal::Last), None) => Ok(MonthPointAst::LastDay),
            (Some(Ordinal::Nth(n)), None) => {
                Ok(MonthPointAst::Day(Spanned::new(u32::from(n), span)))
            }
            (None, None) => Err(self.internal(&whole, "day of every month")),
        }
    }
}

pub(super) fn parse_ordinal(s: &str) -> Ordinal {
    match s {
        "last" => Ordinal::Last,
        s => Ordinal::Nth(s.as_bytes().first().map_or(1, |b| b - b'0')),
    }
}
