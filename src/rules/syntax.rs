//! The pest parser for `grammar/rules.pest`, and syntax errors in words a
//! team member understands.

use pest::Parser as _;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pairs;

use super::ast::Span;
use super::diagnostic::Diagnostic;
use super::source::{Source, line_col};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/rules.pest"]
pub struct RulesParser;

/// How a grammar rule is named in an error message. Exhaustive on purpose:
/// a new grammar rule cannot ship without words for it.
pub fn describe(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the file",
        Rule::WHITESPACE => "a space",
        Rule::COMMENT => "a comment",
        Rule::file => "a rules file",
        Rule::item | Rule::window_item | Rule::product_item | Rule::exception_item => {
            "a definition"
        }
        Rule::word_char => "a letter or digit",
        Rule::name => "a name (letters, digits, `-` and `_`, starting with a letter)",
        Rule::number => "a whole number",
        Rule::kw_timezone => "`timezone`",
        Rule::kw_window => "`window`",
        Rule::kw_exception => "`exception`",
        Rule::kw_product => "`product`",
        Rule::kw_test => "`test`",
        Rule::kw_open => "`open`",
        Rule::kw_closed => "`closed`",
        Rule::kw_always => "`always`",
        Rule::kw_opens => "`opens`",
        Rule::kw_reason => "`reason`",
        Rule::kw_required => "`required`",
        Rule::kw_optional => "`optional`",
        Rule::kw_approvals => "`approvals`",
        Rule::kw_expect => "`expect`",
        Rule::kw_at => "`at`",
        Rule::kw_for => "`for`",
        Rule::kw_calendar => "`calendar`",
        Rule::kw_easter => "`easter`",
        Rule::kw_orthodox => "`orthodox`",
        Rule::kw_month => "`month`",
        Rule::kw_weeks => "`weeks`",
        Rule::kw_from => "`from`",
        Rule::kw_day => "`day`",
        Rule::kw_weekday => "`weekday`",
        Rule::calendar_def => "a calendar",
        Rule::calendar_entry => "a calendar entry: a date like `dec 25` and an optional label",
        Rule::calendar_ref => "`calendar NAME`",
        Rule::calendar_file => "`from \"FILE.ics\"`",
        Rule::cadence => "`every N weeks from YYYY-MM-DD`",
        Rule::yearly_day => "a yearly day like `dec 24`, `4th thu nov +1d` or `easter -2d`",
        Rule::easter => "`easter` or `orthodox easter`",
        Rule::day_offset => "a day offset like `+1d` or `-2d`",
        Rule::month_range => "a month like `dec` or months like `jul..aug`",
        Rule::monthly => "a monthly day like `last fri every month` or `day 1 every month`",
        Rule::month_point => {
            "a day of every month like `day 1`, `last day`, `1st mon` or `last weekday`"
        }
        Rule::lbrace => "`{`",
        Rule::rbrace => "`}`",
        Rule::comma => "`,`",
        Rule::dotdot => "`..`",
        Rule::dash => "`-`",
        Rule::string | Rule::text | Rule::unclosed_string => "a quoted text like `\"holidays\"`",
        Rule::string_text => "text",
        Rule::timezone => "a time zone setting",
        Rule::window => "a window",
        Rule::clause => "an `open` or `closed` line",
        Rule::verb => "`open` or `closed`",
        Rule::when => "when: `always`, days like `mon-thu`, or dates like `dec 24`",
        Rule::weekly | Rule::day_set | Rule::day_spec => "days like `mon-thu`",
        Rule::day_group => "`weekdays`, `weekends` or `daily`",
        Rule::day_range => "days like `mon` or `mon-thu`",
        Rule::day => "a day like `mon`",
        Rule::dated | Rule::date_spec => "a date like `dec 24`",
        Rule::date_range => "a date like `2026-12-24` or `2026-12-24..2027-01-01`",
        Rule::yearly_range => "a yearly date like `dec 24`, `dec 24..jan 1` or `easter +1d`",
        Rule::month_day => "a month and day like `dec 24`",
        Rule::nth_weekday => "a weekday of a month like `4th thu nov` or `last mon may`",
        Rule::date => "a date like `2026-12-24`",
        Rule::day_of_month => "a day of the month like `24`",
        Rule::ordinal => "`1st`, `2nd`, `3rd`, `4th`, `5th` or `last`",
        Rule::month => "a month like `nov`",
        Rule::time_range => "a time range like `08:00-16:00`",
        Rule::time => "a time like `08:00`",
        Rule::exception => "an exception",
        Rule::opens => "`opens WINDOW`",
        Rule::reason => "`reason required`",
        Rule::approvals => "`approvals N`",
        Rule::product => "a product",
        Rule::test => "a test",
        Rule::expect => "an `expect` line",
        Rule::state => "`open` or `closed`",
        Rule::local_time => "a local time like `2026-03-09 08:00`",
        Rule::utc_offset => "an offset like `-05:00`",
        Rule::for_product => "`for PRODUCT`",
        Rule::kw_policy => "`policy`",
        Rule::kw_daily => "`daily`",
        Rule::kw_off => "`off`",
        Rule::kw_if => "`if`",
        Rule::kw_new_changes => "`new-changes`",
        Rule::kw_manager => "`manager`",
        Rule::kw_manual => "`manual`",
        Rule::kw_requester => "`requester`",
        Rule::kw_random => "`random`",
        Rule::kw_committer => "`committer`",
        Rule::kw_prefer => "`prefer`",
        Rule::kw_no_repeat => "`no-repeat`",
        Rule::kw_repeat_ok => "`repeat-ok`",
        Rule::kw_urgent => "`urgent`",
        Rule::kw_notice => "`notice`",
        Rule::kw_remind => "`remind`",
        Rule::kw_first => "`first`",
        Rule::kw_every => "`every`",
        Rule::kw_escalate => "`escalate`",
        Rule::kw_working_hours => "`working-hours`",
        Rule::kw_anytime => "`anytime`",
        Rule::kw_lasts => "`lasts`",
        Rule::kw_allow => "`allow`",
        Rule::kw_to => "`to`",
        Rule::kw_gate => "`gate`",
        Rule::gate_kind => "`release` or `cut`",
        Rule::gate_rule => "`gate release WINDOW`, `gate cut WINDOW` or `gate ... off`",
        Rule::duration => "a duration like `15m`, `2h` or `1d`",
        Rule::action_name => {
            "an action: `request`, `object`, `decide`, `not-viable`, `released`, `release`, `verify`, `handoff`, `away`, `exception` or `approve`"
        }
        Rule::policy => "a policy block",
        Rule::policy_item => "a policy setting",
        Rule::daily_rc => "`daily at HH:MM [DAYS] [if new-changes | always]` or `daily off`",
        Rule::daily_when => "`if new-changes` or `always`",
        Rule::manager_rule => "`manager manual requester` or `manager daily random committer ...`",
        Rule::manual_manager => "`manual requester`",
        Rule::daily_manager => "`daily random committer [prefer \"ZONE\"] [no-repeat | repeat-ok]`",
        Rule::prefer => "`prefer \"ZONE\"`",
        Rule::urgent_rule => "`urgent notice DURATION`",
        Rule::remind_rule => {
            "`remind first DURATION every DURATION escalate DURATION [working-hours | anytime]`"
        }
        Rule::working_hours => "`working-hours DAYS HH:MM-HH:MM`",
        Rule::exception_lasts => "`exception lasts DURATION`",
        Rule::allow_rule => "`allow ACTION to ROLE, ...`",
    }
}

