//! One way to say an error with its causes, for every adapter: HTTP and
//! chat libraries (reqwest, serenity, matrix-sdk, tungstenite) often say
//! only "error sending request" and hide the cause ("Connection refused")
//! in their `source()` chain.

/// An error and its sources, `: `-separated, each said once: a source whose
/// text the line already holds (or an empty one) is passed over.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !more.is_empty() && !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose own text hides its source, as HTTP clients' do.
    #[derive(Debug)]
    struct Outer(&'static str, std::io::Error);
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn a_hidden_cause_is_said_after_the_error() {
        let e = Outer(
            "error sending request",
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"),
        );
        assert_eq!(error_chain(&e), "error sending request: connection refused");
    }

    #[test]
    fn a_cause_the_error_already_says_is_not_said_twice() {
        let e = Outer(
            "cannot connect: connection refused",
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"),
        );
        assert_eq!(error_chain(&e), "cannot connect: connection refused");
        let empty = Outer("closed", std::io::Error::other(""));
        assert_eq!(error_chain(&empty), "closed");
    }

    #[test]
    fn an_error_without_sources_is_its_own_text() {
        assert_eq!(
            error_chain(&std::io::Error::other("M_FORBIDDEN")),
            "M_FORBIDDEN"
        );
    }
}
