//! tui: the teaching UI (ratatui + crossterm, The Elm Architecture). `App` is the model,
//! `app::Msg` the messages, `App::update` the update and `view::draw` the view; `run` is the
//! terminal loop. Keys drive the model without a terminal in tests (`App::update`), and frames
//! render into a `TestBackend` for snapshots.

pub mod app;
pub mod journey;
pub mod jump;
pub mod keys;
pub mod served;
pub mod session;
pub mod view;

pub use app::{App, Msg, View};

use crossterm::event::{self, Event, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io;
use std::time::{Duration, Instant};

/// How often the loop wakes to play and redraw.
const FRAME: Duration = Duration::from_millis(50);

/// Open the UI on `app` until `q` or Ctrl-C (raw mode turns Ctrl-C into a key, not SIGINT). The terminal is restored on return, on error, and on panic.
pub fn run(mut app: App) -> io::Result<()> {
    let mut terminal = setup()?;
    let result = event_loop(&mut terminal, &mut app);
    restore();
    result
}

fn setup() -> io::Result<Terminal<CrosstermBackend<io::Stdout>>> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen)?;
    Terminal::new(CrosstermBackend::new(io::stdout()))
}

/// Leave the alternate screen and raw mode (safe to call twice).
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
}

// The wall clock decides only how far to play between frames; the run itself is a pure
// function of the scenario and the recorded faults.
#[allow(clippy::disallowed_methods)]
fn event_loop(
    terminal: &mut Terminal<CrosstermBackend<io::Stdout>>,
    app: &mut App,
) -> io::Result<()> {
    if app.session.is_served() {
        return served_loop(terminal, app);
    }
    let mut last = Instant::now();
    while !app.quit {
        terminal.draw(|frame| view::draw(frame, app))?;
        if event::poll(FRAME)? {
            if let Event::Key(key) = event::read()? {
                if key.kind == KeyEventKind::Press {
                    app.update(Msg::Key(key));
                }
            }
        }
        let elapsed = last.elapsed();
        last = Instant::now();
        let simulated = (elapsed.as_millis() as f64 * app.speed()).round() as u64;
        if simulated > 0 {
            app.update(Msg::Tick(simulated));
        }
    }
    Ok(())
}

/// `serve --tui`: this thread owns the served world, so it lets the engine run between frames
/// (each `pump` waits a few ms for client traffic) and draws every [`FRAME`].
#[allow(clippy::disallowed_methods)]
fn served_loop(
    terminal: &mut Terminal<CrosstermBackend<io::Stdout>>,
    app: &mut App,
) -> io::Result<()> {
    let mut drawn: Option<Instant> = None;
    while !app.quit {
        if drawn.is_none_or(|d| d.elapsed() >= FRAME) {
            terminal.draw(|frame| view::draw(frame, app))?;
            drawn = Some(Instant::now());
        }
        app.session.pump();
        while event::poll(Duration::ZERO)? {
            if let Event::Key(key) = event::read()? {
                if key.kind == KeyEventKind::Press {
                    app.update(Msg::Key(key));
                }
            }
        }
    }
    Ok(())
}
