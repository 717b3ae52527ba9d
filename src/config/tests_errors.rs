//! Every error a config can produce, with its line and column.

use std::path::Path;

use super::*;

type Want = (&'static str, Option<(usize, usize)>, &'static str);

fn problems(text: &str) -> Vec<Problem> {
    match Config::from_str(text, Path::new("team/shipgate.ron")) {
        Ok(_) => panic!("config should not load:\n{text}"),
        Err(e) => e.problems().to_vec(),
    }
}

/// Compares one case; returns what differs, so a table reports every
/// failing row at once.
fn differences(name: &str, text: &str, want: &[Want]) -> Vec<String> {
    let got = problems(text);
    let shown: Vec<String> = got.iter().map(|p| p.one_line("f")).collect();
    if got.len() != want.len() {
        return vec![format!(
            "{name}: wanted {} problems, got {shown:#?}",
            want.len()
        )];
    }
    let mut out = Vec::new();
    for (p, (code, pos, needle)) in got.iter().zip(want) {
        let full = p.one_line("f");
        let at = p.at.map(|a| (a.line, a.column));
        if p.code != *code || at != *pos || !full.contains(needle) {
            out.push(format!(
                "{name}: wanted {code} at {pos:?} containing `{needle}`, got {} at {at:?}: {full}",
                p.code
            ));
        }
    }
    out
}

