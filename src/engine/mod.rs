//! The RC lifecycle, as a pure function of state, rules, an event and the
//! time: `handle(&State, &Context, &Event) -> Outcome`.
//!
//! Nothing here reads a clock, the disk or the network. Randomness comes
//! from `Context::seed`, which the caller records, so every decision can be
//! replayed and explained.

pub mod event;
pub mod state;

mod chat;
mod deploy;
pub mod gate;
pub mod gate_answer;
mod lifecycle;
mod manager;
mod release;
mod text;
mod timers;
mod verify;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use crate::rules::policy::Policy;
pub use event::{
    ActionKind, ActionRun, Audit, Card, CardChange, DeploymentAnswer, DeploymentRequest, Effect,
    Event, Post, RcUpdate, ReleaseDecision, Reminder,
};
pub use manager::{ManagerChoice, pick_daily_manager};
pub use state::{Breach, CiStatus, RcState, State, Trigger};
pub use timers::{next_due, product_due};

use crate::rules::RuleSet;

/// A person as the engine sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub tz: Tz,
    pub roles: Vec<String>,
}

/// The team: people and products, from the team config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Team {
    pub people: BTreeMap<String, Member>,
    /// Product name -> the `product` block of the rules it uses, if any.
    pub products: BTreeMap<String, Option<String>>,
    /// The chat command prefix, e.g. `!sg `.
    pub prefix: String,
    /// A person's Matrix id (`@ben:example.org`) or Discord id (digits) ->
    /// their name, from the people's `chat` ids.
    pub chat_ids: BTreeMap<String, String>,
}

/// Whether two names are the same name: names are unique ignoring case.
pub fn same_name(a: &str, b: &str) -> bool {
    // Compared char by char, without allocating: the daemon's entry
    // points look a typed name up among every product's.
    a == b
        || a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
}

/// The one of `names` that equals `wanted` ignoring case: names are unique
/// ignoring case (the config check), so at most one matches. Every entry
/// point (HTTP, webhooks, console, chat adapters, simulate, the handoff
/// target) turns a typed name into the config's spelling through here.
pub fn find_name<'a, S: AsRef<str> + 'a>(
    names: impl IntoIterator<Item = &'a S>,
    wanted: &str,
) -> Option<&'a str> {
    let wanted = wanted.trim();
    names
        .into_iter()
        .map(AsRef::as_ref)
        .find(|n| same_name(n, wanted))
}

/// `names` for a reply: all of them, or the first [`LISTED`] and how many
/// more (a big team's list would drown the answer).
fn name_list(names: &[&str]) -> String {
    const LISTED: usize = 20;
    if names.len() <= LISTED {
        names.join(", ")
    } else {
        format!(
            "{} and {} more",
            names[..LISTED].join(", "),
            names.len() - LISTED
        )
    }
}

impl Team {
    /// The config's spelling of a person's name typed in any case.
    pub fn person_name(&self, name: &str) -> Option<&str> {
        find_name(self.people.keys(), name)
    }

    /// The person `typed` names: their name in any case, their Matrix id
    /// (also as a pill) or their Discord mention. The error says why not.
    pub fn resolve_person(&self, typed: &str) -> Result<&str, String> {
        if let Some(name) = self.person_name(typed) {
            return Ok(name);
        }
        let Some(id) = crate::command::mention::chat_id(typed) else {
            // In name order: `people` is a BTreeMap.
            let names: Vec<&str> = self.people.keys().map(String::as_str).collect();
            let hint = crate::rules::suggest::closest(typed, names.iter().copied())
                .map(|s| format!(" Did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(format!(
                "I don't know `{typed}`.{hint} The team is {}.",
                name_list(&names)
            ));
        };
        match self.chat_ids.get(id.id()) {
            Some(name) => Ok(name),
            None => Err(format!(
                "nobody in the team config has the {} id `{}`: name the person, or add the id to their `chat` ids.",
                id.platform(),
                id.id()
            )),
        }
    }

