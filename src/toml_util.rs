//! Locating problems in TOML files, so every config or theme error names a line.

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

/// The line where `key` is set inside `[table]` (or at the top level when `table` is empty), also
/// when written dotted at the top level (`rules.screening = 1`).
pub fn find_key_line(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    let dotted = format!("{table}.{key}");
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.trim().to_string();
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        let name = name.trim().trim_matches('"');
        if (current == table && name == key) || (current.is_empty() && name == dotted) {
            return Some(index + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys() {
        let t = "a = 1\n[rules]\nx = 2\n\n[styles]\noverdue = { fg = \"red\" }\n";
        assert_eq!(find_key_line(t, "", "a"), Some(1));
        assert_eq!(find_key_line(t, "rules", "x"), Some(3));
        assert_eq!(find_key_line(t, "styles", "overdue"), Some(6));
        assert_eq!(find_key_line(t, "rules", "a"), None);
        assert_eq!(line_of(t, 0), 1);
        assert_eq!(line_of(t, 6), 2);
    }
}
