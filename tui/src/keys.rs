//! The one key registry: it maps keys to messages, and feeds both the `?` help screen and the
//! key bar, so what the screen says is what the keys do.

use crate::app::Msg;
use crate::jump::Jump;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key binding.
pub struct Binding {
    /// The key.
    pub key: KeyCode,
    /// The modifiers held with it (Shift aside, which only changes the character).
    pub modifiers: KeyModifiers,
    /// How the key bar and help write it.
    pub label: &'static str,
    /// What it does, in a few words.
    pub help: &'static str,
    /// The message it sends.
    pub msg: Msg,
    /// Shown in the key bar (the rest only in `?`).
    pub in_bar: bool,
}

const fn bind(
    key: KeyCode,
    label: &'static str,
    help: &'static str,
    msg: Msg,
    bar: bool,
) -> Binding {
    Binding {
        key,
        modifiers: KeyModifiers::NONE,
        label,
        help,
        msg,
        in_bar: bar,
    }
}

/// Every binding, in the order help lists them.
pub const KEYS: &[Binding] = &[
    bind(
        KeyCode::Char(' '),
        "space",
        "play / pause",
        Msg::TogglePlay,
        true,
    ),
    bind(KeyCode::Char('.'), ".", "step one event", Msg::Step, true),
    bind(
        KeyCode::Char(','),
        ",",
        "step back one event",
        Msg::StepBack,
        true,
    ),
    bind(
        KeyCode::Char('n'),
        "n",
        "next notable: fault, election, ISR, loss...",
        Msg::Jump(Jump::Notable),
        true,
    ),
    bind(
        KeyCode::Char('N'),
        "N",
        "next high-watermark move",
        Msg::Jump(Jump::HwMove),
        false,
    ),
    bind(
        KeyCode::Right,
        "→",
        "forward 1 simulated s",
        Msg::Seek(1000),
        false,
    ),
    bind(
        KeyCode::Left,
        "←",
        "back 1 s (rewind: later faults taken back)",
        Msg::Seek(-1000),
        false,
    ),
    bind(KeyCode::Char(']'), "]", "faster", Msg::Faster, false),
    bind(KeyCode::Char('['), "[", "slower", Msg::Slower, false),
    bind(KeyCode::Tab, "tab", "next view", Msg::NextView, true),
    bind(
        KeyCode::Char('1'),
        "1",
        "partitions view",
        Msg::View(crate::app::View::Partitions),
        false,
    ),
    bind(
        KeyCode::Char('2'),
        "2",
        "cluster view",
        Msg::View(crate::app::View::Cluster),
        false,
    ),
    bind(
        KeyCode::Char('3'),
        "3",
        "message flow",
        Msg::View(crate::app::View::Flow),
        false,
    ),
    bind(
        KeyCode::Char('4'),
        "4",
        "consumers and groups",
        Msg::View(crate::app::View::Consumers),
        false,
    ),
    bind(
        KeyCode::Char('5'),
        "5",
        "controller quorum (KRaft)",
        Msg::View(crate::app::View::Quorum),
        false,
    ),
    bind(
        KeyCode::Down,
        "↓",
        "select the next node",
        Msg::Select(1),
        false,
    ),
    bind(
        KeyCode::Up,
        "↑",
        "select the previous node",
        Msg::Select(-1),
        false,
    ),
    bind(
        KeyCode::Char('c'),
        "c",
        "crash the selected node",
        Msg::Fault(FaultKey::Crash),
        true,
    ),
    bind(
        KeyCode::Char('p'),
        "p",
        "power-fail the selected node",
        Msg::Fault(FaultKey::PowerFail),
        false,
    ),
    bind(
        KeyCode::Char('r'),
        "r",
        "restart the selected node",
        Msg::Fault(FaultKey::Restart),
        true,
    ),
    bind(
        KeyCode::Char('z'),
        "z",
        "pause / resume selected node",
        Msg::Fault(FaultKey::PauseResume),
        false,
    ),
    bind(
        KeyCode::Char('i'),
        "i",
        "isolate the selected node",
        Msg::Fault(FaultKey::Isolate),
        false,
    ),
    bind(
        KeyCode::Char('m'),
        "m",
        "mark a node (for x)",
        Msg::Mark,
        false,
    ),
    bind(
        KeyCode::Char('x'),
        "x",
        "cut the link marked → selected",
        Msg::Fault(FaultKey::Cut),
        false,
    ),
    bind(
        KeyCode::Char('h'),
        "h",
        "heal every network fault",
        Msg::Fault(FaultKey::Heal),
        false,
    ),
    bind(
        KeyCode::Char('o'),
        "o",
        "producer sends one record",
        Msg::Fault(FaultKey::ProduceOne),
        false,
    ),
    bind(
        KeyCode::Char('a'),
        "a",
        "add a consumer (join)",
        Msg::Fault(FaultKey::Join),
        false,
    ),
    bind(
        KeyCode::Char('d'),
        "d",
        "remove a consumer (leave)",
        Msg::Fault(FaultKey::Leave),
        false,
    ),
    bind(
        KeyCode::Char('e'),
        "e",
        "what just happened (selected broker's partition)",
        Msg::Explain,
        false,
    ),
    bind(
        KeyCode::Char('v'),
        "v",
        "record inspector: key, value, epoch, producer",
        Msg::Inspect,
        false,
    ),
    bind(
        KeyCode::Char('<'),
        "<",
        "inspector: previous offset",
        Msg::Cursor(-1),
        false,
    ),
    bind(
        KeyCode::Char('>'),
        ">",
        "inspector: next offset",
        Msg::Cursor(1),
        false,
    ),
    bind(
        KeyCode::Char('j'),
        "j",
        "follow the inspected record: next step",
        Msg::Follow,
        false,
    ),
    bind(
        KeyCode::Char('R'),
        "R",
        "redo the faults a rewind took back",
        Msg::Redo,
        false,
    ),
    bind(
        KeyCode::Char('w'),
        "w",
        "write the session as a scenario",
        Msg::Write,
        true,
    ),
    bind(
        KeyCode::Char('s'),
        "s",
        "pick a scenario",
        Msg::Picker,
        false,
    ),
    bind(
        KeyCode::Char('P'),
        "P",
        "presenter mode",
        Msg::Presenter,
        false,
    ),
    bind(KeyCode::Char('?'), "?", "help", Msg::Help, true),
    bind(KeyCode::Char('q'), "q", "quit", Msg::Quit, true),
    Binding {
        modifiers: KeyModifiers::CONTROL,
        ..bind(
            KeyCode::Char('c'),
            "ctrl-c",
            "quit at once, from anywhere",
            Msg::Exit,
            false,
        )
    },
];

/// Faults and actions on the selected node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKey {
    /// Kill the process.
    Crash,
    /// Cut the power.
    PowerFail,
    /// Start it again.
    Restart,
    /// Freeze or unfreeze it.
    PauseResume,
    /// Cut all its links.
    Isolate,
    /// Cut the link from the marked node to it.
    Cut,
    /// Heal the network.
    Heal,
    /// Start a consumer that is not running.
    Join,
    /// Close the selected consumer.
    Leave,
    /// The selected producer sends one record.
    ProduceOne,
}

/// The message a key sends, if any. The modifiers must be the binding's: Ctrl-C is not `c`
/// (crash), and a key with a modifier the UI does not bind (Ctrl-D, Alt-R) does nothing.
/// Shift is ignored, as it is already in the character (`P`, `?`).
pub fn lookup(key: KeyEvent) -> Option<Msg> {
    let modifiers = key.modifiers - KeyModifiers::SHIFT;
    KEYS.iter()
        .find(|b| b.key == key.code && b.modifiers == modifiers)
        .map(|b| b.msg)
}
