//! C2SP tlog-checkpoint: the note body that commits to a tree head.
//!
//! ```text
//! <origin>
//! <tree size, decimal>
//! <root hash, base64>
//! [extension lines…]
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::hash::Hash;
use crate::note::NoteError;

/// A tree head as a checkpoint states it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique name of the log, e.g. `example.com/log2025`.
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Optional further lines, opaque to us.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text, each line ending in a newline.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        );
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        out
    }

    /// Parses note text (not the signatures: see [`crate::note::SignedNote`]).
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(NoteError::Malformed("checkpoint must end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(NoteError::Malformed("checkpoint origin is empty"));
        }
        let size_line = lines
            .next()
            .ok_or(NoteError::Malformed("checkpoint has no size line"))?;
        let canonical = !size_line.is_empty()
            && size_line.bytes().all(|b| b.is_ascii_digit())
            && (size_line == "0" || !size_line.starts_with('0'));
        let size = canonical
            .then(|| size_line.parse::<u64>().ok())
            .flatten()
            .ok_or(NoteError::Malformed(
                "checkpoint size is not a decimal number",
            ))?;
        let root_line = lines
            .next()
            .ok_or(NoteError::Malformed("checkpoint has no root line"))?;
        let root: Hash = BASE64
            .decode(root_line)
            .ok()
            .and_then(|r| r.try_into().ok())
            .ok_or(NoteError::Malformed(
                "checkpoint root is not a base64 SHA-256 hash",
            ))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(NoteError::Malformed("empty checkpoint extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip() {
        let mut cp = Checkpoint::new("example.com/log", 1234, [9u8; 32]);
        cp.extensions.push("ext line".into());
        let text = cp.to_text();
        assert_eq!(
            text,
            "example.com/log\n1234\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\next line\n"
        );
        assert_eq!(Checkpoint::parse(&text).unwrap(), cp);
    }

    #[test]
    fn malformed_checkpoints_are_rejected() {
        let root = BASE64.encode([0u8; 32]);
        for bad in [
            String::new(),
            "origin\n".to_owned(),
            format!("origin\n12\n{root}"),
            format!("\n12\n{root}\n"),
            format!("origin\n012\n{root}\n"),
            format!("origin\n-1\n{root}\n"),
            format!("origin\n18446744073709551616\n{root}\n"),
            "origin\n12\nAAAA\n".to_owned(),
            format!("origin\n12\n{root}\n\n"),
        ] {
            assert!(
                Checkpoint::parse(&bad).is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
