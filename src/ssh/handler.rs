//! One SSH connection: public-key authentication against the authorized keys, then exactly one
//! board session on a pty. Everything else an SSH server usually offers is refused.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::{Duration, Instant};

use chrono::Utc;

use russh::keys::PublicKey;
use russh::server::{Auth, ChannelOpenHandle, Handle, Msg, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure, Pty};

use super::ServeContext;
use super::authorized_keys::{KeyDecision, fingerprint};
use super::board_session::{self, ClientTerminal, Identity};
use super::keys_in::{KeyParser, clamp_size};
use super::listener::PreAuth;
use super::sessions::Ticket;
use super::writer::ChannelWriter;
use crossterm::event::Event;

use crate::tui::Wake;

/// Keystrokes queued for a session before input is dropped (a paste flood, garbage).
const INPUT_QUEUE: usize = 1024;
/// Frames queued for a slow client before the session's thread waits for it.
const OUTPUT_QUEUE: usize = 16;
/// The environment variables taken from the client: only what decides colours.
const ENV_KEPT: [&str; 2] = ["COLORTERM", "NO_COLOR"];
/// How long an address over the failure limit waits for each unlisted key to be refused.
const SLOWED_REFUSAL: Duration = Duration::from_secs(2);

/// Makes the handler of each accepted connection ([`super::listener`] accepts).
#[derive(Clone)]
pub struct Server {
    pub ctx: Arc<ServeContext>,
}

impl Server {
    pub fn connection(&self, peer: SocketAddr, pre_auth: Arc<PreAuth>) -> Connection {
        Connection {
            ctx: self.ctx.clone(),
            peer: Some(peer),
            pre_auth,
            tried: false,
            identity: None,
            channel: None,
            client: None,
            env: HashMap::new(),
            input: None,
            parser: KeyParser::default(),
        }
    }
}

pub struct Connection {
    ctx: Arc<ServeContext>,
    peer: Option<SocketAddr>,
    pre_auth: Arc<PreAuth>,
    /// The client tried to sign in (offered a key, sent a password): if the connection ends
    /// without a sign-in, that is one failure for its address.
    tried: bool,
    identity: Option<Identity>,
    /// The one session channel this connection may have.
    channel: Option<ChannelId>,
    /// Set by the pty request; a shell without one is refused.
    client: Option<ClientTerminal>,
    env: HashMap<String, String>,
    /// The running board's input; `None` before the shell starts and after it ends.
    input: Option<SyncSender<Wake>>,
    parser: KeyParser,
}

impl Connection {
    fn ip(&self) -> Option<IpAddr> {
        self.peer.map(|peer| peer.ip().to_canonical())
    }

    /// What the authorized keys say about `key` from this connection's address, now.
    fn decide(&mut self, key: &PublicKey) -> KeyDecision {
        self.tried = true;
        self.ctx.keys.decide(key, self.ip(), Utc::now())
    }

    fn ours(&self, channel: ChannelId) -> bool {
        self.channel == Some(channel)
    }

    fn wake(&self, wake: Wake) {
        if let Some(input) = &self.input {
            // A full queue means the session is behind; dropping input beats stalling the
            // connection's task (and with it every message on this connection).
            let _ = input.try_send(wake);
        }
    }

    fn end_input(&mut self) {
        if let Some(input) = self.input.take() {
            let _ = input.try_send(Wake::Stop);
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.end_input();
        if self.tried
            && self.identity.is_none()
            && let Some(ip) = self.ip()
        {
            self.ctx.failures.record(ip, Instant::now());
        }
    }
}

/// Refuses a channel request at the protocol level (the client says "request failed"), with
/// the reason on its stderr for clients that stay to read it, and closes the channel.
fn refuse(session: &mut Session, channel: ChannelId, message: &str) -> Result<(), russh::Error> {
    say(session, channel, message)?;
    session.channel_failure(channel)?;
    close(session, channel)
}

/// Grants the shell request only to end it with a reason: OpenSSH exits on a refused shell
/// without showing what the server said, and here the person needs to know what to do.
fn turn_away(session: &mut Session, channel: ChannelId, message: &str) -> Result<(), russh::Error> {
    session.channel_success(channel)?;
    say(session, channel, message)?;
    close(session, channel)
}

fn say(session: &mut Session, channel: ChannelId, message: &str) -> Result<(), russh::Error> {
    let line = format!("reentry-board: {message}\r\n");
    session.extended_data(channel, 1, line.into_bytes())
}

fn close(session: &mut Session, channel: ChannelId) -> Result<(), russh::Error> {
    session.exit_status_request(channel, 1)?;
    session.eof(channel)?;
    session.close(channel)
}

/// Frames from the session's thread to the client; when the board ends, the channel closes.
async fn forward(
    handle: Handle,
    channel: ChannelId,
    mut frames: tokio::sync::mpsc::Receiver<Vec<u8>>,
    ticket: Ticket,
) {
    while let Some(bytes) = frames.recv().await {
        if handle.data(channel, bytes).await.is_err() {
            break;
        }
    }
    let _ = handle.exit_status_request(channel, 0).await;
    let _ = handle.eof(channel).await;
    let _ = handle.close(channel).await;
    drop(ticket);
}

impl russh::server::Handler for Connection {
    type Error = anyhow::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        key: &PublicKey,
    ) -> Result<Auth, Self::Error> {
        match self.decide(key) {
            KeyDecision::Accept(_) => Ok(Auth::Accept),
            KeyDecision::Unknown => {
                tracing::info!(key = %fingerprint(key), "ssh: unknown key refused");
                // Other people's failures never refuse a listed key; they only slow the keys
                // that are not listed.
                if let Some(ip) = self.ip()
                    && self.ctx.failures.over_limit(ip, Instant::now())
                {
                    tokio::time::sleep(SLOWED_REFUSAL).await;
                }
                Ok(Auth::reject())
            }
            KeyDecision::Refused(why) => {
                tracing::info!(key = %fingerprint(key), why, "ssh: listed key refused");
                Ok(Auth::reject())
            }
        }
    }

