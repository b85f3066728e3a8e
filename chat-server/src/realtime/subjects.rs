//! The NATS subjects of one deployment ([`Subjects`]), derived from its prefix
//! (`serve --nats-subject-prefix`, [`crate::ServerConfig::nats_subject_prefix`]); used by
//! [`super::nats`], re-exported by [`super::cluster`].
//!
//! Every subject of a deployment starts with its prefix
//! (`serve --nats-subject-prefix`, default [`DEFAULT_SUBJECT_PREFIX`]) and has exactly two
//! tokens after it: events go to `<prefix>.ev.<app>`, presence to `<prefix>.presence.all`,
//! and a node subscribes to `<prefix>.*.*` (one subscription, so each origin's messages
//! arrive in its order). A subject matches `<prefix>.*.*` only when it starts with the
//! prefix's tokens and has exactly two more, so deployments with different prefixes never
//! receive each other's messages, even when one prefix extends the other (`onyxchat` and
//! `onyxchat.staging`). A prefix is one or more dot-separated tokens, each non-empty and
//! free of whitespace, control characters, `*` and `>` ([`SubjectPrefixError`]).
//! Receivers also handle only the exact shapes of their own deployment (the presence
//! subject, [`Subjects::is_event`]), whatever else a broker hands them.

/// The subject prefix of a deployment that names none (`serve --nats-subject-prefix`).
pub const DEFAULT_SUBJECT_PREFIX: &str = "onyxchat";
/// The longest subject prefix accepted, in bytes.
pub const MAX_SUBJECT_PREFIX: usize = 128;

/// Why a subject prefix is refused (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubjectPrefixError {
    /// The prefix is empty.
    #[error("the NATS subject prefix is empty")]
    Empty,
    /// A token is empty: the prefix starts or ends with `.`, or holds `..`.
    #[error(
        "the NATS subject prefix {prefix:?} has an empty token (it starts or ends with `.`, \
         or holds `..`)"
    )]
    EmptyToken {
        /// The prefix.
        prefix: String,
    },
    /// A character a subject token cannot hold.
    #[error(
        "the NATS subject prefix {prefix:?} holds {found:?}: subject tokens cannot hold \
         whitespace, control characters, `*` or `>`"
    )]
    BadCharacter {
        /// The prefix.
        prefix: String,
        /// The first character refused.
        found: char,
    },
    /// Longer than [`MAX_SUBJECT_PREFIX`].
    #[error("the NATS subject prefix is {len} bytes long, more than {MAX_SUBJECT_PREFIX}")]
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
}

/// The subjects of one deployment, derived from its prefix (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
    presence: String,
    all: String,
}

impl Subjects {
    /// The subjects under `prefix`, once it is checked.
    pub fn new(prefix: &str) -> Result<Self, SubjectPrefixError> {
        if prefix.is_empty() {
            return Err(SubjectPrefixError::Empty);
        }
        if prefix.len() > MAX_SUBJECT_PREFIX {
            return Err(SubjectPrefixError::TooLong { len: prefix.len() });
        }
        if let Some(found) = prefix
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '*' | '>'))
        {
            return Err(SubjectPrefixError::BadCharacter {
                prefix: prefix.to_owned(),
                found,
            });
        }
        if prefix.split('.').any(str::is_empty) {
            return Err(SubjectPrefixError::EmptyToken {
                prefix: prefix.to_owned(),
            });
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            presence: format!("{prefix}.presence.all"),
            all: format!("{prefix}.*.*"),
        })
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The subject of presence messages: `<prefix>.presence.all`.
    pub fn presence(&self) -> &str {
        &self.presence
    }

    /// What a node subscribes to (events of every app, and presence): `<prefix>.*.*`.
    pub fn all(&self) -> &str {
        &self.all
    }

    /// The event subject of `app`: `<prefix>.ev.<app>` (characters a subject token cannot
    /// hold become `_`; the header names the app exactly).
    pub fn event(&self, app: &str) -> String {
        let token: String = app
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}.ev.{token}", self.prefix)
    }

    /// Whether `subject` is an event subject of this deployment.
    pub fn is_event(&self, subject: &str) -> bool {
        subject
            .strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_prefix(".ev."))
            .is_some_and(|app| !app.is_empty() && !app.contains('.'))
    }
}

impl Default for Subjects {
    fn default() -> Self {
        Self {
            prefix: DEFAULT_SUBJECT_PREFIX.to_owned(),
            presence: format!("{DEFAULT_SUBJECT_PREFIX}.presence.all"),
            all: format!("{DEFAULT_SUBJECT_PREFIX}.*.*"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_subjects_hold_one_token_per_app() {
        let subjects = Subjects::default();
        assert_eq!(subjects.event("app_x1"), "onyxchat.ev.app_x1");
        assert_eq!(subjects.event("a.b*>"), "onyxchat.ev.a_b__");
        assert!(subjects.is_event("onyxchat.ev.app_x1"));
        assert!(!subjects.is_event("onyxchat.presence.all"));
        assert!(!subjects.is_event("onyxchat.ev."));
    }

    #[test]
    fn subject_prefixes_are_checked_and_never_overlap() {
        let staging = Subjects::new("acme.staging").unwrap();
        assert_eq!(staging.prefix(), "acme.staging");
        assert_eq!(staging.event("app_1"), "acme.staging.ev.app_1");
        assert_eq!(staging.presence(), "acme.staging.presence.all");
        assert_eq!(staging.all(), "acme.staging.*.*");
        assert_eq!(Subjects::default(), Subjects::new("onyxchat").unwrap());
        assert_eq!(Subjects::new(""), Err(SubjectPrefixError::Empty));
        for bad in [".a", "a.", "a..b", "."] {
            assert!(
                matches!(
                    Subjects::new(bad),
                    Err(SubjectPrefixError::EmptyToken { .. })
                ),
                "{bad}"
            );
        }
        for (bad, found) in [("a b", ' '), ("a.*", '*'), ("a.>", '>'), ("a\tb", '\t')] {
            assert_eq!(
                Subjects::new(bad),
                Err(SubjectPrefixError::BadCharacter {
                    prefix: bad.to_owned(),
                    found
                })
            );
        }
        let long = "a".repeat(MAX_SUBJECT_PREFIX + 1);
        assert!(matches!(
            Subjects::new(&long),
            Err(SubjectPrefixError::TooLong { .. })
        ));
        // One prefix extending another: neither deployment's subscription matches the
        // other's subjects (NATS: `*` is exactly one token).
        let prod = Subjects::new("acme").unwrap();
        let nested = Subjects::new("acme.ev").unwrap();
        for (a, b) in [(&prod, &staging), (&prod, &nested)] {
            for (sub, other) in [(a, b), (b, a)] {
                for subject in [other.event("app_1"), other.presence().to_owned()] {
                    assert!(
                        !matches_subject(sub.all(), &subject),
                        "{} ~ {subject}",
                        sub.all()
                    );
                }
            }
        }
        assert!(matches_subject(prod.all(), &prod.event("app_1")));
        assert!(matches_subject(prod.all(), prod.presence()));
    }

    /// NATS subject matching, for the test above: `*` is one token, `>` the rest.
    fn matches_subject(pattern: &str, subject: &str) -> bool {
        let (mut p, mut s) = (pattern.split('.'), subject.split('.'));
        loop {
            match (p.next(), s.next()) {
                (Some(">"), Some(_)) => return true,
                (Some("*"), Some(_)) => {}
                (Some(a), Some(b)) if a == b => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}
