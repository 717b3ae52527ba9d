//! `shipgate doctor --config C`: checks what a first deployment gets
//! wrong and prints a checklist, with a fix for each failure. Exit 0 when
//! everything is in order, 1 when something needs fixing.
//!
//! Nothing is changed: no message is posted, no login made, no room
//! joined, no database written (its directory is probed with a file that
//! is removed at once).

mod api;
mod discord;
mod local;
mod matrix;

use std::process::ExitCode;

use super::Failure;
use super::args::DoctorArgs;
use crate::config::Config;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Something to fix.
    Fail,
    /// Not configured, so not checked (said, not failed).
    Off,
}

/// One line of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub status: Status,
    /// What was checked and what was found.
    pub what: String,
    /// For a failure: what to do.
    pub fix: Option<String>,
}

/// The checklist, in the order checked.
#[derive(Debug, Default)]
pub struct Checklist {
    pub items: Vec<Item>,
}

impl Checklist {
    pub fn ok(&mut self, what: impl Into<String>) {
        self.items.push(Item {
            status: Status::Ok,
            what: what.into(),
            fix: None,
        });
    }

    pub fn fail(&mut self, what: impl Into<String>, fix: impl Into<String>) {
        self.items.push(Item {
            status: Status::Fail,
            what: what.into(),
            fix: Some(fix.into()),
        });
    }

    pub fn off(&mut self, what: impl Into<String>) {
        self.items.push(Item {
            status: Status::Off,
            what: what.into(),
            fix: None,
        });
    }

    pub fn failures(&self) -> usize {
        self.items
            .iter()
            .filter(|i| i.status == Status::Fail)
            .count()
    }

    /// The checklist as printed: `ok`, `FAIL` (with `fix:`), `off`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for i in &self.items {
            let mark = match i.status {
                Status::Ok => "ok  ",
                Status::Fail => "FAIL",
                Status::Off => "off ",
            };
            out.push_str(&format!("{mark}  {}\n", i.what));
            if let Some(fix) = &i.fix {
                out.push_str(&format!("      fix: {fix}\n"));
            }
        }
        let n = self.failures();
        if n == 0 {
            out.push_str("all good\n");
        } else {
            out.push_str(&format!(
                "{n} thing{} to fix\n",
                if n == 1 { "" } else { "s" }
            ));
        }
        out
    }
}

pub fn run(args: &DoctorArgs) -> Result<ExitCode, Failure> {
    let mut list = Checklist::default();
    match Config::load(&args.config) {
        Err(e) => list.fail(
            format!(
                "config: {} is not valid:\n{}",
                args.config.display(),
                super::simulate::render_config_error(&e)
            ),
            "correct the config as the messages say (`shipgate check --config` shows the same)",
        ),
        Ok(config) => {
            list.ok(format!("config: {} is valid", args.config.display()));
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| Failure::invalid(format!("error: cannot start the runtime: {e}")))?;
            runtime.block_on(check_all(&config, &mut list));
        }
    }
    outln!("{}", list.render().trim_end());
    Ok(if list.failures() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Every check after the config loaded.
pub async fn check_all(config: &Config, list: &mut Checklist) {
    local::rules(config, list);
    local::database(config, list);
    local::listen(config, list);
    local::secrets(config, list);
    matrix::check(config, list).await;
    discord::check(config, list).await;
    local::forges(config, list).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checklist_marks_and_counts() {
        let mut l = Checklist::default();
        l.ok("a");
        l.off("b");
        assert_eq!(l.failures(), 0);
        assert!(l.render().ends_with("all good\n"));
        l.fail("c", "do d");
        assert_eq!(l.failures(), 1);
        assert_eq!(
            l.render(),
            "ok    a\noff   b\nFAIL  c\n      fix: do d\n1 thing to fix\n"
        );
    }
}
