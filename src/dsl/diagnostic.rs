//! One located problem in a workflow document: `FILE:LINE:COLUMN: message (at /json/pointer)`.

use std::fmt;

/// A problem found while loading or validating a document.
///
/// `line` and `column` are 1-based; `pointer` is an RFC 6901 JSON pointer into the
/// document ("" for the root), so tools can find the node without re-parsing the text.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
    pub pointer: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The root pointer is "", which reads as nothing at all; "/" is what people expect.
        let pointer = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(
            f,
            "{}:{}:{}: {} (at {})",
            self.file, self.line, self.column, self.message, pointer
        )
    }
}

impl std::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::Diagnostic;

    fn check(pointer: &str, expected: &str) {
        let diagnostic = Diagnostic {
            file: "flow.yaml".into(),
            line: 3,
            column: 7,
            message: "unknown property `foo`".into(),
            pointer: pointer.into(),
        };
        assert_eq!(diagnostic.to_string(), expected);
    }

    #[test]
    fn display() {
        check(
            "/do/0/getPet/foo",
            "flow.yaml:3:7: unknown property `foo` (at /do/0/getPet/foo)",
        );
        check("", "flow.yaml:3:7: unknown property `foo` (at /)");
    }
}