    /// The config's spelling of a product's name typed in any case.
    pub fn product_name(&self, name: &str) -> Option<&str> {
        find_name(self.products.keys(), name)
    }

    /// The rules product a product uses for overrides.
    pub fn rules_product<'a>(&'a self, rules: &RuleSet, product: &'a str) -> Option<&'a str> {
        match self.products.get(product) {
            Some(Some(p)) => Some(p.as_str()),
            _ if rules.products.contains_key(product) => Some(product),
            _ => None,
        }
    }
}

/// Everything an event is decided against.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub rules: &'a RuleSet,
    pub team: &'a Team,
    pub now: DateTime<Utc>,
    /// The seed for any random choice this event makes.
    pub seed: u64,
}

impl Context<'_> {
    pub fn policy(&self, product: &str) -> Policy {
        self.rules
            .policy(self.team.rules_product(self.rules, product))
            .clone()
    }
}

/// What handling one event produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub state: State,
    pub effects: Vec<Effect>,
    pub audit: Vec<Audit>,
}

/// Handles one event: the new state, the effects to perform, the audit.
pub fn handle(state: &State, ctx: &Context<'_>, event: &Event) -> Outcome {
    // Cloning shares every product's state until the event writes it.
    let mut state = state.clone();
    let (effects, audit) = handle_in_place(&mut state, ctx, event);
    Outcome {
        state,
        effects,
        audit,
    }
}

/// [`handle`] on `state` itself: the effects and the audit. Only the
/// products the event writes are copied; open a journal on
/// `state.products` first ([`state::Products::start_journal`]) to learn
/// which, and to undo them.
pub fn handle_in_place(
    state: &mut State,
    ctx: &Context<'_>,
    event: &Event,
) -> (Vec<Effect>, Vec<Audit>) {
    ensure_products(state, ctx);
    handle_known(state, ctx, event)
}

/// Creates the state of each of the team's products the state lacks, with
/// its daily clock set so that a daily slot already past is not fired
/// late. [`handle_in_place`] does this before every event; a caller that
/// knows the state already has every product of `ctx.team` (the ledger,
/// within one config generation) calls [`handle_known`] instead, so an
/// event does not visit every product.
pub fn ensure_products(state: &mut State, ctx: &Context<'_>) {
    // Both maps are in name order: one walk finds the products the state
    // lacks, without a lookup per product.
    let missing: Vec<&String> = {
        let mut have = state.products.keys().peekable();
        ctx.team
            .products
            .keys()
            .filter(|p| {
                while have.next_if(|h| h < p).is_some() {}
                have.next_if(|h| h == p).is_none()
            })
            .collect()
    };
    for product in missing {
        new_product(state, ctx, product);
    }
}

/// A team product's state on first sight, with its daily clock set so
/// that a daily slot already past is not fired late.
fn new_product(state: &mut State, ctx: &Context<'_>, product: &str) {
    let policy = ctx.policy(product);
    let last = timers::last_daily_slot(&policy, ctx.now);
    state.products.get_or_default(product).last_daily = last;
}

