//! From ASTs to a [`RuleSet`]: names resolved, times and dates checked, time
//! zones looked up, `test` blocks run. Every problem is collected; a rule set
//! is produced only when there are none.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{NaiveDate, NaiveTime, Offset};
use chrono_tz::Tz;

use super::ast::{self, DaySpec, Span, Spanned, Verb, When};
use super::diagnostic::Diagnostic;
use super::localtime::{format_offset, resolve_local, with_offset};
use super::model::*;
use super::parse::parse_file;
use super::source::{Source, line_col};
use super::suggest::{closest, known_list};

/// Parses, validates and tests `sources` as one rule set.
pub fn compile(sources: Vec<Source>) -> Result<RuleSet, Vec<Diagnostic>> {
    let (set, failures) = compile_keeping_failed_tests(sources)?;
    if failures.is_empty() {
        Ok(set)
    } else {
        Err(failures)
    }
}

/// [`compile`], but a rule set whose only problems are failing `test`
/// blocks is still returned, with the failures: `explain` and `calendar`
/// evaluate it, the tools one uses to find out why a test fails.
pub fn compile_keeping_failed_tests(
    sources: Vec<Source>,
) -> Result<(RuleSet, Vec<Diagnostic>), Vec<Diagnostic>> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for s in &sources {
        // Calendar files are read by the calendars that name them.
        if super::source::is_calendar_file_name(&s.name) {
            files.push(ast::File::default());
            continue;
        }
        match parse_file(s) {
            Ok(f) => files.push(f),
            Err(e) => errors.extend(e),
        }
    }
    if !errors.is_empty() {
        return Err(with_problems_of_the_rest(&sources, errors));
    }
    let mut v = Validator::new(&sources);
    let mut set = v.build(&files);
    if !v.errors.is_empty() {
        return Err(v.errors);
    }
    v.lint(&set);
    v.run_tests(&set);
    set.warnings = std::mem::take(&mut v.warnings);
    let failures = std::mem::take(&mut v.errors);
    set.sources = sources;
    Ok((set, failures))
}

/// Syntax errors, then the problems of the definitions that did parse: a
/// mistake in one definition does not hide those in the others. Problems
/// that may only come from a definition lost to a syntax error (a name
/// nothing defines, a missing release window) are left out, and `test`
/// blocks are not run.
fn with_problems_of_the_rest(sources: &[Source], mut errors: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let files: Vec<ast::File> = sources
        .iter()
        .map(|s| {
            if super::source::is_calendar_file_name(&s.name) {
                ast::File::default()
            } else {
                super::parse::parse_partial(s).0
            }
        })
        .collect();
    let mut v = Validator::new(sources);
    v.build(&files);
    let lost = [
        "unknown-window",
        "unknown-calendar",
        "unknown-product",
        "no-release-window",
        "test-failed",
        "internal",
    ];
    errors.extend(v.errors.into_iter().filter(|d| !lost.contains(&d.code)));
    let position = |d: &Diagnostic| {
        d.location
            .as_ref()
            .map(|l| (sources.iter().position(|s| s.name == l.file), l.span.start))
    };
    errors.sort_by_key(|d| position(d));
    errors
}

pub(super) struct Validator<'s> {
    pub(super) sources: &'s [Source],
    pub(super) errors: Vec<Diagnostic>,
    pub(super) warnings: Vec<Diagnostic>,
    /// First definition of each (kind, scope, name), for duplicate errors.
    /// A hash map: a big file defines thousands of names, and an ordered map
    /// spent more time comparing strings than the rest of validation. Only
    /// `window_help` reads it in order, and it sorts what it takes.
    seen: HashMap<(&'static str, String, String), (usize, Span)>,
    /// Named calendars, compiled before any window uses them.
    pub(super) calendars: std::collections::BTreeMap<String, Arc<Calendar>>,
    /// The clauses of a calendar file's events in a time zone, made once
    /// for all the windows in that zone (`closed`, no cadence).
    pub(super) ics_clauses: HashMap<(String, Tz), Arc<[Clause]>>,
    /// Byte offsets where each source's lines start, so finding the line of
    /// a definition does not rescan the file (a big file has thousands).
    line_starts: Vec<Vec<usize>>,
}

