//! Getting log text out: the OSC 52 clipboard sequence (`y`, tmux/screen passthrough) and saving
//! a node's redacted log to a new file with mode 0600 (`s`).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

/// Payloads above this many bytes are refused (many terminals drop larger OSC 52 writes).
pub const MAX_COPY_BYTES: usize = 100_000;

/// What sits between wfop and the real terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Multiplexer {
    None,
    Tmux,
    Screen,
}

impl Multiplexer {
    /// From the environment: `$TMUX` set → tmux, else `$STY` → GNU screen.
    pub fn detect(env: impl Fn(&str) -> Option<String>) -> Self {
        if env("TMUX").is_some_and(|v| !v.is_empty()) {
            Multiplexer::Tmux
        } else if env("STY").is_some_and(|v| !v.is_empty()) {
            Multiplexer::Screen
        } else {
            Multiplexer::None
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyError {
    TooLarge { bytes: usize },
}

impl std::fmt::Display for CopyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyError::TooLarge { bytes } => write!(
                f,
                "{bytes} bytes is too much for the terminal clipboard (limit {MAX_COPY_BYTES}); save it with `s` instead"
            ),
        }
    }
}

impl std::error::Error for CopyError {}

/// The escape sequence that puts `text` on the system clipboard (OSC 52), wrapped for tmux
/// (`allow-passthrough on`) or screen when needed. The text must already be redacted.
pub fn osc52(text: &str, mux: Multiplexer) -> Result<String, CopyError> {
    if text.len() > MAX_COPY_BYTES {
        return Err(CopyError::TooLarge { bytes: text.len() });
    }
    let seq = format!("\x1b]52;c;{}\x07", base64(text.as_bytes()));
    Ok(match mux {
        Multiplexer::None => seq,
        Multiplexer::Tmux => format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b")),
        Multiplexer::Screen => format!("\x1bP{seq}\x1b\\"),
    })
}

/// How an OSC 52 sequence gets through tmux to the outer terminal, from its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TmuxRoute {
    /// `allow-passthrough` is on: the wrapped sequence (as `osc52` makes it) goes through.
    Passthrough,
    /// Passthrough is off but `set-clipboard on`: tmux takes a plain OSC 52 itself and sets
    /// the outer terminal's clipboard.
    Direct,
    /// Neither: the sequence stops at tmux. The message names the one setting to change.
    Blocked(String),
}

/// The setting that lets wfop's OSC 52 through tmux (wfop wraps it in passthrough).
pub const TMUX_FIX: &str = "tmux set -g allow-passthrough on";

/// Decides the route from `tmux show-options -gv allow-passthrough` and `… set-clipboard`
/// (`None`: the option could not be read, as with a tmux older than 3.3, which passes
/// passthrough on by default).
pub fn tmux_route(passthrough: Option<&str>, clipboard: Option<&str>) -> TmuxRoute {
    match (passthrough.map(str::trim), clipboard.map(str::trim)) {
        (Some("on" | "all") | None, _) => TmuxRoute::Passthrough,
        (_, Some("on")) => TmuxRoute::Direct,
        _ => TmuxRoute::Blocked(format!("tmux blocks the copy (OSC 52): {TMUX_FIX}")),
    }
}

