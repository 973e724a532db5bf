//! The front door under requests no well-behaved client sends: HTTP/1.1
//! framing the host must refuse (RFC 9112), sent as raw bytes over loopback.

use std::time::Duration;

use terrarium_test_support::{Server, TestSite};

/// The status code of a raw HTTP/1.1 answer.
fn status_of(answer: &str) -> &str {
    answer.split(' ').nth(1).unwrap_or("(no answer)")
}

#[tokio::test(flavor = "multi_thread")]
async fn http_1_1_framing_is_enforced_before_any_app_sees_the_request() {
    let site = TestSite::new("[[mount]]\npath = \"/\"\napp = \"@faults\"\ninstances = 1\n");
    let server = Server::start(site.path()).await;
    let client = server.client();
    let limit = Duration::from_secs(10);
    let cases: &[(&str, &str, &str)] = &[
        ("no Host", "GET /ok HTTP/1.1\r\nConnection: close\r\n\r\n", "400"),
        (
            "two Host headers",
            "GET /ok HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n",
            "400",
        ),
        (
            "a transfer coding other than chunked",
            "POST /echo HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            "501",
        ),
        ("HTTP/1.0 without Host is fine", "GET /ok HTTP/1.0\r\n\r\n", "200"),
    ];
    let mut failures = Vec::new();
    for (what, request, status) in cases {
        let answer = client.raw(request.as_bytes(), limit).await;
        if status_of(&answer) != *status {
            failures.push(format!("{what}: expected {status}, got {answer:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");

    // An absolute-form target's authority wins over Host (RFC 9112 §3.2.2).
    let answer = client
        .raw(
            b"POST http://origin.test/echo HTTP/1.1\r\nHost: other.test\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            limit,
        )
        .await;
    assert_eq!(status_of(&answer), "200", "{answer}");
    assert!(answer.contains(r#""host":"origin.test""#), "{answer}");
    server.stop().await;
}
