//! Text measured by display width (a CJK character takes two cells), never by bytes or chars.

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Display width in terminal cells.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` cut to at most `max` cells, ending in `…` when something was cut. Control characters
/// become `?` so that a stray escape in imported data cannot drive the terminal or shift columns.
pub fn truncate(text: &str, max: usize) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if width(&clean) <= max {
        return clean;
    }
    let Some(room) = max.checked_sub(1) else {
        return String::new();
    };
    let mut out = String::new();
    let mut used = 0;
    for c in clean.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Exactly `cells` wide: truncated, then padded on the right. A double-width character that
/// would straddle the edge is dropped and the gap padded, so the next column starts on time.
pub fn fit(text: &str, cells: usize) -> String {
    let mut out = truncate(text, cells);
    let pad = cells.saturating_sub(width(&out));
    out.extend(std::iter::repeat_n(' ', pad));
    out
}

/// Like [`fit`] but aligned right, for numbers.
pub fn fit_right(text: &str, cells: usize) -> String {
    let cut = truncate(text, cells);
    let pad = cells.saturating_sub(width(&cut));
    let mut out: String = std::iter::repeat_n(' ', pad).collect();
    out.push_str(&cut);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_display_width() {
        assert_eq!(truncate("GARCIA, M.", 20), "GARCIA, M.");
        assert_eq!(truncate("GARCIA, M.", 5), "GARC…");
        assert_eq!(truncate("GARCIA", 0), "");
        assert_eq!(truncate("GARCIA", 1), "…");
        // 王小明 is six cells; in five cells two characters and the ellipsis fit.
        assert_eq!(truncate("王小明", 5), "王小…");
        assert_eq!(truncate("王小明", 4), "王…");
        assert_eq!(fit("王小明", 4), "王… ");
        assert_eq!(width(&fit("王小明王小明", 7)), 7);
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit_right("12d", 5), "  12d");
        assert_eq!(fit_right("123456", 3), "12…");
        assert_eq!(truncate("a\u{1b}[2Jb", 10), "a?[2Jb");
    }
}
