//! Browser tests of the console: Debian's headless Chromium driven by fantoccini over
//! chromedriver, against the server on a real port with a cluster served by the fake API
//! server. A user signs in, adds the cluster, enables protection, syncs assets, binds and
//! unbinds, opens an asset, handles alerts with every method (the quarantine result coming
//! back from the agent), whitelists a vulnerability, applies a baseline fix to the workload,
//! exports usage and bills, switches language, and signs in as a viewer. Every page is saved
//! as a screenshot under `target/console-screenshots/`.
//!
//! Its own test binary (`cargo test -p podwarden-server --test console-browser`) so that the
//! WebDriver client links only here. Needs `chromium` and `chromium-driver` (Debian packages);
//! without them it fails and says so.

#[path = "fake_apiserver.rs"]
mod fake_apiserver;
#[allow(dead_code)]
#[path = "findings_support.rs"]
mod findings_support;
#[allow(dead_code)]
#[path = "support.rs"]
mod support;

use axum::http::{Method, StatusCode};
use fake_apiserver::FakeApiServer;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use findings_support::{
    crate_package, network_detection, post_events, post_inventory, process_detection,
    webshell_detection, write_osv_index,
};
use podwarden_server::AppState;
use podwarden_server::clusters::patch::KubePatcher;
use podwarden_server::config::ConfigFile;
use podwarden_server::console::i18n::{Lang, catalogue};
use podwarden_server::findings::detections::AlertStatus;
use podwarden_server::store::TenantId;
use podwarden_server::store::alerts::AlertFilter;
use podwarden_server::store::assets::{AssetFilter, AssetView};
use podwarden_server::store::audit::Paging;
use serde_json::{Value, json};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Env, MINUTE, backends, test_config};

/// Token the fake API server accepts.
const CLUSTER_TOKEN: &str = "fake-cluster-token-console";
/// Password of the read-only console user the test creates.
const VIEWER_PASSWORD: &str = "correct horse battery";
/// Viewport of the screenshots (a laptop); some pages are also taken wide and narrow.
const WIDTH: u32 = 1440;
const HEIGHT: u32 = 900;
/// How long to wait for something to appear on a page.
const PATIENCE: Duration = Duration::from_secs(15);

/// Lists what keeps the current page from being usable with a screen reader or by people
/// with low vision: unlabelled controls, nameless buttons and links, text under WCAG AA
/// contrast (4.5:1, 3:1 for large text) against the first opaque background behind it.
const AUDIT_SCRIPT: &str = r#"
const problems = [];
const visible = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
  const labelled = (el.id && document.querySelector('label[for="' + CSS.escape(el.id) + '"]'))
    || el.closest('label') || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
  if (!labelled) problems.push('unlabelled control ' + el.outerHTML.slice(0, 120));
}
for (const el of document.querySelectorAll('button, a[href]')) {
  const name = (el.textContent || '').trim() || el.getAttribute('aria-label') || el.getAttribute('title');
  if (!name) problems.push('nameless ' + el.outerHTML.slice(0, 120));
}
const rgb = s => { const m = /rgba?\(([^)]+)\)/.exec(s); if (!m) return null;
  const p = m[1].split(',').map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
const background = el => { for (let e = el; e; e = e.parentElement) {
  const c = rgb(getComputedStyle(e).backgroundColor); if (c && c.a > 0.5) return c; }
  return { r: 255, g: 255, b: 255, a: 1 }; };
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
const seen = new Set();
while (walker.nextNode()) {
  const el = walker.currentNode.parentElement;
  if (!el || seen.has(el) || !walker.currentNode.textContent.trim()) continue;
  seen.add(el);
  if (!visible(el) || el.closest('[aria-disabled=true], button:disabled, .sr-only, .skip')) continue;
  const style = getComputedStyle(el);
  const fg = rgb(style.color), bg = background(el);
  if (!fg) continue;
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
  const large = size >= 24 || (bold && size >= 18.66);
  if (ratio < (large ? 3 : 4.5)) problems.push('contrast ' + ratio.toFixed(2) + ':1 ' + style.color
    + ' on rgb(' + bg.r + ',' + bg.g + ',' + bg.b + '): ' + walker.currentNode.textContent.trim().slice(0, 40));
}
return problems.slice(0, 20);
"#;

