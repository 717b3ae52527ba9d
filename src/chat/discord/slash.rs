//! Slash commands: `/sg command: verify all` does what `!sg verify all`
//! does. shipgate registers one command per guild at start (its name is
//! the chat prefix's letters: `!sg ` gives `/sg`). Each use is answered at
//! once (Discord wants an answer within 3 s) with the command as it would
//! be typed, `!sg verify all`; that message then stands for the command:
//! the engine gets it like a typed one, and its answers reply to it.

use serenity::all::{
    CommandDataOptionValue, CommandInteraction, CommandOptionType, CreateCommand,
    CreateCommandOption,
};

/// The command's name for a chat prefix: its letters, digits, `-` and `_`,
/// lower-case, at most 32 (`!sg ` gives `sg`); `shipgate` if none.
pub fn command_name(prefix: &str) -> String {
    let name: String = prefix
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_'))
        .flat_map(char::to_lowercase)
        .take(32)
        .collect();
    if name.is_empty() {
        "shipgate".to_owned()
    } else {
        name
    }
}

/// Discord's limits: a description of at most 100 characters; a message
/// of at most 2,000 (the answer repeats the command after the prefix).
const DESCRIPTION_MAX: usize = 100;
pub const TEXT_MAX: u16 = 1900;

/// The command as registered: one required text option, `command`.
pub fn definition(name: &str, prefix: &str) -> CreateCommand {
    let mut about = format!(
        "What you would type after `{}`: status, rc request REASON, verify all, help",
        prefix.trim()
    );
    if about.chars().count() > DESCRIPTION_MAX {
        about = "What you would type after the prefix: status, verify all, help".to_owned();
    }
    CreateCommand::new(name)
        .description("Talk to shipgate: release candidates, verification, releases")
        .add_option(
            CreateCommandOption::new(CommandOptionType::String, "command", about)
                .required(true)
                .max_length(TEXT_MAX),
        )
}

/// The chat text this use of the command stands for (`invocation` is the
/// normalised prefix, e.g. `!sg `).
pub fn command_text(cmd: &CommandInteraction, invocation: &str) -> String {
    let args = cmd
        .data
        .options
        .iter()
        .find(|o| o.name == "command")
        .and_then(|o| match &o.value {
            CommandDataOptionValue::String(s) => Some(s.as_str()),
            _ => None,
        })
        .unwrap_or("");
    typed(args, invocation)
}

/// The typed form of a command's text: `invocation` and the text, which
/// may itself start with the prefix (`/sg command: !sg status` means
/// `!sg status`, not `!sg !sg status`).
fn typed(args: &str, invocation: &str) -> String {
    let args = args.trim();
    let p = invocation.trim();
    let rest = args
        .get(..p.len())
        .filter(|head| !p.is_empty() && head.eq_ignore_ascii_case(p))
        .map(|_| &args[p.len()..])
        .filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace));
    format!("{invocation}{}", rest.map_or(args, str::trim))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_prefix() {
        for (prefix, name) in [
            ("!sg ", "sg"),
            ("!ship", "ship"),
            ("/SG ", "sg"),
            ("!", "shipgate"),
            ("", "shipgate"),
            ("!release-bot ", "release-bot"),
        ] {
            assert_eq!(command_name(prefix), name, "{prefix:?}");
        }
        assert_eq!(command_name(&"x".repeat(40)).len(), 32);
    }

    #[test]
    fn the_text_is_what_would_be_typed() {
        for (args, text) in [
            ("status", "!sg status"),
            ("  verify all ", "!sg verify all"),
            ("!sg status", "!sg status"),
            ("!SG rc request x", "!sg rc request x"),
            ("!sgx status", "!sg !sgx status"),
            ("!sg", "!sg "),
            ("é", "!sg é"),
        ] {
            assert_eq!(typed(args, "!sg "), text, "{args:?}");
        }
        assert_eq!(typed("status", ""), "status");
    }

    #[test]
    fn descriptions_stay_under_discords_limit() {
        for prefix in ["!sg ", &"!x".repeat(60)] {
            let json = serde_json::to_value(definition("sg", prefix)).unwrap_or_default();
            let about = json["options"][0]["description"].as_str().unwrap_or("");
            assert!(
                !about.is_empty() && about.chars().count() <= DESCRIPTION_MAX,
                "{about}"
            );
            assert_eq!(json["options"][0]["max_length"], TEXT_MAX);
        }
    }
}
