//! A small W3C WebDriver client over reqwest, for the browser tests: Debian's
//! `chromedriver` drives headless `chromium`. (The protocol is plain JSON over HTTP; reqwest
//! is already in the build, so no WebDriver crate and its dependency tree is needed.)

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

/// A running chromedriver with one browser session; both end on drop.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    driver: Child,
}

/// An element reference.
#[derive(Clone, Debug)]
pub struct El(String);

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

fn chromium_binary() -> String {
    std::env::var("WID_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a 1280x800 window. Panics (fails the
    /// test) when either is missing: install Debian's `chromium` and `chromium-driver`.
    pub async fn start() -> Browser {
        let driver_bin =
            std::env::var("WID_CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port();
        let driver = Command::new(&driver_bin)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {driver_bin} ({e}): apt-get install chromium chromium-driver")
            });
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let mut ready = false;
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(ready, "chromedriver did not answer on {base}");
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium_binary(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,800", "--hide-scrollbars", "--force-device-scale-factor=1",
                         "--no-proxy-server", "--lang=en-US",
                         // Loopback only: Chromium resolves no name but the test's own host
                         // (no DNS query leaves the machine), and its background services
                         // (updates, sync, autofill, safe browsing) stay off.
                         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--disable-default-apps", "--no-first-run",
                         "--disable-domain-reliability", "--disable-client-side-phishing-detection",
                         "--no-pings", "--dns-prefetch-disable",
                         "--disable-features=AutofillServerCommunication,OptimizationHints,MediaRouter,Translate,NetworkTimeServiceQuerying,CertificateTransparencyComponentUpdater"]
            }
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .expect("session json");
        let id = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromium did not start: {r}"))
            .to_string();
        let b = Browser {
            http,
            base: format!("{base}/session/{id}"),
            driver,
        };
        // A 1280x800 viewport (the window size would include the browser's own chrome).
        b.viewport(1280, 800, false).await;
        // Finding an element waits up to 5 s for it to appear.
        b.cmd(
            reqwest::Method::POST,
            "/timeouts",
            Some(json!({"implicit": 5000})),
        )
        .await;
        b
    }

    /// Clicks something that loads a new page, and waits until the new page has loaded (so
    /// that the next step never acts on the old one).
    pub async fn click_through(&self, css: &str) {
        self.execute("window.__widOldPage = true; return true;", json!([]))
            .await;
        self.click(css).await;
        for _ in 0..200 {
            let v = self
                .cmd_raw(
                    reqwest::Method::POST,
                    "/execute/sync",
                    json!({"script": "return (window.__widOldPage !== true) && document.readyState === 'complete';", "args": []}),
                )
                .await;
            if v == json!(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("clicking {css} did not load a new page");
    }

    /// Sets the viewport's size (CSS pixels) and whether it is a phone's.
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.cmd(
            reqwest::Method::POST,
            "/goog/cdp/execute",
            Some(json!({"cmd": "Emulation.setDeviceMetricsOverride",
                        "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}})),
        )
        .await;
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        rb = rb.json(&body.unwrap_or(json!({})));
        let v: Value = rb
            .send()
            .await
            .expect("webdriver")
            .json()
            .await
            .expect("webdriver json");
        if v["value"].get("error").is_some() {
            panic!("webdriver {path}: {}", v["value"]);
        }
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await;
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    /// Waits up to 10 s for the URL to end with `suffix`; returns the URL.
    pub async fn wait_url(&self, suffix: &str) -> String {
        let mut url = String::new();
        for _ in 0..200 {
            url = self.url().await;
            if url.ends_with(suffix) && self.ready().await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        url
    }

    async fn ready(&self) -> bool {
        self.execute("return document.readyState", json!([])).await == "complete"
    }

    /// Waits up to 10 s for the text of `css` to contain `needle`; returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let mut text = String::new();
        for _ in 0..200 {
            let found = self
                .cmd_raw(
                    reqwest::Method::POST,
                    "/element",
                    json!({"using": "css selector", "value": css}),
                )
                .await;
            if let Some(id) = found[ELEMENT_KEY].as_str() {
                let t = self
                    .cmd_raw(
                        reqwest::Method::GET,
                        &format!("/element/{id}/text"),
                        json!({}),
                    )
                    .await;
                text = t.as_str().unwrap_or("").to_string();
                if text.contains(needle) {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        text
    }

    async fn cmd_raw(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        match self
            .http
            .request(method, format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
        {
            Ok(r) => r
                .json::<Value>()
                .await
                .map(|v| v["value"].clone())
                .unwrap_or(Value::Null),
            Err(_) => Value::Null,
        }
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None)
            .await
            .as_str()
            .unwrap_or("")
            .to_string()
    }

    pub async fn find(&self, css: &str) -> El {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        El(v[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {v}"))
            .to_string())
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/click", e.0),
            None,
        )
        .await;
    }

    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/clear", e.0),
            None,
        )
        .await;
        self.cmd(
            reqwest::Method::POST,
            &format!("/element/{}/value", e.0),
            Some(json!({"text": text})),
        )
        .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/text", e.0),
            None,
        )
        .await
        .as_str()
        .unwrap_or("")
        .to_string()
    }

    pub async fn displayed(&self, css: &str) -> bool {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::GET,
            &format!("/element/{}/displayed", e.0),
            None,
        )
        .await
        .as_bool()
        .unwrap_or(false)
    }

    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    pub async fn execute_async(&self, script: &str, args: Value) -> Value {
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> Vec<u8> {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        use base64::Engine;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or(""))
            .expect("a base64 PNG")
    }

    pub async fn close(mut self) {
        let _ = self.http.delete(&self.base).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
