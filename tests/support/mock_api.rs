//! A loopback stand-in for the Anthropic Messages API, so the real `claude` CLI can run
//! in tests with no network and its answers can prove which conversation it was shown.
//!
//! Every answer is `MARKERS: CANARY-1 CANARY-7` (or `MARKERS: none`): the distinct marker
//! words `CANARY-<digits>` found anywhere in the request body, in ascending numeric order.
//! A resumed conversation carries its earlier prompts in the request, so a marker planted
//! in a predecessor's prompt comes back only if the predecessor was really loaded.
//!
//! A test can also script the model ([`MockApi::script`]): for the requests its script
//! picks, the mock answers with a tool call (a `tool_use` block) instead, so the real
//! CLI runs a tool, such as Bash running seance, and sends the result back.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tiny_http::{Header, Method, Response, Server};

/// One HTTP request the mock received, kept in arrival order.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// HTTP method, upper case (`POST`, `GET`, `HEAD`).
    pub method: String,
    /// Request target with its query string, e.g. `/v1/messages?beta=true`.
    pub url: String,
    /// The raw body, decoded lossily as UTF-8 (empty for GET/HEAD).
    pub body: String,
    /// The answer text the mock gave for a Messages request, if it was one.
    pub answer: Option<String>,
}

impl Recorded {
    /// True for a Messages API call (`POST .../v1/messages`, not `count_tokens`).
    pub fn is_messages(&self) -> bool {
        self.method == "POST"
            && self.url.contains("/v1/messages")
            && !self.url.contains("count_tokens")
    }
}

/// What a scripted answer says instead of the markers text.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A text answer.
    Text(String),
    /// One tool call: the tool's name and its input object (stop reason `tool_use`).
    ToolUse {
        /// The tool, e.g. `Bash`.
        name: String,
        /// The tool's input, e.g. `{"command": "seance --last -p hi"}`.
        input: serde_json::Value,
    },
}

/// Decides the answer to a Messages request from its parsed body: `Some` replaces the
/// markers answer, `None` keeps it.
pub type Script = dyn Fn(&serde_json::Value) -> Option<Reply> + Send + Sync;

type ScriptSlot = Arc<Mutex<Option<Arc<Script>>>>;

/// A running mock server on `127.0.0.1:<OS-assigned port>`; stops when dropped.
pub struct MockApi {
    server: Arc<Server>,
    port: u16,
    log: Arc<Mutex<Vec<Recorded>>>,
    script: ScriptSlot,
    worker: Option<JoinHandle<()>>,
}

impl MockApi {
    /// Binds a fresh port and starts answering on a background thread.
    ///
    /// Panics if the loopback socket cannot be bound (nothing else in a test could work).
    pub fn start() -> MockApi {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind mock API on 127.0.0.1"));
        let port = server
            .server_addr()
            .to_ip()
            .expect("mock API listens on an IP socket")
            .port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let script: ScriptSlot = Arc::new(Mutex::new(None));
        let worker = {
            let server = Arc::clone(&server);
            let log = Arc::clone(&log);
            let script = Arc::clone(&script);
            std::thread::Builder::new()
                .name(format!("mock-api-{port}"))
                .spawn(move || serve(&server, &log, &script))
                .expect("spawn mock API thread")
        };
        MockApi {
            server,
            port,
            log,
            script,
            worker: Some(worker),
        }
    }