/// Chromium and chromedriver, or a failure naming the packages to install.
fn programs() -> (PathBuf, PathBuf) {
    let find = |names: &[&str]| -> Option<PathBuf> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        dirs.push(PathBuf::from("/usr/lib/chromium"));
        names.iter().find_map(|name| {
            dirs.iter()
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
    };
    let chromium = find(&["chromium", "chromium-browser"]);
    let driver = find(&["chromedriver"]);
    match (chromium, driver) {
        (Some(chromium), Some(driver)) => (chromium, driver),
        (chromium, driver) => panic!(
            "the console browser tests need Chromium and its WebDriver (found chromium: {}, \
             chromedriver: {}). Install Debian's packages: apt-get update && apt-get install -y \
             chromium chromium-driver",
            chromium.is_some(),
            driver.is_some()
        ),
    }
}

/// A chromedriver process on a free port, leader of its own process group (with the
/// Chromium it starts); the whole group is killed when dropped, also when the test fails.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(program: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port for chromedriver: {e}"));
    let child = Command::new(program)
        .arg(format!("--port={port}"))
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let driver = Driver { child, port };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < PATIENCE,
            "chromedriver did not listen on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    driver
}

async fn browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_string(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--force-device-scale-factor=1", "--lang=en-US",
                format!("--window-size={WIDTH},{HEIGHT}"),
                format!("--user-data-dir={}", profile.display()),
            ],
            "prefs": {"intl.accept_languages": "en-US,en"}
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .unwrap_or_else(|e| panic!("cannot start a Chromium session: {e}"))
}

/// Where screenshots go.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let dir = target.join("console-screenshots");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    // Only this run's pictures: drop those of earlier runs.
    for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        if entry.path().extension().is_some_and(|ext| ext == "png") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    dir.canonicalize().unwrap_or(dir)
}

/// A browser session on the console.
struct Ui {
    client: Client,
    base: String,
    shots: PathBuf,
}

