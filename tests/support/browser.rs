//! Headless Chromium for the UI's end-to-end tests, driven over the W3C WebDriver protocol by
//! the real `chromedriver` (Debian's `chromium-driver`, installed by `scripts/test`). Only the
//! few commands the tests use: open a URL, find and click elements, type, run a script, take
//! a screenshot.
#![allow(dead_code)]

use base64::Engine as _;
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

/// The key WebDriver names "element" in its answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium window 1400 × 1000.
    pub fn start() -> Browser {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver (Debian's chromium-driver) is installed by scripts/test");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            rt,
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = browser
                .call("GET", "/status", None)
                .ok()
                .is_some_and(|v| v["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not get ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("Debian's chromium is installed by scripts/test");
        let answer = browser
            .call(
                "POST",
                "/session",
                Some(json!({"capabilities": {"alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                                 "--disable-gpu", "--window-size=1400,1000"],
                    },
                }}})),
            )
            .expect("a Chromium session");
        browser.session = answer["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string();
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.rt.block_on(async {
            let mut request = self
                .client
                .request(method.parse().unwrap(), format!("{}{path}", self.base))
                .timeout(Duration::from_secs(60));
            if let Some(b) = body {
                request = request.json(&b);
            }
            let response = request.send().await.map_err(|e| e.to_string())?;
            let ok = response.status().is_success();
            let v: Value = response.json().await.map_err(|e| e.to_string())?;
            if ok {
                Ok(v["value"].clone())
            } else {
                Err(v["value"].to_string())
            }
        })
    }

    fn session(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn open(&self, url: &str) {
        self.session("POST", "/url", Some(json!({ "url": url })))
            .expect("navigate");
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page.
    pub fn script(&self, script: &str, args: Value) -> Value {
        self.session(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The first element matching a CSS selector, if there is one now.
    pub fn find(&self, css: &str) -> Option<String> {
        self.session(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        )
        .ok()
        .and_then(|v| v[ELEMENT].as_str().map(str::to_string))
    }

    /// Waits up to `seconds` for an element matching `css`.
    pub fn wait_for(&self, css: &str, seconds: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            if let Some(e) = self.find(css) {
                return e;
            }
            if Instant::now() > deadline {
                let page = self.script(
                    "return document.querySelector('main').innerText + '\\n[toast] ' + document.querySelector('#toast').innerText \
                     + '\\n[cells] ' + [...document.querySelectorAll('td.cell[data-task]')].map((c) => `${c.dataset.date} ${c.dataset.task} ${c.dataset.state}`).join(', ')",
                    json!([]),
                );
                panic!("no `{css}` after {seconds} s; the page shows:\n{page}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, css: &str) {
        let e = self.wait_for(css, 20);
        self.session("POST", &format!("/element/{e}/click"), Some(json!({})))
            .unwrap_or_else(|err| panic!("click {css}: {err}"));
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let e = self.wait_for(css, 20);
        self.session(
            "POST",
            &format!("/element/{e}/value"),
            Some(json!({ "text": text })),
        )
        .unwrap_or_else(|err| panic!("type into {css}: {err}"));
    }

    /// Sets a form field's value the way a date picker or a paste would (typing into a date
    /// input depends on the browser's locale).
    pub fn fill(&self, css: &str, value: &str) {
        self.wait_for(css, 20);
        self.script(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
             e.dispatchEvent(new Event('input', {bubbles: true}));",
            json!([css, value]),
        );
    }

    pub fn text(&self, css: &str) -> String {
        self.wait_for(css, 20);
        self.script(
            "return document.querySelector(arguments[0]).innerText",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Saves a PNG of the window into `dir` and answers its path.
    pub fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        let data = self
            .session("GET", "/screenshot", None)
            .expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64"))
            .expect("a PNG");
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Resizes the window, e.g. to fit a whole page into a screenshot.
    pub fn resize(&self, width: u32, height: u32) {
        self.session(
            "POST",
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .expect("resize");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.session("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
