//! Taking over the terminal and, on every exit path, giving it back: normal return, `?` errors
//! (the guard's `Drop`) and panics (the hook, which runs before the message is printed, so the
//! message lands on the normal screen instead of vanishing with the alternate one).

use std::io::{self, IsTerminal, Stdout, Write};
use std::panic;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::terminal::{
    EndSynchronizedUpdate, EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode,
    enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal is ours; restoring is needed. Global because the panic hook is.
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Mouse capture is on and must be turned off again.
static MOUSE: AtomicBool = AtomicBool::new(false);
static HOOK: Once = Once::new();

pub type Backend = CrosstermBackend<Stdout>;

/// Raw mode, the alternate screen and a hidden cursor for as long as it lives.
pub struct TerminalGuard {
    terminal: Terminal<Backend>,
}

impl TerminalGuard {
    /// `mouse`: capture clicks and the wheel (off by default, so the terminal's own text
    /// selection keeps working).
    pub fn enter(mouse: bool) -> Result<Self> {
        if !io::stdout().is_terminal() {
            bail!("the board needs a terminal; stdout is not one");
        }
        install_panic_hook();
        ACTIVE.store(true, Ordering::SeqCst);
        // From here on a failure must still restore what was already changed.
        let guard = Self::take_over(mouse);
        if guard.is_err() {
            restore();
        }
        guard
    }

    fn take_over(mouse: bool) -> Result<Self> {
        enable_raw_mode().context("enabling raw mode")?;
        let mut stdout = io::stdout();
        execute!(stdout, EnterAlternateScreen, cursor::Hide)
            .context("entering the alternate screen")?;
        if mouse {
            MOUSE.store(true, Ordering::SeqCst);
            execute!(stdout, EnableMouseCapture).context("enabling the mouse")?;
        }
        let terminal = Terminal::new(CrosstermBackend::new(stdout)).context("opening terminal")?;
        Ok(Self { terminal })
    }

    pub fn terminal(&mut self) -> &mut Terminal<Backend> {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Give the terminal back. Idempotent, so the hook and `Drop` may both call it; errors are
/// ignored because there is nowhere left to report them and the other steps should still run.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut stdout = io::stdout();
    if MOUSE.swap(false, Ordering::SeqCst) {
        let _ = execute!(stdout, DisableMouseCapture);
    }
    // A panic mid-frame would leave the terminal buffering a synchronized update forever.
    let _ = execute!(
        stdout,
        EndSynchronizedUpdate,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = stdout.flush();
}

/// Chained to the previous hook, installed once per process however many boards are opened.
fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
