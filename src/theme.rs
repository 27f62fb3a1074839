//! Themes: `themes/*.toml` embedded in the binary, overridable by files in the user's config
//! directory. Every hex colour carries an explicit 16-colour fallback; `NO_COLOR` means mono.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::domain::{MilestoneState, code_enum};
use crate::toml_util::{find_key_line, line_of};

/// The themes shipped in the binary, in the order `--help` lists them.
pub const BUILT_IN: [(&str, &str); 5] = [
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../themes/colorblind.toml")),
    ("mono", include_str!("../themes/mono.toml")),
];

code_enum! {
    /// Every place the UI takes a style from.
    pub enum Slot {
        Title => "title bar",
        Header => "column headers",
        Band => "band headings",
        Selected => "the selected row",
        Footer => "footer and key hints",
        Muted => "secondary text",
        Flag => "row flags",
        Changed => "rows changed since the board opened",
        Error => "errors",
        Done => "done",
        NotNeeded => "not needed",
        Pending => "pending",
        DueSoon => "due soon",
        Overdue => "overdue",
        Blocked => "blocked",
    }
}

impl Slot {
    pub fn for_state(state: MilestoneState) -> Self {
        match state {
            MilestoneState::Done => Self::Done,
            MilestoneState::NotNeeded => Self::NotNeeded,
            MilestoneState::Pending => Self::Pending,
            MilestoneState::DueSoon => Self::DueSoon,
            MilestoneState::Overdue => Self::Overdue,
            MilestoneState::Blocked => Self::Blocked,
        }
    }
}

/// How many colours the terminal can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// From `NO_COLOR`, `COLORTERM` and `TERM`.
    Auto,
    Truecolor,
    #[value(name = "256")]
    Ansi256,
    #[value(name = "16")]
    Ansi16,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    TrueColor,
    Ansi256,
    Ansi16,
    None,
}

impl ColorChoice {
    /// `get_env` is injected so the decision is testable (and, over SSH, uses the client's TERM).
    pub fn resolve(self, get_env: impl Fn(&str) -> Option<String>) -> ColorDepth {
        match self {
            Self::Truecolor => ColorDepth::TrueColor,
            Self::Ansi256 => ColorDepth::Ansi256,
            Self::Ansi16 => ColorDepth::Ansi16,
            Self::None => ColorDepth::None,
            Self::Auto => {
                if get_env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                    return ColorDepth::None;
                }
                let colorterm = get_env("COLORTERM")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                let term = get_env("TERM").unwrap_or_default().to_ascii_lowercase();
                if term == "dumb" {
                    ColorDepth::None
                } else if colorterm == "truecolor" || colorterm == "24bit" {
                    ColorDepth::TrueColor
                } else if term.contains("256color") {
                    ColorDepth::Ansi256
                } else {
                    ColorDepth::Ansi16
                }
            }
        }
    }
}

/// A theme file's problem, located: `themes/mine.toml:7: styles.overdue.fg: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThemeError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ThemeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ThemeError {}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    fg16: Option<String>,
    bg: Option<String>,
    bg16: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    italic: bool,
    #[serde(default)]
    underlined: bool,
    #[serde(default)]
    reversed: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    description: String,
    #[serde(default)]
    styles: BTreeMap<Slot, StyleSpec>,
}

/// `--theme NAME --color WHEN` as the command line gives them: the colour depth from the
/// environment (`NO_COLOR`, `COLORTERM`, `TERM`), the user's theme directory winning over the
/// built-in files.
pub fn load_for_cli(
    name: &str,
    choice: ColorChoice,
    user_dir: Option<&Path>,
) -> Result<Theme, ThemeError> {
    let depth = choice.resolve(|k| std::env::var(k).ok());
    Theme::load(name, depth, user_dir)
}

/// A resolved theme: one ratatui `Style` per slot for the terminal's colour depth.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub description: String,
    styles: BTreeMap<Slot, Style>,
}

impl Theme {
    pub fn style(&self, slot: Slot) -> Style {
        self.styles.get(&slot).copied().unwrap_or_default()
    }

    pub fn state(&self, state: MilestoneState) -> Style {
        self.style(Slot::for_state(state))
    }

