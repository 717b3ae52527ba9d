#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Hostile input: every file below gets a clean error (or, where the text is
//! harmless, a clean success), quickly, and never a panic.

use std::time::{Duration, Instant};

use shipgate::rules::source::MAX_FILE_BYTES;
use shipgate::rules::{Diagnostic, RuleSet, Source, compile};

/// A generous bound for "fast" in an unoptimised build on a busy machine.
const FAST: Duration = Duration::from_secs(5);

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    assert!(took < FAST, "{what} took {took:?}");
    out
}

/// Checks the bytes like a file from disk, then compiles them.
fn compile_bytes(name: &str, bytes: &[u8]) -> Result<RuleSet, Vec<Diagnostic>> {
    let source = Source::from_bytes(name, bytes).map_err(|d| vec![*d])?;
    compile(vec![source])
}

/// Compiles `bytes`, expecting failure; every diagnostic must have a
/// position and a plain message.
fn errors(name: &str, bytes: &[u8]) -> Vec<Diagnostic> {
    let result = timed(name, || compile_bytes(name, bytes));
    let ds = match result {
        Ok(_) => panic!("{name}: expected errors, but it compiled"),
        Err(ds) => ds,
    };
    assert!(!ds.is_empty(), "{name}: an error with no diagnostics");
    for d in &ds {
        assert!(d.position().is_some(), "{name}: no position: {d}");
        assert!(!d.message.contains("internal"), "{name}: {d}");
        // Rendering must not panic or take long either.
        let rendered = timed(name, || d.render(false));
        let first_word = d.message.split_whitespace().next().unwrap_or("");
        assert!(rendered.contains(first_word), "{name}: {rendered}");
    }
    ds
}

fn ok(name: &str, bytes: &[u8]) -> RuleSet {
    match timed(name, || compile_bytes(name, bytes)) {
        Ok(set) => set,
        Err(ds) => panic!(
            "{name}: expected it to compile, got:\n{}",
            ds.iter()
                .map(|d| d.one_line())
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

// ------------------------------------------------------------------ size

#[test]
fn a_file_over_one_mib_is_refused_before_parsing() {
    // Valid rules text, just too much of it.
    let mut text = String::from("window a { open always }\n");
    while text.len() <= MAX_FILE_BYTES {
        text.push_str("# padding padding padding padding padding padding padding\n");
    }
    let ds = errors("big.rules", text.as_bytes());
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].code, "file-too-large");
    assert!(ds[0].message.contains(&text.len().to_string()), "{}", ds[0]);
    assert!(ds[0].message.contains("1 MiB"), "{}", ds[0]);
    assert_eq!(ds[0].position().unwrap(), "big.rules:1:1");
}

#[test]
fn a_file_of_exactly_one_mib_is_read() {
    let mut text = String::from("window a { open always }\n");
    let line = "# padding padding padding padding padding padding padding\n";
    while text.len() + line.len() <= MAX_FILE_BYTES {
        text.push_str(line);
    }
    while text.len() < MAX_FILE_BYTES {
        text.push(' ');
    }
    assert_eq!(text.len(), MAX_FILE_BYTES);
    let set = ok("limit.rules", text.as_bytes());
    assert!(set.window(None, "a").is_some());
}

#[test]
fn a_big_file_on_disk_is_refused_through_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.rules");
    std::fs::write(&path, vec![b'#'; MAX_FILE_BYTES + 1]).unwrap();
    let ds = timed("load big", || {
        shipgate::rules::load(std::slice::from_ref(&path))
    })
    .unwrap_err();
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].code, "file-too-large");
    // A file-level error: it names the file, and no position (the file is
    // refused by its size before it is read).
    let file = path.display().to_string();
    assert!(ds[0].message.contains(&file), "{}", ds[0]);
    assert!(ds[0].message.contains("1 MiB"), "{}", ds[0]);
    assert_eq!(ds[0].position(), None, "{}", ds[0]);
    // The same directory, read as a directory, says the same.
    let ds = shipgate::rules::load(&[dir.path().to_path_buf()]).unwrap_err();
    assert_eq!(ds[0].code, "file-too-large");
}

