//! The file store under SIGKILL: a writer process rewriting sessions is
//! killed at random moments, 100 times; afterwards every session file parses
//! and holds one complete version. (The writer is this same test binary,
//! re-run with TERRARIUM_CRASH_WRITER set.)

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use terrarium::sessions::{SessionKey, SessionRecord, SessionStore, cookie, file::FileStore};

const WRITER_ENV: &str = "TERRARIUM_CRASH_WRITER";
const SESSIONS: usize = 8;

/// In the child: rewrite the same few sessions with growing payloads, forever.
#[tokio::test]
#[ignore = "the writer half of the SIGKILL test, which runs it in a child process"]
async fn crash_writer() {
    let dir = std::env::var(WRITER_ENV).expect("run by sigkill_at_any_moment_never_leaves_a_torn_session");
    let store = FileStore::open(std::path::Path::new(&dir)).unwrap();
    let ids: Vec<String> = std::fs::read_to_string(format!("{dir}/ids"))
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    for round in 0u64.. {
        for id in &ids {
            let data = serde_json::json!({"round": round, "padding": "x".repeat((round % 50_000) as usize)})
                .to_string();
            let record = SessionRecord {
                data,
                created: round,
                last_seen: round,
            };
            store
                .save(
                    &SessionKey {
                        namespace: "app".into(),
                        id: id.clone(),
                    },
                    &record,
                )
                .await
                .unwrap();
        }
    }
}

#[test]
fn sigkill_at_any_moment_never_leaves_a_torn_session() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..SESSIONS).map(|_| cookie::new_id()).collect();
    std::fs::write(dir.path().join("ids"), ids.join("\n")).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..100 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_writer", "--ignored", "--test-threads", "1"])
            .env(WRITER_ENV, dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(15 + seed % 60));
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        child.wait().unwrap();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let mut found = 0;
    for id in &ids {
        let path = dir.path().join("app").join(format!("{id}.json"));
        if !path.exists() {
            continue; // never written before the first kill
        }
        let bytes = std::fs::read(&path).unwrap();
        let record: SessionRecord = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{} is torn ({e}): {} bytes", path.display(), bytes.len()));
        let data: serde_json::Value = serde_json::from_str(&record.data).unwrap();
        assert_eq!(
            data["round"].as_u64(),
            Some(record.created),
            "one complete version"
        );
        let loaded = runtime
            .block_on(store.load(&SessionKey {
                namespace: "app".into(),
                id: id.clone(),
            }))
            .unwrap();
        assert_eq!(loaded, Some(record));
        found += 1;
    }
    assert!(found > 0, "the writer never got to write anything");
}