/// Keywords a grammar rule may start with; used to suggest a fix for a
/// misspelt keyword.
fn keywords(rule: Rule) -> &'static [&'static str] {
    match rule {
        Rule::kw_timezone => &["timezone"],
        Rule::kw_window => &["window"],
        Rule::kw_exception => &["exception"],
        Rule::kw_product => &["product"],
        Rule::kw_test => &["test"],
        Rule::kw_open => &["open"],
        Rule::kw_closed => &["closed"],
        Rule::verb | Rule::state => &["open", "closed"],
        Rule::kw_always => &["always"],
        Rule::kw_opens | Rule::opens => &["opens"],
        Rule::kw_reason | Rule::reason => &["reason"],
        Rule::kw_required => &["required"],
        Rule::kw_optional => &["optional"],
        Rule::kw_approvals | Rule::approvals => &["approvals"],
        Rule::kw_expect | Rule::expect => &["expect"],
        Rule::kw_at => &["at"],
        Rule::kw_for | Rule::for_product => &["for"],
        Rule::timezone => &["timezone"],
        Rule::window => &["window"],
        Rule::exception => &["exception"],
        Rule::product => &["product"],
        Rule::test => &["test"],
        Rule::day_group => &["weekdays", "weekends", "daily"],
        Rule::day | Rule::day_range => &["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        Rule::month => &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
        Rule::ordinal => &["1st", "2nd", "3rd", "4th", "5th", "last"],
        Rule::kw_policy | Rule::policy => &["policy"],
        Rule::kw_daily | Rule::daily_rc => &["daily"],
        Rule::kw_manager | Rule::manager_rule => &["manager"],
        Rule::kw_urgent | Rule::urgent_rule => &["urgent"],
        Rule::kw_remind | Rule::remind_rule => &["remind"],
        Rule::kw_working_hours | Rule::working_hours => &["working-hours"],
        Rule::kw_allow | Rule::allow_rule => &["allow"],
        Rule::kw_lasts => &["lasts"],
        Rule::kw_gate | Rule::gate_rule => &["gate"],
        Rule::gate_kind => &["release", "cut"],
        Rule::kw_every => &["every"],
        Rule::kw_calendar | Rule::calendar_def | Rule::calendar_ref => &["calendar"],
        Rule::kw_easter => &["easter"],
        Rule::kw_orthodox => &["orthodox"],
        Rule::kw_month => &["month"],
        Rule::kw_weeks => &["weeks"],
        Rule::kw_from | Rule::calendar_file => &["from"],
        Rule::kw_day => &["day"],
        Rule::kw_weekday => &["weekday"],
        Rule::kw_first => &["first"],
        Rule::kw_escalate => &["escalate"],
        Rule::kw_prefer => &["prefer"],
        Rule::kw_notice => &["notice"],
        Rule::action_name => crate::command::Action::ALLOW_WORDS,
        _ => &[],
    }
}

/// Parses one source, recovering after a syntax error at the next top-level
/// definition so that every syntax error in the file is reported at once.
/// Returns the pairs of each part that parsed, with the part's byte offset.
pub fn parse_source(source: &Source) -> (Vec<(usize, Pairs<'_, Rule>)>, Vec<Diagnostic>) {
    let text: &str = &source.text;
    let mut parts = Vec::new();
    let mut errors = Vec::new();
    let mut offset = 0;
    // A generous bound: every retry starts at a later line.
    while offset <= text.len() && errors.len() < 50 {
        match RulesParser::parse(Rule::file, &text[offset..]) {
            Ok(pairs) => {
                parts.push((offset, pairs));
                break;
            }
            Err(e) => {
                let at = match e.location {
                    InputLocation::Pos(p) => offset + p,
                    InputLocation::Span((s, _)) => offset + s,
                };
                let (positives, negatives) = match &e.variant {
                    ErrorVariant::ParsingError {
                        positives,
                        negatives,
                    } => (positives.clone(), negatives.clone()),
                    ErrorVariant::CustomError { .. } => (Vec::new(), Vec::new()),
                };
                // A quote left open swallows the rest of its line, so the
                // parser trips later; the open quote is the real problem.
                let error = match unclosed_quote(&text[offset..at.min(text.len())]) {
                    Some(q) => quote_error(source, offset + q),
                    None => syntax_error(source, offset, at, &positives, &negatives),
                };
                errors.push(error);
                // The whole definitions before the one holding the error
                // are read on their own, so their problems are reported
                // too; then resume at the next line that starts a
                // top-level definition.
                if let Some(start) = item_start_before(text, offset, at)
                    && start > offset
                    && let Some(head) = text.get(offset..start)
                    && let Ok(pairs) = RulesParser::parse(Rule::file, head)
                {
                    parts.push((offset, pairs));
                }
                match next_item_start(text, at) {
                    Some(next) => offset = next,
                    None => break,
                }
            }
        }
    }
    (parts, errors)
}

/// The byte offset of the last line starting at or after `from` and at or
/// before `at` that starts, in its first column, with a top-level keyword.
fn item_start_before(text: &str, from: usize, at: usize) -> Option<usize> {
    let mut pos = from;
    let mut found = None;
    while pos <= at.min(text.len()) {
        if starts_item(&text[pos..]) {
            found = Some(pos);
        }
        pos = text[pos..].find('\n').map(|i| pos + i + 1)?;
    }
    found
}

fn starts_item(line: &str) -> bool {
    [
        "window",
        "calendar",
        "exception",
        "product",
        "test",
        "timezone",
        "policy",
    ]
    .iter()
    .any(|kw| {
        line.strip_prefix(kw)
            .is_some_and(|rest| rest.starts_with([' ', '\t']))
    })
}

/// The byte offset of the next line after `at` that starts, in its first
/// column, with a top-level keyword.
fn next_item_start(text: &str, at: usize) -> Option<usize> {
    let mut pos = text[at..].find('\n').map(|i| at + i + 1)?;
    loop {
        let line = &text[pos..];
        for kw in [
            "window",
            "calendar",
            "exception",
            "product",
            "test",
            "timezone",
            "policy",
        ] {
            if let Some(rest) = line.strip_prefix(kw)
                && rest.starts_with([' ', '\t'])
            {
                return Some(pos);
            }
        }
        pos = text[pos..].find('\n').map(|i| pos + i + 1)?;
    }
}

/// The offset of the last `"` in `text` whose quoted text does not close on
/// its line (outside comments), read the way the grammar reads strings.
fn unclosed_quote(text: &str) -> Option<usize> {
    let mut last = None;
    let mut open: Option<usize> = None;
    let mut comment = false;
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match (c, open) {
            ('\r' | '\n', _) => {
                if let Some(q) = open.take() {
                    last = Some(q);
                }
                comment = false;
            }
            _ if comment => {}
            ('#', None) => comment = true,
            ('"', None) => open = Some(i),
            ('"', Some(_)) => open = None,
            ('\\', Some(q)) => match chars.clone().next() {
                Some((_, '"' | '\\')) => {
                    chars.next();
                }
                // Not an escape the grammar knows: the text cannot close.
                _ => {
                    last = Some(q);
                    open = None;
                    comment = true;
                }
            },
            _ => {}
        }
    }
    // A quote still open where the parser stopped is not (yet) unclosed:
    // the error is about what comes before it, or it is reported there.
    last
}

/// The byte offset of the first backslash in the quoted text that opens at
/// `quote` (on its line) that is not one of the two escapes the grammar
/// knows, `\"` and `\\`; `None` if the text closes first or has none.
pub(super) fn bad_escape(text: &str, quote: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = quote + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' | b'\r' | b'\n' => return None,
            b'\\' => match bytes.get(i + 1) {
                Some(b'"' | b'\\') => i += 2,
                _ => return Some(i),
            },
            _ => i += 1,
        }
    }
    None
}