#[test]
fn problems_in_several_files_on_disk_are_all_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.rules"), b"window a { open always }\x00").unwrap();
    std::fs::write(dir.path().join("b.rules"), b"window b { open \xff }").unwrap();
    std::fs::write(dir.path().join("c.rules"), b"window c { open always }").unwrap();
    let ds = shipgate::rules::load(&[dir.path().to_path_buf()]).unwrap_err();
    let codes: Vec<&str> = ds.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["nul-byte", "invalid-utf8"], "{ds:#?}");
    assert!(
        ds[0].position().unwrap().ends_with("a.rules:1:25"),
        "{ds:#?}"
    );
    assert!(
        ds[1].position().unwrap().ends_with("b.rules:1:17"),
        "{ds:#?}"
    );
}

// ------------------------------------------------------------------ bytes

#[test]
fn invalid_utf8_names_the_byte_offset_and_position() {
    let cases: Vec<(&str, Vec<u8>, usize, &str)> = vec![
        // (name, bytes, offset of the bad byte, line:col)
        ("start.rules", b"\xffwindow a {}".to_vec(), 0, "1:1"),
        (
            "third-line.rules",
            b"window a {\n    open mon\n\xfe}\n".to_vec(),
            24,
            "3:1",
        ),
        // Columns count characters: `é` is two bytes, one column.
        (
            "after-accent.rules",
            "# café \n  x".bytes().chain([0xc3, 0x28]).collect(),
            12,
            "2:4",
        ),
        // A multi-byte character cut off at the end of the file.
        (
            "truncated.rules",
            b"window a { open always }\n# \xe2\x82".to_vec(),
            27,
            "2:3",
        ),
        // A lone continuation byte after CRLF lines.
        (
            "crlf.rules",
            b"window a {\r\n  open always\r\n}\r\n\x80".to_vec(),
            30,
            "4:1",
        ),
    ];
    for (name, bytes, offset, line_col) in cases {
        assert!(
            std::str::from_utf8(&bytes).is_err(),
            "{name} is valid UTF-8"
        );
        let ds = errors(name, &bytes);
        assert_eq!(ds.len(), 1, "{name}: {ds:#?}");
        let d = &ds[0];
        assert_eq!(d.code, "invalid-utf8", "{name}");
        assert!(
            d.message.contains(&format!("offset {offset}")),
            "{name}: {}",
            d.message
        );
        assert_eq!(
            d.position().unwrap(),
            format!("{name}:{line_col}"),
            "{name}"
        );
        assert_eq!(d.to_json()["code"], "invalid-utf8");
    }
}

#[test]
fn nul_bytes_are_refused_with_their_offset() {
    for (bytes, offset, line_col) in [
        (&b"\0"[..], 0, "1:1"),
        (&b"window a {\n  open always\0\n}"[..], 24, "2:14"),
        (&b"# \0\0\0 binary junk\n"[..], 2, "1:3"),
    ] {
        let ds = errors("nul.rules", bytes);
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].code, "nul-byte");
        assert!(
            ds[0].message.contains(&format!("offset {offset}")),
            "{}",
            ds[0]
        );
        assert_eq!(ds[0].position().unwrap(), format!("nul.rules:{line_col}"));
    }
}

// ------------------------------------------------------------------ shape