/// [`handle_in_place`] on a state that already holds every product of
/// `ctx.team` (see [`ensure_products`]).
pub fn handle_known(
    state: &mut State,
    ctx: &Context<'_>,
    event: &Event,
) -> (Vec<Effect>, Vec<Audit>) {
    // The event's own product, if the team has it and the state does not
    // yet (a config swapped in since the caller last looked for missing
    // products): one lookup.
    if let Some(product) = event.product()
        && ctx.team.products.contains_key(product)
        && !state.products.contains_key(product)
    {
        new_product(state, ctx, product);
    }
    let mut step = Step {
        ctx: *ctx,
        state,
        effects: Vec::new(),
        audit: Vec::new(),
    };
    match event {
        Event::Merged {
            product,
            change,
            author,
            title,
        } => lifecycle::merged(&mut step, product, change, author, title),
        Event::Chat {
            product,
            from,
            text,
            message_id,
            said,
        } => chat::message(
            &mut step,
            chat::Message {
                product,
                from,
                text,
                said,
                reply_to: message_id.as_deref(),
            },
        ),
        Event::MissedChat {
            product,
            from,
            text,
            message_id,
            sent_at,
            max_age_secs,
            said,
        } => chat::missed(
            &mut step,
            chat::Missed {
                message: chat::Message {
                    product,
                    from,
                    text,
                    said,
                    reply_to: message_id.as_deref(),
                },
                sent_at: *sent_at,
                max_age_secs: *max_age_secs,
            },
        ),
        Event::Ci {
            product,
            rc,
            status,
        } => lifecycle::ci(&mut step, product, *rc, *status),
        Event::Tick => timers::fire(&mut step),
        Event::ActionDone {
            product,
            id,
            ok,
            detail,
        } => lifecycle::action_done(&mut step, product, id, *ok, detail),
        Event::Deployment(req) => deploy::requested(&mut step, req),
        Event::DeploymentCancelled { product, run_id } => {
            deploy::cancelled(&mut step, product, *run_id);
        }
        Event::DeploymentAnswered {
            product,
            id,
            ok,
            detail,
        } => deploy::answered(&mut step, product, id, *ok, detail),
    }
    // Held deployments go as soon as their gate lets them: at the window's
    // opening (a timer) or when an exception is granted (a chat event).
    // (Only products holding some, in name order, found without visiting
    // the others: they have nothing to fire.)
    let holding = step.state.products.holding();
    for product in holding {
        if ctx.team.products.contains_key(&product) {
            deploy::fire_held(&mut step, &product);
        }
    }
    (step.effects, step.audit)
}

/// The state being changed and the effects being collected for one event.
pub(crate) struct Step<'a> {
    pub ctx: Context<'a>,
    pub state: &'a mut State,
    pub effects: Vec<Effect>,
    pub audit: Vec<Audit>,
}

impl Step<'_> {
    pub fn now(&self) -> DateTime<Utc> {
        self.ctx.now
    }

    pub fn post(&mut self, product: &str, text: String, mut mentions: Vec<String>) {
        // Only people in the team config are ever mentioned.
        mentions.retain(|m| self.ctx.team.people.contains_key(m));
        self.effects.push(Effect::Post(Post {
            product: product.to_owned(),
            text,
            mentions,
            reply_to: None,
            card: None,
        }));
    }

    /// Gives the message just posted its [`Card`].
    pub fn card(&mut self, card: Card) {
        if let Some(Effect::Post(p)) = self.effects.last_mut() {
            p.card = Some(card);
        }
    }

    pub fn reply(
        &mut self,
        product: &str,
        reply_to: Option<&str>,
        text: String,
        mut mentions: Vec<String>,
    ) {
        mentions.retain(|m| self.ctx.team.people.contains_key(m));
        self.effects.push(Effect::Post(Post {
            product: product.to_owned(),
            text,
            mentions,
            reply_to: reply_to.map(str::to_owned),
            card: None,
        }));
    }

    /// Asks for a CI action and remembers it until it is reported done.
    pub fn action(&mut self, run: ActionRun) {
        if !self.state.pending_actions.iter().any(|a| a.id == run.id) {
            self.state.pending_actions.push(run.clone());
        }
        self.effects.push(Effect::Action(run));
    }

    /// Answers `person` (mentioned, `@person: text`), threaded to their
    /// message when there is one.
    pub fn tell(&mut self, product: &str, reply_to: Option<&str>, person: &str, text: String) {
        self.reply(
            product,
            reply_to,
            format!("{}: {text}", text::at(person)),
            vec![person.to_owned()],
        );
    }

    pub fn audit(&mut self, actor: Option<&str>, action: &str, detail: String, seed: Option<u64>) {
        self.audit.push(Audit {
            actor: actor.map(str::to_owned),
            action: action.to_owned(),
            detail,
            seed,
        });
    }
}