/// A backslash inside quotes followed by something other than `"` or `\`.
pub(super) fn bad_escape_error(source: &Source, at: usize) -> Diagnostic {
    let text: &str = &source.text;
    let next = text[at + 1..]
        .chars()
        .next()
        .filter(|c| !matches!(c, '\r' | '\n'));
    let end = at + 1 + next.map_or(0, char::len_utf8);
    let shown = &text[at..end];
    let (message, help) = match next {
        Some(c) => (
            format!("`{shown}` is not something a backslash can stand for in quoted text"),
            format!(
                "in quoted text a backslash starts `\\\"` (a quote) or `\\\\` (a backslash); \
                 for a backslash followed by `{c}`, write `\\\\{c}`"
            ),
        ),
        None => (
            "a backslash at the end of a line in quoted text".to_owned(),
            "write `\\\\` for a backslash, and close the text with `\"` on the same line"
                .to_owned(),
        ),
    };
    Diagnostic::error("bad-escape", message)
        .in_file(
            &source.name,
            source.text.clone(),
            Span::new(at, end),
            "this backslash",
        )
        .with_help(help)
}

/// A quote whose text does not close on its line: a stray backslash if
/// that is why, else an unclosed text.
fn quote_error(source: &Source, at: usize) -> Diagnostic {
    match bad_escape(&source.text, at) {
        Some(e) => bad_escape_error(source, e),
        None => unclosed_string_error(source, at),
    }
}

