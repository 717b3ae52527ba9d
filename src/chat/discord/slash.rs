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

/// The command as registered: one required text option, `command`.
pub fn definition(name: &str, prefix: &str) -> CreateCommand {
    CreateCommand::new(name)
        .description("Talk to shipgate: release candidates, verification, releases")
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                "command",
                format!(
                    "What you would type after `{}`: status, rc request REASON, verify all, help",
                    prefix.trim()
                ),
            )
            .required(true),
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
        .unwrap_or("")
        .trim();
    format!("{invocation}{args}")
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
}