fn check_table(cases: &[(&str, &str, Want)]) {
    let failures: Vec<String> = cases
        .iter()
        .flat_map(|(name, text, want)| differences(name, text, std::slice::from_ref(want)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn syntax_and_shape_errors() {
    let cases: &[(&str, &str, Want)] = &[
        (
            "missing comma",
            "(\n    products: [(name: \"web\")]\n    people: [],\n)",
            ("syntax", Some((3, 5)), "expected a comma"),
        ),
        (
            "unknown field in a person",
            "(\n    products: [(name: \"web\")],\n    people: [\n        (name: \"ana\", timezon: \"UTC\"),\n    ],\n)",
            (
                "unknown-field",
                Some((4, 23)),
                "unknown field `timezon` in a person (help: did you mean `timezone`?",
            ),
        ),
        (
            "unknown top-level field",
            "(\n    products: [(name: \"web\")],\n    databse: \"x.db\",\n)",
            (
                "unknown-field",
                Some((3, 5)),
                "in the top level (help: did you mean `database`?",
            ),
        ),
        (
            "unknown field in an action",
            "(\n    products: [(\n        name: \"web\",\n        actions: (on_cut: Command(\n            program: \"make\",\n            retries: 3,\n        )),\n    )],\n)",
            (
                "unknown-field",
                Some((6, 13)),
                "unknown field `retries` in a `Command` action",
            ),
        ),
        (
            "unknown action kind",
            "(\n    products: [(\n        name: \"web\",\n        actions: (on_cut: Shell(program: \"make\")),\n    )],\n)",
            (
                "unknown-variant",
                Some((4, 27)),
                "unknown action kind `Shell` (help: the choices here are `Command` and `Http`)",
            ),
        ),
        (
            "unknown secret source",
            "(\n    products: [(name: \"web\")],\n    http: (api_token: Envv(\"X\")),\n)",
            (
                "unknown-variant",
                Some((3, 23)),
                "unknown secret source `Envv` (help: did you mean `Env`?",
            ),
        ),
        (
            "missing field",
            "(\n    products: [(name: \"web\")],\n    people: [(name: \"ana\")],\n)",
            (
                "missing-field",
                Some((3, 26)),
                "a person needs the field `timezone`, which is missing",
            ),
        ),
        (
            "duplicate field",
            "(\n    products: [(name: \"web\", name: \"api\")],\n)",
            (
                "duplicate-field",
                Some((2, 30)),
                "the field `name` is written twice in a product",
            ),
        ),
        (
            "wrong type",
            "(\n    seed: \"x\",\n)",
            ("syntax", Some((2, 11)), "expected integer"),
        ),
    ];
    check_table(cases);
}

/// Every semantic problem in one file is reported, in file order.
const MANY: &str = r#"(
    console: (person: "anna", product: "wbe"),
    products: [
        (name: "web", channels: (discord: "100")),
        (name: "api", channels: (discord: "100")),
        (name: "web"),
    ],
    people: [
        (name: "ana", timezone: "America/New_Yrok", git: ["ana@acme.example"], chat: (discord: "200")),
        (name: "ben", timezone: "Europe/Berlin", git: ["ANA@acme.example"], chat: (discord: "200")),
        (name: "ana", timezone: "Asia/Kolkata"),
    ],
)"#;

#[test]
fn all_semantic_errors_at_once() {
    let failures = differences(
        "many",
        MANY,
        &[
            (
                "unknown-person",
                Some((2, 23)),
                "`console.person` names `anna`, who is not in `people` (help: did you mean `ana`?)",
            ),
            (
                "unknown-product",
                Some((2, 40)),
                "`console.product` names `wbe`, which is not in `products` (help: did you mean `web`?)",
            ),
            (
                "duplicate-channel",
                Some((5, 43)),
                "the products `web` and `api` both use the discord channel `100`",
            ),
            (
                "duplicate-product",
                Some((6, 16)),
                "the product `web` is defined twice (help: names must be unique (ignoring case); `web` is defined at 4:16)",
            ),
            (
                "unknown-timezone",
                Some((9, 33)),
                "unknown time zone `America/New_Yrok` for the person `ana` (help: did you mean `America/New_York`?)",
            ),
            (
                "duplicate-git",
                Some((10, 56)),
                "the git identity `ANA@acme.example` is claimed by both `ana` and `ben`",
            ),
            (
                "duplicate-chat-id",
                Some((10, 93)),
                "the discord id `200` is claimed by both `ana` and `ben`",
            ),
            (
                "duplicate-person",
                Some((11, 16)),
                "the person `ana` is defined twice",
            ),
        ],
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn one_semantic_error_each() {
    let cases: &[(&str, &str, Want)] = &[
        (
            "no products",
            "()",
            ("no-products", None, "the config names no products"),
        ),
        (
            "city as time zone",
            "(\n    products: [(name: \"web\")],\n    people: [(name: \"ana\", timezone: \"Berlin\")],\n)",
            (
                "unknown-timezone",
                Some((3, 38)),
                "did you mean `Europe/Berlin`?",
            ),
        ),
        (
            "hopeless time zone",
            "(\n    products: [(name: \"web\")],\n    people: [(name: \"ana\", timezone: \"Mars/Olympus_Mons\")],\n)",
            (
                "unknown-timezone",
                Some((3, 38)),
                "use an IANA time zone name",
            ),
        ),
        (
            "person names differing only in case",
            "(\n    products: [(name: \"web\")],\n    people: [\n        (name: \"ana\", timezone: \"UTC\"),\n        (name: \"Ana\", timezone: \"UTC\"),\n    ],\n)",
            (
                "duplicate-person",
                Some((5, 16)),
                "the person `Ana` is defined twice",
            ),
        ),
        (
            "console name taken by another's name",
            "(\n    products: [(name: \"web\")],\n    people: [\n        (name: \"ana\", timezone: \"UTC\"),\n        (name: \"clara\", timezone: \"UTC\", chat: (console: \"ana\")),\n    ],\n)",
            (
                "duplicate-chat-id",
                Some((5, 58)),
                "the console id `ana` is claimed by both `ana` and `clara`",
            ),
        ),
        (
            "matrix id claimed twice",
            "(\n    products: [(name: \"web\")],\n    people: [\n        (name: \"ana\", timezone: \"UTC\", chat: (matrix: \"@a:x\")),\n        (name: \"ben\", timezone: \"UTC\", chat: (matrix: \"@a:x\")),\n    ],\n)",
            (
                "duplicate-chat-id",
                Some((5, 55)),
                "the matrix id `@a:x` is claimed by both `ana` and `ben`",
            ),
        ),
        (
            "console channel taken by another product's name",
            "(\n    products: [\n        (name: \"web\"),\n        (name: \"site\", channels: (console: \"web\")),\n    ],\n)",
            (
                "duplicate-channel",
                Some((4, 44)),
                "the products `web` and `site` both use the console channel `web`",
            ),
        ),
        (
            "matrix room claimed twice",
            "(\n    products: [\n        (name: \"web\", channels: (matrix: \"#r:x\")),\n        (name: \"api\", channels: (matrix: \"#r:x\")),\n    ],\n)",
            (
                "duplicate-channel",
                Some((4, 42)),
                "both use the matrix channel `#r:x`",
            ),
        ),
        (
            "discord id that is not a number",
            "(\n    products: [(name: \"web\")],\n    people: [(name: \"ana\", timezone: \"UTC\", chat: (discord: \"ana#1234\"))],\n)",
            (
                "bad-chat-id",
                Some((3, 61)),
                "`ana#1234` is not a Discord user id",
            ),
        ),
        (
            "repo claimed by two products",
            "(\n    products: [\n        (name: \"web\", repos: [\"acme/web\"]),\n        (name: \"api\", repos: [\"Acme/Web\"]),\n    ],\n)",
            (
                "duplicate-repo",
                Some((4, 31)),
                "the repo `Acme/Web` is claimed by both `web` and `api`",
            ),
        ),
        (
            "name with a space",
            "(\n    products: [(name: \"the web\")],\n)",
            (
                "bad-name",
                Some((2, 23)),
                "a product's name `the web` contains a space",
            ),
        ),
        (
            "bad listen address",
            "(\n    products: [(name: \"web\")],\n    http: (listen: \"localhost\"),\n)",
            (
                "bad-listen",
                Some((3, 20)),
                "`http.listen` is not a host and port",
            ),
        ),
        (
            "matrix without a login",
            "(\n    products: [(name: \"web\")],\n    matrix: (homeserver: \"http://127.0.0.1:8008\", user: \"@sg:localhost\"),\n)",
            (
                "matrix-login",
                Some((3, 5)),
                "`matrix` needs a `password` or an `access_token`",
            ),
        ),
        (
            "http action without a scheme",
            "(\n    products: [(name: \"web\", actions: (on_release: Http(url: \"ci.example/hook\")))],\n)",
            (
                "bad-url",
                Some((2, 62)),
                "the `on_release` URL of `web` is not an http(s) URL",
            ),
        ),
        (
            "empty prefix",
            "(\n    prefix: \"\",\n    products: [(name: \"web\")],\n)",
            ("bad-prefix", Some((2, 13)), "the command `prefix` is empty"),
        ),
        (
            "empty env secret",
            "(\n    products: [(name: \"web\")],\n    discord: (token: Env(\"\")),\n)",
            (
                "bad-secret",
                Some((3, 26)),
                "`discord.token` does not name a secret",
            ),
        ),
    ];
    check_table(cases);
}

#[test]
fn messages_name_the_file_and_render_as_diagnostics() {
    let err = match Config::from_str(MANY, Path::new("team/shipgate.ron")) {
        Ok(_) => panic!("MANY should not load"),
        Err(e) => e,
    };
    let text = err.to_string();
    let first = text.lines().next().unwrap_or("");
    assert!(
        first.starts_with("team/shipgate.ron:2:23: `console.person` names `anna`"),
        "{first}"
    );
    assert_eq!(text.lines().count(), 8);
    let diags = err.diagnostics();
    assert_eq!(diags.len(), 8);
    assert_eq!(
        diags[0].position().as_deref(),
        Some("team/shipgate.ron:2:23")
    );
    let rendered = diags[3].render(false);
    assert!(rendered.contains("first here"), "{rendered}");
    let debug = format!("{err:?}");
    assert!(
        debug.contains("SourceText(") && !debug.contains("Asia/Kolkata"),
        "{debug}"
    );
}