#[test]
fn very_long_lines() {
    let long = "x".repeat(500_000);

    // A 500 KB comment is harmless.
    let text = format!("# {long}\nwindow a {{ open always }}\n");
    ok("long-comment.rules", text.as_bytes());

    // A 500 KB label is a label.
    let text = format!("window a {{\n    closed dec 25 \"{long}\"\n    open always\n}}\n");
    let set = ok("long-label.rules", text.as_bytes());
    assert!(set.window(None, "a").is_some());

    // A 500 KB word where a day should be: one short, clear error.
    let text = format!("window a {{ open {long} }}\n");
    let ds = errors("long-word.rules", text.as_bytes());
    assert_eq!(ds.len(), 1, "{ds:#?}");
    assert_eq!(ds[0].code, "syntax");
    assert_eq!(ds[0].position().unwrap(), "long-word.rules:1:17");
    assert!(
        ds[0].message.len() < 500,
        "message is {} bytes",
        ds[0].message.len()
    );

    // A 500 KB name: fine for the parser; an unknown window reports it.
    let text = format!(
        "window {long} {{ open always }}\ntest \"t\" {{ expect y{long} open at 2026-01-01 00:00 }}\n"
    );
    let ds = errors("long-name.rules", text.as_bytes());
    assert_eq!(ds[0].code, "unknown-window");
    assert_eq!(ds[0].position().unwrap(), "long-name.rules:2:19");

    // A 500 KB line of separators.
    let text = format!("window a {{ open mon{} }}\n", ",".repeat(500_000));
    let ds = errors("commas.rules", text.as_bytes());
    assert_eq!(ds[0].position().unwrap(), "commas.rules:1:21");
}

#[test]
fn deep_nesting() {
    // 100,000 opening braces: nothing nests in this language, so the first
    // one is already wrong.
    let ds = errors("braces.rules", "{".repeat(100_000).as_bytes());
    assert_eq!(ds[0].code, "syntax");
    assert_eq!(ds[0].position().unwrap(), "braces.rules:1:1");

    // Windows opened inside windows, on one line and on many.
    let ds = errors("windows.rules", "window a { ".repeat(20_000).as_bytes());
    assert_eq!(ds[0].code, "syntax");
    assert_eq!(ds[0].position().unwrap(), "windows.rules:1:12");
    let ds = errors(
        "window-lines.rules",
        "window a {\n".repeat(20_000).as_bytes(),
    );
    assert_eq!(ds[0].position().unwrap(), "window-lines.rules:2:1");
    // Recovery reports many of them, but not without bound.
    assert!(ds.len() > 1 && ds.len() <= 100, "{} errors", ds.len());

    // Closing braces only.
    let ds = errors("closers.rules", "}".repeat(100_000).as_bytes());
    assert_eq!(ds[0].position().unwrap(), "closers.rules:1:1");

    // Many valid definitions are not nesting: a file just under 1 MiB of
    // windows compiles quickly (finding each one's line must not rescan
    // the file).
    let mut text = String::new();
    let mut last = 0;
    while text.len() < MAX_FILE_BYTES - 100 {
        last += 1;
        text.push_str(&format!("window w{last} {{ open mon-thu 08:00-16:00 }}\n"));
    }
    let set = ok("many.rules", text.as_bytes());
    let w = set.window(None, &format!("w{last}")).unwrap();
    assert_eq!(w.origin.line, last);
}

#[test]
fn unterminated_strings() {
    let cases = [
        ("timezone \"America/New_York\n", "1:10"),
        ("timezone \"America/New_York", "1:10"),
        ("window a {\n    open always \"label\n}\n", "2:17"),
        ("window a {\n    open always \"label\r\n}\r\n", "2:17"),
        ("exception e \"desc { opens a }\n", "1:13"),
        ("test \"t { }\n", "1:6"),
        // An escaped quote does not close the text.
        ("window a { open always \"say \\\" }\n", "1:24"),
        // A backslash at the very end: the backslash is the problem.
        ("window a { open always \"\\", "1:25"),
        ("\"", "1:1"),
    ];
    for (text, line_col) in cases {
        let ds = errors("str.rules", text.as_bytes());
        let d = &ds[0];
        assert!(
            d.code == "unclosed-string" || d.code == "syntax" || d.code == "bad-escape",
            "{text:?}: {d}"
        );
        assert_eq!(
            d.position().unwrap(),
            format!("str.rules:{line_col}"),
            "{text:?}"
        );
        assert!(
            d.help.as_deref().unwrap_or("").contains('"') || d.message.contains("never closed"),
            "{text:?}: {d}"
        );
    }
}