impl Ui {
    async fn go(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("goto {path}: {e}"));
        self.wait_ready().await;
    }

    async fn wait_ready(&self) {
        let started = Instant::now();
        loop {
            let state = self
                .client
                .execute("return document.readyState", vec![])
                .await
                .unwrap_or(Value::Null);
            if state == "complete" {
                return;
            }
            assert!(started.elapsed() < PATIENCE, "page did not load");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn find(&self, css: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!("no element {css} on {}: {e}", self.path().await),
        }
    }

    async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks something that loads a new page (a form submit, a link) and waits until the
    /// new document has replaced the current one and finished loading: the current
    /// document is marked first, so a stale "complete" is never taken for the new page.
    async fn click_and_load(&self, css: &str) {
        let element = self.find(css).await;
        self.client
            .execute("window.__pwStale = true;", vec![])
            .await
            .unwrap_or_else(|e| panic!("mark page: {e}"));
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
        let started = Instant::now();
        loop {
            let loaded = self
                .client
                .execute(
                    "return window.__pwStale !== true && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .unwrap_or(Value::Bool(false));
            if loaded == Value::Bool(true) {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "clicking {css} on {} loaded no new page",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn type_into(&self, css: &str, text: &str) {
        let field = self.find(css).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clear {css}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("type into {css}: {e}"));
    }

    /// Sets a field's value by script (large texts such as kubeconfigs).
    async fn set_value(&self, css: &str, text: &str) {
        self.find(css).await;
        self.client
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![json!(css), json!(text)],
            )
            .await
            .unwrap_or_else(|e| panic!("set {css}: {e}"));
    }

    async fn path(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| {
                let mut p = u.path().to_string();
                if let Some(q) = u.query() {
                    p.push('?');
                    p.push_str(q);
                }
                p
            })
            .unwrap_or_default()
    }

    async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.unwrap_or_default()
    }

    /// Waits until the element's text contains `needle`.
    async fn wait_text(&self, css: &str, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let found = match self.client.find(Locator::Css(css)).await {
                Ok(element) => element.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            if found.contains(needle) {
                return found;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "{css} on {} never contained {needle:?} (last: {found:?})",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map(|all| all.len())
            .unwrap_or(0)
    }

    /// Presses a key in the focused element.
    async fn press(&self, key: Key) {
        self.client
            .active_element()
            .await
            .unwrap_or_else(|e| panic!("focused element: {e}"))
            .send_keys(&key.to_string())
            .await
            .unwrap_or_else(|e| panic!("press {key:?}: {e}"));
    }

    /// Moves the focus to the top of the document, presses Tab, and describes what has the
    /// focus then (tag, class and text).
    async fn keyboard_focus_after_tab(&self) -> String {
        self.client
            .execute(
                "if (document.activeElement) { document.activeElement.blur(); } window.scrollTo(0, 0);",
                vec![],
            )
            .await
            .unwrap_or_else(|e| panic!("blur: {e}"));
        self.client
            .perform_actions(
                KeyActions::new("keyboard".to_string())
                    .then(KeyAction::Down {
                        value: Key::Tab.into(),
                    })
                    .then(KeyAction::Up {
                        value: Key::Tab.into(),
                    }),
            )
            .await
            .unwrap_or_else(|e| panic!("Tab: {e}"));
        self.client
            .execute(
                "const e = document.activeElement; return e.tagName + '.' + e.className + ' ' + e.textContent.trim();",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Waits until nothing matches `css`.
    async fn wait_gone(&self, css: &str) {
        let started = Instant::now();
        while self.count(css).await > 0 {
            assert!(
                started.elapsed() < PATIENCE,
                "{css} stayed on {}",
                self.path().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Checks the page as it stands, then saves the whole page (the window grown to its
    /// height) as `{name}.png`.
    async fn shot(&self, name: &str) {
        self.audit().await;
        self.shot_at(name, WIDTH).await;
    }

    /// Accessibility of the page as rendered: every form control has a label, every button
    /// and link a name, and visible text meets WCAG AA contrast on its actual background.
    async fn audit(&self) {
        let problems = self.audit_problems().await;
        assert!(
            problems.is_empty(),
            "accessibility problems on {}:\n{}",
            self.path().await,
            problems.join("\n")
        );
    }

    async fn audit_problems(&self) -> Vec<String> {
        let problems = self
            .client
            .execute(AUDIT_SCRIPT, vec![])
            .await
            .unwrap_or_else(|e| panic!("audit script: {e}"));
        problems
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_else(|| panic!("audit script returned {problems}"))
    }

    async fn shot_at(&self, name: &str, width: u32) {
        self.client
            .set_window_size(width, HEIGHT)
            .await
            .unwrap_or_else(|e| panic!("resize: {e}"));
        let height = self
            .client
            .execute(
                "return Math.max(document.documentElement.scrollHeight, document.body.scrollHeight)",
                vec![],
            )
            .await
            .ok()
            .and_then(|v| v.as_u64())
            .unwrap_or(u64::from(HEIGHT));
        let height = u32::try_from(height.clamp(u64::from(HEIGHT), 8000)).unwrap_or(HEIGHT);
        let _ = self.client.set_window_size(width, height + 100).await;
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let _ = self.client.set_window_size(WIDTH, HEIGHT).await;
    }

    /// A dialog open on screen: only the viewport.
    async fn shot_viewport(&self, name: &str) {
        let png = self
            .client
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let path = self.shots.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }

    /// The text of the flash message after a form.
    async fn flash(&self) -> String {
        self.text("#flash .flash").await
    }

    /// Fetches a URL with the browser's session (for downloads).
    async fn fetch(&self, path: &str) -> String {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0]).then(r => r.text()).then(done, e => done('ERROR ' + e));",
                vec![json!(path)],
            )
            .await
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }
}

/// The English catalogue's texts that a Japanese page must not show: those that differ
/// in Japanese, have no placeholder, and are phrases (a space), not a name or a unit.
fn english_only_texts() -> Vec<&'static str> {
    let english = catalogue(Lang::En);
    let japanese = catalogue(Lang::Ja);
    let mut texts: Vec<&'static str> = english
        .iter()
        .filter(|(key, text)| {
            japanese.get(key.as_str()) != Some(*text) && !text.contains('{') && text.contains(' ')
        })
        .map(|(_, text)| text.as_str())
        .collect();
    texts.sort_unstable();
    texts.dedup();
    assert!(texts.len() > 100, "{} English texts", texts.len());
    texts
}

async fn assets_of(env: &Env, tenant: TenantId) -> Vec<AssetView> {
    env.store
        .list_assets(
            tenant,
            &AssetFilter::default(),
            Paging {
                page: 1,
                per_page: 500,
            },
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default()
}

async fn alert_status(env: &Env, tenant: TenantId, id: i64) -> AlertStatus {
    env.store
        .get_alert(tenant, id)
        .await
        .map(|d| d.alert.status)
        .unwrap_or_else(|e| panic!("alert {id}: {e}"))
}

/// Handles alert `id` through its Handle dialog.
async fn handle(
    ui: &Ui,
    id: i64,
    method: &str,
    scope: Option<&str>,
    note: &str,
    shot: Option<&str>,
) {
    ui.go(&format!("/alerts/{id}")).await;
    ui.click("button[data-open=handle-dialog]").await;
    ui.find("#handle-dialog[open]").await;
    ui.click(&format!(
        "#handle-dialog input[name=method][value={method}]"
    ))
    .await;
    if let Some(scope) = scope {
        ui.click(&format!("#handle-dialog input[name=scope][value={scope}]"))
            .await;
    }
    ui.type_into("#handle-note", note).await;
    if let Some(name) = shot {
        ui.shot_viewport(name).await;
    }
    ui.click_and_load("#handle-dialog button[type=submit]")
        .await;
    let flash = ui.flash().await;
    assert!(
        !flash.contains("did not work"),
        "handling {id} with {method}: {flash}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_runs_the_console_in_a_browser() {
    let (chromium, chromedriver) = programs();
    let driver = start_driver(&chromedriver);
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));

    let osv = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write_osv_index(osv.path());
    let config = ConfigFile {
        vuln_db: Some(osv.path().display().to_string()),
        ..test_config()
    };
    let env = Env::with_config(&backends()[0], config).await;
    let (tenant, admin) = env.new_tenant("acme").await;
    let cluster = FakeApiServer::start(CLUSTER_TOKEN).await;

    let mut state = AppState::new(env.store.clone());
    state.patcher = Arc::new(KubePatcher::new(env.store.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, podwarden_server::app(state)).await;
    });
    let ui = Ui {
        client: browser(&driver, &chromium, profile.path()).await,
        base: format!("http://{addr}"),
        shots: screenshot_dir(),
    };
    println!("console screenshots: {}", ui.shots.display());

    // Signed out, a page sends the user to the sign-in form, and back after it.
    ui.go("/assets").await;
    assert!(ui.path().await.starts_with("/login"), "{}", ui.path().await);
    ui.shot("01-login").await;
    // The audit finds what it looks for: faint text and a control without a label.
    ui.client
        .execute(
            "const p = document.createElement('p'); p.textContent = 'faint text'; p.style.color = '#b0b0b0'; \
             p.style.background = '#ffffff'; document.body.append(p, document.createElement('input'));",
            vec![],
        )
        .await
        .unwrap_or_else(|e| panic!("probe: {e}"));
    let found = ui.audit_problems().await;
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("contrast") && p.ends_with("faint text"))
            && found.iter().any(|p| p.starts_with("unlabelled control")),
        "{found:?}"
    );
    ui.go("/assets").await;
    ui.type_into("#token", &admin).await;
    ui.click_and_load("form.login button[type=submit]").await;
    assert_eq!(ui.path().await, "/assets");
    ui.shot("02-assets-empty").await;

    // Add the cluster by its kubeconfig.
    ui.go("/settings#clusters").await;
    ui.type_into("#cluster-name", "prod-hangzhou").await;
    ui.find("#cluster-kind")
        .await
        .select_by_value("k8s-virtual-node")
        .await
        .unwrap_or_else(|e| panic!("select kind: {e}"));
    ui.set_value("#cluster-kubeconfig", &cluster.kubeconfig(CLUSTER_TOKEN))
        .await;
    ui.click_and_load("form[action='/settings/clusters'] button[type=submit]")
        .await;
    assert!(
        ui.flash().await.contains("prod-hangzhou"),
        "{}",
        ui.flash().await
    );

    // An enrolment token for the agents: shown once, inside the Secret manifest to apply,
    // with the annotation to add; the agents below enrol with exactly this token.
    ui.go("/settings#enrollment").await;
    ui.type_into("#enroll-ns", "shop").await;
    ui.click_and_load("form[action='/settings/enrollment'] button[type=submit]")
        .await;
    let manifest = ui.text("#secret-manifest").await;
    assert!(
        manifest.contains("kind: Secret") && manifest.contains("namespace: shop"),
        "{manifest}"
    );
    assert!(
        ui.text("main")
            .await
            .contains("podwarden.io/agent: \"enabled\"")
    );
    let enrollment = manifest
        .lines()
        .rev()
        .find_map(|line| line.trim().split_once(": \""))
        .map(|(_, quoted)| quoted.trim_end_matches('"').to_string())
        .unwrap_or_else(|| panic!("no token in {manifest}"));
    ui.shot("02b-enrolment-token").await;

    // An admin creates a read-only user who signs in with a password at the end.
    ui.go("/settings#users").await;
    ui.type_into("#new-username", "mika").await;
    ui.type_into("#new-password", VIEWER_PASSWORD).await;
    ui.find("#user-role")
        .await
        .select_by_value("viewer")
        .await
        .unwrap_or_else(|e| panic!("select role: {e}"));
    ui.click_and_load("form[action='/settings/users'] button[type=submit]")
        .await;
    assert!(ui.flash().await.contains("mika"), "{}", ui.flash().await);

    // Enable protection: the dialog explains the default binding rules first.
    ui.go("/").await;
    ui.shot("03-overview-off").await;
    ui.click("button[data-open=enable-dialog]").await;
    ui.find("#enable-dialog[open]").await;
    let rules = ui.text("#enable-dialog").await;
    for case in [
        "First time ever enabled: every asset is bound, and new assets are added automatically",
        "Enabled again after being switched off: the assets bound before are bound again",
        "An overdue account that pays: what was bound stays as it was",
        "This is the first time protection is enabled here: the first rule applies",
    ] {
        assert!(rules.contains(case), "{case:?} not explained in {rules}");
    }
    assert!(
        ui.text("#enable-dialog li.current")
            .await
            .starts_with("First time ever enabled"),
        "the rule that applies is highlighted"
    );
    ui.shot_viewport("04-enable-dialog").await;
    ui.click("#enable-dialog button[type=submit]").await;
    ui.wait_text("#protection-state", "Active").await;
    assert!(
        env.store
            .protection(tenant)
            .await
            .map(|p| p.active)
            .unwrap_or(false)
    );

    // Sync assets: progress, then the counts, then the list.
    ui.go("/assets").await;
    ui.click("#sync-button").await;
    let done = ui.wait_text("#sync-panel", "Sync finished").await;
    assert!(done.contains("added"), "{done}");
    ui.wait_text("#results", "web-7c9f8d6b5-x2k4p").await;
    let synced = assets_of(&env, tenant).await;
    assert!(synced.len() >= 5, "{} assets", synced.len());
    assert!(done.contains(&format!("{} added", synced.len())), "{done}");
    ui.shot("05-assets-synced").await;

    // Agents come online in two pods; one reports detections, an inventory and is checked.
    let uid = |name: &str| {
        synced
            .iter()
            .find(|a| a.pod_name == name)
            .map(|a| (a.id, a.pod_uid.clone()))
            .unwrap_or_else(|| panic!("asset {name}"))
    };
    let (web, web_uid) = uid("web-7c9f8d6b5-x2k4p");
    let (api, api_uid) = uid("api-6b7d9f8c4-2hjsl");
    let (_, web_credential) = env
        .enroll(&enrollment, &web_uid, "web-7c9f8d6b5-x2k4p")
        .await;
    let (_, api_credential) = env
        .enroll(&enrollment, &api_uid, "api-6b7d9f8c4-2hjsl")
        .await;
    let (status, body) = post_events(
        &env,
        &web_credential,
        vec![
            webshell_detection("d-1", "/var/www/html/upload/x.php", 'a'),
            process_detection(
                "d-2",
                "/tmp/xmrig",
                &["xmrig", "-o", "pool.example:3333"],
                "critical",
            ),
            network_detection("d-3", "203.0.113.7:4444"),
            process_detection(
                "d-4",
                "/usr/bin/nmap",
                &["nmap", "-sS", "10.0.0.0/24"],
                "medium",
            ),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post_inventory(
        &env,
        &web_credential,
        "inv-1",
        support::T0,
        vec![
            crate_package("regex", "1.5.4"),
            crate_package("smallvec", "1.6.0"),
            crate_package("tar", "0.4.44"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    env.heartbeat(&api_credential).await;

    // An asset's page: identity, agent, capability matrix, counts; check its baseline now.
    ui.go(&format!("/assets/{web}")).await;
    ui.click_and_load("form[action$='/scan'] button[value=baseline]")
        .await;
    let flash = ui.flash().await;
    assert!(
        flash.contains("Baseline checked") || flash.contains("Scan requested"),
        "{flash}"
    );
    ui.wait_text(".count-row", "Open alerts").await;
    ui.shot("06-asset-detail").await;

    // The list shows agents online (green) or offline with the reason, and risk counts.
    ui.go("/assets").await;
    let row = ui.text(&format!("tr:has(a[href='/assets/{web}'])")).await;
    assert!(row.contains("Online") && row.contains("At risk"), "{row}");
    let row = ui
        .text(&format!(
            "tr:has(a[href='/assets/{}'])",
            uid("sandbox-5d8f7c9b4-m9xtv").0
        ))
        .await;
    assert!(
        row.contains("Offline") && row.contains("never installed"),
        "{row}"
    );
    ui.shot("07-assets-agents").await;
    ui.go("/assets?view=no-quota").await;
    ui.shot("08-assets-not-consuming-quota").await;

    // Quota management: unbind two ticked assets, then bind everything with auto-add on.
    ui.go("/assets").await;
    for id in [web, api] {
        ui.click(&format!("input[name=asset_ids][value='{id}']"))
            .await;
    }
    ui.click("button[data-open=quota-dialog]").await;
    ui.find("#quota-dialog[open]").await;
    assert_eq!(ui.text("[data-selected-count]").await, "2");
    ui.click("#quota-form input[name=action][value=remove]")
        .await;
    // Auto-add was turned on by the first enable; switch it off here.
    ui.click("#quota-form input[name=auto_add]").await;
    ui.shot_viewport("09-quota-dialog").await;
    ui.click_and_load("#quota-form button[type=submit]").await;
    assert!(
        ui.flash().await.contains("2 assets unbound"),
        "{}",
        ui.flash().await
    );
    let bound = |assets: &[AssetView], id: i64| assets.iter().any(|a| a.id == id && a.bound);
    let now = assets_of(&env, tenant).await;
    assert!(!bound(&now, web) && !bound(&now, api));
    let auto_add = |env: &Env| {
        let store = env.store.clone();
        async move {
            store
                .protection(tenant)
                .await
                .map(|p| p.auto_add)
                .unwrap_or_else(|e| panic!("protection: {e}"))
        }
    };
    assert!(!auto_add(&env).await, "auto-add switched off in the dialog");
    ui.click("button[data-open=quota-dialog]").await;
    ui.find("#quota-dialog[open]").await;
    ui.click("#quota-form input[name=action][value=add]").await;
    ui.click("#quota-form input[name=target][value=all]").await;
    ui.click("#quota-form input[name=auto_add]").await;
    ui.click_and_load("#quota-form button[type=submit]").await;
    let now = assets_of(&env, tenant).await;
    assert!(bound(&now, web) && bound(&now, api), "bound again");
    assert!(auto_add(&env).await, "auto-add switched on in the dialog");

    // One asset unbound from its own page, then protection switched off and enabled again:
    // the dialog now points at the second rule, and what was bound before is bound again.
    ui.go(&format!("/assets/{api}")).await;
    ui.click_and_load("form[action$='/quota'] button[value=remove]")
        .await;
    assert!(
        ui.flash().await.contains("Asset unbound"),
        "{}",
        ui.flash().await
    );
    ui.go("/").await;
    ui.click("button[data-open=off-dialog]").await;
    ui.find("#off-dialog[open]").await;
    ui.click_and_load("#off-dialog button[value=disable]").await;
    assert!(
        ui.flash().await.contains("Protection switched off"),
        "{}",
        ui.flash().await
    );
    assert!(!assets_of(&env, tenant).await.iter().any(|a| a.bound));
    ui.click("button[data-open=enable-dialog]").await;
    ui.find("#enable-dialog[open]").await;
    assert!(
        ui.text("#enable-dialog li.current")
            .await
            .starts_with("Enabled again after being switched off"),
        "the second rule is highlighted"
    );
    assert!(
        ui.text("#enable-dialog .banner")
            .await
            .contains("the second rule applies")
    );
    ui.shot_viewport("09b-enable-again-dialog").await;
    ui.click_and_load("#enable-dialog button[type=submit]")
        .await;
    let now = assets_of(&env, tenant).await;
    assert!(
        bound(&now, web) && !bound(&now, api),
        "the bound set before switching off is restored"
    );
    ui.go(&format!("/assets/{api}")).await;
    ui.click_and_load("form[action$='/quota'] button[value=add]")
        .await;
    assert!(bound(&assets_of(&env, tenant).await, api));
    ui.go("/assets").await;

    // Pause and resume from the assets page.
    ui.click("button[data-open=pause-dialog]").await;
    ui.click_and_load("#pause-dialog button[value=pause]").await;
    assert!(
        env.store
            .protection(tenant)
            .await
            .map(|p| p.paused)
            .unwrap_or(false)
    );
    ui.click_and_load("button[value=resume]").await;
    assert!(
        env.store
            .protection(tenant)
            .await
            .map(|p| p.active)
            .unwrap_or(false)
    );

    // A second sync reports updates and pods gone.
    {
        let mut pods = fake_apiserver::fixture_items("pods.json");
        pods.retain(|p| p["metadata"]["name"] != "report-28730160-7wqkd");
        if let Some(pod) = pods
            .iter_mut()
            .find(|p| p["metadata"]["name"] == "api-6b7d9f8c4-k7p3c")
        {
            pod["status"]["containerStatuses"][0]["restartCount"] = json!(3);
        }
        cluster.state().set_pods(&pods);
    }
    ui.click("#sync-button").await;
    let second = ui.wait_text("#sync-panel", "Sync finished").await;
    assert!(second.contains("1 gone"), "{second}");
    ui.shot("10-assets-second-sync").await;
    ui.shot_at("11-assets-wide", 1920).await;
    ui.shot_at("12-assets-laptop", 1280).await;

    // Alerts: the list, then each handling method.
    let alerts = env
        .store
        .list_alerts(
            tenant,
            &AlertFilter::default(),
            Paging {
                page: 1,
                per_page: 50,
            },
        )
        .await
        .map(|p| p.items)
        .unwrap_or_default();
    let id_of = |rule: &str| {
        alerts
            .iter()
            .find(|a| a.rule_id == rule || a.rule_name == rule)
            .map(|a| a.id)
            .unwrap_or_else(|| panic!("alert {rule}"))
    };
    let webshell = id_of("PW-WEBSHELL-PHP");
    let reverse_shell = id_of("PW-NET-001");
    let miner = alerts
        .iter()
        .find(|a| a.process_exe.as_deref() == Some("/tmp/xmrig"))
        .map(|a| a.id)
        .unwrap_or_default();
    let recon = alerts
        .iter()
        .find(|a| a.process_exe.as_deref() == Some("/usr/bin/nmap"))
        .map(|a| a.id)
        .unwrap_or_default();
    ui.go("/alerts").await;
    assert_eq!(ui.count("#results tbody tr").await, 4);
    ui.shot("13-alerts-unhandled").await;
    // Live search: typing narrows the list in place (htmx) and keeps the URL in step.
    ui.type_into("#f-q", "NMAP").await;
    ui.wait_text("#results .pager .range", "1–1 of 1").await;
    assert_eq!(ui.count("#results tbody tr").await, 1);
    assert!(ui.path().await.contains("q=NMAP"), "{}", ui.path().await);
    ui.shot("13b-alerts-search").await;
    ui.go(&format!("/alerts/{webshell}")).await;
    ui.shot("14-alert-detail").await;

    // Keyboard: Tab from the top reaches the skip link first; the Handle dialog opens with
    // Enter, takes the focus, and closes with Escape.
    let first_stop = ui.keyboard_focus_after_tab().await;
    assert!(first_stop.contains("skip"), "first Tab stop: {first_stop}");
    let opener = ui.find("button[data-open=handle-dialog]").await;
    ui.client
        .execute("arguments[0].focus();", vec![json!(opener)])
        .await
        .unwrap_or_else(|e| panic!("focus: {e}"));
    ui.press(Key::Enter).await;
    ui.find("#handle-dialog[open]").await;
    let inside = ui
        .client
        .execute(
            "return document.activeElement.closest('#handle-dialog') !== null;",
            vec![],
        )
        .await
        .unwrap_or(Value::Null);
    assert_eq!(inside, Value::Bool(true), "the dialog takes the focus");
    ui.press(Key::Escape).await;
    ui.wait_gone("#handle-dialog[open]").await;

    handle(
        &ui,
        webshell,
        "quarantine",
        None,
        "real webshell",
        Some("15-handle-dialog"),
    )
    .await;
    assert_eq!(
        alert_status(&env, tenant, webshell).await,
        AlertStatus::Quarantining
    );
    // The agent fetches the commands and reports back; the open page refreshes by itself.
    let (status, commands) = env
        .call(
            Method::GET,
            "/agent/v1/commands",
            Some(&web_credential),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{commands}");
    let results: Vec<Value> = commands["commands"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            json!({"command_id": c["id"], "ok": true, "message": "moved into the vault",
            "vault_id": "vault-7f3a", "sha256": "a".repeat(64), "finished_at": 1})
        })
        .collect();
    assert!(!results.is_empty());
    let (status, body) = env
        .call(
            Method::POST,
            "/agent/v1/commands",
            Some(&web_credential),
            Some(json!({"results": results})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    ui.wait_text("#alert-live", "Quarantined").await;
    ui.wait_text("#alert-live", "vault-7f3a").await;
    ui.shot("16-alert-quarantined").await;
    assert_eq!(
        alert_status(&env, tenant, webshell).await,
        AlertStatus::Quarantined
    );

    handle(
        &ui,
        reverse_shell,
        "whitelist",
        Some("all"),
        "our bastion",
        None,
    )
    .await;
    assert_eq!(
        alert_status(&env, tenant, reverse_shell).await,
        AlertStatus::Whitelisted
    );
    handle(&ui, recon, "ignore", None, "scheduled scan", None).await;
    assert_eq!(
        alert_status(&env, tenant, recon).await,
        AlertStatus::Ignored
    );
    handle(&ui, miner, "handled", None, "pod replaced", None).await;
    assert_eq!(
        alert_status(&env, tenant, miner).await,
        AlertStatus::Handled
    );
    ui.go("/alerts?tab=handled").await;
    assert_eq!(ui.count("#results tbody tr").await, 4);
    ui.shot("17-alerts-handled").await;
    ui.go("/alerts?tab=whitelist").await;
    ui.shot("18-alerts-whitelist").await;

    // Vulnerabilities by advisory and by asset, every finding, the supported database;
    // whitelist one advisory.
    ui.go("/vulnerabilities").await;
    let listed = ui.text("#results").await;
    assert!(
        listed.contains("regex") || listed.contains("GHSA") || listed.contains("RUSTSEC"),
        "{listed}"
    );
    ui.shot("19-vulnerabilities-by-advisory").await;
    ui.go("/vulnerabilities?tab=asset").await;
    ui.shot("20-vulnerabilities-by-asset").await;
    ui.go("/vulnerabilities?tab=findings").await;
    ui.shot("21-vulnerabilities-findings").await;
    ui.go("/vulnerabilities").await;
    let advisory = ui
        .find("#results button[data-open=vuln-wl-dialog]")
        .await
        .attr("data-fill")
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    ui.click("#results button[data-open=vuln-wl-dialog]").await;
    ui.type_into("#wl-reason", "not reachable in our build")
        .await;
    ui.click_and_load("#vuln-wl-dialog button[type=submit]")
        .await;
    assert!(
        ui.flash().await.contains("whitelisted"),
        "{} ({advisory})",
        ui.flash().await
    );
    ui.go("/vulnerabilities?tab=supported").await;
    ui.wait_text("#db-h", "Vulnerability database").await;
    ui.shot("22-vulnerabilities-supported").await;

    // Baseline: grouped by check, every risk, and a fix shown before it is applied.
    ui.go("/baseline").await;
    ui.shot("23-baseline-by-check").await;
    ui.go(&format!("/baseline?tab=risks&asset={web}")).await;
    ui.shot("24-baseline-risks").await;
    ui.click_and_load("#results a.btn[href$='/fix']").await;
    let patch = ui.text("#fix-patch").await;
    assert!(patch.contains("\"op\""), "{patch}");
    ui.shot("25-baseline-fix").await;
    let before = cluster.state().requests_to("PATCH", "/apis/apps/v1").len();
    ui.click_and_load("#apply-fix").await;
    let flash = ui.flash().await;
    assert!(flash.contains("Fix applied"), "{flash}");
    assert_eq!(
        cluster.state().requests_to("PATCH", "/apis/apps/v1").len(),
        before + 1,
        "the workload was patched"
    );

    // Usage: a day and a half of metering, yesterday's bill, and the exports.
    for _ in 0..(36 * 60 / 20) {
        env.clock.advance(20 * MINUTE);
        env.heartbeat(&web_credential).await;
        env.heartbeat(&api_credential).await;
    }
    env.store
        .close_bills(tenant)
        .await
        .unwrap_or_else(|e| panic!("bills: {e}"));
    // A day and a half later the session has expired: the page asks to sign in again and
    // comes back to where the user was going.
    ui.go("/usage").await;
    assert!(ui.path().await.starts_with("/login"), "{}", ui.path().await);
    ui.type_into("#token", &admin).await;
    ui.click_and_load("form.login button[type=submit]").await;
    assert_eq!(ui.path().await, "/usage");
    ui.find("svg.chart rect").await;
    ui.shot("26-usage").await;
    let csv = ui.fetch("/usage/usage.csv").await;
    assert!(csv.starts_with("day,asset_id,asset_name"), "{csv}");
    assert!(csv.contains("web-7c9f8d6b5-x2k4p"), "{csv}");
    let bills = ui.fetch("/usage/bills.csv").await;
    assert!(
        bills.starts_with("day,timezone,") && bills.lines().count() >= 2,
        "{bills}"
    );

    ui.go("/").await;
    ui.shot("27-overview").await;
    ui.go("/settings").await;
    ui.shot("28-settings").await;

    // Switch language: every page speaks Japanese, with no English text of the catalogue
    // left on it; then back to English.
    ui.go("/").await;
    ui.click_and_load("header a[hreflang=ja]").await;
    ui.find("html[lang=ja]").await;
    assert_eq!(ui.path().await, "/", "the switch stays on the page");
    assert!(ui.text("nav.side").await.contains("サーバーレス資産"));
    // Rule names are data the agent sent (one is also a catalogue text), not console text.
    let mut english = english_only_texts();
    english.retain(|text| !alerts.iter().any(|a| a.rule_name == *text));
    let pages_ja = [
        ("29-overview-ja", "/".to_string()),
        ("30-assets-ja", "/assets".to_string()),
        ("31-asset-detail-ja", format!("/assets/{web}")),
        ("32-alerts-ja", "/alerts?tab=handled".to_string()),
        ("33-alert-ja", format!("/alerts/{webshell}")),
        ("34-vulnerabilities-ja", "/vulnerabilities".to_string()),
        ("35-baseline-ja", "/baseline".to_string()),
        ("36-usage-ja", "/usage".to_string()),
        ("37-settings-ja", "/settings".to_string()),
    ];
    for (shot, path) in &pages_ja {
        ui.go(path).await;
        ui.find("html[lang=ja]").await;
        let text = ui.text("body").await;
        let left: Vec<&&str> = english.iter().filter(|e| text.contains(**e)).collect();
        assert!(
            left.is_empty(),
            "English text on {path} in Japanese: {left:?}"
        );
        ui.shot(shot).await;
    }
    ui.click_and_load("header a[hreflang=en]").await;
    ui.find("html[lang=en]").await;
    assert!(ui.text("nav.side").await.contains("Serverless assets"));

    // A viewer sees everything and no control it cannot use.
    ui.click_and_load("form[action='/logout'] button").await;
    assert!(ui.path().await.starts_with("/login"));
    ui.type_into("#username", "mika").await;
    ui.type_into("#password", "not the password").await;
    ui.click_and_load("form.login button[type=submit]").await;
    assert!(ui.path().await.starts_with("/login"));
    ui.find("form.login").await;
    ui.type_into("#password", VIEWER_PASSWORD).await;
    ui.click_and_load("form.login button[type=submit]").await;
    assert!(
        !ui.path().await.starts_with("/login"),
        "{}",
        ui.path().await
    );
    ui.go("/assets").await;
    assert_eq!(ui.count("#sync-button").await, 0);
    assert_eq!(ui.count("input[name=asset_ids]").await, 0);
    ui.shot("38-assets-viewer").await;
    ui.go(&format!("/alerts/{reverse_shell}")).await;
    assert_eq!(ui.count("button[data-open]").await, 0);

    let _ = ui.client.close().await;
    server.abort();
    drop(cluster);
    env.finish().await;
}