fn unclosed_string_error(source: &Source, at: usize) -> Diagnostic {
    let text: &str = &source.text;
    let end = text[at..].find(['\r', '\n']).map_or(text.len(), |i| at + i);
    Diagnostic::error("unclosed-string", "this quoted text is never closed")
        .in_file(
            &source.name,
            source.text.clone(),
            Span::new(at, end),
            "opened here",
        )
        .with_help("close it with `\"` on the same line")
}

fn syntax_error(
    source: &Source,
    part: usize,
    at: usize,
    positives: &[Rule],
    negatives: &[Rule],
) -> Diagnostic {
    let text: &str = &source.text;
    let found = token_at(text, at);
    let end = at + found.len();
    let mut expected: Vec<&str> = Vec::new();
    for r in positives.iter().flat_map(|r| expand(*r)) {
        // "the end of the file" is noise next to the things that may come.
        if r == Rule::EOI && positives.len() > 1 {
            continue;
        }
        let d = describe(r);
        if !expected.contains(&d) {
            expected.push(d);
        }
    }
    let found_words = if found.is_empty() {
        if at >= text.len() {
            "the end of the file".to_owned()
        } else {
            "a line break".to_owned()
        }
    } else {
        format!("`{found}`")
    };
    let message = if expected.is_empty() && !negatives.is_empty() {
        format!("unexpected {found_words}")
    } else if expected.is_empty() {
        format!("this is not valid here: {found_words}")
    } else {
        format!("expected {}, found {found_words}", join_or(&expected))
    };
    // A block left open: name it and point at its first line.
    let open = positives
        .contains(&Rule::rbrace)
        .then(|| open_block(text, part, at))
        .flatten();
    if let Some((brace, header)) = &open
        && text[at.min(text.len())..].trim().is_empty()
    {
        let (line, _) = line_col(text, *brace);
        return Diagnostic::error(
            "syntax",
            format!(
                "found the end of the file inside `{header}` (line {line}): its `}}` is missing"
            ),
        )
        .in_file(
            &source.name,
            source.text.clone(),
            Span::new(at, at),
            "the file ends here",
        )
        .with_related(
            Span::new(*brace, brace + 1),
            format!("`{header}` opens here"),
        )
        .with_help(format!("add a `}}` to close `{header}`"));
    }
    let mut d = Diagnostic::error("syntax", message).in_file(
        &source.name,
        source.text.clone(),
        Span::new(at, end.max(at)),
        "here",
    );
    if let Some(help) = calendar_word_help(text, at, found, positives) {
        d = d.with_help(help);
    } else if let Some(help) = suggest(found, positives) {
        d = d.with_help(help);
    } else if let Some(help) = month_missing_help(text, at, positives) {
        d = d.with_help(help);
    } else if found.starts_with('"') && found[1..].contains('"') {
        d = d.with_help("a quoted label comes last on its line: complete what comes before it");
    } else if found.starts_with('"') {
        d = d.with_help("close the quoted text with `\"` on the same line");
    } else if let Some(help) = layout_help(text, at, found, positives) {
        match &open {
            Some((brace, header)) if help.starts_with("a `}` is missing") => {
                let (line, _) = line_col(text, *brace);
                d = d
                    .with_related(
                        Span::new(*brace, brace + 1),
                        format!("`{header}` opens here"),
                    )
                    .with_help(format!(
                        "a `}}` is missing: close `{header}` (line {line}) before this line"
                    ));
            }
            _ => d = d.with_help(help),
        }
    }
    d
}