    /// The theme called `name` at `depth`: a user file `<config dir>/themes/<name>.toml` wins over
    /// the built-in one. `ColorDepth::None` always gives the mono theme (`NO_COLOR`).
    pub fn load(
        name: &str,
        depth: ColorDepth,
        user_dir: Option<&Path>,
    ) -> Result<Self, ThemeError> {
        let name = if depth == ColorDepth::None {
            "mono"
        } else {
            name
        };
        let user_file = user_dir.map(|d| d.join("themes").join(format!("{name}.toml")));
        if let Some(file) = user_file.filter(|f| f.exists()) {
            let text = std::fs::read_to_string(&file).map_err(|e| ThemeError {
                file: file.clone(),
                line: None,
                key: None,
                message: format!("cannot read the theme file: {e}"),
            })?;
            return Self::parse(name, &text, &file, depth);
        }
        match BUILT_IN.iter().find(|(n, _)| *n == name) {
            Some((_, text)) => {
                Self::parse(name, text, Path::new(&format!("themes/{name}.toml")), depth)
            }
            None => Err(ThemeError {
                file: PathBuf::from(format!("{name}.toml")),
                line: None,
                key: None,
                message: format!(
                    "no theme called `{name}`; built in: {}",
                    BUILT_IN
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    /// The built-in default at 16 colours: what tests and callers without a config start from.
    /// The built-in file is tested to parse, so the empty theme is never seen in practice.
    pub fn fallback() -> Self {
        Self::load("default", ColorDepth::Ansi16, None).unwrap_or_else(|_| Self {
            name: "default".into(),
            description: String::new(),
            styles: BTreeMap::new(),
        })
    }

    /// Parses a theme file. Slots the file leaves out take the default theme's style.
    pub fn parse(
        name: &str,
        text: &str,
        file: &Path,
        depth: ColorDepth,
    ) -> Result<Self, ThemeError> {
        let err = |line, key: Option<String>, message: String| ThemeError {
            file: file.to_path_buf(),
            line,
            key,
            message,
        };
        let parsed: ThemeFile = toml::from_str(text).map_err(|e| {
            err(
                e.span().map(|s| line_of(text, s.start)),
                None,
                e.message().trim().to_string(),
            )
        })?;
        let mut styles = BTreeMap::new();
        for (slot, spec) in &parsed.styles {
            let at = find_key_line(text, "styles", slot.code())
                .or_else(|| find_key_line(text, &format!("styles.{slot}"), "fg"));
            let style = resolve(spec, depth).map_err(|(field, message)| {
                err(at, Some(format!("styles.{slot}.{field}")), message)
            })?;
            styles.insert(*slot, style);
        }
        if name != "default" && depth != ColorDepth::None {
            let base = Self::parse(
                "default",
                BUILT_IN[0].1,
                Path::new("themes/default.toml"),
                depth,
            )?;
            for (slot, style) in base.styles {
                styles.entry(slot).or_insert(style);
            }
        }
        Ok(Self {
            name: name.to_string(),
            description: parsed.description,
            styles,
        })
    }
}

fn resolve(spec: &StyleSpec, depth: ColorDepth) -> Result<Style, (&'static str, String)> {
    let mut style = Style::default();
    if depth != ColorDepth::None {
        if let Some(c) = colour(spec.fg.as_deref(), spec.fg16.as_deref(), depth, "fg")? {
            style = style.fg(c);
        }
        if let Some(c) = colour(spec.bg.as_deref(), spec.bg16.as_deref(), depth, "bg")? {
            style = style.bg(c);
        }
    }
    let flags = [
        (spec.bold, Modifier::BOLD),
        (spec.dim, Modifier::DIM),
        (spec.italic, Modifier::ITALIC),
        (spec.underlined, Modifier::UNDERLINED),
        (spec.reversed, Modifier::REVERSED),
    ];
    for (on, modifier) in flags {
        if on {
            style = style.add_modifier(modifier);
        }
    }
    Ok(style)
}

/// A colour for `depth`. Hex colours need their 16-colour fallback named next to them.
fn colour(
    value: Option<&str>,
    fallback16: Option<&str>,
    depth: ColorDepth,
    field: &'static str,
) -> Result<Option<Color>, (&'static str, String)> {
    let field16 = if field == "fg" { "fg16" } else { "bg16" };
    let fallback = fallback16
        .map(|f| {
            named(f).ok_or((
                field16,
                format!("`{f}` is not one of the 16 ANSI colour names ({NAMES})"),
            ))
        })
        .transpose()?;
    let Some(value) = value else {
        return match fallback {
            Some(_) => Err((field16, format!("a fallback without a `{field}` colour"))),
            None => Ok(None),
        };
    };
    if let Some(hex) = value.strip_prefix('#') {
        let rgb =
            parse_hex(hex).ok_or((field, format!("`{value}` is not a colour like #D55E00")))?;
        let fallback = fallback.ok_or((
            field16,
            format!("`{field} = \"{value}\"` needs a 16-colour fallback: add `{field16} = \"red\"` (or another ANSI name)"),
        ))?;
        return Ok(Some(match depth {
            ColorDepth::TrueColor => Color::Rgb(rgb.0, rgb.1, rgb.2),
            ColorDepth::Ansi256 => Color::Indexed(ansi_colours::ansi256_from_rgb(rgb)),
            ColorDepth::Ansi16 | ColorDepth::None => fallback,
        }));
    }
    named(value).map(Some).ok_or((
        field,
        format!("`{value}` is not a colour: use one of {NAMES}, or #RRGGBB with {field16}"),
    ))
}

const NAMES: &str = "black, red, green, yellow, blue, magenta, cyan, gray, dark_gray, light_red, \
                     light_green, light_yellow, light_blue, light_magenta, light_cyan, white, reset";

fn named(name: &str) -> Option<Color> {
    Some(match name.to_ascii_lowercase().replace('-', "_").as_str() {
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "dark_gray" | "dark_grey" => Color::DarkGray,
        "light_red" => Color::LightRed,
        "light_green" => Color::LightGreen,
        "light_yellow" => Color::LightYellow,
        "light_blue" => Color::LightBlue,
        "light_magenta" => Color::LightMagenta,
        "light_cyan" => Color::LightCyan,
        "white" => Color::White,
        "reset" => Color::Reset,
        _ => return None,
    })
}

fn parse_hex(hex: &str) -> Option<(u8, u8, u8)> {
    if hex.len() != 6 || !hex.is_ascii() {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok();
    Some((byte(0)?, byte(2)?, byte(4)?))
}

#[cfg(test)]
mod tests {

    #[test]
    fn load_for_cli_names_the_theme_and_falls_back_to_mono_without_colour() {
        let e = load_for_cli("neon", ColorChoice::Ansi16, None).unwrap_err();
        assert!(e.to_string().contains("no theme called `neon`"), "{e}");
        let mono = load_for_cli("colorblind", ColorChoice::None, None).unwrap();
        assert_eq!(mono.name, "mono");
        assert_eq!(
            Theme::fallback().state(MilestoneState::Overdue).fg,
            Some(Color::Red)
        );
    }

    use super::*;

    #[test]
    fn every_built_in_theme_loads_at_every_depth_with_every_slot() {
        for (name, _) in BUILT_IN {
            for depth in [
                ColorDepth::TrueColor,
                ColorDepth::Ansi256,
                ColorDepth::Ansi16,
            ] {
                let theme = Theme::load(name, depth, None).unwrap();
                assert_eq!(theme.name, name);
                for slot in Slot::all() {
                    assert!(theme.styles.contains_key(&slot), "{name} lacks {slot}");
                }
            }
        }
    }

    /// Dim text washes out on a projector; no built-in theme relies on it.
    #[test]
    fn no_built_in_theme_dims_text() {
        for (name, _) in BUILT_IN {
            let theme = Theme::load(name, ColorDepth::TrueColor, None).unwrap();
            for (slot, style) in &theme.styles {
                assert!(
                    !style.add_modifier.contains(Modifier::DIM),
                    "{name}: {slot} is dim"
                );
            }
        }
    }

    #[test]
    fn default_theme_uses_only_ansi_16_names() {
        for depth in [ColorDepth::TrueColor, ColorDepth::Ansi16] {
            let t = Theme::load("default", depth, None).unwrap();
            for style in t.styles.values() {
                for c in [style.fg, style.bg].into_iter().flatten() {
                    assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(_)), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn depth_picks_rgb_indexed_or_fallback() {
        let hc = |d| {
            Theme::load("high-contrast", d, None)
                .unwrap()
                .style(Slot::Overdue)
                .bg
        };
        assert_eq!(hc(ColorDepth::TrueColor), Some(Color::Rgb(0xc0, 0, 0)));
        assert!(matches!(hc(ColorDepth::Ansi256), Some(Color::Indexed(_))));
        assert_eq!(hc(ColorDepth::Ansi16), Some(Color::Red));
    }

    #[test]
    fn no_color_gives_mono_without_any_colour() {
        let t = Theme::load("high-contrast", ColorDepth::None, None).unwrap();
        assert_eq!(t.name, "mono");
        for style in t.styles.values() {
            assert_eq!((style.fg, style.bg), (None, None));
        }
        assert!(t.style(Slot::Overdue).add_modifier.contains(Modifier::BOLD));
    }

    #[test]
    fn colour_choice_auto() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            ColorChoice::Auto.resolve(env(&[("NO_COLOR", "1"), ("COLORTERM", "truecolor")])),
            ColorDepth::None
        );
        assert_eq!(
            ColorChoice::Auto.resolve(env(&[("COLORTERM", "truecolor")])),
            ColorDepth::TrueColor
        );
        assert_eq!(
            ColorChoice::Auto.resolve(env(&[("TERM", "xterm-256color")])),
            ColorDepth::Ansi256
        );
        assert_eq!(
            ColorChoice::Auto.resolve(env(&[("TERM", "xterm")])),
            ColorDepth::Ansi16
        );
        assert_eq!(
            ColorChoice::Auto.resolve(env(&[("TERM", "dumb")])),
            ColorDepth::None
        );
        assert_eq!(
            ColorChoice::Ansi16.resolve(env(&[("NO_COLOR", "1")])),
            ColorDepth::Ansi16
        );
    }

    fn parse_err(text: &str) -> ThemeError {
        Theme::parse("mine", text, Path::new("mine.toml"), ColorDepth::TrueColor).unwrap_err()
    }

    #[test]
    fn broken_theme_files_name_file_line_and_key() {
        let e = parse_err("[styles]\ndone = { fg = \"green\" }\noverdue = { fg = \"#D55E00\" }\n");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(3), Some("styles.overdue.fg16"))
        );
        assert!(
            e.to_string()
                .starts_with("mine.toml:3: styles.overdue.fg16:"),
            "{e}"
        );
        let e = parse_err("[styles]\noverdue = { fg = \"crimson\" }\n");
        assert_eq!(
            (e.line, e.key.as_deref()),
            (Some(2), Some("styles.overdue.fg"))
        );
        let e = parse_err("[styles]\n\nurgent = { fg = \"red\" }\n");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("urgent"), "{e}");
        let e = parse_err("[styles]\ndone = { fg = \"green\", blink = true }\n");
        assert_eq!(e.line, Some(2));
        assert!(e.message.contains("blink"), "{e}");
        let e = parse_err("[styles]\ndone = { fg = \"#12345\", fg16 = \"green\" }\n");
        assert_eq!(e.key.as_deref(), Some("styles.done.fg"));
        let e = parse_err("[styles\n");
        assert_eq!(e.line, Some(1));
    }

    #[test]
    fn user_file_overrides_built_in_and_unknown_names_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("themes")).unwrap();
        std::fs::write(
            dir.path().join("themes/default.toml"),
            "[styles]\noverdue = { fg = \"blue\" }\n",
        )
        .unwrap();
        let t = Theme::load("default", ColorDepth::Ansi16, Some(dir.path())).unwrap();
        assert_eq!(t.style(Slot::Overdue).fg, Some(Color::Blue));
        let e = Theme::load("neon", ColorDepth::Ansi16, Some(dir.path())).unwrap_err();
        assert!(e.message.contains("high-contrast"), "{e}");
    }
}
