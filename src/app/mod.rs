//! The desktop window: [`FerryApp`] wires one [`Engine`] to an egui window
//! and [`run`] opens it. The window owns only UI state ([`state::UiState`]
//! plus dialog drafts); every network or disk action is a [`Command`] to the
//! engine or a job for a helper thread ([`tasks`]); the browser share is an
//! engine service too (`share_control` sends its commands). Each frame `logic`
//! drains engine events (the share's among them) within a time budget, then `ui` draws one
//! view per file (peers, tray, incoming, transfers, history, settings, share)
//! and collects [`Action`]s, which [`FerryApp`] carries out after drawing.
//! The UI thread never blocks and holds no lock across frames; it repaints
//! only when an event, a helper result or input arrives.

mod actions;
mod add_peer;
mod diagnosis;
pub mod fonts;
pub mod history;
mod incoming;
mod layout;
mod native;
mod pairing;
mod peers;
mod rows;
mod settings;
mod share;
mod share_control;
mod share_extras;
mod share_qr;
pub mod share_state;
mod share_uploads;
pub mod state;
pub mod style;
mod tasks;
mod transfers;
mod tray;
mod window;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use crate::api::{AcceptPolicy, Command, Device, Event, ReceiveSettings, Waker};
use crate::config::NetOptions;
use crate::config::{self, Settings};
use crate::engine::{DiscoveryConfig, Engine, EngineConfig, EngineError};
use crate::i18n::{self, tr};

pub use actions::Action;
pub use native::run;
use state::{Effect, UiState};
use tasks::{TaskResult, Tasks};

/// Longest time one frame spends draining engine events.
const EVENT_BUDGET: Duration = Duration::from_millis(6);

/// The window's id for the desktop (matches the .desktop file's StartupWMClass).
pub const APP_ID: &str = "org.ferry.Ferry";

/// Where an app instance keeps its state and how its engine runs. Tests
/// build one by hand with temporary folders, port 0 and discovery on `lo`.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Settings, device id and window geometry.
    pub config_dir: PathBuf,
    /// History.
    pub data_dir: PathBuf,
    /// IP to accept transfers on (all interfaces normally).
    pub bind_ip: IpAddr,
    /// TCP port instead of the one in settings (tests: `Some(0)`).
    pub port: Option<u16>,
    /// Whether to run discovery beacons.
    pub discovery: bool,
    /// UDP port for discovery instead of the one in settings.
    pub udp_port: Option<u16>,
    /// Interfaces for discovery instead of the ones in settings.
    pub interfaces: Option<Vec<String>>,
    /// Files to put in the tray at start.
    pub files: Vec<PathBuf>,
    /// IP the browser share listens on (all interfaces normally; tests: 127.0.0.1).
    pub share_bind_ip: IpAddr,
    /// Browser share port instead of the one in settings (tests: `Some(0)`).
    pub share_port: Option<u16>,
    /// LocalSend's port instead of the one in settings (tests: `Some(0)`,
    /// which also keeps two windows' LocalSend from meeting on one port).
    pub localsend_port: Option<u16>,
}

impl AppOptions {
    /// The normal options: the user's folders, the settings' port, discovery
    /// on (interfaces and UDP port from the command line or environment when
    /// given, else from settings).
    pub fn from_env(files: Vec<PathBuf>, net: NetOptions) -> Self {
        AppOptions {
            config_dir: config::config_dir(),
            data_dir: config::data_dir(),
            bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: None,
            discovery: true,
            udp_port: net.udp_port,
            interfaces: net.interfaces,
            files,
            share_bind_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            share_port: None,
            localsend_port: None,
        }
    }
}

/// Which page the central area shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tab {
    /// Running and recent transfers.
    #[default]
    Transfers,
    /// Finished transfers, persisted.
    History,
    /// Preferences.
    Settings,
}

/// The "Add by address…" dialog.
#[derive(Debug, Default)]
struct AddPeerDialog {
    input: String,
    busy: bool,
    error: Option<String>,
    /// The address being probed for this dialog, once looked up.
    probing: Option<SocketAddr>,
}

/// The "Send text…" dialog.
#[derive(Debug, Default)]
struct ComposeDialog {
    text: String,
    targets: Vec<String>,
}

