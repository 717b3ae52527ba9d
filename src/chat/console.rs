//! The console adapter: lines typed on stdin are chat messages; posts are
//! printed to stdout. For running shipgate locally with no chat account.
//!
//! Lines starting with `/` are console commands that stand in for the
//! outside world: `/as PERSON`, `/product NAME`, `/merge CHANGE TITLE`,
//! `/ci [RC] STATUS`, `/help`. Lines starting with `# ` are comments.

use std::io::Write as _;

use super::adapter::{ChatAdapter, Outgoing, SendError};

/// What a typed line means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleLine {
    /// A chat message from the current person in the current product.
    Say(String),
    As(String),
    Product(String),
    Merge {
        change: String,
        title: String,
    },
    /// A CI report; without an RC number, about the RC in flight.
    Ci {
        rc: Option<u64>,
        status: String,
    },
    Help,
    /// Nothing to do (blank line).
    Nothing,
    /// A console command that is wrong, and why.
    Bad(String),
}

pub const CONSOLE_HELP: &str = "console commands:\n  \
    /as PERSON            type as another person from the team config\n  \
    /product NAME         talk in another product's channel\n  \
    /merge CHANGE TITLE   pretend CHANGE was merged (by you) to this product\n  \
    /ci [RC] STATUS       report CI: built, deployed, failed or released\n  \
                          (for the RC in flight unless RC is given)\n  \
    /help                 this help\n\
    # ...                 a comment: ignored\n\
    anything else is a chat message; commands start with the prefix, e.g. `!sg help`";

pub fn parse_line(line: &str) -> ConsoleLine {
    let line = line.trim();
    // `# ...` is a comment, so a walk-through with explanations (the
    // README's) can be pasted as it is.
    if line.is_empty() || line == "#" || line.starts_with("# ") {
        return ConsoleLine::Nothing;
    }
    let Some(rest) = line.strip_prefix('/') else {
        return ConsoleLine::Say(line.to_owned());
    };
    let mut words = rest.split_whitespace();
    let cmd = words.next().unwrap_or("").to_ascii_lowercase();
    let args: Vec<&str> = words.collect();
    match (cmd.as_str(), args.as_slice()) {
        ("as", [who]) => ConsoleLine::As(who.trim_start_matches('@').to_owned()),
        ("product", [name]) => ConsoleLine::Product((*name).to_owned()),
        ("merge", [change, title @ ..]) => ConsoleLine::Merge {
            change: (*change).to_owned(),
            title: if title.is_empty() {
                (*change).to_owned()
            } else {
                title.join(" ")
            },
        },
        ("ci", [status]) => ConsoleLine::Ci {
            rc: None,
            status: status.to_ascii_lowercase(),
        },
        ("ci", [rc, status]) => match rc.trim_start_matches('#').parse() {
            Ok(rc) => ConsoleLine::Ci {
                rc: Some(rc),
                status: status.to_ascii_lowercase(),
            },
            Err(_) => ConsoleLine::Bad(format!("`{rc}` is not an RC number; try `/ci 3 deployed`")),
        },
        ("help", _) => ConsoleLine::Help,
        ("as", _) => ConsoleLine::Bad("usage: /as PERSON".to_owned()),
        ("product", _) => ConsoleLine::Bad("usage: /product NAME".to_owned()),
        ("merge", _) => ConsoleLine::Bad("usage: /merge CHANGE TITLE".to_owned()),
        ("ci", _) => ConsoleLine::Bad("usage: /ci [RC] built|deployed|failed|released".to_owned()),
        (other, _) => ConsoleLine::Bad(format!("unknown console command `/{other}`; try `/help`")),
    }
}

/// Renders a post for the terminal: product, then the text with mentions
/// as `@name`, continuation lines indented.
pub fn render(message: &Outgoing) -> String {
    let mut out = format!("[{}] shipgate: ", message.channel);
    let mut lines = message.text.lines();
    if let Some(first) = lines.next() {
        out.push_str(first);
    }
    for l in lines {
        out.push_str("\n    ");
        out.push_str(l);
    }
    out
}

/// Prints posts to stdout.
#[derive(Debug, Default)]
pub struct ConsoleAdapter;

impl ChatAdapter for ConsoleAdapter {
    fn name(&self) -> &'static str {
        "console"
    }

    async fn send(&self, message: &Outgoing) -> Result<Option<String>, SendError> {
        // One write for the whole post, so a crash cannot leave half of it.
        let text = format!("{}\n", render(message));
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())
            .map_err(|e| SendError::Transient(e.to_string()))?;
        out.flush()
            .map_err(|e| SendError::Transient(e.to_string()))?;
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let table = [
            ("", ConsoleLine::Nothing),
            ("!sg status", ConsoleLine::Say("!sg status".into())),
            ("/as @ben", ConsoleLine::As("ben".into())),
            ("/product payments", ConsoleLine::Product("payments".into())),
            (
                "/merge #7 Fix the footer",
                ConsoleLine::Merge {
                    change: "#7".into(),
                    title: "Fix the footer".into(),
                },
            ),
            (
                "/merge #8",
                ConsoleLine::Merge {
                    change: "#8".into(),
                    title: "#8".into(),
                },
            ),
            (
                "/ci 3 Deployed",
                ConsoleLine::Ci {
                    rc: Some(3),
                    status: "deployed".into(),
                },
            ),
            (
                "/ci released",
                ConsoleLine::Ci {
                    rc: None,
                    status: "released".into(),
                },
            ),
            ("# a comment", ConsoleLine::Nothing),
            ("#", ConsoleLine::Nothing),
            ("#101 is broken", ConsoleLine::Say("#101 is broken".into())),
            (
                "/ci 3 deployed now",
                ConsoleLine::Bad("usage: /ci [RC] built|deployed|failed|released".into()),
            ),
            (
                "/ci x deployed",
                ConsoleLine::Bad("`x` is not an RC number; try `/ci 3 deployed`".into()),
            ),
            ("/help", ConsoleLine::Help),
            ("/as", ConsoleLine::Bad("usage: /as PERSON".into())),
            (
                "/frob",
                ConsoleLine::Bad("unknown console command `/frob`; try `/help`".into()),
            ),
        ];
        for (input, want) in table {
            assert_eq!(parse_line(input), want, "{input:?}");
        }
    }
}
