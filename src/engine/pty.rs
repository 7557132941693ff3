//! Pseudo-terminals for services that want one (`"tty": true`, `wfop run --tty`), and the run's
//! table of running services that take the operator's input (a pty's, or a stdin kept open).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};

use rustix::fs::{Mode, OFlags};
use rustix::pty::OpenptFlags;
use rustix::termios::{LocalModes, OptionalActions, OutputModes, SpecialCodeIndex, Winsize};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::{mpsc, watch};
use zeroize::Zeroizing;

/// A pty's size in character cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Size {
    pub cols: u16,
    pub rows: u16,
}

impl Size {
    /// Before any front end said how large its log pane is (line mode has none).
    pub(crate) const DEFAULT: Size = Size { cols: 80, rows: 24 };

    fn winsize(self) -> Winsize {
        Winsize {
            ws_row: self.rows.max(1),
            ws_col: self.cols.max(1),
            ws_xpixel: 0,
            ws_ypixel: 0,
        }
    }
}

/// A fresh pseudo-terminal: the master wfop keeps, the slave the service gets as its stdin,
/// stdout and stderr (and controlling terminal, see `service.rs`).
pub(crate) struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

impl Pty {
    /// Opens one with `size`, echo off (what the operator types is not written back into the
    /// service's output, so not into the log) and no `\n` → `\r\n` translation (lines are as
    /// from a pipe). Both ends close on exec; the service gets the slave by `dup2`.
    pub(crate) fn open(size: Size) -> io::Result<Pty> {
        let master =
            rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
        rustix::pty::grantpt(&master)?;
        rustix::pty::unlockpt(&master)?;
        let name = rustix::pty::ptsname(&master, Vec::new())?;
        let slave = rustix::fs::open(
            name.as_c_str(),
            OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut t = rustix::termios::tcgetattr(&slave)?;
        t.local_modes
            .remove(LocalModes::ECHO | LocalModes::ECHONL | LocalModes::ECHOE | LocalModes::ECHOK);
        t.output_modes.remove(OutputModes::ONLCR);
        rustix::termios::tcsetattr(&slave, OptionalActions::Now, &t)?;
        rustix::termios::tcsetwinsize(&master, size.winsize())?;
        Ok(Pty { master, slave })
    }

    /// The slave three times, for the service's stdin, stdout and stderr.
    pub(crate) fn stdio(&self) -> io::Result<[Stdio; 3]> {
        let dup = || -> io::Result<Stdio> {
            Ok(Stdio::from(rustix::io::fcntl_dupfd_cloexec(
                &self.slave,
                3,
            )?))
        };
        Ok([dup()?, dup()?, dup()?])
    }

    #[cfg(test)]
    fn slave(&self) -> &OwnedFd {
        &self.slave
    }

    /// After the spawn: wfop's copy of the slave is closed (so the master reads end of file
    /// once the service and whatever it handed the terminal to have closed it), and the
    /// master is split into a reader (the output pump) and a writer (the operator's input).
    pub(crate) fn into_master(self) -> io::Result<(Reader, Writer)> {
        drop(self.slave);
        set_nonblocking(&self.master)?;
        let read = rustix::io::fcntl_dupfd_cloexec(&self.master, 3)?;
        // SAFETY: each `AsyncFd` owns its descriptor (an `OwnedFd`, never replaced or closed
        // while registered; dropping the `AsyncFd` deregisters it before closing it).
        let (read, write) = unsafe { (AsyncFd::register(read)?, AsyncFd::register(self.master)?) };
        Ok((Reader { fd: read }, Writer { fd: write }))
    }
}

fn set_nonblocking(fd: &OwnedFd) -> io::Result<()> {
    let flags = rustix::fs::fcntl_getfl(fd)?;
    rustix::fs::fcntl_setfl(fd, flags | OFlags::NONBLOCK)?;
    Ok(())
}

/// The master's reading side: the service's output, stdout and stderr as one stream.
pub(crate) struct Reader {
    fd: AsyncFd<OwnedFd>,
}

impl AsyncRead for Reader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut *unfilled)?)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Linux: every slave descriptor is closed (the service has ended): end of file.
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => {
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

/// The master's writing side: what the operator types, and the size.
pub(crate) struct Writer {
    fd: AsyncFd<OwnedFd>,
}

impl Writer {
    pub(crate) async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| Ok(rustix::io::write(fd.get_ref(), data)?)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
        Ok(())
    }

    /// End of input, as a terminal's `C-d` is: the terminal's current EOF character (the
    /// service may have changed it; `^D` unless it did).
    pub(crate) async fn eof(&self) -> io::Result<()> {
        let c = rustix::termios::tcgetattr(self.fd.get_ref())
            .map(|t| t.special_codes[SpecialCodeIndex::VEOF])
            .unwrap_or(4);
        self.write_all(&[c]).await
    }

    /// Sets the size; the kernel sends SIGWINCH to the service when it changed.
    pub(crate) fn resize(&self, size: Size) -> io::Result<()> {
        Ok(rustix::termios::tcsetwinsize(
            self.fd.get_ref().as_fd(),
            size.winsize(),
        )?)
    }
}

/// What the operator sends to a service's stdin.
pub(crate) enum Feed {
    Data(Zeroizing<Vec<u8>>),
    Eof,
}