/// Drafts and dialogs: UI-only state that is not part of the model.
#[derive(Debug, Default)]
struct ViewState {
    tab: Tab,
    add_peer: Option<AddPeerDialog>,
    compose: Option<ComposeDialog>,
    /// The "Network check" dialog, while open.
    network_check: Option<diagnosis::NetworkCheck>,
    dialog_open: bool,
    settings: settings::Draft,
    /// Addresses typed by the person whose probe is pending (to save them once found).
    pending_manual: Vec<String>,
    /// Where typed addresses were found (as typed, then the address).
    resolved: Vec<(String, SocketAddr)>,
    /// The PIN being typed for a receiver that asked for one.
    pin_input: String,
    /// The "Share via browser" window is open.
    share_open: bool,
    /// The text being typed to share through the browser share.
    share_text: String,
}

/// The Ferry window.
pub struct FerryApp {
    engine: Engine,
    state: UiState,
    settings: Settings,
    config_dir: PathBuf,
    data_dir: PathBuf,
    tasks: Tasks,
    view: ViewState,
    discovery_on: bool,
    /// Interfaces and UDP port given on the command line (for the network check).
    net: NetOptions,
    /// The egui context the waker repaints, set by [`FerryApp::attach`].
    context: Arc<OnceLock<egui::Context>>,
    /// Repaints the window from any thread (a no-op until attached).
    waker: Waker,
    logo: Option<egui::TextureHandle>,
    attention: Option<String>,
    title: String,
    geometry: window::Geometry,
    /// Texts to put on the clipboard at the end of the frame.
    copy_requests: Vec<String>,
    /// The theme changed; re-apply the style at the end of the frame.
    theme_dirty: bool,
    /// History changed since it was last handed to the saver.
    history_dirty: bool,
    /// This window as the one Ferry window of the user: later launches hand
    /// their files over through it.
    instance: Option<crate::single_instance::Primary>,
    /// The browser share's server, its events and its QR code.
    share: share_control::ShareRuntime,
}

impl FerryApp {
    /// Starts the engine and loads settings and history from `options`' folders.
    ///
    /// Loading happens once, before the first frame; afterwards the UI thread
    /// never touches the disk. The app attaches to its egui context on the
    /// first frame (or through [`Self::attach`]); until then, events wait in
    /// the engine's channel.
    pub fn new(options: AppOptions) -> anyhow::Result<FerryApp> {
        let settings = Settings::load(&options.config_dir);
        i18n::set_language(settings.language.as_deref());
        let identity = Arc::new(config::identity(&options.config_dir).with_context(|| {
            format!(
                "cannot load or create this device's key in {}",
                options.config_dir.display()
            )
        })?);
        let device_id = identity.device_id().to_string();
        let context: Arc<OnceLock<egui::Context>> = Arc::default();
        let repaint = context.clone();
        let waker: Waker = Arc::new(move || {
            if let Some(ctx) = repaint.get() {
                ctx.request_repaint();
            }
        });
        let interfaces = config::chosen_interfaces(options.interfaces.as_deref(), &settings);
        // Saved peers given as IP:port are probed by discovery from the start;
        // host names are looked up on a helper thread first (see below).
        let discovery = options.discovery.then(|| DiscoveryConfig {
            interfaces,
            udp_port: options.udp_port.unwrap_or(settings.udp_port),
            manual_peers: settings
                .manual_peers
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            localsend: config::localsend_config(&settings, false).map(|mut ls| {
                if let Some(port) = options.localsend_port {
                    ls.port = port;
                }
                ls
            }),
        });
        let port = options.port.unwrap_or(settings.port);
        let config = EngineConfig {
            device: Device {
                device_id: device_id.clone(),
                alias: settings.alias.clone(),
                os: config::os_name(),
                port,
            },
            listen: Some(SocketAddr::new(options.bind_ip, port)),
            identity,
            receive: receive_settings(&settings),
            discovery: discovery.clone(),
        };
        let mut notices = Vec::new();
        let engine = match Engine::start(config.clone(), waker.clone()) {
            Ok(engine) => engine,
            Err(EngineError::Bind { .. }) if port != 0 => {
                let mut fallback = config;
                fallback.listen = Some(SocketAddr::new(options.bind_ip, 0));
                let engine = Engine::start(fallback, waker.clone())?;
                notices.push(tr!(
                    "notice-port-in-use",
                    // Ports are names: written as text, never grouped.
                    port = port.to_string(),
                    fallback = engine
                        .local_addr()
                        .map(|a| a.port())
                        .unwrap_or(0)
                        .to_string()
                ));
                engine
            }
            Err(e) => return Err(e.into()),
        };
        let tasks = Tasks::new(waker.clone(), engine.commands().clone())
            .context("cannot start the window's helper thread")?;
        let mut state = UiState {
            own_id: device_id,
            listening: engine.local_addr(),
            history: history::load(&options.data_dir),
            notices,
            ..UiState::default()
        };
        let added = state.add_to_tray(&options.files);
        tasks.measure(added);
        for saved in &settings.manual_peers {
            if saved.parse::<SocketAddr>().is_err() {
                tasks.resolve(saved.clone());
            }
        }
        let view = ViewState {
            settings: settings::Draft::from(&settings),
            ..ViewState::default()
        };
        Ok(FerryApp {
            engine,
            state,
            settings,
            config_dir: options.config_dir,
            data_dir: options.data_dir,
            tasks,
            view,
            discovery_on: discovery.is_some(),
            net: NetOptions {
                interfaces: options.interfaces,
                udp_port: options.udp_port,
            },
            context,
            waker,
            logo: None,
            attention: None,
            title: "Ferry".into(),
            geometry: window::Geometry::default(),
            copy_requests: Vec::new(),
            theme_dirty: false,
            history_dirty: false,
            instance: None,
            share: share_control::ShareRuntime::new(options.share_bind_ip, options.share_port),
        })
    }