/// The innermost `{` still open at `at` (reading from `from`, outside
/// quoted text and comments), and the words before it on its line, like
/// `window production`.
fn open_block(text: &str, from: usize, at: usize) -> Option<(usize, String)> {
    let mut stack = Vec::new();
    let mut quoted = false;
    let mut swallowed = false;
    let mut comment = false;
    let mut chars = text.get(from..at.min(text.len()))?.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\r' | '\n' => {
                swallowed |= quoted;
                quoted = false;
                comment = false;
            }
            _ if comment => {}
            '\\' if quoted => {
                chars.next();
            }
            '"' => quoted = !quoted,
            _ if quoted => {}
            '#' => comment = true,
            '{' => stack.push(from + i),
            '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    // Text still quoted where the parser stopped swallowed the `}`: the
    // quote is the problem, not the block.
    if quoted || swallowed {
        return None;
    }
    let brace = *stack.last()?;
    let line_start = text[..brace].rfind('\n').map_or(0, |i| i + 1);
    let header: String = text[line_start..brace]
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    let header = if header.is_empty() {
        "this block".to_owned()
    } else {
        header.chars().take(60).collect()
    };
    Some((brace, header))
}

/// Days, months and ordinals as written: (accepted word, the short form
/// suggested).
const DAY_WORDS: &[(&str, &str)] = &[
    ("mon", "mon"),
    ("monday", "mon"),
    ("tue", "tue"),
    ("tuesday", "tue"),
    ("wed", "wed"),
    ("wednesday", "wed"),
    ("thu", "thu"),
    ("thursday", "thu"),
    ("fri", "fri"),
    ("friday", "fri"),
    ("sat", "sat"),
    ("saturday", "sat"),
    ("sun", "sun"),
    ("sunday", "sun"),
    ("weekdays", "weekdays"),
    ("weekends", "weekends"),
    ("daily", "daily"),
];
const MONTH_WORDS: &[(&str, &str)] = &[
    ("jan", "jan"),
    ("january", "jan"),
    ("feb", "feb"),
    ("february", "feb"),
    ("mar", "mar"),
    ("march", "mar"),
    ("apr", "apr"),
    ("april", "apr"),
    ("may", "may"),
    ("jun", "jun"),
    ("june", "jun"),
    ("jul", "jul"),
    ("july", "jul"),
    ("aug", "aug"),
    ("august", "aug"),
    ("sep", "sep"),
    ("september", "sep"),
    ("oct", "oct"),
    ("october", "oct"),
    ("nov", "nov"),
    ("november", "nov"),
    ("dec", "dec"),
    ("december", "dec"),
];
const ORDINAL_WORDS: &[(&str, &str)] = &[
    ("1st", "1st"),
    ("2nd", "2nd"),
    ("3rd", "3rd"),
    ("4th", "4th"),
    ("5th", "5th"),
    ("last", "last"),
    ("first", "1st"),
    ("second", "2nd"),
    ("third", "3rd"),
    ("fourth", "4th"),
    ("fifth", "5th"),
    ("final", "last"),
];

