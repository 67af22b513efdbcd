//! Client-exposure lints (`kind: "exposure"`): secrets in client-public variables, browser SDK
//! options and headers, provider APIs called from JavaScript with a key. They stand beside the
//! secret findings on the same text, show their matched text, and are suppressed like any rule.
//!
//! The texts that trigger these rules are assembled at run time (prefix and name apart), so that
//! `keyguard scan .` on this repository does not report its own tests.

use serde_json::Value;

use crate::support::{Fakes, json_schema_errors, run_in, scan_json, write};

const VITE: &str = "VITE_";
const NEXT: &str = "NEXT_PUBLIC_";
const ALLOW_BROWSER: &str = "dangerouslyAllowBrowser";
const BROWSER_HEADER: &str = "anthropic-dangerous-direct-browser-access";
const OPENAI_HOST: &str = "api.openai.com";

fn openai_key(f: &mut Fakes) -> String {
    format!("sk-proj-{}T3BlbkFJ{}", f.alnum(56), f.alnum(56))
}

fn findings(report: &Value) -> Vec<Value> {
    report["findings"].as_array().unwrap().clone()
}

fn exposures(report: &Value) -> Vec<Value> {
    findings(report)
        .into_iter()
        .filter(|f| f["kind"] == "exposure")
        .collect()
}

fn ids(fs: &[Value]) -> Vec<&str> {
    fs.iter().map(|f| f["rule_id"].as_str().unwrap()).collect()
}

#[test]
fn client_public_variable_gives_the_key_and_the_exposure() {
    let dir = tempfile::tempdir().unwrap();
    let key = openai_key(&mut Fakes::new(41));
    write(
        dir.path(),
        ".env.local",
        format!("# local only\n{VITE}OPENAI_API_KEY={key}\n"),
    );
    let (run, report) = scan_json(dir.path(), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(json_schema_errors(&report).is_empty());
    let all = findings(&report);
    let secret = all
        .iter()
        .find(|f| f["rule_id"] == "openai-project-api-key")
        .unwrap_or_else(|| panic!("no key finding in {:?}", ids(&all)));
    assert_eq!(secret["kind"], "secret");
    assert_eq!(secret["line"], 2);
    let exposed = exposures(&report);
    assert_eq!(ids(&exposed), ["client-public-env-secret"]);
    let e = &exposed[0];
    assert_eq!(e["secret_redacted"], format!("{VITE}OPENAI_API_KEY"));
    assert_eq!(e["severity"], "high");
    assert_eq!(e["provider"], "client-exposure");
    assert_eq!(
        (e["line"].as_u64(), e["column"].as_u64()),
        (Some(2), Some(1))
    );
    // The exposure shows the variable's name; the key itself still never appears.
    assert!(!run.stdout.contains(&key) && !run.stderr.contains(&key));

    // The human report reads: location, severity, title, the name, the rule id.
    let human = run_in(dir.path(), &["scan"]);
    assert_eq!(human.code, 1);
    let line = human
        .stdout
        .lines()
        .find(|l| l.contains("client-public-env-secret"))
        .unwrap_or_else(|| panic!("{}", human.stdout));
    assert!(line.contains("2:1") && line.contains("high"), "{line}");
    assert!(line.contains(&format!("{VITE}OPENAI_API_KEY")), "{line}");
    assert!(!human.stdout.contains(&key));
    assert!(
        human.stderr.contains("(1 distinct secret, 1 exposure)"),
        "{}",
        human.stderr
    );
}

#[test]
fn public_by_design_names_are_not_reported() {
    let dir = tempfile::tempdir().unwrap();
    let names = [
        format!("{NEXT}SUPABASE_ANON_KEY"),
        format!("{NEXT}SUPABASE_URL"),
        format!("{NEXT}FIREBASE_API_KEY"),
        format!("{VITE}FIREBASE_API_KEY"),
        format!("{NEXT}STRIPE_PUBLISHABLE_KEY"),
        format!("{VITE}RECAPTCHA_SITE_KEY"),
        format!("{NEXT}POSTHOG_KEY"),
        format!("{NEXT}GOOGLE_CLIENT_ID"),
        "PUBLIC_KEY".to_string(),
        "RSA_PUBLIC_KEY".to_string(),
    ];
    let body: String = names
        .iter()
        .map(|n| format!("{n}=public-value\n"))
        .collect();
    write(dir.path(), ".env", &body);
    write(
        dir.path(),
        "src/server.js",
        "const key = process.env.OPENAI_API_KEY;\n",
    );
    let (run, report) = scan_json(dir.path(), &[]);
    assert_eq!(
        ids(&findings(&report)),
        Vec::<&str>::new(),
        "{}",
        run.stdout
    );
    assert_eq!(run.code, 0);
}

#[test]
fn browser_sdk_option_and_header_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/ai.js",
        format!(
            "import OpenAI from 'openai';\n\
             export const openai = new OpenAI({{ apiKey, {ALLOW_BROWSER}: true }});\n\
             export const off = new OpenAI({{ apiKey, {ALLOW_BROWSER}: false }});\n\
             const headers = {{ 'x-api-key': key, '{BROWSER_HEADER}': 'true' }};\n"
        ),
    );
    // As a minifier writes it.
    write(
        dir.path(),
        "dist/assets/index-4f2a.js",
        format!("const c=new Pe({{apiKey:t,{ALLOW_BROWSER}:!0}});"),
    );
    let (run, report) = scan_json(dir.path(), &[]);
    assert_eq!(run.code, 1);
    let got: Vec<(String, String, u64, String)> = exposures(&report)
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["secret_redacted"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        (
            "dist/assets/index-4f2a.js",
            "browser-sdk-dangerously-allow-browser",
            1,
            format!("{ALLOW_BROWSER}:!0"),
        ),
        (
            "src/ai.js",
            "browser-sdk-dangerously-allow-browser",
            2,
            format!("{ALLOW_BROWSER}: true"),
        ),
        (
            "src/ai.js",
            "anthropic-direct-browser-access-header",
            4,
            format!("'{BROWSER_HEADER}': 'true'"),
        ),
    ];
    let want: Vec<(String, String, u64, String)> = want
        .into_iter()
        .map(|(p, r, l, s)| (p.to_string(), r.to_string(), l, s))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn provider_api_called_with_a_key_from_a_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("https://{OPENAI_HOST}/v1/chat/completions");
    write(
        dir.path(),
        "dist/assets/index-9c1e.js",
        format!(
            "async function q(k,b){{const r=await fetch(\"{url}\",{{method:\"POST\",headers:{{\"Content-Type\":\"application/json\",Authorization:\"Bearer \"+k}},body:JSON.stringify(b)}});return r.json()}}"
        ),
    );
    // Server code reading the key from its environment is not reported.
    write(
        dir.path(),
        "app/api/chat/route.ts",
        format!(
            "export async function POST(req: Request) {{\n  return fetch(\"{url}\", {{\n    method: \"POST\",\n    headers: {{ Authorization: `Bearer ${{process.env.OPENAI_API_KEY}}` }},\n    body: await req.text(),\n  }});\n}}\n"
        ),
    );
    let (run, report) = scan_json(dir.path(), &[]);
    assert_eq!(run.code, 1);
    let exposed = exposures(&report);
    assert_eq!(ids(&exposed), ["browser-calls-llm-provider-with-key"]);
    let e = &exposed[0];
    assert_eq!(e["path"], "dist/assets/index-9c1e.js");
    assert_eq!(e["secret_redacted"], url.as_str());
    assert_eq!(e["severity"], "medium");
    assert_eq!(e["confidence"], "low");
}