#[test]
fn empty_and_blank_files_compile_to_nothing() {
    for (name, text) in [
        ("empty.rules", String::new()),
        (
            "comments.rules",
            "# just\n# comments\n#\n#no space".to_owned(),
        ),
        ("crlf.rules", "\r\n".repeat(10_000)),
        ("cr.rules", "\r".repeat(10_000)),
        ("spaces.rules", " \t \n".repeat(10_000)),
        ("crlf-comments.rules", "# a comment\r\n".repeat(10_000)),
    ] {
        let set = ok(name, text.as_bytes());
        assert!(set.window_names(None).is_empty(), "{name}");
        assert!(set.product_names().is_empty(), "{name}");
    }
}

#[test]
fn crlf_files_report_the_same_positions_as_lf_files() {
    let lf = "window a {\n    open mon 25:00-26:00\n}\n\nwindow b {\n    opne always\n}\n";
    let crlf = lf.replace('\n', "\r\n");
    let positions = |text: &str| -> Vec<String> {
        errors("x.rules", text.as_bytes())
            .iter()
            .map(|d| d.position().unwrap())
            .collect()
    };
    // The syntax error in `b` does not hide the impossible times in `a`.
    assert_eq!(
        positions(lf),
        ["x.rules:2:14", "x.rules:2:20", "x.rules:6:5"]
    );
    assert_eq!(positions(&crlf), positions(lf));
}

#[test]
fn odd_characters() {
    // A byte-order mark, emoji, right-to-left marks and tabs.
    for text in [
        "\u{feff}window a { open always }\n",
        "window a { open always \"🚀 launch\" }\n",
        "window a {\n\topen\tmon\t08:00-09:00\n}\n",
        "# \u{202e} reversed\nwindow a { open always }\n",
    ] {
        // Either it compiles or it is refused with a position: no panic.
        if let Err(ds) = timed(text, || compile_bytes("odd.rules", text.as_bytes())) {
            for d in ds {
                assert!(d.position().is_some(), "{text:?}: {d}");
            }
        }
    }
    // Non-ASCII where a name should be: a clean syntax error.
    let ds = errors("name.rules", "window prodüction { open always }".as_bytes());
    assert_eq!(ds[0].code, "syntax");
    assert_eq!(ds[0].position().unwrap(), "name.rules:1:12");
}

#[test]
fn huge_numbers() {
    for (text, code) in [
        (
            "window a { open always }\nexception e { opens a approvals 99999999999999999999999 }\n",
            "bad-number",
        ),
        ("window a { closed dec 99999 }\n", "syntax"),
        ("window a { closed 99999-01-01 }\n", "syntax"),
        ("window a { open mon 99:99-00:00 }\n", "impossible-time"),
        (
            "window a { open always }\ntest \"t\" { expect a open at 9999-12-31 23:59 -23:59 }\n",
            "",
        ),
    ] {
        match timed(text, || compile_bytes("num.rules", text.as_bytes())) {
            Ok(_) => assert_eq!(code, "", "{text:?} compiled"),
            Err(ds) => {
                assert_eq!(ds[0].code, code, "{text:?}: {ds:#?}");
                assert!(ds[0].position().is_some());
            }
        }
    }
}

/// A 120,000-character line once made the report renderer panic; the
/// snippet is now cut around the problem, with the caret on the screen.
#[test]
fn a_120000_character_line_renders_cut_around_the_problem() {
    let text = format!(
        "window w {{\n    open {}xyz 08:00-16:00\n}}\n",
        " ".repeat(120_000)
    );
    let ds = errors("long.rules", text.as_bytes());
    let report = ds[0].render(false);
    assert!(report.lines().all(|l| l.chars().count() < 200), "{report}");
    assert!(report.contains("xyz"), "{report}");
    assert!(report.contains("long.rules:2:120010"), "{report}");
}
