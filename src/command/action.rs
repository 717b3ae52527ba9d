//! Permission actions: what a command needs permission for. One table
//! (the `actions!` invocation below) names every action once with its
//! word; the chat grammar's [`Command::action`](super::Command::action), the rules'
//! `allow ACTION to ROLE` (its words, the policy's map and the readable
//! name of a syntax error), the engine's refusals and `help` all read it.

use std::fmt;

macro_rules! actions {
    (
        allow: $($action:ident = $word:literal),+ ;
        open: $($open:ident = $open_word:literal),+ $(;)?
    ) => {
        /// What a command needs permission for; the rules' `allow` lines
        /// map these to roles.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Action {
            $($action,)+
            $($open,)+
        }

        impl Action {
            /// Every action, in the order the docs list them.
            pub const ALL: &'static [Action] =
                &[$(Action::$action,)+ $(Action::$open,)+];

            /// The words `allow ACTION to ROLE` accepts, in order: every
            /// action that the rules can restrict.
            pub const ALLOW_WORDS: &'static [&'static str] = &[$($word),+];

            /// The action's word ("needs the `request` permission",
            /// `allow request to lead`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$action => $word,)+
                    $(Action::$open => $open_word,)+
                }
            }

            /// The policy setting that restricts it (`allow request`), for
            /// "set twice" errors; `None` for an action open to everyone.
            pub fn allow_setting(self) -> Option<&'static str> {
                match self {
                    $(Action::$action => Some(concat!("allow ", $word)),)+
                    $(Action::$open => None,)+
                }
            }
        }
    };
}

actions! {
    allow:
        Request = "request",
        Object = "object",
        Decide = "decide",
        NotViable = "not-viable",
        Released = "released",
        Release = "release",
        Verify = "verify",
        Handoff = "handoff",
        Away = "away",
        Exception = "exception",
        Approve = "approve";
    open:
        Read = "read";
}

impl Action {
    /// The action `allow WORD` restricts (exact spelling, as the rules
    /// write it); `None` for an unknown word or an action open to everyone.
    pub fn from_allow_word(word: &str) -> Option<Action> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.allow_setting().is_some() && a.as_str() == word)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use pest::Parser as _;

    use super::Action;
    use crate::command::CommandKind;
    use crate::rules::syntax::{Rule, RulesParser, describe};

    /// Every action has one word, the words are distinct, and the words
    /// `allow` takes read back as their action.
    #[test]
    fn every_action_has_a_word_that_round_trips() {
        let mut words: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        words.sort_unstable();
        words.dedup();
        assert_eq!(words.len(), Action::ALL.len(), "two actions share a word");
        for &action in Action::ALL {
            match action.allow_setting() {
                Some(setting) => {
                    assert_eq!(Action::from_allow_word(action.as_str()), Some(action));
                    assert_eq!(setting, format!("allow {action}"));
                    assert!(Action::ALLOW_WORDS.contains(&action.as_str()), "{action}");
                }
                None => assert_eq!(Action::from_allow_word(action.as_str()), None),
            }
        }
        assert_eq!(Action::from_allow_word("Release"), None);
        assert_eq!(Action::from_allow_word("deploy"), None);
    }

    /// The rules grammar's `action_name` accepts exactly the words of the
    /// table (pest grammars are text, so this test is what ties them), and
    /// its readable name lists them all.
    #[test]
    fn the_rules_grammar_takes_exactly_the_allow_words() {
        for &action in Action::ALL {
            let parsed = RulesParser::parse(Rule::action_name, action.as_str())
                .is_ok_and(|p| p.as_str() == action.as_str());
            assert_eq!(
                parsed,
                action.allow_setting().is_some(),
                "grammar vs table for `{action}`"
            );
        }
        assert!(RulesParser::parse(Rule::action_name, "deploy").is_err());
        let readable = describe(Rule::action_name);
        for word in Action::ALLOW_WORDS {
            assert!(readable.contains(&format!("`{word}`")), "{readable}");
        }
    }

    /// Every command needs an action of the table, and every action but
    /// `read` is what some command needs.
    #[test]
    fn every_action_covers_a_command() {
        for &action in Action::ALL {
            let covered = CommandKind::ALL.iter().any(|k| k.action() == action);
            assert!(covered, "no command needs `{action}`");
        }
    }
}