#[test]
fn exposure_rules_are_suppressed_like_any_rule() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = openai_key(&mut Fakes::new(42));
    write(d, ".env", format!("{VITE}OPENAI_API_KEY={key}\n"));
    write(
        d,
        "src/a.js",
        format!(
            "const a = new OpenAI({{ apiKey, {ALLOW_BROWSER}: true }}); // keyguard:allow (user's own key)\n\
             const b = new Anthropic({{ apiKey, {ALLOW_BROWSER}: true }});\n"
        ),
    );
    let (_, report) = scan_json(d, &[]);
    let mut got: Vec<(String, u64)> = exposures(&report)
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("browser-sdk-dangerously-allow-browser".to_string(), 2),
            ("client-public-env-secret".to_string(), 1),
        ]
    );

    // `[allow] rules` drops an exposure rule and leaves the key finding on the same line.
    write(
        d,
        "keyguard.toml",
        "[allow]\nrules = [\"client-public-env-secret\", \"browser-sdk-dangerously-allow-browser\"]\n",
    );
    let (run, report) = scan_json(d, &[]);
    assert_eq!(run.code, 1);
    assert!(exposures(&report).is_empty(), "{}", run.stdout);
    assert_eq!(ids(&findings(&report)), ["openai-project-api-key"]);
    assert!(run.stderr.contains("3 suppressed"), "{}", run.stderr);

    // And `[scan] disabled_rules` turns one off.
    write(
        d,
        "keyguard.toml",
        "[scan]\ndisabled_rules = [\"client-public-env-secret\"]\n",
    );
    let (_, report) = scan_json(d, &[]);
    assert_eq!(
        ids(&exposures(&report)),
        ["browser-sdk-dangerously-allow-browser"]
    );
}

#[test]
fn sarif_describes_exposure_rules_as_exposures() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "src/ai.js",
        format!("new OpenAI({{ apiKey, {ALLOW_BROWSER}: true }});\n"),
    );
    let run = run_in(dir.path(), &["scan", "--format", "sarif"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif: Value = serde_json::from_str(&run.stdout).unwrap();
    let rule = &sarif["runs"][0]["tool"]["driver"]["rules"][0];
    assert_eq!(rule["id"], "browser-sdk-dangerously-allow-browser");
    let tags: Vec<&str> = rule["properties"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert!(tags.contains(&"exposure"), "{tags:?}");
    let help = rule["help"]["text"].as_str().unwrap();
    assert!(help.contains("keyguard serve"), "{help}");
    assert!(!help.contains("found in the source"), "{help}");
    let message = sarif["runs"][0]["results"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(
        message.contains(&format!("{ALLOW_BROWSER}: true")),
        "{message}"
    );
}
