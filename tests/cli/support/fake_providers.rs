//! Local providers that keep state, for the `rotate` tests: a key they were told is revoked
//! answers as the real provider answers a dead key, so "prove dead" observes a real change. Each
//! runs on its own tokio runtime so the blocking test thread can drive the binary meanwhile.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::Fakes;

pub struct Fake {
    rt: tokio::runtime::Runtime,
    pub server: MockServer,
    pub live: Arc<Mutex<HashSet<String>>>,
}

impl Fake {
    fn start(
        respond: impl Fn(&Request, &Mutex<HashSet<String>>) -> ResponseTemplate + Send + Sync + 'static,
    ) -> Fake {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(MockServer::start());
        let live = Arc::new(Mutex::new(HashSet::new()));
        let responder = Responder {
            live: live.clone(),
            respond: Arc::new(respond),
        };
        rt.block_on(Mock::given(any()).respond_with(responder).mount(&server));
        Fake { rt, server, live }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn make_live(&self, key: &str) {
        self.live.lock().unwrap().insert(key.to_string());
    }

    pub fn kill(&self, key: &str) {
        self.live.lock().unwrap().remove(key);
    }

    pub fn is_live(&self, key: &str) -> bool {
        self.live.lock().unwrap().contains(key)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.rt
            .block_on(self.server.received_requests())
            .unwrap_or_default()
    }
}

type RespondFn = dyn Fn(&Request, &Mutex<HashSet<String>>) -> ResponseTemplate + Send + Sync;

struct Responder {
    live: Arc<Mutex<HashSet<String>>>,
    respond: Arc<RespondFn>,
}

impl Respond for Responder {
    fn respond(&self, r: &Request) -> ResponseTemplate {
        (self.respond)(r, &self.live)
    }
}

fn bearer(r: &Request) -> String {
    r.headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_start_matches("Bearer ")
        .to_string()
}

/// Groq: `GET /openai/v1/models` is 200 for a live key, 401 otherwise. No key management API.
pub fn groq() -> Fake {
    Fake::start(|r, live| {
        if r.method.as_str() == "GET" && r.url.path() == "/openai/v1/models" {
            if live.lock().unwrap().contains(&bearer(r)) {
                return ResponseTemplate::new(200)
                    .set_body_json(json!({"object":"list","data":[]}));
            }
            return ResponseTemplate::new(401).set_body_json(
                json!({"error":{"message":"Invalid API Key","type":"invalid_request_error","code":"invalid_api_key"}}),
            );
        }
        ResponseTemplate::new(404)
    })
}

/// GitHub: `GET /user` (200 with a login, 401 "Bad credentials") and the unauthenticated
/// `POST /credentials/revoke`, which kills the tokens it is given and answers 202.
pub fn github() -> Fake {
    Fake::start(|r, live| match (r.method.as_str(), r.url.path()) {
        ("GET", "/user") => {
            if live.lock().unwrap().contains(&bearer(r)) {
                ResponseTemplate::new(200).set_body_json(json!({"login":"octocat","id":1}))
            } else {
                ResponseTemplate::new(401)
                    .set_body_json(json!({"message":"Bad credentials","status":"401"}))
            }
        }
        ("POST", "/credentials/revoke") => {
            if r.headers.get("authorization").is_some() {
                return ResponseTemplate::new(403);
            }
            let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            let mut live = live.lock().unwrap();
            for t in body["credentials"].as_array().into_iter().flatten() {
                if let Some(t) = t.as_str() {
                    live.remove(t);
                }
            }
            ResponseTemplate::new(202)
        }
        _ => ResponseTemplate::new(404),
    })
}

/// A project's keys: key id → (key, service account id).
pub type ProjectKeys = Arc<Mutex<BTreeMap<String, (String, Option<String>)>>>;

/// OpenAI: `GET /v1/models` by key; with the admin key, one project's keys: create a service
/// account (a new key), list keys by redacted value, delete a key or a service account.
pub struct OpenAi {
    pub fake: Fake,
    /// key id → (key, service account id)
    pub keys: ProjectKeys,
}

pub fn openai(admin: &str, project: &str, seed: u64) -> OpenAi {
    let keys: ProjectKeys = Arc::default();
    let fakes = Arc::new(Mutex::new(Fakes::new(seed)));
    let (admin, project, k) = (admin.to_string(), project.to_string(), keys.clone());
    let fake = Fake::start(move |r, live| {
        let path = r.url.path().to_string();
        let base = format!("/v1/organization/projects/{project}");
        if r.method.as_str() == "GET" && path == "/v1/models" {
            return if live.lock().unwrap().contains(&bearer(r)) {
                ResponseTemplate::new(200).set_body_json(json!({"object":"list","data":[]}))
            } else {
                ResponseTemplate::new(401).set_body_json(json!({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}))
            };
        }
        if bearer(r) != admin || !path.starts_with(&base) {
            return ResponseTemplate::new(401);
        }
        let rest = &path[base.len()..];
        let mut keys = k.lock().unwrap();
        match (r.method.as_str(), rest) {
            ("POST", "/service_accounts") => {
                let n = keys.len();
                let key = {
                    let mut f = fakes.lock().unwrap();
                    format!("sk-svcacct-{}T3BlbkFJ{}", f.alnum(74), f.alnum(74))
                };
                let (id, sa) = (format!("key_new{n}"), format!("svc_acct_{n}"));
                keys.insert(id.clone(), (key.clone(), Some(sa.clone())));
                live.lock().unwrap().insert(key.clone());
                ResponseTemplate::new(200).set_body_json(json!({
                    "object":"organization.project.service_account","id":sa,"name":"rotated",
                    "role":"member","created_at":1,
                    "api_key":{"object":"organization.project.service_account.api_key",
                        "value":key,"name":"Secret Key","created_at":1,"id":id}}))
            }
            ("GET", "/api_keys") => {
                let data: Vec<Value> = keys
                    .iter()
                    .map(|(id, (key, sa))| {
                        json!({"object":"organization.project.api_key","id":id,"name":"k",
                        "redacted_value": format!("{}...{}", &key[..6], &key[key.len()-4..]),
                        "owner": match sa {
                            Some(s) => json!({"type":"service_account","service_account":{"id":s}}),
                            None => json!({"type":"user","user":{"id":"user_1"}}),
                        }})
                    })
                    .collect();
                ResponseTemplate::new(200)
                    .set_body_json(json!({"object":"list","data":data,"has_more":false}))
            }
            ("DELETE", rest) if rest.starts_with("/api_keys/") => {
                match keys.remove(&rest["/api_keys/".len()..]) {
                    Some((key, _)) => {
                        live.lock().unwrap().remove(&key);
                        ResponseTemplate::new(200).set_body_json(json!({"deleted":true}))
                    }
                    None => ResponseTemplate::new(404),
                }
            }
            ("DELETE", rest) if rest.starts_with("/service_accounts/") => {
                let sa = &rest["/service_accounts/".len()..];
                let ids: Vec<String> = keys
                    .iter()
                    .filter(|(_, (_, s))| s.as_deref() == Some(sa))
                    .map(|(i, _)| i.clone())
                    .collect();
                for id in ids {
                    if let Some((key, _)) = keys.remove(&id) {
                        live.lock().unwrap().remove(&key);
                    }
                }
                ResponseTemplate::new(200).set_body_json(json!({"deleted":true}))
            }
            _ => ResponseTemplate::new(404),
        }
    });
    OpenAi { fake, keys }
}

impl OpenAi {
    /// A user key of the project, live.
    pub fn add_user_key(&self, id: &str, key: &str) {
        self.keys
            .lock()
            .unwrap()
            .insert(id.to_string(), (key.to_string(), None));
        self.fake.make_live(key);
    }
}