    /// The SSH user name is ignored: the key alone says who this is.
    async fn auth_publickey(&mut self, _user: &str, key: &PublicKey) -> Result<Auth, Self::Error> {
        let KeyDecision::Accept(login) = self.decide(key) else {
            return Ok(Auth::reject());
        };
        tracing::info!(key = %fingerprint(key), "ssh: signed in");
        self.pre_auth.signed_in();
        if let Some(ip) = self.ip() {
            self.ctx.failures.clear(ip);
        }
        self.identity = Some(Identity {
            login,
            fingerprint: fingerprint(key),
            peer: self.peer,
        });
        Ok(Auth::Accept)
    }

    /// Not offered, but a client may try anyway: the connection counts as trying.
    async fn auth_password(&mut self, _user: &str, _password: &str) -> Result<Auth, Self::Error> {
        self.tried = true;
        Ok(Auth::reject())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel.is_some() || self.identity.is_none() {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        self.channel = Some(channel.id());
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host: &str,
        _port: u32,
        _from: &str,
        _from_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::info!("ssh: port forwarding refused");
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        _address: &str,
        _port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::info!("ssh: remote port forwarding refused");
        Ok(false)
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _command: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::info!("ssh: command refused");
        refuse(
            session,
            channel,
            "only the board is served here; connect without a command",
        )?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if ENV_KEPT.contains(&name) && self.input.is_none() {
            self.env.insert(name.to_string(), value.to_string());
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if !self.ours(channel) || self.input.is_some() {
            session.channel_failure(channel)?;
            return Ok(());
        }
        let (cols, rows) = clamp_size(cols, rows);
        self.env.insert("TERM".into(), term.to_string());
        self.client = Some(ClientTerminal {
            cols,
            rows,
            env: HashMap::new(),
        });
        session.channel_success(channel)?;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (Some(identity), Some(client)) = (self.identity.clone(), self.client.clone()) else {
            turn_away(
                session,
                channel,
                "the board needs a terminal; connect with ssh -t",
            )?;
            return Ok(());
        };
        if !self.ours(channel) || self.input.is_some() {
            session.channel_failure(channel)?;
            return Ok(());
        }
        let (input, wakes) = sync_channel(INPUT_QUEUE);
        let Some(ticket) = self.ctx.sessions.join(input.clone()) else {
            let why = if self.ctx.sessions.is_stopping() {
                "the server is stopping; try again shortly"
            } else {
                "the server has all the sessions it allows; try again later"
            };
            turn_away(session, channel, why)?;
            return Ok(());
        };
        session.channel_success(channel)?;
        self.input = Some(input);

        let client = ClientTerminal {
            env: self.env.clone(),
            ..client
        };
        let (frames_tx, frames_rx) = tokio::sync::mpsc::channel(OUTPUT_QUEUE);
        let id = ticket.id;
        tokio::spawn(forward(session.handle(), channel, frames_rx, ticket));
        let ctx = self.ctx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("ssh-session-{id}"))
            .spawn(move || {
                let mut out = ChannelWriter::new(frames_tx);
                board_session::run(&ctx, &identity, &client, id, wakes, &mut out);
            });
        if let Err(error) = spawned {
            tracing::warn!(error = %error, "ssh: cannot start a session thread");
            self.end_input();
        }
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        cols: u32,
        rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.ours(channel) {
            let (cols, rows) = clamp_size(cols, rows);
            self.wake(Wake::Event(Event::Resize(cols, rows)));
        }
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.ours(channel) && self.input.is_some() {
            for wake in self.parser.feed(data) {
                self.wake(wake);
            }
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.ours(channel) {
            self.end_input();
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.ours(channel) {
            self.end_input();
        }
        Ok(())
    }
}