    /// From now on, answers each Messages request as `script` says (see [`Script`]).
    pub fn script(
        &self,
        script: impl Fn(&serde_json::Value) -> Option<Reply> + Send + Sync + 'static,
    ) {
        *self.script.lock().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(script));
    }

    /// The base URL to give claude as `ANTHROPIC_BASE_URL`, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A copy of every request received so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Bodies of the Messages API calls received so far, oldest first.
    pub fn message_bodies(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(Recorded::is_messages)
            .map(|r| r.body)
            .collect()
    }

    /// Number of requests received so far (a cheap "has claude talked to us" check).
    pub fn request_count(&self) -> usize {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Drop for MockApi {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

fn serve(server: &Server, log: &Mutex<Vec<Recorded>>, script: &Mutex<Option<Arc<Script>>>) {
    for mut request in server.incoming_requests() {
        let mut raw = Vec::new();
        let _ = request.as_reader().read_to_end(&mut raw);
        let body = String::from_utf8_lossy(&raw).into_owned();
        let method = request.method().as_str().to_ascii_uppercase();
        let url = request.url().to_string();
        let mut recorded = Recorded {
            method,
            url,
            body,
            answer: None,
        };

        let json = |text: String| {
            Response::from_string(text).with_header(header("Content-Type", "application/json"))
        };
        let response = if recorded.is_messages() {
            let parsed: serde_json::Value =
                serde_json::from_str(&recorded.body).unwrap_or(serde_json::Value::Null);
            let scripted = script
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
                .and_then(|f| f(&parsed));
            let reply = scripted.unwrap_or_else(|| Reply::Text(answer_for(&recorded.body)));
            recorded.answer = Some(match &reply {
                Reply::Text(t) => t.clone(),
                Reply::ToolUse { name, input } => format!("TOOL_USE {name} {input}"),
            });
            let model = parsed
                .get("model")
                .and_then(|m| m.as_str())
                .unwrap_or("claude-mock")
                .to_string();
            let streaming = parsed.get("stream").and_then(|s| s.as_bool()) == Some(true);
            if streaming {
                Response::from_string(sse_answer(&model, &reply))
                    .with_header(header("Content-Type", "text/event-stream"))
                    .with_header(header("Cache-Control", "no-cache"))
            } else {
                json(message_json(&model, &reply).to_string())
            }
        } else if recorded.url.contains("count_tokens") {
            json(r#"{"input_tokens":1}"#.to_string())
        } else {
            json("{}".to_string())
        };
        let head = *request.method() == Method::Head;
        log.lock().unwrap_or_else(|e| e.into_inner()).push(recorded);
        let _ = if head {
            request.respond(Response::empty(200))
        } else {
            request.respond(response)
        };
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("static header is valid")
}

/// The answer the mock gives for a request body: `MARKERS: ` and the distinct
/// `CANARY-<digits>` words in ascending numeric order, or `MARKERS: none`.
pub fn answer_for(body: &str) -> String {
    let markers = markers_in(body);
    if markers.is_empty() {
        "MARKERS: none".to_string()
    } else {
        format!("MARKERS: {}", markers.join(" "))
    }
}

/// The distinct marker words `CANARY-<digits>` in `text`, sorted by their number.
pub fn markers_in(text: &str) -> Vec<String> {
    let mut numbers: Vec<u64> = Vec::new();
    let bytes = text.as_bytes();
    let needle = b"CANARY-";
    let mut i = 0;
    while i + needle.len() <= bytes.len() {
        if &bytes[i..i + needle.len()] == needle {
            let start = i + needle.len();
            let end = start
                + bytes[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
            if end > start
                && end - start <= 18
                && let Ok(n) = text[start..end].parse::<u64>()
            {
                numbers.push(n);
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    numbers.sort_unstable();
    numbers.dedup();
    numbers.into_iter().map(|n| format!("CANARY-{n}")).collect()
}

/// The content block and stop reason of `reply`.
fn block_and_stop(reply: &Reply) -> (serde_json::Value, &'static str) {
    match reply {
        Reply::Text(text) => (
            serde_json::json!({"type": "text", "text": text}),
            "end_turn",
        ),
        Reply::ToolUse { name, input } => (
            serde_json::json!({"type": "tool_use", "id": "toolu_mock_1", "name": name,
                "input": input}),
            "tool_use",
        ),
    }
}

fn message_json(model: &str, reply: &Reply) -> serde_json::Value {
    let (block, stop) = block_and_stop(reply);
    serde_json::json!({
        "id": "msg_mock",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [block],
        "stop_reason": stop,
        "stop_sequence": null,
        "usage": {"input_tokens": 1, "output_tokens": 1}
    })
}

fn sse_answer(model: &str, reply: &Reply) -> String {
    let (block, stop) = block_and_stop(reply);
    // The block opens empty and its content arrives as one delta, as the real API streams.
    let (start, delta) = match reply {
        Reply::Text(text) => (
            serde_json::json!({"type": "text", "text": ""}),
            serde_json::json!({"type": "text_delta", "text": text}),
        ),
        Reply::ToolUse { input, .. } => {
            let mut start = block.clone();
            start["input"] = serde_json::json!({});
            let partial = input.to_string();
            (
                start,
                serde_json::json!({"type": "input_json_delta", "partial_json": partial}),
            )
        }
    };
    let events = [
        (
            "message_start",
            serde_json::json!({"type": "message_start", "message": {
                "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 1, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            serde_json::json!({"type": "content_block_start", "index": 0,
                "content_block": start}),
        ),
        (
            "content_block_delta",
            serde_json::json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            serde_json::json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            serde_json::json!({"type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": null},
                "usage": {"output_tokens": 1}}),
        ),
        ("message_stop", serde_json::json!({"type": "message_stop"})),
    ];
    events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect()
}