/// Did-you-mean for days, months and ordinals: misspelt (`thrs`, `fridy`,
/// `decmber`), spelt out (`first`) or capitalised (`Mon-Thu`). The whole
/// word around the error is corrected, so `mon-thrs` suggests `mon-thu`.
fn calendar_word_help(text: &str, at: usize, found: &str, positives: &[Rule]) -> Option<String> {
    let wants = |rules: &[Rule]| positives.iter().any(|r| rules.contains(r));
    let mut words: Vec<(&str, &str)> = Vec::new();
    let dated = [
        Rule::dated,
        Rule::yearly_range,
        Rule::yearly_day,
        Rule::nth_weekday,
    ];
    if wants(&[
        Rule::weekly,
        Rule::day_set,
        Rule::day_range,
        Rule::day,
        Rule::day_group,
    ]) {
        words.extend(DAY_WORDS);
    }
    if wants(&dated) || wants(&[Rule::month, Rule::month_day, Rule::month_range]) {
        words.extend(MONTH_WORDS);
    }
    if wants(&dated) || wants(&[Rule::ordinal, Rule::monthly, Rule::month_point]) {
        words.extend(ORDINAL_WORDS);
    }
    if words.is_empty() || found.is_empty() || found.len() > 60 {
        return None;
    }
    // The word may have begun before the error: `mon-` in `mon-thrs`.
    let before: usize = text[..at]
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ','))
        .take(60)
        .map(char::len_utf8)
        .sum();
    let whole = &text[at - before..at + found.len()];
    let all: Vec<(&str, &str)> = DAY_WORDS
        .iter()
        .chain(MONTH_WORDS)
        .chain(ORDINAL_WORDS)
        .copied()
        .collect();
    let mut fixed = String::new();
    let mut changed = false;
    let mut case_only = true;
    let mut rest = whole;
    while !rest.is_empty() {
        let sep = rest.len() - rest.trim_start_matches(['-', ',']).len();
        fixed.push_str(&rest[..sep]);
        rest = &rest[sep..];
        let len = rest.find(['-', ',']).unwrap_or(rest.len());
        let part = &rest[..len];
        rest = &rest[len..];
        if part.is_empty() || part.starts_with(|c: char| c.is_ascii_digit()) && !is_word(part, &all)
        {
            fixed.push_str(part);
            continue;
        }
        let (word, case) = fix_word(part, &words, &all)?;
        if word != part {
            changed = true;
            case_only &= case;
        }
        fixed.push_str(&word);
    }
    if !changed {
        return None;
    }
    Some(if case_only {
        format!("days, months and ordinals are written in lowercase: did you mean `{fixed}`?")
    } else {
        format!("did you mean `{fixed}`?")
    })
}

fn is_word(part: &str, words: &[(&str, &str)]) -> bool {
    words.iter().any(|(w, _)| *w == part)
}