/// Reads one global tmux option of the tmux wfop runs in (`tmux show-options -gv NAME`).
pub fn tmux_option(name: &str) -> Option<String> {
    let out = std::process::Command::new("tmux")
        .args(["show-options", "-gv", name])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Names tried after the first one before saving gives up.
const MAX_SAVE_NAMES: u32 = 1000;

/// Writes `text` to a new file at `path`, or, when that name is taken, at the first free one of
/// `<stem>-2.<ext>`, `<stem>-3.<ext>`, …; returns the path written. Each try creates the file
/// exclusively (`save_log`), so nothing is overwritten and no symlink is followed.
pub fn save_log_fresh(path: &Path, text: &str) -> io::Result<std::path::PathBuf> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let mut last = None;
    for n in 1..=MAX_SAVE_NAMES {
        let candidate = if n == 1 {
            path.to_path_buf()
        } else {
            path.with_file_name(format!("{stem}-{n}{ext}"))
        };
        match save_log(&candidate, text) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

/// Writes `text` (an already redacted log) to a new file with mode 0600; refuses to overwrite
/// an existing file or follow a symlink there.
pub fn save_log(path: &Path, text: &str) -> io::Result<()> {
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

/// A file name for saving a node's log: `wfop-<run>-<node>.log`, with anything but letters,
/// digits, `-`, `_` and `.` replaced by `_`.
pub fn default_save_name(run_id: &str, node: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!(
        "wfop-{}-{}.log",
        clean(run_id),
        clean(node).trim_start_matches('.')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_rfc_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(base64(i.as_bytes()), o);
        }
        assert_eq!(base64(&[0xff, 0xfe]), "//4=");
    }

    #[test]
    fn tmux_route_names_the_setting_when_blocked() {
        assert_eq!(
            tmux_route(Some("on"), Some("external")),
            TmuxRoute::Passthrough
        );
        assert_eq!(tmux_route(Some("all"), None), TmuxRoute::Passthrough);
        assert_eq!(
            tmux_route(None, None),
            TmuxRoute::Passthrough,
            "an older tmux"
        );
        assert_eq!(tmux_route(Some("off"), Some("on\n")), TmuxRoute::Direct);
        match tmux_route(Some("off"), Some("external")) {
            TmuxRoute::Blocked(m) => assert!(m.contains(TMUX_FIX), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            tmux_route(Some("off"), Some("off")),
            TmuxRoute::Blocked(_)
        ));
    }

    #[test]
    fn osc52_plain_tmux_and_screen() {
        assert_eq!(
            osc52("hello", Multiplexer::None).unwrap(),
            "\x1b]52;c;aGVsbG8=\x07"
        );
        assert_eq!(
            osc52("hello", Multiplexer::Tmux).unwrap(),
            "\x1bPtmux;\x1b\x1b]52;c;aGVsbG8=\x07\x1b\\"
        );
        assert_eq!(
            osc52("hi", Multiplexer::Screen).unwrap(),
            "\x1bP\x1b]52;c;aGk=\x07\x1b\\"
        );
        let big = "x".repeat(MAX_COPY_BYTES + 1);
        assert!(matches!(
            osc52(&big, Multiplexer::None),
            Err(CopyError::TooLarge { .. })
        ));
    }

    #[test]
    fn multiplexer_is_detected_from_the_environment() {
        assert_eq!(
            Multiplexer::detect(|k| (k == "TMUX").then(|| "/tmp/tmux-0/default,1,0".into())),
            Multiplexer::Tmux
        );
        assert_eq!(
            Multiplexer::detect(|k| (k == "STY").then(|| "1.pts".into())),
            Multiplexer::Screen
        );
        assert_eq!(Multiplexer::detect(|_| None), Multiplexer::None);
    }

    #[test]
    fn save_writes_0600_and_never_overwrites() {
        let dir = std::env::temp_dir().join(format!("wfop-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(default_save_name("run 1", "../fetch"));
        assert_eq!(path.file_name().unwrap(), "wfop-run_1-_fetch.log");
        save_log(&path, "token=*** ok\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "token=*** ok\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = save_log(&path, "other").unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn saving_again_picks_a_fresh_name_and_never_follows_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(default_save_name("run1", "fetch"));
        let first = save_log_fresh(&path, "one\n").unwrap();
        let second = save_log_fresh(&path, "two\n").unwrap();
        assert_eq!(first, path);
        assert_eq!(second.file_name().unwrap(), "wfop-run1-fetch-2.log");
        assert_eq!(std::fs::read_to_string(&first).unwrap(), "one\n");
        assert_eq!(std::fs::read_to_string(&second).unwrap(), "two\n");
        // A symlink planted at the next name is skipped, its target untouched.
        let target = dir.path().join("target");
        std::fs::write(&target, "keep").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("wfop-run1-fetch-3.log")).unwrap();
        let third = save_log_fresh(&path, "three\n").unwrap();
        assert_eq!(third.file_name().unwrap(), "wfop-run1-fetch-4.log");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
        #[cfg(unix)]
        for p in [&first, &second, &third] {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
