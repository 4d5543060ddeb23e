//! Value paths in error messages, written the way the sender would name the value:
//! `args[1].foo[3]`, `args[0]["a key"]`. Shared by the encoder (a value nested too deep) and
//! the validator (where a malformed table goes wrong).

/// Longest key text a path shows before eliding.
const PATH_KEY_MAX: usize = 48;

/// Appends `.key` (or `["key"]` when it is not an identifier) to `path`.
pub(super) fn push_key(path: &mut String, key: &str) {
    let ident = !key.is_empty()
        && key.len() <= PATH_KEY_MAX
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident {
        path.push('.');
        path.push_str(key);
    } else {
        let mut shown: String = key.chars().take(PATH_KEY_MAX).collect();
        if shown.len() < key.len() {
            shown.push('…');
        }
        path.push('[');
        path.push_str(&format!("{:?}", shown));
        path.push(']');
    }
}

/// Appends `[i]` to `path`.
pub(super) fn push_index(path: &mut String, i: usize) {
    path.push_str(&format!("[{i}]"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> String {
        let mut path = String::from("args");
        push_key(&mut path, k);
        path
    }

    #[test]
    fn identifiers_are_dotted_and_other_keys_quoted() {
        assert_eq!(key("foo"), "args.foo");
        assert_eq!(key("_a$1"), "args._a$1");
        assert_eq!(key(""), "args[\"\"]");
        assert_eq!(key("a b"), "args[\"a b\"]");
        assert_eq!(key("1a"), "args[\"1a\"]");
        assert_eq!(key("q\"uote"), "args[\"q\\\"uote\"]");
    }

    #[test]
    fn long_keys_are_elided() {
        let long = "k".repeat(PATH_KEY_MAX + 1);
        assert_eq!(
            key(&long),
            format!("args[\"{}…\"]", "k".repeat(PATH_KEY_MAX))
        );
        let fits = "k".repeat(PATH_KEY_MAX);
        assert_eq!(key(&fits), format!("args.{fits}"));
    }

    #[test]
    fn indices_are_bracketed() {
        let mut path = String::from("args");
        push_index(&mut path, 0);
        push_index(&mut path, 12);
        assert_eq!(path, "args[0][12]");
    }
}