/// The form to write for `part`: itself when valid; in lowercase when only
/// the case is wrong (`true`); the short form of a word spelt out
/// (`first`); else the closest `wanted` word when it looks like a typo.
/// `all` are every calendar word, so a valid day before a month is kept.
fn fix_word(part: &str, wanted: &[(&str, &str)], all: &[(&str, &str)]) -> Option<(String, bool)> {
    let lower = part.to_ascii_lowercase();
    if is_spelt_out(&lower) {
        let short = all.iter().find(|(w, _)| *w == lower).map(|(_, s)| *s)?;
        return Some((short.to_owned(), false));
    }
    if is_word(&lower, all) {
        return Some((lower, true));
    }
    let best = wanted
        .iter()
        .map(|(w, short)| (strsim::jaro_winkler(&lower, w), *short))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some((best.1.to_owned(), false))
}

/// `first`, `second`, ... are accepted only as `1st`, `2nd`, ...
fn is_spelt_out(word: &str) -> bool {
    matches!(
        word,
        "first" | "second" | "third" | "fourth" | "fifth" | "final"
    )
}

/// `last fri` with no month: say how to finish it.
fn month_missing_help(text: &str, at: usize, positives: &[Rule]) -> Option<String> {
    if !(positives.contains(&Rule::month) && positives.contains(&Rule::kw_every)) {
        return None;
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let words: Vec<&str> = text[line_start..at].split_whitespace().collect();
    let phrase = match words.as_slice() {
        [.., ord, day] => format!("{ord} {day}"),
        _ => return None,
    };
    Some(format!(
        "`{phrase}` needs a month: write `{phrase} nov` for one month a year, or `{phrase} every month`"
    ))
}

/// Rules whose description is a choice, split into the choices, so a list
/// of what was expected never nests one "or" inside another.
fn expand(rule: Rule) -> Vec<Rule> {
    match rule {
        Rule::verb | Rule::state => vec![Rule::kw_open, Rule::kw_closed],
        other => vec![other],
    }
}

/// Help for common slips that are not misspellings: spaces inside a time
/// range, a time range without days, a missing `}` before a new definition.
fn layout_help(text: &str, at: usize, found: &str, positives: &[Rule]) -> Option<&'static str> {
    let looks_like_time = found.starts_with(|c: char| c.is_ascii_digit())
        && found.contains(':')
        && !found.contains("..");
    let after = text.get(at + found.len()..).unwrap_or("");
    if looks_like_time && after.trim_start_matches([' ', '\t']).starts_with('-') {
        return Some("write a time range without spaces around `-`, like `08:00-16:00`");
    }
    let wants_days = positives.iter().any(|r| {
        matches!(
            r,
            Rule::weekly | Rule::day_set | Rule::day_range | Rule::day | Rule::dated
        )
    });
    if looks_like_time && wants_days {
        return Some(
            "put the days or dates before the time range, like `open mon-thu 08:00-16:00`",
        );
    }
    let line_start = text.get(..at)?.rfind('\n').map_or(0, |i| i + 1);
    let starts_line = text.get(line_start..at)?.trim().is_empty();
    let top_level = ["window", "exception", "product", "test", "policy"].contains(&found);
    if starts_line && top_level && positives.contains(&Rule::rbrace) {
        return Some("a `}` is missing: close the definition above before this line");
    }
    None
}

fn suggest(found: &str, positives: &[Rule]) -> Option<String> {
    let word: String = found
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if word.is_empty() {
        return None;
    }
    let best = positives
        .iter()
        .flat_map(|r| keywords(*r))
        .map(|k| (strsim::damerau_levenshtein(&word, k), k))
        .filter(|(d, k)| *d <= 2.min(k.len() / 2))
        .min_by_key(|(d, _)| *d)?;
    Some(format!("did you mean `{}`?", best.1))
}

/// The token starting at `at`: a word, a quoted string to the line end, or
/// one character.
fn token_at(text: &str, at: usize) -> &str {
    let rest = &text[at.min(text.len())..];
    let Some(first) = rest.chars().next() else {
        return "";
    };
    let len = if first == '"' {
        rest.find(['\r', '\n']).unwrap_or(rest.len())
    } else if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '.')))
            .unwrap_or(rest.len())
    } else if first == '\r' || first == '\n' {
        0
    } else {
        first.len_utf8()
    };
    // Keep snippets readable on very long lines.
    let mut len = len.min(80);
    while !rest.is_char_boundary(len) {
        len -= 1;
    }
    &rest[..len]
}

pub fn join_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