    /// The model, for tests and inspection.
    pub fn state(&self) -> &UiState {
        &self.state
    }

    /// The saved settings as the window currently uses them.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Where this window's engine accepts transfers.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.engine.local_addr()
    }

    /// Where this window's LocalSend server listens, when LocalSend runs.
    pub fn localsend_addr(&self) -> Option<SocketAddr> {
        self.engine.localsend_addr()
    }

    /// Makes this window the one later launches hand their files to.
    pub fn set_instance(&mut self, primary: crate::single_instance::Primary) {
        primary.set_waker(self.waker.clone());
        self.instance = Some(primary);
    }

    /// Puts files in the tray as if they were dropped with no target
    /// (e.g. handed over by a second launch).
    pub fn add_files(&mut self, paths: &[PathBuf]) {
        let added = self.state.add_to_tray(paths);
        self.tasks.measure(added);
    }

    /// Binds the app to its egui context: the waker repaints it, and the
    /// style and logo are set up. Called by the first [`Self::logic`] if not before.
    pub fn attach(&mut self, ctx: &egui::Context) {
        if self.context.get().is_some() {
            return;
        }
        let _ = self.context.set(ctx.clone());
        style::apply(ctx, self.settings.theme);
        fonts::install(ctx);
        self.logo = style::icon_data().map(|icon| {
            let size = [icon.width as usize, icon.height as usize];
            ctx.load_texture(
                "ferry-logo",
                egui::ColorImage::from_rgba_unmultiplied(size, &icon.rgba),
                egui::TextureOptions::LINEAR,
            )
        });
    }

    /// Non-drawing work of one frame: engine events, helper results,
    /// dropped files, window title and geometry.
    pub fn logic(&mut self, ctx: &egui::Context) {
        self.attach(ctx);
        let deadline = Instant::now() + EVENT_BUDGET;
        while let Ok(event) = self.engine.events().try_recv() {
            self.engine_event(event);
            if Instant::now() >= deadline {
                // More may be waiting: come back next frame instead of stalling this one.
                ctx.request_repaint();
                break;
            }
        }
        // A later launch (a double-click, "Open with") asks us to come forward.
        let activations: Vec<_> = self
            .instance
            .as_ref()
            .map(|p| p.requests().try_iter().collect())
            .unwrap_or_default();
        if !activations.is_empty() {
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
            let files: Vec<PathBuf> = activations.into_iter().flat_map(|a| a.files).collect();
            self.add_files(&files);
        }
        let results: Vec<_> = self.tasks.ready().collect();
        for result in results {
            self.task_done(result);
        }
        let dropped: Vec<PathBuf> = ctx.input(|i| {
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        });
        if !dropped.is_empty() {
            self.handle(Action::Drop(dropped));
        }
        self.state.expire_offline(now_ms());
        if self.state.has_offline() {
            // Let offline devices leave on time even when nothing else happens.
            ctx.request_repaint_after(Duration::from_secs(30));
        }
        if std::mem::take(&mut self.history_dirty) {
            // Once per frame, however many transfers ended in it.
            self.save_history();
        }
        self.update_title(ctx);
        self.geometry.observe(ctx);
    }

    fn effects(&mut self, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Attention(sentence) => self.attention = Some(sentence),
                Effect::Record(entry) => {
                    history::push(&mut self.state.history, entry);
                    self.history_dirty = true;
                }
                Effect::Remember(device) => {
                    if self.settings.remember(device) {
                        self.save_settings();
                        self.apply_receive_settings();
                    }
                }
            }
        }
    }

    fn update_title(&mut self, ctx: &egui::Context) {
        let focused = ctx.input(|i| i.viewport().focused.unwrap_or(i.focused));
        if focused {
            self.attention = None;
        }
        let title = match &self.attention {
            Some(sentence) => {
                let waiting = self.state.waiting_count();
                tr!(
                    "window-title-attention",
                    waiting = waiting,
                    sentence = sentence
                )
            }
            None => "Ferry".to_string(),
        };
        if title != self.title {
            if self.attention.is_some() {
                ctx.send_viewport_cmd(egui::ViewportCommand::RequestUserAttention(
                    egui::UserAttentionType::Informational,
                ));
            }
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn save_history(&self) {
        if let Some(bytes) = history::to_json(&self.state.history) {
            self.tasks.save(history::path_in(&self.data_dir), bytes);
        }
    }

    fn save_settings(&self) {
        match serde_json::to_vec_pretty(&self.settings) {
            Ok(bytes) => self.tasks.save(Settings::path_in(&self.config_dir), bytes),
            Err(e) => tracing::error!("cannot encode settings: {e}"),
        }
    }

    fn apply_receive_settings(&mut self) {
        self.send_command(Command::UpdateReceive(receive_settings(&self.settings)));
    }

    /// Hands a command to the engine without ever waiting for it.
    /// Folds one engine event in: the share's and the measurements go to
    /// their handlers, everything else to the model.
    fn engine_event(&mut self, event: Event) {
        let effects = match event {
            Event::Share(event) => {
                if matches!(event, crate::api::ShareEvent::VisitorRequest { .. }) {
                    // The answer is asked for in the share window.
                    self.view.share_open = true;
                }
                self.state.apply_share(event, now_ms())
            }
            Event::ShareStarted(started) => {
                return self.task_done(TaskResult::ShareStarted(Ok(*started)));
            }
            Event::ShareFailed(sentence) => {
                return self.task_done(TaskResult::ShareStarted(Err(sentence)));
            }
            Event::ShareStopped => return self.task_done(TaskResult::ShareStopped),
            Event::Measured { path, size } => {
                return self.task_done(TaskResult::Measured { path, size });
            }
            other => {
                if let Event::PeerSeen(peer) = &other {
                    self.rename_on_clash(&peer.device.alias, &peer.device.device_id);
                }
                if self.add_peer_event(&other) {
                    return;
                }
                self.state.apply(other, now_ms())
            }
        };
        self.effects(effects);
    }

    fn send_command(&mut self, command: Command) {
        use crossbeam_channel::TrySendError;
        match self.engine.commands().try_send(command) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => self.state.notice(tr!("notice-engine-busy")),
            Err(TrySendError::Disconnected(_)) => self.state.notice(tr!("notice-engine-stopped")),
        }
    }
}

/// The receive settings the engine should use for `settings`.
fn receive_settings(settings: &Settings) -> ReceiveSettings {
    ReceiveSettings {
        download_dir: settings.download_dir.clone(),
        accept: AcceptPolicy::Trusted(settings.trusted_devices.clone()),
        pin: settings.pin.clone().filter(|p| !p.trim().is_empty()),
        accept_from_anywhere: settings.accept_from_anywhere,
        remembered: settings.known_devices(),
        trust_new: settings.trust_new,
    }
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