/// Why a service cannot take what the operator typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("node `{0}` is not running")]
    NotRunning(String),
    #[error(
        "node `{0}` does not take input: its stdin was closed after its JSON input (give it \"tty\": true or \"stdin\": \"open\", or run with --tty)"
    )]
    Closed(String),
    #[error("node `{0}` does not take input any more: its input was ended (C-d)")]
    Ended(String),
    #[error("node `{0}` is a hub service: it runs elsewhere and takes no input")]
    Hub(String),
}

/// The run's running services that take input, and the size their terminals follow.
pub(crate) struct Consoles {
    size: watch::Sender<Size>,
    open: Mutex<HashMap<Arc<str>, Entry>>,
}

struct Entry {
    feed: mpsc::UnboundedSender<Feed>,
    /// Its attempt: a later attempt's registration is not removed by an earlier one's end.
    attempt: u32,
    ended: bool,
}

impl Default for Consoles {
    fn default() -> Consoles {
        Consoles {
            size: watch::channel(Size::DEFAULT).0,
            open: Mutex::new(HashMap::new()),
        }
    }
}

impl Consoles {
    /// The size every pty of the run has, now and after each resize.
    pub(crate) fn size(&self) -> watch::Receiver<Size> {
        self.size.subscribe()
    }

    /// The front end's log pane has this size now (0 is taken as 1).
    pub(crate) fn resize(&self, cols: u16, rows: u16) {
        self.size.send_replace(Size { cols, rows });
    }

    /// Registers a running attempt that takes input; it stays until the guard is dropped.
    pub(crate) fn register(
        self: &Arc<Self>,
        node: Arc<str>,
        attempt: u32,
    ) -> (Registration, mpsc::UnboundedReceiver<Feed>) {
        let (feed, rx) = mpsc::unbounded_channel();
        self.lock().insert(
            node.clone(),
            Entry {
                feed,
                attempt,
                ended: false,
            },
        );
        (
            Registration {
                consoles: self.clone(),
                node,
                attempt,
            },
            rx,
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Entry>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `feed` to `node`'s stdin; `None` when it takes no input (the caller says why,
    /// knowing whether it runs at all).
    pub(crate) fn send(&self, node: &str, feed: Feed) -> Result<(), Refusal> {
        let mut open = self.lock();
        let Some(e) = open.get_mut(node) else {
            return Err(Refusal::Closed(node.to_string()));
        };
        if e.ended {
            return Err(Refusal::Ended(node.to_string()));
        }
        if matches!(feed, Feed::Eof) {
            e.ended = true;
        }
        e.feed
            .send(feed)
            .map_err(|_| Refusal::NotRunning(node.to_string()))
    }
}

/// A running attempt's place in [`Consoles`]; dropped when the attempt ends.
pub(crate) struct Registration {
    consoles: Arc<Consoles>,
    node: Arc<str>,
    attempt: u32,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut open = self.consoles.lock();
        if open
            .get(&self.node)
            .is_some_and(|e| e.attempt == self.attempt)
        {
            open.remove(&self.node);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn a_pty_has_echo_off_no_crlf_and_its_size() {
        let pty = Pty::open(Size { cols: 97, rows: 31 }).unwrap();
        let t = rustix::termios::tcgetattr(pty.slave()).unwrap();
        assert!(!t.local_modes.contains(LocalModes::ECHO));
        assert!(!t.output_modes.contains(OutputModes::ONLCR));
        assert!(rustix::termios::isatty(pty.slave()));
        let w = rustix::termios::tcgetwinsize(pty.slave()).unwrap();
        assert_eq!((w.ws_col, w.ws_row), (97, 31));
    }

    #[tokio::test]
    async fn the_master_reads_what_the_slave_writes_then_end_of_file() {
        let pty = Pty::open(Size::DEFAULT).unwrap();
        let out = rustix::io::dup(pty.slave()).unwrap();
        let (mut r, w) = pty.into_master().unwrap();
        rustix::io::write(&out, b"a line\n").unwrap();
        drop(out);
        let mut got = Vec::new();
        r.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"a line\n");
        w.resize(Size { cols: 10, rows: 5 }).unwrap();
    }

    #[test]
    fn consoles_refuse_what_is_not_registered_or_ended() {
        let c = Arc::new(Consoles::default());
        assert_eq!(
            c.send("a", Feed::Eof).unwrap_err(),
            Refusal::Closed("a".into())
        );
        let (reg, mut rx) = c.register("a".into(), 1);
        c.send("a", Feed::Data(Zeroizing::new(b"x\n".to_vec())))
            .unwrap();
        c.send("a", Feed::Eof).unwrap();
        assert_eq!(
            c.send("a", Feed::Eof).unwrap_err(),
            Refusal::Ended("a".into())
        );
        assert!(matches!(rx.try_recv(), Ok(Feed::Data(d)) if d.as_slice() == b"x\n"));
        assert!(matches!(rx.try_recv(), Ok(Feed::Eof)));
        // A later attempt's registration outlives an earlier one's end.
        let (reg2, _rx2) = c.register("a".into(), 2);
        drop(reg);
        assert!(c.send("a", Feed::Eof).is_ok());
        drop(reg2);
        assert!(c.send("a", Feed::Eof).is_err());
        c.resize(100, 40);
        assert_eq!(
            *c.size().borrow(),
            Size {
                cols: 100,
                rows: 40
            }
        );
    }
}