impl<'s> Validator<'s> {
    fn new(sources: &'s [Source]) -> Self {
        Validator {
            sources,
            errors: Vec::new(),
            warnings: Vec::new(),
            seen: HashMap::new(),
            calendars: std::collections::BTreeMap::new(),
            ics_clauses: HashMap::new(),
            line_starts: sources.iter().map(|s| line_starts(&s.text)).collect(),
        }
    }
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

/// A file's time zone, for policy defaults.
pub(super) struct ScopeTz {
    pub tz: Tz,
    pub explicit: bool,
}

/// The file and time zone a definition is read in.
#[derive(Clone, Copy)]
struct Scope<'a> {
    file: usize,
    tz: Tz,
    tz_source: TzSource,
    product: Option<&'a str>,
}

impl Validator<'_> {
    pub(super) fn push(
        &mut self,
        file: usize,
        span: Span,
        code: &'static str,
        msg: String,
        label: &str,
    ) -> &mut Diagnostic {
        let s = &self.sources[file];
        self.errors.push(Diagnostic::error(code, msg).in_file(
            &s.name,
            s.text.clone(),
            span,
            label,
        ));
        let last = self.errors.len() - 1;
        &mut self.errors[last]
    }

    pub(super) fn written(&self, file: usize, span: Span) -> &str {
        self.sources[file]
            .text
            .get(span.start..span.end)
            .unwrap_or("")
    }

    pub(super) fn origin(&self, file: usize, span: Span) -> Origin {
        let text = self.written(file, span);
        let first = text.lines().next().unwrap_or("").trim();
        Origin {
            file: self.sources[file].name.clone(),
            line: self.line_starts[file].partition_point(|&s| s <= span.start),
            text: first.to_owned(),
        }
    }

    /// Records a definition; reports a duplicate if the name is taken.
    pub(super) fn define(
        &mut self,
        kind: &'static str,
        scope: &str,
        file: usize,
        name: &Spanned<String>,
    ) -> bool {
        let key = (kind, scope.to_owned(), name.node.clone());
        if let Some(&(first_file, first_span)) = self.seen.get(&key) {
            let (line, col) = line_col(&self.sources[first_file].text, first_span.start);
            let first_at = format!("{}:{line}:{col}", self.sources[first_file].name);
            let where_ = if scope.is_empty() {
                String::new()
            } else {
                format!(" in product `{scope}`")
            };
            let d = self.push(
                file,
                name.span,
                "duplicate-name",
                format!("{kind} `{}` is defined twice{where_}", name.node),
                "defined again here",
            );
            if first_file == file {
                *d = d.clone().with_related(first_span, "first defined here");
            }
            d.help = Some(format!(
                "the first definition is at {first_at}; rename one or merge them"
            ));
            return false;
        }
        self.seen.insert(key, (file, name.span));
        true
    }

    pub(super) fn timezone(&mut self, file: usize, tz: &Spanned<String>) -> Option<Tz> {
        match tz.node.parse::<Tz>() {
            Ok(t) => Some(t),
            Err(_) => {
                let names = chrono_tz::TZ_VARIANTS.iter().map(|t| t.name());
                let help = closest(&tz.node, names).map_or_else(
                    || {
                        "use an IANA time zone name like `America/New_York` or `Europe/Berlin`"
                            .to_owned()
                    },
                    |s| format!("did you mean `{s}`?"),
                );
                let d = self.push(
                    file,
                    tz.span,
                    "unknown-timezone",
                    format!("unknown time zone `{}`", tz.node),
                    "not an IANA time zone name",
                );
                d.help = Some(help);
                None
            }
        }
    }

    /// The one time zone in a list of `timezone` settings; extras are errors.
    fn single_timezone(
        &mut self,
        file: usize,
        tzs: &[Spanned<String>],
        what: &str,
    ) -> Option<Option<Tz>> {
        if let Some(extra) = tzs.get(1) {
            let first = tzs[0].span;
            let d = self.push(
                file,
                extra.span,
                "duplicate-timezone",
                format!("{what} sets its time zone twice"),
                "second time zone",
            );
            *d = d.clone().with_related(first, "first time zone");
            d.help = Some("keep one `timezone` line".to_owned());
        }
        match tzs.first() {
            None => Some(None),
            Some(t) => self.timezone(file, t).map(Some),
        }
    }

    fn build(&mut self, files: &[ast::File]) -> RuleSet {
        let mut set = RuleSet::default();
        // Pass 0: named calendars, which any window may use.
        for (file, f) in files.iter().enumerate() {
            for item in &f.items {
                if let ast::Item::Calendar(c) = item
                    && self.define("calendar", "", file, &c.name)
                    && let Some(cal) = self.calendar(file, c)
                {
                    self.calendars.insert(cal.name.clone(), Arc::new(cal));
                }
            }
        }
        set.calendars = self.calendars.clone();
        // Pass 1: windows and products' windows, so exceptions and tests
        // can refer to windows defined anywhere.
        let mut file_scopes = Vec::new();
        for (file, f) in files.iter().enumerate() {
            let tzs: Vec<Spanned<String>> = f
                .items
                .iter()
                .filter_map(|i| match i {
                    ast::Item::Timezone(t) => Some(t.clone()),
                    _ => None,
                })
                .collect();
            let (tz, tz_source) = match self.single_timezone(file, &tzs, "this file") {
                Some(Some(tz)) => (tz, TzSource::File),
                _ => (Tz::UTC, TzSource::DefaultUtc),
            };
            let scope = Scope {
                file,
                tz,
                tz_source,
                product: None,
            };
            file_scopes.push(scope);
            for item in &f.items {
                if let ast::Item::Window(w) = item
                    && self.define("window", "", file, &w.name)
                    && let Some(w) = self.window(scope, w)
                {
                    set.windows.insert(w.name.clone(), Arc::new(w));
                }
            }
            for item in &f.items {
                if let ast::Item::Product(p) = item
                    && self.define("product", "", file, &p.name)
                {
                    let mut rules = ProductRules {
                        name: p.name.node.clone(),
                        ..ProductRules::default()
                    };
                    let pscope = match self.single_timezone(file, &p.timezones, "this product") {
                        Some(Some(tz)) => Scope {
                            file,
                            tz,
                            tz_source: TzSource::Product,
                            product: Some(&p.name.node),
                        },
                        _ => Scope {
                            product: Some(&p.name.node),
                            ..scope
                        },
                    };
                    for w in &p.windows {
                        if self.define("window", &p.name.node, file, &w.name)
                            && let Some(w) = self.window(pscope, w)
                        {
                            rules.windows.insert(w.name.clone(), Arc::new(w));
                        }
                    }
                    set.products.insert(p.name.node.clone(), rules);
                }
            }
        }
        // Pass 1b: policies, top level then per product.
        let tzs: Vec<ScopeTz> = file_scopes
            .iter()
            .map(|s| ScopeTz {
                tz: s.tz,
                explicit: s.tz_source != TzSource::DefaultUtc,
            })
            .collect();
        self.policies(files, &tzs, &mut set);
        // Pass 2: exceptions.
        for (file, f) in files.iter().enumerate() {
            for item in &f.items {
                match item {
                    ast::Item::Exception(e) => {
                        if self.define("exception", "", file, &e.name)
                            && let Some(x) = self.exception(file, e, &set, None)
                        {
                            set.exceptions.insert(x.name.clone(), Arc::new(x));
                        }
                    }
                    ast::Item::Product(p) => {
                        for e in &p.exceptions {
                            if self.define("exception", &p.name.node, file, &e.name)
                                && let Some(x) = self.exception(file, e, &set, Some(&p.name.node))
                                && let Some(rules) = set.products.get_mut(&p.name.node)
                            {
                                rules.exceptions.insert(x.name.clone(), Arc::new(x));
                            }
                        }
                    }
                    ast::Item::Timezone(_)
                    | ast::Item::Calendar(_)
                    | ast::Item::Window(_)
                    | ast::Item::Test(_)
                    | ast::Item::Policy(_) => {}
                }
            }
        }
        // Pass 3: tests.
        for (file, f) in files.iter().enumerate() {
            for item in &f.items {
                if let ast::Item::Test(t) = item {
                    self.define("test", "", file, &t.name);
                    set.tests.push(t.name.node.clone());
                    for e in &t.expects {
                        if let Some(x) = self.expectation(file, &t.name.node, e, &set) {
                            set.expectations.push(x);
                        }
                    }
                }
            }
        }
        set
    }

    fn window(&mut self, scope: Scope<'_>, def: &ast::WindowDef) -> Option<Window> {
        let (tz, tz_source) =
            match self.single_timezone(scope.file, &def.timezones, "this window")? {
                Some(tz) => (tz, TzSource::Window),
                None => (scope.tz, scope.tz_source),
            };
        let before = self.errors.len();
        let mut clauses: Vec<Clause> = Vec::with_capacity(def.clauses.len());
        for c in &def.clauses {
            match &c.when {
                When::Calendar(name) => {
                    clauses.extend(
                        self.calendar_clauses(scope.file, c, name, tz)
                            .unwrap_or_default(),
                    );
                }
                When::Always | When::Weekly { .. } | When::Dated { .. } => {
                    clauses.extend(self.clause(scope.file, c));
                }
            }
        }
        if self.errors.len() > before {
            return None;
        }
        let mut boundaries = vec![0u16];
        for c in &clauses {
            if let Some(t) = c.time {
                boundaries.push(t.start % 1440);
                boundaries.push(t.end % 1440);
            }
        }
        boundaries.sort_unstable();
        boundaries.dedup();
        Some(Window {
            name: def.name.node.clone(),
            product: scope.product.map(str::to_owned),
            tz,
            tz_source,
            clauses,
            boundaries,
            origin: self.origin(scope.file, def.span),
        })
    }

    pub(super) fn clause(&mut self, file: usize, c: &ast::Clause) -> Option<Clause> {
        let (days, time) = match &c.when {
            When::Always => (Some(DayMatch::Always), None),
            When::Weekly { days, time } => {
                let mut mask = 0u8;
                for d in days {
                    let this = day_mask(&d.node);
                    if mask & this != 0 {
                        self.repeated_day(file, c, d.span, mask & this);
                    }
                    mask |= this;
                }
                (Some(DayMatch::Weekdays(mask)), time.as_ref())
            }
            When::Dated { dates, time } => {
                let ms: Vec<Option<DateMatch>> =
                    dates.iter().map(|d| self.date_spec(file, d)).collect();
                let ms: Option<Vec<DateMatch>> = ms.into_iter().collect();
                (ms.map(DayMatch::Dates), time.as_ref())
            }
            // Expanded by `window` before it gets here.
            When::Calendar(_) => (None, None),
        };
        let cadence = match &c.cadence {
            Some(k) => Some(self.cadence(file, k)?),
            None => None,
        };
        let time = match time {
            Some(t) => Some(self.time_range(file, t)?),
            None => None,
        };
        Some(Clause {
            open: c.verb == Verb::Open,
            days: days?,
            time,
            cadence,
            label: c.label.as_ref().map(|l| l.node.clone()),
            calendar: None,
            origin: self.origin(file, c.span),
        })
    }

    pub(super) fn time_of_day(
        &mut self,
        file: usize,
        t: ast::TimeAst,
        is_end: bool,
    ) -> Option<u16> {
        let written = self.written(file, t.span).to_owned();
        if t.minute > 59 {
            let d = self.push(
                file,
                t.span,
                "impossible-time",
                format!("impossible time `{written}`: minutes run from 00 to 59"),
                "not a time of day",
            );
            d.help = Some(format!("did you mean `{:02}:00`?", (t.hour + 1).min(24)));
            return None;
        }
        if t.hour == 24 && t.minute == 0 {
            if is_end {
                return Some(1440);
            }
            let d = self.push(
                file,
                t.span,
                "impossible-time",
                "`24:00` can only end a time range".to_owned(),
                "a range cannot start here",
            );
            d.help = Some("start the range at `00:00`".to_owned());
            return None;
        }
        if t.hour > 23 {
            let d = self.push(
                file,
                t.span,
                "impossible-time",
                format!("impossible time `{written}`: hours run from 00 to 23"),
                "not a time of day",
            );
            d.help = Some(
                "`24:00` may end a range; a range past midnight is written like `22:00-02:00`"
                    .to_owned(),
            );
            return None;
        }
        u16::try_from(t.hour * 60 + t.minute).ok()
    }

    pub(super) fn time_range(&mut self, file: usize, r: &ast::TimeRangeAst) -> Option<Minutes> {
        let start = self.time_of_day(file, r.start, false);
        let end = self.time_of_day(file, r.end, true);
        let (start, end) = (start?, end?);
        if start == end || (start == 0 && end == 0) {
            let written = self.written(file, r.span).to_owned();
            let d = self.push(
                file,
                r.span,
                "empty-range",
                format!("empty time range `{written}`: it ends when it starts"),
                "covers no time",
            );
            d.help = Some("for a whole day leave the time out or write `00:00-24:00`".to_owned());
            return None;
        }
        Some(Minutes { start, end })
    }

    pub(super) fn date(&mut self, file: usize, d: ast::DateAst) -> Option<NaiveDate> {
        if let Some(x) = d.to_date() {
            return Some(x);
        }
        let written = self.written(file, d.span).to_owned();
        let why = if !(1..=12).contains(&d.month) {
            format!("there is no month {}", d.month)
        } else {
            format!(
                "{} {} has {} days",
                month_name(d.month),
                d.year,
                days_in_month(d.year, d.month)
            )
        };
        self.push(
            file,
            d.span,
            "impossible-date",
            format!("impossible date `{written}`: {why}"),
            "no such day",
        );
        if !(1..=12).contains(&d.month)
            && let Some(last) = self.errors.last_mut()
        {
            last.help = Some("dates are written year-month-day, like `2026-12-24`".to_owned());
        }
        None
    }

    pub(super) fn month_day(&mut self, file: usize, md: ast::MonthDayAst) -> Option<(u32, u32)> {
        // A leap year, so that `feb 29` is allowed.
        let max = days_in_month(2024, md.month);
        if md.day == 0 || md.day > max {
            let written = self.written(file, md.span).to_owned();
            self.push(
                file,
                md.span,
                "impossible-date",
                format!(
                    "impossible date `{written}`: {} has at most {max} days",
                    month_name(md.month)
                ),
                "no such day",
            );
            return None;
        }
        Some((md.month, md.day))
    }

    pub(super) fn date_spec(
        &mut self,
        file: usize,
        d: &Spanned<ast::DateSpec>,
    ) -> Option<DateMatch> {
        match &d.node {
            ast::DateSpec::Range { from, to } => {
                let a = self.date(file, *from);
                let b = match to {
                    Some(t) => self.date(file, *t),
                    None => a,
                };
                let (a, b) = (a?, b?);
                if b < a {
                    let d = self.push(
                        file,
                        d.span,
                        "empty-range",
                        "this date range ends before it starts".to_owned(),
                        "backwards range",
                    );
                    d.help = Some("write the earlier date first".to_owned());
                    return None;
                }
                Some(DateMatch::Range(a, b))
            }
            ast::DateSpec::Yearly { from, to } => {
                let a = self.month_day(file, *from);
                let b = match to {
                    Some(t) => self.month_day(file, *t),
                    None => a,
                };
                Some(DateMatch::Yearly { from: a?, to: b? })
            }
            ast::DateSpec::NthWeekday {
                ordinal,
                weekday,
                month,
            } => Some(DateMatch::NthWeekday {
                nth: match ordinal {
                    ast::Ordinal::Nth(n) => i8::try_from(*n).unwrap_or(1),
                    ast::Ordinal::Last => -1,
                },
                weekday: *weekday,
                month: *month,
            }),
            ast::DateSpec::Anchored { .. }
            | ast::DateSpec::Months { .. }
            | ast::DateSpec::Monthly { .. } => self.calendar_date_spec(file, d),
        }
    }

    pub(super) fn window_help(&self, set: &RuleSet, product: Option<&str>, name: &str) -> String {
        let mut names = set.window_names(product);
        // Windows that were defined but have errors of their own still
        // exist as far as the reader is concerned.
        for (kind, scope, defined) in self.seen.keys() {
            if *kind == "window"
                && (scope.is_empty() || Some(scope.as_str()) == product)
                && !names.contains(&defined.as_str())
            {
                names.push(defined);
            }
        }
        names.sort_unstable();
        match closest(name, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if names.is_empty() => {
                "no windows are defined; define one with `window NAME { ... }`".to_owned()
            }
            None => format!("the windows defined here are {}", known_list(&names)),
        }
    }

    /// Whether `name` was defined as a window (valid or not) in scope, so a
    /// broken definition does not also cause "unknown window" errors.
    pub(super) fn window_was_defined(&self, product: Option<&str>, name: &str) -> bool {
        let key = |scope: &str| ("window", scope.to_owned(), name.to_owned());
        self.seen.contains_key(&key("")) || product.is_some_and(|p| self.seen.contains_key(&key(p)))
    }

    fn exception(
        &mut self,
        file: usize,
        e: &ast::ExceptionDef,
        set: &RuleSet,
        product: Option<&str>,
    ) -> Option<Exception> {
        let before = self.errors.len();
        if e.opens.is_empty() {
            let d = self.push(
                file,
                e.name.span,
                "missing-opens",
                format!(
                    "exception `{}` does not say which window it opens",
                    e.name.node
                ),
                "opens nothing",
            );
            d.help = Some("add a line like `opens production` inside its braces".to_owned());
        }
        for w in &e.opens {
            if set.window(product, &w.node).is_none() && !self.window_was_defined(product, &w.node)
            {
                let help = self.window_help(set, product, &w.node);
                let d = self.push(
                    file,
                    w.span,
                    "unknown-window",
                    format!("unknown window `{}`", w.node),
                    "no window has this name",
                );
                d.help = Some(help);
            }
        }
        for extra in e.reason.iter().skip(1) {
            let first = e.reason[0].span;
            let d = self.push(
                file,
                extra.span,
                "duplicate-setting",
                format!("`reason` is set twice in exception `{}`", e.name.node),
                "second setting",
            );
            *d = d
                .clone()
                .with_related(first, "first setting")
                .with_help("keep one `reason` line");
        }
        for extra in e.approvals.iter().skip(1) {
            let first = e.approvals[0].span;
            let d = self.push(
                file,
                extra.span,
                "duplicate-setting",
                format!("`approvals` is set twice in exception `{}`", e.name.node),
                "second setting",
            );
            *d = d
                .clone()
                .with_related(first, "first setting")
                .with_help("keep one `approvals` line");
        }
        let approvals = match e.approvals.first() {
            None => 0,
            Some(a) => match a.node.parse::<u32>() {
                Ok(n) if n <= 20 => n,
                _ => {
                    let d = self.push(
                        file,
                        a.span,
                        "bad-number",
                        format!("`approvals {}` is more than anyone can gather", a.node),
                        "too many",
                    );
                    d.help = Some("use a number from 0 to 20".to_owned());
                    0
                }
            },
        };
        if self.errors.len() > before {
            return None;
        }
        Some(Exception {
            name: e.name.node.clone(),
            description: e
                .description
                .as_ref()
                .map_or_else(|| e.name.node.clone(), |d| d.node.clone()),
            opens: e.opens.iter().map(|w| w.node.clone()).collect(),
            reason_required: e
                .reason
                .first()
                .is_some_and(|r| r.node == ast::ReasonAst::Required),
            approvals,
            product: product.map(str::to_owned),
            origin: self.origin(file, e.span),
        })
    }

    fn expectation(
        &mut self,
        file: usize,
        test: &str,
        e: &ast::Expect,
        set: &RuleSet,
    ) -> Option<Expectation> {
        if let Some(p) = &e.product
            && !set.products.contains_key(&p.node)
        {
            let names = set.product_names();
            let help = match closest(&p.node, names.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None if names.is_empty() => {
                    "no products are defined; define one with `product NAME { ... }`".to_owned()
                }
                None => format!("the products defined here are {}", known_list(&names)),
            };
            let d = self.push(
                file,
                p.span,
                "unknown-product",
                format!("unknown product `{}`", p.node),
                "no product has this name",
            );
            d.help = Some(help);
            return None;
        }
        let product = e.product.as_ref().map(|p| p.node.as_str());
        let Some(window) = set.window(product, &e.window.node) else {
            if self.window_was_defined(product, &e.window.node) {
                return None;
            }
            let help = self.window_help(set, product, &e.window.node);
            let d = self.push(
                file,
                e.window.span,
                "unknown-window",
                format!("unknown window `{}`", e.window.node),
                "no window has this name",
            );
            d.help = Some(help);
            return None;
        };
        let date = self.date(file, e.at.date);
        let minutes = self.time_of_day(file, e.at.time, false);
        let (date, minutes) = (date?, minutes?);
        let time = NaiveTime::from_hms_opt(u32::from(minutes / 60), u32::from(minutes % 60), 0)?;
        let local = date.and_time(time);
        let written = self.written(file, e.at.span).to_owned();
        let at = match e.at.offset {
            Some(off) => match with_offset(local, off.node) {
                Some(t) => t,
                None => {
                    let offset = self.written(file, off.span).to_owned();
                    let d = self.push(
                        file,
                        off.span,
                        "bad-offset",
                        format!(
                            "impossible UTC offset `{offset}`: offsets run from `-23:59` to `+23:59`"
                        ),
                        "not an offset",
                    );
                    d.help = Some(match resolve_local(window.tz, local) {
                        Ok(t) => format!(
                            "in {} that local time is `{} {}`",
                            window.tz.name(),
                            local.format("%Y-%m-%d %H:%M"),
                            format_offset(t.with_timezone(&window.tz).offset().fix())
                        ),
                        Err(_) => "write the offset from UTC in hours and minutes, like `-05:00`"
                            .to_owned(),
                    });
                    return None;
                }
            },
            None => match resolve_local(window.tz, local) {
                Ok(t) => t,
                Err(err) => {
                    let (msg, help) = err.explain(&written, window.tz);
                    let d = self.push(file, e.at.span, "local-time", msg, "this local time");
                    d.help = Some(help);
                    return None;
                }
            },
        };
        Some(Expectation {
            test: test.to_owned(),
            window: e.window.node.clone(),
            product: product.map(str::to_owned),
            open: e.open,
            at,
            written,
            origin: self.origin(file, e.span),
        })
    }

    fn run_tests(&mut self, set: &RuleSet) {
        for x in &set.expectations {
            let Some(window) = set.window(x.product.as_deref(), &x.window) else {
                continue;
            };
            let decision = window.decide(x.at);
            if decision.open == x.open {
                continue;
            }
            let file = self
                .sources
                .iter()
                .position(|s| s.name == x.origin.file)
                .unwrap_or(0);
            let state = |o: bool| if o { "open" } else { "closed" };
            let why = match decision.because {
                Some(c) => format!(
                    "it is {} by `{}` at {}:{}",
                    if c.open { "opened" } else { "closed" },
                    c.origin.text,
                    c.origin.file,
                    c.origin.line
                ),
                None => format!(
                    "no `open` clause of `{}` covers {} local time",
                    x.window,
                    decision.local.format("%A %Y-%m-%d %H:%M")
                ),
            };
            let span = self.span_of_line(file, x.origin.line);
            let d = self.push(
                file,
                span,
                "test-failed",
                format!(
                    "test `{}` failed: expected `{}`{} to be {} at {} ({}), but it is {}",
                    x.test,
                    x.window,
                    x.product
                        .as_ref()
                        .map(|p| format!(" for `{p}`"))
                        .unwrap_or_default(),
                    state(x.open),
                    x.written,
                    window.tz.name(),
                    state(decision.open)
                ),
                "this expectation",
            );
            d.help = Some(why);
        }
    }

    /// A day named twice in one clause, like `wed` in `mon-thu,wed`.
    fn repeated_day(&mut self, file: usize, c: &ast::Clause, at: Span, days: u8) {
        let names: Vec<&str> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
            .iter()
            .enumerate()
            .filter(|(i, _)| days & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect();
        let written = self.written(file, at).to_owned();
        let s = &self.sources[file];
        self.warnings.push(
            Diagnostic::warning(
                "repeated-day",
                format!(
                    "`{written}` lists {} again: this line already has {}",
                    if names.len() == 1 { "a day" } else { "days" },
                    known_list(&names)
                ),
            )
            .in_file(&s.name, s.text.clone(), at, "listed again")
            .with_related(c.span, "in this line")
            .with_help("remove the repeat, or name the day that was meant"),
        );
    }

    /// Warnings about clauses that can never matter (see `lint.rs`).
    fn lint(&mut self, set: &RuleSet) {
        let windows = set
            .windows
            .values()
            .chain(set.products.values().flat_map(|p| p.windows.values()));
        for w in windows {
            for (covered, by) in super::lint::covered_clauses(w) {
                let (Some(b), Some(a)) = (w.clauses.get(covered), w.clauses.get(by)) else {
                    continue;
                };
                let Some(file) = self.sources.iter().position(|s| s.name == b.origin.file) else {
                    continue;
                };
                let at = self.span_of_line(file, b.origin.line);
                let by_at = self.span_of_line(file, a.origin.line);
                let s = &self.sources[file];
                let verb = if b.open { "opens" } else { "closes" };
                let mut d = Diagnostic::warning(
                    "covered-clause",
                    format!(
                        "`{}` can never matter: `{}` (line {}) already {verb} `{}` whenever it does",
                        b.origin.text, a.origin.text, a.origin.line, w.name
                    ),
                )
                .in_file(&s.name, s.text.clone(), at, "never matters");
                if a.origin.file == b.origin.file {
                    d = d.with_related(by_at, "covers it");
                }
                self.warnings.push(d.with_help(
                    "remove this line, or change it if it was meant to say something else",
                ));
            }
        }
    }

    /// The span of a line's text (without indentation and line ending).
    fn span_of_line(&self, file: usize, line: usize) -> Span {
        let text: &str = &self.sources[file].text;
        let mut start = 0;
        for _ in 1..line {
            start = text[start..]
                .find('\n')
                .map_or(text.len(), |i| start + i + 1);
        }
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line_text = &text[start..end];
        let indent = line_text.len() - line_text.trim_start().len();
        Span::new(start + indent, start + line_text.trim_end().len())
    }
}

pub(super) fn day_mask(d: &DaySpec) -> u8 {
    match d {
        DaySpec::Weekdays => 0b001_1111,
        DaySpec::Weekends => 0b110_0000,
        DaySpec::Daily => 0b111_1111,
        DaySpec::One(w) => weekday_bit(*w),
        DaySpec::Range(a, b) => {
            let mut mask = 0;
            let mut d = *a;
            loop {
                mask |= weekday_bit(d);
                if d == *b {
                    break mask;
                }
                d = d.succ();
            }
        }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let first = NaiveDate::from_ymd_opt(year, month, 1);
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    match (first, next) {
        (Some(a), Some(b)) => u32::try_from((b - a).num_days()).unwrap_or(31),
        _ => 31,
    }
}

fn month_name(m: u32) -> &'static str {
    match m {
        1 => "January",
        2 => "February",
        3 => "March",
        4 => "April",
        5 => "May",
        6 => "June",
        7 => "July",
        8 => "August",
        9 => "September",
        10 => "October",
        11 => "November",
        12 => "December",
        _ => "that month",
    }
}
